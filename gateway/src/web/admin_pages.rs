//! The administration pages (org admins and the operator): organisations, people, requests,
//! token stock. Server-rendered like the portal: escaped values, no scripts, every action a
//! POST form carrying the session's CSRF token; forms keep what was typed on an error.

use super::pages::{error_block, esc, layout};
use crate::audit::format_time;
use crate::model::{
    ApiToken, Device, LifecycleRequest, Organisation, Person, RequestData, RequestKind,
    RequestStatus, RequestStep, StockCount, TokenFate, UnixTime,
};
use crate::service::lifecycle::format_date;
use axum::response::Html;
use std::collections::HashMap;

pub(super) fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

pub(super) fn when(t: UnixTime) -> String {
    format_time(t).replace('T', " ").replace('Z', " UTC")
}

/// Who is signed in, and where they can go.
#[derive(Debug, Clone)]
pub struct Nav<'a> {
    pub csrf: &'a str,
    pub name: &'a str,
    pub operator: bool,
    pub org: Option<&'a Organisation>,
}

pub(super) fn nav(n: &Nav<'_>) -> String {
    let mut links = String::from(r#"<a href="/admin" id="nav-home">Administration</a>"#);
    if let Some(org) = n.org {
        links.push_str(&format!(
            r#" <a href="/admin/orgs/{}" id="nav-org">{}</a>"#,
            org.id,
            esc(&org.name)
        ));
    }
    if n.operator {
        links.push_str(r#" <a href="/admin/requests" id="nav-queue">Queue</a> <a href="/admin/stock" id="nav-stock">Token stock</a>"#);
    }
    format!(
        r#"<nav>{links} <span class="here">{name}</span>
<form method="post" action="/portal/logout" class="inline">{csrf}<button type="submit" class="link" id="logout">Sign out</button></form></nav>"#,
        name = esc(n.name),
        csrf = csrf_field(n.csrf),
    )
}

fn status(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Submitted => "submitted",
        RequestStatus::InProgress => "in progress",
        RequestStatus::Done => "done",
        RequestStatus::Rejected => "rejected",
        RequestStatus::Cancelled => "cancelled",
    }
}

/// One line about what a request asks for.
pub fn summary(r: &LifecycleRequest, names: &HashMap<i64, String>) -> String {
    let who = |id: &i64| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("person {id}"))
    };
    match &r.data {
        RequestData::NewEmployee {
            full_name,
            email,
            start_date,
            ..
        } => format!("{full_name} <{email}>, starts {start_date}"),
        RequestData::ChangeAccount { person_id, .. } => format!("change {}", who(person_id)),
        RequestData::RemoveAccount {
            person_id,
            end_date,
            ..
        } => format!("remove {} on {end_date}", who(person_id)),
        RequestData::OrderTokens { count, .. } => format!("{count} tokens"),
        RequestData::ReserveTokens { count } => format!("{count} tokens (reservation)"),
    }
}

/// A table of requests.
pub fn request_table(
    requests: &[LifecycleRequest],
    orgs: &HashMap<i64, String>,
    names: &HashMap<i64, String>,
) -> String {
    if requests.is_empty() {
        return r#"<p class="hint" id="no-requests">No requests.</p>"#.to_owned();
    }
    let mut rows = String::new();
    for r in requests {
        rows.push_str(&format!(
            r#"<tr id="request-{id}"><td><a href="/admin/requests/{id}">#{id}</a></td><td>{org}</td><td>{kind}</td><td>{what}</td><td class="status">{status}</td><td>{updated}</td></tr>
"#,
            id = r.id,
            org = esc(orgs.get(&r.org_id).map_or("", String::as_str)),
            kind = r.data.kind().label(),
            what = esc(&summary(r, names)),
            status = status(r.status),
            updated = when(r.updated_at),
        ));
    }
    format!(
        r#"<table id="requests"><thead><tr><th>No.</th><th>Organisation</th><th>Type</th><th>What</th><th>Status</th><th>Last change</th></tr></thead>
<tbody>
{rows}</tbody></table>"#
    )
}

/// The start page for the operator: organisations and the open queue.
pub fn operator_home(n: &Nav<'_>, orgs: &[Organisation], open: &str) -> Html<String> {
    let mut list = String::new();
    for o in orgs {
        list.push_str(&format!(
            r#"<li><a href="/admin/orgs/{id}" id="org-{id}">{name}</a></li>"#,
            id = o.id,
            name = esc(&o.name)
        ));
    }
    layout(
        "Administration",
        &format!(
            r#"{nav}<h1>Administration</h1>
<h2>Organisations</h2>
<ul id="orgs">{list}</ul>
<h2>Open requests</h2>
{open}"#,
            nav = nav(n),
        ),
    )
}

/// The forms for a new request of each kind.
fn request_links(org: &Organisation) -> String {
    let mut out = String::from(r#"<ul id="new-request">"#);
    for k in RequestKind::ALL {
        out.push_str(&format!(
            r#"<li><a href="/admin/orgs/{id}/requests/new/{kind}" id="new-{kind}">{label}</a></li>"#,
            id = org.id,
            kind = k.as_str(),
            label = k.label(),
        ));
    }
    out.push_str("</ul>");
    out
}

/// What only the operator sees on an organisation's page.
#[derive(Debug, Default)]
pub struct OperatorPart<'a> {
    pub tokens: &'a [ApiToken],
    pub switch_over: Option<UnixTime>,
    /// A token just made, shown once.
    pub new_token: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// An organisation: its people, its requests, new requests; for the operator API tokens and
/// the switch-over date.
pub fn org_page(
    n: &Nav<'_>,
    org: &Organisation,
    people: &[Person],
    requests: &str,
    operator: Option<&OperatorPart<'_>>,
    clients: &[(&str, String, bool)],
    policy: &[String],
) -> Html<String> {
    let rules: String = policy
        .iter()
        .map(|l| format!("<li>{}</li>", esc(l)))
        .collect();
    let mut served = String::new();
    for (channel, name, bound) in clients {
        served.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if *channel == "radius" {
                "RADIUS"
            } else {
                "OpenID Connect"
            },
            esc(name),
            if *bound {
                "this organisation (and any others listed for it)"
            } else {
                "every organisation"
            }
        ));
    }
    let mut rows = String::new();
    for p in people {
        rows.push_str(&format!(
            r#"<tr id="person-{id}"><td><a href="/admin/people/{id}">{name}</a></td><td>{user}</td><td>{email}</td><td>{number}</td><td>{state}</td></tr>
"#,
            id = p.id,
            name = esc(&p.full_name),
            user = esc(&p.username),
            email = esc(p.email.as_deref().unwrap_or("")),
            number = esc(p.employee_number.as_deref().unwrap_or("")),
            state = p.state.as_str(),
        ));
    }
    let mut op = String::new();
    if let Some(o) = operator {
        let mut tokens = String::new();
        for t in o.tokens {
            let state = match t.revoked_at {
                Some(at) => format!("revoked {}", when(at)),
                None => format!(
                    r#"active <form method="post" action="/admin/api-tokens/{id}/revoke">{csrf}<button type="submit" class="link" id="revoke-{id}">Revoke</button></form>"#,
                    id = t.id,
                    csrf = csrf_field(n.csrf)
                ),
            };
            tokens.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
                t.id,
                esc(&t.label),
                when(t.created_at)
            ));
        }
        let shown = o.new_token.map_or_else(String::new, |t| {
            format!(
                r#"<p>New API token (shown once; give it to the organisation's HR system):</p><p><code id="api-token">{}</code></p>"#,
                esc(t)
            )
        });
        op = format!(
            r#"<h2>Operator</h2>{error}
<form method="post" action="/admin/orgs/{id}/switch-over">{csrf}
<label for="switch-over">Switch-over date (reservations can change until then; YYYY-MM-DD, empty: none)</label>
<input type="text" id="switch-over" name="date" value="{switch}">
<button type="submit" class="secondary" id="set-switch-over">Set switch-over date</button>
</form>
<h2>API tokens</h2>{shown}
<table id="api-tokens"><thead><tr><th>Id</th><th>Label</th><th>Made</th><th>State</th></tr></thead><tbody>{tokens}</tbody></table>
<form method="post" action="/admin/orgs/{id}/api-tokens">{csrf}
<label for="token-label">Label</label>
<input type="text" id="token-label" name="label" maxlength="100">
<button type="submit" class="secondary" id="new-api-token">Make an API token</button>
</form>"#,
            error = error_block(o.error),
            id = org.id,
            csrf = csrf_field(n.csrf),
            switch = o.switch_over.map(format_date).unwrap_or_default(),
        );
    }
    layout(
        &org.name,
        &format!(
            r#"{nav}<h1 id="org-name">{name}</h1>
<h2>People</h2>
<table id="people"><thead><tr><th>Name</th><th>Username</th><th>E-mail</th><th>Employee no.</th><th>State</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p><a href="/admin/orgs/{id}/import" id="import-people">Import people from a CSV file</a></p>
<h2>Policy</h2>
<p>Set by the provider; ask them to change it.</p>
<ul id="policy">{rules}</ul>
<h2>Clients that serve it</h2>
<p>Remote desktop gateways, VPNs and web applications where this organisation's people can sign in.</p>
<table id="clients"><thead><tr><th>Kind</th><th>Client</th><th>Serves</th></tr></thead>
<tbody>
{served}</tbody></table>
<h2>New request</h2>
{links}
<h2>Requests</h2>
{requests}
{op}"#,
            nav = nav(n),
            name = esc(&org.name),
            id = org.id,
            links = request_links(org),
        ),
    )
}

/// A person: state and devices (no secrets); a temporary code for a lost device.
/// A person's page: who, their devices (with the resync form under each HOTP token), what
/// an admin can do, and their sign-ins (`activity`, already rendered).
#[allow(clippy::too_many_arguments)]
pub fn person_page(
    n: &Nav<'_>,
    p: &Person,
    devices: &[Device],
    activity: &str,
    tools: &super::admin_tools::Tools<'_>,
    shown: Option<(&str, &str)>,
    error: Option<&str>,
) -> Html<String> {
    let table = super::admin_tools::devices(n.csrf, p.id, devices, tools);
    let shown = shown.map_or_else(String::new, |(what, value)| {
        format!(
            r#"<p>{}</p><p><code id="shown-secret">{}</code></p>"#,
            esc(what),
            esc(value)
        )
    });
    layout(
        &p.full_name,
        &format!(
            r#"{nav}<h1 id="person-name">{name}</h1>
<p class="sub">{user} · {email} · employee no. {number} · <span id="person-state">{state}</span>{locked}</p>
{error}{shown}
<h2>Devices</h2>
{table}
<h2>Hardware token</h2>
<form method="post" action="/admin/people/{id}/token">{csrf}
<label for="serial">Serial number of a token in the organisation's stock</label>
<input type="text" id="serial" name="serial" maxlength="64">
<button type="submit" class="secondary" id="assign-token">Link the token</button>
</form>
<h2>Lost device</h2>
<form method="post" action="/admin/people/{id}/temp-code">{csrf}
<label for="minutes">Valid for (minutes, at most 1440)</label>
<input type="text" id="minutes" name="minutes" value="60">
<button type="submit" id="temp-code">Issue a temporary code</button>
</form>
<h2>Access</h2>
<p id="access-state">{access}</p>
<form method="post" action="/admin/people/{id}/unlock">{csrf}
<button type="submit" class="secondary" id="unlock">Unlock (clear the lockout and password throttles)</button>
</form>
<form method="post" action="/admin/people/{id}/{block_action}">{csrf}
<button type="submit" id="block">{block_label}</button>
</form>
<h2>Activation</h2>
<form method="post" action="/admin/people/{id}/activation">{csrf}
<button type="submit" class="secondary" id="new-activation">Send a new activation link</button>
</form>
<p><a href="/admin/orgs/{org}/requests/new/change_account?person={id}" id="request-change">Request a change</a> ·
<a href="/admin/orgs/{org}/requests/new/remove_account?person={id}" id="request-remove">Request removal</a></p>
{activity}
{subject}"#,
            nav = nav(n),
            name = esc(&p.full_name),
            user = esc(&p.username),
            email = esc(p.email.as_deref().unwrap_or("no e-mail")),
            number = esc(p.employee_number.as_deref().unwrap_or("-")),
            state = p.state.as_str(),
            locked = if p.locked_until.is_some() {
                " · locked"
            } else {
                ""
            },
            access = match (p.blocked_at, p.locked_until) {
                (Some(t), _) => format!(
                    "Blocked since {}: no sign-in on any channel.",
                    esc(&when(t))
                ),
                (None, Some(t)) => format!(
                    "Locked after wrong codes until {} ({} failures).",
                    esc(&when(t)),
                    p.failed_logins
                ),
                (None, None) => format!("Not locked ({} recent failures).", p.failed_logins),
            },
            block_action = if p.blocked_at.is_some() {
                "unblock"
            } else {
                "block"
            },
            block_label = if p.blocked_at.is_some() {
                "Lift the block"
            } else {
                "Block now (every channel, at once; ends their sessions)"
            },
            error = error_block(error),
            id = p.id,
            org = p.org_id,
            csrf = csrf_field(n.csrf),
            subject = if n.operator {
                format!(
                    r#"<h2>Data protection</h2>
<p><a href="/audit/subject/{id}" id="subject-access">Subject access: everything held about this person</a> (<a href="/audit/subject/{id}/json">JSON</a>) · <a href="/audit/person/{id}" id="timeline">Audit timeline</a></p>"#,
                    id = p.id
                )
            } else {
                String::new()
            },
        ),
    )
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

fn text_input(id: &str, label: &str, value: &str, hint: &str) -> String {
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="hint">{}</p>"#, esc(hint))
    };
    format!(
        r#"<label for="{id}">{label}</label>
<input type="text" id="{id}" name="{id}" value="{value}">{hint}"#,
        value = esc(value),
    )
}

fn checkbox(id: &str, label: &str, checked: bool) -> String {
    format!(
        r#"<label for="{id}"><input type="checkbox" id="{id}" name="{id}" value="on"{c}> {label}</label>"#,
        c = if checked { " checked" } else { "" }
    )
}

fn person_select(people: &[Person], selected: &str) -> String {
    let mut opts = String::new();
    for p in people {
        let id = p.id.to_string();
        opts.push_str(&format!(
            r#"<option value="{id}"{sel}>{name} ({user})</option>"#,
            sel = if id == selected { " selected" } else { "" },
            name = esc(&p.full_name),
            user = esc(&p.username),
        ));
    }
    format!(
        r#"<label for="person">Person</label><select id="person" name="person">{opts}</select>"#
    )
}

/// The form for a new request of `kind`.
pub fn request_form(
    n: &Nav<'_>,
    org: &Organisation,
    kind: RequestKind,
    people: &[Person],
    f: &RequestFields,
    error: Option<&str>,
) -> Html<String> {
    let fields = match kind {
        RequestKind::NewEmployee => format!(
            "{}{}{}{}{}<h2>Factors</h2>{}{}",
            text_input("full_name", "Name", &f.full_name, ""),
            text_input(
                "email",
                "E-mail",
                &f.email,
                "The activation link goes here."
            ),
            text_input("employee_number", "Employee number", &f.employee_number, ""),
            text_input(
                "username",
                "Username",
                &f.username,
                "Empty: the e-mail address."
            ),
            text_input("start_date", "Start date", &f.start_date, "YYYY-MM-DD"),
            checkbox("phone", "Phone (authenticator app)", f.phone),
            checkbox("token", "Hardware token", f.token),
        ),
        RequestKind::ChangeAccount => format!(
            "{}{}{}{}{}{}",
            person_select(people, &f.person),
            text_input("full_name", "New name", &f.full_name, "Empty: unchanged."),
            text_input("email", "New e-mail", &f.email, "Empty: unchanged."),
            checkbox(
                "replace_token",
                "Replace the hardware token",
                f.replace_token
            ),
            checkbox(
                "old_token_lost",
                "The old token is lost (otherwise it goes back to stock)",
                f.old_token_lost
            ),
            text_input(
                "new_serial",
                "New token's serial number",
                &f.new_serial,
                "Empty: the person links one in the portal."
            ),
        ),
        RequestKind::RemoveAccount => format!(
            "{}{}{}",
            person_select(people, &f.person),
            text_input(
                "end_date",
                "End date",
                &f.end_date,
                "YYYY-MM-DD; today or earlier: at once."
            ),
            checkbox(
                "old_token_lost",
                "Their hardware tokens are lost (otherwise they go back to stock)",
                f.old_token_lost
            ),
        ),
        RequestKind::OrderTokens => format!(
            "{}{}{}",
            text_input("count", "Number of tokens", &f.count, ""),
            text_input("address", "Delivery address", &f.address, ""),
            text_input("contact", "Contact (name, phone)", &f.contact, ""),
        ),
        RequestKind::ReserveTokens => format!(
            "{}<p class=\"hint\">Without obligation: you can change or cancel it until the switch-over date.</p>",
            text_input("count", "Number of tokens", &f.count, ""),
        ),
    };
    layout(
        kind.label(),
        &format!(
            r#"{nav}<h1>{label}</h1>
<p class="sub">for {org}</p>
{error}
<form method="post" action="/admin/orgs/{id}/requests" id="request-form">{csrf}
<input type="hidden" name="type" value="{kind}">
{fields}
<button type="submit" id="submit-request">Submit request</button>
</form>"#,
            nav = nav(n),
            label = kind.label(),
            org = esc(&org.name),
            error = error_block(error),
            id = org.id,
            csrf = csrf_field(n.csrf),
            kind = kind.as_str(),
        ),
    )
}

fn detail_rows(r: &LifecycleRequest, names: &HashMap<i64, String>) -> String {
    let row = |k: &str, v: String| format!("<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    let who = |id: &i64| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("person {id}"))
    };
    let fate = |t: &TokenFate| match t {
        TokenFate::Return => "back to stock".to_owned(),
        TokenFate::Lost => "marked lost".to_owned(),
    };
    match &r.data {
        RequestData::NewEmployee {
            full_name,
            email,
            employee_number,
            username,
            start_date,
            phone,
            token,
        } => [
            row("Name", full_name.clone()),
            row("E-mail", email.clone()),
            row("Employee number", employee_number.clone()),
            row("Username", username.clone()),
            row("Start date", start_date.clone()),
            row(
                "Factors",
                match (phone, token) {
                    (true, true) => "phone and hardware token",
                    (true, false) => "phone",
                    _ => "hardware token",
                }
                .to_owned(),
            ),
        ]
        .concat(),
        RequestData::ChangeAccount {
            person_id,
            full_name,
            email,
            replace_token,
            old_token,
            new_serial,
        } => [
            row("Person", who(person_id)),
            row("New name", full_name.clone()),
            row("New e-mail", email.clone()),
            row(
                "Token",
                if *replace_token {
                    format!("replace (old one {}) {new_serial}", fate(old_token))
                } else {
                    "unchanged".into()
                },
            ),
        ]
        .concat(),
        RequestData::RemoveAccount {
            person_id,
            end_date,
            tokens,
        } => [
            row("Person", who(person_id)),
            row("End date", end_date.clone()),
            row("Hardware tokens", fate(tokens)),
        ]
        .concat(),
        RequestData::OrderTokens {
            count,
            address,
            contact,
        } => [
            row("Tokens", count.to_string()),
            row("Delivery address", address.clone()),
            row("Contact", contact.clone()),
        ]
        .concat(),
        RequestData::ReserveTokens { count } => row("Tokens reserved", count.to_string()),
    }
}

/// A request: its data, status history, and the actions the viewer may take.
#[allow(clippy::too_many_arguments)]
pub fn request_page(
    n: &Nav<'_>,
    r: &LifecycleRequest,
    org: &str,
    history: &[RequestStep],
    names: &HashMap<i64, String>,
    can_change_reservation: bool,
    link: Option<&str>,
    error: Option<&str>,
) -> Html<String> {
    let mut steps = String::new();
    for s in history {
        steps.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(s.time),
            status(s.status),
            esc(&s.actor),
            esc(s.note.as_deref().unwrap_or("")),
        ));
    }
    let csrf = csrf_field(n.csrf);
    let mut actions = String::new();
    if n.operator && r.status.is_open() {
        if r.status == RequestStatus::Submitted {
            actions.push_str(&format!(
                r#"<form method="post" action="/admin/requests/{id}/take">{csrf}<button type="submit" class="secondary" id="take">Take (in progress)</button></form>"#,
                id = r.id
            ));
        }
        let scheduled = r.scheduled_at.is_some();
        if !scheduled {
            actions.push_str(&format!(
                r#"<form method="post" action="/admin/requests/{id}/done">{csrf}<button type="submit" id="done">Done: make the change</button></form>"#,
                id = r.id
            ));
        }
        actions.push_str(&format!(
            r#"<form method="post" action="/admin/requests/{id}/reject">{csrf}
<label for="reason">Reason</label><input type="text" id="reason" name="reason" maxlength="500">
<button type="submit" class="danger" id="reject">Reject</button></form>"#,
            id = r.id
        ));
    }
    if can_change_reservation && let RequestData::ReserveTokens { count } = r.data {
        actions.push_str(&format!(
                r#"<form method="post" action="/admin/requests/{id}/reservation">{csrf}
<label for="count">Number of tokens</label><input type="text" id="count" name="count" value="{count}">
<button type="submit" class="secondary" id="change-reservation">Change reservation</button></form>
<form method="post" action="/admin/requests/{id}/reservation">{csrf}<input type="hidden" name="cancel" value="on">
<button type="submit" class="danger" id="cancel-reservation">Cancel reservation</button></form>"#,
                id = r.id
            ));
    }
    let link = link.map_or_else(String::new, |l| {
        format!(
            r#"<p>Activation link (shown once; it was also sent by e-mail):</p><p><code id="activation-link">{}</code></p>"#,
            esc(l)
        )
    });
    let scheduled = r.scheduled_at.map_or_else(String::new, |t| {
        format!(r#"<p id="scheduled">Scheduled for {}.</p>"#, format_date(t))
    });
    layout(
        &format!("Request {}", r.id),
        &format!(
            r#"{nav}<h1>Request #{id}: {kind}</h1>
<p class="sub">{org} · asked by {by} on {at} · <span id="status">{status}</span></p>
{error}{link}{scheduled}
<table id="request-data"><tbody>{data}</tbody></table>
<h2>History</h2>
<table id="history"><thead><tr><th>When</th><th>Status</th><th>Who</th><th>Note</th></tr></thead><tbody>{steps}</tbody></table>
{actions}"#,
            nav = nav(n),
            id = r.id,
            kind = r.data.kind().label(),
            org = esc(org),
            by = esc(&r.requested_by),
            at = when(r.created_at),
            status = status(r.status),
            error = error_block(error),
            data = detail_rows(r, names),
        ),
    )
}

/// The operator's queue (all requests, open first).
pub fn queue(n: &Nav<'_>, open: &str, closed: &str) -> Html<String> {
    layout(
        "Request queue",
        &format!(
            r#"{nav}<h1>Request queue</h1>
<h2>Open</h2>
<div id="open">{open}</div>
<h2>Closed</h2>
<div id="closed">{closed}</div>"#,
            nav = nav(n),
        ),
    )
}

/// Token stock per organisation next to planned demand.
pub fn stock(
    n: &Nav<'_>,
    counts: &[StockCount],
    orgs: &HashMap<i64, String>,
    switch_overs: &HashMap<i64, UnixTime>,
) -> Html<String> {
    let mut rows = String::new();
    for c in counts {
        let (id, name) = match c.org_id {
            Some(o) => (o.to_string(), orgs.get(&o).cloned().unwrap_or_default()),
            None => (
                "provider".to_owned(),
                "Provider stock (unallocated)".to_owned(),
            ),
        };
        let switch = c
            .org_id
            .and_then(|o| switch_overs.get(&o))
            .map(|t| format_date(*t))
            .unwrap_or_default();
        rows.push_str(&format!(
            r#"<tr id="stock-{id}"><td>{name}</td><td class="in-stock">{}</td><td class="assigned">{}</td><td class="lost">{}</td><td class="retired">{}</td><td class="reserved">{}</td><td>{switch}</td></tr>"#,
            c.in_stock,
            c.assigned,
            c.lost,
            c.retired,
            c.reserved,
            name = esc(&name),
        ));
    }
    layout(
        "Token stock",
        &format!(
            r#"{nav}<h1>Hardware token stock</h1>
<p class="sub">In stock: unassigned (the provider's or shipped to the organisation). Reserved: planned demand (reservations without obligation).</p>
<table id="stock"><thead><tr><th>Organisation</th><th>In stock</th><th>Assigned</th><th>Lost</th><th>Retired</th><th>Reserved</th><th>Switch-over</th></tr></thead><tbody>{rows}</tbody></table>"#,
            nav = nav(n),
        ),
    )
}
