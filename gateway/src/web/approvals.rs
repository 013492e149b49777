//! Out-of-band approval in the portal: the person's pending request (client, source
//! address, time) with Approve / Deny / "This was not me", a live update by server-sent
//! events, and the static script that listens to them. Answering needs a logged-in portal
//! session and the session's CSRF token; each answer is audited by the service.

use super::WebState;
use super::login::{Peer, server_error};
use super::pages::{error_block, esc};
use super::portal::{Ctx, ctx, see_other};
use crate::approval::{Answer, Prompt};
use crate::model::now;
use crate::service::ServiceError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

pub const APPROVALS_JS: &str = include_str!("../../static/approvals.js");
const PUSH_JS: &str = include_str!("../../static/push.js");
const SW_JS: &str = include_str!("../../static/sw.js");
const MANIFEST: &str = include_str!("../../static/manifest.webmanifest");
const ICON_SVG: &str = include_str!("../../static/icon.svg");

/// A static file with its type and caching.
fn file(mime: &'static str, cache: &'static str, body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response()
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/portal/approvals", get(page))
        .route("/portal/approvals/answer", post(answer))
        .route("/portal/approvals/events", get(events))
        .route("/portal/push/subscribe", post(subscribe))
        .route(
            "/static/push.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    "public, max-age=3600",
                    PUSH_JS,
                )
            }),
        )
        // The service worker's scope is where it is served from: the root.
        .route(
            "/sw.js",
            get(|| async { file("text/javascript; charset=utf-8", "no-cache", SW_JS) }),
        )
        .route(
            "/manifest.webmanifest",
            get(|| async {
                file(
                    "application/manifest+json",
                    "public, max-age=3600",
                    MANIFEST,
                )
            }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { file("image/svg+xml", "public, max-age=3600", ICON_SVG) }),
        )
        .route(
            "/static/approvals.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    APPROVALS_JS,
                )
            }),
        )
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    answer: String,
}

impl std::fmt::Debug for AnswerForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerForm")
            .field("answer", &self.answer)
            .finish_non_exhaustive()
    }
}

fn time(t: i64) -> String {
    crate::audit::format_time(t)
        .replace('T', " ")
        .replace('Z', " UTC")
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subscription: String,
    #[serde(default)]
    label: String,
}

impl std::fmt::Debug for SubscribeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscribeForm")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The opt-in for notifications on this device (push.js does the work).
fn push_optin(csrf: &str, vapid: Option<&str>) -> String {
    let Some(key) = vapid else {
        return String::new();
    };
    format!(
        r#"<section id="push-optin" data-vapid-key="{key}" data-subscribe-url="/portal/push/subscribe">
<h2>Notifications on this device</h2>
<p class="sub">Get sign-in requests on this phone or computer as notifications (on an iPhone, first add the portal to the Home Screen: Share, Add to Home Screen). The device is then listed under My devices, where you can remove it.</p>
<input type="hidden" name="csrf" value="{csrf}">
<label for="push-label">Name of this device</label>
<input type="text" id="push-label" name="label" maxlength="64" placeholder="my phone">
<button type="button" id="push-enable">Turn on notifications</button>
<p id="push-status" role="status"></p>
</section>"#,
        key = esc(key),
        csrf = esc(csrf),
    )
}

fn render(
    csrf: &str,
    prompt: Option<&Prompt>,
    message: Option<&str>,
    error: Option<&str>,
    vapid: Option<&str>,
) -> Html<String> {
    let hidden = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            esc(value)
        )
    };
    let body = match prompt {
        Some(p) => {
            let form = |answer: &str, class: &str, id: &str, text: &str| {
                format!(
                    r#"<form method="post" action="/portal/approvals/answer" class="inline">{}{}{}<button type="submit" class="{class}" id="{id}">{text}</button></form>"#,
                    hidden("csrf", csrf),
                    hidden("id", &p.id),
                    hidden("answer", answer),
                )
            };
            format!(
                r#"<div class="approval" id="pending">
<p class="big">Are you signing in to <strong>{client}</strong>?</p>
<p class="meta">From {source}, at {at}. This request expires at {expires}.</p>
<p>{approve} {deny}</p>
<p>{not_me}</p>
<p class="sub">"This was not me" refuses the sign-in, tells the operators, and stops further requests for a while. Use it if you did not just try to sign in.</p>
</div>"#,
                client = esc(&p.client),
                source = esc(p.source.as_deref().unwrap_or("an unknown address")),
                at = esc(&time(p.created)),
                expires = esc(&time(p.expires)),
                approve = form("approve", "", "approve", "Approve"),
                deny = form("deny", "secondary", "deny", "Deny"),
                not_me = form("not_me", "danger", "not-me", "This was not me"),
            )
        }
        None => r#"<p id="none">No sign-in is waiting for your approval. This page updates by itself when one arrives.</p>"#.to_owned(),
    };
    let message = message.map_or_else(String::new, |m| {
        format!(
            r#"<p class="notice" role="status" id="message">{}</p>"#,
            esc(m)
        )
    });
    super::pages::layout_with(
        "Sign-in requests",
        &format!(
            r#"<nav><a href="/portal">My devices</a> <a href="/portal/logins">My logins</a> <span class="here">Sign-in requests</span></nav>
<h1>Sign-in requests</h1>
{error}{message}
{body}
{optin}
<script src="/static/approvals.js"></script>
<script src="/static/push.js" defer></script>"#,
            error = error_block(error),
            optin = push_optin(csrf, vapid),
        ),
        "<link rel=\"manifest\" href=\"/manifest.webmanifest\">\n",
    )
}

/// The page with a CSP that allows its one script and its event stream.
fn show(html: Html<String>) -> Response {
    let mut res = html.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn page(State(state): State<WebState>, Peer(peer): Peer, headers: HeaderMap) -> Response {
    let c = match ctx(&state, peer, &headers, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let prompt = state.gateway.approvals().pending_for(c.person_id(), now());
    let vapid = state.gateway.vapid_public_key();
    show(render(
        c.csrf(),
        prompt.as_ref(),
        None,
        None,
        vapid.as_deref(),
    ))
}

/// push.js posts the browser's subscription here: linked as a device, then back to the page.
async fn subscribe(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<SubscribeForm>,
) -> Response {
    let c = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match state
        .gateway
        .portal_add_push(&c.actor, &form.subscription, &form.label, now())
        .await
    {
        Ok(_) => see_other("/portal/approvals"),
        Err(ServiceError::Invalid(text)) => super::bad_request(&text),
        Err(e) => server_error(&e),
    }
}

async fn answer(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Response {
    let c: Ctx = match ctx(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(answer) = Answer::parse(&form.answer).filter(|a| *a != Answer::Replaced) else {
        return super::bad_request("That is not an answer this page gives.");
    };
    match state
        .gateway
        .answer_approval(&c.actor, &form.id, answer, now())
        .await
    {
        Ok(p) => {
            let text = match answer {
                Answer::Approved => format!("You approved the sign-in to {}.", p.client),
                Answer::Denied => format!("You denied the sign-in to {}.", p.client),
                _ => "The sign-in was refused and the operators were told. Change your password if you think it is known to someone else.".to_owned(),
            };
            show(render(
                c.csrf(),
                None,
                Some(&text),
                None,
                state.gateway.vapid_public_key().as_deref(),
            ))
        }
        Err(ServiceError::Invalid(text)) => {
            let prompt = state.gateway.approvals().pending_for(c.person_id(), now());
            show(render(
                c.csrf(),
                prompt.as_ref(),
                None,
                Some(&text),
                state.gateway.vapid_public_key().as_deref(),
            ))
        }
        Err(e) => server_error(&e),
    }
}

/// Server-sent events: `changed` whenever this person's pending approval changes.
async fn events(State(state): State<WebState>, Peer(peer): Peer, headers: HeaderMap) -> Response {
    let c = match ctx(&state, peer, &headers, None).await {
        Ok(c) => c,
        Err(_) => return see_other("/portal/login"),
    };
    let person = c.person_id();
    let rx = state.gateway.approvals().subscribe();
    let stream = futures_util::stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(p) if p == person => {
                    return Some((
                        Ok::<_, Infallible>(Event::default().event("changed").data("1")),
                        rx,
                    ));
                }
                Ok(_) => {}
                // Missed some: say "changed" to be safe.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("changed").data("1")), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
