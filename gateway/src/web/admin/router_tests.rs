//! In-process router tests of the administration, tool, import, auditor and API routes,
//! and the access matrix of every route (roles, organisations, CSRF).

use crate::i18n::Lang;
use crate::model::{RequestData, RequestStatus, Role};
use crate::service::Actor;
use crate::store::EventFilter;
use crate::web::router_tests::{
    App, app, person_in, portal_csrf, request, sign_in_as, stock_token,
};
use axum::body::Body;
use axum::http::{Method, Request as HttpRequest, StatusCode, header};
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------------------
// The world: two organisations and the provider's staff, each person signed in from an
// address of their own.
// ---------------------------------------------------------------------------------------

/// The ids of one organisation's things, put into a route's path.
#[derive(Debug, Clone, Copy)]
struct Things {
    org: i64,
    /// A plain person of the organisation.
    person: i64,
    /// That person's phone.
    device: i64,
    /// An open request (order tokens) of the organisation.
    request: i64,
    /// An API token of the organisation.
    token: i64,
}

impl Things {
    /// Ids nothing has.
    const MISSING: Self = Self {
        org: 999_999,
        person: 999_999,
        device: 999_999,
        request: 999_999,
        token: 999_999,
    };

    fn path(&self, template: &str) -> String {
        template
            .replace("{org}", &self.org.to_string())
            .replace("{person}", &self.person.to_string())
            .replace("{device}", &self.device.to_string())
            .replace("{request}", &self.request.to_string())
            .replace("{token}", &self.token.to_string())
            // A remembered browser: none has this id.
            .replace("{browser}", "777")
    }
}

/// Who is who: username, organisation, roles, the address they use.
const PEOPLE: [(&str, &str, &[Role], &str); 7] = [
    ("ann", "Practice A", &[Role::Person], "192.0.2.11"),
    (
        "olga",
        "Practice A",
        &[Role::Person, Role::OrgAdmin],
        "192.0.2.12",
    ),
    (
        "olive",
        "Practice A",
        &[Role::Person, Role::OrgAuditor],
        "192.0.2.13",
    ),
    ("bob", "Practice B", &[Role::Person], "192.0.2.21"),
    (
        "oscar",
        "Provider",
        &[Role::Person, Role::Operator],
        "192.0.2.31",
    ),
    (
        "audrey",
        "Provider",
        &[Role::Person, Role::Auditor],
        "192.0.2.32",
    ),
    ("ahmed", "Practice A", &[Role::Person], "192.0.2.14"),
];

/// A caller without a session.
const ANON: &str = "198.51.100.7";

struct World {
    app: App,
    a: Things,
    b: Things,
    /// The API tokens of A and B as given to the HR system.
    api_a: String,
    api_b: String,
    seeds: Vec<(&'static str, Vec<u8>)>,
}

fn peer_of(username: &str) -> &'static str {
    PEOPLE
        .iter()
        .find(|p| p.0 == username)
        .map(|p| p.3)
        .expect("a person of the world")
}

/// Everyone made, each organisation with an open request and an API token.
async fn world() -> World {
    let app = app("").await;
    let mut seeds = Vec::new();
    for (username, org, roles, _) in PEOPLE {
        seeds.push((
            username,
            person_in(&app, org, username, roles.to_vec()).await,
        ));
    }
    let gw = app.state.gateway.clone();
    let cli = Actor::cli();
    let t = app.now();
    let mut things = Vec::new();
    let mut tokens = Vec::new();
    for (org, username) in [("Practice A", "ann"), ("Practice B", "bob")] {
        let org = gw.org(org).await.expect("org").id;
        let person = gw.person(username).await.expect("person").id;
        let device = gw.store().devices_of(person).await.expect("devices")[0].id;
        let request = gw
            .submit_request(
                &cli,
                org,
                RequestData::OrderTokens {
                    count: 1,
                    address: "Stationsplein 1, Utrecht".into(),
                    contact: "Facilitair".into(),
                },
                t,
            )
            .await
            .expect("request")
            .id;
        let (token, secret) = gw.issue_api_token(&cli, org, "hr", t).await.expect("token");
        tokens.push(secret.expose().to_owned());
        things.push(Things {
            org,
            person,
            device,
            request,
            token: token.id,
        });
    }
    World {
        app,
        a: things[0],
        b: things[1],
        api_a: tokens[0].clone(),
        api_b: tokens[1].clone(),
        seeds,
    }
}

impl World {
    /// `username` signed in: the session and its CSRF token.
    async fn sign_in(&self, username: &str) -> (String, String) {
        let seed = &self.seeds.iter().find(|s| s.0 == username).expect("seed").1;
        let peer = peer_of(username);
        let sid = sign_in_as(&self.app, username, peer, seed).await;
        let csrf = portal_csrf(&self.app, peer, &sid).await;
        (sid, csrf)
    }
}

// ---------------------------------------------------------------------------------------
// Requests and answers.
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: Option<String>,
    content_type: String,
    disposition: String,
    body: String,
}

/// The answer to `req`; a live event stream is not read.
async fn answer(app: &App, req: HttpRequest<Body>) -> Answer {
    let res = app.router.clone().oneshot(req).await.expect("response");
    let head = |name| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let status = res.status();
    let location = Some(head(header::LOCATION)).filter(|l| !l.is_empty());
    let content_type = head(header::CONTENT_TYPE);
    let disposition = head(header::CONTENT_DISPOSITION);
    let body = if content_type.starts_with("text/event-stream") {
        String::new()
    } else {
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Answer {
        status,
        location,
        content_type,
        disposition,
        body,
    }
}

/// `method path` from `peer`, with the session `sid` and a form when given.
async fn fetch(
    app: &App,
    method: Method,
    path: &str,
    peer: &str,
    sid: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> Answer {
    let cookies: Vec<(&str, &str)> = sid.map(|s| vec![("mfa_session", s)]).unwrap_or_default();
    answer(app, request(method, path, peer, &cookies, form)).await
}

async fn get(app: &App, path: &str, peer: &str, sid: &str) -> Answer {
    fetch(app, Method::GET, path, peer, Some(sid), None).await
}

async fn post(app: &App, path: &str, peer: &str, sid: &str, form: &[(&str, &str)]) -> Answer {
    fetch(app, Method::POST, path, peer, Some(sid), Some(form)).await
}

/// An API call with `bearer` (the whole Authorization header's value) and a JSON body.
async fn api(app: &App, method: Method, path: &str, auth: Option<&str>, json: &str) -> Answer {
    let mut req = request(method, path, ANON, &[], None);
    if let Some(auth) = auth {
        req.headers_mut()
            .insert(header::AUTHORIZATION, auth.parse().expect("header value"));
    }
    if !json.is_empty() {
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        *req.body_mut() = Body::from(json.to_owned());
    }
    answer(app, req).await
}

/// Text of the catalogue in Dutch (the test app's language), as askama escapes it.
fn nl(key: &str) -> String {
    escape(&crate::i18n::t(Lang::Nl, key))
}

fn escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn events_of(app: &App, kind: &str) -> Vec<crate::audit::StoredEvent> {
    app.state
        .gateway
        .store()
        .events(&EventFilter {
            kind: Some(kind.into()),
            ..EventFilter::default()
        })
        .await
        .expect("events")
}

async fn denied(app: &App) -> usize {
    events_of(app, "access_denied").await.len()
}

// ---------------------------------------------------------------------------------------
// Every route of the web app (the `.route(` calls of gateway/src/web/*.rs), one line each.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Get,
    Post,
}

impl M {
    fn method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
        }
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone: the status a caller without a session (or a forged form) gets.
    Public(u16),
    /// A signed-in person (the portal).
    Portal,
    /// An org admin or the operator: what an org admin of A gets for A's thing (`own`)
    /// and for B's (`other`).
    Admin { own: u16, other: u16 },
    /// An auditor or an org auditor (search, exports).
    Audit,
    /// An auditor, an org auditor or the operator (a person's timeline, subject access).
    AuditOrOperator,
    /// An organisation's API token.
    Api,
}

#[derive(Debug)]
struct Route {
    m: M,
    path: &'static str,
    access: Access,
    /// The form's fields (besides the CSRF token).
    form: &'static [(&'static str, &'static str)],
}

const fn route(
    m: M,
    path: &'static str,
    access: Access,
    form: &'static [(&'static str, &'static str)],
) -> Route {
    Route {
        m,
        path,
        access,
        form,
    }
}

use Access::{Admin, Api, Audit, AuditOrOperator, Portal, Public};
use M::{Get, Post};

const fn admin(own: u16, other: u16) -> Access {
    Admin { own, other }
}

/// The access matrix. Admin routes: `own` and `other` are what an org admin of A gets for
/// A's and for B's thing (404 for B's: the same page as for an id that does not exist;
/// 403 for what only the operator may do, whichever organisation).
const ROUTES: &[Route] = &[
    // mod.rs, portal/approvals.rs: static files.
    route(Get, "/static/style.css", Public(200), &[]),
    route(Get, "/static/webauthn.js", Public(200), &[]),
    route(Get, "/static/push.js", Public(200), &[]),
    route(Get, "/static/approvals.js", Public(200), &[]),
    route(Get, "/static/icon.svg", Public(200), &[]),
    route(Get, "/sw.js", Public(200), &[]),
    route(Get, "/manifest.webmanifest", Public(200), &[]),
    // login/mod.rs: the OpenID Connect sign-in (no pending authorization here).
    route(Get, "/login", Public(400), &[]),
    route(Post, "/login", Public(400), &[("username", "ann")]),
    route(Post, "/login/code", Public(400), &[("code", "123456")]),
    route(Post, "/login/code/again", Public(400), &[]),
    route(Post, "/login/key", Public(400), &[]),
    route(Post, "/login/key/finish", Public(400), &[]),
    route(Post, "/login/cancel", Public(400), &[]),
    route(Post, "/login/approve", Public(400), &[]),
    route(Get, "/login/approve/wait", Public(400), &[]),
    // login/reset.rs, login/activate.rs, login/approve.rs: links from mails (a forged one here).
    route(Get, "/reset", Public(200), &[]),
    route(Post, "/reset", Public(400), &[("username", "ann")]),
    route(Get, "/reset/forged", Public(404), &[]),
    // A form's pre-login token is checked before the link.
    route(
        Post,
        "/reset/forged/code",
        Public(400),
        &[("code", "123456")],
    ),
    route(Post, "/reset/forged/password", Public(400), &[]),
    route(Get, "/activate/forged", Public(404), &[]),
    route(Post, "/activate/forged", Public(400), &[]),
    route(Get, "/approve", Public(200), &[]),
    route(Post, "/approve", Public(200), &[]),
    // portal/mod.rs
    route(Get, "/portal/login", Public(200), &[]),
    // No pre-login cookie (a first visit, or it expired): the form again, what was typed
    // kept (`a_forged_sign_in_form_is_refused`: with the cookie and a forged token, 400).
    route(Post, "/portal/login", Public(200), &[("username", "ann")]),
    route(Get, "/portal/not-me/{device}/forged", Public(404), &[]),
    route(Post, "/portal/not-me/{device}/forged", Public(400), &[]),
    route(Get, "/portal", Portal, &[]),
    route(Get, "/portal/logins", Portal, &[]),
    route(Post, "/portal/logout", Portal, &[]),
    route(Post, "/portal/devices/totp/new", Portal, &[]),
    route(
        Post,
        "/portal/devices/totp/confirm",
        Portal,
        &[("code", "123456")],
    ),
    route(
        Post,
        "/portal/devices/token",
        Portal,
        &[("serial", "T-1"), ("code", "123456")],
    ),
    route(Post, "/portal/devices/key/new", Portal, &[("label", "key")]),
    route(Post, "/portal/devices/key/confirm", Portal, &[]),
    route(Post, "/portal/devices/{device}/remove/key", Portal, &[]),
    route(
        Post,
        "/portal/devices/{device}/remove/key/finish",
        Portal,
        &[],
    ),
    route(
        Post,
        "/portal/devices/{device}/rename",
        Portal,
        &[("label", "work phone")],
    ),
    route(Post, "/portal/devices/{device}/remove", Portal, &[]),
    route(Post, "/portal/recovery", Portal, &[]),
    route(Post, "/portal/language", Portal, &[("lang", "en")]),
    // portal/approvals.rs
    route(Get, "/portal/approvals", Portal, &[]),
    route(Post, "/portal/approvals/answer", Portal, &[]),
    route(Get, "/portal/approvals/events", Portal, &[]),
    route(Post, "/portal/push/subscribe", Portal, &[]),
    // login/remember.rs, portal/sso_sessions.rs: the person's own browsers.
    route(Post, "/portal/browsers/{browser}/forget", Portal, &[]),
    route(Post, "/portal/browsers/forget", Portal, &[]),
    route(Post, "/portal/sso/end", Portal, &[("sid", "x")]),
    route(Post, "/portal/sso/end-all", Portal, &[]),
    // admin/mod.rs
    route(Get, "/admin", admin(303, 303), &[]),
    route(Get, "/admin/requests", admin(200, 200), &[]),
    route(Get, "/admin/stock", admin(403, 403), &[]),
    route(Get, "/admin/orgs/{org}", admin(200, 404), &[]),
    route(
        Get,
        "/admin/orgs/{org}/requests/new/order_tokens",
        admin(200, 404),
        &[],
    ),
    route(
        Post,
        "/admin/orgs/{org}/requests",
        admin(303, 404),
        &[
            ("type", "order_tokens"),
            ("count", "2"),
            ("address", "Stationsplein 1, Utrecht"),
            ("contact", "Facilitair"),
        ],
    ),
    route(
        Post,
        "/admin/orgs/{org}/api-tokens",
        admin(403, 403),
        &[("label", "hr")],
    ),
    route(
        Post,
        "/admin/orgs/{org}/switch-over",
        admin(403, 403),
        &[("date", "2099-01-01")],
    ),
    route(
        Post,
        "/admin/api-tokens/{token}/revoke",
        admin(403, 403),
        &[],
    ),
    route(Get, "/admin/people/{person}", admin(200, 404), &[]),
    route(
        Post,
        "/admin/people/{person}/temp-code",
        admin(200, 404),
        &[("minutes", "60")],
    ),
    route(
        Post,
        "/admin/people/{person}/token",
        admin(422, 404),
        &[("serial", "NO-SUCH")],
    ),
    route(
        Post,
        "/admin/people/{person}/activation",
        admin(422, 404),
        &[],
    ),
    route(Post, "/admin/people/{person}/unlock", admin(303, 404), &[]),
    route(Post, "/admin/people/{person}/block", admin(303, 404), &[]),
    route(Post, "/admin/people/{person}/unblock", admin(303, 404), &[]),
    route(
        Post,
        "/admin/people/{person}/devices/{device}/resync",
        admin(422, 404),
        &[("first", "123456"), ("second", "654321")],
    ),
    route(Get, "/admin/requests/{request}", admin(200, 404), &[]),
    route(Post, "/admin/requests/{request}/take", admin(422, 404), &[]),
    route(Post, "/admin/requests/{request}/done", admin(422, 404), &[]),
    route(
        Post,
        "/admin/requests/{request}/reject",
        admin(422, 404),
        &[("reason", "not needed")],
    ),
    route(
        Post,
        "/admin/requests/{request}/reservation",
        admin(422, 404),
        &[("count", "3")],
    ),
    // admin/import.rs
    route(Get, "/admin/orgs/{org}/import", admin(200, 404), &[]),
    route(
        Post,
        "/admin/orgs/{org}/import",
        admin(200, 404),
        &[
            ("csv", "name,email\nZed,zed@example.org\n"),
            ("action", "check"),
        ],
    ),
    // login/remember.rs, portal/sso_sessions.rs: a person's browsers, by an admin.
    route(
        Post,
        "/admin/people/{person}/browsers/{browser}/forget",
        admin(303, 404),
        &[],
    ),
    route(
        Post,
        "/admin/people/{person}/browsers/forget",
        admin(303, 404),
        &[],
    ),
    route(
        Post,
        "/admin/people/{person}/sso/end",
        admin(303, 404),
        &[("sid", "x")],
    ),
    route(
        Post,
        "/admin/people/{person}/sso/end-all",
        admin(303, 404),
        &[],
    ),
    // audit/mod.rs
    route(Get, "/audit", Audit, &[]),
    route(Get, "/audit/export.csv", Audit, &[]),
    route(Get, "/audit/export.jsonl", Audit, &[]),
    route(Get, "/audit/person/{person}", AuditOrOperator, &[]),
    route(Get, "/audit/subject/{person}", AuditOrOperator, &[]),
    route(Get, "/audit/subject/{person}/json", AuditOrOperator, &[]),
    // api/mod.rs
    route(Get, "/api/openapi.json", Public(200), &[]),
    route(Get, "/api/v1/requests", Api, &[]),
    route(Post, "/api/v1/requests", Api, &[]),
    route(Get, "/api/v1/requests/{request}", Api, &[]),
];

/// The import form is read only for a signed-in admin: without a session, its POST gets
/// the page's answer (the sign-in page), not the 400 of other actions
/// (`admin_tools_tests::the_import_body_is_not_read_before_the_sign_in_check`).
const IMPORT: &str = "/admin/orgs/{org}/import";

impl Route {
    /// The form with `csrf` (when given) for a POST; None for a GET.
    fn form_with<'a>(&'a self, csrf: Option<&'a str>) -> Option<Vec<(&'a str, &'a str)>> {
        (self.m == Post).then(|| {
            let mut form: Vec<(&str, &str)> = csrf.map(|c| ("csrf", c)).into_iter().collect();
            form.extend(self.form.iter().copied());
            form
        })
    }

    fn is_role_page(&self) -> bool {
        matches!(self.access, Admin { .. } | Audit | AuditOrOperator)
    }
}

/// Every `.route(` call of the web modules (gateway/src/web/ and its area folders): its
/// method and path pattern, read from the sources, so that a route added without a line in
/// `ROUTES` fails `the_matrix_lists_every_route_of_the_web_app`.
fn declared_routes() -> Vec<(M, String)> {
    let root = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web"));
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/web") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs")
                // Not the tests (this file names `.route(` in its words).
                && path
                    .file_name()
                    .is_some_and(|n| !n.to_string_lossy().contains("tests"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        for (at, _) in text.match_indices(".route(") {
            // The call's arguments: up to its closing parenthesis (none inside strings).
            let args = &text[at + ".route(".len()..];
            let (mut depth, mut quoted, mut end) = (1, false, args.len());
            for (i, c) in args.char_indices() {
                match c {
                    '"' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &args[..end];
            let path = args.split('"').nth(1).expect("a path").to_owned();
            let handler = &args[args.find(',').expect("a handler")..];
            let calls = |name: &str| {
                handler.match_indices(&format!("{name}(")).any(|(i, _)| {
                    i == 0 || matches!(handler.as_bytes()[i - 1], b' ' | b'\n' | b'.' | b',')
                })
            };
            for (m, name) in [(Get, "get"), (Post, "post")] {
                if calls(name) {
                    out.push((m, path.clone()));
                }
            }
        }
    }
    out
}

/// Does the matrix's `path` stand for the declared `pattern` (`{...}`: any segment)?
fn stands_for(path: &str, pattern: &str) -> bool {
    let (p, q): (Vec<_>, Vec<_>) = (path.split('/').collect(), pattern.split('/').collect());
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| a == b || (b.starts_with('{') && b.ends_with('}')))
}

#[test]
fn the_matrix_lists_every_route_of_the_web_app() {
    let declared = declared_routes();
    assert!(declared.len() > 80, "{declared:?}");
    let missing: Vec<_> = declared
        .iter()
        .filter(|(m, pattern)| {
            ROUTES
                .iter()
                .filter(|r| r.m == *m && stands_for(r.path, pattern))
                .count()
                != 1
        })
        .collect();
    assert!(missing.is_empty(), "not in ROUTES once: {missing:?}");
    let stale: Vec<_> = ROUTES
        .iter()
        .filter(|r| {
            !declared
                .iter()
                .any(|(m, pattern)| r.m == *m && stands_for(r.path, pattern))
        })
        .collect();
    assert!(stale.is_empty(), "in ROUTES, not in the web app: {stale:?}");
    assert_eq!(ROUTES.len(), declared.len());
}

/// What a caller got that they should not have: one line per route.
#[derive(Default)]
struct Wrong(Vec<String>);

impl Wrong {
    fn status(&mut self, r: &Route, path: &str, got: &Answer, want: u16) {
        if got.status.as_u16() != want {
            self.0.push(format!(
                "{:?} {path}: {} (want {want})",
                r.m,
                got.status.as_u16()
            ));
        }
    }

    fn say(&mut self, r: &Route, path: &str, what: String) {
        self.0.push(format!("{:?} {path}: {what}", r.m));
    }

    fn assert_none(&self, who: &str) {
        assert!(
            self.0.is_empty(),
            "{who}: {} routes wrong:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Sends route `r` (ids of `things`) as the signed-in `who` (or nobody), with `csrf`.
async fn call(
    w: &World,
    r: &Route,
    things: &Things,
    who: Option<(&str, &str)>,
    csrf: Option<&str>,
) -> (String, Answer) {
    let path = things.path(r.path);
    let (peer, sid) = match who {
        Some((username, sid)) => (peer_of(username), Some(sid)),
        None => (ANON, None),
    };
    let form = r.form_with(csrf);
    let got = fetch(&w.app, r.m.method(), &path, peer, sid, form.as_deref()).await;
    (path, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_pages_go_to_the_sign_in_and_actions_are_refused() {
    let w = world().await;
    let mut wrong = Wrong::default();
    for r in ROUTES {
        let (path, got) = call(&w, r, &w.a, None, Some("forged")).await;
        let want = match r.access {
            Public(status) => status,
            Api => 401,
            _ if r.m == Get || r.path == IMPORT => 303,
            _ => 400,
        };
        wrong.status(r, &path, &got, want);
        if want == 303 && got.location.as_deref() != Some("/portal/login") {
            wrong.say(r, &path, format!("to {:?}", got.location));
        }
    }
    wrong.assert_none("without a session");
    assert_eq!(denied(&w.app).await, 0, "nobody to audit");
}

/// Runs every route of `access` kinds as `username` (ids of organisation A) and checks
/// each answer with `want`: a status, and for 403 one `access_denied` event.
async fn as_signed_in(
    w: &World,
    (username, sid, csrf): (&str, &str, &str),
    want: impl Fn(&Route) -> Option<u16>,
) -> Wrong {
    let mut wrong = Wrong::default();
    for r in ROUTES {
        let Some(want) = want(r) else { continue };
        let before = denied(&w.app).await;
        let (path, got) = call(w, r, &w.a, Some((username, sid)), Some(csrf)).await;
        wrong.status(r, &path, &got, want);
        let audited = denied(&w.app).await - before;
        if want == 403 && audited != 1 {
            wrong.say(r, &path, format!("access_denied audited {audited} times"));
        }
        if want == 403 && !got.body.contains(r#"<html lang="nl">"#) {
            wrong.say(r, &path, "the refusal is not in Dutch".into());
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_person_gets_403_on_every_admin_and_audit_route_audited_once() {
    let w = world().await;
    let (sid, csrf) = w.sign_in("ann").await;
    let wrong = as_signed_in(&w, ("ann", &sid, &csrf), |r| match r.access {
        Admin { .. } | Audit | AuditOrOperator => Some(403),
        Portal if r.m == Get => Some(200),
        Api => Some(401),
        _ => None,
    })
    .await;
    wrong.assert_none("ann");
    let refused = ROUTES.iter().filter(|r| r.is_role_page()).count();
    let events = events_of(&w.app, "access_denied").await;
    assert_eq!(events.len(), refused);
    let ann = w.a.person;
    assert!(
        events
            .iter()
            .all(|e| e.event.actor == format!("person:{ann}")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_may_use_every_admin_route_and_the_person_pages_of_the_audit() {
    let w = world().await;
    let (sid, csrf) = w.sign_in("oscar").await;
    let wrong = as_signed_in(&w, ("oscar", &sid, &csrf), |r| match r.access {
        // Every admin page shows; an action is done (303, a page) or refused on its
        // form (422), never forbidden.
        Admin { .. } if r.m == Get => Some(200),
        Admin { .. } => None,
        Audit => Some(403),
        AuditOrOperator => Some(200),
        Portal if r.m == Get => Some(200),
        _ => None,
    })
    .await;
    wrong.assert_none("oscar");
    let mut wrong = Wrong::default();
    for r in ROUTES
        .iter()
        .filter(|r| matches!(r.access, Admin { .. }) && r.m == Post)
    {
        let (path, got) = call(&w, r, &w.a, Some(("oscar", &sid)), Some(&csrf)).await;
        if !matches!(got.status.as_u16(), 200 | 303 | 422) {
            wrong.say(r, &path, format!("{} for the operator", got.status));
        }
    }
    wrong.assert_none("oscar's actions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_and_an_org_auditor_read_the_audit_and_nothing_of_the_admin() {
    let w = world().await;
    let mut olive = String::new();
    for who in ["audrey", "olive"] {
        let (sid, csrf) = w.sign_in(who).await;
        let wrong = as_signed_in(&w, (who, &sid, &csrf), |r| match r.access {
            Admin { .. } => Some(403),
            Audit | AuditOrOperator => Some(200),
            Portal if r.m == Get => Some(200),
            _ => None,
        })
        .await;
        wrong.assert_none(who);
        olive = sid;
    }
    // The org auditor of A asking for B's person: the 404 of one that does not exist.
    let sid = olive;
    let mut wrong = Wrong::default();
    for r in ROUTES.iter().filter(|r| r.access == AuditOrOperator) {
        let (path, other) = call(&w, r, &w.b, Some(("olive", &sid)), None).await;
        let (_, missing) = call(&w, r, &Things::MISSING, Some(("olive", &sid)), None).await;
        wrong.status(r, &path, &other, 404);
        if other.body != missing.body {
            wrong.say(
                r,
                &path,
                "not the page of a person that does not exist".into(),
            );
        }
    }
    wrong.assert_none("olive on B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_gets_404_for_anything_of_another_organisation() {
    let w = world().await;
    let (sid, csrf) = w.sign_in("olga").await;
    let who = Some(("olga", sid.as_str()));
    let mut wrong = Wrong::default();
    for r in ROUTES {
        let (own, other) = match r.access {
            Admin { own, other } => (own, other),
            Audit | AuditOrOperator => (403, 403),
            _ => continue,
        };
        let (path, got) = call(&w, r, &w.a, who, Some(&csrf)).await;
        wrong.status(r, &path, &got, own);
        let before = denied(&w.app).await;
        let (path, got) = call(&w, r, &w.b, who, Some(&csrf)).await;
        wrong.status(r, &path, &got, other);
        if matches!(other, 403 | 404) && denied(&w.app).await == before {
            wrong.say(r, &path, "the refusal is not audited".into());
        }
        if other == 404 {
            let (_, missing) = call(&w, r, &Things::MISSING, who, Some(&csrf)).await;
            if (missing.status, &missing.body) != (got.status, &got.body) {
                wrong.say(
                    r,
                    &path,
                    format!(
                        "not the answer for an id that does not exist ({}): {}",
                        missing.status, got.body
                    ),
                );
            }
        }
    }
    wrong.assert_none("olga");
    // Nothing of B changed.
    let gw = &w.app.state.gateway;
    let b_request = gw
        .store()
        .request_by_id(w.b.request)
        .await
        .expect("read")
        .expect("B's request");
    assert_eq!(b_request.status, RequestStatus::Submitted);
    let bob = gw.person("bob").await.expect("bob");
    assert!(bob.blocked_at.is_none());
    let b_tokens = gw.store().api_tokens(Some(w.b.org)).await.expect("tokens");
    assert!(b_tokens.iter().all(|t| t.revoked_at.is_none()));
    assert_eq!(gw.switch_over(w.b.org).await.expect("switch-over"), None);
    let b_requests = gw.store().requests(Some(w.b.org), false).await.expect("B");
    assert_eq!(b_requests.len(), 1, "no request filed for B");
}

/// What a forged form could change, as text.
async fn snapshot(w: &World) -> String {
    let gw = &w.app.state.gateway;
    let store = gw.store();
    let mut people = Vec::new();
    for (username, ..) in PEOPLE {
        let p = gw.person(username).await.expect("person");
        let devices = store.devices_of(p.id).await.expect("devices");
        let recovery = store.recovery_codes(p.id).await.expect("codes").len();
        people.push(format!("{p:?} {devices:?} {recovery}"));
    }
    format!(
        "{} events\n{:?}\n{:?}\n{:?} {:?}\n{} sessions\n{}",
        store
            .count_events(&EventFilter::default())
            .await
            .expect("count"),
        store.requests(None, false).await.expect("requests"),
        store.api_tokens(None).await.expect("tokens"),
        gw.switch_over(w.a.org).await.expect("a"),
        gw.switch_over(w.b.org).await.expect("b"),
        w.app.state.sessions.len().await,
        people.join("\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let w = world().await;
    // The operator may do every action: only the token stands in the way.
    let (sid, _) = w.sign_in("oscar").await;
    let before = snapshot(&w).await;
    let mut wrong = Wrong::default();
    let actions = ROUTES
        .iter()
        .filter(|r| r.m == Post && matches!(r.access, Portal | Admin { .. }));
    for r in actions {
        for csrf in [None, Some("forged"), Some("")] {
            let (path, got) = call(&w, r, &w.a, Some(("oscar", &sid)), csrf).await;
            wrong.status(r, &path, &got, 400);
        }
    }
    wrong.assert_none("forged forms");
    assert_eq!(snapshot(&w).await, before, "nothing changed");
    // The session is still there.
    let got = get(&w.app, "/admin", peer_of("oscar"), &sid).await;
    assert_eq!(got.status, StatusCode::OK);
}

/// The sign-in form has no session yet: its token is the pre-login cookie's. A forged one
/// is refused, and the right password makes no session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_sign_in_form_is_refused() {
    let w = world().await;
    let app = &w.app;
    let got = fetch(app, Method::GET, "/portal/login", ANON, None, None).await;
    assert_eq!(got.status, StatusCode::OK);
    let res = app
        .router
        .clone()
        .oneshot(request(Method::GET, "/portal/login", ANON, &[], None))
        .await
        .expect("response");
    let pre = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("mfa_pre="))
        .and_then(|v| v.split(';').next())
        .expect("pre-login cookie")
        .to_owned();
    for csrf in [None, Some("forged")] {
        let mut form = vec![
            ("username", "ann"),
            ("password", crate::web::router_tests::NOW_PASSWORD),
        ];
        form.extend(csrf.map(|c| ("csrf", c)));
        let req = request(
            Method::POST,
            "/portal/login",
            ANON,
            &[("mfa_pre", &pre)],
            Some(&form),
        );
        let res = app.router.clone().oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{csrf:?}");
        assert!(
            !res.headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.starts_with("mfa_session="))),
            "no session"
        );
    }
    assert_eq!(app.state.sessions.len().await, 0);
}

// ---------------------------------------------------------------------------------------
// The JSON API.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_a_valid_token_only_and_only_about_its_organisation() {
    let w = world().await;
    let app = &w.app;
    let a = format!("Bearer {}", w.api_a);
    let b_id = w.api_b.split('.').next().expect("id");
    let order = r#"{"type":"order_tokens","count":4,"address":"Stationsplein 1","contact":"HR"}"#;
    let paths = [
        (Method::GET, "/api/v1/requests".to_owned(), ""),
        (Method::POST, "/api/v1/requests".to_owned(), order),
        (Method::GET, format!("/api/v1/requests/{}", w.a.request), ""),
    ];
    // No, a malformed, an unknown, a forged, another scheme's token: 401 alike.
    let forged = format!("Bearer {b_id}.forged");
    let basic = format!("Basic {}", w.api_a);
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer nonsense"),
        Some("Bearer 424242.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Some(forged.as_str()),
        Some(basic.as_str()),
    ] {
        for (method, path, json) in &paths {
            let got = api(app, method.clone(), path, auth, json).await;
            assert_eq!(
                got.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            assert!(got.body.contains("\"error\""), "{}", got.body);
        }
    }
    let requests_of_a = || async {
        app.state
            .gateway
            .store()
            .requests(Some(w.a.org), false)
            .await
            .expect("requests")
            .len()
    };
    assert_eq!(requests_of_a().await, 1, "nothing filed without a token");

    // A's token: A's requests only.
    let got = api(app, Method::GET, "/api/v1/requests", Some(&a), "").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let list: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    let ids: Vec<i64> = list["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [w.a.request]);
    let got = api(
        app,
        Method::GET,
        &format!("/api/v1/requests/{}", w.a.request),
        Some(&a),
        "",
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let shown: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(shown["data"]["type"], "order_tokens", "{shown}");
    assert!(shown["history"].as_array().is_some_and(|h| !h.is_empty()));
    // B's request: the 404 of one that does not exist.
    let other = api(
        app,
        Method::GET,
        &format!("/api/v1/requests/{}", w.b.request),
        Some(&a),
        "",
    )
    .await;
    let missing = api(app, Method::GET, "/api/v1/requests/999999", Some(&a), "").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!((other.status, other.body), (missing.status, missing.body));

    // Filing: 201, in A; a body that is no request: 422, nothing filed.
    let got = api(app, Method::POST, "/api/v1/requests", Some(&a), order).await;
    assert_eq!(got.status, StatusCode::CREATED, "{}", got.body);
    let filed: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(filed["org_id"], w.a.org);
    assert_eq!(requests_of_a().await, 2);
    for bad in [
        "{",
        r#"{"type":"order_tokens"}"#,
        r#"{"type":"reserve_tokens","count":0}"#,
    ] {
        let got = api(app, Method::POST, "/api/v1/requests", Some(&a), bad).await;
        assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(requests_of_a().await, 2);

    // Revoked: 401 from then on.
    let id: i64 = w.api_a.split('.').next().expect("id").parse().expect("id");
    app.state
        .gateway
        .revoke_api_token(&Actor::cli(), id, app.now())
        .await
        .expect("revoke");
    let got = api(app, Method::GET, "/api/v1/requests", Some(&a), "").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);

    // The OpenAPI document is public.
    let got = api(app, Method::GET, "/api/openapi.json", None, "").await;
    assert_eq!(got.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&got.body).expect("json");
    assert!(doc["paths"]["/api/v1/requests"].is_object());
}

// ---------------------------------------------------------------------------------------
// The administration pages and forms (admin/mod.rs, admin/tools.rs, admin/import.rs).
// ---------------------------------------------------------------------------------------

/// Today by the gateway's clock, as a form wants it (YYYY-MM-DD).
fn today(app: &App) -> String {
    crate::audit::format_time(app.now())[..10].to_owned()
}

/// The request id a form's redirect names.
fn request_id(got: &Answer) -> i64 {
    got.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/admin/requests/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to a request: {got:?}"))
}

async fn request_of(app: &App, id: i64) -> crate::model::LifecycleRequest {
    app.state
        .gateway
        .store()
        .request_by_id(id)
        .await
        .expect("read")
        .expect("request")
}

async fn people_of(app: &App, org: i64) -> Vec<crate::model::Person> {
    app.state
        .gateway
        .admin_people(&Actor::cli(), org, app.now())
        .await
        .expect("people")
}

fn assert_has(got: &Answer, path: &str, wanted: &[String]) {
    assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.body);
    assert!(
        got.body.contains(r#"<html lang="nl">"#),
        "{path}: {}",
        got.body
    );
    for w in wanted {
        assert!(got.body.contains(w.as_str()), "{path}: {w} in {}", got.body);
    }
}

fn id(name: &str) -> String {
    format!(r#"id="{name}""#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administration_pages_show_in_dutch_with_what_the_viewer_may_use() {
    let w = world().await;
    let app = &w.app;
    let (a, b) = (w.a, w.b);
    let (oscar, _) = w.sign_in("oscar").await;
    let peer = peer_of("oscar");
    let pages = [
        (
            "/admin".to_owned(),
            vec![
                id("orgs"),
                id(&format!("org-{}", a.org)),
                id(&format!("org-{}", b.org)),
                id(&format!("request-{}", a.request)),
                id(&format!("request-{}", b.request)),
                nl("admin-title"),
            ],
        ),
        (
            "/admin/requests".to_owned(),
            vec![
                id("open"),
                id("closed"),
                id(&format!("request-{}", b.request)),
                nl("admin-queue-title"),
            ],
        ),
        (
            "/admin/stock".to_owned(),
            vec![id("stock"), nl("admin-stock-heading")],
        ),
        (
            format!("/admin/orgs/{}", a.org),
            vec![
                id("org-name"),
                id(&format!("person-{}", a.person)),
                id("import-people"),
                id("new-order_tokens"),
                id("api-tokens"),
                id("switch-over"),
                id("new-api-token"),
                nl("admin-org-people"),
            ],
        ),
        (
            format!("/admin/people/{}", a.person),
            vec![
                id("person-name"),
                id(&format!("device-{}", a.device)),
                id("assign-token"),
                id("temp-code"),
                id("unlock"),
                id("block"),
                id("new-activation"),
                id("lockout"),
                id("subject-access"),
            ],
        ),
        (
            format!("/admin/requests/{}", a.request),
            vec![
                id("request-data"),
                id("history"),
                id("take"),
                id("done"),
                id("reject"),
            ],
        ),
        (
            format!("/admin/orgs/{}/import", a.org),
            vec![id("csv"), id("check"), id("import-hint")],
        ),
    ];
    for (path, wanted) in &pages {
        assert_has(&get(app, path, peer, &oscar).await, path, wanted);
    }
    for kind in [
        "new_employee",
        "change_account",
        "remove_account",
        "order_tokens",
        "reserve_tokens",
    ] {
        let path = format!("/admin/orgs/{}/requests/new/{kind}", a.org);
        let wanted = [
            id("request-form"),
            format!(r#"name="type" value="{kind}""#),
            id("submit-request"),
        ];
        assert_has(&get(app, &path, peer, &oscar).await, &path, &wanted);
    }
    let path = format!("/admin/orgs/{}/requests/new/pizza", a.org);
    assert_eq!(
        get(app, &path, peer, &oscar).await.status,
        StatusCode::NOT_FOUND
    );

    // The org admin: straight to their organisation, without the operator's parts.
    let (olga, _) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let got = get(app, "/admin", peer, &olga).await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    assert_eq!(got.location, Some(format!("/admin/orgs/{}", a.org)));
    let operators = [
        id("api-tokens"),
        id("switch-over"),
        id("subject-access"),
        id("take"),
        id("done"),
        id("reject"),
        id("nav-queue"),
        id("nav-stock"),
    ];
    for path in [
        format!("/admin/orgs/{}", a.org),
        format!("/admin/people/{}", a.person),
        format!("/admin/requests/{}", a.request),
    ] {
        let got = get(app, &path, peer, &olga).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        for o in &operators {
            assert!(!got.body.contains(o.as_str()), "{path}: {o}");
        }
    }
    let got = get(app, "/admin/requests", peer, &olga).await;
    assert!(got.body.contains(&id(&format!("request-{}", a.request))));
    assert!(!got.body.contains(&id(&format!("request-{}", b.request))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_goes_from_the_org_admins_form_to_an_activation_link() {
    let w = world().await;
    let app = &w.app;
    let gw = &app.state.gateway;
    let a = w.a;
    let (olga, olga_csrf) = w.sign_in("olga").await;
    let (oscar, oscar_csrf) = w.sign_in("oscar").await;
    let (o_peer, op_peer) = (peer_of("olga"), peer_of("oscar"));
    let start = today(app);
    let got = post(
        app,
        &format!("/admin/orgs/{}/requests", a.org),
        o_peer,
        &olga,
        &[
            ("csrf", &olga_csrf),
            ("type", "new_employee"),
            ("full_name", "Zoë de Vries"),
            ("email", "zoe@example.org"),
            ("employee_number", "E-17"),
            ("username", "zoe"),
            ("start_date", &start),
            ("phone", "on"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let id = request_id(&got);
    let r = request_of(app, id).await;
    assert_eq!(r.status, RequestStatus::Submitted);
    assert_eq!(r.org_id, a.org);
    assert_eq!(
        r.requester_id,
        Some(gw.person("olga").await.expect("olga").id)
    );
    assert!(
        matches!(
            &r.data,
            RequestData::NewEmployee { full_name, email, employee_number, username, phone: true, token: false, .. }
                if full_name == "Zoë de Vries" && email == "zoe@example.org"
                    && employee_number == "E-17" && username == "zoe"
        ),
        "{r:?}"
    );
    // The org admin sees it, without the operator's buttons.
    let page = format!("/admin/requests/{id}");
    let got = get(app, &page, o_peer, &olga).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.contains("Zoë de Vries"), "{}", got.body);

    // The operator takes it, then completes it: the person exists, the link shown once.
    let got = post(
        app,
        &format!("{page}/take"),
        op_peer,
        &oscar,
        &[("csrf", &oscar_csrf)],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert_eq!(got.location.as_deref(), Some(page.as_str()));
    assert_eq!(request_of(app, id).await.status, RequestStatus::InProgress);
    let got = post(
        app,
        &format!("{page}/done"),
        op_peer,
        &oscar,
        &[("csrf", &oscar_csrf)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(
        got.body
            .contains(r#"<code id="activation-link">https://mfa.test/activate/"#),
        "{}",
        got.body
    );
    assert_eq!(request_of(app, id).await.status, RequestStatus::Done);
    let zoe = gw.person("zoe").await.expect("zoe made");
    assert_eq!(zoe.org_id, a.org);
    assert_eq!(zoe.full_name, "Zoë de Vries");

    // A new link: the org admin hears where it was mailed, the operator sees it.
    let path = format!("/admin/people/{}/activation", zoe.id);
    let got = post(app, &path, o_peer, &olga, &[("csrf", &olga_csrf)]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(
        got.body.contains(&nl("admin-activation-sent-to")),
        "{}",
        got.body
    );
    assert!(got.body.contains("zoe@example.org"));
    assert!(!got.body.contains("/activate/"), "{}", got.body);
    let got = post(app, &path, op_peer, &oscar, &[("csrf", &oscar_csrf)]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(
        got.body
            .contains(r#"<code id="shown-secret">https://mfa.test/activate/"#),
        "{}",
        got.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_rejects_and_the_org_admin_changes_a_reservation() {
    let w = world().await;
    let app = &w.app;
    let a = w.a;
    let (olga, olga_csrf) = w.sign_in("olga").await;
    let (oscar, oscar_csrf) = w.sign_in("oscar").await;
    let (o_peer, op_peer) = (peer_of("olga"), peer_of("oscar"));

    // A reject needs a reason: refused without one (nothing changed), done with one.
    let reject = format!("/admin/requests/{}/reject", a.request);
    let got = post(
        app,
        &reject,
        op_peer,
        &oscar,
        &[("csrf", &oscar_csrf), ("reason", " ")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
    assert!(got.body.contains(&id("form-error")), "{}", got.body);
    assert_eq!(
        request_of(app, a.request).await.status,
        RequestStatus::Submitted
    );
    let got = post(
        app,
        &reject,
        op_peer,
        &oscar,
        &[("csrf", &oscar_csrf), ("reason", "Geen budget")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert_eq!(
        request_of(app, a.request).await.status,
        RequestStatus::Rejected
    );
    let history = app
        .state
        .gateway
        .store()
        .request_history(a.request)
        .await
        .expect("history");
    assert_eq!(
        history.last().and_then(|s| s.note.as_deref()),
        Some("Geen budget")
    );
    // Closed: the operator's buttons are gone.
    let got = get(
        app,
        &format!("/admin/requests/{}", a.request),
        op_peer,
        &oscar,
    )
    .await;
    assert!(!got.body.contains(&id("reject")) && !got.body.contains(&id("take")));

    // A reservation: filed, changed, a count that is no number refused, cancelled.
    let got = post(
        app,
        &format!("/admin/orgs/{}/requests", a.org),
        o_peer,
        &olga,
        &[
            ("csrf", &olga_csrf),
            ("type", "reserve_tokens"),
            ("count", "3"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let id_ = request_id(&got);
    let reservation = format!("/admin/requests/{id_}/reservation");
    let got = get(app, &format!("/admin/requests/{id_}"), o_peer, &olga).await;
    assert!(got.body.contains(&id("change-reservation")), "{}", got.body);
    let got = post(
        app,
        &reservation,
        o_peer,
        &olga,
        &[("csrf", &olga_csrf), ("count", "5")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert_eq!(
        request_of(app, id_).await.data,
        RequestData::ReserveTokens { count: 5 }
    );
    let got = post(
        app,
        &reservation,
        o_peer,
        &olga,
        &[("csrf", &olga_csrf), ("count", "veel")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(got.body.contains(&nl("admin-error-count")), "{}", got.body);
    assert_eq!(
        request_of(app, id_).await.data,
        RequestData::ReserveTokens { count: 5 }
    );
    let got = post(
        app,
        &reservation,
        o_peer,
        &olga,
        &[("csrf", &olga_csrf), ("cancel", "on")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert_eq!(request_of(app, id_).await.status, RequestStatus::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_issues_and_revokes_an_api_token_and_sets_the_switch_over() {
    let w = world().await;
    let app = &w.app;
    let a = w.a;
    let (oscar, csrf) = w.sign_in("oscar").await;
    let peer = peer_of("oscar");
    let got = post(
        app,
        &format!("/admin/orgs/{}/api-tokens", a.org),
        peer,
        &oscar,
        &[("csrf", &csrf), ("label", "AFAS koppeling")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let at = got
        .body
        .find(r#"<code id="api-token">"#)
        .expect("the token shown once")
        + r#"<code id="api-token">"#.len();
    let secret = got.body[at..].split('<').next().expect("token").to_owned();
    assert!(got.body.contains("AFAS koppeling"));
    let bearer = format!("Bearer {secret}");
    let got = api(app, Method::GET, "/api/v1/requests", Some(&bearer), "").await;
    assert_eq!(got.status, StatusCode::OK, "the new token works");
    // Shown once: the organisation's page does not show it again.
    let got = get(app, &format!("/admin/orgs/{}", a.org), peer, &oscar).await;
    assert!(!got.body.contains(&secret));

    let token: i64 = secret.split('.').next().expect("id").parse().expect("id");
    let got = post(
        app,
        &format!("/admin/api-tokens/{token}/revoke"),
        peer,
        &oscar,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    assert_eq!(got.location, Some(format!("/admin/orgs/{}", a.org)));
    let got = api(app, Method::GET, "/api/v1/requests", Some(&bearer), "").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "revoked");

    // A date that is none: said on the page, nothing set.
    let switch_over = format!("/admin/orgs/{}/switch-over", a.org);
    let got = post(
        app,
        &switch_over,
        peer,
        &oscar,
        &[("csrf", &csrf), ("date", "volgende week")],
    )
    .await;
    assert!(got.body.contains(&id("form-error")), "{}", got.body);
    assert_eq!(
        app.state.gateway.switch_over(a.org).await.expect("read"),
        None
    );
    let got = post(
        app,
        &switch_over,
        peer,
        &oscar,
        &[("csrf", &csrf), ("date", "2099-01-01")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let at = app
        .state
        .gateway
        .switch_over(a.org)
        .await
        .expect("switch-over")
        .expect("set");
    assert_eq!(&crate::audit::format_time(at)[..10], "2099-01-01");
    let got = get(app, &format!("/admin/orgs/{}", a.org), peer, &oscar).await;
    assert!(
        got.body
            .contains(r#"id="switch-over" name="date" value="2099-01-01""#),
        "{}",
        got.body
    );
}

/// Wrong codes for `username` through the CLI channel: `n` rejected login attempts.
async fn wrong_codes(app: &App, username: &str, n: usize) {
    for _ in 0..n {
        let d = app
            .state
            .gateway
            .login(
                crate::service::cli_attempt(
                    username,
                    crate::engine::Credentials::PasswordAndCode {
                        password: crate::secret::SecretString::new(
                            crate::web::router_tests::NOW_PASSWORD,
                        ),
                        code: crate::secret::SecretString::new("000000"),
                    },
                ),
                app.now(),
            )
            .await
            .expect("login");
        assert!(matches!(d.verdict, crate::engine::Verdict::Reject(_)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_admins_person_forms_do_what_they_say() {
    let w = world().await;
    let app = &w.app;
    let gw = &app.state.gateway;
    let a = w.a;
    let (olga, csrf) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let person = format!("/admin/people/{}", a.person);

    // A temporary code, shown once, audited with the org admin.
    let got = post(
        app,
        &format!("{person}/temp-code"),
        peer,
        &olga,
        &[("csrf", &csrf), ("minutes", "30")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.contains(&id("shown-secret")), "{}", got.body);
    let issued = events_of(app, "temporary_code_issued").await;
    assert_eq!(issued.len(), 1);
    let olga_id = gw.person("olga").await.expect("olga").id;
    assert_eq!(issued[0].event.actor, format!("person:{olga_id}"));

    // A token of the organisation's stock is linked; one of B's stock is not.
    stock_token(app, a.org, "S-100").await;
    stock_token(app, w.b.org, "S-200").await;
    let got = post(
        app,
        &format!("{person}/token"),
        peer,
        &olga,
        &[("csrf", &csrf), ("serial", "S-200")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
    assert!(
        got.body
            .contains(r#"id="serial" name="serial" maxlength="64" aria-describedby="form-error" aria-invalid="true""#),
        "the refusal is on the serial field: {}",
        got.body
    );
    let got = post(
        app,
        &format!("{person}/token"),
        peer,
        &olga,
        &[("csrf", &csrf), ("serial", "S-100")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert_eq!(got.location.as_deref(), Some(person.as_str()));
    let devices = gw.store().devices_of(a.person).await.expect("devices");
    let serials: Vec<_> = devices.iter().filter_map(|d| d.serial.as_deref()).collect();
    assert_eq!(serials, ["S-100"]);
    let got = get(app, &person, peer, &olga).await;
    assert!(
        got.body.contains(r#"<td class="serial">S-100</td>"#),
        "{}",
        got.body
    );

    // Unlock: the wrong codes are forgotten.
    wrong_codes(app, "ann", 3).await;
    assert_eq!(gw.person("ann").await.expect("ann").failed_logins, 3);
    let got = post(
        app,
        &format!("{person}/unlock"),
        peer,
        &olga,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let ann = gw.person("ann").await.expect("ann");
    assert_eq!((ann.failed_logins, ann.locked_until), (0, None));
    assert_eq!(events_of(app, "person_unlocked").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_form_keeps_what_was_typed() {
    let w = world().await;
    let app = &w.app;
    let a = w.a;
    let (olga, csrf) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let action = format!("/admin/orgs/{}/requests", a.org);
    let start = today(app);
    let before = app
        .state
        .gateway
        .store()
        .requests(None, false)
        .await
        .expect("requests")
        .len();
    /// A form's fields, and what its refusal page keeps of them.
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<String>);
    let cases: [Case<'_>; 3] = [
        (
            vec![
                ("type", "new_employee"),
                ("full_name", "Zed Zonder"),
                ("email", "geen-adres"),
                ("username", "zed"),
                ("start_date", &start),
                ("token", "on"),
            ],
            vec![
                r#"value="Zed Zonder""#.into(),
                r#"value="geen-adres""#.into(),
                r#"value="zed""#.into(),
                format!(r#"value="{start}""#),
                r#"id="token" name="token" value="on" checked"#.into(),
            ],
        ),
        (
            vec![
                ("type", "order_tokens"),
                ("count", "veel"),
                ("address", "Stationsplein 1"),
                ("contact", "Facilitair"),
            ],
            vec![
                nl("admin-error-count"),
                r#"value="veel""#.into(),
                r#"value="Stationsplein 1""#.into(),
                r#"value="Facilitair""#.into(),
            ],
        ),
        (
            vec![
                ("type", "change_account"),
                ("person", ""),
                ("full_name", "Ann Nieuw"),
            ],
            vec![
                nl("admin-error-choose-person"),
                r#"value="Ann Nieuw""#.into(),
            ],
        ),
    ];
    for (fields, kept) in &cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let got = post(app, &action, peer, &olga, &form).await;
        assert_eq!(
            got.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            got.body
        );
        assert!(got.body.contains(&id("form-error")), "{}", got.body);
        assert!(got.body.contains(r#"aria-invalid="true""#), "{}", got.body);
        for k in kept {
            assert!(
                got.body.contains(k.as_str()),
                "{fields:?}: {k} in {}",
                got.body
            );
        }
    }
    let after = app
        .state
        .gateway
        .store()
        .requests(None, false)
        .await
        .expect("requests")
        .len();
    assert_eq!(after, before, "nothing filed");
    // An unknown kind of request: refused.
    let got = post(
        app,
        &action,
        peer,
        &olga,
        &[("csrf", &csrf), ("type", "pizza")],
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_checks_keeps_the_text_on_a_refusal_and_makes_everyone() {
    let w = world().await;
    let app = &w.app;
    let a = w.a;
    let (olga, csrf) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let action = format!("/admin/orgs/{}/import", a.org);
    let people = people_of(app, a.org).await.len();

    let bad = "name,email\nZed Zonder,geen-adres\nYara,yara@example.org\n";
    for what in ["check", "import"] {
        let got = post(
            app,
            &action,
            peer,
            &olga,
            &[("csrf", &csrf), ("csv", bad), ("action", what)],
        )
        .await;
        assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
        assert!(got.body.contains(&id("import-errors")), "{}", got.body);
        assert!(
            got.body.contains(&format!("{}</textarea>", escape(bad))),
            "the text kept: {}",
            got.body
        );
        assert!(!got.body.contains(&id("import")), "no import button");
    }
    assert_eq!(people_of(app, a.org).await.len(), people, "nobody made");

    let good =
        "name,email,username\nYara Jansen,yara@example.org,yara\nXavi Smit,xavi@example.org,xavi\n";
    let got = post(
        app,
        &action,
        peer,
        &olga,
        &[("csrf", &csrf), ("csv", good), ("action", "check")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.contains(&id("preview")) && got.body.contains(&id("import")));
    assert!(got.body.contains("Yara Jansen") && got.body.contains("Xavi Smit"));
    assert_eq!(
        people_of(app, a.org).await.len(),
        people,
        "a check makes nobody"
    );
    let got = post(
        app,
        &action,
        peer,
        &olga,
        &[("csrf", &csrf), ("csv", good), ("action", "import")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.contains(&id("imported-people")), "{}", got.body);
    let made = people_of(app, a.org).await;
    assert_eq!(made.len(), people + 2);
    for username in ["yara", "xavi"] {
        let p = app.state.gateway.person(username).await.expect("made");
        assert_eq!(p.org_id, a.org);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_person_form_says_why_on_its_field_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let (olga, csrf) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let person = format!("/admin/people/{}", w.a.person);
    let got = post(
        app,
        &format!("{person}/temp-code"),
        peer,
        &olga,
        &[("csrf", &csrf), ("minutes", "zestig")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
    assert!(
        got.body.contains(&nl("admin-error-minutes")),
        "{}",
        got.body
    );
    assert!(events_of(app, "temporary_code_issued").await.is_empty());
    assert!(!got.body.contains(&id("shown-secret")));
    let got = post(
        app,
        &format!("{person}/token"),
        peer,
        &olga,
        &[("csrf", &csrf), ("serial", "S-404")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
    assert!(got.body.contains(&id("form-error")));
    assert_eq!(
        app.state
            .gateway
            .store()
            .devices_of(w.a.person)
            .await
            .expect("devices")
            .len(),
        1,
        "only the phone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_temporary_code_keeps_the_minutes_typed() {
    let w = world().await;
    let (olga, csrf) = w.sign_in("olga").await;
    let got = post(
        &w.app,
        &format!("/admin/people/{}/temp-code", w.a.person),
        peer_of("olga"),
        &olga,
        &[("csrf", &csrf), ("minutes", "zestig")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        got.body
            .contains(r#"id="minutes" name="minutes" value="zestig""#),
        "{}",
        got.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_serial_keeps_the_serial_typed() {
    let w = world().await;
    let (olga, csrf) = w.sign_in("olga").await;
    let got = post(
        &w.app,
        &format!("/admin/people/{}/token", w.a.person),
        peer_of("olga"),
        &olga,
        &[("csrf", &csrf), ("serial", "S-404")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(got.body.contains(r#"value="S-404""#), "{}", got.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_switch_over_date_keeps_the_date_typed() {
    let w = world().await;
    let (oscar, csrf) = w.sign_in("oscar").await;
    let got = post(
        &w.app,
        &format!("/admin/orgs/{}/switch-over", w.a.org),
        peer_of("oscar"),
        &oscar,
        &[("csrf", &csrf), ("date", "volgende week")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.body);
    assert!(got.body.contains(&id("form-error")), "{}", got.body);
    assert!(
        got.body.contains(r#"value="volgende week""#),
        "{}",
        got.body
    );
    assert_eq!(
        w.app
            .state
            .gateway
            .switch_over(w.a.org)
            .await
            .expect("read"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reservation_count_keeps_the_count_typed() {
    let w = world().await;
    let app = &w.app;
    let (olga, csrf) = w.sign_in("olga").await;
    let peer = peer_of("olga");
    let got = post(
        app,
        &format!("/admin/orgs/{}/requests", w.a.org),
        peer,
        &olga,
        &[("csrf", &csrf), ("type", "reserve_tokens"), ("count", "3")],
    )
    .await;
    let r = request_id(&got);
    let got = post(
        app,
        &format!("/admin/requests/{r}/reservation"),
        peer,
        &olga,
        &[("csrf", &csrf), ("count", "veel")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        got.body.contains(r#"id="count" name="count" value="veel""#),
        "{}",
        got.body
    );
}

// ---------------------------------------------------------------------------------------
// The auditor's pages (audit/mod.rs) beyond audit/tests.rs.
// ---------------------------------------------------------------------------------------

/// The event ids of a CSV export (its first column, after the header line).
fn csv_ids(csv: &str) -> Vec<i64> {
    let mut lines = csv.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("id,time,kind,")),
        "{csv}"
    );
    let mut ids: Vec<i64> = lines
        .map(|l| {
            l.split(',')
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("a row: {l}"))
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn jsonl_rows(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn ids_of(rows: &[serde_json::Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().expect("id")).collect();
    ids.sort_unstable();
    ids
}

async fn stored_ids(app: &App, filter: EventFilter) -> Vec<i64> {
    let mut ids: Vec<i64> = app
        .state
        .gateway
        .store()
        .events(&filter)
        .await
        .expect("events")
        .iter()
        .map(|e| e.id)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_exactly_the_rows_searched_for() {
    let w = world().await;
    let app = &w.app;
    wrong_codes(app, "ann", 2).await;
    wrong_codes(app, "ahmed", 1).await;
    wrong_codes(app, "bob", 1).await;
    let (audrey, _) = w.sign_in("audrey").await;
    let peer = peer_of("audrey");
    let want = stored_ids(
        app,
        EventFilter {
            person_id: Some(w.a.person),
            outcome: Some("reject".into()),
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(want.len(), 2, "ann's two wrong codes");

    let query = "?person=ann&outcome=reject";
    let got = get(app, &format!("/audit/export.csv{query}"), peer, &audrey).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.content_type, "text/csv; charset=utf-8");
    let day = today(app).replace('-', "");
    assert_eq!(
        got.disposition,
        format!("attachment; filename=\"audit-{day}.csv\"")
    );
    assert_eq!(csv_ids(&got.body), want);
    let got = get(app, &format!("/audit/export.jsonl{query}"), peer, &audrey).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.content_type, "application/x-ndjson");
    let rows = jsonl_rows(&got.body);
    assert_eq!(ids_of(&rows), want);
    assert!(
        rows.iter().all(|r| r["username"] == "ann"
            && r["outcome"] == "reject"
            && r["kind"] == "login_attempt"),
        "{rows:?}"
    );
    // Each export audited with its rows.
    let exports = events_of(app, "audit_exported").await;
    assert_eq!(exports.len(), 2);
    for e in &exports {
        let detail = e.event.detail.as_ref().expect("detail");
        assert_eq!(detail["rows"], 2, "{detail}");
        assert_eq!(detail["scope"], "all");
    }

    // The search page itself: the same rows, the exports' links carry the search.
    let got = get(app, &format!("/audit{query}"), peer, &audrey).await;
    assert_eq!(got.status, StatusCode::OK);
    let paging = escape(&crate::i18n::t_args(
        Lang::Nl,
        "audit-paging",
        &[
            ("total", crate::i18n::Arg::Number(2)),
            ("page", crate::i18n::Arg::Number(1)),
            ("pages", crate::i18n::Arg::Number(1)),
        ],
    ));
    assert!(got.body.contains(&paging), "{paging} in {}", got.body);
    assert!(
        got.body
            .contains("/audit/export.csv?person=ann&#38;outcome=reject"),
        "{}",
        got.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_export_holds_that_organisations_rows_only() {
    let w = world().await;
    let app = &w.app;
    wrong_codes(app, "ann", 1).await;
    wrong_codes(app, "bob", 2).await;
    let (audrey, _) = w.sign_in("audrey").await;
    let (olive, _) = w.sign_in("olive").await;

    // The provider's auditor, one organisation.
    let want = stored_ids(
        app,
        EventFilter {
            org_id: Some(w.b.org),
            ..EventFilter::default()
        },
    )
    .await;
    let got = get(
        app,
        "/audit/export.jsonl?org=Practice+B",
        peer_of("audrey"),
        &audrey,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let rows = jsonl_rows(&got.body);
    assert_eq!(ids_of(&rows), want);
    assert!(rows.iter().all(|r| r["org_id"] == w.b.org), "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["username"] == "bob" && r["outcome"] == "reject")
            .count()
            == 2
    );

    // The org auditor: their organisation's login attempts, whatever they ask for.
    let want = stored_ids(
        app,
        EventFilter {
            kind: Some("login_attempt".into()),
            scope_org: Some(w.a.org),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(!want.is_empty());
    let got = get(
        app,
        "/audit/export.csv?kind=login_attempt",
        peer_of("olive"),
        &olive,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(csv_ids(&got.body), want);
    assert!(!got.body.contains(",bob,"), "{}", got.body);
    assert!(got.body.contains(",ann,"), "{}", got.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_page_shows_their_events_and_a_bad_search_says_why() {
    let w = world().await;
    let app = &w.app;
    wrong_codes(app, "bob", 1).await;
    let (audrey, _) = w.sign_in("audrey").await;
    let peer = peer_of("audrey");
    let path = format!("/audit/person/{}", w.b.person);
    let got = get(app, &path, peer, &audrey).await;
    assert_has(
        &got,
        &path,
        &[
            id("subject-access"),
            id("export-person-csv"),
            id("timeline"),
            nl("audit-timeline-all"),
        ],
    );
    assert!(
        got.body.contains("bad_code") || got.body.contains("wrong_code"),
        "{}",
        got.body
    );
    let views = events_of(app, "audit_searched").await;
    assert!(
        views.iter().any(|e| e.event.person_id == Some(w.b.person)),
        "the view audited: {views:?}"
    );
    // The operator may read it too (not the search: the matrix).
    let (oscar, _) = w.sign_in("oscar").await;
    let got = get(app, &path, peer_of("oscar"), &oscar).await;
    assert_eq!(got.status, StatusCode::OK);

    // A time that is none: the search says so on its field, keeping it; the export 400.
    let got = get(app, "/audit?from=gisteren", peer, &audrey).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.contains(&id("form-error")), "{}", got.body);
    assert!(
        got.body.contains(r#"id="f-from" value="gisteren""#),
        "{}",
        got.body
    );
    let got = get(app, "/audit/export.csv?from=gisteren", peer, &audrey).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert!(
        got.body.contains(&nl("audit-bad-search-title")),
        "{}",
        got.body
    );
    assert!(events_of(app, "audit_exported").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_404_of_the_admins_browser_actions_is_in_the_persons_language() {
    let w = world().await;
    let (olga, csrf) = w.sign_in("olga").await;
    for action in [
        "/admin/people/{person}/sso/end-all",
        "/admin/people/{person}/browsers/forget",
    ] {
        let got = post(
            &w.app,
            &w.b.path(action),
            peer_of("olga"),
            &olga,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{action}");
        assert!(
            got.body.contains(r#"<html lang="nl">"#),
            "{action}: {}",
            got.body
        );
    }
}
