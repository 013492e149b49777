//! The activation page a new person reaches from the link in their e-mail: set a password
//! and link the first phone (TOTP, QR code as in the portal), confirmed by a code. The link
//! (`/activate/<id>.<secret>`) works once and expires; it is checked on every request
//! (`Gateway::open_activation` / `activate`). The form carries a CSRF token of a fresh
//! session, like the login pages.

use crate::audit::Channel;
use crate::secret::SecretString;
use crate::service::ServiceError;
use crate::service::lifecycle::{Activation, ActivationInput};
use crate::web::WebState;
use crate::web::extract::ClientInfo;
use crate::web::login::templates::{ActivateError, ActivatePage, ActivatedPage};
use crate::web::login::{page, page_lang, server_error};
use crate::web::qr::{Qr, grouped};
use crate::web::templates::{Ctx, message_response, render};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
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

/// The form for the person `a` names, in `ctx`'s language; `label` as typed (or the default
/// name), `error` why it is shown again.
fn activation_page(
    state: &WebState,
    ctx: &Ctx,
    token: &str,
    csrf: &str,
    a: &Activation,
    label: &str,
    error: Option<ActivateError>,
) -> Result<Html<String>, qrcode::types::QrError> {
    let uri = crate::otp::otpauth_uri(
        a.seed.expose(),
        &crate::otp::OtpParams::totp_default(),
        &state.gateway.engine().otp_policy().issuer,
        &a.person.username,
        0,
    );
    let qr = Qr::of(&uri)?;
    let secret = data_encoding::BASE32_NOPAD.encode(a.seed.expose());
    Ok(render(&ActivatePage {
        ctx,
        token,
        csrf,
        full_name: &a.person.full_name,
        username: &a.person.username,
        // The directory's (Windows) password: nothing to set here.
        directory: a.directory.is_some(),
        min: state.gateway.engine().hasher().policy().min_length,
        qr,
        key: grouped(&secret),
        label,
        error: error.map(|e| e.text(ctx)),
    }))
}

/// A page for whoever holds a link that does not (or no longer) open: nobody is known, so
/// the language is not the person's.
async fn not_known(state: &WebState, headers: &HeaderMap) -> Ctx {
    Ctx::of(
        &state.gateway,
        page_lang(state, headers, Channel::Portal, None).await,
    )
}

/// The link does not open (used, expired, mistyped: the service does not say which).
async fn refused(state: &WebState, headers: &HeaderMap) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        &not_known(state, headers).await,
        "activate-link-invalid-title",
        "activate-link-invalid",
    )
}

/// The form's pre-login token did not check out.
async fn bad_form(state: &WebState, headers: &HeaderMap, text_key: &str) -> Response {
    message_response(
        StatusCode::BAD_REQUEST,
        &not_known(state, headers).await,
        "activate-refused-title",
        text_key,
    )
}

async fn show(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let t = state.gateway.now();
    let a = match state.gateway.open_activation(&token, t).await {
        Ok(a) => a,
        Err(ServiceError::Refused(_)) => return refused(&state, &headers).await,
        Err(e) => return server_error(&e),
    };
    // No session: the form is protected by the pre-login token.
    let Some((nonce, fresh)) = crate::web::login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    // The link names its person: their language.
    let ctx = Ctx::of(&state.gateway, state.gateway.lang_of(&a.person).await);
    let label = ctx.t("activate-label-default");
    match activation_page(
        &state,
        &ctx,
        &token,
        &state.pre.token(&nonce),
        &a,
        &label,
        None,
    ) {
        Ok(html) => crate::web::login::with_pre_cookie(
            &state,
            page(&state, html, None, ""),
            fresh.then_some(nonce.as_str()),
        ),
        Err(e) => server_error(&e),
    }
}

async fn submit(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<ActivateForm>,
) -> Response {
    let Some(nonce) = crate::web::session::pre_nonce(&headers) else {
        return bad_form(&state, &headers, "activate-error-session").await;
    };
    if !state.pre.check(&nonce, &form.csrf) {
        return bad_form(&state, &headers, "activate-error-forged").await;
    }
    let t = client.now;
    let source = Some(client.ip);
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
        Ok(person) => {
            let ctx = Ctx::of(&state.gateway, state.gateway.lang_of(&person).await);
            let html = render(&ActivatedPage {
                ctx: &ctx,
                username: &person.username,
            });
            page(&state, html, None, "")
        }
        Err(ServiceError::Refused(text)) => {
            let a = match state.gateway.open_activation(&token, t).await {
                Ok(a) => a,
                Err(ServiceError::Refused(_)) => return refused(&state, &headers).await,
                Err(e) => return server_error(&e),
            };
            let ctx = Ctx::of(&state.gateway, state.gateway.lang_of(&a.person).await);
            let min = state.gateway.engine().hasher().policy().min_length;
            let error = ActivateError::of_service(&text, min);
            match activation_page(
                &state,
                &ctx,
                &token,
                &form.csrf,
                &a,
                &form.label,
                Some(error),
            ) {
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
