//! Issue 17's operations kit, against the real binary:
//! - `backup` while RADIUS logins keep the audit table busy, `restore` into a fresh folder,
//!   `audit verify` passes there and a RADIUS login works against the restored gateway;
//! - `key rotate`: every sealed secret (phone seed, OIDC signing keys, the audit checkpoint
//!   key) resealed in one transaction, the old key kept, logins and `audit verify` still
//!   pass, the old key no longer opens anything, an interrupted rotation is refused;
//! - `cert check` and the new metrics on `/metrics`;
//! - the alert rules and the dashboard in dist/ name only metrics the gateway has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::radius::{
    ORG, PW, READY, SECRET, access_request, auth, client, gateway, hotp_token, person, start, totp,
    verified,
};
use mfa_e2e::{Instance, https_client, https_instance, seed_of, serve, uri_in};
use mfa_gateway::otp::{self, OtpHash};
use mfa_radius::packet::Code;

/// A new folder with `g`'s config, key and certificates, but no database.
fn fresh_copy(g: &Instance) -> Instance {
    let fresh = Instance {
        dir: tempfile::tempdir().unwrap(),
    };
    let (from, to) = (g.dir.path(), fresh.dir.path());
    for f in ["gateway.toml", "mfa-gateway.key"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    std::fs::create_dir(to.join("certs")).unwrap();
    for entry in std::fs::read_dir(from.join("certs")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("certs").join(entry.file_name())).unwrap();
    }
    fresh
}

fn csv_rows(out: &str) -> usize {
    out.lines().count().saturating_sub(1)
}

#[test]
fn backup_under_load_restores_into_a_fresh_folder_that_verifies_and_logs_in() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[
            ("rate_limit", "per_source_per_minute", "0"),
            ("rate_limit", "per_username_per_minute", "0"),
        ],
        &[client("rdgw", "127.0.0.1/32", r#"mode = "append""#)],
    );
    let ann = person(&g, "ann", PW, &["phone"]);
    person(&g, "kim", PW, &[]);
    // An HOTP token: a fresh code for every login of the load, no wait for a time step.
    let seed = b"backup-load-seed-20b";
    hotp_token(&g, "kim", "HW000017", seed, "desk token");
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU32::new(0));
    let load = {
        let (stop, accepted) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut counter = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let code = otp::hotp(seed, counter, OtpHash::Sha1, 6);
                let id = (counter % 256) as u8;
                let (request, authenticator) =
                    access_request(id, "kim", &format!("{PW}{code}"), SECRET);
                socket.send_to(&request, server).unwrap();
                let mut buf = [0u8; 4096];
                let (n, _) = socket.recv_from(&mut buf).expect("an answer");
                let answer = verified(&buf[..n], id, &authenticator, SECRET);
                assert_eq!(answer.code, Code::ACCESS_ACCEPT, "login {counter}");
                accepted.fetch_add(1, Ordering::Relaxed);
                counter += 1;
            }
        })
    };
    let wait_for = |n: u32| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while accepted.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "the load is too slow");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(10);
    let before = accepted.load(Ordering::Relaxed);
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("mfa-backup.db");
    let out = g.ok(&["backup", backup.to_str().unwrap()], None);
    assert!(out.contains("verified"), "{out}");
    let again = g.run(&["backup", backup.to_str().unwrap()], None);
    assert!(
        !again.ok && again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    wait_for(accepted.load(Ordering::Relaxed) + 10);
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    drop(s);
    assert!(
        g.ok(&["audit", "verify"], None)
            .starts_with("audit chain ok")
    );

    // Restore into a fresh folder (config and key copied, no database).
    let fresh = fresh_copy(&g);
    let out = fresh.ok(&["restore", backup.to_str().unwrap()], None);
    assert!(out.contains("restored"), "{out}");
    let verified_out = fresh.ok(&["audit", "verify"], None);
    assert!(verified_out.starts_with("audit chain ok"), "{verified_out}");
    // Every login answered before the backup began is in it (the event is committed
    // before the answer leaves); the ones after it are not all there.
    let kims = |i: &Instance| {
        csv_rows(&i.ok(
            &[
                "audit",
                "search",
                "--person",
                "kim",
                "--outcome",
                "accept",
                "--limit",
                "0",
                "--format",
                "csv",
            ],
            None,
        ))
    };
    let in_backup = kims(&fresh);
    assert!(
        in_backup >= before as usize,
        "{in_backup} accepts in the backup, {before} answered before it"
    );
    assert!(in_backup < kims(&g), "the backup is a snapshot");
    // A second restore over it needs --force, and keeps what was there.
    let r = fresh.run(&["restore", backup.to_str().unwrap()], None);
    assert!(!r.ok && r.stderr.contains("--force"), "{}", r.stderr);
    // A file that is not a database is refused before anything is touched.
    let junk = backups.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let r = fresh.run(&["restore", "--force", junk.to_str().unwrap()], None);
    assert!(!r.ok, "{}", r.stdout);

    // The restored gateway serves, and a login works.
    let s = start(&fresh);
    let server = s.addr("radius udp", "127.0.0.1");
    auth(server, "ann", &format!("{PW}{}", totp(&ann[0], 0))).assert_code("Access-Accept");
}

#[test]
fn key_rotate_reseals_every_secret_and_the_old_key_opens_none() {
    // Metrics are on the admin listener only.
    let g = https_instance(&["admin"], "\n[admin]\nlisten = [\"127.0.0.1:0\"]\n");
    g.ok(&["org", "add", ORG], None);
    mfa_e2e::add_person(&g, "ann", ORG, "Ann", None, PW);
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", "ann"], None)));
    // Serving makes the OIDC signing keys; /metrics shows the operations metrics.
    let s = serve(&g, READY);
    let metrics = https_client(&g)
        .get(format!("http://{}/metrics", s.listener("admin http")))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for name in [
        "mfa_tls_cert_expiry_timestamp_seconds",
        "mfa_hashing_threads",
        "mfa_process_resident_memory_bytes",
        "mfa_hashing_queue_depth",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    drop(s);
    g.ok(&["audit", "checkpoint"], None);

    let key_file = g.dir.path().join("mfa-gateway.key");
    let old_key = std::fs::read(&key_file).unwrap();
    let out = g.ok(&["key", "rotate"], None);
    for line in [
        "devices.sealed_secret: 1 resealed",
        "audit_keys.sealed_key: 1 resealed",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let signing: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("signing_keys.sealed_key: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(signing >= 1, "{out}");
    let new_key = std::fs::read(&key_file).unwrap();
    assert_ne!(new_key, old_key);
    let kept: Vec<_> = std::fs::read_dir(g.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".old"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), old_key);

    // Everything works under the new key: the chain (its checkpoint key), a login, serving.
    assert!(g.ok(&["key", "check"], None).contains("opens every secret"));
    assert!(
        g.ok(&["audit", "verify"], None)
            .starts_with("audit chain ok")
    );
    let code = otp::totp(&seed, mfa_gateway::model::now(), 30, OtpHash::Sha1, 6);
    g.ok(
        &["login", "ann", "--code", &code, "--password-stdin"],
        Some(&format!("{PW}\n")),
    );
    drop(serve(&g, READY));
    let rotated = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "signing_key_changed",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(rotated.contains(r#""master_key":"rotated""#), "{rotated}");

    // The old key opens nothing any more.
    std::fs::write(&key_file, &old_key).unwrap();
    let r = g.run(&["key", "check"], None);
    assert!(!r.ok && r.stderr.contains("no key"), "{}", r.stderr);
    std::fs::write(&key_file, &new_key).unwrap();

    // A rotation interrupted after the database was resealed leaves `<key>.new`: `key check`
    // names it, and a new rotation is refused until it is dealt with.
    let staged = g.dir.path().join("mfa-gateway.key.new");
    std::fs::write(&staged, &new_key).unwrap();
    std::fs::write(&key_file, &old_key).unwrap();
    let r = g.run(&["key", "check"], None);
    assert!(
        !r.ok && r.stderr.contains("mfa-gateway.key.new"),
        "{}",
        r.stderr
    );
    let r = g.run(&["key", "rotate"], None);
    assert!(!r.ok && r.stderr.contains("key check"), "{}", r.stderr);
    std::fs::rename(&staged, &key_file).unwrap();
    assert!(g.ok(&["key", "check"], None).contains("opens every secret"));
}

#[test]
fn cert_check_names_what_expires() {
    let g = Instance::init();
    let out = g.ok(&["cert", "check"], None);
    assert!(out.contains("tls.cert") && out.contains(": ok"), "{out}");
    // Every certificate "expires soon" when the warning reaches past its end.
    let r = g.run(&["cert", "check", "--warn-days", "10000000"], None);
    assert!(
        !r.ok && r.stderr.contains("within 10000000 days"),
        "{}",
        r.stderr
    );
}

/// Every `mfa_...` name in the alert rules and the dashboard is a metric the gateway has:
/// a name in telemetry.rs, or one of the RADIUS front's counters.
#[test]
fn alert_rules_and_dashboard_name_real_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let telemetry = std::fs::read_to_string(root.join("gateway/src/telemetry.rs")).unwrap();
    let radius: Vec<String> = mfa_radius::Stats::new()
        .snapshot()
        .into_iter()
        .map(|(name, _)| format!("mfa_radius_{name}_total"))
        .collect();
    let known = |name: &str| {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        telemetry.contains(&format!("\"{base}\"")) || radius.iter().any(|r| r == base)
    };
    for file in [
        "dist/prometheus/mfa-gateway-alerts.yml",
        "dist/grafana/mfa-gateway-dashboard.json",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let mut names = 0;
        for (i, _) in text.match_indices("mfa_") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name == "mfa_gateway" || name.starts_with("mfa_gateway_") {
                continue; // the job and file names
            }
            assert!(
                known(&name),
                "{file}: {name} is not a metric of the gateway"
            );
            names += 1;
        }
        assert!(names > 5, "{file} names {names} metrics");
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("dist/grafana/mfa-gateway-dashboard.json")).unwrap(),
    )
    .unwrap();
    assert!(dashboard["panels"].as_array().unwrap().len() >= 8);
    let unit = std::fs::read_to_string(root.join("dist/systemd/mfa-gateway.service")).unwrap();
    for line in [
        "User=mfa-gateway",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    ] {
        assert!(unit.lines().any(|l| l.trim() == line), "{line} in the unit");
    }
}
