//! The org admin's tools end to end (issue 16): a person's HOTP token, imported from PSKC,
//! drifted far beyond the look-ahead (its button pressed many times away from the gateway),
//! so a RADIUS login with its next code fails (radclient); the person's org admin signs in
//! over HTTPS, resynchronises it on /admin with two consecutive codes, and the next RADIUS
//! login succeeds; the page shows the token's last use and the recent logins.

use crate::radius::{ORG, PW, auth, client, hotp_token, person};
use mfa_e2e::{csrf_in, signed_in_client};
use mfa_e2e::{https_instance, seed_of, serve, uri_in};
use mfa_gateway::otp::{self, OtpHash};
use reqwest::StatusCode;
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
/// RFC 4226's key, for the token.
const SEED: &[u8] = b"12345678901234567890";

fn hotp(counter: u64) -> String {
    otp::hotp(SEED, counter, OtpHash::Sha1, 6)
}

#[test]
fn an_org_admin_resyncs_a_drifted_token_and_the_next_radius_login_works() {
    let g = https_instance(&[], &client("vpn", "127.0.0.1/32", r#"mode = "append""#));
    g.ok(&["org", "add", ORG], None);
    person(&g, "bob", PW, &[]);
    hotp_token(&g, "bob", "HW000077", SEED, "key fob");
    g.ok(
        &[
            "person",
            "add",
            "olga",
            "--org",
            ORG,
            "--name",
            "Olga Admin",
            "--role",
            "person,org_admin",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    let olga_seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", "olga"], None)));
    let s = serve(&g, READY);
    let radius = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");
    let url = |p: &str| format!("{base}{p}");

    // The token was pressed 40 times away from the gateway: its next code (counter 40) is
    // far beyond the look-ahead (10) and refused.
    auth(radius, "bob", &format!("{PW}{}", hotp(40))).assert_code("Access-Reject");

    // Olga signs in over HTTPS: password, then her phone's code.
    let h = signed_in_client(&g, &url(""), "olga", PW, &olga_seed);
    let text = |r: reqwest::blocking::Response| (r.status(), r.text().unwrap());
    let post = |p: &str, fields: &[(&str, &str)]| text(h.post(url(p)).form(fields).send().unwrap());

    // Bob's page, from the organisation's list of people.
    let home = h.get(url("/admin")).send().unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    let org = home.headers()["location"].to_str().unwrap().to_owned();
    let (status, org_page) = text(h.get(url(&org)).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{org_page}");
    let row = org_page.find("<td>bob</td>").expect("bob in the list");
    let id_at = org_page[..row]
        .rfind(r#"<tr id="person-"#)
        .expect("his row");
    let bob_id: String = org_page[id_at + r#"<tr id="person-"#.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let page = format!("/admin/people/{bob_id}");
    let (status, html) = text(h.get(url(&page)).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(r#"<td class="last-used">never</td>"#),
        "{html}"
    );
    assert!(
        html.contains("bad_code"),
        "the refused login is listed: {html}"
    );
    let form_at = html.find(r#"id="resync-"#).expect("a resync form");
    let token: String = html[form_at + r#"id="resync-"#.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let action = format!("/admin/people/{bob_id}/devices/{token}/resync");
    let csrf = csrf_in(&html);

    // A wrong pair (not consecutive): the form again with the error and what was typed.
    let (status, html) = post(
        &action,
        &[("csrf", &csrf), ("first", &hotp(41)), ("second", &hotp(43))],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains(&format!(r#"id="resync-error-{token}""#)),
        "{html}"
    );
    assert!(html.contains(&format!(r#"value="{}""#, hotp(43))), "{html}");

    // The next two presses (41, 42): resynchronised; the login with 43 goes through.
    let (status, _) = post(
        &action,
        &[("csrf", &csrf), ("first", &hotp(41)), ("second", &hotp(42))],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    auth(radius, "bob", &format!("{PW}{}", hotp(43))).assert_code("Access-Accept");
    // A code before the resync point stays refused.
    auth(radius, "bob", &format!("{PW}{}", hotp(42))).assert_code("Access-Reject");

    // The page: the token's last use, the recent logins newest first, the lockout state.
    let (status, html) = text(h.get(url(&page)).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        !html.contains(r#"<td class="last-used">never</td>"#),
        "{html}"
    );
    let logins = &html[html
        .find(r#"<table id="recent-logins">"#)
        .expect("logins table")..];
    let accept = logins.find(">accept<").expect("the accepted login");
    assert!(logins.contains("key fob"), "{logins}");
    assert!(logins.contains(">vpn<"), "the RADIUS client: {logins}");
    assert!(logins.contains(">radius<"), "the channel: {logins}");
    assert!(logins.matches(">reject<").count() >= 2, "{logins}");
    assert!(logins.find(">reject<").unwrap() < accept, "newest first");
    assert!(
        html.contains(r#"<li id="lockout-locked">Not locked</li>"#),
        "{html}"
    );

    // Audited: the resync (done and failed) by olga, and her views of the page.
    let out = g.ok(&["audit", "list", "--json", "--limit", "0"], None);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let resyncs: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "device_resynced")
        .collect();
    assert_eq!(resyncs.len(), 2, "{resyncs:#?}");
    assert!(resyncs.iter().all(|e| {
        e["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("person:"))
            && e["channel"] == "portal"
    }));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "audit_searched" && e["username"] == "bob")
    );
    for e in &events {
        let line = e.to_string();
        for c in 41..=43 {
            assert!(!line.contains(&hotp(c)), "no code in the trail: {line}");
        }
    }
}
