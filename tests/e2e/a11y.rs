//! Accessibility (issue 15): every page a person, an org admin, an operator or an auditor
//! reads passes axe-core's WCAG 2.0 / 2.1 A and AA rules with no violation (axe-core from
//! npm, installed by scripts/test.sh, injected into the page by Chromium), and the sign-in
//! works with the keyboard alone: Tab goes username, password, the button, in that order,
//! with a visible focus, and Enter sends each step.

use mfa_e2e::browser::{Browser, Page};
use mfa_e2e::{
    Instance, StubResponse, authorize_url, http_stub, https_instance, seed_of, serve, uri_in,
};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const ORG: &str = "Praktijk Zuid";
const PW: &str = "correct horse battery";

fn person(g: &Instance, user: &str, roles: &str) -> Vec<u8> {
    g.ok(
        &[
            "person",
            "add",
            user,
            "--org",
            ORG,
            "--name",
            &format!("{user} Example"),
            "--email",
            &format!("{user}@example.org"),
            "--role",
            roles,
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    seed_of(&uri_in(&g.ok(&["device", "add-totp", user], None)))
}

fn code(seed: &[u8], step: i64) -> String {
    mfa_gateway::otp::totp(
        seed,
        mfa_gateway::model::now() + 30 * step,
        30,
        mfa_gateway::otp::OtpHash::Sha1,
        6,
    )
}

/// Checks the page as it is now: it is in `lang` (`<html lang>`), and axe-core finds
/// nothing; what fails goes into `found` under `name`. The screenshot is `<lang>-<name>`.
fn check(page: &Page<'_>, lang: &str, name: &str, found: &mut Vec<String>) {
    page.screenshot(&format!("{lang}-{name}"));
    let html_lang = page.eval("document.documentElement.lang");
    if html_lang.as_str() != Some(lang) {
        found.push(format!(
            "{name} ({}): the page is in {html_lang}, not {lang}",
            page.url()
        ));
    }
    for v in page.axe() {
        found.push(format!("{name} ({}): {v}", page.url()));
    }
}

#[test]
fn every_page_passes_axe_core_at_wcag_2_1_aa() {
    every_page("en");
}

/// The same pages in Dutch: a browser that asks for Dutch, an organisation whose language
/// is Dutch (the signed-in pages follow the person's organisation).
#[test]
fn every_page_passes_axe_core_in_dutch_too() {
    every_page("nl");
}

fn every_page(lang: &str) {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let redirect = rp.url("/cb");
    let g = https_instance(
        &[],
        &format!(
            "\n[[oidc.clients]]\nclient_id = \"guac\"\nname = \"Guacamole\"\n\
             redirect_uris = [\"{redirect}\"]\nflows = [\"code\"]\nrequire_pkce = true\n"
        ),
    );
    g.ok(&["org", "add", ORG], None);
    g.ok(&["org", "policy", ORG, "--language", lang], None);
    let ann = person(&g, "ann", "person,operator,auditor");
    person(&g, "bob", "person");
    let s = serve(&g, READY);
    let base = s.listener("http");
    let url = |p: &str| format!("{base}{p}");
    let browser = Browser::launch_in(lang, &[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    let mut found = Vec::new();

    // Before signing in: the sign-in pages, the reset request, the approval page, the OIDC
    // login page and an error of the provider's, a page that does not exist.
    page.goto(&url("/portal/login"));
    page.wait_for("form#login-form", WAIT);
    check(&page, lang, "portal-login", &mut found);
    page.fill("input[name=username]", "ann");
    page.fill("input[name=password]", "not the password");
    page.click("button#submit");
    page.wait_for("p.error", WAIT);
    check(&page, lang, "portal-login-error", &mut found);
    // The error is tied to the fields it is about.
    assert_eq!(
        page.eval(
            "['username', 'password'].map(id => document.getElementById(id)\
             .getAttribute('aria-describedby'))"
        ),
        serde_json::json!(["form-error", "form-error"])
    );
    assert!(page.exists("#form-error[role=alert]"));
    for (name, path) in [
        ("reset", "/reset"),
        ("approve", "/approve"),
        ("missing", "/nope"),
    ] {
        page.goto(&url(path));
        check(&page, lang, name, &mut found);
    }
    page.goto(&authorize_url(&base, "guac", &redirect, ""));
    page.wait_for("form#login-form", WAIT);
    check(&page, lang, "oidc-login", &mut found);
    page.goto(&authorize_url(&base, "nobody", &redirect, ""));
    check(&page, lang, "oidc-error", &mut found);

    // Signing in: the code page, then the portal.
    page.goto(&url("/portal/login"));
    page.wait_for("form#login-form", WAIT);
    page.fill("input[name=username]", "ann");
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", WAIT);
    check(&page, lang, "code", &mut found);
    page.fill("input[name=code]", &code(&ann, 0));
    page.click("button#submit");
    page.wait_for("ul.devices", WAIT);
    check(&page, lang, "my-devices", &mut found);
    for (name, path) in [
        ("my-logins", "/portal/logins"),
        ("approvals", "/portal/approvals"),
        ("admin", "/admin"),
        ("requests", "/admin/requests"),
        ("stock", "/admin/stock"),
        ("audit", "/audit"),
        ("audit-search", "/audit?person=bob"),
    ] {
        page.goto(&url(path));
        check(&page, lang, name, &mut found);
    }
    // An organisation's page and a person's (admin), a timeline and a subject access
    // (audit), found by following the pages' own links.
    let link = |prefix: &str| -> String {
        page.eval(&format!(
            "(Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))\
             .find(h => h && h.startsWith('{prefix}')) || '')"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    page.goto(&url("/admin"));
    let org = link("/admin/orgs/");
    assert!(
        !org.is_empty(),
        "an organisation link on /admin: {}",
        page.html()
    );
    page.goto(&url(&org));
    check(&page, lang, "admin-org", &mut found);
    let bob = link("/admin/people/");
    assert!(!bob.is_empty(), "a person link: {}", page.html());
    page.goto(&url(&bob));
    check(&page, lang, "admin-person", &mut found);
    let id = bob.rsplit('/').next().unwrap_or_default().to_owned();
    page.goto(&url("/audit?person=bob"));
    assert!(
        page.exists("svg#chart[role=img]") && page.exists("table#chart-table caption"),
        "the chart and its table: {}",
        page.html()
    );
    for (name, path) in [
        ("audit-timeline", format!("/audit/person/{id}")),
        ("audit-subject", format!("/audit/subject/{id}")),
    ] {
        page.goto(&url(&path));
        check(&page, lang, name, &mut found);
    }
    // Linking a phone (the QR code page) and new recovery codes, from My devices' forms.
    page.goto(&url("/portal"));
    page.wait_for("ul.devices", WAIT);
    page.submit("form[action='/portal/devices/totp/new']");
    check(&page, lang, "link-phone", &mut found);
    // The QR code has a text alternative, and the key is there as text, grouped.
    assert!(
        page.exists(".qr svg[role=img][aria-label]"),
        "{}",
        page.html()
    );
    let key = page.text("code#secret");
    assert!(
        key.split(' ').count() > 4 && key.split(' ').all(|g| g.len() <= 4),
        "the key in groups of four: {key}"
    );
    page.goto(&url("/portal"));
    page.wait_for("ul.devices", WAIT);
    page.submit("form[action='/portal/recovery']");
    check(&page, lang, "recovery-codes", &mut found);

    assert!(
        found.is_empty(),
        "{} axe-core violations:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_sign_in_works_with_the_keyboard_alone() {
    let g = https_instance(&[], "");
    g.ok(&["org", "add", ORG], None);
    let ann = person(&g, "ann", "person");
    let s = serve(&g, READY);
    let base = s.listener("http");
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    page.goto(&format!("{base}/portal/login"));
    page.wait_for("form#login-form", WAIT);

    // The username has the focus at first (autofocus: set once the page has loaded, which
    // may come after its form is there); Tab from the top of the page reaches the fields
    // and the button in reading order, each with a visible focus indicator.
    mfa_e2e::wait_until(WAIT, "the username field has the focus", || {
        page.focused().contains("[username]")
    });
    page.eval(
        "document.activeElement.blur(); document.body.tabIndex = -1; document.body.focus(); true",
    );
    let mut order = Vec::new();
    for _ in 0..8 {
        page.press("Tab", false);
        let f = page.focused();
        let visible = page.eval(
            "(e => { const s = getComputedStyle(e); \
              return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) \
                || s.boxShadow !== 'none'; })(document.activeElement)",
        );
        assert_eq!(visible, serde_json::json!(true), "no visible focus on {f}");
        order.push(f);
        if order.last().is_some_and(|f| f.starts_with("button#submit")) {
            break;
        }
    }
    let fields: Vec<&String> = order
        .iter()
        .filter(|f| f.contains("[username]") || f.contains("[password]") || f.contains("#submit"))
        .collect();
    assert_eq!(fields.len(), 3, "{order:?}");
    assert!(fields[0].contains("[username]"), "{order:?}");
    assert!(fields[1].contains("[password]"), "{order:?}");
    assert!(fields[2].contains("#submit"), "{order:?}");

    // Typing and Enter: the username, the password, the code.
    page.eval("document.querySelector('input[name=username]').focus()");
    page.type_text("ann");
    page.press("Tab", false);
    page.type_text(PW);
    page.press("Enter", false);
    page.wait_for("form#code-form", WAIT);
    mfa_e2e::wait_until(WAIT, "the code field has the focus", || {
        page.focused().contains("[code]")
    });
    page.type_text(&code(&ann, 0));
    page.press("Enter", false);
    page.wait_for("ul.devices", WAIT);
}
