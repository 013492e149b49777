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

use super::WebState;
use super::login::{Peer, request_id, server_error};
use super::pages::{error_block, esc, layout};
use crate::model::now;
use crate::secret::SecretString;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

const REFUSED: &str = "Not approved. Check the username and enter the current code from any phone or token linked to your account; a sign-in must be waiting for your approval.";
const APPROVED: &str = "Approved. Your sign-in goes on; you can close this page.";

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

fn page(username: &str, error: Option<&str>, done: Option<&str>) -> Response {
    let body = match done {
        Some(text) => format!(
            r#"<h1>Approve a sign-in</h1>
<p class="notice" role="status" id="approved">{}</p>"#,
            esc(text)
        ),
        None => format!(
            r#"<h1>Approve a sign-in</h1>
<p class="sub">A sign-in is waiting for your approval (for example to the remote desktop). Enter your username and the current code from any phone or token linked to your account, or a recovery code.</p>
{error}
<form method="post" action="/approve" id="approve-form">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username" required maxlength="253">
<label for="code">Code</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="32">
<button type="submit" id="submit">Approve</button>
</form>"#,
            error = error_block(error),
            username = esc(username),
        ),
    };
    let mut res = layout("Approve a sign-in", &body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

async fn show() -> Response {
    page("", None, None)
}

async fn submit(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ApproveForm>,
) -> Response {
    let ip = state.client_ip(peer, &headers);
    let username: String = form.username.chars().take(253).collect();
    let code = SecretString::new(form.code.chars().take(64).collect::<String>());
    match state
        .gateway
        .approve_with_code(
            &state.limits,
            &username,
            code,
            ip,
            request_id(&headers),
            now(),
        )
        .await
    {
        Ok(true) => page("", None, Some(APPROVED)),
        Ok(false) => {
            let mut res = page(&username, Some(REFUSED), None);
            *res.status_mut() = StatusCode::OK;
            res
        }
        Err(e) => server_error(&e),
    }
}
