//! The token endpoint (RFC 6749 3.2, 4.1.3, 5, 6; RFC 7636 4.5-4.6; OIDC Core 3.1.3, 12).
//!
//! Grants: `authorization_code` and `refresh_token`. A code or a rotated refresh token used a
//! second time revokes every token of its family. Errors are RFC 6749 5.2 JSON, never cached,
//! and each refusal is audited with a closed reason.

use crate::client_auth::{audit_id, authenticate};
use crate::clients::ClientRegistration;
use crate::error::{ErrorCode, token_error};
use crate::events::{GrantKind, OidcEvent, RefusalReason, RevocationCause};
use crate::issue::Issue;
use crate::params::{Params, is_form, words};
use crate::provider::Provider;
use crate::state::Taken;
use crate::{UnixTime, later, token_key};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub(crate) async fn post(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    p.token(&headers, &body).await
}

/// A refused request: what the client is told and what the audit trail records.
#[derive(Debug)]
pub(crate) struct Refusal {
    code: ErrorCode,
    reason: RefusalReason,
    description: &'static str,
}

fn refuse(code: ErrorCode, reason: RefusalReason, description: &'static str) -> Refusal {
    Refusal {
        code,
        reason,
        description,
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "token endpoint");
    refuse(
        ErrorCode::ServerError,
        RefusalReason::ServerError,
        "internal error",
    )
}

/// RFC 7636 4.1: 43-128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.len() == challenge.len() && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

impl Provider {
    async fn token(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        let now = self.clock.now();
        let params = Params::parse(body);
        if !is_form(headers) || params.malformed() {
            let r = refuse(
                ErrorCode::InvalidRequest,
                RefusalReason::MalformedRequest,
                "expected a form without repeated parameters",
            );
            return self.refused(None, r, false).await;
        }
        let clients = self.clients_map();
        let client = match authenticate(&clients, headers, &params) {
            Ok(c) => c,
            Err(f) => {
                let r = refuse(f.code, f.reason, "client authentication failed");
                return self.refused(f.client_id, r, f.basic).await;
            }
        };
        let result = match params.get("grant_type") {
            Some("authorization_code") => self.code_grant(client, &params, now).await,
            Some("refresh_token") => self.refresh_grant(client, &params, now).await,
            Some(_) => Err(refuse(
                ErrorCode::UnsupportedGrantType,
                RefusalReason::UnsupportedGrantType,
                "unsupported grant_type",
            )),
            None => Err(refuse(
                ErrorCode::InvalidRequest,
                RefusalReason::MalformedRequest,
                "grant_type is required",
            )),
        };
        match result {
            Ok(response) => response,
            Err(r) => {
                self.refused(Some(audit_id(&client.client_id)), r, false)
                    .await
            }
        }
    }

    async fn refused(&self, client_id: Option<String>, r: Refusal, basic: bool) -> Response {
        tracing::info!(client_id = client_id.as_deref().unwrap_or("-"), error = r.code.as_str(), reason = ?r.reason, "token request refused");
        self.backend
            .record(OidcEvent::TokenRefused {
                client_id,
                error: r.code,
                reason: r.reason,
            })
            .await;
        token_error(r.code, r.description, basic)
    }

    async fn code_grant(
        &self,
        client: &ClientRegistration,
        params: &Params,
        now: UnixTime,
    ) -> Result<Response, Refusal> {
        use ErrorCode::{InvalidGrant, InvalidRequest};
        if !client.allow_code {
            return Err(refuse(
                ErrorCode::UnauthorizedClient,
                RefusalReason::GrantNotAllowed,
                "the client may not use this grant",
            ));
        }
        let (Some(code), Some(redirect_uri)) = (params.get("code"), params.get("redirect_uri"))
        else {
            return Err(refuse(
                InvalidRequest,
                RefusalReason::MalformedRequest,
                "code and redirect_uri are required",
            ));
        };
        let verifier = params.get("code_verifier");
        if verifier.is_some_and(|v| !valid_verifier(v)) {
            return Err(refuse(
                InvalidRequest,
                RefusalReason::MalformedRequest,
                "code_verifier is malformed",
            ));
        }
        let lifetime = client.access_token_lifetime.max(if client.refresh_tokens {
            client.refresh_token_lifetime
        } else {
            0
        });
        let grant = match self
            .state
            .take_code(&token_key(code), now, later(now, lifetime))
            .await
        {
            Err(e) => return Err(internal(e)),
            Ok(Taken::Missing) => {
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::UnknownCode,
                    "invalid or expired code",
                ));
            }
            Ok(Taken::Replayed(g)) => {
                if let Some(owner) = self.client(&g.client_id) {
                    self.revoke(
                        &owner,
                        &g.family,
                        &g.user.sub,
                        RevocationCause::CodeReused,
                        now,
                    )
                    .await;
                }
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::CodeReused,
                    "invalid or expired code",
                ));
            }
            Ok(Taken::Fresh(g)) => g,
        };
        if grant.expires <= now {
            return Err(refuse(
                InvalidGrant,
                RefusalReason::UnknownCode,
                "invalid or expired code",
            ));
        }
        if grant.client_id != client.client_id {
            return Err(refuse(
                InvalidGrant,
                RefusalReason::ClientMismatch,
                "invalid or expired code",
            ));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(refuse(
                InvalidGrant,
                RefusalReason::RedirectMismatch,
                "redirect_uri does not match",
            ));
        }
        match (grant.code_challenge.as_deref(), verifier) {
            (Some(challenge), Some(v)) if !s256_matches(v, challenge) => {
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::PkceMismatch,
                    "code_verifier does not match",
                ));
            }
            (Some(_), Some(_)) => {}
            (None, None) if !client.pkce_required() => {}
            _ => {
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::PkceMissing,
                    "code_verifier does not match",
                ));
            }
        }
        let user = &grant.user;
        let issue = Issue {
            sub: &user.sub,
            scope: grant.scope.clone(),
            auth_time: user.auth_time,
            amr: &user.amr,
            acr: user.acr.as_deref(),
            nonce: grant.nonce.as_deref(),
            claims: &user.claims,
            family: &grant.family,
            grant: GrantKind::AuthorizationCode,
            sid: user.sid.as_deref(),
        };
        self.issue(client, issue, now).await
    }

    async fn refresh_grant(
        &self,
        client: &ClientRegistration,
        params: &Params,
        now: UnixTime,
    ) -> Result<Response, Refusal> {
        use ErrorCode::{InvalidGrant, InvalidRequest};
        if !client.refresh_tokens {
            return Err(refuse(
                ErrorCode::UnauthorizedClient,
                RefusalReason::GrantNotAllowed,
                "the client may not use this grant",
            ));
        }
        let Some(token) = params.get("refresh_token") else {
            return Err(refuse(
                InvalidRequest,
                RefusalReason::MalformedRequest,
                "refresh_token is required",
            ));
        };
        let remember = later(now, client.refresh_token_lifetime);
        let grant = match self
            .state
            .take_refresh(&token_key(token), now, remember)
            .await
        {
            Err(e) => return Err(internal(e)),
            Ok(Taken::Missing) => {
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::UnknownRefreshToken,
                    "invalid refresh token",
                ));
            }
            Ok(Taken::Replayed(g)) => {
                if let Some(owner) = self.client(&g.client_id) {
                    self.revoke(
                        &owner,
                        &g.family,
                        &g.sub,
                        RevocationCause::RefreshTokenReused,
                        now,
                    )
                    .await;
                }
                return Err(refuse(
                    InvalidGrant,
                    RefusalReason::RefreshReused,
                    "invalid refresh token",
                ));
            }
            Ok(Taken::Fresh(g)) => g,
        };
        if grant.client_id != client.client_id {
            return Err(refuse(
                InvalidGrant,
                RefusalReason::ClientMismatch,
                "invalid refresh token",
            ));
        }
        let scope = match params.get("scope") {
            None => grant.scope.clone(),
            Some(s) => {
                let asked = words(Some(s));
                if !asked.iter().any(|w| w == "openid")
                    || asked.iter().any(|w| !grant.scope.contains(w))
                {
                    return Err(refuse(
                        ErrorCode::InvalidScope,
                        RefusalReason::ScopeNotGranted,
                        "scope exceeds the original grant",
                    ));
                }
                grant
                    .scope
                    .iter()
                    .filter(|g| asked.contains(g))
                    .cloned()
                    .collect()
            }
        };
        let Some(claims) = self.backend.current_user(&grant.sub).await else {
            self.revoke(
                client,
                &grant.family,
                &grant.sub,
                RevocationCause::AccountInactive,
                now,
            )
            .await;
            return Err(refuse(
                InvalidGrant,
                RefusalReason::AccountInactive,
                "invalid refresh token",
            ));
        };
        let issue = Issue {
            sub: &grant.sub,
            scope,
            auth_time: grant.auth_time,
            amr: &grant.amr,
            acr: grant.acr.as_deref(),
            nonce: None,
            claims: &claims,
            family: &grant.family,
            grant: GrantKind::RefreshToken,
            sid: grant.sid.as_deref(),
        };
        self.issue(client, issue, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let vector = include_str!("../testdata/rfc7636_appendix_b.txt");
        let field = |name: &str| {
            vector
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .unwrap()
                .trim()
        };
        let (verifier, challenge) = (field("code_verifier"), field("code_challenge"));
        assert!(valid_verifier(verifier));
        assert!(s256_matches(verifier, challenge));
        assert!(!s256_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!s256_matches(verifier, ""));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
    }
}
