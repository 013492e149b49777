//! The self-service portal: a person signs in (the login pages, channel `portal`) and manages
//! their own devices and sees their own logins. Every action is a POST with the session's
//! CSRF token; without a logged-in session or with a wrong token it is refused (400). The
//! changes themselves, each audited, are `Gateway::portal_*`.

use super::login::{
    self, PasswordForm, Peer, Target, current, page, request_id, script_page, server_error,
};
use super::session::{KeyCeremony, LoginState, PendingTotp, Session};
use super::{WebState, bad_request, pages, portal_pages};
use crate::model::{DeviceId, DeviceState, PersonId, PersonState, Role, UnixTime, now};
use crate::secret::{SecretBytes, random_bytes};
use crate::service::{PortalActor, ServiceError};
use crate::store::EventFilter;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::net::SocketAddr;

/// An unconfirmed phone secret is forgotten after this long.
const ENROLMENT_SECONDS: i64 = 600;
/// Adding a factor (phone, token, key, push device) or making recovery codes needs a
/// second factor proven this recently (the login's, or a fresh code asked for then).
pub const STEP_UP_SECONDS: i64 = 300;
/// How many logins "My logins" shows.
const LOGINS_SHOWN: u32 = 50;
const NOT_SIGNED_IN: &str =
    "You are not signed in to the portal, or your session expired. Sign in again.";
const BAD_FORM: &str =
    "The form was not sent from this portal page. Go back to the portal and try again.";

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
        Err(ServiceError::NotFound(_)) => return not_me_gone(),
        Err(e) => return server_error(&e),
    };
    let Some((nonce, fresh)) = login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let action = format!("/portal/not-me/{id}/{token}");
    let html = portal_pages::not_me(&state.pre.token(&nonce), &action, &device.label);
    login::with_pre_cookie(&state, show(&state, html), fresh.then_some(nonce.as_str()))
}

fn not_me_gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        pages::message(
            "Link not valid",
            "This link is not valid, or the device was already disabled or removed. If you \
             think someone else has access to your account, tell your organisation's \
             administrator or the helpdesk at once.",
        ),
    )
        .into_response()
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
    Peer(peer): Peer,
    headers: HeaderMap,
    Path((id, token)): Path<(DeviceId, String)>,
    Form(form): Form<NotMeForm>,
) -> Response {
    let Some(nonce) = super::session::pre_nonce(&headers) else {
        return bad_request("Your session expired. Open the link from the e-mail again.");
    };
    if !state.pre.check(&nonce, &form.csrf) {
        return bad_request(
            "The form was not sent from this page. Open the link from the e-mail again.",
        );
    }
    let source = Some(state.client_ip(peer, &headers));
    match state
        .gateway
        .not_me_disable(id, &token, source, request_id(&headers), now())
        .await
    {
        Ok((device, person)) => {
            state.sessions.end_person(person.id, &person.username).await;
            show(
                &state,
                pages::message(
                    "Device disabled",
                    &format!(
                        "The device \"{}\" was disabled and can no longer be used to sign in. \
                         Your administrator can see this in the audit trail. If you think \
                         someone knows your password, change it and tell your administrator.",
                        device.label
                    ),
                ),
            )
        }
        Err(ServiceError::NotFound(_)) => not_me_gone(),
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

impl std::fmt::Debug for ActionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionForm")
            .field("label", &self.label)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// 303 to `to`.
pub(crate) fn see_other(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
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
    let t = now();
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
    if let Ok(v) = HeaderValue::from_str(&super::session::set_cookie(&id, state.https, 1800)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A logged-in request: its session and who acts.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) sid: String,
    pub(crate) session: Session,
    pub(crate) actor: PortalActor,
    pub(crate) enrolment: Option<PendingTotp>,
    /// A security key being added, or checked to confirm a removal.
    pub(crate) key: Option<KeyCeremony>,
    /// When the person last proved a second factor in this session.
    pub(crate) factor_at: UnixTime,
    /// The public id of this browser's single sign-on session, if it has one.
    pub(crate) sso_sid: Option<String>,
}

impl Ctx {
    pub(crate) fn person_id(&self) -> PersonId {
        self.actor.person.id
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.session.csrf
    }
}

/// The logged-in session behind the request, or the answer to give instead: for a page
/// (`csrf` None) the sign-in page; for an action a 400 without a session or with a wrong
/// CSRF token.
pub(crate) async fn ctx(
    state: &WebState,
    peer: SocketAddr,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Ctx, Response> {
    let refuse = |text: &str| {
        if csrf.is_some() {
            bad_request(text)
        } else {
            see_other("/portal/login")
        }
    };
    let Some((sid, session)) = current(state, headers).await else {
        return Err(refuse(NOT_SIGNED_IN));
    };
    let LoginState::LoggedIn {
        person_id,
        enrolment,
        key,
        factor_at,
        ..
    } = session.login.clone()
    else {
        return Err(refuse(NOT_SIGNED_IN));
    };
    if let Some(submitted) = csrf
        && !session.csrf_ok(submitted)
    {
        return Err(bad_request(BAD_FORM));
    }
    let person = match state.gateway.person_by_id(person_id).await {
        Ok(p) if p.state == PersonState::Active && p.blocked_at.is_none() => p,
        Ok(_) | Err(ServiceError::NotFound(_)) => {
            state.sessions.remove(&sid).await;
            return Err(refuse(NOT_SIGNED_IN));
        }
        Err(e) => return Err(server_error(&e)),
    };
    Ok(Ctx {
        actor: PortalActor {
            person,
            source: Some(state.client_ip(peer, headers)),
            request_id: request_id(headers),
        },
        sid,
        session,
        enrolment,
        key,
        factor_at,
        sso_sid: super::sso_sessions::this_browser(headers),
    })
}

/// Is this session's proof of a second factor fresh enough to add a factor now? If not,
/// `current_code` (a code from one of the person's current devices, or a recovery code)
/// must verify (counted toward the lockout, audited); then the proof is fresh again. The
/// answer to give instead is the step-up page, which posts the same action again with its
/// `fields` and the code.
pub(crate) async fn fresh_proof(
    state: &WebState,
    c: &Ctx,
    current_code: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Result<(), Response> {
    let t = now();
    if t - c.factor_at <= STEP_UP_SECONDS {
        return Ok(());
    }
    let page = |error: Option<&str>| {
        let mut res = show(
            state,
            portal_pages::step_up(c.csrf(), action, fields, error),
        );
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
        Err(ServiceError::Invalid(text)) => Err(page(Some(&text))),
        Err(e) => Err(server_error(&e)),
    }
}

/// Like `ctx`, and the person must hold one of `roles`; otherwise 403 (audited by the
/// caller where the page is audited).
pub(crate) async fn ctx_with_role(
    state: &WebState,
    peer: SocketAddr,
    headers: &HeaderMap,
    csrf: Option<&str>,
    roles: &[Role],
) -> Result<Ctx, Response> {
    let c = ctx(state, peer, headers, csrf).await?;
    if c.actor.person.roles.iter().any(|r| roles.contains(r)) {
        Ok(c)
    } else {
        Err(super::forbidden())
    }
}

pub(crate) fn show(state: &WebState, html: axum::response::Html<String>) -> Response {
    page(state, html, None, "")
}

async fn show_login(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Response {
    if ctx(&state, peer, &headers, None).await.is_ok() {
        return see_other("/portal");
    }
    // No session yet: the form is protected by the pre-login token alone.
    let Some((nonce, fresh)) = login::pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let target = Target::portal();
    let lang = target.lang(&state, &headers).await;
    let html = target.login_page(
        &super::templates::Ctx::of(&state.gateway, lang),
        &state.pre.token(&nonce),
        "",
        None,
    );
    let res = page(&state, html, None, "");
    login::with_pre_cookie(&state, res, fresh.then_some(nonce.as_str()))
}

async fn submit_password(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    login::submit_password(&state, peer, &headers, &form, &Target::portal()).await
}

async fn logout(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    state.sessions.remove(&c.sid).await;
    let mut res = show(
        &state,
        pages::message("Signed out", "You have signed out of the portal."),
    );
    if let Ok(v) = HeaderValue::from_str(&super::session::clear_cookie(state.https)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// My devices, with an optional message.
async fn devices_page(state: &WebState, c: &Ctx, error: Option<&str>) -> Response {
    let devices = match state.gateway.store().devices_of(c.person_id()).await {
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
    // Signed-in browsers (single sign-on sessions), this one marked; remembered browsers.
    let sso = match state.gateway.portal_sso_sessions(&c.actor).await {
        Ok(s) => s,
        Err(e) => return server_error(&e),
    };
    let remembered = match super::remember::portal_section(state, &c.actor.person, c.csrf()).await {
        Ok(s) => s,
        Err(e) => return server_error(&e),
    };
    let own = match state.gateway.own_language(&c.actor.person).await {
        Ok(l) => l,
        Err(e) => return server_error(&e),
    };
    let sections = super::sso_sessions::portal_section(c.csrf(), &sso, c.sso_sid.as_deref())
        + &remembered
        + &portal_pages::language_form(c.csrf(), own);
    let html = portal_pages::devices(
        &c.actor.person.full_name,
        c.csrf(),
        &linked,
        left,
        error,
        &sections,
    );
    show(state, html)
}

async fn my_devices(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Response {
    match ctx(&state, peer, &headers, None).await {
        Ok(c) => devices_page(&state, &c, None).await,
        Err(r) => r,
    }
}

async fn my_logins(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Response {
    let c = match ctx(&state, peer, &headers, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let filter = EventFilter {
        person_id: Some(c.person_id()),
        kind: Some(crate::audit::EventKind::LoginAttempt.as_str().to_owned()),
        limit: LOGINS_SHOWN,
        ..EventFilter::default()
    };
    match state.gateway.store().events(&filter).await {
        Ok(events) => show(&state, portal_pages::logins(c.csrf(), &events)),
        Err(e) => server_error(&e),
    }
}

/// A refusal the person can act on is shown on `retry`; anything else is a 500.
async fn outcome(state: &WebState, c: &Ctx, result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => see_other("/portal"),
        Err(ServiceError::Invalid(text)) => devices_page(state, c, Some(&text)).await,
        Err(e) => server_error(&e),
    }
}

/// The add-phone page for a pending secret.
fn phone_page(state: &WebState, c: &Ctx, seed: &SecretBytes, error: Option<&str>) -> Response {
    let uri = crate::otp::otpauth_uri(
        seed.expose(),
        &crate::otp::OtpParams::totp_default(),
        &state.gateway.engine().otp_policy().issuer,
        &c.actor.person.username,
        0,
    );
    let svg = match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(e) => return server_error(&e),
    };
    // Inline <svg>: no XML declaration.
    let svg = svg
        .find("<svg")
        .map_or(svg.as_str(), |at| &svg[at..])
        // A text alternative (WCAG 1.1.1): the key itself is on the page as text.
        .replacen(
            "<svg",
            r#"<svg role="img" aria-label="QR code of the key shown below as text""#,
            1,
        );
    let secret = data_encoding::BASE32_NOPAD.encode(seed.expose());
    let grouped: Vec<&str> = secret
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    show(
        state,
        portal_pages::add_phone(c.csrf(), &svg, &grouped.join(" "), error),
    )
}

fn with_enrolment(c: &Ctx, enrolment: Option<PendingTotp>) -> LoginState {
    with_pending(c, enrolment, c.key.clone())
}

fn with_key(c: &Ctx, key: Option<KeyCeremony>) -> LoginState {
    with_pending(c, c.enrolment.clone(), key)
}

fn with_pending(c: &Ctx, enrolment: Option<PendingTotp>, key: Option<KeyCeremony>) -> LoginState {
    match c.session.login.clone() {
        LoginState::LoggedIn {
            person_id,
            username,
            auth_time,
            factor_at,
            ..
        } => LoginState::LoggedIn {
            person_id,
            username,
            auth_time,
            enrolment,
            key,
            factor_at,
        },
        other => other,
    }
}

async fn new_phone(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
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
        since: now(),
    };
    state
        .sessions
        .update(&c.sid, with_enrolment(&c, Some(pending)), now())
        .await;
    phone_page(&state, &c, &seed, None)
}

fn live(enrolment: Option<&PendingTotp>, t: UnixTime) -> Option<&PendingTotp> {
    enrolment.filter(|p| t - p.since <= ENROLMENT_SECONDS)
}

async fn confirm_phone(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = now();
    let Some(pending) = live(c.enrolment.as_ref(), t) else {
        state
            .sessions
            .update(&c.sid, with_enrolment(&c, None), now())
            .await;
        return devices_page(
            &state,
            &c,
            Some("The new phone's key has expired. Choose Add a phone to start again."),
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
            state
                .sessions
                .update(&c.sid, with_enrolment(&c, None), now())
                .await;
            see_other("/portal")
        }
        Err(ServiceError::Invalid(text)) => phone_page(&state, &c, &seed, Some(&text)),
        Err(e) => server_error(&e),
    }
}

async fn link_token(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
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
        .portal_link_token(&c.actor, &form.serial, &form.label, &form.code, now())
        .await
        .map(|_| ());
    outcome(&state, &c, result).await
}

async fn rename(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<DeviceId>,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let result = state
        .gateway
        .portal_rename(&c.actor, id, &form.label, now())
        .await;
    outcome(&state, &c, result).await
}

/// Without a code: the confirmation page (or why it cannot be removed). With one: remove.
async fn remove(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<DeviceId>,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e)).await,
    };
    let key = match state.gateway.portal_key_confirms(&c.actor, id).await {
        Ok(k) => k,
        Err(e) => return server_error(&e),
    };
    if form.code.trim().is_empty() {
        return show(&state, portal_pages::remove(c.csrf(), &device, key, None));
    }
    match state
        .gateway
        .portal_remove(&c.actor, id, &form.code, now())
        .await
    {
        Ok(()) => see_other("/portal"),
        Err(ServiceError::Invalid(text)) => show(
            &state,
            portal_pages::remove(c.csrf(), &device, key, Some(&text)),
        ),
        Err(e) => server_error(&e),
    }
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
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = match form.language.as_str() {
        "org" => None,
        other => match crate::i18n::Lang::parse(other) {
            Some(l) => Some(l),
            None => {
                return super::bad_request(
                    "Choose Nederlands, English or your organisation's language.",
                );
            }
        },
    };
    match state
        .gateway
        .portal_set_language(&c.actor, lang, now())
        .await
    {
        Ok(()) => see_other("/portal"),
        Err(e) => server_error(&e),
    }
}

async fn new_recovery_codes(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = fresh_proof(&state, &c, &form.current_code, "/portal/recovery", &[]).await {
        return r;
    }
    match state.gateway.portal_recovery_codes(&c.actor, now()).await {
        Ok(codes) => {
            let codes: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
            show(&state, portal_pages::recovery(c.csrf(), &codes))
        }
        Err(e) => server_error(&e),
    }
}

/// The ceremony kept in the session for `device` (None: adding a key), if still live.
fn live_key(c: &Ctx, device: Option<DeviceId>, t: UnixTime) -> Option<KeyCeremony> {
    c.key
        .clone()
        .filter(|k| k.device == device && t - k.since <= crate::webauthn::CEREMONY_SECONDS)
}

/// Add a security key or passkey: its name, then the page that asks the browser for it.
async fn new_key(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let label = match crate::service::Gateway::device_label(&form.label) {
        Ok(l) => l,
        Err(ServiceError::Invalid(text)) => return devices_page(&state, &c, Some(&text)).await,
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
            return devices_page(&state, &c, Some(crate::webauthn::UNAVAILABLE)).await;
        }
    };
    let (options, ceremony) = match state.gateway.portal_start_key(&c.actor, &rp).await {
        Ok(x) => x,
        Err(e) => return server_error(&e),
    };
    let key = KeyCeremony {
        state: ceremony,
        since: now(),
        label: label.clone(),
        device: None,
    };
    state
        .sessions
        .update(&c.sid, with_key(&c, Some(key)), now())
        .await;
    script_page(
        &state,
        portal_pages::add_key(c.csrf(), &label, &options),
        None,
        "",
    )
}

/// The browser's answer for a new key: verified against the kept challenge (used once), the
/// key saved and announced.
async fn confirm_key(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = now();
    state
        .sessions
        .update(&c.sid, with_key(&c, None), now())
        .await;
    let Some(ceremony) = live_key(&c, None, t) else {
        return devices_page(
            &state,
            &c,
            Some(
                "Adding the security key took too long. Choose Add a security key to start again.",
            ),
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
    outcome(&state, &c, result).await
}

/// Confirm a removal with another security key: the page that asks for one.
async fn remove_key_start(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<DeviceId>,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e)).await,
    };
    let rp = match login::relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(error = %e, "security keys are not available");
            return devices_page(&state, &c, Some(crate::webauthn::UNAVAILABLE)).await;
        }
    };
    let (options, ceremony) = match state
        .gateway
        .key_challenge(&c.actor.person.username, &rp, Some(id))
        .await
    {
        Ok(Some(x)) => x,
        Ok(None) => {
            return show(
                &state,
                portal_pages::remove(
                    c.csrf(),
                    &device,
                    false,
                    Some("You have no other security key. Enter a code from another device."),
                ),
            );
        }
        Err(e) => return server_error(&e),
    };
    let key = KeyCeremony {
        state: ceremony,
        since: now(),
        label: String::new(),
        device: Some(id),
    };
    state
        .sessions
        .update(&c.sid, with_key(&c, Some(key)), now())
        .await;
    script_page(
        &state,
        portal_pages::remove_with_key(c.csrf(), &device, &options),
        None,
        "",
    )
}

async fn remove_key_finish(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<DeviceId>,
    Form(form): Form<ActionForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = now();
    state
        .sessions
        .update(&c.sid, with_key(&c, None), now())
        .await;
    let device = match state.gateway.portal_can_remove(&c.actor, id).await {
        Ok(d) => d,
        Err(e) => return outcome(&state, &c, Err(e)).await,
    };
    let Some(ceremony) = live_key(&c, Some(id), t) else {
        return show(
            &state,
            portal_pages::remove(
                c.csrf(),
                &device,
                true,
                Some("The security key request expired. Try again."),
            ),
        );
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
        Err(ServiceError::Invalid(text)) => show(
            &state,
            portal_pages::remove(c.csrf(), &device, true, Some(&text)),
        ),
        Err(e) => server_error(&e),
    }
}
