//! Issue 7's auditor side end to end, against the real binary:
//! - headless Chromium: an auditor signs in, searches, filters to one person, sees the chart
//!   and the most failures, and downloads the CSV; a person without the role gets 403;
//!   every search, export and refusal is in the audit trail;
//! - the CLI: subject access (`audit export --person`, JSON and HTML, no secrets), the
//!   retention purge and erasure with `audit verify` still passing, a purge flag set by hand
//!   caught, role changes audited;
//! - mail: a change in the portal is announced to the person through an SMTP relay.

use std::time::Duration;

use mfa_e2e::Phone;
use mfa_e2e::browser::{Browser, Page};
use mfa_e2e::{Instance, https_instance, portal_sign_in, seed_of, serve, smtp_sink, uri_in};

const PW: &str = "correct horse battery";
const ORG: &str = "Practice Noord";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// `init` with HTTPS and RADIUS on free ports, `extra` appended, and one organisation.
fn instance(extra: &str) -> Instance {
    let g = https_instance(&["mail", "audit.siem"], extra);
    g.ok(&["org", "add", ORG], None);
    g
}

/// Add a person with a password, roles and a phone; returns the phone's seed.
fn person(g: &Instance, user: &str, name: &str, roles: &str, email: Option<&str>) -> Vec<u8> {
    let mut args = vec![
        "person",
        "add",
        user,
        "--org",
        ORG,
        "--name",
        name,
        "--role",
        roles,
        "--password-stdin",
    ];
    if let Some(e) = email {
        args.extend(["--email", e]);
    }
    g.ok(&args, Some(&format!("{PW}\n")));
    seed_of(&uri_in(&g.ok(&["device", "add-totp", user], None)))
}

fn sign_in(page: &Page<'_>, base: &str, user: &str, code: &str) {
    portal_sign_in(page, base, user, PW, code);
}

#[test]
fn auditor_searches_filters_and_downloads_csv_and_others_get_403() {
    let g = instance("");
    let audrey = person(&g, "audrey", "Audrey Auditor", "person,auditor", None);
    let bob = person(&g, "bob", "Bob Jansen", "person", None);
    person(&g, "ann", "Ann de Vries", "person", None);
    // Some history: failed logins of ann and of a name that does not exist.
    for user in ["ann", "ann", "nobody"] {
        let r = g.run(
            &["login", user, "--code", "000000", "--password-stdin"],
            Some("wrong password\n"),
        );
        assert!(!r.ok);
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

    // Not signed in: the sign-in page.
    page.goto(&format!("{base}/audit"));
    page.wait_for("form#login-form", WAIT);

    sign_in(&page, &base, "audrey", &Phone::new(audrey.clone()).code(&g));
    page.goto(&format!("{base}/audit"));
    page.wait_for("form#search", WAIT);
    assert!(page.exists("svg#chart"), "the chart");
    let tops = page.text("#top-people");
    assert!(tops.contains("ann") && tops.contains('2'), "{tops}");
    assert!(page.text("#top-people").contains("nobody"));
    page.screenshot("audit-search");

    // Filter to ann.
    page.fill("#f-person", "ann");
    page.click("button#do-search");
    page.wait_for("table#events", WAIT);
    assert!(page.url().contains("person=ann"), "{}", page.url());
    let table = page.text("table#events tbody");
    assert!(table.contains("ann"), "{table}");
    assert!(
        !table.contains("nobody") && !table.contains("audrey"),
        "{table}"
    );
    page.screenshot("audit-filtered");

    // The timeline of one person.
    page.click("table#events tbody a");
    page.wait_for("table#timeline", WAIT);
    assert!(page.text("h1").contains("Ann de Vries"));
    page.screenshot("audit-timeline");
    page.goto(&format!("{base}/audit?person=ann"));
    page.wait_for("a#export-csv", WAIT);

    // Download the CSV of the filtered search.
    page.click_in_place("a#export-csv");
    let csv = mfa_e2e::downloaded(downloads.path(), "csv", WAIT);
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with("id,time,kind,actor"),
        "{csv}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 3, "{csv}");
    assert!(rows.iter().all(|r| r.contains(",ann,")), "{csv}");

    // A bad filter keeps what was typed and says what is wrong.
    page.goto(&format!("{base}/audit?person=ann&from=yesterday-ish"));
    page.wait_for("p.error", WAIT);
    assert!(page.text("p.error").contains("yesterday-ish"));
    assert_eq!(
        page.eval("document.querySelector('#f-person').value"),
        "ann"
    );

    // Bob is no auditor: 403.
    let page2 = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let p2 = page2.new_page();
    sign_in(&p2, &base, "bob", &Phone::new(bob.clone()).code(&g));
    p2.goto(&format!("{base}/audit?person=ann"));
    p2.wait_for("h1", WAIT);
    assert!(p2.text("h1").contains("Not allowed"), "{}", p2.html());
    p2.screenshot("audit-403");
    p2.goto(&format!("{base}/audit/export.csv"));
    p2.wait_for("h1", WAIT);
    assert!(p2.text("h1").contains("Not allowed"));

    // All of it is in the audit trail.
    drop(s);
    let trail = g.ok(
        &["audit", "search", "--format", "jsonl", "--limit", "0"],
        None,
    );
    for kind in ["audit_searched", "audit_exported", "access_denied"] {
        assert!(trail.contains(kind), "{kind} missing from\n{trail}");
    }
}

#[test]
fn subject_access_purge_and_erasure_keep_the_chain_verifiable() {
    let g = instance("");
    person(&g, "ann", "Ann de Vries", "person", Some("ann@example.org"));
    for _ in 0..2 {
        let r = g.run(
            &["login", "ann", "--code", "000000", "--password-stdin"],
            Some("wrong password\n"),
        );
        assert!(!r.ok);
    }

    // Subject access: one JSON document and a readable page, no secrets.
    let html = g.dir.path().join("ann.html");
    let json = g.ok(
        &[
            "audit",
            "export",
            "--person",
            "ann",
            "--html",
            html.to_str().unwrap(),
        ],
        None,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["person"]["username"], "ann");
    assert_eq!(doc["person"]["email"], "ann@example.org");
    assert_eq!(doc["devices"].as_array().unwrap().len(), 1);
    assert!(doc["events"].as_array().unwrap().len() >= 4, "{json}");
    for secret in ["sealed_secret", "password_hash", "\"secret\""] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Everything held about Ann de Vries"));
    assert!(
        g.ok(
            &["audit", "search", "--kind", "subject_access_exported"],
            None
        )
        .contains("ann")
    );

    // Roles change, audited.
    g.ok(&["person", "roles", "ann", "--set", "person,auditor"], None);
    let changed = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "role_changed",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(changed.contains("person,auditor"), "{changed}");

    // A year and a bit later, the login attempts are past retention (365 days).
    let later = (mfa_gateway::model::now() + 400 * 86_400).to_string();
    let out = g.ok(&["audit", "purge", "--at", &later], None);
    assert!(out.contains("login_attempt: 2 events redacted"), "{out}");
    assert!(g.ok(&["audit", "verify"], None).contains("audit chain ok"));
    let attempts = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "login_attempt",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(!attempts.contains("\"ann\""), "{attempts}");
    assert!(attempts.contains("pseudonym-"), "{attempts}");
    // A second purge finds nothing new.
    assert!(
        g.ok(&["audit", "purge", "--at", &later], None)
            .contains("0 events redacted")
    );

    // Erasure: only for a removed person; then every event about ann carries the pseudonym.
    let refused = g.run(&["person", "erase", "ann"], None);
    assert!(
        !refused.ok && refused.stderr.contains("remove them first"),
        "{}",
        refused.stderr
    );
    g.ok(&["person", "remove", "ann"], None);
    let erased = g.ok(&["person", "erase", "ann"], None);
    assert!(erased.contains("pseudonym-"), "{erased}");
    assert!(g.ok(&["audit", "verify"], None).contains("audit chain ok"));
    let all = g.ok(
        &["audit", "search", "--format", "jsonl", "--limit", "0"],
        None,
    );
    assert!(
        !all.contains("ann@example.org"),
        "the e-mail address is gone"
    );
    assert!(!all.contains("Ann de Vries"));
    assert!(!g.ok(&["person", "list"], None).contains("ann "));

    // A purge flag set by hand (to hide an edit) is caught.
    let db = g.dir.path().join("mfa-gateway.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE audit_events SET purged = TRUE, actor = 'mallory' WHERE id = 1")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let broken = g.run(&["audit", "verify"], None);
    assert!(!broken.ok);
    assert!(
        broken.stdout.contains("event 1: marked purged"),
        "{}",
        broken.stdout
    );
}

#[test]
fn a_portal_change_is_mailed_through_the_relay() {
    let sink = smtp_sink();
    let g = instance(&format!(
        "\n[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n",
        sink.addr
    ));
    let seed = person(&g, "ann", "Ann de Vries", "person", Some("ann@example.org"));
    let s = serve(&g, READY);
    let base = s.listener("http");
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    sign_in(&page, &base, "ann", &Phone::new(seed.clone()).code(&g));
    // Rename the phone: the person is told.
    page.fill("form.rename input[name=label]", "old phone");
    page.click("form.rename button");
    page.wait_for("ul.devices", WAIT);
    let mail = sink.wait_for("old phone", Duration::from_secs(15));
    assert!(
        mail.to.iter().any(|t| t.contains("ann@example.org")),
        "{mail:?}"
    );
    assert!(mail.from.contains("mfa@example.net"), "{mail:?}");
    assert!(
        mail.data.contains("Subject: Your sign-in account"),
        "{}",
        mail.data
    );
    drop(s);
    let sent = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "mail_sent",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(
        sent.contains("\"outcome\":\"done\"") && !sent.contains("no_relay"),
        "{sent}"
    );
}

/// The SIEM stream: events written while the gateway runs (here by the CLI next to it) go
/// out as RFC 5424 syslog over UDP, or as JSON lines to a file; a restart goes on where the
/// stream stopped, without repeating or losing events.
#[test]
fn events_stream_to_syslog_and_to_a_file() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let g = instance(&format!(
        "\n[audit.siem]\nsink = \"syslog\"\naddress = \"{}\"\nprotocol = \"udp\"\n",
        udp.local_addr().unwrap()
    ));
    let s = serve(&g, READY);
    g.ok(&["org", "add", "Streamed org"], None);
    let mut buf = [0u8; 65_536];
    let msg = (0..50)
        .map(|_| {
            let n = udp.recv(&mut buf).expect("a syslog message");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
        .find(|m| m.contains("org_created"))
        .expect("the org_created event");
    // authpriv (10) * 8 + informational (6) = 86, version 1, MSGID = the event kind.
    assert!(msg.starts_with("<86>1 "), "{msg}");
    assert!(msg.contains(" mfa-gateway - org_created - {"), "{msg}");
    drop(s);

    let g = instance("\n[audit.siem]\nsink = \"file\"\npath = \"stream.jsonl\"\n");
    let file = g.dir.path().join("stream.jsonl");
    let lines = |want: usize| {
        let end = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if lines.iter().filter(|l| l["kind"] == "org_created").count() >= want {
                return lines;
            }
            assert!(
                std::time::Instant::now() < end,
                "{want} lines expected: {text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let s = serve(&g, READY);
    g.ok(&["org", "add", "First streamed"], None);
    assert!(
        lines(1)
            .iter()
            .any(|l| l["detail"].to_string().contains("First streamed")
                || l["kind"] == "org_created")
    );
    drop(s);
    // Written while the gateway is down: sent after the restart, once.
    g.ok(&["org", "add", "While down"], None);
    let s = serve(&g, READY);
    g.ok(&["org", "add", "After restart"], None);
    // Streamed while it runs (the stream is in order: the last one sent means every one
    // before it was).
    lines(3);
    drop(s);
    let all = lines(3);
    let ids: Vec<i64> = all.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeats: {ids:?}"
    );
    let orgs = all.iter().filter(|l| l["kind"] == "org_created").count();
    assert_eq!(orgs, 3, "{all:?}");
}
