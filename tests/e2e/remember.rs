//! "Remember this browser for N days" (issue 16) against the real binary, over HTTPS with a
//! cookie jar per browser: off by default (no checkbox); the operator turns it on; a login
//! that ticks it gets the `mfa_remember` cookie; that browser's next logins ask for the
//! password only (a wrong one is still refused), another browser still asks for the code;
//! forgetting it in the portal or blocking the person ends it; `acr_values` asking for a
//! second factor makes the code asked even with the cookie (and a password-only single
//! sign-on session does not satisfy it); the ID token's `acr` and `amr` say which login it
//! was; the audit trail has it all.

use crate::radius::totp;
use mfa_e2e::{
    Instance, PKCE_VERIFIER, audit_events, authorize_url, code_in_redirect, csrf_in, exchange_code,
    https_builder, https_instance, id_token_claims, location, person_with_phones, serve,
};
use reqwest::blocking::Client;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const PW: &str = "correct horse battery";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const ACR_MFA: &str = "urn:mfa-gateway:acr:mfa";
const ACR_PWD: &str = "urn:mfa-gateway:acr:pwd";

/// A browser: its own cookie jar, holding the remember cookie `remembered` if given.
fn browser(g: &Instance, base: &str, remembered: Option<&str>) -> Client {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    if let Some(token) = remembered {
        jar.add_cookie_str(
            &format!("mfa_remember={token}; Path=/; Secure; HttpOnly"),
            &base.parse().unwrap(),
        );
    }
    https_builder(g).cookie_provider(jar).build().unwrap()
}

/// The password step of the portal's login: the answer (a code page, or a 303 when the
/// code was skipped).
fn portal_password(h: &Client, base: &str, password: &str) -> reqwest::blocking::Response {
    let login = h
        .get(format!("{base}/portal/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    h.post(format!("{base}/portal/login"))
        .form(&[
            ("csrf", csrf_in(&login).as_str()),
            ("username", "ann"),
            ("password", password),
        ])
        .send()
        .unwrap()
}

/// The code step with "Remember this browser" ticked or not: the answer.
fn code_step(
    h: &Client,
    base: &str,
    page: &str,
    code: &str,
    remember: bool,
) -> reqwest::blocking::Response {
    let mut form = vec![("csrf", csrf_in(page)), ("code", code.to_owned())];
    if remember {
        form.push(("remember", "yes".to_owned()));
    }
    h.post(format!("{base}/login/code"))
        .form(&form)
        .send()
        .unwrap()
}

/// The remember cookie an answer sets: its token and the whole header.
fn remember_cookie(res: &reqwest::blocking::Response) -> Option<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mfa_remember="))
        .map(|v| {
            let token = v["mfa_remember=".len()..].split(';').next().unwrap_or("");
            (token.to_owned(), v.to_owned())
        })
}

/// An OIDC login in `h` up to the password step: the answer to the password.
fn oidc_password(h: &Client, base: &str, extra: &str) -> reqwest::blocking::Response {
    let start = h
        .get(authorize_url(base, "app", REDIRECT, extra))
        .send()
        .unwrap();
    assert_eq!(start.status().as_u16(), 303);
    let login_url = format!("{base}{}", location(&start));
    let page = h.get(&login_url).send().unwrap().text().unwrap();
    assert!(page.contains("login-form"), "{page}");
    let auth = login_url.split("auth=").nth(1).unwrap().to_owned();
    h.post(format!("{base}/login"))
        .form(&[
            ("auth", auth.as_str()),
            ("csrf", csrf_in(&page).as_str()),
            ("username", "ann"),
            ("password", PW),
        ])
        .send()
        .unwrap()
}

/// The ID token's claims for the code an answer redirected with.
fn claims_of(h: &Client, base: &str, res: &reqwest::blocking::Response) -> Value {
    let to = location(res);
    assert!(to.starts_with(REDIRECT), "back at the application: {to}");
    let tokens = exchange_code(
        h,
        base,
        ("app", None),
        &code_in_redirect(&to),
        REDIRECT,
        PKCE_VERIFIER,
    );
    id_token_claims(&tokens)
}

fn events(g: &Instance, kind: &str) -> Vec<Value> {
    audit_events(g, Some(kind))
}

#[test]
fn a_remembered_browser_asks_for_the_password_only_until_it_is_forgotten_or_the_person_blocked() {
    let g = https_instance(
        &[],
        &format!(
            "\n[[oidc.clients]]\nclient_id = \"app\"\nredirect_uris = [\"{REDIRECT}\"]\n\
             flows = [\"code\"]\nrequire_pkce = true\n"
        ),
    );
    g.ok(&["org", "add", "Practice A"], None);
    // A phone per code step used (a used TOTP step is never accepted again on a device).
    let phones = person_with_phones(&g, "ann", "Practice A", PW, &["a", "b", "c", "d"]);
    let s = serve(&g, READY);
    let base = s.listener("http");

    // Off by default: no checkbox, and discovery names the acr values.
    let discovery: Value = browser(&g, &base, None)
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        serde_json::json!([ACR_MFA, ACR_PWD])
    );
    let first = browser(&g, &base, None);
    let page = portal_password(&first, &base, PW).text().unwrap();
    assert!(page.contains("code-form"), "{page}");
    assert!(!page.contains("Remember this browser"), "{page}");
    let ticked = code_step(&first, &base, &page, &totp(&phones[0], 0), true);
    assert_eq!(ticked.status().as_u16(), 303);
    assert!(remember_cookie(&ticked).is_none(), "the policy is off");

    // The operator allows 30 days; the org admin's words say so.
    let shown = g.ok(
        &["org", "policy", "Practice A", "--remember-days", "30"],
        None,
    );
    assert!(shown.contains("offered for 30 days"), "{shown}");
    let refused = g.run(
        &["org", "policy", "Practice A", "--remember-days", "91"],
        None,
    );
    assert!(!refused.ok, "91 days is outside the bounds");

    // A login that ticks the box gets the cookie.
    let laptop = browser(&g, &base, None);
    let page = portal_password(&laptop, &base, PW).text().unwrap();
    assert!(page.contains("Remember this browser for 30 days"), "{page}");
    let done = code_step(&laptop, &base, &page, &totp(&phones[1], 0), true);
    assert_eq!(done.status().as_u16(), 303);
    let (token, header) = remember_cookie(&done).expect("the remember cookie");
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(header.contains(attr), "{header}");
    }
    assert_eq!(token.len(), 43, "256 random bits, base64url");

    // The same browser later: the password, no code.
    let later = browser(&g, &base, Some(&token));
    let skipped = portal_password(&later, &base, PW);
    assert_eq!(skipped.status().as_u16(), 303, "no code page");
    assert_eq!(location(&skipped), "/portal");
    let portal = later
        .get(format!("{base}/portal"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(portal.contains("Remembered browsers"), "{portal}");
    assert!(portal.contains("forget-all-browsers"), "{portal}");
    // A wrong password is still refused.
    let wrong = portal_password(&browser(&g, &base, Some(&token)), &base, "not the password");
    assert_eq!(wrong.status().as_u16(), 200);
    assert!(
        wrong
            .text()
            .unwrap()
            .contains("username or password is not right"),
        "refused"
    );
    // Another browser (no cookie) still asks for the code.
    let other = portal_password(&browser(&g, &base, None), &base, PW);
    assert!(other.text().unwrap().contains("code-form"));

    // OIDC: acr_values asking for mfa asks for the code even with the cookie; acr says so.
    let app = browser(&g, &base, Some(&token));
    let asked = oidc_password(&app, &base, &format!("&acr_values={ACR_MFA}"));
    let page = asked.text().unwrap();
    assert!(page.contains("code-form"), "the code is asked: {page}");
    let done = code_step(&app, &base, &page, &totp(&phones[2], 0), false);
    let claims = claims_of(&app, &base, &done);
    assert_eq!(claims["acr"], ACR_MFA, "{claims}");
    assert!(
        claims["amr"].as_array().unwrap().contains(&"otp".into()),
        "{claims}"
    );
    // The same asked for through the claims parameter (id_token.acr).
    let claims = "%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%2C%22values%22%3A\
                  %5B%22urn%3Amfa-gateway%3Aacr%3Amfa%22%5D%7D%7D%7D";
    let asked = oidc_password(
        &browser(&g, &base, Some(&token)),
        &base,
        &format!("&claims={claims}"),
    );
    assert!(
        asked.text().unwrap().contains("code-form"),
        "claims: the code"
    );
    // Without acr_values: the password alone, and the token says so.
    let quick = browser(&g, &base, Some(&token));
    let res = oidc_password(&quick, &base, "");
    assert_eq!(res.status().as_u16(), 303);
    let claims = claims_of(&quick, &base, &res);
    assert_eq!(claims["acr"], ACR_PWD, "{claims}");
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "remembered_browser"]),
        "{claims}"
    );
    // Its single sign-on session (password only) does not satisfy acr_values=mfa.
    let again = quick
        .get(authorize_url(
            &base,
            "app",
            REDIRECT,
            &format!("&acr_values={ACR_MFA}"),
        ))
        .send()
        .unwrap();
    let login_url = format!("{base}{}", location(&again));
    assert!(login_url.contains("/login?auth="), "{login_url}");
    let page = quick.get(&login_url).send().unwrap().text().unwrap();
    assert!(
        page.contains("login-form"),
        "a login, not single sign-on: {page}"
    );

    // The person forgets the browser in the portal: the code is asked again.
    let id = portal
        .split("/portal/browsers/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a forget form")
        .to_owned();
    let forgot = later
        .post(format!("{base}/portal/browsers/{id}/forget"))
        .form(&[("csrf", csrf_in(&portal))])
        .send()
        .unwrap();
    assert_eq!(forgot.status().as_u16(), 303);
    let again = portal_password(&browser(&g, &base, Some(&token)), &base, PW);
    assert!(again.text().unwrap().contains("code-form"), "forgotten");

    // Remembered again, then blocked and unblocked: it has ended.
    let laptop = browser(&g, &base, None);
    let page = portal_password(&laptop, &base, PW).text().unwrap();
    let done = code_step(&laptop, &base, &page, &totp(&phones[3], 0), true);
    let (token, _) = remember_cookie(&done).expect("remembered again");
    let skipped = portal_password(&browser(&g, &base, Some(&token)), &base, PW);
    assert_eq!(skipped.status().as_u16(), 303);
    g.ok(&["person", "block", "ann"], None);
    g.ok(&["person", "unblock", "ann"], None);
    let after = portal_password(&browser(&g, &base, Some(&token)), &base, PW);
    assert!(
        after.text().unwrap().contains("code-form"),
        "ended by the block"
    );

    // The audit trail: remembered twice, forgotten by the person and by the block, and the
    // logins that skipped the code say so.
    assert_eq!(events(&g, "browser_remembered").len(), 2);
    let forgotten = events(&g, "browser_forgotten");
    assert!(
        forgotten.iter().any(|e| e["channel"] == "portal"),
        "{forgotten:?}"
    );
    assert!(
        forgotten.iter().any(|e| e["reason"] == "person_blocked"),
        "{forgotten:?}"
    );
    let skipped: Vec<Value> = events(&g, "login_attempt")
        .into_iter()
        .filter(|e| e["detail"]["code_skipped"] == true)
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped.iter().all(|e| e["outcome"] == "accept"));
}
