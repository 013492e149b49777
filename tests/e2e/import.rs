//! Bulk onboarding without a directory (issue 13): `person import FILE.csv` on the real
//! binary (errors name every bad line and import nothing, `--dry-run` writes nothing, a good
//! file makes everyone and their activation mails reach the SMTP sink), and the import page
//! on /admin over HTTPS (an org admin imports into their own organisation only; no CSRF
//! token, no import).

use mfa_e2e::{csrf_in, signed_in_client};
use std::time::Duration;

use mfa_e2e::{Instance, https_instance, seed_of, serve, smtp_sink, uri_in};
use reqwest::StatusCode;

const PW: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);

/// An instance with HTTPS and mail to `sink`, organisations A and B, and a person `taken`
/// in A (usernames are unique per organisation); returns the organisations' ids.
fn instance(sink: &mfa_e2e::SmtpSink) -> (Instance, i64, i64) {
    let g = https_instance(
        &["mail"],
        &format!(
            "\n[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n",
            sink.addr
        ),
    );
    let id = |out: String| -> i64 {
        let at = out.find("(id ").unwrap() + 4;
        out[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let a = id(g.ok(&["org", "add", "Practice A"], None));
    let b = id(g.ok(&["org", "add", "Practice B"], None));
    g.ok(
        &[
            "person",
            "add",
            "taken",
            "--org",
            "Practice A",
            "--name",
            "Taken",
            "--no-password",
        ],
        None,
    );
    (g, a, b)
}

/// The mail to `to` (waits up to `WAIT` for it).
fn mail_to(sink: &mfa_e2e::SmtpSink, to: &str) -> mfa_e2e::SunkMail {
    mfa_e2e::wait_for(WAIT, &format!("a mail to {to}"), || {
        sink.mails()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t.contains(to)))
    })
}

fn people(g: &Instance, org: &str) -> String {
    g.ok(&["person", "list", "--org", org], None)
}

fn write(g: &Instance, name: &str, text: &str) -> String {
    let path = g.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn cli_import_names_every_bad_line_dry_runs_and_mails_activation_links() {
    let sink = smtp_sink();
    let (g, _, _) = instance(&sink);
    let bad = write(
        &g,
        "bad.csv",
        "name,email,username\n\
         Ann de Vries,ann@example.org,ann\n\
         Bob,bob-at-example.org,bob\n\
         Cees,cees@example.org,ann\n\
         Dirk,dirk@example.org,taken\n",
    );
    let args = |file: &str| {
        vec![
            "person".to_owned(),
            "import".to_owned(),
            file.to_owned(),
            "--org".to_owned(),
            "Practice A".to_owned(),
            "--base-url".to_owned(),
            "https://mfa.example".to_owned(),
        ]
    };
    let run = |a: &[String]| g.run(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);
    let r = run(&args(&bad));
    assert!(!r.ok, "{}", r.stdout);
    assert!(
        r.stderr.contains("line 3: the e-mail address"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("line 4: the username \"ann\" is also on line 2"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 5: the username \"taken\" is taken"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("3 error(s); nothing was imported"),
        "{}",
        r.stderr
    );
    assert!(!people(&g, "Practice A").contains("ann"));

    // Excel's way: a byte order mark, CRLF, columns in another order, quotes.
    let good = write(
        &g,
        "good.csv",
        "\u{feff}Email,Name,Employee_Number,Start_Date\r\n\
         ann@example.org,\"de Vries, Ann\",E1,2030-01-01\r\n\
         bob@example.org,Bob Jansen,E2,\r\n",
    );
    let mut dry = args(&good);
    dry.push("--dry-run".into());
    let r = run(&dry);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("dry run: 2 people would be made"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ann@example.org"), "{}", r.stdout);
    assert!(!people(&g, "Practice A").contains("ann@example.org"));
    assert!(sink.mails().is_empty());

    let r = run(&args(&good));
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("2 people imported into Practice A"),
        "{}",
        r.stdout
    );
    let list = people(&g, "Practice A");
    assert!(
        list.contains("ann@example.org") && list.contains("bob@example.org"),
        "{list}"
    );
    for to in ["ann@example.org", "bob@example.org"] {
        let mail = mail_to(&sink, to);
        assert!(
            mail.data.contains("https://mfa.example/activate/"),
            "{}",
            mail.data
        );
    }
    // Audited like a joiner: person_created (with the line and start date) and the link.
    let created = g.ok(
        &[
            "audit",
            "search",
            "--format",
            "jsonl",
            "--limit",
            "0",
            "--kind",
            "person_created",
        ],
        None,
    );
    let imported: Vec<serde_json::Value> = created
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["detail"]["import"] == "csv")
        .collect();
    assert_eq!(imported.len(), 2, "{created}");
    assert!(
        imported
            .iter()
            .any(|e| e["detail"]["start_date"] == "2030-01-01" && e["detail"]["line"] == 2),
        "{created}"
    );
    // The same file again: every username is taken now, nothing is made twice.
    let r = run(&args(&good));
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("line 2: the username \"ann@example.org\" is taken"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_org_admin_imports_on_admin_into_their_own_organisation_only() {
    let sink = smtp_sink();
    let (g, org_a, org_b) = instance(&sink);
    g.ok(
        &[
            "person",
            "add",
            "admina",
            "--org",
            "Practice A",
            "--name",
            "Admin A",
            "--role",
            "person,org_admin",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", "admina"], None)));
    let s = serve(&g, READY);
    let base = s.listener("http");
    let url = |p: &str| format!("{base}{p}");
    // Sign in: password, then the phone's code.
    let h = signed_in_client(&g, &base, "admina", PW, &seed);
    let text = |r: reqwest::blocking::Response| (r.status(), r.text().unwrap());
    let post = |p: &str, fields: &[(&str, &str)]| text(h.post(url(p)).form(fields).send().unwrap());

    let import = format!("/admin/orgs/{org_a}/import");
    let (status, form) = text(h.get(url(&import)).send().unwrap());
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(r#"<textarea id="csv""#), "{form}");
    let csrf = csrf_in(&form);

    // Errors: every bad line named, what was typed kept, nothing made.
    let bad = "name,email\nZed Zonder,zed@example.org\nYara,yara@\n";
    let (status, page) = post(
        &import,
        &[("csrf", &csrf), ("csv", bad), ("action", "import")],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("line 3: the e-mail address"), "{page}");
    assert!(
        page.contains("Zed Zonder,zed@example.org"),
        "the text area keeps the file"
    );
    assert!(!people(&g, "Practice A").contains("zed@example.org"));

    // Check shows who would be made; Import makes them and mails each a link.
    let good =
        "name,email,username\nZed Zonder,zed@example.org,zed\nYara Yilmaz,yara@example.org,\n";
    let (status, page) = post(
        &import,
        &[("csrf", &csrf), ("csv", good), ("action", "check")],
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Import 2 people"), "{page}");
    assert!(!people(&g, "Practice A").contains("zed"));

    // Without the CSRF token: refused, nothing made.
    let (status, _) = post(&import, &[("csv", good), ("action", "import")]);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!people(&g, "Practice A").contains("zed"));

    // A file beyond the 64 KiB every other form may send is read whole; other forms are not.
    let mut big = String::from("name,email\n");
    for i in 0..3000 {
        big.push_str(&format!("Person {i},person{i}@example.org\n"));
    }
    let (status, page) = post(
        &import,
        &[("csrf", &csrf), ("csv", &big), ("action", "check")],
    );
    assert_eq!(status, StatusCode::OK, "{}", &page[..page.len().min(2000)]);
    assert!(page.contains("Import 3000 people"));
    let requests = format!("/admin/orgs/{org_a}/requests");
    let (status, _) = post(&requests, &[("csrf", &csrf), ("full_name", &big)]);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Another organisation: not found (audited), nothing made there.
    let other = format!("/admin/orgs/{org_b}/import");
    let (status, _) = post(
        &other,
        &[("csrf", &csrf), ("csv", good), ("action", "import")],
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = text(h.get(url(&other)).send().unwrap());
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!people(&g, "Practice B").contains("zed"));
    let denied = g.ok(
        &[
            "audit",
            "search",
            "--format",
            "jsonl",
            "--limit",
            "0",
            "--kind",
            "access_denied",
        ],
        None,
    );
    assert!(
        denied.contains(&format!("organisation {org_b}")),
        "{denied}"
    );

    let (status, page) = post(
        &import,
        &[("csrf", &csrf), ("csv", good), ("action", "import")],
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(r#"id="imported""#) && page.contains("Yara Yilmaz"),
        "{page}"
    );
    let list = people(&g, "Practice A");
    assert!(
        list.contains("zed") && list.contains("yara@example.org"),
        "{list}"
    );
    for to in ["zed@example.org", "yara@example.org"] {
        let mail = mail_to(&sink, to);
        assert!(mail.data.contains("/activate/"), "{}", mail.data);
    }
    // The org admin is not shown the links (only the person gets theirs).
    assert!(!page.contains("/activate/"), "{page}");
}
