//! "Forgot password?": the pages of the self-service reset (`service/reset.rs`).
//!
//! - `GET /reset`, `POST /reset`: a username or e-mail address; the answer is always the
//!   same page, given at once (the work runs on its own task). Limited per source and per
//!   name and source (`Limits::allow`, client `password-reset`) and by the state a source
//!   may make (`Limits::allow_state`); the service limits links per person.
//! - `GET /reset/<id>.<secret>`: the link from the mail, at its step: a code, then the new
//!   password (`POST /reset/<token>/code`, `POST /reset/<token>/password`). On success the
//!   person's web sessions end.
//!
//! No session before or during a reset: every form carries the stateless pre-login token
//! (as the sign-in and activation forms). The link is never put in a log line: routes are
//! logged by their template.

use super::login::{Peer, page, pre_login, request_id, server_error, with_pre_cookie};
use super::pages::{error_block, esc, layout};
use super::{WebState, bad_request};
use crate::model::{Person, now};
use crate::secret::SecretString;
use crate::service::ServiceError;
use crate::service::reset::{RESET_CLIENT, ResetOrigin, ResetStep};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

const SENT: &str = "If the username or address is known here, a mail with a link to reset the password is on its way to the address on the account. The link works for an hour. No mail? Check the spam folder, or ask your organisation's administrator.";
const TOO_MANY: &str = "Too many requests from your network. Wait a few minutes, then try again.";
const SESSION_EXPIRED: &str =
    "The form was not sent from this page, or it is too old. Open the page again.";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/reset", get(show_request).post(submit_request))
        .route("/reset/{token}", get(show_link))
        .route("/reset/{token}/code", post(submit_code))
        .route("/reset/{token}/password", post(submit_password))
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifier: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

impl std::fmt::Debug for CodeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeForm { .. }")
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm { .. }")
    }
}

/// The request form: what was typed is kept.
fn request_page(csrf: &str, identifier: &str, error: Option<&str>) -> Html<String> {
    layout(
        "Forgot password",
        &format!(
            r#"<h1>Forgot your password?</h1>
<p class="sub">Enter your username or the e-mail address of your account. We mail you a link to choose a new password; you will also need a code from your phone or token.</p>
{error}
<form id="reset-request-form" method="post" action="/reset">
<input type="hidden" name="csrf" value="{csrf}">
<label for="identifier">Username or e-mail address</label>
<input type="text" id="identifier" name="identifier" value="{identifier}" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required autofocus>
<button type="submit" id="submit">Send the link</button>
</form>
<p><a href="/portal/login" id="to-sign-in">Back to sign in</a></p>"#,
            error = error_block(error),
            csrf = esc(csrf),
            identifier = esc(identifier),
        ),
    )
}

fn code_page(token: &str, csrf: &str, person: &Person, error: Option<&str>) -> Html<String> {
    layout(
        "Reset your password",
        &format!(
            r#"<h1>Reset your password</h1>
<p class="sub">Account <strong id="username">{user}</strong>. First confirm it is you: open the authenticator app on any phone linked to your account, or press your token, and enter the code it shows.</p>
{error}
<form id="reset-code-form" method="post" action="/reset/{token}/code">
<input type="hidden" name="csrf" value="{csrf}">
<label for="code">Code</label>
<input type="text" id="code" name="code" class="code" maxlength="11" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required autofocus>
<p class="hint">Lost your phone? Enter one of your recovery codes instead.</p>
<button type="submit" id="submit">Continue</button>
</form>"#,
            user = esc(&person.username),
            error = error_block(error),
            token = esc(token),
            csrf = esc(csrf),
        ),
    )
}

fn password_page(
    token: &str,
    csrf: &str,
    person: &Person,
    min: usize,
    error: Option<&str>,
) -> Html<String> {
    layout(
        "Choose a new password",
        &format!(
            r#"<h1>Choose a new password</h1>
<p class="sub">Account <strong id="username">{user}</strong>.</p>
{error}
<form id="reset-password-form" method="post" action="/reset/{token}/password">
<input type="hidden" name="csrf" value="{csrf}">
<label for="password">New password (at least {min} characters)</label>
<input type="password" id="password" name="password" autocomplete="new-password" required autofocus>
<label for="password_again">The password again</label>
<input type="password" id="password_again" name="password_again" autocomplete="new-password" required>
<button type="submit" id="submit">Set the password</button>
</form>"#,
            user = esc(&person.username),
            error = error_block(error),
            token = esc(token),
            csrf = esc(csrf),
        ),
    )
}

fn refused(text: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        super::pages::message("Reset link not valid", text),
    )
        .into_response()
}

/// `html` as a page answering a form that was refused.
fn unprocessable(state: &WebState, html: Html<String>) -> Response {
    let mut res = page(state, html, None, "");
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res
}

fn origin(state: &WebState, peer: std::net::SocketAddr, headers: &HeaderMap) -> ResetOrigin {
    ResetOrigin {
        source: Some(state.client_ip(peer, headers)),
        request_id: request_id(headers),
    }
}

/// The pre-login token checked, or the 400 page.
fn checked(state: &WebState, headers: &HeaderMap, csrf: &str) -> Result<(), Response> {
    match super::session::pre_nonce(headers) {
        Some(nonce) if state.pre.check(&nonce, csrf) => Ok(()),
        _ => Err(bad_request(SESSION_EXPIRED)),
    }
}

async fn show_request(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let Some((nonce, fresh)) = pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let html = request_page(&state.pre.token(&nonce), "", None);
    with_pre_cookie(
        &state,
        page(&state, html, None, ""),
        fresh.then_some(nonce.as_str()),
    )
}

async fn submit_request(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    if let Err(res) = checked(&state, &headers, &form.csrf) {
        return res;
    }
    let identifier = form.identifier.trim();
    if identifier.is_empty() {
        let html = request_page(
            &form.csrf,
            "",
            Some("Enter your username or e-mail address."),
        );
        return unprocessable(&state, html);
    }
    let ip = state.client_ip(peer, &headers);
    let within = match state.limits.allow(ip, identifier, RESET_CLIENT).await {
        Ok(true) => state.limits.allow_state(ip).await.unwrap_or(false),
        _ => false,
    };
    if !within {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            super::pages::message("Too many requests", TOO_MANY),
        )
            .into_response();
    }
    // The configured public URL, never the request's Host: a link to elsewhere would hand
    // the secret to whoever sent the request.
    let base = state.provider.settings().issuer.clone();
    state
        .gateway
        .request_password_reset(identifier, &base, origin(&state, peer, &headers), now());
    page(
        &state,
        layout(
            "Check your mail",
            &format!(
                r#"<h1 id="reset-sent">Check your mail</h1>
<p>{}</p>
<p><a href="/portal/login" id="to-sign-in">Back to sign in</a></p>"#,
                esc(SENT)
            ),
        ),
        None,
        "",
    )
}

/// The page of the step the link is at (`error` on it).
async fn step_page(
    state: &WebState,
    token: &str,
    csrf: &str,
    error: Option<&str>,
) -> Result<Html<String>, Response> {
    let min = state.gateway.engine().hasher().policy().min_length;
    match state.gateway.open_reset(token, now()).await {
        Ok(ResetStep::Code(person)) => Ok(code_page(token, csrf, &person, error)),
        Ok(ResetStep::Password(person)) => Ok(password_page(token, csrf, &person, min, error)),
        Err(ServiceError::Invalid(text)) => Err(refused(&text)),
        Err(e) => Err(server_error(&e)),
    }
}

async fn show_link(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let Some((nonce, fresh)) = pre_login(&headers) else {
        return server_error(&"random generator");
    };
    match step_page(&state, &token, &state.pre.token(&nonce), None).await {
        Ok(html) => with_pre_cookie(
            &state,
            page(&state, html, None, ""),
            fresh.then_some(nonce.as_str()),
        ),
        Err(res) => res,
    }
}

async fn submit_code(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(res) = checked(&state, &headers, &form.csrf) {
        return res;
    }
    let ip = state.client_ip(peer, &headers);
    let link = token.split('.').next().unwrap_or_default();
    if !matches!(
        state
            .limits
            .allow(ip, &format!("reset:{link}"), RESET_CLIENT)
            .await,
        Ok(true)
    ) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            super::pages::message("Too many requests", TOO_MANY),
        )
            .into_response();
    }
    let origin = origin(&state, peer, &headers);
    match state
        .gateway
        .reset_check_code(&token, &form.code, &origin, now())
        .await
    {
        Ok(_) => match step_page(&state, &token, &form.csrf, None).await {
            Ok(html) => page(&state, html, None, ""),
            Err(res) => res,
        },
        Err(ServiceError::Invalid(text)) => {
            match step_page(&state, &token, &form.csrf, Some(&text)).await {
                Ok(html) => unprocessable(&state, html),
                Err(res) => res,
            }
        }
        Err(e) => server_error(&e),
    }
}

async fn submit_password(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(res) = checked(&state, &headers, &form.csrf) {
        return res;
    }
    let origin = origin(&state, peer, &headers);
    match state
        .gateway
        .reset_set_password(
            &token,
            SecretString::new(form.password.as_str()),
            SecretString::new(form.password_again.as_str()),
            &origin,
            now(),
        )
        .await
    {
        Ok(person) => {
            state.sessions.end_person(person.id, &person.username).await;
            page(
                &state,
                layout(
                    "Password changed",
                    &format!(
                        r#"<h1 id="reset-done">Your password was changed</h1>
<p>Sign in as <strong>{}</strong> with your new password and a code from your phone or token.</p>
<p><a href="/portal/login" id="to-sign-in">Sign in</a></p>"#,
                        esc(&person.username)
                    ),
                ),
                None,
                "",
            )
        }
        // A refused password (or a code step that lapsed: `RESET_CODE_FIRST`) shows the
        // page of the step the link is at, with why.
        Err(ServiceError::Invalid(text)) => {
            match step_page(&state, &token, &form.csrf, Some(&text)).await {
                Ok(html) => unprocessable(&state, html),
                Err(res) => res,
            }
        }
        Err(e) => server_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_and_keep_no_password() {
        let page = request_page("c\"", "<ann>", Some("<b>")).0;
        assert!(page.contains("value=\"&lt;ann&gt;\""));
        assert!(page.contains("c&quot;") && page.contains("&lt;b&gt;"));
        assert!(!page.contains("<script"));
        let person = Person {
            id: 1,
            public_id: "p".into(),
            username: "o'neil".into(),
            full_name: "O'Neil".into(),
            email: None,
            employee_number: None,
            org_id: 1,
            roles: Vec::new(),
            state: crate::model::PersonState::Active,
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            blocked_at: None,
            email_verified_at: None,
        };
        let p = password_page("1.x\"", "c", &person, 12, Some("This password appears")).0;
        assert!(p.contains("o&#39;neil") && p.contains("/reset/1.x&quot;/password"));
        assert!(p.contains("at least 12 characters"));
        assert!(!p.contains("value=\"\" name=\"password\""));
        assert!(
            code_page("1.x", "c", &person, None)
                .0
                .contains("reset-code-form")
        );
    }
}
