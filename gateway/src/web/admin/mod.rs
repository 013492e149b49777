//! The administration pages under /admin for org admins (their own organisation) and the
//! operator (every organisation), signed in through the portal's login. Every page checks
//! the role and the organisation of what it shows (`service::lifecycle`): another
//! organisation's person or request is a 404 like an id that does not exist, and audited;
//! a signed-in person without either role gets 403 (audited). Every action is a POST with the
//! session's CSRF token.

pub mod import;
pub mod pages;
#[cfg(test)]
mod router_tests;
pub mod templates;
pub mod tools;
#[cfg(test)]
mod tools_tests;

use crate::model::{
    LifecycleRequest, OrgId, PersonId, RequestData, RequestId, RequestKind, RequestStatus,
    TokenFate,
};
use crate::service::{Actor, ServiceError};
use crate::web::WebState;
use crate::web::admin::pages::{
    self as ap, OperatorPart, PersonField, PersonParts, RequestFields, Viewer,
};
use crate::web::admin::tools::{Tools, refusal};
use crate::web::extract::{
    Action, Administrators, Caller, Guard, RequireRole, csrf_form, page_extractor,
};
use crate::web::portal::show;
use crate::web::templates::{Ctx, MessagePage, message_response, render};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/requests", get(queue))
        .route("/admin/stock", get(stock))
        .route("/admin/orgs/{id}", get(org_page))
        .route(
            "/admin/orgs/{id}/requests/new/{kind}",
            get(new_request_form),
        )
        .route("/admin/orgs/{id}/requests", post(submit))
        .route("/admin/orgs/{id}/api-tokens", post(new_api_token))
        .route("/admin/orgs/{id}/switch-over", post(switch_over))
        .route("/admin/api-tokens/{id}/revoke", post(revoke_api_token))
        .route("/admin/people/{id}", get(person_page))
        .route("/admin/people/{id}/temp-code", post(temp_code))
        .route("/admin/people/{id}/token", post(assign_token))
        .route("/admin/people/{id}/activation", post(new_activation))
        .route("/admin/people/{id}/unlock", post(unlock))
        .route("/admin/people/{id}/block", post(block))
        .route("/admin/people/{id}/unblock", post(unblock))
        .route(
            "/admin/people/{id}/devices/{device}/resync",
            post(crate::web::admin::tools::resync),
        )
        .route("/admin/requests/{id}", get(request_page))
        .route("/admin/requests/{id}/take", post(take))
        .route("/admin/requests/{id}/done", post(done))
        .route("/admin/requests/{id}/reject", post(reject))
        .route("/admin/requests/{id}/reservation", post(reservation))
}

/// Every admin form's fields (each action uses some).
#[derive(Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    employee_number: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    replace_token: String,
    #[serde(default)]
    old_token_lost: String,
    #[serde(default)]
    new_serial: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    cancel: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    serial: String,
}

csrf_form!(AdminForm);

impl std::fmt::Debug for AdminForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminForm")
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

impl AdminForm {
    fn fields(&self) -> RequestFields {
        RequestFields {
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            employee_number: self.employee_number.clone(),
            username: self.username.clone(),
            start_date: self.start_date.clone(),
            phone: !self.phone.is_empty(),
            token: !self.token.is_empty(),
            person: self.person.clone(),
            replace_token: !self.replace_token.is_empty(),
            old_token_lost: !self.old_token_lost.is_empty(),
            new_serial: self.new_serial.clone(),
            end_date: self.end_date.clone(),
            count: self.count.clone(),
            address: self.address.clone(),
            contact: self.contact.clone(),
        }
    }
}

/// A signed-in admin request: the session, the actor and the page's language (the signed-in
/// person's).
pub(super) struct Admin {
    pub(super) c: crate::web::portal::SignedIn,
    pub(super) actor: Actor,
    pub(super) ctx: Ctx,
}

impl Admin {
    /// Who is looking, for the pages.
    pub(super) fn viewer(&self) -> Viewer<'_> {
        Viewer {
            ctx: &self.ctx,
            csrf: self.c.csrf(),
            operator: self.actor.is_operator(),
        }
    }

    /// 404: nothing here, or not theirs to see (the same page).
    pub(super) fn not_found(&self) -> Response {
        not_found_in(&self.ctx)
    }

    /// 400: a form not sent from this administration's pages (a wrong CSRF token).
    pub(super) fn bad_form(&self) -> Response {
        message_response(
            StatusCode::BAD_REQUEST,
            &self.ctx,
            "portal-refused-title",
            "portal-bad-form",
        )
    }

    /// 403: a page or action only the operator may use.
    pub(super) fn forbidden(&self) -> Response {
        forbidden_in(&self.ctx)
    }

    /// A service error as a page in the person's language: not found 404, a refusal (the
    /// service's, or the store's it passed on) 400 (refusals the person can act on are
    /// shown on their form by the caller), anything else 500.
    pub(super) fn failure(&self, e: &ServiceError) -> Response {
        failure_in(&self.ctx, e)
    }
}

fn not_found_in(ctx: &Ctx) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        ctx,
        "admin-not-found-title",
        "admin-not-found-text",
    )
}

fn forbidden_in(ctx: &Ctx) -> Response {
    message_response(
        StatusCode::FORBIDDEN,
        ctx,
        "admin-forbidden-title",
        "admin-forbidden-text",
    )
}

/// 400 with the refusal in words.
fn refused_in(ctx: &Ctx, text: &crate::service::Refusal) -> Response {
    (
        StatusCode::BAD_REQUEST,
        render(&MessagePage {
            ctx,
            title: ctx.t("admin-refused-title"),
            paragraphs: vec![refusal(ctx, text)],
            link: None,
        }),
    )
        .into_response()
}

fn failure_in(ctx: &Ctx, e: &ServiceError) -> Response {
    // A store's refusal the service passed on as it came (a request changed meanwhile, or
    // no longer at the status the action starts from): said like the service's own.
    let store_refusal = match e {
        ServiceError::Store(crate::store::StoreError::Invalid(why)) => {
            crate::service::Refusal::of_store(why)
        }
        _ => None,
    };
    match (e, store_refusal) {
        (e, _) if e.is_not_found() => not_found_in(ctx),
        (ServiceError::Refused(text), _) => refused_in(ctx, text),
        (_, Some(text)) => refused_in(ctx, &text),
        (e, None) => {
            tracing::error!(error = %e, "an administration page failed");
            message_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ctx,
                "admin-error-title",
                "admin-error-text",
            )
        }
    }
}

/// The signed-in person with the org_admin or operator role; otherwise the sign-in page (no
/// session), 400 (action without a valid CSRF token) or 403 (no such role; audited by
/// `RequireRole`).
impl Guard for Admin {
    async fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> Result<Self, Response> {
        let RequireRole {
            me: c, page: ctx, ..
        } = RequireRole::<Administrators>::check(state, caller, csrf).await?;
        let actor = Actor::admin(
            &c.person,
            c.actor.source(),
            c.actor.request_id().map(str::to_owned),
        )
        .ok_or_else(|| forbidden_in(&ctx))?;
        Ok(Admin { c, actor, ctx })
    }
}

page_extractor!(Admin);

macro_rules! try_page {
    ($a:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $a.failure(&e),
        }
    };
}

async fn org_names(state: &WebState, a: &Admin) -> Result<HashMap<i64, String>, ServiceError> {
    Ok(state
        .gateway
        .admin_orgs(&a.actor)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

/// Names of the people requests refer to (only those the actor may see).
async fn person_names(
    state: &WebState,
    a: &Admin,
    requests: &[LifecycleRequest],
) -> HashMap<i64, String> {
    let mut out = HashMap::new();
    for r in requests {
        for id in r.data.person_id().into_iter().chain(r.person_id) {
            if out.contains_key(&id) {
                continue;
            }
            if let Ok(Some(p)) = state.gateway.person_if_any(id).await
                && a.actor.may(p.org_id)
            {
                out.insert(id, format!("{} ({})", p.full_name, p.username));
            }
        }
    }
    out
}

async fn home(State(state): State<WebState>, a: Admin) -> Response {
    if let crate::service::Scope::Org(org) = a.actor.scope() {
        return (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, format!("/admin/orgs/{org}"))],
        )
            .into_response();
    }
    let t = a.c.now;
    let orgs = try_page!(a, state.gateway.admin_orgs(&a.actor).await);
    let open = try_page!(a, state.gateway.requests_for(&a.actor, None, true, t).await);
    let org_names = orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let names = person_names(&state, &a, &open).await;
    let rows = ap::request_rows(&a.ctx, &open, &org_names, &names);
    show(&state, ap::operator_home(a.viewer(), &orgs, rows))
}

async fn queue(State(state): State<WebState>, a: Admin) -> Response {
    let t = a.c.now;
    let all = try_page!(
        a,
        state.gateway.requests_for(&a.actor, None, false, t).await
    );
    let orgs = try_page!(a, org_names(&state, &a).await);
    let names = person_names(&state, &a, &all).await;
    let (open, closed): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.status.is_open());
    show(
        &state,
        ap::queue(
            a.viewer(),
            ap::request_rows(&a.ctx, &open, &orgs, &names),
            ap::request_rows(&a.ctx, &closed, &orgs, &names),
        ),
    )
}

async fn stock(State(state): State<WebState>, a: Admin) -> Response {
    let t = a.c.now;
    let counts = match state.gateway.stock(&a.actor, t).await {
        Ok(c) => c,
        Err(ServiceError::Refused(_)) => return a.forbidden(),
        Err(e) => return a.failure(&e),
    };
    let orgs = try_page!(a, org_names(&state, &a).await);
    let mut switch = HashMap::new();
    for id in orgs.keys() {
        if let Some(at) = try_page!(a, state.gateway.switch_over(*id).await) {
            switch.insert(*id, at);
        }
    }
    show(&state, ap::stock(a.viewer(), &counts, &orgs, &switch))
}

/// An organisation's page, with what only the operator sees.
async fn render_org(
    state: &WebState,
    a: &Admin,
    id: OrgId,
    new_token: Option<&str>,
    error: Option<String>,
    date_typed: Option<&str>,
) -> Response {
    let t = a.c.now;
    let refused = error.is_some();
    let org = try_page!(a, state.gateway.admin_org(&a.actor, id, t).await);
    let people = try_page!(a, state.gateway.admin_people(&a.actor, org.id, t).await);
    let requests = try_page!(
        a,
        state
            .gateway
            .requests_for(&a.actor, Some(org.id), false, t)
            .await
    );
    let orgs = HashMap::from([(org.id, org.name.clone())]);
    let names = person_names(state, a, &requests).await;
    let rows = ap::request_rows(&a.ctx, &requests, &orgs, &names);
    let tokens;
    let operator = if a.actor.is_operator() {
        tokens = try_page!(a, state.gateway.api_tokens(&a.actor, t).await)
            .into_iter()
            .filter(|k| k.org_id == org.id)
            .collect::<Vec<_>>();
        Some(OperatorPart {
            tokens: &tokens,
            switch_over: try_page!(a, state.gateway.switch_over(org.id).await),
            new_token,
            error,
            date_typed,
        })
    } else {
        None
    };
    let policy = try_page!(a, state.gateway.org_policy(org.id).await).describe();
    let mut res = show(
        state,
        ap::org_page(
            a.viewer(),
            &org,
            &people,
            rows,
            operator,
            &state.gateway.clients_serving(&org.name),
            &policy,
        ),
    );
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

async fn org_page(State(state): State<WebState>, a: Admin, Path(id): Path<OrgId>) -> Response {
    render_org(&state, &a, id, None, None, None).await
}

#[derive(Deserialize)]
struct PersonQuery {
    #[serde(default)]
    person: String,
}

async fn render_form(
    state: &WebState,
    a: &Admin,
    org: OrgId,
    kind: RequestKind,
    fields: &RequestFields,
    error: Option<String>,
) -> Response {
    let t = a.c.now;
    let org = try_page!(a, state.gateway.admin_org(&a.actor, org, t).await);
    let people = try_page!(a, state.gateway.admin_people(&a.actor, org.id, t).await);
    let refused = error.is_some();
    let html = ap::request_form(a.viewer(), &org, kind, &people, fields, error);
    let mut res = show(state, html);
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

async fn new_request_form(
    State(state): State<WebState>,
    a: Admin,
    Path((id, kind)): Path<(OrgId, String)>,
    Query(q): Query<PersonQuery>,
) -> Response {
    let Some(kind) = RequestKind::parse(&kind) else {
        return a.not_found();
    };
    let fields = RequestFields {
        person: q.person,
        phone: true,
        ..RequestFields::default()
    };
    render_form(&state, &a, id, kind, &fields, None).await
}

/// A request's data from the form, or the catalogue key of why not.
fn form_data(kind: RequestKind, f: &AdminForm) -> Result<RequestData, &'static str> {
    let person = || {
        f.person
            .trim()
            .parse::<PersonId>()
            .map_err(|_| "admin-error-choose-person")
    };
    let count = || {
        f.count
            .trim()
            .parse::<u32>()
            .map_err(|_| "admin-error-count")
    };
    let fate = if f.old_token_lost.is_empty() {
        TokenFate::Return
    } else {
        TokenFate::Lost
    };
    Ok(match kind {
        RequestKind::NewEmployee => RequestData::NewEmployee {
            full_name: f.full_name.clone(),
            email: f.email.clone(),
            employee_number: f.employee_number.clone(),
            username: f.username.clone(),
            start_date: f.start_date.clone(),
            phone: !f.phone.is_empty(),
            token: !f.token.is_empty(),
        },
        RequestKind::ChangeAccount => RequestData::ChangeAccount {
            person_id: person()?,
            full_name: f.full_name.clone(),
            email: f.email.clone(),
            replace_token: !f.replace_token.is_empty(),
            old_token: fate,
            new_serial: f.new_serial.clone(),
        },
        RequestKind::RemoveAccount => RequestData::RemoveAccount {
            person_id: person()?,
            end_date: f.end_date.clone(),
            tokens: fate,
        },
        RequestKind::OrderTokens => RequestData::OrderTokens {
            count: count()?,
            address: f.address.clone(),
            contact: f.contact.clone(),
        },
        RequestKind::ReserveTokens => RequestData::ReserveTokens { count: count()? },
    })
}

fn to_request(id: RequestId) -> Response {
    crate::web::portal::see_other(format!("/admin/requests/{id}"))
}

async fn submit(
    State(state): State<WebState>,
    Path(org): Path<OrgId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    let Some(kind) = RequestKind::parse(&form.kind) else {
        return message_response(
            StatusCode::BAD_REQUEST,
            &a.ctx,
            "admin-refused-title",
            "admin-error-request-type",
        );
    };
    let data = match form_data(kind, &form) {
        Ok(d) => d,
        Err(key) => {
            let error = a.ctx.t(key);
            return render_form(&state, &a, org, kind, &form.fields(), Some(error)).await;
        }
    };
    match state
        .gateway
        .submit_request(&a.actor, org, data, a.c.now)
        .await
    {
        Ok(r) => to_request(r.id),
        Err(ServiceError::Refused(text)) => {
            let error = refusal(&a.ctx, &text);
            render_form(&state, &a, org, kind, &form.fields(), Some(error)).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn render_request(
    state: &WebState,
    a: &Admin,
    id: RequestId,
    link: Option<&str>,
    error: Option<String>,
    count_typed: Option<&str>,
) -> Response {
    let t = a.c.now;
    let (r, history) = try_page!(a, state.gateway.request_for(&a.actor, id, t).await);
    let org = try_page!(a, state.gateway.admin_org(&a.actor, r.org_id, t).await);
    let names = person_names(state, a, std::slice::from_ref(&r)).await;
    let switch = try_page!(a, state.gateway.switch_over(r.org_id).await);
    let can_change = r.data.kind() == RequestKind::ReserveTokens
        && matches!(
            r.status,
            RequestStatus::Submitted | RequestStatus::InProgress | RequestStatus::Done
        )
        && switch.is_none_or(|s| t < s);
    let refused = error.is_some();
    let html = ap::request_page(
        a.viewer(),
        &r,
        &org,
        &history,
        &names,
        can_change,
        link,
        error,
        count_typed,
    );
    let mut res = show(state, html);
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

async fn request_page(
    State(state): State<WebState>,
    a: Admin,
    Path(id): Path<RequestId>,
) -> Response {
    render_request(&state, &a, id, None, None, None).await
}

/// After an action on request `id`: back to it, or the refusal on it.
async fn after(
    state: &WebState,
    a: &Admin,
    id: RequestId,
    result: Result<(), ServiceError>,
) -> Response {
    match result {
        Ok(()) => to_request(id),
        Err(ServiceError::Refused(text)) => {
            render_request(state, a, id, None, Some(refusal(&a.ctx, &text)), None).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn take(
    State(state): State<WebState>,
    Path(id): Path<RequestId>,
    Action { me: a, .. }: Action<AdminForm, Admin>,
) -> Response {
    let r = state.gateway.take_request(&a.actor, id, a.c.now).await;
    after(&state, &a, id, r.map(|_| ())).await
}

async fn reject(
    State(state): State<WebState>,
    Path(id): Path<RequestId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    let r = state
        .gateway
        .reject_request(&a.actor, id, &form.reason, a.c.now)
        .await;
    after(&state, &a, id, r.map(|_| ())).await
}

async fn done(
    State(state): State<WebState>,
    Path(id): Path<RequestId>,
    Action { me: a, .. }: Action<AdminForm, Admin>,
) -> Response {
    let base = state.provider.settings().issuer.clone();
    match state
        .gateway
        .complete_request(&a.actor, id, &base, a.c.now)
        .await
    {
        Ok(c) => match c.activation_link {
            Some(link) => render_request(&state, &a, id, Some(link.expose()), None, None).await,
            None => to_request(id),
        },
        Err(e) => after(&state, &a, id, Err(e)).await,
    }
}

async fn reservation(
    State(state): State<WebState>,
    Path(id): Path<RequestId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    let count = if form.cancel.is_empty() {
        match form.count.trim().parse::<u32>() {
            Ok(c) => Some(c),
            Err(_) => {
                let error = a.ctx.t("admin-error-count");
                return render_request(&state, &a, id, None, Some(error), Some(&form.count)).await;
            }
        }
    } else {
        None
    };
    match state
        .gateway
        .change_reservation(&a.actor, id, count, a.c.now)
        .await
    {
        Ok(_) => to_request(id),
        Err(ServiceError::Refused(text)) => {
            let error = Some(refusal(&a.ctx, &text));
            render_request(&state, &a, id, None, error, Some(&form.count)).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn render_person(
    state: &WebState,
    a: &Admin,
    id: PersonId,
    shown: Option<(String, String)>,
    error: Option<(String, PersonField)>,
) -> Response {
    render_person_with(state, a, id, shown, error, &Tools::default()).await
}

/// The person's page with their devices, recent logins and lockout state (the reading
/// audited); 422 when it shows a refusal (`error`, or a refused resync in `tools`).
pub(super) async fn render_person_with(
    state: &WebState,
    a: &Admin,
    id: PersonId,
    shown: Option<(String, String)>,
    error: Option<(String, PersonField)>,
    tools: &Tools<'_>,
) -> Response {
    let t = a.c.now;
    let (person, devices) = try_page!(a, state.gateway.admin_person(&a.actor, id, t).await);
    let org = try_page!(a, state.gateway.admin_org(&a.actor, person.org_id, t).await);
    let activity = try_page!(
        a,
        state.gateway.admin_person_activity(&a.actor, id, t).await
    );
    // Signed-in browsers (single sign-on sessions), before the sign-ins; remembered
    // browsers after them.
    let sso = try_page!(a, state.gateway.admin_sso_sessions(&a.actor, id, t).await);
    let remembered = try_page!(
        a,
        crate::web::login::remember::admin_section(state, &a.actor, id, a.c.csrf(), t).await
    );
    let refused = error.is_some() || tools.refused.is_some();
    let html = ap::person_page(
        a.viewer(),
        &org,
        &person,
        PersonParts {
            devices: &devices,
            activity: crate::web::admin::tools::activity(&a.ctx, &activity, t),
            tools,
            sso: crate::web::portal::sso_sessions::admin_section(a.c.csrf(), id, &sso),
            remembered,
            shown,
            error,
        },
    );
    let mut res = show(state, html);
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

#[derive(Deserialize)]
struct PersonPageQuery {
    /// The device just resynchronised (a notice on its form).
    #[serde(default)]
    resynced: Option<String>,
}

async fn person_page(
    State(state): State<WebState>,
    a: Admin,
    Path(id): Path<PersonId>,
    Query(q): Query<PersonPageQuery>,
) -> Response {
    let tools = Tools {
        refused: None,
        resynced: q.resynced.and_then(|d| d.trim().parse().ok()),
    };
    render_person_with(&state, &a, id, None, None, &tools).await
}

async fn temp_code(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    let Ok(minutes) = form.minutes.trim().parse::<u32>() else {
        let error = (
            a.ctx.t("admin-error-minutes"),
            PersonField::Minutes(form.minutes.clone()),
        );
        return render_person(&state, &a, id, None, Some(error)).await;
    };
    match state
        .gateway
        .admin_temporary_code(&a.actor, id, minutes, a.c.now)
        .await
    {
        Ok((code, expires)) => {
            let what = a.ctx.ta(
                "admin-temp-code-shown",
                &[("until", a.ctx.when(&expires).into())],
            );
            let shown = (what, code.expose().to_owned());
            render_person(&state, &a, id, Some(shown), None).await
        }
        Err(ServiceError::Refused(text)) => {
            let error = (
                refusal(&a.ctx, &text),
                PersonField::Minutes(form.minutes.clone()),
            );
            render_person(&state, &a, id, None, Some(error)).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn unlock(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, .. }: Action<AdminForm, Admin>,
) -> Response {
    match state.gateway.admin_unlock(&a.actor, id, a.c.now).await {
        Ok(()) => to_person(id),
        Err(e) => a.failure(&e),
    }
}

async fn block(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    me: Action<AdminForm, Admin>,
) -> Response {
    set_block(state, id, me.me, true).await
}

async fn unblock(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    me: Action<AdminForm, Admin>,
) -> Response {
    set_block(state, id, me.me, false).await
}

/// Block now (or lift it): the store first, then this instance's web sessions of the person
/// end (every request also checks the block, so other instances' sessions end on their next
/// request).
async fn set_block(state: WebState, id: PersonId, a: Admin, on: bool) -> Response {
    match state.gateway.admin_block(&a.actor, id, on, a.c.now).await {
        Ok(person) => {
            if on {
                state.sessions.end_person(person.id, &person.username).await;
            }
            to_person(id)
        }
        Err(e) => a.failure(&e),
    }
}

fn to_person(id: PersonId) -> Response {
    crate::web::portal::see_other(format!("/admin/people/{id}"))
}

async fn assign_token(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    match state
        .gateway
        .admin_assign_token(&a.actor, id, &form.serial, a.c.now)
        .await
    {
        Ok(_) => to_person(id),
        Err(ServiceError::Refused(text)) => {
            let error = (
                refusal(&a.ctx, &text),
                PersonField::Serial(form.serial.clone()),
            );
            render_person(&state, &a, id, None, Some(error)).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn new_activation(
    State(state): State<WebState>,
    Path(id): Path<PersonId>,
    Action { me: a, .. }: Action<AdminForm, Admin>,
) -> Response {
    let base = state.provider.settings().issuer.clone();
    match state
        .gateway
        .reissue_activation(&a.actor, id, &base, a.c.now)
        .await
    {
        // Only the operator sees the link (a fallback to the e-mail); an org admin could
        // otherwise activate the account in the person's stead.
        Ok(link) if a.actor.is_operator() => {
            let shown = (
                a.ctx.t("admin-activation-link-shown"),
                link.expose().to_owned(),
            );
            render_person(&state, &a, id, Some(shown), None).await
        }
        Ok(_) => {
            let email = match state.gateway.person_if_any(id).await {
                Ok(Some(p)) => p.email.unwrap_or_default(),
                Ok(None) => String::new(),
                Err(e) => return a.failure(&e),
            };
            let shown = (a.ctx.t("admin-activation-sent-to"), email);
            render_person(&state, &a, id, Some(shown), None).await
        }
        Err(ServiceError::Refused(text)) => {
            let error = (refusal(&a.ctx, &text), PersonField::None);
            render_person(&state, &a, id, None, Some(error)).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn new_api_token(
    State(state): State<WebState>,
    Path(org): Path<OrgId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    match state
        .gateway
        .issue_api_token(&a.actor, org, &form.label, a.c.now)
        .await
    {
        Ok((_, secret)) => render_org(&state, &a, org, Some(secret.expose()), None, None).await,
        Err(ServiceError::Refused(_)) if !a.actor.is_operator() => a.forbidden(),
        Err(ServiceError::Refused(text)) => {
            let error = refusal(&a.ctx, &text);
            render_org(&state, &a, org, None, Some(error), None).await
        }
        Err(e) => a.failure(&e),
    }
}

async fn revoke_api_token(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Action { me: a, .. }: Action<AdminForm, Admin>,
) -> Response {
    if !a.actor.is_operator() {
        state
            .gateway
            .audit_denied(&a.actor, "revoke API token", a.c.now)
            .await;
        return a.forbidden();
    }
    let org = match state.gateway.api_token_by_id(id).await {
        Ok(Some(t)) => t.org_id,
        Ok(None) => return a.not_found(),
        Err(e) => return a.failure(&e),
    };
    match state.gateway.revoke_api_token(&a.actor, id, a.c.now).await {
        Ok(()) => see_other_org(org),
        Err(e) => a.failure(&e),
    }
}

fn see_other_org(org: OrgId) -> Response {
    crate::web::portal::see_other(format!("/admin/orgs/{org}"))
}

async fn switch_over(
    State(state): State<WebState>,
    Path(org): Path<OrgId>,
    Action { me: a, form }: Action<AdminForm, Admin>,
) -> Response {
    match state
        .gateway
        .set_switch_over(&a.actor, org, &form.date, a.c.now)
        .await
    {
        Ok(()) => see_other_org(org),
        Err(ServiceError::Refused(_)) if !a.actor.is_operator() => a.forbidden(),
        Err(ServiceError::Refused(text)) => {
            let error = refusal(&a.ctx, &text);
            render_org(&state, &a, org, None, Some(error), Some(&form.date)).await
        }
        Err(e) => a.failure(&e),
    }
}
