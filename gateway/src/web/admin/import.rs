//! The CSV import on /admin (issue 13): `/admin/orgs/{id}/import`. An org admin (their own
//! organisation) or the operator (any) pastes the file into a text area; "Check" shows every
//! error with its line, or who would be made; "Import" checks again and makes everyone at
//! once (`Gateway::import_people`), then the activation mails go out on a task of their own
//! (`send_import_mails`, each audited). The text area keeps what was typed; every POST
//! carries the session's CSRF token; another organisation is a 404 (audited).

use crate::i18n::Arg;
use crate::model::{OrgId, Organisation};
use crate::service::import::{ImportRow, Imported, LineError, MAX_BYTES, MAX_ROWS};
use crate::web::WebState;
use crate::web::admin::Admin;
use crate::web::admin::pages::Viewer;
use crate::web::admin::templates::{ImportPage, ImportedPage};
use crate::web::portal::show;
use crate::web::templates::{Ctx, render};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

/// The largest import form: the file's limit, form-encoded (up to 3 bytes a byte), and room.
pub const BODY_LIMIT: usize = 3 * MAX_BYTES + 64 * 1024;

/// Is `path` the import form (which alone may send more than 64 KiB)?
pub fn is_import(path: &str) -> bool {
    path.strip_prefix("/admin/orgs/")
        .and_then(|rest| rest.strip_suffix("/import"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

pub fn routes() -> Router<WebState> {
    Router::new().route(
        "/admin/orgs/{id}/import",
        get(form_page)
            .post(submit)
            .layer(DefaultBodyLimit::max(BODY_LIMIT)),
    )
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
    #[serde(default)]
    action: String,
}

impl std::fmt::Debug for ImportForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportForm")
            .field("action", &self.action)
            .field("bytes", &self.csv.len())
            .finish_non_exhaustive()
    }
}

/// What the page shows with the form.
enum Outcome<'a> {
    Nothing,
    Errors(&'a [LineError]),
    Preview(&'a [ImportRow]),
}

/// An error of the file in the page's language: its line (0: the file as a whole) and what
/// is wrong (the service's refusal).
fn line_error(ctx: &Ctx, e: &LineError) -> String {
    let message = ctx.said(&e.why).into();
    if e.line == 0 {
        ctx.ta("admin-import-error-file", &[("message", message)])
    } else {
        ctx.ta(
            "admin-import-error-line",
            &[
                (
                    "line",
                    Arg::Number(i64::try_from(e.line).unwrap_or(i64::MAX)),
                ),
                ("message", message),
            ],
        )
    }
}

fn people_count(n: usize) -> Arg {
    Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
}

fn page(v: Viewer<'_>, org: &Organisation, csv: &str, outcome: &Outcome<'_>) -> Html<String> {
    let ctx = v.ctx;
    let (errors, preview) = match outcome {
        Outcome::Nothing => (Vec::new(), None),
        Outcome::Errors(errors) => (errors.iter().map(|e| line_error(ctx, e)).collect(), None),
        Outcome::Preview(rows) => (Vec::new(), Some(*rows)),
    };
    let n = people_count(preview.map_or(0, <[ImportRow]>::len));
    render(&ImportPage {
        ctx,
        nav: v.nav(Some(org), ""),
        csrf: v.csrf,
        org,
        heading: ctx.ta("admin-import-heading", &[("org", org.name.as_str().into())]),
        hint: ctx.ta("admin-import-hint", &[("rows", people_count(MAX_ROWS))]),
        csv,
        errors_intro: ctx.ta(
            "admin-import-errors",
            &[("count", people_count(errors.len()))],
        ),
        errors,
        preview,
        preview_heading: ctx.ta("admin-import-preview", &[("count", n.clone())]),
        import_button: ctx.ta("admin-import-button", &[("count", n)]),
    })
}

fn done_page(v: Viewer<'_>, org: &Organisation, made: &[Imported]) -> Html<String> {
    let ctx = v.ctx;
    render(&ImportedPage {
        ctx,
        nav: v.nav(Some(org), ""),
        org,
        heading: ctx.ta(
            "admin-imported-heading",
            &[("org", org.name.as_str().into())],
        ),
        made_text: ctx.ta(
            "admin-imported-text",
            &[("count", people_count(made.len()))],
        ),
        made,
        back: ctx.ta("admin-imported-back", &[("org", org.name.as_str().into())]),
    })
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

async fn form_page(State(state): State<WebState>, a: Admin, Path(id): Path<OrgId>) -> Response {
    match state.gateway.admin_org(&a.actor, id, a.c.now).await {
        Ok(org) => show(&state, page(a.viewer(), &org, "", &Outcome::Nothing)),
        Err(e) => a.failure(&e),
    }
}

async fn submit(
    State(state): State<WebState>,
    a: Admin,
    Path(id): Path<OrgId>,
    request: axum::extract::Request,
) -> Response {
    // Signed in with a role first (the guard): the body (up to BODY_LIMIT) is read only for
    // an admin, then its CSRF token is checked.
    let form = match <Form<ImportForm> as axum::extract::FromRequest<WebState>>::from_request(
        request, &state,
    )
    .await
    {
        Ok(Form(form)) => form,
        Err(_) => return crate::web::refused("error-bad-form"),
    };
    if !a.c.session.csrf_ok(&form.csrf) {
        return a.bad_form();
    }
    let t = a.c.now;
    let org = match state.gateway.admin_org(&a.actor, id, t).await {
        Ok(org) => org,
        Err(e) => return a.failure(&e),
    };
    let n = a.viewer();
    let csv = form.csv.as_bytes();
    let refused = |errors: &[LineError]| {
        with_status(
            show(&state, page(n, &org, &form.csv, &Outcome::Errors(errors))),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if form.action != "import" {
        return match state.gateway.check_import(&a.actor, org.id, csv, t).await {
            Ok(Ok((_, rows))) => show(&state, page(n, &org, &form.csv, &Outcome::Preview(&rows))),
            Ok(Err(errors)) => refused(&errors),
            Err(e) => a.failure(&e),
        };
    }
    let base = state.provider.settings().issuer.clone();
    match state
        .gateway
        .import_people(&a.actor, org.id, csv, &base, t)
        .await
    {
        Ok(Ok(made)) => {
            let res = show(&state, done_page(n, &org, &made));
            let gateway = state.gateway.clone();
            let actor = a.actor.clone();
            tokio::spawn(async move {
                gateway.send_import_mails(&actor, &made, t, |_| {}).await;
            });
            res
        }
        Ok(Err(errors)) => refused(&errors),
        Err(e) => a.failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::service::Refusal;

    #[test]
    fn only_the_import_form_gets_the_larger_limit() {
        assert!(is_import("/admin/orgs/12/import"));
        assert!(!is_import("/admin/orgs//import"));
        assert!(!is_import("/admin/orgs/12/requests"));
        assert!(!is_import("/admin/orgs/1/2/import"));
        assert!(!is_import("/portal/import"));
    }

    #[test]
    fn the_import_page_keeps_the_text_and_names_each_line_in_either_language() {
        let org = Organisation {
            id: 4,
            name: "<Praktijk & Co>".into(),
            created_at: 0,
        };
        let errors = [
            LineError {
                line: 3,
                why: Refusal::new("svc-csv-bad-email").with("email", "<x>"),
            },
            LineError {
                line: 0,
                why: Refusal::new("svc-csv-no-people"),
            },
        ];
        let rows = [ImportRow {
            line: 2,
            full_name: "Zed <Zonder>".into(),
            email: "zed@example.org".into(),
            employee_number: String::new(),
            username: "zed".into(),
            start_date: String::new(),
        }];
        let csv = "name,email\n</textarea><script>x</script>";
        for (lang, line, file, import) in [
            (
                Lang::En,
                "line 3: the e-mail address &#60;x&#62; does not look right",
                "file: the file has a header row but no people",
                "Import 1 people",
            ),
            (
                Lang::Nl,
                "regel 3: het e-mailadres &#60;x&#62; lijkt niet te kloppen",
                "bestand: het bestand heeft een kopregel maar geen personen",
                "1 personen importeren",
            ),
        ] {
            let ctx = Ctx::new(lang, jiff::tz::TimeZone::UTC);
            let v = Viewer {
                ctx: &ctx,
                csrf: "c",
                operator: false,
            };
            let html = page(v, &org, csv, &Outcome::Errors(&errors)).0;
            assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{html}");
            assert!(
                html.contains("&#60;Praktijk &#38; Co&#62;") && !html.contains("<Praktijk"),
                "{html}"
            );
            assert!(
                html.contains("&#60;/textarea&#62;&#60;script&#62;x&#60;/script&#62;</textarea>"),
                "the text kept, escaped: {html}"
            );
            assert!(html.contains(line) && html.contains(file), "{html}");
            assert!(
                html.contains(r#"id="import-errors""#) && !html.contains(r#"id="import""#),
                "{html}"
            );
            let html = page(v, &org, csv, &Outcome::Preview(&rows)).0;
            assert!(
                html.contains(import) && html.contains("Zed &#60;Zonder&#62;"),
                "{html}"
            );
            assert!(!html.contains("import-errors"), "{html}");
        }
    }
}
