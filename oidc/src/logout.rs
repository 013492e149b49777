//! RP-Initiated Logout 1.0 (the end_session_endpoint).
//!
//! With a valid `id_token_hint` (our issuer, our signature; expiry does not matter) the
//! gateway's session ends at once ([`crate::OidcBackend::end_session`]). Without one the
//! request may be forged by another site (a plain link would sign people out of the portal):
//! when there is a session to end, the person confirms first (a POST with the session's
//! token, §2 "the OP SHOULD ask the End-User"). The browser goes back to
//! `post_logout_redirect_uri` (with `state`) only when that URI is registered for the client
//! named by the hint or by `client_id`; otherwise it gets a plain "signed out" page.

use crate::error::{no_store, page};
use crate::events::OidcEvent;
use crate::idtoken::verify_hint;
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
fn confirm_page(token: &str, params: &Params) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    let mut hidden = format!(
        r#"<input type="hidden" name="csrf" value="{}"><input type="hidden" name="confirm" value="yes">"#,
        esc(token)
    );
    for name in ["client_id", "post_logout_redirect_uri", "state"] {
        if let Some(v) = params.get(name) {
            hidden.push_str(&format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                esc(v)
            ));
        }
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign out?</title></head>\n<body><main><h1>Sign out?</h1>\
         <p>An application asked to sign you out. Sign out now?</p>\
         <form method=\"post\" action=\"{}\">{hidden}\
         <button type=\"submit\" id=\"confirm-logout\">Sign out</button></form></main></body></html>\n",
        crate::settings::LOGOUT_PATH
    );
    no_store(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    )
}

fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "You are signed out",
        "You can close this window.",
    )
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
                return confirm_page(&token, params);
            }
        }
        let extra = self.backend.end_session(sub.as_deref(), headers).await;
        self.backend
            .record(OidcEvent::LoggedOut {
                client_id: client.map(|c| c.client_id.clone()),
                sub,
            })
            .await;

        let mut response = match redirect.map(url::Url::parse) {
            Some(Ok(mut url)) => {
                if let Some(state) = params.get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                match HeaderValue::from_str(url.as_str()) {
                    Ok(location) => no_store(
                        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
                    ),
                    Err(_) => signed_out(),
                }
            }
            _ => signed_out(),
        };
        for (name, value) in &extra {
            response.headers_mut().append(name.clone(), value.clone());
        }
        response
    }
}
