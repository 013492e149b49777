//! Single sign-on sessions on the web (issue 16): the "Signed-in browsers" section of the
//! portal's My devices (the person's own) and of a person's page on /admin (for operators and
//! the person's organisation's admins), each session with when it started, was last used and
//! expires, the login's methods and the relying parties it served, a "Sign out this browser"
//! button per session and "Sign out everywhere". Forms carry the session's public `sid`, never
//! its cookie or hash; every POST needs the page's CSRF token. The ending itself (audited,
//! back-channel logouts) is `Gateway::portal_end_sso` / `admin_end_sso`.

use crate::model::PersonId;
use crate::service::SsoSessionView;
use crate::web::admin::Admin;
use crate::web::extract::{Action, csrf_form};
use crate::web::login::server_error;
use crate::web::portal::see_other;
use crate::web::{WebState, session};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/portal/sso/end", post(portal_end))
        .route("/portal/sso/end-all", post(portal_end_all))
        .route("/admin/people/{id}/sso/end", post(admin_end))
        .route("/admin/people/{id}/sso/end-all", post(admin_end_all))
}

/// A sign-out form: the CSRF token and, for one session, its public id.
#[derive(Debug, Deserialize, Default)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    sid: String,
}

csrf_form!(EndForm);

impl EndForm {
    /// The sid as sent (a base64url value; anything else matches no session).
    fn sid(&self) -> Option<&str> {
        let sid = self.sid.trim();
        (!sid.is_empty()
            && sid.len() <= 64
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(sid)
    }
}

/// The public id of this browser's own session, if it sent the cookie.
pub(crate) fn this_browser(headers: &HeaderMap) -> Option<String> {
    session::sso_token(headers).map(|t| crate::service::sso_sid_for_token(&t))
}

/// The "Signed-in browsers" section: `sessions`, their forms posting to `action`
/// (`.../end`, `.../end-all`), the browser the page is shown in marked. Typed data of the
/// page that shows it (`sso`), drawn by `portal/sso_sessions.html`, which that page's
/// template includes (with the page's `ctx`).
#[derive(Debug)]
pub struct SsoSection<'a> {
    pub csrf: &'a str,
    pub action: String,
    pub sessions: &'a [SsoSessionView],
    pub current: Option<&'a str>,
}

impl SsoSection<'_> {
    /// Is `s` the session of the browser the page is shown in?
    pub fn is_current(&self, s: &SsoSessionView) -> bool {
        self.current == Some(s.sid.as_str())
    }
}

/// The portal's section: the person's own sessions, this browser marked.
pub(crate) fn portal_section<'a>(
    csrf: &'a str,
    sessions: &'a [SsoSessionView],
    current: Option<&'a str>,
) -> SsoSection<'a> {
    SsoSection {
        csrf,
        action: "/portal/sso".to_owned(),
        sessions,
        current,
    }
}

/// The section on a person's /admin page.
pub(crate) fn admin_section<'a>(
    csrf: &'a str,
    person: PersonId,
    sessions: &'a [SsoSessionView],
) -> SsoSection<'a> {
    SsoSection {
        csrf,
        action: format!("/admin/people/{person}/sso"),
        sessions,
        current: None,
    }
}

/// Back to My devices; the `mfa_sso` cookie cleared when this browser's session ended.
fn back_to_portal(state: &WebState, headers: &HeaderMap, ended: Option<&str>) -> Response {
    let mut res = see_other("/portal");
    let mine = this_browser(headers);
    if ended.is_none_or(|sid| mine.as_deref() == Some(sid))
        && mine.is_some()
        && let Ok(v) = HeaderValue::from_str(&session::set_sso_cookie("", state.https, 0))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// POST /portal/sso/end: the person signs one of their browsers out.
async fn portal_end(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: c, form }: Action<EndForm>,
) -> Response {
    let Some(sid) = form.sid() else {
        return see_other("/portal");
    };
    match state
        .gateway
        .portal_end_sso(&c.actor, Some(sid), c.now)
        .await
    {
        Ok(_) => back_to_portal(&state, &headers, Some(sid)),
        Err(e) => server_error(&e),
    }
}

/// POST /portal/sso/end-all: every browser of the person signed out.
async fn portal_end_all(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: c, .. }: Action<EndForm>,
) -> Response {
    match state.gateway.portal_end_sso(&c.actor, None, c.now).await {
        Ok(_) => back_to_portal(&state, &headers, None),
        Err(e) => server_error(&e),
    }
}

fn back_to_person(id: PersonId) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/admin/people/{id}#sso-sessions"))],
    )
        .into_response()
}

/// POST /admin/people/{id}/sso/end: an administrator signs one browser of the person out.
async fn admin_end(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, form }: Action<EndForm, Admin>,
) -> Response {
    // A malformed sid matches nothing (the person is still checked, and the try audited).
    let sid = form.sid().unwrap_or("-");
    match state
        .gateway
        .admin_end_sso(&a.actor, id, Some(sid), a.c.now)
        .await
    {
        Ok(_) => back_to_person(id),
        Err(e) => a.failure(&e),
    }
}

/// POST /admin/people/{id}/sso/end-all: every browser of the person signed out.
async fn admin_end_all(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, .. }: Action<EndForm, Admin>,
) -> Response {
    match state
        .gateway
        .admin_end_sso(&a.actor, id, None, a.c.now)
        .await
    {
        Ok(_) => back_to_person(id),
        Err(e) => a.failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::templates::{Ctx, render};
    use askama::Template;

    /// The section alone, as the pages include it.
    #[derive(Template)]
    #[template(source = r#"{% include "portal/sso_sessions.html" %}"#, ext = "html")]
    struct Only<'a> {
        ctx: &'a Ctx,
        sso: SsoSection<'a>,
    }

    fn html(ctx: &Ctx, sso: SsoSection<'_>) -> String {
        render(&Only { ctx, sso }).0
    }

    fn view(sid: &str) -> SsoSessionView {
        SsoSessionView {
            sid: sid.into(),
            auth_time: 1_800_000_000,
            amr: "pwd otp".into(),
            created_at: 1_800_000_000,
            last_used_at: 1_800_000_100,
            expires_at: 1_800_028_800,
            clients: vec!["app<1>".into()],
        }
    }

    #[test]
    fn sections_show_sids_escape_and_mark_this_browser_in_either_language() {
        let sessions = [view("AAA"), view("BBB")];
        let en = Ctx::new(crate::i18n::Lang::En, jiff::tz::TimeZone::UTC);
        let html = self::html(&en, portal_section("tok", &sessions, Some("BBB")));
        assert!(html.contains(r#"name="sid" value="AAA""#));
        assert_eq!(html.matches("(this browser)").count(), 1);
        assert!(
            html.contains("app&#60;1&#62;") && !html.contains("app<1>"),
            "{html}"
        );
        assert!(html.contains(r#"action="/portal/sso/end-all""#));
        assert!(html.contains("Sign out everywhere") && html.contains(r#"id="sso-end-1""#));
        let nl = Ctx::new(crate::i18n::Lang::Nl, jiff::tz::TimeZone::UTC);
        let html = self::html(&nl, portal_section("tok", &sessions, Some("AAA")));
        assert!(
            html.contains("(deze browser)") && html.contains("Overal uitloggen"),
            "{html}"
        );
        assert!(html.contains("Ingelogde browsers"), "{html}");
        let admin = self::html(&en, admin_section("tok", 7, &[]));
        assert!(admin.contains("sso-none") && !admin.contains("end-all"));
        let one = [view("AAA")];
        let admin = self::html(&en, admin_section("tok", 7, &one));
        assert!(admin.contains(r#"action="/admin/people/7/sso/end""#));
    }

    #[test]
    fn only_base64url_sids_are_taken() {
        let f = |sid: &str| EndForm {
            csrf: String::new(),
            sid: sid.into(),
        };
        assert_eq!(f(" AbC-_9 ").sid(), Some("AbC-_9"));
        for bad in ["", "a b", "a/b", "é", &"a".repeat(65)] {
            assert_eq!(f(bad).sid(), None, "{bad}");
        }
    }
}
