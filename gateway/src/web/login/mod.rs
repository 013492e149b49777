//! The login pages the OpenID Provider and the self-service portal send people to: username
//! and password, then a code from any linked phone or token, or a security key (WebAuthn).
//! Same engine, limits, lockout and audit as RADIUS (channel `oidc`, client = the OIDC client
//! id; or channel `portal`, client `portal`). Messages never say whether a username exists.
//! A browser the person asked to remember (`web::remember`, `service::remember`) is asked
//! for the password only, unless the relying party's `acr_values` asks for a second factor.

pub mod activate;
pub mod approve;
pub mod oidc_pages;
pub mod remember;
pub mod reset;
pub(crate) mod templates;

use crate::audit::Channel;
use crate::engine::{Attempt, Credentials, Reason, Verdict};
use crate::i18n::Lang;
use crate::model::DeviceKind;
use crate::secret::SecretString;
use crate::service::remember::{AMR_REMEMBERED, REMEMBERED_DEVICE_ID, acr_of, wants_mfa};
use crate::web::extract::{Action, Caller, ClientInfo, Guard, csrf_form, page_extractor};
use crate::web::session::{
    KeyCeremony, LoginFor, LoginState, PreLogin, Refused, Session, clear_cookie, pre_nonce,
    session_id, set_cookie, set_pre_cookie,
};
use crate::web::templates::{CodeError, CodePage, Ctx, LoginError, LoginPage, WaitingPage};
use crate::web::{WebState, refused};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::net::IpAddr;

// The password page's errors are `templates::LoginError`s (translated there); "Change your
// password in Windows" only after the directory accepted the password (AD says so only for a
// right password).
/// Second-factor attempts allowed after one right password before it is asked again
/// (claimed atomically before each check, so parallel posts cannot exceed it).
const MAX_CODE_FAILURES: u32 = 3;
/// How long the code step may take after the password.
pub(crate) const CODE_STEP_SECONDS: i64 = 300;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/login", get(show_login).post(submit_oidc_password))
        .route("/login/code", post(submit_code))
        .route("/login/code/again", post(code_again))
        .route("/login/key", post(start_key))
        .route("/login/key/finish", post(finish_key))
        .route("/login/cancel", post(cancel))
        .route("/login/approve", post(start_approval))
        .route("/login/approve/wait", get(wait_approval))
}

/// Who a login is for, as the pages and the audit name it.
#[derive(Debug, Clone)]
pub struct Target {
    pub purpose: LoginFor,
    /// Shown as "Sign in to ...".
    pub client_name: String,
    /// Audited as the client.
    pub client_id: String,
    /// Where the login may end up (for the CSP); empty for the portal.
    pub redirect_uri: String,
    pub channel: Channel,
    /// The relying party's acr_values ask for a second factor: a remembered browser does
    /// not skip the code.
    pub wants_mfa: bool,
}

impl Target {
    pub fn portal() -> Self {
        Self {
            purpose: LoginFor::Portal,
            client_name: "your account".to_owned(),
            client_id: crate::service::PORTAL_CLIENT.to_owned(),
            redirect_uri: String::new(),
            channel: Channel::Portal,
            wants_mfa: false,
        }
    }

    /// Where the password form posts.
    fn action(&self) -> &'static str {
        match self.purpose {
            LoginFor::Oidc(_) => "/login",
            LoginFor::Portal => "/portal/login",
        }
    }

    fn auth(&self) -> &str {
        match &self.purpose {
            LoginFor::Oidc(auth) => auth,
            LoginFor::Portal => "",
        }
    }

    /// The password page, in `lang`.
    pub fn login_page(
        &self,
        ctx: &Ctx,
        csrf: &str,
        username: &str,
        error: Option<LoginError>,
    ) -> Html<String> {
        LoginPage {
            ctx,
            client: &self.client_name,
            action: self.action(),
            auth: self.auth(),
            csrf,
            username,
            error,
        }
        .html()
    }

    /// The language of this target's pages before anyone is known (see [`page_lang`]).
    pub async fn lang(&self, state: &WebState, headers: &HeaderMap) -> Lang {
        page_lang(state, headers, self.channel, Some(&self.client_id)).await
    }
}

/// The language of a page shown before anyone is known: the client's organisation's (its
/// `default_org`), else the browser's (`Accept-Language`), else the configured default.
/// Never the person's: the words must not tell whether a username exists.
pub async fn page_lang(
    state: &WebState,
    headers: &HeaderMap,
    channel: Channel,
    client: Option<&str>,
) -> Lang {
    crate::web::lang_before_sign_in(&state.gateway, headers, channel, client).await
}

/// The target of `purpose`; None when its OIDC authorization is gone.
async fn target(state: &WebState, purpose: &LoginFor) -> Option<Target> {
    match purpose {
        LoginFor::Portal => Some(Target::portal()),
        LoginFor::Oidc(auth) => {
            let pending = state.provider.pending(auth).await?;
            Some(Target {
                purpose: purpose.clone(),
                client_name: pending.client_name,
                client_id: pending.client_id,
                redirect_uri: pending.redirect_uri,
                channel: Channel::Oidc,
                wants_mfa: wants_mfa(&pending.acr_values),
            })
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    auth: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// "Remember this browser" ticked.
    #[serde(default)]
    remember: String,
}

impl std::fmt::Debug for CodeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeForm { .. }")
    }
}

/// A security key's answer (JSON from /static/webauthn.js).
#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub response: String,
}

csrf_form!(CodeForm, KeyForm);

/// A page with its session cookie and a CSP that lets its form post here and the login
/// finish by redirecting to the client.
pub fn page(
    state: &WebState,
    html: Html<String>,
    cookie: Option<&str>,
    redirect_uri: &str,
) -> Response {
    let mut res = html.into_response();
    let origin = origin_of(redirect_uri);
    let csp = format!(
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {origin}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(id) = cookie
        && let Ok(v) = HeaderValue::from_str(&set_cookie(id, state.https, 1800))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `page` for a page that runs /static/webauthn.js: its CSP also allows scripts from here.
pub fn script_page(
    state: &WebState,
    html: Html<String>,
    cookie: Option<&str>,
    redirect_uri: &str,
) -> Response {
    let mut res = page(state, html, cookie, redirect_uri);
    let origin = origin_of(redirect_uri);
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {origin}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The WebAuthn relying party: the gateway's public URL (the OIDC issuer).
pub fn relying_party(
    state: &WebState,
) -> Result<webauthn_rs::prelude::Webauthn, crate::webauthn::KeyError> {
    crate::webauthn::relying_party(&state.provider.settings().issuer)
}

/// The code page, offering a security key when `username` has one.
async fn code_page(
    state: &WebState,
    target: &Target,
    csrf: &str,
    username: &str,
    error: Option<CodeError>,
    cookie: Option<&str>,
) -> Response {
    let (key, push, days) = match async {
        Ok::<_, crate::service::ServiceError>((
            state.gateway.has_security_key(username).await?,
            state.gateway.has_push_device(username).await?,
            state.gateway.remember_days_for(username).await?,
        ))
    }
    .await
    {
        Ok(k) => k,
        Err(e) => return server_error(&e),
    };
    let lang = step_lang(state, target, username).await;
    let html = CodePage {
        ctx: &Ctx::of(&state.gateway, lang),
        client: &target.client_name,
        csrf,
        key,
        push,
        remember_days: days,
        error,
    }
    .html();
    page(state, html, cookie, &target.redirect_uri)
}

/// The language of the pages after a right password: the person's own (their choice, else
/// their organisation's).
async fn step_lang(state: &WebState, target: &Target, username: &str) -> Lang {
    match state.gateway.person(username).await {
        Ok(p) => state.gateway.lang_of(&p).await,
        Err(_) => target.lang(state, &HeaderMap::new()).await,
    }
}

/// The waiting page of an approval, in the person's language.
async fn waiting_page(state: &WebState, step: &SecondStep, number: Option<u8>) -> Html<String> {
    WaitingPage {
        ctx: &Ctx::of(
            &state.gateway,
            step_lang(state, &step.target, &step.username).await,
        ),
        client: &step.target.client_name,
        csrf: &step.session.csrf,
        number,
    }
    .html()
}

/// scheme://host[:port] of a URL (for CSP form-action); empty if it has none.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(['\'', ';', ' ', '"']) {
        return String::new();
    }
    format!("{scheme}://{host}")
}

fn expired() -> Response {
    crate::web::templates::message_response(
        StatusCode::BAD_REQUEST,
        &crate::web::templates::request_ctx(),
        "login-expired-title",
        "login-expired-text",
    )
}

/// A 500 page (in the request's language); what went wrong is logged, never shown.
pub fn server_error(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a page failed inside the gateway");
    crate::web::templates::message_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &crate::web::templates::request_ctx(),
        "error-server-title",
        "error-server-text",
    )
}

pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn show_login(
    State(state): State<WebState>,
    client: ClientInfo,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(pending) = state.provider.pending(&q.auth).await else {
        return expired();
    };
    let ip = client.ip;
    if let Some(done) = single_sign_on(&state, &pending, ip, &headers).await {
        return done;
    }
    if pending.prompt.as_deref() == Some("none") {
        // No page may be shown: the relying party hears login_required.
        return match state.provider.login_required(&pending.id).await {
            Ok(r) => r,
            Err(_) => expired(),
        };
    }
    // No session yet: the form is protected by the pre-login token alone.
    let Some((nonce, fresh)) = pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let hint = pending.login_hint.clone().unwrap_or_default();
    let lang = page_lang(&state, &headers, Channel::Oidc, Some(&pending.client_id)).await;
    let html = LoginPage {
        ctx: &Ctx::of(&state.gateway, lang),
        client: &pending.client_name,
        action: "/login",
        auth: &pending.id,
        csrf: &state.pre.token(&nonce),
        username: &hint,
        error: None,
    }
    .html();
    let res = page(&state, html, None, &pending.redirect_uri);
    with_pre_cookie(&state, res, fresh.then_some(nonce.as_str()))
}

/// The pre-login nonce of this browser, or a new one (then `true`: set its cookie).
pub fn pre_login(headers: &HeaderMap) -> Option<(String, bool)> {
    match pre_nonce(headers) {
        Some(n) => Some((n, false)),
        None => PreLogin::nonce().map(|n| (n, true)),
    }
}

/// `res` with the pre-login cookie set, when `nonce` is new.
pub fn with_pre_cookie(state: &WebState, mut res: Response, nonce: Option<&str>) -> Response {
    if let Some(nonce) = nonce
        && let Ok(v) = HeaderValue::from_str(&set_pre_cookie(nonce, state.https))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The password page again (with `error`), its form protected by the pre-login token.
async fn login_again(
    state: &WebState,
    headers: &HeaderMap,
    target: &Target,
    username: &str,
    error: LoginError,
) -> Response {
    let Some((nonce, fresh)) = pre_login(headers) else {
        return server_error(&"random generator");
    };
    let lang = target.lang(state, headers).await;
    let html = target.login_page(
        &Ctx::of(&state.gateway, lang),
        &state.pre.token(&nonce),
        username,
        Some(error),
    );
    let res = page(state, html, None, &target.redirect_uri);
    with_pre_cookie(state, res, fresh.then_some(nonce.as_str()))
}

/// The session behind the request's cookie, if live.
pub async fn current(state: &WebState, headers: &HeaderMap) -> Option<(String, Session)> {
    let id = session_id(headers)?;
    let s = state.sessions.get(&id, state.gateway.now()).await?;
    Some((id, s))
}

/// Over a rate limit? (Counted and audited by the gateway.)
async fn limited(
    state: &WebState,
    ip: IpAddr,
    username: &str,
    target: &Target,
    headers: &HeaderMap,
) -> bool {
    let a = attempt(
        username,
        Credentials::PasswordOnly {
            password: SecretString::default(),
        },
        target,
        ip,
        headers,
    );
    !state
        .gateway
        .within_limits(&state.limits, &a, state.gateway.now())
        .await
}

fn attempt(
    username: &str,
    credentials: Credentials,
    target: &Target,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Attempt {
    Attempt {
        username: username.to_owned(),
        credentials,
        channel: target.channel,
        client: Some(target.client_id.clone()),
        source: Some(ip),
        request_id: request_id(headers),
        nas: None,
        typed_username: None,
    }
}

async fn submit_oidc_password(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let Some(target) = target(&state, &LoginFor::Oidc(form.auth.clone())).await else {
        return expired();
    };
    submit_password(&state, &client, &headers, &form, &target).await
}

/// The password step, for either purpose. Nothing is kept on the server before a right
/// password: only then is a session made (at most `MAX_SESSIONS_PER_SOURCE` per source).
pub(crate) async fn submit_password(
    state: &WebState,
    client: &ClientInfo,
    headers: &HeaderMap,
    form: &PasswordForm,
    target: &Target,
) -> Response {
    let Some(nonce) = pre_nonce(headers) else {
        // No (or an expired) pre-login cookie: start again, keeping what was typed.
        return login_again(
            state,
            headers,
            target,
            &form.username,
            LoginError::SessionExpired,
        )
        .await;
    };
    if !state.pre.check(&nonce, &form.csrf) {
        return refused("login-bad-form");
    }
    let ip = client.ip;
    let lang = target.lang(state, headers).await;
    let retry = |error: LoginError| {
        let html = target.login_page(
            &Ctx::of(&state.gateway, lang),
            &form.csrf,
            &form.username,
            Some(error),
        );
        page(state, html, None, &target.redirect_uri)
    };
    if limited(state, ip, &form.username, target, headers).await {
        let mut res = retry(LoginError::TooMany);
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return res;
    }
    let password = SecretString::new(form.password.clone());
    let a = attempt(
        &form.username,
        Credentials::PasswordOnly { password },
        target,
        ip,
        headers,
    );
    // A remembered browser: the password is checked as always, the code may be skipped
    // (unless the relying party asks for a second factor).
    let remembered = crate::web::login::remember::token(headers).filter(|_| !target.wants_mfa);
    let decision = match &remembered {
        Some(token) => state.gateway.login_remembered(a, token, client.now).await,
        None => state.gateway.login(a, client.now).await,
    };
    let decision = match decision {
        Ok(d) => d,
        Err(e) => return server_error(&e),
    };
    // The next steps name the person unambiguously (the client's default organisation
    // applies to the typed name only).
    let username = match decision.event.person_id {
        Some(id) if !matches!(decision.verdict, Verdict::Reject(_)) => {
            match state.gateway.person_if_any(id).await {
                Ok(Some(p)) => state
                    .gateway
                    .login_name_of(&p)
                    .await
                    .unwrap_or_else(|_| form.username.clone()),
                _ => form.username.clone(),
            }
        }
        _ => form.username.clone(),
    };
    match decision.verdict {
        Verdict::Accept {
            device_id: REMEMBERED_DEVICE_ID,
            ..
        } if remembered.is_some() => {
            remembered_login(
                state,
                headers,
                form,
                &username,
                target,
                client,
                decision.verdict,
            )
            .await
        }
        Verdict::NeedSecondFactor => {
            let login = LoginState::PasswordOk {
                username: username.clone(),
                purpose: target.purpose.clone(),
                since: client.now,
                failures: 0,
                key: None,
                approval: None,
            };
            // Privilege changed: a new session id and CSRF token (an old session of this
            // browser ends).
            let old = session_id(headers).unwrap_or_default();
            let source = state.limits.source_key(ip).to_string();
            match state
                .sessions
                .rotate(&old, login, &source, client.now)
                .await
            {
                Ok((id, s)) => code_page(state, target, &s.csrf, &username, None, Some(&id)).await,
                Err(Refused::SourceFull) => {
                    let mut res = retry(LoginError::TooManySessions);
                    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    res
                }
                Err(e) => server_error(&format!("no session: {e:?}")),
            }
        }
        Verdict::Reject(Reason::DirectoryPasswordExpired | Reason::DirectoryPasswordMustChange) => {
            retry(LoginError::ChangeInWindows)
        }
        // Every other refusal the same, so the answer tells nobody who has an account.
        Verdict::Accept { .. } | Verdict::Reject(_) => retry(LoginError::WrongCredentials),
    }
}

/// The password was right and the browser is remembered for the person: the login is done
/// without the code (a new session as after a right password, then on as after a code).
async fn remembered_login(
    state: &WebState,
    headers: &HeaderMap,
    form: &PasswordForm,
    username: &str,
    target: &Target,
    client: &ClientInfo,
    verdict: Verdict,
) -> Response {
    let login = LoginState::PasswordOk {
        username: username.to_owned(),
        purpose: target.purpose.clone(),
        since: client.now,
        failures: 0,
        key: None,
        approval: None,
    };
    let old = session_id(headers).unwrap_or_default();
    let source = state.limits.source_key(client.ip).to_string();
    let (sid, session) = match state
        .sessions
        .rotate(&old, login, &source, client.now)
        .await
    {
        Ok(s) => s,
        Err(Refused::SourceFull) => {
            let lang = target.lang(state, headers).await;
            let html = target.login_page(
                &Ctx::of(&state.gateway, lang),
                &form.csrf,
                &form.username,
                Some(LoginError::TooManySessions),
            );
            let mut res = page(state, html, None, &target.redirect_uri);
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return res;
        }
        Err(e) => return server_error(&format!("no session: {e:?}")),
    };
    let step = SecondStep {
        sid,
        session,
        username: username.to_owned(),
        purpose: target.purpose.clone(),
        failures: 0,
        key: None,
        target: target.clone(),
        client: client.clone(),
    };
    decided(state, headers, step, 0, verdict, CodeError::WrongCode, None).await
}

/// The second step's session: the password step passed (and not too long ago) and the
/// form's CSRF token right; or the answer to give instead.
struct SecondStep {
    sid: String,
    session: Session,
    username: String,
    purpose: LoginFor,
    failures: u32,
    key: Option<KeyCeremony>,
    target: Target,
    /// The request's client and time (read once).
    client: ClientInfo,
}

async fn second_step(
    state: &WebState,
    caller: &Caller,
    csrf: Option<&str>,
) -> Result<SecondStep, Response> {
    let Some((sid, session)) = current(state, &caller.headers).await else {
        return Err(expired());
    };
    if let Some(csrf) = csrf
        && !session.csrf_ok(csrf)
    {
        return Err(refused("login-bad-form"));
    }
    let LoginState::PasswordOk {
        username,
        purpose,
        since,
        failures,
        key,
        ..
    } = session.login.clone()
    else {
        return Err(expired());
    };
    let Some(target) = target(state, &purpose).await else {
        return Err(expired());
    };
    if caller.client.now - since > CODE_STEP_SECONDS {
        state.sessions.remove(&sid).await;
        return Err(login_again(
            state,
            &caller.headers,
            &target,
            &username,
            LoginError::TooSlow,
        )
        .await);
    }
    Ok(SecondStep {
        sid,
        session,
        username,
        purpose,
        failures,
        key,
        target,
        client: caller.client.clone(),
    })
}

/// The second step as a guard: an action's token must match the session's; a page (the
/// waiting page's look-again GET, which only reads the answer to an approval the session
/// itself started with a CSRF-checked POST) carries none.
impl Guard for SecondStep {
    async fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> Result<Self, Response> {
        second_step(state, caller, csrf).await
    }
}

page_extractor!(SecondStep);

impl SecondStep {
    /// The code page saying "too many attempts" when this source or name is over its
    /// limits; None when the attempt may go on.
    async fn over_limits(&self, state: &WebState, headers: &HeaderMap) -> Option<Response> {
        if !limited(state, self.client.ip, &self.username, &self.target, headers).await {
            return None;
        }
        Some(
            code_page(
                state,
                &self.target,
                &self.session.csrf,
                &self.username,
                Some(CodeError::TooMany),
                None,
            )
            .await,
        )
    }

    /// Set the security key ceremony under way (only that field: the attempt count is
    /// another request's to change).
    async fn set_key(&self, state: &WebState, ceremony: Option<KeyCeremony>) {
        state
            .sessions
            .modify(&self.sid, self.client.now, |login| {
                if let LoginState::PasswordOk { key, .. } = login {
                    *key = ceremony.clone();
                }
            })
            .await;
    }

    /// Claim one second-factor attempt of this login, atomically: the attempts made so far
    /// (this one included), or None when `MAX_CODE_FAILURES` were used (then no check).
    async fn claim(&self, state: &WebState) -> Option<u32> {
        state
            .sessions
            .modify(&self.sid, self.client.now, |login| match login {
                LoginState::PasswordOk { failures, .. } if *failures < MAX_CODE_FAILURES => {
                    *failures += 1;
                    Some(*failures)
                }
                _ => None,
            })
            .await
            .flatten()
    }
}

/// Too many attempts after one password: the session ends, the password is asked again.
async fn too_many_codes(state: &WebState, headers: &HeaderMap, step: &SecondStep) -> Response {
    state.sessions.remove(&step.sid).await;
    login_again(
        state,
        headers,
        &step.target,
        &step.username,
        LoginError::TooManyCodes,
    )
    .await
}

async fn submit_code(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: step, form }: Action<CodeForm, SecondStep>,
) -> Response {
    let ip = step.client.ip;
    if let Some(res) = step.over_limits(&state, &headers).await {
        return res;
    }
    let Some(attempts) = step.claim(&state).await else {
        return too_many_codes(&state, &headers, &step).await;
    };
    let code = SecretString::new(form.code.trim());
    let a = attempt(
        &step.username,
        Credentials::CodeAfterPassword { code },
        &step.target,
        ip,
        &headers,
    );
    let decision = match state.gateway.login(a, step.client.now).await {
        Ok(d) => d,
        Err(e) => return server_error(&e),
    };
    let remember = (form.remember == "yes").then_some(ip);
    decided(
        &state,
        &headers,
        step,
        attempts,
        decision.verdict,
        CodeError::WrongCode,
        remember,
    )
    .await
}

/// Back from the security key page to the code page.
async fn code_again(
    State(state): State<WebState>,
    Action { me: step, .. }: Action<KeyForm, SecondStep>,
) -> Response {
    step.set_key(&state, None).await;
    code_page(
        &state,
        &step.target,
        &step.session.csrf,
        &step.username,
        None,
        None,
    )
    .await
}

/// "Use a security key": a challenge for the person's keys, and the page that asks for one.
async fn start_key(
    State(state): State<WebState>,
    Action { me: step, .. }: Action<KeyForm, SecondStep>,
) -> Response {
    let rp = match relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(error = %e, "security keys are not available");
            return code_page(
                &state,
                &step.target,
                &step.session.csrf,
                &step.username,
                Some(CodeError::KeysUnavailable),
                None,
            )
            .await;
        }
    };
    let (options, ceremony) = match state.gateway.key_challenge(&step.username, &rp, None).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return code_page(
                &state,
                &step.target,
                &step.session.csrf,
                &step.username,
                Some(CodeError::NoKey),
                None,
            )
            .await;
        }
        Err(e) => return server_error(&e),
    };
    let key = KeyCeremony {
        state: ceremony,
        since: step.client.now,
        label: String::new(),
        device: None,
    };
    step.set_key(&state, Some(key)).await;
    let html = crate::web::templates::render(&crate::web::portal::templates::KeyLoginPage {
        ctx: &Ctx::of(
            &state.gateway,
            step_lang(&state, &step.target, &step.username).await,
        ),
        client: &step.target.client_name,
        csrf: &step.session.csrf,
        options: &options,
    });
    script_page(&state, html, None, &step.target.redirect_uri)
}

/// The security key's answer: checked against the challenge (used once), then decided like a
/// code, with the same limits, lockout and audit.
async fn finish_key(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: step, form }: Action<KeyForm, SecondStep>,
) -> Response {
    // The challenge is spent whatever happens next.
    step.set_key(&state, None).await;
    let Some(ceremony) = step
        .key
        .clone()
        .filter(|k| step.client.now - k.since <= crate::webauthn::CEREMONY_SECONDS)
    else {
        return code_page(
            &state,
            &step.target,
            &step.session.csrf,
            &step.username,
            Some(CodeError::KeyExpired),
            None,
        )
        .await;
    };
    let ip = step.client.ip;
    if let Some(res) = step.over_limits(&state, &headers).await {
        return res;
    }
    let Some(attempts) = step.claim(&state).await else {
        return too_many_codes(&state, &headers, &step).await;
    };
    let rp = match relying_party(&state) {
        Ok(rp) => rp,
        Err(e) => return server_error(&e),
    };
    let a = attempt(
        &step.username,
        Credentials::KeyAfterPassword { key: None },
        &step.target,
        ip,
        &headers,
    );
    let decision = match state
        .gateway
        .key_login(a, &rp, &ceremony.state, &form.response, step.client.now)
        .await
    {
        Ok(d) => d,
        Err(e) => return server_error(&e),
    };
    decided(
        &state,
        &headers,
        step,
        attempts,
        decision.verdict,
        CodeError::WrongKey,
        None,
    )
    .await
}

/// After the second factor was decided: on to the portal or back to the application, or
/// (`wrong` said) the code page again, up to `MAX_CODE_FAILURES` attempts (`attempts` made).
/// `remember`: "Remember this browser" was ticked (the request's address, for the audit).
async fn decided(
    state: &WebState,
    headers: &HeaderMap,
    step: SecondStep,
    attempts: u32,
    verdict: Verdict,
    wrong: CodeError,
    remember: Option<IpAddr>,
) -> Response {
    let now = step.client.now;
    let Verdict::Accept { device_id, .. } = verdict else {
        if attempts >= MAX_CODE_FAILURES {
            return too_many_codes(state, headers, &step).await;
        }
        return code_page(
            state,
            &step.target,
            &step.session.csrf,
            &step.username,
            Some(wrong),
            None,
        )
        .await;
    };
    let sid = step.sid;
    let username = step.username;
    // Remember this browser (a second factor was given, the organisation allows it).
    let remembered = match remember.filter(|_| device_id != REMEMBERED_DEVICE_ID) {
        Some(ip) => remember_browser(state, headers, &step.target, &username, ip).await,
        None => None,
    };
    let with_remembered = |res: Response| match &remembered {
        Some((token, lifetime)) => {
            crate::web::login::remember::with_cookie(state, res, token, *lifetime)
        }
        None => res,
    };
    let auth = match step.purpose {
        LoginFor::Oidc(auth) => auth,
        LoginFor::Portal => {
            let factor = device_id != REMEMBERED_DEVICE_ID;
            let res = crate::web::portal::logged_in_with(
                state,
                &sid,
                &username,
                &step.session.source,
                factor,
            )
            .await;
            return with_remembered(res);
        }
    };
    let mut user = match authenticated_user(state, &username, device_id).await {
        Ok(u) => u,
        Err(e) => return server_error(&e),
    };
    // Single sign-on: further authorizations of this browser need no new login for a while.
    let sso = match state.gateway.person(&username).await {
        Ok(person) => state
            .gateway
            .start_sso(&person, user.auth_time, &user.amr, now)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "starting a single sign-on session failed");
                None
            }),
        Err(_) => None,
    };
    user.sid = sso
        .as_ref()
        .map(|(token, _)| crate::service::sso_sid_for_token(token));
    // The login is over: this session has served its purpose.
    state.sessions.remove(&sid).await;
    let mut res = match state.provider.complete(&auth, user).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "completing the authorization failed");
            return expired();
        }
    };
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(state.https)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some((token, lifetime)) = sso
        && let Ok(v) = HeaderValue::from_str(&crate::web::session::set_sso_cookie(
            &token,
            state.https,
            lifetime,
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    with_remembered(res)
}

/// Remember this browser for `username` (the cookie's token and lifetime); None when their
/// organisation does not allow it or it failed (logged: the login itself stands).
async fn remember_browser(
    state: &WebState,
    headers: &HeaderMap,
    target: &Target,
    username: &str,
    ip: IpAddr,
) -> Option<(String, i64)> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = attempt(
        username,
        Credentials::PasswordOnly {
            password: SecretString::default(),
        },
        target,
        ip,
        headers,
    );
    let result = async {
        let person = state.gateway.person(username).await?;
        state
            .gateway
            .remember_browser(&person, user_agent, &origin, state.gateway.now())
            .await
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "remembering a browser failed");
        None
    })
}

/// An authorization answered from this browser's single sign-on session, unless it asks for
/// a login (`prompt=login`), the session is dead or too old for `max_age`, or its
/// acr_values ask for a second factor the session's login did not have.
async fn single_sign_on(
    state: &WebState,
    pending: &mfa_oidc::PendingAuthorization,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> Option<Response> {
    let asks_login = pending
        .prompt
        .as_deref()
        .is_some_and(|p| p.split(' ').any(|w| w == "login"));
    let token = crate::web::session::sso_token(headers)?;
    if asks_login {
        return None;
    }
    if wants_mfa(&pending.acr_values) {
        match state.gateway.sso_without_second_factor(&token).await {
            Ok(false) => {}
            Ok(true) => return None,
            Err(e) => {
                tracing::error!(error = %e, "reading a single sign-on session failed");
                return None;
            }
        }
    }
    let t = state.gateway.now();
    let (person, s) = match state
        .gateway
        .sso_login(
            &token,
            &pending.client_id,
            pending.max_age,
            pending.login_hint.as_deref(),
            Some(ip),
            t,
        )
        .await
    {
        Ok(found) => found?,
        Err(e) => {
            tracing::error!(error = %e, "reading a single sign-on session failed");
            return None;
        }
    };
    let org = state.gateway.org_by_id(person.org_id).await.ok()?;
    let amr: Vec<String> = s.amr.split(' ').map(str::to_owned).collect();
    let user = mfa_oidc::AuthenticatedUser {
        sub: person.public_id.clone(),
        auth_time: s.auth_time,
        acr: Some(acr_of(&amr).to_owned()),
        amr,
        claims: crate::oidc_backend::claims(&person, org.as_ref()),
        sid: Some(crate::service::sso_sid_for_token(&token)),
    };
    match state.provider.complete(&pending.id, user).await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "completing an authorization from single sign-on failed");
            None
        }
    }
}

/// "Send a request to my phone": start an out-of-band approval for this login and show the
/// waiting page.
async fn start_approval(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: step, .. }: Action<KeyForm, SecondStep>,
) -> Response {
    let ip = step.client.ip;
    if let Some(res) = step.over_limits(&state, &headers).await {
        return res;
    }
    if step.claim(&state).await.is_none() {
        return too_many_codes(&state, &headers, &step).await;
    }
    let a = attempt(
        &step.username,
        Credentials::PasswordOnly {
            password: SecretString::default(),
        },
        &step.target,
        ip,
        &headers,
    );
    let gateway = state.gateway.clone();
    let label = match step.purpose {
        LoginFor::Portal => "Self-service portal".to_owned(),
        LoginFor::Oidc(_) => step.target.client_name.clone(),
    };
    // Number matching: this page shows the number, the phone must pick it. The wait lives
    // in the session, so the page may ask any instance how it stands.
    let number = crate::approval::random_number();
    let wait = crate::web::session::ApprovalWait {
        number: Some(number),
        since: step.client.now,
        answer: None,
    };
    state
        .sessions
        .modify(&step.sid, step.client.now, |login| {
            if let LoginState::PasswordOk { approval, .. } = login {
                *approval = Some(wait.clone());
            }
        })
        .await;
    let (sessions, sid) = (state.sessions.clone(), step.sid.clone());
    tokio::spawn(async move {
        let answer = match gateway
            .login_by_approval_matched(&a, Some(&label), Some(number), gateway.now())
            .await
        {
            Ok(d) => match d.verdict {
                Verdict::Accept { device_id, .. } => {
                    crate::web::session::WaitAnswer::Accepted { device_id }
                }
                _ => crate::web::session::WaitAnswer::Refused,
            },
            Err(e) => {
                tracing::error!(error = %e, "approval failed inside the gateway");
                crate::web::session::WaitAnswer::Refused
            }
        };
        sessions
            .modify(&sid, gateway.now(), |login| {
                if let LoginState::PasswordOk {
                    approval: Some(w), ..
                } = login
                {
                    w.answer = Some(answer);
                }
            })
            .await;
    });
    let html = waiting_page(&state, &step, Some(number)).await;
    page(&state, html, None, &step.target.redirect_uri)
}

/// The waiting page looks again: still waiting, approved (the login goes on), or not.
async fn wait_approval(
    State(state): State<WebState>,
    step: SecondStep,
    headers: HeaderMap,
) -> Response {
    let wait = match &step.session.login {
        LoginState::PasswordOk { approval, .. } => approval.clone(),
        _ => None,
    };
    match wait {
        Some(crate::web::session::ApprovalWait {
            answer: None,
            number,
            since,
        }) if step.client.now - since <= CODE_STEP_SECONDS => {
            let html = waiting_page(&state, &step, number).await;
            page(&state, html, None, &step.target.redirect_uri)
        }
        Some(crate::web::session::ApprovalWait {
            answer: Some(answer),
            ..
        }) => {
            // The answer is used once.
            state
                .sessions
                .modify(&step.sid, step.client.now, |login| {
                    if let LoginState::PasswordOk { approval, .. } = login {
                        *approval = None;
                    }
                })
                .await;
            let verdict = match answer {
                crate::web::session::WaitAnswer::Accepted { device_id } => Verdict::Accept {
                    device_id,
                    device_label: String::new(),
                },
                crate::web::session::WaitAnswer::Refused => Verdict::Reject(Reason::ApprovalDenied),
            };
            let attempts = step.failures;
            decided(
                &state,
                &headers,
                step,
                attempts,
                verdict,
                CodeError::NotApproved,
                None,
            )
            .await
        }
        _ => {
            code_page(
                &state,
                &step.target,
                &step.session.csrf,
                &step.username,
                Some(CodeError::NotApproved),
                None,
            )
            .await
        }
    }
}

/// Who logged in, as the provider needs it: stable sub, claims, and how (amr).
async fn authenticated_user(
    state: &WebState,
    username: &str,
    device_id: i64,
) -> Result<mfa_oidc::AuthenticatedUser, crate::service::ServiceError> {
    let person = state.gateway.person(username).await?;
    let org = state.gateway.org_by_id(person.org_id).await?;
    let device = state.gateway.device_by_id(device_id).await?;
    let mut amr = vec!["pwd".to_owned()];
    match device.map(|d| d.kind) {
        Some(DeviceKind::HardwareToken) => amr.extend(["otp".to_owned(), "hwk".to_owned()]),
        Some(DeviceKind::PhoneTotp) => amr.extend(["otp".to_owned(), "swk".to_owned()]),
        // A security key: proof of possession of a hardware-held key, no one-time code.
        Some(DeviceKind::SecurityKey) => amr.push("hwk".to_owned()),
        // Out-of-band approval on a device of the person's (RFC 8176 has no closer value).
        Some(DeviceKind::PushSubscription) => amr.push("mfa".to_owned()),
        // A recovery or temporary code, or an approval.
        None if device_id == crate::service::APPROVAL_DEVICE_ID => amr.push("mfa".to_owned()),
        // The code skipped for a remembered browser: the password alone.
        None if device_id == REMEMBERED_DEVICE_ID => amr.push(AMR_REMEMBERED.to_owned()),
        None => amr.push("otp".to_owned()),
    }
    Ok(mfa_oidc::AuthenticatedUser {
        sub: person.public_id.clone(),
        auth_time: state.gateway.now(),
        acr: Some(acr_of(&amr).to_owned()),
        amr,
        claims: crate::oidc_backend::claims(&person, org.as_ref()),
        sid: None,
    })
}

async fn cancel(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let Some((sid, session)) = current(&state, &headers).await else {
        return expired();
    };
    if !session.csrf_ok(&form.csrf) {
        return refused("login-bad-form");
    }
    state.sessions.remove(&sid).await;
    let LoginState::PasswordOk { purpose, .. } = session.login else {
        return expired();
    };
    let auth = match purpose {
        LoginFor::Oidc(auth) => auth,
        LoginFor::Portal => return crate::web::portal::to_login(),
    };
    match state.provider.deny(&auth).await {
        Ok(r) => r,
        Err(_) => expired(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://app.example.org:8443/cb?x=1"),
            "https://app.example.org:8443"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/callback"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin_of("nonsense"), "");
        assert_eq!(origin_of("https://a'; script-src *"), "");
    }
}
