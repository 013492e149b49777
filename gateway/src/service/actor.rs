//! Who acts on the gateway, and for whom: one `Actor` for every caller of the service (a
//! person in the portal, an operator or org admin on the admin pages, an organisation's API
//! token, the CLI, the daily tasks, a directory sync). It names who (`person:<id>`,
//! `api:<id>`, `cli`, `system`, `directory:NAME`), the scope they act in, and the channel,
//! client, source address and request id their audit events carry.
//!
//! The scope is fixed when the actor is made and cannot be changed afterwards (the fields
//! are private): a person in the portal acts on their own account only (`Scope::Own`) and
//! never passes an administrator's check (`may`, `is_operator`).

use super::{Gateway, PORTAL_CLIENT, Result, ServiceError};
use crate::audit::{AuditEvent, Channel, EventKind};
use crate::engine::{Attempt, Credentials};
use crate::model::{ApiToken, OrgId, Person, PersonId, Role, UnixTime};
use crate::secret::SecretString;
use std::net::IpAddr;

/// For what an actor may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The operator (the provider): every organisation.
    All,
    /// An org admin or an API token: this organisation only.
    Org(OrgId),
    /// A person in the self-service portal: their own account only, no organisation.
    Own(PersonId),
}

/// Who acts, for what, and from where (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `person:<id>`, `api:<token id>`, `cli`, `system`, `directory:NAME`.
    who: String,
    scope: Scope,
    /// The signed-in person (the portal, the admin pages).
    person: Option<Person>,
    channel: Channel,
    client: String,
    source: Option<IpAddr>,
    request_id: Option<String>,
}

impl Actor {
    /// A signed-in person on the admin pages: the operator role gives every organisation,
    /// org_admin their own; None without either.
    pub fn admin(
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
            who: format!("person:{}", person.id),
            scope,
            person: Some(person.clone()),
            channel: Channel::Portal,
            client: "admin".into(),
            source,
            request_id,
        })
    }

    /// A signed-in person in the self-service portal, acting on their own account.
    pub fn portal(person: Person, source: Option<IpAddr>, request_id: Option<String>) -> Self {
        Self {
            who: format!("person:{}", person.id),
            scope: Scope::Own(person.id),
            person: Some(person),
            channel: Channel::Portal,
            client: PORTAL_CLIENT.into(),
            source,
            request_id,
        }
    }

    /// An organisation's HR system, by its API token.
    pub fn api(token: &ApiToken, source: Option<IpAddr>, request_id: Option<String>) -> Self {
        Self {
            who: format!("api:{}", token.id),
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
        Self::system("cli", Channel::Cli, "cli")
    }

    /// The gateway itself, acting for every organisation: a periodic task (`system`,
    /// channel `system`, the task as client), a directory sync (`directory:NAME`), the demo
    /// set-up. Never for a request from outside the process.
    pub fn system(who: &str, channel: Channel, client: &str) -> Self {
        Self {
            who: who.to_owned(),
            scope: Scope::All,
            person: None,
            channel,
            client: client.to_owned(),
            source: None,
            request_id: None,
        }
    }

    /// Tests: the CLI's actor limited to one organisation (as an org admin is).
    #[cfg(test)]
    pub(crate) fn for_org(org: OrgId) -> Self {
        Self {
            scope: Scope::Org(org),
            ..Self::cli()
        }
    }

    /// `person:<id>`, `api:<token id>`, `cli`, `system` or `directory:NAME`.
    pub fn who(&self) -> &str {
        &self.who
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The signed-in person behind this actor, if any (also an admin's own person).
    pub fn person(&self) -> Option<&Person> {
        self.person.as_ref()
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    pub fn client(&self) -> &str {
        &self.client
    }

    pub fn source(&self) -> Option<IpAddr> {
        self.source
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The operator: every organisation, the operator-only actions.
    pub fn is_operator(&self) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Org(_) | Scope::Own(_) => false,
        }
    }

    /// May this actor see or change things of `org` as an administrator? Never for a person
    /// in the portal, not even of their own organisation.
    pub fn may(&self, org: OrgId) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Org(own) => own == org,
            Scope::Own(_) => false,
        }
    }

    /// The person acting on their own account in the portal; refused for any other actor.
    pub fn own(&self) -> Result<&Person> {
        match (self.scope, &self.person) {
            (Scope::Own(id), Some(person)) if person.id == id => Ok(person),
            (Scope::Own(_), _) => Err(ServiceError::Internal(
                "a portal actor without its person".into(),
            )),
            (Scope::All | Scope::Org(_), _) => Err(ServiceError::Invalid(
                "only a person in the portal acts on their own account".into(),
            )),
        }
    }

    /// An event done by this actor: in the portal an event about the person (their id,
    /// username and organisation), otherwise an administrative one; stamped (`stamp`).
    pub fn event(&self, kind: EventKind, now: UnixTime) -> AuditEvent {
        let mut e = match (self.scope, &self.person) {
            (Scope::Own(_), Some(person)) => Gateway::person_event(person, kind, &self.who, now),
            (Scope::Own(_), None) | (Scope::All | Scope::Org(_), _) => {
                AuditEvent::admin(now, kind, &self.who)
            }
        };
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

    /// A second factor presented in the portal by its person (the session vouches for the
    /// password).
    pub(super) fn attempt_with(&self, person: &Person, credentials: Credentials) -> Attempt {
        Attempt {
            username: person.username.clone(),
            credentials,
            channel: self.channel,
            client: Some(self.client.clone()),
            source: self.source,
            request_id: self.request_id.clone(),
            nas: None,
            typed_username: None,
        }
    }

    /// A code presented in the portal (see `attempt_with`).
    pub(super) fn attempt(&self, person: &Person, code: &str) -> Attempt {
        self.attempt_with(
            person,
            Credentials::CodeAfterPassword {
                code: SecretString::new(code.trim()),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewPerson, PersonState};

    fn person(roles: Vec<Role>) -> Person {
        Person {
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
        }
    }

    #[test]
    fn scopes() {
        assert!(Actor::admin(&person(vec![Role::Person]), None, None).is_none());
        let admin = Actor::admin(&person(vec![Role::OrgAdmin]), None, None).unwrap();
        assert!(admin.may(7) && !admin.may(8) && !admin.is_operator());
        assert!(admin.own().is_err(), "an admin is no portal actor");
        let op = Actor::admin(&person(vec![Role::Operator]), None, None).unwrap();
        assert!(op.may(7) && op.may(8) && op.is_operator());
        assert!(Actor::cli().is_operator() && Actor::cli().own().is_err());
        // A person in the portal acts on their own account only, whatever their roles.
        let own = Actor::portal(person(vec![Role::Operator, Role::OrgAdmin]), None, None);
        assert_eq!(own.scope(), Scope::Own(1));
        assert!(!own.may(7) && !own.may(8) && !own.is_operator());
        assert_eq!(own.own().map(|p| p.id).ok(), Some(1));
    }

    #[test]
    fn events_name_the_actor_as_before() {
        let source: IpAddr = "192.0.2.7".parse().unwrap();
        let me = person(vec![Role::OrgAdmin]);
        let portal = Actor::portal(me.clone(), Some(source), Some("r1".into()));
        let e = portal.event(EventKind::DeviceRenamed, 100);
        assert_eq!(e.actor, "person:1");
        assert_eq!(
            (e.person_id, e.username.as_deref(), e.org_id),
            (Some(1), Some("a"), Some(7))
        );
        assert_eq!(e.channel, Channel::Portal);
        assert_eq!(e.client.as_deref(), Some(PORTAL_CLIENT));
        assert_eq!(e.source.as_deref(), Some("192.0.2.7"));
        assert_eq!(e.request_id.as_deref(), Some("r1"));
        let admin = Actor::admin(&me, Some(source), Some("r2".into())).unwrap();
        let e = admin.event(EventKind::RequestSubmitted, 100);
        assert_eq!(e.actor, "person:1");
        assert_eq!((e.person_id, e.username, e.org_id), (None, None, None));
        assert_eq!(
            (e.channel, e.client.as_deref()),
            (Channel::Portal, Some("admin"))
        );
        assert_eq!(e.request_id.as_deref(), Some("r2"));
        let e = Actor::cli().event(EventKind::OrgCreated, 100);
        assert_eq!((e.actor.as_str(), e.channel), ("cli", Channel::Cli));
        assert_eq!((e.source, e.request_id), (None, None));
    }

    fn not_found<T>(r: Result<T>) -> bool {
        matches!(r, Err(ServiceError::NotFound(_)))
    }

    /// A person signed in to the portal (here even an org admin) is refused by every
    /// administrator's check of the service, also for their own organisation and account;
    /// and an administrator is no portal actor.
    #[tokio::test]
    async fn a_portal_actor_never_passes_an_admin_check() {
        let (gw, _dir) = crate::service::test_gateway().await;
        let cli = Actor::cli();
        let org = gw.create_org("Practice", &cli, 0).await.expect("org");
        let new = |username: &str, roles| NewPerson {
            username: username.into(),
            full_name: username.into(),
            email: None,
            employee_number: None,
            org_id: org.id,
            roles,
        };
        let olga = gw
            .create_person(new("olga", vec![Role::OrgAdmin]), None, &cli, 0)
            .await
            .expect("olga");
        let ann = gw
            .create_person(new("ann", vec![Role::Person]), None, &cli, 0)
            .await
            .expect("ann");
        let portal = Actor::portal(olga.clone(), None, None);
        assert!(not_found(gw.admin_org(&portal, org.id, 1).await));
        assert!(not_found(gw.admin_people(&portal, org.id, 1).await));
        assert!(not_found(gw.admin_person(&portal, ann.id, 1).await));
        assert!(not_found(gw.admin_person(&portal, olga.id, 1).await));
        assert!(not_found(gw.admin_unlock(&portal, ann.id, 1).await));
        assert!(not_found(gw.admin_block(&portal, ann.id, true, 1).await));
        assert!(not_found(gw.requests_for(&portal, None, false, 1).await));
        assert!(gw.admin_orgs(&portal).await.expect("orgs").is_empty());
        assert!(gw.stock(&portal, 1).await.is_err());
        assert!(gw.unlock("ann", &portal, 1).await.is_err());
        assert!(
            gw.create_person(new("eve", vec![Role::Operator]), None, &portal, 1)
                .await
                .is_err()
        );
        assert!(gw.person("eve").await.is_err(), "nobody was made");
        assert!(gw.person("ann").await.expect("ann").blocked_at.is_none());
        // The same person as an org admin on the admin pages may.
        let admin = Actor::admin(&olga, None, None).expect("org admin");
        assert_eq!(
            gw.admin_people(&admin, org.id, 1)
                .await
                .expect("people")
                .len(),
            2
        );
        // And the admin is refused the portal's operations on an account.
        assert!(gw.recovery_codes_left(&admin).await.is_err());
        assert!(gw.recovery_codes_left(&portal).await.is_ok());
    }
}
