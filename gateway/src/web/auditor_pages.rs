//! The auditor's pages: the search form with results and paging, the chart of attempts per
//! day by outcome (SVG drawn here, no scripts), the most failures, a person's timeline, and
//! the subject access page. Read-only: every form is a GET.

use super::pages::{esc, layout};
use crate::audit::{StoredEvent, format_time};
use crate::service::SubjectAccess;
use crate::store::{DayCount, TopFailures};
use axum::response::Html;
use std::collections::BTreeMap;

/// The search form's fields as typed (kept on an error).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct SearchForm {
    pub person: String,
    pub org: String,
    pub from: String,
    pub to: String,
    pub channel: String,
    pub client: String,
    pub outcome: String,
    pub reason: String,
    pub source: String,
    pub kind: String,
    pub page: u32,
}

impl SearchForm {
    /// The query string of this search (for paging and export links), without `page`.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("person", &self.person),
            ("org", &self.org),
            ("from", &self.from),
            ("to", &self.to),
            ("channel", &self.channel),
            ("client", &self.client),
            ("outcome", &self.outcome),
            ("reason", &self.reason),
            ("source", &self.source),
            ("kind", &self.kind),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", url_escape(v.trim())));
            }
        }
        parts.join("&")
    }
}

fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn time(t: i64) -> String {
    format_time(t).replace('T', " ").replace('Z', "")
}

fn nav(here: &str, operator: bool) -> String {
    let link = |href: &str, text: &str| {
        if href == here {
            format!(r#"<span class="here">{text}</span>"#)
        } else {
            format!(r#"<a href="{href}">{text}</a>"#)
        }
    };
    let _ = operator;
    format!(
        "<nav>{} {}</nav>",
        link("/audit", "Audit search"),
        link("/portal", "My devices")
    )
}

/// The events as a table (newest first as given).
pub fn events_table(events: &[StoredEvent], id: &str) -> String {
    let mut rows = String::new();
    for e in events {
        let ev = &e.event;
        let person = match (ev.person_id, &ev.username) {
            (Some(pid), Some(u)) => format!(r#"<a href="/audit/person/{pid}">{}</a>"#, esc(u)),
            (Some(pid), None) => format!(r#"<a href="/audit/person/{pid}">#{pid}</a>"#),
            (None, Some(u)) => esc(u),
            (None, None) => String::new(),
        };
        let outcome = match &ev.reason {
            Some(r) => format!("{} ({})", ev.outcome.as_str(), r),
            None => ev.outcome.as_str().to_owned(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            e.id,
            esc(&time(ev.time)),
            esc(ev.kind.as_str()),
            person,
            esc(&ev.actor),
            esc(ev.channel.as_str()),
            esc(ev.client.as_deref().unwrap_or("")),
            esc(ev.source.as_deref().unwrap_or("")),
            esc(ev.device_label.as_deref().unwrap_or("")),
            esc(&outcome),
            esc(ev.request_id.as_deref().unwrap_or("")),
        ));
    }
    format!(
        r#"<div class="wide"><table id="{id}">
<thead><tr><th>#</th><th>Time (UTC)</th><th>Kind</th><th>Person</th><th>Actor</th><th>Channel</th><th>Client</th><th>From</th><th>Device</th><th>Outcome</th><th>Request</th></tr></thead>
<tbody>
{rows}</tbody>
</table></div>"#
    )
}

/// Stacked bars: attempts per UTC day, by outcome. `days` is the range shown
/// (first and last day since the epoch).
pub fn chart_svg(counts: &[DayCount], days: (i64, i64)) -> String {
    const W: i64 = 720;
    const H: i64 = 200;
    const LEFT: i64 = 40;
    const BOTTOM: i64 = 24;
    let (first, last) = (days.0, days.1.max(days.0));
    let n = (last - first + 1).clamp(1, 366);
    let mut per_day: BTreeMap<i64, BTreeMap<&str, u64>> = BTreeMap::new();
    for c in counts {
        if c.day >= first && c.day <= last {
            *per_day
                .entry(c.day)
                .or_default()
                .entry(c.outcome.as_str())
                .or_default() += c.count;
        }
    }
    let max = per_day
        .values()
        .map(|m| m.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - 8;
    let plot_h = H - BOTTOM - 8;
    let bar_w = (plot_w / n).max(1);
    let colour = |o: &str| match o {
        "accept" => "#2e7d32",
        "reject" => "#c62828",
        "challenge" => "#f9a825",
        _ => "#607d8b",
    };
    let mut bars = String::new();
    for (day, outcomes) in &per_day {
        let x = LEFT + (day - first) * plot_w / n;
        let mut y = H - BOTTOM;
        for o in ["accept", "challenge", "reject", "done", "failed"] {
            let Some(&v) = outcomes.get(o) else { continue };
            let h = i64::try_from(v).unwrap_or(i64::MAX).saturating_mul(plot_h)
                / i64::try_from(max).unwrap_or(1);
            let h = h.max(1);
            y -= h;
            bars.push_str(&format!(
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"><title>{d}: {v} {o}</title></rect>"#,
                w = (bar_w - 1).max(1),
                c = colour(o),
                d = esc(&time(day * 86_400)[..10]),
            ));
        }
    }
    let label_every = (n / 8).max(1);
    let mut labels = String::new();
    let mut d = first;
    while d <= last {
        let x = LEFT + (d - first) * plot_w / n;
        labels.push_str(&format!(
            r##"<text x="{x}" y="{y}" font-size="10" fill="#444">{t}</text>"##,
            y = H - 8,
            t = esc(&time(d * 86_400)[5..10]),
        ));
        d += label_every;
    }
    let legend = ["accept", "challenge", "reject"]
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let x = LEFT + 10 + i64::try_from(i).unwrap_or(0) * 90;
            format!(
                r##"<rect x="{x}" y="4" width="10" height="10" fill="{c}"/><text x="{tx}" y="13" font-size="11" fill="#222">{o}</text>"##,
                c = colour(o),
                tx = x + 14
            )
        })
        .collect::<String>();
    format!(
        r##"<svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="Login attempts per day by outcome">
<line x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="#888"/>
<text x="2" y="{top}" font-size="10" fill="#444">{max}</text>
<text x="2" y="{base}" font-size="10" fill="#444">0</text>
{bars}{labels}{legend}
</svg>
<details id="chart-as-table"><summary>The chart as a table</summary>
<div class="wide"><table id="chart-table"><caption>Login attempts per day by outcome</caption>
<thead><tr><th scope="col">Day (UTC)</th><th scope="col">Accepted</th><th scope="col">Challenged</th><th scope="col">Rejected</th><th scope="col">Other</th></tr></thead>
<tbody>{rows}</tbody></table></div></details>"##,
        base = H - BOTTOM,
        right = W - 8,
        top = 18,
        rows = chart_rows(&per_day),
    )
}

/// The chart's numbers as table rows, one a day (WCAG 1.1.1: a text alternative).
fn chart_rows(per_day: &BTreeMap<i64, BTreeMap<&str, u64>>) -> String {
    let mut rows = String::new();
    for (day, outcomes) in per_day {
        let get = |o: &str| outcomes.get(o).copied().unwrap_or(0);
        let other: u64 = outcomes
            .iter()
            .filter(|(o, _)| !matches!(**o, "accept" | "challenge" | "reject"))
            .map(|(_, v)| v)
            .sum();
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{d}</th><td>{a}</td><td>{c}</td><td>{r}</td><td>{other}</td></tr>",
            d = esc(time(day * 86_400).get(..10).unwrap_or_default()),
            a = get("accept"),
            c = get("challenge"),
            r = get("reject"),
        ));
    }
    rows
}

fn top_table(title: &str, id: &str, rows: &[(String, u64)], link_person: bool) -> String {
    let mut body = String::new();
    for (what, n) in rows {
        let cell = if link_person {
            format!(
                r#"<a href="/audit?person={}">{}</a>"#,
                url_escape(what),
                esc(what)
            )
        } else {
            format!(
                r#"<a href="/audit?source={}">{}</a>"#,
                url_escape(what),
                esc(what)
            )
        };
        body.push_str(&format!("<tr><td>{cell}</td><td>{n}</td></tr>\n"));
    }
    if rows.is_empty() {
        body.push_str("<tr><td colspan=\"2\">none</td></tr>\n");
    }
    format!(
        r#"<div class="half"><h3>{title}</h3><table id="{id}"><thead><tr><th>Who</th><th>Rejections</th></tr></thead><tbody>
{body}</tbody></table></div>"#
    )
}

fn select(name: &str, value: &str, options: &[&str]) -> String {
    let mut out = format!(r#"<select name="{name}" id="f-{name}"><option value="">any</option>"#);
    for o in options {
        let sel = if *o == value { " selected" } else { "" };
        out.push_str(&format!(r#"<option value="{o}"{sel}>{o}</option>"#));
    }
    out.push_str("</select>");
    out
}

/// What the search page shows.
#[derive(Debug)]
pub struct SearchView<'a> {
    pub form: &'a SearchForm,
    pub events: &'a [StoredEvent],
    pub total: u64,
    pub page_size: u32,
    pub chart: String,
    pub chart_range: String,
    pub top: &'a TopFailures,
    pub error: Option<&'a str>,
    pub operator: bool,
    /// An org auditor's organisation (None: the provider's view of every organisation).
    pub scope: Option<&'a str>,
}

pub fn search(v: &SearchView<'_>) -> Html<String> {
    let f = v.form;
    let input = |name: &str, label: &str, value: &str, placeholder: &str| {
        format!(
            r#"<label>{label}<input name="{name}" id="f-{name}" value="{}" placeholder="{placeholder}"></label>"#,
            esc(value)
        )
    };
    let kinds: Vec<&str> = crate::audit::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    let form = format!(
        r#"<form method="get" action="/audit" class="search" id="search">
{person}{org}{from}{to}
<label>Channel{channel}</label>
{client}
<label>Outcome{outcome}</label>
{reason}{source}
<label>Kind{kind}</label>
<button type="submit" id="do-search">Search</button>
</form>"#,
        person = input("person", "Person (username)", &f.person, "ann"),
        org = match v.scope {
            // Fixed to the org auditor's organisation.
            Some(_) => format!(
                r#"<label>Organisation<input name="org" id="f-org" value="{}" readonly></label>"#,
                esc(&f.org)
            ),
            None => input("org", "Organisation", &f.org, "name or id"),
        },
        from = input("from", "From", &f.from, "2026-11-01"),
        to = input("to", "To", &f.to, "2026-11-30"),
        channel = select(
            "channel",
            &f.channel,
            &["radius", "oidc", "portal", "api", "cli", "system"]
        ),
        client = input(
            "client",
            "Client",
            &f.client,
            "RADIUS client or OIDC client id"
        ),
        outcome = select(
            "outcome",
            &f.outcome,
            &["accept", "reject", "challenge", "done", "failed"]
        ),
        reason = input("reason", "Reason", &f.reason, "bad_code"),
        source = input("source", "Source address", &f.source, "192.0.2.10"),
        kind = select("kind", &f.kind, &kinds),
    );
    let q = f.query();
    let pages = v.total.div_ceil(u64::from(v.page_size.max(1))).max(1);
    let page = u64::from(f.page).min(pages - 1);
    let link = |p: u64, text: &str, id: &str| {
        let sep = if q.is_empty() { "" } else { "&" };
        format!(r#"<a href="/audit?{q}{sep}page={p}" id="{id}">{text}</a>"#)
    };
    let mut paging = format!(
        "<p class=\"paging\">{} events; page {} of {pages}. ",
        v.total,
        page + 1
    );
    if page > 0 {
        paging.push_str(&link(page - 1, "Newer", "newer"));
        paging.push(' ');
    }
    if page + 1 < pages {
        paging.push_str(&link(page + 1, "Older", "older"));
    }
    paging.push_str("</p>");
    let sep = if q.is_empty() { "" } else { "?" };
    let exports = format!(
        r#"<p class="exports">Export this search: <a href="/audit/export.csv{sep}{q}" id="export-csv" download>CSV</a> · <a href="/audit/export.jsonl{sep}{q}" id="export-jsonl" download>JSON lines</a></p>"#
    );
    let error = super::pages::error_block(v.error);
    let scope = match v.scope {
        Some(org) => format!(
            r#"<p class="sub" id="scope">You see the events of {} only: its people's logins and changes, and what its administrators did. Events without an organisation (unknown usernames, the system) are not shown.</p>"#,
            esc(org)
        ),
        None => String::new(),
    };
    layout(
        "Audit",
        &format!(
            r#"{nav}
<h1>Audit trail</h1>
{scope}
{error}
{form}
<h2>Login attempts per day</h2>
<p class="sub">{range}</p>
{chart}
<div class="tops">
{people}
{sources}
</div>
<h2>Events</h2>
{exports}
{paging}
{table}"#,
            nav = nav("/audit", v.operator),
            range = esc(&v.chart_range),
            chart = v.chart,
            people = top_table(
                "Most failures by username",
                "top-people",
                &v.top.usernames,
                true
            ),
            sources = top_table(
                "Most failures by source",
                "top-sources",
                &v.top.sources,
                false
            ),
            table = events_table(v.events, "events"),
        ),
    )
}

/// A person's timeline: every event about them (an org auditor: those of their
/// organisation's view, `org_view`), newest first.
pub fn timeline(
    person: &crate::model::Person,
    org: &str,
    events: &[StoredEvent],
    operator: bool,
    org_view: bool,
) -> Html<String> {
    // Everyone who sees a timeline (operators, auditors, org auditors) may open this.
    let subject = format!(
        r#"<p><a href="/audit/subject/{id}" id="subject-access">Subject access: everything held about this person</a> (<a href="/audit/subject/{id}/json">JSON</a>)</p>"#,
        id = person.id
    );
    let which = if org_view {
        "Every event about this person in your organisation's events, newest first."
    } else {
        "Every event about this person, newest first."
    };
    layout(
        "Timeline",
        &format!(
            r#"{nav}
<h1>Timeline of {name}</h1>
<p class="sub">Username {user}, organisation {org}, state {state}, roles {roles}. {which}</p>
{subject}
<p><a href="/audit/export.csv?person={uq}" id="export-person-csv" download>Export as CSV</a></p>
{table}"#,
            nav = nav("", operator),
            name = esc(&person.full_name),
            user = esc(&person.username),
            org = esc(org),
            state = esc(person.state.as_str()),
            roles = esc(&crate::model::roles_to_text(&person.roles)),
            uq = url_escape(&person.username),
            table = events_table(events, "timeline"),
        ),
    )
}

/// The subject access document as a readable page (also written by
/// `audit export --person ID --html FILE`).
pub fn subject_html(doc: &SubjectAccess) -> Html<String> {
    let p = &doc.person;
    let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("-"));
    let mut devices = String::new();
    for d in &doc.devices {
        devices.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&d.label),
            esc(d.kind.as_str()),
            opt(&d.serial),
            esc(d.state.as_str()),
            esc(&time(d.created_at)),
            esc(&d.last_used_at.map_or_else(|| "never".to_owned(), time)),
        ));
    }
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Subject access: {name}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body><main class="wide-page">
<h1>Everything held about {name}</h1>
<p class="sub">Made {at} (UTC) by mfa-gateway. Secrets (password hash, device seeds, codes) are never shown or exported.</p>
<h2>Account</h2>
<table id="profile"><tbody>
<tr><th>Person id</th><td>{id}</td></tr>
<tr><th>Subject id (sign-in claims)</th><td>{sub}</td></tr>
<tr><th>Username</th><td>{user}</td></tr>
<tr><th>Full name</th><td>{name}</td></tr>
<tr><th>E-mail</th><td>{email}</td></tr>
<tr><th>Employee number</th><td>{emp}</td></tr>
<tr><th>Organisation</th><td>{org}</td></tr>
<tr><th>Roles</th><td>{roles}</td></tr>
<tr><th>State</th><td>{state}</td></tr>
<tr><th>Created</th><td>{created}</td></tr>
<tr><th>Unused recovery codes</th><td>{codes}</td></tr>
</tbody></table>
<h2>Devices</h2>
<table id="devices"><thead><tr><th>Label</th><th>Kind</th><th>Serial</th><th>State</th><th>Added</th><th>Last used</th></tr></thead>
<tbody>
{devices}</tbody></table>
<h2>Events about this person ({n})</h2>
{events}
</main></body></html>
"#,
        name = esc(&p.full_name),
        at = esc(&doc.generated_at),
        id = p.id,
        sub = esc(&p.public_id),
        user = esc(&p.username),
        email = opt(&p.email),
        emp = opt(&p.employee_number),
        org = esc(doc.organisation.as_ref().map_or("-", |o| o.name.as_str())),
        roles = esc(&crate::model::roles_to_text(&p.roles)),
        state = esc(p.state.as_str()),
        created = esc(&time(p.created_at)),
        codes = doc.unused_recovery_codes,
        n = doc.events.len(),
        events = events_table(&doc.events, "subject-events"),
    ))
}
