//! The admin CLI end to end in a temp folder: init, org, person, devices, logins through the
//! engine with codes computed from the printed URI, a 1000-token PSKC import, assignment,
//! and errors that name where and change nothing.

use mfa_e2e::{Instance, config, seed_of, uri_in};
use mfa_gateway::otp::{self, OtpHash};

const PW: &str = "correct horse battery";

fn now() -> i64 {
    mfa_gateway::model::now()
}

fn totp(seed: &[u8]) -> String {
    otp::totp(seed, now(), 30, OtpHash::Sha1, 6)
}

/// A plain PSKC document with `n` HOTP tokens (serials TK000000..), all with `seed`.
fn pskc(n: usize, seed: &[u8]) -> String {
    use std::fmt::Write;
    let secret = data_encoding::BASE64.encode(seed);
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
"#,
    );
    for i in 0..n {
        write!(
            xml,
            r#"  <KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>TK{i:06}</SerialNo></DeviceInfo>
    <Key Id="{i}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{secret}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
"#
        )
        .unwrap();
    }
    xml.push_str("</KeyContainer>\n");
    xml
}

fn login(g: &Instance, user: &str, code: &str) -> (bool, String) {
    let r = g.run(
        &["login", user, "--code", code, "--password-stdin"],
        Some(&format!("{PW}\n")),
    );
    (r.ok, r.stdout.trim().to_owned())
}

#[test]
fn three_devices_any_works_replay_and_removal_fail_and_each_attempt_is_audited() {
    let g = Instance::init();
    for f in [
        "gateway.toml",
        "mfa-gateway.key",
        "mfa-gateway.db",
        "certs/server.pem",
        "certs/ca.pem",
    ] {
        assert!(g.dir.path().join(f).exists(), "init made {f}");
    }
    g.ok(&["org", "add", "Practice Noord"], None);
    assert!(g.ok(&["org", "list"], None).contains("Practice Noord"));
    g.ok(
        &[
            "person",
            "add",
            "ann",
            "--org",
            "Practice Noord",
            "--name",
            "Ann de Vries",
            "--email",
            "ann@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    let out = g.ok(
        &["device", "add-totp", "ann", "--label", "business phone"],
        None,
    );
    let phone1 = seed_of(&uri_in(&out));
    assert!(out.contains('█'), "a QR code is printed");
    let out = g.ok(
        &["device", "add-totp", "ann", "--label", "private phone"],
        None,
    );
    let phone2 = seed_of(&uri_in(&out));
    // A hardware HOTP token from stock.
    let token_seed = b"12345678901234567890";
    let file = g.dir.path().join("tokens.xml");
    std::fs::write(&file, pskc(3, token_seed)).unwrap();
    g.ok(&["token", "import", file.to_str().unwrap()], None);
    g.ok(
        &[
            "token",
            "assign",
            "TK000001",
            "ann",
            "--label",
            "token at branch",
        ],
        None,
    );

    // Accept with a code from any one of them, naming the device.
    let c1 = totp(&phone1);
    assert_eq!(
        login(&g, "ann", &c1),
        (true, "accept (device: business phone)".into())
    );
    assert_eq!(
        login(&g, "ann", &totp(&phone2)),
        (true, "accept (device: private phone)".into())
    );
    let h0 = otp::hotp(token_seed, 0, OtpHash::Sha1, 6);
    assert_eq!(
        login(&g, "ann", &h0),
        (true, "accept (device: token at branch)".into())
    );
    // A replayed TOTP code is refused.
    assert_eq!(
        login(&g, "ann", &c1),
        (false, "reject (replayed_code)".into())
    );
    // After removal of a device its codes are refused.
    let list = g.ok(&["device", "list", "ann"], None);
    let id = list
        .lines()
        .find(|l| l.contains("private phone"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    g.ok(&["device", "remove", &id], None);
    let (ok, out) = login(
        &g,
        "ann",
        &otp::totp(&phone2, now() + 30, 30, OtpHash::Sha1, 6),
    );
    assert!(!ok, "{out}");
    // Wrong password, unknown user: the same kind of answer.
    let r = g.run(
        &["login", "ann", "--code", "123456", "--password-stdin"],
        Some("wrong\n"),
    );
    assert_eq!(r.stdout.trim(), "reject (bad_password)");
    let r = g.run(
        &["login", "nobody", "--code", "123456", "--password-stdin"],
        Some("wrong\n"),
    );
    assert!(!r.ok);

    // One event per attempt, naming the device.
    let audit = g.ok(
        &["audit", "list", "--person", "ann", "--json", "--limit", "0"],
        None,
    );
    let events: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let logins: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "login_attempt")
        .collect();
    assert_eq!(logins.len(), 6, "{audit}");
    let accepted: Vec<&str> = logins
        .iter()
        .filter(|e| e["outcome"] == "accept")
        .map(|e| e["device_label"].as_str().unwrap())
        .collect();
    assert_eq!(accepted.len(), 3);
    for label in ["business phone", "private phone", "token at branch"] {
        assert!(accepted.contains(&label), "{label} named in {accepted:?}");
    }
    assert!(events.iter().any(|e| e["kind"] == "device_removed"));
    assert!(
        !audit.contains(PW) && !audit.contains(&c1),
        "no secret in the audit"
    );
    let show = g.ok(&["person", "show", "ann"], None);
    assert!(
        show.contains("Practice Noord") && show.contains("token at branch"),
        "{show}"
    );
}

#[test]
fn pskc_import_of_1000_tokens_then_assign_and_resync() {
    let g = Instance::init();
    g.ok(&["org", "add", "Big Clinic"], None);
    g.ok(
        &[
            "person",
            "add",
            "bob",
            "--org",
            "Big Clinic",
            "--name",
            "Bob",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    let seed = b"abcdefghijabcdefghij";
    let file = g.dir.path().join("1000.xml");
    std::fs::write(&file, pskc(1000, seed)).unwrap();
    let out = g.ok(
        &[
            "token",
            "import",
            file.to_str().unwrap(),
            "--org",
            "Big Clinic",
        ],
        None,
    );
    assert!(out.contains("1000 tokens imported"), "{out}");
    let list = g.ok(&["token", "list"], None);
    assert_eq!(
        list.lines().filter(|l| l.contains("in_stock")).count(),
        1000
    );
    // Importing the same file again imports nothing and names the serial.
    let r = g.run(&["token", "import", file.to_str().unwrap()], None);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("TK000000") && r.stderr.contains("nothing imported"),
        "{}",
        r.stderr
    );
    let out = g.ok(&["token", "assign", "TK000999", "bob"], None);
    assert!(out.contains("linked to bob"), "{out}");
    // The token drifted: resync from two consecutive codes far ahead, then log in.
    let id = g
        .ok(&["device", "list", "bob"], None)
        .lines()
        .find(|l| l.contains("TK000999"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let c = |n| otp::hotp(seed, n, OtpHash::Sha1, 6);
    assert!(!login(&g, "bob", &c(40)).0, "beyond the look-ahead window");
    g.ok(&["device", "resync", &id, &c(40), &c(41)], None);
    assert_eq!(
        login(&g, "bob", &c(42)),
        (true, "accept (device: token TK000999)".into())
    );
}

#[test]
fn a_malformed_pskc_file_imports_nothing_and_names_the_entry() {
    let g = Instance::init();
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/testdata/pskc/bad-base64.xml"
    );
    let r = g.run(&["token", "import", bad], None);
    assert!(!r.ok);
    let msg = r.stderr.trim();
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    assert!(
        msg.contains("entry 2") && msg.contains("nothing imported"),
        "{msg}"
    );
    assert_eq!(
        g.ok(&["token", "list"], None).lines().count(),
        1,
        "header only"
    );
    // The RFC 6030 pre-shared-key example imports with its key.
    let enc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/testdata/pskc/rfc6030-figure6.xml"
    );
    let r = g.run(&["token", "import", enc], None);
    assert!(!r.ok && r.stderr.contains("pre-shared key"), "{}", r.stderr);
    let out = g.ok(
        &[
            "token",
            "import",
            enc,
            "--psk-hex",
            "12345678901234567890123456789012",
        ],
        None,
    );
    assert!(out.contains("1 tokens imported"), "{out}");
}

#[test]
fn bad_config_and_missing_key_give_one_line_naming_the_problem() {
    let g = Instance::init();
    let cfg = g.config();
    let good = std::fs::read_to_string(&cfg).unwrap();
    assert_eq!(
        config::get(&good.parse().unwrap(), "lockout.threshold").and_then(config::Item::as_integer),
        Some(5)
    );
    g.edit_config(|doc| config::set(doc, "lockout.threshold", 0));
    let r = g.run(&["org", "list"], None);
    assert!(!r.ok);
    assert_eq!(
        r.stderr.trim(),
        "error: config key `lockout.threshold`: must be at least 1"
    );
    std::fs::write(&cfg, &good).unwrap();
    g.edit_config(|doc| {
        config::remove(doc, "lockout.threshold");
        config::set(doc, "lockout.treshold", 5);
    });
    let r = g.run(&["org", "list"], None);
    assert!(!r.ok);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("`lockout.treshold`") && r.stderr.contains("line"),
        "{}",
        r.stderr
    );
    std::fs::write(&cfg, &good).unwrap();
    std::fs::remove_file(g.dir.path().join("mfa-gateway.key")).unwrap();
    let r = g.run(&["serve"], None);
    assert!(!r.ok);
    assert!(r.stderr.contains("mfa-gateway init"), "{}", r.stderr);
}

#[test]
fn help_everywhere() {
    let g = Instance::init();
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["org", "--help"],
        vec!["person", "--help"],
        vec!["person", "add", "--help"],
        vec!["device", "--help"],
        vec!["device", "resync", "--help"],
        vec!["token", "--help"],
        vec!["token", "import", "--help"],
        vec!["login", "--help"],
        vec!["audit", "--help"],
    ] {
        let out = g.ok(&args, None);
        assert!(out.contains("Usage"), "{args:?}: {out}");
    }
}

#[test]
fn person_life_cycle_disable_unlock_remove() {
    let g = Instance::init();
    g.ok(&["org", "add", "P"], None);
    g.ok(
        &[
            "person",
            "add",
            "cas",
            "--org",
            "P",
            "--name",
            "Cas",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", "cas"], None)));
    // Five wrong codes after the right password lock the account; the right code is then
    // refused without being checked (and not counted).
    let wrong = if totp(&seed) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_eq!(login(&g, "cas", wrong), (false, "reject (bad_code)".into()));
    }
    assert_eq!(
        login(&g, "cas", &totp(&seed)),
        (false, "reject (locked_out)".into())
    );
    assert!(
        g.ok(&["person", "show", "cas"], None)
            .contains("failed logins 5")
    );
    g.ok(&["person", "unlock", "cas"], None);
    assert!(login(&g, "cas", &totp(&seed)).0);
    g.ok(
        &["person", "set-password", "cas", "--password-stdin"],
        Some("another long password\n"),
    );
    g.ok(&["person", "disable", "cas"], None);
    let r = g.run(
        &["login", "cas", "--code", "1", "--password-stdin"],
        Some("another long password\n"),
    );
    assert_eq!(r.stdout.trim(), "reject (person_disabled)");
    g.ok(&["person", "remove", "cas"], None);
    assert!(g.ok(&["person", "list"], None).contains("removed"));
}

#[test]
fn a_temporary_code_for_a_lost_phone_works_once_and_is_audited() {
    let g = Instance::init();
    g.ok(&["org", "add", "P"], None);
    g.ok(
        &[
            "person",
            "add",
            "dee",
            "--org",
            "P",
            "--name",
            "Dee",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    g.ok(
        &["device", "add-totp", "dee", "--label", "lost phone"],
        None,
    );
    // Out of range: refused, nothing issued.
    let r = g.run(
        &["person", "temp-code", "dee", "--valid-minutes", "1441"],
        None,
    );
    assert!(!r.ok, "{}", r.stdout);
    // A first code, replaced by a second before it was used.
    let old = g
        .ok(&["person", "temp-code", "dee", "--issued-by", "jo"], None)
        .trim()
        .to_owned();
    let code = g
        .ok(
            &[
                "person",
                "temp-code",
                "dee",
                "--valid-minutes",
                "30",
                "--issued-by",
                "helpdesk-jo",
            ],
            None,
        )
        .trim()
        .to_owned();
    for c in [&old, &code] {
        assert_eq!(c.len(), 11, "ABCDE-FGHIJ: {c}");
        assert_eq!(c.as_bytes()[5], b'-', "{c}");
    }
    assert_eq!(login(&g, "dee", &old), (false, "reject (bad_code)".into()));
    assert_eq!(
        login(&g, "dee", &code),
        (true, "accept (device: temporary code)".into())
    );
    // Once only.
    assert_eq!(login(&g, "dee", &code), (false, "reject (bad_code)".into()));

    let audit = g.ok(
        &["audit", "list", "--person", "dee", "--json", "--limit", "0"],
        None,
    );
    let events: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let issued: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "temporary_code_issued")
        .collect();
    assert_eq!(issued.len(), 2, "{audit}");
    assert!(
        issued
            .iter()
            .any(|e| e["actor"] == "helpdesk-jo" && e["detail"]["expires_at"].is_i64()),
        "{audit}"
    );
    assert!(
        events.iter().any(|e| e["kind"] == "login_attempt"
            && e["outcome"] == "accept"
            && e["device_label"] == "temporary code"),
        "{audit}"
    );
    assert!(
        !audit.contains(&code) && !audit.contains(&code.replace('-', "")),
        "the code is never in the audit"
    );
}
