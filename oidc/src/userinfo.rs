//! The UserInfo endpoint (OIDC Core 5.3) with Bearer tokens (RFC 6750 2.1, 2.2, 3).
//!
//! The token comes in the Authorization header or, for POST, in a form body; never both.
//! Claims are read fresh from the gateway ([`crate::OidcBackend::current_user`]) and released
//! by the scope of the token.

use crate::error::{json_no_store, no_store};
use crate::model::released;
use crate::params::{Params, is_form};
use crate::provider::Provider;
use crate::token_key;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

pub(crate) async fn get(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    p.userinfo(&headers, None).await
}

pub(crate) async fn post(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = is_form(&headers).then(|| Params::parse(&body));
    p.userinfo(&headers, form.as_ref()).await
}

#[derive(Serialize)]
struct UserInfo<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation: Option<String>,
}

/// A 401/400 with the RFC 6750 3 challenge.
fn challenge(status: StatusCode, value: &'static str) -> Response {
    no_store(
        (
            status,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static(value))],
        )
            .into_response(),
    )
}

fn invalid_token() -> Response {
    challenge(
        StatusCode::UNAUTHORIZED,
        "Bearer error=\"invalid_token\", error_description=\"the access token is invalid or expired\"",
    )
}

fn invalid_request() -> Response {
    challenge(StatusCode::BAD_REQUEST, "Bearer error=\"invalid_request\"")
}

/// The token of an `Authorization: Bearer` header: Ok(None) when there is no such header.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let value = value.to_str().map_err(|_| ())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Ok(None),
    }
}

impl Provider {
    async fn userinfo(&self, headers: &HeaderMap, form: Option<&Params>) -> Response {
        let now = self.clock.now();
        if form.is_some_and(Params::malformed) {
            return invalid_request();
        }
        let Ok(from_header) = bearer(headers) else {
            return invalid_request();
        };
        let token = match (from_header, form.and_then(|f| f.get("access_token"))) {
            (Some(_), Some(_)) => return invalid_request(),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return challenge(StatusCode::UNAUTHORIZED, "Bearer"),
        };
        let grant = match self.state.get_access(&token_key(token), now).await {
            Ok(Some(g)) => g,
            Ok(None) => return invalid_token(),
            Err(e) => {
                tracing::error!(error = %e, "userinfo: reading an access token");
                return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
            }
        };
        if !grant.scope.iter().any(|s| s == "openid") {
            return challenge(
                StatusCode::FORBIDDEN,
                "Bearer error=\"insufficient_scope\", scope=\"openid\"",
            );
        }
        let Some(claims) = self.backend.current_user(&grant.sub).await else {
            tracing::info!(client_id = %grant.client_id, "userinfo: account no longer active");
            return invalid_token();
        };
        let claims = released(&grant.scope, &claims);
        json_no_store(
            StatusCode::OK,
            &UserInfo {
                sub: &grant.sub,
                name: claims.name,
                preferred_username: claims.preferred_username,
                email_verified: claims.email.as_ref().map(|_| claims.email_verified),
                email: claims.email,
                organisation: claims.organisation,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Ok(Some("abc")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), Ok(None));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), Ok(None));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(bearer(&h), Err(()));
    }
}
