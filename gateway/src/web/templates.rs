//! Pages on askama templates (`gateway/templates/`): HTML escaping by default, one layout,
//! every text from the language's catalogue (issue 15). The pages not moved here yet are
//! still `pages.rs` strings.

use crate::i18n::{Lang, t, t_args};
use askama::Template;
use axum::response::Html;

/// Why the password page is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Every refusal the same (no user enumeration).
    WrongCredentials,
    /// Only after the directory accepted the password.
    ChangeInWindows,
    TooMany,
    TooManySessions,
    SessionExpired,
    /// The code step took too long after the password.
    TooSlow,
    /// Too many wrong codes after one password.
    TooManyCodes,
}

impl LoginError {
    pub fn key(self) -> &'static str {
        match self {
            Self::WrongCredentials => "login-error-wrong",
            Self::ChangeInWindows => "login-error-change-in-windows",
            Self::TooMany => "login-error-too-many",
            Self::TooManySessions => "login-error-too-many-sessions",
            Self::SessionExpired => "login-error-session-expired",
            Self::TooSlow => "login-error-too-slow",
            Self::TooManyCodes => "login-error-too-many-codes",
        }
    }
}

/// Step one: username and password. What was typed (the username) is kept on a retry.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub lang: Lang,
    pub client: &'a str,
    pub action: &'a str,
    pub auth: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<LoginError>,
}

impl LoginPage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.lang, key)
    }

    fn to_client(&self) -> String {
        t_args(self.lang, "login-to", &[("client", self.client.into())])
    }

    pub fn html(&self) -> Html<String> {
        Html(self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering the login page failed");
            String::new()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lang: Lang, error: Option<LoginError>) -> String {
        LoginPage {
            lang,
            client: "Guac <amole> & \"co\"",
            action: "/login",
            auth: "a\"b",
            csrf: "c",
            username: "<script>",
            error,
        }
        .html()
        .0
    }

    #[test]
    fn the_login_page_escapes_what_it_shows_in_either_language() {
        let en = page(Lang::En, None);
        assert!(en.contains(r#"<html lang="en">"#), "{en}");
        assert!(en.contains("<h1>Sign in</h1>"), "{en}");
        assert!(
            en.contains("Guac &#60;amole&#62; &#38; &#34;co&#34;"),
            "{en}"
        );
        assert!(en.contains(r#"value="&#60;script&#62;""#), "{en}");
        assert!(
            !en.contains("<script>") && !en.contains("form-error"),
            "{en}"
        );
        let nl = page(Lang::Nl, Some(LoginError::WrongCredentials));
        assert!(nl.contains(r#"<html lang="nl">"#), "{nl}");
        assert!(nl.contains("<h1>Inloggen</h1>"), "{nl}");
        assert!(
            nl.contains(r#"id="form-error""#) && nl.contains("aria-invalid"),
            "{nl}"
        );
        assert!(
            nl.contains("Gebruikersnaam") && nl.contains("Wachtwoord vergeten?"),
            "{nl}"
        );
    }
}
