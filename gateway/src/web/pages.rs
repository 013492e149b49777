//! Server-rendered pages: plain HTML with escaped values, one stylesheet, no scripts.

use axum::response::Html;

/// The stylesheet served at /static/style.css.
pub const STYLE_CSS: &str = include_str!("../../static/style.css");

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
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
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
        format!(r#"<p class="error" role="alert">{}</p>"#, esc(e))
    })
}

/// Step one: username and password. What was typed (the username) is kept on a retry.
pub fn login(
    client: &str,
    action: &str,
    auth: &str,
    csrf: &str,
    username: &str,
    error: Option<&str>,
) -> Html<String> {
    layout(
        "Sign in",
        &format!(
            r#"<h1>Sign in</h1>
<p class="sub">to {client}</p>
{error}
<form id="login-form" method="post" action="{action}">
<input type="hidden" name="auth" value="{auth}">
<input type="hidden" name="csrf" value="{csrf}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="submit">Continue</button>
</form>"#,
            client = esc(client),
            action = esc(action),
            error = error_block(error),
            auth = esc(auth),
            csrf = esc(csrf),
            username = esc(username),
        ),
    )
}

/// Step two: a code from any linked phone or token.
pub fn code(client: &str, csrf: &str, error: Option<&str>) -> Html<String> {
    layout(
        "Enter your code",
        &format!(
            r#"<h1>Enter your code</h1>
<p class="sub">Open the authenticator app on any phone linked to your account, or press your token, and enter the code it shows. Signing in to {client}.</p>
{error}
<form id="code-form" method="post" action="/login/code">
<input type="hidden" name="csrf" value="{csrf}">
<label for="code">Code</label>
<input type="text" id="code" name="code" class="code" maxlength="11" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required autofocus>
<p class="hint">Lost your phone? Enter one of your recovery codes instead.</p>
<button type="submit" id="submit">Sign in</button>
</form>
<form method="post" action="/login/cancel">
<input type="hidden" name="csrf" value="{csrf}">
<button type="submit" class="secondary" id="cancel">Cancel</button>
</form>"#,
            client = esc(client),
            error = error_block(error),
            csrf = esc(csrf),
        ),
    )
}

/// A page that only says something (expired link, signed out, an error).
pub fn message(title: &str, text: &str) -> Html<String> {
    layout(
        title,
        &format!("<h1>{}</h1>\n<p>{}</p>", esc(title), esc(text)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = login(
            "<script>x</script>",
            "/login",
            "a\"b",
            "c",
            "o'neil&co",
            Some("<b>"),
        )
        .0;
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("a&quot;b"));
        assert!(page.contains("o&#39;neil&amp;co"));
        assert!(page.contains("&lt;b&gt;"));
        assert!(!page.contains("<script"), "no scripts at all");
    }
}
