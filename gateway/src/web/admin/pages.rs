//! The administration pages (org admins and the operator): organisations, people, requests,
//! token stock. Filled from the model into the templates of `admin/templates.rs`, every text
//! in the signed-in person's language; no scripts, every action a POST form carrying the
//! session's CSRF token; forms keep what was typed on an error.

use crate::i18n::Arg;
use crate::model::{
    ApiToken, Device, LifecycleRequest, Organisation, Person, PersonState, RequestData,
    RequestKind, RequestStatus, RequestStep, StockCount, TokenFate, UnixTime,
};
use crate::service::lifecycle::{format_date, kind_key, status_key};
use crate::web::admin::templates::{
    self as at, ClientRow, Field, HomePage, OperatorView, OrgPage, PersonPage, PersonRow,
    QueuePage, RequestFormPage, RequestPage, RequestRow, StepRow, StockPage, StockRow,
};
use crate::web::templates::{Ctx, Nav, render};
use axum::response::Html;
use std::collections::HashMap;

/// Who is looking: the page's language and zone, the session's CSRF token, and whether they
/// are the operator (who sees every organisation and the operator's tools).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub ctx: &'a Ctx,
    pub csrf: &'a str,
    pub operator: bool,
}

impl Viewer<'_> {
    /// The navigation, `here` marked as the current page.
    pub fn nav(&self, org: Option<&Organisation>, here: &str) -> Nav {
        at::nav(self.ctx, self.csrf, self.operator, org, here)
    }
}

/// A request's kind in words.
pub fn kind_label(ctx: &Ctx, kind: RequestKind) -> String {
    ctx.t(kind_key(kind))
}

/// A request's status in words.
pub fn status_label(ctx: &Ctx, status: RequestStatus) -> String {
    ctx.t(status_key(status))
}

fn person_state(ctx: &Ctx, state: PersonState) -> String {
    ctx.t(match state {
        PersonState::Active => "admin-person-state-active",
        PersonState::Disabled => "admin-person-state-disabled",
        PersonState::Removed => "admin-person-state-removed",
    })
}

/// The name of the person `id` as the viewer may see it, else "person 12".
fn who(ctx: &Ctx, names: &HashMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| ctx.ta("admin-person-number", &[("id", Arg::Number(id))]))
}

fn count_arg(count: u32) -> Arg {
    Arg::Number(i64::from(count))
}

/// One line about what a request asks for.
pub fn summary(ctx: &Ctx, r: &LifecycleRequest, names: &HashMap<i64, String>) -> String {
    match &r.data {
        RequestData::NewEmployee {
            full_name,
            email,
            start_date,
            ..
        } => ctx.ta(
            "admin-summary-new-employee",
            &[
                ("name", full_name.as_str().into()),
                ("email", email.as_str().into()),
                ("start", start_date.as_str().into()),
            ],
        ),
        RequestData::ChangeAccount { person_id, .. } => ctx.ta(
            "admin-summary-change",
            &[("person", who(ctx, names, *person_id).into())],
        ),
        RequestData::RemoveAccount {
            person_id,
            end_date,
            ..
        } => ctx.ta(
            "admin-summary-remove",
            &[
                ("person", who(ctx, names, *person_id).into()),
                ("end", end_date.as_str().into()),
            ],
        ),
        RequestData::OrderTokens { count, .. } => {
            ctx.ta("admin-summary-order", &[("count", count_arg(*count))])
        }
        RequestData::ReserveTokens { count } => {
            ctx.ta("admin-summary-reserve", &[("count", count_arg(*count))])
        }
    }
}

/// The lines of a table of requests.
pub fn request_rows(
    ctx: &Ctx,
    requests: &[LifecycleRequest],
    orgs: &HashMap<i64, String>,
    names: &HashMap<i64, String>,
) -> Vec<RequestRow> {
    requests
        .iter()
        .map(|r| RequestRow {
            id: r.id,
            org: orgs.get(&r.org_id).cloned().unwrap_or_default(),
            kind: kind_label(ctx, r.data.kind()),
            what: summary(ctx, r, names),
            status: status_label(ctx, r.status),
            updated: r.updated_at,
        })
        .collect()
}

/// The start page for the operator: organisations and the open queue.
pub fn operator_home(v: Viewer<'_>, orgs: &[Organisation], open: Vec<RequestRow>) -> Html<String> {
    render(&HomePage {
        ctx: v.ctx,
        nav: v.nav(None, "/admin"),
        orgs,
        open,
    })
}

/// What only the operator sees on an organisation's page.
#[derive(Debug, Default)]
pub struct OperatorPart<'a> {
    pub tokens: &'a [ApiToken],
    pub switch_over: Option<UnixTime>,
    /// A token just made, shown once.
    pub new_token: Option<&'a str>,
    pub error: Option<String>,
    /// A refused switch-over date as typed (shown again instead of the stored one).
    pub date_typed: Option<&'a str>,
}

/// An organisation: its people, its requests, new requests; for the operator API tokens and
/// the switch-over date.
pub fn org_page(
    v: Viewer<'_>,
    org: &Organisation,
    people: &[Person],
    requests: Vec<RequestRow>,
    operator: Option<OperatorPart<'_>>,
    clients: &[(&str, String, bool)],
    policy: &[String],
) -> Html<String> {
    let ctx = v.ctx;
    let here = format!("/admin/orgs/{}", org.id);
    let clients = clients
        .iter()
        .map(|(channel, name, bound)| ClientRow {
            kind: if *channel == "radius" {
                "RADIUS".to_owned()
            } else {
                "OpenID Connect".to_owned()
            },
            name: name.clone(),
            serves: ctx.t(if *bound {
                "admin-org-clients-serves-bound"
            } else {
                "admin-org-clients-serves-all"
            }),
        })
        .collect();
    let people = people
        .iter()
        .map(|p| PersonRow {
            id: p.id,
            name: p.full_name.clone(),
            username: p.username.clone(),
            email: p.email.clone().unwrap_or_default(),
            number: p.employee_number.clone().unwrap_or_default(),
            state: person_state(ctx, p.state),
        })
        .collect();
    let kinds = RequestKind::ALL
        .iter()
        .map(|k| (k.as_str(), kind_label(ctx, *k)))
        .collect();
    render(&OrgPage {
        ctx,
        nav: v.nav(Some(org), &here),
        csrf: v.csrf,
        org,
        people,
        policy,
        clients,
        kinds,
        requests,
        operator: operator.map(|o| OperatorView {
            tokens: o.tokens,
            switch_over: o.date_typed.map_or_else(
                || o.switch_over.map(format_date).unwrap_or_default(),
                str::to_owned,
            ),
            new_token: o.new_token,
            error: o.error,
        }),
    })
}

/// A refusal on the person's page, and the field it is about with what was typed in it
/// (shown again as typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonField {
    /// The hardware token's serial number.
    Serial(String),
    /// The temporary code's minutes.
    Minutes(String),
    /// No one field (the page as a whole).
    None,
}

impl PersonField {
    fn id(&self) -> &'static str {
        match self {
            Self::Serial(_) => "serial",
            Self::Minutes(_) => "minutes",
            Self::None => "",
        }
    }

    fn typed(&self) -> &str {
        match self {
            Self::Serial(t) | Self::Minutes(t) => t,
            Self::None => "",
        }
    }
}

/// What the person's page shows besides the person: their devices (with the tools'
/// state), activity, the browser sections, something shown once, a refusal.
#[derive(Debug)]
pub struct PersonParts<'a> {
    pub devices: &'a [Device],
    pub activity: at::ActivityView,
    pub tools: &'a crate::web::admin::tools::Tools<'a>,
    pub sso: crate::web::portal::sso_sessions::SsoSection<'a>,
    pub remembered: crate::web::login::remember::RememberedSection<'a>,
    pub shown: Option<(String, String)>,
    pub error: Option<(String, PersonField)>,
}

/// A person: state and devices (no secrets), the admin tools, their sign-ins.
pub fn person_page(
    v: Viewer<'_>,
    org: &Organisation,
    p: &Person,
    parts: PersonParts<'_>,
) -> Html<String> {
    let ctx = v.ctx;
    let access = match (p.blocked_at, p.locked_until) {
        (Some(t), _) => ctx.ta(
            "admin-person-access-blocked",
            &[("since", ctx.when(&t).into())],
        ),
        (None, Some(t)) => ctx.ta(
            "admin-person-access-locked",
            &[
                ("until", ctx.when(&t).into()),
                ("failures", Arg::Number(i64::from(p.failed_logins))),
            ],
        ),
        (None, None) => ctx.ta(
            "admin-person-access-open",
            &[("failures", Arg::Number(i64::from(p.failed_logins)))],
        ),
    };
    let number = ctx.ta(
        "admin-person-employee-number",
        &[(
            "number",
            p.employee_number
                .clone()
                .unwrap_or_else(|| "-".into())
                .into(),
        )],
    );
    render(&PersonPage {
        ctx,
        nav: v.nav(Some(org), ""),
        csrf: v.csrf,
        p,
        email: p
            .email
            .clone()
            .unwrap_or_else(|| ctx.t("admin-person-no-email")),
        number,
        state: person_state(ctx, p.state),
        access,
        typed: parts
            .error
            .as_ref()
            .map(|(_, on)| on.typed().to_owned())
            .unwrap_or_default(),
        error: parts.error.map(|(text, on)| (text, on.id())),
        shown: parts.shown,
        devices: crate::web::admin::tools::device_rows(ctx, parts.devices, parts.tools),
        activity: parts.activity,
        sso: parts.sso,
        remembered: parts.remembered,
        operator: v.operator,
    })
}

/// What a request form was filled with (kept on an error).
#[derive(Debug, Default, Clone)]
pub struct RequestFields {
    pub full_name: String,
    pub email: String,
    pub employee_number: String,
    pub username: String,
    pub start_date: String,
    pub phone: bool,
    pub token: bool,
    pub person: String,
    pub replace_token: bool,
    pub old_token_lost: bool,
    pub new_serial: String,
    pub end_date: String,
    pub count: String,
    pub address: String,
    pub contact: String,
}

fn text(
    ctx: &Ctx,
    id: &'static str,
    label_key: &str,
    value: &str,
    hint_key: Option<&str>,
) -> Field {
    Field {
        kind: "text",
        id,
        label: ctx.t(label_key),
        value: value.to_owned(),
        hint: hint_key.map(|k| ctx.t(k)),
        ..Field::default()
    }
}

fn checkbox(ctx: &Ctx, id: &'static str, label_key: &str, checked: bool) -> Field {
    Field {
        kind: "checkbox",
        id,
        label: ctx.t(label_key),
        checked,
        ..Field::default()
    }
}

fn person_select(ctx: &Ctx, people: &[Person], selected: &str) -> Field {
    Field {
        kind: "person",
        id: "person",
        label: ctx.t("admin-field-person"),
        value: selected.to_owned(),
        options: people
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    format!("{} ({})", p.full_name, p.username),
                )
            })
            .collect(),
        ..Field::default()
    }
}

/// The form for a new request of `kind`.
pub fn request_form(
    v: Viewer<'_>,
    org: &Organisation,
    kind: RequestKind,
    people: &[Person],
    f: &RequestFields,
    error: Option<String>,
) -> Html<String> {
    let ctx = v.ctx;
    let mut hint = None;
    let fields = match kind {
        RequestKind::NewEmployee => {
            let mut phone = checkbox(ctx, "phone", "admin-field-phone", f.phone);
            phone.heading = Some(ctx.t("admin-field-factors"));
            vec![
                text(ctx, "full_name", "admin-field-name", &f.full_name, None),
                text(
                    ctx,
                    "email",
                    "admin-field-email",
                    &f.email,
                    Some("admin-field-email-hint"),
                ),
                text(
                    ctx,
                    "employee_number",
                    "admin-field-employee-number",
                    &f.employee_number,
                    None,
                ),
                text(
                    ctx,
                    "username",
                    "admin-field-username",
                    &f.username,
                    Some("admin-field-username-hint"),
                ),
                text(
                    ctx,
                    "start_date",
                    "admin-field-start-date",
                    &f.start_date,
                    Some("admin-field-date-hint"),
                ),
                phone,
                checkbox(ctx, "token", "admin-field-token", f.token),
            ]
        }
        RequestKind::ChangeAccount => vec![
            person_select(ctx, people, &f.person),
            text(
                ctx,
                "full_name",
                "admin-field-new-name",
                &f.full_name,
                Some("admin-field-unchanged-hint"),
            ),
            text(
                ctx,
                "email",
                "admin-field-new-email",
                &f.email,
                Some("admin-field-unchanged-hint"),
            ),
            checkbox(
                ctx,
                "replace_token",
                "admin-field-replace-token",
                f.replace_token,
            ),
            checkbox(
                ctx,
                "old_token_lost",
                "admin-field-old-token-lost",
                f.old_token_lost,
            ),
            text(
                ctx,
                "new_serial",
                "admin-field-new-serial",
                &f.new_serial,
                Some("admin-field-new-serial-hint"),
            ),
        ],
        RequestKind::RemoveAccount => vec![
            person_select(ctx, people, &f.person),
            text(
                ctx,
                "end_date",
                "admin-field-end-date",
                &f.end_date,
                Some("admin-field-end-date-hint"),
            ),
            checkbox(
                ctx,
                "old_token_lost",
                "admin-field-tokens-lost",
                f.old_token_lost,
            ),
        ],
        RequestKind::OrderTokens => vec![
            text(ctx, "count", "admin-field-count", &f.count, None),
            text(ctx, "address", "admin-field-address", &f.address, None),
            text(ctx, "contact", "admin-field-contact", &f.contact, None),
        ],
        RequestKind::ReserveTokens => {
            hint = Some(ctx.t("admin-field-reserve-hint"));
            vec![text(ctx, "count", "admin-field-count", &f.count, None)]
        }
    };
    render(&RequestFormPage {
        ctx,
        nav: v.nav(Some(org), ""),
        csrf: v.csrf,
        org_id: org.id,
        title: kind_label(ctx, kind),
        for_org: ctx.ta("admin-request-for", &[("org", org.name.as_str().into())]),
        kind: kind.as_str(),
        fields,
        hint,
        error,
    })
}

fn fate(ctx: &Ctx, t: &TokenFate) -> String {
    ctx.t(match t {
        TokenFate::Return => "admin-fate-return",
        TokenFate::Lost => "admin-fate-lost",
    })
}

/// What a request asks for, line by line.
fn detail_rows(
    ctx: &Ctx,
    r: &LifecycleRequest,
    names: &HashMap<i64, String>,
) -> Vec<(String, String)> {
    let row = |key: &str, v: String| (ctx.t(key), v);
    match &r.data {
        RequestData::NewEmployee {
            full_name,
            email,
            employee_number,
            username,
            start_date,
            phone,
            token,
        } => vec![
            row("admin-field-name", full_name.clone()),
            row("admin-field-email", email.clone()),
            row("admin-field-employee-number", employee_number.clone()),
            row("admin-field-username", username.clone()),
            row("admin-field-start-date", start_date.clone()),
            row(
                "admin-field-factors",
                ctx.t(match (phone, token) {
                    (true, true) => "admin-factors-both",
                    (true, false) => "admin-factors-phone",
                    _ => "admin-factors-token",
                }),
            ),
        ],
        RequestData::ChangeAccount {
            person_id,
            full_name,
            email,
            replace_token,
            old_token,
            new_serial,
        } => vec![
            row("admin-field-person", who(ctx, names, *person_id)),
            row("admin-field-new-name", full_name.clone()),
            row("admin-field-new-email", email.clone()),
            row(
                "admin-detail-token",
                if *replace_token {
                    ctx.ta(
                        "admin-detail-token-replace",
                        &[
                            ("fate", fate(ctx, old_token).into()),
                            ("serial", new_serial.as_str().into()),
                        ],
                    )
                } else {
                    ctx.t("admin-detail-token-unchanged")
                },
            ),
        ],
        RequestData::RemoveAccount {
            person_id,
            end_date,
            tokens,
        } => vec![
            row("admin-field-person", who(ctx, names, *person_id)),
            row("admin-field-end-date", end_date.clone()),
            row("admin-detail-tokens", fate(ctx, tokens)),
        ],
        RequestData::OrderTokens {
            count,
            address,
            contact,
        } => vec![
            row("admin-detail-count", count.to_string()),
            row("admin-field-address", address.clone()),
            row("admin-field-contact", contact.clone()),
        ],
        RequestData::ReserveTokens { count } => {
            vec![row("admin-detail-reserved", count.to_string())]
        }
    }
}

/// A request: its data, status history, and the actions the viewer may take.
#[allow(clippy::too_many_arguments)]
pub fn request_page(
    v: Viewer<'_>,
    r: &LifecycleRequest,
    org: &Organisation,
    history: &[RequestStep],
    names: &HashMap<i64, String>,
    can_change_reservation: bool,
    link: Option<&str>,
    error: Option<String>,
    count_typed: Option<&str>,
) -> Html<String> {
    let ctx = v.ctx;
    let open = v.operator && r.status.is_open();
    let reservation = match r.data {
        RequestData::ReserveTokens { count } if can_change_reservation => {
            Some(count_typed.map_or_else(|| count.to_string(), str::to_owned))
        }
        _ => None,
    };
    render(&RequestPage {
        ctx,
        nav: v.nav(Some(org), ""),
        csrf: v.csrf,
        r,
        heading: ctx.ta(
            "admin-request-heading",
            &[
                ("id", Arg::Number(r.id)),
                ("kind", kind_label(ctx, r.data.kind()).into()),
            ],
        ),
        org: &org.name,
        asked_by: ctx.ta(
            "admin-request-asked-by",
            &[("who", r.requested_by.as_str().into())],
        ),
        status: status_label(ctx, r.status),
        data: detail_rows(ctx, r, names),
        history: history
            .iter()
            .map(|s| StepRow {
                time: s.time,
                status: status_label(ctx, s.status),
                actor: s.actor.clone(),
                note: s.note.clone().unwrap_or_default(),
            })
            .collect(),
        link,
        error,
        can_take: open && r.status == RequestStatus::Submitted,
        can_finish: open && r.scheduled_at.is_none(),
        can_reject: open,
        reservation,
    })
}

/// The operator's queue (all requests, open first).
pub fn queue(v: Viewer<'_>, open: Vec<RequestRow>, closed: Vec<RequestRow>) -> Html<String> {
    render(&QueuePage {
        ctx: v.ctx,
        nav: v.nav(None, "/admin/requests"),
        open,
        closed,
    })
}

/// Token stock per organisation next to planned demand.
pub fn stock(
    v: Viewer<'_>,
    counts: &[StockCount],
    orgs: &HashMap<i64, String>,
    switch_overs: &HashMap<i64, UnixTime>,
) -> Html<String> {
    let rows = counts
        .iter()
        .map(|c| {
            let (id, name) = match c.org_id {
                Some(o) => (o.to_string(), orgs.get(&o).cloned().unwrap_or_default()),
                None => ("provider".to_owned(), v.ctx.t("admin-stock-provider")),
            };
            StockRow {
                id,
                name,
                in_stock: c.in_stock,
                assigned: c.assigned,
                lost: c.lost,
                retired: c.retired,
                reserved: c.reserved,
                switch_over: c.org_id.and_then(|o| switch_overs.get(&o)).copied(),
            }
        })
        .collect();
    render(&StockPage {
        ctx: v.ctx,
        nav: v.nav(None, "/admin/stock"),
        rows,
    })
}
