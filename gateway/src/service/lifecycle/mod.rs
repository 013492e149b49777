//! The account life cycle of customer organisations (issue 8): who may act for which
//! organisation, requests and their status, the operator's queue and what "done" changes,
//! activation links for new people, per-organisation API tokens, token stock.
//!
//! Every operation takes an `Actor` and checks its scope first: an org admin acts for
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

mod admin;
mod api_tokens;
mod change;
mod joiner;
mod leaver;
mod tokens;

/// How long an activation link works (7 days).
pub const ACTIVATION_SECONDS: i64 = 7 * 86_400;
/// The most tokens one order or reservation may name.
pub const MAX_TOKENS: u32 = 10_000;
const NOT_FOUND: &str = "request";
const OPERATOR_ONLY: &str = "svc-operator-only";
const LINK_INVALID: &str = "svc-link-invalid";
const CLOSED_RESERVATION: &str = "svc-reservation-closed";
/// A person who is not active (no activation link, no code, no token).
const NOT_ACTIVE: &str = "svc-account-not-active";
const EMAIL_WRONG: &str = "svc-email-wrong";

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

fn invalid(key: &'static str) -> ServiceError {
    refused(key)
}

/// `what`: the field in English words (`e-mail address`); the Dutch text picks its words
/// by `field` (`e-mail-address`).
pub(super) fn clean(text: &str, what: &str, max: usize, required: bool) -> Result<String> {
    let t = text.trim();
    let refusal = |key| {
        Refusal::new(key)
            .with("what", what)
            .with("field", what.replace(' ', "-"))
    };
    if required && t.is_empty() {
        return Err(refusal("svc-fill-in").into());
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(refusal("svc-too-long").with("max", number(max)).into());
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

/// The statuses a request can be completed, taken or rejected from.
const OPEN: [RequestStatus; 2] = [RequestStatus::Submitted, RequestStatus::InProgress];

/// An open request made done by `actor`, with `note` for its history.
fn completed<'a>(actor: &'a Actor, note: &'a str) -> RequestChange<'a> {
    RequestChange {
        from: &OPEN,
        to: RequestStatus::Done,
        actor: actor.who(),
        note: Some(note),
        data: None,
        scheduled_at: None,
    }
}

fn count_ok(count: u32) -> Result<()> {
    if count == 0 || count > MAX_TOKENS {
        return Err(Refusal::new("svc-token-count")
            .with("max", number(MAX_TOKENS))
            .into());
    }
    Ok(())
}

impl Gateway {
    /// Audit a refusal for want of a role or organisation.
    pub async fn audit_denied(&self, actor: &Actor, what: &str, now: UnixTime) {
        let mut e = actor.event(EventKind::AccessDenied, now);
        e.outcome = Outcome::Reject;
        e.reason = Some("scope".into());
        e.detail = Some(serde_json::json!({ "what": what }));
        if let Some(p) = actor.person() {
            e.person_id = Some(p.id);
            e.username = Some(p.username.clone());
        }
        if let Err(err) = self.store.append_event(&e).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %err, "audit write failed");
        }
    }

    /// A signed-in person asked for a page of an area (`admin`, `audit`) their roles do not
    /// open: audited as `access_denied`, reason `missing_role`, with the path asked for.
    pub async fn audit_missing_role(
        &self,
        person: &Person,
        area: &str,
        path: &str,
        source: Option<IpAddr>,
        request_id: Option<String>,
        now: UnixTime,
    ) {
        let mut e = AuditEvent::admin(
            now,
            EventKind::AccessDenied,
            &format!("person:{}", person.id),
        );
        e.channel = Channel::Portal;
        e.client = Some(area.to_owned());
        e.source = source.map(|s| s.to_string());
        e.request_id = request_id;
        e.outcome = Outcome::Reject;
        e.reason = Some("missing_role".into());
        e.detail = Some(serde_json::json!({ "path": path }));
        e.person_id = Some(person.id);
        e.username = Some(person.username.clone());
        e.org_id = Some(person.org_id);
        if let Err(err) = self.store.append_event(&e).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %err, "audit write failed");
        }
    }

    async fn deny(&self, actor: &Actor, what: String, now: UnixTime) -> ServiceError {
        self.audit_denied(actor, &what, now).await;
        ServiceError::NotFound(what)
    }

    pub(crate) async fn operator_only(
        &self,
        actor: &Actor,
        what: &str,
        now: UnixTime,
    ) -> Result<()> {
        if actor.is_operator() {
            return Ok(());
        }
        self.audit_denied(actor, what, now).await;
        Err(invalid(OPERATOR_ONLY))
    }

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
                    return Err(invalid(EMAIL_WRONG));
                }
                let employee_number = clean(&employee_number, "employee number", 64, false)?;
                let username = clean(&username, "username", 254, false)?;
                let username = crate::store::normalise_username(if username.is_empty() {
                    &email
                } else {
                    &username
                });
                if parse_date(&start_date).is_none() {
                    return Err(invalid("svc-start-date"));
                }
                if !phone && !token {
                    return Err(invalid("svc-no-factor"));
                }
                // Unique per organisation (another organisation's `ann` does not matter).
                if self
                    .store
                    .people_named(&username)
                    .await?
                    .iter()
                    .any(|(p, _)| p.org_id == org)
                {
                    return Err(invalid("svc-username-taken"));
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
                    return Err(invalid(EMAIL_WRONG));
                }
                let new_serial = clean(&new_serial, "serial number", 64, false)?;
                if full_name.is_empty() && email.is_empty() && !replace_token {
                    return Err(invalid("svc-nothing-to-change"));
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
                    return Err(invalid("svc-end-date"));
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
            .ok_or_else(|| invalid("svc-no-such-person"))
    }

    /// File a request for `org`.
    pub async fn submit_request(
        &self,
        actor: &Actor,
        org: OrgId,
        data: RequestData,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        let org = self.admin_org(actor, org, now).await?;
        let data = self.checked_data(org.id, data).await?;
        if matches!(data, RequestData::ReserveTokens { .. })
            && self.reservation_closed(org.id, now).await?
        {
            return Err(invalid("svc-reservation-passed"));
        }
        let mut event = actor.event(EventKind::RequestSubmitted, now);
        event.person_id = data.person_id();
        event.detail = Some(serde_json::json!({ "type": data.kind().as_str() }));
        let requester = actor.person().map(|p| p.id);
        Ok(self
            .store
            .submit_request(org.id, &data, actor.who(), requester, now, event)
            .await?)
    }

    async fn reservation_closed(&self, org: OrgId, now: UnixTime) -> Result<bool> {
        Ok(self.store.switch_over(org).await?.is_some_and(|t| now >= t))
    }

    /// A request and its history, if the actor may see it.
    pub async fn request_for(
        &self,
        actor: &Actor,
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
        actor: &Actor,
        org: Option<OrgId>,
        open_only: bool,
        now: UnixTime,
    ) -> Result<Vec<LifecycleRequest>> {
        let org = match (actor.scope(), org) {
            (Scope::Org(own), None) => Some(own),
            (Scope::All | Scope::Org(_), Some(o)) => Some(self.admin_org(actor, o, now).await?.id),
            (Scope::All, None) => None,
            (Scope::Own(_), _) => return Err(self.deny(actor, format!("{NOT_FOUND}s"), now).await),
        };
        Ok(self.store.requests(org, open_only).await?)
    }

    /// Change (`Some(count)`) or cancel (`None`) a reservation, until the switch-over date.
    pub async fn change_reservation(
        &self,
        actor: &Actor,
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
            actor: actor.who(),
            note: Some(&note),
            data: data.as_ref(),
            scheduled_at: None,
        };
        let mut event = actor.event(EventKind::RequestUpdated, now);
        event.org_id = Some(request.org_id);
        event.detail = Some(serde_json::json!({
            "request": id, "status": change.to.as_str(), "count": count,
        }));
        self.store
            .update_request(id, &change, now, event)
            .await
            .map_err(crate::service::refusal::store_refused)
    }

    fn request_event(
        actor: &Actor,
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
        actor: &Actor,
        id: RequestId,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        self.operator_only(actor, "take request", now).await?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let change = RequestChange {
            from: &[RequestStatus::Submitted],
            to: RequestStatus::InProgress,
            actor: actor.who(),
            note: None,
            data: None,
            scheduled_at: None,
        };
        let event = Self::request_event(actor, &request, change.to, now);
        let done = self
            .store
            .update_request(id, &change, now, event)
            .await
            .map_err(crate::service::refusal::store_refused)?;
        self.tell_requester(actor, &done, None, now).await;
        Ok(done)
    }

    /// The operator rejects an open request, with a reason.
    pub async fn reject_request(
        &self,
        actor: &Actor,
        id: RequestId,
        reason: &str,
        now: UnixTime,
    ) -> Result<LifecycleRequest> {
        self.operator_only(actor, "reject request", now).await?;
        let reason = clean(reason, "reason", 500, true)?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let change = RequestChange {
            from: &OPEN,
            to: RequestStatus::Rejected,
            actor: actor.who(),
            note: Some(&reason),
            data: None,
            scheduled_at: None,
        };
        let mut event = Self::request_event(actor, &request, change.to, now);
        event.reason = Some("rejected".into());
        let done = self
            .store
            .update_request(id, &change, now, event)
            .await
            .map_err(crate::service::refusal::store_refused)?;
        self.tell_requester(actor, &done, Some(&reason), now).await;
        Ok(done)
    }

    /// The operator completes an open request: the change is made. `base_url` is where the
    /// activation page lives (`https://host`).
    pub async fn complete_request(
        &self,
        actor: &Actor,
        id: RequestId,
        base_url: &str,
        now: UnixTime,
    ) -> Result<Completed> {
        self.operator_only(actor, "complete request", now).await?;
        let (request, _) = self.request_for(actor, id, now).await?;
        let done_event = Self::request_event(actor, &request, RequestStatus::Done, now);
        let mut link = None;
        let done = match request.data.kind() {
            RequestKind::NewEmployee => {
                let (done, url) = self
                    .complete_joiner(actor, &request, done_event, base_url, now)
                    .await?;
                link = Some(url);
                done
            }
            RequestKind::OrderTokens => {
                self.complete_order(actor, &request, done_event, now)
                    .await?
            }
            RequestKind::ReserveTokens => {
                self.complete_reservation(actor, &request, done_event, now)
                    .await?
            }
            RequestKind::RemoveAccount => self.complete_leaver(actor, &request, now).await?,
            RequestKind::ChangeAccount => {
                self.complete_change(actor, &request, done_event, now)
                    .await?
            }
        };
        self.tell_requester(actor, &done, None, now).await;
        Ok(Completed {
            request: done,
            activation_link: link,
        })
    }

    /// Mail the person who filed `request` about its new status.
    async fn tell_requester(
        &self,
        actor: &Actor,
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
        let org = gw.create_org("A", &Actor::cli(), 1000).await.unwrap();
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
                &Actor::cli(),
                1000,
            )
            .await
            .unwrap();
        let op = Actor::cli();
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
        let other = Actor::for_org(org.id + 1);
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
}
