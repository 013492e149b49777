//! The auditor's pages (role auditor; read-only): search with paging, a chart of attempts
//! per day by outcome and the most failures, a person's timeline, exports as CSV and JSON
//! lines, and (also for operators) the GDPR subject access page. Signed in through the
//! portal's login. Every search, view and export is audited; a person without the role gets
//! 403, audited as `access_denied`.
//!
//! Scope, as on /admin (`Scope` here: what an auditor reads): the provider's auditors and operators see every
//! organisation; an org auditor (role `org_auditor`) only their own organisation's events,
//! by `EventFilter::scope_org` in every store query. A person or organisation of another
//! organisation is answered 404, the page of one that does not exist, audited as
//! `access_denied` (reason `scope`) with what was asked.

pub mod pages;
pub(crate) mod templates;
#[cfg(test)]
mod tests;

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::audit_export::ExportFormat;
use crate::model::{OrgId, Person, PersonId, Role};
use crate::service::{Gateway, ServiceError};
use crate::store::{EventFilter, TopFailures};
use crate::web::WebState;
use crate::web::audit::pages::{Problem, SearchForm, SearchView};
use crate::web::extract::{Auditors, Caller, Guard, PersonAuditors, RequireRole, Roles};
use crate::web::login::server_error;
use crate::web::portal::{SignedIn as Viewer, show};
use crate::web::templates::{Ctx, MessagePage, message_response, render};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::marker::PhantomData;

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

/// What an auditor may read: every organisation's events, or one organisation's. (Not the
/// service's `Scope`, which says for what an actor may act.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Org(OrgId),
}

/// The organisation a scope is limited to (None: every organisation).
fn scope_org(scope: Scope) -> Option<OrgId> {
    match scope {
        Scope::All => None,
        Scope::Org(org) => Some(org),
    }
}

/// The audit event context of a request by `c` (who, from where, which request). An org
/// auditor's views are events of their organisation, so its other auditors see them too.
fn context(c: &Viewer, kind: EventKind, scope: Scope) -> AuditEvent {
    let mut e = AuditEvent::admin(c.now, kind, &format!("person:{}", c.person.id));
    e.channel = Channel::Portal;
    e.client = Some("audit".into());
    e.source = c.actor.source().map(|s| s.to_string());
    e.request_id = c.actor.request_id().map(str::to_owned);
    e.org_id = scope_org(scope);
    e
}

/// Who looks: the signed-in person holding one of `R`'s roles, what they may see, and their
/// pages' language. An org auditor sees their own organisation; any other of `R`'s roles
/// (auditor; operator on a person's pages) every organisation. Without one: the sign-in
/// page, or a 403 audited by `RequireRole`.
struct Auditor<R = Auditors> {
    viewer: Viewer,
    scope: Scope,
    page: Ctx,
    roles: PhantomData<R>,
}

impl<R: Roles> Guard for Auditor<R> {
    async fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> Result<Self, Response> {
        let RequireRole { me, page, .. } = RequireRole::<R>::check(state, caller, csrf).await?;
        let person = &me.person;
        let global = person
            .roles
            .iter()
            .any(|r| *r != Role::OrgAuditor && R::ROLES.contains(r));
        let scope = if global {
            Scope::All
        } else {
            Scope::Org(person.org_id)
        };
        Ok(Self {
            viewer: me,
            scope,
            page,
            roles: PhantomData,
        })
    }
}

impl<R: Roles> FromRequestParts<WebState> for Auditor<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        Self::check(state, &caller, None).await
    }
}

/// The 404 page of a person that does not exist (also: of another organisation).
fn no_such_person(page: &Ctx) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        page,
        "audit-no-such-person-title",
        "audit-no-such-person-text",
    )
}

/// The 404 page of an organisation that does not exist (also: another organisation).
fn no_such_org(page: &Ctx) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        page,
        "audit-no-such-org-title",
        "audit-no-such-org-text",
    )
}

/// Something of another organisation asked for by an org auditor: audited as
/// `access_denied` (reason `scope`, the path and what was asked), answered with `page` (the
/// 404 of something that does not exist).
async fn refuse(
    state: &WebState,
    c: &Viewer,
    scope: Scope,
    path: &str,
    what: &str,
    page: Response,
) -> Response {
    let mut event = context(c, EventKind::AccessDenied, scope);
    event.outcome = Outcome::Reject;
    event.reason = Some("scope".into());
    event.person_id = Some(c.person.id);
    event.username = Some(c.person.username.clone());
    event.detail = Some(serde_json::json!({
        "path": path,
        "what": what,
        "scope": Gateway::audit_scope(scope_org(scope)),
    }));
    if let Err(e) = state.gateway.record_event(&event).await {
        return server_error(&e);
    }
    page
}

/// Why a search cannot run.
enum Refusal {
    /// Something is wrong with the form.
    Invalid(Problem),
    /// An org auditor named a person or organisation outside their scope (or one that does
    /// not exist): `what` was asked; the answer is `page`.
    OutOfScope { what: String, page: Response },
}

impl From<Problem> for Refusal {
    fn from(problem: Problem) -> Self {
        Self::Invalid(problem)
    }
}

/// A store error while reading the form: logged, the auditor hears the search failed.
fn failed(e: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "an audit search failed");
    Refusal::Invalid(Problem::Failed)
}

/// The store filter for the form, within `scope`. An org auditor's organisation field is
/// empty or their own organisation (name or id); their person field a person of it.
async fn filter_of(
    state: &WebState,
    page: &Ctx,
    f: &SearchForm,
    scope: Scope,
) -> Result<EventFilter, Refusal> {
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let one_of = |field: &'static str,
                  v: &str,
                  options: &[&'static str]|
     -> Result<Option<String>, Problem> {
        match text(v) {
            Some(value) if !options.contains(&value.as_str()) => Err(Problem::NotOneOf {
                field,
                value,
                options: options.to_vec(),
            }),
            other => Ok(other),
        }
    };
    let time = |field: &'static str, v: &str, end: bool| -> Result<Option<i64>, Problem> {
        text(v)
            .map(|value| {
                crate::audit::parse_time(&value, end).ok_or(Problem::NotATime { field, value })
            })
            .transpose()
    };
    let kinds: Vec<&'static str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let (person_id, username) = match (text(&f.person), scope) {
        (Some(u), _) => match state.gateway.person_named(&u, scope_org(scope)).await {
            Ok(Some(p)) if scope_org(scope).is_none_or(|org| org == p.org_id) => (Some(p.id), None),
            // Another organisation's person, or (for an org auditor, who never sees events
            // without an organisation) an unknown username: the same 404.
            Ok(Some(_)) => {
                return Err(Refusal::OutOfScope {
                    what: format!("person `{u}`"),
                    page: no_such_person(page),
                });
            }
            Ok(None) if scope == Scope::All => (None, Some(crate::store::normalise_username(&u))),
            Ok(None) => {
                return Err(Refusal::OutOfScope {
                    what: format!("person `{u}`"),
                    page: no_such_person(page),
                });
            }
            Err(e) => return Err(failed(&e)),
        },
        (None, _) => (None, None),
    };
    let org_id = match text(&f.org) {
        Some(o) => match (state.gateway.org(&o).await, scope) {
            (Ok(org), Scope::All) => Some(org.id),
            // Their own organisation: the scope says it (and keeps the events without an
            // organisation about its people).
            (Ok(org), Scope::Org(own)) if org.id == own => None,
            (Ok(_) | Err(ServiceError::NotFound(_)), Scope::Org(_)) => {
                return Err(Refusal::OutOfScope {
                    what: format!("organisation `{o}`"),
                    page: no_such_org(page),
                });
            }
            (Err(ServiceError::NotFound(_)), Scope::All) => {
                return Err(Problem::NoSuchOrg(o).into());
            }
            (Err(e), _) => return Err(failed(&e)),
        },
        None => None,
    };
    Ok(EventFilter {
        person_id,
        username,
        org_id,
        scope_org: scope_org(scope),
        from: time("from", &f.from, false)?,
        to: time("to", &f.to, true)?,
        channel: one_of("channel", &f.channel, &pages::CHANNELS)?,
        client: text(&f.client),
        outcome: one_of("outcome", &f.outcome, &pages::OUTCOMES)?,
        reason: text(&f.reason),
        source: text(&f.source),
        kind: one_of("kind", &f.kind, &kinds)?,
        limit: PAGE,
        offset: f.page.saturating_mul(PAGE),
        oldest_first: false,
    })
}

/// The name of an org auditor's organisation (None: the provider's view).
async fn scope_name(state: &WebState, scope: Scope) -> Result<Option<String>, Response> {
    match scope {
        Scope::All => Ok(None),
        Scope::Org(org) => match state.gateway.org_by_id(org).await {
            Ok(o) => Ok(Some(o.map_or_else(|| org.to_string(), |o| o.name))),
            Err(e) => Err(server_error(&e)),
        },
    }
}

async fn search(
    State(state): State<WebState>,
    a: Auditor,
    Query(mut form): Query<SearchForm>,
) -> Response {
    let Auditor {
        viewer: c,
        scope,
        page,
        ..
    } = a;
    let nav = pages::nav(&page, c.csrf(), "/audit");
    let own_org = match scope_name(&state, scope).await {
        Ok(name) => name,
        Err(r) => return r,
    };
    // An org auditor's organisation field is fixed to their organisation.
    if let Some(name) = &own_org
        && form.org.trim().is_empty()
    {
        form.org.clone_from(name);
    }
    let empty = TopFailures::default();
    let filter = match filter_of(&state, &page, &form, scope).await {
        Ok(f) => f,
        Err(Refusal::OutOfScope { what, page }) => {
            return refuse(&state, &c, scope, "/audit", &what, page).await;
        }
        Err(Refusal::Invalid(problem)) => {
            let view = SearchView {
                form: &form,
                events: &[],
                total: 0,
                page_size: PAGE,
                chart: None,
                top: &empty,
                error: Some(&problem),
                scope: own_org.as_deref(),
            };
            return show(&state, pages::search(&page, nav, &view));
        }
    };
    // The chart and the most failures: login attempts matching the other filters, within
    // the searched range or the last 30 days.
    let result = state.gateway.audit_search(&filter, CHART_DAYS, c.now).await;
    let crate::service::AuditSearch {
        events,
        total,
        counts,
        top,
        days,
    } = match result {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    let mut event = context(&c, EventKind::AuditSearched, scope);
    event.outcome = Outcome::Done;
    if let Err(e) = state
        .gateway
        .audit_viewed(
            EventKind::AuditSearched,
            &event,
            serde_json::json!({
                "search": form.query(),
                "page": form.page,
                "results": total,
                "scope": Gateway::audit_scope(scope_org(scope)),
            }),
        )
        .await
    {
        return server_error(&e);
    }
    let view = SearchView {
        form: &form,
        events: &events,
        total,
        page_size: PAGE,
        chart: Some((&counts, days)),
        top: &top,
        error: None,
        scope: own_org.as_deref(),
    };
    show(&state, pages::search(&page, nav, &view))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Jsonl,
}

async fn export(state: WebState, a: Auditor, form: SearchForm, format: Format) -> Response {
    let path = match format {
        Format::Csv => "/audit/export.csv",
        Format::Jsonl => "/audit/export.jsonl",
    };
    let Auditor {
        viewer: c,
        scope,
        page,
        ..
    } = a;
    let filter = match filter_of(&state, &page, &form, scope).await {
        Ok(f) => f,
        Err(Refusal::OutOfScope { what, page }) => {
            return refuse(&state, &c, scope, path, &what, page).await;
        }
        Err(Refusal::Invalid(problem)) => {
            let html = render(&MessagePage {
                ctx: &page,
                title: page.t("audit-bad-search-title"),
                paragraphs: vec![problem.text(&page)],
                link: None,
            });
            return (StatusCode::BAD_REQUEST, html).into_response();
        }
    };
    // Audited before any row leaves (with the number of rows matching); then streamed page
    // by page (audit_export.rs): memory stays flat whatever the size.
    let crate::service::AuditExport { rows, pages } = match state.gateway.audit_export(filter).await
    {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    let (ext, mime, stream_format) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8", ExportFormat::Csv),
        Format::Jsonl => ("jsonl", "application/x-ndjson", ExportFormat::Jsonl),
    };
    let event = context(&c, EventKind::AuditExported, scope);
    if let Err(e) = state
        .gateway
        .audit_viewed(
            EventKind::AuditExported,
            &event,
            serde_json::json!({
                "search": form.query(),
                "format": ext,
                "rows": rows,
                "scope": Gateway::audit_scope(scope_org(scope)),
            }),
        )
        .await
    {
        return server_error(&e);
    }
    let body = axum::body::Body::from_stream(crate::audit_export::stream(pages, stream_format));
    let day = crate::audit::format_time(c.now)[..10].replace('-', "");
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
    a: Auditor,
    Query(form): Query<SearchForm>,
) -> Response {
    export(state, a, form, Format::Csv).await
}

async fn export_jsonl(
    State(state): State<WebState>,
    a: Auditor,
    Query(form): Query<SearchForm>,
) -> Response {
    export(state, a, form, Format::Jsonl).await
}

/// Person `id` if the viewer may see them: None (answered) when there is no such person,
/// or they are of another organisation than an org auditor's (audited as `access_denied`).
async fn person_in_scope<R>(
    state: &WebState,
    a: &Auditor<R>,
    id: PersonId,
    path: &str,
) -> Result<Person, Response> {
    match state.gateway.person_if_any(id).await {
        Ok(Some(p)) if scope_org(a.scope).is_none_or(|org| org == p.org_id) => Ok(p),
        Ok(Some(_)) => Err(refuse(
            state,
            &a.viewer,
            a.scope,
            path,
            &format!("person {id}"),
            no_such_person(&a.page),
        )
        .await),
        Ok(None) => Err(no_such_person(&a.page)),
        Err(e) => Err(server_error(&e)),
    }
}

async fn timeline(
    State(state): State<WebState>,
    a: Auditor<PersonAuditors>,
    Path(id): Path<PersonId>,
) -> Response {
    let path = format!("/audit/person/{id}");
    let (c, scope) = (&a.viewer, a.scope);
    let gw = &state.gateway;
    let person = match person_in_scope(&state, &a, id, &path).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (mut events, org) = match gw.audit_timeline(&person, scope_org(scope)).await {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    events.reverse();
    let mut event = context(c, EventKind::AuditSearched, scope);
    event.person_id = Some(person.id);
    event.username = Some(person.username.clone());
    event.org_id = Some(person.org_id);
    if let Err(e) = gw
        .audit_viewed(
            EventKind::AuditSearched,
            &event,
            serde_json::json!({
                "timeline": person.id,
                "results": events.len(),
                "scope": Gateway::audit_scope(scope_org(scope)),
            }),
        )
        .await
    {
        return server_error(&e);
    }
    let org = org.map(|o| o.name).unwrap_or_default();
    let nav = pages::nav(&a.page, c.csrf(), &path);
    show(
        &state,
        pages::timeline(&a.page, nav, &person, &org, &events, scope != Scope::All),
    )
}

/// The subject access document for person `id`, audited, and the page's language and
/// zone; Err: the answer instead (no such person, not allowed).
async fn subject(
    state: &WebState,
    a: Auditor<PersonAuditors>,
    id: PersonId,
) -> Result<(crate::service::SubjectAccess, Ctx), Response> {
    let path = format!("/audit/subject/{id}");
    let person = person_in_scope(state, &a, id, &path).await?;
    let context = context(&a.viewer, EventKind::SubjectAccessExported, a.scope);
    let doc = state
        .gateway
        .subject_access_in(&person, scope_org(a.scope), &context, a.viewer.now)
        .await
        .map_err(|e| server_error(&e))?;
    Ok((doc, a.page))
}

async fn subject_page(
    State(state): State<WebState>,
    a: Auditor<PersonAuditors>,
    Path(id): Path<PersonId>,
) -> Response {
    match subject(&state, a, id).await {
        Ok((doc, page)) => show(&state, pages::subject_page(&page, &doc)),
        Err(r) => r,
    }
}

async fn subject_json(
    State(state): State<WebState>,
    a: Auditor<PersonAuditors>,
    Path(id): Path<PersonId>,
) -> Response {
    match subject(&state, a, id).await {
        Ok((doc, _)) => {
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
