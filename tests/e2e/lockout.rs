//! The lockout is no weapon, end to end (the real binary): wrong passwords for a person from
//! one address throttle that address only; the person from their usual address still gets
//! in over RADIUS (radclient) and the web login; wrong codes after her right password lock
//! her, on every channel.

use crate::radius::{SECRET, radclient};
use mfa_e2e::csrf_in as csrf_of;
use mfa_e2e::totp_now as code;
use mfa_e2e::{cookie, https_builder, https_client, https_instance, seed_of, serve, uri_in};
use std::time::Duration;

const PW: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(30);

fn wrong(seed: &[u8]) -> &'static str {
    if code(seed) == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// The portal's password step from the client's address: true when the code page follows.
fn password_step(client: &reqwest::blocking::Client, base: &str, password: &str) -> bool {
    let page = client.get(format!("{base}/portal/login")).send().unwrap();
    let pre = cookie(&page, "mfa_pre").expect("pre-login cookie");
    let csrf = csrf_of(&page.text().unwrap());
    let res = client
        .post(format!("{base}/portal/login"))
        .header("cookie", format!("mfa_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ann"),
            ("password", password),
        ])
        .send()
        .unwrap();
    let body = res.text().unwrap();
    if std::env::var_os("LOCKOUT_DEBUG").is_some() && password == PW {
        eprintln!("{body}");
    }
    body.contains("code-form")
}

#[test]
fn wrong_passwords_from_elsewhere_do_not_lock_the_person_but_wrong_codes_do() {
    let extra = format!(
        "\n[[radius.clients]]\nname = \"vpn\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"append\"\n"
    );
    let g = https_instance(&[], &extra);
    g.ok(&["org", "add", "P"], None);
    mfa_e2e::add_person(&g, "ann", "P", "Ann", None, PW);
    let phone = seed_of(&uri_in(&g.ok(&["device", "add-totp", "ann"], None)));
    let s = serve(&g, READY);
    let base = s.listener("http");
    let radius = s.addr("radius udp", "127.0.0.1");

    // An attacker at 127.0.0.2 tries 50 passwords on the public login page.
    let attacker = https_builder(&g)
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    for i in 0..50 {
        assert!(!password_step(&attacker, &base, &format!("guess {i}")));
    }
    // Ann from 127.0.0.1: her password is taken on the web...
    let ann = https_client(&g);
    assert!(password_step(&ann, &base, PW), "ann from her own address");
    // ...and over RADIUS she gets in.
    let attrs = format!(
        "User-Name = \"ann\"\nUser-Password = \"{PW}{}\"\nMessage-Authenticator = 0x00\n",
        code(&phone)
    );
    radclient(radius, "auth", SECRET, &attrs, 10).assert_code("Access-Accept");
    // Even the right password from the attacker's address is not taken for a while.
    assert!(
        !password_step(&attacker, &base, PW),
        "that source is throttled"
    );
    let audit = g.ok(
        &["audit", "search", "--person", "ann", "--format", "jsonl"],
        None,
    );
    let throttled = audit.matches("password_throttled").count();
    let checked = audit.matches("\"bad_password\"").count();
    // 5 checked, then throttled (and past 30 a minute, rate-limited as well).
    assert_eq!(checked, 5, "{audit}");
    assert!(throttled >= 20, "{throttled} throttled");
    let show = g.ok(&["person", "show", "ann"], None);
    assert!(show.contains("failed logins 0"), "{show}");

    // 5 wrong codes after her right password: that attacker has the password; she is locked.
    for _ in 0..5 {
        let attrs = format!(
            "User-Name = \"ann\"\nUser-Password = \"{PW}{}\"\nMessage-Authenticator = 0x00\n",
            wrong(&phone)
        );
        radclient(radius, "auth", SECRET, &attrs, 10).assert_code("Access-Reject");
    }
    let show = g.ok(&["person", "show", "ann"], None);
    assert!(show.contains("failed logins 5"), "{show}");
    assert!(!password_step(&ann, &base, PW), "locked on the web too");
    g.ok(&["person", "unlock", "ann"], None);
    assert!(password_step(&ann, &base, PW), "unlocked");
}
