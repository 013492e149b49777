//! Issue 16's per-organisation auditors end to end, against the real binary in headless
//! Chromium: two organisations with people and login attempts; an `org_auditor` of A signs
//! in and sees A's events only (search with the organisation fixed, and the CSV export);
//! B's person's timeline and subject access are the 404 of a person that does not exist,
//! and each refusal is in the audit trail as `access_denied` with what was asked.

use std::time::Duration;

use mfa_e2e::browser::Browser;
use mfa_e2e::{https_instance, portal_sign_in, seed_of, serve, uri_in};
use mfa_gateway::otp::{self, OtpHash};

const PW: &str = "correct horse battery";
const A: &str = "Practice A";
const B: &str = "Practice B";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// `person add` in `org` with a password and a phone: the person's id and the seed.
fn person(g: &mfa_e2e::Instance, user: &str, org: &str, roles: &str) -> (String, Vec<u8>) {
    let out = g.ok(
        &[
            "person",
            "add",
            user,
            "--org",
            org,
            "--name",
            &format!("{user} in full"),
            "--role",
            roles,
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    // "person NAME added (id N) in ORG"
    let id = out
        .split("(id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no id in {out}"))
        .to_owned();
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", user], None)));
    (id, seed)
}

/// The HTTP status of the page last loaded.
fn status(page: &mfa_e2e::browser::Page<'_>) -> i64 {
    page.eval("performance.getEntriesByType('navigation')[0].responseStatus")
        .as_i64()
        .unwrap_or(0)
}

#[test]
fn an_org_auditor_sees_their_organisation_only_and_gets_404_on_another() {
    let g = https_instance(&["mail", "audit.siem"], "");
    g.ok(&["org", "add", A], None);
    g.ok(&["org", "add", B], None);
    let (_, olive) = person(&g, "olive", A, "person,org_auditor");
    person(&g, "ann", A, "person");
    person(&g, "amir", A, "person");
    let (bob_id, _) = person(&g, "bob", B, "person");
    person(&g, "bea", B, "person");
    // Login attempts in both organisations, and one of a name nobody has.
    for user in ["ann", "amir", "bob", "bob", "bea", "nobody"] {
        let r = g.run(
            &["login", user, "--code", "000000", "--password-stdin"],
            Some("wrong password\n"),
        );
        assert!(!r.ok, "{user}");
    }
    let s = serve(&g, READY);
    let base = s.listener("http");
    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    browser.cdp(
        "Browser.setDownloadBehavior",
        serde_json::json!({ "behavior": "allow", "downloadPath": downloads.path().to_str().unwrap() }),
    );
    let page = browser.new_page();
    let code = otp::totp(&olive, mfa_gateway::model::now(), 30, OtpHash::Sha1, 6);
    portal_sign_in(&page, &base, "olive", PW, &code);

    // The search: A's events only, the organisation fixed to A.
    page.goto(&format!("{base}/audit"));
    page.wait_for("form#search", WAIT);
    assert_eq!(status(&page), 200);
    assert!(page.text("#scope").contains(A), "{}", page.html());
    assert_eq!(page.eval("document.querySelector('#f-org').value"), A);
    assert_eq!(
        page.eval("document.querySelector('#f-org').readOnly"),
        serde_json::json!(true)
    );
    let table = page.text("table#events tbody");
    for mine in ["ann", "amir", "olive"] {
        assert!(table.contains(mine), "{mine} missing: {table}");
    }
    // Whole cells: a row's request id (a UUID) may hold "bea" by chance.
    let cells: Vec<&str> = table.split_whitespace().collect();
    for theirs in ["bob", "bea", "nobody"] {
        assert!(!cells.contains(&theirs), "{theirs} shown: {table}");
    }
    let tops = page.text("#top-people");
    assert!(
        tops.contains("ann") && !tops.contains("bob") && !tops.contains("nobody"),
        "{tops}"
    );
    page.screenshot("org-audit-search");

    // The CSV export of the search: A's rows only.
    page.click_in_place("a#export-csv");
    let csv = mfa_e2e::downloaded(downloads.path(), "csv", WAIT);
    assert!(csv.starts_with("id,time,kind,actor"), "{csv}");
    assert!(csv.contains(",ann,") && csv.contains(",amir,"), "{csv}");
    for theirs in [",bob,", ",bea,", "nobody"] {
        assert!(!csv.contains(theirs), "{theirs} exported: {csv}");
    }

    // B's person: the timeline and subject access answer as for a person that does not
    // exist (404, the same page).
    page.goto(&format!("{base}/audit/person/999999"));
    page.wait_for("h1", WAIT);
    assert_eq!(status(&page), 404);
    let missing = page.text("main");
    for path in [
        format!("/audit/person/{bob_id}"),
        format!("/audit/subject/{bob_id}"),
        format!("/audit/subject/{bob_id}/json"),
    ] {
        page.goto(&format!("{base}{path}"));
        page.wait_for("h1", WAIT);
        assert_eq!(status(&page), 404, "{path}");
        assert!(page.text("h1").contains("No such person"), "{path}");
        assert_eq!(page.text("main"), missing, "{path}");
        assert!(!page.html().contains("bob"), "{path}");
    }
    page.screenshot("org-audit-404");
    // Naming B in the search or an export: 404 too.
    page.goto(&format!("{base}/audit?org=Practice+B"));
    page.wait_for("h1", WAIT);
    assert_eq!(status(&page), 404);
    page.goto(&format!("{base}/audit?person=bob"));
    page.wait_for("h1", WAIT);
    assert_eq!(status(&page), 404);

    // The trail: each refusal as access_denied, naming olive and what she asked for; her
    // views with her organisation's scope.
    drop(s);
    let denied = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "access_denied",
            "--format",
            "jsonl",
            "--limit",
            "0",
        ],
        None,
    );
    let denied: Vec<serde_json::Value> = denied
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(denied.len(), 5, "{denied:?}");
    assert!(
        denied
            .iter()
            .all(|e| e["username"] == "olive" && e["reason"] == "scope")
    );
    let asked: Vec<&str> = denied
        .iter()
        .filter_map(|e| e["detail"]["path"].as_str())
        .collect();
    for path in [
        format!("/audit/person/{bob_id}"),
        format!("/audit/subject/{bob_id}"),
    ] {
        assert!(asked.contains(&path.as_str()), "{path} not in {asked:?}");
    }
    let views = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "audit_exported",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(views.contains("\"scope\":\"org:"), "{views}");
}
