//! The administration pages' templates (`gateway/templates/admin/`): typed contexts with
//! every text already in the signed-in person's language (or named by its catalogue key in
//! the template), escaped by askama. `admin/pages.rs` fills them from the model.

use crate::model::{ApiToken, LifecycleRequest, Organisation, Person, RequestId, UnixTime};
use crate::service::import::{ImportRow, Imported};
use crate::web::login::remember::RememberedSection;
use crate::web::portal::sso_sessions::SsoSection;
use crate::web::templates::{Ctx, Nav};
use askama::Template;

/// The administration's navigation: home, the organisation in view, and for the operator the
/// queue and the token stock; the sign-out button.
pub fn nav(ctx: &Ctx, csrf: &str, operator: bool, org: Option<&Organisation>, here: &str) -> Nav {
    let mut nav = Nav::new(ctx.t("admin-nav-label")).link(
        "/admin",
        "nav-home",
        ctx.t("admin-nav-home"),
        here,
    );
    if let Some(org) = org {
        nav = nav.link(
            format!("/admin/orgs/{}", org.id),
            "nav-org",
            org.name.clone(),
            here,
        );
    }
    if operator {
        nav = nav
            .link(
                "/admin/requests",
                "nav-queue",
                ctx.t("admin-nav-queue"),
                here,
            )
            .link("/admin/stock", "nav-stock", ctx.t("admin-nav-stock"), here);
    }
    nav.sign_out(ctx, csrf)
}

/// One line of a table of requests.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: RequestId,
    pub org: String,
    pub kind: String,
    pub what: String,
    pub status: String,
    pub updated: UnixTime,
}

/// The operator's start page: the organisations and the open requests.
#[derive(Debug, Template)]
#[template(path = "admin/home.html")]
pub struct HomePage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub orgs: &'a [Organisation],
    pub open: Vec<RequestRow>,
}

/// The operator's queue: open requests, then closed ones.
#[derive(Debug, Template)]
#[template(path = "admin/queue.html")]
pub struct QueuePage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub open: Vec<RequestRow>,
    pub closed: Vec<RequestRow>,
}

/// One line of the token stock.
#[derive(Debug, Clone)]
pub struct StockRow {
    /// The organisation's id, or `provider` for the unallocated stock.
    pub id: String,
    pub name: String,
    pub in_stock: u64,
    pub assigned: u64,
    pub lost: u64,
    pub retired: u64,
    pub reserved: u64,
    pub switch_over: Option<UnixTime>,
}

#[derive(Debug, Template)]
#[template(path = "admin/stock.html")]
pub struct StockPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub rows: Vec<StockRow>,
}

/// A person in an organisation's list.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub number: String,
    pub state: String,
}

/// A RADIUS or OpenID Connect client that serves the organisation.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub kind: String,
    pub name: String,
    pub serves: String,
}

/// What only the operator sees on an organisation's page.
#[derive(Debug)]
pub struct OperatorView<'a> {
    pub tokens: &'a [ApiToken],
    /// The switch-over date as the form's value (YYYY-MM-DD), or empty.
    pub switch_over: String,
    /// A token just made, shown once.
    pub new_token: Option<&'a str>,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/org.html")]
pub struct OrgPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub csrf: &'a str,
    pub org: &'a Organisation,
    pub people: Vec<PersonRow>,
    pub policy: &'a [String],
    pub clients: Vec<ClientRow>,
    /// The kinds of request (`as_str`, label), each with its form.
    pub kinds: Vec<(&'static str, String)>,
    pub requests: Vec<RequestRow>,
    pub operator: Option<OperatorView<'a>>,
}

/// A HOTP token's resync form under its row.
#[derive(Debug, Clone, Default)]
pub struct ResyncView {
    pub legend: String,
    pub first: String,
    pub second: String,
    /// Why the codes typed were refused (the form keeps them).
    pub error: Option<String>,
    /// Resynchronised just now.
    pub done: bool,
}

/// A linked device.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub serial: String,
    pub state: String,
    pub added: UnixTime,
    pub used: Option<UnixTime>,
    pub resync: Option<ResyncView>,
}

/// A login attempt.
#[derive(Debug, Clone)]
pub struct LoginRow {
    pub time: UnixTime,
    /// `accept`, `reject`, ... (the class of the cell).
    pub outcome_code: &'static str,
    pub outcome: String,
    pub reason: String,
    pub channel: String,
    pub client: String,
    pub source: String,
    pub device: String,
}

/// The lockout state and the recent logins, every line already in words.
#[derive(Debug, Clone)]
pub struct ActivityView {
    pub failures: String,
    pub locked: String,
    pub blocked: String,
    pub throttled: String,
    pub caption: String,
    pub logins: Vec<LoginRow>,
}

#[derive(Debug, Template)]
#[template(path = "admin/person.html")]
pub struct PersonPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub csrf: &'a str,
    pub p: &'a Person,
    pub email: String,
    /// "employee no. 12" in words.
    pub number: String,
    pub state: String,
    /// The access paragraph (blocked, locked or not).
    pub access: String,
    /// A refusal, and the id of the field it is about ("" for none).
    pub error: Option<(String, &'static str)>,
    /// What was typed in the refused field, shown again.
    pub typed: String,
    /// Something shown once: what it is, and the value.
    pub shown: Option<(String, String)>,
    pub devices: Vec<DeviceRow>,
    pub activity: ActivityView,
    /// The signed-in browsers' section (`portal/sso_sessions.html`).
    pub sso: SsoSection<'a>,
    /// The remembered browsers' section (`portal/remembered.html`).
    pub remembered: RememberedSection<'a>,
    pub operator: bool,
}

impl PersonPage<'_> {
    /// Is the page's refusal about the field `id`?
    fn invalid(&self, id: &str) -> bool {
        self.error.as_ref().is_some_and(|(_, on)| *on == id)
    }
}

/// A field of a request form.
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// `text`, `checkbox` or `person` (a choice of the organisation's people).
    pub kind: &'static str,
    /// The input's id and name.
    pub id: &'static str,
    pub label: String,
    pub value: String,
    pub checked: bool,
    pub hint: Option<String>,
    /// A heading before the field.
    pub heading: Option<String>,
    /// For `person`: (id, "name (username)").
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Template)]
#[template(path = "admin/request_form.html")]
pub struct RequestFormPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub csrf: &'a str,
    pub org_id: i64,
    pub title: String,
    pub for_org: String,
    /// The kind's `as_str` (the hidden `type` field).
    pub kind: &'static str,
    pub fields: Vec<Field>,
    /// A line under the fields.
    pub hint: Option<String>,
    pub error: Option<String>,
}

/// A step of a request's history.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub time: UnixTime,
    pub status: String,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/request.html")]
pub struct RequestPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub csrf: &'a str,
    pub r: &'a LifecycleRequest,
    pub heading: String,
    pub org: &'a str,
    /// "asked by X on" (the time follows).
    pub asked_by: String,
    pub status: String,
    /// What the request asks for: (what, value) in words.
    pub data: Vec<(String, String)>,
    pub history: Vec<StepRow>,
    /// An activation link, shown once.
    pub link: Option<&'a str>,
    pub error: Option<String>,
    pub can_take: bool,
    pub can_finish: bool,
    pub can_reject: bool,
    /// The reservation's count when it can still change.
    /// (As typed when a change was refused.)
    pub reservation: Option<String>,
}

/// The CSV import: the text area (what was typed kept), every error with its line, or who
/// would be made.
#[derive(Debug, Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub csrf: &'a str,
    pub org: &'a Organisation,
    pub heading: String,
    pub hint: String,
    pub csv: &'a str,
    pub errors_intro: String,
    /// One line per error, in words.
    pub errors: Vec<String>,
    pub preview: Option<&'a [ImportRow]>,
    pub preview_heading: String,
    pub import_button: String,
}

/// After an import: who was made.
#[derive(Debug, Template)]
#[template(path = "admin/imported.html")]
pub struct ImportedPage<'a> {
    pub ctx: &'a Ctx,
    pub nav: Nav,
    pub org: &'a Organisation,
    pub heading: String,
    pub made_text: String,
    pub made: &'a [Imported],
    pub back: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::model::{
        LifecycleRequest, PersonState, RequestData, RequestStatus, RequestStep, StockCount,
    };
    use crate::service::admin_tools::PersonActivity;
    use crate::web::admin::pages::{self as ap, OperatorPart, PersonField, PersonParts, Viewer};
    use crate::web::admin::tools::Tools;
    use jiff::tz::TimeZone;
    use std::collections::HashMap;

    const HOSTILE: &str = "<script>alert(\"x\")</script> & Co";
    const ESCAPED: &str = "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; Co";
    /// 5 December 2026 14:23 UTC.
    const T: UnixTime = 1_796_480_580;

    fn ctx(lang: Lang) -> Ctx {
        Ctx::new(lang, TimeZone::get("Europe/Amsterdam").expect("zone"))
    }

    fn viewer(ctx: &Ctx) -> Viewer<'_> {
        Viewer {
            ctx,
            csrf: "c\"s",
            operator: true,
        }
    }

    fn org() -> Organisation {
        Organisation {
            id: 7,
            name: HOSTILE.into(),
            created_at: T,
        }
    }

    fn person() -> Person {
        Person {
            id: 12,
            public_id: "p".into(),
            username: "ann<".into(),
            full_name: HOSTILE.into(),
            email: Some("ann@example.org".into()),
            employee_number: None,
            org_id: 7,
            roles: Vec::new(),
            state: PersonState::Active,
            created_at: T,
            failed_logins: 2,
            locked_until: Some(T + 600),
            blocked_at: None,
            email_verified_at: None,
        }
    }

    fn request() -> LifecycleRequest {
        LifecycleRequest {
            id: 3,
            org_id: 7,
            data: RequestData::RemoveAccount {
                person_id: 12,
                end_date: "2099-01-01".into(),
                tokens: crate::model::TokenFate::Lost,
            },
            status: RequestStatus::Submitted,
            requested_by: HOSTILE.into(),
            requester_id: None,
            person_id: None,
            scheduled_at: Some(4_070_908_800),
            created_at: T,
            updated_at: T,
        }
    }

    /// Every page's common ground: the language, the navigation, no raw hostile name.
    fn common(html: &str, lang: Lang) {
        assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{html}");
        assert!(
            html.contains(r#"id="nav-home""#) && html.contains(r#"id="logout""#),
            "{html}"
        );
        assert!(
            html.contains(r#"id="nav-queue""#) && html.contains(r#"id="nav-stock""#),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains(r#"value="c&#34;s""#),
            "the CSRF token escaped: {html}"
        );
    }

    #[test]
    fn the_start_page_queue_and_stock_in_either_language() {
        let orgs = [org()];
        let names = HashMap::from([(12, HOSTILE.to_owned())]);
        let org_names = HashMap::from([(7, HOSTILE.to_owned())]);
        for (lang, title, status) in [
            (Lang::Nl, "Beheer", "ingediend"),
            (Lang::En, "Administration", "submitted"),
        ] {
            let c = ctx(lang);
            let rows = ap::request_rows(&c, &[request()], &org_names, &names);
            let home = ap::operator_home(viewer(&c), &orgs, rows.clone()).0;
            common(&home, lang);
            assert!(home.contains(&format!("<h1>{title}</h1>")), "{home}");
            assert!(
                home.contains(&format!(
                    r#"<a href="/admin/orgs/7" id="org-7">{ESCAPED}</a>"#
                )),
                "{home}"
            );
            assert!(
                home.contains(&format!(r#"<td class="status">{status}</td>"#)),
                "{home}"
            );
            assert!(
                home.contains(r#"<time datetime="2026-12-05T14:23:00Z">5 "#),
                "{home}"
            );
            let queue = ap::queue(viewer(&c), rows, Vec::new()).0;
            common(&queue, lang);
            assert!(
                queue.contains(r#"id="requests-open""#)
                    && queue.contains(r#"id="no-requests-closed""#),
                "{queue}"
            );
            assert!(
                queue.contains(r#"href="/admin/requests" id="nav-queue" aria-current="page""#),
                "{queue}"
            );
            let counts = [
                StockCount {
                    org_id: Some(7),
                    in_stock: 2,
                    reserved: 30,
                    ..StockCount::default()
                },
                StockCount::default(),
            ];
            let stock = ap::stock(viewer(&c), &counts, &org_names, &HashMap::from([(7, T)])).0;
            common(&stock, lang);
            assert!(
                stock.contains(r#"<tr id="stock-7">"#) && stock.contains(r#"class="in-stock">2<"#),
                "{stock}"
            );
            assert!(stock.contains(r#"<tr id="stock-provider">"#), "{stock}");
        }
        let en = ap::stock(viewer(&ctx(Lang::En)), &[], &org_names, &HashMap::new()).0;
        assert!(en.contains("Hardware token stock"), "{en}");
        let nl = ap::stock(viewer(&ctx(Lang::Nl)), &[], &org_names, &HashMap::new()).0;
        assert!(nl.contains("Voorraad hardwaretokens"), "{nl}");
    }

    #[test]
    fn an_organisations_page_escapes_its_name_and_shows_the_operators_part() {
        let org = org();
        let people = [person()];
        for (lang, heading) in [(Lang::Nl, "Personen"), (Lang::En, "People")] {
            let c = ctx(lang);
            let html = ap::org_page(
                viewer(&c),
                &org,
                &people,
                Vec::new(),
                Some(OperatorPart {
                    tokens: &[],
                    switch_over: Some(T),
                    new_token: Some("12.<secret>"),
                    error: Some("<b>no</b>".into()),
                    date_typed: None,
                }),
                &[("radius", "vpn<".into(), true)],
                &["lockout after 5 wrong codes".into()],
            )
            .0;
            common(&html, lang);
            assert!(
                html.contains(&format!(r#"<h1 id="org-name">{ESCAPED}</h1>"#)),
                "{html}"
            );
            assert!(
                html.contains(&format!(
                    r#"id="nav-org" aria-current="page">{ESCAPED}</a>"#
                )),
                "{html}"
            );
            assert!(html.contains(&format!("<h2>{heading}</h2>")), "{html}");
            assert!(
                html.contains(r#"<tr id="person-12">"#) && html.contains("ann&#60;"),
                "{html}"
            );
            assert!(
                html.contains(r#"<code id="api-token">12.&#60;secret&#62;</code>"#),
                "{html}"
            );
            assert!(
                html.contains(r#"value="2026-12-05""#),
                "the switch-over date: {html}"
            );
            assert!(html.contains("&#60;b&#62;no&#60;/b&#62;"), "{html}");
            assert!(html.contains(r#"id="switch-over" name="date" value="2026-12-05" aria-describedby="form-error" aria-invalid="true""#), "{html}");
            assert!(
                html.contains(r#"id="new-new_employee""#) && html.contains("vpn&#60;"),
                "{html}"
            );
        }
    }

    #[test]
    fn a_persons_page_in_either_language_with_its_tools() {
        let org = org();
        let p = person();
        let activity = PersonActivity {
            logins: Vec::new(),
            failed_logins: 3,
            locked_until: None,
            blocked_at: None,
            password_failures: Vec::new(),
        };
        for (lang, never, locked) in [
            (Lang::Nl, "Nog geen inlogpogingen.", "Niet geblokkeerd"),
            (Lang::En, "No sign-in attempts yet.", "Not locked"),
        ] {
            let c = ctx(lang);
            let tools = Tools::default();
            let html = ap::person_page(
                viewer(&c),
                &org,
                &p,
                PersonParts {
                    devices: &[],
                    activity: crate::web::admin::tools::activity(&c, &activity, T),
                    tools: &tools,
                    sso: crate::web::portal::sso_sessions::admin_section("c", p.id, &[]),
                    remembered: RememberedSection {
                        csrf: "c",
                        base: format!("/admin/people/{}/browsers", p.id),
                        browsers: Vec::new(),
                        admin: true,
                    },
                    shown: Some(("<what>".into(), "<code>".into())),
                    error: Some(("<why>".into(), PersonField::Minutes("<typed>".into()))),
                },
            )
            .0;
            common(&html, lang);
            assert!(
                html.contains(&format!(r#"<h1 id="person-name">{ESCAPED}</h1>"#)),
                "{html}"
            );
            assert!(html.contains(never), "{html}");
            assert!(
                html.contains(&format!(r#"<li id="lockout-locked">{locked}</li>"#)),
                "{html}"
            );
            assert!(
                html.contains(r#"<code id="shown-secret">&#60;code&#62;</code>"#),
                "{html}"
            );
            assert!(
                html.contains(r#"id="form-error">&#60;why&#62;</p>"#),
                "{html}"
            );
            assert!(
                html.contains(
                    r#"name="minutes" value="&#60;typed&#62;" aria-describedby="form-error""#
                ),
                "{html}"
            );
            assert!(
                !html.contains(r#"name="serial" maxlength="64" aria-describedby"#),
                "{html}"
            );
            assert!(
                html.contains(r#"id="subject-access""#),
                "the operator's links: {html}"
            );
            assert!(
                html.contains(r#"action="/admin/people/12/block""#),
                "{html}"
            );
        }
    }

    #[test]
    fn a_request_and_its_form_in_either_language() {
        let org = org();
        let r = request();
        let names = HashMap::new();
        let history = [RequestStep {
            time: T,
            status: RequestStatus::Submitted,
            actor: HOSTILE.into(),
            note: None,
        }];
        for (lang, heading, scheduled) in [
            (
                Lang::Nl,
                "Aanvraag #3: Account verwijderen",
                "1 januari 2099",
            ),
            (Lang::En, "Request #3: Remove account", "1 January 2099"),
        ] {
            let c = ctx(lang);
            let html = ap::request_page(
                viewer(&c),
                &r,
                &org,
                &history,
                &names,
                false,
                Some("https://x/<a>"),
                None,
                None,
            )
            .0;
            common(&html, lang);
            assert!(html.contains(&format!("<h1>{heading}</h1>")), "{html}");
            assert!(
                html.contains(scheduled) && html.contains(r#"id="scheduled""#),
                "{html}"
            );
            assert!(
                html.contains(r#"<code id="activation-link">https://x/&#60;a&#62;</code>"#),
                "{html}"
            );
            assert!(
                html.contains(r#"id="take""#) && html.contains(r#"id="reject""#),
                "{html}"
            );
            assert!(
                !html.contains(r#"id="done""#),
                "a scheduled request is done by its date: {html}"
            );
            let fields = ap::RequestFields {
                full_name: "\"Dirk\" <typed>".into(),
                ..ap::RequestFields::default()
            };
            let form = ap::request_form(
                viewer(&c),
                &org,
                crate::model::RequestKind::NewEmployee,
                &[],
                &fields,
                Some("<bad>".into()),
            )
            .0;
            common(&form, lang);
            assert!(
                form.contains(r#"value="&#34;Dirk&#34; &#60;typed&#62;""#),
                "{form}"
            );
            assert!(
                form.contains(r#"<input type="hidden" name="type" value="new_employee">"#),
                "{form}"
            );
            assert!(
                form.contains(r#"aria-describedby="form-error hint-email" aria-invalid="true""#),
                "{form}"
            );
            assert!(
                form.contains(&format!(">{ESCAPED}<")) || form.contains(ESCAPED),
                "{form}"
            );
        }
    }
}
