//! The self-service portal end to end: the real `mfa-gateway serve` with HTTPS, driven by
//! headless Chromium through its pages (real clicks, a screenshot of each page): sign in,
//! add a phone from the secret shown, link a token from stock, rename, remove with a code
//! from another device, the last device refused, my logins. Then, with a plain HTTP client,
//! that no action works without a logged-in session or without its CSRF token.

use mfa_e2e::csrf_in;
use std::time::Duration;

use mfa_e2e::browser::{Browser, Page};
use mfa_e2e::{
    Instance, Phone, Serving, https_client_with, https_instance, seed_of, serve, uri_in,
};
use mfa_gateway::otp::{self, OtpHash};
use reqwest::StatusCode;
use reqwest::blocking::Client as Http;

const PW: &str = "correct horse battery";
const ORG: &str = "Practice Noord";
const USER: &str = "ann";
const SERIAL: &str = "TK000001";
const TOKEN_SEED: &[u8] = b"12345678901234567890";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);
const LAST_DEVICE: &str = "You cannot remove your last device";

struct Portal {
    g: Instance,
    s: Serving,
    base: String,
    phone: Phone,
}

impl Portal {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A gateway with HTTPS, ann with one phone, and one HOTP token in stock.
fn portal() -> Portal {
    let g = https_instance(&[], "");
    g.ok(&["org", "add", ORG], None);
    mfa_e2e::add_person(&g, USER, ORG, "Ann de Vries", None, PW);
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", USER], None)));
    let pskc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>{SERIAL}</SerialNo></DeviceInfo>
    <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"#,
        data_encoding::BASE64.encode(TOKEN_SEED)
    );
    let file = g.dir.path().join("tokens.xml");
    std::fs::write(&file, pskc).unwrap();
    g.ok(&["token", "import", file.to_str().unwrap()], None);
    let s = serve(&g, READY);
    let base = s.listener("http");
    Portal {
        g,
        s,
        base,
        phone: Phone::new(seed),
    }
}

/// The id of the device labelled `label` on My devices.
fn device_id(page: &Page<'_>, label: &str) -> String {
    let v = page.eval(&format!(
        "(() => {{ for (const li of document.querySelectorAll('li.device')) {{ \
           if (li.querySelector('.label').innerText === {label:?}) return li.id.slice(7); }} \
           return null; }})()"
    ));
    v.as_str()
        .unwrap_or_else(|| panic!("no device {label:?} on\n{}", page.html()))
        .to_owned()
}

fn sign_in(page: &Page<'_>, p: &Portal, code: &str) {
    page.goto(&p.url("/portal"));
    page.wait_for("form#login-form", WAIT);
    assert!(page.url().ends_with("/portal/login"), "{}", page.url());
    page.fill("input[name=username]", USER);
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", code);
    page.click("button#submit");
    page.wait_for("ul.devices", WAIT);
}

#[test]
fn chromium_manages_devices_in_the_portal() {
    let p = portal();
    let browser = Browser::launch_trusting(&[&p.g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();

    page.goto(&p.url("/portal"));
    page.wait_for("form#login-form", WAIT);
    page.screenshot("login");
    sign_in(&page, &p, &p.phone.code(&p.g));
    assert!(page.url().ends_with("/portal"), "{}", page.url());
    assert!(page.text("ul.devices").contains("phone"));
    page.screenshot("my-devices");

    // Add a phone: the key off the page, a code computed from it.
    page.click("button#add-phone");
    page.wait_for("form#confirm-form", WAIT);
    assert!(page.exists(".qr svg"), "a QR code");
    page.screenshot("add-phone");
    let key: String = page.text("#secret").split_whitespace().collect();
    let phone2 = Phone::new(data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap());
    page.fill("input[name=label]", "work phone");
    page.fill("input[name=code]", "000000");
    page.click("button#confirm");
    page.wait_for("p.error", WAIT);
    page.fill("input[name=label]", "work phone");
    page.fill("input[name=code]", &phone2.code(&p.g));
    page.click("button#confirm");
    page.wait_for("ul.devices", WAIT);
    assert!(
        page.text("ul.devices").contains("work phone"),
        "{}",
        p.s.log()
    );

    // Link the token from stock with its first code.
    page.fill("input#serial", SERIAL);
    page.fill("input#token-label", "red token");
    page.fill(
        "input#token-code",
        &otp::hotp(TOKEN_SEED, 0, OtpHash::Sha1, 6),
    );
    page.click("button#link-token");
    page.wait_for("ul.devices", WAIT);
    assert!(
        page.text("ul.devices").contains("red token"),
        "{}",
        page.html()
    );

    // Rename it.
    let token = device_id(&page, "red token");
    page.fill(&format!("#label-{token}"), "desk token");
    page.click(&format!("#rename-{token}"));
    page.wait_for("ul.devices", WAIT);
    assert_eq!(device_id(&page, "desk token"), token);

    // Sign out, and in again with the new phone and then the token's next code.
    page.click("button#logout");
    page.wait_for("h1", WAIT);
    assert_eq!(page.text("h1"), "Signed out");
    sign_in(&page, &p, &phone2.code(&p.g));
    page.click("button#logout");
    sign_in(&page, &p, &otp::hotp(TOKEN_SEED, 1, OtpHash::Sha1, 6));

    // Remove the first phone with the token's next code (a wrong code first), then the
    // token with a code from the work phone.
    let first = device_id(&page, "phone");
    page.click(&format!("#remove-{first}"));
    page.wait_for("form#remove-form", WAIT);
    page.screenshot("remove");
    page.fill("input[name=code]", "123456");
    page.click("button#confirm-remove");
    page.wait_for("p.error", WAIT);
    page.fill(
        "input[name=code]",
        &otp::hotp(TOKEN_SEED, 2, OtpHash::Sha1, 6),
    );
    page.click("button#confirm-remove");
    page.wait_for("ul.devices", WAIT);
    assert!(!page.exists(&format!("#device-{first}")), "{}", page.html());
    page.click(&format!("#remove-{token}"));
    page.wait_for("form#remove-form", WAIT);
    page.fill("input[name=code]", &phone2.code(&p.g));
    page.click("button#confirm-remove");
    page.wait_for("ul.devices", WAIT);
    assert!(!page.text("ul.devices").contains("desk token"));

    // The work phone is now the last device.
    let work = device_id(&page, "work phone");
    page.click(&format!("#remove-{work}"));
    page.wait_for("p.error", WAIT);
    assert!(
        page.text("p.error").contains(LAST_DEVICE),
        "{}",
        page.html()
    );
    assert_eq!(device_id(&page, "work phone"), work);
    page.screenshot("last-device-refused");

    // Recovery codes: shown once, each signs in once in place of a code.
    page.click("button#new-recovery");
    page.wait_for("ol#recovery-codes", WAIT);
    page.screenshot("recovery-codes");
    let codes: Vec<String> = page
        .text("ol#recovery-codes")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'),
        "{codes:?}"
    );
    page.click("a#done");
    page.wait_for("ul.devices", WAIT);
    assert_eq!(page.text("#recovery-left"), "10");
    page.click("button#logout");
    sign_in(&page, &p, &codes[3].to_lowercase());
    assert_eq!(page.text("#recovery-left"), "9");
    page.click("button#logout");
    page.goto(&p.url("/portal/login"));
    page.fill("input[name=username]", USER);
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", &codes[3]);
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    assert!(
        page.exists("form#code-form"),
        "the same recovery code again is refused"
    );
    page.fill("input[name=code]", &codes[4]);
    page.click("button#submit");
    page.wait_for("ul.devices", WAIT);

    // The same engine path RADIUS takes (Gateway::login) takes a recovery code, once.
    let login = |code: &str| {
        p.g.run(
            &["login", USER, "--code", code, "--password-stdin"],
            Some(&format!("{PW}\n")),
        )
    };
    let r = login(&codes[5]);
    assert!(r.ok && r.stdout.contains("recovery code"), "{r:?}");
    assert!(!login(&codes[5]).ok, "a spent recovery code");

    // My logins: the portal sign-ins, with device and outcome.
    page.goto(&p.url("/portal/logins"));
    page.wait_for("table#logins", WAIT);
    let logins = page.text("table#logins");
    assert!(logins.contains("portal"), "{logins}");
    assert!(logins.contains("work phone"), "{logins}");
    assert!(
        logins.contains("desk token") || logins.contains("red token"),
        "{logins}"
    );
    assert!(logins.contains("reject (bad code)"), "{logins}");
    assert!(logins.contains("recovery code"), "{logins}");
    assert!(logins.contains("to confirm: remove device"), "{logins}");
    page.screenshot("my-logins");

    // Every change is audited: channel portal, the person as actor.
    let changes: Vec<serde_json::Value> =
        p.g.ok(
            &[
                "audit",
                "search",
                "--format",
                "jsonl",
                "--limit",
                "0",
                "--channel",
                "portal",
            ],
            None,
        )
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["kind"] != "login_attempt")
        .collect();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "recovery_codes_generated",
            "device_removed",
            "device_removed",
            "device_renamed",
            "device_linked",
            "device_linked",
        ],
        "{changes:?}"
    );
    let actor = changes[0]["actor"].as_str().unwrap();
    assert!(actor.starts_with("person:"), "{actor}");
    assert!(
        changes
            .iter()
            .all(|e| e["actor"] == actor && e["client"] == "portal")
    );
}

// ---- refused without a session or CSRF token ----

fn http(p: &Portal, cookies: bool) -> Http {
    https_client_with(&p.g, cookies)
}

fn post(h: &Http, url: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = h.post(url).form(fields).send().unwrap();
    (r.status(), r.text().unwrap())
}

#[test]
fn portal_actions_need_a_session_and_its_csrf_token() {
    let p = portal();
    let actions = [
        "/portal/devices/totp/new",
        "/portal/devices/totp/confirm",
        "/portal/devices/token",
        "/portal/devices/1/rename",
        "/portal/devices/1/remove",
        "/portal/recovery",
        "/portal/logout",
    ];

    // No session: pages send to the sign-in page, actions are refused.
    let anon = http(&p, false);
    let r = anon.get(p.url("/portal")).send().unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/portal/login");
    for a in actions {
        let (status, _) = post(&anon, &p.url(a), &[("csrf", "x"), ("label", "mine")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} without a session");
    }

    // A session that has not finished signing in is no better.
    let agent = http(&p, true);
    let login = agent
        .get(p.url("/portal/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = csrf_in(&login);
    let (status, _) = post(
        &agent,
        &p.url(actions[3]),
        &[("csrf", &csrf), ("label", "x")],
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "before signing in");

    // Signed in: without or with a wrong token still refused; with it, done.
    let (_, code_page) = post(
        &agent,
        &p.url("/portal/login"),
        &[("csrf", &csrf), ("username", USER), ("password", PW)],
    );
    let csrf = csrf_in(&code_page);
    let (status, _) = post(
        &agent,
        &p.url("/login/code"),
        &[("csrf", &csrf), ("code", &p.phone.code(&p.g))],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", p.s.log());
    let devices = agent.get(p.url("/portal")).send().unwrap().text().unwrap();
    let csrf = csrf_in(&devices);
    let id = devices
        .split(r#"id="device-"#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let rename = p.url(&format!("/portal/devices/{id}/rename"));
    for a in actions {
        let (status, _) = post(&agent, &p.url(a), &[("label", "mine")]);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a} without a CSRF token");
        let (status, _) = post(&agent, &p.url(a), &[("csrf", "wrong"), ("label", "mine")]);
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{a} with a wrong CSRF token"
        );
    }
    let (status, _) = post(&agent, &rename, &[("csrf", &csrf), ("label", "mine")]);
    assert_eq!(status, StatusCode::SEE_OTHER);
    let devices = agent.get(p.url("/portal")).send().unwrap().text().unwrap();
    assert!(
        devices.contains(r#"<p class="label">mine</p>"#),
        "{devices}"
    );
    // Nothing refused was written: one rename in the audit.
    let audit =
        p.g.ok(&["audit", "search", "--kind", "device_renamed"], None);
    assert_eq!(audit.matches("device_renamed").count(), 1, "{audit}");
}
