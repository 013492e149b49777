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

/// Why the code page is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    WrongCode,
    WrongKey,
    TooMany,
    /// Security keys cannot be used on this server (no public URL).
    KeysUnavailable,
    NoKey,
    KeyExpired,
    /// The phone did not approve in time, or denied.
    NotApproved,
}

impl CodeError {
    pub fn key(self) -> &'static str {
        match self {
            Self::WrongCode => "code-error-wrong",
            Self::WrongKey => "code-error-wrong-key",
            Self::TooMany => "login-error-too-many",
            Self::KeysUnavailable => "code-error-keys-unavailable",
            Self::NoKey => "code-error-no-key",
            Self::KeyExpired => "code-error-key-expired",
            Self::NotApproved => "code-error-not-approved",
        }
    }
}

/// Step two with every choice the person has: a code, a security key (`key`), a request to
/// their phone (`push`), and "remember this browser" when their organisation allows it.
#[derive(Debug, Template)]
#[template(path = "code.html")]
pub struct CodePage<'a> {
    pub lang: Lang,
    pub client: &'a str,
    pub csrf: &'a str,
    pub key: bool,
    pub push: bool,
    pub remember_days: Option<u32>,
    pub error: Option<CodeError>,
}

impl CodePage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.lang, key)
    }

    fn intro(&self) -> String {
        t_args(self.lang, "code-intro", &[("client", self.client.into())])
    }

    fn remember(&self, days: &u32) -> String {
        t_args(
            self.lang,
            "code-remember",
            &[("days", crate::i18n::Arg::Number(i64::from(*days)))],
        )
    }

    pub fn html(&self) -> Html<String> {
        Html(self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering the code page failed");
            String::new()
        }))
    }
}

/// Waiting for the person to approve on their phone: the page looks again every 2 seconds
/// (a meta refresh: no script). With number matching, the number to choose on the phone.
#[derive(Debug, Template)]
#[template(path = "waiting.html")]
pub struct WaitingPage<'a> {
    pub lang: Lang,
    pub client: &'a str,
    pub csrf: &'a str,
    pub number: Option<u8>,
}

impl WaitingPage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.lang, key)
    }

    fn sent(&self) -> String {
        t_args(self.lang, "waiting-sent", &[("client", self.client.into())])
    }

    pub fn html(&self) -> Html<String> {
        Html(self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering the waiting page failed");
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
    fn the_code_page_offers_what_the_person_has_in_their_language() {
        let page = |lang, key, push, days, error| {
            CodePage {
                lang,
                client: "<Guacamole>",
                csrf: "c\"",
                key,
                push,
                remember_days: days,
                error,
            }
            .html()
            .0
        };
        let en = page(Lang::En, false, false, None, None);
        assert!(en.contains("<h1>Enter your code</h1>") && en.contains("&#60;Guacamole&#62;"));
        assert!(
            !en.contains("use-key") && !en.contains("send-request") && !en.contains("remember")
        );
        assert!(en.contains(r#"value="c&#34;""#), "{en}");
        let nl = page(Lang::Nl, true, true, Some(30), Some(CodeError::WrongCode));
        assert!(
            nl.contains(r#"<html lang="nl">"#) && nl.contains("Voer uw code in"),
            "{nl}"
        );
        assert!(
            nl.contains("use-key") && nl.contains("send-request"),
            "{nl}"
        );
        assert!(nl.contains("Onthoud deze browser 30 dagen"), "{nl}");
        assert!(nl.contains(r#"aria-describedby="form-error""#), "{nl}");
    }

    #[test]
    fn the_waiting_page_refreshes_and_shows_the_number_in_either_language() {
        let nl = WaitingPage {
            lang: Lang::Nl,
            client: "<Guac>",
            csrf: "c",
            number: Some(42),
        }
        .html()
        .0;
        assert!(nl.contains(r#"<meta http-equiv="refresh" content="2;url=/login/approve/wait">"#));
        assert!(
            nl.contains(r#"<strong id="match-number">42</strong>"#),
            "{nl}"
        );
        assert!(
            nl.contains("Keur goed op uw telefoon") && nl.contains("&#60;Guac&#62;"),
            "{nl}"
        );
        let en = WaitingPage {
            lang: Lang::En,
            client: "Guac",
            csrf: "c",
            number: None,
        }
        .html()
        .0;
        assert!(
            en.contains("Approve on your phone") && !en.contains("match-number"),
            "{en}"
        );
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
