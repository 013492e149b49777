//! Out-of-band approval in the portal: the person's pending request (client, source
//! address, time) with Approve / Deny / "This was not me", a live update by server-sent
//! events, and the static script that listens to them. Answering needs a logged-in portal
//! session and the session's CSRF token; each answer is audited by the service.

use crate::approval::{Answer, Prompt};
use crate::service::ServiceError;
use crate::web::WebState;
use crate::web::extract::{Action, Caller, csrf_form};
use crate::web::login::server_error;
use crate::web::login::templates::ApprovalsPage;
use crate::web::portal::{SignedIn, see_other, signed_in};
use crate::web::templates::{Ctx, message_response, render};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

pub const APPROVALS_JS: &str = include_str!("../../../static/approvals.js");
const PUSH_JS: &str = include_str!("../../../static/push.js");
const SW_JS: &str = include_str!("../../../static/sw.js");
const MANIFEST: &str = include_str!("../../../static/manifest.webmanifest");
const ICON_SVG: &str = include_str!("../../../static/icon.svg");

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
async fn bound(state: &WebState, c: &SignedIn, headers: &HeaderMap) -> Result<bool, Response> {
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

csrf_form!(AnswerForm, SubscribeForm);

impl std::fmt::Debug for SubscribeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscribeForm")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The page in the signed-in person's language (`ctx`): their pending request (`prompt`),
/// a `message` after an answer or an `error` (texts already in that language), and the
/// opt-in for notifications (push.js does the work) when the server can send them.
fn render_page(
    state: &WebState,
    ctx: &Ctx,
    c: &SignedIn,
    prompt: Option<&Prompt>,
    message: Option<String>,
    error: Option<String>,
    bound: bool,
) -> Html<String> {
    let vapid = state.gateway.vapid_public_key();
    render(&ApprovalsPage {
        ctx,
        nav: ApprovalsPage::nav(ctx, c.csrf()),
        csrf: c.csrf(),
        prompt,
        message,
        error,
        vapid: vapid.as_deref(),
        bound,
    })
}

/// The signed-in person's language.
async fn person_ctx(state: &WebState, c: &SignedIn) -> Ctx {
    Ctx::of(&state.gateway, state.gateway.lang_of(&c.person).await)
}

/// What the page says after `given` was recorded for the sign-in to `client`;
/// `wrong_number` when an approval chose another number than the sign-in page's (which
/// denies).
fn answered(ctx: &Ctx, given: Answer, client: &str, wrong_number: bool) -> String {
    let client = [("client", client.into())];
    match given {
        Answer::Denied if wrong_number => ctx.ta("approvals-wrong-number", &client),
        Answer::Approved => ctx.ta("approvals-approved", &client),
        Answer::Denied => ctx.ta("approvals-denied", &client),
        _ => ctx.t("approvals-not-me-done"),
    }
}

/// The page's text for a refusal (by its key) of linking this browser for notifications.
fn subscribe_refusal(key: &str) -> &'static str {
    if key == crate::service::BAD_LABEL {
        "approvals-error-label"
    } else if key == crate::service::PUSH_DEVICES_FULL {
        "approvals-error-too-many-devices"
    } else {
        "approvals-error-subscription"
    }
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

async fn page(State(state): State<WebState>, c: SignedIn, headers: HeaderMap) -> Response {
    let prompt = state
        .gateway
        .approvals()
        .pending_for(c.person_id(), c.now)
        .await;
    let bound = match bound(&state, &c, &headers).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let ctx = person_ctx(&state, &c).await;
    show(render_page(
        &state,
        &ctx,
        &c,
        prompt.as_ref(),
        None,
        None,
        bound,
    ))
}

/// push.js posts the browser's subscription here: linked as a device, then back to the page.
async fn subscribe(
    State(state): State<WebState>,
    Action { me: c, form }: Action<SubscribeForm>,
) -> Response {
    let fields = [
        ("subscription", form.subscription.as_str()),
        ("label", form.label.as_str()),
    ];
    if let Err(r) = crate::web::portal::fresh_proof(
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
        .portal_add_push(&c.actor, &form.subscription, &form.label, &binding, c.now)
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
        Err(ServiceError::Refused(refusal)) => message_response(
            StatusCode::BAD_REQUEST,
            &person_ctx(&state, &c).await,
            "approvals-refused-title",
            subscribe_refusal(refusal.key()),
        ),
        Err(e) => server_error(&e),
    }
}

async fn answer(
    State(state): State<WebState>,
    headers: HeaderMap,
    Action { me: c, form }: Action<AnswerForm>,
) -> Response {
    let ctx = person_ctx(&state, &c).await;
    let t = c.now;
    let Some(answer) = Answer::parse(&form.answer).filter(|a| *a != Answer::Replaced) else {
        return message_response(
            StatusCode::BAD_REQUEST,
            &ctx,
            "approvals-refused-title",
            "approvals-error-answer",
        );
    };
    let pending = || async {
        state
            .gateway
            .approvals()
            .pending_for(c.person_id(), t)
            .await
    };
    match bound(&state, &c, &headers).await {
        Ok(true) => {}
        Ok(false) => {
            let prompt = pending().await;
            let error = ctx.t("approvals-not-bound");
            return show(render_page(
                &state,
                &ctx,
                &c,
                prompt.as_ref(),
                None,
                Some(error),
                false,
            ));
        }
        Err(r) => return r,
    }
    let number = form.number.trim().parse::<u8>().ok();
    match state
        .gateway
        .answer_approval_with(&c.actor, &form.id, answer, number, t)
        .await
    {
        Ok((p, given)) => {
            let wrong_number = given == Answer::Denied && answer == Answer::Approved;
            let text = answered(&ctx, given, &p.client, wrong_number);
            show(render_page(&state, &ctx, &c, None, Some(text), None, true))
        }
        Err(ServiceError::Refused(refusal)) => {
            let key = if refusal.key() == crate::service::REQUEST_GONE {
                "approvals-error-gone"
            } else {
                tracing::info!(
                    refusal = %refusal,
                    "an answer refused for a reason the page does not name"
                );
                "approvals-error-other"
            };
            let prompt = pending().await;
            show(render_page(
                &state,
                &ctx,
                &c,
                prompt.as_ref(),
                None,
                Some(ctx.t(key)),
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
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<EventsQuery>,
) -> Response {
    let Ok(c) = signed_in(&state, &caller, None).await else {
        return see_other("/portal/login");
    };
    // Live streams are bounded per source and in total (each holds a connection open).
    let source = crate::web::tls::peer_key(caller.client.ip);
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
        .pending_for(person, state.gateway.now())
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
