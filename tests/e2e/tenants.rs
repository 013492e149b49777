//! Organisations as tenants, end to end: a RADIUS client and an OIDC client bound to
//! organisation A (`orgs = ["A"]`) refuse B's person exactly as they refuse an unknown user
//! (radclient; the OIDC login page in Chromium), and the audit trail says why
//! (`client_not_for_org`, naming the person); an unbound client serves both; a SIGHUP that
//! binds the unbound client takes effect without a restart.

use crate::radius::{auth, client, login_attempts, totp};
use mfa_e2e::browser::Browser;
use mfa_e2e::{StubResponse, http_stub, https_instance, seed_of, serve, uri_in};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const PW: &str = "correct horse battery";

#[test]
fn clients_bound_to_an_organisation_refuse_other_organisations_people_as_unknown() {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let redirect = rp.url("/callback");
    let g = https_instance(&[], "");
    let text = std::fs::read_to_string(g.config()).unwrap();
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
    std::fs::write(g.config(), format!("{text}{clients}")).unwrap();
    g.ok(&["org", "add", "Practice A"], None);
    g.ok(&["org", "add", "Practice B"], None);
    let mut seeds = Vec::new();
    for (user, org) in [("ann", "Practice A"), ("bob", "Practice B")] {
        g.ok(
            &[
                "person",
                "add",
                user,
                "--org",
                org,
                "--name",
                user,
                "--password-stdin",
            ],
            Some(&format!("{PW}\n")),
        );
        let phones: Vec<Vec<u8>> = ["one", "two"]
            .iter()
            .map(|l| {
                seed_of(&uri_in(
                    &g.ok(&["device", "add-totp", user, "--label", l], None),
                ))
            })
            .collect();
        seeds.push(phones);
    }
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
        let challenge = {
            use base64::Engine as _;
            use sha2::Digest as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(
                b"a-code-verifier-that-is-long-enough-0123456789-abc",
            ))
        };
        page.goto(&format!(
            "{base}/oauth2/authorize?response_type=code&client_id=guac-a&scope=openid&state=s\
             &nonce=n&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
            redirect.replace(':', "%3A").replace('/', "%2F")
        ));
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
    let text = std::fs::read_to_string(g.config()).unwrap().replacen(
        "orgs = [\"Practice A\"]",
        "orgs = [\"Practice B\"]",
        1,
    );
    std::fs::write(g.config(), text).unwrap();
    s.hangup();
    s.wait_for_output("config reloaded", WAIT);
    auth(radius, "ann", &format!("{PW}{}", totp(&seeds[0][1], 0))).assert_code("Access-Reject");
    auth(radius, "bob", &format!("{PW}{}", totp(&seeds[1][1], 0))).assert_code("Access-Accept");
}
