//! Organisations as tenants, end to end: a RADIUS client and an OIDC client bound to
//! organisation A (`orgs = ["A"]`) refuse B's person exactly as they refuse an unknown user
//! (radclient; the OIDC login page in Chromium), and the audit trail says why
//! (`client_not_for_org`, naming the person); an unbound client serves both; a SIGHUP that
//! binds the unbound client takes effect without a restart.

use crate::radius::{auth, client, login_attempts, totp};
use mfa_e2e::browser::Browser;
use mfa_e2e::{
    StubResponse, authorize_url, config, http_stub, https_instance, person_with_phones, serve,
};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const PW: &str = "correct horse battery";

#[test]
fn clients_bound_to_an_organisation_refuse_other_organisations_people_as_unknown() {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let redirect = rp.url("/callback");
    let clients = format!(
        "{}\n[[oidc.clients]]\nclient_id = \"guac-a\"\nname = \"Guacamole of A\"\n\
         redirect_uris = [\"{redirect}\"]\nflows = [\"code\"]\nrequire_pkce = true\n\
         orgs = [\"Practice A\"]\n",
        client(
            "vpn-a",
            "127.0.0.1/32",
            "mode = \"append\"\norgs = [\"Practice A\"]"
        ),
    );
    let g = https_instance(&[], &clients);
    g.ok(&["org", "add", "Practice A"], None);
    g.ok(&["org", "add", "Practice B"], None);
    let seeds: Vec<Vec<Vec<u8>>> = [("ann", "Practice A"), ("bob", "Practice B")]
        .iter()
        .map(|(user, org)| person_with_phones(&g, user, org, PW, &["one", "two"]))
        .collect();
    let s = serve(&g, READY);
    let radius = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");

    let ann = auth(radius, "ann", &format!("{PW}{}", totp(&seeds[0][0], 0)));
    ann.assert_code("Access-Accept");
    let bob = auth(radius, "bob", &format!("{PW}{}", totp(&seeds[1][0], 0)));
    bob.assert_code("Access-Reject");
    let nobody = auth(radius, "nobody", &format!("{PW}123456"));
    nobody.assert_code("Access-Reject");
    // The same answer as for a name nobody has.
    assert_eq!(
        bob.attr("Reply-Message"),
        nobody.attr("Reply-Message"),
        "{}\n{}",
        bob.output,
        nobody.output
    );
    let events = login_attempts(&g);
    let last: Vec<&serde_json::Value> = events.iter().rev().take(3).collect();
    assert_eq!(last[1]["username"], "bob");
    assert_eq!(last[1]["reason"], "client_not_for_org");
    assert!(
        last[1]["person_id"].is_i64(),
        "the event names bob: {:?}",
        last[1]
    );
    assert_eq!(last[0]["reason"], "unknown_user");

    // The OIDC client of A: bob's right password gets the page every refusal gets.
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let login = |user: &str| {
        let page = browser.new_page();
        page.goto(&authorize_url(&base, "guac-a", &redirect, ""));
        page.wait_for("form#login-form", WAIT);
        page.fill("input[name=username]", user);
        page.fill("input[name=password]", PW);
        page.click("button#submit");
        page
    };
    let a = login("ann");
    a.wait_for("form#code-form", WAIT);
    let b = login("bob");
    b.wait_for("p.error", WAIT);
    let html = b.html();
    assert!(
        html.contains("The username or password is not right") && !html.contains("code-form"),
        "{html}"
    );
    let events = login_attempts(&g);
    let last = events.last().unwrap();
    assert_eq!(last["username"], "bob");
    assert_eq!(last["channel"], "oidc");
    assert_eq!(last["reason"], "client_not_for_org");

    // Bind the RADIUS client to B instead, and reload: ann is refused, bob gets in.
    g.edit_config(|doc| {
        config::entry(doc, "radius.clients", "vpn-a")["orgs"] =
            config::value(config::Array::from_iter(["Practice B"]));
    });
    s.hangup();
    s.wait_for_output("config reloaded", WAIT);
    auth(radius, "ann", &format!("{PW}{}", totp(&seeds[0][1], 0))).assert_code("Access-Reject");
    auth(radius, "bob", &format!("{PW}{}", totp(&seeds[1][1], 0))).assert_code("Access-Accept");
}

#[test]
fn a_leaving_organisation_gets_its_data_and_is_offboarded_with_the_audit_chain_intact() {
    let g = mfa_e2e::Instance::init();
    g.ok(&["org", "add", "Practice A"], None);
    g.ok(&["org", "add", "Practice B"], None);
    for (user, org) in [
        ("ann", "Practice A"),
        ("amir", "Practice A"),
        ("bob", "Practice B"),
    ] {
        person_with_phones(&g, user, org, PW, &["phone"]);
        // A login attempt of each: an audit event about them.
        g.run(
            &["login", user, "--password-stdin"],
            Some("a wrong password\n"),
        );
    }

    let out = g.dir.path().join("export-a");
    let printed = g.ok(
        &[
            "org",
            "export",
            "Practice A",
            "--output",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(printed.contains("2 people"), "{printed}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("organisation.json")).unwrap())
            .unwrap();
    let people: Vec<&str> = json["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["person"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(people, ["amir", "ann"]);
    let text = json.to_string();
    assert!(
        !text.contains("\"bob\"") && !text.contains("Practice B"),
        "nothing of B"
    );
    assert!(
        !text.contains("sealed_secret\":[1") && !text.contains("password_hash"),
        "no secrets"
    );
    let events = json["events"].as_array().unwrap();
    let a_id = json["organisation"]["id"].as_i64().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["org_id"].as_i64().is_none_or(|o| o == a_id))
    );
    let logins = events
        .iter()
        .filter(|e| e["kind"] == "login_attempt")
        .count();
    assert_eq!(logins, 2, "ann's and amir's attempts");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        index.contains("people/") && index.contains("amir"),
        "{index}"
    );

    // Without --confirm: only what would happen.
    let dry = g.ok(
        &["org", "offboard", "Practice A", "--after-days", "0"],
        None,
    );
    assert!(
        dry.contains("2 people would be removed") && dry.contains("Nothing was done"),
        "{dry}"
    );
    assert!(g.ok(&["person", "show", "ann"], None).contains("active"));
    let wrong = g.run(
        &[
            "org",
            "offboard",
            "Practice A",
            "--after-days",
            "0",
            "--confirm",
            "Practice B",
        ],
        None,
    );
    assert!(
        !wrong.ok && wrong.stderr.contains("nothing was done"),
        "{wrong:?}"
    );

    // A at once: removed and erased; B in 30 days.
    let done = g.ok(
        &[
            "org",
            "offboard",
            "Practice A",
            "--after-days",
            "0",
            "--confirm",
            "Practice A",
        ],
        None,
    );
    assert!(
        done.contains("2 people removed") && done.contains("erased now"),
        "{done}"
    );
    assert!(
        g.run(&["person", "show", "ann"], None)
            .stderr
            .contains("not found")
    );
    let listed = g.ok(&["person", "list"], None);
    assert!(
        !listed.contains("ann") && !listed.contains("amir") && listed.contains("bob"),
        "{listed}"
    );
    g.ok(
        &[
            "org",
            "offboard",
            "Practice B",
            "--after-days",
            "30",
            "--confirm",
            "Practice B",
        ],
        None,
    );
    assert!(
        g.ok(&["person", "show", "bob"], None).contains("removed"),
        "removed, not erased"
    );
    let in_20_days = (mfa_gateway::model::now() + 20 * 86_400).to_string();
    assert!(
        g.ok(&["org", "erase-due", "--at", &in_20_days], None)
            .contains("0 people")
    );
    let in_31_days = (mfa_gateway::model::now() + 31 * 86_400).to_string();
    assert!(
        g.ok(&["org", "erase-due", "--at", &in_31_days], None)
            .contains("1 people")
    );
    assert!(!g.ok(&["person", "list"], None).contains("bob"));
    // The chain still verifies; the offboarding is in it.
    g.ok(&["audit", "verify"], None);
    let audit = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "org_offboarded",
            "--format",
            "jsonl",
        ],
        None,
    );
    // Two offboardings and two erasures.
    assert_eq!(audit.lines().count(), 4, "{audit}");
}

#[test]
fn an_organisation_policy_refuses_factor_kinds_sources_and_approvals_over_radius() {
    // "vpn" answers append-mode logins; "rdgw" is RD Gateway (the NAS checked the password).
    let extra = format!(
        "{}{}",
        client("vpn", "127.0.0.1/32", "mode = \"append\""),
        client("rdgw", "127.0.0.2/32", "mode = \"second_factor_only\""),
    );
    let g = https_instance(&[], &extra);
    g.ok(&["org", "add", "Practice A"], None);
    let phones = person_with_phones(&g, "ann", "Practice A", PW, &["one", "two"]);
    // Bad input names the flag and changes nothing.
    let bad = g.run(&["org", "policy", "Practice A", "--factors", "sms"], None);
    assert!(!bad.ok && bad.stderr.contains("--factors"), "{bad:?}");
    let bad = g.run(
        &["org", "policy", "Practice A", "--lockout-threshold", "1"],
        None,
    );
    assert!(!bad.ok && bad.stderr.contains("outside"), "{bad:?}");
    // Hardware tokens only: the phone's right code is refused as a kind not allowed.
    let set = g.ok(
        &[
            "org",
            "policy",
            "Practice A",
            "--factors",
            "hardware_token",
            "--lockout-threshold",
            "4",
        ],
        None,
    );
    assert!(
        set.contains("second factors: hardware_token") && set.contains("after 4"),
        "{set}"
    );
    let s = serve(&g, READY);
    let radius = s.addr("radius udp", "127.0.0.1");
    auth(radius, "ann", &format!("{PW}{}", totp(&phones[0], 0))).assert_code("Access-Reject");
    // Phones again, but "vpn" only from the office's range (radclient sends from 127.0.0.1).
    g.ok(
        &[
            "org",
            "policy",
            "Practice A",
            "--factors",
            "all",
            "--client-range",
            "vpn=192.0.2.0/24",
        ],
        None,
    );
    auth(radius, "ann", &format!("{PW}{}", totp(&phones[1], 0))).assert_code("Access-Reject");
    g.ok(
        &["org", "policy", "Practice A", "--clear-client-range", "vpn"],
        None,
    );
    auth(radius, "ann", &format!("{PW}{}", totp(&phones[1], 0))).assert_code("Access-Accept");
    let events = login_attempts(&g);
    let reasons: Vec<&str> = events
        .iter()
        .rev()
        .take(3)
        .map(|e| e["reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(reasons, ["-", "source_not_allowed", "factor_not_allowed"]);
    // The policy changes are audited.
    let audit = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "org_policy_changed",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(audit.lines().count(), 3, "{audit}");
}

#[test]
fn single_sign_on_gives_a_second_relying_party_a_code_without_a_login_until_the_person_is_blocked()
{
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let (one, two) = (rp.url("/one"), rp.url("/two"));
    let clients: String = [("portal", &one), ("guacamole", &two)]
        .iter()
        .map(|(id, uri)| {
            format!(
                "\n[[oidc.clients]]\nclient_id = \"{id}\"\nredirect_uris = [\"{uri}\"]\n\
                 flows = [\"code\"]\nrequire_pkce = true\n"
            )
        })
        .collect();
    let g = https_instance(&[], &clients);
    g.ok(&["org", "add", "Practice A"], None);
    let phone = person_with_phones(&g, "ann", "Practice A", PW, &["phone"]).remove(0);
    let bea_phone = person_with_phones(&g, "bea", "Practice A", PW, &["phone"]).remove(0);
    let s = serve(&g, READY);
    let base = s.listener("http");
    let back = |path: &str| {
        rp.requests
            .lock()
            .unwrap()
            .iter()
            .rev()
            .map(|r| r.target.clone())
            .find(|t| t.starts_with(path))
    };

    // A browser of its own with no session: prompt=none is answered login_required.
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    page.goto(&authorize_url(&base, "portal", &one, "&prompt=none"));
    page.wait_for("p#rp", WAIT);
    let refused = back("/one").expect("back at the portal");
    assert!(refused.contains("error=login_required"), "{refused}");

    // The portal: password and code; then Guacamole: a code without the login page.
    page.goto(&authorize_url(&base, "portal", &one, ""));
    page.wait_for("form#login-form", WAIT);
    page.fill("input[name=username]", "ann");
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", &totp(&phone, 0));
    page.click("button#submit");
    page.wait_for("p#rp", WAIT);
    assert!(back("/one").unwrap().starts_with("/one?code="));
    page.goto(&authorize_url(&base, "guacamole", &two, ""));
    page.wait_for("p#rp", WAIT);
    let second = back("/two").expect("at Guacamole");
    assert!(second.starts_with("/two?code="), "no login page: {second}");
    // prompt=none now gets a code too; prompt=login shows the login page.
    let arrived = || {
        rp.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target.starts_with("/two?code="))
            .count()
    };
    let before = arrived();
    page.goto(&authorize_url(&base, "guacamole", &two, "&prompt=none"));
    page.wait_for("p#rp", WAIT);
    assert_eq!(arrived(), before + 1, "prompt=none answered with a code");
    page.goto(&authorize_url(&base, "guacamole", &two, "&prompt=login"));
    page.wait_for("form#login-form", WAIT);
    page.goto(&authorize_url(&base, "guacamole", &two, "&max_age=0"));
    page.wait_for("form#login-form", WAIT);
    // A login_hint naming someone else: the login page, with that name filled in.
    page.goto(&authorize_url(&base, "guacamole", &two, "&login_hint=bea"));
    page.wait_for("form#login-form", WAIT);

    // Blocked: the session ends; unblocked, a login is needed again.
    g.ok(&["person", "block", "ann"], None);
    g.ok(&["person", "unblock", "ann"], None);
    page.goto(&authorize_url(&base, "guacamole", &two, ""));
    page.wait_for("form#login-form", WAIT);
    let audit = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "sso_login",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(audit.lines().count(), 2, "{audit}");
    assert!(audit.contains("\"client\":\"guacamole\""), "{audit}");

    // Logging out ends it: Bea signs in at the portal, logs out, and Guacamole asks again.
    let other = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = other.new_page();
    page.goto(&authorize_url(&base, "portal", &one, ""));
    page.wait_for("form#login-form", WAIT);
    page.fill("input[name=username]", "bea");
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", &totp(&bea_phone, 0));
    page.click("button#submit");
    page.wait_for("p#rp", WAIT);
    page.goto(&format!("{base}/oauth2/logout?client_id=portal"));
    mfa_e2e::wait_until(WAIT, "You are signed out", || {
        page.html().contains("You are signed out")
    });
    page.goto(&authorize_url(&base, "guacamole", &two, ""));
    page.wait_for("form#login-form", WAIT);
}
