//! The auditor's and the data-protection operations: searches audited, subject access
//! (everything held about a person, as JSON and as a readable page), the retention purge,
//! erasing a removed person's identity, and role changes.
//!
//! How the chain survives a purge: a purged row keeps its `content_hash` and `chain_hash`
//! and gets `purged = true`; its personal fields are replaced by keyed pseudonyms or emptied.
//! The same transaction writes an `audit_purged` event naming the purged ids. `audit verify`
//! takes a purged row's stored content hash instead of recomputing it, and requires every
//! purged row to be named by such an event (see `audit_chain`).

use super::*;
use crate::audit::{Outcome, StoredEvent};
use crate::audit_chain::id_ranges;
use crate::model::Role;
use crate::store::{EventFilter, Redaction};
use std::collections::BTreeMap;

/// Rows purged per transaction: on a year of events (15 million rows, SQLite) a batch of
/// 100 takes some 10-15 ms.
const PURGE_BATCH: u32 = 100;
/// The pause after a batch: at least this, and at least three times what the batch took,
/// so the purge holds the database's write lock (and the CPU) a quarter of the time at
/// most. A login that found the lock taken sleeps in SQLite's busy handler (1, 2, 5, 10,
/// 15, 20, 25 ms...) and has to wake while the lock is free: with 5 ms pauses after
/// 500-row batches, login p99 during a purge of 5 million rows was 9.5x the p99 without.
/// A day's expired rows (some 40,000) take half a minute; a first purge of a year's
/// backlog takes its time (bench/README.md has the rate).
const PURGE_PAUSE_MIN: std::time::Duration = std::time::Duration::from_millis(20);

/// How long to wait after a purge batch that took `took`.
fn purge_pause(took: std::time::Duration) -> std::time::Duration {
    PURGE_PAUSE_MIN.max(took.saturating_mul(3))
}

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    /// Rows redacted, per event kind.
    pub redacted: BTreeMap<String, u64>,
    /// Removed people whose identity was replaced by a pseudonym.
    pub erased_people: u64,
}

impl PurgeReport {
    pub fn total(&self) -> u64 {
        self.redacted.values().sum()
    }
}

/// Everything held about one person (no secrets: no password hash, seeds, codes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectAccess {
    pub generated_at: String,
    pub person: Person,
    pub organisation: Option<Organisation>,
    /// Linked and past devices (label, kind, serial, dates; never a seed).
    pub devices: Vec<Device>,
    pub unused_recovery_codes: usize,
    /// Every audit event about the person, oldest first.
    pub events: Vec<StoredEvent>,
}

impl Gateway {
    /// How an audit view's scope is written in its event's detail: `all` (the provider's
    /// operators and auditors) or `org:ID` (an org auditor).
    pub fn audit_scope(scope: Option<OrgId>) -> String {
        scope.map_or_else(|| "all".to_owned(), |org| format!("org:{org}"))
    }

    pub fn audit_settings(&self) -> &crate::config::AuditSettings {
        &self.audit_settings
    }

    /// Record that `actor` searched or viewed the audit trail (the filter in the detail).
    pub async fn audit_viewed(
        &self,
        kind: EventKind,
        actor: &AuditEvent,
        what: serde_json::Value,
    ) -> Result<()> {
        let mut event = actor.clone();
        event.kind = kind;
        event.outcome = Outcome::Done;
        event.detail = Some(what);
        self.store.append_event(&event).await?;
        Ok(())
    }

    /// The person named by username, public id or numeric id.
    pub async fn find_person(&self, who: &str) -> Result<Person> {
        let who = who.trim();
        if let Some(p) = self.store.person_by_username(who).await? {
            return Ok(p);
        }
        if let Some(p) = self.store.person_by_public_id(who).await? {
            return Ok(p);
        }
        if let Ok(id) = who.parse::<PersonId>()
            && let Some(p) = self.store.person_by_id(id).await?
        {
            return Ok(p);
        }
        Err(ServiceError::NotFound(format!("person `{who}`")))
    }

    /// Everything held about `person`; the export itself is audited (`context`: who asked).
    pub async fn subject_access(
        &self,
        person: &Person,
        context: &AuditEvent,
        now: UnixTime,
    ) -> Result<SubjectAccess> {
        self.subject_access_in(person, None, context, now).await
    }

    /// Subject access as an organisation sees it (`scope`: an org auditor's organisation,
    /// which must be the person's; None: the provider's view): the events are those of
    /// that organisation's view (`EventFilter::scope_org`). The scope is in the event.
    pub async fn subject_access_in(
        &self,
        person: &Person,
        scope: Option<OrgId>,
        context: &AuditEvent,
        now: UnixTime,
    ) -> Result<SubjectAccess> {
        if scope.is_some_and(|org| org != person.org_id) {
            return Err(ServiceError::NotFound(format!("person {}", person.id)));
        }
        let organisation = self.store.org_by_id(person.org_id).await?;
        let devices = self.store.devices_of(person.id).await?;
        let unused_recovery_codes = self.store.recovery_codes(person.id).await?.len();
        let events = self.store.events_about_in(person.id, scope).await?;
        let mut event = context.clone();
        event.kind = EventKind::SubjectAccessExported;
        event.person_id = Some(person.id);
        event.username = Some(person.username.clone());
        event.org_id = Some(person.org_id);
        event.outcome = Outcome::Done;
        event.time = now;
        event.detail = Some(serde_json::json!({
            "events": events.len(),
            "devices": devices.len(),
            "scope": Self::audit_scope(scope),
        }));
        self.store.append_event(&event).await?;
        Ok(SubjectAccess {
            generated_at: crate::audit::format_time(now),
            person: person.clone(),
            organisation,
            devices,
            unused_recovery_codes,
            events,
        })
    }

    /// Redact what is past retention and erase the identity of people removed long enough
    /// ago. Each batch is one transaction with its `audit_purged` event.
    pub async fn purge(&self, actor: &Actor, now: UnixTime) -> Result<PurgeReport> {
        self.operator_only(actor, "audit purge", now).await?;
        let settings = self.audit_settings.clone();
        let mut report = PurgeReport::default();
        let named: Vec<String> = settings.retention_days.keys().cloned().collect();
        // One plan per kind (the kinds without a retention of their own get the default):
        // each batch is then an index range over that kind's unpurged rows, oldest first.
        let mut plans: Vec<(Option<String>, u32)> = settings
            .retention_days
            .iter()
            .map(|(k, d)| (Some(k.clone()), *d))
            .collect();
        for kind in EventKind::ALL {
            let kind = kind.as_str();
            if kind != EventKind::AuditPurged.as_str() && !named.iter().any(|n| n == kind) {
                plans.push((Some(kind.to_owned()), settings.default_retention_days));
            }
        }
        let mut last_took: Option<std::time::Duration> = None;
        for (kind, days) in plans {
            let before = now - i64::from(days) * 86_400;
            // Where the last batch ended: every unpurged row older than it is purged by now
            // (batches go oldest first), so the next batch starts its index range there.
            let mut from = UnixTime::MIN;
            loop {
                let rows = self
                    .store
                    .purge_candidates(kind.as_deref(), &named, from, before, PURGE_BATCH)
                    .await?;
                if rows.is_empty() {
                    break;
                }
                from = rows.iter().map(|r| r.event.time).max().unwrap_or(from);
                let redactions: Vec<Redaction> =
                    rows.iter().map(|r| self.retention_redaction(r)).collect();
                let kinds: BTreeMap<i64, &str> =
                    rows.iter().map(|r| (r.id, r.event.kind.as_str())).collect();
                let by_kind = |ids: &[i64]| {
                    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
                    for id in ids {
                        if let Some(k) = kinds.get(id) {
                            *by_kind.entry((*k).to_owned()).or_default() += 1;
                        }
                    }
                    by_kind
                };
                // The event names the rows this batch redacts: those of `rows` that another
                // purge (another instance's, the CLI's) has not redacted meanwhile.
                let event = |ids: &[i64]| {
                    let mut event = actor.event(EventKind::AuditPurged, now);
                    event.reason = Some("retention".into());
                    event.detail = Some(serde_json::json!({
                        "purged": id_ranges(ids),
                        "kinds": by_kind(ids),
                        "retention_days": days,
                        "before": crate::audit::format_time(before),
                    }));
                    event
                };
                // Bounded batches with a pause after each (see PURGE_PAUSE_MIN): logins
                // waiting for the database's write lock get it between two batches.
                if let Some(took) = last_took {
                    tokio::time::sleep(purge_pause(took)).await;
                }
                let started = std::time::Instant::now();
                let ids = self.store.redact_events(&redactions, &event).await?;
                last_took = Some(started.elapsed());
                // No ids: another purge redacted this whole batch first; go on behind it
                // (`from` moved on, and purged rows are no candidates).
                for (k, c) in by_kind(&ids) {
                    *report.redacted.entry(k).or_default() += c;
                }
            }
        }
        // Removed people, removed long enough ago, lose their identity.
        let cutoff = now - i64::from(settings.erase_removed_after_days) * 86_400;
        for person in self.store.removed_people().await? {
            let removed_at = self
                .store
                .events(&EventFilter {
                    person_id: Some(person.id),
                    kind: Some(EventKind::PersonRemoved.as_str().into()),
                    limit: 1,
                    ..EventFilter::default()
                })
                .await?
                .first()
                .map(|e| e.event.time);
            if removed_at.is_some_and(|t| t <= cutoff) {
                self.erase(&person, actor, now).await?;
                report.erased_people += 1;
            }
        }
        Ok(report)
    }

    /// The personal fields of an event past retention: the person becomes a pseudonym, the
    /// address, device label, request id and detail go.
    fn retention_redaction(&self, row: &StoredEvent) -> Redaction {
        let e = &row.event;
        let pseudonym = match (e.person_id, &e.username) {
            (Some(id), _) => Some(self.key.pseudonym(&format!("person:{id}"))),
            (None, Some(u)) => Some(self.key.pseudonym(&format!("username:{u}"))),
            (None, None) => None,
        };
        Redaction {
            id: row.id,
            person_id: None,
            username: pseudonym,
            source: None,
            device_label: None,
            request_id: None,
            detail: None,
        }
    }

    /// Erase a removed person's identity now (right to erasure): their row and every event
    /// about them carry a keyed pseudonym instead; the events stay (accountability).
    pub async fn erase_person(&self, who: &str, actor: &Actor, now: UnixTime) -> Result<String> {
        self.operator_only(actor, "erase person", now).await?;
        let person = self.find_person(who).await?;
        if person.state != PersonState::Removed {
            return Err(Refusal::new("svc-erase-not-removed")
                .with("person", person.id)
                .with("state", person.state.as_str())
                .into());
        }
        self.erase(&person, actor, now).await
    }

    pub(crate) async fn erase(
        &self,
        person: &Person,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<String> {
        let pseudonym = self.key.pseudonym(&format!("person:{}", person.id));
        let events = self.store.events_about(person.id).await?;
        let redactions: Vec<Redaction> = events
            .iter()
            .map(|r| Redaction {
                id: r.id,
                person_id: Some(person.id),
                username: Some(pseudonym.clone()),
                source: None,
                device_label: None,
                request_id: None,
                detail: None,
            })
            .collect();
        let ids: Vec<i64> = events.iter().map(|r| r.id).collect();
        let mut event = actor.event(EventKind::AuditPurged, now);
        event.person_id = Some(person.id);
        event.username = Some(pseudonym.clone());
        event.org_id = Some(person.org_id);
        event.reason = Some("erasure".into());
        event.detail = Some(serde_json::json!({ "purged": id_ranges(&ids) }));
        self.store
            .erase_person(person.id, &pseudonym, &redactions, &event)
            .await?;
        Ok(pseudonym)
    }

    /// Replace a person's roles; audited with the old and the new set.
    pub async fn set_roles(
        &self,
        username: &str,
        roles: &[Role],
        actor: &Actor,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "set roles", now).await?;
        let person = self.person(username).await?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let mut event = Self::person_event_by(&person, EventKind::RoleChanged, actor, now);
        event.detail = Some(serde_json::json!({
            "from": crate::model::roles_to_text(&person.roles),
            "to": crate::model::roles_to_text(&roles),
        }));
        Ok(self.store.set_roles(person.id, &roles, event).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{PURGE_BATCH, PURGE_PAUSE_MIN, purge_pause};
    use crate::audit::{AuditEvent, EventKind, Outcome};
    use crate::service::{Actor, test_gateway};
    use crate::store::EventFilter;
    use std::time::Duration;

    /// Batches start where the last one ended (time >= its newest): rows that share the
    /// boundary's second with a full batch are purged too, none is left behind.
    #[tokio::test]
    async fn a_purge_of_several_batches_leaves_no_row_that_shares_a_batch_boundary_second() {
        let (gw, _dir) = test_gateway().await;
        let t0 = 1_700_000_000;
        let n = u64::from(PURGE_BATCH) * 2 + 50;
        for i in 0..n {
            // 130 rows in each second: every batch boundary falls inside a second.
            let mut e = AuditEvent::admin(
                t0 + i64::try_from(i / 130).unwrap(),
                EventKind::LoginAttempt,
                "radius",
            );
            e.username = Some(format!("user{i}"));
            e.outcome = Outcome::Reject;
            gw.store.append_event(&e).await.unwrap();
        }
        let now = t0 + 400 * 86_400;
        let report = gw.purge(&Actor::cli(), now).await.unwrap();
        assert_eq!(report.redacted.get("login_attempt"), Some(&n), "{report:?}");
        let left = gw
            .store
            .purge_candidates(
                Some("login_attempt"),
                &[],
                i64::MIN,
                now - 365 * 86_400,
                1000,
            )
            .await
            .unwrap();
        assert!(left.is_empty(), "{} rows left unpurged", left.len());
        let attempts = gw
            .store
            .events(&EventFilter {
                kind: Some("login_attempt".into()),
                limit: 1000,
                ..EventFilter::default()
            })
            .await
            .unwrap();
        assert!(attempts.iter().all(|e| {
            e.event
                .username
                .as_deref()
                .is_none_or(|u| u.starts_with("pseudonym-"))
        }));
        assert_eq!(gw.purge(&Actor::cli(), now).await.unwrap().total(), 0);
    }

    #[test]
    fn a_purge_batch_is_followed_by_three_times_its_time_and_20_ms_at_least() {
        assert_eq!(purge_pause(Duration::ZERO), PURGE_PAUSE_MIN);
        assert_eq!(purge_pause(Duration::from_millis(5)), PURGE_PAUSE_MIN);
        assert_eq!(
            purge_pause(Duration::from_millis(12)),
            Duration::from_millis(36)
        );
        assert_eq!(purge_pause(Duration::MAX), Duration::MAX);
    }
}
