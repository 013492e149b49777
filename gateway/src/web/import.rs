//! The CSV import on /admin (issue 13): `/admin/orgs/{id}/import`. An org admin (their own
//! organisation) or the operator (any) pastes the file into a text area; "Check" shows every
//! error with its line, or who would be made; "Import" checks again and makes everyone at
//! once (`Gateway::import_people`), then the activation mails go out on a task of their own
//! (`send_import_mails`, each audited). The text area keeps what was typed; every POST
//! carries the session's CSRF token; another organisation is a 404 (audited).

use super::WebState;
use super::admin::{admin, failure};
use super::admin_pages::{Nav, csrf_field, nav};
use super::login::Peer;
use super::pages::{esc, layout};
use super::portal::show;
use crate::model::{OrgId, Organisation, now};
use crate::service::import::{ImportRow, Imported, LineError, MAX_BYTES, MAX_ROWS};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
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

/// What the page shows under the form.
enum Outcome<'a> {
    Nothing,
    Errors(&'a [LineError]),
    Preview(&'a [ImportRow]),
}

fn page(n: &Nav<'_>, org: &Organisation, csv: &str, outcome: &Outcome<'_>) -> Html<String> {
    let below = match outcome {
        Outcome::Nothing => String::new(),
        Outcome::Errors(errors) => {
            let mut items = String::new();
            for e in *errors {
                items.push_str(&format!("<li>{}</li>", esc(&e.to_string())));
            }
            format!(
                r#"<div class="error" role="alert" id="import-errors"><p>Nothing was imported. Correct these lines and check again ({n} errors):</p><ul>{items}</ul></div>"#,
                n = errors.len()
            )
        }
        Outcome::Preview(rows) => {
            let mut table = String::new();
            for r in *rows {
                table.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    r.line,
                    esc(&r.full_name),
                    esc(&r.username),
                    esc(&r.email),
                    esc(&r.employee_number),
                    esc(&r.start_date),
                ));
            }
            format!(
                r#"<h2 id="preview">{n} people to import</h2>
<p>Each gets an activation link by e-mail (valid 7 days) to set a password and link a phone.</p>
<button type="submit" name="action" value="import" id="import">Import {n} people</button>
<table id="import-rows"><thead><tr><th>Line</th><th>Name</th><th>Username</th><th>E-mail</th><th>Employee no.</th><th>Start date</th></tr></thead>
<tbody>
{table}</tbody></table>"#,
                n = rows.len()
            )
        }
    };
    let (errors, preview) = match outcome {
        Outcome::Errors(_) => (below, String::new()),
        _ => (String::new(), below),
    };
    layout(
        "Import people",
        &format!(
            r#"{nav}<h1>Import people into {name}</h1>
<p class="hint">A CSV file (UTF-8; Excel's "CSV UTF-8" works) with a header row: <code>name</code>, <code>email</code>, and if you like <code>employee_number</code>, <code>username</code> (empty: the e-mail address), <code>start_date</code> (YYYY-MM-DD), in any order. At most {rows} people. Nothing is made until every line is right.</p>
{errors}
<form method="post" action="/admin/orgs/{id}/import">{csrf}
<label for="csv">The file's text</label>
<textarea id="csv" name="csv" rows="15" cols="100" spellcheck="false">{csv}</textarea>
<button type="submit" name="action" value="check" class="secondary" id="check">Check</button>
{preview}
</form>"#,
            nav = nav(n),
            name = esc(&org.name),
            rows = MAX_ROWS,
            id = org.id,
            csrf = csrf_field(n.csrf),
            csv = esc(csv),
        ),
    )
}

fn done_page(n: &Nav<'_>, org: &Organisation, made: &[Imported]) -> Html<String> {
    let mut rows = String::new();
    for m in made {
        rows.push_str(&format!(
            r#"<tr><td><a href="/admin/people/{id}">{name}</a></td><td>{user}</td><td>{email}</td></tr>
"#,
            id = m.person.id,
            name = esc(&m.person.full_name),
            user = esc(&m.person.username),
            email = esc(m.person.email.as_deref().unwrap_or("")),
        ));
    }
    layout(
        "People imported",
        &format!(
            r#"{nav}<h1>People imported into {name}</h1>
<p id="imported">{n} people were made. Each is being sent an activation link by e-mail (valid 7 days); a person's page can send a new one.</p>
<table id="imported-people"><thead><tr><th>Name</th><th>Username</th><th>E-mail (activation link sent)</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p><a href="/admin/orgs/{id}">Back to {name}</a></p>"#,
            nav = nav(n),
            name = esc(&org.name),
            n = made.len(),
            id = org.id,
        ),
    )
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

async fn form_page(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<OrgId>,
) -> Response {
    let a = match admin(&state, peer, &headers, None).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match state.gateway.admin_org(&a.actor, id, now()).await {
        Ok(org) => show(
            &state,
            page(&a.nav(Some(&org)), &org, "", &Outcome::Nothing),
        ),
        Err(e) => failure(&e),
    }
}

async fn submit(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<OrgId>,
    request: axum::extract::Request,
) -> Response {
    // Signed in with a role first: the body (up to BODY_LIMIT) is read only for an admin.
    if let Err(r) = admin(&state, peer, &headers, None).await {
        return r;
    }
    let form = match <Form<ImportForm> as axum::extract::FromRequest<WebState>>::from_request(
        request, &state,
    )
    .await
    {
        Ok(Form(form)) => form,
        Err(rejection) => return axum::response::IntoResponse::into_response(rejection),
    };
    let a = match admin(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let t = now();
    let org = match state.gateway.admin_org(&a.actor, id, t).await {
        Ok(org) => org,
        Err(e) => return failure(&e),
    };
    let n = a.nav(Some(&org));
    let csv = form.csv.as_bytes();
    let refused = |errors: &[LineError]| {
        with_status(
            show(&state, page(&n, &org, &form.csv, &Outcome::Errors(errors))),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if form.action != "import" {
        return match state.gateway.check_import(&a.actor, org.id, csv, t).await {
            Ok(Ok((_, rows))) => show(&state, page(&n, &org, &form.csv, &Outcome::Preview(&rows))),
            Ok(Err(errors)) => refused(&errors),
            Err(e) => failure(&e),
        };
    }
    let base = state.provider.settings().issuer.clone();
    match state
        .gateway
        .import_people(&a.actor, org.id, csv, &base, t)
        .await
    {
        Ok(Ok(made)) => {
            let res = show(&state, done_page(&n, &org, &made));
            let gateway = state.gateway.clone();
            let actor = a.actor.clone();
            tokio::spawn(async move {
                gateway.send_import_mails(&actor, &made, t, |_| {}).await;
            });
            res
        }
        Ok(Err(errors)) => refused(&errors),
        Err(e) => failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_import_form_gets_the_larger_limit() {
        assert!(is_import("/admin/orgs/12/import"));
        assert!(!is_import("/admin/orgs//import"));
        assert!(!is_import("/admin/orgs/12/requests"));
        assert!(!is_import("/admin/orgs/1/2/import"));
        assert!(!is_import("/portal/import"));
    }
}
