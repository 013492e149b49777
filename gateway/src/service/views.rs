//! What the web pages read, through the service (issue 15: the web layer reaches the store
//! only through the service): a signed-in person's devices and logins, the names and
//! organisations a page shows, and the auditor's search, timeline and export. Reads only;
//! every change goes through the service's other methods, which check and audit it.

use super::{Gateway, Result};
use crate::audit::{AuditEvent, EventKind, StoredEvent};
use crate::audit_export::Pages;
use crate::model::{ApiToken, Device, DeviceId, OrgId, Organisation, Person, PersonId, UnixTime};
use crate::store::{DayCount, EventFilter, NameMatch, TopFailures};

/// What one auditor's search shows: the page of events, how many match, the chart's counts
/// per day and outcome, the most failures, and the chart's days (first, last; day numbers).
#[derive(Debug)]
pub struct AuditSearch {
    pub events: Vec<StoredEvent>,
    pub total: u64,
    pub counts: Vec<DayCount>,
    pub top: TopFailures,
    pub days: (i64, i64),
}

/// An export about to be streamed: how many rows match now, and its pages (up to the last
/// event written before it started, so rows written meanwhile are not half-included).
#[derive(Debug)]
pub struct AuditExport {
    pub rows: u64,
    pub pages: Pages,
}

impl Gateway {
    /// An organisation by id, None when there is none.
    pub async fn org_by_id(&self, id: OrgId) -> Result<Option<Organisation>> {
        Ok(self.store.org_by_id(id).await?)
    }

    /// A person by id, None when there is none (see `person_by_id` for the error form).
    pub async fn person_if_any(&self, id: PersonId) -> Result<Option<Person>> {
        Ok(self.store.person_by_id(id).await?)
    }

    /// A device by id, None when there is none.
    pub async fn device_by_id(&self, id: DeviceId) -> Result<Option<Device>> {
        Ok(self.store.device_by_id(id).await?)
    }

    /// Every device of a person, in any state.
    pub async fn devices_of(&self, person: PersonId) -> Result<Vec<Device>> {
        Ok(self.store.devices_of(person).await?)
    }

    /// An organisation's API token by id (its hash only), None when there is none.
    pub async fn api_token_by_id(&self, id: i64) -> Result<Option<ApiToken>> {
        Ok(self.store.api_token(id).await?)
    }

    /// A person's latest login attempts, newest first (the portal's My logins).
    pub async fn logins_of(&self, person: PersonId, limit: u32) -> Result<Vec<StoredEvent>> {
        let filter = EventFilter {
            person_id: Some(person),
            kind: Some(EventKind::LoginAttempt.as_str().to_owned()),
            limit,
            ..EventFilter::default()
        };
        Ok(self.store.events(&filter).await?)
    }

    /// Write an event a page made (an auditor's refusal by scope); nothing else happens.
    pub async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        self.store.append_event(event).await?;
        Ok(())
    }

    /// The person an auditor's search names: by username, `user@org` or `ORG\user`, in
    /// `org` when the auditor is an organisation's (usernames are unique per organisation
    /// only); None when unknown or ambiguous.
    pub async fn person_named(&self, name: &str, org: Option<OrgId>) -> Result<Option<Person>> {
        let default = match org {
            Some(id) => self.store.org_by_id(id).await?.map(|o| o.name),
            None => None,
        };
        let found =
            crate::store::resolve_username(self.store.as_ref(), name, default.as_deref()).await?;
        Ok(match found {
            NameMatch::Found(p) => Some(p),
            _ => None,
        })
    }

    /// The auditor's search: the page of events `filter` asks for, how many match, and the
    /// chart (login attempts matching the other filters, per day and outcome, within the
    /// searched range or the `chart_days` up to `now`) with the most failures (10).
    pub async fn audit_search(
        &self,
        filter: &EventFilter,
        chart_days: i64,
        now: UnixTime,
    ) -> Result<AuditSearch> {
        let events = self.store.events(filter).await?;
        let total = self.store.count_events(filter).await?;
        let to = filter.to.unwrap_or(now);
        let from = filter.from.unwrap_or(to - (chart_days - 1) * 86_400);
        let mut attempts = filter.clone();
        attempts.kind = Some(EventKind::LoginAttempt.as_str().into());
        attempts.from = Some(from.div_euclid(86_400) * 86_400);
        attempts.to = Some(to);
        let counts = self.store.daily_outcomes(&attempts).await?;
        let top = self.store.top_failures(&attempts, 10).await?;
        let days = (from.div_euclid(86_400), to.div_euclid(86_400));
        Ok(AuditSearch {
            events,
            total,
            counts,
            top,
            days,
        })
    }

    /// An export of every event `filter` matches (its paging ignored): the count now and
    /// the pages to stream, page by page, so memory stays flat whatever the size.
    pub async fn audit_export(&self, mut filter: EventFilter) -> Result<AuditExport> {
        filter.limit = 0;
        filter.offset = 0;
        let last = self.store.last_event_id().await?;
        let rows = self.store.count_events(&filter).await?;
        let pages = Pages::new(self.store.clone(), filter).up_to_id(last);
        Ok(AuditExport { rows, pages })
    }

    /// A person's events for their timeline, oldest first, limited to `org`'s part when the
    /// auditor is an organisation's; with the person's organisation.
    pub async fn audit_timeline(
        &self,
        person: &Person,
        org: Option<OrgId>,
    ) -> Result<(Vec<StoredEvent>, Option<Organisation>)> {
        let events = self.store.events_about_in(person.id, org).await?;
        let org = self.store.org_by_id(person.org_id).await?;
        Ok((events, org))
    }
}
