//! The account life cycle of customer organisations (issue 8): who may act for which
//! organisation, requests and their status, the operator's queue and what "done" changes,
//! activation links for new people, per-organisation API tokens, token stock.
//!
//! Every operation takes an `AdminActor` and checks its scope first: an org admin acts for
//! their own organisation only, the operator for all. Anything of another organisation is
//! answered `NotFound` (the same answer as an id that does not exist) and audited as
//! `access_denied`.

use super::*;
use crate::audit::Outcome;
use crate::model::{
    AccountChange, ActivationLink, ApiToken, LifecycleRequest, RequestChange, RequestData,
    RequestId, RequestKind, RequestStatus, RequestStep, Role, StockCount, TokenFate,
};
use sha2::{Digest, Sha256};

/// How long an activation link works (7 days).
pub const ACTIVATION_SECONDS: i64 = 7 * 86_400;
/// The most tokens one order or reservation may name.
pub const MAX_TOKENS: u32 = 10_000;
const NOT_FOUND: &str = "request";
const OPERATOR_ONLY: &str = "Only the operator can do this.";
const LINK_INVALID: &str = "This activation link is not valid: it was used already, it expired, or it was mistyped. Ask your organisation's administrator for a new one.";
const CLOSED_RESERVATION: &str =
    "This reservation can no longer be changed: the switch-over date has passed or it is closed.";

/// For which organisations an actor may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The operator (the provider): every organisation.
    All,
    /// An org admin or an API token: this organisation only.
    Org(OrgId),
}

/// Who acts on the life cycle: an operator or org admin signed in to the web pages, an
/// organisation's API token, or the CLI (operator).
#[derive(Debug, Clone)]
pub struct AdminActor {
    /// `person:<id>`, `api:<token id>` or `cli`.
    pub actor: String,
    pub scope: Scope,
    pub person: Option<Person>,
    pub channel: Channel,
    pub client: String,
    pub source: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl AdminActor {
    /// A signed-in person acting on the admin pages: the operator role gives every
    /// organisation, org_admin their own; None without either.
    pub fn from_person(
        person: &Person,
        source: Option<IpAddr>,
        request_id: Option<String>,
    ) -> Option<Self> {
        let scope = if person.roles.contains(&Role::Operator) {
            Scope::All
        } else if person.roles.contains(&Role::OrgAdmin) {
            Scope::Org(person.org_id)
        } else {
            return None;
        };
        Some(Self {
            actor: format!("person:{}", person.id),
            scope,
            person: Some(person.clone()),
            channel: Channel::Portal,
            client: "admin".into(),
            source,
            request_id,
        })
    }

    /// An organisation's HR system, by its API token.
    pub fn api(token: &ApiToken, source: Option<IpAddr>, request_id: Option<String>) -> Self {
        Self {
            actor: format!("api:{}", token.id),
            scope: Scope::Org(token.org_id),
            person: None,
            channel: Channel::Api,
            client: "api".into(),
            source,
            request_id,
        }
    }

    /// The CLI on the server: the operator.
    pub fn cli() -> Self {
        Self {
            actor: "cli".into(),
            scope: Scope::All,
            person: None,
            channel: Channel::Cli,
            client: "cli".into(),
            source: None,
            request_id: None,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.scope == Scope::All
    }

    /// May this actor see or change things of `org`?
    pub fn may(&self, org: OrgId) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Org(own) => own == org,
        }
    }

    /// An event done by this actor.
    pub fn event(&self, kind: EventKind, now: UnixTime) -> AuditEvent {
        let mut e = AuditEvent::admin(now, kind, &self.actor);
        self.stamp(&mut e);
        e
    }

    /// Name this actor's channel, client, source and request id on `e`.
    pub fn stamp(&self, e: &mut AuditEvent) {
        e.channel = self.channel;
        e.client = Some(self.client.clone());
        e.source = self.source.map(|s| s.to_string());
        e.request_id = self.request_id.clone();
    }
}

/// What completing a request produced: the request, and for a new employee the activation
/// link (to show once to the operator as a fallback to the e-mail).
#[derive(Debug)]
pub struct Completed {
    pub request: LifecycleRequest,
    pub activation_link: Option<SecretString>,
}

/// What the activation page shows: who, and the first phone's key.
#[derive(Debug)]
pub struct Activation {
    pub person: Person,
    pub seed: SecretBytes,
    /// The directory whose password the person signs in with (then no password is set
    /// here), by name.
    pub directory: Option<String>,
}

/// What the person typed on the activation page.
pub struct ActivationInput {
    pub password: SecretString,
    pub again: SecretString,
    /// The first phone's name.
    pub label: String,
    /// The code the phone shows.
    pub code: String,
}

impl std::fmt::Debug for ActivationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationInput")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A date `YYYY-MM-DD` as its first second (UTC).
pub fn parse_date(text: &str) -> Option<UnixTime> {
    let t = text.trim();
    if t.len() != 10 {
        return None;
    }
    crate::audit::parse_time(t, false)
}

/// A time as its date `YYYY-MM-DD` (UTC).
pub fn format_date(t: UnixTime) -> String {
    crate::audit::format_time(t).chars().take(10).collect()
}

/// A random secret `<id>.<base32>` and its SHA-256 (of the secret part).
pub(super) fn new_secret() -> Result<(String, [u8; 32])> {
    let bytes = random_bytes(32).map_err(|_| ServiceError::Crypto("random generator".into()))?;
    let secret = data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase();
    let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    Ok((secret, hash))
}

/// Split `<id>.<secret>` and hash the secret.
fn split_secret(token: &str) -> Option<(i64, [u8; 32])> {
    let (id, secret) = token.trim().split_once('.')?;
    let id = id.parse::<i64>().ok()?;
    if secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((id, Sha256::digest(secret.as_bytes()).into()))
}

fn invalid(text: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(text.into())
}

pub(super) fn clean(text: &str, what: &str, max: usize, required: bool) -> Result<String> {
    let t = text.trim();
    if required && t.is_empty() {
        return Err(invalid(format!("Fill in the {what}.")));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(invalid(format!(
            "The {what} is too long or has control characters (at most {max} characters)."
        )));
    }
    Ok(t.to_owned())
}

pub(crate) fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}

fn count_ok(count: u32) -> Result<()> {
    if count == 0 || count > MAX_TOKENS {
        return Err(invalid(format!(
            "The number of tokens must be 1 to {MAX_TOKENS}."
        )));
    }
    Ok(())
}

impl Gateway {
    /// Audit a refusal for want of a role or organisation.
    pub async fn audit_denied(&self, actor: &AdminActor, what: &str, now: UnixTime) {
        let mut e = actor.event(EventKind::AccessDenied, now);
        e.outcome = Outcome::Reject;
        e.reason = Some("scope".into());
        e.detail = Some(serde_json::json!({ "what": what }));
        if let Some(p) = &actor.person {
            e.person_id = Some(p.id);
            e.username = Some(p.username.clone());
        }
        if let Err(err) = self.store.append_event(&e).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %err, "audit write failed");
        }
    }

    async fn deny(&self, actor: &AdminActor, what: String, now: UnixTime) -> ServiceError {
        self.audit_denied(actor, &what, now).await;
        ServiceError::NotFound(what)
    }

    async fn operator_only(&self, actor: &AdminActor, what: &str, now: UnixTime) -> Result<()> {
        if actor.is_operator() {
            return Ok(());
        }
        self.audit_denied(actor, what, now).await;
        Err(invalid(OPERATOR_ONLY))
    }

    /// The organisations the actor may see.
    pub async fn admin_orgs(&self, actor: &AdminActor) -> Result<Vec<Organisation>> {
        Ok(self
            .store
            .orgs()
            .await?
            .into_iter()
            .filter(|o| actor.may(o.id))
            .collect())
    }

    /// An organisation by id, if the actor may see it.
    pub async fn admin_org(
        &self,
        actor: &AdminActor,
        id: OrgId,
        now: UnixTime,
    ) -> Result<Organisation> {
        match self.store.org_by_id(id).await? {
            Some(org) if actor.may(org.id) => Ok(org),
            _ => Err(self.deny(actor, format!("organisation {id}"), now).await),
        }
    }

    /// The people of an organisation (not removed).
    pub async fn admin_people(
        &self,
        actor: &AdminActor,
        org: OrgId,
        now: UnixTime,
    ) -> Result<Vec<Person>> {
        let org = self.admin_org(actor, org, now).await?;
        Ok(self
            .store
            .people(Some(org.id))
            .await?
            .into_iter()
            .filter(|p| p.state != PersonState::Removed)
            .collect())
    }

    /// A person and their devices, if the actor may see them.
    pub async fn admin_person(
        &self,
        actor: &AdminActor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<(Person, Vec<Device>)> {
        match self.store.person_by_id(id).await? {
            Some(p) if actor.may(p.org_id) => {
                let devices = self.store.devices_of(p.id).await?;
                Ok((p, devices))
            }
            _ => Err(self.deny(actor, format!("person {id}"), now).await),
        }
    }

    /// A person the actor may act on for their credentials (temporary code, token, unlock,
    /// block): as `admin_person`, and an org admin may not act on the provider's staff
    /// (operators, auditors) even of their own organisation (404, audited access_denied).
    pub async fn admin_person_to_change(
        &self,
        actor: &AdminActor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<Person> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        let staff = person
            .roles
            .iter()
            .any(|r| matches!(r, Role::Operator | Role::Auditor));
        if staff && !actor.is_operator() {
            return Err(self.deny(actor, format!("person {id}"), now).await);
        }
        Ok(person)
    }

    /// Unlock a person (the lockout and every source's password throttle), by an org admin
    /// of their organisation or an operator; audited.
    pub async fn admin_unlock(
        &self,
        actor: &AdminActor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<()> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let mut event = Self::person_event(&person, EventKind::PersonUnlocked, &actor.actor, now);
        actor.stamp(&mut event);
        Ok(self.store.unlock_person(person.id, event).await?)
    }

    /// Block a person now (`true`) or lift the block: immediate and reversible, audited.
    /// Every channel refuses a blocked person from the next request on; the caller ends their
    /// web sessions and pending approvals. Returns the person.
    pub async fn admin_block(
        &self,
        actor: &AdminActor,
        id: PersonId,
        block: bool,
        now: UnixTime,
    ) -> Result<Person> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let kind = if block {
            EventKind::PersonBlocked
        } else {
            EventKind::PersonUnblocked
        };
        let mut event = Self::person_event(&person, kind, &actor.actor, now);
        actor.stamp(&mut event);
        self.store
            .set_blocked(person.id, block.then_some(now), event)
            .await?;
        if block {
            self.approvals().cancel_person(person.id).await;
        }
        Ok(person)
    }

    /// A temporary code for a person's lost device, issued by the actor (audited with them).
    pub async fn admin_temporary_code(
        &self,
        actor: &AdminActor,
        id: PersonId,
        valid_minutes: u32,
        now: UnixTime,
    ) -> Result<(SecretString, UnixTime)> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid("This account is not active."));
        }
        let mut origin = AuditEvent::admin(now, EventKind::TemporaryCodeIssued, &actor.actor);
        origin.channel = actor.channel;
        origin.client = Some(actor.client.clone());
        origin.source = actor.source.map(|s| s.to_string());
        origin.request_id = actor.request_id.clone();
        self.issue_temporary_code_from(&person.username, valid_minutes, &origin, now)
            .await
    }

    /// Link a hardware token from the organisation's stock (or the provider's unallocated
    /// stock) to a person of the actor's organisation.
    pub async fn admin_assign_token(
        &self,
        actor: &AdminActor,
        id: PersonId,
        serial: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid("This account is not active."));
        }
        let serial = clean(serial, "serial number", 64, true)?;
        let not_in_stock =
            || invalid("No token with that serial number is in your organisation's stock.");
        self.store
            .device_by_serial(&serial)
            .await?
            .filter(|d| d.kind == DeviceKind::HardwareToken && d.state == DeviceState::InStock)
            .filter(|d| d.org_id.is_none_or(|o| o == person.org_id))
            .ok_or_else(not_in_stock)?;
        let mut event = Self::person_event(&person, EventKind::DeviceLinked, &actor.actor, now);
        event.channel = actor.channel;
        event.client = Some(actor.client.clone());
        event.source = actor.source.map(|s| s.to_string());
        event.request_id = actor.request_id.clone();
        let label = format!("token {serial}");
        self.store
            .assign_token(&serial, person.id, &label, event)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) | StoreError::NotFound(_) => not_in_stock(),
                e => e.into(),
            })
    }

    // ---- requests -------------------------------------------------------------------------

    /// Check and tidy what an organisation asks for.
    async fn checked_data(&self, org: OrgId, data: RequestData) -> Result<RequestData> {
        Ok(match data {
            RequestData::NewEmployee {
                full_name,
                email,
                employee_number,
                username,
                start_date,
                phone,
                token,
            } => {
                let full_name = clean(&full_name, "name", 200, true)?;
                let email = clean(&email, "e-mail address", 254, true)?;
                if !email_ok(&email) {
                    return Err(invalid("The e-mail address does not look right."));
                }
                let employee_number = clean(&employee_number, "employee number", 64, false)?;
                let username = clean(&username, "username", 254, false)?;
                let username = crate::store::normalise_username(if username.is_empty() {
                    &email
                } else {
                    &username
                });
                if parse_date(&start_date).is_none() {
                    return Err(invalid("Give the start date as YYYY-MM-DD."));
                }
                if !phone && !token {
                    return Err(invalid(
                        "Choose at least one factor: a phone, a hardware token, or both.",
                    ));
                }
                // Unique per organisation (another organisation's `ann` does not matter).
                if self
                    .store
                    .people_named(&username)
                    .await?
                    .iter()
                    .any(|(p, _)| p.org_id == org)
                {
                    return Err(invalid(
                        "That username is taken; choose another one (or leave it empty to use the e-mail address).",
                    ));
                }
                RequestData::NewEmployee {
                    full_name,
                    email,
                    employee_number,
                    username,
                    start_date: start_date.trim().to_owned(),
                    phone,
                    token,
                }
            }
            RequestData::ChangeAccount {
                person_id,
                full_name,
                email,
                replace_token,
                old_token,
                new_serial,
            } => {
                self.org_person(org, person_id).await?;
                let full_name = clean(&full_name, "name", 200, false)?;
                let email = clean(&email, "e-mail address", 254, false)?;
                if !email.is_empty() && !email_ok(&email) {
                    return Err(invalid("The e-mail address does not look right."));
                }
                let new_serial = clean(&new_serial, "serial number", 64, false)?;
                if full_name.is_empty() && email.is_empty() && !replace_token {
                    return Err(invalid(
                        "Nothing to change: give a new name, a new e-mail address, or replace the token.",
                    ));
                }
                RequestData::ChangeAccount {
                    person_id,
                    full_name,
                    email,
                    replace_token,
                    old_token,
                    new_serial,
                }
            }
            RequestData::RemoveAccount {
                person_id,
                end_date,
                tokens,
            } => {
                self.org_person(org, person_id).await?;
                if parse_date(&end_date).is_none() {
                    return Err(invalid("Give the end date as YYYY-MM-DD."));
                }
                RequestData::RemoveAccount {
                    person_id,
                    end_date: end_date.trim().to_owned(),
                    tokens,
                }
            }
            RequestData::OrderTokens {
                count,
                address,
                contact,
            } => {
                count_ok(count)?;
                RequestData::OrderTokens {
                    count,
                    address: clean(&address, "delivery address", 500, true)?,
                    contact: clean(&contact, "contact", 200, true)?,
                }
            }
            RequestData::ReserveTokens { count } => {
                count_ok(count)?;
                RequestData::ReserveTokens { count }
            }
        })
    }

    /// A person of `org` who is not removed (the same refusal for any other).
    async fn org_person(&self, org: OrgId, id: PersonId) -> Result<Person> {
        self.store
            .person_by_id(id)
            .await?
            .filter(|p| p.org_id == org && p.state != PersonState::Removed)
            .ok_or_else(|| invalid("No such person in this organisation."))
    }

    /// File a request for `org`.
    pub async fn submit_request(
        &self,
        actor: &AdminActor,
        org: OrgId,
        data: RequestData,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let org = self.admin_org(actor, org, now).await?;
        let data = self.checked_data(org.id, data).await?;
        if matches!(data, RequestData::ReserveTokens { .. })
            && self.reservation_closed(org.id, now).await?
        {
            return Err(invalid(
                "The switch-over date has passed: order tokens instead of reserving them.",
            ));
        }
        let mut event = actor.event(EventKind::RequestSubmitted, now);
        event.person_id = data.person_id();
        event.detail = Some(serde_json::json!({ "type": data.kind().as_str() }));
        let requester = actor.person.as_ref().map(|p| p.id);
        Ok(self
            .store
            .submit_request(org.id, &data, &actor.actor, requester, now, event)
            .await?)
    }

    async fn reservation_closed(&self, org: OrgId, now: UnixTime) -> Result<bool> {
        Ok(self.store.switch_over(org).await?.is_some_and(|t| now >= t))
    }

    /// A request and its history, if the actor may see it.
    pub async fn request_for(
        &self,
        actor: &AdminActor,
        id: RequestId,
        now: UnixTime,
    ) -> Result<(LifecycleRequest, Vec<RequestStep>)> {
        match self.store.request_by_id(id).await? {
            Some(r) if actor.may(r.org_id) => {
                let history = self.store.request_history(r.id).await?;
                Ok((r, history))
            }
            _ => Err(self.deny(actor, format!("{NOT_FOUND} {id}"), now).await),
        }
    }

    /// Requests the actor may see: of `org` (an org admin: always their own), or all.
    pub async fn requests_for(
        &self,
        actor: &AdminActor,
        org: Option<OrgId>,
        open_only: bool,
        now: UnixTime,
    ) -> Result<Vec<LifecycleRequest>> {
        let org = match (actor.scope, org) {
            (Scope::Org(own), None) => Some(own),
            (_, Some(o)) => Some(self.admin_org(actor, o, now).await?.id),
            (Scope::All, None) => None,
        };
        Ok(self.store.requests(org, open_only).await?)
    }

    /// Change (`Some(count)`) or cancel (`None`) a reservation, until the switch-over date.
    pub async fn change_reservation(
        &self,
        actor: &AdminActor,
        id: RequestId,
        count: Option<u32>,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let (request, _) = self.request_for(actor, id, now).await?;
        if request.data.kind() != RequestKind::ReserveTokens
            || !matches!(
                request.status,
                RequestStatus::Submitted | RequestStatus::InProgress | RequestStatus::Done
            )
            || self.reservation_closed(request.org_id, now).await?
        {
            return Err(invalid(CLOSED_RESERVATION));
        }
        let data = count
            .map(|c| count_ok(c).map(|()| RequestData::ReserveTokens { count: c }))
            .transpose()?;
        let note = match count {
            Some(c) => format!("reservation changed to {c} tokens"),
            None => "reservation cancelled".to_owned(),
        };
        let change = RequestChange {
            from: &[request.status],
            to: if count.is_some() {
                request.status
            } else {
                RequestStatus::Cancelled
            },
            actor: &actor.actor,
            note: Some(&note),
            data: data.as_ref(),
            scheduled_at: None,
        };
        let mut event = actor.event(EventKind::RequestUpdated, now);
        event.org_id = Some(request.org_id);
        event.detail = Some(serde_json::json!({
            "request": id, "status": change.to.as_str(), "count": count,
        }));
        Ok(self.store.update_request(id, &change, now, event).await?)
    }

    // ---- the operator's queue ---------------------------------------------------------------

    fn request_event(
        actor: &AdminActor,
        request: &LifecycleRequest,
        to: RequestStatus,
        now: UnixTime,
    ) -> AuditEvent {
        let mut event = actor.event(EventKind::RequestUpdated, now);
        event.org_id = Some(request.org_id);
        event.person_id = request.person_id;
        event.detail = Some(serde_json::json!({
            "request": request.id,
            "type": request.data.kind().as_str(),
            "status": to.as_str(),
        }));
        event
    }

    /// The operator takes a submitted request (in progress).
    pub async fn take_request(
        &self,
        actor: &AdminActor,
        id: RequestId,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        self.operator_only(actor, "take request", now).await?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let change = RequestChange {
            from: &[RequestStatus::Submitted],
            to: RequestStatus::InProgress,
            actor: &actor.actor,
            note: None,
            data: None,
            scheduled_at: None,
        };
        let event = Self::request_event(actor, &request, change.to, now);
        let done = self.store.update_request(id, &change, now, event).await?;
        self.tell_requester(actor, &done, None, now).await;
        Ok(done)
    }

    /// The operator rejects an open request, with a reason.
    pub async fn reject_request(
        &self,
        actor: &AdminActor,
        id: RequestId,
        reason: &str,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        self.operator_only(actor, "reject request", now).await?;
        let reason = clean(reason, "reason", 500, true)?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let change = RequestChange {
            from: &[RequestStatus::Submitted, RequestStatus::InProgress],
            to: RequestStatus::Rejected,
            actor: &actor.actor,
            note: Some(&reason),
            data: None,
            scheduled_at: None,
        };
        let mut event = Self::request_event(actor, &request, change.to, now);
        event.reason = Some("rejected".into());
        let done = self.store.update_request(id, &change, now, event).await?;
        self.tell_requester(actor, &done, Some(&reason), now).await;
        Ok(done)
    }

    /// The operator completes an open request: the change is made. `base_url` is where the
    /// activation page lives (`https://host`).
    pub async fn complete_request(
        &self,
        actor: &AdminActor,
        id: RequestId,
        base_url: &str,
        now: UnixTime,
    ) -> Result<Completed> {
        self.operator_only(actor, "complete request", now).await?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let from = [RequestStatus::Submitted, RequestStatus::InProgress];
        let mut done_event = Self::request_event(actor, &request, RequestStatus::Done, now);
        let mut link = None;
        let done = match request.data.clone() {
            RequestData::NewEmployee {
                full_name,
                email,
                employee_number,
                username,
                start_date,
                phone,
                token,
            } => {
                let note = if token {
                    format!(
                        "account made (start {start_date}); activation link sent; a hardware token is to be linked from the organisation's stock"
                    )
                } else {
                    format!("account made (start {start_date}); activation link sent")
                };
                let _ = phone;
                let change = RequestChange {
                    from: &from,
                    to: RequestStatus::Done,
                    actor: &actor.actor,
                    note: Some(&note),
                    data: None,
                    scheduled_at: None,
                };
                let new = NewPerson {
                    username: username.clone(),
                    full_name,
                    email: Some(email),
                    employee_number: Some(employee_number).filter(|e| !e.is_empty()),
                    org_id: request.org_id,
                    roles: vec![Role::Person],
                };
                let (secret, hash) = new_secret()?;
                let expires_at = now + ACTIVATION_SECONDS;
                let mut created = actor.event(EventKind::PersonCreated, now);
                created.org_id = Some(request.org_id);
                created.username = Some(crate::store::normalise_username(&username));
                created.detail = Some(serde_json::json!({ "request": id, "roles": "person" }));
                let mut issued = actor.event(EventKind::ActivationLinkIssued, now);
                issued.org_id = Some(request.org_id);
                issued.detail =
                    Some(serde_json::json!({ "request": id, "expires_at": expires_at }));
                done_event.username = created.username.clone();
                let (done, person, link_id) = self
                    .store
                    .complete_new_employee(
                        id,
                        &new,
                        &hash,
                        expires_at,
                        &change,
                        now,
                        vec![created, done_event.clone(), issued.clone()],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => invalid(
                            "The username was taken meanwhile: reject the request with that reason so the organisation can ask again with another.",
                        ),
                        e => e.into(),
                    })?;
                let url = format!(
                    "{}/activate/{link_id}.{secret}",
                    base_url.trim_end_matches('/')
                );
                issued.person_id = Some(person.id);
                self.send_activation(&person, &url, expires_at, &issued);
                link = Some(SecretString::new(url));
                done
            }
            RequestData::OrderTokens { count, .. } => {
                let note = format!("{count} tokens moved from stock to the organisation");
                let change = RequestChange {
                    from: &from,
                    to: RequestStatus::Done,
                    actor: &actor.actor,
                    note: Some(&note),
                    data: None,
                    scheduled_at: None,
                };
                let mut stock = actor.event(EventKind::TokenStockChanged, now);
                stock.org_id = Some(request.org_id);
                stock.detail = Some(serde_json::json!({
                    "request": id, "shipped": count,
                }));
                self.store
                    .complete_order(
                        id,
                        request.org_id,
                        count,
                        &change,
                        now,
                        vec![done_event, stock],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Invalid(t) => invalid(t),
                        e => e.into(),
                    })?
            }
            RequestData::ReserveTokens { count } => {
                let note = format!("{count} tokens reserved");
                let change = RequestChange {
                    from: &from,
                    to: RequestStatus::Done,
                    actor: &actor.actor,
                    note: Some(&note),
                    data: None,
                    scheduled_at: None,
                };
                self.store
                    .update_request(id, &change, now, done_event)
                    .await?
            }
            RequestData::RemoveAccount {
                person_id,
                end_date,
                tokens,
            } => {
                let person = self.org_person(request.org_id, person_id).await?;
                let end = parse_date(&end_date).unwrap_or(now);
                if end > now {
                    let note = format!("the account will be removed on {end_date}");
                    let change = RequestChange {
                        from: &from,
                        to: RequestStatus::InProgress,
                        actor: &actor.actor,
                        note: Some(&note),
                        data: None,
                        scheduled_at: Some(end),
                    };
                    let mut event =
                        Self::request_event(actor, &request, RequestStatus::InProgress, now);
                    event.detail = Some(serde_json::json!({
                        "request": id, "status": "in_progress", "scheduled_at": end,
                    }));
                    self.store.update_request(id, &change, now, event).await?
                } else {
                    self.remove_leaver(actor, &request, &person, tokens, now)
                        .await?
                }
            }
            RequestData::ChangeAccount {
                person_id,
                full_name,
                email,
                replace_token,
                old_token,
                new_serial,
            } => {
                let person = self.org_person(request.org_id, person_id).await?;
                let what = AccountChange {
                    full_name: Some(full_name).filter(|s| !s.is_empty()),
                    email: Some(email).filter(|s| !s.is_empty()),
                    unlink_tokens: replace_token.then_some(old_token),
                    new_serial: Some(new_serial).filter(|s| replace_token && !s.is_empty()),
                };
                let note = "account changed";
                let change = RequestChange {
                    from: &from,
                    to: RequestStatus::Done,
                    actor: &actor.actor,
                    note: Some(note),
                    data: None,
                    scheduled_at: None,
                };
                let mut changed = actor.event(EventKind::PersonChanged, now);
                changed.org_id = Some(person.org_id);
                changed.username = Some(person.username.clone());
                changed.detail = Some(serde_json::json!({
                    "request": id,
                    "name": what.full_name.is_some(),
                    "email": what.email.is_some(),
                }));
                let mut events = vec![done_event, changed];
                if replace_token {
                    let mut stock = actor.event(EventKind::TokenStockChanged, now);
                    stock.org_id = Some(person.org_id);
                    stock.detail = Some(serde_json::json!({
                        "request": id,
                        "old_token": match old_token { TokenFate::Lost => "lost", TokenFate::Return => "returned" },
                        "new_serial": what.new_serial,
                    }));
                    events.push(stock);
                }
                self.store
                    .complete_change(id, person.id, &what, &change, now, events)
                    .await
                    .map_err(|e| match e {
                        StoreError::Invalid(t) => invalid(t),
                        e => e.into(),
                    })?
            }
        };
        self.tell_requester(actor, &done, None, now).await;
        Ok(Completed {
            request: done,
            activation_link: link,
        })
    }

    /// Remove a leaver now, completing `request`.
    async fn remove_leaver(
        &self,
        actor: &AdminActor,
        request: &LifecycleRequest,
        person: &Person,
        tokens: TokenFate,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let note = match tokens {
            TokenFate::Return => {
                "account removed; hardware tokens back in the organisation's stock"
            }
            TokenFate::Lost => "account removed; hardware tokens marked lost",
        };
        let change = RequestChange {
            from: &[RequestStatus::Submitted, RequestStatus::InProgress],
            to: RequestStatus::Done,
            actor: &actor.actor,
            note: Some(note),
            data: None,
            scheduled_at: None,
        };
        let done_event = Self::request_event(actor, request, RequestStatus::Done, now);
        let mut removed = actor.event(EventKind::PersonRemoved, now);
        removed.org_id = Some(person.org_id);
        removed.username = Some(person.username.clone());
        removed.detail = Some(serde_json::json!({ "request": request.id }));
        let mut events = vec![done_event, removed];
        if tokens == TokenFate::Lost {
            let mut stock = actor.event(EventKind::TokenStockChanged, now);
            stock.org_id = Some(person.org_id);
            stock.detail = Some(serde_json::json!({ "request": request.id, "lost_of": person.id }));
            events.push(stock);
        }
        self.store
            .remove_person_now(person.id, tokens, Some((request.id, &change)), now, events)
            .await?
            .ok_or_else(|| ServiceError::Internal("removal without its request".into()))
    }

    /// Leavers whose end date has come: removed (the periodic task). Returns how many.
    pub async fn apply_due_removals(&self, now: UnixTime) -> Result<usize> {
        let system = AdminActor {
            actor: "system".into(),
            channel: Channel::System,
            client: "lifecycle".into(),
            ..AdminActor::cli()
        };
        let mut applied = 0;
        for request in self.store.due_removals(now).await? {
            let RequestData::RemoveAccount {
                person_id, tokens, ..
            } = request.data
            else {
                continue;
            };
            match self.org_person(request.org_id, person_id).await {
                Ok(person) => {
                    let done = self
                        .remove_leaver(&system, &request, &person, tokens, now)
                        .await?;
                    self.tell_requester(&system, &done, None, now).await;
                }
                Err(_) => {
                    // Removed some other way meanwhile: the request is done all the same.
                    let change = RequestChange {
                        from: &[RequestStatus::InProgress],
                        to: RequestStatus::Done,
                        actor: &system.actor,
                        note: Some("the account was removed already"),
                        data: None,
                        scheduled_at: None,
                    };
                    let event = Self::request_event(&system, &request, RequestStatus::Done, now);
                    self.store
                        .update_request(request.id, &change, now, event)
                        .await?;
                }
            }
            applied += 1;
        }
        Ok(applied)
    }

    /// Mail the person who filed `request` about its new status.
    async fn tell_requester(
        &self,
        actor: &AdminActor,
        request: &LifecycleRequest,
        reason: Option<&str>,
        now: UnixTime,
    ) {
        let Some(id) = request.requester_id else {
            return;
        };
        let Ok(Some(person)) = self.store.person_by_id(id).await else {
            return;
        };
        let context = actor.event(EventKind::RequestUpdated, now);
        let (id, kind, status) = (request.id, request.data.kind(), request.status);
        let reason = reason.map(str::to_owned);
        self.notify_in(
            &person,
            move |_, lang| {
                use crate::i18n::{Arg, t, t_args};
                let status = t(lang, status_key(status));
                let mut body = t_args(
                    lang,
                    "mail-request-body",
                    &[
                        ("id", Arg::Number(id)),
                        ("kind", t(lang, kind_key(kind)).into()),
                        ("status", status.as_str().into()),
                    ],
                );
                body.push('\n');
                if let Some(r) = reason {
                    body.push_str(&t_args(
                        lang,
                        "mail-request-reason",
                        &[("reason", r.into())],
                    ));
                    body.push('\n');
                }
                body.push('\n');
                body.push_str(&t(lang, "mail-request-history"));
                body.push('\n');
                super::notify::Notice {
                    subject: t_args(
                        lang,
                        "mail-request-subject",
                        &[("id", Arg::Number(id)), ("status", status.into())],
                    ),
                    audit_body: Some(body.clone()),
                    body,
                }
            },
            &context,
        );
    }

    fn send_activation(&self, person: &Person, url: &str, expires_at: UnixTime, ctx: &AuditEvent) {
        let (p, url) = (person.clone(), url.to_owned());
        self.notify_in(
            person,
            move |gw, lang| gw.activation_notice(&p, &url, expires_at, lang),
            ctx,
        );
    }

    /// The mail with a new account's activation link (the link is a credential: never in the
    /// audit detail).
    pub(super) fn activation_notice(
        &self,
        person: &Person,
        url: &str,
        expires_at: UnixTime,
        lang: crate::i18n::Lang,
    ) -> super::notify::Notice {
        use crate::i18n::{t, t_args};
        let until = self.time_in(expires_at, lang);
        let body = super::notify::letter(
            lang,
            &person.full_name,
            &[
                &t_args(lang, "mail-activation-body", &[("until", until.into())]),
                url,
                &t(lang, "mail-activation-not-expected"),
            ],
        );
        super::notify::Notice {
            subject: t(lang, "mail-activation-subject"),
            body,
            audit_body: None,
        }
    }

    // ---- activation -----------------------------------------------------------------------

    /// The live link `token` names (constant-time hash comparison), or `Invalid`.
    async fn live_link(&self, token: &str, now: UnixTime) -> Result<ActivationLink> {
        let (id, hash) = split_secret(token).ok_or_else(|| invalid(LINK_INVALID))?;
        let link = self
            .store
            .activation_link(id)
            .await?
            .filter(|l| crate::secret::ct_eq(&l.token_hash, &hash))
            .filter(|l| l.used_at.is_none() && l.expires_at > now)
            .ok_or_else(|| invalid(LINK_INVALID))?;
        Ok(link)
    }

    /// Open an activation link: who it is for and the first phone's key (made and kept,
    /// sealed, with the link the first time).
    pub async fn open_activation(&self, token: &str, now: UnixTime) -> Result<Activation> {
        let mut link = self.live_link(token, now).await?;
        let person = self
            .store
            .person_by_id(link.person_id)
            .await?
            .filter(|p| p.state == PersonState::Active)
            .ok_or_else(|| invalid(LINK_INVALID))?;
        if link.sealed_seed.is_none() {
            let seed =
                random_bytes(20).map_err(|_| ServiceError::Crypto("random generator".into()))?;
            let uid = new_uid();
            let sealed = self.seal(&seed, &uid)?;
            self.store
                .set_activation_seed(link.id, &sealed, &uid)
                .await?;
            link = self
                .store
                .activation_link(link.id)
                .await?
                .ok_or_else(|| invalid(LINK_INVALID))?;
        }
        let (Some(sealed), Some(uid)) = (&link.sealed_seed, &link.seed_uid) else {
            return Err(invalid(LINK_INVALID));
        };
        let seed = self
            .key
            .open(sealed, uid.as_bytes())
            .map_err(|e| ServiceError::Crypto(e.to_string()))?;
        let directory = self
            .directory_of(
                &person,
                self.store.password_hash(person.id).await?.is_some(),
            )
            .await?
            .map(|d| d.name().to_owned());
        Ok(Activation {
            person,
            seed,
            directory,
        })
    }

    /// Use an activation link: set the password (twice the same, the configured minimum
    /// length) and link the first phone, confirmed by its current code. Once.
    pub async fn activate(
        &self,
        token: &str,
        input: ActivationInput,
        source: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<Person> {
        let link = self.live_link(token, now).await?;
        let Activation {
            person,
            seed,
            directory,
        } = self.open_activation(token, now).await?;
        let ActivationInput {
            password,
            again,
            label,
            code,
        } = input;
        // A directory's person signs in with the directory's password: none is set here.
        let hash = if directory.is_some() {
            None
        } else {
            if !crate::secret::ct_eq(password.expose().as_bytes(), again.expose().as_bytes()) {
                return Err(invalid("The two passwords differ."));
            }
            match self.hash_password(password).await {
                Ok(h) => Some(h),
                Err(ServiceError::Password(e)) => return Err(invalid(e.to_string())),
                Err(e) => return Err(e),
            }
        };
        let params = crate::otp::OtpParams::totp_default();
        let step = match crate::otp::check_totp(
            seed.expose(),
            &params,
            code.trim(),
            now,
            self.engine.otp_policy().totp_skew_steps,
            None,
        ) {
            crate::otp::TotpCheck::Matched { step } => step,
            _ => {
                return Err(invalid(
                    "That code is not right. Check that the app shows the new account, then enter its current code.",
                ));
            }
        };
        let uid = link.seed_uid.clone().ok_or_else(|| invalid(LINK_INVALID))?;
        let sealed = link
            .sealed_seed
            .clone()
            .ok_or_else(|| invalid(LINK_INVALID))?;
        let phone = NewDevice {
            uid,
            person_id: Some(person.id),
            org_id: Some(person.org_id),
            kind: DeviceKind::PhoneTotp,
            label: label_or(&label, "phone")?,
            serial: None,
            manufacturer: None,
            otp: params,
            sealed_secret: sealed,
            counter: 0,
            state: DeviceState::Active,
        };
        let actor = format!("person:{}", person.id);
        let mut events = Vec::new();
        let kinds = if hash.is_some() {
            &[
                EventKind::ActivationCompleted,
                EventKind::PasswordChanged,
                EventKind::DeviceLinked,
            ][..]
        } else {
            &[EventKind::ActivationCompleted, EventKind::DeviceLinked][..]
        };
        for &kind in kinds {
            let mut e = Self::person_event(&person, kind, &actor, now);
            e.channel = Channel::Portal;
            e.client = Some("activation".into());
            e.source = source.map(|s| s.to_string());
            events.push(e);
        }
        self.store
            .complete_activation(link.id, hash.as_deref(), &phone, step, now, events)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => invalid(LINK_INVALID),
                e => e.into(),
            })?;
        Ok(person)
    }

    /// A new activation link for a person who has not activated (the old one is void).
    pub async fn reissue_activation(
        &self,
        actor: &AdminActor,
        id: PersonId,
        base_url: &str,
        now: UnixTime,
    ) -> Result<SecretString> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        if person.state != PersonState::Active {
            return Err(invalid("This account is not active."));
        }
        // A link sets the password and adds a phone: only for an account never activated,
        // or it would hand the account to whoever holds the link.
        if self.store.password_hash(person.id).await?.is_some() {
            return Err(invalid(
                "This account has a password already; an activation link is only for accounts not yet activated. For a lost device, issue a temporary code.",
            ));
        }
        let (secret, hash) = new_secret()?;
        let expires_at = now + ACTIVATION_SECONDS;
        let mut event = actor.event(EventKind::ActivationLinkIssued, now);
        event.org_id = Some(person.org_id);
        event.username = Some(person.username.clone());
        event.detail = Some(serde_json::json!({ "expires_at": expires_at }));
        let link_id = self
            .store
            .issue_activation_link(person.id, None, &hash, now, expires_at, event.clone())
            .await?;
        let url = format!(
            "{}/activate/{link_id}.{secret}",
            base_url.trim_end_matches('/')
        );
        event.person_id = Some(person.id);
        self.send_activation(&person, &url, expires_at, &event);
        Ok(SecretString::new(url))
    }

    // ---- API tokens, switch-over, stock -----------------------------------------------------

    /// A new API token for `org` (operator only): returned once, stored as its SHA-256.
    pub async fn issue_api_token(
        &self,
        actor: &AdminActor,
        org: OrgId,
        label: &str,
        now: UnixTime,
    ) -> Result<(ApiToken, SecretString)> {
        self.operator_only(actor, "issue API token", now).await?;
        let org = self.admin_org(actor, org, now).await?;
        let label = clean(label, "label", 100, false)?;
        let (secret, hash) = new_secret()?;
        let mut event = actor.event(EventKind::ApiTokenIssued, now);
        event.detail = Some(serde_json::json!({ "label": label, "action": "issued" }));
        let token = self
            .store
            .create_api_token(org.id, &hash, &label, &actor.actor, now, event)
            .await?;
        let text = SecretString::new(format!("{}.{secret}", token.id));
        Ok((token, text))
    }

    pub async fn revoke_api_token(&self, actor: &AdminActor, id: i64, now: UnixTime) -> Result<()> {
        self.operator_only(actor, "revoke API token", now).await?;
        let mut event = actor.event(EventKind::ApiTokenIssued, now);
        event.detail = Some(serde_json::json!({ "token_id": id, "action": "revoked" }));
        self.store
            .revoke_api_token(id, now, event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(t) => ServiceError::NotFound(t),
                e => e.into(),
            })
    }

    pub async fn api_tokens(&self, actor: &AdminActor, now: UnixTime) -> Result<Vec<ApiToken>> {
        self.operator_only(actor, "list API tokens", now).await?;
        Ok(self.store.api_tokens(None).await?)
    }

    /// The actor an `Authorization: Bearer` token stands for, or None (unknown, revoked,
    /// malformed: all the same; compared in constant time).
    pub async fn api_actor(
        &self,
        bearer: &str,
        source: Option<IpAddr>,
        request_id: Option<String>,
    ) -> Result<Option<AdminActor>> {
        let Some((id, hash)) = split_secret(bearer) else {
            return Ok(None);
        };
        let token = self.store.api_token(id).await?;
        Ok(token
            .filter(|t| crate::secret::ct_eq(&t.token_hash, &hash) && t.revoked_at.is_none())
            .map(|t| AdminActor::api(&t, source, request_id)))
    }

    /// Set (or clear, with an empty date) an organisation's switch-over date (operator).
    pub async fn set_switch_over(
        &self,
        actor: &AdminActor,
        org: OrgId,
        date: &str,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "set switch-over", now).await?;
        let org = self.admin_org(actor, org, now).await?;
        let at = if date.trim().is_empty() {
            None
        } else {
            Some(parse_date(date).ok_or_else(|| invalid("Give the date as YYYY-MM-DD."))?)
        };
        let mut event = actor.event(EventKind::TokenStockChanged, now);
        event.detail = Some(serde_json::json!({ "switch_over": at }));
        Ok(self.store.set_switch_over(org.id, at, event).await?)
    }

    pub async fn switch_over(&self, org: OrgId) -> Result<Option<UnixTime>> {
        Ok(self.store.switch_over(org).await?)
    }

    /// Token stock per organisation with planned demand (operator only).
    pub async fn stock(&self, actor: &AdminActor, now: UnixTime) -> Result<Vec<StockCount>> {
        self.operator_only(actor, "token stock", now).await?;
        Ok(self.store.stock_counts().await?)
    }
}

/// The catalogue's key for a request's kind.
pub(crate) fn kind_key(kind: crate::model::RequestKind) -> &'static str {
    use crate::model::RequestKind as K;
    match kind {
        K::NewEmployee => "request-kind-new-employee",
        K::ChangeAccount => "request-kind-change-account",
        K::RemoveAccount => "request-kind-remove-account",
        K::OrderTokens => "request-kind-order-tokens",
        K::ReserveTokens => "request-kind-reserve-tokens",
    }
}

/// The catalogue's key for a request's status.
pub(crate) fn status_key(status: crate::model::RequestStatus) -> &'static str {
    use crate::model::RequestStatus as S;
    match status {
        S::Submitted => "request-status-submitted",
        S::InProgress => "request-status-in-progress",
        S::Done => "request-status-done",
        S::Rejected => "request-status-rejected",
        S::Cancelled => "request-status-cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_split_and_hash() {
        let (secret, hash) = new_secret().unwrap();
        let (id, h) = split_secret(&format!("12.{secret}")).unwrap();
        assert_eq!(id, 12);
        assert_eq!(h, hash);
        assert!(split_secret("12").is_none());
        assert!(split_secret("x.abc").is_none());
        assert!(split_secret("12.").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-12-03"), Some(1_796_256_000));
        assert_eq!(format_date(1_796_256_000 + 3600), "2026-12-03");
        assert!(parse_date("2026-13-03").is_none());
        assert!(parse_date("tomorrow").is_none());
    }

    use crate::service::test_gateway as gateway;

    #[tokio::test]
    async fn a_leaver_with_a_future_end_date_is_removed_when_it_comes() {
        let (gw, _dir) = gateway().await;
        let org = gw.create_org("A", "t", 1000).await.unwrap();
        let ann = gw
            .create_person(
                NewPerson {
                    username: "ann".into(),
                    full_name: "Ann".into(),
                    email: None,
                    employee_number: None,
                    org_id: org.id,
                    roles: vec![Role::Person],
                },
                None,
                "t",
                1000,
            )
            .await
            .unwrap();
        let op = AdminActor::cli();
        let end = parse_date("2030-01-01").unwrap();
        let data = RequestData::RemoveAccount {
            person_id: ann.id,
            end_date: "2030-01-01".into(),
            tokens: TokenFate::Return,
        };
        let r = gw.submit_request(&op, org.id, data, 1000).await.unwrap();
        let done = gw
            .complete_request(&op, r.id, "https://x", 2000)
            .await
            .unwrap();
        assert_eq!(done.request.status, RequestStatus::InProgress);
        assert_eq!(done.request.scheduled_at, Some(end));
        assert_eq!(gw.apply_due_removals(end - 1).await.unwrap(), 0);
        assert_eq!(gw.person("ann").await.unwrap().state, PersonState::Active);
        assert_eq!(gw.apply_due_removals(end).await.unwrap(), 1);
        assert_eq!(gw.person("ann").await.unwrap().state, PersonState::Removed);
        let (r, history) = gw.request_for(&op, r.id, end).await.unwrap();
        assert_eq!(r.status, RequestStatus::Done);
        assert_eq!(history.last().unwrap().actor, "system");
        assert_eq!(gw.apply_due_removals(end + 60).await.unwrap(), 0, "once");
        // An org admin of another organisation sees none of it.
        let other = AdminActor {
            scope: Scope::Org(org.id + 1),
            ..AdminActor::cli()
        };
        assert!(matches!(
            gw.request_for(&other, r.id, end).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(
            gw.requests_for(&other, None, false, end)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn scopes() {
        let person = |roles: Vec<Role>| Person {
            id: 1,
            public_id: "p".into(),
            username: "a".into(),
            full_name: "A".into(),
            email: None,
            employee_number: None,
            org_id: 7,
            roles,
            state: PersonState::Active,
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            blocked_at: None,
            email_verified_at: None,
        };
        assert!(AdminActor::from_person(&person(vec![Role::Person]), None, None).is_none());
        let admin = AdminActor::from_person(&person(vec![Role::OrgAdmin]), None, None).unwrap();
        assert!(admin.may(7) && !admin.may(8) && !admin.is_operator());
        let op = AdminActor::from_person(&person(vec![Role::Operator]), None, None).unwrap();
        assert!(op.may(7) && op.may(8) && op.is_operator());
    }
}
