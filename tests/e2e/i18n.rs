//! Dutch and English outside the pages (issue 15): an organisation whose policy says `nl`
//! gets Dutch RADIUS prompts and mails, with times in Europe/Amsterdam and the zone shown;
//! another organisation keeps the default (English here); a RADIUS Access-Reject is worded
//! in the client's organisation's language whoever the name is, so its language tells
//! nothing about the username (radclient).

use crate::radius::{auth, client};
use mfa_e2e::{
    Instance, csrf_in, https_instance, seed_of, serve, signed_in_client, smtp_sink, uri_in,
};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const PW: &str = "correct horse battery";

fn person(g: &Instance, user: &str, org: &str) {
    mfa_e2e::add_person(g, user, org, user, Some(&format!("{user}@example.org")), PW);
}

#[test]
fn an_organisation_in_dutch_gets_dutch_radius_messages_and_mails() {
    let sink = smtp_sink();
    let g = https_instance(
        &["mail"],
        &format!(
            "\n[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n{}",
            sink.addr,
            client(
                "vpn",
                "127.0.0.1/32",
                "mode = \"challenge\"\ndefault_org = \"Praktijk Zuid\""
            )
        ),
    );
    g.ok(&["org", "add", "Praktijk Zuid"], None);
    g.ok(&["org", "add", "Practice East"], None);
    g.ok(
        &["org", "policy", "Praktijk Zuid", "--language", "nl"],
        None,
    );
    person(&g, "ann", "Praktijk Zuid");
    person(&g, "bob", "Practice East");
    g.ok(&["device", "add-totp", "ann", "--label", "werk"], None);
    let bob_seed = seed_of(&uri_in(
        &g.ok(&["device", "add-totp", "bob", "--label", "work"], None),
    ));

    // The operator's change, mailed in each one's language, the time in Amsterdam's zone.
    let dutch = sink.wait_for("To: ann@example.org", WAIT).data;
    assert!(
        dutch.contains("Uw inlogaccount")
            && dutch.contains("Een telefoon met de naam \"werk\" is aan uw account gekoppeld")
            && dutch.contains("Wanneer: ")
            && (dutch.contains(" CET") || dutch.contains(" CEST")),
        "{dutch}"
    );
    let english = sink.wait_for("To: bob@example.org", WAIT).data;
    assert!(
        english.contains("Your sign-in account")
            && english.contains("A phone named \"work\" was linked to your account"),
        "{english}"
    );

    // A new account's activation mail (CSV import), in Dutch, the expiry in Amsterdam time.
    let csv = g.dir.path().join("new.csv");
    std::fs::write(&csv, "name,email\nCees de Vries,cees@example.org\n").unwrap();
    g.ok(
        &[
            "person",
            "import",
            csv.to_str().unwrap(),
            "--org",
            "Praktijk Zuid",
            "--base-url",
            "https://mfa.example",
        ],
        None,
    );
    let activation = sink.wait_for("To: cees@example.org", WAIT).data;
    assert!(
        activation.contains("Subject: Activeer uw inlogaccount")
            && activation.contains("Beste Cees de Vries,")
            && activation.contains("https://mfa.example/activate/"),
        "{activation}"
    );

    let s = serve(&g, READY);
    let radius = s.addr("radius udp", "127.0.0.1");
    // The right password: the prompt in the person's language.
    let ann = auth(radius, "ann", PW);
    ann.assert_code("Access-Challenge");
    assert_eq!(
        ann.attr("Reply-Message"),
        Some("Voer de code van uw telefoon of token in"),
        "{}",
        ann.output
    );
    let bob = auth(radius, "bob", PW);
    bob.assert_code("Access-Challenge");
    assert_eq!(
        bob.attr("Reply-Message"),
        Some("Enter the code from your phone or token"),
        "{}",
        bob.output
    );
    // The sign-in page: the browser's language (Accept-Language), else the default.
    let base = s.listener("http");
    let client = mfa_e2e::https_client(&g);
    let login = |accept: Option<&str>| {
        let mut r = client.get(format!("{base}/portal/login"));
        if let Some(a) = accept {
            r = r.header("Accept-Language", a);
        }
        r.send().unwrap().text().unwrap()
    };
    let dutch = login(Some("nl-NL,nl;q=0.9,en;q=0.8"));
    assert!(
        dutch.contains(r#"<html lang="nl">"#)
            && dutch.contains("<h1>Inloggen</h1>")
            && dutch.contains("Wachtwoord vergeten?"),
        "{dutch}"
    );
    let english = login(None);
    assert!(
        english.contains(r#"<html lang="en">"#) && english.contains("<h1>Sign in</h1>"),
        "{english}"
    );

    // Bob chooses Dutch for himself in the portal: his prompt follows (audited).
    let h = signed_in_client(&g, &base, "bob", PW, &bob_seed);
    let page = h
        .get(format!("{base}/portal"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains(r#"<select id="language" name="language">"#),
        "{page}"
    );
    let saved = h
        .post(format!("{base}/portal/language"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("language", "nl")])
        .send()
        .unwrap();
    assert_eq!(saved.status().as_u16(), 303);
    let bob = auth(radius, "bob", PW);
    assert_eq!(
        bob.attr("Reply-Message"),
        Some("Voer de code van uw telefoon of token in"),
        "{}",
        bob.output
    );
    let changed = g.ok(
        &[
            "audit",
            "search",
            "--kind",
            "language_changed",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert!(changed.contains(r#""language":"nl""#), "{changed}");

    // Refusals: the client's organisation's language, for a known or an unknown name alike.
    for user in ["ann", "bob", "nobody"] {
        let r = auth(radius, user, "not the password");
        r.assert_code("Access-Reject");
        assert_eq!(
            r.attr("Reply-Message"),
            Some("Toegang geweigerd"),
            "{user}: {}",
            r.output
        );
    }
}
