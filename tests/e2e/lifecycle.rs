//! The account life cycle end to end (issue 8), against the real `mfa-gateway serve` with
//! HTTPS: org admins and the operator on /admin (signed in through the portal's login), the
//! HR-system API with per-organisation tokens, the CLI, and in headless Chromium the whole
//! joiner flow (request, operator done, activation link, password and phone, sign-in), with a
//! screenshot of every org-admin and operator page.

use mfa_e2e::csrf_in;
use std::time::Duration;

use mfa_e2e::browser::Browser;
use mfa_e2e::{
    Instance, Phone, Serving, SmtpSink, audit_events, browser_client, https_instance, seed_of,
    serve, smtp_sink, uri_in,
};
use mfa_gateway::otp::{self, OtpHash};
use reqwest::StatusCode;
use reqwest::blocking::Client as Http;

const PW: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const TOKEN_SEED: &[u8] = b"12345678901234567890";
const RADIUS_SECRET: &str = "e2e-lifecycle-secret-0123";

/// Someone who signs in: username, id, phone.
struct User {
    name: &'static str,
    id: i64,
    phone: Phone,
}

struct World {
    /// Where the gateway's mail goes.
    sink: SmtpSink,
    g: Instance,
    s: Serving,
    base: String,
    org_a: i64,
    org_b: i64,
    operator: User,
    admin_a: User,
    admin_b: User,
    plain_a: User,
    /// People of each organisation without a phone (requests name them).
    worker_a: i64,
    worker_b: i64,
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn number_after(text: &str, marker: &str) -> i64 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text}"));
    text[at + marker.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn add_person(g: &Instance, name: &'static str, org: &str, roles: &str) -> i64 {
    let out = g.ok(
        &[
            "person",
            "add",
            name,
            "--org",
            org,
            "--name",
            &format!("{name} Example"),
            "--email",
            &format!("{name}@example.org"),
            "--role",
            roles,
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    number_after(&out, "(id ")
}

fn user(g: &Instance, name: &'static str, org: &str, roles: &str) -> User {
    let id = add_person(g, name, org, roles);
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", name], None)));
    User {
        name,
        id,
        phone: Phone::new(seed),
    }
}

/// Two customer organisations (A with an admin, a plain person, a worker; B with an admin and
/// a worker), the provider's organisation with the operator, and three tokens in stock.
fn world() -> World {
    let sink = smtp_sink();
    let g = https_instance(
        &["mail"],
        &format!(
            "[[oidc.clients]]\nclient_id = \"rp\"\nname = \"Test RP\"\n\
             redirect_uris = [\"https://rp.example/cb\"]\nflows = [\"code\"]\nrequire_pkce = true\n\
             \n[[radius.clients]]\nname = \"nas\"\naddress = \"127.0.0.1\"\nsecret = \"{RADIUS_SECRET}\"\n\
             \n[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n",
            sink.addr
        ),
    );
    let org = |name: &str| number_after(&g.ok(&["org", "add", name], None), "(id ");
    org("Provider");
    let org_a = org("Practice A");
    let org_b = org("Practice B");
    let operator = user(&g, "op", "Provider", "person,operator");
    let admin_a = user(&g, "admina", "Practice A", "person,org_admin");
    let admin_b = user(&g, "adminb", "Practice B", "person,org_admin");
    let plain_a = user(&g, "plaina", "Practice A", "person");
    let worker_a = add_person(&g, "workera", "Practice A", "person");
    let worker_b = add_person(&g, "workerb", "Practice B", "person");
    let mut keys = String::new();
    for i in 1..=3 {
        keys.push_str(&format!(
            r#"<KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>LT00000{i}</SerialNo></DeviceInfo>
    <Key Id="{i}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
"#,
            data_encoding::BASE64.encode(TOKEN_SEED)
        ));
    }
    let pskc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
{keys}</KeyContainer>
"#
    );
    let file = g.dir.path().join("tokens.xml");
    std::fs::write(&file, pskc).unwrap();
    g.ok(&["token", "import", file.to_str().unwrap()], None);
    let s = serve(&g, READY);
    let base = s.listener("http");
    World {
        sink,
        g,
        s,
        base,
        org_a,
        org_b,
        operator,
        admin_a,
        admin_b,
        plain_a,
        worker_a,
        worker_b,
    }
}

/// A RADIUS Access-Request (append mode: the code after the password) with radclient: the
/// code it got back ("Access-Accept", "Access-Reject").
fn radius(w: &World, user: &str, password_and_code: &str) -> String {
    use std::io::Write;
    let server = w.s.addr("radius udp", "127.0.0.1");
    let mut child = std::process::Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "10"])
        .arg(server.to_string())
        .args(["auth", RADIUS_SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("radclient (apt-get install freeradius-utils)");
    let attrs = format!(
        r#"User-Name = "{user}", User-Password = "{password_and_code}", Message-Authenticator = 0x00"#
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(attrs.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Received "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no RADIUS answer: {text}"))
        .to_owned()
}

/// The password step of an OpenID Connect login for `user`: does it get to the code page?
fn oidc_password_accepted(w: &World, user: &str) -> bool {
    let h = http(w);
    let r = h
        .get(w.url(
            "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
             &scope=openid&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256",
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", w.s.log());
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let auth = to.split("auth=").nth(1).unwrap().to_owned();
    let (_, login) = get(&h, &w.url(&to));
    let (_, page) = post(
        &h,
        &w.url("/login"),
        &[
            ("auth", auth.as_str()),
            ("csrf", &csrf_in(&login)),
            ("username", user),
            ("password", PW),
        ],
    );
    page.contains("code-form")
}

// ---- plain HTTP ----

fn http(w: &World) -> Http {
    browser_client(&w.g)
}

fn post(h: &Http, url: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = h.post(url).form(fields).send().unwrap();
    (r.status(), r.text().unwrap())
}

fn get(h: &Http, url: &str) -> (StatusCode, String) {
    let r = h.get(url).send().unwrap();
    (r.status(), r.text().unwrap())
}

/// Sign `u` in through the portal's login; returns the session's CSRF token.
fn sign_in(w: &World, u: &User) -> (Http, String) {
    let h = http(w);
    let (_, login) = get(&h, &w.url("/portal/login"));
    let (_, code_page) = post(
        &h,
        &w.url("/portal/login"),
        &[
            ("csrf", &csrf_in(&login)),
            ("username", u.name),
            ("password", PW),
        ],
    );
    let (status, _) = post(
        &h,
        &w.url("/login/code"),
        &[
            ("csrf", &csrf_in(&code_page)),
            ("code", &u.phone.code(&w.g)),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", w.s.log());
    let (_, page) = get(&h, &w.url("/portal"));
    let csrf = csrf_in(&page);
    (h, csrf)
}

/// Submit a request form; returns the status and where it went (the request's id on success).
fn submit(
    h: &Http,
    w: &World,
    csrf: &str,
    org: i64,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<i64>, String) {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    let r = h
        .post(w.url(&format!("/admin/orgs/{org}/requests")))
        .form(&all)
        .send()
        .unwrap();
    let status = r.status();
    let id = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.strip_prefix("/admin/requests/"))
        .and_then(|n| n.parse().ok());
    (status, id, r.text().unwrap())
}

fn audit(w: &World, kind: &str) -> Vec<serde_json::Value> {
    audit_events(&w.g, Some(kind))
}

#[test]
fn org_admins_act_for_their_own_organisation_only() {
    let w = world();
    let (a, csrf_a) = sign_in(&w, &w.admin_a);
    let (b, csrf_b) = sign_in(&w, &w.admin_b);

    // Each files a request for their own organisation.
    let worker_b = w.worker_b.to_string();
    let (status, req_a, _) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[("type", "reserve_tokens"), ("count", "4")],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let req_a = req_a.unwrap();
    let (_, req_b, _) = submit(
        &b,
        &w,
        &csrf_b,
        w.org_b,
        &[
            ("type", "remove_account"),
            ("person", &worker_b),
            ("end_date", "2030-01-01"),
        ],
    );
    let req_b = req_b.unwrap();

    // A form with an error keeps what was typed.
    let (status, _, page) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[
            ("type", "new_employee"),
            ("full_name", "Dirk Typed"),
            ("email", "not-an-address"),
            ("start_date", "2026-12-01"),
            ("phone", "on"),
        ],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Dirk Typed") && page.contains("not-an-address"),
        "{page}"
    );
    assert!(page.contains(r#"class="error""#), "{page}");

    // Own things: visible.
    let (status, home) = get(&a, &w.url("/admin"));
    assert_eq!(status, StatusCode::SEE_OTHER, "{home}");
    let (status, org) = get(&a, &w.url(&format!("/admin/orgs/{}", w.org_a)));
    assert_eq!(status, StatusCode::OK);
    assert!(org.contains("workera") && !org.contains("workerb"), "{org}");
    assert!(
        !org.contains("api-tokens"),
        "only the operator sees API tokens"
    );
    assert_eq!(
        get(&a, &w.url(&format!("/admin/people/{}", w.worker_a))).0,
        StatusCode::OK
    );
    assert_eq!(
        get(&a, &w.url(&format!("/admin/requests/{req_a}"))).0,
        StatusCode::OK
    );

    // B's things: not found, whatever the way in (pages, forms, API-less actions).
    let not_found = [
        format!("/admin/orgs/{}", w.org_b),
        format!("/admin/people/{}", w.worker_b),
        format!("/admin/people/{}", w.admin_b.id),
        format!("/admin/requests/{req_b}"),
        format!("/admin/orgs/{}/requests/new/new_employee", w.org_b),
    ];
    for path in &not_found {
        let (status, body) = get(&a, &w.url(path));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains("workerb"), "{path}");
    }
    let actions: [(String, Vec<(&str, &str)>); 5] = [
        (
            format!("/admin/orgs/{}/requests", w.org_b),
            vec![("type", "reserve_tokens"), ("count", "1")],
        ),
        (
            format!("/admin/people/{}/temp-code", w.worker_b),
            vec![("minutes", "60")],
        ),
        (format!("/admin/people/{}/activation", w.worker_b), vec![]),
        (
            format!("/admin/requests/{req_b}/reservation"),
            vec![("cancel", "on")],
        ),
        (
            format!("/admin/requests/{req_b}/reject"),
            vec![("reason", "mine now")],
        ),
    ];
    for (path, fields) in &actions {
        let mut all = vec![("csrf", csrf_a.as_str())];
        all.extend_from_slice(fields);
        let (status, _) = post(&a, &w.url(path), &all);
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {status}"
        );
    }
    // A request in A naming B's person is refused.
    let (status, _, page) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[
            ("type", "remove_account"),
            ("person", &worker_b),
            ("end_date", "2026-01-01"),
        ],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("No such person in this organisation"),
        "{page}"
    );
    // Operator-only actions and pages.
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/requests/{req_a}/done")),
        &[("csrf", &csrf_a)],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(get(&a, &w.url("/admin/stock")).0, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/orgs/{}/api-tokens", w.org_a)),
        &[("csrf", &csrf_a), ("label", "x")],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing of B changed.
    let show = w.g.ok(&["request", "show", &req_b.to_string()], None);
    assert!(
        show.contains("submitted") && !show.contains("rejected"),
        "{show}"
    );
    assert!(
        w.g.ok(&["person", "show", "workerb"], None)
            .contains("active"),
    );

    // Without the CSRF token: refused.
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/people/{}/temp-code", w.worker_a)),
        &[("minutes", "60")],
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The org admin issues a temporary code for their own person: shown once, audited with
    // them as the issuer.
    let (status, page) = post(
        &a,
        &w.url(&format!("/admin/people/{}/temp-code", w.worker_a)),
        &[("csrf", &csrf_a), ("minutes", "30")],
    );
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="shown-secret""#), "{page}");
    let issued = audit(&w, "temporary_code_issued");
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["actor"], format!("person:{}", w.admin_a.id));

    // An activation link would reset the password and add a phone: refused for an account
    // that has a password.
    let (status, page) = post(
        &a,
        &w.url(&format!("/admin/people/{}/activation", w.worker_a)),
        &[("csrf", &csrf_a)],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("has a password already"), "{page}");

    // The org admin links a token from stock to their own person, never to B's.
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/people/{}/token", w.worker_a)),
        &[("csrf", &csrf_a), ("serial", "LT000002")],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = get(&a, &w.url(&format!("/admin/people/{}", w.worker_a)));
    assert!(
        page.contains(r#"<td class="serial">LT000002</td>"#),
        "{page}"
    );
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/people/{}/token", w.worker_b)),
        &[("csrf", &csrf_a), ("serial", "LT000003")],
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let tokens = w.g.ok(&["token", "list"], None);
    assert!(
        tokens
            .lines()
            .any(|l| l.contains("LT000003") && l.contains("in_stock")),
        "{tokens}"
    );

    // A plain person: 403 on every admin page.
    let (p, _) = sign_in(&w, &w.plain_a);
    for path in [
        "/admin".to_owned(),
        format!("/admin/orgs/{}", w.org_a),
        format!("/admin/people/{}", w.worker_a),
        format!("/admin/requests/{req_a}"),
    ] {
        assert_eq!(get(&p, &w.url(&path)).0, StatusCode::FORBIDDEN, "{path}");
    }
    // Not signed in: to the sign-in page.
    let anon = http(&w);
    let r = anon.get(w.url("/admin")).send().unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Every refusal is audited.
    let denied = audit(&w, "access_denied");
    assert!(denied.len() >= 10, "{denied:?}");
    assert!(
        denied
            .iter()
            .any(|e| e["actor"] == format!("person:{}", w.plain_a.id))
    );
}

#[test]
fn operator_queue_leavers_orders_reservations_and_the_api() {
    let w = world();
    let (op, csrf) = sign_in(&w, &w.operator);
    let (a, csrf_a) = sign_in(&w, &w.admin_a);

    // The API: a token per organisation, made by the operator (CLI), shown once.
    let made = w.g.ok(
        &["api-token", "create", "Practice A", "--label", "hr"],
        None,
    );
    let token_a = made.lines().last().unwrap().trim().to_owned();
    let made = w.g.ok(&["api-token", "create", "Practice B"], None);
    let token_b = made.lines().last().unwrap().trim().to_owned();
    assert!(!w.g.ok(&["api-token", "list"], None).contains(&token_a));
    let api = http(&w);
    let call = |method: reqwest::Method,
                path: &str,
                token: Option<&str>,
                body: Option<serde_json::Value>| {
        let mut r = api.request(method, w.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = r.send().unwrap();
        let status = r.status();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&r.text().unwrap()).unwrap_or_default(),
        )
    };
    let leaver = serde_json::json!({
        "type": "remove_account", "person_id": w.worker_a, "end_date": "2020-01-01", "tokens": "return",
    });
    let (status, created) = call(
        reqwest::Method::POST,
        "/api/v1/requests",
        Some(&token_a),
        Some(leaver.clone()),
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let leave_id = created["id"].as_i64().unwrap();
    assert_eq!(created["status"], "submitted");
    assert_eq!(
        created["requested_by"].as_str().unwrap().split(':').next(),
        Some("api")
    );
    // B's token: cannot see A's request nor name A's person.
    let (status, _) = call(
        reqwest::Method::GET,
        &format!("/api/v1/requests/{leave_id}"),
        Some(&token_b),
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = call(
        reqwest::Method::GET,
        "/api/v1/requests",
        Some(&token_b),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["requests"].as_array().unwrap().len(), 0);
    let (status, _) = call(
        reqwest::Method::POST,
        "/api/v1/requests",
        Some(&token_b),
        Some(leaver),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Wrong, missing or malformed tokens: 401 alike.
    for bad in [Some("1.wrong"), Some("nonsense"), None] {
        let (status, _) = call(reqwest::Method::GET, "/api/v1/requests", bad, None);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:?}");
    }
    let (status, one) = call(
        reqwest::Method::GET,
        &format!("/api/v1/requests/{leave_id}"),
        Some(&token_a),
        None,
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["history"].as_array().unwrap().len(), 1);
    // The OpenAPI document.
    let (status, doc) = call(reqwest::Method::GET, "/api/openapi.json", None, None);
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/requests"]["post"].is_object());

    // The leaver: the operator takes it and completes it (end date past: at once). Give the
    // worker a token first, to see it go back to stock.
    w.g.ok(&["token", "assign", "LT000001", "workera"], None);
    let with_code = |n: u64| format!("{PW}{}", otp::hotp(TOKEN_SEED, n, OtpHash::Sha1, 6));
    assert_eq!(
        radius(&w, "workera", &with_code(0)),
        "Access-Accept",
        "{}",
        w.s.log()
    );
    assert!(oidc_password_accepted(&w, "workera"), "{}", w.s.log());
    let (status, _) = post(
        &op,
        &w.url(&format!("/admin/requests/{leave_id}/take")),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post(
        &op,
        &w.url(&format!("/admin/requests/{leave_id}/done")),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", w.s.log());
    let show = w.g.ok(&["request", "show", &leave_id.to_string()], None);
    assert!(show.contains("status        done"), "{show}");
    assert!(
        show.contains("in_progress") && show.contains("submitted"),
        "{show}"
    );
    assert!(
        w.g.ok(&["person", "show", "workera"], None)
            .contains("removed")
    );
    let tokens = w.g.ok(&["token", "list"], None);
    let line = tokens.lines().find(|l| l.contains("LT000001")).unwrap();
    assert!(line.contains("in_stock"), "{tokens}");
    assert_eq!(
        radius(&w, "workera", &with_code(1)),
        "Access-Reject",
        "a leaver"
    );
    assert!(!oidc_password_accepted(&w, "workera"), "a leaver over OIDC");
    // Its API view shows the history.
    let (_, one) = call(
        reqwest::Method::GET,
        &format!("/api/v1/requests/{leave_id}"),
        Some(&token_a),
        None,
    );
    assert_eq!(one["status"], "done");
    assert_eq!(one["history"].as_array().unwrap().len(), 3);

    // A leaver with a future end date waits, scheduled.
    let plain = w.plain_a.id.to_string();
    let (_, later, _) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[
            ("type", "remove_account"),
            ("person", &plain),
            ("end_date", "2099-01-01"),
        ],
    );
    let later = later.unwrap();
    post(
        &op,
        &w.url(&format!("/admin/requests/{later}/done")),
        &[("csrf", &csrf)],
    );
    let (_, page) = get(&op, &w.url(&format!("/admin/requests/{later}")));
    assert!(
        page.contains(r#"id="scheduled""#) && page.contains("2099-01-01"),
        "{page}"
    );
    assert!(
        w.g.ok(&["person", "show", "plaina"], None)
            .contains("active")
    );

    // An order moves tokens from stock to the organisation; too many is refused.
    let (_, big, _) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[
            ("type", "order_tokens"),
            ("count", "9"),
            ("address", "Main St 1"),
            ("contact", "Ann, 0101"),
        ],
    );
    let big = big.unwrap();
    let (status, page) = post(
        &op,
        &w.url(&format!("/admin/requests/{big}/done")),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("tokens in stock"), "{page}");
    let (status, _) = post(
        &op,
        &w.url(&format!("/admin/requests/{big}/reject")),
        &[("csrf", &csrf), ("reason", "too many")],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, order, _) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[
            ("type", "order_tokens"),
            ("count", "1"),
            ("address", "Main St 1"),
            ("contact", "Ann, 0101"),
        ],
    );
    post(
        &op,
        &w.url(&format!("/admin/requests/{}/done", order.unwrap())),
        &[("csrf", &csrf)],
    );

    // A reservation: changeable until the switch-over date, then not.
    let (_, res, _) = submit(
        &a,
        &w,
        &csrf_a,
        w.org_a,
        &[("type", "reserve_tokens"), ("count", "25")],
    );
    let res = res.unwrap();
    let (status, _) = post(
        &a,
        &w.url(&format!("/admin/requests/{res}/reservation")),
        &[("csrf", &csrf_a), ("count", "30")],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, stock) = get(&op, &w.url("/admin/stock"));
    let row = |id: &str| {
        let at = stock
            .find(&format!(r#"id="stock-{id}""#))
            .unwrap_or_else(|| panic!("{stock}"));
        stock[at..stock[at..].find("</tr>").unwrap() + at].to_owned()
    };
    let mine = row(&w.org_a.to_string());
    // LT000001 returned to A's stock by the leaver + 1 ordered = 2 in stock, 30 reserved.
    assert!(mine.contains(r#"class="in-stock">2<"#), "{mine}");
    assert!(mine.contains(r#"class="reserved">30<"#), "{mine}");
    assert!(
        row("provider").contains(r#"class="in-stock">1<"#),
        "{stock}"
    );
    let (status, _) = post(
        &op,
        &w.url(&format!("/admin/orgs/{}/switch-over", w.org_a)),
        &[("csrf", &csrf), ("date", "2020-01-01")],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = post(
        &a,
        &w.url(&format!("/admin/requests/{res}/reservation")),
        &[("csrf", &csrf_a), ("cancel", "on")],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");

    // The CLI lists and shows the queue; rejecting tells the reason.
    let list = w.g.ok(&["request", "list", "--org", "Practice A"], None);
    assert!(
        list.contains("order_tokens") && list.contains("reserve_tokens"),
        "{list}"
    );
    assert!(
        w.g.ok(&["request", "show", &big.to_string()], None)
            .contains("too many")
    );

    // A revoked API token no longer works.
    let id = token_a.split('.').next().unwrap();
    w.g.ok(&["api-token", "revoke", id], None);
    let (status, _) = call(
        reqwest::Method::GET,
        "/api/v1/requests",
        Some(&token_a),
        None,
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // All audited.
    for kind in [
        "request_submitted",
        "request_updated",
        "person_removed",
        "api_token_issued",
        "token_stock_changed",
    ] {
        assert!(!audit(&w, kind).is_empty(), "{kind}");
    }
    let _ = TOKEN_SEED;
}

#[test]
fn chromium_joiner_from_request_to_first_sign_in() {
    let w = world();
    let browser = Browser::launch_trusting(&[&w.g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    let portal_sign_in = |u: &User| {
        page.goto(&w.url("/portal/login"));
        page.wait_for("form#login-form", WAIT);
        page.fill("input[name=username]", u.name);
        page.fill("input[name=password]", PW);
        page.click("button#submit");
        page.wait_for("form#code-form", WAIT);
        page.fill("input[name=code]", &u.phone.code(&w.g));
        page.click("button#submit");
        page.wait_for("ul.devices", WAIT);
    };

    // The org admin files a joiner.
    portal_sign_in(&w.admin_a);
    page.goto(&w.url("/admin"));
    page.wait_for("h1#org-name", WAIT);
    page.screenshot("org-admin-organisation");
    page.click("a#new-new_employee");
    page.wait_for("form#request-form", WAIT);
    page.fill("input#full_name", "Eva Joiner");
    page.fill("input#email", "eva@example.org");
    page.fill("input#employee_number", "E-42");
    page.fill("input#username", "eva");
    page.fill("input#start_date", "2026-12-01");
    page.screenshot("org-admin-new-employee");
    page.click("button#submit-request");
    page.wait_for("table#history", WAIT);
    assert_eq!(page.text("#status"), "submitted");
    page.screenshot("org-admin-request");
    let request = page.url().rsplit('/').next().unwrap().to_owned();
    page.goto(&w.url(&format!("/admin/people/{}", w.worker_a)));
    page.wait_for("h1#person-name", WAIT);
    page.screenshot("org-admin-person");
    page.goto(&w.url(&format!(
        "/admin/orgs/{}/requests/new/order_tokens",
        w.org_a
    )));
    page.wait_for("form#request-form", WAIT);
    page.screenshot("org-admin-order-tokens");
    page.goto(&w.url(&format!(
        "/admin/orgs/{}/requests/new/reserve_tokens",
        w.org_a
    )));
    page.wait_for("form#request-form", WAIT);
    page.fill("input#count", "12");
    page.click("button#submit-request");
    page.wait_for("table#history", WAIT);
    page.screenshot("org-admin-reservation");
    page.click("button#logout");
    page.wait_for("h1", WAIT);

    // The operator processes the queue.
    portal_sign_in(&w.operator);
    page.goto(&w.url("/admin"));
    page.wait_for("ul#orgs", WAIT);
    page.screenshot("operator-home");
    page.goto(&w.url("/admin/requests"));
    page.wait_for("div#open", WAIT);
    page.screenshot("operator-queue");
    page.goto(&w.url("/admin/stock"));
    page.wait_for("table#stock", WAIT);
    page.screenshot("operator-stock");
    page.goto(&w.url(&format!("/admin/orgs/{}", w.org_a)));
    page.wait_for("table#api-tokens", WAIT);
    page.click("button#new-api-token");
    page.wait_for("code#api-token", WAIT);
    page.screenshot("operator-organisation");
    page.goto(&w.url(&format!("/admin/requests/{request}")));
    page.wait_for("button#take", WAIT);
    page.click("button#take");
    page.wait_for("button#done", WAIT);
    assert_eq!(page.text("#status"), "in progress");
    page.screenshot("operator-request-in-progress");
    page.click("button#done");
    page.wait_for("code#activation-link", WAIT);
    assert_eq!(page.text("#status"), "done");
    page.screenshot("operator-request-done");
    let shown = page.text("code#activation-link");
    // The link as mailed to the new person (the operator's copy is the same).
    let mail = w.sink.wait_for("/activate/", WAIT);
    assert!(
        mail.to.iter().any(|t| t.contains("eva@example.org")),
        "{mail:?}"
    );
    let data = mail.data.replace("=\r\n", "");
    let at = data
        .find(&format!("{}/activate/", w.base))
        .unwrap_or_else(|| panic!("{data}"));
    let link: String = data[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(link, shown);
    // The requester is told of each status change.
    let told = w.sink.wait_for(&format!("Request {request}: done"), WAIT);
    assert!(
        told.to.iter().any(|t| t.contains("admina@example.org")),
        "{told:?}"
    );
    page.goto(&w.url(&format!("/admin/people/{}", w.worker_a)));
    page.wait_for("button#temp-code", WAIT);
    page.click("button#temp-code");
    page.wait_for("code#shown-secret", WAIT);
    page.screenshot("operator-person-temp-code");
    page.click("button#logout");
    page.wait_for("h1", WAIT);

    // The new person opens the link: password and first phone.
    page.goto(&link);
    page.wait_for("form#activate-form", WAIT);
    assert!(page.exists(".qr svg"), "a QR code");
    assert_eq!(page.text("#username"), "eva");
    page.screenshot("activation");
    let key: String = page.text("#secret").split_whitespace().collect();
    let eva = User {
        name: "eva",
        id: 0,
        phone: Phone::new(data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap()),
    };
    // Too short a password: refused, the phone's name kept.
    page.fill("input#password", "short");
    page.fill("input#password_again", "short");
    page.fill("input#label", "eva's phone");
    page.fill("input#code", "000000");
    page.click("button#activate");
    page.wait_for("p.error", WAIT);
    assert_eq!(
        page.eval("document.querySelector('input#label').value")
            .as_str(),
        Some("eva's phone")
    );
    page.fill("input#password", PW);
    page.fill("input#password_again", PW);
    page.fill("input#code", &eva.phone.code(&w.g));
    page.click("button#activate");
    page.wait_for("h1#activated", WAIT);
    page.screenshot("activation-done");

    // The link works once.
    page.goto(&link);
    page.wait_for("h1", WAIT);
    assert_eq!(page.text("h1"), "Activation link not valid");

    // Eva signs in to the portal with her password and phone, and over the engine's login
    // (the RADIUS path).
    portal_sign_in(&eva);
    assert!(page.text("ul.devices").contains("eva's phone"));
    page.screenshot("joiner-signed-in");
    let _ = eva.id;
    assert_eq!(
        radius(&w, "eva", &format!("{PW}{}", eva.phone.code(&w.g))),
        "Access-Accept",
        "{}",
        w.s.log()
    );

    let done = audit(&w, "activation_completed");
    assert_eq!(done.len(), 1, "{done:?}");
    let issued = audit(&w, "activation_link_issued");
    assert_eq!(issued.len(), 1);
    // The link itself is in no audit event (the mail's body is not audited).
    let all = w.g.ok(
        &["audit", "search", "--format", "jsonl", "--limit", "0"],
        None,
    );
    let secret = link.rsplit('.').next().unwrap();
    assert!(
        !all.contains(secret),
        "the activation secret leaked into the audit trail"
    );
}
