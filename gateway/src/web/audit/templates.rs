//! The auditor's pages on templates (`templates/audit/`): the search with its chart, the
//! most failures and the events, a person's timeline and subject access. What the templates
//! show is prepared here (rows, the chart's geometry); every text comes from the
//! catalogues (`locales/*/audit.ftl`), escaped by askama. Event kinds, channels, outcomes
//! and reasons are technical identifiers and stay so.

use crate::audit::StoredEvent;
use crate::i18n::Arg;
use crate::model::{Device, Person, PersonId, UnixTime};
use crate::store::{DayCount, TopFailures};
use crate::web::templates::{Ctx, Nav};
use askama::Template;
use std::collections::BTreeMap;

/// One event as a row of an events table.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub(crate) id: i64,
    pub(crate) time: UnixTime,
    pub(crate) kind: &'static str,
    /// Linked to the person's timeline when known.
    pub(crate) person_id: Option<PersonId>,
    /// The username, else `#id`.
    pub(crate) person: String,
    pub(crate) actor: String,
    pub(crate) channel: &'static str,
    pub(crate) client: String,
    pub(crate) source: String,
    pub(crate) device: String,
    /// `reject (bad_code)`.
    pub(crate) outcome: String,
    pub(crate) request: String,
}

impl EventRow {
    pub(crate) fn all(events: &[StoredEvent]) -> Vec<Self> {
        events.iter().map(Self::of).collect()
    }

    fn of(e: &StoredEvent) -> Self {
        let ev = &e.event;
        let person = match (ev.person_id, &ev.username) {
            (_, Some(u)) => u.clone(),
            (Some(pid), None) => format!("#{pid}"),
            (None, None) => String::new(),
        };
        let outcome = match &ev.reason {
            Some(r) => format!("{} ({r})", ev.outcome.as_str()),
            None => ev.outcome.as_str().to_owned(),
        };
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            id: e.id,
            time: ev.time,
            kind: ev.kind.as_str(),
            person_id: ev.person_id,
            person,
            actor: ev.actor.clone(),
            channel: ev.channel.as_str(),
            client: text(&ev.client),
            source: text(&ev.source),
            device: text(&ev.device_label),
            outcome,
            request: text(&ev.request_id),
        }
    }
}

/// A choice of a select field (an identifier: shown as it is).
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) value: &'static str,
    pub(crate) selected: bool,
}

/// A field of the search form, with what was typed.
#[derive(Debug)]
pub(crate) struct Field {
    /// The query parameter; the element id is `f-NAME`.
    pub(crate) name: &'static str,
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) placeholder: String,
    /// A select of these (and "any") instead of a text field.
    pub(crate) options: Option<Vec<Choice>>,
    /// Fixed (an org auditor's organisation).
    pub(crate) readonly: bool,
    /// The error is about this field.
    pub(crate) invalid: bool,
}

impl Field {
    pub(crate) fn text(
        name: &'static str,
        label: String,
        value: &str,
        placeholder: String,
    ) -> Self {
        Self {
            name,
            label,
            value: value.to_owned(),
            placeholder,
            options: None,
            readonly: false,
            invalid: false,
        }
    }

    pub(crate) fn select(
        name: &'static str,
        label: String,
        value: &str,
        options: &[&'static str],
    ) -> Self {
        let options = options
            .iter()
            .map(|o| Choice {
                value: o,
                selected: *o == value,
            })
            .collect();
        Self {
            options: Some(options),
            ..Self::text(name, label, value, String::new())
        }
    }
}

/// A row of a most-failures table: who, linked to a search for them.
#[derive(Debug)]
pub(crate) struct TopRow {
    pub(crate) href: String,
    pub(crate) what: String,
    pub(crate) count: u64,
}

/// A most-failures table.
#[derive(Debug)]
pub(crate) struct TopTable {
    pub(crate) id: &'static str,
    pub(crate) title: String,
    pub(crate) rows: Vec<TopRow>,
}

impl TopTable {
    /// The table `id` of `rows`, each linked to the search `/audit?PARAM=what`.
    pub(crate) fn new(
        id: &'static str,
        title: String,
        param: &str,
        rows: &[(String, u64)],
    ) -> Self {
        let rows = rows
            .iter()
            .map(|(what, count)| TopRow {
                href: format!(
                    "/audit?{param}={}",
                    crate::web::audit::pages::url_escape(what)
                ),
                what: what.clone(),
                count: *count,
            })
            .collect();
        Self { id, title, rows }
    }

    /// The two tables of the search page: by username and by source address.
    pub(crate) fn both(ctx: &Ctx, top: &TopFailures) -> (Self, Self) {
        (
            Self::new(
                "top-people",
                ctx.t("audit-top-people"),
                "person",
                &top.usernames,
            ),
            Self::new(
                "top-sources",
                ctx.t("audit-top-sources"),
                "source",
                &top.sources,
            ),
        )
    }
}

/// A bar (one outcome of one day) of the chart.
#[derive(Debug)]
pub(crate) struct Bar {
    pub(crate) x: i64,
    pub(crate) y: i64,
    pub(crate) w: i64,
    pub(crate) h: i64,
    pub(crate) fill: &'static str,
    /// Its tooltip: `5 December 2026: 3 rejected`.
    pub(crate) title: String,
}

/// A day under the chart's axis.
#[derive(Debug)]
pub(crate) struct Label {
    pub(crate) x: i64,
    pub(crate) text: String,
}

/// A colour of the chart and what it means.
#[derive(Debug)]
pub(crate) struct Legend {
    pub(crate) x: i64,
    pub(crate) fill: &'static str,
    pub(crate) text: String,
}

/// A day of the chart's table (its text alternative, WCAG 1.1.1).
#[derive(Debug)]
pub(crate) struct ChartRow {
    pub(crate) day: String,
    pub(crate) accepted: u64,
    pub(crate) challenged: u64,
    pub(crate) rejected: u64,
    pub(crate) other: u64,
}

/// Stacked bars of login attempts per UTC day by outcome (SVG, no script), with the same
/// numbers as a table.
#[derive(Debug)]
pub(crate) struct Chart {
    /// Which days and what is counted, in words.
    pub(crate) range: String,
    pub(crate) width: i64,
    pub(crate) height: i64,
    pub(crate) left: i64,
    pub(crate) right: i64,
    /// The axis (y of zero).
    pub(crate) base: i64,
    pub(crate) label_y: i64,
    /// The most attempts in a day (the top of the axis).
    pub(crate) max: u64,
    pub(crate) bars: Vec<Bar>,
    pub(crate) labels: Vec<Label>,
    pub(crate) legend: Vec<Legend>,
    pub(crate) rows: Vec<ChartRow>,
}

const OUTCOMES: [&str; 5] = ["accept", "challenge", "reject", "done", "failed"];

fn colour(outcome: &str) -> &'static str {
    match outcome {
        "accept" => "#2e7d32",
        "reject" => "#c62828",
        "challenge" => "#f9a825",
        _ => "#607d8b",
    }
}

/// An outcome of a login attempt in words (the chart's legend and tooltips).
fn outcome_words(ctx: &Ctx, outcome: &str) -> String {
    match outcome {
        "accept" => ctx.t("audit-outcome-accepted"),
        "challenge" => ctx.t("audit-outcome-challenged"),
        "reject" => ctx.t("audit-outcome-rejected"),
        _ => ctx.t("audit-outcome-other"),
    }
}

impl Chart {
    /// The chart of `counts` over `days` (the first and last day since the epoch, UTC).
    pub(crate) fn new(ctx: &Ctx, counts: &[DayCount], days: (i64, i64)) -> Self {
        const W: i64 = 720;
        const H: i64 = 200;
        const LEFT: i64 = 40;
        const BOTTOM: i64 = 24;
        let utc = jiff::tz::TimeZone::UTC;
        let day = |d: i64| crate::i18n::format_day(d * 86_400, ctx.lang, &utc);
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
        let mut bars = Vec::new();
        for (d, outcomes) in &per_day {
            let x = LEFT + (d - first) * plot_w / n;
            let mut y = H - BOTTOM;
            for o in OUTCOMES {
                let Some(&v) = outcomes.get(o) else { continue };
                let h = (i64::try_from(v).unwrap_or(i64::MAX).saturating_mul(plot_h)
                    / i64::try_from(max).unwrap_or(1))
                .max(1);
                y -= h;
                bars.push(Bar {
                    x,
                    y,
                    w: (bar_w - 1).max(1),
                    h,
                    fill: colour(o),
                    title: ctx.ta(
                        "audit-chart-bar",
                        &[
                            ("day", day(*d).into()),
                            ("count", Arg::Number(i64::try_from(v).unwrap_or(i64::MAX))),
                            ("outcome", outcome_words(ctx, o).into()),
                        ],
                    ),
                });
            }
        }
        // A label every few days: the day and month (`5 december`).
        let every = usize::try_from((n / 8).max(1)).unwrap_or(1);
        let labels = (first..=last)
            .step_by(every)
            .map(|d| {
                let text = day(d);
                Label {
                    x: LEFT + (d - first) * plot_w / n,
                    text: text
                        .rsplit_once(' ')
                        .map_or(text.clone(), |(dm, _)| dm.to_owned()),
                }
            })
            .collect();
        let legend = ["accept", "challenge", "reject"]
            .iter()
            .zip(0..)
            .map(|(o, i)| Legend {
                x: LEFT + 10 + i * 130,
                fill: colour(o),
                text: outcome_words(ctx, o),
            })
            .collect();
        let rows = per_day
            .iter()
            .map(|(d, outcomes)| {
                let get = |o: &str| outcomes.get(o).copied().unwrap_or(0);
                ChartRow {
                    day: day(*d),
                    accepted: get("accept"),
                    challenged: get("challenge"),
                    rejected: get("reject"),
                    other: outcomes
                        .iter()
                        .filter(|(o, _)| !matches!(**o, "accept" | "challenge" | "reject"))
                        .map(|(_, v)| v)
                        .sum(),
                }
            })
            .collect();
        Self {
            range: ctx.ta(
                "audit-chart-range",
                &[("from", day(first).into()), ("to", day(last).into())],
            ),
            width: W,
            height: H,
            left: LEFT,
            right: W - 8,
            base: H - BOTTOM,
            label_y: H - 8,
            max,
            bars,
            labels,
            legend,
            rows,
        }
    }
}

/// The search page: the form (what was typed kept), the chart, the most failures and a
/// page of events.
#[derive(Debug, Template)]
#[template(path = "audit/search.html")]
pub(crate) struct SearchPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    /// An org auditor's organisation (None: every organisation).
    pub(crate) scope: Option<&'a str>,
    pub(crate) error: Option<String>,
    pub(crate) fields: Vec<Field>,
    /// None when the search could not run.
    pub(crate) chart: Option<Chart>,
    pub(crate) top_people: TopTable,
    pub(crate) top_sources: TopTable,
    /// `?person=ann&...` of this search (empty: none), for the exports.
    pub(crate) query_suffix: String,
    pub(crate) total: u64,
    /// 1-based.
    pub(crate) page: u64,
    pub(crate) pages: u64,
    pub(crate) newer: Option<String>,
    pub(crate) older: Option<String>,
    pub(crate) rows: Vec<EventRow>,
}

impl SearchPage<'_> {
    fn scope_text(&self, org: &str) -> String {
        self.ctx.ta("audit-scope", &[("org", org.into())])
    }

    fn paging(&self) -> String {
        let n = |v: u64| Arg::Number(i64::try_from(v).unwrap_or(i64::MAX));
        self.ctx.ta(
            "audit-paging",
            &[
                ("total", n(self.total)),
                ("page", n(self.page)),
                ("pages", n(self.pages)),
            ],
        )
    }
}

/// A person's timeline: every event about them (an org auditor: of their organisation's
/// view), newest first.
#[derive(Debug, Template)]
#[template(path = "audit/timeline.html")]
pub(crate) struct TimelinePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) person: &'a Person,
    pub(crate) org: &'a str,
    pub(crate) org_view: bool,
    /// The username, escaped for a query string.
    pub(crate) person_query: String,
    pub(crate) rows: Vec<EventRow>,
}

impl TimelinePage<'_> {
    fn heading(&self) -> String {
        self.ctx.ta(
            "audit-timeline-heading",
            &[("name", self.person.full_name.as_str().into())],
        )
    }

    fn about(&self) -> String {
        let p = self.person;
        self.ctx.ta(
            "audit-timeline-about",
            &[
                ("username", p.username.as_str().into()),
                ("org", self.org.into()),
                ("state", p.state.as_str().into()),
                ("roles", crate::model::roles_to_text(&p.roles).into()),
            ],
        )
    }
}

/// Everything held about a person (the GDPR subject access page, also written by the
/// command line).
#[derive(Debug, Template)]
#[template(path = "audit/subject.html")]
pub(crate) struct SubjectPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) p: &'a Person,
    /// When the document was made, in words.
    pub(crate) made: String,
    /// The organisation's name, or `-`.
    pub(crate) org: &'a str,
    pub(crate) roles: String,
    pub(crate) recovery_codes: usize,
    pub(crate) devices: &'a [Device],
    pub(crate) rows: Vec<EventRow>,
}

impl SubjectPage<'_> {
    fn title(&self) -> String {
        self.ctx.ta(
            "audit-subject-title",
            &[("name", self.p.full_name.as_str().into())],
        )
    }

    fn heading(&self) -> String {
        self.ctx.ta(
            "audit-subject-heading",
            &[("name", self.p.full_name.as_str().into())],
        )
    }

    fn made(&self) -> String {
        self.ctx
            .ta("audit-subject-made", &[("when", self.made.as_str().into())])
    }

    fn events_heading(&self) -> String {
        let n = i64::try_from(self.rows.len()).unwrap_or(i64::MAX);
        self.ctx
            .ta("audit-subject-events", &[("count", Arg::Number(n))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
    use crate::i18n::Lang;
    use crate::model::{PersonState, Role};
    use crate::service::SubjectAccess;
    use crate::web::audit::pages::{self, Problem, SearchForm, SearchView};
    use jiff::tz::TimeZone;

    const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'&";
    /// 5 December 2026 14:23 UTC.
    const T: UnixTime = 1_796_480_580;

    fn ctx(lang: Lang) -> Ctx {
        Ctx::new(lang, TimeZone::get("Europe/Amsterdam").expect("zone"))
    }

    fn events() -> Vec<StoredEvent> {
        let mut e = AuditEvent::admin(T, EventKind::LoginAttempt, HOSTILE);
        e.person_id = Some(7);
        e.username = Some(HOSTILE.into());
        e.channel = Channel::Radius;
        e.outcome = Outcome::Reject;
        e.reason = Some("bad_code".into());
        e.source = Some("192.0.2.10".into());
        e.device_label = Some("<b>phone</b>".into());
        let mut unknown = AuditEvent::admin(T - 60, EventKind::LoginAttempt, "radius");
        unknown.username = Some("nobody".into());
        vec![
            StoredEvent { id: 2, event: e },
            StoredEvent {
                id: 1,
                event: unknown,
            },
        ]
    }

    fn person() -> Person {
        Person {
            id: 7,
            public_id: "p-7".into(),
            username: HOSTILE.into(),
            full_name: format!("Ann {HOSTILE}"),
            email: None,
            employee_number: None,
            org_id: 1,
            roles: vec![Role::Person, Role::Auditor],
            state: PersonState::Active,
            created_at: T,
            failed_logins: 0,
            locked_until: None,
            blocked_at: None,
            email_verified_at: None,
        }
    }

    fn search(lang: Lang, form: &SearchForm, error: Option<&Problem>) -> String {
        let ctx = ctx(lang);
        let events = events();
        let counts = [
            DayCount {
                day: T / 86_400,
                outcome: "reject".into(),
                count: 3,
            },
            DayCount {
                day: T / 86_400 - 1,
                outcome: "accept".into(),
                count: 5,
            },
        ];
        let top = TopFailures {
            usernames: vec![(HOSTILE.into(), 3)],
            sources: vec![("192.0.2.10".into(), 3)],
        };
        let nav = pages::nav(&ctx, "c\"srf", "/audit");
        pages::search(
            &ctx,
            nav,
            &SearchView {
                form,
                events: &events,
                total: 120,
                page_size: 50,
                chart: Some((&counts, (T / 86_400 - 29, T / 86_400))),
                top: &top,
                error,
                scope: Some("Practice <A>"),
            },
        )
        .0
    }

    fn no_hostile_markup(html: &str) {
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>phone"), "{html}");
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;"),
            "{html}"
        );
    }

    #[test]
    fn the_search_page_shows_results_chart_and_tables_in_either_language() {
        let form = SearchForm {
            person: HOSTILE.into(),
            org: "Practice <A>".into(),
            outcome: "reject".into(),
            page: 1,
            ..SearchForm::default()
        };
        let en = search(Lang::En, &form, None);
        assert!(
            en.contains(r#"<html lang="en">"#) && en.contains("<h1>Audit trail</h1>"),
            "{en}"
        );
        no_hostile_markup(&en);
        // What was typed, kept and escaped; the organisation fixed.
        assert!(
            en.contains(
                r#"id="f-person" value="&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;""#
            ),
            "{en}"
        );
        assert!(
            en.contains(r#"id="f-org" value="Practice &#60;A&#62;" readonly"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<option value="reject" selected>reject</option>"#),
            "{en}"
        );
        assert!(
            en.contains(r#"id="scope">You see the events of Practice &#60;A&#62; only"#),
            "{en}"
        );
        // The events: linked to the timeline, the time in words and machine-readable.
        assert!(
            en.contains(r#"<table id="events">"#) && en.contains(r#"<a href="/audit/person/7">"#),
            "{en}"
        );
        assert!(
            en.contains(
                r#"<time datetime="2026-12-05T14:23:00Z">5 December 2026 15:23 CET</time>"#
            ),
            "{en}"
        );
        assert!(
            en.contains("<td>reject (bad_code)</td>") && en.contains("<td>nobody</td>"),
            "{en}"
        );
        // Paging (page 2 of 3) and the exports keep the search.
        assert!(en.contains("120 events; page 2 of 3."), "{en}");
        assert!(
            en.contains(r#"id="newer">Newer</a>"#) && en.contains(r#"id="older">Older</a>"#),
            "{en}"
        );
        assert!(en.contains(r#"href="/audit/export.csv?person=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27%26&amp;org="#)
            || en.contains(r#"href="/audit/export.csv?person=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27%26&#38;org="#), "{en}");
        // The chart and its table; the most failures linked to a search.
        assert!(
            en.contains(r#"<svg id="chart""#)
                && en.contains(r#"aria-label="Login attempts per day by outcome""#),
            "{en}"
        );
        assert!(
            en.contains("<title>5 December 2026: 3 rejected</title>"),
            "{en}"
        );
        assert!(
            en.contains(
                r#"<th scope="row">4 December 2026</th><td>5</td><td>0</td><td>0</td><td>0</td>"#
            ),
            "{en}"
        );
        assert!(
            en.contains(r#"<table id="top-people">"#)
                && en.contains(r#"href="/audit?person=%3Cimg"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<nav aria-label="Audit">"#)
                && en.contains(r#"id="nav-audit" aria-current="page""#),
            "{en}"
        );

        let nl = search(Lang::Nl, &form, None);
        assert!(
            nl.contains(r#"<html lang="nl">"#) && nl.contains("<h1>Audittrail</h1>"),
            "{nl}"
        );
        no_hostile_markup(&nl);
        assert!(
            nl.contains("Inlogpogingen per dag")
                && nl.contains("120 gebeurtenissen; pagina 2 van 3."),
            "{nl}"
        );
        assert!(
            nl.contains("<title>5 december 2026: 3 geweigerd</title>"),
            "{nl}"
        );
        assert!(
            nl.contains(">Zoeken</button>") && nl.contains(">Uitloggen<"),
            "{nl}"
        );
        assert!(
            !nl.contains("Audit trail") && !nl.contains("Most failures"),
            "{nl}"
        );
    }

    #[test]
    fn a_bad_search_says_what_is_wrong_at_its_field() {
        let form = SearchForm {
            from: "yesterday-ish".into(),
            ..SearchForm::default()
        };
        let problem = Problem::NotATime {
            field: "from",
            value: "yesterday-ish".into(),
        };
        let en = search(Lang::En, &form, Some(&problem));
        assert!(
            en.contains(r#"id="form-error">From &#34;yesterday-ish&#34; is not a date"#),
            "{en}"
        );
        assert!(
            en.contains(r#"id="f-from" value="yesterday-ish" placeholder="2026-11-01" aria-describedby="form-error" aria-invalid="true">"#),
            "{en}"
        );
        let nl = search(Lang::Nl, &form, Some(&Problem::NoSuchOrg("<x>".into())));
        assert!(
            nl.contains("Er is geen organisatie &#34;&#60;x&#62;&#34;."),
            "{nl}"
        );
    }

    #[test]
    fn the_timeline_and_subject_access_escape_in_either_language() {
        let p = person();
        for (lang, heading, which) in [
            (
                Lang::En,
                "Timeline of Ann",
                "Every event about this person, newest first.",
            ),
            (
                Lang::Nl,
                "Tijdlijn van Ann",
                "Alle gebeurtenissen over deze persoon, nieuwste eerst.",
            ),
        ] {
            let ctx = ctx(lang);
            let nav = pages::nav(&ctx, "c", "/audit/person/7");
            let html = pages::timeline(&ctx, nav, &p, "Practice <A>", &events(), false).0;
            assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{html}");
            assert!(html.contains(&format!("<h1>{heading} &#60;img")), "{html}");
            assert!(html.contains(which), "{html}");
            assert!(
                html.contains("Practice &#60;A&#62;") && html.contains("person,auditor"),
                "{html}"
            );
            assert!(
                html.contains(r#"<table id="timeline">"#)
                    && html.contains(r#"id="subject-access""#),
                "{html}"
            );
            assert!(
                html.contains(r#"href="/audit/export.csv?person=%3Cimg"#),
                "{html}"
            );
            no_hostile_markup(&html);
        }
        let doc = SubjectAccess {
            generated_at: "2026-12-05T14:23:00Z".into(),
            person: p,
            organisation: None,
            devices: Vec::new(),
            unused_recovery_codes: 4,
            events: events(),
        };
        let en = crate::web::audit::pages::subject_html(&doc).0;
        assert!(
            en.contains("<h1>Everything held about Ann &#60;img"),
            "{en}"
        );
        assert!(
            en.contains("Made 5 December 2026 14:23 UTC by mfa-gateway."),
            "{en}"
        );
        assert!(
            en.contains("Events about this person (2)")
                && en.contains(r#"<table id="subject-events">"#),
            "{en}"
        );
        no_hostile_markup(&en);
        let nl = pages::subject_page(&ctx(Lang::Nl), &doc).0;
        assert!(
            nl.contains("Alles wat over Ann &#60;img") && nl.contains("Ongebruikte herstelcodes"),
            "{nl}"
        );
        no_hostile_markup(&nl);
    }
}
