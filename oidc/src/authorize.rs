//! The authorization endpoint (OIDC Core 3.1.2, 3.2.2; RFC 6749 4.1; RFC 7636 4.3) and the
//! redirects back to the relying party.
//!
//! An unknown client or a redirect_uri that is not registered exactly gets an error page,
//! never a redirect (RFC 6749 4.1.2.1). Every other error goes back to the redirect_uri with
//! `error`, `error_description`, `state` and `iss` (RFC 9207): in the query for `code`, in the
//! fragment for `id_token`.
//!
//! `prompt=none` goes to the login URL like any authorization: the backend answers it from
//! its single sign-on session, or with `login_required` (`Provider::login_required`) without
//! showing a page.

use crate::error::{ErrorCode, no_store, page};
use crate::model::{PendingAuthorization, ResponseType};
use crate::pages::ErrorPage;
use crate::params::{Params, is_form, words};
use crate::provider::Provider;
use crate::{later, random_token};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Scopes we know; others are ignored (RFC 6749 3.3 lets us grant less).
const SCOPES: [&str; 3] = ["openid", "profile", "email"];
const MAX_STATE: usize = 2048;
const MAX_NONCE: usize = 512;
const MAX_HINT: usize = 256;
/// The longest `claims` parameter read (only its `id_token.acr` is used).
const MAX_CLAIMS: usize = 2048;

/// The acr values a `claims` request parameter asks for in the ID token (OIDC Core 5.5.1.1:
/// `{"id_token":{"acr":{"essential":true,"values":[..]}}}`, or `value`); its other members
/// are not supported and ignored. None when it is not a JSON object.
fn claims_acr(claims: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(claims).ok()?;
    let acr = v.as_object()?.get("id_token").and_then(|t| t.get("acr"));
    let Some(acr) = acr else {
        return Some(Vec::new());
    };
    let mut out: Vec<String> = acr
        .get("values")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(one) = acr.get("value").and_then(|x| x.as_str()) {
        out.insert(0, one.to_owned());
    }
    Some(out)
}

pub(crate) async fn get(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    p.authorize(
        &headers,
        &Params::parse(query.unwrap_or_default().as_bytes()),
    )
    .await
}

pub(crate) async fn post(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return p.bad_request_page(&headers, None).await;
    }
    p.authorize(&headers, &Params::parse(&body)).await
}

impl Provider {
    /// The page of a request that cannot go back to its client (RFC 6749 4.1.2.1), drawn by
    /// the gateway in the reader's language. `client_id`: a registered client's.
    async fn bad_request_page(&self, headers: &HeaderMap, client_id: Option<&str>) -> Response {
        let which = ErrorPage::InvalidRequest;
        page(
            which.status(),
            self.pages.error(headers, client_id, which).await,
        )
    }
}

/// Where and how an authorization response goes.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) redirect_uri: &'a str,
    pub(crate) response_type: ResponseType,
    pub(crate) state: Option<&'a str>,
    pub(crate) issuer: &'a str,
}

impl Target<'_> {
    /// 303 to the redirect_uri with `params`, plus state and iss.
    pub(crate) fn redirect(&self, params: &[(&str, &str)]) -> Response {
        let Ok(mut url) = url::Url::parse(self.redirect_uri) else {
            // Registered URIs are checked at start-up; this cannot happen.
            tracing::error!("registered redirect_uri does not parse");
            return no_store(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(state) = self.state {
            all.push(("state", state));
        }
        all.push(("iss", self.issuer));
        match self.response_type {
            ResponseType::Code => {
                url.query_pairs_mut().extend_pairs(all);
            }
            ResponseType::IdToken => {
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(all)
                    .finish();
                url.set_fragment(Some(&fragment));
            }
        }
        match HeaderValue::from_str(url.as_str()) {
            Ok(location) => {
                no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
            }
            Err(_) => {
                tracing::error!("redirect URL is not a valid header value");
                no_store(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }

    /// An error response (RFC 6749 4.1.2.1).
    pub(crate) fn error(&self, code: ErrorCode, description: &'static str) -> Response {
        tracing::info!(
            error = code.as_str(),
            description,
            "authorization request refused"
        );
        self.redirect(&[("error", code.as_str()), ("error_description", description)])
    }
}

/// A 43-character base64url value: the S256 challenge of a verifier.
fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Provider {
    pub(crate) async fn authorize(&self, headers: &HeaderMap, params: &Params) -> Response {
        let now = self.clock.now();
        let Some(client) = params.get("client_id").and_then(|id| self.client(id)) else {
            tracing::info!("authorization request: unknown or missing client_id");
            return self.bad_request_page(headers, None).await;
        };
        let registered = |uri: &&str| client.redirect_uris.iter().any(|r| r == uri);
        let Some(redirect_uri) = params.get("redirect_uri").filter(registered) else {
            tracing::info!(client_id = %client.client_id, "authorization request: redirect_uri not registered");
            return self
                .bad_request_page(headers, Some(&client.client_id))
                .await;
        };
        let response_type = match params.get("response_type") {
            Some("code") => Ok(ResponseType::Code),
            Some("id_token") => Ok(ResponseType::IdToken),
            Some(_) => Err(ErrorCode::UnsupportedResponseType),
            None => Err(ErrorCode::InvalidRequest),
        };
        let target = Target {
            redirect_uri,
            response_type: *response_type.as_ref().unwrap_or(&ResponseType::Code),
            state: params.get("state"),
            issuer: &self.settings.issuer,
        };
        let response_type = match response_type {
            Ok(rt) => rt,
            Err(code) => return target.error(code, "response_type must be code or id_token"),
        };
        if params.malformed() {
            return target.error(ErrorCode::InvalidRequest, "a parameter is repeated");
        }
        let default_mode = match response_type {
            ResponseType::Code => "query",
            ResponseType::IdToken => "fragment",
        };
        if params
            .get("response_mode")
            .is_some_and(|m| m != default_mode)
        {
            return target.error(ErrorCode::InvalidRequest, "unsupported response_mode");
        }
        if params.has("request") {
            return target.error(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            );
        }
        if params.has("request_uri") {
            return target.error(
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            );
        }
        let allowed = match response_type {
            ResponseType::Code => client.allow_code,
            ResponseType::IdToken => client.allow_implicit_id_token,
        };
        if !allowed {
            return target.error(
                ErrorCode::UnauthorizedClient,
                "this response_type is not allowed for the client",
            );
        }
        let requested = words(params.get("scope"));
        if !requested.iter().any(|s| s == "openid") {
            return target.error(ErrorCode::InvalidScope, "scope must include openid");
        }
        let scope: Vec<String> = SCOPES
            .iter()
            .filter(|s| requested.iter().any(|r| r == *s))
            .map(|s| (*s).to_owned())
            .collect();
        let nonce = params.get("nonce");
        if response_type == ResponseType::IdToken && nonce.is_none() {
            return target.error(
                ErrorCode::InvalidRequest,
                "nonce is required for response_type=id_token",
            );
        }
        if target.state.is_some_and(|s| s.len() > MAX_STATE)
            || nonce.is_some_and(|n| n.len() > MAX_NONCE)
            || params.get("login_hint").is_some_and(|h| h.len() > MAX_HINT)
            || params.get("acr_values").is_some_and(|a| a.len() > MAX_HINT)
            || params.get("claims").is_some_and(|c| c.len() > MAX_CLAIMS)
        {
            return target.error(ErrorCode::InvalidRequest, "a parameter is too long");
        }
        let code_challenge = if response_type == ResponseType::Code {
            match (
                params.get("code_challenge"),
                params.get("code_challenge_method"),
            ) {
                (None, None) if client.pkce_required() => {
                    return target.error(
                        ErrorCode::InvalidRequest,
                        "code_challenge (S256) is required",
                    );
                }
                (None, None) => None,
                (Some(c), Some("S256")) if valid_challenge(c) => Some(c.to_owned()),
                _ => {
                    return target.error(
                        ErrorCode::InvalidRequest,
                        "code_challenge_method must be S256 with a valid code_challenge",
                    );
                }
            }
        } else {
            None
        };
        let prompt = words(params.get("prompt"));
        if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
            return target.error(ErrorCode::InvalidRequest, "prompt=none cannot be combined");
        }
        let max_age = match params.get("max_age").map(str::parse::<u64>) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => {
                return target.error(
                    ErrorCode::InvalidRequest,
                    "max_age must be a number of seconds",
                );
            }
        };
        // acr values asked for in `claims` come first (they name the ID token's acr).
        let mut acr_values = match params.get("claims").map(claims_acr) {
            None => Vec::new(),
            Some(Some(values)) => values,
            Some(None) => {
                return target.error(ErrorCode::InvalidRequest, "claims must be a JSON object");
            }
        };
        acr_values.extend(words(params.get("acr_values")));
        let id = match random_token(32) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "authorization request");
                return target.error(ErrorCode::ServerError, "internal error");
            }
        };
        let pending = PendingAuthorization {
            id,
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
            redirect_uri: redirect_uri.to_owned(),
            response_type,
            scope,
            state: target.state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt: (!prompt.is_empty()).then(|| prompt.join(" ")),
            max_age,
            login_hint: params.get("login_hint").map(str::to_owned),
            acr_values,
            expires: later(now, self.settings.pending_lifetime),
        };
        if let Err(e) = self.state.put_pending(&pending, now).await {
            tracing::warn!(error = %e, "storing a pending authorization");
            return target.error(ErrorCode::TemporarilyUnavailable, "try again later");
        }
        tracing::info!(client_id = %client.client_id, "authorization request accepted; login pending");
        match HeaderValue::from_str(&self.backend.login_url(&pending.id)) {
            Ok(location) => {
                no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
            }
            Err(_) => {
                tracing::error!("login_url is not a valid header value");
                target.error(ErrorCode::ServerError, "internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_values_from_the_claims_parameter() {
        let mfa = "urn:mfa-gateway:acr:mfa";
        assert_eq!(
            claims_acr(&format!(
                r#"{{"id_token":{{"acr":{{"essential":true,"values":["{mfa}","x"]}}}}}}"#
            )),
            Some(vec![mfa.to_owned(), "x".to_owned()])
        );
        assert_eq!(
            claims_acr(&format!(r#"{{"id_token":{{"acr":{{"value":"{mfa}"}}}}}}"#)),
            Some(vec![mfa.to_owned()])
        );
        assert_eq!(
            claims_acr(r#"{"userinfo":{"email":null}}"#),
            Some(Vec::new())
        );
        assert_eq!(claims_acr(r#"{"id_token":{"acr":null}}"#), Some(Vec::new()));
        assert_eq!(claims_acr("not json"), None);
        assert_eq!(claims_acr("[1]"), None);
    }

    #[test]
    fn challenges_are_43_base64url_characters() {
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"
        ));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }

    #[test]
    fn redirects_keep_registered_query_and_use_fragment_for_id_token() {
        let t = Target {
            redirect_uri: "https://app.example/cb?tenant=a",
            response_type: ResponseType::Code,
            state: Some("s&1"),
            issuer: "https://idp.example",
        };
        let r = t.redirect(&[("code", "abc")]);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://app.example/cb?tenant=a&code=abc&state=s%261&iss=https%3A%2F%2Fidp.example"
        );
        let t = Target {
            response_type: ResponseType::IdToken,
            state: None,
            ..t
        };
        let r = t.error(ErrorCode::AccessDenied, "no");
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://app.example/cb?tenant=a#error=access_denied&error_description=no&iss=https%3A%2F%2Fidp.example"
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
}
