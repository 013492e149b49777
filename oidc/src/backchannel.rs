//! OpenID Connect Back-Channel Logout 1.0: the logout token a relying party gets when a
//! single sign-on session it was issued tokens in ends. Protocol only: the provider builds
//! and signs the token ([`Provider::backchannel_logout`]); the gateway POSTs it.
//!
//! A logout token is a JWT with header `typ: logout+jwt`, signed like the client's ID tokens,
//! with `iss`, `aud` (the client), `iat`, `exp`, a random `jti`, the back-channel `events`
//! member, `sub` and `sid`; never a `nonce` (section 2.4).

use crate::clients::ClientRegistration;
use crate::error::{OidcError, Result};
use crate::keys::{Signer, SigningKey};
use crate::provider::Provider;
use crate::{UnixTime, random_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::PrivateSigningKey as _;
use serde::{Deserialize, Serialize};

/// The `events` member's key (section 2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The JWS `typ` of logout tokens (section 2.4).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";

/// How long a logout token is valid, in seconds.
pub const LOGOUT_TOKEN_LIFETIME: i64 = 120;

/// The claims of a logout token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    /// The client id.
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    /// Random, unique per token.
    pub jti: String,
    /// `{ BACKCHANNEL_LOGOUT_EVENT: {} }`.
    pub events: serde_json::Map<String, serde_json::Value>,
    /// The person's public id, as in their ID tokens.
    pub sub: String,
    /// The single sign-on session that ended, as in the ID tokens' `sid`.
    pub sid: String,
}

impl LogoutClaims {
    /// The claims of a logout token for `client_id` about the session `sid` of `sub`.
    pub fn new(
        issuer: &str,
        client_id: &str,
        sub: &str,
        sid: &str,
        jti: String,
        now: UnixTime,
    ) -> Self {
        let mut events = serde_json::Map::new();
        events.insert(
            BACKCHANNEL_LOGOUT_EVENT.to_owned(),
            serde_json::Value::Object(serde_json::Map::new()),
        );
        Self {
            iss: issuer.to_owned(),
            aud: client_id.to_owned(),
            iat: now,
            exp: now.saturating_add(LOGOUT_TOKEN_LIFETIME),
            jti,
            events,
            sub: sub.to_owned(),
            sid: sid.to_owned(),
        }
    }
}

/// A logout token to send: to whom, where, and the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    pub client_id: String,
    /// The client's registered `backchannel_logout_uri`.
    pub uri: String,
    /// The signed JWT (form field `logout_token`).
    pub logout_token: String,
    /// Its `jti` (for the audit trail; the token itself is not logged).
    pub jti: String,
}

impl std::fmt::Debug for BackchannelLogout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackchannelLogout")
            .field("client_id", &self.client_id)
            .field("uri", &self.uri)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

fn b64_json<T: Serialize>(value: &T) -> Result<String> {
    let bytes = serde_json::to_vec(value).map_err(|e| OidcError::Signing(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Signs `claims` as a logout token (compact JWS) with `key`.
pub(crate) fn sign(claims: &LogoutClaims, key: &SigningKey) -> Result<String> {
    let header = serde_json::json!({
        "alg": key.alg().as_str(),
        "typ": LOGOUT_TOKEN_TYPE,
        "kid": key.kid(),
    });
    let input = format!("{}.{}", b64_json(&header)?, b64_json(claims)?);
    let alg = key.alg().jose();
    let signature = match &key.signer {
        Signer::Ed(k) => k.sign(&alg, input.as_bytes()),
        Signer::Rsa(k) => k.sign(&alg, input.as_bytes()),
    }
    .map_err(|e| OidcError::Signing(e.to_string()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

impl Provider {
    /// The logout token for `client_id` about the ended session `sid` of `sub`, when that
    /// client registered a `backchannel_logout_uri` (None otherwise, or for an unknown
    /// client). Signed with the client's ID token algorithm and the key in force.
    pub fn backchannel_logout(
        &self,
        client_id: &str,
        sub: &str,
        sid: &str,
    ) -> Result<Option<BackchannelLogout>> {
        let Some(client) = self.client(client_id) else {
            return Ok(None);
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            return Ok(None);
        };
        let now = self.clock.now();
        let jti = random_token(16)?;
        let claims = LogoutClaims::new(&self.settings.issuer, client_id, sub, sid, jti, now);
        let token = self.sign_logout_token(&client, &claims, now)?;
        Ok(Some(BackchannelLogout {
            client_id: client_id.to_owned(),
            uri,
            logout_token: token,
            jti: claims.jti,
        }))
    }

    fn sign_logout_token(
        &self,
        client: &ClientRegistration,
        claims: &LogoutClaims,
        now: UnixTime,
    ) -> Result<String> {
        let keys = self.keys();
        let alg = client.id_token_alg;
        let key = keys
            .signing_key(alg, now)
            .ok_or_else(|| OidcError::Key(format!("no {} key signs now", alg.as_str())))?;
        sign(claims, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::SigningAlg;
    use crate::keys::KeySet;
    use openidconnect::JsonWebKey as _;

    const NOW: UnixTime = 1_800_000_000;

    fn parts(jwt: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>, String) {
        let p: Vec<&str> = jwt.split('.').collect();
        assert_eq!(p.len(), 3);
        let json = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
        (
            json(p[0]),
            json(p[1]),
            URL_SAFE_NO_PAD.decode(p[2]).unwrap(),
            format!("{}.{}", p[0], p[1]),
        )
    }

    #[test]
    fn logout_tokens_carry_the_spec_claims_and_verify() {
        for alg in [SigningAlg::EdDsa, SigningAlg::Rs256] {
            let mut set = KeySet::new(Vec::new(), 300).unwrap();
            set.ensure(alg, NOW).unwrap();
            let key = set.signing_key(alg, NOW).unwrap();
            let claims = LogoutClaims::new(
                "https://idp.example",
                "app",
                "u-1",
                "sid-1",
                "jti-1".into(),
                NOW,
            );
            let jwt = sign(&claims, key).unwrap();
            let (header, body, signature, input) = parts(&jwt);
            assert_eq!(header["typ"], "logout+jwt");
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["kid"], key.kid());
            assert_eq!(body["iss"], "https://idp.example");
            assert_eq!(body["aud"], "app");
            assert_eq!(body["sub"], "u-1");
            assert_eq!(body["sid"], "sid-1");
            assert_eq!(body["jti"], "jti-1");
            assert_eq!(body["iat"], NOW);
            assert_eq!(body["exp"], NOW + LOGOUT_TOKEN_LIFETIME);
            assert_eq!(
                body["events"],
                serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
            );
            assert!(body.get("nonce").is_none(), "a logout token has no nonce");
            let back: LogoutClaims = serde_json::from_value(body).unwrap();
            assert_eq!(back, claims);
            // The signature verifies with the published key, and not over other bytes.
            key.public_jwk()
                .verify_signature(&alg.jose(), input.as_bytes(), &signature)
                .unwrap();
            assert!(
                key.public_jwk()
                    .verify_signature(&alg.jose(), b"other.bytes", &signature)
                    .is_err()
            );
        }
    }
}
