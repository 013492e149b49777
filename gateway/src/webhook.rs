//! Outgoing HTTP for notifications: one HTTPS client (rustls with ring, the web PKI roots),
//! and the generic webhook of out-of-band approval: JSON POSTed to a configured URL, signed
//! `X-MFA-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>` with
//! `X-MFA-Timestamp: <unix seconds>`, so the receiver can check origin and freshness.

use crate::secret::SecretBytes;
use std::sync::Arc;
use std::time::Duration;

/// An HTTPS client for calls out of the gateway (webhook, Web Push): ring-only rustls,
/// the Mozilla roots, a timeout, no redirects.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// The signature header value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::Mac as _;
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The configured webhook.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    secret: SecretBytes,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// The webhook at `url`, its secret from the environment variable `secret_env`.
    pub fn new(url: &str, secret_env: &str) -> Result<Self, String> {
        let secret = std::env::var(secret_env).map_err(|_| {
            format!("approval.webhook_secret_env names `{secret_env}`, which is not set in the environment")
        })?;
        if secret.len() < 16 {
            return Err(format!(
                "the webhook secret in `{secret_env}` is shorter than 16 characters"
            ));
        }
        Ok(Self {
            url: url.to_owned(),
            secret: SecretBytes::new(secret.into_bytes()),
            client: http_client(Duration::from_secs(10))?,
        })
    }

    /// POST `body`; the HTTP status, or why it failed.
    pub async fn post(&self, body: &serde_json::Value, now: i64) -> Result<u16, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let res = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-MFA-Timestamp", now.to_string())
            .header(
                "X-MFA-Signature",
                signature(self.secret.expose(), now, &bytes),
            )
            .body(bytes)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(res.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_over_timestamp_and_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed independently with openssl:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let s = signature(b"key", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(s, signature(b"key", 1_700_000_001, b"{}"));
        assert_ne!(s, signature(b"other", 1_700_000_000, b"{}"));
    }
}
