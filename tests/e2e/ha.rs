//! High availability, end to end: several real `mfa-gateway serve` instances on one
//! PostgreSQL (a database of their own) and one Redis (a key prefix of their own), asked by
//! radclient and a plain HTTPS client. What one instance starts, another finishes.

use crate::radius::{SECRET, radclient};
use mfa_e2e::csrf_in as csrf_of;
use mfa_e2e::totp_now as totp;
use mfa_e2e::{
    Instance, Serving, config, cookie, https_instance, seed_of, serve, sha256_hex, token_request,
    uri_in, wait_until,
};
use std::time::Duration;

const PW: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
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
    mfa_e2e::add_person(g, "ann", "P", "Ann", None, PW);
    (0..phones)
        .map(|i| {
            let label = format!("phone {i}");
            seed_of(&uri_in(
                &g.ok(&["device", "add-totp", "ann", "--label", &label], None),
            ))
        })
        .collect()
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

/// A request to `at`'s token endpoint as the confidential client rp.
fn token(
    client: &reqwest::blocking::Client,
    at: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    token_request(client, at, Some(("rp", RP_SECRET)), form)
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

/// The `[shared] key_prefix` of `g`'s config.
fn key_prefix(g: &Instance) -> String {
    let text = std::fs::read_to_string(g.config()).unwrap();
    let doc: config::DocumentMut = text.parse().unwrap();
    config::get(&doc, "shared.key_prefix")
        .and_then(config::Item::as_str)
        .expect("shared.key_prefix")
        .to_owned()
}

/// Redis's MONITOR: every command the server runs from now on, one line each.
struct RedisMonitor {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stream: std::net::TcpStream,
}

impl RedisMonitor {
    fn start(url: &str) -> Self {
        use std::io::{BufRead as _, Write as _};
        let addr = url
            .trim_start_matches("redis://")
            .split(['/', '?'])
            .next()
            .unwrap()
            .to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect to Redis");
        stream.write_all(b"MONITOR\r\n").unwrap();
        let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
        let mut ok = String::new();
        reader.read_line(&mut ok).unwrap();
        assert_eq!(ok.trim(), "+OK", "MONITOR");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                seen.lock().unwrap().push(line);
            }
        });
        Self { lines, stream }
    }

    /// How many commands seen so far contain `needle`.
    fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for RedisMonitor {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Wait until `g`'s audit trail holds `n` events of `kind`.
fn wait_for_events(g: &Instance, kind: &str, n: usize) {
    wait_until(
        Duration::from_secs(20),
        &format!("{n} {kind} events"),
        || {
            g.ok(
                &["audit", "search", "--kind", kind, "--format", "jsonl"],
                None,
            )
            .lines()
            .count()
                >= n
        },
    );
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
    let monitor = RedisMonitor::start(&redis_url());
    let joined = rd_request(b.addr("radius udp", "127.0.0.1"), 40);
    // B has tried to claim the held login (and found A's) before the person answers.
    wait_until(WAIT, "B asks Redis for the held login", || {
        monitor.count(&format!("\"SET\" \"{}rf:rdgw:ann\"", key_prefix(&g))) >= 1
    });
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
        let port = port.unwrap_or_else(mfa_e2e::free_port);
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
    wait_until(Duration::from_secs(20), "both instances recover", || {
        [&a, &b]
            .iter()
            .all(|node| ready(&http, &node.listener("http")) == 200)
    });
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
    a.wait_for_output("draining", WAIT);
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

/// A throwaway PostgreSQL cluster of this test's own, on a free port (so restarting it
/// disturbs no other test). As root, the server runs as the `postgres` user.
struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
    bin: std::path::PathBuf,
    as_root: bool,
}

impl OwnPostgres {
    fn start() -> Self {
        let bin = std::env::var_os("MFA_TEST_PG_BIN")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .filter(|p| p.join("initdb").is_file())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL server binaries (README's test command installs postgresql)");
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap();
        if as_root {
            let _ = std::process::Command::new("useradd")
                .args(["--system", "--no-create-home", "postgres"])
                .output();
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown to postgres");
        }
        let port = mfa_e2e::free_port();
        let mut me = Self {
            dir,
            port,
            bin,
            as_root,
        };
        let data = me.dir.path().join("data");
        let out = me
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Another test's server may take the port between the probe and the bind: a new
        // port then, a few times.
        for _ in 0..3 {
            if me.try_up() {
                return me;
            }
            let log = std::fs::read_to_string(me.dir.path().join("log")).unwrap_or_default();
            if !log.contains("Address already in use") {
                break;
            }
            me.port = mfa_e2e::free_port();
        }
        me.up();
        me
    }

    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn try_up(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-w", "-o", &options, "start"])
    }

    fn up(&self) {
        assert!(
            self.try_up(),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Stop it at once (as a crash or a failover would).
    fn down(&self) {
        assert!(
            self.pg_ctl(&["-w", "-m", "immediate", "stop"]),
            "pg_ctl stop"
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

/// What the radclient loop saw: when, which instance, who, the answer's code.
type Seen = Vec<(std::time::Instant, usize, String, Option<String>)>;

#[test]
fn a_killed_instance_and_a_postgresql_restart_under_load_never_accept_without_an_audit_event() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let pg = OwnPostgres::start();
    let clients = format!(
        "\n[[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"append\"\n"
    );
    let g = cluster_config(
        &pg.url(),
        &redis_url(),
        &clients,
        "\n[rate_limit]\nper_source_per_minute = 100000\nper_username_per_minute = 1000\n",
    );
    // People behind one NAS, each with a phone; fresh ones for the checks between faults.
    g.ok(&["org", "add", "P"], None);
    let person = |name: &str| -> Vec<u8> {
        mfa_e2e::add_person(&g, name, "P", name, None, PW);
        seed_of(&uri_in(
            &g.ok(&["device", "add-totp", name, "--label", "phone"], None),
        ))
    };
    let people: Vec<(String, Vec<u8>)> = (0..12)
        .map(|i| {
            let name = format!("p{i:02}");
            let seed = person(&name);
            (name, seed)
        })
        .collect();
    let fresh: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let name = format!("q{i}");
            let seed = person(&name);
            (name, seed)
        })
        .collect();
    let a = serve(&g, READY);
    let b = serve(&g, READY);
    let radius = [
        a.addr("radius udp", "127.0.0.1"),
        b.addr("radius udp", "127.0.0.1"),
    ];
    let login = |at: std::net::SocketAddr, user: &str, seed: &[u8], wait: u32| {
        radclient(
            at,
            "auth",
            SECRET,
            &format!(
                "User-Name = \"{user}\"\nUser-Password = \"{PW}{}\"\nMessage-Authenticator = 0x00\n",
                totp(seed)
            ),
            wait,
        )
    };
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(mfa_e2e::instance_tls(&g))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // The loop: logins through A and B in turn, as a NAS with two servers would send them.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let looping = {
        let (stop, seen, people) = (stop.clone(), seen.clone(), people.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let (user, seed) = &people[i % people.len()];
                let node = i % 2;
                let answer = login(radius[node], user, seed, 5);
                seen.lock().unwrap().push((
                    std::time::Instant::now(),
                    node,
                    user.clone(),
                    answer.code,
                ));
                i += 1;
                // Paced, as a NAS's users would be.
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // The loop under way: each instance has answered it.
    wait_until(
        Duration::from_secs(30),
        "the loop's logins through A and B",
        || {
            let seen = seen.lock().unwrap();
            (0..2).all(|node| {
                seen.iter()
                    .any(|(_, n, _, code)| *n == node && code.is_some())
            })
        },
    );

    // A is killed (-9) in the middle of it: B keeps answering.
    let mut a = a;
    a.kill();
    login(radius[1], &fresh[0].0, &fresh[0].1, 10).assert_code("Access-Accept");

    // PostgreSQL goes away: nothing can be checked or audited, so nothing is accepted and
    // /readyz turns unready; when it is back, B recovers without a restart.
    pg.down();
    let down = std::time::Instant::now();
    let refused = login(radius[1], &fresh[1].0, &fresh[1].1, 10);
    assert_ne!(
        refused.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        refused.output
    );
    assert_eq!(ready(&http, &b.listener("http")), 503);
    // The loop asks B during the outage too.
    wait_until(
        Duration::from_secs(30),
        "a loop login through B while down",
        || {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(t, n, _, _)| *n == 1 && *t > down + Duration::from_secs(1))
        },
    );
    pg.up();
    let up = std::time::Instant::now();
    wait_until(Duration::from_secs(30), "B recovers", || {
        ready(&http, &b.listener("http")) == 200
    });
    login(radius[1], &fresh[2].0, &fresh[2].1, 10).assert_code("Access-Accept");
    let recovered = std::time::Instant::now();
    // The loop goes on through B after the recovery.
    wait_until(
        Duration::from_secs(30),
        "a loop login through B after",
        || {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(t, n, _, _)| *n == 1 && *t > recovered)
        },
    );
    stop.store(true, Ordering::Relaxed);
    looping.join().unwrap();

    // What the loop saw: nothing was accepted while PostgreSQL was away (a login committed
    // just before may still be answering in the first second), and every Accept has its
    // audit event.
    let seen = seen.lock().unwrap().clone();
    assert!(
        !seen
            .iter()
            .any(|(t, _, _, code)| *t > down + Duration::from_secs(1)
                && *t < up
                && code.as_deref() == Some("Access-Accept")),
        "an Accept while PostgreSQL was down: {seen:?}"
    );
    let audit = audit_reasons(&g);
    let events: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let audited = |user: &str| {
        events
            .iter()
            .filter(|e| {
                e["kind"] == "login_attempt" && e["outcome"] == "accept" && e["username"] == user
            })
            .count()
    };
    let accepted = seen
        .iter()
        .filter(|(_, _, _, code)| code.as_deref() == Some("Access-Accept"))
        .count();
    assert!(accepted >= 1, "the loop got Accepts: {seen:?}");
    for (name, _) in people.iter().chain(&fresh) {
        let answered = seen
            .iter()
            .filter(|(_, _, u, code)| u == name && code.as_deref() == Some("Access-Accept"))
            .count();
        assert!(
            audited(name) >= answered,
            "{name}: {answered} Accepts answered, {} audited",
            audited(name)
        );
    }
    assert_eq!(
        audited(&fresh[1].0),
        0,
        "nothing accepted while the store was away"
    );
    let verified = g.ok(&["audit", "verify"], None);
    assert!(verified.starts_with("audit chain ok"), "{verified}");
    drop(b);
}

#[test]
fn sighup_reloads_radius_and_oidc_clients_and_keeps_the_old_ones_on_a_bad_file() {
    let g = mfa_e2e::https_instance(&[], "");
    let phones = ann(&g, 1);
    let n = serve(&g, READY);
    let radius = n.addr("radius udp", "127.0.0.1");
    let login = |secret: &str| {
        radclient(
            radius,
            "auth",
            secret,
            &format!(
                "User-Name = \"ann\"\nUser-Password = \"{PW}{}\"\nMessage-Authenticator = 0x00\n",
                totp(&phones[0])
            ),
            3,
        )
    };
    // No client for 127.0.0.1 yet: silence.
    login(SECRET).assert_silence();
    let http = mfa_e2e::https_client(&g);
    let discovery = |id: &str| {
        http.get(format!(
            "{}/oauth2/authorize?response_type=code&client_id={id}&redirect_uri={}&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            n.listener("http"),
            "http%3A%2F%2F127.0.0.1%3A9%2Fcb"
        ))
        .send()
        .unwrap()
        .status()
        .as_u16()
    };
    assert_eq!(discovery("rp"), 400, "no OIDC client rp yet");
    g.edit_config(|doc| {
        config::merge(
            doc,
            &format!(
                "[[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\n\
                 mode = \"append\"\n\n[[oidc.clients]]\nclient_id = \"rp\"\nname = \"RP\"\n\
                 secret_sha256 = \"{}\"\nredirect_uris = [\"{CALLBACK}\"]\nflows = [\"code\"]\n\
                 require_pkce = true\n",
                sha256_hex(RP_SECRET)
            ),
        );
    });
    let added = std::fs::read_to_string(g.config()).unwrap();
    n.hangup();
    n.wait_for_output("config reloaded", Duration::from_secs(10));
    login(SECRET).assert_code("Access-Accept");
    assert_eq!(discovery("rp"), 303, "the OIDC client rp is there");

    // A bad file is refused: the clients stay as they were, and it is audited.
    g.edit_config(|doc| {
        config::merge(
            doc,
            "[[radius.clients]]\nname = \"broken\"\naddress = \"not-a-net\"\n",
        );
    });
    n.hangup();
    n.wait_for_output("config reload refused", Duration::from_secs(10));
    // The good file back for the CLI (which reads it too), then the refusal's audit event.
    std::fs::write(g.config(), &added).unwrap();
    let reloaded = || {
        audit_reasons(&g)
            .lines()
            .filter(|l| l.contains("\"config_reloaded\""))
            .count()
    };
    wait_until(Duration::from_secs(10), "the refusal is audited", || {
        reloaded() >= 3
    });
    let audit = audit_reasons(&g);
    let reloads: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "config_reloaded")
        .collect();
    assert_eq!(reloads.len(), 3, "start, reload, refusal: {audit}");
    let refused: Vec<_> = reloads
        .iter()
        .filter(|e| e["outcome"] == "failed")
        .collect();
    assert_eq!(refused.len(), 1, "{audit}");
    assert_eq!(refused[0]["reason"], "config_invalid", "{audit}");
    assert_eq!(
        refused[0]["detail"]["problem_at"], "key radius.clients",
        "the refusal names the key: {audit}"
    );
    assert!(
        !audit.contains("not-a-net"),
        "no value from the file in the trail"
    );
    let hashes: std::collections::HashSet<_> = reloads
        .iter()
        .map(|e| e["detail"]["sha256"].clone())
        .collect();
    assert_eq!(hashes.len(), 3, "each file's own hash: {audit}");
    // Still served by the reloaded client (a fresh code, the last one is used).
    assert_eq!(discovery("rp"), 303);
}

/// nginx as the HTTPS load balancer: TLS ends there, round robin to the instances over plain
/// HTTP, `X-Forwarded-For` set (as in docs/high-availability.md). Stopped on drop.
struct Nginx {
    child: std::process::Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    fn start(
        port: u16,
        upstreams: &[String],
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Self {
        let binary = std::env::var("MFA_TEST_NGINX").unwrap_or_else(|_| "nginx".into());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|u| format!("        server {u};\n"))
            .collect();
        let conf = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n    log_format up '$request_method $uri $status $upstream_addr';\n\
                 access_log {d}/access.log up;\n\
                 client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
                 upstream mfa {{\n{servers}    }}\n\
                 server {{\n        listen 127.0.0.1:{port} ssl;\n\
                     ssl_certificate {cert};\n        ssl_certificate_key {key};\n\
                     location / {{\n            proxy_pass http://mfa;\n\
                         proxy_http_version 1.1;\n\
                         proxy_set_header Host $http_host;\n\
                         proxy_set_header X-Forwarded-For $remote_addr;\n\
                         proxy_set_header X-Forwarded-Proto https;\n\
                         proxy_buffering off;\n            proxy_read_timeout 120s;\n\
                         proxy_next_upstream error timeout;\n        }}\n    }}\n}}\n",
            cert = cert.display(),
            key = key.display(),
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = std::process::Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off; master_process off;"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{binary}: {e} (README's test command installs nginx: apt-get install nginx)"
                )
            });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, dir, port }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_load_balancer_in_front_signs_in_through_either_instance() {
    use mfa_e2e::browser::Browser;
    let (store, db) = fresh_database();
    let port = mfa_e2e::free_port();
    let public = format!("https://127.0.0.1:{port}");
    let callback =
        mfa_e2e::http_stub(|_| mfa_e2e::StubResponse::html("<p id=back>back at the RP</p>"));
    let redirect = callback.url("/cb");
    // The instances: plain HTTP behind the balancer, which they trust for X-Forwarded-For.
    let g = mfa_e2e::Instance::init();
    g.edit_config(|doc| {
        config::local_https(doc, &["store", "shared"]);
        config::merge(
            doc,
            &format!(
                "[store]\nurl = \"{store}\"\n\n[shared]\nurl = \"{redis}\"\nkey_prefix = \"{prefix}\"\n\
                 \n[http]\ntls = false\npublic_url = \"{public}\"\n\
                 trusted_proxies = [\"127.0.0.1/32\"]\n\n\
                 [[oidc.clients]]\nclient_id = \"rp\"\nname = \"RP\"\nsecret_sha256 = \"{secret}\"\n\
                 redirect_uris = [\"{redirect}\"]\nflows = [\"code\"]\nrequire_pkce = true\n",
                redis = redis_url(),
                prefix = random_name("lb") + ":",
                secret = sha256_hex(RP_SECRET),
            ),
        );
    });
    let phones = ann(&g, 2);
    let a = serve(&g, READY);
    let b = serve(&g, READY);
    let upstreams: Vec<String> = [&a, &b]
        .iter()
        .map(|n| n.listener("http").trim_start_matches("http://").to_owned())
        .collect();
    let certs = g.dir.path().join("certs");
    let lb = Nginx::start(
        port,
        &upstreams,
        &certs.join("server.pem"),
        &certs.join("server.key"),
    );
    let base = lb.url();
    let browser = Browser::launch_trusting(&[&certs.join("server.pem")]);

    // The portal: a full sign-in through the balancer (its requests land on both).
    let page = browser.new_page();
    mfa_e2e::portal_sign_in(&page, &base, "ann", PW, &totp(&phones[0]));
    page.goto(&format!("{base}/portal"));
    page.wait_for("ul.devices", Duration::from_secs(15));
    page.goto(&format!("{base}/portal"));
    page.wait_for("ul.devices", Duration::from_secs(15));

    // An OIDC login in the browser through the balancer, the code redeemed through it too.
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = "a-pkce-verifier-of-at-least-forty-three-characters-0123";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let encoded: String = url_escape(&redirect);
    let oidc = browser.new_page();
    oidc.goto(&format!(
        "{base}/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={encoded}&scope=openid&state=lb1&code_challenge={challenge}&code_challenge_method=S256"
    ));
    let wait = Duration::from_secs(15);
    oidc.wait_for("form#login-form", wait);
    oidc.fill("input[name=username]", "ann");
    oidc.fill("input[name=password]", PW);
    oidc.click("button#submit");
    oidc.wait_for("form#code-form", wait);
    oidc.fill("input[name=code]", &totp(&phones[1]));
    oidc.click("button#submit");
    oidc.wait_for("#back", wait);
    let at_rp = oidc.url();
    assert!(
        at_rp.starts_with(&redirect) && at_rp.contains("state=lb1"),
        "{at_rp}"
    );
    let code = at_rp
        .split("code=")
        .nth(1)
        .and_then(|c| c.split('&').next())
        .expect("code")
        .to_owned();
    let http = mfa_e2e::https_client(&g);
    let (status, tokens) = token(
        &http,
        &base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string());

    // Round robin: both instances served these pages.
    let log = lb.access_log();
    for upstream in &upstreams {
        assert!(
            log.contains(upstream.as_str()),
            "{upstream} served nothing:\n{log}"
        );
    }
    // Both logins are in the audit trail, with the portal's and the provider's channel.
    let audit = audit_reasons(&g);
    for channel in ["\"portal\"", "\"oidc\""] {
        assert!(
            audit.lines().any(|l| l.contains("\"login_attempt\"")
                && l.contains("\"accept\"")
                && l.contains(channel)),
            "{channel}: {audit}"
        );
    }
    drop((a, b, lb));
    drop_database(&db);
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
