//! Out-of-band approval end to end (issue 6): a RADIUS client in second-factor-only mode
//! (as Microsoft RD Gateway: User-Name only) asks with radclient; the answer is held until the
//! person answers on the portal's live page in headless Chromium (server-sent events, no
//! reload by hand). Approve gives Access-Accept; deny and "this was not me" Access-Reject, and
//! "not me" locks further approvals. radclient's retransmits join the pending approval (one
//! prompt per login). The webhook gets each prompt, signed. Prompt bombing and replacement
//! are checked with short settings, the timeout by moving the instance's clock past the
//! prompt's expiry (no test waits for it in real time).

use std::net::SocketAddr;
use std::time::Duration;

use super::radius::{SECRET, radclient};
use mfa_e2e::browser::{Browser, Page};
use mfa_e2e::{
    Instance, StubResponse, audit_events, code_in_redirect, exchange_code, http_stub, https_client,
    https_instance, id_token_claims, portal_sign_in, seed_of, serve_with_env, sha256_hex, uri_in,
    wait_for, wait_until,
};
use mfa_gateway::otp::{self, OtpHash};

const PW: &str = "correct horse battery";
const ORG: &str = "Practice Noord";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const HOOK_SECRET: &str = "webhook-secret-0123456789";

/// A gateway with RADIUS on 127.0.0.1, a second-factor-only client for 127.0.0.1, HTTPS,
/// `approval` settings, and ann with a phone (its seed returned).
fn gateway(approval: &str) -> (Instance, Vec<u8>) {
    // The tests' push service listens on this machine.
    let mut extra = format!("\n[approval]\npush_allow_loopback = true\n{approval}\n");
    extra.push_str(&format!(
        "\n[[radius.clients]]\nname = \"rdgw\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"second_factor_only\"\nlabel = \"Remote desktop\"\n"
    ));
    let g = https_instance(&["approval"], &extra);
    g.ok(&["org", "add", ORG], None);
    mfa_e2e::add_person(&g, "ann", ORG, "Ann de Vries", None, PW);
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", "ann"], None)));
    (g, seed)
}

/// An RD Gateway request: User-Name only, with Message-Authenticator; one send, waiting
/// `wait` seconds.
fn rd_request(server: SocketAddr, user: &str, wait: u32) -> super::radius::Answer {
    radclient(
        server,
        "auth",
        SECRET,
        &format!("User-Name = {user}, Message-Authenticator = 0x00"),
        wait,
    )
}

/// An RD Gateway request from a client that retransmits (radclient -r `tries` -t 2, as RD
/// Gateway does while it waits), under way: what radclient has printed so far (line by
/// line, through stdbuf), and the thread that gives all it printed.
fn retransmitting_in_thread(
    server: SocketAddr,
    user: &str,
    tries: u32,
) -> (
    std::sync::Arc<std::sync::Mutex<String>>,
    std::thread::JoinHandle<String>,
) {
    use std::io::{BufRead as _, Write as _};
    let mut child = std::process::Command::new("stdbuf")
        .args([
            "-oL",
            "radclient",
            "-x",
            "-r",
            &tries.to_string(),
            "-t",
            "2",
        ])
        .arg(server.to_string())
        .args(["auth", SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("radclient (freeradius-utils) under stdbuf (coreutils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("User-Name = {user}, Message-Authenticator = 0x00").as_bytes())
        .unwrap();
    let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = printed.clone();
    let stdout = child.stdout.take().unwrap();
    let done = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
        child.wait().unwrap();
        sink.lock().unwrap().clone()
    });
    (printed, done)
}

/// How many prompts (`approval_requested`) the audit trail holds.
fn prompts(g: &Instance) -> usize {
    audit_events(g, Some("approval_requested")).len()
}

fn in_thread(server: SocketAddr, wait: u32) -> std::thread::JoinHandle<super::radius::Answer> {
    std::thread::spawn(move || rd_request(server, "ann", wait))
}

fn sign_in(g: &Instance, page: &Page<'_>, base: &str, seed: &[u8]) {
    sign_in_at(page, base, seed, g.now());
}

/// Sign in with the code of the time step at `t` (a second sign-in uses the next step:
/// a code is accepted once).
fn sign_in_at(page: &Page<'_>, base: &str, seed: &[u8], t: i64) {
    let code = otp::totp(seed, t, 30, OtpHash::Sha1, 6);
    portal_sign_in(page, base, "ann", PW, &code);
}

fn reasons(g: &Instance) -> String {
    g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "login_attempt",
            "--format",
            "jsonl",
            "--limit",
            "0",
        ],
        None,
    )
}

#[test]
fn rd_gateway_login_waits_for_approval_on_the_live_portal_page() {
    let hook = http_stub(|_| StubResponse {
        status: 204,
        headers: vec![],
        body: String::new(),
    });
    let (g, seed) = gateway(&format!(
        "timeout_seconds = 40\nmax_prompts = 10\nwebhook_url = \"{}\"\nwebhook_secret_env = \"MFA_E2E_HOOK\"\n",
        hook.url("/hook")
    ));
    let s = serve_with_env(&g, READY, &[("MFA_E2E_HOOK", HOOK_SECRET)]);
    let other_browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let server = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    sign_in(&g, &page, &base, &seed);
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("p#none", WAIT);
    page.screenshot("approvals-none");
    // Answers come from a device the person linked: this browser turns on notifications.
    let push_service = http_stub(|_| StubResponse {
        status: 201,
        headers: vec![],
        body: String::new(),
    });
    link_push_device(&page, &push_service.url("/push/rd"));

    // 1. Approve, while the client retransmits (radclient -r 4 -t 2, as RD Gateway does):
    // one prompt, one Access-Accept.
    let (printed, login) = retransmitting_in_thread(server, "ann", 4);
    page.wait_for("#pending", WAIT);
    // The client retransmits at least once before the answer.
    wait_until(WAIT, "radclient's retransmit", || {
        printed
            .lock()
            .unwrap()
            .matches("Sent Access-Request")
            .count()
            >= 2
    });
    assert!(
        page.text("#pending").contains("Remote desktop"),
        "{}",
        page.html()
    );
    assert!(page.text("#pending").contains("127.0.0.1"));
    page.screenshot("approval-pending");
    page.click("button#approve");
    page.wait_for("#message", WAIT);
    let out = login.join().unwrap();
    assert!(out.contains("Received Access-Accept"), "{out}");
    assert!(
        out.matches("Sent Access-Request").count() >= 2,
        "the client retransmitted: {out}"
    );
    page.screenshot("approval-approved");

    // The webhook got the prompt, signed.
    let requests = hook.requests.lock().unwrap().clone();
    let prompt = requests
        .iter()
        .find(|r| r.body.contains("approval_requested"))
        .expect("the webhook got the prompt");
    let header = |name: &str| {
        prompt
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let ts: i64 = header("x-mfa-timestamp").parse().unwrap();
    assert_eq!(
        header("x-mfa-signature"),
        mfa_gateway::webhook::signature(HOOK_SECRET.as_bytes(), ts, prompt.body.as_bytes())
    );
    assert!(
        prompt.body.contains("\"username\":\"ann\""),
        "{}",
        prompt.body
    );

    // A session on a browser that is not a linked device sees the request but cannot
    // answer it.
    let other = other_browser.new_page();
    sign_in_at(&other, &base, &seed, g.now() + 30);
    let login = in_thread(server, 40);
    other.goto(&format!("{base}/portal/approvals"));
    other.wait_for("#not-bound", WAIT);
    assert!(!other.exists("button#approve"));
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("#pending", WAIT);
    page.click("button#approve");
    page.wait_for("#message", WAIT);
    login.join().unwrap().assert_code("Access-Accept");

    // 2. Deny.
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("p#none", WAIT);
    let login = in_thread(server, 40);
    page.wait_for("#pending", WAIT);
    page.click("button#deny");
    page.wait_for("#message", WAIT);
    login.join().unwrap().assert_code("Access-Reject");

    // 3. "This was not me": refused, and further requests are refused at once, no prompt.
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("p#none", WAIT);
    let login = in_thread(server, 40);
    page.wait_for("#pending", WAIT);
    page.click("button#not-me");
    page.wait_for("#message", WAIT);
    login.join().unwrap().assert_code("Access-Reject");
    let started = std::time::Instant::now();
    rd_request(server, "ann", 10).assert_code("Access-Reject");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "refused without a prompt"
    );

    // An unknown user is refused.
    rd_request(server, "nobody", 10).assert_code("Access-Reject");

    drop(s);
    let attempts = reasons(&g);
    for r in [
        "approval_denied",
        "approval_not_me",
        "approvals_locked",
        "unknown_user",
    ] {
        assert!(attempts.contains(r), "{r} missing: {attempts}");
    }
    assert!(attempts.contains("\"outcome\":\"accept\""), "{attempts}");
    let answered = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "approval_answered",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(answered.contains("\"suspected_attack\":true"), "{answered}");
    let asked = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "approval_requested",
            "--format",
            "jsonl",
            "--limit",
            "0",
        ],
        None,
    );
    assert_eq!(asked.lines().count(), 4, "one prompt per login: {asked}");
}

/// The approvals' timeout here: long, so only the moved clock ends a wait in a test.
const TIMEOUT: &str = "timeout_seconds = 30\n";

/// Moves `g`'s clock past the expiry of a prompt made now ([`TIMEOUT`]).
fn past_the_timeout(g: &Instance) {
    g.advance_clock(31);
}

#[test]
fn retransmits_join_and_bombing_replacement_and_timeout_are_handled() {
    let (g, _seed) = gateway(&format!("{TIMEOUT}max_prompts = 2\nwindow_seconds = 600\n"));
    let s = serve_with_env(&g, READY, &[]);
    let server = s.addr("radius udp", "127.0.0.1");

    // A retransmitting client (radclient -r 3 -t 2): one prompt, one answer (timeout, once
    // the gateway's clock passes the prompt's expiry, after a retransmit joined the login).
    let (printed, login) = retransmitting_in_thread(server, "ann", 3);
    wait_until(WAIT, "the first prompt", || prompts(&g) >= 1);
    wait_until(WAIT, "radclient's retransmit", || {
        printed
            .lock()
            .unwrap()
            .matches("Sent Access-Request")
            .count()
            >= 2
    });
    past_the_timeout(&g);
    let text = login.join().unwrap();
    assert!(text.contains("Access-Reject"), "{text}");

    // Replacement: a second login while the first waits; the first is refused.
    let first = in_thread(server, 10);
    wait_until(WAIT, "the second prompt", || prompts(&g) >= 2);
    // The window allows 2 prompts: the retransmitted login used one, `first` the second;
    // this one is over the limit and refused at once.
    let started = std::time::Instant::now();
    rd_request(server, "ann", 10).assert_code("Access-Reject");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no wait for a bombed prompt"
    );
    assert!(!first.is_finished(), "still held");
    past_the_timeout(&g);
    first.join().unwrap().assert_code("Access-Reject");
    drop(s);

    let attempts = reasons(&g);
    assert!(attempts.contains("approval_timed_out"), "{attempts}");
    assert!(attempts.contains("too_many_prompts"), "{attempts}");
    let asked = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "approval_requested",
            "--format",
            "jsonl",
            "--limit",
            "0",
        ],
        None,
    );
    assert_eq!(
        asked.lines().count(),
        2,
        "retransmits made no prompt: {asked}"
    );
}

#[test]
fn a_newer_login_replaces_the_pending_one() {
    let (g, _seed) = gateway(&format!("{TIMEOUT}max_prompts = 5\n"));
    let s = serve_with_env(&g, READY, &[]);
    let server = s.addr("radius udp", "127.0.0.1");
    let first = in_thread(server, 10);
    wait_until(WAIT, "the first prompt", || prompts(&g) >= 1);
    let second = in_thread(server, 10);
    // Replaced: refused at once; the newer one waits until its prompt expires.
    first.join().unwrap().assert_code("Access-Reject");
    wait_until(WAIT, "the second prompt", || prompts(&g) >= 2);
    past_the_timeout(&g);
    second.join().unwrap().assert_code("Access-Reject");
    drop(s);
    let attempts = reasons(&g);
    assert!(attempts.contains("approval_replaced"), "{attempts}");
    assert!(attempts.contains("approval_timed_out"), "{attempts}");
}

/// Web Push: the person turns on notifications (the browser's subscription, here one whose
/// push service is a local stub and whose keys the test holds, as a browser would), the
/// device is listed under My devices, and an RD Gateway login pushes an encrypted prompt
/// (RFC 8291) signed with the gateway's VAPID key (RFC 8292) that the test decrypts.
#[test]
fn a_prompt_is_pushed_encrypted_to_the_linked_browser() {
    let push_service = http_stub(|_| StubResponse {
        status: 201,
        headers: vec![],
        body: String::new(),
    });
    let (g, seed) = gateway("timeout_seconds = 30\nmax_prompts = 10\n");
    let s = serve_with_env(&g, READY, &[]);
    let server = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    sign_in(&g, &page, &base, &seed);
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("#push-optin", WAIT);
    let vapid = page
        .eval("document.getElementById('push-optin').dataset.vapidKey")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(vapid.len(), 87, "a P-256 public key, base64url: {vapid}");
    page.screenshot("approvals-push-optin");

    let (ua, auth) = link_push_device(&page, &push_service.url("/push/device-1"));
    page.wait_for("#push-optin", WAIT);
    page.goto(&format!("{base}/portal"));
    page.wait_for("ul.devices", WAIT);
    assert!(
        page.text("ul.devices").contains("test phone"),
        "{}",
        page.html()
    );

    // An RD Gateway login: the prompt reaches the push service, encrypted for this browser.
    let login = in_thread(server, 30);
    let pushed = wait_for(WAIT, "the push", || {
        push_service
            .requests
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.target == "/push/device-1")
            .cloned()
    });
    let header = |name: &str| {
        pushed
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert!(
        header("authorization").starts_with("vapid t="),
        "{pushed:?}"
    );
    assert!(header("authorization").contains(&format!("k={vapid}")));
    let clear =
        mfa_gateway::webpush::decrypt(ua.to_private_bytes().expose(), &auth, &pushed.raw_body)
            .unwrap();
    let message: serde_json::Value = serde_json::from_slice(&clear).unwrap();
    assert_eq!(message["url"], "/portal/approvals");
    assert!(
        message["body"].as_str().unwrap().contains("Remote desktop"),
        "{message}"
    );

    // Approve: the login goes through.
    page.goto(&format!("{base}/portal/approvals"));
    page.wait_for("#pending", WAIT);
    page.click("button#approve");
    page.wait_for("#message", WAIT);
    login.join().unwrap().assert_code("Access-Accept");
}

/// On the approvals page of a signed-in `page`: link a push subscription whose push service
/// is `endpoint` (the test plays the browser: its key pair and auth secret are returned).
fn link_push_device(page: &Page<'_>, endpoint: &str) -> (mfa_gateway::webpush::VapidKey, [u8; 16]) {
    use base64::Engine as _;
    // The browser's side of a subscription: its own key pair and auth secret.
    let ua = mfa_gateway::webpush::VapidKey::generate().unwrap();
    let auth = [7u8; 16];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let subscription = serde_json::json!({
        "endpoint": endpoint,
        "keys": { "p256dh": ua.public_key_b64url(), "auth": b64.encode(auth) },
    })
    .to_string();
    // Submitted as a person's click would (`requestSubmit` fires the submit event, which
    // stops the page's own reload on a new request), and the next page waited for: the old
    // one has `#push-optin` too, and a reload of it would cancel the post and its cookie.
    page.eval_and_wait_for_new_document(&format!(
        "(() => {{ const f = document.createElement('form'); f.method = 'post'; \
           f.action = '/portal/push/subscribe'; \
           const add = (n, v) => {{ const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }}; \
           add('csrf', document.querySelector('#push-optin input[name=csrf]').value); \
           add('subscription', {subscription:?}); add('label', 'test phone'); \
           document.body.appendChild(f); f.requestSubmit(); return true; }})()"
    ));
    page.wait_for("#push-optin", WAIT);
    (ua, auth)
}

/// The login page's "Send a request to my phone": the person signs in on a computer with the
/// password, and approves on their phone instead of typing a code.
#[test]
fn the_login_page_can_ask_the_phone_instead_of_a_code() {
    let push_service = http_stub(|_| StubResponse {
        status: 201,
        headers: vec![],
        body: String::new(),
    });
    let (g, seed) = gateway("timeout_seconds = 30\nmax_prompts = 10\n");
    let s = serve_with_env(&g, READY, &[]);
    let base = s.listener("http");
    let cert = g.dir.path().join("certs/server.pem");
    let phone_browser = Browser::launch_trusting(&[&cert]);
    let phone = phone_browser.new_page();
    sign_in(&g, &phone, &base, &seed);
    phone.goto(&format!("{base}/portal/approvals"));
    phone.wait_for("#push-optin", WAIT);
    link_push_device(&phone, &push_service.url("/push/phone"));

    let computer_browser = Browser::launch_trusting(&[&cert]);
    let computer = computer_browser.new_page();
    computer.goto(&format!("{base}/portal/login"));
    computer.wait_for("form#login-form", WAIT);
    computer.fill("input[name=username]", "ann");
    computer.fill("input[name=password]", PW);
    computer.click("button#submit");
    computer.wait_for("button#send-request", WAIT);
    computer.screenshot("code-page-with-request");
    computer.click("button#send-request");
    computer.wait_for("#waiting", WAIT);
    computer.screenshot("waiting-for-approval");

    // Number matching: the page shows a number; the phone offers three, with no plain
    // Approve. A wrong choice denies (and is audited).
    let number = computer.text("#match-number");
    phone.goto(&format!("{base}/portal/approvals"));
    phone.wait_for("#pending", WAIT);
    assert!(
        phone.text("#pending").contains("Self-service portal"),
        "{}",
        phone.html()
    );
    assert!(!phone.exists("button#approve"));
    assert!(
        phone.exists(&format!("button#choice-{number}")),
        "{}",
        phone.html()
    );
    let wrong = (10..=99)
        .map(|n: u32| n.to_string())
        .find(|n| *n != number && phone.exists(&format!("button#choice-{n}")))
        .expect("two other choices");
    phone.screenshot("number-matching-choices");
    phone.click(&format!("button#choice-{wrong}"));
    phone.wait_for("#message", WAIT);
    assert!(
        phone.text("#message").contains("not the number"),
        "{}",
        phone.html()
    );
    // The computer is told it was not approved and may send a new request.
    computer.wait_for("button#send-request", Duration::from_secs(20));
    computer.click("button#send-request");
    computer.wait_for("#waiting", WAIT);
    let number = computer.text("#match-number");
    phone.goto(&format!("{base}/portal/approvals"));
    phone.wait_for("#pending", WAIT);
    phone.click(&format!("button#choice-{number}"));
    phone.wait_for("#message", WAIT);

    // The waiting page goes on by itself: signed in.
    computer.wait_for("ul.devices", Duration::from_secs(20));
    drop(s);
    let answered = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "approval_answered",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(
        answered.contains("\"reason\":\"wrong_number\""),
        "{answered}"
    );
    let attempts = reasons(&g);
    assert!(attempts.contains("approval_denied"), "{attempts}");
    assert!(
        attempts
            .lines()
            .any(|l| l.contains("\"channel\":\"portal\"")
                && l.contains("\"outcome\":\"accept\"")
                && l.contains("approval")),
        "{attempts}"
    );
}

/// "Send a request to my phone" on the OIDC login page: the relying party gets its code, and
/// the ID token's amr says pwd and mfa (no one-time code was typed).
#[test]
fn an_oidc_login_is_approved_on_the_phone() {
    use base64::Engine as _;
    let rp_page = http_stub(|_| StubResponse::html("<p id=\"done\">back at the app</p>"));
    let redirect = rp_page.url("/cb");
    let secret = "rp-secret-0123456789abcdef";
    let secret_sha256 = sha256_hex(secret);
    let push_service = http_stub(|_| StubResponse {
        status: 201,
        headers: vec![],
        body: String::new(),
    });
    let (g, seed) = gateway(&format!(
        "timeout_seconds = 30\nmax_prompts = 10\n\n[[oidc.clients]]\nclient_id = \"rp\"\nname = \"Web desktop\"\nsecret_sha256 = \"{secret_sha256}\"\nredirect_uris = [\"{redirect}\"]\nflows = [\"code\"]\nrequire_pkce = true\n"
    ));
    let s = serve_with_env(&g, READY, &[]);
    let base = s.listener("http");
    let cert = g.dir.path().join("certs/server.pem");
    let phone_browser = Browser::launch_trusting(&[&cert]);
    let phone = phone_browser.new_page();
    sign_in(&g, &phone, &base, &seed);
    phone.goto(&format!("{base}/portal/approvals"));
    phone.wait_for("#push-optin", WAIT);
    link_push_device(&phone, &push_service.url("/push/phone"));

    let verifier = "a-pkce-verifier-that-is-long-enough-0123456789abcdef";
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let challenge = b64.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let computer_browser = Browser::launch_trusting(&[&cert]);
    let computer = computer_browser.new_page();
    computer.goto(&format!(
        "{base}/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid&state=st&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        redirect.replace(':', "%3A").replace('/', "%2F")
    ));
    computer.wait_for("form#login-form", WAIT);
    computer.fill("input[name=username]", "ann");
    computer.fill("input[name=password]", PW);
    computer.click("button#submit");
    computer.wait_for("button#send-request", WAIT);
    computer.click("button#send-request");
    computer.wait_for("#waiting", WAIT);

    let number = computer.text("#match-number");
    phone.goto(&format!("{base}/portal/approvals"));
    phone.wait_for("#pending", WAIT);
    assert!(
        phone.text("#pending").contains("Web desktop"),
        "{}",
        phone.html()
    );
    phone.click(&format!("button#choice-{number}"));
    phone.wait_for("#message", WAIT);

    computer.wait_for("#done", Duration::from_secs(20));
    let tokens = exchange_code(
        &https_client(&g),
        &base,
        ("rp", Some(secret)),
        &code_in_redirect(&computer.url()),
        &redirect,
        verifier,
    );
    let claims = id_token_claims(&tokens);
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(amr.contains(&"pwd") && amr.contains(&"mfa"), "{amr:?}");
    assert!(!amr.contains(&"otp"), "{amr:?}");
}
