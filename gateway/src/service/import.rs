//! Bulk onboarding without a directory (issue 13): `person import FILE.csv --org ORG` and the
//! import page on /admin. A CSV file of people is checked as a whole (every error with its
//! line number, all at once); only a file without errors is imported, in one transaction
//! (each person made without a password, with an activation link, audited `person_created`
//! and `activation_link_issued` like a completed joiner); then each gets their activation
//! link by e-mail (`activation_notice`, audited `mail_sent`).
//!
//! The file: a header row is required, with the columns `name`, `email` (required) and
//! `employee_number`, `username`, `start_date` (optional), case-insensitive, in any order.
//! Fields are separated by commas (or semicolons, as Dutch Excel writes, when the header has
//! semicolons and no comma), may be quoted (`"..."`, a quote inside doubled, line breaks
//! allowed inside); a UTF-8 byte order mark is skipped; blank lines are ignored. At most
//! `MAX_ROWS` people and `MAX_BYTES`. An empty username becomes the e-mail address (as for a
//! joiner). The start date (`YYYY-MM-DD`) is kept in the `person_created` event: as for a
//! joiner, there is no start-date scheduler, so the account and its link (valid 7 days) are
//! made at once; a later start can get a new link from the person's page.
//!
//! The parser and the file's own checks are plain functions (`parse_people`); the store
//! checks (a username taken) and the writing are `Gateway` methods.

use super::lifecycle::{ACTIVATION_SECONDS, clean, email_ok, new_secret, parse_date};
use super::refusal::number;
use super::*;
use crate::model::Role;
use std::collections::HashMap;

/// The most people one file may hold.
pub const MAX_ROWS: usize = 10_000;
/// The largest file (2 MiB).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The columns a file may have (the first two are required).
pub const COLUMNS: [&str; 5] = ["name", "email", "employee_number", "username", "start_date"];

/// One person of the file, checked and tidied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line of the file the record starts on (the header is line 1).
    pub line: usize,
    pub full_name: String,
    pub email: String,
    /// Empty: none.
    pub employee_number: String,
    /// Normalised (the e-mail address when the file left it empty).
    pub username: String,
    /// `YYYY-MM-DD` or empty.
    pub start_date: String,
}

/// What is wrong with the file, and where (line 0: the file as a whole): a `svc-*` key and
/// its arguments, so a page says it in the person's language (`Refusal::text`); `Display`
/// is English (the CLI).
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub why: Refusal,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "file: {}", self.why)
        } else {
            write!(f, "line {}: {}", self.line, self.why)
        }
    }
}

fn file_error(why: Refusal) -> Vec<LineError> {
    vec![LineError { line: 0, why }]
}

/// A value of the file as a text's argument: quoted, control characters escaped.
fn quoted(value: &str) -> crate::i18n::Arg {
    format!("{value:?}").into()
}

/// One person made by an import, with their activation link (a credential: mailed, never
/// shown on the org admin's page).
#[derive(Debug, Clone)]
pub struct Imported {
    pub line: usize,
    pub person: Person,
    pub link: SecretString,
    pub expires_at: UnixTime,
}

/// The records of a CSV text: each with the line it starts on and its fields.
fn records(text: &str, delimiter: char) -> Result<Vec<(usize, Vec<String>)>, LineError> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut start) = (1, 1);
    let (mut in_quotes, mut after_quote) = (false, false);
    let mut chars = text.chars().peekable();
    let error = |line, key: &'static str| LineError {
        line,
        why: Refusal::new(key),
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !after_quote => in_quotes = true,
            '"' => {
                return Err(error(line, "svc-csv-quote-inside"));
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
                after_quote = false;
            }
            _ if after_quote => {
                return Err(error(line, "svc-csv-text-after-quote"));
            }
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err(error(start, "svc-csv-quote-open"));
    }
    if !field.is_empty() || !fields.is_empty() || after_quote {
        fields.push(field);
        out.push((start, fields));
    }
    Ok(out)
}

/// Parse and check a file of people: the rows, or every error found (the file's own checks:
/// format, columns, size, each field, duplicates within the file). No store is consulted.
pub fn parse_people(bytes: &[u8]) -> Result<Vec<ImportRow>, Vec<LineError>> {
    let (rows, errors) = parse_rows(bytes)?;
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// As `parse_people`, but with the rows read (every row of the right width) next to the
/// errors of single lines, so the store checks can add theirs; `Err` when the file as a
/// whole cannot be read.
fn parse_rows(bytes: &[u8]) -> Result<(Vec<ImportRow>, Vec<LineError>), Vec<LineError>> {
    if bytes.len() > MAX_BYTES {
        return Err(file_error(
            Refusal::new("svc-csv-too-large").with("mib", number(MAX_BYTES / (1024 * 1024))),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            return Err(vec![LineError {
                line,
                why: Refusal::new("svc-csv-not-utf8"),
            }]);
        }
    };
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = if header_line.contains(';') && !header_line.contains(',') {
        ';'
    } else {
        ','
    };
    let records: Vec<_> = records(text, delimiter)
        .map_err(|e| vec![e])?
        .into_iter()
        .filter(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()))
        .collect();
    let Some(((header_at, header), rows)) = records.split_first() else {
        return Err(file_error(
            Refusal::new("svc-csv-empty").with("columns", COLUMNS.join(",")),
        ));
    };
    let mut errors = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if at.insert(*c, i).is_some() => errors.push(LineError {
                line: *header_at,
                why: Refusal::new("svc-csv-column-twice").with("column", *c),
            }),
            Some(_) => {}
            None => errors.push(LineError {
                line: *header_at,
                why: Refusal::new("svc-csv-column-unknown")
                    .with("column", quoted(&name))
                    .with("columns", COLUMNS.join(", ")),
            }),
        }
    }
    for required in &COLUMNS[..2] {
        if !at.contains_key(required) {
            errors.push(LineError {
                line: *header_at,
                why: Refusal::new("svc-csv-column-missing").with("column", *required),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(file_error(Refusal::new("svc-csv-no-people")));
    }
    if rows.len() > MAX_ROWS {
        return Err(file_error(
            Refusal::new("svc-csv-too-many")
                .with("count", number(rows.len()))
                .with("max", number(MAX_ROWS)),
        ));
    }
    let (mut by_user, mut by_email, mut by_number) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    let mut out = Vec::with_capacity(rows.len());
    for (line, fields) in rows {
        let line = *line;
        let mut fail = |why: Refusal| {
            errors.push(LineError { line, why });
        };
        if fields.len() != header.len() {
            fail(
                Refusal::new("svc-csv-fields")
                    .with("count", number(fields.len()))
                    .with("header", number(header.len())),
            );
            continue;
        }
        let get = |c: &str| at.get(c).map_or("", |i| fields[*i].as_str());
        let mut check =
            |column: &str, what, max, required| match clean(get(column), what, max, required) {
                Ok(v) => v,
                Err(ServiceError::Refused(why)) => {
                    fail(why);
                    String::new()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an import field was refused without a reason");
                    fail(Refusal::new("svc-csv-field").with("column", column.to_owned()));
                    String::new()
                }
            };
        let full_name = check("name", "name", 200, true);
        let email = check("email", "e-mail address", 254, true);
        let employee_number = check("employee_number", "employee number", 64, false);
        let username = check("username", "username", 254, false);
        let start_date = check("start_date", "start date", 10, false);
        if !email.is_empty() && !email_ok(&email) {
            fail(Refusal::new("svc-csv-bad-email").with("email", quoted(&email)));
        }
        if !start_date.is_empty() && parse_date(&start_date).is_none() {
            fail(Refusal::new("svc-csv-bad-date").with("date", quoted(&start_date)));
        }
        let username = crate::store::normalise_username(if username.is_empty() {
            &email
        } else {
            &username
        });
        for (seen, key, value) in [
            (&mut by_user, "svc-csv-username-twice", username.clone()),
            (&mut by_email, "svc-csv-email-twice", email.to_lowercase()),
            (
                &mut by_number,
                "svc-csv-number-twice",
                employee_number.clone(),
            ),
        ] {
            if value.is_empty() {
                continue;
            }
            if let Some(first) = seen.get(&value) {
                fail(
                    Refusal::new(key)
                        .with("value", quoted(&value))
                        .with("line", number(*first)),
                );
            } else {
                seen.insert(value, line);
            }
        }
        out.push(ImportRow {
            line,
            full_name,
            email,
            employee_number,
            username,
            start_date,
        });
    }
    errors.sort_by_key(|e| e.line);
    Ok((out, errors))
}

impl Gateway {
    /// Check a file for `org` as the actor may import it: the organisation (another one is
    /// not found, audited), the file (`parse_people`), and usernames taken in the store.
    /// The outer error is the service's; the inner one is what is wrong with the file.
    pub async fn check_import(
        &self,
        actor: &Actor,
        org: OrgId,
        csv: &[u8],
        now: UnixTime,
    ) -> Result<std::result::Result<(Organisation, Vec<ImportRow>), Vec<LineError>>> {
        let org = self.admin_org(actor, org, now).await?;
        let (rows, mut errors) = match parse_rows(csv) {
            Ok(read) => read,
            Err(errors) => return Ok(Err(errors)),
        };
        for r in &rows {
            // Unique per organisation (another organisation's `ann` does not matter).
            if !r.username.is_empty()
                && self
                    .store
                    .people_named(&r.username)
                    .await?
                    .iter()
                    .any(|(p, _)| p.org_id == org.id)
            {
                errors.push(LineError {
                    line: r.line,
                    why: Refusal::new("svc-csv-username-taken")
                        .with("username", quoted(&r.username)),
                });
            }
        }
        errors.sort_by_key(|e| e.line);
        Ok(if errors.is_empty() {
            Ok((org, rows))
        } else {
            Err(errors)
        })
    }

    /// Import a file for `org`: checked again as a whole, then every person made with an
    /// activation link in one transaction (nothing when anything is wrong). The mails are
    /// sent by `send_import_mails`. `base_url` is where the activation page lives.
    pub async fn import_people(
        &self,
        actor: &Actor,
        org: OrgId,
        csv: &[u8],
        base_url: &str,
        now: UnixTime,
    ) -> Result<std::result::Result<Vec<Imported>, Vec<LineError>>> {
        let (org, rows) = match self.check_import(actor, org, csv, now).await? {
            Ok(checked) => checked,
            Err(errors) => return Ok(Err(errors)),
        };
        self.make_people(actor, &org, &rows, "csv", base_url, now)
            .await
    }

    /// Make `rows` (checked) people of `org`, each with an activation link, in one
    /// transaction; `origin` says where they came from in the audit detail.
    pub(crate) async fn make_people(
        &self,
        actor: &Actor,
        org: &Organisation,
        rows: &[ImportRow],
        origin: &str,
        base_url: &str,
        now: UnixTime,
    ) -> Result<std::result::Result<Vec<Imported>, Vec<LineError>>> {
        let expires_at = now + ACTIVATION_SECONDS;
        let mut batch = Vec::with_capacity(rows.len());
        let mut secrets = Vec::with_capacity(rows.len());
        for r in rows {
            let (secret, hash) = new_secret()?;
            let new = NewPerson {
                username: r.username.clone(),
                full_name: r.full_name.clone(),
                email: Some(r.email.clone()).filter(|e| !e.is_empty()),
                employee_number: Some(r.employee_number.clone()).filter(|e| !e.is_empty()),
                org_id: org.id,
                roles: vec![Role::Person],
            };
            let mut created = actor.event(EventKind::PersonCreated, now);
            created.org_id = Some(org.id);
            created.username = Some(r.username.clone());
            created.detail = Some(serde_json::json!({
                "import": origin,
                "line": r.line,
                "roles": "person",
                "start_date": Some(&r.start_date).filter(|d| !d.is_empty()),
            }));
            let mut issued = actor.event(EventKind::ActivationLinkIssued, now);
            issued.org_id = Some(org.id);
            issued.username = Some(r.username.clone());
            issued.detail = Some(serde_json::json!({ "import": origin, "expires_at": expires_at }));
            batch.push((new, hash, vec![created, issued]));
            secrets.push(secret);
        }
        let made = match self.store.import_people(batch, now, expires_at).await {
            Ok(made) => made,
            Err(StoreError::Conflict(what)) => {
                return Ok(Err(file_error(
                    Refusal::new("svc-csv-made-meanwhile").with("what", what),
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let base = base_url.trim_end_matches('/');
        Ok(Ok(made
            .into_iter()
            .zip(secrets)
            .zip(rows)
            .map(|(((person, link_id), secret), r)| Imported {
                line: r.line,
                person,
                link: SecretString::new(format!("{base}/activate/{link_id}.{secret}")),
                expires_at,
            })
            .collect()))
    }

    /// Mail each imported person their activation link, one after the other (each audited
    /// `mail_sent` with the actor); `each` is called after every mail with the count so far.
    pub async fn send_import_mails(
        &self,
        actor: &Actor,
        imported: &[Imported],
        now: UnixTime,
        mut each: impl FnMut(usize),
    ) {
        let context = actor.event(EventKind::ActivationLinkIssued, now);
        for (i, p) in imported.iter().enumerate() {
            let lang = self.lang_of(&p.person).await;
            let notice = self.activation_notice(&p.person, p.link.expose(), p.expires_at, lang);
            self.notify_wait(&p.person, notice, &context).await;
            each(i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(r: std::result::Result<Vec<ImportRow>, Vec<LineError>>) -> Vec<String> {
        r.expect_err("errors")
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_good_file_with_bom_quotes_and_any_column_order() {
        let csv = "\u{feff}Email,NAME,username,Start_Date,employee_number\r\n\
                   ann@example.org,\"de Vries, Ann\",,2030-01-01,E1\r\n\
                   \r\n\
                   bob@example.org,\"Bob \"\"the builder\"\" Jansen\",Bob,,\r\n\
                   cees@example.org,Cees,,,\n";
        let rows = parse_people(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].full_name, "de Vries, Ann");
        assert_eq!(rows[0].username, "ann@example.org", "the e-mail when empty");
        assert_eq!(rows[0].start_date, "2030-01-01");
        assert_eq!(rows[0].employee_number, "E1");
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].full_name, "Bob \"the builder\" Jansen");
        assert_eq!(rows[1].username, "bob");
        assert_eq!(rows[2].line, 5);
    }

    #[test]
    fn a_quoted_line_break_is_kept_and_counted() {
        let r = records("a,\"b\nc\"\nd,e", ',').unwrap();
        assert_eq!(r[0], (1, vec!["a".to_owned(), "b\nc".to_owned()]));
        assert_eq!(r[1], (3, vec!["d".to_owned(), "e".to_owned()]));
        // In a name it is a control character: refused on the record's line.
        assert_eq!(
            lines(parse_people(
                b"name,email\nx,x@example.org\n\"A\nB\",b@example.org\n"
            )),
            ["line 3: The name is too long or has control characters (at most 200 characters)."]
        );
    }

    #[test]
    fn semicolons_as_excel_writes_them() {
        let rows = parse_people(b"name;email\nAnn;ann@example.org\n").unwrap();
        assert_eq!(rows[0].email, "ann@example.org");
    }

    #[test]
    fn every_error_with_its_line_at_once() {
        let csv = "name,email,username,employee_number,start_date\n\
                   Ann,ann@example.org,ann,1,\n\
                   Bob,not-an-address,bob,2,\n\
                   Ann Again,ANN@example.org,ann2,3,\n\
                   Cees,cees@example.org,ANN,1,tomorrow\n\
                   ,dirk@example.org,dirk,4,\n\
                   Eva,eva@example.org\n";
        assert_eq!(
            lines(parse_people(csv.as_bytes())),
            [
                "line 3: the e-mail address \"not-an-address\" does not look right",
                "line 4: the e-mail address \"ann@example.org\" is also on line 2",
                "line 5: the start date \"tomorrow\" is not a date YYYY-MM-DD",
                "line 5: the username \"ann\" is also on line 2",
                "line 5: the employee number \"1\" is also on line 2",
                "line 6: Fill in the name.",
                "line 7: 2 fields, but the header row has 5",
            ]
        );
    }

    #[test]
    fn columns_missing_unknown_or_twice() {
        assert_eq!(
            lines(parse_people(b"name,mail\nAnn,ann@example.org\n")),
            [
                "line 1: unknown column \"mail\"; the columns are name, email, employee_number, username, start_date",
                "line 1: the column email is missing (the header row needs name and email)",
            ]
        );
        assert_eq!(
            lines(parse_people(b"name,email,NAME\n")),
            ["line 1: the column name is there twice"]
        );
    }

    #[test]
    fn empty_files_and_broken_quotes() {
        assert!(lines(parse_people(b""))[0].starts_with("file: the file is empty"));
        assert!(
            lines(parse_people(b"\xEF\xBB\xBF\r\n\r\n"))[0].starts_with("file: the file is empty")
        );
        assert_eq!(
            lines(parse_people(b"name,email\n")),
            ["file: the file has a header row but no people"]
        );
        assert_eq!(
            lines(parse_people(b"name,email\nAnn,\"ann@example.org\n")),
            ["line 2: a quoted field is not closed"]
        );
        assert_eq!(
            lines(parse_people(b"name,email\nA\"nn,ann@example.org\n")),
            ["line 2: a quote inside a field: quote the whole field and double the quote (\"\")"]
        );
        assert_eq!(
            lines(parse_people(b"name,email\n\"Ann\" x,ann@example.org\n")),
            ["line 2: text after a closing quote"]
        );
        assert_eq!(
            lines(parse_people(
                b"name,email\nAnn,ann@example.org\nB\xFFob,b@example.org\n"
            )),
            ["line 3: not UTF-8 text; save the file as CSV UTF-8"]
        );
    }

    #[test]
    fn too_many_rows_or_bytes() {
        let mut csv = String::from("name,email\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("P{i},p{i}@example.org\n"));
        }
        assert_eq!(
            lines(parse_people(csv.as_bytes())),
            ["file: the file has 10001 people; at most 10000 can be imported at once"]
        );
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(lines(parse_people(&big))[0].contains("larger than 2 MiB"));
    }

    use crate::service::test_gateway as gateway;

    #[tokio::test]
    async fn a_taken_username_imports_nothing_a_good_file_everyone() {
        let (gw, _dir) = gateway().await;
        let org = gw.create_org("A", &Actor::cli(), 1000).await.unwrap();
        let other = gw.create_org("B", &Actor::cli(), 1000).await.unwrap();
        let new = |username: &str, org_id| NewPerson {
            username: username.into(),
            full_name: "Ann".into(),
            email: None,
            employee_number: None,
            org_id,
            roles: vec![Role::Person],
        };
        gw.create_person(new("ann", org.id), None, &Actor::cli(), 1000)
            .await
            .unwrap();
        // Usernames are unique per organisation: B's `cees` does not stop A's.
        gw.create_person(new("cees@example.org", other.id), None, &Actor::cli(), 1000)
            .await
            .unwrap();
        let op = Actor::cli();
        let csv = b"name,email,username\nAnn,ann@example.org,Ann\nBob,bob@example,\n";
        let errors = gw
            .import_people(&op, org.id, csv, "https://x", 2000)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "line 2: the username \"ann\" is taken; give another one in the username column",
                "line 3: the e-mail address \"bob@example\" does not look right",
            ],
            "the file's errors and the store's, at once"
        );
        assert_eq!(gw.store().people(Some(org.id)).await.unwrap().len(), 1);

        // An org admin of B may not import into A: not found (audited).
        let admin_b = Actor::for_org(other.id);
        let good = b"name,email\nBob,bob@example.org\nCees,cees@example.org\n";
        assert!(matches!(
            gw.import_people(&admin_b, org.id, good, "https://x", 2000)
                .await,
            Err(ServiceError::NotFound(_))
        ));
        let done = gw
            .import_people(&op, org.id, good, "https://x/", 2000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].person.username, "bob@example.org");
        assert!(done[1].link.expose().starts_with("https://x/activate/"));
        let people = gw.store().people(Some(org.id)).await.unwrap();
        assert_eq!(people.len(), 3);
        // The link opens the activation page, as a joiner's does.
        let token = done[0].link.expose().rsplit('/').next().unwrap().to_owned();
        let opened = gw.open_activation(&token, 2001).await.unwrap();
        assert_eq!(opened.person.id, done[0].person.id);
    }
}
