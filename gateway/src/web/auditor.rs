//! The auditor's pages (role auditor; read-only): search with paging, a chart of attempts
//! per day by outcome and the most failures, a person's timeline, exports as CSV and JSON
//! lines, and (also for operators) the GDPR subject access page. Signed in through the
//! portal's login. Every search, view and export is audited; a person without the role gets
//! 403, audited as `access_denied`.

use super::auditor_pages::{self, SearchForm, SearchView};
use super::login::{Peer, server_error};
use super::portal::{Ctx, ctx, show};
use super::{WebState, forbidden};
use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::audit_export::ExportFormat;
use crate::model::{PersonId, Role, now};
use crate::service::ServiceError;
use crate::store::{EventFilter, TopFailures};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Events per page.
const PAGE: u32 = 50;
/// Days the chart shows when the search gives no time range.
const CHART_DAYS: i64 = 30;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/audit", get(search))
        .route("/audit/export.csv", get(export_csv))
        .route("/audit/export.jsonl", get(export_jsonl))
        .route("/audit/person/{id}", get(timeline))
        .route("/audit/subject/{id}", get(subject_page))
        .route("/audit/subject/{id}/json", get(subject_json))
}

/// The audit event context of a request by `c` (who, from where, which request).
fn context(c: &Ctx, kind: EventKind) -> AuditEvent {
    let mut e = AuditEvent::admin(now(), kind, &format!("person:{}", c.actor.person.id));
    e.channel = Channel::Portal;
    e.client = Some("audit".into());
    e.source = c.actor.source.map(|s| s.to_string());
    e.request_id = c.actor.request_id.clone();
    e
}

/// The signed-in person, if they hold one of `roles`; otherwise the sign-in page, or a 403
/// that is audited.
async fn allowed(
    state: &WebState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    roles: &[Role],
    path: &str,
) -> Result<Ctx, Response> {
    let c = ctx(state, peer, headers, None).await?;
    if c.actor.person.roles.iter().any(|r| roles.contains(r)) {
        return Ok(c);
    }
    let mut event = context(&c, EventKind::AccessDenied);
    event.outcome = Outcome::Reject;
    event.reason = Some("missing_role".into());
    event.detail = Some(serde_json::json!({ "path": path }));
    if let Err(e) = state.gateway.store().append_event(&event).await {
        return Err(server_error(&e));
    }
    Err(forbidden())
}

fn is_operator(c: &Ctx) -> bool {
    c.actor.person.roles.contains(&Role::Operator)
}

/// The store filter for the form, or what is wrong with it (in words for the auditor).
async fn filter_of(state: &WebState, f: &SearchForm) -> Result<EventFilter, String> {
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let one_of = |name: &str, v: &str, options: &[&str]| -> Result<Option<String>, String> {
        match text(v) {
            Some(v) if !options.contains(&v.as_str()) => Err(format!(
                "{name} `{v}` is not one of: {}",
                options.join(", ")
            )),
            other => Ok(other),
        }
    };
    let time = |name: &str, v: &str, end: bool| -> Result<Option<i64>, String> {
        text(v)
            .map(|t| {
                crate::audit::parse_time(&t, end).ok_or_else(|| {
                    format!(
                        "{name} `{t}` is not a date (2026-11-25), an RFC 3339 time or unix seconds"
                    )
                })
            })
            .transpose()
    };
    let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let (person_id, username) = match text(&f.person) {
        Some(u) => match state.gateway.store().person_by_username(&u).await {
            Ok(Some(p)) => (Some(p.id), None),
            Ok(None) => (None, Some(crate::store::normalise_username(&u))),
            Err(e) => return Err(format!("cannot search: {e}")),
        },
        None => (None, None),
    };
    let org_id = match text(&f.org) {
        Some(o) => match state.gateway.org(&o).await {
            Ok(org) => Some(org.id),
            Err(ServiceError::NotFound(_)) => {
                return Err(format!("there is no organisation `{o}`"));
            }
            Err(e) => return Err(format!("cannot search: {e}")),
        },
        None => None,
    };
    Ok(EventFilter {
        person_id,
        username,
        org_id,
        from: time("From", &f.from, false)?,
        to: time("To", &f.to, true)?,
        channel: one_of(
            "Channel",
            &f.channel,
            &["radius", "oidc", "portal", "api", "cli", "system"],
        )?,
        client: text(&f.client),
        outcome: one_of(
            "Outcome",
            &f.outcome,
            &["accept", "reject", "challenge", "done", "failed"],
        )?,
        reason: text(&f.reason),
        source: text(&f.source),
        kind: one_of("Kind", &f.kind, &kinds)?,
        limit: PAGE,
        offset: f.page.saturating_mul(PAGE),
        oldest_first: false,
    })
}

async fn search(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    let c = match allowed(&state, peer, &headers, &[Role::Auditor], "/audit").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let store = state.gateway.store();
    let empty = TopFailures::default();
    let filter = match filter_of(&state, &form).await {
        Ok(f) => f,
        Err(problem) => {
            let view = SearchView {
                form: &form,
                events: &[],
                total: 0,
                page_size: PAGE,
                chart: String::new(),
                chart_range: String::new(),
                top: &empty,
                error: Some(&problem),
                operator: is_operator(&c),
            };
            return show(&state, auditor_pages::search(&view));
        }
    };
    let result = async {
        let events = store.events(&filter).await?;
        let total = store.count_events(&filter).await?;
        // The chart and the most failures: login attempts matching the other filters,
        // within the searched range or the last 30 days.
        let t = now();
        let to = filter.to.unwrap_or(t);
        let from = filter.from.unwrap_or(to - (CHART_DAYS - 1) * 86_400);
        let mut attempts = filter.clone();
        attempts.kind = Some(EventKind::LoginAttempt.as_str().into());
        attempts.from = Some(from.div_euclid(86_400) * 86_400);
        attempts.to = Some(to);
        let counts = store.daily_outcomes(&attempts).await?;
        let top = store.top_failures(&attempts, 10).await?;
        let days = (from.div_euclid(86_400), to.div_euclid(86_400));
        Ok::<_, crate::store::StoreError>((events, total, counts, top, days))
    }
    .await;
    let (events, total, counts, top, days) = match result {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    let mut event = context(&c, EventKind::AuditSearched);
    event.outcome = Outcome::Done;
    if let Err(e) = state
        .gateway
        .audit_viewed(
            EventKind::AuditSearched,
            &event,
            serde_json::json!({ "search": form.query(), "page": form.page, "results": total }),
        )
        .await
    {
        return server_error(&e);
    }
    let chart_range = format!(
        "{} to {} (UTC), login attempts matching the search",
        &crate::audit::format_time(days.0 * 86_400)[..10],
        &crate::audit::format_time(days.1 * 86_400)[..10],
    );
    let view = SearchView {
        form: &form,
        events: &events,
        total,
        page_size: PAGE,
        chart: auditor_pages::chart_svg(&counts, days),
        chart_range,
        top: &top,
        error: None,
        operator: is_operator(&c),
    };
    show(&state, auditor_pages::search(&view))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Jsonl,
}

async fn export(
    state: WebState,
    peer: std::net::SocketAddr,
    headers: HeaderMap,
    form: SearchForm,
    format: Format,
) -> Response {
    let c = match allowed(&state, peer, &headers, &[Role::Auditor], "/audit/export").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut filter = match filter_of(&state, &form).await {
        Ok(f) => f,
        Err(problem) => return super::bad_request(&problem),
    };
    filter.limit = 0;
    filter.offset = 0;
    // Audited before any row leaves (with the number of rows matching); then streamed page
    // by page (audit_export.rs): memory stays flat whatever the size.
    let store = state.gateway.store();
    let (last, rows) = match async {
        Ok::<_, crate::store::StoreError>((
            store.last_event_id().await?,
            store.count_events(&filter).await?,
        ))
    }
    .await
    {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    let (ext, mime, stream_format) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8", ExportFormat::Csv),
        Format::Jsonl => ("jsonl", "application/x-ndjson", ExportFormat::Jsonl),
    };
    let event = context(&c, EventKind::AuditExported);
    if let Err(e) = state
        .gateway
        .audit_viewed(
            EventKind::AuditExported,
            &event,
            serde_json::json!({ "search": form.query(), "format": ext, "rows": rows }),
        )
        .await
    {
        return server_error(&e);
    }
    let pages = crate::audit_export::Pages::new(store.clone(), filter).up_to_id(last);
    let body = axum::body::Body::from_stream(crate::audit_export::stream(pages, stream_format));
    let day = crate::audit::format_time(now())[..10].replace('-', "");
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{day}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

async fn export_csv(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    export(state, peer, headers, form, Format::Csv).await
}

async fn export_jsonl(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    export(state, peer, headers, form, Format::Jsonl).await
}

async fn timeline(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<PersonId>,
) -> Response {
    let path = format!("/audit/person/{id}");
    let c = match allowed(
        &state,
        peer,
        &headers,
        &[Role::Auditor, Role::Operator],
        &path,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let gw = &state.gateway;
    let person = match gw.store().person_by_id(id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return (
                axum::http::StatusCode::NOT_FOUND,
                super::pages::message("No such person", "There is no person with that id."),
            )
                .into_response();
        }
        Err(e) => return server_error(&e),
    };
    let (mut events, org) = match async {
        let events = gw.store().events_about(id).await?;
        let org = gw.store().org_by_id(person.org_id).await?;
        Ok::<_, crate::store::StoreError>((events, org))
    }
    .await
    {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    events.reverse();
    let mut event = context(&c, EventKind::AuditSearched);
    event.person_id = Some(person.id);
    event.username = Some(person.username.clone());
    event.org_id = Some(person.org_id);
    if let Err(e) = gw
        .audit_viewed(
            EventKind::AuditSearched,
            &event,
            serde_json::json!({ "timeline": person.id, "results": events.len() }),
        )
        .await
    {
        return server_error(&e);
    }
    let org = org.map(|o| o.name).unwrap_or_default();
    show(
        &state,
        auditor_pages::timeline(&person, &org, &events, is_operator(&c)),
    )
}

/// The subject access document for person `id`, audited; None: no such person.
async fn subject(
    state: &WebState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    id: PersonId,
) -> Result<crate::service::SubjectAccess, Response> {
    let path = format!("/audit/subject/{id}");
    let c = allowed(
        state,
        peer,
        headers,
        &[Role::Operator, Role::Auditor],
        &path,
    )
    .await?;
    let person = match state.gateway.store().person_by_id(id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err((
                axum::http::StatusCode::NOT_FOUND,
                super::pages::message("No such person", "There is no person with that id."),
            )
                .into_response());
        }
        Err(e) => return Err(server_error(&e)),
    };
    let context = context(&c, EventKind::SubjectAccessExported);
    state
        .gateway
        .subject_access(&person, &context, now())
        .await
        .map_err(|e| server_error(&e))
}

async fn subject_page(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<PersonId>,
) -> Response {
    match subject(&state, peer, &headers, id).await {
        Ok(doc) => show(&state, auditor_pages::subject_html(&doc)),
        Err(r) => r,
    }
}

async fn subject_json(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<PersonId>,
) -> Response {
    match subject(&state, peer, &headers, id).await {
        Ok(doc) => {
            let mut res = axum::Json(doc).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"subject-{id}.json\""))
            {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(r) => r,
    }
}
