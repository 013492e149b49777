//! Audit events: typed values handed to [`crate::OidcBackend::record`]; the gateway owns the
//! sink. Reasons are closed enums so the audit trail and metrics can count them.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// Something the audit trail must record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OidcEvent {
    /// Tokens were issued to a client for a person.
    TokenIssued {
        client_id: String,
        sub: String,
        grant: GrantKind,
        /// The single sign-on session the tokens were issued under (the gateway keeps which
        /// clients each session served, for back-channel logout).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sid: Option<String>,
    },
    /// A token request was refused. `client_id` is the claimed one (cut to 128 characters),
    /// which may not be registered.
    TokenRefused {
        client_id: Option<String>,
        error: ErrorCode,
        reason: RefusalReason,
    },
    /// Every token of a grant was revoked because a code or refresh token was used twice
    /// (RFC 6749 4.1.2, 10.4).
    TokensRevoked {
        client_id: String,
        sub: String,
        cause: RevocationCause,
    },
    /// RP-initiated logout. `sub` and `client_id` come from a valid `id_token_hint`.
    LoggedOut {
        client_id: Option<String>,
        sub: Option<String>,
    },
}

/// How tokens were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// Code exchanged at the token endpoint.
    AuthorizationCode,
    /// Refresh token exchanged at the token endpoint.
    RefreshToken,
    /// ID token sent in the redirect (`response_type=id_token`).
    Implicit,
}

/// Why a token request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Missing, repeated or badly formed parameters.
    MalformedRequest,
    UnknownClient,
    BadClientSecret,
    /// A confidential client did not authenticate.
    MissingClientAuth,
    UnsupportedGrantType,
    /// The client may not use this grant type.
    GrantNotAllowed,
    /// Unknown or expired code.
    UnknownCode,
    /// The code was already exchanged.
    CodeReused,
    /// The code was issued to another client.
    ClientMismatch,
    /// redirect_uri differs from the one of the authorization request.
    RedirectMismatch,
    /// A PKCE challenge was sent but no verifier (or the other way round).
    PkceMissing,
    PkceMismatch,
    /// Unknown, expired or revoked refresh token.
    UnknownRefreshToken,
    /// A rotated refresh token was used again.
    RefreshReused,
    /// The account is no longer active.
    AccountInactive,
    /// A refresh asked for scopes beyond the original grant.
    ScopeNotGranted,
    /// The state store or a key failed.
    ServerError,
}

/// Why tokens were revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCause {
    CodeReused,
    RefreshTokenReused,
    /// A refresh was attempted for an account that is no longer active.
    AccountInactive,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_a_tag() {
        let e = OidcEvent::TokenRefused {
            client_id: Some("app".into()),
            error: ErrorCode::InvalidGrant,
            reason: RefusalReason::CodeReused,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "token_refused");
        assert_eq!(v["error"], "invalid_grant");
        assert_eq!(v["reason"], "code_reused");
        let back: OidcEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
