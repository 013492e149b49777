//! Security keys and passkeys end to end: the real `mfa-gateway serve` with HTTPS at
//! https://localhost:PORT (WebAuthn needs a domain as relying party id), headless Chromium
//! with a virtual authenticator (DevTools WebAuthn domain: CTAP2, resident keys, user
//! verification). A person with two phones adds a key in the portal, signs in with it (the
//! portal, and an OIDC authorization whose ID token says `hwk`), with either phone in the
//! browser, and with both phones over RADIUS (radclient). A forged answer is a failed,
//! audited attempt. Screenshots of the new pages.

use mfa_e2e::csrf_in;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use mfa_e2e::browser::{Browser, Page};
use mfa_e2e::{
    Instance, Phone, Serving, StubResponse, audit_events, config, exchange_code, http_stub,
    https_client_with, id_token_claims, seed_of, serve, sha256_hex, uri_in,
};
use reqwest::StatusCode;
use reqwest::blocking::Client as Http;
use serde_json::{Value, json};

const PW: &str = "correct horse battery";
const ORG: &str = "Practice Noord";
const USER: &str = "ann";
const RADIUS_SECRET: &str = "e2e-shared-secret-0123";
const RP_SECRET: &str = "rp-secret-0123456789abcdef-XYZ";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);

struct Gw {
    g: Instance,
    s: Serving,
    /// https://localhost:PORT
    base: String,
    phones: [Phone; 2],
}

impl Gw {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every event of `kind` in the audit trail, oldest first.
    fn events(&self, kind: &str) -> Vec<Value> {
        audit_events(&self.g, Some(kind))
    }
}

/// A gateway at https://localhost:PORT with RADIUS (append mode for 127.0.0.1), an OIDC
/// client `rp` redirecting to `redirect`, and ann with two phones.
fn gateway(redirect: &str) -> Gw {
    let g = Instance::init();
    // A free port for the web listener: the public URL must name it.
    let port = mfa_e2e::free_port();
    let base = format!("https://localhost:{port}");
    g.edit_config(|doc| {
        config::local_https(doc, &[]);
        config::merge(
            doc,
            &format!(
                "[http]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"{base}\"\n\
                 \n[[oidc.clients]]\nclient_id = \"rp\"\n\
                 name = \"Test RP\"\nsecret_sha256 = \"{}\"\nredirect_uris = [\"{redirect}\"]\n\
                 flows = [\"code\"]\nrequire_pkce = true\nrefresh_tokens = false\n\
                 id_token_alg = \"EdDSA\"\n\n[[radius.clients]]\nname = \"rdgw\"\n\
                 address = \"127.0.0.1/32\"\nsecret = \"{RADIUS_SECRET}\"\nmode = \"append\"\n",
                sha256_hex(RP_SECRET)
            ),
        );
    });
    g.ok(&["org", "add", ORG], None);
    mfa_e2e::add_person(&g, USER, ORG, "Ann de Vries", Some("ann@example.org"), PW);
    let phone = |label: &str| {
        Phone::new(seed_of(&uri_in(
            &g.ok(&["device", "add-totp", USER, "--label", label], None),
        )))
    };
    let phones = [phone("business phone"), phone("private phone")];
    let s = serve(&g, READY);
    Gw { g, s, base, phones }
}

/// A virtual CTAP2 authenticator with resident keys and user verification, on `page`.
fn virtual_authenticator(page: &Page<'_>, transport: &str) -> String {
    page.cdp("WebAuthn.enable", json!({}));
    let r = page.cdp(
        "WebAuthn.addVirtualAuthenticator",
        json!({ "options": {
            "protocol": "ctap2",
            "transport": transport,
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        }}),
    );
    r["authenticatorId"].as_str().unwrap().to_owned()
}

/// Username and password on the login page at hand; then the code page.
fn password_step(page: &Page<'_>) {
    page.wait_for("form#login-form", WAIT);
    page.fill("input[name=username]", USER);
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
}

fn portal_with_code(page: &Page<'_>, gw: &Gw, code: &str) {
    page.goto(&gw.url("/portal/login"));
    password_step(page);
    page.fill("input[name=code]", code);
    page.click("button#submit");
    page.wait_for("ul.devices", WAIT);
}

/// On the code page: "Use a security key", then the key page's button.
fn key_step(page: &Page<'_>, shot: Option<&str>) {
    assert!(page.exists("button#use-key"), "{}", page.html());
    page.click("button#use-key");
    page.wait_for("form#key-form", WAIT);
    if let Some(name) = shot {
        page.screenshot(name);
    }
    page.click("button#webauthn-start");
}

fn sign_out(page: &Page<'_>) {
    page.click("button#logout");
    page.wait_for("h1", WAIT);
    assert_eq!(page.text("h1"), "Signed out");
}

/// `echo ATTRS | radclient -x -r 1 -t 10 SERVER auth SECRET`: the reply's code.
fn radius_auth(server: std::net::SocketAddr, password: &str) -> String {
    let mut child = Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "10"])
        .arg(server.to_string())
        .args(["auth", RADIUS_SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient (apt-get install freeradius-utils)");
    let attrs = format!(
        r#"User-Name = "{USER}", User-Password = "{password}", Message-Authenticator = 0x00"#
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(attrs.as_bytes()).unwrap();
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    out.lines()
        .find_map(|l| l.strip_prefix("Received "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("no reply")
        .to_owned()
}

/// The gateway's CA, trusted by reqwest (ring), redirects not followed.
fn http(gw: &Gw) -> Http {
    http_with(gw, false)
}

fn http_with(gw: &Gw, cookies: bool) -> Http {
    https_client_with(&gw.g, cookies)
}

fn query(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

#[test]
fn a_security_key_is_added_in_the_portal_and_signs_in_to_portal_and_oidc() {
    let site = http_stub(|r| {
        if r.target.starts_with("/callback") {
            StubResponse::html("<!doctype html><title>RP</title><p id=\"done\">signed in</p>")
        } else {
            StubResponse::not_found()
        }
    });
    let redirect = site.url("/callback");
    let gw = gateway(&redirect);
    let browser = Browser::launch_trusting(&[&gw.g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    virtual_authenticator(&page, "usb");

    // Sign in with password + a phone, and add a key with a name.
    portal_with_code(&page, &gw, &gw.phones[0].code(&gw.g));
    assert!(page.exists("form#key-new-form"), "{}", page.html());
    page.fill("input#key-label", "blue key");
    page.click("button#add-key");
    page.wait_for("form#key-add-form", WAIT);
    page.screenshot("add-key");
    page.click("button#webauthn-start");
    page.wait_for("ul.devices", WAIT);
    let devices = page.text("ul.devices");
    assert!(
        devices.contains("blue key") && devices.contains("Security key"),
        "{}\n{}",
        page.html(),
        gw.s.log()
    );
    page.eval("document.querySelector('li.device:last-of-type').scrollIntoView()");
    page.screenshot("my-devices-with-key");
    let linked = gw.events("device_linked");
    let key_event = linked.last().unwrap();
    assert_eq!(key_event["device_label"], "blue key", "{linked:#?}");
    assert_eq!(key_event["channel"], "portal");
    // Announced (no relay configured: audited with its body, the "not me" link left out).
    // The mail goes out on a task of its own: wait for its event.
    let announced = |mails: &[Value]| {
        mails.iter().any(|m| {
            m["detail"]["body"].as_str().is_some_and(|b| {
                b.contains("A security key named \"blue key\" was linked")
                    && b.contains("disable the device at once:\n(link)")
            })
        })
    };
    mfa_e2e::wait_until(WAIT, "the mail about the new key", || {
        announced(&gw.events("mail_sent"))
    });
    sign_out(&page);

    // Sign in with password + the key.
    page.goto(&gw.url("/portal/login"));
    password_step(&page);
    page.screenshot("code-or-key");
    key_step(&page, Some("use-key"));
    page.wait_for("ul.devices", WAIT);
    assert!(
        page.text("ul.devices").contains("blue key"),
        "{}",
        page.html()
    );
    let key_meta = page.eval(
        "[...document.querySelectorAll('li.device')].find(li => \
           li.querySelector('.label').innerText === 'blue key').querySelector('.meta').innerText",
    );
    assert!(
        !key_meta.as_str().unwrap().contains("last used never"),
        "the key's last use is shown: {key_meta}"
    );
    sign_out(&page);

    // A forged answer is a failed attempt, audited, and the code page comes back.
    page.goto(&gw.url("/portal/login"));
    password_step(&page);
    page.click("button#use-key");
    page.wait_for("form#key-form", WAIT);
    page.eval(
        "document.querySelector('form#key-form input[name=response]').value = '{\"id\":\"x\"}'",
    );
    page.eval("document.querySelector('form#key-form').submit()");
    page.wait_for("form#code-form", WAIT);
    assert!(
        page.text("p.error")
            .contains("security key was not accepted")
    );

    // Either phone still signs in in the browser.
    page.fill("input[name=code]", &gw.phones[1].code(&gw.g));
    page.click("button#submit");
    page.wait_for("ul.devices", WAIT);
    sign_out(&page);
    portal_with_code(&page, &gw, &gw.phones[0].code(&gw.g));
    sign_out(&page);

    // An OIDC authorization with the key: the ID token says hwk.
    let verifier = "a-pkce-verifier-that-is-long-enough-0123456789abcdef";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let authorize = format!(
        "{}/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid%20profile&\
         state=st4te&nonce=n0nce&code_challenge={challenge}&code_challenge_method=S256",
        gw.base,
        redirect.replace(':', "%3A").replace('/', "%2F"),
    );
    page.goto(&authorize);
    password_step(&page);
    key_step(&page, None);
    page.wait_for("#done", WAIT);
    let back = page.url();
    assert_eq!(query(&back, "state").as_deref(), Some("st4te"), "{back}");
    let code = query(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let tokens = exchange_code(
        &http(&gw),
        &gw.base,
        ("rp", Some(RP_SECRET)),
        &code,
        &redirect,
        verifier,
    );
    let claims = id_token_claims(&tokens);
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(amr.contains(&"hwk") && amr.contains(&"pwd"), "amr {amr:?}");
    assert!(!amr.contains(&"otp"), "no one-time code was used: {amr:?}");
    assert_eq!(claims["preferred_username"], USER);

    // Over RADIUS keys do not apply: both phones' codes do.
    let server = gw.s.addr("radius udp", "127.0.0.1");
    for phone in &gw.phones {
        assert_eq!(
            radius_auth(server, &format!("{PW}{}", phone.code(&gw.g))),
            "Access-Accept"
        );
    }

    // The audit: each login names its device; the key's from the portal and from OIDC.
    let logins = gw.events("login_attempt");
    let by_key: Vec<&Value> = logins
        .iter()
        .filter(|e| e["device_label"] == "blue key" && e["outcome"] == "accept")
        .collect();
    assert_eq!(
        by_key
            .iter()
            .map(|e| e["channel"].as_str())
            .collect::<Vec<_>>(),
        [Some("portal"), Some("oidc")],
        "{logins:#?}"
    );
    assert_eq!(by_key[1]["client"], "rp");
    let refused: Vec<&Value> = logins.iter().filter(|e| e["reason"] == "bad_key").collect();
    assert_eq!(refused.len(), 1, "{logins:#?}");
    assert_eq!(refused[0]["channel"], "portal");
    let accepted_devices: Vec<&str> = logins
        .iter()
        .filter(|e| e["outcome"] == "accept")
        .filter_map(|e| e["device_label"].as_str())
        .collect();
    for d in ["business phone", "private phone", "blue key"] {
        assert!(accepted_devices.contains(&d), "{accepted_devices:?}");
    }
    let radius: Vec<&Value> = logins
        .iter()
        .filter(|e| e["channel"] == "radius" && e["outcome"] == "accept")
        .collect();
    assert_eq!(radius.len(), 2, "{logins:#?}");
}

#[test]
fn a_passkey_confirms_removing_a_phone() {
    let gw = gateway("http://127.0.0.1:9/callback");
    let browser = Browser::launch_trusting(&[&gw.g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    virtual_authenticator(&page, "internal");

    portal_with_code(&page, &gw, &gw.phones[0].code(&gw.g));
    page.fill("input#key-label", "laptop passkey");
    page.click("button#add-key");
    page.wait_for("form#key-add-form", WAIT);
    page.click("button#webauthn-start");
    page.wait_for("ul.devices", WAIT);
    assert!(page.text("ul.devices").contains("laptop passkey"));

    // The same authenticator cannot be linked twice.
    page.fill("input#key-label", "again");
    page.click("button#add-key");
    page.wait_for("form#key-add-form", WAIT);
    page.click_in_place("button#webauthn-start");
    page.wait_for("#webauthn-error:not([hidden])", WAIT);

    // Remove the business phone, confirmed with the passkey.
    page.goto(&gw.url("/portal"));
    page.wait_for("ul.devices", WAIT);
    let id = page
        .eval(
            "(() => { for (const li of document.querySelectorAll('li.device')) { \
               if (li.querySelector('.label').innerText === 'business phone') return li.id.slice(7); } \
             return null; })()",
        )
        .as_str()
        .unwrap()
        .to_owned();
    page.click(&format!("#remove-{id}"));
    page.wait_for("form#remove-form", WAIT);
    assert!(page.exists("button#remove-with-key"), "{}", page.html());
    page.click("button#remove-with-key");
    page.wait_for("form#key-remove-form", WAIT);
    page.screenshot("remove-with-key");
    page.click("button#webauthn-start");
    page.wait_for("ul.devices", WAIT);
    assert!(
        !page.exists(&format!("#device-{id}")),
        "{}\n{}",
        page.html(),
        gw.s.log()
    );
    let removed = gw.events("device_removed");
    assert_eq!(removed.len(), 1, "{removed:#?}");
    assert_eq!(removed[0]["device_label"], "business phone");
    let confirms: Vec<Value> = gw
        .events("login_attempt")
        .into_iter()
        .filter(|e| e["detail"]["confirms"] == "remove_device")
        .collect();
    assert_eq!(confirms.len(), 1);
    assert_eq!(confirms[0]["device_label"], "laptop passkey");
}

/// POST a form: (status, Content-Security-Policy, body).
fn post(h: &Http, url: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = h.post(url).form(fields).send().unwrap();
    let csp = r
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), csp, r.text().unwrap())
}

#[test]
fn key_actions_need_a_session_and_its_csrf_token_and_use_a_challenge_once() {
    let gw = gateway("http://127.0.0.1:9/callback");
    let portal_actions = [
        "/portal/devices/key/new",
        "/portal/devices/key/confirm",
        "/portal/devices/1/remove/key",
        "/portal/devices/1/remove/key/finish",
    ];
    let login_actions = ["/login/key", "/login/key/finish", "/login/code/again"];

    // No session: refused.
    let anon = http_with(&gw, false);
    for a in portal_actions.iter().chain(&login_actions) {
        let (status, _, _) = post(&anon, &gw.url(a), &[("csrf", "x"), ("label", "k")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} without a session");
    }

    // The script is served, as JavaScript.
    let js = anon.get(gw.url("/static/webauthn.js")).send().unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().unwrap().contains("navigator.credentials"));

    // After the password: the key step needs the session's token.
    let agent = http_with(&gw, true);
    let login = agent
        .get(gw.url("/portal/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = csrf_in(&login);
    let (_, csp, code_page) = post(
        &agent,
        &gw.url("/portal/login"),
        &[("csrf", &csrf), ("username", USER), ("password", PW)],
    );
    assert!(code_page.contains("code-form"), "{code_page}");
    assert!(
        !csp.contains("script-src"),
        "no script on the code page: {csp}"
    );
    assert!(
        !code_page.contains("use-key"),
        "no key linked yet: no key button"
    );
    let csrf = csrf_in(&code_page);
    for a in login_actions {
        let (status, _, _) = post(&agent, &gw.url(a), &[("csrf", "wrong")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} with a wrong token");
    }
    // No key linked: the key step says so.
    let (status, _, page) = post(&agent, &gw.url("/login/key"), &[("csrf", &csrf)]);
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No security key is linked"), "{page}");
    let (status, _, _) = post(
        &agent,
        &gw.url("/login/code"),
        &[("csrf", &csrf), ("code", &gw.phones[0].code(&gw.g))],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", gw.s.log());

    // Signed in: without or with a wrong token refused.
    let devices = agent.get(gw.url("/portal")).send().unwrap().text().unwrap();
    let csrf = csrf_in(&devices);
    for a in portal_actions {
        let (status, _, _) = post(&agent, &gw.url(a), &[("label", "k")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} without a token");
        let (status, _, _) = post(&agent, &gw.url(a), &[("csrf", "wrong"), ("label", "k")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} with a wrong token");
    }

    // With it: the key page, the only one whose CSP allows the script (from here only).
    let (status, csp, page) = post(
        &agent,
        &gw.url("/portal/devices/key/new"),
        &[("csrf", &csrf), ("label", "blue key")],
    );
    assert_eq!(status, StatusCode::OK);
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(page.contains(r#"<script src="/static/webauthn.js" defer></script>"#));
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    assert!(
        page.contains("<noscript>"),
        "says what to do without JavaScript"
    );
    assert!(page.contains("data-options="), "{page}");
    // A forged answer is refused and nothing is linked; the challenge is then spent.
    let (status, _, page) = post(
        &agent,
        &gw.url("/portal/devices/key/confirm"),
        &[
            ("csrf", &csrf),
            (
                "response",
                r#"{"id":"x","rawId":"eA","type":"public-key","response":{"attestationObject":"AA","clientDataJSON":"AA"}}"#,
            ),
        ],
    );
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("was not accepted"), "{page}");
    let (_, _, page) = post(
        &agent,
        &gw.url("/portal/devices/key/confirm"),
        &[("csrf", &csrf), ("response", "{}")],
    );
    assert!(page.contains("took too long"), "{page}");
    assert!(
        gw.events("device_linked")
            .iter()
            .all(|e| e["channel"] != "portal"),
        "nothing linked in the portal"
    );
    // A bad name is refused before any challenge.
    let (_, _, page) = post(
        &agent,
        &gw.url("/portal/devices/key/new"),
        &[("csrf", &csrf), ("label", "  ")],
    );
    assert!(page.contains("Give the device a name"), "{page}");
}
