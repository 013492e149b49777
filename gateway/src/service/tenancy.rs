//! A customer leaves: `org export` (everything held about the organisation: its people, their
//! devices without secrets, its requests and audit events, as subject access gives it for
//! one person) and `org offboard` (every person removed through the leaver path, tokens back
//! to stock or marked lost, identities erased after N days; the audit chain still verifies).

use super::Actor;
use super::audit_admin::SubjectAccess;
use super::lifecycle::format_date;
use super::refusal::{Refusal, refused};
use super::{Gateway, Result, ServiceError};
use crate::audit::{AuditEvent, EventKind, Outcome, StoredEvent};
use crate::model::{
    LifecycleRequest, OrgId, Organisation, PersonState, RequestData, TokenFate, UnixTime,
};
use crate::policy::OrgPolicy;
use crate::store::EventFilter;

/// Everything held about one organisation.
#[derive(Debug, serde::Serialize)]
pub struct OrgExport {
    pub generated_at: String,
    pub organisation: Organisation,
    /// Each person as subject access gives them (profile, devices without secrets, every
    /// event about them).
    pub people: Vec<SubjectAccess>,
    pub requests: Vec<LifecycleRequest>,
    /// Every audit event of the organisation, oldest first (those about its people and
    /// those about the organisation itself: requests, stock, its admins' actions).
    pub events: Vec<StoredEvent>,
}

/// What `org offboard` did (or would do).
#[derive(Debug, Clone, Default)]
pub struct Offboarding {
    pub removed: Vec<String>,
    pub already_removed: usize,
    pub erase_at: Option<UnixTime>,
}

/// An organisation's stored policy (JSON) as read from the store.
pub(crate) fn parse_policy(org: OrgId, json: &str) -> Result<OrgPolicy> {
    serde_json::from_str(json)
        .map_err(|e| ServiceError::Internal(format!("organisation {org}: stored policy: {e}")))
}

impl Gateway {
    /// The organisation's policy as stored, if one was set.
    pub(crate) async fn stored_policy(&self, org: OrgId) -> Result<Option<OrgPolicy>> {
        match self.store.org_policy(org).await? {
            None => Ok(None),
            Some(json) => parse_policy(org, &json).map(Some),
        }
    }

    /// The organisation's policy (the defaults when none was set).
    pub async fn org_policy(&self, org: OrgId) -> Result<OrgPolicy> {
        Ok(self.stored_policy(org).await?.unwrap_or_default())
    }

    /// Set `org`'s policy (the operator only), audited `org_policy_changed` with the rules
    /// in words.
    pub async fn set_org_policy(
        &self,
        actor: &Actor,
        org: &Organisation,
        policy: &OrgPolicy,
        now: UnixTime,
    ) -> Result<()> {
        if !actor.is_operator() {
            return Err(refused("svc-policy-operator-only"));
        }
        policy
            .check()
            .map_err(|e| ServiceError::Refused(Refusal::of_policy(&e)))?;
        let json =
            serde_json::to_string(policy).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut event = actor.event(EventKind::OrgPolicyChanged, now);
        event.org_id = Some(org.id);
        event.detail = Some(serde_json::json!({ "policy": policy.describe() }));
        self.store
            .set_org_policy(org.id, &json, now, &event)
            .await?;
        Ok(())
    }

    /// Everything held about `org` (audited `org_exported`).
    pub async fn org_export(
        &self,
        org: &Organisation,
        context: &AuditEvent,
        now: UnixTime,
    ) -> Result<OrgExport> {
        let mut people = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        let people_rows = self.store.people(Some(org.id)).await?;
        for p in &people_rows {
            let devices = self.store.devices_of(p.id).await?;
            let unused_recovery_codes = self.store.recovery_codes(p.id).await?.len();
            let events = self.store.events_about(p.id).await?;
            for e in &events {
                seen.insert(e.id, e.clone());
            }
            people.push(SubjectAccess {
                generated_at: crate::audit::format_time(now),
                person: p.clone(),
                organisation: Some(org.clone()),
                devices,
                unused_recovery_codes,
                events,
            });
        }
        let filter = EventFilter {
            org_id: Some(org.id),
            oldest_first: true,
            ..EventFilter::default()
        };
        for e in self.store.events(&filter).await? {
            seen.insert(e.id, e);
        }
        let requests = self.store.requests(Some(org.id), false).await?;
        let mut event = context.clone();
        event.kind = EventKind::OrgExported;
        event.org_id = Some(org.id);
        event.outcome = Outcome::Done;
        event.time = now;
        event.detail = Some(serde_json::json!({
            "people": people.len(), "requests": requests.len(), "events": seen.len(),
        }));
        self.store.append_event(&event).await?;
        Ok(OrgExport {
            generated_at: crate::audit::format_time(now),
            organisation: org.clone(),
            people,
            requests,
            events: seen.into_values().collect(),
        })
    }

    /// Offboard `org`: every person who is not removed yet leaves through the leaver path
    /// now (a remove request, completed: devices unlinked, tokens back to the organisation's
    /// stock or marked lost), and their identities are erased `after_days` days from now (0:
    /// at once). `dry_run`: only say what would happen.
    pub async fn org_offboard(
        &self,
        actor: &Actor,
        org: &Organisation,
        after_days: u32,
        tokens: TokenFate,
        dry_run: bool,
        now: UnixTime,
    ) -> Result<Offboarding> {
        if !actor.is_operator() {
            return Err(refused("svc-offboard-operator-only"));
        }
        let mut out = Offboarding {
            erase_at: Some(now + i64::from(after_days) * 86_400),
            ..Offboarding::default()
        };
        let people = self.store.people(Some(org.id)).await?;
        for p in &people {
            if p.state == PersonState::Removed {
                out.already_removed += 1;
                continue;
            }
            out.removed.push(p.username.clone());
            if dry_run {
                continue;
            }
            let data = RequestData::RemoveAccount {
                person_id: p.id,
                end_date: format_date(now),
                tokens,
            };
            let r = self.submit_request(actor, org.id, data, now).await?;
            self.complete_request(actor, r.id, "", now).await?;
        }
        if dry_run {
            return Ok(out);
        }
        let mut event = actor.event(EventKind::OrgOffboarded, now);
        event.org_id = Some(org.id);
        event.detail = Some(serde_json::json!({
            "removed": out.removed.len(),
            "already_removed": out.already_removed,
            "tokens": match tokens { TokenFate::Return => "returned", TokenFate::Lost => "lost" },
            "erase_at": out.erase_at,
        }));
        self.store
            .set_org_offboarded(org.id, now, out.erase_at, &event)
            .await?;
        if after_days == 0 {
            self.erase_offboarded(now).await?;
        }
        Ok(out)
    }

    /// Erase the identities of the removed people of every offboarded organisation whose
    /// erasure is due (the daily task; `org offboard --after-days 0` at once). Returns how
    /// many people were erased.
    pub async fn erase_offboarded(&self, now: UnixTime) -> Result<usize> {
        let mut total = 0;
        for org in self.store.orgs_due_for_erasure(now).await? {
            let mut erased = 0;
            for p in self.store.people(Some(org)).await? {
                // Erased already: the username is a pseudonym.
                if p.state != PersonState::Removed
                    || p.username == self.key.pseudonym(&format!("person:{}", p.id))
                {
                    continue;
                }
                self.erase(
                    &p,
                    &Actor::system("system", crate::audit::Channel::System, "offboarding"),
                    now,
                )
                .await?;
                erased += 1;
            }
            let mut event = AuditEvent::admin(now, EventKind::OrgOffboarded, "system");
            event.channel = crate::audit::Channel::System;
            event.org_id = Some(org);
            event.reason = Some("erasure".into());
            event.detail = Some(serde_json::json!({ "erased": erased }));
            let offboarded = self
                .store
                .org_offboarding(org)
                .await?
                .map_or(now, |(at, _)| at);
            self.store
                .set_org_offboarded(org, offboarded, None, &event)
                .await?;
            total += erased;
        }
        Ok(total)
    }
}
