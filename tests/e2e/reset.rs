//! Self-service password reset end to end: the real `mfa-gateway serve` with HTTPS and an
//! SMTP sink, driven by headless Chromium from the sign-in page's "Forgot password?" link:
//! the request, the mailed link, a code from the phone, a password on the breached list
//! (refused, the form goes on), the new password, sign-in with it; the link refused the
//! second time; an unknown address answered the same and sent nothing; a person whose
//! password is their organisation's gets a mail saying so and no link. The audit trail has
//! every step and never the link, a code or a password.

use std::time::Duration;

use mfa_e2e::browser::Browser;
use mfa_e2e::{
    Instance, Phone, SmtpSink, audit_events, https_instance, portal_sign_in, seed_of, serve,
    smtp_sink, uri_in,
};
use serde_json::Value;

const OLD_PW: &str = "correct horse battery";
const BREACHED_PW: &str = "Summer2026!!";
const NEW_PW: &str = "staple gun in the attic";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);

/// `init`, with HTTPS, mail to `sink`, cheap hashing and a breached-password list holding
/// `BREACHED_PW` (as a SHA-1, HIBP style) and a plain password.
fn gateway(sink: &SmtpSink) -> Instance {
    let g = https_instance(
        &["mail", "password"],
        &format!(
            "[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n\
             \n[password]\nargon2_memory_kib = 256\nargon2_iterations = 1\nmin_length = 10\n\
             blocklist_file = \"breached.txt\"\n",
            sink.addr
        ),
    );
    use sha1::Digest as _;
    let sha1 = hex::encode_upper(sha1::Sha1::digest(BREACHED_PW.as_bytes()));
    std::fs::write(
        g.dir.path().join("breached.txt"),
        format!("{sha1}:4711\r\nqwertyuiop123\r\n"),
    )
    .unwrap();
    g
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The link in a mail (quoted-printable soft breaks undone).
fn link_in(data: &str, base: &str) -> String {
    let data = data.replace("=\r\n", "");
    let at = data
        .find(&format!("{base}/reset/"))
        .unwrap_or_else(|| panic!("no link in {data}"));
    data[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// The page's main text without the parts that differ per request (none should).
fn main_text(page: &mfa_e2e::browser::Page<'_>) -> String {
    page.text("main")
}

#[test]
fn chromium_resets_a_forgotten_password() {
    let sink = smtp_sink();
    let g = gateway(&sink);
    g.ok(&["org", "add", "Practice Noord"], None);
    mfa_e2e::add_person(
        &g,
        "ann",
        "Practice Noord",
        "Ann de Vries",
        Some("ann@example.org"),
        OLD_PW,
    );
    let phone = Phone::new(seed_of(&uri_in(
        &g.ok(&["device", "add-totp", "ann"], None),
    )));
    // Dirk signs in with his organisation's (directory) password: none is kept here.
    g.ok(
        &[
            "person",
            "add",
            "dirk",
            "--org",
            "Practice Noord",
            "--name",
            "Dirk Jansen",
            "--email",
            "dirk@example.org",
            "--no-password",
        ],
        None,
    );
    // The CLI meets the same policy: a listed password is refused there too.
    let cli = g.run(
        &["person", "set-password", "ann", "--password-stdin"],
        Some(&format!("{BREACHED_PW}\n")),
    );
    assert!(
        cli.stderr.contains("breached passwords") || cli.stdout.contains("breached passwords"),
        "{cli:?}"
    );
    let s = serve(&g, READY);
    let base = s.listener("http");
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();

    // From the sign-in page: Forgot password? with the address (other case).
    page.goto(&format!("{base}/portal/login"));
    page.wait_for("form#login-form", WAIT);
    page.click("a#forgot-password");
    page.wait_for("form#reset-request-form", WAIT);
    page.screenshot("reset-request");
    page.fill("input[name=identifier]", "ANN@example.org");
    page.click("button#submit");
    page.wait_for("h1#reset-sent", WAIT);
    let known = main_text(&page);
    page.screenshot("reset-sent");

    // An unknown address: the same page.
    page.goto(&format!("{base}/reset"));
    page.wait_for("form#reset-request-form", WAIT);
    page.fill("input[name=identifier]", "nobody@example.org");
    page.click("button#submit");
    page.wait_for("h1#reset-sent", WAIT);
    assert_eq!(main_text(&page), known);

    // Dirk: the same page; his mail says where to change his password, with no link.
    page.goto(&format!("{base}/reset"));
    page.wait_for("form#reset-request-form", WAIT);
    page.fill("input[name=identifier]", "dirk");
    page.click("button#submit");
    page.wait_for("h1#reset-sent", WAIT);
    assert_eq!(main_text(&page), known);
    let dirk = sink.wait_for("organisation's password", WAIT);
    assert!(
        dirk.to.iter().any(|t| t.contains("dirk@example.org")),
        "{dirk:?}"
    );
    assert!(!dirk.data.contains("/reset/"), "{}", dirk.data);

    // The link from the mail: a wrong code, then the phone's.
    let mail = sink.wait_for("/reset/", WAIT);
    assert!(
        mail.to.iter().any(|t| t.contains("ann@example.org")),
        "{mail:?}"
    );
    let link = link_in(&mail.data, &base);
    page.goto(&link);
    page.wait_for("form#reset-code-form", WAIT);
    page.screenshot("reset-code");
    page.fill("input[name=code]", "000000");
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    assert!(
        page.text("p.error").contains("code is not right"),
        "{}",
        page.html()
    );
    page.fill("input[name=code]", &phone.code(&g));
    page.click("button#submit");
    page.wait_for("form#reset-password-form", WAIT);

    // A breached password is refused and the form goes on; then two that differ.
    page.fill("input[name=password]", BREACHED_PW);
    page.fill("input[name=password_again]", BREACHED_PW);
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    assert_eq!(
        page.text("p.error"),
        "This password appears in a list of breached passwords; choose another."
    );
    page.screenshot("reset-breached");
    assert!(page.exists("form#reset-password-form"));
    assert_eq!(
        page.eval("document.querySelector('input[name=password]').value"),
        Value::String(String::new()),
        "a password is never sent back"
    );
    page.fill("input[name=password]", NEW_PW);
    page.fill("input[name=password_again]", "staple gun in the cellar");
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    assert!(page.text("p.error").contains("differ"), "{}", page.html());
    page.fill("input[name=password]", NEW_PW);
    page.fill("input[name=password_again]", NEW_PW);
    page.click("button#submit");
    page.wait_for("h1#reset-done", WAIT);
    page.screenshot("reset-done");
    let changed = sink.wait_for("Your password was changed", WAIT);
    assert!(changed.to.iter().any(|t| t.contains("ann@example.org")));

    // The link works once.
    page.goto(&link);
    page.wait_for("h1", WAIT);
    assert_eq!(page.text("h1"), "Reset link not valid");

    // The old password no longer signs in; the new one does.
    page.goto(&format!("{base}/portal/login"));
    page.wait_for("form#login-form", WAIT);
    page.fill("input[name=username]", "ann");
    page.fill("input[name=password]", OLD_PW);
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    portal_sign_in(&page, &base, "ann", NEW_PW, &phone.code(&g));

    // One link was mailed, to ann; nothing to the unknown address.
    let mails = sink.mails();
    assert_eq!(
        mails.iter().filter(|m| m.data.contains("/reset/")).count(),
        1
    );
    assert!(
        mails
            .iter()
            .all(|m| m.to.iter().all(|t| !t.contains("nobody@"))),
        "{mails:?}"
    );

    // Audited, without a secret.
    let events = audit_events(&g, None);
    let reasons = |kind: &str| -> Vec<String> {
        of_kind(&events, kind)
            .iter()
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(of_kind(&events, "password_reset_requested").len(), 1);
    assert_eq!(of_kind(&events, "password_reset_completed").len(), 1);
    let refused = reasons("password_reset_refused");
    for reason in [
        "unknown_user",
        "no_local_password",
        "breached_password",
        "passwords_differ",
    ] {
        assert!(refused.iter().any(|r| r == reason), "{reason}: {refused:?}");
    }
    let mut code_steps: Vec<_> = of_kind(&events, "login_attempt")
        .into_iter()
        .filter(|e| e["client"] == "password-reset")
        .collect();
    code_steps.sort_by_key(|e| e["id"].as_i64());
    assert_eq!(code_steps.len(), 2, "the wrong code and the right one");
    assert_eq!(code_steps[0]["reason"], "bad_code", "{code_steps:?}");
    let trail = serde_json::to_string(&events).unwrap();
    let secret = link.rsplit('.').next().unwrap();
    for never in [NEW_PW, BREACHED_PW, OLD_PW, secret] {
        assert!(!trail.contains(never), "{never:?} in the audit trail");
    }
    let log = s.log();
    for never in [NEW_PW, BREACHED_PW, secret] {
        assert!(!log.contains(never), "{never:?} in the log");
    }
}
