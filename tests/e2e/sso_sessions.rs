//! Single sign-on sessions end to end (issue 16): a person logs in over OIDC (HTTPS, a cookie
//! jar per browser) to two relying parties, one with a `backchannel_logout_uri` on an HTTP
//! stub; the ID tokens carry the session's `sid`. In the portal the person sees their
//! sessions and signs one out: the stub gets a logout token that verifies against the
//! gateway's JWKS with the right claims, and that browser's `prompt=none` gets
//! `login_required`. Their org admin signs another session out on /admin; an org admin of
//! another organisation is refused. Blocking the person (CLI) sends the back-channel logout
//! of the last one. Every ending and every logout token is audited.

use mfa_e2e::{
    PKCE_VERIFIER, StubRequest, StubResponse, audit_events, authorize_url, browser_client,
    code_in_redirect, csrf_in, exchange_code, http_stub, https_client, https_instance,
    id_token_claims, jwt_part, location, person_with_phones, serve, signed_in_client, totp_now,
};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const PW: &str = "correct horse battery";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The value of the hidden field `name` in `html`.
fn field_in(html: &str, name: &str) -> String {
    let needle = format!(r#"name="{name}" value=""#);
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in\n{html}"));
    let rest = &html[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// An authorization in `h`: with a live session it comes straight back (the redirect);
/// otherwise the login pages, password and the phone's code, first.
fn authorize(h: &Client, base: &str, client: &str, redirect: &str, login: Option<&[u8]>) -> String {
    let r = h
        .get(authorize_url(base, client, redirect, ""))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = location(&r);
    assert!(to.starts_with("/login?auth="), "{to}");
    let r = h.get(format!("{base}{to}")).send().unwrap();
    let Some(seed) = login else {
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "single sign-on, no login page"
        );
        return location(&r);
    };
    let page = r.text().unwrap();
    let code_page = h
        .post(format!("{base}/login"))
        .form(&[
            ("auth", field_in(&page, "auth").as_str()),
            ("csrf", csrf_in(&page).as_str()),
            ("username", "ann"),
            ("password", PW),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let code = totp_now(seed);
    let r = h
        .post(format!("{base}/login/code"))
        .form(&[
            ("csrf", csrf_in(&code_page).as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    location(&r)
}

/// The code exchanged at the token endpoint: the ID token's claims.
fn id_token(h: &Client, base: &str, client: &str, redirect: &str, to: &str) -> Value {
    let tokens = exchange_code(
        h,
        base,
        (client, None),
        &code_in_redirect(to),
        redirect,
        PKCE_VERIFIER,
    );
    id_token_claims(&tokens)
}

/// Waits for the `n`th logout token at the stub; its form field.
fn logout_token(requests: &std::sync::Mutex<Vec<StubRequest>>, n: usize) -> (StubRequest, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got: Vec<StubRequest> = requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target == "/bc")
            .cloned()
            .collect();
        if got.len() >= n {
            let r = got[n - 1].clone();
            let token = r
                .body
                .strip_prefix("logout_token=")
                .unwrap_or_else(|| panic!("{}", r.body))
                .to_owned();
            return (r, token);
        }
        assert!(Instant::now() < deadline, "no logout token {n}: {got:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The token's signature verifies with a key of the gateway's JWKS (by kid); its claims.
fn verified(base: &str, g: &mfa_e2e::Instance, token: &str) -> (Value, Value) {
    use openidconnect::JsonWebKey as _;
    use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
    let jwks: CoreJsonWebKeySet = https_client(g)
        .get(format!("{base}/oauth2/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let header = jwt_part(token, 0);
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == header["kid"].as_str())
        .expect("the token's kid is published");
    let (input, signature) = token.rsplit_once('.').unwrap();
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::EdDsa,
        input.as_bytes(),
        &signature,
    )
    .expect("the logout token's signature verifies");
    (header, jwt_part(token, 1))
}

fn person_id(h: &Client, base: &str, user: &str) -> String {
    let home = h.get(format!("{base}/admin")).send().unwrap();
    let org = location(&home);
    let page = h
        .get(format!("{base}{org}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let row = page
        .find(&format!("<td>{user}</td>"))
        .unwrap_or_else(|| panic!("{user} in\n{page}"));
    let at = page[..row].rfind(r#"<tr id="person-"#).unwrap();
    page[at + r#"<tr id="person-"#.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

fn audit(g: &mfa_e2e::Instance, kind: &str) -> Vec<Value> {
    audit_events(g, Some(kind))
}

fn admin(g: &mfa_e2e::Instance, user: &str, org: &str) -> Vec<u8> {
    g.ok(
        &[
            "person",
            "add",
            user,
            "--org",
            org,
            "--name",
            user,
            "--role",
            "person,org_admin",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    mfa_e2e::seed_of(&mfa_e2e::uri_in(&g.ok(&["device", "add-totp", user], None)))
}

#[test]
fn sessions_are_listed_revoked_and_relying_parties_get_back_channel_logout_tokens() {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let (one, two, bc) = (rp.url("/one"), rp.url("/two"), rp.url("/bc"));
    let clients = format!(
        "\n[[oidc.clients]]\nclient_id = \"app1\"\nredirect_uris = [\"{one}\"]\n\
         backchannel_logout_uri = \"{bc}\"\nbackchannel_logout_session_required = true\n\
         \n[[oidc.clients]]\nclient_id = \"app2\"\nredirect_uris = [\"{two}\"]\n"
    );
    let g = https_instance(&[], &clients);
    g.ok(&["org", "add", "Practice A"], None);
    g.ok(&["org", "add", "Practice B"], None);
    let phones = person_with_phones(&g, "ann", "Practice A", PW, &["p1", "p2", "p3", "p4"]);
    let adam = admin(&g, "adam", "Practice A");
    let bob = admin(&g, "bob", "Practice B");
    let s = serve(&g, READY);
    let base = s.listener("http");

    // Discovery says so.
    let d: Value = https_client(&g)
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);

    // Browser one: a login at app1, then app2 by single sign-on; both ID tokens name the
    // session.
    let b1 = browser_client(&g);
    let to = authorize(&b1, &base, "app1", &one, Some(&phones[0]));
    let first = id_token(&b1, &base, "app1", &one, &to);
    let sid1 = first["sid"].as_str().expect("a sid").to_owned();
    let to = authorize(&b1, &base, "app2", &two, None);
    assert_eq!(
        id_token(&b1, &base, "app2", &two, &to)["sid"],
        sid1.as_str()
    );
    // Browser two: a session of its own.
    let b2 = browser_client(&g);
    let to = authorize(&b2, &base, "app1", &one, Some(&phones[1]));
    let sid2 = id_token(&b2, &base, "app1", &one, &to)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(sid1, sid2);

    // Ann's portal: both sessions, with the applications; never a cookie value.
    let portal = signed_in_client(&g, &base, "ann", PW, &phones[2]);
    let page = portal
        .get(format!("{base}/portal"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(&format!(r#"data-sid="{sid1}""#)), "{page}");
    assert!(page.contains(&format!(r#"data-sid="{sid2}""#)), "{page}");
    assert!(page.contains("app1, app2"), "{page}");
    assert!(page.contains("Sign out everywhere"), "{page}");
    // She signs browser one out.
    let r = portal
        .post(format!("{base}/portal/sso/end"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("sid", sid1.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Without the CSRF token: refused.
    let r = portal
        .post(format!("{base}/portal/sso/end"))
        .form(&[("csrf", "wrong"), ("sid", sid2.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // app1 gets a logout token (app2 registered no URI): signed by the gateway, the claims
    // of Back-Channel Logout 1.0.
    let (request, token) = logout_token(&rp.requests, 1);
    assert_eq!(request.method, "POST");
    assert!(
        request
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/x-www-form-urlencoded"),
        "{request:?}"
    );
    let (header, claims) = verified(&base, &g, &token);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], base.as_str());
    assert_eq!(claims["aud"], "app1");
    assert_eq!(claims["sub"], first["sub"]);
    assert_eq!(claims["sid"], sid1.as_str());
    assert_eq!(claims["events"], serde_json::json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 300, "{claims}");

    // Browser one must log in again: prompt=none is answered login_required.
    let r = b1
        .get(authorize_url(&base, "app2", &two, "&prompt=none"))
        .send()
        .unwrap();
    let to = location(&r);
    let r = if to.starts_with("/login") {
        b1.get(format!("{base}{to}")).send().unwrap()
    } else {
        r
    };
    let back = location(&r);
    assert!(back.contains("error=login_required"), "{back}");
    // Browser two still signs in without a login.
    authorize(&b2, &base, "app2", &two, None);

    // An org admin of another organisation: refused (404), nothing ended.
    let adam_h = signed_in_client(&g, &base, "adam", PW, &adam);
    let ann_id = person_id(&adam_h, &base, "ann");
    let stranger = signed_in_client(&g, &base, "bob", PW, &bob);
    let own = stranger
        .get(format!("{base}/portal"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let r = stranger
        .post(format!("{base}/admin/people/{ann_id}/sso/end-all"))
        .form(&[("csrf", csrf_in(&own).as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    authorize(&b2, &base, "app1", &one, None);

    // Her org admin sees browser two on her page and signs it out.
    let page = adam_h
        .get(format!("{base}/admin/people/{ann_id}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(&format!(r#"data-sid="{sid2}""#)), "{page}");
    assert!(!page.contains(&format!(r#"data-sid="{sid1}""#)), "{page}");
    let r = adam_h
        .post(format!("{base}/admin/people/{ann_id}/sso/end"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("sid", sid2.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, token) = logout_token(&rp.requests, 2);
    assert_eq!(verified(&base, &g, &token).1["sid"], sid2.as_str());

    // A new session in browser two; blocking Ann ends it with a logout token too.
    let to = authorize(&b2, &base, "app1", &one, Some(&phones[3]));
    let sid3 = id_token(&b2, &base, "app1", &one, &to)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    g.ok(&["person", "block", "ann"], None);
    let (_, token) = logout_token(&rp.requests, 3);
    assert_eq!(verified(&base, &g, &token).1["sid"], sid3.as_str());

    // Audited: each ending with its actor, channel and reason; each logout token sent.
    let sent = mfa_e2e::wait_for(WAIT, "three back-channel logouts audited", || {
        Some(audit(&g, "backchannel_logout")).filter(|sent| sent.len() >= 3)
    });
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent.iter()
            .all(|e| e["outcome"] == "done" && e["client"] == "app1"),
        "{sent:?}"
    );
    let ended = audit(&g, "sso_session_ended");
    let by = |reason: &str| {
        ended
            .iter()
            .filter(|e| e["reason"] == reason)
            .cloned()
            .collect::<Vec<_>>()
    };
    let revoked = by("revoked");
    assert_eq!(revoked.len(), 2, "{ended:?}");
    assert!(
        revoked.iter().all(|e| e["channel"] == "portal"),
        "{revoked:?}"
    );
    assert_ne!(
        revoked[0]["actor"], revoked[1]["actor"],
        "the person, then the admin"
    );
    assert_eq!(by("person_blocked").len(), 1, "{ended:?}");
    assert!(!ended.iter().any(|e| e.to_string().contains("token_hash")));
    let denied = audit(&g, "access_denied");
    assert!(!denied.is_empty(), "the stranger's try is audited");
}
