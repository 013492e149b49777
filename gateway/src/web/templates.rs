//! Pages on askama templates (`gateway/templates/`): HTML escaping by default, one layout,
//! every text from the language's catalogue (issue 15). The pages not moved here yet are
//! still `pages.rs` strings.

use crate::i18n::{Arg, Lang, t, t_args};
use crate::model::UnixTime;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::tz::TimeZone;

/// What every template gets: the page's language and the zone times are shown in, with
/// the translator and the time formatters the templates call (`ctx.t("key")`,
/// `ctx.when(t)`; the macros in `partials/macros.html` take it too).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub zone: TimeZone,
}

impl Ctx {
    pub fn new(lang: Lang, zone: TimeZone) -> Self {
        Self { lang, zone }
    }

    /// A page in `lang` with the zone of the gateway's `[i18n]` settings.
    pub fn of(gateway: &crate::service::Gateway, lang: Lang) -> Self {
        Self::new(lang, gateway.i18n().time_zone.clone())
    }

    /// The text of `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        t(self.lang, key)
    }

    /// The text of `key` with its variables.
    pub fn ta(&self, key: &str, args: &[(&'static str, Arg)]) -> String {
        t_args(self.lang, key, args)
    }

    /// `5 december 2026 14:03 CET`: the person's language, the configured zone, the zone
    /// shown.
    pub fn when(&self, t: &UnixTime) -> String {
        crate::i18n::format_date_time(*t, self.lang, &self.zone)
    }

    /// `5 december 2026`: the day only.
    pub fn day(&self, t: &UnixTime) -> String {
        crate::i18n::format_day(*t, self.lang, &self.zone)
    }

    /// The moment for a `<time datetime>` attribute (RFC 3339, UTC).
    pub fn iso(&self, t: &UnixTime) -> String {
        crate::audit::format_time(*t)
    }

    /// A moment that may not have happened: its time, or "never".
    pub fn when_or_never(&self, t: &Option<UnixTime>) -> String {
        t.as_ref()
            .map_or_else(|| self.t("time-never"), |t| self.when(t))
    }

    /// Why the service refused (`ServiceError::Refused`), in the page's language: every
    /// page that shows a service's refusal says it through here.
    pub fn said(&self, refusal: &crate::service::Refusal) -> String {
        refusal.text(self.lang)
    }
}

tokio::task_local! {
    /// The language and zone of the request being answered, for the pages every area
    /// shares (a refusal, a server error, not found) that are made without the request at
    /// hand: the browser's language (`Accept-Language`), else the configured default. Set
    /// by [`scope`] around every request (web/mod.rs).
    static REQUEST_CTX: Ctx;
}

/// Runs `f` (the rest of a request) with `ctx` as the request's page context.
pub async fn scope<F: std::future::Future>(ctx: Ctx, f: F) -> F::Output {
    REQUEST_CTX.scope(ctx, f).await
}

/// The request's page context (see `REQUEST_CTX`); outside a request (tests of one
/// handler), English in UTC.
pub fn request_ctx() -> Ctx {
    REQUEST_CTX
        .try_with(Clone::clone)
        .unwrap_or_else(|_| Ctx::new(Lang::En, TimeZone::UTC))
}

/// One link of an area's navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: String,
    /// The element id tests and people's tools find it by (`nav-home`).
    pub id: &'static str,
    /// Already in the page's language.
    pub text: String,
    /// This page: shown with `aria-current="page"`.
    pub current: bool,
}

/// The sign-out button of a navigation.
#[derive(Debug, Clone)]
pub struct SignOut {
    pub action: &'static str,
    pub csrf: String,
    pub text: String,
}

/// An area's navigation (`{% call m::nav(nav) %}`): the same markup for the portal, the
/// administration and the audit pages.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The landmark's name (`aria-label`), in the page's language.
    pub label: String,
    pub links: Vec<NavLink>,
    pub sign_out: Option<SignOut>,
}

impl Nav {
    pub fn new(label: String) -> Self {
        Self {
            label,
            links: Vec::new(),
            sign_out: None,
        }
    }

    /// Adds a link; it is the current one when `href` is `here`.
    pub fn link(
        mut self,
        href: impl Into<String>,
        id: &'static str,
        text: String,
        here: &str,
    ) -> Self {
        let href = href.into();
        let current = href == here;
        self.links.push(NavLink {
            href,
            id,
            text,
            current,
        });
        self
    }

    /// The portal's sign-out button (`POST /portal/logout` with the session's token).
    pub fn sign_out(mut self, ctx: &Ctx, csrf: &str) -> Self {
        self.sign_out = Some(SignOut {
            action: "/portal/logout",
            csrf: csrf.to_owned(),
            text: ctx.t("nav-sign-out"),
        });
        self
    }
}

/// Renders a page; a template that fails to render (it cannot, short of a bug) is logged
/// and gives an empty page rather than a panic.
pub fn render<T: Template>(page: &T) -> Html<String> {
    Html(page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, template = std::any::type_name::<T>(), "rendering a page failed");
        String::new()
    }))
}

/// A page that only says something (expired link, signed out, an error): a title, one or
/// more paragraphs and an optional link, every text already in the page's language.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub ctx: &'a Ctx,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

/// A message page from catalogue keys: the title and one paragraph.
pub fn message(ctx: &Ctx, title_key: &str, text_key: &str) -> Html<String> {
    render(&MessagePage {
        ctx,
        title: ctx.t(title_key),
        paragraphs: vec![ctx.t(text_key)],
        link: None,
    })
}

/// A message page with a status code.
pub fn message_response(
    status: StatusCode,
    ctx: &Ctx,
    title_key: &str,
    text_key: &str,
) -> Response {
    (status, message(ctx, title_key, text_key)).into_response()
}

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
    pub ctx: &'a Ctx,
    pub client: &'a str,
    pub action: &'a str,
    pub auth: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<LoginError>,
}

impl LoginPage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.ctx.lang, key)
    }

    fn to_client(&self) -> String {
        t_args(self.ctx.lang, "login-to", &[("client", self.client.into())])
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
    pub ctx: &'a Ctx,
    pub client: &'a str,
    pub csrf: &'a str,
    pub key: bool,
    pub push: bool,
    pub remember_days: Option<u32>,
    pub error: Option<CodeError>,
}

impl CodePage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.ctx.lang, key)
    }

    fn intro(&self) -> String {
        t_args(
            self.ctx.lang,
            "code-intro",
            &[("client", self.client.into())],
        )
    }

    fn remember(&self, days: &u32) -> String {
        t_args(
            self.ctx.lang,
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
    pub ctx: &'a Ctx,
    pub client: &'a str,
    pub csrf: &'a str,
    pub number: Option<u8>,
}

impl WaitingPage<'_> {
    fn t(&self, key: &str) -> String {
        t(self.ctx.lang, key)
    }

    fn sent(&self) -> String {
        t_args(
            self.ctx.lang,
            "waiting-sent",
            &[("client", self.client.into())],
        )
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

    /// The shared macros, as a page of any area uses them.
    #[derive(Template)]
    #[template(
        ext = "html",
        source = r#"{% import "partials/macros.html" as m %}{% call m::nav(nav) %}{% endcall %}
<form>{% call m::csrf(csrf) %}{% endcall %}{% call m::error(err) %}{% endcall %}<input{% call m::invalid(true) %}{% endcall %}></form>
{% call m::time(ctx, t) %}{% endcall %}"#
    )]
    struct Shared<'a> {
        ctx: &'a Ctx,
        nav: Nav,
        csrf: &'a str,
        err: &'a str,
        t: UnixTime,
    }

    #[test]
    fn the_shared_pieces_escape_and_mark_the_current_page() {
        let ctx = Ctx::new(Lang::Nl, TimeZone::get("Europe/Amsterdam").expect("zone"));
        let nav = Nav::new("Portaal".into())
            .link(
                "/portal",
                "nav-devices",
                "Mijn <apparaten>".into(),
                "/portal",
            )
            .link(
                "/portal/logins",
                "nav-logins",
                "Mijn logins".into(),
                "/portal",
            )
            .sign_out(&ctx, "c\"");
        let html = render(&Shared {
            ctx: &ctx,
            nav,
            csrf: "x\"y",
            err: "<b>fout</b>",
            t: 1_796_480_580,
        })
        .0;
        assert!(html.contains(r#"<nav aria-label="Portaal">"#), "{html}");
        assert!(
            html.contains(r#"<a href="/portal" id="nav-devices" aria-current="page">Mijn &#60;apparaten&#62;</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="/portal/logins" id="nav-logins">Mijn logins</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"value="c&#34;""#) && html.contains(">Uitloggen<"),
            "{html}"
        );
        assert!(
            html.contains(r#"<input type="hidden" name="csrf" value="x&#34;y">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"id="form-error">&#60;b&#62;fout&#60;/b&#62;</p>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<input aria-describedby="form-error" aria-invalid="true">"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<time datetime="2026-12-05T14:23:00Z">5 december 2026 15:23 CET</time>"#
            ),
            "{html}"
        );
        let msg = message(
            &Ctx::new(Lang::En, TimeZone::UTC),
            "nav-sign-out",
            "time-never",
        )
        .0;
        assert!(
            msg.contains("<h1>Sign out</h1>") && msg.contains("<p>never</p>"),
            "{msg}"
        );
    }

    fn page(lang: Lang, error: Option<LoginError>) -> String {
        LoginPage {
            ctx: &Ctx::new(lang, TimeZone::UTC),
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
                ctx: &Ctx::new(lang, TimeZone::UTC),
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
            ctx: &Ctx::new(Lang::Nl, TimeZone::UTC),
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
            ctx: &Ctx::new(Lang::En, TimeZone::UTC),
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
