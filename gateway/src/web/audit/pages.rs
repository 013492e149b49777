//! The auditor's pages: the search form with results and paging, the chart of attempts per
//! day by outcome (SVG, no scripts, with its numbers as a table), the most failures, a
//! person's timeline, and the subject access page. Read-only: every form is a GET. Drawn
//! by the templates of `audit/templates.rs` in the auditor's language.

use crate::audit::StoredEvent;
use crate::i18n::Lang;
use crate::model::Person;
use crate::service::SubjectAccess;
use crate::store::{DayCount, TopFailures};
use crate::web::audit::templates::{
    Chart, EventRow, Field, SearchPage, SubjectPage, TimelinePage, TopTable,
};
use crate::web::templates::{Ctx, Nav, render};
use axum::response::Html;

/// The channels a search can name.
pub(crate) const CHANNELS: [&str; 6] = ["radius", "oidc", "portal", "api", "cli", "system"];
/// The outcomes a search can name.
pub(crate) const OUTCOMES: [&str; 5] = ["accept", "reject", "challenge", "done", "failed"];

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

/// `s` for a query string: everything but unreserved characters percent-encoded.
pub(crate) fn url_escape(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The label of the search form's field `name` (its query parameter).
fn label_key(name: &str) -> &'static str {
    match name {
        "person" => "audit-field-person",
        "org" => "audit-field-org",
        "from" => "audit-field-from",
        "to" => "audit-field-to",
        "channel" => "audit-field-channel",
        "client" => "audit-field-client",
        "outcome" => "audit-field-outcome",
        "reason" => "audit-field-reason",
        "source" => "audit-field-source",
        _ => "audit-field-kind",
    }
}

/// What is wrong with a search, said to the auditor in their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Field `field` (a query parameter) is not one of `options`.
    NotOneOf {
        field: &'static str,
        value: String,
        options: Vec<&'static str>,
    },
    /// Field `field` is not a date or time.
    NotATime { field: &'static str, value: String },
    /// There is no organisation by that name or id.
    NoSuchOrg(String),
    /// The store failed (logged; the auditor only hears it did not work).
    Failed,
}

impl Problem {
    pub(crate) fn text(&self, ctx: &Ctx) -> String {
        match self {
            Self::NotOneOf {
                field,
                value,
                options,
            } => ctx.ta(
                "audit-error-not-one-of",
                &[
                    ("field", ctx.t(label_key(field)).into()),
                    ("value", value.as_str().into()),
                    ("options", options.join(", ").into()),
                ],
            ),
            Self::NotATime { field, value } => ctx.ta(
                "audit-error-not-a-time",
                &[
                    ("field", ctx.t(label_key(field)).into()),
                    ("value", value.as_str().into()),
                ],
            ),
            Self::NoSuchOrg(org) => {
                ctx.ta("audit-error-no-such-org", &[("org", org.as_str().into())])
            }
            Self::Failed => ctx.t("audit-error-failed"),
        }
    }

    /// The field the problem is about.
    fn field(&self) -> Option<&'static str> {
        match self {
            Self::NotOneOf { field, .. } | Self::NotATime { field, .. } => Some(field),
            Self::NoSuchOrg(_) => Some("org"),
            Self::Failed => None,
        }
    }
}

/// The navigation of the auditor's pages (with sign-out); `here` is the current path.
pub(crate) fn nav(ctx: &Ctx, csrf: &str, here: &str) -> Nav {
    Nav::new(ctx.t("audit-nav-label"))
        .link("/audit", "nav-audit", ctx.t("audit-nav-search"), here)
        .link("/portal", "nav-portal", ctx.t("audit-nav-portal"), here)
        .sign_out(ctx, csrf)
}

/// What the search page shows.
#[derive(Debug)]
pub(crate) struct SearchView<'a> {
    pub(crate) form: &'a SearchForm,
    pub(crate) events: &'a [StoredEvent],
    pub(crate) total: u64,
    pub(crate) page_size: u32,
    /// Login attempts per day by outcome, and the days shown (first and last since the
    /// epoch, UTC); None when the search could not run.
    pub(crate) chart: Option<(&'a [DayCount], (i64, i64))>,
    pub(crate) top: &'a TopFailures,
    pub(crate) error: Option<&'a Problem>,
    /// An org auditor's organisation (None: the provider's view of every organisation).
    pub(crate) scope: Option<&'a str>,
}

/// The search page.
pub(crate) fn search(ctx: &Ctx, nav: Nav, v: &SearchView<'_>) -> Html<String> {
    let f = v.form;
    let kinds: Vec<&'static str> = crate::audit::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    let label = |name: &str| ctx.t(label_key(name));
    let mut org = Field::text("org", label("org"), &f.org, ctx.t("audit-field-org-hint"));
    // Fixed to the org auditor's organisation.
    org.readonly = v.scope.is_some();
    let mut fields = vec![
        Field::text("person", label("person"), &f.person, "ann".into()),
        org,
        Field::text("from", label("from"), &f.from, "2026-11-01".into()),
        Field::text("to", label("to"), &f.to, "2026-11-30".into()),
        Field::select("channel", label("channel"), &f.channel, &CHANNELS),
        Field::text(
            "client",
            label("client"),
            &f.client,
            ctx.t("audit-field-client-hint"),
        ),
        Field::select("outcome", label("outcome"), &f.outcome, &OUTCOMES),
        Field::text("reason", label("reason"), &f.reason, "bad_code".into()),
        Field::text("source", label("source"), &f.source, "192.0.2.10".into()),
        Field::select("kind", label("kind"), &f.kind, &kinds),
    ];
    if let Some(name) = v.error.and_then(Problem::field) {
        for field in fields.iter_mut().filter(|x| x.name == name) {
            field.invalid = true;
        }
    }
    let q = f.query();
    let pages = v.total.div_ceil(u64::from(v.page_size.max(1))).max(1);
    let page = u64::from(f.page).min(pages - 1);
    let link = |p: u64| {
        let sep = if q.is_empty() { "" } else { "&" };
        format!("/audit?{q}{sep}page={p}")
    };
    let (top_people, top_sources) = TopTable::both(ctx, v.top);
    render(&SearchPage {
        ctx,
        nav,
        scope: v.scope,
        error: v.error.map(|e| e.text(ctx)),
        fields,
        chart: v.chart.map(|(counts, days)| Chart::new(ctx, counts, days)),
        top_people,
        top_sources,
        query_suffix: if q.is_empty() {
            String::new()
        } else {
            format!("?{q}")
        },
        total: v.total,
        page: page + 1,
        pages,
        newer: (page > 0).then(|| link(page - 1)),
        older: (page + 1 < pages).then(|| link(page + 1)),
        rows: EventRow::all(v.events),
    })
}

/// A person's timeline: every event about them (an org auditor: those of their
/// organisation's view, `org_view`), newest first.
pub(crate) fn timeline(
    ctx: &Ctx,
    nav: Nav,
    person: &Person,
    org: &str,
    events: &[StoredEvent],
    org_view: bool,
) -> Html<String> {
    render(&TimelinePage {
        ctx,
        nav,
        person,
        org,
        org_view,
        person_query: url_escape(&person.username),
        rows: EventRow::all(events),
    })
}

/// The subject access document as a readable page in `ctx`'s language.
pub(crate) fn subject_page(ctx: &Ctx, doc: &SubjectAccess) -> Html<String> {
    let p = &doc.person;
    let made = crate::audit::parse_time(&doc.generated_at, false)
        .map_or_else(|| doc.generated_at.clone(), |t| ctx.when(&t));
    render(&SubjectPage {
        ctx,
        p,
        made,
        org: doc.organisation.as_ref().map_or("-", |o| o.name.as_str()),
        roles: crate::model::roles_to_text(&p.roles),
        recovery_codes: doc.unused_recovery_codes,
        devices: &doc.devices,
        rows: EventRow::all(&doc.events),
    })
}

/// The subject access page as `audit export --person ID --html FILE` writes it: in English,
/// times in UTC (the command line's texts stay English).
pub fn subject_html(doc: &SubjectAccess) -> Html<String> {
    subject_page(&Ctx::new(Lang::En, jiff::tz::TimeZone::UTC), doc)
}
