//! Usernames per organisation (issue 16), end to end: two organisations each have an `ann`
//! with her own password and phone. Over RADIUS (radclient) a client's `default_org` picks
//! its organisation's ann, `ann@praktijk-noord` and `PRAKTIJK-NOORD\ann` name the other, and a
//! bare `ann` through a client without a default is refused exactly as an unknown name is
//! (audited `ambiguous_username`). Over OIDC (Chromium) the same: a relying party with a
//! default organisation, and one without where the qualified name is typed. The CLI says
//! which names to use.

use crate::radius::{auth, client, login_attempts, totp};
use mfa_e2e::browser::Browser;
use mfa_e2e::{Instance, StubResponse, authorize_url, config, http_stub, https_instance, serve};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const ZUID: &str = "Praktijk Zuid";
const NOORD: &str = "Praktijk Noord";
const PW_ZUID: &str = "zuid ann's own password";
const PW_NOORD: &str = "noord ann's other password";

/// `person add ann --org ORG` with `password` and two phones (a phone is used at most twice
/// here, at increasing steps: no waiting for fresh TOTP steps), linked through `qualified`.
fn ann(g: &Instance, org: &str, password: &str, qualified: &str) -> ([Vec<u8>; 2], String) {
    let added = mfa_e2e::add_person(g, "ann", org, &format!("Ann of {org}"), None, password);
    let phone = |label: &str| {
        mfa_e2e::seed_of(&mfa_e2e::uri_in(
            &g.ok(&["device", "add-totp", qualified, "--label", label], None),
        ))
    };
    ([phone("one"), phone("two")], added)
}

/// The person ids of the accepted and the last refused login attempts, in order.
fn accepted_people(g: &Instance) -> Vec<i64> {
    login_attempts(g)
        .iter()
        .filter(|e| e["outcome"] == "accept")
        .filter_map(|e| e["person_id"].as_i64())
        .collect()
}

fn person_id(g: &Instance, name: &str) -> i64 {
    let shown = g.ok(&["person", "show", name], None);
    let id = shown
        .lines()
        .find(|l| l.starts_with("id "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|w| w.parse().ok());
    id.unwrap_or_else(|| panic!("no id in {shown}"))
}

#[test]
fn two_anns_in_two_organisations_each_log_in_over_radius_and_oidc() {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let (zuid_rp, any_rp) = (rp.url("/zuid"), rp.url("/any"));
    let clients = format!(
        "{}\n[[oidc.clients]]\nclient_id = \"guac-zuid\"\nredirect_uris = [\"{zuid_rp}\"]\n\
         flows = [\"code\"]\nrequire_pkce = true\ndefault_org = \"{ZUID}\"\n\
         \n[[oidc.clients]]\nclient_id = \"portal\"\nredirect_uris = [\"{any_rp}\"]\n\
         flows = [\"code\"]\nrequire_pkce = true\n",
        client(
            "rdgw",
            "127.0.0.1/32",
            &format!("mode = \"append\"\ndefault_org = \"{ZUID}\"")
        ),
    );
    let g = https_instance(&[], &clients);
    g.ok(&["org", "add", ZUID], None);
    g.ok(&["org", "add", NOORD], None);
    // The same login suffix as another organisation's: refused, naming it.
    let clash = g.run(&["org", "add", "praktijk-zuid"], None);
    assert!(
        !clash.ok && clash.stderr.contains("praktijk-zuid"),
        "{}",
        clash.stderr
    );
    let list = g.ok(&["org", "list"], None);
    assert!(list.contains("Praktijk Noord (@praktijk-noord)"), "{list}");

    let (zuid_seed, first) = ann(&g, ZUID, PW_ZUID, "ann");
    assert!(!first.contains("note:"), "{first}");
    let (noord_seed, second) = ann(&g, NOORD, PW_NOORD, "ann@praktijk-noord");
    assert!(
        second.contains("note:") && second.contains("ann@praktijk-noord"),
        "the operator is told how the second ann logs in: {second}"
    );
    // A bare `ann` is ambiguous for the CLI too; the error names both.
    let bare = g.run(&["person", "show", "ann"], None);
    assert!(
        !bare.ok
            && bare.stderr.contains("ann@praktijk-zuid")
            && bare.stderr.contains("ann@praktijk-noord"),
        "{}",
        bare.stderr
    );
    let (zuid_id, noord_id) = (
        person_id(&g, "ann@praktijk-zuid"),
        person_id(&g, "praktijk-noord\\ann"),
    );
    assert_ne!(zuid_id, noord_id);

    let s = serve(&g, READY);
    let radius = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");

    // RADIUS, the client's default organisation is Zuid: a bare `ann` is Zuid's ann.
    auth(
        radius,
        "ann",
        &format!("{PW_ZUID}{}", totp(&zuid_seed[0], 0)),
    )
    .assert_code("Access-Accept");
    // Noord's password and code are not Zuid's ann's.
    auth(
        radius,
        "ann",
        &format!("{PW_NOORD}{}", totp(&noord_seed[1], 0)),
    )
    .assert_code("Access-Reject");
    // Qualified, either way round, Noord's ann gets in with hers.
    auth(
        radius,
        "ann@praktijk-noord",
        &format!("{PW_NOORD}{}", totp(&noord_seed[0], 0)),
    )
    .assert_code("Access-Accept");
    auth(
        radius,
        "PRAKTIJK-NOORD\\ann",
        &format!("{PW_NOORD}{}", totp(&noord_seed[1], 0)),
    )
    .assert_code("Access-Accept");
    assert_eq!(accepted_people(&g), [zuid_id, noord_id, noord_id]);

    // Without the default, a bare `ann` names nobody: the answer an unknown name gets.
    g.edit_config(|doc| {
        config::entry(doc, "radius.clients", "rdgw").remove("default_org");
    });
    s.hangup();
    s.wait_for_output("config reloaded", WAIT);
    let ambiguous = auth(
        radius,
        "ann",
        &format!("{PW_ZUID}{}", totp(&zuid_seed[1], 0)),
    );
    ambiguous.assert_code("Access-Reject");
    let nobody = auth(radius, "nobody", &format!("{PW_ZUID}123456"));
    nobody.assert_code("Access-Reject");
    assert_eq!(
        ambiguous.attr("Reply-Message"),
        nobody.attr("Reply-Message")
    );
    let events = login_attempts(&g);
    let reasons: Vec<&str> = events
        .iter()
        .rev()
        .take(2)
        .map(|e| e["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(reasons, ["unknown_user", "ambiguous_username"]);
    auth(
        radius,
        "ann@praktijk-zuid",
        &format!("{PW_ZUID}{}", totp(&zuid_seed[1], 0)),
    )
    .assert_code("Access-Accept");

    // OIDC in Chromium: the relying party with Zuid as default, then one without.
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let login = |client: &str, redirect: &str, user: &str, password: &str| {
        let page = browser.new_page();
        page.goto(&authorize_url(&base, client, redirect, "&prompt=login"));
        page.wait_for("form#login-form", WAIT);
        page.fill("input[name=username]", user);
        page.fill("input[name=password]", password);
        page.click("button#submit");
        page
    };
    let arrived = |path: &str| {
        rp.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target.starts_with(&format!("{path}?code=")))
            .count()
    };
    let page = login("guac-zuid", &zuid_rp, "ann", PW_ZUID);
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", &totp(&zuid_seed[0], 1));
    page.click("button#submit");
    page.wait_for("p#rp", WAIT);
    assert_eq!(arrived("/zuid"), 1);

    // No default: a bare `ann` gets the page every refusal gets; qualified, she gets in.
    let page = login("portal", &any_rp, "ann", PW_NOORD);
    page.wait_for("p.error", WAIT);
    assert!(
        page.html()
            .contains("The username or password is not right"),
        "{}",
        page.html()
    );
    let events = login_attempts(&g);
    let last = events.last().unwrap();
    assert_eq!(
        (last["channel"].as_str(), last["reason"].as_str()),
        (Some("oidc"), Some("ambiguous_username"))
    );
    let page = login("portal", &any_rp, "Ann@Praktijk-Noord", PW_NOORD);
    page.wait_for("form#code-form", WAIT);
    page.fill("input[name=code]", &totp(&noord_seed[0], 1));
    page.click("button#submit");
    page.wait_for("p#rp", WAIT);
    assert_eq!(arrived("/any"), 1);
    let oidc: Vec<i64> = login_attempts(&g)
        .iter()
        .filter(|e| e["channel"] == "oidc" && e["outcome"] == "accept")
        .filter_map(|e| e["person_id"].as_i64())
        .collect();
    assert_eq!(oidc, [zuid_id, noord_id]);
}
