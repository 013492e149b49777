//! OpenID Connect Back-Channel Logout 1.0, the sending side: when a single sign-on session
//! ends (`Gateway::end_sso`, the one way sessions end), every relying party that got tokens
//! in it and registered a `backchannel_logout_uri` gets a logout token (built and signed by
//! the provider, `mfa_oidc::Provider::backchannel_logout`) POSTed as
//! `application/x-www-form-urlencoded` `logout_token=...`, off the request path: a task per
//! client, 5 s per try, three tries. Each outcome is audited (`backchannel_logout`: done or
//! failed, with the client and the session's sid) and counted.
//!
//! Also here: the task that follows the audit trail (`audit_follow.rs`, as `disconnect.rs`
//! does) and ends the sessions of every person removed, disabled or blocked, so every path that changes a
//! person's state (CLI, admin pages, the life-cycle API, offboarding, leavers on their date)
//! ends their single sign-on too, with its back-channel logouts; and that sends the logout
//! tokens of sessions a process without the provider ended (the CLI: `person block`), from
//! their `sso_session_ended` events (`backchannel: pending`).

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::model::now;
use crate::service::{Gateway, SsoEnd, SsoEndReason, SsoWhich};
use crate::store::Store;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Back-channel logouts sent, by outcome (`done`, `failed`).
pub const BACKCHANNEL_LOGOUTS: &str = "mfa_oidc_backchannel_logouts_total";
/// Each POST's limit, and how many tries one logout gets.
const TIMEOUT: Duration = Duration::from_secs(5);
const TRIES: u32 = 3;
/// The wait before the second try (doubled before the third).
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// The event kinds that end a person's single sign-on sessions.
const TRIGGERS: [(EventKind, SsoEndReason); 3] = [
    (EventKind::PersonRemoved, SsoEndReason::PersonRemoved),
    (EventKind::PersonDisabled, SsoEndReason::PersonDisabled),
    (EventKind::PersonBlocked, SsoEndReason::PersonBlocked),
];

/// What sends logout tokens: the provider (held weakly: it holds the gateway) and an HTTP
/// client without redirects.
#[derive(Debug)]
pub struct Backchannel {
    provider: Weak<mfa_oidc::Provider>,
    http: reqwest::Client,
}

/// Who the ended session was, for the logout tokens and their audit events.
#[derive(Debug, Clone)]
pub struct EndedSession {
    /// The person's public id (the tokens' `sub`).
    pub sub: String,
    pub sid: String,
    /// The clients it served.
    pub clients: Vec<String>,
    /// The `sso_session_ended` event (person, organisation, request id are copied).
    pub cause: AuditEvent,
}

impl Backchannel {
    /// A sender for `provider`'s logout tokens.
    pub fn new(provider: &Arc<mfa_oidc::Provider>) -> Result<Self, String> {
        Ok(Self {
            provider: Arc::downgrade(provider),
            http: http_client()?,
        })
    }

    /// Send the logout tokens for `ended`, each on a task of its own; returns at once.
    pub fn notify(&self, store: Arc<dyn Store>, ended: EndedSession) {
        let Some(provider) = self.provider.upgrade() else {
            return;
        };
        for client in &ended.clients {
            let logout = match provider.backchannel_logout(client, &ended.sub, &ended.sid) {
                Ok(Some(l)) => l,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, client_id = %client, "signing a logout token failed");
                    let event = outcome_event(&ended, client, None, Err("signing"), 0);
                    let store = store.clone();
                    tokio::spawn(async move { audit(store.as_ref(), &event).await });
                    continue;
                }
            };
            let http = self.http.clone();
            let store = store.clone();
            let ended = ended.clone();
            tokio::spawn(async move {
                let (result, tries) = post(&http, &logout.uri, &logout.logout_token).await;
                let label = if result.is_ok() { "done" } else { "failed" };
                metrics::counter!(BACKCHANNEL_LOGOUTS, "outcome" => label).increment(1);
                if let Err(why) = result {
                    tracing::warn!(client_id = %logout.client_id, why, "back-channel logout failed");
                }
                let event =
                    outcome_event(&ended, &logout.client_id, Some(&logout.jti), result, tries);
                audit(store.as_ref(), &event).await;
            });
        }
    }
}

/// HTTPS with the web PKI roots (ring), no redirects, `TIMEOUT` per request.
fn http_client() -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls_provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(tls_provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

/// POST the token, up to `TRIES` times; the result and the tries made. Done on a 2xx
/// (section 2.8: 200 or 204); tried again only after no answer, a 5xx or a 429 (a 4xx or a
/// redirect, which is not followed, is the relying party's refusal).
async fn post(http: &reqwest::Client, uri: &str, token: &str) -> (Result<(), &'static str>, u32) {
    let body = format!("logout_token={}", form_encode(token));
    let mut wait = RETRY_AFTER;
    let mut last = Err("no_answer");
    for tries in 1..=TRIES {
        let sent = http
            .post(uri)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone())
            .send()
            .await;
        last = match sent {
            Ok(r) if r.status().is_success() => return (Ok(()), tries),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                Err("server_error")
            }
            Ok(_) => return (Err("refused"), tries),
            Err(e) if e.is_timeout() => Err("timeout"),
            Err(_) => Err("no_answer"),
        };
        if tries < TRIES {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    (last, TRIES)
}

/// `application/x-www-form-urlencoded` value (a JWT needs none, but nothing else gets in raw).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn outcome_event(
    ended: &EndedSession,
    client: &str,
    jti: Option<&str>,
    result: Result<(), &'static str>,
    tries: u32,
) -> AuditEvent {
    let mut e = AuditEvent::admin(now(), EventKind::BackchannelLogout, "system");
    e.channel = Channel::Oidc;
    e.person_id = ended.cause.person_id;
    e.username = ended.cause.username.clone();
    e.org_id = ended.cause.org_id;
    e.request_id = ended.cause.request_id.clone();
    e.client = Some(client.to_owned());
    match result {
        Ok(()) => e.outcome = Outcome::Done,
        Err(why) => {
            e.outcome = Outcome::Failed;
            e.reason = Some(why.to_owned());
        }
    }
    e.detail = Some(serde_json::json!({
        "sid": ended.sid,
        "jti": jti,
        "tries": tries,
        "cause": ended.cause.reason,
    }));
    e
}

async fn audit(store: &dyn Store, event: &AuditEvent) {
    if let Err(e) = store.append_event(event).await {
        crate::ops::count_audit_write_failure();
        tracing::error!(error = %e, "back-channel logout: audit write failed");
    }
}

/// A session ended by a process without the provider (the CLI): its event says
/// `backchannel: pending` and names the sid and the clients; send their logout tokens here.
async fn send_pending(gateway: &Gateway, e: &AuditEvent) {
    let Some(detail) = &e.detail else { return };
    if detail["backchannel"] != "pending" {
        return;
    }
    let (Some(bc), Some(person), Some(sid)) =
        (gateway.backchannel(), e.person_id, detail["sid"].as_str())
    else {
        return;
    };
    let clients: Vec<String> = detail["clients"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match gateway.store().person_by_id(person).await {
        Ok(Some(p)) => bc.notify(
            gateway.store().clone(),
            EndedSession {
                sub: p.public_id,
                sid: sid.to_owned(),
                clients,
                cause: e.clone(),
            },
        ),
        Ok(None) => {}
        Err(err) => tracing::error!(error = %err, "back-channel logout: reading the person failed"),
    }
}

/// Follows the audit trail from its current end until `stop`, ending the single sign-on
/// sessions of every person removed, disabled or blocked (with their back-channel logouts).
pub async fn follow(gateway: Gateway, stop: CancellationToken) {
    let store = gateway.store().clone();
    let gateway = &gateway;
    crate::audit_follow::follow(store.as_ref(), "single sign-on", stop, |e| async move {
        if e.kind == EventKind::SsoSessionEnded {
            send_pending(gateway, &e).await;
            return;
        }
        let Some((_, reason)) = TRIGGERS.iter().find(|(k, _)| *k == e.kind) else {
            return;
        };
        let Some(person) = e.person_id else {
            return;
        };
        let why = SsoEnd {
            actor: e.actor.clone(),
            channel: e.channel,
            reason: *reason,
            client: e.client.clone(),
            source: e.source.clone(),
            request_id: e.request_id.clone(),
        };
        if let Err(err) = gateway
            .end_sso(SsoWhich::Person(person), &why, gateway.now())
            .await
        {
            tracing::error!(error = %err, person, "ending single sign-on sessions failed");
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn client(extra: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(
            &format!(
                "[[oidc.clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://app.example/cb\"]\n{extra}"
            ),
            Path::new("/x"),
        )
    }

    #[test]
    fn clients_register_a_backchannel_uri_https_or_loopback() {
        let c = client("backchannel_logout_uri = \"https://app.example/bc\"\nbackchannel_logout_session_required = true\n")
            .unwrap();
        let reg = crate::oidc_backend::registration(&c.oidc.clients[0]);
        assert_eq!(
            reg.backchannel_logout_uri.as_deref(),
            Some("https://app.example/bc")
        );
        assert!(reg.backchannel_logout_session_required);
        let none = client("").unwrap();
        assert_eq!(none.oidc.clients[0].backchannel_logout_uri, None);
        assert!(client("backchannel_logout_uri = \"http://127.0.0.1:9/bc\"\n").is_ok());
        for bad in ["http://app.example/bc", "https://app.example/bc#x", "bc"] {
            let e = client(&format!("backchannel_logout_uri = \"{bad}\"\n")).unwrap_err();
            assert!(e.to_string().contains("backchannel_logout_uri"), "{e}");
        }
    }

    /// A relying party on 127.0.0.1 answering each POST with the next of `statuses` (the
    /// last one again after that); the bodies it got.
    async fn relying_party(statuses: Vec<u16>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/bc", listener.local_addr().unwrap());
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then the body (small: one read after them is enough here).
                while let Ok(k) = socket.read(&mut buf).await {
                    if k == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..k]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some((_, body)) = text.split_once("\r\n\r\n")
                        && body.contains("logout_token=")
                    {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&got).into_owned();
                seen.lock().unwrap().push(text);
                let status = statuses[n.min(statuses.len() - 1)];
                n += 1;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, bodies)
    }

    fn http() -> reqwest::Client {
        http_client().unwrap()
    }

    #[tokio::test]
    async fn logout_tokens_are_posted_as_a_form_and_tried_again_only_when_it_may_help() {
        let (url, bodies) = relying_party(vec![503, 204]).await;
        assert_eq!(post(&http(), &url, "a.b.c").await, (Ok(()), 2));
        let got = bodies.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("POST /bc "), "{}", got[0]);
        assert!(
            got[0]
                .to_ascii_lowercase()
                .contains("content-type: application/x-www-form-urlencoded")
        );
        assert!(got[0].ends_with("\r\n\r\nlogout_token=a.b.c"), "{}", got[0]);
        // A refusal (4xx) or a redirect is not tried again.
        for status in [400, 302] {
            let (url, bodies) = relying_party(vec![status]).await;
            assert_eq!(post(&http(), &url, "t").await, (Err("refused"), 1));
            assert_eq!(bodies.lock().unwrap().len(), 1);
        }
        // Always failing: three tries.
        let (url, bodies) = relying_party(vec![500]).await;
        assert_eq!(post(&http(), &url, "t").await, (Err("server_error"), TRIES));
        assert_eq!(bodies.lock().unwrap().len(), 3);
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(form_encode("aZ09-_.x"), "aZ09-_.x");
        assert_eq!(form_encode("a b&c=d+"), "a%20b%26c%3Dd%2B");
    }
}
