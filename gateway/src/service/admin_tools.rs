//! The org admin's tools on a person's page (issue 16): resynchronise a drifted HOTP token
//! from two consecutive codes, and see the person's recent logins and lockout state.
//!
//! Both go through the actor's scope like every other admin operation (`lifecycle.rs`):
//! another organisation's person or device is answered `NotFound` and audited
//! `access_denied`. The resync is a change of a second factor, so it asks what the other
//! credential actions ask (`admin_person_to_change`: never the provider's staff for an org
//! admin); the check itself is the engine's (`Engine::resync`, the configured
//! `otp.hotp_resync_window`), the same one `mfa-gateway device resync` uses. Reading the
//! recent logins is audited (`audit_searched`, about the person, naming the actor).

use super::*;
use crate::audit::{Outcome, StoredEvent};
use crate::store::{EventFilter, PasswordFailures};

/// How many recent login attempts the person's page shows.
pub const RECENT_LOGINS: u32 = 20;
/// How many password-throttle sources the person's page lists at most.
const THROTTLE_ROWS: u32 = 20;
/// The refusal of a pair of codes (said the same way whatever was wrong with them).
pub const CODES_REFUSED: &str = "svc-codes-refused";

/// The refusal for a device that has no counter to resynchronise.
pub const NOT_RESYNCABLE: &str = "svc-not-resyncable";
/// The refusal when the token signed in between the page and the resync.
pub const USED_MEANWHILE: &str = "svc-used-meanwhile";

/// A person's recent sign-ins and lockout state, as an admin sees them.
#[derive(Debug, Clone)]
pub struct PersonActivity {
    /// The last `RECENT_LOGINS` login attempts, newest first.
    pub logins: Vec<StoredEvent>,
    /// Consecutive wrong second factors after a right password.
    pub failed_logins: u32,
    /// Locked (wrong second factors) until then; None when no lock is live now.
    pub locked_until: Option<UnixTime>,
    pub blocked_at: Option<UnixTime>,
    /// Sources with counted wrong passwords, the most recent first.
    pub password_failures: Vec<PasswordFailures>,
}

impl PersonActivity {
    /// The sources throttled now.
    pub fn throttled(&self, now: UnixTime) -> impl Iterator<Item = &PasswordFailures> {
        self.password_failures
            .iter()
            .filter(move |f| f.blocked_until.is_some_and(|t| t > now))
    }
}

/// Digits only: spaces an admin types inside or around a code ("755 224") are dropped.
fn code_of(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Gateway {
    /// A person's recent logins and lockout state, if the actor may see the person; the
    /// reading is audited.
    pub async fn admin_person_activity(
        &self,
        actor: &Actor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<PersonActivity> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        let filter = EventFilter {
            person_id: Some(person.id),
            kind: Some(EventKind::LoginAttempt.as_str().to_owned()),
            ..EventFilter::default()
        };
        let logins = self.store.events_page(&filter, None, RECENT_LOGINS).await?;
        let password_failures = self
            .store
            .password_failures_of(person.id, THROTTLE_ROWS)
            .await?;
        let mut event = actor.event(EventKind::AuditSearched, now);
        event.person_id = Some(person.id);
        event.username = Some(person.username.clone());
        event.org_id = Some(person.org_id);
        event.detail = Some(serde_json::json!({
            "view": "admin_person_activity",
            "person": person.id,
            "logins": logins.len(),
        }));
        self.store.append_event(&event).await?;
        Ok(PersonActivity {
            logins,
            failed_logins: person.failed_logins,
            locked_until: person.locked_until.filter(|t| *t > now),
            blocked_at: person.blocked_at,
            password_failures,
        })
    }

    /// Resynchronise a person's HOTP token from two consecutive codes (`first` then
    /// `second`), searched within the resync window after the token's next counter. On
    /// success the next counter is the one after `second`; returns it. A pair that does not
    /// fit is `Refused(CODES_REFUSED)`, audited as a failed resync.
    pub async fn admin_resync(
        &self,
        actor: &Actor,
        person_id: PersonId,
        device_id: DeviceId,
        first: &str,
        second: &str,
        now: UnixTime,
    ) -> Result<u64> {
        let person = self.admin_person_to_change(actor, person_id, now).await?;
        let device = match self.store.device_by_id(device_id).await? {
            Some(d) if d.person_id == Some(person.id) => d,
            _ => {
                let what = format!("device {device_id}");
                self.audit_denied(actor, &what, now).await;
                return Err(ServiceError::NotFound(what));
            }
        };
        if device.otp.kind != crate::otp::OtpKind::Hotp || device.state != DeviceState::Active {
            return Err(refused(NOT_RESYNCABLE));
        }
        let mut event = actor.event(EventKind::DeviceResynced, now);
        event.person_id = Some(person.id);
        event.username = Some(person.username.clone());
        event.org_id = Some(person.org_id);
        event.device_id = Some(device.id);
        event.device_label = Some(device.label.clone());
        let previous = device.counter;
        let secret = self.open_secret(&device)?;
        let usable = UsableDevice { device, secret };
        let Some(next) = self
            .engine
            .resync(&usable, &code_of(first), &code_of(second))
        else {
            event.outcome = Outcome::Failed;
            event.reason = Some("codes_not_in_window".into());
            self.store.append_event(&event).await?;
            return Err(refused(CODES_REFUSED));
        };
        event.detail = Some(serde_json::json!({
            "previous_counter": previous,
            "next_counter": next,
        }));
        let context = event.clone();
        let label = usable.device.label.clone();
        match self.store.set_counter(device_id, next, event).await {
            Ok(()) => {
                // A change to their second factor made by someone else: the person hears of it,
                // in their language.
                let name = person.full_name.clone();
                self.notify_in(
                    &person,
                    move |gw, lang| {
                        use crate::i18n::{t, t_args};
                        let when = gw.time_in(now, lang);
                        let body = super::notify::letter(
                            lang,
                            &name,
                            &[
                                &t_args(
                                    lang,
                                    "mail-resync-body",
                                    &[("label", label.as_str().into()), ("when", when.into())],
                                ),
                                &t(lang, "mail-resync-not-asked"),
                            ],
                        );
                        super::notify::Notice {
                            subject: t(lang, "mail-resync-subject"),
                            audit_body: Some(body.clone()),
                            body,
                        }
                    },
                    &context,
                );
                Ok(next)
            }
            Err(StoreError::NotFound(_)) => Err(refused(USED_MEANWHILE)),
            Err(e) => Err(e.into()),
        }
    }
}

/// RFC 4226 Appendix D: the key and the HOTP values for counters 0..=9.
#[cfg(test)]
pub(crate) const RFC4226_KEY: &[u8] = b"12345678901234567890";
#[cfg(test)]
pub(crate) const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// Import an HOTP token with the RFC 4226 key (counter 0) from PSKC into `org`'s stock and
/// link it to `username`: its device id.
#[cfg(test)]
pub(crate) async fn give_rfc4226_token(
    gw: &Gateway,
    org: OrgId,
    username: &str,
    serial: &str,
) -> DeviceId {
    let secret = data_encoding::BASE64.encode(RFC4226_KEY);
    let pskc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>
    <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{secret}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#
    );
    let keys = crate::pskc::parse(&pskc, crate::pskc::PskcKeyMaterial::None).expect("pskc");
    gw.import_tokens(&keys, Some(org), "rfc.xml", &Actor::cli(), 0, &|| {})
        .await
        .expect("import");
    gw.assign_token(
        serial,
        username,
        &format!("token {serial}"),
        &Actor::cli(),
        0,
    )
    .await
    .expect("assign")
    .id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewPerson, Role};

    struct Setup {
        gw: Gateway,
        admin: Actor,
        other_admin: Actor,
        ann: PersonId,
        token: DeviceId,
        _dir: tempfile::TempDir,
    }

    async fn person(gw: &Gateway, org: OrgId, username: &str, roles: Vec<Role>) -> Person {
        gw.create_person(
            NewPerson {
                username: username.into(),
                full_name: username.into(),
                email: None,
                employee_number: None,
                org_id: org,
                roles,
            },
            Some(SecretString::new("correct horse battery")),
            &Actor::cli(),
            0,
        )
        .await
        .expect("person")
    }

    /// Two organisations; Ann of the first with the RFC 4226 key as an HOTP token at
    /// counter 0; an org admin of each.
    async fn setup() -> Setup {
        let (gw, dir) = crate::service::test_gateway().await;
        let practice = gw
            .create_org("Practice", &Actor::cli(), 0)
            .await
            .expect("org");
        let other = gw.create_org("Other", &Actor::cli(), 0).await.expect("org");
        let olga = person(&gw, practice.id, "olga", vec![Role::OrgAdmin]).await;
        let otto = person(&gw, other.id, "otto", vec![Role::OrgAdmin]).await;
        let ann = person(&gw, practice.id, "ann", vec![Role::Person]).await;
        let token = give_rfc4226_token(&gw, practice.id, "ann", "RFC-1").await;
        let actor = |p: &Person| Actor::admin(p, None, None).expect("admin");
        Setup {
            admin: actor(&olga),
            other_admin: actor(&otto),
            gw,
            ann: ann.id,
            token,
            _dir: dir,
        }
    }

    async fn counter(s: &Setup) -> u64 {
        s.gw.store()
            .device_by_id(s.token)
            .await
            .expect("read")
            .expect("device")
            .counter
    }

    #[tokio::test]
    async fn resync_with_the_rfc_4226_vectors() {
        let s = setup().await;
        let resync = |a: &'static str, b: &'static str| {
            let s = &s;
            async move { s.gw.admin_resync(&s.admin, s.ann, s.token, a, b, 10).await }
        };
        // Counters 0 and 1: the next expected is 2.
        assert_eq!(resync(RFC4226[0], RFC4226[1]).await.expect("0, 1"), 2);
        assert_eq!(counter(&s).await, 2);
        // Used codes never fit again; nor two codes in the wrong order or not adjacent.
        for (a, b) in [(0, 1), (3, 2), (3, 5), (9, 9)] {
            let e = resync(RFC4226[a], RFC4226[b]).await.expect_err("refused");
            assert!(
                matches!(&e, ServiceError::Refused(r) if r.key() == CODES_REFUSED),
                "{a} {b}: {e}"
            );
            assert_eq!(counter(&s).await, 2, "a refused pair changes nothing");
        }
        // Spaces typed inside a code are fine; counters 7 and 8 move it to 9.
        let first = format!(" {} {} ", &RFC4226[7][..3], &RFC4226[7][3..]);
        let next =
            s.gw.admin_resync(&s.admin, s.ann, s.token, &first, RFC4226[8], 11)
                .await
                .expect("7, 8");
        assert_eq!(next, 9);
        assert_eq!(counter(&s).await, 9);
        // Now the token's next code (counter 9) is the one a login would take.
        let device =
            s.gw.store()
                .device_by_id(s.token)
                .await
                .expect("read")
                .expect("device");
        let params = device.otp;
        assert_eq!(
            crate::otp::check_hotp(RFC4226_KEY, &params, RFC4226[9], device.counter, 1),
            Some(9)
        );
        // Audited with the actor, one done and four failed.
        let events =
            s.gw.store()
                .events(&EventFilter {
                    kind: Some("device_resynced".into()),
                    ..EventFilter::default()
                })
                .await
                .expect("events");
        assert_eq!(events.len(), 6);
        assert!(events.iter().all(|e| e.event.actor == s.admin.who()
            && e.event.person_id == Some(s.ann)
            && e.event.device_id == Some(s.token)));
        let failed = events
            .iter()
            .filter(|e| e.event.outcome == Outcome::Failed)
            .count();
        assert_eq!(failed, 4);
        // No code in the trail.
        for e in &events {
            let text = serde_json::to_string(&e.event).expect("json");
            for code in RFC4226 {
                assert!(!text.contains(code), "{text}");
            }
        }
    }

    #[tokio::test]
    async fn another_organisation_cannot_resync_or_read() {
        let s = setup().await;
        let e =
            s.gw.admin_resync(&s.other_admin, s.ann, s.token, RFC4226[0], RFC4226[1], 10)
                .await
                .expect_err("refused");
        assert!(matches!(e, ServiceError::NotFound(_)), "{e}");
        assert_eq!(counter(&s).await, 0);
        let e =
            s.gw.admin_person_activity(&s.other_admin, s.ann, 10)
                .await
                .expect_err("refused");
        assert!(matches!(e, ServiceError::NotFound(_)), "{e}");
        // A device of someone else named under Ann's id: not found either.
        let olga = s.gw.person("olga").await.expect("olga");
        let e =
            s.gw.admin_resync(&s.admin, olga.id, s.token, RFC4226[0], RFC4226[1], 10)
                .await
                .expect_err("refused");
        assert!(matches!(e, ServiceError::NotFound(_)), "{e}");
        let denied =
            s.gw.store()
                .events(&EventFilter {
                    kind: Some("access_denied".into()),
                    ..EventFilter::default()
                })
                .await
                .expect("events");
        assert_eq!(denied.len(), 3);
        // Their own admin reads it, and the reading is audited.
        let a =
            s.gw.admin_person_activity(&s.admin, s.ann, 10)
                .await
                .expect("activity");
        assert!(a.logins.is_empty());
        assert_eq!(a.locked_until, None);
        let viewed =
            s.gw.store()
                .events(&EventFilter {
                    kind: Some("audit_searched".into()),
                    ..EventFilter::default()
                })
                .await
                .expect("events");
        assert_eq!(viewed.len(), 1);
        assert_eq!(viewed[0].event.person_id, Some(s.ann));
        assert_eq!(viewed[0].event.actor, s.admin.who());
    }
}
