//! Remembered browsers on the web (issue 16): the `mfa_remember` cookie, the checkbox's
//! field on the code page, the "Remembered browsers" section of the portal's My devices
//! ("Forget this browser", "Forget all") and of an admin's person page (org admins for
//! their own organisation's people; operators). The rules are `service::remember`'s.

use crate::model::{PersonId, UnixTime};
use crate::store::RememberedBrowser;
use crate::web::WebState;
use crate::web::admin::Admin;
use crate::web::extract::{Action, Button};
use crate::web::login::server_error;
use crate::web::portal::{SignedIn, see_other};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest as _, Sha256};

const COOKIE_NAME: &str = "mfa_remember";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/portal/browsers/{id}/forget", post(portal_forget_one))
        .route("/portal/browsers/forget", post(portal_forget_all))
        .route(
            "/admin/people/{id}/browsers/{browser}/forget",
            post(admin_forget_one),
        )
        .route("/admin/people/{id}/browsers/forget", post(admin_forget_all))
}

/// The remember cookie's token, if the browser sent one.
pub fn token(headers: &HeaderMap) -> Option<String> {
    crate::web::session::cookie(headers, COOKIE_NAME).filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Set-Cookie value for the remember token (`max_age` 0: delete it).
pub fn set_cookie(token: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// `res` with the remember cookie set (or deleted, `max_age` 0).
pub fn with_cookie(state: &WebState, mut res: Response, token: &str, max_age: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&set_cookie(token, state.https, max_age)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Is `b` the browser this request came from?
fn is_this(headers: &HeaderMap, b: &RememberedBrowser) -> bool {
    token(headers).is_some_and(|t| {
        crate::secret::ct_eq(
            hex::encode(Sha256::digest(t.as_bytes())).as_bytes(),
            b.token_hash.as_bytes(),
        )
    })
}

/// The "Remembered browsers" section: each browser with its forget form
/// (`{base}/{id}/forget`), and "Forget all" (`{base}/forget`). Typed data of the page that
/// shows it (`remembered`), drawn by `portal/remembered.html`, which that page's template
/// includes (with the page's `ctx`).
#[derive(Debug)]
pub struct RememberedSection<'a> {
    pub csrf: &'a str,
    /// `/portal/browsers` or `/admin/people/{id}/browsers`.
    pub base: String,
    pub browsers: Vec<RememberedBrowser>,
    /// On an administrator's page (the intro speaks of "this person").
    pub admin: bool,
}

impl RememberedSection<'_> {
    /// The key of the section's intro.
    pub fn intro(&self) -> &'static str {
        if self.admin {
            "portal-remembered-intro-admin"
        } else {
            "portal-remembered-intro"
        }
    }
}

/// The portal's section: the person's remembered browsers.
pub async fn portal_section<'a>(
    state: &WebState,
    person: &crate::model::Person,
    csrf: &'a str,
) -> Result<RememberedSection<'a>, crate::service::ServiceError> {
    Ok(RememberedSection {
        csrf,
        base: "/portal/browsers".to_owned(),
        browsers: state
            .gateway
            .remembered_of(person, state.gateway.now())
            .await?,
        admin: false,
    })
}

/// An admin's section on a person's page.
pub(crate) async fn admin_section<'a>(
    state: &WebState,
    actor: &crate::service::Actor,
    person: PersonId,
    csrf: &'a str,
    t: UnixTime,
) -> Result<RememberedSection<'a>, crate::service::ServiceError> {
    Ok(RememberedSection {
        csrf,
        base: format!("/admin/people/{person}/browsers"),
        browsers: state.gateway.admin_remembered(actor, person, t).await?,
        admin: true,
    })
}

async fn portal_forget(
    state: &WebState,
    c: &SignedIn,
    headers: &HeaderMap,
    id: Option<i64>,
) -> Response {
    // Forgetting the browser this request came from also deletes its cookie.
    let this = match id {
        None => true,
        Some(id) => match state.gateway.remembered_of(&c.person, c.now).await {
            Ok(list) => list.iter().any(|b| b.id == id && is_this(headers, b)),
            Err(e) => return server_error(&e),
        },
    };
    match state
        .gateway
        .portal_forget_browser(&c.actor, id, c.now)
        .await
    {
        Ok(_) if this && token(headers).is_some() => {
            with_cookie(state, see_other("/portal"), "", 0)
        }
        Ok(_) => see_other("/portal"),
        Err(e) => server_error(&e),
    }
}

/// POST /portal/browsers/{id}/forget
async fn portal_forget_one(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    me: Action<Button>,
) -> Response {
    portal_forget(&state, &me.me, &headers, Some(id)).await
}

/// POST /portal/browsers/forget
async fn portal_forget_all(
    State(state): State<WebState>,
    headers: HeaderMap,
    me: Action<Button>,
) -> Response {
    portal_forget(&state, &me.me, &headers, None).await
}

async fn admin_forget(
    state: &WebState,
    a: &Admin,
    person: PersonId,
    browser: Option<i64>,
) -> Response {
    match state
        .gateway
        .admin_forget_browser(&a.actor, person, browser, a.c.now)
        .await
    {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/admin/people/{person}"))],
        )
            .into_response(),
        Err(e) => a.failure(&e),
    }
}

/// POST /admin/people/{id}/browsers/{browser}/forget
async fn admin_forget_one(
    State(state): State<WebState>,
    Path((id, browser)): Path<(PersonId, i64)>,
    me: Action<Button, Admin>,
) -> Response {
    admin_forget(&state, &me.me, id, Some(browser)).await
}

/// POST /admin/people/{id}/browsers/forget
async fn admin_forget_all(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    me: Action<Button, Admin>,
) -> Response {
    admin_forget(&state, &me.me, id, None).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::templates::{Ctx, render};
    use askama::Template;

    #[test]
    fn the_cookie_is_secure_http_only_and_lax() {
        let c = set_cookie("tok", true, 86_400);
        for attr in [
            "mfa_remember=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=86400",
        ] {
            assert!(c.contains(attr), "{c}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "mfa_session=x; mfa_remember=abc".parse().expect("header"),
        );
        assert_eq!(token(&h).as_deref(), Some("abc"));
    }

    fn browser(id: i64, ua: &str) -> RememberedBrowser {
        RememberedBrowser {
            id,
            token_hash: String::new(),
            person_id: 1,
            user_agent: ua.into(),
            created_at: 1_796_480_580,
            last_used_at: 1_796_480_580,
            expires_at: 1_799_072_580,
        }
    }

    /// The section alone, as the pages include it.
    #[derive(Template)]
    #[template(source = r#"{% include "portal/remembered.html" %}"#, ext = "html")]
    struct Only<'a> {
        ctx: &'a Ctx,
        remembered: RememberedSection<'a>,
    }

    #[test]
    fn the_section_lists_browsers_escaped_in_either_language() {
        let en = Ctx::new(crate::i18n::Lang::En, jiff::tz::TimeZone::UTC);
        let section = |ctx, browsers: Vec<RememberedBrowser>, admin: bool| {
            let remembered = RememberedSection {
                csrf: "c",
                base: if admin {
                    "/admin/people/7/browsers"
                } else {
                    "/portal/browsers"
                }
                .into(),
                browsers,
                admin,
            };
            render(&Only { ctx, remembered }).0
        };
        let html = section(&en, vec![browser(3, "<Firefox>")], false);
        assert!(
            html.contains("Remembered browsers") && html.contains("&#60;Firefox&#62;"),
            "{html}"
        );
        assert!(
            html.contains(r#"action="/portal/browsers/3/forget""#),
            "{html}"
        );
        assert!(html.contains(r#"id="forget-all-browsers""#), "{html}");
        let nl = Ctx::new(crate::i18n::Lang::Nl, jiff::tz::TimeZone::UTC);
        let html = section(&nl, Vec::new(), true);
        assert!(
            html.contains(r#"id="no-remembered""#) && html.contains("Nu geen."),
            "{html}"
        );
        assert!(
            html.contains("deze persoon") && !html.contains("forget-all"),
            "{html}"
        );
    }
}
