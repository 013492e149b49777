//! The Chromium harness itself, against a page served by a thread of this test: fill a form,
//! submit it with a mouse click, land on the next page, read it, take screenshots.

use std::time::Duration;

use mfa_e2e::browser::Browser;
use mfa_e2e::{StubResponse, http_stub};
use openidconnect::url::form_urlencoded;

const FORM: &str = r#"<!doctype html>
<html><head><title>Form</title></head>
<body>
  <h1>Who are you?</h1>
  <form id="f" method="post" action="/submit">
    <label>Name <input name="who" autocomplete="off"></label>
    <label>Secret <input name="secret" type="password"></label>
    <button id="go" type="submit">Send</button>
  </form>
</body></html>"#;

#[test]
fn browser_harness_fills_a_form_and_screenshots() {
    let site = http_stub(|r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/") => StubResponse::html(FORM),
        ("POST", "/submit") => {
            let who = form_urlencoded::parse(r.body.as_bytes())
                .find(|(k, _)| k == "who")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("who", &who)
                .finish();
            StubResponse::see_other(format!("/done?{query}"))
        }
        ("GET", t) if t.starts_with("/done?") => {
            StubResponse::html("<!doctype html><p id=\"msg\">Thank you</p>")
        }
        _ => StubResponse::not_found(),
    });

    let browser = Browser::launch();
    let version = browser.cdp("Browser.getVersion", serde_json::json!({}));
    assert!(
        version["product"].as_str().unwrap_or("").contains("Chrome"),
        "{version}"
    );
    let page = browser.new_page();
    page.goto(&site.url("/"));
    page.wait_for("form#f", Duration::from_secs(5));
    assert_eq!(page.text("h1"), "Who are you?");
    page.fill("input[name=who]", "Ann de Vries & co");
    page.fill("input[name=secret]", "s3cret");
    let form_png = page.screenshot("form");
    page.click("button#go");

    assert_eq!(page.url(), site.url("/done?who=Ann+de+Vries+%26+co"));
    assert_eq!(page.text("#msg"), "Thank you");
    let done_png = page.screenshot("done");

    for (png, n) in [(&form_png, "1-form.png"), (&done_png, "2-done.png")] {
        assert!(png.ends_with(n), "{}", png.display());
        assert!(
            png.parent()
                .unwrap()
                .ends_with("screenshots/browser_harness_fills_a_form_and_screenshots"),
            "{}",
            png.display()
        );
        let bytes = std::fs::read(png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
            "{} is not a PNG",
            png.display()
        );
    }
    let posted = site.requests.lock().unwrap().clone();
    let post = posted.iter().find(|r| r.method == "POST").expect("a POST");
    assert_eq!(post.body, "who=Ann+de+Vries+%26+co&secret=s3cret");
}

#[test]
fn browser_harness_waits_are_bounded_and_errors_are_reported() {
    let browser = Browser::launch();
    let page = browser.new_page();
    let site = http_stub(|_| StubResponse::html("<!doctype html><p>nothing here</p>"));
    page.goto(&site.url("/"));
    let missing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        page.wait_for("#never", Duration::from_millis(300));
    }));
    assert!(missing.is_err(), "waiting for a missing element must fail");
    assert!(
        page.try_cdp("No.suchMethod", serde_json::json!({}))
            .is_err()
    );
    // A port nothing listens on: a network error, reported.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let refused = page.try_goto(&gone);
    assert_eq!(refused, Err("net::ERR_CONNECTION_REFUSED".into()));
}
