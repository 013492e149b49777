//! Issuing tokens at the token endpoint, and revoking a token family after a replay.

use crate::clients::ClientRegistration;
use crate::error::json_no_store;
use crate::events::{GrantKind, OidcEvent, RevocationCause};
use crate::idtoken::IdTokenInput;
use crate::model::{AccessGrant, RefreshGrant, UserClaims, released};
use crate::provider::Provider;
use crate::token::{Refusal, internal};
use crate::{UnixTime, later, random_token, token_key};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

/// RFC 6749 5.1.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    id_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
}

/// What one issuance is about.
#[derive(Debug)]
pub(crate) struct Issue<'a> {
    pub(crate) sub: &'a str,
    pub(crate) scope: Vec<String>,
    pub(crate) auth_time: UnixTime,
    pub(crate) amr: &'a [String],
    pub(crate) acr: Option<&'a str>,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) claims: &'a UserClaims,
    pub(crate) family: &'a str,
    pub(crate) grant: GrantKind,
    /// The single sign-on session's public id (the ID token's `sid`).
    pub(crate) sid: Option<&'a str>,
}

impl Provider {
    /// Revokes a family (after a replay, or for an inactive account) and audits it.
    pub(crate) async fn revoke(
        &self,
        client: &ClientRegistration,
        family: &str,
        sub: &str,
        cause: RevocationCause,
        now: UnixTime,
    ) {
        let until = later(
            now,
            client
                .access_token_lifetime
                .max(client.refresh_token_lifetime),
        );
        if let Err(e) = self.state.revoke_family(family, until, now).await {
            tracing::error!(error = %e, "revoking a token family");
        }
        tracing::warn!(client_id = %client.client_id, ?cause, "replay: token family revoked");
        self.backend
            .record(OidcEvent::TokensRevoked {
                client_id: client.client_id.clone(),
                sub: sub.to_owned(),
                cause,
            })
            .await;
    }

    /// Access token, ID token and (when enabled) a new refresh token.
    pub(crate) async fn issue(
        &self,
        client: &ClientRegistration,
        issue: Issue<'_>,
        now: UnixTime,
    ) -> Result<Response, Refusal> {
        let access_token = random_token(32).map_err(internal)?;
        let claims = released(&issue.scope, issue.claims);
        let id_token = self
            .sign_id_token(&IdTokenInput {
                issuer: &self.settings.issuer,
                client,
                sub: issue.sub,
                auth_time: issue.auth_time,
                amr: issue.amr,
                acr: issue.acr,
                nonce: issue.nonce,
                claims: &claims,
                access_token: Some(&access_token),
                sid: issue.sid,
                now,
            })
            .map_err(internal)?;
        let access = AccessGrant {
            sub: issue.sub.to_owned(),
            client_id: client.client_id.clone(),
            scope: issue.scope.clone(),
            family: issue.family.to_owned(),
            expires: later(now, client.access_token_lifetime),
        };
        self.state
            .put_access(&token_key(&access_token), &access, now)
            .await
            .map_err(internal)?;
        let refresh_token = if client.refresh_tokens {
            let token = random_token(32).map_err(internal)?;
            let grant = RefreshGrant {
                sub: issue.sub.to_owned(),
                client_id: client.client_id.clone(),
                scope: issue.scope.clone(),
                auth_time: issue.auth_time,
                amr: issue.amr.to_vec(),
                acr: issue.acr.map(str::to_owned),
                sid: issue.sid.map(str::to_owned),
                family: issue.family.to_owned(),
                expires: later(now, client.refresh_token_lifetime),
            };
            self.state
                .put_refresh(&token_key(&token), &grant, now)
                .await
                .map_err(internal)?;
            Some(token)
        } else {
            None
        };
        tracing::info!(client_id = %client.client_id, grant = ?issue.grant, "tokens issued");
        self.backend
            .record(OidcEvent::TokenIssued {
                client_id: client.client_id.clone(),
                sub: issue.sub.to_owned(),
                grant: issue.grant,
                sid: issue.sid.map(str::to_owned),
            })
            .await;
        Ok(json_no_store(
            StatusCode::OK,
            &TokenResponse {
                access_token: &access_token,
                token_type: "Bearer",
                expires_in: client.access_token_lifetime,
                id_token: &id_token,
                refresh_token: refresh_token.as_deref(),
                scope: issue.scope.join(" "),
            },
        ))
    }
}
