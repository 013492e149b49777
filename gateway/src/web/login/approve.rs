//! `/approve`: answer a held sign-in (RD Gateway's second-factor-only request, a `code_only`
//! push) from any browser, with the username and a code from any phone or token linked to
//! the account, or a recovery or temporary code: for people with only a hardware token, or
//! whose phone is not set up for notifications. No session is needed; the code is the
//! proof. Every refusal (unknown name, nothing waiting, wrong code, too many attempts) gets
//! the same message, so the page tells nothing about who exists or who is signing in; a
//! wrong code counts toward the lockout like any (see `service/approve.rs`). The form needs
//! no CSRF token: it creates no session and changes nothing without a valid code, which a
//! cross-site page does not have (and the pages' no-referrer policy makes browsers send
//! `Origin: null`, so an origin check would refuse everyone).

use crate::audit::Channel;
use crate::secret::SecretString;
use crate::web::WebState;
use crate::web::extract::ClientInfo;
use crate::web::login::templates::ApprovePage;
use crate::web::login::{page_lang, server_error};
use crate::web::templates::{Ctx, render};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new().route("/approve", get(show).post(submit))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    code: String,
}

impl std::fmt::Debug for ApproveForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApproveForm").finish_non_exhaustive()
    }
}

/// What the page shows after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Form,
    /// The one refusal, whatever the reason.
    Refused,
    Approved,
}

/// The page in the language of whoever asks (never the typed person's: the page tells
/// nothing about who exists), not kept by caches.
async fn page(state: &WebState, headers: &HeaderMap, username: &str, outcome: Outcome) -> Response {
    let ctx = Ctx::of(
        &state.gateway,
        page_lang(state, headers, Channel::Portal, None).await,
    );
    let mut res = render(&ApprovePage {
        ctx: &ctx,
        username,
        refused: outcome == Outcome::Refused,
        approved: outcome == Outcome::Approved,
    })
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

async fn show(State(state): State<WebState>, headers: HeaderMap) -> Response {
    page(&state, &headers, "", Outcome::Form).await
}

async fn submit(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<ApproveForm>,
) -> Response {
    let ip = client.ip;
    let username: String = form.username.chars().take(253).collect();
    let code = SecretString::new(form.code.chars().take(64).collect::<String>());
    match state
        .gateway
        .approve_with_code(
            &state.limits,
            &username,
            code,
            ip,
            client.request_id.clone(),
            client.now,
        )
        .await
    {
        Ok(true) => page(&state, &headers, "", Outcome::Approved).await,
        // 200 like the form: the answer is the same page for every refusal.
        Ok(false) => page(&state, &headers, &username, Outcome::Refused).await,
        Err(e) => server_error(&e),
    }
}
