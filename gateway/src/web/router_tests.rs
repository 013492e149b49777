//! In-process tests of the web app (`tower::ServiceExt::oneshot`, no sockets): what one
//! host can make the server keep, and that a browser elsewhere still signs in.

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::model::{NewPerson, Role};
use crate::secret::SecretString;
use crate::service::Actor;
use crate::web::session::{PreLogin, Sessions};
use crate::web::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request as HttpRequest, StatusCode};
use tower::ServiceExt as _;

pub(crate) const NOW_PASSWORD: &str = "correct horse battery";

pub(crate) struct App {
    pub router: Router,
    pub state: WebState,
    /// The gateway's clock: a test moves it instead of sleeping (a fresh TOTP step, an
    /// expiry).
    pub clock: Arc<crate::clock::ManualClock>,
    _dir: tempfile::TempDir,
}

/// The web app on a fresh SQLite store (cheap argon2, `extra` config appended).
pub(crate) async fn app(extra: &str) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[store]\nurl = \"sqlite://{}/t.db\"\n[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\n{extra}",
        dir.path().display()
    );
    let config = Config::parse(&text, dir.path()).expect("config");
    let store = crate::store::open(&config.store_url, 4)
        .await
        .expect("store");
    let key = MasterKey::from_bytes(&[3; 32]).expect("key");
    let clock = Arc::new(crate::clock::ManualClock::new(crate::model::now()));
    let gateway = crate::service::Gateway::new(&config, store, key.clone())
        .expect("gateway")
        .with_clock(crate::clock::GatewayClock::new(clock.clone()));
    let issuer = "https://mfa.test";
    gateway.set_public_url(issuer);
    let sessions = Arc::new(Sessions::new(1800));
    let provider = crate::oidc_backend::provider(
        &config,
        issuer,
        gateway.clone(),
        key.clone(),
        sessions.clone(),
    )
    .await
    .expect("provider");
    let state = WebState {
        pre: PreLogin::new(*key.derive("pre-login")),
        gateway,
        provider,
        sessions,
        limits: Arc::new(Limits::new(&config.rate_limit)),
        tls: true,
        https: true,
        trusted_proxies: Arc::new(Vec::new()),
        streams: tls::Slots::new(MAX_STREAMS_PER_SOURCE, MAX_STREAMS),
    };
    App {
        router: router(state.clone(), Router::new()),
        state,
        clock,
        _dir: dir,
    }
}

impl App {
    /// The time by the gateway's clock.
    pub(crate) fn now(&self) -> crate::model::UnixTime {
        crate::clock::Clock::now(self.clock.as_ref())
    }

    /// The phone's code now, by the gateway's clock.
    pub(crate) fn code(&self, seed: &[u8]) -> String {
        crate::otp::totp(seed, self.now(), 30, crate::otp::OtpHash::Sha1, 6)
    }

    /// The next time step: a code not used yet, without waiting for it.
    pub(crate) fn next_step(&self) {
        self.clock.advance(30);
    }
}

/// A request from `peer` with `cookies`, and a form body when given.
pub(crate) fn request(
    method: Method,
    path: &str,
    peer: &str,
    cookies: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> HttpRequest<Body> {
    let mut b = HttpRequest::builder().method(method).uri(path);
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        b = b.header("cookie", c.join("; "));
    }
    let body = match form {
        Some(fields) => {
            b = b.header("content-type", "application/x-www-form-urlencoded");
            let enc = |t: &str| -> String {
                t.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                            char::from(b).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect()
            };
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            Body::from(body.join("&"))
        }
        None => Body::empty(),
    };
    let mut req = b.body(body).expect("request");
    let addr = SocketAddr::new(peer.parse().expect("peer"), 40000);
    req.extensions_mut()
        .insert(ConnectInfo(tls::PeerAddr(addr)));
    req
}

/// Status, Set-Cookie values by name, and the body.
pub(crate) async fn send(
    router: &Router,
    req: HttpRequest<Body>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let res = router.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let cookies = res
        .headers()
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
    (status, cookies, String::from_utf8_lossy(&body).into_owned())
}

/// The value of the hidden `csrf` field in a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

pub(crate) fn cookie<'a>(cookies: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Ann, with a password and a phone; the phone's seed.
async fn ann(app: &App) -> Vec<u8> {
    person(app, "ann", vec![Role::Person]).await
}

/// A person of the organisation "Practice" with a password and a phone; the phone's seed.
pub(crate) async fn person(app: &App, username: &str, roles: Vec<Role>) -> Vec<u8> {
    person_in(app, "Practice", username, roles).await
}

/// A person of `org_name` (made when new) with a password and a phone; the phone's seed.
pub(crate) async fn person_in(
    app: &App,
    org_name: &str,
    username: &str,
    roles: Vec<Role>,
) -> Vec<u8> {
    person_and_id_in(app, org_name, username, roles).await.0
}

/// `person_in`, with the person's id.
pub(crate) async fn person_and_id_in(
    app: &App,
    org_name: &str,
    username: &str,
    roles: Vec<Role>,
) -> (Vec<u8>, crate::model::PersonId) {
    let gw = &app.state.gateway;
    let t = app.now();
    let org = match gw.org(org_name).await {
        Ok(o) => o,
        Err(_) => gw
            .create_org(org_name, &Actor::cli(), t)
            .await
            .expect("org"),
    };
    let p = gw
        .create_person(
            NewPerson {
                username: username.into(),
                full_name: username.into(),
                email: Some(format!("{username}@example.org")),
                employee_number: None,
                org_id: org.id,
                roles,
            },
            Some(SecretString::new(NOW_PASSWORD)),
            &Actor::cli(),
            t,
        )
        .await
        .expect("person");
    let enrolled = gw
        .add_totp(
            username,
            "phone",
            crate::otp::OtpParams::totp_default(),
            &Actor::cli(),
            t,
        )
        .await
        .expect("phone");
    let uri = enrolled.uri.expose().to_owned();
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret");
    let seed = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32");
    (seed, p.id)
}

/// Sign in to the portal from `peer` with password and code: the logged-in session cookie.
pub(crate) async fn sign_in(app: &App, peer: &str, seed: &[u8]) -> String {
    sign_in_as(app, "ann", peer, seed).await
}

pub(crate) async fn sign_in_as(app: &App, username: &str, peer: &str, seed: &[u8]) -> String {
    let (sid, csrf) = password_step(app, username, peer).await;
    let (status, cookies, html) = code_step(app, peer, &sid, &csrf, &app.code(seed)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    cookie(&cookies, "mfa_session")
        .expect("logged-in session")
        .to_owned()
}

/// The portal's password step for `username` from `peer`: the session and its CSRF token.
pub(crate) async fn password_step(app: &App, username: &str, peer: &str) -> (String, String) {
    let (status, cookies, html) = send(
        &app.router,
        request(Method::GET, "/portal/login", peer, &[], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pre = cookie(&cookies, "mfa_pre")
        .expect("pre-login cookie")
        .to_owned();
    let csrf = csrf_of(&html);
    let (status, cookies, html) = send(
        &app.router,
        request(
            Method::POST,
            "/portal/login",
            peer,
            &[("mfa_pre", &pre)],
            Some(&[
                ("csrf", &csrf),
                ("username", username),
                ("password", NOW_PASSWORD),
            ]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let sid = cookie(&cookies, "mfa_session")
        .expect("session after the password")
        .to_owned();
    (sid, csrf_of(&html))
}

/// Sends `code` on the code step of session `sid`: status, cookies, page.
pub(crate) async fn code_step(
    app: &App,
    peer: &str,
    sid: &str,
    csrf: &str,
    code: &str,
) -> (StatusCode, Vec<(String, String)>, String) {
    send(
        &app.router,
        request(
            Method::POST,
            "/login/code",
            peer,
            &[("mfa_session", sid)],
            Some(&[("csrf", csrf), ("code", code)]),
        ),
    )
    .await
}

/// A code's time step works once: the same code again is refused, and the next step (the
/// gateway's clock moved, nobody waits 30 seconds) signs in. The code step has its time
/// limit after the password, also reached by moving the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_step_is_refused_and_the_next_step_signs_in_without_waiting() {
    let app = app("").await;
    let seed = ann(&app).await;
    let peer = "192.0.2.20";
    let (sid, csrf) = password_step(&app, "ann", peer).await;
    let used = app.code(&seed);
    let (status, _, _) = code_step(&app, peer, &sid, &csrf, &used).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let (sid, csrf) = password_step(&app, "ann", peer).await;
    let (status, _, html) = code_step(&app, peer, &sid, &csrf, &used).await;
    assert_eq!(status, StatusCode::OK);
    let nl = |key| crate::i18n::t(crate::i18n::Lang::Nl, key);
    assert!(html.contains(&nl("code-error-wrong")), "{html}");
    app.next_step();
    let (status, _, html) = code_step(&app, peer, &sid, &csrf_of(&html), &app.code(&seed)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");

    // Too long between the password and the code: asked for the password again.
    let (sid, csrf) = password_step(&app, "ann", peer).await;
    app.clock.advance(crate::web::login::CODE_STEP_SECONDS + 1);
    let (_, _, html) = code_step(&app, peer, &sid, &csrf, &app.code(&seed)).await;
    assert!(html.contains(&nl("login-error-too-slow")), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_cannot_fill_the_session_table() {
    let app = app("[rate_limit]\nper_source_per_minute = 0\n").await;
    let seed = ann(&app).await;
    // 100,001 sign-in pages from one address keep nothing on the server.
    for i in 0..100_001u32 {
        let (status, _, _) = send(
            &app.router,
            request(Method::GET, "/portal/login", "192.0.2.66", &[], None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "GET {i}");
    }
    assert_eq!(
        app.state.sessions.len().await,
        0,
        "no session before a right password"
    );
    // A browser from another address still signs in.
    let sid = sign_in(&app, "192.0.2.7", &seed).await;
    let (status, _, html) = send(
        &app.router,
        request(
            Method::GET,
            "/portal",
            "192.0.2.7",
            &[("mfa_session", &sid)],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="nav-devices""#), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_cannot_fill_the_pending_authorizations() {
    let app = app(
        "[rate_limit]\nper_source_per_minute = 0\n\n[[oidc.clients]]\nclient_id = \"rp\"\nname = \"RP\"\nredirect_uris = [\"https://rp.test/cb\"]\n",
    )
    .await;
    let authorize = "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Frp.test%2Fcb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let mut kept = 0u64;
    let mut refused = 0u64;
    let started = std::time::Instant::now();
    for _ in 0..1_500 {
        let (status, _, _) = send(
            &app.router,
            request(Method::GET, authorize, "2001:db8:66:1::7", &[], None),
        )
        .await;
        match status {
            StatusCode::SEE_OTHER | StatusCode::FOUND => kept += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}"),
        }
    }
    // The budget refills one every 0.6 s (1,000 per 10 minutes): a slow machine gets that
    // many more.
    let refilled = started.elapsed().as_millis() as u64 / 600 + 1;
    assert!(
        kept <= 1_000 + refilled,
        "{kept} kept ({refilled} refilled)"
    );
    assert!(refused + refilled >= 500, "{refused} refused");
    // Another address of the same /64 is the same source.
    let (status, _, _) = send(
        &app.router,
        request(Method::GET, authorize, "2001:db8:66:1::8", &[], None),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another network is not affected.
    let (status, _, _) = send(
        &app.router,
        request(Method::GET, authorize, "192.0.2.7", &[], None),
    )
    .await;
    assert!(status.is_redirection(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_on_the_public_listener() {
    let app = app("").await;
    let (status, _, _) = send(
        &app.router,
        request(Method::GET, "/metrics", "192.0.2.1", &[], None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_request_id_is_never_believed() {
    let app = app("").await;
    let mut req = request(Method::GET, "/portal/login", "192.0.2.1", &[], None);
    req.headers_mut()
        .insert("x-request-id", HeaderValue::from_static("forged-id"));
    let res = app.router.clone().oneshot(req).await.expect("response");
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_ne!(id, "forged-id");
    assert_eq!(id.len(), 36, "a UUID of ours: {id}");
}

/// The CSRF token of a logged-in session (from My devices).
pub(crate) async fn portal_csrf(app: &App, peer: &str, sid: &str) -> String {
    let (status, _, html) = send(
        &app.router,
        request(Method::GET, "/portal", peer, &[("mfa_session", sid)], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    csrf_of(&html)
}

/// Make the session's second-factor proof an hour old.
async fn make_stale(app: &App, sid: &str) {
    app.state
        .sessions
        .modify(sid, crate::model::now(), |l| {
            if let crate::web::session::LoginState::LoggedIn { factor_at, .. } = l {
                *factor_at -= 3600;
            }
        })
        .await;
}

pub(crate) fn subscription(endpoint: &str) -> String {
    use base64::Engine as _;
    let ua = crate::webpush::VapidKey::generate().expect("key");
    serde_json::json!({
        "endpoint": endpoint,
        "keys": {
            "p256dh": ua.public_key_b64url(),
            "auth": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 16]),
        },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_endpoints_that_reach_inside_are_refused() {
    let app = app("").await;
    let seed = ann(&app).await;
    let sid = sign_in(&app, "192.0.2.7", &seed).await;
    let csrf = portal_csrf(&app, "192.0.2.7", &sid).await;
    for endpoint in [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://[::1]/x",
        "https://10.0.0.1/x",
        "https://fcm.googleapis.com.evil.test/x",
    ] {
        let (status, _, _) = send(
            &app.router,
            request(
                Method::POST,
                "/portal/push/subscribe",
                "192.0.2.7",
                &[("mfa_session", &sid)],
                Some(&[("csrf", &csrf), ("subscription", &subscription(endpoint))]),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint}");
    }
    let devices = app
        .state
        .gateway
        .store()
        .devices_of(1)
        .await
        .expect("devices");
    assert_eq!(devices.len(), 1, "only the phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_devices_are_capped_per_person() {
    let app = app("[approval]\nmax_push_devices = 2\n").await;
    let seed = ann(&app).await;
    let sid = sign_in(&app, "192.0.2.7", &seed).await;
    let csrf = portal_csrf(&app, "192.0.2.7", &sid).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, _, _) = send(
            &app.router,
            request(
                Method::POST,
                "/portal/push/subscribe",
                "192.0.2.7",
                &[("mfa_session", &sid)],
                Some(&[
                    ("csrf", &csrf),
                    (
                        "subscription",
                        &subscription("https://fcm.googleapis.com/fcm/send/x"),
                    ),
                ]),
            ),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::BAD_REQUEST
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_factor_is_added_without_fresh_proof() {
    let app = app("").await;
    let seed = ann(&app).await;
    let peer = "192.0.2.7";
    let sid = sign_in(&app, peer, &seed).await;
    let csrf = portal_csrf(&app, peer, &sid).await;
    make_stale(&app, &sid).await;
    let sub = subscription("https://fcm.googleapis.com/fcm/send/x");
    let actions: [(&str, Vec<(&str, &str)>); 5] = [
        ("/portal/devices/totp/new", vec![]),
        (
            "/portal/devices/token",
            vec![("serial", "T-1"), ("code", "123456")],
        ),
        ("/portal/devices/key/new", vec![("label", "blue key")]),
        ("/portal/recovery", vec![]),
        (
            "/portal/push/subscribe",
            vec![("subscription", sub.as_str())],
        ),
    ];
    for (i, (path, fields)) in actions.iter().enumerate() {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let (status, _, html) = send(
            &app.router,
            request(
                Method::POST,
                path,
                peer,
                &[("mfa_session", &sid)],
                Some(&form),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains(r#"id="step-up-form""#), "{path}: {html}");
        if i >= 2 {
            continue;
        }
        // A wrong code is refused too (counted toward the lockout: twice here only).
        form.push(("current_code", "000000"));
        let (status, _, _) = send(
            &app.router,
            request(
                Method::POST,
                path,
                peer,
                &[("mfa_session", &sid)],
                Some(&form),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with a wrong code");
    }
    let devices = app
        .state
        .gateway
        .store()
        .devices_of(1)
        .await
        .expect("devices");
    assert_eq!(devices.len(), 1, "nothing was added");
    assert!(
        app.state
            .gateway
            .store()
            .recovery_codes(1)
            .await
            .expect("codes")
            .is_empty()
    );
    // A right code from the phone (the next one: the sign-in used the current one): the
    // recovery codes are made, and the proof is fresh for the next few minutes.
    let code = crate::otp::totp(&seed, app.now() + 30, 30, crate::otp::OtpHash::Sha1, 6);
    let (status, _, html) = send(
        &app.router,
        request(
            Method::POST,
            "/portal/recovery",
            peer,
            &[("mfa_session", &sid)],
            Some(&[("csrf", &csrf), ("current_code", &code)]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        app.state
            .gateway
            .store()
            .recovery_codes(1)
            .await
            .expect("codes")
            .len(),
        10
    );
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            "/portal/devices/totp/new",
            peer,
            &[("mfa_session", &sid)],
            Some(&[("csrf", &csrf)]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "fresh now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_can_be_disabled_from_the_notice_link() {
    let app = app("").await;
    let seed = ann(&app).await;
    let gw = &app.state.gateway;
    let phone = gw.store().devices_of(1).await.expect("devices").remove(0);
    let url = gw.not_me_url(&phone).expect("url");
    let path = url.trim_start_matches("https://mfa.test");
    let sid = sign_in(&app, "192.0.2.7", &seed).await;
    // A forged token: not found.
    let (status, _, _) = send(
        &app.router,
        request(
            Method::GET,
            &format!("/portal/not-me/{}/forged", phone.id),
            "192.0.2.9",
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The GET changes nothing (mail scanners follow links); the confirmed POST disables.
    let (status, cookies, html) = send(
        &app.router,
        request(Method::GET, path, "192.0.2.9", &[], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pre = cookie(&cookies, "mfa_pre").expect("pre").to_owned();
    assert_eq!(
        gw.store()
            .device_by_id(phone.id)
            .await
            .expect("d")
            .expect("d")
            .state,
        crate::model::DeviceState::Active
    );
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            path,
            "192.0.2.9",
            &[("mfa_pre", &pre)],
            Some(&[("csrf", &csrf_of(&html))]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        gw.store()
            .device_by_id(phone.id)
            .await
            .expect("d")
            .expect("d")
            .state,
        crate::model::DeviceState::Disabled
    );
    assert!(
        app.state
            .sessions
            .get(&sid, crate::model::now())
            .await
            .is_none(),
        "sessions ended"
    );
    let events = gw
        .store()
        .events(&crate::store::EventFilter {
            kind: Some("device_disabled".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_cannot_act_on_the_providers_staff() {
    let app = app("").await;
    let admin_seed = person(&app, "olga", vec![Role::Person, Role::OrgAdmin]).await;
    person(&app, "oscar", vec![Role::Person, Role::Operator]).await;
    person(&app, "aud", vec![Role::Person, Role::Auditor]).await;
    let ann_seed = person(&app, "ann", vec![Role::Person]).await;
    let gw = &app.state.gateway;
    let id = |u: &str| {
        let u = u.to_owned();
        async move { gw.person(&u).await.expect("person").id }
    };
    let peer = "192.0.2.5";
    let sid = sign_in_as(&app, "olga", peer, &admin_seed).await;
    let csrf = portal_csrf(&app, peer, &sid).await;
    for target in ["oscar", "aud"] {
        let pid = id(target).await;
        for (path, fields) in [
            (
                format!("/admin/people/{pid}/temp-code"),
                vec![("minutes", "60")],
            ),
            (
                format!("/admin/people/{pid}/token"),
                vec![("serial", "T-1")],
            ),
            (format!("/admin/people/{pid}/block"), vec![]),
            (format!("/admin/people/{pid}/unlock"), vec![]),
        ] {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(fields);
            let (status, _, _) = send(
                &app.router,
                request(
                    Method::POST,
                    &path,
                    peer,
                    &[("mfa_session", &sid)],
                    Some(&form),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    let denied = gw
        .store()
        .events(&crate::store::EventFilter {
            kind: Some("access_denied".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(denied.len(), 8, "each refusal audited");
    // Their own people: block now ends ann's session and every channel refuses her; the
    // block lifted, she signs in again.
    let ann_sid = sign_in(&app, "192.0.2.7", &ann_seed).await;
    let ann_id = id("ann").await;
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            &format!("/admin/people/{ann_id}/block"),
            peer,
            &[("mfa_session", &sid)],
            Some(&[("csrf", &csrf)]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        app.state
            .sessions
            .get(&ann_sid, crate::model::now())
            .await
            .is_none()
    );
    let code = crate::otp::totp(
        &ann_seed,
        crate::model::now(),
        30,
        crate::otp::OtpHash::Sha1,
        6,
    );
    let d = gw
        .login(
            crate::service::cli_attempt(
                "ann",
                crate::engine::Credentials::PasswordAndCode {
                    password: SecretString::new(NOW_PASSWORD),
                    code: SecretString::new(code),
                },
            ),
            crate::model::now(),
        )
        .await
        .expect("login");
    assert_eq!(
        d.verdict,
        crate::engine::Verdict::Reject(crate::engine::Reason::PersonBlocked)
    );
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            &format!("/admin/people/{ann_id}/unblock"),
            peer,
            &[("mfa_session", &sid)],
            Some(&[("csrf", &csrf)]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(gw.person("ann").await.expect("ann").blocked_at.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_logout_is_confirmed_first() {
    let app = app("").await;
    let seed = ann(&app).await;
    let peer = "192.0.2.7";
    let sid = sign_in(&app, peer, &seed).await;
    let (status, _, html) = send(
        &app.router,
        request(
            Method::GET,
            "/oauth2/logout",
            peer,
            &[("mfa_session", &sid)],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="confirm-logout""#), "{html}");
    assert!(
        app.state
            .sessions
            .get(&sid, crate::model::now())
            .await
            .is_some(),
        "a GET without id_token_hint ends nothing"
    );
    // A forged confirmation (no token) ends nothing either.
    let (_, _, html2) = send(
        &app.router,
        request(
            Method::POST,
            "/oauth2/logout",
            peer,
            &[("mfa_session", &sid)],
            Some(&[("confirm", "yes"), ("csrf", "forged")]),
        ),
    )
    .await;
    assert!(html2.contains(r#"id="confirm-logout""#));
    assert!(
        app.state
            .sessions
            .get(&sid, crate::model::now())
            .await
            .is_some()
    );
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            "/oauth2/logout",
            peer,
            &[("mfa_session", &sid)],
            Some(&[("confirm", "yes"), ("csrf", &csrf_of(&html))]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        app.state
            .sessions
            .get(&sid, crate::model::now())
            .await
            .is_none(),
        "confirmed: ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_tls_proxy_cookies_stay_secure_and_hsts_is_sent() {
    let mut app = app("").await;
    app.state.tls = false;
    app.state.https = reached_over_https(false, "https://mfa.example.org");
    assert!(app.state.https);
    assert!(!reached_over_https(false, "http://127.0.0.1:8080"));
    app.router = router(app.state.clone(), Router::new());
    let res = app
        .router
        .clone()
        .oneshot(request(
            Method::GET,
            "/portal/login",
            "192.0.2.1",
            &[],
            None,
        ))
        .await
        .expect("response");
    assert!(
        res.headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_codes_on_one_sign_in_are_capped() {
    let app = app("").await;
    let seed = ann(&app).await;
    let peer = "192.0.2.7";
    let (_, cookies, html) = send(
        &app.router,
        request(Method::GET, "/portal/login", peer, &[], None),
    )
    .await;
    let pre = cookie(&cookies, "mfa_pre").expect("pre").to_owned();
    let (_, cookies, html) = send(
        &app.router,
        request(
            Method::POST,
            "/portal/login",
            peer,
            &[("mfa_pre", &pre)],
            Some(&[
                ("csrf", &csrf_of(&html)),
                ("username", "ann"),
                ("password", NOW_PASSWORD),
            ]),
        ),
    )
    .await;
    let sid = cookie(&cookies, "mfa_session").expect("session").to_owned();
    let csrf = csrf_of(&html);
    let right = crate::otp::totp(&seed, app.now(), 30, crate::otp::OtpHash::Sha1, 6);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let router = app.router.clone();
        let req = request(
            Method::POST,
            "/login/code",
            peer,
            &[("mfa_session", &sid)],
            Some(&[("csrf", &csrf), ("code", wrong)]),
        );
        set.spawn(async move { send(&router, req).await.0 });
    }
    while set.join_next().await.is_some() {}
    let checked = app
        .state
        .gateway
        .store()
        .events(&crate::store::EventFilter {
            reason: Some("bad_code".into()),
            ..Default::default()
        })
        .await
        .expect("events")
        .len();
    assert!(checked <= 3, "{checked} codes checked on one sign-in");
    assert!(
        app.state
            .sessions
            .get(&sid, crate::model::now())
            .await
            .is_none(),
        "the sign-in is over: the password is asked again"
    );
}

/// An HOTP token with the RFC 4226 key (first code 755224) and `serial` in `org`'s stock.
pub(crate) async fn stock_token(app: &App, org: i64, serial: &str) {
    let secret = data_encoding::BASE64.encode(b"12345678901234567890");
    let pskc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>
    <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{secret}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#
    );
    let keys = crate::pskc::parse(&pskc, crate::pskc::PskcKeyMaterial::None).expect("pskc");
    app.state
        .gateway
        .import_tokens(
            &keys,
            Some(org),
            "stock.xml",
            &Actor::cli(),
            app.now(),
            &|| {},
        )
        .await
        .expect("import");
}
