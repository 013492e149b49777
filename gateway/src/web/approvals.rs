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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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

/// The cookie that binds this browser to the push device it linked.
const DEVICE_COOKIE: &str = "mfa_device";
const NOT_BOUND: &str = "Sign-in requests are answered on a device that gets them: turn on notifications on this device first (below), answer on the phone where you did, or answer with a code from any phone or token at /approve.";
/// Where anyone answers with a code instead (`web/approve.rs`).
const WITH_A_CODE: &str = r#"<p class="sub" id="approve-with-code">No notifications on this device, or only a hardware token? <a href="/approve">Answer with a code</a> from any phone or token linked to your account.</p>"#;

fn device_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == DEVICE_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// Is this browser a push device the signed-in person linked?
async fn bound(state: &WebState, c: &Ctx, headers: &HeaderMap) -> Result<bool, Response> {
    state
        .gateway
        .bound_push_device(c.person_id(), device_cookie(headers).as_deref())
        .await
        .map(|d| d.is_some())
        .map_err(|e| server_error(&e))
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
    /// Number matching: the number chosen.
    #[serde(default)]
    number: String,
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
    #[serde(default)]
    current_code: String,
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
<label for="push-current-code">Current code from one of your devices (needed when you signed in more than 5 minutes ago)</label>
<input type="text" id="push-current-code" name="current_code" class="code" inputmode="numeric" autocomplete="one-time-code" maxlength="11">
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
    bound: bool,
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
            // Number matching: one approve button per choice, carrying its number.
            let approve = if p.number.is_some() {
                let choices: Vec<String> = p
                    .choices
                    .iter()
                    .map(|n| {
                        format!(
                            r#"<form method="post" action="/portal/approvals/answer" class="inline">{}{}{}{}<button type="submit" class="choice" id="choice-{n}">{n}</button></form>"#,
                            hidden("csrf", csrf),
                            hidden("id", &p.id),
                            hidden("answer", "approve"),
                            hidden("number", &n.to_string()),
                        )
                    })
                    .collect();
                format!(
                    r#"<p>Choose the number shown on the sign-in page:</p><p id="choices">{}</p>"#,
                    choices.join(" ")
                )
            } else {
                form("approve", "", "approve", "Approve")
            };
            format!(
                r#"<div class="approval" id="pending" data-id="{id}">
<p class="big">Are you signing in to <strong>{client}</strong>?</p>
<p class="meta">From {source}, at {at}. This request expires at {expires}.</p>
{answers}
<p class="sub">"This was not me" refuses the sign-in, tells the operators, and stops further requests for a while. Use it if you did not just try to sign in.</p>
</div>"#,
                id = esc(&p.id),
                client = esc(&p.client),
                source = esc(p.source.as_deref().unwrap_or("an unknown address")),
                at = esc(&time(p.created)),
                expires = esc(&time(p.expires)),
                answers = if bound {
                    format!(
                        "<p>{} {}</p>\n<p>{}</p>",
                        approve,
                        form("deny", "secondary", "deny", "Deny"),
                        form("not_me", "danger", "not-me", "This was not me"),
                    )
                } else {
                    format!(r#"<p class="error" id="not-bound">{}</p>"#, esc(NOT_BOUND))
                },
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
{with_code}
{optin}
<script src="/static/approvals.js"></script>
<script src="/static/push.js" defer></script>"#,
            error = error_block(error),
            with_code = WITH_A_CODE,
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
    let prompt = state
        .gateway
        .approvals()
        .pending_for(c.person_id(), now())
        .await;
    let vapid = state.gateway.vapid_public_key();
    let bound = match bound(&state, &c, &headers).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    show(render(
        c.csrf(),
        prompt.as_ref(),
        None,
        None,
        vapid.as_deref(),
        bound,
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
    let fields = [
        ("subscription", form.subscription.as_str()),
        ("label", form.label.as_str()),
    ];
    if let Err(r) = super::portal::fresh_proof(
        &state,
        &c,
        &form.current_code,
        "/portal/push/subscribe",
        &fields,
    )
    .await
    {
        return r;
    }
    let Ok(bytes) = crate::secret::random_bytes(32) else {
        return server_error(&"random generator");
    };
    let binding = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    match state
        .gateway
        .portal_add_push(&c.actor, &form.subscription, &form.label, &binding, now())
        .await
    {
        Ok(_) => {
            let mut res = see_other("/portal/approvals");
            let secure = if state.https { "; Secure" } else { "" };
            // A year: the device stays bound until it is removed from My devices.
            let cookie = format!(
                "{DEVICE_COOKIE}={binding}; Path=/portal; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
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
    match bound(&state, &c, &headers).await {
        Ok(true) => {}
        Ok(false) => {
            let prompt = state
                .gateway
                .approvals()
                .pending_for(c.person_id(), now())
                .await;
            return show(render(
                c.csrf(),
                prompt.as_ref(),
                None,
                Some(NOT_BOUND),
                state.gateway.vapid_public_key().as_deref(),
                false,
            ));
        }
        Err(r) => return r,
    }
    let number = form.number.trim().parse::<u8>().ok();
    match state
        .gateway
        .answer_approval_with(&c.actor, &form.id, answer, number, now())
        .await
    {
        Ok((p, given)) => {
            let text = match given {
                Answer::Denied if answer == Answer::Approved => format!(
                    "That was not the number on the sign-in page: the sign-in to {} was refused.",
                    p.client
                ),
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
                true,
            ))
        }
        Err(ServiceError::Invalid(text)) => {
            let prompt = state
                .gateway
                .approvals()
                .pending_for(c.person_id(), now())
                .await;
            show(render(
                c.csrf(),
                prompt.as_ref(),
                None,
                Some(&text),
                state.gateway.vapid_public_key().as_deref(),
                true,
            ))
        }
        Err(e) => server_error(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// The approval the page shows ("" for none).
    #[serde(default)]
    shown: String,
}

/// Server-sent events: `changed` whenever this person's pending approval changes, and at
/// once if it already differs from what the page shows (a request that arrived between
/// the page and this stream).
async fn events(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<EventsQuery>,
) -> Response {
    let c = match ctx(&state, peer, &headers, None).await {
        Ok(c) => c,
        Err(_) => return see_other("/portal/login"),
    };
    // Live streams are bounded per source and in total (each holds a connection open).
    let source = super::tls::peer_key(state.client_ip(peer, &headers));
    let Some(slot) = state.streams.take(&source) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many live pages open from your network\n",
        )
            .into_response();
    };
    let person = c.person_id();
    let rx = state.gateway.approvals().subscribe();
    let current = state
        .gateway
        .approvals()
        .pending_for(person, now())
        .await
        .map(|p| p.id)
        .unwrap_or_default();
    let stale = current != q.shown;
    let changed = || Ok::<_, Infallible>(Event::default().event("changed").data("1"));
    // The slot travels with the stream and is given back when the stream ends.
    let stream =
        futures_util::stream::unfold((rx, stale, slot), move |(mut rx, stale, slot)| async move {
            if stale {
                return Some((changed(), (rx, false, slot)));
            }
            loop {
                match rx.recv().await {
                    Ok(p) if p == person => return Some((changed(), (rx, false, slot))),
                    Ok(_) => {}
                    // Missed some: say "changed" to be safe.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((changed(), (rx, false, slot)));
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
