//! The activation page a new person reaches from the link in their e-mail: set a password
//! and link the first phone (TOTP, QR code as in the portal), confirmed by a code. The link
//! (`/activate/<id>.<secret>`) works once and expires; it is checked on every request
//! (`Gateway::open_activation` / `activate`). The form carries a CSRF token of a fresh
//! session, like the login pages.

use super::login::{Peer, page, server_error};
use super::pages::{error_block, esc, layout};
use super::{WebState, bad_request};
use crate::model::now;
use crate::secret::SecretString;
use crate::service::ServiceError;
use crate::service::lifecycle::{Activation, ActivationInput};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new().route("/activate/{token}", get(show).post(submit))
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    code: String,
}

impl std::fmt::Debug for ActivateForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivateForm")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

fn qr_svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let svg = qrcode::QrCode::new(text.as_bytes())?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    // Inline <svg>: no XML declaration.
    Ok(svg
        .find("<svg")
        .map_or(svg.as_str(), |at| &svg[at..])
        // A text alternative (WCAG 1.1.1): the key itself is on the page as text.
        .replacen(
            "<svg",
            r#"<svg role="img" aria-label="QR code of the key shown below as text""#,
            1,
        ))
}

fn activation_page(
    state: &WebState,
    token: &str,
    csrf: &str,
    a: &Activation,
    label: &str,
    error: Option<&str>,
) -> Result<Html<String>, qrcode::types::QrError> {
    let uri = crate::otp::otpauth_uri(
        a.seed.expose(),
        &crate::otp::OtpParams::totp_default(),
        &state.gateway.engine().otp_policy().issuer,
        &a.person.username,
        0,
    );
    let svg = qr_svg(&uri)?;
    let secret = data_encoding::BASE32_NOPAD.encode(a.seed.expose());
    let grouped: Vec<&str> = secret
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let min = state.gateway.engine().hasher().policy().min_length;
    let password = match &a.directory {
        // The directory's (Windows) password: nothing to set here.
        Some(_) => r#"<p id="directory-password">You sign in with the password you use for Windows at your organisation; no new password is needed.</p>
"#
        .to_owned(),
        None => format!(
            r#"<label for="password">New password (at least {min} characters)</label>
<input type="password" id="password" name="password" autocomplete="new-password" required>
<label for="password_again">The password again</label>
<input type="password" id="password_again" name="password_again" autocomplete="new-password" required>
"#
        ),
    };
    Ok(layout(
        "Activate your account",
        &format!(
            r#"<h1>Activate your account</h1>
<p class="sub">{name} · username <strong id="username">{user}</strong></p>
{error}
<form method="post" action="/activate/{token}" id="activate-form">
<input type="hidden" name="csrf" value="{csrf}">
{password}<h2>Your phone</h2>
<p>Scan this code with an authenticator app, or type in the key.</p>
<div class="qr">{svg}</div>
<p>Key: <code id="secret">{key}</code></p>
<label for="label">Name of the phone</label>
<input type="text" id="label" name="label" value="{label}" maxlength="64">
<label for="code">The code the app shows</label>
<input type="text" id="code" name="code" class="code" maxlength="8" autocomplete="one-time-code" required>
<button type="submit" id="activate">Activate</button>
</form>"#,
            name = esc(&a.person.full_name),
            user = esc(&a.person.username),
            error = error_block(error),
            token = esc(token),
            csrf = esc(csrf),
            key = esc(&grouped.join(" ")),
            label = esc(label),
        ),
    ))
}

fn refused(text: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        super::pages::message("Activation link not valid", text),
    )
        .into_response()
}

async fn show(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let t = now();
    let a = match state.gateway.open_activation(&token, t).await {
        Ok(a) => a,
        Err(ServiceError::Invalid(text)) => return refused(&text),
        Err(e) => return server_error(&e),
    };
    // No session: the form is protected by the pre-login token.
    let Some((nonce, fresh)) = super::login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    match activation_page(&state, &token, &state.pre.token(&nonce), &a, "phone", None) {
        Ok(html) => super::login::with_pre_cookie(
            &state,
            page(&state, html, None, ""),
            fresh.then_some(nonce.as_str()),
        ),
        Err(e) => server_error(&e),
    }
}

async fn submit(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<ActivateForm>,
) -> Response {
    let Some(nonce) = super::session::pre_nonce(&headers) else {
        return bad_request("Your session expired. Open the activation link again.");
    };
    if !state.pre.check(&nonce, &form.csrf) {
        return bad_request("The form was not sent from the activation page. Open the link again.");
    }
    let t = now();
    let source = Some(state.client_ip(peer, &headers));
    match state
        .gateway
        .activate(
            &token,
            ActivationInput {
                password: SecretString::new(form.password.as_str()),
                again: SecretString::new(form.password_again.as_str()),
                label: form.label.clone(),
                code: form.code.clone(),
            },
            source,
            t,
        )
        .await
    {
        Ok(person) => page(
            &state,
            layout(
                "Account ready",
                &format!(
                    r#"<h1 id="activated">Your account is ready</h1>
<p>Sign in as <strong>{}</strong> with your password and a code from your phone.</p>
<p><a href="/portal/login" id="to-portal">Go to the portal</a></p>"#,
                    esc(&person.username)
                ),
            ),
            None,
            "",
        ),
        Err(ServiceError::Invalid(text)) => {
            let a = match state.gateway.open_activation(&token, t).await {
                Ok(a) => a,
                Err(ServiceError::Invalid(text)) => return refused(&text),
                Err(e) => return server_error(&e),
            };
            match activation_page(&state, &token, &form.csrf, &a, &form.label, Some(&text)) {
                Ok(html) => {
                    let mut res = page(&state, html, None, "");
                    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    res
                }
                Err(e) => server_error(&e),
            }
        }
        Err(e) => server_error(&e),
    }
}
