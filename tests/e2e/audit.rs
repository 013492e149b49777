//! The auditor's CLI end to end: the hash chain verifies after real CLI actions and logins,
//! and `audit verify` names the event after the database file is edited behind the
//! gateway's back; a checkpoint catches rows cut off the end; search and export.

use mfa_e2e::{Instance, seed_of, uri_in};
use mfa_gateway::otp::{self, OtpHash};

const PW: &str = "correct horse battery";

/// Run SQL statements on the instance's SQLite file directly, as an intruder would.
fn tamper(g: &Instance, statements: &[String]) {
    let url = format!("sqlite://{}", g.dir.path().join("mfa-gateway.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        pool.close().await;
    });
}

/// The events a search finds, as JSON.
fn search(g: &Instance, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "search", "--format", "jsonl", "--limit", "0"];
    all.extend_from_slice(args);
    g.ok(&all, None)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn login(g: &Instance, user: &str, code: &str) -> bool {
    g.run(
        &["login", user, "--code", code, "--password-stdin"],
        Some(&format!("{PW}\n")),
    )
    .ok
}

#[test]
fn chain_verifies_and_names_edited_deleted_and_truncated_events() {
    let g = Instance::init();
    g.ok(&["org", "add", "Practice Noord"], None);
    for user in ["ann", "bob"] {
        mfa_e2e::add_person(&g, user, "Practice Noord", "A. Person", None, PW);
    }
    let out = g.ok(&["device", "add-totp", "ann", "--label", "phone"], None);
    let seed = seed_of(&uri_in(&out));
    let code = otp::totp(&seed, mfa_gateway::model::now(), 30, OtpHash::Sha1, 6);
    assert!(login(&g, "ann", &code));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(!login(&g, "ann", wrong));
    assert!(!login(&g, "bob", "123456"), "bob has no device");
    assert!(!login(&g, "nobody", "123456"));

    let verified = g.ok(&["audit", "verify"], None);
    assert!(verified.starts_with("audit chain ok"), "{verified}");

    // Search: CSV with a header, one row per event about ann.
    let ann = search(&g, &["--person", "ann"]);
    assert!(ann.len() >= 4, "{ann:?}");
    let csv = g.ok(
        &["audit", "search", "--person", "ann", "--format", "csv"],
        None,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,time,kind,actor,person_id,username"),
        "{csv}"
    );
    assert_eq!(lines.len(), ann.len() + 1, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains("ann")), "{csv}");
    let rejects = search(&g, &["--person", "ann", "--outcome", "reject"]);
    assert!(!rejects.is_empty());
    assert!(rejects.iter().all(|e| e["outcome"] == "reject"));
    assert!(search(&g, &["--channel", "radius"]).is_empty());
    assert!(search(&g, &["--from", "2000-01-01", "--to", "2000-12-31"]).is_empty());
    let bad = g.run(&["audit", "search", "--from", "yesterday"], None);
    assert!(!bad.ok && bad.stderr.contains("--from"), "{}", bad.stderr);

    // Export to a file (JSON lines); the export itself is audited.
    let file = g.dir.path().join("ann.jsonl");
    g.ok(
        &[
            "audit",
            "export",
            "--person",
            "ann",
            "--format",
            "jsonl",
            "--output",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        ann.len()
    );
    assert_eq!(search(&g, &["--kind", "audit_exported"]).len(), 1);

    // Edit one event's content: verify fails and names it; undone, it passes again.
    let id = rejects[0]["id"].as_i64().unwrap();
    tamper(
        &g,
        &[format!(
            "UPDATE audit_events SET outcome = 'accept' WHERE id = {id}"
        )],
    );
    let r = g.run(&["audit", "verify"], None);
    assert!(!r.ok, "verify must fail: {}", r.stdout);
    assert!(
        r.stdout.contains(&format!("event {id}: content changed")),
        "{}",
        r.stdout
    );
    tamper(
        &g,
        &[format!(
            "UPDATE audit_events SET outcome = 'reject' WHERE id = {id}"
        )],
    );
    g.ok(&["audit", "verify"], None);

    // A checkpoint; then the newest events are deleted: the chain alone still fits, the
    // checkpoint does not.
    let cp = g.ok(&["audit", "checkpoint"], None);
    assert!(cp.starts_with("checkpoint 1: event "), "{cp}");
    let head: i64 = cp["checkpoint 1: event ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    g.ok(&["org", "add", "Later"], None);
    let verified = g.ok(&["audit", "verify"], None);
    assert!(verified.contains("1 checkpoints ok"), "{verified}");
    tamper(
        &g,
        &[format!("DELETE FROM audit_events WHERE id >= {}", head - 1)],
    );
    let r = g.run(&["audit", "verify"], None);
    assert!(!r.ok, "verify must fail: {}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "event {head}: missing, but checkpoint 1 covers it"
        )),
        "{}",
        r.stdout
    );

    // A row deleted in the middle: the chain breaks at the next one.
    let h = Instance::init();
    for name in ["A", "B", "C", "D"] {
        h.ok(&["org", "add", name], None);
    }
    let orgs = search(&h, &["--oldest-first"]);
    let ids: Vec<i64> = orgs.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    tamper(
        &h,
        &[format!("DELETE FROM audit_events WHERE id = {}", ids[1])],
    );
    let r = h.run(&["audit", "verify"], None);
    assert!(!r.ok);
    assert!(
        r.stdout
            .contains(&format!("event {}: chain broken", ids[2])),
        "{}",
        r.stdout
    );
}
