//! Server-rendered pages: plain HTML with escaped values, one stylesheet, no inline scripts.
//! The security key pages load the one script, /static/webauthn.js (their CSP allows it).

use axum::response::Html;

/// The stylesheet served at /static/style.css.
pub const STYLE_CSS: &str = include_str!("../../static/style.css");

/// The WebAuthn script served at /static/webauthn.js.
pub const WEBAUTHN_JS: &str = include_str!("../../static/webauthn.js");

/// HTML-escape text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn layout(title: &str, body: &str) -> Html<String> {
    layout_with(title, body, "")
}

/// The layout with the WebAuthn script (the page needs a CSP with `script-src 'self'`).
pub fn layout_with_script(title: &str, body: &str) -> Html<String> {
    layout_with(
        title,
        body,
        "<script src=\"/static/webauthn.js\" defer></script>\n",
    )
}

pub fn layout_with(title: &str, body: &str, head: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/static/style.css">
{head}</head>
<body>
<main>
{body}
<footer>mfa-gateway</footer>
</main>
</body>
</html>
"#,
        title = esc(title),
    ))
}

pub fn error_block(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!(
            r#"<p class="error" role="alert" id="form-error">{}</p>"#,
            esc(e)
        )
    })
}

/// The attributes that tie a form's field to the error shown above it (WCAG 3.3.1):
/// `aria-describedby` naming the error block, `aria-invalid`; nothing without an error.
pub fn described_by_error(error: Option<&str>) -> &'static str {
    if error.is_some() {
        r#" aria-describedby="form-error" aria-invalid="true""#
    } else {
        ""
    }
}

/// A page that only says something (expired link, signed out, an error).
pub fn message(title: &str, text: &str) -> Html<String> {
    layout(
        title,
        &format!("<h1>{}</h1>\n<p>{}</p>", esc(title), esc(text)),
    )
}
