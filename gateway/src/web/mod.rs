//! The web front: one HTTPS listener (or plain HTTP behind a configured reverse proxy) that
//! serves the OpenID Provider, the login pages, the stylesheet, /healthz and
//! /readyz, with a request id, security headers and a Content-Security-Policy on every answer.

pub mod admin;
pub mod api;
pub mod audit;
pub(crate) mod extract;
pub mod login;
pub mod pages;
pub mod portal;
pub mod qr;
pub mod session;
pub mod templates;
pub mod tls;

#[cfg(test)]
mod router_tests;

use crate::limits::Limits;
use crate::service::Gateway;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipnet::IpNet;
use session::Sessions;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::trace::TraceLayer;

/// What the web handlers share.
#[derive(Debug, Clone)]
pub struct WebState {
    pub gateway: Gateway,
    pub provider: Arc<mfa_oidc::Provider>,
    pub sessions: Arc<Sessions>,
    pub limits: Arc<Limits>,
    /// Served over TLS here (then X-Forwarded-For is never believed).
    pub tls: bool,
    /// Reached over HTTPS: served over TLS, or behind a TLS proxy with an https public URL.
    /// Cookies get Secure and HSTS is sent.
    pub https: bool,
    /// The sign-in forms' stateless CSRF protection (no session before a right password).
    pub pre: session::PreLogin,
    /// Proxies whose X-Forwarded-For is believed (plain HTTP only).
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Live event streams (server-sent events) open, per source and in total.
    pub streams: Arc<tls::Slots>,
}

/// Is the web front reached over HTTPS: served over TLS here, or behind a TLS proxy with an
/// https public URL? Then cookies get Secure and HSTS is sent.
pub fn reached_over_https(tls: bool, public_url: &str) -> bool {
    tls || public_url.starts_with("https://")
}

/// Live event streams one source may hold open.
pub const MAX_STREAMS_PER_SOURCE: usize = 8;
/// Live event streams open in total.
pub const MAX_STREAMS: usize = 2_000;

impl WebState {
    /// The client's address: the peer, or, when the peer is a trusted proxy, the last
    /// X-Forwarded-For entry that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: SocketAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if self.tls || !self.trusted(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.trusted(*ip))
            .unwrap_or(peer)
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");

/// The whole web app: OIDC routes, login pages, static files, and `extra` (the admin routes).
pub fn router(state: WebState, extra: Router) -> Router {
    let https = state.https;
    let limited = state.clone();
    let page_gateway = state.gateway.clone();
    // Starting an authorization stores a pending login: limited per source address.
    let provider =
        state
            .provider
            .router()
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                let state = limited.clone();
                async move {
                    if req.uri().path() == "/oauth2/authorize" {
                        let peer = req
                            .extensions()
                            .get::<axum::extract::ConnectInfo<tls::PeerAddr>>()
                            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0.0);
                        let ip = state.client_ip(peer, req.headers());
                        // The rate, then the pending authorizations a source may hold at once.
                        let within = match state.limits.allow_source(ip).await {
                            Ok(true) => state.limits.allow_state(ip).await.unwrap_or(false),
                            _ => false,
                        };
                        if !within {
                            return templates::message_response(
                                axum::http::StatusCode::TOO_MANY_REQUESTS,
                                &templates::request_ctx(),
                                "error-too-many-title",
                                "error-too-many-text",
                            );
                        }
                    }
                    next.run(req).await
                }
            }));
    Router::new()
        .merge(login::routes())
        .merge(portal::routes())
        .merge(portal::sso_sessions::routes())
        .merge(admin::routes())
        .merge(admin::import::routes())
        .merge(login::activate::routes())
        .merge(login::reset::routes())
        .merge(api::routes())
        .merge(audit::routes())
        .merge(portal::approvals::routes())
        .merge(login::approve::routes())
        .merge(login::remember::routes())
        .route(
            "/static/style.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    pages::STYLE_CSS,
                )
            }),
        )
        .route(
            "/static/webauthn.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    pages::WEBAUTHN_JS,
                )
            }),
        )
        .with_state(state)
        .merge(provider)
        .merge(extra)
        .fallback(not_found)
        .layer(middleware::from_fn(move |req, next| {
            security_headers(req, next, https)
        }))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let ctx = templates::Ctx::of(&page_gateway, browser_lang(&page_gateway, req.headers()));
            templates::scope(ctx, next.run(req))
        }))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn(body_limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let route = req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or("-", |p| p.as_str());
            let theirs = req
                .headers()
                .get(CLIENT_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", request_id = %id, client_request_id = %theirs, method = %req.method(), route = %route)
        }))
        .layer(middleware::from_fn(own_request_id))
}

/// Request bodies are capped at 64 KiB; the CSV import form at `admin::import::BODY_LIMIT`.
async fn body_limit(req: Request, next: Next) -> Response {
    use tower::{Layer as _, ServiceExt as _};
    let limit = if admin::import::is_import(req.uri().path()) {
        admin::import::BODY_LIMIT
    } else {
        64 * 1024
    };
    let inner = tower::service_fn(move |req| run_limited(next.clone(), req));
    match tower_http::limit::RequestBodyLimitLayer::new(limit)
        .layer(inner)
        .oneshot(req)
        .await
    {
        Ok(res) => res.into_response(),
        Err(never) => match never {},
    }
}

/// The rest of the stack, for a request whose body the limit wrapped.
async fn run_limited<B>(
    next: Next,
    req: axum::http::Request<B>,
) -> Result<Response, std::convert::Infallible>
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    Ok(next.run(req.map(axum::body::Body::new)).await)
}

/// The request id is always ours (a random UUID): a client-sent `X-Request-Id` is never
/// believed (it would land in the audit trail); a sane one is kept as
/// `X-Client-Request-Id` for the log line.
async fn own_request_id(mut req: Request, next: Next) -> Response {
    let theirs = req.headers_mut().remove(REQUEST_ID);
    if let Some(v) = theirs
        && v.len() <= 64
        && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        req.headers_mut().insert(CLIENT_REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    next.run(req).await
}

/// Security headers on every answer. Pages set their own CSP (their form targets); others
/// get the strictest one.
async fn security_headers(req: Request, next: Next, https: bool) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// The language of a page for whoever asks: their browser's (`Accept-Language`), else the
/// configured default.
/// The language of a page shown before anyone is known: the client's organisation's (its
/// `default_org`), else the browser's. Never the person's: the words must not tell whether
/// a username exists.
pub async fn lang_before_sign_in(
    gateway: &crate::service::Gateway,
    headers: &axum::http::HeaderMap,
    channel: crate::audit::Channel,
    client: Option<&str>,
) -> crate::i18n::Lang {
    if gateway.client_default_org(channel, client).is_some() {
        return gateway.lang_of_client(channel, client).await;
    }
    browser_lang(gateway, headers)
}

pub fn browser_lang(
    gateway: &crate::service::Gateway,
    headers: &axum::http::HeaderMap,
) -> crate::i18n::Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::i18n::Lang::from_accept_language)
        .unwrap_or(gateway.i18n().default_language)
}

/// A 400 page for requests that make no sense (bad CSRF, no session): `text_key` says
/// what to do, in the request's language.
pub fn refused(text_key: &str) -> Response {
    templates::message_response(
        axum::http::StatusCode::BAD_REQUEST,
        &templates::request_ctx(),
        "error-refused-title",
        text_key,
    )
}

/// A 404 page for an address nothing answers.
async fn not_found() -> Response {
    templates::message_response(
        axum::http::StatusCode::NOT_FOUND,
        &templates::request_ctx(),
        "error-not-found-title",
        "error-not-found-text",
    )
}

/// A 403 page: signed in, but without the role the page needs.
pub fn forbidden() -> Response {
    templates::message_response(
        axum::http::StatusCode::FORBIDDEN,
        &templates::request_ctx(),
        "error-forbidden-title",
        "error-forbidden-text",
    )
}
