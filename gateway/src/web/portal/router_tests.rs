//! In-process router tests of the sign-in, portal and account pages and forms.
//!
//! Each page renders (200, `<html lang="nl">`: the test app's default language, its element
//! ids and Dutch texts); each form's success path changes what it should (seen through the
//! service and the store); a wrong or missing CSRF token is refused (400) and changes
//! nothing; signed out, a page goes to the sign-in page and an action is refused. Time moves
//! on the gateway's clock (`app.next_step()`, `app.clock`), never by sleeping.

use crate::approval::Answer;
use crate::audit::EventKind;
use crate::i18n::{Arg, Lang};
use crate::model::{Device, DeviceKind, DeviceState, NewPerson, Person, Role};
use crate::secret::SecretString;
use crate::service::Actor;
use crate::store::EventFilter;
use crate::web::router_tests::{
    App, NOW_PASSWORD, app, code_step, cookie, csrf_of, password_step, person, portal_csrf,
    request, sign_in_as, stock_token, subscription,
};
use crate::web::session::LoginState;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request as HttpRequest, StatusCode, header};
use tower::ServiceExt as _;

const PEER: &str = "192.0.2.7";
const BASE: &str = "https://mfa.test";

// ---- helpers -------------------------------------------------------------------------------

/// An answer of the app: status, headers, Set-Cookie values by name, body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    cookies: Vec<(String, String)>,
    html: String,
}

impl Reply {
    fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        cookie(&self.cookies, name)
    }

    fn has_id(&self, id: &str) -> bool {
        self.html.contains(&format!(r#"id="{id}""#))
    }

    /// The page says the Dutch text of `key`.
    fn says(&self, key: &str) -> bool {
        self.html.contains(&nl(key))
    }

    /// The text of the page's error (`id="form-error"`), if it shows one.
    fn error(&self) -> Option<&str> {
        let at = self.html.find(r#"id="form-error">"#)?;
        let rest = &self.html[at + r#"id="form-error">"#.len()..];
        rest.find('<').map(|end| &rest[..end])
    }
}

async fn call(app: &App, req: HttpRequest<Body>) -> Reply {
    let res = app.router.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let headers = res.headers().clone();
    let cookies = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        cookies,
        html: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(app: &App, path: &str, cookies: &[(&str, &str)]) -> Reply {
    call(app, request(Method::GET, path, PEER, cookies, None)).await
}

async fn post(app: &App, path: &str, cookies: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
    call(app, request(Method::POST, path, PEER, cookies, Some(form))).await
}

/// As askama escapes text in a page.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Dutch text of `key` as a page shows it.
fn nl(key: &str) -> String {
    escape(&crate::i18n::t(Lang::Nl, key))
}

/// The Dutch text of `key` with its variables, as a page shows it.
fn nl_args(key: &str, args: &[(&'static str, Arg)]) -> String {
    escape(&crate::i18n::t_args(Lang::Nl, key, args))
}

/// A Dutch page (200) with the elements `ids`.
#[track_caller]
fn assert_page(r: &Reply, ids: &[&str]) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    assert!(r.html.contains(r#"<html lang="nl">"#), "{}", r.html);
    for id in ids {
        assert!(r.has_id(id), "no id={id:?} in {}", r.html);
    }
}

/// A refusal (400) that says `key` in Dutch.
#[track_caller]
fn assert_refused(r: &Reply, key: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.html);
    assert!(r.html.contains(r#"<html lang="nl">"#), "{}", r.html);
    assert!(r.says(key), "{key}: {}", r.html);
}

/// A 303 to `to`.
#[track_caller]
fn assert_see_other(r: &Reply, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    assert_eq!(r.location(), Some(to));
}

/// A code that is not `right`.
fn wrong(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn who(app: &App, username: &str) -> Person {
    app.state.gateway.person(username).await.expect("person")
}

/// The devices linked to `username` (active, disabled or removed).
async fn devices(app: &App, username: &str) -> Vec<Device> {
    let id = who(app, username).await.id;
    app.state
        .gateway
        .store()
        .devices_of(id)
        .await
        .expect("devices")
}

async fn device(app: &App, id: i64) -> Device {
    app.state
        .gateway
        .store()
        .device_by_id(id)
        .await
        .expect("store")
        .expect("device")
}

/// Audit events of `kind`.
async fn count(app: &App, kind: EventKind) -> usize {
    app.state
        .gateway
        .store()
        .events(&EventFilter {
            kind: Some(kind.as_str().into()),
            ..Default::default()
        })
        .await
        .expect("events")
        .len()
}

/// Every audit event so far.
async fn all_events(app: &App) -> usize {
    app.state
        .gateway
        .store()
        .events(&EventFilter::default())
        .await
        .expect("events")
        .len()
}

/// The seed of a phone page (`<code id="secret">`, base32 in groups of four).
fn seed_of(html: &str) -> Vec<u8> {
    let at = html.find(r#"id="secret">"#).expect("secret");
    let rest = &html[at + r#"id="secret">"#.len()..];
    let grouped = &rest[..rest.find('<').expect("end")];
    let secret: String = grouped.chars().filter(|c| !c.is_whitespace()).collect();
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32")
}

/// Another phone for `username` (linked by an administrator): its seed.
async fn second_phone(app: &App, username: &str, label: &str) -> Vec<u8> {
    let enrolled = app
        .state
        .gateway
        .add_totp(
            username,
            label,
            crate::otp::OtpParams::totp_default(),
            &Actor::cli(),
            app.now(),
        )
        .await
        .expect("phone");
    let uri = enrolled.uri.expose().to_owned();
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret");
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32")
}

/// `username` (a person of "Practice" with a phone) signed in to the portal: the phone's
/// seed, the session and its CSRF token.
async fn signed_in(app: &App, username: &str) -> (Vec<u8>, String, String) {
    let seed = person(app, username, vec![Role::Person]).await;
    let sid = sign_in_as(app, username, PEER, &seed).await;
    let csrf = portal_csrf(app, PEER, &sid).await;
    (seed, sid, csrf)
}

/// The sign-in page, then the password of `username` from a browser with `cookies`.
async fn password_post(app: &App, username: &str, cookies: &[(&str, &str)]) -> Reply {
    let page = get(app, "/portal/login", cookies).await;
    let pre = page.cookie("mfa_pre").expect("pre-login cookie").to_owned();
    let mut with = vec![("mfa_pre", pre.as_str())];
    with.extend(cookies.iter().copied());
    post(
        app,
        "/portal/login",
        &with,
        &[
            ("csrf", &csrf_of(&page.html)),
            ("username", username),
            ("password", NOW_PASSWORD),
        ],
    )
    .await
}

// ---- signing in ----------------------------------------------------------------------------

/// The password step: the page and its pre-login token; a form without the cookie, with a
/// forged, missing or another browser's token is refused and keeps nothing; a wrong password
/// and an unknown name get the same answer; the right one makes a session and asks a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_step_renders_and_refuses_forged_forms() {
    let app = app("").await;
    person(&app, "ann", vec![Role::Person]).await;
    let page = get(&app, "/portal/login", &[]).await;
    assert_page(
        &page,
        &["login-form", "username", "password", "forgot-password"],
    );
    assert!(page.says("login-title") && page.says("login-forgot"));
    assert_eq!(
        page.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let pre = page.cookie("mfa_pre").expect("pre-login cookie").to_owned();
    let csrf = csrf_of(&page.html);
    // The same browser again: the same token, no new cookie.
    let again = get(&app, "/portal/login", &[("mfa_pre", &pre)]).await;
    assert!(again.cookie("mfa_pre").is_none());
    assert_eq!(csrf_of(&again.html), csrf);
    // An English browser gets English.
    let mut en = request(Method::GET, "/portal/login", PEER, &[], None);
    en.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        "en-GB,en;q=0.9".parse().expect("h"),
    );
    let en = call(&app, en).await;
    assert!(en.html.contains(r#"<html lang="en">"#), "{}", en.html);

    let form = |csrf: &str, username: &str, password: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("username".to_owned(), username.to_owned()),
            ("password".to_owned(), password.to_owned()),
        ]
    };
    let send = |cookies: Vec<(&'static str, String)>, fields: Vec<(String, String)>| {
        let app = &app;
        async move {
            let cookies: Vec<(&str, &str)> =
                cookies.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post(app, "/portal/login", &cookies, &fields).await
        }
    };
    // Without the pre-login cookie (expired): asked again, the name kept.
    let r = send(vec![], form(&csrf, "ann", NOW_PASSWORD)).await;
    assert_page(&r, &["login-form", "form-error"]);
    assert!(r.says("login-error-session-expired"), "{}", r.html);
    assert!(r.html.contains(r#"value="ann""#));
    assert!(r.cookie("mfa_pre").is_some(), "a new pre-login cookie");
    // A forged, empty or missing token, or another browser's: refused.
    let other = get(&app, "/portal/login", &[]).await;
    let others = csrf_of(&other.html);
    for bad in ["forged", "", others.as_str()] {
        let r = send(
            vec![("mfa_pre", pre.clone())],
            form(bad, "ann", NOW_PASSWORD),
        )
        .await;
        assert_refused(&r, "login-bad-form");
        assert!(r.cookie("mfa_session").is_none());
    }
    let mut no_token = form("", "ann", NOW_PASSWORD);
    no_token.remove(0);
    assert_refused(
        &send(vec![("mfa_pre", pre.clone())], no_token).await,
        "login-bad-form",
    );
    assert_eq!(app.state.sessions.len().await, 0, "nothing kept");
    assert_eq!(
        count(&app, EventKind::LoginAttempt).await,
        0,
        "nothing checked"
    );
    // A wrong password and an unknown name: the same answer, nothing kept.
    let wrong_password = send(
        vec![("mfa_pre", pre.clone())],
        form(&csrf, "ann", "not the password"),
    )
    .await;
    let unknown = send(
        vec![("mfa_pre", pre.clone())],
        form(&csrf, "nobody", NOW_PASSWORD),
    )
    .await;
    for r in [&wrong_password, &unknown] {
        assert_page(r, &["login-form", "form-error"]);
        assert!(r.says("login-error-wrong"), "{}", r.html);
        assert!(r.cookie("mfa_session").is_none());
    }
    assert_eq!(
        wrong_password.error(),
        unknown.error(),
        "the answer tells nobody who has an account"
    );
    assert_eq!(app.state.sessions.len().await, 0);
    assert_eq!(
        count(&app, EventKind::LoginAttempt).await,
        2,
        "both audited"
    );
    // The right password: a session, and the code page.
    let r = send(
        vec![("mfa_pre", pre.clone())],
        form(&csrf, "ann", NOW_PASSWORD),
    )
    .await;
    assert_page(&r, &["code-form", "code", "submit", "cancel"]);
    assert!(r.says("code-title") && r.says("code-hint"));
    assert!(
        !r.has_id("use-key") && !r.has_id("send-request") && !r.has_id("remember"),
        "no key, no push device, remembering not allowed: {}",
        r.html
    );
    let sid = r.cookie("mfa_session").expect("session").to_owned();
    assert_eq!(app.state.sessions.len().await, 1);
    let session = app.state.sessions.get(&sid, app.now()).await.expect("live");
    assert!(matches!(session.login, LoginState::PasswordOk { .. }));
}

/// The code step: half-way is not signed in; a forged token or no session is refused; a
/// wrong code shows the page again (counted); the right one signs in with a new session id;
/// three wrong codes after one password ask for the password again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_step_signs_in_and_refuses_wrong_codes_and_forged_tokens() {
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let (sid, csrf) = password_step(&app, "ann", PEER).await;
    let half = [("mfa_session", sid.as_str())];
    assert_see_other(&get(&app, "/portal", &half).await, "/portal/login");
    for bad in ["forged", ""] {
        let r = post(
            &app,
            "/login/code",
            &half,
            &[("csrf", bad), ("code", &app.code(&seed))],
        )
        .await;
        assert_refused(&r, "login-bad-form");
    }
    let r = post(
        &app,
        "/login/code",
        &[],
        &[("csrf", &csrf), ("code", &app.code(&seed))],
    )
    .await;
    assert_refused(&r, "login-expired-text");
    assert_eq!(who(&app, "ann").await.failed_logins, 0, "nothing checked");

    let (status, _, html) = code_step(&app, PEER, &sid, &csrf, wrong(&app.code(&seed))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&nl("code-error-wrong")) && html.contains(r#"id="form-error""#),
        "{html}"
    );
    assert_eq!(who(&app, "ann").await.failed_logins, 1, "counted");

    let r = post(
        &app,
        "/login/code",
        &half,
        &[("csrf", &csrf), ("code", &app.code(&seed))],
    )
    .await;
    assert_see_other(&r, "/portal");
    let new = r.cookie("mfa_session").expect("session").to_owned();
    assert_ne!(new, sid, "a new session id after the sign-in");
    assert_see_other(&get(&app, "/portal", &half).await, "/portal/login");
    let signed_in = [("mfa_session", new.as_str())];
    assert_page(&get(&app, "/portal", &signed_in).await, &["nav-devices"]);
    // The sign-in page of a signed-in browser goes to My devices.
    assert_see_other(&get(&app, "/portal/login", &signed_in).await, "/portal");

    // Three wrong codes after one password: the password is asked again.
    app.next_step();
    let (sid, csrf) = password_step(&app, "ann", PEER).await;
    let right = app.code(&seed);
    for _ in 0..2 {
        let (status, _, html) = code_step(&app, PEER, &sid, &csrf, wrong(&right)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&nl("code-error-wrong")), "{html}");
    }
    let (status, _, html) = code_step(&app, PEER, &sid, &csrf, wrong(&right)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&nl("login-error-too-many-codes")) && html.contains(r#"id="login-form""#),
        "{html}"
    );
    assert!(app.state.sessions.get(&sid, app.now()).await.is_none());
    let (status, _, _) = code_step(&app, PEER, &sid, &csrf, &right).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "that sign-in is over");
}

/// The code page's other forms: a security key (none linked), back to the code, waiting for
/// an approval never asked, cancel; each refused with a forged token or without the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_pages_other_forms_refuse_without_a_key_or_a_request() {
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let (sid, csrf) = password_step(&app, "ann", PEER).await;
    let c = [("mfa_session", sid.as_str())];
    for path in [
        "/login/code/again",
        "/login/key",
        "/login/key/finish",
        "/login/approve",
        "/login/cancel",
    ] {
        assert_refused(
            &post(&app, path, &c, &[("csrf", "forged")]).await,
            "login-bad-form",
        );
        assert_refused(&post(&app, path, &c, &[]).await, "login-bad-form");
        assert_refused(
            &post(&app, path, &[], &[("csrf", &csrf)]).await,
            "login-expired-text",
        );
    }
    assert_refused(
        &get(&app, "/login/approve/wait", &[]).await,
        "login-expired-text",
    );
    // No security key linked: the code page says so.
    let r = post(&app, "/login/key", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["code-form", "form-error"]);
    assert!(r.says("code-error-no-key"), "{}", r.html);
    // An answer without a challenge.
    let r = post(
        &app,
        "/login/key/finish",
        &c,
        &[("csrf", &csrf), ("response", "{}")],
    )
    .await;
    assert_page(&r, &["code-form", "form-error"]);
    assert!(r.says("code-error-key-expired"), "{}", r.html);
    // Back to the code.
    let r = post(&app, "/login/code/again", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["code-form"]);
    assert!(!r.has_id("form-error"));
    // Waiting for an approval that was never asked.
    let r = get(&app, "/login/approve/wait", &c).await;
    assert_page(&r, &["code-form", "form-error"]);
    assert!(r.says("code-error-not-approved"), "{}", r.html);
    assert_eq!(
        who(&app, "ann").await.failed_logins,
        0,
        "none was an attempt"
    );
    // Still the same sign-in: cancel ends it.
    let r = post(&app, "/login/cancel", &c, &[("csrf", &csrf)]).await;
    assert_see_other(&r, "/portal/login");
    assert!(app.state.sessions.get(&sid, app.now()).await.is_none());
    let (status, _, _) = code_step(&app, PEER, &sid, &csrf, &app.code(&seed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// ---- the portal's pages --------------------------------------------------------------------

/// My devices, My logins and the approvals page (and its live stream): to the sign-in page
/// without a signed-in session (none, a forged one, one half-way); in Dutch when signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_pages_need_a_signed_in_session() {
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let phone = devices(&app, "ann").await.remove(0);
    let (half, _) = password_step(&app, "ann", PEER).await;
    for path in [
        "/portal",
        "/portal/logins",
        "/portal/approvals",
        "/portal/approvals/events",
    ] {
        for cookies in [
            &[][..],
            &[("mfa_session", "forged")][..],
            &[("mfa_session", half.as_str())][..],
        ] {
            assert_see_other(&get(&app, path, cookies).await, "/portal/login");
        }
    }
    app.next_step();
    let sid = sign_in_as(&app, "ann", PEER, &seed).await;
    let c = [("mfa_session", sid.as_str())];

    let r = get(&app, "/portal", &c).await;
    let id = phone.id;
    assert_page(
        &r,
        &[
            "nav-devices",
            "nav-logins",
            "nav-approvals",
            "logout",
            &format!("device-{id}"),
            &format!("rename-{id}"),
            &format!("remove-{id}"),
            "sso-sessions",
            "sso-none",
            "remembered",
            "no-remembered",
            "language-form",
            "add-phone",
            "key-new-form",
            "token-form",
            "new-recovery",
            "recovery-left",
        ],
    );
    assert!(r.html.contains(r#"id="nav-devices" aria-current="page""#));
    assert!(r.says("portal-devices-title") && r.says("portal-kind-phone"));
    assert!(r.html.contains(r#"<span id="recovery-left">0</span>"#));
    assert_eq!(
        r.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );

    let r = get(&app, "/portal/logins", &c).await;
    assert_page(&r, &["logins", "nav-logins"]);
    assert!(r.html.contains(r#"id="nav-logins" aria-current="page""#));
    assert!(r.says("portal-logins-title"));
    assert!(
        r.html
            .contains(&format!("<td>{}</td>", nl("portal-channel-portal")))
            && r.html
                .contains(&format!("<td>{}</td>", nl("portal-outcome-accept"))),
        "this sign-in is listed: {}",
        r.html
    );

    let r = get(&app, "/portal/approvals", &c).await;
    assert_page(&r, &["none", "approve-with-code", "nav-approvals"]);
    assert!(r.says("approvals-title") && r.says("approvals-none"));

    // The live stream answers a signed-in person (its body never ends: not read).
    let res = app
        .router
        .clone()
        .oneshot(request(
            Method::GET,
            "/portal/approvals/events",
            PEER,
            &c,
            None,
        ))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
}

/// Every action of the portal: refused (400) with a forged, empty or missing token, and
/// signed out; nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_actions_are_refused_without_the_token_or_signed_out_and_change_nothing() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let phone = devices(&app, "ann").await.remove(0);
    let before = all_events(&app).await;
    let id = phone.id;
    let sub = subscription("https://fcm.googleapis.com/fcm/send/x");
    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/portal/logout".into(), vec![]),
        ("/portal/devices/totp/new".into(), vec![]),
        (
            "/portal/devices/totp/confirm".into(),
            vec![("label", "x"), ("code", "123456")],
        ),
        (
            "/portal/devices/token".into(),
            vec![("serial", "T-1"), ("code", "123456")],
        ),
        ("/portal/devices/key/new".into(), vec![("label", "sleutel")]),
        (
            "/portal/devices/key/confirm".into(),
            vec![("response", "{}")],
        ),
        (format!("/portal/devices/{id}/remove/key"), vec![]),
        (
            format!("/portal/devices/{id}/remove/key/finish"),
            vec![("response", "{}")],
        ),
        (
            format!("/portal/devices/{id}/rename"),
            vec![("label", "gestolen")],
        ),
        (
            format!("/portal/devices/{id}/remove"),
            vec![("code", "123456")],
        ),
        ("/portal/recovery".into(), vec![]),
        ("/portal/language".into(), vec![("language", "en")]),
        ("/portal/browsers/1/forget".into(), vec![]),
        ("/portal/browsers/forget".into(), vec![]),
        ("/portal/sso/end".into(), vec![("sid", "AAAA")]),
        ("/portal/sso/end-all".into(), vec![]),
        (
            "/portal/approvals/answer".into(),
            vec![("id", "x"), ("answer", "approve")],
        ),
        (
            "/portal/push/subscribe".into(),
            vec![("subscription", sub.as_str())],
        ),
    ];
    for (path, fields) in &actions {
        for token in [None, Some("forged"), Some("")] {
            let mut form: Vec<(&str, &str)> = token.map(|t| ("csrf", t)).into_iter().collect();
            form.extend(fields.iter().copied());
            let r = post(&app, path, &[("mfa_session", &sid)], &form).await;
            assert_refused(&r, "portal-bad-form");
        }
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        for cookies in [&[][..], &[("mfa_session", "forged")][..]] {
            let r = post(&app, path, cookies, &form).await;
            assert_refused(&r, "portal-not-signed-in");
        }
    }
    assert_eq!(
        all_events(&app).await,
        before,
        "nothing audited: nothing done"
    );
    let now = devices(&app, "ann").await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].label, phone.label);
    assert_eq!(now[0].state, DeviceState::Active);
    let ann = who(&app, "ann").await;
    assert!(
        app.state
            .gateway
            .store()
            .recovery_codes(ann.id)
            .await
            .expect("codes")
            .is_empty()
    );
    assert_eq!(
        app.state.gateway.own_language(&ann).await.expect("lang"),
        None
    );
    let session = app.state.sessions.get(&sid, app.now()).await.expect("live");
    assert!(
        matches!(
            session.login,
            LoginState::LoggedIn {
                enrolment: None,
                key: None,
                ..
            }
        ),
        "no phone or key under way"
    );
    assert_page(
        &get(&app, "/portal", &[("mfa_session", &sid)]).await,
        &["nav-devices"],
    );
}

// ---- the portal's forms --------------------------------------------------------------------

/// A new phone: its page with the secret; a wrong code keeps the page (nothing saved), its
/// code saves it; the secret is used once, and forgotten after ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_phone_is_saved_only_with_its_code() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    let r = post(&app, "/portal/devices/totp/new", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["confirm-form", "secret", "label", "code", "confirm"]);
    assert!(r.says("portal-phone-intro") && r.html.contains("<svg"));
    let seed = seed_of(&r.html);
    assert_eq!(seed.len(), 20);

    let confirm = |label: &'static str, code: String| {
        let (app, c, csrf) = (&app, c, csrf.clone());
        async move {
            post(
                app,
                "/portal/devices/totp/confirm",
                &c,
                &[("csrf", &csrf), ("label", label), ("code", &code)],
            )
            .await
        }
    };
    let linked = count(&app, EventKind::DeviceLinked).await;
    let r = confirm("werktelefoon", wrong(&app.code(&seed)).to_owned()).await;
    assert_page(&r, &["confirm-form", "form-error"]);
    assert!(r.html.contains(r#"value="werktelefoon""#), "the name kept");
    assert_eq!(seed_of(&r.html), seed, "the same secret");
    assert_eq!(devices(&app, "ann").await.len(), 1, "nothing saved");

    let r = confirm("werktelefoon", app.code(&seed)).await;
    assert_see_other(&r, "/portal");
    let all = devices(&app, "ann").await;
    assert_eq!(all.len(), 2);
    let new = all
        .iter()
        .find(|d| d.label == "werktelefoon")
        .expect("the new phone");
    assert_eq!(new.kind, DeviceKind::PhoneTotp);
    assert_eq!(new.state, DeviceState::Active);
    assert_eq!(count(&app, EventKind::DeviceLinked).await, linked + 1);
    let r = get(&app, "/portal", &c).await;
    assert_page(&r, &[&format!("device-{}", new.id)]);
    assert!(r.html.contains("werktelefoon"));

    // The secret was used: confirming again says to start over.
    app.next_step();
    let r = confirm("nog een", app.code(&seed)).await;
    assert_page(&r, &["form-error", "add-phone"]);
    assert!(r.says("portal-error-phone-expired"), "{}", r.html);
    assert_eq!(devices(&app, "ann").await.len(), 2);

    // A secret left for more than ten minutes is forgotten.
    let r = post(&app, "/portal/devices/totp/new", &c, &[("csrf", &csrf)]).await;
    let late = seed_of(&r.html);
    app.clock.advance(601);
    let r = confirm("te laat", app.code(&late)).await;
    assert_page(&r, &["form-error"]);
    assert!(r.says("portal-error-phone-expired"), "{}", r.html);
    assert_eq!(devices(&app, "ann").await.len(), 2);
}

/// A hardware token from the organisation's stock: an unknown serial or a wrong code shows
/// My devices with the error (the serial kept); its code links it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_stock_is_linked_with_its_code() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let practice = app.state.gateway.org("Practice").await.expect("org");
    stock_token(&app, practice.id, "TK-1").await;
    let c = [("mfa_session", sid.as_str())];
    let link = |serial: &'static str, code: &'static str| {
        let (app, c, csrf) = (&app, c, csrf.clone());
        async move {
            post(
                app,
                "/portal/devices/token",
                &c,
                &[
                    ("csrf", &csrf),
                    ("serial", serial),
                    ("label", "sleutelhanger"),
                    ("code", code),
                ],
            )
            .await
        }
    };
    for (serial, code) in [("TK-9", "755224"), ("TK-1", "000000")] {
        let r = link(serial, code).await;
        assert_page(&r, &["token-form", "form-error"]);
        assert!(
            r.html.contains(&format!(r#"value="{serial}""#)),
            "{}",
            r.html
        );
    }
    let store = app.state.gateway.store();
    let token = store
        .device_by_serial("TK-1")
        .await
        .expect("store")
        .expect("token");
    assert_eq!(token.state, DeviceState::InStock);
    assert_eq!(devices(&app, "ann").await.len(), 1);

    assert_see_other(&link("TK-1", "755224").await, "/portal");
    let token = device(&app, token.id).await;
    assert_eq!(token.state, DeviceState::Active);
    assert_eq!(token.person_id, Some(who(&app, "ann").await.id));
    assert_eq!(token.label, "sleutelhanger");
    let r = get(&app, "/portal", &c).await;
    assert!(
        r.html.contains(&nl_args(
            "portal-kind-token",
            &[("serial", Arg::from("TK-1"))]
        )),
        "{}",
        r.html
    );
}

/// Rename: a valid name is saved (audited); an empty or too long one, or another person's
/// device, shows the error and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_renamed_only_with_a_valid_name() {
    let app = app("").await;
    person(&app, "bob", vec![Role::Person]).await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let phone = devices(&app, "ann").await.remove(0);
    let bobs = devices(&app, "bob").await.remove(0);
    let c = [("mfa_session", sid.as_str())];
    let rename = |id: i64, label: String| {
        let (app, c, csrf) = (&app, c, csrf.clone());
        async move {
            post(
                app,
                &format!("/portal/devices/{id}/rename"),
                &c,
                &[("csrf", &csrf), ("label", &label)],
            )
            .await
        }
    };
    assert_see_other(&rename(phone.id, "privételefoon".into()).await, "/portal");
    assert_eq!(device(&app, phone.id).await.label, "privételefoon");
    assert_eq!(count(&app, EventKind::DeviceRenamed).await, 1);
    for bad in [String::new(), "x".repeat(65), "a\u{202e}b".into()] {
        let r = rename(phone.id, bad.clone()).await;
        assert_page(&r, &["form-error"]);
        assert!(
            r.html
                .contains(&format!(r#"id="label-{}" name="label""#, phone.id)),
            "{}",
            r.html
        );
        assert_eq!(
            device(&app, phone.id).await.label,
            "privételefoon",
            "{bad:?}"
        );
    }
    let r = rename(bobs.id, "van ann".into()).await;
    assert_page(&r, &["form-error"]);
    assert_eq!(device(&app, bobs.id).await.label, bobs.label);
    assert_eq!(count(&app, EventKind::DeviceRenamed).await, 1);
}

/// Remove: the only device cannot go; otherwise the confirmation page first, then a code
/// from another device (a wrong one keeps the page); a removed device is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_device_asks_first_and_needs_a_code_from_another() {
    let app = app("").await;
    let (seed, sid, csrf) = signed_in(&app, "ann").await;
    let phone = devices(&app, "ann").await.remove(0);
    let c = [("mfa_session", sid.as_str())];
    let path = format!("/portal/devices/{}/remove", phone.id);
    let r = post(&app, &path, &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["form-error", "add-phone"]);
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Active);

    let spare = second_phone(&app, "ann", "reservetelefoon").await;
    let r = post(&app, &path, &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["remove-form", "code", "confirm-remove"]);
    assert!(!r.has_id("remove-with-key"), "no security key to use");
    assert!(r.says("portal-remove-intro") && r.says("portal-keep"));
    assert!(
        r.html.contains(&nl_args(
            "portal-remove-heading",
            &[("label", Arg::from(phone.label.as_str()))]
        )),
        "{}",
        r.html
    );
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Active);
    // A wrong code, or the code of the device itself: the page again.
    app.next_step();
    for code in [wrong(&app.code(&spare)).to_owned(), app.code(&seed)] {
        let r = post(&app, &path, &c, &[("csrf", &csrf), ("code", &code)]).await;
        assert_page(&r, &["remove-form", "form-error"]);
        assert_eq!(device(&app, phone.id).await.state, DeviceState::Active);
    }
    assert_eq!(count(&app, EventKind::DeviceRemoved).await, 0);
    let r = post(
        &app,
        &path,
        &c,
        &[("csrf", &csrf), ("code", &app.code(&spare))],
    )
    .await;
    assert_see_other(&r, "/portal");
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Removed);
    assert_eq!(count(&app, EventKind::DeviceRemoved).await, 1);
    let r = get(&app, "/portal", &c).await;
    assert!(!r.has_id(&format!("device-{}", phone.id)));
    // Gone: not found any more; the spare is the last one now.
    let r = post(&app, &path, &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["form-error"]);
    let last = devices(&app, "ann")
        .await
        .into_iter()
        .find(|d| d.state == DeviceState::Active)
        .expect("the spare");
    let r = post(
        &app,
        &format!("/portal/devices/{}/remove", last.id),
        &c,
        &[("csrf", &csrf)],
    )
    .await;
    assert_page(&r, &["form-error"]);
    assert!(!r.has_id("remove-form"));
}

/// The person's language: saved and used for their pages; an unknown one is refused;
/// "the organisation's" clears it. The sign-in page stays in the browser's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_is_the_persons_choice() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    let set = |language: &'static str| {
        let (app, c, csrf) = (&app, c, csrf.clone());
        async move {
            post(
                app,
                "/portal/language",
                &c,
                &[("csrf", &csrf), ("language", language)],
            )
            .await
        }
    };
    assert_see_other(&set("en").await, "/portal");
    let ann = who(&app, "ann").await;
    assert_eq!(
        app.state.gateway.own_language(&ann).await.expect("lang"),
        Some(Lang::En)
    );
    assert_eq!(count(&app, EventKind::LanguageChanged).await, 1);
    let r = get(&app, "/portal", &c).await;
    assert!(
        r.html.contains(r#"<html lang="en">"#) && r.html.contains("My devices"),
        "{}",
        r.html
    );
    assert!(r.html.contains(r#"value="en" lang="en" selected"#));
    assert!(
        get(&app, "/portal/login", &[])
            .await
            .html
            .contains(r#"<html lang="nl">"#),
        "never the person's language before the sign-in"
    );
    let r = set("fr").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.html
            .contains(&escape(&crate::i18n::t(Lang::En, "portal-bad-language"))),
        "in the person's language: {}",
        r.html
    );
    assert_eq!(
        app.state.gateway.own_language(&ann).await.expect("lang"),
        Some(Lang::En)
    );
    assert_see_other(&set("org").await, "/portal");
    assert_eq!(
        app.state.gateway.own_language(&ann).await.expect("lang"),
        None
    );
    assert_page(&get(&app, "/portal", &c).await, &["language-form"]);
}

/// Recovery codes: ten, shown once; one signs in instead of a code (once); new ones
/// replace the old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_codes_are_shown_once_and_sign_in_once() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let ann = who(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    let codes_of = |html: &str| -> Vec<String> {
        html.split("<li><code>")
            .skip(1)
            .map(|s| s[..s.find('<').expect("end")].to_owned())
            .collect()
    };
    let r = post(&app, "/portal/recovery", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["recovery-codes", "done"]);
    assert!(r.says("portal-recovery-title"));
    let codes = codes_of(&r.html);
    assert_eq!(codes.len(), 10, "{}", r.html);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
    );
    let store = app.state.gateway.store();
    assert_eq!(store.recovery_codes(ann.id).await.expect("codes").len(), 10);
    assert_eq!(count(&app, EventKind::RecoveryCodesGenerated).await, 1);
    let r = get(&app, "/portal", &c).await;
    assert!(r.html.contains(r#"<span id="recovery-left">10</span>"#));

    let (other, other_csrf) = password_step(&app, "ann", "192.0.2.8").await;
    let r = post(
        &app,
        "/login/code",
        &[("mfa_session", &other)],
        &[("csrf", &other_csrf), ("code", &codes[0])],
    )
    .await;
    assert_see_other(&r, "/portal");
    assert_eq!(store.recovery_codes(ann.id).await.expect("codes").len(), 9);
    let (other, other_csrf) = password_step(&app, "ann", "192.0.2.8").await;
    let (status, _, html) = code_step(&app, "192.0.2.8", &other, &other_csrf, &codes[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&nl("code-error-wrong")), "used once: {html}");

    let r = post(&app, "/portal/recovery", &c, &[("csrf", &csrf)]).await;
    let new = codes_of(&r.html);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|n| !codes.contains(n)));
    assert_eq!(store.recovery_codes(ann.id).await.expect("codes").len(), 10);
}

/// Security keys without an authenticator: a name is needed; the page that asks the
/// browser (its script allowed); an answer that is no key's is refused and the challenge
/// spent; removing with a key needs another key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_key_pages_refuse_what_no_authenticator_answered() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let phone = devices(&app, "ann").await.remove(0);
    let c = [("mfa_session", sid.as_str())];
    let r = post(
        &app,
        "/portal/devices/key/new",
        &c,
        &[("csrf", &csrf), ("label", "")],
    )
    .await;
    assert_page(&r, &["key-new-form", "form-error"]);

    let r = post(
        &app,
        "/portal/devices/key/new",
        &c,
        &[("csrf", &csrf), ("label", "blauwe sleutel")],
    )
    .await;
    assert_page(&r, &["key-add-form", "webauthn-start", "webauthn-error"]);
    assert!(r.html.contains(r#"data-webauthn="create""#));
    assert!(r.html.contains(r#"action="/portal/devices/key/confirm""#));
    let csp = r
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let session = app.state.sessions.get(&sid, app.now()).await.expect("live");
    assert!(matches!(
        session.login,
        LoginState::LoggedIn { key: Some(_), .. }
    ));

    let confirm = async || {
        post(
            &app,
            "/portal/devices/key/confirm",
            &c,
            &[("csrf", &csrf), ("response", "{}")],
        )
        .await
    };
    let r = confirm().await;
    assert_page(&r, &["form-error", "key-new-form"]);
    assert_eq!(devices(&app, "ann").await.len(), 1, "nothing linked");
    let r = confirm().await;
    assert_page(&r, &["form-error"]);
    assert!(r.says("portal-error-key-too-slow"), "spent: {}", r.html);

    second_phone(&app, "ann", "reservetelefoon").await;
    let r = post(
        &app,
        &format!("/portal/devices/{}/remove/key", phone.id),
        &c,
        &[("csrf", &csrf)],
    )
    .await;
    assert_page(&r, &["remove-form", "form-error"]);
    assert!(r.says("portal-remove-no-other-key"), "{}", r.html);
    let r = post(
        &app,
        &format!("/portal/devices/{}/remove/key/finish", phone.id),
        &c,
        &[("csrf", &csrf), ("response", "{}")],
    )
    .await;
    assert_page(&r, &["remove-form", "form-error"]);
    assert!(r.says("portal-remove-key-expired"), "{}", r.html);
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Active);
    assert_eq!(devices(&app, "ann").await.len(), 2);
}

/// Sign out: with the token the session ends and its cookie is cleared; without it nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    assert_refused(
        &post(&app, "/portal/logout", &c, &[("csrf", "forged")]).await,
        "portal-bad-form",
    );
    assert!(app.state.sessions.get(&sid, app.now()).await.is_some());
    let r = post(&app, "/portal/logout", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &[]);
    assert!(r.says("portal-signed-out-title") && r.says("portal-signed-out-text"));
    assert_eq!(r.cookie("mfa_session"), Some(""), "the cookie cleared");
    assert!(app.state.sessions.get(&sid, app.now()).await.is_none());
    assert_see_other(&get(&app, "/portal", &c).await, "/portal/login");
    assert_refused(
        &post(&app, "/portal/logout", &c, &[("csrf", &csrf)]).await,
        "portal-not-signed-in",
    );
}

/// The "this was not me" link: a page that asks first (the GET changes nothing); its form
/// needs the page's cookie and token; confirmed, the device is disabled and the link dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_not_me_link_asks_first_and_refuses_a_forged_form() {
    let app = app("").await;
    person(&app, "ann", vec![Role::Person]).await;
    let gw = &app.state.gateway;
    let phone = devices(&app, "ann").await.remove(0);
    let url = gw.not_me_url(&phone).expect("url");
    let path = url.trim_start_matches(BASE).to_owned();

    let r = get(&app, &format!("/portal/not-me/{}/forged", phone.id), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.html.contains(r#"<html lang="nl">"#) && r.says("portal-not-me-gone-title"));

    let page = get(&app, &path, &[]).await;
    assert_page(&page, &["not-me-form", "not-me"]);
    assert!(page.says("portal-not-me-heading"));
    assert!(page.html.contains(&format!(r#"action="{path}""#)));
    let pre = page.cookie("mfa_pre").expect("pre").to_owned();
    let csrf = csrf_of(&page.html);
    let other = csrf_of(&get(&app, &path, &[]).await.html);

    let r = post(&app, &path, &[], &[("csrf", &csrf)]).await;
    assert_refused(&r, "portal-not-me-expired");
    for bad in ["forged", "", other.as_str()] {
        let r = post(&app, &path, &[("mfa_pre", &pre)], &[("csrf", bad)]).await;
        assert_refused(&r, "portal-not-me-bad-form");
    }
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Active);
    assert_eq!(count(&app, EventKind::DeviceDisabled).await, 0);

    let r = post(&app, &path, &[("mfa_pre", &pre)], &[("csrf", &csrf)]).await;
    assert_page(&r, &[]);
    assert!(r.says("portal-not-me-done-title"), "{}", r.html);
    assert_eq!(device(&app, phone.id).await.state, DeviceState::Disabled);
    assert_eq!(count(&app, EventKind::DeviceDisabled).await, 1);
    let r = get(&app, &path, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "the link is dead now");
}

// ---- remembered browsers and single sign-on sessions ----------------------------------------

/// Remembered browsers: ticked on the code page, the browser skips the code next time; My
/// devices lists them; one or all are forgotten with the page's token (this browser's
/// cookie deleted with it); a forged token changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_browsers_skip_the_code_and_are_forgotten_from_the_portal() {
    use sha2::Digest as _;
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let gw = &app.state.gateway;
    let org = gw.org("Practice").await.expect("org");
    let mut policy = gw.org_policy(org.id).await.expect("policy");
    policy.remember_days = Some(30);
    gw.set_org_policy(&Actor::cli(), &org, &policy, app.now())
        .await
        .expect("policy");

    // Two browsers, each remembered at its sign-in.
    let mut tokens = Vec::new();
    for _ in 0..2 {
        app.next_step();
        let r = password_post(&app, "ann", &[]).await;
        assert_page(&r, &["code-form", "remember"]);
        assert!(
            r.html
                .contains(&nl_args("code-remember", &[("days", Arg::from(30))])),
            "{}",
            r.html
        );
        let sid = r.cookie("mfa_session").expect("session").to_owned();
        let r = post(
            &app,
            "/login/code",
            &[("mfa_session", &sid)],
            &[
                ("csrf", &csrf_of(&r.html)),
                ("code", &app.code(&seed)),
                ("remember", "yes"),
            ],
        )
        .await;
        assert_see_other(&r, "/portal");
        tokens.push(r.cookie("mfa_remember").expect("remembered").to_owned());
    }
    assert_eq!(count(&app, EventKind::BrowserRemembered).await, 2);

    // The first browser: the password only.
    let r = password_post(&app, "ann", &[("mfa_remember", &tokens[0])]).await;
    assert_see_other(&r, "/portal");
    let sid = r.cookie("mfa_session").expect("session").to_owned();
    let c = [
        ("mfa_session", sid.as_str()),
        ("mfa_remember", tokens[0].as_str()),
    ];
    let ann = who(&app, "ann").await;
    let list = gw.remembered_of(&ann, app.now()).await.expect("list");
    assert_eq!(list.len(), 2);
    let page = get(&app, "/portal", &c).await;
    let mut ids = vec![
        "remembered-browsers".to_owned(),
        "forget-all-browsers".to_owned(),
    ];
    for b in &list {
        ids.push(format!("browser-{}", b.id));
        ids.push(format!("forget-browser-{}", b.id));
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_page(&page, &ids);
    let csrf = csrf_of(&page.html);
    let hash = |t: &str| hex::encode(sha2::Sha256::digest(t.as_bytes()));
    let second = list
        .iter()
        .find(|b| b.token_hash == hash(&tokens[1]))
        .expect("the second browser")
        .id;
    let one = format!("/portal/browsers/{second}/forget");

    for bad in ["forged", ""] {
        assert_refused(
            &post(&app, &one, &c, &[("csrf", bad)]).await,
            "portal-bad-form",
        );
        assert_refused(
            &post(&app, "/portal/browsers/forget", &c, &[("csrf", bad)]).await,
            "portal-bad-form",
        );
    }
    assert_eq!(
        gw.remembered_of(&ann, app.now()).await.expect("list").len(),
        2
    );

    // Another browser forgotten: this one's cookie stays.
    let r = post(&app, &one, &c, &[("csrf", &csrf)]).await;
    assert_see_other(&r, "/portal");
    assert!(r.cookie("mfa_remember").is_none());
    assert_eq!(
        gw.remembered_of(&ann, app.now()).await.expect("list").len(),
        1
    );
    // All of them: this browser's cookie is deleted too.
    let r = post(&app, "/portal/browsers/forget", &c, &[("csrf", &csrf)]).await;
    assert_see_other(&r, "/portal");
    assert_eq!(r.cookie("mfa_remember"), Some(""));
    assert!(
        gw.remembered_of(&ann, app.now())
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(count(&app, EventKind::BrowserForgotten).await, 2);
    assert_page(&get(&app, "/portal", &c).await, &["no-remembered"]);
    // Forgotten: the code is asked again.
    let r = password_post(&app, "ann", &[("mfa_remember", &tokens[0])]).await;
    assert_page(&r, &["code-form"]);
}

/// Single sign-on sessions on My devices: listed, this browser marked; one signed out (the
/// cookie of this browser kept), a malformed id matches nothing, all signed out (the cookie
/// cleared); a forged token changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_sessions_are_listed_and_signed_out() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let gw = &app.state.gateway;
    let ann = who(&app, "ann").await;
    let amr = ["pwd".to_owned(), "otp".to_owned()];
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (token, _) = gw
            .start_sso(&ann, app.now(), &amr, app.now())
            .await
            .expect("sso")
            .expect("on by default");
        tokens.push(token);
    }
    let c = [
        ("mfa_session", sid.as_str()),
        ("mfa_sso", tokens[0].as_str()),
    ];
    let r = get(&app, "/portal", &c).await;
    assert_page(
        &r,
        &[
            "sso-sessions",
            "sso-session-0",
            "sso-session-1",
            "sso-end-all",
        ],
    );
    assert!(r.says("portal-sso-heading"));
    assert_eq!(r.html.matches(&nl("portal-sso-this-browser")).count(), 1);
    let other = crate::service::sso_sid_for_token(&tokens[1]);
    assert!(r.html.contains(&format!(r#"data-sid="{other}""#)));
    let live = async || gw.sso_sessions(ann.id).await.expect("sessions").len();

    for bad in ["forged", ""] {
        assert_refused(
            &post(
                &app,
                "/portal/sso/end",
                &c,
                &[("csrf", bad), ("sid", &other)],
            )
            .await,
            "portal-bad-form",
        );
        assert_refused(
            &post(&app, "/portal/sso/end-all", &c, &[("csrf", bad)]).await,
            "portal-bad-form",
        );
    }
    assert_eq!(live().await, 2);

    let r = post(
        &app,
        "/portal/sso/end",
        &c,
        &[("csrf", &csrf), ("sid", &other)],
    )
    .await;
    assert_see_other(&r, "/portal");
    assert!(
        r.cookie("mfa_sso").is_none(),
        "this browser's session stays"
    );
    assert_eq!(live().await, 1);
    assert_eq!(count(&app, EventKind::SsoSessionEnded).await, 1);
    let r = post(
        &app,
        "/portal/sso/end",
        &c,
        &[("csrf", &csrf), ("sid", "a/b")],
    )
    .await;
    assert_see_other(&r, "/portal");
    assert_eq!(live().await, 1);

    let r = post(&app, "/portal/sso/end-all", &c, &[("csrf", &csrf)]).await;
    assert_see_other(&r, "/portal");
    assert_eq!(
        r.cookie("mfa_sso"),
        Some(""),
        "this browser's cookie cleared"
    );
    assert_eq!(live().await, 0);
    assert_page(
        &get(&app, "/portal", &[("mfa_session", &sid)]).await,
        &["sso-none"],
    );
}

// ---- the account pages ---------------------------------------------------------------------

/// The activation link: its page (the same key each time it opens); a form without the
/// page's cookie or with a forged token is refused; passwords that differ or a wrong code
/// show the form again (422); done, the password and the phone are set and the link is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_link_sets_the_password_and_the_first_phone_once() {
    let app = app("").await;
    let gw = &app.state.gateway;
    let t = app.now();
    let org = gw
        .create_org("Practice", &Actor::cli(), t)
        .await
        .expect("org");
    gw.create_person(
        NewPerson {
            username: "nina".into(),
            full_name: "Nina de Vries".into(),
            email: Some("nina@example.org".into()),
            employee_number: None,
            org_id: org.id,
            roles: vec![Role::Person],
        },
        None,
        &Actor::cli(),
        t,
    )
    .await
    .expect("person");
    let nina = who(&app, "nina").await;
    let url = gw
        .reissue_activation(&Actor::cli(), nina.id, BASE, t)
        .await
        .expect("link");
    let path = url.expose().trim_start_matches(BASE).to_owned();

    let r = get(&app, &format!("{path}x"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.html.contains(r#"<html lang="nl">"#) && r.says("activate-link-invalid-title"));

    let page = get(&app, &path, &[]).await;
    assert_page(
        &page,
        &[
            "activate-form",
            "username",
            "password",
            "password_again",
            "secret",
            "label",
            "code",
            "activate",
        ],
    );
    assert!(page.says("activate-title") && page.html.contains("Nina de Vries"));
    let pre = page.cookie("mfa_pre").expect("pre").to_owned();
    let csrf = csrf_of(&page.html);
    let seed = seed_of(&page.html);
    let again = get(&app, &path, &[("mfa_pre", &pre)]).await;
    assert_eq!(seed_of(&again.html), seed, "the same key");
    assert_eq!(csrf_of(&again.html), csrf);

    let submit =
        |cookies: Vec<(&'static str, String)>, csrf: String, again: &'static str, code: String| {
            let (app, path) = (&app, path.clone());
            async move {
                let cookies: Vec<(&str, &str)> =
                    cookies.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(
                    app,
                    &path,
                    &cookies,
                    &[
                        ("csrf", &csrf),
                        ("password", NOW_PASSWORD),
                        ("password_again", again),
                        ("label", "mijn telefoon"),
                        ("code", &code),
                    ],
                )
                .await
            }
        };
    let code = app.code(&seed);
    let r = submit(vec![], csrf.clone(), NOW_PASSWORD, code.clone()).await;
    assert_refused(&r, "activate-error-session");
    for bad in ["forged", ""] {
        let r = submit(
            vec![("mfa_pre", pre.clone())],
            bad.into(),
            NOW_PASSWORD,
            code.clone(),
        )
        .await;
        assert_refused(&r, "activate-error-forged");
    }
    let with_pre = || vec![("mfa_pre", pre.clone())];
    let r = submit(with_pre(), csrf.clone(), "something else", code.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.has_id("activate-form") && r.says("activate-error-differ"),
        "{}",
        r.html
    );
    assert!(r.html.contains(r#"value="mijn telefoon""#), "the name kept");
    let r = submit(with_pre(), csrf.clone(), NOW_PASSWORD, wrong(&code).into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.says("activate-error-code"), "{}", r.html);
    let store = gw.store();
    assert!(store.password_hash(nina.id).await.expect("hash").is_none());
    assert!(devices(&app, "nina").await.is_empty());
    assert_eq!(count(&app, EventKind::ActivationCompleted).await, 0);

    let r = submit(with_pre(), csrf.clone(), NOW_PASSWORD, code).await;
    assert_page(&r, &["activated", "to-portal"]);
    assert!(r.says("activate-done"));
    assert!(store.password_hash(nina.id).await.expect("hash").is_some());
    let phones = devices(&app, "nina").await;
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].label, "mijn telefoon");
    assert_eq!(count(&app, EventKind::ActivationCompleted).await, 1);
    let r = get(&app, &path, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "used once");
    // The new account signs in.
    app.next_step();
    sign_in_as(&app, "nina", PEER, &seed).await;
}

/// "Forgot password?": the request page; forged forms refused at every step and nothing
/// changed; an empty name shown again; the link's code step, then the password, then done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_pages_refuse_forged_forms_and_change_nothing() {
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let gw = &app.state.gateway;
    let r = get(&app, "/reset", &[]).await;
    assert_page(
        &r,
        &["reset-request-form", "identifier", "submit", "to-sign-in"],
    );
    assert!(r.says("reset-request-heading"));
    let pre = r.cookie("mfa_pre").expect("pre").to_owned();
    let csrf = csrf_of(&r.html);
    assert_refused(
        &post(
            &app,
            "/reset",
            &[],
            &[("csrf", &csrf), ("identifier", "ann")],
        )
        .await,
        "reset-error-forged",
    );
    for bad in ["forged", ""] {
        assert_refused(
            &post(
                &app,
                "/reset",
                &[("mfa_pre", &pre)],
                &[("csrf", bad), ("identifier", "ann")],
            )
            .await,
            "reset-error-forged",
        );
    }
    let r = post(
        &app,
        "/reset",
        &[("mfa_pre", &pre)],
        &[("csrf", &csrf), ("identifier", "  ")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.has_id("reset-request-form") && r.says("reset-error-identifier"));
    assert_eq!(count(&app, EventKind::PasswordResetRequested).await, 0);
    // A name: the same "look in your mail" page whoever it names (the work runs apart).
    let r = post(
        &app,
        "/reset",
        &[("mfa_pre", &pre)],
        &[("csrf", &csrf), ("identifier", "nobody@example.org")],
    )
    .await;
    assert_page(&r, &["reset-sent", "to-sign-in"]);
    assert!(r.says("reset-sent-title"));

    let ann = who(&app, "ann").await;
    let (url, _, _) = gw
        .issue_reset_link(
            &ann,
            BASE,
            &crate::service::reset::ResetOrigin::default(),
            app.now(),
        )
        .await
        .expect("link");
    let path = url.expose().trim_start_matches(BASE).to_owned();
    let r = get(&app, &format!("{path}x"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.says("reset-link-invalid-title"));
    let r = get(&app, &path, &[("mfa_pre", &pre)]).await;
    assert_page(&r, &["reset-code-form", "code", "username"]);
    let code_path = format!("{path}/code");
    let password_path = format!("{path}/password");
    let code = app.code(&seed);
    for (cookies, token) in [
        (&[][..], csrf.as_str()),
        (&[("mfa_pre", pre.as_str())][..], "forged"),
    ] {
        assert_refused(
            &post(
                &app,
                &code_path,
                cookies,
                &[("csrf", token), ("code", &code)],
            )
            .await,
            "reset-error-forged",
        );
    }
    assert_eq!(who(&app, "ann").await.failed_logins, 0, "nothing checked");
    assert_page(&get(&app, &path, &[]).await, &["reset-code-form"]);
    let r = post(
        &app,
        &code_path,
        &[("mfa_pre", &pre)],
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_page(&r, &["reset-password-form", "password", "password_again"]);

    let new = "a brand new password";
    let verifies = async |pw: &str| -> bool {
        let hash = gw.store().password_hash(ann.id).await.expect("hash");
        gw.engine()
            .hasher()
            .verify(&SecretString::new(pw), hash.as_deref())
    };
    for (cookies, token) in [
        (&[][..], csrf.as_str()),
        (&[("mfa_pre", pre.as_str())][..], "forged"),
    ] {
        assert_refused(
            &post(
                &app,
                &password_path,
                cookies,
                &[("csrf", token), ("password", new), ("password_again", new)],
            )
            .await,
            "reset-error-forged",
        );
    }
    assert!(verifies(NOW_PASSWORD).await, "unchanged");
    let r = post(
        &app,
        &password_path,
        &[("mfa_pre", &pre)],
        &[("csrf", &csrf), ("password", new), ("password_again", new)],
    )
    .await;
    assert_page(&r, &["reset-done", "to-sign-in"]);
    assert!(verifies(new).await && !verifies(NOW_PASSWORD).await);
    assert_eq!(count(&app, EventKind::PasswordResetCompleted).await, 1);
}

/// /approve: the form; nothing waiting, nobody by that name or a wrong code get the same
/// refusal (the name kept); the right code approves the held sign-in, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approve_page_answers_a_held_sign_in_with_a_code() {
    let app = app("").await;
    let seed = person(&app, "ann", vec![Role::Person]).await;
    let ann = who(&app, "ann").await;
    let r = get(&app, "/approve", &[]).await;
    assert_page(&r, &["approve-form", "username", "code", "submit"]);
    assert!(r.says("approve-title") && r.says("approve-intro"));
    assert_eq!(
        r.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let approve = |username: &'static str, code: String| {
        let app = &app;
        async move {
            post(
                app,
                "/approve",
                &[],
                &[("username", username), ("code", &code)],
            )
            .await
        }
    };
    let nothing = approve("ann", app.code(&seed)).await;
    let nobody = approve("nobody", app.code(&seed)).await;
    for r in [&nothing, &nobody] {
        assert_page(r, &["approve-form", "form-error"]);
        assert!(r.says("approve-refused"), "{}", r.html);
    }
    assert!(nothing.html.contains(r#"value="ann""#));
    assert_eq!(
        nothing.html,
        nobody.html.replace(r#"value="nobody""#, r#"value="ann""#),
        "the same page for both"
    );

    let mut ticket = app
        .state
        .gateway
        .approvals()
        .start_matched(ann.id, "Extern bureaublad", "radius", None, None, app.now())
        .await
        .expect("a held sign-in");
    let r = approve("ann", wrong(&app.code(&seed)).into()).await;
    assert!(r.says("approve-refused") && !r.has_id("approved"));
    assert!(ticket.answer.try_recv().is_err(), "still waiting");
    let r = approve("ann", app.code(&seed)).await;
    assert_page(&r, &["approved"]);
    assert!(r.says("approve-approved") && !r.has_id("approve-form"));
    assert_eq!(ticket.answer.try_recv().ok(), Some(Answer::Approved));
    assert_eq!(count(&app, EventKind::ApprovalAnswered).await, 1);
    app.next_step();
    let r = approve("ann", app.code(&seed)).await;
    assert!(r.says("approve-refused"), "nothing waits now: {}", r.html);
}

/// The portal's approvals page: a waiting request is shown; answering needs the page's
/// token and a valid answer, and a browser bound to a push device of the person; bound, the
/// answer reaches the held sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_answered_in_the_portal_only_from_a_bound_browser() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let ann = who(&app, "ann").await;
    let mut ticket = app
        .state
        .gateway
        .approvals()
        .start_matched(ann.id, "Extern bureaublad", "radius", None, None, app.now())
        .await
        .expect("a held sign-in");
    let id = ticket.prompt.id.clone();
    let c = [("mfa_session", sid.as_str())];
    let r = get(&app, "/portal/approvals", &c).await;
    assert_page(&r, &["pending", "not-bound"]);
    assert!(r.html.contains("Extern bureaublad") && !r.has_id("approve"));

    let answer = |cookies: Vec<(&'static str, String)>, csrf: String, answer: &'static str| {
        let (app, id) = (&app, id.clone());
        async move {
            let cookies: Vec<(&str, &str)> =
                cookies.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(
                app,
                "/portal/approvals/answer",
                &cookies,
                &[("csrf", &csrf), ("id", &id), ("answer", answer)],
            )
            .await
        }
    };
    let session = || vec![("mfa_session", sid.clone())];
    assert_refused(
        &answer(session(), "forged".into(), "approve").await,
        "portal-bad-form",
    );
    assert_refused(
        &answer(session(), csrf.clone(), "maybe").await,
        "approvals-error-answer",
    );
    let r = answer(session(), csrf.clone(), "approve").await;
    assert_page(&r, &["pending", "not-bound"]);
    assert!(ticket.answer.try_recv().is_err(), "still waiting");

    // Notifications on in this browser: it is bound.
    let r = post(
        &app,
        "/portal/push/subscribe",
        &c,
        &[
            ("csrf", &csrf),
            (
                "subscription",
                &subscription("https://fcm.googleapis.com/fcm/send/x"),
            ),
            ("label", "mijn laptop"),
        ],
    )
    .await;
    assert_see_other(&r, "/portal/approvals");
    let bound = r.cookie("mfa_device").expect("device cookie").to_owned();
    assert!(
        devices(&app, "ann")
            .await
            .iter()
            .any(|d| d.kind == DeviceKind::PushSubscription && d.label == "mijn laptop")
    );
    let with_device = || vec![("mfa_session", sid.clone()), ("mfa_device", bound.clone())];
    let cookies = with_device();
    let cookies: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = get(&app, "/portal/approvals", &cookies).await;
    assert_page(&r, &["pending", "approve", "deny", "not-me"]);
    let r = answer(with_device(), csrf.clone(), "approve").await;
    assert_page(&r, &["message", "none"]);
    assert!(
        r.html.contains(&nl_args(
            "approvals-approved",
            &[("client", Arg::from("Extern bureaublad"))]
        )),
        "{}",
        r.html
    );
    assert_eq!(ticket.answer.try_recv().ok(), Some(Answer::Approved));
    // Another request, denied: the held sign-in hears it.
    let mut ticket = app
        .state
        .gateway
        .approvals()
        .start_matched(ann.id, "VPN", "radius", None, None, app.now())
        .await
        .expect("another held sign-in");
    let r = post(
        &app,
        "/portal/approvals/answer",
        &cookies,
        &[
            ("csrf", &csrf),
            ("id", &ticket.prompt.id),
            ("answer", "deny"),
        ],
    )
    .await;
    assert_page(&r, &["message", "none"]);
    assert!(
        r.html.contains(&nl_args(
            "approvals-denied",
            &[("client", Arg::from("VPN"))]
        )),
        "{}",
        r.html
    );
    assert_eq!(ticket.answer.try_recv().ok(), Some(Answer::Denied));
    // With a device for requests, the code page offers to send one.
    let r = password_post(&app, "ann", &[]).await;
    assert_page(&r, &["code-form", "send-request"]);
    assert!(r.says("code-send-request"));
}

/// Adding a factor more than five minutes after the sign-in asks a fresh code first: a
/// Dutch page that posts the same form again with the code; a wrong code is refused
/// (counted); the phone's code goes on, and the proof is fresh for the next action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_factor_later_asks_a_fresh_code_first() {
    let app = app("").await;
    let (seed, sid, csrf) = signed_in(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    app.clock.advance(crate::web::portal::STEP_UP_SECONDS + 1);
    let r = post(
        &app,
        "/portal/devices/token",
        &c,
        &[
            ("csrf", &csrf),
            ("serial", "TK-1"),
            ("label", "sleutelhanger"),
            ("code", "755224"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.html);
    assert!(r.html.contains(r#"<html lang="nl">"#));
    for id in ["step-up-form", "current_code", "step-up"] {
        assert!(r.has_id(id), "{id}: {}", r.html);
    }
    assert!(r.says("portal-step-up-title") && r.says("portal-step-up-intro"));
    assert!(r.html.contains(r#"action="/portal/devices/token""#));
    assert!(
        r.html.contains(r#"name="serial" value="TK-1""#)
            && r.html.contains(r#"name="label" value="sleutelhanger""#),
        "the form's fields go along: {}",
        r.html
    );
    let r = post(
        &app,
        "/portal/devices/totp/new",
        &c,
        &[("csrf", &csrf), ("current_code", wrong(&app.code(&seed)))],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.has_id("step-up-form") && r.has_id("form-error"),
        "{}",
        r.html
    );
    assert_eq!(who(&app, "ann").await.failed_logins, 1, "counted");
    let r = post(
        &app,
        "/portal/recovery",
        &c,
        &[("csrf", &csrf), ("current_code", &app.code(&seed))],
    )
    .await;
    assert_page(&r, &["recovery-codes"]);
    let r = post(&app, "/portal/devices/totp/new", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["confirm-form", "secret"]);
}

// ---- known bugs ----------------------------------------------------------------------------

/// A refusal on a portal page is in the page's language: the same refusal reads differently
/// on a Dutch and on an English page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portals_refusals_are_in_the_persons_language() {
    let app = app("").await;
    let (_, sid, csrf) = signed_in(&app, "ann").await;
    let phone = devices(&app, "ann").await.remove(0);
    let c = [("mfa_session", sid.as_str())];
    let mut texts = Vec::new();
    for language in ["nl", "en"] {
        assert_see_other(
            &post(
                &app,
                "/portal/language",
                &c,
                &[("csrf", &csrf), ("language", language)],
            )
            .await,
            "/portal",
        );
        // The only device cannot be removed; an unknown token cannot be linked.
        let last = post(
            &app,
            &format!("/portal/devices/{}/remove", phone.id),
            &c,
            &[("csrf", &csrf)],
        )
        .await;
        let token = post(
            &app,
            "/portal/devices/token",
            &c,
            &[("csrf", &csrf), ("serial", "NONE"), ("code", "123456")],
        )
        .await;
        assert!(last.html.contains(&format!(r#"<html lang="{language}">"#)));
        texts.push((
            last.error().expect("error").to_owned(),
            token.error().expect("error").to_owned(),
        ));
    }
    assert_ne!(texts[0].0, texts[1].0, "the last-device refusal in Dutch");
    assert_ne!(texts[0].1, texts[1].1, "the unknown-token refusal in Dutch");
}

/// A fresh code given on the step-up page before adding a phone keeps the proof fresh for
/// the next few minutes, as it does before making recovery codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_up_before_adding_a_phone_stays_fresh() {
    let app = app("").await;
    let (seed, sid, csrf) = signed_in(&app, "ann").await;
    let c = [("mfa_session", sid.as_str())];
    app.clock.advance(crate::web::portal::STEP_UP_SECONDS + 1);
    let r = post(
        &app,
        "/portal/devices/totp/new",
        &c,
        &[("csrf", &csrf), ("current_code", &app.code(&seed))],
    )
    .await;
    assert_page(&r, &["confirm-form", "secret"]);
    let r = post(&app, "/portal/recovery", &c, &[("csrf", &csrf)]).await;
    assert_page(&r, &["recovery-codes"]);
}
