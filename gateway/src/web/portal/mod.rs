//! The self-service portal: a person signs in (the login pages, channel `portal`) and manages
//! their own devices and sees their own logins. Every action is a POST with the session's
//! CSRF token; without a logged-in session or with a wrong token it is refused (400). The
//! changes themselves, each audited, are `Gateway::portal_*`.

pub mod approvals;
#[cfg(test)]
mod router_tests;
pub mod sso_sessions;
pub(crate) mod templates;

use crate::audit::Channel;
use crate::i18n::Lang;
use crate::model::{Device, DeviceId, DeviceState, Person, PersonId, PersonState, UnixTime};
use crate::secret::{SecretBytes, random_bytes};
use crate::service::{Actor, ServiceError};
use crate::web::WebState;
use crate::web::extract::{Action, Caller, ClientInfo, csrf_form};
use crate::web::login::{self, PasswordForm, Target, current, page, script_page, server_error};
use crate::web::portal::templates::{self as tpl, Failed};
use crate::web::session::{KeyCeremony, LoginState, PendingTotp, Session};
use crate::web::templates::{Ctx as PageCtx, MessagePage, message, message_response, render};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

/// An unconfirmed phone secret is forgotten after this long.
const ENROLMENT_SECONDS: i64 = 600;
/// Adding a factor (phone, token, key, push device) or making recovery codes needs a
/// second factor proven this recently (the login's, or a fresh code asked for then).
pub const STEP_UP_SECONDS: i64 = 300;
/// How many logins "My logins" shows.
const LOGINS_SHOWN: u32 = 50;

/// Why a form is shown again: a text of the service's (already worded) or one of ours (a
/// catalogue key).
#[derive(Debug, Clone)]
pub(crate) enum Problem {
    Said(crate::service::Refusal),
    Key(&'static str),
}

impl Problem {
    fn text(&self, ctx: &PageCtx) -> String {
        match self {
            Self::Said(refusal) => ctx.said(refusal),
            Self::Key(key) => ctx.t(key),
        }
    }
}

/// A refused request (400) with the reason `key`, in `lang`.
fn refused(state: &WebState, lang: Lang, key: &str) -> Response {
    message_response(
        StatusCode::BAD_REQUEST,
        &PageCtx::of(&state.gateway, lang),
        "portal-refused-title",
        key,
    )
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/portal", get(my_devices))
        .route("/portal/login", get(show_login).post(submit_password))
        .route("/portal/logout", post(logout))
        .route("/portal/logins", get(my_logins))
        .route("/portal/devices/totp/new", post(new_phone))
        .route("/portal/devices/totp/confirm", post(confirm_phone))
        .route("/portal/devices/token", post(link_token))
        .route("/portal/devices/key/new", post(new_key))
        .route("/portal/devices/key/confirm", post(confirm_key))
        .route("/portal/devices/{id}/remove/key", post(remove_key_start))
        .route(
            "/portal/devices/{id}/remove/key/finish",
            post(remove_key_finish),
        )
        .route("/portal/devices/{id}/rename", post(rename))
        .route("/portal/devices/{id}/remove", post(remove))
        .route("/portal/recovery", post(new_recovery_codes))
        .route("/portal/language", post(set_language))
        .route(
            "/portal/not-me/{id}/{token}",
            get(not_me_page).post(not_me_disable),
        )
}

/// The "this was not me" link of a notice mail: a page that asks to confirm (a GET changes
/// nothing: mail scanners follow links), its form protected by the pre-login token.
async fn not_me_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((id, token)): Path<(DeviceId, String)>,
) -> Response {
    let device = match state.gateway.not_me_device(id, &token).await {
        Ok(d) => d,
        Err(ServiceError::NotFound(_)) => return not_me_gone(&state, &headers).await,
        Err(e) => return server_error(&e),
    };
    let Some((nonce, fresh)) = login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let action = format!("/portal/not-me/{id}/{token}");
    let html = render(&tpl::NotMePage {
        ctx: &not_me_ctx(&state, &headers).await,
        csrf: &state.pre.token(&nonce),
        action: &action,
        label: &device.label,
    });
    login::with_pre_cookie(&state, show(&state, html), fresh.then_some(nonce.as_str()))
}

/// The "this was not me" pages come before any sign-in: the language of a page before
/// anyone is known.
async fn not_me_ctx(state: &WebState, headers: &HeaderMap) -> PageCtx {
    PageCtx::of(
        &state.gateway,
        login::page_lang(state, headers, Channel::Portal, None).await,
    )
}

async fn not_me_gone(state: &WebState, headers: &HeaderMap) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        &not_me_ctx(state, headers).await,
        "portal-not-me-gone-title",
        "portal-not-me-gone-text",
    )
}

#[derive(Deserialize)]
pub struct NotMeForm {
    #[serde(default)]
    csrf: String,
}

impl std::fmt::Debug for NotMeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NotMeForm { .. }")
    }
}

/// Confirmed: the device is disabled at once (audited, the person told) and every web
/// session of the person ends (whoever linked it may be signed in).
async fn not_me_disable(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path((id, token)): Path<(DeviceId, String)>,
    Form(form): Form<NotMeForm>,
) -> Response {
    let ctx = not_me_ctx(&state, &headers).await;
    let Some(nonce) = crate::web::session::pre_nonce(&headers) else {
        return message_response(
            StatusCode::BAD_REQUEST,
            &ctx,
            "portal-refused-title",
            "portal-not-me-expired",
        );
    };
    if !state.pre.check(&nonce, &form.csrf) {
        return message_response(
            StatusCode::BAD_REQUEST,
            &ctx,
            "portal-refused-title",
            "portal-not-me-bad-form",
        );
    }
    let source = Some(client.ip);
    match state
        .gateway
        .not_me_disable(id, &token, source, client.request_id.clone(), client.now)
        .await
    {
        Ok((device, person)) => {
            state.sessions.end_person(person.id, &person.username).await;
            let html = render(&MessagePage {
                ctx: &ctx,
                title: ctx.t("portal-not-me-done-title"),
                paragraphs: vec![ctx.ta(
                    "portal-not-me-done-text",
                    &[("label", device.label.as_str().into())],
                )],
                link: None,
            });
            show(&state, html)
        }
        Err(ServiceError::NotFound(_)) => not_me_gone(&state, &headers).await,
        Err(e) => server_error(&e),
    }
}

/// A portal action's fields (only some are used by each).
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    code: String,
    /// A security key's answer (JSON from /static/webauthn.js).
    #[serde(default)]
    response: String,
    /// A fresh code from one of the person's current devices (step-up before adding one).
    #[serde(default)]
    current_code: String,
}

csrf_form!(ActionForm, LanguageForm);

impl std::fmt::Debug for ActionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionForm")
            .field("label", &self.label)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// 303 to `to`.
pub(crate) fn see_other(to: impl Into<String>) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.into())]).into_response()
}

/// Back to the portal's sign-in page.
pub fn to_login() -> Response {
    see_other("/portal/login")
}

/// The login for the portal succeeded: a new session id holding the person, then My devices.
pub async fn logged_in(state: &WebState, sid: &str, username: &str, source: &str) -> Response {
    logged_in_with(state, sid, username, source, true).await
}

/// `logged_in`; `factor` false when no second factor was proven at this login (a remembered
/// browser): adding a factor then asks for a code first.
pub async fn logged_in_with(
    state: &WebState,
    sid: &str,
    username: &str,
    source: &str,
    factor: bool,
) -> Response {
    let person = match state.gateway.person(username).await {
        Ok(p) => p,
        Err(e) => return server_error(&e),
    };
    let t = state.gateway.now();
    let login = LoginState::LoggedIn {
        person_id: person.id,
        username: person.username.clone(),
        auth_time: t,
        enrolment: None,
        key: None,
        factor_at: if factor { t } else { 0 },
    };
    let Ok((id, _)) = state.sessions.rotate(sid, login, source, t).await else {
        return server_error(&"session table full");
    };
    let mut res = see_other("/portal");
    if let Ok(v) = HeaderValue::from_str(&crate::web::session::set_cookie(&id, state.https, 1800)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A signed-in person's request: its session and who acts. As an extractor (a page), without
/// a signed-in session it sends the browser to the sign-in page; in an `Action` without one,
/// or with a wrong CSRF token, it is a 400.
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) sid: String,
    pub(crate) session: Session,
    /// The signed-in person, acting on their own account (`Scope::Own`).
    pub(crate) actor: Actor,
    /// The signed-in person (as in `actor`).
    pub(crate) person: Person,
    pub(crate) enrolment: Option<PendingTotp>,
    /// A security key being added, or checked to confirm a removal.
    pub(crate) key: Option<KeyCeremony>,
    /// When the person last proved a second factor in this session.
    pub(crate) factor_at: UnixTime,
    /// The public id of this browser's single sign-on session, if it has one.
    pub(crate) sso_sid: Option<String>,
    /// The time of this request, by the gateway's clock (read once).
    pub(crate) now: UnixTime,
}

impl SignedIn {
    pub(crate) fn person_id(&self) -> PersonId {
        self.person.id
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.session.csrf
    }

    /// The language of the person's pages: their own choice, else their organisation's.
    pub(crate) async fn lang(&self, state: &WebState) -> Lang {
        state.gateway.lang_of(&self.person).await
    }

    /// What the person's pages are rendered with: their language, the configured zone.
    pub(crate) async fn page(&self, state: &WebState) -> PageCtx {
        PageCtx::of(&state.gateway, self.lang(state).await)
    }
}

/// Without a logged-in session: a page goes to the sign-in page, an action is refused
/// (400) in the language of a page before anyone is known.
async fn not_signed_in(state: &WebState, headers: &HeaderMap, csrf: Option<&str>) -> Response {
    if csrf.is_some() {
        let lang = login::page_lang(state, headers, Channel::Portal, None).await;
        refused(state, lang, "portal-not-signed-in")
    } else {
        see_other("/portal/login")
    }
}

/// The signed-in person behind the request, or the answer to give instead: for a page
/// (`csrf` None) the sign-in page; for an action a 400 without a session or with a wrong
/// CSRF token. A person blocked or gone since signing in is signed out here.
pub(crate) async fn signed_in(
    state: &WebState,
    caller: &Caller,
    csrf: Option<&str>,
) -> Result<SignedIn, Response> {
    let headers = &caller.headers;
    let Some((sid, session)) = current(state, headers).await else {
        return Err(not_signed_in(state, headers, csrf).await);
    };
    let LoginState::LoggedIn {
        person_id,
        enrolment,
        key,
        factor_at,
        ..
    } = session.login.clone()
    else {
        return Err(not_signed_in(state, headers, csrf).await);
    };
    let person = match state.gateway.person_by_id(person_id).await {
        Ok(p) if p.state == PersonState::Active && p.blocked_at.is_none() => p,
        Ok(_) | Err(ServiceError::NotFound(_)) => {
            state.sessions.remove(&sid).await;
            return Err(not_signed_in(state, headers, csrf).await);
        }
        Err(e) => return Err(server_error(&e)),
    };
    if let Some(submitted) = csrf
        && !session.csrf_ok(submitted)
    {
        let lang = state.gateway.lang_of(&person).await;
        return Err(refused(state, lang, "portal-bad-form"));
    }
    Ok(SignedIn {
        actor: Actor::portal(
            person.clone(),
            Some(caller.client.ip),
            caller.client.request_id.clone(),
        ),
        person,
        sid,
        session,
        enrolment,
        key,
        factor_at,
        sso_sid: crate::web::portal::sso_sessions::this_browser(headers),
        now: caller.client.now,
    })
}

/// Is this session's proof of a second factor fresh enough to add a factor now? If not,
/// `current_code` (a code from one of the person's current devices, or a recovery code)
/// must verify (counted toward the lockout, audited); then the proof is fresh again. The
/// answer to give instead is the step-up page, which posts the same action again with its
/// `fields` and the code.
pub(crate) async fn fresh_proof(
    state: &WebState,
    c: &SignedIn,
    current_code: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Result<(), Response> {
    let t = c.now;
    if t - c.factor_at <= STEP_UP_SECONDS {
        return Ok(());
    }
    let ctx = c.page(state).await;
    let page = |error: Option<String>| {
        let html = render(&tpl::StepUpPage {
            ctx: &ctx,
            csrf: c.csrf(),
            action,
            fields,
            error,
        });
        let mut res = show(state, html);
        *res.status_mut() = StatusCode::FORBIDDEN;
        res
    };
    if current_code.trim().is_empty() {
        return Err(page(None));
    }
    match state
        .gateway
        .portal_step_up(&c.actor, current_code, t)
        .await
    {
        Ok(()) => {
            state
                .sessions
                .modify(&c.sid, t, |login| {
                    if let LoginState::LoggedIn { factor_at, .. } = login {
                        *factor_at = t;
                    }
                })
                .await;
            Ok(())
        }
        Err(ServiceError::Refused(text)) => Err(page(Some(ctx.said(&text)))),
        Err(e) => Err(server_error(&e)),
    }
}

pub(crate) fn show(state: &WebState, html: axum::response::Html<String>) -> Response {
    page(state, html, None, "")
}

async fn show_login(State(state): State<WebState>, caller: Caller) -> Response {
    if signed_in(&state, &caller, None).await.is_ok() {
        return see_other("/portal");
    }
    let headers = caller.headers;
    // No session yet: the form is protected by the pre-login token alone.
    let Some((nonce, fresh)) = login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let target = Target::portal();
    let lang = target.lang(&state, &headers).await;
    let html = target.login_page(
        &crate::web::templates::Ctx::of(&state.gateway, lang),
        &state.pre.token(&nonce),
        "",
        None,
    );
    let res = page(&state, html, None, "");
    login::with_pre_cookie(&state, res, fresh.then_some(nonce.as_str()))
}

async fn submit_password(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    login::submit_password(&state, &client, &headers, &form, &Target::portal()).await
}

async fn logout(
    State(state): State<WebState>,
    Action { me: c, .. }: Action<ActionForm>,
) -> Response {
    state.sessions.remove(&c.sid).await;
    let ctx = c.page(&state).await;
    let mut res = show(
        &state,
        message(&ctx, "portal-signed-out-title", "portal-signed-out-text"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::web::session::clear_cookie(state.https)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// My devices; with a problem, shown above the lists and tied to the `failed` form.
async fn devices_page(
    state: &WebState,
    c: &SignedIn,
    problem: Option<Problem>,
    failed: Failed,
) -> Response {
    let devices = match state.gateway.devices_of(c.person_id()).await {
        Ok(d) => d,
        Err(e) => return server_error(&e),
    };
    let linked: Vec<_> = devices
        .into_iter()
        .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
        .collect();
    let left = match state.gateway.recovery_codes_left(&c.actor).await {
        Ok(n) => n,
        Err(e) => return server_error(&e),
    };
    let ctx = c.page(state).await;
    // Signed-in browsers (single sign-on sessions), this one marked; remembered browsers.
    let sso = match state.gateway.portal_sso_sessions(&c.actor).await {
        Ok(s) => s,
        Err(e) => return server_error(&e),
    };
    let remembered =
        match crate::web::login::remember::portal_section(state, &c.person, c.csrf()).await {
            Ok(s) => s,
            Err(e) => return server_error(&e),
        };
    let own = match state.gateway.own_language(&c.person).await {
        Ok(l) => l,
        Err(e) => return server_error(&e),
    };
    let sso =
        crate::web::portal::sso_sessions::portal_section(c.csrf(), &sso, c.sso_sid.as_deref());
    let html = render(&tpl::DevicesPage {
        ctx: &ctx,
        nav: tpl::portal_nav(&ctx, c.csrf(), "/portal"),
        name: &c.person.full_name,
        csrf: c.csrf(),
        devices: &linked,
        recovery_left: left,
        error: problem.map(|p| p.text(&ctx)),
        failed,
        sso,
        remembered,
        own_language: own,
    });
    show(state, html)
}

async fn my_devices(State(state): State<WebState>, c: SignedIn) -> Response {
    devices_page(&state, &c, None, Failed::None).await
}

async fn my_logins(State(state): State<WebState>, c: SignedIn) -> Response {
    match state.gateway.logins_of(c.person_id(), LOGINS_SHOWN).await {
        Ok(events) => {
            let ctx = c.page(&state).await;
            let html = render(&tpl::LoginsPage {
                rows: events.iter().map(|e| tpl::LoginRow::of(&ctx, e)).collect(),
                nav: tpl::portal_nav(&ctx, c.csrf(), "/portal/logins"),
                ctx: &ctx,
            });
            show(&state, html)
        }
        Err(e) => server_error(&e),
    }
}

/// A refusal the person can act on is shown on My devices, tied to the `failed` form;
/// anything else is a 500.
async fn outcome(
    state: &WebState,
    c: &SignedIn,
    result: Result<(), ServiceError>,
    failed: Failed,
) -> Response {
    match result {
        Ok(()) => see_other("/portal"),
        Err(ServiceError::Refused(text)) => {
            devices_page(state, c, Some(Problem::Said(text)), failed).await
        }
        Err(e) => server_error(&e),
    }
}

/// The add-phone page for a pending secret; on an error, the name typed is kept.
async fn phone_page(
    state: &WebState,
    c: &SignedIn,
    seed: &SecretBytes,
    label: &str,
    error: Option<Problem>,
) -> Response {
    let uri = crate::otp::otpauth_uri(
        seed.expose(),
        &crate::otp::OtpParams::totp_default(),
        &state.gateway.engine().otp_policy().issuer,
        &c.person.username,
        0,
    );
    let qr = match crate::web::qr::Qr::of(&uri) {
        Ok(qr) => qr,
        Err(e) => return server_error(&e),
    };
    let secret = crate::web::qr::grouped_secret(seed.expose());
    let ctx = c.page(state).await;
    let html = render(&tpl::PhonePage {
        ctx: &ctx,
        nav: tpl::portal_nav(&ctx, c.csrf(), ""),
        csrf: c.csrf(),
        qr: &qr,
        secret: &secret,
        label,
        error: error.map(|p| p.text(&ctx)),
    });
    show(state, html)
}

/// Set the phone being added, and only that: the rest of the session (a step-up just
/// made, a security key under way) is other writes'.
async fn set_enrolment(state: &WebState, c: &SignedIn, pending: Option<PendingTotp>) {
    state
        .sessions
        .modify(&c.sid, c.now, |login| {
            if let LoginState::LoggedIn { enrolment, .. } = login {
                *enrolment = pending.clone();
            }
        })
        .await;
}

/// Set the security key ceremony under way, and only that.
async fn set_key(state: &WebState, c: &SignedIn, ceremony: Option<KeyCeremony>) {
    state
        .sessions
        .modify(&c.sid, c.now, |login| {
            if let LoginState::LoggedIn { key, .. } = login {
                *key = ceremony.clone();
            }
        })
        .await;
}

async fn new_phone(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    if let Err(r) = fresh_proof(
        &state,
        &c,
        &form.current_code,
        "/portal/devices/totp/new",
        &[],
    )
    .await
    {
        return r;
    }
    let Ok(bytes) = random_bytes(20) else {
        return server_error(&"random generator");
    };
    let seed = SecretBytes::new(bytes);
    let pending = PendingTotp {
        seed: seed.clone(),
        since: c.now,
    };
    set_enrolment(&state, &c, Some(pending)).await;
    phone_page(&state, &c, &seed, "", None).await
}

fn live(enrolment: Option<&PendingTotp>, t: UnixTime) -> Option<&PendingTotp> {
    enrolment.filter(|p| t - p.since <= ENROLMENT_SECONDS)
}

async fn confirm_phone(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let t = c.now;
    let Some(pending) = live(c.enrolment.as_ref(), t) else {
        set_enrolment(&state, &c, None).await;
        return devices_page(
            &state,
            &c,
            Some(Problem::Key("portal-error-phone-expired")),
            Failed::None,
        )
        .await;
    };
    let seed = pending.seed.clone();
    match state
        .gateway
        .portal_add_totp(&c.actor, &form.label, &seed, &form.code, t)
        .await
    {
        Ok(_) => {
            set_enrolment(&state, &c, None).await;
            see_other("/portal")
        }
        Err(ServiceError::Refused(text)) => {
            phone_page(&state, &c, &seed, &form.label, Some(Problem::Said(text))).await
        }
        Err(e) => server_error(&e),
    }
}

async fn link_token(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let fields = [
        ("serial", form.serial.as_str()),
        ("label", form.label.as_str()),
        ("code", form.code.as_str()),
    ];
    if let Err(r) = fresh_proof(
        &state,
        &c,
        &form.current_code,
        "/portal/devices/token",
        &fields,
    )
    .await
    {
        return r;
    }
    let result = state
        .gateway
        .portal_link_token(&c.actor, &form.serial, &form.label, &form.code, c.now)
        .await
        .map(|_| ());
    let failed = Failed::Token {
        serial: form.serial.clone(),
        label: form.label.clone(),
    };
    outcome(&state, &c, result, failed).await
}

async fn rename(
    State(state): State<WebState>,
    Path(id): Path<DeviceId>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let result = state
        .gateway
        .portal_rename(&c.actor, id, &form.label, c.now)
        .await;
    outcome(&state, &c, result, Failed::Rename(id)).await
}

/// Without a code: the confirmation page (or why it cannot be removed). With one: remove.
async fn remove(
    State(state): State<WebState>,
    Path(id): Path<DeviceId>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e), Failed::None).await,
    };
    let key = match state.gateway.portal_key_confirms(&c.actor, id).await {
        Ok(k) => k,
        Err(e) => return server_error(&e),
    };
    if form.code.trim().is_empty() {
        return remove_page(&state, &c, &device, key, None).await;
    }
    match state
        .gateway
        .portal_remove(&c.actor, id, &form.code, c.now)
        .await
    {
        Ok(()) => see_other("/portal"),
        Err(ServiceError::Refused(text)) => {
            remove_page(&state, &c, &device, key, Some(Problem::Said(text))).await
        }
        Err(e) => server_error(&e),
    }
}

/// Remove a device: a code from another device, or (`key`) another security key.
async fn remove_page(
    state: &WebState,
    c: &SignedIn,
    device: &Device,
    key: bool,
    problem: Option<Problem>,
) -> Response {
    let ctx = c.page(state).await;
    let html = render(&tpl::RemovePage {
        ctx: &ctx,
        nav: tpl::portal_nav(&ctx, c.csrf(), ""),
        csrf: c.csrf(),
        device,
        key,
        error: problem.map(|p| p.text(&ctx)),
    });
    show(state, html)
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf: String,
    /// `nl`, `en`, or `org` (the organisation's).
    #[serde(default)]
    language: String,
}

/// The language of the person's e-mails and sign-in messages.
async fn set_language(
    State(state): State<WebState>,
    Action { me: c, form }: Action<LanguageForm>,
) -> Response {
    let lang = match form.language.as_str() {
        "org" => None,
        other => match crate::i18n::Lang::parse(other) {
            Some(l) => Some(l),
            None => {
                let lang = c.lang(&state).await;
                return refused(&state, lang, "portal-bad-language");
            }
        },
    };
    match state
        .gateway
        .portal_set_language(&c.actor, lang, c.now)
        .await
    {
        Ok(()) => see_other("/portal"),
        Err(e) => server_error(&e),
    }
}

async fn new_recovery_codes(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    if let Err(r) = fresh_proof(&state, &c, &form.current_code, "/portal/recovery", &[]).await {
        return r;
    }
    match state.gateway.portal_recovery_codes(&c.actor, c.now).await {
        Ok(codes) => {
            let codes: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
            let ctx = c.page(&state).await;
            let html = render(&tpl::RecoveryPage {
                ctx: &ctx,
                nav: tpl::portal_nav(&ctx, c.csrf(), ""),
                codes: &codes,
            });
            show(&state, html)
        }
        Err(e) => server_error(&e),
    }
}

/// The ceremony kept in the session for `device` (None: adding a key), if still live.
fn live_key(c: &SignedIn, device: Option<DeviceId>, t: UnixTime) -> Option<KeyCeremony> {
    c.key
        .clone()
        .filter(|k| k.device == device && t - k.since <= crate::webauthn::CEREMONY_SECONDS)
}

/// Add a security key or passkey: its name, then the page that asks the browser for it.
async fn new_key(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let label = match crate::service::Gateway::device_label(&form.label) {
        Ok(l) => l,
        Err(ServiceError::Refused(text)) => {
            let failed = Failed::Key {
                label: form.label.clone(),
            };
            return devices_page(&state, &c, Some(Problem::Said(text)), failed).await;
        }
        Err(e) => return server_error(&e),
    };
    let fields = [("label", label.as_str())];
    if let Err(r) = fresh_proof(
        &state,
        &c,
        &form.current_code,
        "/portal/devices/key/new",
        &fields,
    )
    .await
    {
        return r;
    }
    let rp = match login::relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(error = %e, "security keys are not available");
            let problem = Problem::Key("code-error-keys-unavailable");
            return devices_page(&state, &c, Some(problem), Failed::None).await;
        }
    };
    let (options, ceremony) = match state.gateway.portal_start_key(&c.actor, &rp).await {
        Ok(x) => x,
        Err(e) => return server_error(&e),
    };
    let key = KeyCeremony {
        state: ceremony,
        since: c.now,
        label: label.clone(),
        device: None,
    };
    set_key(&state, &c, Some(key)).await;
    let ctx = c.page(&state).await;
    let html = render(&tpl::AddKeyPage {
        ctx: &ctx,
        nav: tpl::portal_nav(&ctx, c.csrf(), ""),
        csrf: c.csrf(),
        label: &label,
        options: &options,
    });
    script_page(&state, html, None, "")
}

/// The browser's answer for a new key: verified against the kept challenge (used once), the
/// key saved and announced.
async fn confirm_key(
    State(state): State<WebState>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let t = c.now;
    set_key(&state, &c, None).await;
    let Some(ceremony) = live_key(&c, None, t) else {
        return devices_page(
            &state,
            &c,
            Some(Problem::Key("portal-error-key-too-slow")),
            Failed::None,
        )
        .await;
    };
    let rp = match login::relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => return server_error(&e),
    };
    let result = state
        .gateway
        .portal_finish_key(
            &c.actor,
            &rp,
            &ceremony.label,
            &ceremony.state,
            &form.response,
            t,
        )
        .await
        .map(|_| ());
    outcome(&state, &c, result, Failed::None).await
}

/// Confirm a removal with another security key: the page that asks for one.
async fn remove_key_start(
    State(state): State<WebState>,
    Path(id): Path<DeviceId>,
    Action { me: c, .. }: Action<ActionForm>,
) -> Response {
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e), Failed::None).await,
    };
    let rp = match login::relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(error = %e, "security keys are not available");
            let problem = Problem::Key("code-error-keys-unavailable");
            return devices_page(&state, &c, Some(problem), Failed::None).await;
        }
    };
    let (options, ceremony) = match state
        .gateway
        .key_challenge(&c.person.username, &rp, Some(id))
        .await
    {
        Ok(Some(x)) => x,
        Ok(None) => {
            let problem = Problem::Key("portal-remove-no-other-key");
            return remove_page(&state, &c, &device, false, Some(problem)).await;
        }
        Err(e) => return server_error(&e),
    };
    let key = KeyCeremony {
        state: ceremony,
        since: c.now,
        label: String::new(),
        device: Some(id),
    };
    set_key(&state, &c, Some(key)).await;
    let ctx = c.page(&state).await;
    let html = render(&tpl::RemoveKeyPage {
        ctx: &ctx,
        nav: tpl::portal_nav(&ctx, c.csrf(), ""),
        csrf: c.csrf(),
        device: &device,
        options: &options,
    });
    script_page(&state, html, None, "")
}

async fn remove_key_finish(
    State(state): State<WebState>,
    Path(id): Path<DeviceId>,
    Action { me: c, form }: Action<ActionForm>,
) -> Response {
    let t = c.now;
    set_key(&state, &c, None).await;
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e), Failed::None).await,
    };
    let Some(ceremony) = live_key(&c, Some(id), t) else {
        let problem = Problem::Key("portal-remove-key-expired");
        return remove_page(&state, &c, &device, true, Some(problem)).await;
    };
    let rp = match login::relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => return server_error(&e),
    };
    match state
        .gateway
        .portal_remove_with_key(&c.actor, id, &rp, &ceremony.state, &form.response, t)
        .await
    {
        Ok(()) => see_other("/portal"),
        Err(ServiceError::Refused(text)) => {
            remove_page(&state, &c, &device, true, Some(Problem::Said(text))).await
        }
        Err(e) => server_error(&e),
    }
}
