//! One store test suite, run against SQLite (a temp file) and PostgreSQL (a fresh schema on
//! the server at $MFA_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
//! PostgreSQL missing is a failure with a hint, never a skip: README's test command starts it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mfa_gateway::audit::{AuditEvent, Channel, EventKind, Outcome};
use mfa_gateway::engine::{Changes, DeviceUse, LockoutUpdate};
use mfa_gateway::model::*;
use mfa_gateway::otp::{OtpHash, OtpKind, OtpParams};
use mfa_gateway::store::{EventFilter, PgStore, SqliteStore, Store, StoreError};
use std::sync::Arc;

const NOW: i64 = 1_764_000_000;

struct Harness {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(sqlx::PgPool, String)>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some((pool, schema)) = self.pg_schema.take() {
            // Best effort: leave no schema behind.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA {schema} CASCADE"
                        )))
                        .execute(&pool)
                        .await;
                    });
                }
            })
            .join();
        }
    }
}

async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url, 4).await.unwrap();
    Harness {
        store: Arc::new(store),
        _dir: Some(dir),
        pg_schema: None,
    }
}

fn pg_url() -> String {
    std::env::var("MFA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn postgres() -> Harness {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;
    let url = pg_url();
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url} ({e}). Run the README test command \
                 (scripts/test.sh starts or installs it: apt-get install postgresql), or set \
                 MFA_TEST_PG_URL to a server where the tests may create schemas."
            )
        });
    let schema = format!("mfa_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let opts = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .unwrap();
    let store = PgStore::from_pool(pool);
    store.migrate().await.unwrap();
    Harness {
        store: Arc::new(store),
        _dir: None,
        pg_schema: Some((admin, schema)),
    }
}

fn ev(kind: EventKind) -> AuditEvent {
    AuditEvent::admin(NOW, kind, "test")
}

async fn org_and_person(s: &dyn Store, username: &str) -> (Organisation, Person) {
    let org = match s.org_by_name("Practice").await.unwrap() {
        Some(o) => o,
        None => s
            .create_org("Practice", NOW, ev(EventKind::OrgCreated))
            .await
            .unwrap(),
    };
    let new = NewPerson {
        username: username.into(),
        full_name: "Ann Example".into(),
        email: Some("ann@example.org".into()),
        employee_number: Some("E-1".into()),
        org_id: org.id,
        roles: vec![Role::Person, Role::OrgAdmin],
    };
    let p = s
        .create_person(
            &new,
            Some("$argon2id$v=19$m=64,t=1,p=1$x$y"),
            NOW,
            ev(EventKind::PersonCreated),
        )
        .await
        .unwrap();
    (org, p)
}

fn phone(person: &Person, label: &str) -> NewDevice {
    NewDevice {
        uid: new_uid(),
        person_id: Some(person.id),
        org_id: Some(person.org_id),
        kind: DeviceKind::PhoneTotp,
        label: label.into(),
        serial: None,
        manufacturer: None,
        otp: OtpParams::totp_default(),
        sealed_secret: vec![1, 2, 3],
        counter: 0,
        state: DeviceState::Active,
    }
}

fn token(serial: &str) -> NewDevice {
    NewDevice {
        uid: new_uid(),
        person_id: None,
        org_id: None,
        kind: DeviceKind::HardwareToken,
        label: String::new(),
        serial: Some(serial.into()),
        manufacturer: Some("ACME".into()),
        otp: OtpParams {
            kind: OtpKind::Hotp,
            hash: OtpHash::Sha1,
            digits: 6,
        },
        sealed_secret: vec![9; 40],
        counter: 7,
        state: DeviceState::InStock,
    }
}

async fn orgs_and_people(s: &dyn Store) {
    let (org, p) = org_and_person(s, "  Ann.Example ").await;
    assert_eq!(p.username, "ann.example", "usernames are normalised");
    assert_eq!(p.roles, vec![Role::Person, Role::OrgAdmin]);
    assert_eq!(p.state, PersonState::Active);
    assert_eq!(
        s.person_by_username("ANN.EXAMPLE")
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    assert!(s.person_by_username("nobody").await.unwrap().is_none());
    assert_eq!(s.orgs().await.unwrap(), vec![org.clone()]);
    assert!(matches!(
        s.create_org("Practice", NOW, ev(EventKind::OrgCreated))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let dup = NewPerson {
        username: "ann.example".into(),
        full_name: "Other".into(),
        email: None,
        employee_number: None,
        org_id: org.id,
        roles: vec![Role::Person],
    };
    assert!(matches!(
        s.create_person(&dup, None, NOW, ev(EventKind::PersonCreated))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.people(Some(org.id)).await.unwrap().len(), 1);
    assert_eq!(s.people(Some(org.id + 1000)).await.unwrap().len(), 0);
    // Events were written with the ids the store made.
    let events = s
        .events(&EventFilter {
            person_id: Some(p.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, EventKind::PersonCreated);
    assert_eq!(events[0].event.org_id, Some(org.id));
}

async fn password_state_and_lockout(s: &dyn Store) {
    let (_, p) = org_and_person(s, "bob").await;
    s.set_password(p.id, "$argon2id$new", ev(EventKind::PasswordChanged))
        .await
        .unwrap();
    assert_eq!(
        s.password_hash(p.id).await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    let changes = Changes {
        lockout: Some(LockoutUpdate {
            failed_logins: 5,
            locked_until: Some(NOW + 60),
        }),
        ..Default::default()
    };
    let mut login = ev(EventKind::LoginAttempt);
    login.outcome = Outcome::Reject;
    login.channel = Channel::Radius;
    assert!(s.record_login(Some(p.id), &changes, &login).await.unwrap());
    let locked = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (5, Some(NOW + 60))
    );
    s.unlock_person(p.id, ev(EventKind::PersonUnlocked))
        .await
        .unwrap();
    let unlocked = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!((unlocked.failed_logins, unlocked.locked_until), (0, None));
    s.set_person_state(p.id, PersonState::Disabled, ev(EventKind::PersonDisabled))
        .await
        .unwrap();
    assert_eq!(
        s.person_by_id(p.id).await.unwrap().unwrap().state,
        PersonState::Disabled
    );
}

async fn devices_and_replay_guard(s: &dyn Store) {
    let (_, p) = org_and_person(s, "carol").await;
    let d1 = s
        .add_device(
            &phone(&p, "business phone"),
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    let d2 = s
        .add_device(
            &phone(&p, "private phone"),
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    assert_eq!(d1.sealed_secret, vec![1, 2, 3]);
    assert_eq!(s.devices_of(p.id).await.unwrap().len(), 2);
    let use_step = |step| Changes {
        device_use: Some(DeviceUse::TotpStep {
            device_id: d1.id,
            step,
        }),
        ..Default::default()
    };
    let accept = ev(EventKind::LoginAttempt);
    assert!(
        s.record_login(Some(p.id), &use_step(100), &accept)
            .await
            .unwrap()
    );
    assert!(
        !s.record_login(Some(p.id), &use_step(100), &accept)
            .await
            .unwrap(),
        "same step twice"
    );
    assert!(
        !s.record_login(Some(p.id), &use_step(99), &accept)
            .await
            .unwrap(),
        "older step"
    );
    assert!(
        s.record_login(Some(p.id), &use_step(101), &accept)
            .await
            .unwrap()
    );
    let d = s.device_by_id(d1.id).await.unwrap().unwrap();
    assert_eq!(d.last_step, Some(101));
    assert_eq!(d.last_used_at, Some(NOW));
    // A lost race writes nothing: two accepted events only.
    let events = s
        .events(&EventFilter {
            kind: Some("login_attempt".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    // Removing a phone wipes its seed; it never comes back.
    s.remove_device(d2.id, ev(EventKind::DeviceRemoved))
        .await
        .unwrap();
    let gone = s.device_by_id(d2.id).await.unwrap().unwrap();
    assert_eq!(gone.state, DeviceState::Removed);
    assert!(gone.sealed_secret.is_empty());
    assert!(matches!(
        s.remove_device(d2.id, ev(EventKind::DeviceRemoved)).await,
        Err(StoreError::Invalid(_))
    ));
    let removed = s
        .events(&EventFilter {
            kind: Some("device_removed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(removed[0].event.person_id, Some(p.id));
    assert_eq!(
        removed[0].event.device_label.as_deref(),
        Some("private phone")
    );
}

async fn concurrent_use_of_one_code_accepts_once(s: &dyn Store) {
    let (_, p) = org_and_person(s, "dave").await;
    let d = s
        .add_device(&phone(&p, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    let changes = Changes {
        device_use: Some(DeviceUse::TotpStep {
            device_id: d.id,
            step: 500,
        }),
        ..Default::default()
    };
    let accept = ev(EventKind::LoginAttempt);
    let results = futures_join(s, p.id, &changes, &accept).await;
    assert_eq!(results.iter().filter(|&&ok| ok).count(), 1, "{results:?}");
}

async fn futures_join(
    s: &dyn Store,
    person: PersonId,
    changes: &Changes,
    event: &AuditEvent,
) -> Vec<bool> {
    let (a, b, c, d) = tokio::join!(
        s.record_login(Some(person), changes, event),
        s.record_login(Some(person), changes, event),
        s.record_login(Some(person), changes, event),
        s.record_login(Some(person), changes, event),
    );
    vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()]
}

async fn hotp_counter_and_resync(s: &dyn Store) {
    let (_, p) = org_and_person(s, "erin").await;
    s.import_tokens(&[token("T-1")], NOW, ev(EventKind::TokenImported))
        .await
        .unwrap();
    let t = s
        .assign_token("T-1", p.id, "token at home", ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    assert_eq!(t.counter, 7);
    let hotp = |matched, next| Changes {
        device_use: Some(DeviceUse::HotpCounter {
            device_id: t.id,
            matched,
            next,
        }),
        ..Default::default()
    };
    let e = ev(EventKind::LoginAttempt);
    assert!(s.record_login(Some(p.id), &hotp(9, 10), &e).await.unwrap());
    assert!(
        !s.record_login(Some(p.id), &hotp(9, 10), &e).await.unwrap(),
        "counter 9 used"
    );
    s.set_counter(t.id, 50, ev(EventKind::DeviceResynced))
        .await
        .unwrap();
    assert_eq!(s.device_by_id(t.id).await.unwrap().unwrap().counter, 50);
}

async fn token_import_is_all_or_nothing(s: &dyn Store) {
    let batch: Vec<NewDevice> = (0..50).map(|i| token(&format!("S-{i:03}"))).collect();
    assert_eq!(
        s.import_tokens(&batch, NOW, ev(EventKind::TokenImported))
            .await
            .unwrap(),
        50
    );
    // A batch with one serial already in stock imports nothing.
    let mut again: Vec<NewDevice> = (50..60).map(|i| token(&format!("S-{i:03}"))).collect();
    again.push(token("S-007"));
    let err = s
        .import_tokens(&again, NOW, ev(EventKind::TokenImported))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("S-007"), "{err}");
    assert_eq!(s.tokens().await.unwrap().len(), 50);
    assert!(s.device_by_serial("S-055").await.unwrap().is_none());
}

async fn token_assign_and_person_removal(s: &dyn Store) {
    let (org, p) = org_and_person(s, "frank").await;
    s.import_tokens(
        &[token("A-1"), token("A-2")],
        NOW,
        ev(EventKind::TokenImported),
    )
    .await
    .unwrap();
    let t = s
        .assign_token("A-1", p.id, "token at branch", ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    assert_eq!(t.state, DeviceState::Active);
    assert_eq!(t.person_id, Some(p.id));
    assert_eq!(t.org_id, Some(org.id));
    assert!(matches!(
        s.assign_token("A-1", p.id, "again", ev(EventKind::DeviceLinked))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.assign_token("nope", p.id, "x", ev(EventKind::DeviceLinked))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let ph = s
        .add_device(&phone(&p, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    s.set_person_state(p.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    let back = s.device_by_serial("A-1").await.unwrap().unwrap();
    assert_eq!(
        (back.state, back.person_id),
        (DeviceState::InStock, None),
        "token back in stock"
    );
    assert_eq!(back.org_id, Some(org.id), "in its organisation's stock");
    assert_eq!(back.sealed_secret, vec![9; 40], "a token keeps its seed");
    let phone = s.device_by_id(ph.id).await.unwrap().unwrap();
    assert_eq!(phone.state, DeviceState::Removed);
    assert!(phone.sealed_secret.is_empty());
    assert_eq!(s.password_hash(p.id).await.unwrap(), None);
    assert!(matches!(
        s.set_person_state(p.id, PersonState::Disabled, ev(EventKind::PersonDisabled))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn events_filter_and_order(s: &dyn Store) {
    let mut e = ev(EventKind::LoginAttempt);
    e.detail = Some(serde_json::json!({"k": 1}));
    e.source = Some("2001:db8::1".into());
    for _ in 0..5 {
        s.append_event(&e).await.unwrap();
    }
    let got = s
        .events(&EventFilter {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    assert!(got[0].id > got[1].id, "newest first");
    assert_eq!(got[0].event, e, "round trip");
    assert!(s.ping().await.is_ok());
}

async fn signing_keys_and_public_ids(s: &dyn Store) {
    let (_, p) = org_and_person(s, "gina").await;
    let by_sub = s.person_by_public_id(&p.public_id).await.unwrap().unwrap();
    assert_eq!(by_sub.id, p.id);
    assert!(s.person_by_public_id("nope").await.unwrap().is_none());
    let mut key = SealedSigningKey {
        kid: "k1".into(),
        alg: "EdDSA".into(),
        sealed_key: vec![1, 2, 3],
        publish_at: NOW,
        sign_from: NOW + 60,
        retire_at: None,
    };
    s.save_signing_key(&key, ev(EventKind::SigningKeyChanged))
        .await
        .unwrap();
    key.retire_at = Some(NOW + 3600);
    s.save_signing_key(&key, ev(EventKind::SigningKeyChanged))
        .await
        .unwrap();
    assert_eq!(s.signing_keys().await.unwrap(), vec![key]);
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::sqlite().await; super::$name(&*h.store).await; } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::postgres().await; super::$name(&*h.store).await; } )*
        }
    };
}

suite!(
    orgs_and_people,
    password_state_and_lockout,
    devices_and_replay_guard,
    concurrent_use_of_one_code_accepts_once,
    hotp_counter_and_resync,
    token_import_is_all_or_nothing,
    token_assign_and_person_removal,
    events_filter_and_order,
    signing_keys_and_public_ids,
);
