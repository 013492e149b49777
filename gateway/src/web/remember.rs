//! Remembered browsers on the web (issue 16): the `mfa_remember` cookie, the checkbox's
//! field on the code page, the "Remembered browsers" section of the portal's My devices
//! ("Forget this browser", "Forget all") and of an admin's person page (org admins for
//! their own organisation's people; operators). The rules are `service::remember`'s.

use super::WebState;
use super::admin::{admin, failure};
use super::admin_pages::{csrf_field, when};
use super::login::{Peer, server_error};
use super::pages::esc;
use super::portal::{ctx, see_other};
use crate::model::{PersonId, UnixTime, now};
use crate::store::RememberedBrowser;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
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
    super::session::cookie(headers, COOKIE_NAME).filter(|v| !v.is_empty() && v.len() <= 64)
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

/// One row of a list of remembered browsers, with its forget form posting to `action`.
fn row(b: &RememberedBrowser, csrf: &str, action: &str) -> String {
    format!(
        r#"<li class="device" id="browser-{id}">
<p class="label">{ua}</p>
<p class="meta">remembered {created} · last used {used} · expires {expires}</p>
<form method="post" action="{action}">{csrf}
<button type="submit" class="secondary" id="forget-browser-{id}">Forget this browser</button>
</form>
</li>
"#,
        id = b.id,
        ua = esc(&b.user_agent),
        created = when(b.created_at),
        used = when(b.last_used_at),
        expires = when(b.expires_at),
        action = esc(action),
        csrf = csrf_field(csrf),
    )
}

fn section(rows: String, csrf: &str, all_action: &str, intro: &str) -> String {
    if rows.is_empty() {
        return format!(
            r#"<h2 id="remembered">Remembered browsers</h2>
<p id="no-remembered">{intro} None now.</p>
"#
        );
    }
    format!(
        r#"<h2 id="remembered">Remembered browsers</h2>
<p>{intro}</p>
<ul class="devices" id="remembered-browsers">
{rows}</ul>
<form method="post" action="{all}">{csrf}
<button type="submit" class="danger" id="forget-all-browsers">Forget all</button>
</form>
"#,
        all = esc(all_action),
        csrf = csrf_field(csrf),
    )
}

/// The portal's section: the person's remembered browsers.
pub async fn portal_section(
    state: &WebState,
    person: &crate::model::Person,
    csrf: &str,
) -> Result<String, crate::service::ServiceError> {
    let list = state.gateway.remembered_of(person, now()).await?;
    let rows: String = list
        .iter()
        .map(|b| row(b, csrf, &format!("/portal/browsers/{}/forget", b.id)))
        .collect();
    Ok(section(
        rows,
        csrf,
        "/portal/browsers/forget",
        "These browsers ask for your password but not for a code when you sign in.",
    ))
}

/// An admin's section on a person's page.
pub(super) async fn admin_section(
    state: &WebState,
    actor: &crate::service::AdminActor,
    person: PersonId,
    csrf: &str,
    t: UnixTime,
) -> Result<String, crate::service::ServiceError> {
    let list = state.gateway.admin_remembered(actor, person, t).await?;
    let rows: String = list
        .iter()
        .map(|b| {
            row(
                b,
                csrf,
                &format!("/admin/people/{person}/browsers/{}/forget", b.id),
            )
        })
        .collect();
    Ok(section(
        rows,
        csrf,
        &format!("/admin/people/{person}/browsers/forget"),
        "Browsers this person asked to remember: they ask for the password but not for a code.",
    ))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn portal_forget(
    state: &WebState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    csrf: &str,
    id: Option<i64>,
) -> Response {
    let c = match ctx(state, peer, headers, Some(csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Forgetting the browser this request came from also deletes its cookie.
    let this = match id {
        None => true,
        Some(id) => match state.gateway.remembered_of(&c.actor.person, now()).await {
            Ok(list) => list.iter().any(|b| b.id == id && is_this(headers, b)),
            Err(e) => return server_error(&e),
        },
    };
    match state
        .gateway
        .portal_forget_browser(&c.actor, id, now())
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
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    portal_forget(&state, peer, &headers, &form.csrf, Some(id)).await
}

/// POST /portal/browsers/forget
async fn portal_forget_all(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    portal_forget(&state, peer, &headers, &form.csrf, None).await
}

async fn admin_forget(
    state: &WebState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    csrf: &str,
    person: PersonId,
    browser: Option<i64>,
) -> Response {
    let a = match admin(state, peer, headers, Some(csrf)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match state
        .gateway
        .admin_forget_browser(&a.actor, person, browser, now())
        .await
    {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/admin/people/{person}"))],
        )
            .into_response(),
        Err(e) => failure(&e),
    }
}

/// POST /admin/people/{id}/browsers/{browser}/forget
async fn admin_forget_one(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path((id, browser)): Path<(PersonId, i64)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    admin_forget(&state, peer, &headers, &form.csrf, id, Some(browser)).await
}

/// POST /admin/people/{id}/browsers/forget
async fn admin_forget_all(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<PersonId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    admin_forget(&state, peer, &headers, &form.csrf, id, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
