//! High availability, end to end: several real `mfa-gateway serve` instances on one
//! PostgreSQL (a database of their own) and one Redis (a key prefix of their own), asked by
//! radclient and a plain HTTPS client. What one instance starts, another finishes.

use crate::radius::{SECRET, radclient};
use mfa_e2e::{Instance, Serving, https_instance, seed_of, serve, uri_in};
use mfa_gateway::otp::{self, OtpHash};
use std::time::Duration;

const PW: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(30);
const RP_SECRET: &str = "ha-rp-secret-0123456789abcdef";
const CALLBACK: &str = "http://127.0.0.1:9/cb";

fn redis_url() -> String {
    std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn pg_url() -> String {
    std::env::var("MFA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn random_name(prefix: &str) -> String {
    let bytes: [u8; 6] = std::array::from_fn(|_| 0);
    let mut bytes = bytes;
    getrandom_fill(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

fn getrandom_fill(buf: &mut [u8]) {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("urandom");
}

/// A fresh PostgreSQL database for one test; its URL. (Dropped by the test at its end.)
fn fresh_database() -> (String, String) {
    let name = random_name("mfa_ha_");
    let admin = pg_url();
    let out = std::process::Command::new("psql")
        .arg(&admin)
        .args(["-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql (README's test command installs PostgreSQL)");
    assert!(
        out.status.success(),
        "CREATE DATABASE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    (format!("{base}/{name}"), name)
}

fn drop_database(name: &str) {
    let _ = std::process::Command::new("psql")
        .arg(pg_url())
        .args([
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .output();
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// One configuration for every instance: PostgreSQL, Redis, HTTPS, an OIDC client with
/// refresh tokens, the RADIUS client(s) in `radius_clients`, and `extra`.
fn cluster_config(store: &str, redis: &str, radius_clients: &str, extra: &str) -> Instance {
    let prefix = random_name("ha") + ":";
    let text = format!(
        "\n[store]\nurl = \"{store}\"\n\n[shared]\nurl = \"{redis}\"\nkey_prefix = \"{prefix}\"\n\
         {radius_clients}\n\
         [[oidc.clients]]\nclient_id = \"rp\"\nname = \"RP\"\nsecret_sha256 = \"{secret}\"\n\
         redirect_uris = [\"{CALLBACK}\"]\nflows = [\"code\"]\nrequire_pkce = true\n\
         refresh_tokens = true\nid_token_alg = \"EdDSA\"\n{extra}",
        secret = sha256_hex(RP_SECRET),
    );
    https_instance(&["store", "shared", "rate_limit"], &text)
}

fn ann(g: &Instance, phones: usize) -> Vec<Vec<u8>> {
    g.ok(&["org", "add", "P"], None);
    g.ok(
        &[
            "person",
            "add",
            "ann",
            "--org",
            "P",
            "--name",
            "Ann",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    (0..phones)
        .map(|i| {
            let label = format!("phone {i}");
            seed_of(&uri_in(
                &g.ok(&["device", "add-totp", "ann", "--label", &label], None),
            ))
        })
        .collect()
}

fn totp(seed: &[u8]) -> String {
    otp::totp(seed, mfa_gateway::model::now(), 30, OtpHash::Sha1, 6)
}

fn cookie(res: &reqwest::blocking::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

fn json(res: reqwest::blocking::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let body = res.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// An OIDC code login: authorize and sign in on `a`'s pages; the code.
fn code_login(client: &reqwest::blocking::Client, a: &str, seed: &[u8], verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{a}/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        "http%3A%2F%2F127.0.0.1%3A9%2Fcb"
    );
    let res = client.get(&authorize).send().unwrap();
    assert_eq!(res.status().as_u16(), 303, "authorize");
    let login = res.headers()["location"].to_str().unwrap().to_owned();
    let auth = login.split("auth=").nth(1).expect("auth id").to_owned();
    let page = client.get(format!("{a}{login}")).send().unwrap();
    let pre = cookie(&page, "mfa_pre").expect("pre cookie");
    let csrf = csrf_of(&page.text().unwrap());
    let res = client
        .post(format!("{a}/login"))
        .header("cookie", format!("mfa_pre={pre}"))
        .form(&[
            ("auth", auth.as_str()),
            ("csrf", &csrf),
            ("username", "ann"),
            ("password", PW),
        ])
        .send()
        .unwrap();
    let sid = cookie(&res, "mfa_session").expect("session after the password");
    let csrf = csrf_of(&res.text().unwrap());
    let res = client
        .post(format!("{a}/login/code"))
        .header("cookie", format!("mfa_session={sid}"))
        .form(&[("csrf", csrf.as_str()), ("code", &totp(seed))])
        .send()
        .unwrap();
    assert!(
        res.status().is_redirection(),
        "after the code: {}",
        res.status()
    );
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(CALLBACK), "{to}");
    to.split("code=")
        .nth(1)
        .and_then(|c| c.split('&').next())
        .expect("code")
        .to_owned()
}

fn token(
    client: &reqwest::blocking::Client,
    at: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    json(
        client
            .post(format!("{at}/oauth2/token"))
            .basic_auth("rp", Some(RP_SECRET))
            .form(form)
            .send()
            .unwrap(),
    )
}

fn audit_reasons(g: &Instance) -> String {
    g.ok(&["audit", "search", "--format", "jsonl"], None)
}

#[test]
fn three_instances_share_oidc_codes_tokens_challenges_replays_and_limits() {
    let (store, db) = fresh_database();
    let clients = format!(
        "\n[[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"challenge\"\n"
    );
    let g = cluster_config(
        &store,
        &redis_url(),
        &clients,
        "\n[rate_limit]\nper_source_per_minute = 1000\nper_username_per_minute = 6\n",
    );
    let phones = ann(&g, 3);
    let nodes: Vec<Serving> = (0..3).map(|_| serve(&g, READY)).collect();
    let url = |i: usize| nodes[i].listener("http");
    let radius = |i: usize| nodes[i].addr("radius udp", "127.0.0.1");
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(mfa_e2e::instance_tls(&g))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // OIDC: log in through A, redeem the code at B, refresh at C, reuse the old refresh
    // token at A: the family is revoked everywhere.
    let verifier = "a-pkce-verifier-of-at-least-forty-three-characters-0123";
    let code = code_login(&http, &url(0), &phones[0], verifier);
    let (status, tokens) = token(
        &http,
        &url(1),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(status, 200, "code redeemed at B: {tokens}");
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, again) = token(
        &http,
        &url(2),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(
        status, 400,
        "a code is single use across instances: {again}"
    );
    let (status, rotated) = token(
        &http,
        &url(2),
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    );
    // The replayed code revoked the family: the refresh token is gone too.
    assert_eq!(status, 400, "family revoked by the code replay: {rotated}");
    // A second login, clean: refresh at C, reuse the old one at A.
    let code = code_login(&http, &url(1), &phones[1], verifier);
    let (status, tokens) = token(
        &http,
        &url(0),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, rotated) = token(
        &http,
        &url(2),
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    );
    assert_eq!(status, 200, "refreshed at C: {rotated}");
    let second = rotated["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    let (status, _) = token(
        &http,
        &url(0),
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    );
    assert_eq!(status, 400, "the old refresh token reused at A");
    let (status, _) = token(
        &http,
        &url(1),
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    );
    assert_eq!(status, 400, "its family is revoked on every instance");

    // RADIUS: a challenge started on A is answered on B; the code used is refused on C.
    let start = |i: usize| {
        radclient(
            radius(i),
            "auth",
            SECRET,
            &format!(
                "User-Name = \"ann\"\nUser-Password = \"{PW}\"\nMessage-Authenticator = 0x00\n"
            ),
            10,
        )
    };
    let challenge = start(0);
    challenge.assert_code("Access-Challenge");
    let state = challenge.attr("State").expect("State").to_owned();
    let code = totp(&phones[2]);
    let answer = |i: usize, state: &str| {
        radclient(
            radius(i),
            "auth",
            SECRET,
            &format!(
                "User-Name = \"ann\"\nUser-Password = \"{code}\"\nState = {state}\nMessage-Authenticator = 0x00\n"
            ),
            10,
        )
    };
    answer(1, &state).assert_code("Access-Accept");
    answer(2, &state).assert_code("Access-Reject"); // the State is single use too
    let challenge = start(2);
    let state = challenge.attr("State").expect("State").to_owned();
    answer(0, &state).assert_code("Access-Reject");
    let audit = audit_reasons(&g);
    assert!(
        audit.contains("\"replayed_code\""),
        "a used code refused elsewhere"
    );
    assert!(
        audit.contains("\"challenge_expired\""),
        "a used State refused elsewhere"
    );

    // One rate limit across instances: 6 a minute for one username, counted on A and B.
    let mut refused = 0;
    for i in 0..10 {
        let a = radclient(
            radius(i % 2),
            "auth",
            SECRET,
            "User-Name = \"bob\"\nUser-Password = \"nope\"\nMessage-Authenticator = 0x00\n",
            10,
        );
        if a.code.as_deref() == Some("Access-Reject") {
            refused += 1;
        }
    }
    assert_eq!(refused, 10);
    let audit = audit_reasons(&g);
    let limited = audit.matches("\"rate_limited\"").count();
    let checked = audit
        .lines()
        .filter(|l| l.contains("\"bob\"") && l.contains("\"unknown_user\""))
        .count();
    assert!(limited >= 1, "the shared limit was reached");
    assert!(checked <= 6, "{checked} checked: one budget across A and B");
    drop(nodes);
    drop_database(&db);
}

fn rd_client() -> String {
    format!(
        "\n[[radius.clients]]\nname = \"rdgw\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"second_factor_only\"\nlabel = \"Remote desktop\"\n"
    )
}

/// RD Gateway's request (User-Name only) to `server`, answered within `wait` seconds.
fn rd_request(
    server: std::net::SocketAddr,
    wait: u32,
) -> std::thread::JoinHandle<crate::radius::Answer> {
    std::thread::spawn(move || {
        radclient(
            server,
            "auth",
            SECRET,
            "User-Name = \"ann\"\nMessage-Authenticator = 0x00\n",
            wait,
        )
    })
}

/// Wait until `g`'s audit trail holds `n` events of `kind`.
fn wait_for_events(g: &Instance, kind: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = g.ok(
            &["audit", "search", "--kind", kind, "--format", "jsonl"],
            None,
        );
        if out.lines().count() >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {n} {kind} events:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `/approve` on `at`: the person answers a held sign-in with a code.
fn approve_with_code(client: &reqwest::blocking::Client, at: &str, code: &str) -> String {
    client
        .post(format!("{at}/approve"))
        .form(&[("username", "ann"), ("code", code)])
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn an_approval_held_on_one_instance_is_answered_on_another_and_a_failover_joins_it() {
    let (store, db) = fresh_database();
    let g = cluster_config(&store, &redis_url(), &rd_client(), "");
    let phones = ann(&g, 1);
    let a = serve(&g, READY);
    let b = serve(&g, READY);
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(mfa_e2e::instance_tls(&g))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // RD Gateway asks A; A holds the request and prompts.
    let held = rd_request(a.addr("radius udp", "127.0.0.1"), 40);
    wait_for_events(&g, "approval_requested", 1);
    // NPS fails over: the same login arrives at B, which joins A's (no second prompt).
    let joined = rd_request(b.addr("radius udp", "127.0.0.1"), 40);
    std::thread::sleep(Duration::from_millis(500));
    // The person answers on B's /approve page with a code from their phone.
    let page = approve_with_code(&http, &b.listener("http"), &totp(&phones[0]));
    assert!(page.contains("Approved"), "{page}");
    held.join().unwrap().assert_code("Access-Accept");
    joined.join().unwrap().assert_code("Access-Accept");
    let prompts = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "approval_requested",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(prompts.lines().count(), 1, "one prompt:\n{prompts}");
    drop((a, b));
    drop_database(&db);
}

/// A throwaway redis-server of this test's own, on a free port (so stopping it disturbs no
/// other test).
struct OwnRedis {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start(port: Option<u16>, dir: Option<tempfile::TempDir>) -> Self {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (README's test command installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop it (as a crash would); what is needed to start it again on the same port.
    fn stop(mut self) -> (u16, tempfile::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            self.port,
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
        )
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ready(client: &reqwest::blocking::Client, at: &str) -> u16 {
    client
        .get(format!("{at}/readyz"))
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[test]
fn redis_stopped_refuses_with_a_reason_then_recovers_without_a_restart() {
    let (store, db) = fresh_database();
    let redis = OwnRedis::start(None, None);
    let clients = format!(
        "\n[[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"append\"\n"
    );
    let g = cluster_config(&store, &redis.url(), &clients, "");
    let phones = ann(&g, 3);
    let a = serve(&g, READY);
    let b = serve(&g, READY);
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(mfa_e2e::instance_tls(&g))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let login = |node: &Serving, seed: &[u8]| {
        radclient(
            node.addr("radius udp", "127.0.0.1"),
            "auth",
            SECRET,
            &format!(
                "User-Name = \"ann\"\nUser-Password = \"{PW}{}\"\nMessage-Authenticator = 0x00\n",
                totp(seed)
            ),
            10,
        )
    };
    login(&a, &phones[0]).assert_code("Access-Accept");
    assert_eq!(ready(&http, &a.listener("http")), 200);
    // Redis goes away: logins are refused (never accepted without the checks), audited
    // with their reason; /readyz says unready.
    let (port, dir) = redis.stop();
    login(&b, &phones[1]).assert_code("Access-Reject");
    assert_eq!(ready(&http, &b.listener("http")), 503);
    let audit = audit_reasons(&g);
    assert!(audit.contains("\"shared_state_unavailable\""), "{audit}");
    // Redis back on its port: both instances recover by themselves.
    let _redis = OwnRedis::start(Some(port), Some(dir));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for node in [&a, &b] {
        while ready(&http, &node.listener("http")) != 200 {
            assert!(std::time::Instant::now() < deadline, "did not recover");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    login(&b, &phones[1]).assert_code("Access-Accept");
    login(&a, &phones[2]).assert_code("Access-Accept");
    drop((a, b));
    drop_database(&db);
}

/// A portal sign-in on `at`: the session cookie.
fn portal_session(client: &reqwest::blocking::Client, at: &str, seed: &[u8]) -> String {
    let page = client.get(format!("{at}/portal/login")).send().unwrap();
    let pre = cookie(&page, "mfa_pre").expect("pre cookie");
    let csrf = csrf_of(&page.text().unwrap());
    let res = client
        .post(format!("{at}/portal/login"))
        .header("cookie", format!("mfa_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ann"),
            ("password", PW),
        ])
        .send()
        .unwrap();
    let sid = cookie(&res, "mfa_session").expect("session");
    let csrf = csrf_of(&res.text().unwrap());
    let res = client
        .post(format!("{at}/login/code"))
        .header("cookie", format!("mfa_session={sid}"))
        .form(&[("csrf", csrf.as_str()), ("code", &totp(seed))])
        .send()
        .unwrap();
    cookie(&res, "mfa_session").expect("logged-in session")
}

fn my_devices(client: &reqwest::blocking::Client, at: &str, sid: &str) -> bool {
    client
        .get(format!("{at}/portal"))
        .header("cookie", format!("mfa_session={sid}"))
        .send()
        .ok()
        .filter(|r| r.status().as_u16() == 200)
        .and_then(|r| r.text().ok())
        .is_some_and(|t| t.contains("My devices"))
}

#[test]
fn a_rolling_restart_loses_no_session_token_or_pending_approval() {
    let (store, db) = fresh_database();
    let g = cluster_config(&store, &redis_url(), &rd_client(), "");
    let phones = ann(&g, 4);
    let mut a = serve(&g, READY);
    let mut b = serve(&g, READY);
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(mfa_e2e::instance_tls(&g))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // Before: a portal session (made on A), a refresh token (issued on B).
    let sid = portal_session(&http, &a.listener("http"), &phones[0]);
    let verifier = "a-pkce-verifier-of-at-least-forty-three-characters-0123";
    let code = code_login(&http, &b.listener("http"), &phones[1], verifier);
    let (status, tokens) = token(
        &http,
        &b.listener("http"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    // An RD Gateway login held on A; A is stopped (SIGTERM: it drains, holding the request).
    let held = rd_request(a.addr("radius udp", "127.0.0.1"), 45);
    wait_for_events(&g, "approval_requested", 1);
    a.terminate();
    std::thread::sleep(Duration::from_millis(500));
    let page = approve_with_code(&http, &b.listener("http"), &totp(&phones[2]));
    assert!(page.contains("Approved"), "{page}");
    held.join().unwrap().assert_code("Access-Accept");
    assert!(a.wait_exit(Duration::from_secs(20)), "A exits once drained");
    // A back; then B restarted in turn.
    let a2 = serve(&g, READY);
    b.terminate();
    assert!(b.wait_exit(Duration::from_secs(20)), "B exits");
    let b2 = serve(&g, READY);
    // After: the session is served by both new processes, the refresh token works.
    assert!(
        my_devices(&http, &a2.listener("http"), &sid),
        "session on the new A"
    );
    assert!(
        my_devices(&http, &b2.listener("http"), &sid),
        "session on the new B"
    );
    let (status, rotated) = token(
        &http,
        &a2.listener("http"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    );
    assert_eq!(status, 200, "refresh token survived: {rotated}");
    drop((a2, b2));
    drop_database(&db);
}
