//! What the provider and the gateway exchange, and the grants kept in [`crate::OidcState`].

use crate::UnixTime;
use crate::events::OidcEvent;
use async_trait::async_trait;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

/// What the gateway tells the provider about a person who just logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatedUser {
    /// Stable identifier of the person, not the username.
    pub sub: String,
    /// When the person authenticated.
    pub auth_time: UnixTime,
    /// Authentication methods (RFC 8176): "pwd", "otp", "hwk", "swk".
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub claims: UserClaims,
    /// The single sign-on session this login belongs to, if any: the ID token's `sid`
    /// (Back-Channel Logout 1.0), never the session's cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Claims about a person, released by scope: `profile` gives name, preferred_username and
/// organisation; `email` gives email and email_verified. Relying parties must key accounts
/// on `sub`, never on `email` (an address is set by administrators and not unique).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Whether the person proved control of `email`; false unless they did.
    #[serde(default)]
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub organisation: Option<String>,
}

/// What /authorize asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// `code`: authorization code flow; the answer goes in the query.
    Code,
    /// `id_token`: implicit flow without access token; the answer goes in the fragment.
    IdToken,
}

/// A validated /authorize request waiting for the person to log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// Random, single use; it appears in the login URL.
    pub id: String,
    pub client_id: String,
    /// The client's registered name, for the login page.
    pub client_name: String,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    /// Scopes we know, in request order; always contains "openid".
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 challenge (43 base64url characters).
    pub code_challenge: Option<String>,
    /// `login`, `consent`, `select_account` (never `none`: answered at once).
    pub prompt: Option<String>,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// The requested acr values (OpenID Connect Core 3.1.2.1), in order of preference; the
    /// gateway decides what they ask of the login.
    #[serde(default)]
    pub acr_values: Vec<String>,
    pub expires: UnixTime,
}

/// An issued authorization code (stored under the code's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub user: AuthenticatedUser,
    /// Every token issued from this code shares this random id, so they can be revoked together.
    pub family: String,
    pub expires: UnixTime,
}

/// An issued access token (stored under the token's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrant {
    pub sub: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub family: String,
    pub expires: UnixTime,
}

/// An issued refresh token (stored under the token's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub sub: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// The single sign-on session of the original login (carried into refreshed ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub family: String,
    pub expires: UnixTime,
}

/// What the gateway does for the provider.
#[async_trait]
pub trait OidcBackend: Send + Sync + 'static {
    /// Where to send the browser so the person logs in, e.g. `format!("/login?auth={pending_id}")`.
    fn login_url(&self, pending_id: &str) -> String;

    /// Current claims of `sub` (userinfo, refresh); `None` when the account is no longer active
    /// (refresh then fails with invalid_grant, userinfo with invalid_token).
    async fn current_user(&self, sub: &str) -> Option<UserClaims>;

    /// Something the audit trail must record.
    async fn record(&self, event: OidcEvent);

    /// RP-initiated logout happened for `sub` (if known from a valid id_token_hint): the gateway
    /// ends its own session and returns extra response headers (e.g. a Set-Cookie clearing its
    /// session cookie).
    async fn end_session(&self, sub: Option<&str>, request_headers: &HeaderMap) -> HeaderMap;

    /// A logout without a valid `id_token_hint` may be a forged cross-site request: before
    /// ending anything it is confirmed by the person. The token for the confirmation form
    /// when the request carries a session the gateway would end; None: nothing to end (then
    /// no confirmation is asked).
    async fn logout_confirmation(&self, _request_headers: &HeaderMap) -> Option<String> {
        None
    }

    /// Does `token` (from the confirmation form) belong to this request's session?
    async fn logout_confirmed(&self, _request_headers: &HeaderMap, _token: &str) -> bool {
        false
    }
}

/// Scope-filtered claims.
pub(crate) fn released(scope: &[String], claims: &UserClaims) -> UserClaims {
    let profile = scope.iter().any(|s| s == "profile");
    let email = scope.iter().any(|s| s == "email");
    UserClaims {
        name: claims.name.clone().filter(|_| profile),
        preferred_username: claims.preferred_username.clone().filter(|_| profile),
        organisation: claims.organisation.clone().filter(|_| profile),
        email: claims.email.clone().filter(|_| email),
        email_verified: claims.email_verified && email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_scopes() {
        let all = UserClaims {
            name: Some("Ann".into()),
            email: Some("ann@example.org".into()),
            email_verified: true,
            preferred_username: Some("ann".into()),
            organisation: Some("Acme".into()),
        };
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(released(&s(&["openid"]), &all), UserClaims::default());
        let p = released(&s(&["openid", "profile"]), &all);
        assert_eq!((p.name.as_deref(), p.email), (Some("Ann"), None));
        assert_eq!(p.organisation.as_deref(), Some("Acme"));
        let e = released(&s(&["openid", "email"]), &all);
        assert_eq!(
            (e.name, e.email.as_deref()),
            (None, Some("ann@example.org"))
        );
        assert!(
            e.email_verified && !p.email_verified,
            "email_verified goes with email"
        );
    }
}
