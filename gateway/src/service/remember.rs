//! Remembered browsers (issue 16): "Remember this browser for N days" on the web logins'
//! second-factor step, when the person's organisation allows it (`OrgPolicy::remember_days`,
//! off by default). The browser gets a cookie (`mfa_remember`, a random 256-bit token; only
//! its SHA-256 is stored, bound to the person) and that person's next web logins in that
//! browser ask for the password, never skipped, but not the code.
//!
//! A remembered login is a `PasswordOnly` attempt through `Gateway::login_with`: the engine
//! decides it as any password step (blocked, disabled, removed, lockout, the password
//! throttle, no device; limits and clients bound to organisations before it), and only its
//! `NeedSecondFactor` becomes an Accept here (`skip_code`), audited with the browser's id and
//! `code_skipped`. RADIUS never comes here.
//!
//! A browser ends at its expiry, when forgotten (the person, an org admin), and at use (or in
//! the daily purge) when its organisation's policy no longer allows it (off, or fewer days
//! than its age) or an event in `store::ENDING_KINDS` about the person was written since it
//! was remembered: blocked, disabled, removed or offboarded, unlocked after a lockout, a
//! new password (changed, reset, activation).
//!
//! The acr values (OpenID Connect Core 3.1.2.1) say which login happened: `ACR_MFA` (the
//! password and a second factor, at this login or the one the SSO session came from) or
//! `ACR_PWD` (the password alone: the code skipped for a remembered browser).

use super::{Actor, Gateway, Result, ServiceError};
use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::engine::{Attempt, Decision, Subject, Verdict};
use crate::model::{DeviceId, Person, PersonId, PersonState, UnixTime};
use crate::store::RememberedBrowser;
use sha2::{Digest as _, Sha256};

/// The device id an accept by a remembered browser names (no device has it).
pub const REMEMBERED_DEVICE_ID: DeviceId = -2;
/// The label of that accept in the audit trail.
pub const REMEMBERED_LABEL: &str = "remembered browser";
/// The `amr` value (besides `pwd`) of a login that skipped the code for a remembered
/// browser. Not an RFC 8176 value: none fits (a cookie is neither a key nor a second
/// factor), and a relying party that looks for `mfa`, `otp`, `hwk` or `swk` must not find one.
pub const AMR_REMEMBERED: &str = "remembered_browser";
/// The password and a second factor were checked (at this login or at the login the
/// single sign-on session came from).
pub const ACR_MFA: &str = "urn:mfa-gateway:acr:mfa";
/// The password alone (the code skipped for a remembered browser).
pub const ACR_PWD: &str = "urn:mfa-gateway:acr:pwd";
/// The acr values this gateway issues, strongest first (discovery).
pub const ACR_VALUES: [&str; 2] = [ACR_MFA, ACR_PWD];
/// An older name of multi-factor authentication (OpenID PAPE) a relying party may ask for:
/// taken as `ACR_MFA`.
const PAPE_MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
/// The longest User-Agent text kept.
const USER_AGENT_CHARS: usize = 200;

/// Does an authorization request's `acr_values` (in order of preference) ask for a second
/// factor? Its first value we know decides: `ACR_MFA` (or the PAPE multi-factor policy) yes,
/// `ACR_PWD` no; none we know: no (acr_values is a voluntary claim).
pub fn wants_mfa(acr_values: &[String]) -> bool {
    acr_values
        .iter()
        .find_map(|v| match v.as_str() {
            ACR_MFA | PAPE_MFA => Some(true),
            ACR_PWD => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// The acr of a login with these `amr` values: `ACR_MFA` when a second factor is among
/// them, else `ACR_PWD`.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr
        .iter()
        .any(|m| matches!(m.as_str(), "otp" | "hwk" | "swk" | "mfa"))
    {
        ACR_MFA
    } else {
        ACR_PWD
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A cookie's token as it may be (43 base64url characters); anything else is ignored.
fn plausible(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The User-Agent as kept: printable, shortened.
fn user_agent_text(ua: &str) -> String {
    let clean: String = ua
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_CHARS)
        .collect();
    if clean.trim().is_empty() {
        "unknown browser".to_owned()
    } else {
        clean.trim().to_owned()
    }
}

/// Why `b` may not stand in for the code of `person` now (None: it may): expired, or the
/// organisation's `remember_days` is off or shorter than the browser's age. Not about the
/// person's state: the engine refuses that.
fn dead_reason(
    b: &RememberedBrowser,
    policy: Option<&crate::policy::OrgPolicy>,
    now: UnixTime,
) -> Option<&'static str> {
    if now >= b.expires_at {
        return Some("expired");
    }
    match policy.and_then(|p| p.remember_days) {
        Some(days) if now < b.created_at + i64::from(days) * 86_400 => None,
        _ => Some("policy"),
    }
}

/// The engine's decision on a remembered browser's password step: its `NeedSecondFactor`
/// (a right password, the person may log in and has a device) becomes an Accept when `b`
/// is the person's and live under their organisation's policy; any other decision stays.
/// Also why `b` is dead, when it was the person's but may no longer be used.
pub(crate) fn skip_code(
    mut decision: Decision,
    subject: Option<&Subject>,
    b: &RememberedBrowser,
    now: UnixTime,
) -> (Decision, Option<&'static str>) {
    let Some(subject) = subject else {
        return (decision, None);
    };
    if decision.verdict != Verdict::NeedSecondFactor || subject.person.id != b.person_id {
        return (decision, None);
    }
    let person = &subject.person;
    if person.state != PersonState::Active || person.blocked_at.is_some() {
        return (decision, None);
    }
    if let Some(why) = dead_reason(b, subject.policy.as_deref(), now) {
        return (decision, Some(why));
    }
    decision.verdict = Verdict::Accept {
        device_id: REMEMBERED_DEVICE_ID,
        device_label: REMEMBERED_LABEL.to_owned(),
    };
    decision.event.outcome = Outcome::Accept;
    decision.event.reason = None;
    decision.event.device_id = None;
    decision.event.device_label = Some(REMEMBERED_LABEL.to_owned());
    decision.event.detail = Some(serde_json::json!({
        "remembered_browser": b.id,
        "code_skipped": true,
    }));
    (decision, None)
}

/// `skip_code` when the login comes from a `remembered` browser (RADIUS and every other
/// login: None, the decision as the engine made it); `dead` set to why it is dead, if so.
pub(crate) fn apply(
    decision: Decision,
    subject: Option<&Subject>,
    remembered: Option<&RememberedBrowser>,
    dead: &mut Option<&'static str>,
    now: UnixTime,
) -> Decision {
    let Some(b) = remembered else {
        return decision;
    };
    let (decision, why) = skip_code(decision, subject, b, now);
    *dead = why;
    decision
}

impl Gateway {
    /// The days `username`'s organisation lets a browser be remembered (None: off, or no
    /// such person).
    pub async fn remember_days_for(&self, username: &str) -> Result<Option<u32>> {
        let Some(person) = self.store.person_by_username(username).await? else {
            return Ok(None);
        };
        Ok(self.org_policy(person.org_id).await?.remember_days)
    }

    /// Remember this browser for `person` after a login with a second factor: the cookie's
    /// token and its lifetime in seconds; None when their organisation does not allow it.
    /// Audited `browser_remembered` (`origin` gives channel, client, source, request id).
    pub async fn remember_browser(
        &self,
        person: &Person,
        user_agent: &str,
        origin: &Attempt,
        now: UnixTime,
    ) -> Result<Option<(String, i64)>> {
        let Some(days) = self.org_policy(person.org_id).await?.remember_days else {
            return Ok(None);
        };
        let lifetime = i64::from(days) * 86_400;
        let bytes = crate::secret::random_bytes(32)
            .map_err(|_| ServiceError::Crypto("random generator".into()))?;
        let token = data_encoding::BASE64URL_NOPAD.encode(&bytes);
        let browser = RememberedBrowser {
            id: 0,
            token_hash: token_hash(&token),
            person_id: person.id,
            user_agent: user_agent_text(user_agent),
            created_at: now,
            last_used_at: now,
            expires_at: now + lifetime,
        };
        let mut event = Self::person_event(
            person,
            EventKind::BrowserRemembered,
            &format!("person:{}", person.id),
            now,
        );
        event.channel = origin.channel;
        event.client = origin.client.clone();
        event.source = origin.source.map(|s| s.to_string());
        event.request_id = origin.request_id.clone();
        event.detail = Some(serde_json::json!({ "days": days, "expires_at": browser.expires_at }));
        self.store.remember_browser(&browser, &event).await?;
        Ok(Some((token, lifetime)))
    }

    /// A web login's password step from a browser with a remember cookie (`token`): as
    /// `login`, and when the password is right and the browser is live for this person, an
    /// Accept without the code (audited so). A browser found dead is forgotten (audited).
    pub async fn login_remembered(
        &self,
        attempt: Attempt,
        token: &str,
        now: UnixTime,
    ) -> Result<Decision> {
        if attempt.channel == Channel::Radius || !plausible(token) {
            return self.login(attempt, now).await;
        }
        let Some(b) = self.store.remembered_browser(&token_hash(token)).await? else {
            return self.login(attempt, now).await;
        };
        if let Some(kind) = self
            .store
            .remembered_ended_by(b.person_id, b.created_at)
            .await?
        {
            self.forget_ended(b.person_id, b.id, &kind, now).await?;
            return self.login(attempt, now).await;
        }
        let mut dead = None;
        let decision = self.login_with(attempt, Some(&b), now, &mut dead).await?;
        if let Some(why) = dead {
            self.forget_ended(b.person_id, b.id, why, now).await?;
        } else if decision.verdict
            == (Verdict::Accept {
                device_id: REMEMBERED_DEVICE_ID,
                device_label: REMEMBERED_LABEL.to_owned(),
            })
        {
            self.store.touch_remembered(b.id, now).await?;
        }
        Ok(decision)
    }

    /// Forget a browser that ended by itself (`why`: the ending event's kind, `policy`,
    /// `expired`), audited by the system.
    async fn forget_ended(
        &self,
        person: PersonId,
        id: i64,
        why: &str,
        now: UnixTime,
    ) -> Result<u64> {
        let mut event = AuditEvent::admin(now, EventKind::BrowserForgotten, "system");
        event.channel = Channel::System;
        event.reason = Some(why.to_owned());
        if let Some(p) = self.store.person_by_id(person).await? {
            event.username = Some(p.username.clone());
            event.org_id = Some(p.org_id);
        }
        Ok(self
            .store
            .forget_browsers(person, Some(id), Some(&event))
            .await?)
    }

    /// `person`'s live remembered browsers, newest first. Those that ended (an ending event
    /// since, the policy) are forgotten first, as at use; expired ones are left to the daily
    /// purge.
    pub async fn remembered_of(
        &self,
        person: &Person,
        now: UnixTime,
    ) -> Result<Vec<RememberedBrowser>> {
        let all = self.store.remembered_browsers(person.id).await?;
        if all.is_empty() {
            return Ok(all);
        }
        let policy = self.org_policy(person.org_id).await?;
        let mut live = Vec::with_capacity(all.len());
        for b in all {
            let why = match self
                .store
                .remembered_ended_by(person.id, b.created_at)
                .await?
            {
                Some(kind) => Some(kind),
                None => match dead_reason(&b, Some(&policy), now) {
                    Some("expired") => continue,
                    other => other.map(str::to_owned),
                },
            };
            match why {
                Some(why) => {
                    self.forget_ended(person.id, b.id, &why, now).await?;
                }
                None => live.push(b),
            }
        }
        Ok(live)
    }

    /// The person forgets one of their remembered browsers (`Some(id)`) or all of them, in
    /// the portal; audited. How many were forgotten.
    pub async fn portal_forget_browser(
        &self,
        actor: &Actor,
        id: Option<i64>,
        now: UnixTime,
    ) -> Result<u64> {
        let person = actor.own()?;
        let event = actor.event(EventKind::BrowserForgotten, now);
        Ok(self
            .store
            .forget_browsers(person.id, id, Some(&event))
            .await?)
    }

    /// Was the login of the single sign-on session behind `token` without a second factor
    /// (the code skipped for a remembered browser)? False when there is no such session.
    pub async fn sso_without_second_factor(&self, token: &str) -> Result<bool> {
        if token.is_empty() || token.len() > 64 {
            return Ok(false);
        }
        let Some(s) = self.store.sso(&token_hash(token)).await? else {
            return Ok(false);
        };
        let amr: Vec<String> = s.amr.split(' ').map(str::to_owned).collect();
        Ok(acr_of(&amr) == ACR_PWD)
    }

    /// A person's remembered browsers, as an admin sees them (the actor's scope checked).
    pub async fn admin_remembered(
        &self,
        actor: &Actor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<Vec<RememberedBrowser>> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        self.remembered_of(&person, now).await
    }

    /// An org admin (their organisation's people) or operator forgets one of a person's
    /// remembered browsers or all of them; audited with the actor.
    pub async fn admin_forget_browser(
        &self,
        actor: &Actor,
        id: PersonId,
        browser: Option<i64>,
        now: UnixTime,
    ) -> Result<u64> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let mut event = actor.event(EventKind::BrowserForgotten, now);
        event.username = Some(person.username.clone());
        event.org_id = Some(person.org_id);
        Ok(self
            .store
            .forget_browsers(person.id, browser, Some(&event))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Channel;
    use crate::engine::{Changes, Credentials};
    use crate::model::{OrgId, Role};
    use crate::policy::OrgPolicy;
    use crate::secret::SecretString;
    use std::sync::Arc;

    const NOW: UnixTime = 1_800_000_000;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn acr_values_decide_by_their_first_known_value() {
        assert!(!wants_mfa(&[]));
        assert!(wants_mfa(&s(&[ACR_MFA])));
        assert!(wants_mfa(&s(&["urn:other", ACR_MFA, ACR_PWD])));
        assert!(!wants_mfa(&s(&[ACR_PWD, ACR_MFA])));
        assert!(wants_mfa(&s(&[PAPE_MFA])));
        assert!(!wants_mfa(&s(&["urn:unknown"])));
        assert_eq!(acr_of(&s(&["pwd", "otp", "swk"])), ACR_MFA);
        assert_eq!(acr_of(&s(&["pwd", "hwk"])), ACR_MFA);
        assert_eq!(acr_of(&s(&["pwd", "mfa"])), ACR_MFA);
        assert_eq!(acr_of(&s(&["pwd", AMR_REMEMBERED])), ACR_PWD);
        assert_eq!(acr_of(&s(&["pwd"])), ACR_PWD);
    }

    fn person(id: PersonId) -> Person {
        Person {
            id,
            public_id: "p".into(),
            username: "ann".into(),
            full_name: "Ann".into(),
            email: None,
            employee_number: None,
            org_id: 1 as OrgId,
            roles: vec![Role::Person],
            state: PersonState::Active,
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            blocked_at: None,
            email_verified_at: None,
        }
    }

    fn subject(id: PersonId, days: Option<u32>) -> Subject {
        Subject {
            person: person(id),
            password_hash: None,
            devices: Vec::new(),
            recovery_codes: Vec::new(),
            source_blocked_until: None,
            directory: None,
            policy: days.map(|d| {
                Arc::new(OrgPolicy {
                    remember_days: Some(d),
                    ..OrgPolicy::default()
                })
            }),
        }
    }

    fn decision(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            changes: Changes::default(),
            event: AuditEvent::admin(NOW, EventKind::LoginAttempt, "person:7"),
        }
    }

    fn browser(person: PersonId, created_at: UnixTime) -> RememberedBrowser {
        RememberedBrowser {
            id: 3,
            token_hash: "h".into(),
            person_id: person,
            user_agent: "ua".into(),
            created_at,
            last_used_at: created_at,
            expires_at: created_at + 30 * 86_400,
        }
    }

    #[test]
    fn a_remembered_browser_skips_only_the_code_of_its_own_person() {
        let b = browser(7, NOW - 86_400);
        let (d, dead) = skip_code(
            decision(Verdict::NeedSecondFactor),
            Some(&subject(7, Some(30))),
            &b,
            NOW,
        );
        assert_eq!(dead, None);
        assert!(matches!(
            d.verdict,
            Verdict::Accept {
                device_id: REMEMBERED_DEVICE_ID,
                ..
            }
        ));
        assert_eq!(d.event.outcome, Outcome::Accept);
        let detail = d.event.detail.expect("detail");
        assert_eq!(detail["code_skipped"], true);
        assert_eq!(detail["remembered_browser"], 3);
        // Someone else's browser, a refusal, an unknown user: as decided.
        let other = skip_code(
            decision(Verdict::NeedSecondFactor),
            Some(&subject(8, Some(30))),
            &b,
            NOW,
        );
        assert_eq!(
            (other.0.verdict, other.1),
            (Verdict::NeedSecondFactor, None)
        );
        for refused in [
            crate::engine::Reason::BadPassword,
            crate::engine::Reason::PersonBlocked,
            crate::engine::Reason::LockedOut,
            crate::engine::Reason::PasswordThrottled,
            crate::engine::Reason::NoDevice,
        ] {
            let (d, _) = skip_code(
                decision(Verdict::Reject(refused)),
                Some(&subject(7, Some(30))),
                &b,
                NOW,
            );
            assert_eq!(d.verdict, Verdict::Reject(refused));
        }
        let (d, _) = skip_code(decision(Verdict::NeedSecondFactor), None, &b, NOW);
        assert_eq!(d.verdict, Verdict::NeedSecondFactor);
        // A blocked person never gets here from the engine; if they did, no skip.
        let mut blocked = subject(7, Some(30));
        blocked.person.blocked_at = Some(NOW - 1);
        let (d, _) = skip_code(decision(Verdict::NeedSecondFactor), Some(&blocked), &b, NOW);
        assert_eq!(d.verdict, Verdict::NeedSecondFactor);
    }

    #[test]
    fn the_policy_is_checked_at_use() {
        let b = browser(7, NOW - 10 * 86_400);
        let ask = |days: Option<u32>, now| {
            let (d, dead) = skip_code(
                decision(Verdict::NeedSecondFactor),
                Some(&subject(7, days)),
                &b,
                now,
            );
            (d.verdict == Verdict::NeedSecondFactor, dead)
        };
        assert_eq!(ask(None, NOW), (true, Some("policy")), "turned off");
        assert_eq!(ask(Some(7), NOW), (true, Some("policy")), "fewer days now");
        assert_eq!(ask(Some(30), NOW), (false, None));
        assert_eq!(
            ask(Some(90), b.expires_at),
            (true, Some("expired")),
            "its own expiry stays"
        );
    }

    #[test]
    fn tokens_and_user_agents() {
        assert!(plausible("abcdefghijABCDEFGHIJ0123456789-_abcdefghijk"));
        assert!(!plausible("short"));
        assert!(!plausible("abcdefghijABCDEFGHIJ0123456789-_abcdefghij="));
        assert_eq!(user_agent_text(""), "unknown browser");
        assert_eq!(user_agent_text("a\r\nb"), "ab");
        assert_eq!(user_agent_text(&"x".repeat(500)).len(), USER_AGENT_CHARS);
    }

    #[tokio::test]
    async fn remembered_logins_go_through_the_engine() {
        let (gw, _dir) = super::super::test_gateway().await;
        let t = NOW;
        let org = gw.create_org("acme", &Actor::cli(), t).await.expect("org");
        let new = crate::model::NewPerson {
            username: "ann".into(),
            full_name: "Ann".into(),
            email: None,
            employee_number: None,
            org_id: org.id,
            roles: vec![Role::Person],
        };
        gw.create_person(
            new,
            Some(SecretString::new("a long password 1")),
            &Actor::cli(),
            t,
        )
        .await
        .expect("person");
        gw.add_totp(
            "ann",
            "phone",
            crate::otp::OtpParams::totp_default(),
            &Actor::cli(),
            t,
        )
        .await
        .expect("phone");
        let ann = gw.person("ann").await.expect("ann");
        let attempt = |pw: &str| Attempt {
            username: "ann".into(),
            credentials: Credentials::PasswordOnly {
                password: SecretString::new(pw),
            },
            channel: Channel::Portal,
            client: Some("portal".into()),
            source: Some("192.0.2.1".parse().expect("ip")),
            request_id: None,
            nas: None,
            typed_username: None,
        };
        // Off by default: nothing remembered.
        assert!(
            gw.remember_browser(&ann, "ua", &attempt(""), t)
                .await
                .expect("remember")
                .is_none()
        );
        let mut policy = gw.org_policy(org.id).await.expect("policy");
        policy.remember_days = Some(30);
        gw.set_org_policy(&Actor::cli(), &org, &policy, t)
            .await
            .expect("set");
        let (token, lifetime) = gw
            .remember_browser(&ann, "Firefox", &attempt(""), t)
            .await
            .expect("remember")
            .expect("allowed");
        assert_eq!(lifetime, 30 * 86_400);
        let d = gw
            .login_remembered(attempt("a long password 1"), &token, t + 60)
            .await
            .expect("login");
        assert!(matches!(
            d.verdict,
            Verdict::Accept {
                device_id: REMEMBERED_DEVICE_ID,
                ..
            }
        ));
        let d = gw
            .login_remembered(attempt("wrong"), &token, t + 61)
            .await
            .expect("login");
        assert_eq!(
            d.verdict,
            Verdict::Reject(crate::engine::Reason::BadPassword)
        );
        let d = gw
            .login(attempt("a long password 1"), t + 62)
            .await
            .expect("login");
        assert_eq!(d.verdict, Verdict::NeedSecondFactor, "no cookie: the code");
        assert_eq!(gw.remembered_of(&ann, t + 63).await.expect("list").len(), 1);
        // A block ends it, also after the block is lifted.
        gw.set_blocked("ann", true, &Actor::cli(), t + 100)
            .await
            .expect("block");
        gw.set_blocked("ann", false, &Actor::cli(), t + 101)
            .await
            .expect("unblock");
        let d = gw
            .login_remembered(attempt("a long password 1"), &token, t + 102)
            .await
            .expect("login");
        assert_eq!(d.verdict, Verdict::NeedSecondFactor);
        assert!(
            gw.remembered_of(&ann, t + 103)
                .await
                .expect("list")
                .is_empty()
        );
        let events = gw
            .store()
            .events(&crate::store::EventFilter {
                kind: Some("browser_forgotten".into()),
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(events[0].event.reason.as_deref(), Some("person_blocked"));
    }

    #[tokio::test]
    async fn org_admins_see_and_forget_only_their_own_peoples_browsers() {
        let (gw, _dir) = super::super::test_gateway().await;
        let t = NOW;
        let add = |org: OrgId, name: &str, role: Role| crate::model::NewPerson {
            username: name.into(),
            full_name: name.into(),
            email: None,
            employee_number: None,
            org_id: org,
            roles: vec![role],
        };
        let practice = gw
            .create_org("Practice", &Actor::cli(), t)
            .await
            .expect("org");
        let other = gw.create_org("Other", &Actor::cli(), t).await.expect("org");
        let pw = || Some(SecretString::new("a long password 1"));
        let olga = gw
            .create_person(
                add(practice.id, "olga", Role::OrgAdmin),
                pw(),
                &Actor::cli(),
                t,
            )
            .await
            .expect("olga");
        let otto = gw
            .create_person(
                add(other.id, "otto", Role::OrgAdmin),
                pw(),
                &Actor::cli(),
                t,
            )
            .await
            .expect("otto");
        let ann = gw
            .create_person(
                add(practice.id, "ann", Role::Person),
                pw(),
                &Actor::cli(),
                t,
            )
            .await
            .expect("ann");
        let policy = OrgPolicy {
            remember_days: Some(7),
            ..OrgPolicy::default()
        };
        gw.set_org_policy(&Actor::cli(), &practice, &policy, t)
            .await
            .expect("policy");
        let origin = Attempt {
            username: "ann".into(),
            credentials: Credentials::PasswordOnly {
                password: SecretString::default(),
            },
            channel: Channel::Portal,
            client: Some("portal".into()),
            source: None,
            request_id: None,
            nas: None,
            typed_username: None,
        };
        for _ in 0..2 {
            gw.remember_browser(&ann, "Firefox", &origin, t)
                .await
                .expect("remember")
                .expect("allowed");
        }
        let actor = |p: &Person| Actor::admin(p, None, None).expect("admin");
        let (olga, otto) = (actor(&olga), actor(&otto));
        // Another organisation's admin: not found (audited access_denied), nothing forgotten.
        assert!(matches!(
            gw.admin_remembered(&otto, ann.id, t).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            gw.admin_forget_browser(&otto, ann.id, None, t).await,
            Err(ServiceError::NotFound(_))
        ));
        let listed = gw.admin_remembered(&olga, ann.id, t).await.expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(
            gw.admin_forget_browser(&olga, ann.id, Some(listed[0].id), t)
                .await
                .expect("forget one"),
            1
        );
        assert_eq!(
            gw.admin_forget_browser(&olga, ann.id, None, t)
                .await
                .expect("forget all"),
            1
        );
        let forgotten = gw
            .store()
            .events(&crate::store::EventFilter {
                kind: Some("browser_forgotten".into()),
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(forgotten.len(), 2);
        assert!(
            forgotten
                .iter()
                .all(|e| e.event.actor == olga.who() && e.event.person_id == Some(ann.id))
        );
        // Turned off by the operator: a browser remembered before is gone at use.
        gw.remember_browser(&ann, "Firefox", &origin, t)
            .await
            .expect("remember");
        gw.set_org_policy(&Actor::cli(), &practice, &OrgPolicy::default(), t + 1)
            .await
            .expect("off");
        assert!(
            gw.remembered_of(&ann, t + 2)
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            gw.store()
                .remembered_browsers(ann.id)
                .await
                .expect("rows")
                .is_empty(),
            "forgotten, not only hidden"
        );
    }
}
