//! RP-Initiated Logout 1.0 (the end_session_endpoint).
//!
//! With a valid `id_token_hint` (our issuer, our signature; expiry does not matter) the
//! gateway's session ends at once ([`crate::OidcBackend::end_session`]). Without one the
//! request may be forged by another site (a plain link would sign people out of the portal):
//! when there is a session to end, the person confirms first (a POST with the session's
//! token, §2 "the OP SHOULD ask the End-User"). The browser goes back to
//! `post_logout_redirect_uri` (with `state`) only when that URI is registered for the client
//! named by the hint or by `client_id`; otherwise it gets the signed-out page. Both pages
//! are the gateway's ([`crate::Pages`]).

use crate::error::{no_store, page};
use crate::events::OidcEvent;
use crate::idtoken::verify_hint;
use crate::pages::LogoutConfirmation;
use crate::params::{Params, is_form};
use crate::provider::Provider;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(crate) async fn get(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    p.logout(
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
    let params = if is_form(&headers) {
        Params::parse(&body)
    } else {
        Params::default()
    };
    p.logout(&headers, &params).await
}

/// "Sign out?": the form posts the request again with the session's token.
fn confirmation(token: &str, params: &Params) -> LogoutConfirmation {
    let mut fields = vec![("confirm", "yes".to_owned())];
    for name in ["client_id", "post_logout_redirect_uri", "state"] {
        if let Some(v) = params.get(name) {
            fields.push((name, v.to_owned()));
        }
    }
    LogoutConfirmation {
        action: crate::settings::LOGOUT_PATH,
        csrf: token.to_owned(),
        fields,
    }
}

impl Provider {
    async fn logout(&self, headers: &HeaderMap, params: &Params) -> Response {
        let now = self.clock.now();
        let hint = params.get("id_token_hint").and_then(|h| {
            let jwks = self.keys().jwks(now);
            verify_hint(h, &self.settings.issuer, jwks)
        });
        if params.has("id_token_hint") && hint.is_none() {
            tracing::info!("logout: id_token_hint not accepted");
        }
        let (sub, hinted_client) = match hint {
            Some((sub, client)) => (Some(sub), Some(client)),
            None => (None, None),
        };
        let client = match (params.get("client_id"), hinted_client.as_deref()) {
            (Some(asked), Some(hinted)) if asked != hinted => {
                tracing::info!("logout: client_id differs from the id_token_hint");
                None
            }
            (asked, hinted) => hinted.or(asked).and_then(|id| self.client(id)),
        };
        let client_id = client.as_ref().map(|c| c.client_id.as_str());
        let redirect = match params.get("post_logout_redirect_uri") {
            _ if params.malformed() => None,
            Some(uri) => {
                let registered = client
                    .as_ref()
                    .filter(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
                if registered.is_none() {
                    tracing::info!(
                        "logout: post_logout_redirect_uri not registered for the client"
                    );
                }
                registered.map(|_| uri)
            }
            None => None,
        };

        if sub.is_none() {
            let confirmed = match (params.get("confirm"), params.get("csrf")) {
                (Some("yes"), Some(token)) => self.backend.logout_confirmed(headers, token).await,
                _ => false,
            };
            if !confirmed && let Some(token) = self.backend.logout_confirmation(headers).await {
                let html = self
                    .pages
                    .confirm_logout(headers, client_id, &confirmation(&token, params))
                    .await;
                return page(StatusCode::OK, html);
            }
        }
        let extra = self.backend.end_session(sub.as_deref(), headers).await;
        self.backend
            .record(OidcEvent::LoggedOut {
                client_id: client_id.map(str::to_owned),
                sub,
            })
            .await;

        let back = match redirect.map(url::Url::parse) {
            Some(Ok(mut url)) => {
                if let Some(state) = params.get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                HeaderValue::from_str(url.as_str()).ok()
            }
            _ => None,
        };
        let mut response = match back {
            Some(location) => {
                no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
            }
            None => page(
                StatusCode::OK,
                self.pages.signed_out(headers, client_id).await,
            ),
        };
        for (name, value) in &extra {
            response.headers_mut().append(name.clone(), value.clone());
        }
        response
    }
}
