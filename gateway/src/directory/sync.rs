//! `directory sync`: the people of an organisation kept in step with its directory.
//!
//! The people `people_filter` finds are the organisation's directory people. Compared with
//! the organisation's people who have no local password (the ones the directory checks):
//! new ones are made (with an activation link for their first phone), changed names and
//! e-mail addresses updated (a change request, completed at once), and people the filter no
//! longer finds leave through the leaver path (removed now, devices unlinked, tokens back to
//! stock). Everything is audited with channel `directory`. The directory is read as a whole
//! first: a failed or partial read changes nothing.

use super::{Directory, DirectoryPerson};
use crate::audit::Channel;
use crate::model::{Organisation, Person, PersonState, RequestData, TokenFate, UnixTime};
use crate::service::Actor;
use crate::service::import::{ImportRow, Imported};
use crate::service::lifecycle::format_date;
use crate::service::{Gateway, Result, ServiceError};

/// What a sync would change (or changed) for one directory.
#[derive(Debug, Clone, Default)]
pub struct SyncPlan {
    pub directory: String,
    pub org: String,
    /// How many people the directory lists.
    pub listed: usize,
    pub create: Vec<DirectoryPerson>,
    /// The person, and what the directory says now.
    pub update: Vec<(Person, DirectoryPerson)>,
    pub retire: Vec<Person>,
    /// Listed, but not made: why (e.g. the username belongs to another organisation).
    pub skipped: Vec<(String, String)>,
    /// Changes that were refused while applying (the others were made): who, and why.
    pub failed: Vec<(String, String)>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.retire.is_empty()
    }
}

/// A sync that would retire more than this share of the directory's people (and more than
/// `MASS_REMOVAL_MIN` of them) is refused unless forced: a filter gone wrong must not empty
/// an organisation.
const MASS_REMOVAL_MIN: usize = 10;

/// The actor a directory's changes are audited under.
fn actor(dir: &Directory) -> Actor {
    Actor::system(
        &format!("directory:{}", dir.name()),
        Channel::Directory,
        "directory",
    )
}

fn normal(username: &str) -> String {
    username.trim().to_lowercase()
}

impl Gateway {
    /// Read `dir` and compare it with its (first) organisation's people.
    pub async fn directory_sync_plan(&self, dir: &Directory) -> Result<(Organisation, SyncPlan)> {
        let org_name = dir.settings().orgs.first().cloned().unwrap_or_default();
        let org = self
            .store()
            .org_by_name(&org_name)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("organisation {org_name:?}")))?;
        let listed = dir
            .read_people()
            .await
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let mut plan = SyncPlan {
            directory: dir.name().to_owned(),
            org: org.name.clone(),
            listed: listed.len(),
            ..SyncPlan::default()
        };
        let mut local = std::collections::HashMap::new();
        for p in self.store().people(Some(org.id)).await? {
            if p.state == PersonState::Removed {
                continue;
            }
            // Only the people the directory checks (no local password) are its to change.
            if self.store().password_hash(p.id).await?.is_some() {
                continue;
            }
            local.insert(normal(&p.username), p);
        }
        let mut seen = std::collections::HashSet::new();
        for mut d in listed {
            let key = normal(&d.username);
            if key.is_empty()
                || key.chars().count() > 64
                || key.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                plan.skipped.push((
                    d.username.clone(),
                    "not a usable username (1 to 64 characters, no blanks)".into(),
                ));
                continue;
            }
            if d.full_name.chars().count() > 200 || d.full_name.chars().any(char::is_control) {
                d.full_name = d.username.clone();
            }
            // An address that cannot be mailed is not taken (the person keeps theirs).
            if !d.email.is_empty() && !crate::service::lifecycle::email_ok(&d.email) {
                d.email.clear();
            }
            if !seen.insert(key.clone()) {
                plan.skipped
                    .push((d.username.clone(), "listed twice in the directory".into()));
                continue;
            }
            match local.get(&key) {
                Some(p) => {
                    let name_changed = !d.full_name.is_empty() && d.full_name != p.full_name;
                    let mail_changed =
                        !d.email.is_empty() && Some(d.email.as_str()) != p.email.as_deref();
                    if name_changed || mail_changed {
                        plan.update.push((p.clone(), d));
                    }
                }
                // Usernames are unique per organisation: another organisation's person of
                // this name does not matter here.
                None => match self
                    .store()
                    .people_named(&key)
                    .await?
                    .into_iter()
                    .find(|(p, _)| p.org_id == org.id)
                {
                    Some(_) => plan.skipped.push((
                        d.username.clone(),
                        "a person of this name has a local password (not the directory's to change)"
                            .into(),
                    )),
                    None => plan.create.push(d),
                },
            }
        }
        let mut retire: Vec<Person> = local
            .into_iter()
            .filter(|(k, _)| !seen.contains(k))
            .map(|(_, p)| p)
            .collect();
        retire.sort_by(|a, b| a.username.cmp(&b.username));
        plan.retire = retire;
        plan.create.sort_by(|a, b| a.username.cmp(&b.username));
        Ok((org, plan))
    }

    /// Sync `dir`: the plan, then (unless `dry_run`) the changes. `force` allows retiring
    /// more than half of the directory's people at once. Activation mails for new people
    /// go out before this returns.
    pub async fn directory_sync(
        &self,
        dir: &Directory,
        dry_run: bool,
        force: bool,
        base_url: &str,
        now: UnixTime,
    ) -> Result<SyncPlan> {
        let (org, plan) = self.directory_sync_plan(dir).await?;
        if dry_run || plan.is_empty() {
            return Ok(plan);
        }
        let keep = plan.listed.saturating_sub(plan.create.len()) + plan.retire.len();
        if !force && plan.retire.len() > MASS_REMOVAL_MIN && plan.retire.len() * 2 > keep {
            return Err(ServiceError::Invalid(format!(
                "directory {}: {} of {} people would leave at once; nothing was changed (check people_filter, or run `directory sync --force`)",
                dir.name(),
                plan.retire.len(),
                keep
            )));
        }
        let who = actor(dir);
        // One person's refused change does not stop the others'.
        let mut failed = Vec::new();
        // New people, all in one transaction, then their activation mails.
        if !plan.create.is_empty() {
            let rows: Vec<ImportRow> = plan
                .create
                .iter()
                .enumerate()
                .map(|(i, d)| ImportRow {
                    line: i + 1,
                    full_name: d.full_name.clone(),
                    email: d.email.clone(),
                    employee_number: d.employee_number.clone(),
                    username: normal(&d.username),
                    start_date: String::new(),
                })
                .collect();
            let made: Vec<Imported> = self
                .make_people(&who, &org, &rows, "directory", base_url, now)
                .await?
                .map_err(|errors| {
                    ServiceError::Invalid(format!(
                        "directory {}: {}",
                        dir.name(),
                        errors
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))
                })?;
            self.send_import_mails(&who, &made, now, |_| {}).await;
        }
        for (p, d) in &plan.update {
            let data = RequestData::ChangeAccount {
                person_id: p.id,
                full_name: if d.full_name != p.full_name {
                    d.full_name.clone()
                } else {
                    String::new()
                },
                email: if Some(d.email.as_str()) != p.email.as_deref() {
                    d.email.clone()
                } else {
                    String::new()
                },
                replace_token: false,
                old_token: TokenFate::Return,
                new_serial: String::new(),
            };
            if let Err(e) = self
                .submit_and_complete(&who, org.id, data, base_url, now)
                .await
            {
                failed.push((p.username.clone(), e.to_string()));
            }
        }
        for p in &plan.retire {
            let data = RequestData::RemoveAccount {
                person_id: p.id,
                end_date: format_date(now),
                tokens: TokenFate::Return,
            };
            if let Err(e) = self
                .submit_and_complete(&who, org.id, data, base_url, now)
                .await
            {
                failed.push((p.username.clone(), e.to_string()));
            }
        }
        let mut plan = plan;
        plan.failed = failed;
        Ok(plan)
    }

    /// File a request as `who` and complete it at once.
    async fn submit_and_complete(
        &self,
        who: &Actor,
        org: crate::model::OrgId,
        data: RequestData,
        base_url: &str,
        now: UnixTime,
    ) -> Result<()> {
        let r = self.submit_request(who, org, data, now).await?;
        self.complete_request(who, r.id, base_url, now).await?;
        Ok(())
    }
}
