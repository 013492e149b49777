//! One store test suite, run against SQLite (a temp file) and PostgreSQL (a fresh schema on
//! the server at $MFA_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
//! PostgreSQL missing is a failure with a hint, never a skip: README's test command starts it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mfa_gateway::audit::{AuditEvent, Channel, EventKind, Outcome};
use mfa_gateway::audit_chain::{self, Problem, SealedAuditKey};
use mfa_gateway::changes::{Changes, Counted, DeviceUse, LockoutRule, OneTimeKind, Recorded};
use mfa_gateway::engine::legacy_code_hash as recovery_code_hash;
use mfa_gateway::model::*;
use mfa_gateway::otp::{OtpHash, OtpKind, OtpParams};
use mfa_gateway::store::{EventFilter, PgStore, SqliteStore, Store, StoreError};
use std::sync::Arc;

const NOW: i64 = 1_764_000_000;
const RULE: LockoutRule = LockoutRule {
    threshold: 5,
    base_seconds: 60,
    max_seconds: 3600,
};

struct Harness {
    store: Arc<dyn Store>,
    /// The same database, for writing around the store (tamper tests).
    raw: Raw,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(sqlx::PgPool, String)>,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Harness {
    /// Run SQL statements directly on the database.
    async fn exec(&self, statements: &[&str]) {
        for sql in statements {
            let q = sqlx::AssertSqlSafe(sql.to_string());
            match &self.raw {
                Raw::Sqlite(p) => sqlx::query(q).execute(p).await.map(|_| ()),
                Raw::Pg(p) => sqlx::query(q).execute(p).await.map(|_| ()),
            }
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// Run the migrations again (as at the next start).
    async fn remigrate(&self) {
        match &self.raw {
            Raw::Sqlite(p) => SqliteStore::from_pool(p.clone()).migrate().await,
            Raw::Pg(p) => PgStore::from_pool(p.clone()).migrate().await,
        }
        .unwrap();
    }
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
        raw: Raw::Sqlite(store.pool().clone()),
        store: Arc::new(store),
        _dir: Some(dir),
        pg_schema: None,
    }
}

fn pg_url() -> String {
    std::env::var("MFA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema on the PostgreSQL server. Only from a multi-thread runtime: the harness's
/// drop blocks its thread while another runtime drops the schema over this runtime's
/// connection, and on a current-thread runtime nothing drives that connection's I/O (the
/// drop waits forever, or gives up after the admin pool's 5 s and leaves the schema). What
/// the blocked runtime's connections still had to send waits too: a rollback left queued
/// would keep the chain's advisory lock, which is database-wide, from every other
/// PostgreSQL test (CI hung so once).
async fn postgres() -> Harness {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread,
        "a PostgreSQL harness needs #[tokio::test(flavor = \"multi_thread\")]: its drop \
         would deadlock a current-thread runtime"
    );
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
    let store = PgStore::from_pool(pool.clone());
    store.migrate().await.unwrap();
    Harness {
        raw: Raw::Pg(pool),
        store: Arc::new(store),
        _dir: None,
        pg_schema: Some((admin, schema)),
    }
}

/// Record a login's changes; true when written.
async fn written(
    s: &dyn Store,
    person: Option<PersonId>,
    changes: &Changes,
    event: &AuditEvent,
) -> bool {
    s.record_login(person, changes, event).await.unwrap() == Recorded::Written
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

/// What the daily retention job reads instead of everyone: the removed people whose identity
/// is not erased yet, by id.
async fn removed_people_are_those_not_erased_yet(s: &dyn Store) {
    let (_, ann) = org_and_person(s, "ann").await;
    let (_, bob) = org_and_person(s, "bob").await;
    let (_, cat) = org_and_person(s, "cat").await;
    let (_, dan) = org_and_person(s, "dan").await;
    assert_eq!(s.removed_people().await.unwrap(), vec![]);
    for p in [&bob, &cat, &dan] {
        s.set_person_state(p.id, PersonState::Removed, ev(EventKind::PersonRemoved))
            .await
            .unwrap();
    }
    s.set_person_state(ann.id, PersonState::Disabled, ev(EventKind::PersonDisabled))
        .await
        .unwrap();
    s.erase_person(cat.id, "pseudonym-cat", &[], &purged_event(&[]))
        .await
        .unwrap();
    let removed = s.removed_people().await.unwrap();
    assert_eq!(
        removed.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![bob.id, dan.id]
    );
    assert!(removed.iter().all(|p| p.state == PersonState::Removed));
    assert_eq!(removed[0].username, "bob");
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
        factor: Some(Counted::Failed(RULE)),
        ..Default::default()
    };
    let mut login = ev(EventKind::LoginAttempt);
    login.outcome = Outcome::Reject;
    login.channel = Channel::Radius;
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &changes, &login).await);
    }
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
    assert!(written(s, Some(p.id), &use_step(100), &accept).await);
    assert!(
        !written(s, Some(p.id), &use_step(100), &accept).await,
        "same step twice"
    );
    assert!(
        !written(s, Some(p.id), &use_step(99), &accept).await,
        "older step"
    );
    assert!(written(s, Some(p.id), &use_step(101), &accept).await);
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
    [a, b, c, d]
        .into_iter()
        .map(|r| r.unwrap() == Recorded::Written)
        .collect()
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
    assert!(written(s, Some(p.id), &hotp(9, 10), &e).await);
    assert!(
        !written(s, Some(p.id), &hotp(9, 10), &e).await,
        "counter 9 used"
    );
    s.set_counter(t.id, 50, ev(EventKind::DeviceResynced))
        .await
        .unwrap();
    assert_eq!(s.device_by_id(t.id).await.unwrap().unwrap().counter, 50);
    // Never backwards (a login that moved it past the resync wins), nothing written.
    let before = s.events(&EventFilter::default()).await.unwrap().len();
    assert!(
        s.set_counter(t.id, 40, ev(EventKind::DeviceResynced))
            .await
            .is_err()
    );
    assert_eq!(s.device_by_id(t.id).await.unwrap().unwrap().counter, 50);
    assert_eq!(
        s.events(&EventFilter::default()).await.unwrap().len(),
        before
    );
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

// The audit hash chain and its checkpoints (see `mfa_gateway::audit_chain`).

/// Append `n` distinct events; their ids.
async fn append(s: &dyn Store, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut e = ev(EventKind::LoginAttempt);
        e.time = NOW + i as i64;
        e.username = Some(format!("user{i}"));
        e.source = Some(format!("192.0.2.{i}"));
        e.channel = Channel::Radius;
        e.outcome = if i % 3 == 0 {
            Outcome::Reject
        } else {
            Outcome::Accept
        };
        e.detail = Some(serde_json::json!({"n": i, "note": "a \"quoted\", text"}));
        ids.push(s.append_event(&e).await.unwrap());
    }
    ids
}

async fn problem(s: &dyn Store, trusted: Option<&[u8; 32]>) -> Option<Problem> {
    audit_chain::verify(s, trusted).await.unwrap().problem
}

fn test_key() -> (ed25519_dalek::SigningKey, [u8; 32]) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let public = *key.verifying_key().as_bytes();
    (key, public)
}

async fn chain_holds_under_many_and_concurrent_writes(s: &dyn Store) {
    assert_eq!(problem(s, None).await, None, "an empty chain verifies");
    let (_, p) = org_and_person(s, "hugo").await;
    append(s, 40).await;
    // Concurrent writers: each must chain onto its own predecessor.
    let e = ev(EventKind::LoginAttempt);
    let (a, b, c, d, f, g, h, i) = tokio::join!(
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
        s.append_event(&e),
    );
    for r in [a, b, c, d, f, g, h, i] {
        r.unwrap();
    }
    let changes = Changes::default();
    futures_join(s, p.id, &changes, &e).await;
    let (key, public) = test_key();
    let cp = audit_chain::checkpoint(s, &key, NOW).await.unwrap();
    let report = audit_chain::verify(s, Some(&public)).await.unwrap();
    assert_eq!(report.problem, None);
    // org + person + 40 + 8 + 4 logins
    assert_eq!(report.events, 54);
    assert_eq!(report.checkpoints, 1);
    assert_eq!(report.head.map(|h| h.0), Some(cp.last_event_id));
    append(s, 3).await;
    assert_eq!(
        problem(s, Some(&public)).await,
        None,
        "the chain grows past a checkpoint"
    );
    assert_eq!(
        problem(s, None).await,
        Some(Problem::UnknownKey {
            checkpoint_id: cp.id
        }),
        "a checkpoint by an unknown key is not trusted"
    );
}

async fn audit_key_is_stored_once(s: &dyn Store) {
    let key = SealedAuditKey {
        kid: audit_chain::CHECKPOINT_KID.into(),
        sealed_key: vec![1, 2, 3],
        public_key: vec![4; 32],
        created_at: NOW,
    };
    assert!(
        s.add_audit_key(&key, ev(EventKind::SigningKeyChanged))
            .await
            .unwrap()
    );
    let mut other = key.clone();
    other.sealed_key = vec![9];
    assert!(
        !s.add_audit_key(&other, ev(EventKind::SigningKeyChanged))
            .await
            .unwrap()
    );
    assert_eq!(s.audit_key(&key.kid).await.unwrap(), Some(key));
    assert_eq!(s.audit_key("nope").await.unwrap(), None);
    assert_eq!(problem(s, None).await, None);
}

async fn checkpoint_key_is_sealed_and_made_once(s: &dyn Store) {
    let master = mfa_gateway::crypto::MasterKey::from_bytes(&[1; 32]).unwrap();
    append(s, 3).await;
    let first = audit_chain::checkpoint_now(s, &master, NOW).await.unwrap();
    append(s, 2).await;
    let second = audit_chain::checkpoint_now(s, &master, NOW + 1)
        .await
        .unwrap();
    assert_eq!(first.public_key, second.public_key, "one key");
    assert!(second.last_event_id > first.last_event_id);
    let key = audit_chain::load_key(s, &master).await.unwrap().unwrap();
    let public = *key.verifying_key().as_bytes();
    let report = audit_chain::verify(s, Some(&public)).await.unwrap();
    assert_eq!((report.problem, report.checkpoints), (None, 2));
    let other = mfa_gateway::crypto::MasterKey::from_bytes(&[2; 32]).unwrap();
    assert!(audit_chain::load_key(s, &other).await.is_err(), "sealed");
}

async fn search_filters(s: &dyn Store) {
    let (org, p) = org_and_person(s, "ivy").await;
    append(s, 9).await;
    let mut mine = ev(EventKind::LoginAttempt);
    mine.person_id = Some(p.id);
    mine.org_id = Some(org.id);
    mine.channel = Channel::Oidc;
    mine.client = Some("wiki".into());
    mine.outcome = Outcome::Reject;
    mine.reason = Some("bad_code".into());
    mine.time = NOW + 100;
    s.append_event(&mine).await.unwrap();
    let count = |f: EventFilter| async move { s.events(&f).await.unwrap().len() };
    let all = EventFilter::default;
    assert_eq!(count(all()).await, 12);
    assert_eq!(
        count(EventFilter {
            person_id: Some(p.id),
            ..all()
        })
        .await,
        2
    );
    assert_eq!(
        count(EventFilter {
            org_id: Some(org.id),
            ..all()
        })
        .await,
        3
    );
    assert_eq!(
        count(EventFilter {
            channel: Some("radius".into()),
            ..all()
        })
        .await,
        9
    );
    assert_eq!(
        count(EventFilter {
            client: Some("wiki".into()),
            ..all()
        })
        .await,
        1
    );
    assert_eq!(
        count(EventFilter {
            outcome: Some("reject".into()),
            ..all()
        })
        .await,
        4
    );
    assert_eq!(
        count(EventFilter {
            reason: Some("bad_code".into()),
            ..all()
        })
        .await,
        1
    );
    assert_eq!(
        count(EventFilter {
            source: Some("192.0.2.4".into()),
            ..all()
        })
        .await,
        1
    );
    assert_eq!(
        count(EventFilter {
            username: Some("user4".into()),
            ..all()
        })
        .await,
        1
    );
    assert_eq!(
        count(EventFilter {
            kind: Some("login_attempt".into()),
            ..all()
        })
        .await,
        10
    );
    assert_eq!(
        count(EventFilter {
            from: Some(NOW + 3),
            to: Some(NOW + 5),
            ..all()
        })
        .await,
        3
    );
    let page = s
        .events(&EventFilter {
            channel: Some("radius".into()),
            limit: 4,
            offset: 2,
            oldest_first: true,
            ..all()
        })
        .await
        .unwrap();
    let names: Vec<_> = page
        .iter()
        .map(|e| e.event.username.clone().unwrap())
        .collect();
    assert_eq!(names, ["user2", "user3", "user4", "user5"]);
}

async fn edited_content_is_named(h: &Harness) {
    let ids = append(&*h.store, 10).await;
    h.exec(&[&format!(
        "UPDATE audit_events SET outcome = 'accept' WHERE id = {}",
        ids[3]
    )])
    .await;
    assert_eq!(
        problem(&*h.store, None).await,
        Some(Problem::ContentChanged { event_id: ids[3] })
    );
    // Editing and re-hashing the content (without the chain) breaks the chain there.
    let rows = h.store.chain_rows(ids[3] - 1, 1).await.unwrap();
    let hash = audit_chain::content_hash(ids[3], &rows[0].content);
    h.exec(&[&format!(
        "UPDATE audit_events SET content_hash = {} WHERE id = {}",
        hex_literal(&hash, h),
        ids[3]
    )])
    .await;
    assert_eq!(
        problem(&*h.store, None).await,
        Some(Problem::ChainBroken {
            event_id: ids[3],
            previous_id: Some(ids[2])
        })
    );
}

fn hex_literal(bytes: &[u8], h: &Harness) -> String {
    match h.raw {
        Raw::Sqlite(_) => format!("X'{}'", hex::encode(bytes)),
        Raw::Pg(_) => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn deleted_row_is_named(h: &Harness) {
    let ids = append(&*h.store, 10).await;
    h.exec(&[&format!("DELETE FROM audit_events WHERE id = {}", ids[6])])
        .await;
    assert_eq!(
        problem(&*h.store, None).await,
        Some(Problem::ChainBroken {
            event_id: ids[7],
            previous_id: Some(ids[5])
        })
    );
}

async fn reordered_rows_are_named(h: &Harness) {
    let ids = append(&*h.store, 10).await;
    let (a, b) = (ids[4], ids[6]);
    h.exec(&[
        &format!("UPDATE audit_events SET id = -1 WHERE id = {a}"),
        &format!("UPDATE audit_events SET id = {a} WHERE id = {b}"),
        &format!("UPDATE audit_events SET id = {b} WHERE id = -1"),
    ])
    .await;
    assert_eq!(
        problem(&*h.store, None).await,
        Some(Problem::ContentChanged { event_id: a })
    );
}

async fn truncation_after_a_checkpoint_is_named(h: &Harness) {
    let s = &*h.store;
    let ids = append(s, 10).await;
    let (key, public) = test_key();
    let cp = audit_chain::checkpoint(s, &key, NOW).await.unwrap();
    assert_eq!(cp.last_event_id, ids[9]);
    h.exec(&[&format!("DELETE FROM audit_events WHERE id >= {}", ids[8])])
        .await;
    assert_eq!(
        problem(s, None).await.map(|p| p.event_id()),
        Some(None),
        "untrusted key"
    );
    assert_eq!(
        problem(s, Some(&public)).await,
        Some(Problem::Truncated {
            checkpoint_id: cp.id,
            event_id: ids[9],
            last_id: Some(ids[7])
        })
    );
}

async fn rows_from_before_the_chain_are_hashed_at_start(h: &Harness) {
    let ids = append(&*h.store, 5).await;
    h.exec(&["UPDATE audit_events SET content_hash = NULL, chain_hash = NULL"])
        .await;
    assert_eq!(
        problem(&*h.store, None).await,
        Some(Problem::Unhashed { event_id: ids[0] })
    );
    h.remigrate().await;
    assert_eq!(problem(&*h.store, None).await, None);
    append(&*h.store, 2).await;
    assert_eq!(problem(&*h.store, None).await, None);
}

async fn recovery_codes_are_used_once_and_replaced(s: &dyn Store) {
    let (_, p) = org_and_person(s, "ann").await;
    assert!(s.recovery_codes(p.id).await.unwrap().is_empty());
    let first = [
        recovery_code_hash("AAAAABBBBB"),
        recovery_code_hash("CCCCCDDDDD"),
    ];
    s.replace_recovery_codes(p.id, &first, NOW, ev(EventKind::RecoveryCodesGenerated))
        .await
        .unwrap();
    let codes = s.recovery_codes(p.id).await.unwrap();
    assert_eq!(codes.iter().map(|c| c.hash).collect::<Vec<_>>(), first);

    // Spent once, in the login's transaction; a second use writes nothing.
    let spend = Changes {
        recovery_code_used: Some(codes[0].id),
        ..Default::default()
    };
    let accept = ev(EventKind::LoginAttempt);
    assert!(written(s, Some(p.id), &spend, &accept).await);
    let left = s.recovery_codes(p.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].hash, first[1]);
    let before = s.events(&EventFilter::default()).await.unwrap().len();
    assert!(!written(s, Some(p.id), &spend, &accept).await);
    assert_eq!(
        s.events(&EventFilter::default()).await.unwrap().len(),
        before
    );

    // Another person's code is not ann's to spend.
    let (_, bob) = org_and_person(s, "bob").await;
    let theirs = Changes {
        recovery_code_used: Some(left[0].id),
        ..Default::default()
    };
    assert!(!written(s, Some(bob.id), &theirs, &accept).await);

    // A new set voids the old one, used or not.
    let second = [recovery_code_hash("EEEEEFFFFF")];
    s.replace_recovery_codes(p.id, &second, NOW, ev(EventKind::RecoveryCodesGenerated))
        .await
        .unwrap();
    let now_codes = s.recovery_codes(p.id).await.unwrap();
    assert_eq!(now_codes.len(), 1);
    assert_eq!(now_codes[0].hash, second[0]);
    let old = Changes {
        recovery_code_used: Some(left[0].id),
        ..Default::default()
    };
    assert!(!written(s, Some(p.id), &old, &accept).await);
    let kinds = EventFilter {
        kind: Some("recovery_codes_generated".into()),
        ..Default::default()
    };
    assert_eq!(s.events(&kinds).await.unwrap().len(), 2);

    // Removing the person removes their codes.
    s.set_person_state(p.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    assert!(s.recovery_codes(p.id).await.unwrap().is_empty());
}

async fn rename_a_linked_device(s: &dyn Store) {
    let (_, p) = org_and_person(s, "ann").await;
    let (_, bob) = org_and_person(s, "bob").await;
    let d = s
        .add_device(&phone(&p, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    s.rename_device(d.id, p.id, "work phone", ev(EventKind::DeviceRenamed))
        .await
        .unwrap();
    assert_eq!(
        s.device_by_id(d.id).await.unwrap().unwrap().label,
        "work phone"
    );
    let renamed = EventFilter {
        kind: Some("device_renamed".into()),
        ..Default::default()
    };
    let events = s.events(&renamed).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.device_id, Some(d.id));
    assert_eq!(events[0].event.device_label.as_deref(), Some("work phone"));

    // Not someone else's device, not a removed one; nothing is written then.
    let r = s
        .rename_device(d.id, bob.id, "mine", ev(EventKind::DeviceRenamed))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    s.remove_device(d.id, ev(EventKind::DeviceRemoved))
        .await
        .unwrap();
    let r = s
        .rename_device(d.id, p.id, "again", ev(EventKind::DeviceRenamed))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(s.events(&renamed).await.unwrap().len(), 1);
}

macro_rules! tamper_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_tamper {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::sqlite().await; super::$name(&h).await; } )*
        }
        mod postgres_tamper {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::postgres().await; super::$name(&h).await; } )*
        }
    };
}

tamper_suite!(
    edited_content_is_named,
    deleted_row_is_named,
    reordered_rows_are_named,
    truncation_after_a_checkpoint_is_named,
    rows_from_before_the_chain_are_hashed_at_start,
);

async fn temporary_codes_are_used_once_and_replaced(s: &dyn Store) {
    let (_, p) = org_and_person(s, "ann").await;
    assert!(s.temporary_codes(p.id).await.unwrap().is_empty());
    let first = recovery_code_hash("AAAAABBBBB");
    let mut issued = ev(EventKind::TemporaryCodeIssued);
    issued.actor = "helpdesk-jo".into();
    issued.person_id = Some(p.id);
    s.issue_temporary_code(p.id, first, "helpdesk-jo", NOW, NOW + 3600, issued.clone())
        .await
        .unwrap();
    let codes = s.temporary_codes(p.id).await.unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].hash, first);
    assert_eq!(codes[0].kind, OneTimeKind::Temporary);
    assert_eq!(codes[0].expires_at, Some(NOW + 3600));
    // Recovery codes and temporary codes are kept apart.
    assert!(s.recovery_codes(p.id).await.unwrap().is_empty());

    // Issuing a new one replaces the unused old one.
    let second = recovery_code_hash("CCCCCDDDDD");
    s.issue_temporary_code(p.id, second, "helpdesk-jo", NOW, NOW + 3600, issued.clone())
        .await
        .unwrap();
    let now_codes = s.temporary_codes(p.id).await.unwrap();
    assert_eq!(now_codes.len(), 1);
    assert_eq!(now_codes[0].hash, second);
    let accept = ev(EventKind::LoginAttempt);
    let old = Changes {
        temporary_code_used: Some(codes[0].id),
        ..Default::default()
    };
    assert!(!written(s, Some(p.id), &old, &accept).await);

    // Not another person's to spend; not once expired (the login's time decides).
    let (_, bob) = org_and_person(s, "bob").await;
    let spend = Changes {
        temporary_code_used: Some(now_codes[0].id),
        ..Default::default()
    };
    assert!(!written(s, Some(bob.id), &spend, &accept).await);
    let mut late = ev(EventKind::LoginAttempt);
    late.time = NOW + 3600;
    assert!(!written(s, Some(p.id), &spend, &late).await);

    // Spent once, in the login's transaction; a second use writes nothing.
    assert!(written(s, Some(p.id), &spend, &accept).await);
    assert!(s.temporary_codes(p.id).await.unwrap().is_empty());
    let before = s.events(&EventFilter::default()).await.unwrap().len();
    assert!(!written(s, Some(p.id), &spend, &accept).await);
    assert_eq!(
        s.events(&EventFilter::default()).await.unwrap().len(),
        before
    );

    // The issue events name the issuer.
    let kinds = EventFilter {
        kind: Some("temporary_code_issued".into()),
        ..Default::default()
    };
    let events = s.events(&kinds).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events.iter().all(|e| e.event.actor == "helpdesk-jo"),
        "{events:?}"
    );

    // Removing the person removes their codes.
    s.issue_temporary_code(p.id, first, "helpdesk-jo", NOW, NOW + 3600, issued)
        .await
        .unwrap();
    s.set_person_state(p.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    assert!(s.temporary_codes(p.id).await.unwrap().is_empty());
}

async fn people_import_is_all_or_nothing(s: &dyn Store) {
    let (org, _) = org_and_person(s, "ann").await;
    let batch = |names: &[&str]| -> Vec<(NewPerson, [u8; 32], Vec<AuditEvent>)> {
        names
            .iter()
            .map(|n| {
                let new = NewPerson {
                    username: (*n).into(),
                    full_name: format!("{n} Example"),
                    email: Some(format!("{n}@example.org")),
                    employee_number: None,
                    org_id: org.id,
                    roles: vec![Role::Person],
                };
                let events = vec![
                    ev(EventKind::PersonCreated),
                    ev(EventKind::ActivationLinkIssued),
                ];
                (new, [7; 32], events)
            })
            .collect()
    };
    // One username taken (any case): nothing is written, not even the people before it.
    let err = s
        .import_people(batch(&["bob", "ANN", "cees"]), NOW, NOW + 60)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.people(Some(org.id)).await.unwrap().len(), 1);
    assert!(s.person_by_username("bob").await.unwrap().is_none());
    let made = s
        .import_people(batch(&["bob", "cees"]), NOW, NOW + 60)
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    for (person, link) in &made {
        let link = s.activation_link(*link).await.unwrap().unwrap();
        assert_eq!(link.person_id, person.id);
        assert_eq!(link.expires_at, NOW + 60);
        assert!(link.used_at.is_none());
    }
    let events = s
        .events(&EventFilter {
            person_id: Some(made[1].0.id),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "both events carry the new person's id");
}

/// Password reset links: one live link per person (a newer one voids the older), the code
/// step marks it once, completing it replaces the password and voids every link, once; a
/// link that was not verified recently, expired or was used writes nothing.
async fn password_reset_links(s: &dyn Store) {
    let (_, p) = org_and_person(s, "resetter").await;
    assert_eq!(
        s.people_by_email(" ANN@example.org ", 5)
            .await
            .unwrap()
            .iter()
            .filter(|x| x.id == p.id)
            .count(),
        1,
        "case-insensitive, trimmed"
    );
    assert!(
        s.people_by_email("nobody@example.org", 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.people_by_email("", 5).await.unwrap().is_empty());
    let issue = |hash: [u8; 32], at: i64| async move {
        s.issue_reset_link(
            p.id,
            &hash,
            at,
            at + 3600,
            ev(EventKind::PasswordResetRequested),
        )
        .await
        .unwrap()
    };
    let first = issue([1; 32], NOW).await;
    let second = issue([2; 32], NOW + 10).await;
    assert_eq!(s.reset_links_since(p.id, NOW).await.unwrap(), 2);
    assert_eq!(s.reset_links_since(p.id, NOW + 5).await.unwrap(), 1);
    let old = s.reset_link(first).await.unwrap().unwrap();
    assert_eq!(old.used_at, Some(NOW + 10), "a newer link voids the older");
    let link = s.reset_link(second).await.unwrap().unwrap();
    assert_eq!(
        (
            link.person_id,
            link.token_hash.as_slice(),
            link.used_at,
            link.verified_at
        ),
        (p.id, &[2u8; 32][..], None, None)
    );
    assert!(s.reset_link(second + 1000).await.unwrap().is_none());
    // Not verified yet: nothing written.
    let done = |id: i64, at: i64| async move {
        s.complete_reset(
            id,
            "$argon2id$reset",
            at - 600,
            at,
            vec![
                ev(EventKind::PasswordResetCompleted),
                ev(EventKind::PasswordChanged),
            ],
        )
        .await
    };
    assert!(matches!(
        done(second, NOW + 20).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!s.verify_reset_link(first, NOW + 20).await.unwrap(), "void");
    assert!(
        !s.verify_reset_link(second, NOW + 3610).await.unwrap(),
        "expired"
    );
    assert!(s.verify_reset_link(second, NOW + 30).await.unwrap());
    // Verified too long ago.
    assert!(matches!(
        done(second, NOW + 30 + 601).await,
        Err(StoreError::Invalid(_))
    ));
    let third = issue([3; 32], NOW + 40).await;
    assert!(s.verify_reset_link(third, NOW + 50).await.unwrap());
    // Wrong passwords throttled a source; the reset clears that.
    let wrong = Changes {
        password: Some(("192.0.2.2".to_owned(), Counted::Failed(RULE))),
        ..Default::default()
    };
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &wrong, &reject_event(&p, "bad_password")).await);
    }
    assert!(
        s.password_blocked_until(p.id, "192.0.2.2")
            .await
            .unwrap()
            .is_some()
    );
    let before = s
        .events(&EventFilter {
            person_id: Some(p.id),
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(done(third, NOW + 60).await.unwrap(), p.id);
    assert_eq!(
        s.password_hash(p.id).await.unwrap().as_deref(),
        Some("$argon2id$reset")
    );
    let events = s
        .events(&EventFilter {
            person_id: Some(p.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), before + 2, "both events, with the person");
    assert_eq!(
        s.password_blocked_until(p.id, "192.0.2.2").await.unwrap(),
        None
    );
    assert!(
        matches!(done(third, NOW + 70).await, Err(StoreError::Invalid(_))),
        "once"
    );
    assert_eq!(
        s.reset_link(third).await.unwrap().unwrap().used_at,
        Some(NOW + 60)
    );
    // A blocked person's link cannot set a password.
    let fourth = issue([4; 32], NOW + 80).await;
    assert!(s.verify_reset_link(fourth, NOW + 81).await.unwrap());
    s.set_blocked(p.id, Some(NOW + 82), ev(EventKind::PersonBlocked))
        .await
        .unwrap();
    assert!(matches!(
        done(fourth, NOW + 83).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.password_hash(p.id).await.unwrap().as_deref(),
        Some("$argon2id$reset"),
        "nothing written"
    );
    assert_eq!(s.reset_link(fourth).await.unwrap().unwrap().used_at, None);
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
    radius_sessions_open_close_and_nas_restart,
    orgs_and_people,
    removed_people_are_those_not_erased_yet,
    password_state_and_lockout,
    devices_and_replay_guard,
    concurrent_use_of_one_code_accepts_once,
    hotp_counter_and_resync,
    token_import_is_all_or_nothing,
    people_import_is_all_or_nothing,
    token_assign_and_person_removal,
    events_filter_and_order,
    signing_keys_and_public_ids,
    chain_holds_under_many_and_concurrent_writes,
    audit_key_is_stored_once,
    checkpoint_key_is_sealed_and_made_once,
    search_filters,
    recovery_codes_are_used_once_and_replaced,
    temporary_codes_are_used_once_and_replaced,
    rename_a_linked_device,
    a_stale_write_cannot_clear_a_lock,
    password_failures_throttle_one_source,
    login_reads_hold_what_the_single_reads_hold,
    password_reset_links,
    org_offboarding_and_due_erasure,
    sso_sessions_are_kept_by_hash_touched_and_ended,
    sso_sessions_list_their_clients_and_end_once_with_their_event,
    remembered_browsers_are_kept_listed_forgotten_and_ended,
    person_languages_are_kept_changed_and_cleared,
);

/// A person's own language (migration 0021): none at first, set, changed, cleared, each
/// with its event.
async fn person_languages_are_kept_changed_and_cleared(s: &dyn Store) {
    let (_, ann) = org_and_person(s, "ann").await;
    assert_eq!(s.person_language(ann.id).await.unwrap(), None);
    let event = || {
        let mut e = ev(EventKind::LanguageChanged);
        e.person_id = Some(ann.id);
        e
    };
    s.set_person_language(ann.id, Some("nl"), NOW, &event())
        .await
        .unwrap();
    assert_eq!(
        s.person_language(ann.id).await.unwrap().as_deref(),
        Some("nl")
    );
    s.set_person_language(ann.id, Some("en"), NOW + 1, &event())
        .await
        .unwrap();
    assert_eq!(
        s.person_language(ann.id).await.unwrap().as_deref(),
        Some("en")
    );
    s.set_person_language(ann.id, None, NOW + 2, &event())
        .await
        .unwrap();
    assert_eq!(s.person_language(ann.id).await.unwrap(), None);
    let events = s
        .events(&EventFilter {
            kind: Some("language_changed".into()),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
}

/// Single sign-on sessions: kept under the token's hash, touched on use, ended one by one or
/// all of a person's.
async fn sso_sessions_are_kept_by_hash_touched_and_ended(s: &dyn Store) {
    let (_, ann) = org_and_person(s, "ann").await;
    let session = mfa_gateway::store::SsoSession {
        person_id: ann.id,
        auth_time: NOW,
        amr: "pwd otp".into(),
        created_at: NOW,
        last_used_at: NOW,
        expires_at: NOW + 3600,
    };
    s.create_sso("h1", &session).await.unwrap();
    s.create_sso("h2", &session).await.unwrap();
    assert_eq!(s.sso("h1").await.unwrap(), Some(session.clone()));
    assert_eq!(s.sso("nope").await.unwrap(), None);
    s.touch_sso("h1", NOW + 60).await.unwrap();
    assert_eq!(s.sso("h1").await.unwrap().unwrap().last_used_at, NOW + 60);
    // Another person's id does not end it.
    assert_eq!(s.end_sso(Some("h1"), ann.id + 1).await.unwrap(), 0);
    assert_eq!(s.end_sso(Some("h1"), ann.id).await.unwrap(), 1);
    assert_eq!(s.sso("h1").await.unwrap(), None);
    assert_eq!(s.end_sso(None, ann.id).await.unwrap(), 1);
    assert_eq!(s.sso("h2").await.unwrap(), None);
    // The daily purge deletes those past their lifetime only.
    s.create_sso("h3", &session).await.unwrap();
    assert_eq!(s.purge_sso(NOW + 3600).await.unwrap(), 0);
    assert_eq!(s.purge_sso(NOW + 3601).await.unwrap(), 1);
    assert_eq!(s.sso("h3").await.unwrap(), None);
}

/// Single sign-on sessions for the portal and /admin: listed newest first with the clients
/// each served (a client recorded only for a live session, once); ended once, with its event
/// and clients in the same transaction (a second ender writes nothing); the expired found.
async fn sso_sessions_list_their_clients_and_end_once_with_their_event(s: &dyn Store) {
    let (_, ann) = org_and_person(s, "ann").await;
    let (_, bea) = org_and_person(s, "bea").await;
    let session = |person: PersonId, at: i64| mfa_gateway::store::SsoSession {
        person_id: person,
        auth_time: at,
        amr: "pwd otp".into(),
        created_at: at,
        last_used_at: at,
        expires_at: at + 3600,
    };
    s.create_sso("old", &session(ann.id, NOW)).await.unwrap();
    s.create_sso("new", &session(ann.id, NOW + 10))
        .await
        .unwrap();
    s.create_sso("bea", &session(bea.id, NOW)).await.unwrap();
    assert!(s.add_sso_client("old", "app2", NOW + 1).await.unwrap());
    assert!(s.add_sso_client("old", "app1", NOW + 2).await.unwrap());
    assert!(s.add_sso_client("old", "app2", NOW + 3).await.unwrap());
    assert!(!s.add_sso_client("gone", "app1", NOW).await.unwrap());
    let rows = s.sso_sessions_of(ann.id).await.unwrap();
    let hashes: Vec<&str> = rows.iter().map(|r| r.token_hash.as_str()).collect();
    assert_eq!(hashes, ["new", "old"]);
    assert_eq!(
        rows[1].clients,
        ["app2", "app1"],
        "in the order first served, once"
    );
    assert!(rows[0].clients.is_empty());
    assert_eq!(rows[1].session, session(ann.id, NOW));
    let one = s.sso_session_row("old").await.unwrap().unwrap();
    assert_eq!(one, rows[1]);
    assert_eq!(s.sso_session_row("gone").await.unwrap(), None);

    // Ended once: the event written with it; a second ender finds nothing, writes nothing.
    let before = s.events(&EventFilter::default()).await.unwrap().len();
    let mut event = ev(EventKind::SsoSessionEnded);
    event.person_id = Some(ann.id);
    assert_eq!(
        s.end_sso_session("old", &event).await.unwrap(),
        Some(vec!["app2".to_owned(), "app1".to_owned()])
    );
    assert_eq!(s.end_sso_session("old", &event).await.unwrap(), None);
    let events = s.events(&EventFilter::default()).await.unwrap();
    assert_eq!(events.len(), before + 1);
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == EventKind::SsoSessionEnded)
    );
    assert!(!s.add_sso_client("old", "app1", NOW + 4).await.unwrap());
    assert_eq!(s.sso_sessions_of(ann.id).await.unwrap().len(), 1);
    assert_eq!(s.sso_sessions_of(bea.id).await.unwrap().len(), 1);

    // Expired ones, oldest first, limited; a session with clients can still be purged.
    assert!(s.add_sso_client("bea", "app1", NOW).await.unwrap());
    let expired = s.expired_sso_sessions(NOW + 3601, 10).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].token_hash, "bea");
    assert_eq!(expired[0].clients, ["app1"]);
    assert_eq!(
        s.expired_sso_sessions(NOW + 3611, 1).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.expired_sso_sessions(NOW + 3611, 10).await.unwrap().len(),
        2
    );
    assert_eq!(s.purge_sso(NOW + 3611).await.unwrap(), 2);
}

/// An offboarded organisation's erasure comes due at its time; clearing it ends that.
async fn org_offboarding_and_due_erasure(s: &dyn Store) {
    let (org, _) = org_and_person(s, "ann").await;
    assert_eq!(s.org_offboarding(org.id).await.unwrap(), None);
    assert!(s.orgs_due_for_erasure(NOW + 10).await.unwrap().is_empty());
    s.set_org_offboarded(org.id, NOW, Some(NOW + 100), &ev(EventKind::OrgOffboarded))
        .await
        .unwrap();
    assert_eq!(
        s.org_offboarding(org.id).await.unwrap(),
        Some((NOW, Some(NOW + 100)))
    );
    assert!(s.orgs_due_for_erasure(NOW + 99).await.unwrap().is_empty());
    assert_eq!(s.orgs_due_for_erasure(NOW + 100).await.unwrap(), [org.id]);
    // Done: no longer due; the first offboarding time stays.
    s.set_org_offboarded(org.id, NOW + 200, None, &ev(EventKind::OrgOffboarded))
        .await
        .unwrap();
    assert_eq!(s.org_offboarding(org.id).await.unwrap(), Some((NOW, None)));
    assert!(s.orgs_due_for_erasure(NOW + 1000).await.unwrap().is_empty());
    let kinds: Vec<String> = s
        .events(&EventFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "org_offboarded").count(), 2);
}

// ---- lockout under parallel requests ------------------------------------------------------

fn failed_code() -> Changes {
    Changes {
        factor: Some(Counted::Failed(RULE)),
        ..Default::default()
    }
}

fn reject_event(person: &Person, reason: &str) -> AuditEvent {
    let mut e = ev(EventKind::LoginAttempt);
    e.person_id = Some(person.id);
    e.outcome = Outcome::Reject;
    e.reason = Some(reason.into());
    e
}

/// 50 wrong codes recorded at once (threshold 5): exactly 5 count, the rest find the lock.
async fn parallel_wrong_codes_lock_at_the_threshold(s: Arc<dyn Store>) {
    let (_, p) = org_and_person(&*s, "ann").await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let s = s.clone();
        let event = reject_event(&p, "bad_code");
        let id = p.id;
        set.spawn(async move { s.record_login(Some(id), &failed_code(), &event).await });
    }
    let mut counts = std::collections::HashMap::new();
    while let Some(r) = set.join_next().await {
        *counts.entry(r.unwrap().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(counts.get(&Recorded::Written), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&Recorded::Locked), Some(&45), "{counts:?}");
    let locked = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(locked.failed_logins, 5);
    assert_eq!(locked.locked_until, Some(NOW + 60));
    // The event that reached the threshold says so.
    let events = s
        .events(&EventFilter {
            reason: Some("bad_code".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events
            .iter()
            .filter(|e| e
                .event
                .detail
                .as_ref()
                .is_some_and(|d| d.get("locked_until").is_some()))
            .count(),
        1
    );
}

/// A decision made on a stale read (the person was not locked when it was read) can neither
/// clear a lock set meanwhile nor be counted under it.
async fn a_stale_write_cannot_clear_a_lock(s: &dyn Store) {
    let (_, p) = org_and_person(s, "bob").await;
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &failed_code(), &reject_event(&p, "bad_code")).await);
    }
    let accept = Changes {
        factor: Some(Counted::Passed),
        ..Default::default()
    };
    assert_eq!(
        s.record_login(Some(p.id), &accept, &ev(EventKind::LoginAttempt))
            .await
            .unwrap(),
        Recorded::Locked,
        "an accept decided before the lock does not clear it"
    );
    assert_eq!(
        s.record_login(Some(p.id), &failed_code(), &reject_event(&p, "bad_code"))
            .await
            .unwrap(),
        Recorded::Locked
    );
    let still = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (still.failed_logins, still.locked_until),
        (5, Some(NOW + 60))
    );
    // After the lock, an accept resets the count.
    let mut later = ev(EventKind::LoginAttempt);
    later.time = NOW + 61;
    assert!(written(s, Some(p.id), &accept, &later).await);
    let reset = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!((reset.failed_logins, reset.locked_until), (0, None));
}

/// A right code with a right password (`accept_in_one_command`: on PostgreSQL one statement
/// for the changes and the chain's lock, on SQLite one command of four statements for the
/// changes and the chain's head): the same answers on both, and what lost a race leaves
/// nothing behind.
async fn a_right_code_and_its_races_are_recorded_alike(s: Arc<dyn Store>) {
    let s = &*s;
    let (_, p) = org_and_person(s, "fay").await;
    let d = s
        .add_device(&phone(&p, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    let source = "192.0.2.7";
    let accept = |step| Changes {
        device_use: Some(DeviceUse::TotpStep {
            device_id: d.id,
            step,
        }),
        factor: Some(Counted::Passed),
        password: Some((source.to_owned(), Counted::Passed)),
        ..Default::default()
    };
    let count = || async { s.events(&EventFilter::default()).await.unwrap().len() };
    let step_of = || async { s.device_by_id(d.id).await.unwrap().unwrap().last_step };
    // Two failures from the source and two wrong codes, then a right login forgets them.
    let bad = reject_event(&p, "bad_password");
    let wrong_password = Changes {
        password: Some((source.to_owned(), Counted::Failed(RULE))),
        ..Default::default()
    };
    for _ in 0..2 {
        assert!(written(s, Some(p.id), &wrong_password, &bad).await);
        assert!(written(s, Some(p.id), &failed_code(), &reject_event(&p, "bad_code")).await);
    }
    assert_eq!(s.password_failures_of(p.id, 20).await.unwrap().len(), 1);
    let mut login = ev(EventKind::LoginAttempt);
    login.person_id = Some(p.id);
    assert!(written(s, Some(p.id), &accept(100), &login).await);
    assert_eq!(step_of().await, Some(100));
    assert!(s.password_failures_of(p.id, 20).await.unwrap().is_empty());
    assert_eq!(
        s.person_by_id(p.id).await.unwrap().unwrap().failed_logins,
        0
    );
    // What refuses a right code leaves nothing behind: no event, the step where it was.
    let refused = async |changes: Changes| {
        let before = count().await;
        let recorded = s.record_login(Some(p.id), &changes, &login).await.unwrap();
        assert_eq!(count().await, before, "{recorded:?}: nothing written");
        assert_eq!(
            step_of().await,
            Some(100),
            "{recorded:?}: the step not taken"
        );
        recorded
    };
    // The same step again: a replay, nothing written.
    assert_eq!(refused(accept(100)).await, Recorded::LostRace);
    // Throttled from the source (set by a concurrent attempt): nothing written, the step
    // not taken, the failures kept.
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &wrong_password, &bad).await);
    }
    assert_eq!(refused(accept(101)).await, Recorded::Throttled);
    assert_eq!(
        s.password_failures_of(p.id, 20).await.unwrap()[0].failures,
        5
    );
    // Locked (five wrong codes): nothing written, the step not taken, the count kept.
    let elsewhere = |step| Changes {
        password: Some(("192.0.2.8".to_owned(), Counted::Passed)),
        ..accept(step)
    };
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &failed_code(), &reject_event(&p, "bad_code")).await);
    }
    assert_eq!(refused(elsewhere(102)).await, Recorded::Locked);
    let locked = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (5, Some(NOW + 60))
    );
    // After the lock, from elsewhere: written, the count reset.
    let mut later = login.clone();
    later.time = NOW + 61;
    assert!(written(s, Some(p.id), &elsewhere(103), &later).await);
    assert_eq!(step_of().await, Some(103));
    let reset = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!((reset.failed_logins, reset.locked_until), (0, None));

    // HOTP: the counter moves once per code.
    let mut t = token("F-1");
    t.person_id = Some(p.id);
    t.org_id = Some(p.org_id);
    t.state = DeviceState::Active;
    let t = s
        .add_device(&t, NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    let hotp = Changes {
        device_use: Some(DeviceUse::HotpCounter {
            device_id: t.id,
            matched: 8,
            next: 9,
        }),
        factor: Some(Counted::Passed),
        password: Some(("192.0.2.9".to_owned(), Counted::Passed)),
        ..Default::default()
    };
    assert!(written(s, Some(p.id), &hotp, &later).await);
    assert_eq!(s.device_by_id(t.id).await.unwrap().unwrap().counter, 9);
    assert_eq!(
        s.record_login(Some(p.id), &hotp, &later).await.unwrap(),
        Recorded::LostRace
    );

    // Many people's right codes at once, beside other writers: one event each, the chain
    // whole.
    let mut people = Vec::new();
    for i in 0..12 {
        let (_, q) = org_and_person(s, &format!("many{i}")).await;
        let phone = s
            .add_device(&phone(&q, "phone"), NOW, ev(EventKind::DeviceLinked))
            .await
            .unwrap();
        people.push((q, phone));
    }
    let before = count().await;
    let mut set = Vec::new();
    for (q, phone) in &people {
        let changes = Changes {
            device_use: Some(DeviceUse::TotpStep {
                device_id: phone.id,
                step: 7,
            }),
            factor: Some(Counted::Passed),
            password: Some((source.to_owned(), Counted::Passed)),
            ..Default::default()
        };
        let mut e = ev(EventKind::LoginAttempt);
        e.person_id = Some(q.id);
        set.push((q.id, changes, e));
    }
    let logins = futures_util::future::join_all(
        set.iter()
            .map(|(id, changes, e)| s.record_login(Some(*id), changes, e)),
    );
    let others = futures_util::future::join_all((0..6).map(|_| s.append_event(&login)));
    let (logins, others) = tokio::join!(logins, others);
    assert!(logins.into_iter().all(|r| r.unwrap() == Recorded::Written));
    assert!(others.into_iter().all(|r| r.is_ok()));
    assert_eq!(count().await, before + 18);
    assert_eq!(problem(s, None).await, None);
}

/// The backend that waits for a lock `holder` holds, polled for up to 5 s (None: none).
async fn blocked_by(pool: &sqlx::PgPool, holder: i32) -> Option<i32> {
    for _ in 0..250 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let pid = sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        )
        .bind(holder)
        .fetch_optional(pool)
        .await
        .unwrap();
        if pid.is_some() {
            return pid;
        }
    }
    None
}

/// PostgreSQL: a right code's one statement takes the chain's lock after the rows' locks
/// (as the general path does), so a writer holding the person's row and waiting for the
/// chain is not waited on while it holds the chain: no deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_right_code_takes_the_chain_lock_after_the_rows() {
    let h = postgres().await;
    let s = &*h.store;
    let Raw::Pg(pool) = &h.raw else {
        panic!("a PostgreSQL harness has a pool");
    };
    let (_, p) = org_and_person(s, "gus").await;
    let d = s
        .add_device(&phone(&p, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    // Another writer holds the person's row.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("UPDATE people SET full_name = 'Gus' WHERE id = $1")
        .bind(p.id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let changes = Changes {
        device_use: Some(DeviceUse::TotpStep {
            device_id: d.id,
            step: 9,
        }),
        factor: Some(Counted::Passed),
        password: Some(("192.0.2.7".to_owned(), Counted::Passed)),
        ..Default::default()
    };
    let mut login = ev(EventKind::LoginAttempt);
    login.person_id = Some(p.id);
    let store = h.store.clone();
    let waiting =
        tokio::spawn(async move { store.record_login(Some(p.id), &changes, &login).await });
    // The login now waits for the person's row, not holding the chain's lock.
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let Some(login_pid) = blocked_by(pool, holder_pid).await else {
        panic!("the login waits for the person's row");
    };
    let advisory: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted",
    )
    .bind(login_pid)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        advisory, 0,
        "the chain's lock is not held while the row is waited for"
    );
    // The holder writes an event (taking the chain's lock) and commits: both go through.
    sqlx::query("SELECT pg_advisory_xact_lock(7883095268967868788)")
        .execute(&mut *holder)
        .await
        .unwrap();
    holder.commit().await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), Recorded::Written);
}

/// An erasure takes the chain's lock before the most failures' summary rows, the order a
/// refused login takes them in (its reject's counts are written by the event's INSERT, under
/// the chain's lock). A holder stands in for such a login: it holds the chain's lock while
/// the erasure waits for it, then counts a reject from the address the erasure takes out.
/// With the summary's row taken first, the two would deadlock (PostgreSQL aborts one after
/// a second); the holder's lock_timeout turns that into this test's failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_erasure_takes_the_chain_lock_before_the_summary() {
    let h = postgres().await;
    let s = &*h.store;
    let Raw::Pg(pool) = &h.raw else {
        panic!("a PostgreSQL harness has a pool");
    };
    let (_, p) = org_and_person(s, "hal").await;
    let mut refused = AuditEvent::admin(NOW, EventKind::LoginAttempt, "radius");
    refused.channel = Channel::Radius;
    refused.person_id = Some(p.id);
    refused.username = Some("hal".into());
    refused.source = Some("198.51.100.9".into());
    refused.outcome = Outcome::Reject;
    s.append_event(&refused).await.unwrap();
    s.set_person_state(p.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    let ids: Vec<i64> = s
        .events_about(p.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let (redactions, erase) = purge_of(&ids, Some(p.id), "pseudonym-hal");
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(7883095268967868788)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let store = h.store.clone();
    let waiting = tokio::spawn(async move {
        store
            .erase_person(p.id, "pseudonym-hal", &redactions, &erase)
            .await
    });
    assert!(
        blocked_by(pool, holder_pid).await.is_some(),
        "the erasure waits for the chain's lock"
    );
    sqlx::query("SET LOCAL lock_timeout = '500ms'")
        .execute(&mut *holder)
        .await
        .unwrap();
    let counted = sqlx::query(
        "UPDATE audit_reject_periods SET n = n + 1 \
         WHERE kind = 'login_attempt' AND col = 'source' AND value = '198.51.100.9'",
    )
    .execute(&mut *holder)
    .await;
    let counted = match counted {
        Ok(done) => done.rows_affected(),
        Err(e) => panic!("the erasure holds the summary's row while it waits: {e}"),
    };
    assert_eq!(counted, 1);
    holder.commit().await.unwrap();
    waiting.await.unwrap().unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT n FROM audit_reject_periods \
         WHERE kind = 'login_attempt' AND col = 'source' AND value = '198.51.100.9'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        n, 1,
        "the holder's reject counted, the erased one taken out"
    );
    assert_eq!(problem(s, None).await, None, "the chain verifies");
}

/// Wrong passwords throttle their source for that person only; the person is not locked.
/// What a login reads in two or three queries (`Store::login_reads`) is what the single reads give:
/// the password hash, the source's block, the organisation's policy, the devices, and the
/// unused recovery codes then the unused temporary code.
async fn login_reads_hold_what_the_single_reads_hold(s: &dyn Store) {
    let (org, p) = org_and_person(s, "dave").await;
    // Nothing but the password hash yet.
    let empty = s
        .login_reads(p.id, org.id, Some("192.0.2.9"))
        .await
        .unwrap();
    assert_eq!(empty.password_hash, s.password_hash(p.id).await.unwrap());
    assert!(empty.password_hash.is_some());
    assert_eq!(empty.source_blocked_until, None);
    assert_eq!(empty.policy, None);
    assert!(empty.devices.is_empty() && empty.one_time_codes.is_empty());

    for label in ["business phone", "private phone"] {
        s.add_device(&phone(&p, label), NOW, ev(EventKind::DeviceLinked))
            .await
            .unwrap();
    }
    let recovery = [
        recovery_code_hash("AAAAABBBBB"),
        recovery_code_hash("CCCCCDDDDD"),
    ];
    s.replace_recovery_codes(p.id, &recovery, NOW, ev(EventKind::RecoveryCodesGenerated))
        .await
        .unwrap();
    let first = s.recovery_codes(p.id).await.unwrap()[0].id;
    let spend = Changes {
        recovery_code_used: Some(first),
        ..Default::default()
    };
    assert!(written(s, Some(p.id), &spend, &ev(EventKind::LoginAttempt)).await);
    s.issue_temporary_code(
        p.id,
        recovery_code_hash("EEEEEFFFFF"),
        "helpdesk-jo",
        NOW,
        NOW + 3600,
        ev(EventKind::TemporaryCodeIssued),
    )
    .await
    .unwrap();
    let policy = r#"{"factors":["totp"]}"#;
    s.set_org_policy(org.id, policy, NOW, &ev(EventKind::OrgPolicyChanged))
        .await
        .unwrap();
    let bad = reject_event(&p, "bad_password");
    let failed = Changes {
        password: Some(("192.0.2.2".to_owned(), Counted::Failed(RULE))),
        ..Default::default()
    };
    for _ in 0..5 {
        assert!(written(s, Some(p.id), &failed, &bad).await);
    }

    let reads = s
        .login_reads(p.id, org.id, Some("192.0.2.2"))
        .await
        .unwrap();
    assert_eq!(reads.password_hash, s.password_hash(p.id).await.unwrap());
    assert_eq!(
        reads.source_blocked_until,
        s.password_blocked_until(p.id, "192.0.2.2").await.unwrap()
    );
    assert_eq!(reads.source_blocked_until, Some(NOW + 60));
    assert_eq!(reads.policy.as_deref(), Some(policy));
    assert_eq!(reads.devices, s.devices_of(p.id).await.unwrap());
    assert_eq!(reads.devices.len(), 2);
    let mut codes = s.recovery_codes(p.id).await.unwrap();
    codes.extend(s.temporary_codes(p.id).await.unwrap());
    assert_eq!(reads.one_time_codes, codes);
    assert_eq!(
        reads
            .one_time_codes
            .iter()
            .map(|c| (c.kind, c.expires_at))
            .collect::<Vec<_>>(),
        [
            (OneTimeKind::Recovery, None),
            (OneTimeKind::Temporary, Some(NOW + 3600))
        ],
        "the spent recovery code is not read"
    );
    // Another source, or none (a second step): no block read.
    let elsewhere = s
        .login_reads(p.id, org.id, Some("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(elsewhere.source_blocked_until, None);
    let none = s.login_reads(p.id, org.id, None).await.unwrap();
    assert_eq!(none.source_blocked_until, None);
    assert_eq!(none.one_time_codes, codes);
    // A person who is not there: nothing.
    let gone = s.login_reads(p.id + 1000, org.id, None).await.unwrap();
    assert!(gone.password_hash.is_none() && gone.devices.is_empty());
}

async fn password_failures_throttle_one_source(s: &dyn Store) {
    let (_, p) = org_and_person(s, "carol").await;
    let from = |source: &str, counted| Changes {
        password: Some((source.to_owned(), counted)),
        ..Default::default()
    };
    let bad = reject_event(&p, "bad_password");
    for _ in 0..5 {
        assert!(
            written(
                s,
                Some(p.id),
                &from("192.0.2.2", Counted::Failed(RULE)),
                &bad
            )
            .await
        );
    }
    assert_eq!(
        s.record_login(Some(p.id), &from("192.0.2.2", Counted::Failed(RULE)), &bad)
            .await
            .unwrap(),
        Recorded::Throttled
    );
    assert_eq!(
        s.record_login(
            Some(p.id),
            &from("192.0.2.2", Counted::Passed),
            &ev(EventKind::LoginAttempt)
        )
        .await
        .unwrap(),
        Recorded::Throttled,
        "a right password from the throttled source is not taken either"
    );
    assert_eq!(
        s.password_blocked_until(p.id, "192.0.2.2").await.unwrap(),
        Some(NOW + 60)
    );
    assert_eq!(
        s.password_blocked_until(p.id, "192.0.2.1").await.unwrap(),
        None
    );
    // What the admin page lists: the throttled source, its count and until when.
    let rows = s.password_failures_of(p.id, 20).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].source.as_str(), rows[0].blocked_until),
        ("192.0.2.2", Some(NOW + 60))
    );
    assert!(rows[0].failures >= 5);
    // The person from elsewhere: not locked, the right password goes through.
    let person = s.person_by_id(p.id).await.unwrap().unwrap();
    assert_eq!((person.failed_logins, person.locked_until), (0, None));
    assert!(
        written(
            s,
            Some(p.id),
            &from("192.0.2.1", Counted::Passed),
            &ev(EventKind::LoginAttempt)
        )
        .await
    );
    // Old rows are forgotten once their block is over; an unlock clears them at once.
    assert_eq!(
        s.forget_password_failures(NOW).await.unwrap(),
        0,
        "still blocked"
    );
    s.unlock_person(p.id, ev(EventKind::PersonUnlocked))
        .await
        .unwrap();
    assert_eq!(
        s.password_blocked_until(p.id, "192.0.2.2").await.unwrap(),
        None
    );
    // Block now and lift it: audited, reversible.
    s.set_blocked(p.id, Some(NOW), ev(EventKind::PersonBlocked))
        .await
        .unwrap();
    assert_eq!(
        s.person_by_id(p.id).await.unwrap().unwrap().blocked_at,
        Some(NOW)
    );
    s.set_blocked(p.id, None, ev(EventKind::PersonUnblocked))
        .await
        .unwrap();
    assert_eq!(
        s.person_by_id(p.id).await.unwrap().unwrap().blocked_at,
        None
    );
}

/// The whole login path (engine + store) on this database, with cheap argon2 parameters.
async fn gateway_on(s: Arc<dyn Store>) -> mfa_gateway::service::Gateway {
    let config = mfa_gateway::config::Config::parse(
        "[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\nhashing_threads = 8\n",
        std::path::Path::new("."),
    )
    .unwrap();
    let key = mfa_gateway::crypto::MasterKey::from_bytes(&[9; 32]).unwrap();
    mfa_gateway::service::Gateway::new(&config, s, key).unwrap()
}

/// A person with a password and a phone; the phone's seed.
async fn ann_with_phone(gw: &mfa_gateway::service::Gateway) -> Vec<u8> {
    use mfa_gateway::secret::SecretString;
    use mfa_gateway::service::Actor;
    let org = gw.create_org("Practice", &Actor::cli(), NOW).await.unwrap();
    gw.create_person(
        NewPerson {
            username: "ann".into(),
            full_name: "Ann".into(),
            email: None,
            employee_number: None,
            org_id: org.id,
            roles: vec![Role::Person],
        },
        Some(SecretString::new("correct horse battery")),
        &Actor::cli(),
        NOW,
    )
    .await
    .unwrap();
    let enrolled = gw
        .add_totp(
            "ann",
            "phone",
            OtpParams::totp_default(),
            &Actor::cli(),
            NOW,
        )
        .await
        .unwrap();
    let uri = enrolled.uri.expose().to_owned();
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap();
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap()
}

fn login_attempt(password: &str, code: &str, source: &str) -> mfa_gateway::engine::Attempt {
    use mfa_gateway::engine::{Attempt, Credentials};
    use mfa_gateway::secret::SecretString;
    Attempt {
        username: "ann".into(),
        credentials: Credentials::PasswordAndCode {
            password: SecretString::new(password),
            code: SecretString::new(code),
        },
        channel: Channel::Radius,
        client: Some("rdgw".into()),
        source: Some(source.parse().unwrap()),
        request_id: None,
        nas: None,
        typed_username: None,
    }
}

fn wrong_code(seed: &[u8], at: UnixTime) -> &'static str {
    let right = mfa_gateway::otp::totp(seed, at, 30, OtpHash::Sha1, 6);
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// 50 parallel logins with the right password and wrong codes (threshold 5) through the
/// gateway: at most 5 are checked as wrong codes, every other one answers locked_out (or is
/// shed as overload), and the lock is in place afterwards.
async fn gateway_parallel_wrong_codes(s: Arc<dyn Store>) {
    use mfa_gateway::engine::{Reason, Verdict};
    let gw = gateway_on(s.clone()).await;
    let seed = ann_with_phone(&gw).await;
    let code = wrong_code(&seed, NOW);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let gw = gw.clone();
        set.spawn(async move {
            gw.login(
                login_attempt("correct horse battery", code, "192.0.2.7"),
                NOW,
            )
            .await
        });
    }
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    while let Some(r) = set.join_next().await {
        let d = r.unwrap().unwrap();
        let key = match d.verdict {
            Verdict::Reject(reason) => reason.as_str().to_owned(),
            other => format!("{other:?}"),
        };
        *counts.entry(key).or_default() += 1;
    }
    let bad = counts.get(Reason::BadCode.as_str()).copied().unwrap_or(0);
    let locked = counts.get(Reason::LockedOut.as_str()).copied().unwrap_or(0);
    let shed = counts
        .get(Reason::Overloaded.as_str())
        .copied()
        .unwrap_or(0);
    assert!(bad <= 5, "{counts:?}");
    assert_eq!(bad + locked + shed, 50, "{counts:?}");
    let ann = s.person_by_username("ann").await.unwrap().unwrap();
    assert!(
        ann.locked_until.is_some_and(|t| t > NOW),
        "locked afterwards"
    );
    // The right code does not get in during the lock.
    let right = mfa_gateway::otp::totp(&seed, NOW, 30, OtpHash::Sha1, 6);
    let d = gw
        .login(
            login_attempt("correct horse battery", &right, "192.0.2.7"),
            NOW + 1,
        )
        .await
        .unwrap();
    assert_eq!(d.verdict, Verdict::Reject(Reason::LockedOut));
}

/// The lockout is no weapon: 50 wrong passwords for ann from 127.0.0.2 over an hour of
/// simulated time; ann from 127.0.0.1 still logs in; 5 wrong codes after her right
/// password lock her.
async fn gateway_wrong_passwords_from_elsewhere(s: Arc<dyn Store>) {
    use mfa_gateway::engine::{Reason, Verdict};
    let gw = gateway_on(s.clone()).await;
    let seed = ann_with_phone(&gw).await;
    let mut checked = 0;
    for i in 0..50 {
        let at = NOW + i * 72;
        let d = gw
            .login(login_attempt("guess", "123456", "127.0.0.2"), at)
            .await
            .unwrap();
        match d.verdict {
            Verdict::Reject(Reason::BadPassword) => checked += 1,
            Verdict::Reject(Reason::PasswordThrottled) => {}
            other => panic!("attempt {i}: {other:?}"),
        }
    }
    assert!(checked < 15, "the source is throttled: {checked} checked");
    let t = NOW + 3600;
    let ann = s.person_by_username("ann").await.unwrap().unwrap();
    assert_eq!((ann.failed_logins, ann.locked_until), (0, None));
    let code = mfa_gateway::otp::totp(&seed, t, 30, OtpHash::Sha1, 6);
    let d = gw
        .login(
            login_attempt("correct horse battery", &code, "127.0.0.1"),
            t,
        )
        .await
        .unwrap();
    assert!(
        matches!(d.verdict, Verdict::Accept { .. }),
        "{:?}",
        d.verdict
    );
    // 5 wrong codes after her right password lock her (that attacker has the password).
    let wrong = wrong_code(&seed, t + 30);
    for _ in 0..5 {
        let d = gw
            .login(
                login_attempt("correct horse battery", wrong, "127.0.0.1"),
                t + 30,
            )
            .await
            .unwrap();
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    }
    let ann = s.person_by_username("ann").await.unwrap().unwrap();
    assert!(ann.locked_until.is_some_and(|u| u > t + 30));
}

macro_rules! shared_suite {
    ($($name:ident),* $(,)?) => {
        mod shared_sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::sqlite().await; super::$name(h.store.clone()).await; } )*
        }
        mod shared_postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::postgres().await; super::$name(h.store.clone()).await; } )*
        }
    };
}

shared_suite!(
    parallel_wrong_codes_lock_at_the_threshold,
    a_right_code_and_its_races_are_recorded_alike,
    two_purges_at_once_redact_each_row_once,
    gateway_parallel_wrong_codes,
    gateway_wrong_passwords_from_elsewhere,
);

// ---- security keys and passkeys (WebAuthn) ----------------------------------------------

fn security_key(person: &Person, label: &str) -> NewDevice {
    NewDevice {
        kind: DeviceKind::SecurityKey,
        sealed_secret: Vec::new(),
        ..phone(person, label)
    }
}

/// A login by security key `device_id` reporting `counter`, at `time`.
async fn use_key(
    s: &dyn Store,
    person: &Person,
    device_id: DeviceId,
    counter: u32,
    time: i64,
) -> bool {
    let changes = Changes {
        device_use: Some(DeviceUse::SecurityKey { device_id, counter }),
        ..Changes::default()
    };
    let mut event = AuditEvent::admin(time, EventKind::LoginAttempt, "test");
    event.person_id = Some(person.id);
    written(s, Some(person.id), &changes, &event).await
}

async fn security_keys_are_stored_and_counted(s: &dyn Store) {
    let (_, p) = org_and_person(s, "ann").await;
    let key = s
        .add_security_key(
            &security_key(&p, "blue key"),
            "Y3JlZC0x",
            &[7; 48],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    assert_eq!(key.kind, DeviceKind::SecurityKey);
    assert_eq!(key.label, "blue key");
    assert_eq!(key.state, DeviceState::Active);
    assert!(key.sealed_secret.is_empty());
    // Listed with the other devices, and its linking audited with it.
    let devices = s.devices_of(p.id).await.unwrap();
    assert_eq!(
        devices.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![key.id]
    );
    let linked = s
        .events(&EventFilter {
            kind: Some("device_linked".into()),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(linked[0].event.device_id, Some(key.id));
    assert_eq!(linked[0].event.device_label.as_deref(), Some("blue key"));

    let keys = s.security_keys(p.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].device.id, key.id);
    assert_eq!(keys[0].credential_id, "Y3JlZC0x");
    assert_eq!(keys[0].sealed_passkey, vec![7; 48]);
    assert_eq!(keys[0].sign_count, 0);

    // One credential, one link.
    let again = s
        .add_security_key(
            &security_key(&p, "same key"),
            "Y3JlZC0x",
            &[8; 48],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.devices_of(p.id).await.unwrap().len(),
        1,
        "nothing written"
    );
    let phone_kind = s
        .add_security_key(
            &phone(&p, "phone"),
            "b3RoZXI",
            &[1],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await;
    assert!(
        matches!(phone_kind, Err(StoreError::Invalid(_))),
        "{phone_kind:?}"
    );

    // The counter only goes up; each use sets last_used_at with the login's event.
    assert!(use_key(s, &p, key.id, 5, NOW + 10).await);
    assert!(
        !use_key(s, &p, key.id, 5, NOW + 11).await,
        "same counter: replay or clone"
    );
    assert!(!use_key(s, &p, key.id, 4, NOW + 12).await);
    assert!(
        !use_key(s, &p, key.id, 0, NOW + 13).await,
        "a counter never falls back to 0"
    );
    assert!(use_key(s, &p, key.id, 6, NOW + 14).await);
    assert_eq!(s.security_keys(p.id).await.unwrap()[0].sign_count, 6);
    let dev = s.device_by_id(key.id).await.unwrap().unwrap();
    assert_eq!(dev.last_used_at, Some(NOW + 14));
    let logins = s
        .events(&EventFilter {
            kind: Some("login_attempt".into()),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(logins.len(), 2, "refused uses write nothing");

    // A key without a counter (always 0) is used as often as it signs.
    let passkey = s
        .add_security_key(
            &security_key(&p, "laptop"),
            "cGFzc2tleQ",
            &[9; 48],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    assert!(use_key(s, &p, passkey.id, 0, NOW + 20).await);
    assert!(use_key(s, &p, passkey.id, 0, NOW + 21).await);
    assert_eq!(s.security_keys(p.id).await.unwrap().len(), 2);

    // Renamed like any device.
    s.rename_device(key.id, p.id, "desk key", ev(EventKind::DeviceRenamed))
        .await
        .unwrap();
    assert_eq!(
        s.security_keys(p.id).await.unwrap()[0].device.label,
        "desk key"
    );
}

async fn removing_a_security_key_deletes_its_credential(s: &dyn Store) {
    let (_, p) = org_and_person(s, "ann").await;
    let key = s
        .add_security_key(
            &security_key(&p, "blue key"),
            "Y3JlZC0x",
            &[7; 48],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    s.remove_device(key.id, ev(EventKind::DeviceRemoved))
        .await
        .unwrap();
    assert!(s.security_keys(p.id).await.unwrap().is_empty());
    let dev = s.device_by_id(key.id).await.unwrap().unwrap();
    assert_eq!(dev.state, DeviceState::Removed, "kept for the audit trail");
    assert!(
        !use_key(s, &p, key.id, 9, NOW + 10).await,
        "a removed key never signs in"
    );

    // The same authenticator may be linked again, here to someone else; removing that
    // person deletes it too.
    let (_, bob) = org_and_person(s, "bob").await;
    let again = s
        .add_security_key(
            &security_key(&bob, "bob's key"),
            "Y3JlZC0x",
            &[3; 48],
            NOW,
            ev(EventKind::DeviceLinked),
        )
        .await
        .unwrap();
    assert_eq!(s.security_keys(bob.id).await.unwrap().len(), 1);
    s.set_person_state(bob.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    assert!(s.security_keys(bob.id).await.unwrap().is_empty());
    assert_eq!(
        s.device_by_id(again.id).await.unwrap().unwrap().state,
        DeviceState::Removed
    );
}

macro_rules! webauthn_suite {
    ($($name:ident),* $(,)?) => {
        mod webauthn_sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::sqlite().await; super::$name(&*h.store).await; } )*
        }
        mod webauthn_postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::postgres().await; super::$name(&*h.store).await; } )*
        }
    };
}

webauthn_suite!(
    security_keys_are_stored_and_counted,
    removing_a_security_key_deletes_its_credential,
);

/// What a purge of `ids` writes: each row's redaction (`person_id`, the pseudonym `username`,
/// the rest emptied) and the `audit_purged` event naming them.
fn purge_of(
    ids: &[i64],
    person_id: Option<PersonId>,
    username: &str,
) -> (Vec<mfa_gateway::store::Redaction>, AuditEvent) {
    let redactions = ids
        .iter()
        .map(|&id| mfa_gateway::store::Redaction {
            id,
            person_id,
            username: Some(username.into()),
            source: None,
            device_label: None,
            request_id: None,
            detail: None,
        })
        .collect();
    (redactions, purged_event(ids))
}

/// The `audit_purged` event naming `ids` (what `Store::redact_events` is given to make it).
fn purged_event(ids: &[i64]) -> AuditEvent {
    let mut event = ev(EventKind::AuditPurged);
    event.detail = Some(serde_json::json!({ "purged": audit_chain::id_ranges(ids) }));
    event
}

/// Two purges at once over the same rows, as two instances' daily jobs (or one and the CLI)
/// run them, in batches that overlap in part: each row is redacted once and named by one
/// `audit_purged` event (a batch names only the rows it redacted; one whose rows the other
/// purge redacted writes nothing), the most failures' summary loses each purged reject
/// once, and the chain verifies.
async fn two_purges_at_once_redact_each_row_once(s: Arc<dyn Store>) {
    let start = NOW - 200 * 86_400;
    let mut ids = Vec::new();
    for i in 0..400i64 {
        let mut e = AuditEvent::admin(start + i * 40_000, EventKind::LoginAttempt, "radius");
        e.channel = Channel::Radius;
        e.username = Some(format!("user{}", i % 3));
        e.source = Some(format!("192.0.2.{}", i % 2));
        e.outcome = Outcome::Reject;
        ids.push(s.append_event(&e).await.unwrap());
    }
    // The older half, by two purges at once: one in batches of 25, the other of 20.
    let purge = |s: Arc<dyn Store>, batches: Vec<Vec<i64>>| async move {
        let mut redacted = Vec::new();
        for batch in batches {
            let (redactions, _) = purge_of(&batch, None, "pseudonym-x");
            redacted.extend(s.redact_events(&redactions, &purged_event).await.unwrap());
        }
        redacted
    };
    let batches =
        |size: usize| -> Vec<Vec<i64>> { ids[..200].chunks(size).map(<[i64]>::to_vec).collect() };
    let (a, b) = tokio::join!(
        tokio::spawn(purge(s.clone(), batches(25))),
        tokio::spawn(purge(s.clone(), batches(20)))
    );
    let mut redacted: Vec<i64> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    redacted.sort_unstable();
    assert_eq!(redacted, ids[..200], "each row redacted once");
    let mut named: Vec<i64> = Vec::new();
    for row in s
        .events(&EventFilter {
            kind: Some(EventKind::AuditPurged.as_str().into()),
            ..EventFilter::default()
        })
        .await
        .unwrap()
    {
        let detail = row.event.detail.unwrap();
        let ranges: Vec<[i64; 2]> = serde_json::from_value(detail["purged"].clone()).unwrap();
        assert!(
            !ranges.is_empty(),
            "no event for a batch that redacted nothing"
        );
        named.extend(ranges.iter().flat_map(|[a, b]| *a..=*b));
    }
    named.sort_unstable();
    assert_eq!(named, ids[..200], "each row named by one event");
    // The summary counts the 200 rejects left, each once.
    let top = s
        .top_failures(
            &EventFilter {
                kind: Some("login_attempt".into()),
                ..EventFilter::default()
            },
            4,
        )
        .await
        .unwrap();
    let left = |f: fn(i64) -> String| {
        let mut by = std::collections::BTreeMap::<String, u64>::new();
        for i in 200..400 {
            *by.entry(f(i)).or_default() += 1;
        }
        let mut v: Vec<(String, u64)> = by.into_iter().collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        v
    };
    assert_eq!(top.usernames, left(|i| format!("user{}", i % 3)));
    assert_eq!(top.sources, left(|i| format!("192.0.2.{}", i % 2)));
    assert_eq!(problem(&*s, None).await, None, "the chain verifies");
}

// ---- the auditor's side: counts, per-day outcomes, most failures, purge, erasure, roles --

async fn audit_admin_counts_purge_and_erasure(h: &Harness) {
    let s = &*h.store;
    let (org, ann) = org_and_person(s, "ann").await;
    let attempt = |user: &str, outcome: Outcome, day: i64, source: &str, pid: Option<PersonId>| {
        let mut e = AuditEvent::admin(NOW + day * 86_400, EventKind::LoginAttempt, "radius");
        e.channel = Channel::Radius;
        e.username = Some(user.into());
        e.person_id = pid;
        e.org_id = Some(org.id);
        e.outcome = outcome;
        e.source = Some(source.into());
        e
    };
    for (user, outcome, day, source, pid) in [
        ("ann", Outcome::Reject, 0, "192.0.2.1", Some(ann.id)),
        ("ann", Outcome::Reject, 0, "192.0.2.1", Some(ann.id)),
        ("ann", Outcome::Accept, 1, "192.0.2.2", Some(ann.id)),
        ("ghost", Outcome::Reject, 1, "192.0.2.9", None),
    ] {
        s.append_event(&attempt(user, outcome, day, source, pid))
            .await
            .unwrap();
    }
    let attempts = EventFilter {
        kind: Some("login_attempt".into()),
        ..EventFilter::default()
    };
    assert_eq!(s.count_events(&attempts).await.unwrap(), 4);
    let anns = EventFilter {
        person_id: Some(ann.id),
        kind: Some("login_attempt".into()),
        ..EventFilter::default()
    };
    assert_eq!(s.count_events(&anns).await.unwrap(), 3);
    let days = s.daily_outcomes(&attempts).await.unwrap();
    let day0 = NOW.div_euclid(86_400);
    let count = |d: i64, o: &str| {
        days.iter()
            .find(|c| c.day == d && c.outcome == o)
            .map_or(0, |c| c.count)
    };
    assert_eq!(count(day0, "reject"), 2);
    assert_eq!(count(day0 + 1, "accept"), 1);
    assert_eq!(count(day0 + 1, "reject"), 1);
    let top = s.top_failures(&attempts, 10).await.unwrap();
    assert_eq!(top.usernames[0], ("ann".to_owned(), 2));
    assert_eq!(top.sources[0], ("192.0.2.1".to_owned(), 2));

    // Purge candidates: login attempts before day 1, then redact them with their event.
    // (`except` names the kinds with rules of their own; it does not apply to `kind`.)
    let old = s
        .purge_candidates(
            Some("login_attempt"),
            &["login_attempt".into()],
            i64::MIN,
            NOW + 86_400,
            100,
        )
        .await
        .unwrap();
    assert_eq!(old.len(), 2);
    // `from` (where a purge's last batch ended) bounds the range from below.
    let newest = old.iter().map(|r| r.event.time).max().unwrap();
    let from_newest = s
        .purge_candidates(Some("login_attempt"), &[], newest, NOW + 86_400, 100)
        .await
        .unwrap();
    assert!(from_newest.iter().all(|r| r.event.time >= newest));
    assert!(
        !from_newest.is_empty(),
        "rows at `from` itself are candidates"
    );
    assert!(
        s.purge_candidates(Some("login_attempt"), &[], newest + 1, NOW + 86_400, 100)
            .await
            .unwrap()
            .iter()
            .all(|r| r.event.time > newest)
    );
    let ids: Vec<i64> = old.iter().map(|r| r.id).collect();
    let (redactions, _) = purge_of(&ids, None, "pseudonym-x");
    assert_eq!(
        s.redact_events(&redactions, &purged_event)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        s.purge_candidates(Some("login_attempt"), &[], i64::MIN, NOW + 86_400, 100)
            .await
            .unwrap()
            .is_empty(),
        "purged rows are not candidates again"
    );
    assert_eq!(
        problem(s, None).await,
        None,
        "the chain verifies after a purge"
    );
    assert_eq!(s.count_events(&anns).await.unwrap(), 1);

    // Kinds named elsewhere are left to their own rule.
    let rest = s
        .purge_candidates(
            None,
            &["login_attempt".into()],
            i64::MIN,
            NOW + 10 * 86_400,
            100,
        )
        .await
        .unwrap();
    assert!(rest.iter().all(|r| r.event.kind != EventKind::LoginAttempt));
    assert!(rest.iter().all(|r| r.event.kind != EventKind::AuditPurged));

    // Roles.
    let mut roles_event = ev(EventKind::RoleChanged);
    roles_event.person_id = Some(ann.id);
    s.set_roles(ann.id, &[Role::Person, Role::Auditor], roles_event)
        .await
        .unwrap();
    let ann2 = s.person_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(ann2.roles, vec![Role::Person, Role::Auditor]);

    // Erasure: only once removed.
    let about = s.events_about(ann.id).await.unwrap();
    let ids: Vec<i64> = about.iter().map(|r| r.id).collect();
    let (redactions, erase) = purge_of(&ids, Some(ann.id), "pseudonym-ann");
    let refused = s
        .erase_person(ann.id, "pseudonym-ann", &redactions, &erase)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    s.set_person_state(ann.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    s.erase_person(ann.id, "pseudonym-ann", &redactions, &erase)
        .await
        .unwrap();
    let gone = s.person_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(gone.username, "pseudonym-ann");
    assert_eq!(gone.email, None);
    for e in s.events_about(ann.id).await.unwrap() {
        if ids.contains(&e.id) {
            assert_eq!(e.event.username.as_deref(), Some("pseudonym-ann"));
        }
    }
    assert_eq!(
        problem(s, None).await,
        None,
        "the chain verifies after erasure"
    );

    // A purge flag set by hand is named.
    let victim = s.append_event(&ev(EventKind::OrgCreated)).await.unwrap();
    h.exec(&[&format!(
        "UPDATE audit_events SET purged = TRUE, actor = 'mallory' WHERE id = {victim}"
    )])
    .await;
    assert_eq!(
        problem(s, None).await,
        Some(Problem::PurgeUnexplained { event_id: victim })
    );
}

/// A reject as the test wrote it, and whether it has been purged since.
#[derive(Clone)]
struct Reject {
    id: i64,
    time: i64,
    kind: &'static str,
    username: Option<String>,
    source: Option<String>,
    purged: bool,
}

/// The most failures over long ranges read whole periods of 30 days from the summary
/// (`audit_reject_periods`) and the ends from the table: always what the rows say, before
/// and after a purge and an erasure, for ranges with and without part-periods.
async fn most_failures_over_periods_follow_purge_and_erasure(h: &Harness) {
    use mfa_gateway::store::REJECT_PERIOD;
    let s = &*h.store;
    let (org, ann) = org_and_person(s, "ann").await;
    let start = NOW - 200 * 86_400;
    let mut rows: Vec<Reject> = Vec::new();
    for i in 0..360i64 {
        let time = start + i * 48_000 + (i * 7_919) % 40_000;
        let kind = if i % 11 == 0 {
            EventKind::OidcTokenIssued
        } else {
            EventKind::LoginAttempt
        };
        let mut e = AuditEvent::admin(time, kind, "radius");
        e.channel = Channel::Radius;
        e.org_id = Some(org.id);
        let user = match i % 5 {
            0 | 1 => "ann".to_owned(),
            2 => "bob".to_owned(),
            _ => format!("ghost{}", i % 3),
        };
        if user == "ann" {
            e.person_id = Some(ann.id);
        }
        e.username = Some(user).filter(|_| i % 13 != 0);
        e.source = Some(format!("192.0.2.{}", i % 7)).filter(|_| i % 17 != 0);
        e.outcome = if i % 4 == 0 {
            Outcome::Accept
        } else {
            Outcome::Reject
        };
        let id = s.append_event(&e).await.unwrap();
        if e.outcome == Outcome::Reject {
            rows.push(Reject {
                id,
                time,
                kind: kind.as_str(),
                username: e.username,
                source: e.source,
                purged: false,
            });
        }
    }
    // A spray within one period: more values there than a period's first list holds
    // (64), so the lists bound the rest and only the values that may be among the most
    // are counted.
    for j in 0..150i64 {
        let time = start + 60 * 86_400 + j * 60;
        let mut e = AuditEvent::admin(time, EventKind::LoginAttempt, "radius");
        e.channel = Channel::Radius;
        e.username = Some(format!("spray{j}"));
        e.source = Some(format!("203.0.113.{}", j % 100));
        e.outcome = Outcome::Reject;
        let id = s.append_event(&e).await.unwrap();
        rows.push(Reject {
            id,
            time,
            kind: "login_attempt",
            username: e.username,
            source: e.source,
            purged: false,
        });
    }
    let end = start + 360 * 48_000;
    let p0 = start.div_euclid(REJECT_PERIOD) * REJECT_PERIOD;
    let ranges = [
        (None, None),
        (Some(start), Some(end)),
        (Some(start + 5), Some(end - 86_400 * 3 - 7)),
        (Some(p0 + REJECT_PERIOD), Some(p0 + 4 * REJECT_PERIOD - 1)),
        (
            Some(p0 + REJECT_PERIOD + 9),
            Some(p0 + 2 * REJECT_PERIOD + 11),
        ),
        (Some(start + 86_400), Some(start + 20 * 86_400)),
        (None, Some(p0 + 3 * REJECT_PERIOD + 1_000)),
        (Some(p0 + 2 * REJECT_PERIOD - 1), None),
        (Some(end), Some(start)),
    ];
    let check = |rows: Vec<Reject>| async move {
        for (from, to) in ranges {
            for (kind, outcome) in [
                ("login_attempt", None),
                ("login_attempt", Some("reject")),
                ("oidc_token_issued", None),
            ] {
                let f = EventFilter {
                    kind: Some(kind.into()),
                    outcome: outcome.map(Into::into),
                    from,
                    to,
                    ..EventFilter::default()
                };
                let top = s.top_failures(&f, 4).await.unwrap();
                let most = |col: fn(&Reject) -> Option<String>| {
                    let mut by = std::collections::BTreeMap::<String, u64>::new();
                    for r in rows.iter().filter(|r| {
                        !r.purged
                            && r.kind == kind
                            && from.is_none_or(|t| r.time >= t)
                            && to.is_none_or(|t| r.time <= t)
                    }) {
                        if let Some(v) = col(r) {
                            *by.entry(v).or_default() += 1;
                        }
                    }
                    let mut v: Vec<(String, u64)> = by.into_iter().collect();
                    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
                    v.truncate(4);
                    v
                };
                assert_eq!(top.usernames, most(|r| r.username.clone()), "{f:?}");
                assert_eq!(top.sources, most(|r| r.source.clone()), "{f:?}");
            }
        }
    };
    check(rows.clone()).await;

    // The retention purge redacts the oldest rows: they leave the lists.
    let old: Vec<i64> = rows.iter().take(120).map(|r| r.id).collect();
    let (redactions, _) = purge_of(&old, None, "pseudonym-x");
    s.redact_events(&redactions, &purged_event).await.unwrap();
    for r in rows.iter_mut().filter(|r| old.contains(&r.id)) {
        r.purged = true;
    }
    check(rows.clone()).await;

    // Erasing ann takes her remaining rejects out too (the purged ones were out already).
    s.set_person_state(ann.id, PersonState::Removed, ev(EventKind::PersonRemoved))
        .await
        .unwrap();
    let about = s.events_about(ann.id).await.unwrap();
    let ids: Vec<i64> = about.iter().map(|r| r.id).collect();
    let (redactions, erase) = purge_of(&ids, Some(ann.id), "pseudonym-ann");
    s.erase_person(ann.id, "pseudonym-ann", &redactions, &erase)
        .await
        .unwrap();
    for r in rows.iter_mut().filter(|r| ids.contains(&r.id)) {
        r.purged = true;
    }
    assert!(
        rows.iter().any(|r| !r.purged),
        "some rejects are left to count"
    );
    check(rows.clone()).await;
    assert_eq!(problem(s, None).await, None, "the chain verifies");
}

/// A purge of more rows than one statement redacts: each row gets its own redaction (the
/// values are bound in the right places), rows purged before are left alone and not counted,
/// and the most failures' summary loses every row.
async fn a_purge_of_many_rows_redacts_each_row_once(h: &Harness) {
    let s = &*h.store;
    let mut ids = Vec::new();
    for i in 0..1_203i64 {
        let mut e = AuditEvent::admin(
            NOW - 40 * 86_400 + i * 600,
            EventKind::LoginAttempt,
            "radius",
        );
        e.channel = Channel::Radius;
        e.username = Some(format!("user{}", i % 7));
        e.source = Some(format!("198.51.100.{}", i % 5));
        e.device_label = Some("phone".into());
        e.outcome = if i % 3 == 0 {
            Outcome::Accept
        } else {
            Outcome::Reject
        };
        ids.push(s.append_event(&e).await.unwrap());
    }
    let (first, _) = purge_of(&ids[..3], None, "pseudonym-first");
    assert_eq!(
        s.redact_events(&first, &purged_event).await.unwrap(),
        ids[..3]
    );
    let (mut redactions, _) = purge_of(&ids, None, "");
    for r in &mut redactions {
        r.username = Some(format!("pseudonym-{}", r.id));
        r.request_id = Some(format!("r{}", r.id));
    }
    assert_eq!(
        s.redact_events(&redactions, &purged_event).await.unwrap(),
        ids[3..],
        "the rows purged before are not redacted or named again"
    );
    let attempts = EventFilter {
        kind: Some("login_attempt".into()),
        ..EventFilter::default()
    };
    let rows = s.events(&attempts).await.unwrap();
    assert_eq!(rows.len(), 1_203);
    for row in rows {
        let e = &row.event;
        if ids[..3].contains(&row.id) {
            assert_eq!(e.username.as_deref(), Some("pseudonym-first"), "{row:?}");
            assert_eq!(e.request_id, None, "{row:?}");
        } else {
            assert_eq!(e.username, Some(format!("pseudonym-{}", row.id)), "{row:?}");
            assert_eq!(e.request_id, Some(format!("r{}", row.id)), "{row:?}");
        }
        assert_eq!(
            (e.source.as_deref(), e.device_label.as_deref()),
            (None, None)
        );
    }
    let top = s.top_failures(&attempts, 10).await.unwrap();
    assert!(
        top.usernames.is_empty() && top.sources.is_empty(),
        "{top:?}"
    );
    let year = EventFilter {
        from: Some(NOW - 300 * 86_400),
        to: Some(NOW + 86_400),
        ..attempts.clone()
    };
    let top = s.top_failures(&year, 10).await.unwrap();
    assert!(
        top.usernames.is_empty() && top.sources.is_empty(),
        "{top:?}"
    );
    assert_eq!(problem(s, None).await, None, "the chain verifies");
}

mod sqlite_audit_admin {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn audit_admin_counts_purge_and_erasure() {
        let h = super::sqlite().await;
        super::audit_admin_counts_purge_and_erasure(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn most_failures_over_periods_follow_purge_and_erasure() {
        let h = super::sqlite().await;
        super::most_failures_over_periods_follow_purge_and_erasure(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_purge_of_many_rows_redacts_each_row_once() {
        let h = super::sqlite().await;
        super::a_purge_of_many_rows_redacts_each_row_once(&h).await;
    }
}

mod postgres_audit_admin {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn audit_admin_counts_purge_and_erasure() {
        let h = super::postgres().await;
        super::audit_admin_counts_purge_and_erasure(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn most_failures_over_periods_follow_purge_and_erasure() {
        let h = super::postgres().await;
        super::most_failures_over_periods_follow_purge_and_erasure(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_purge_of_many_rows_redacts_each_row_once() {
        let h = super::postgres().await;
        super::a_purge_of_many_rows_redacts_each_row_once(&h).await;
    }
}

// ---- account life cycle (issue 8) -----------------------------------------------------------

fn change<'a>(
    from: &'a [RequestStatus],
    to: RequestStatus,
    note: Option<&'a str>,
) -> RequestChange<'a> {
    RequestChange {
        from,
        to,
        actor: "operator",
        note,
        data: None,
        scheduled_at: None,
    }
}

const OPEN: [RequestStatus; 2] = [RequestStatus::Submitted, RequestStatus::InProgress];

async fn lifecycle_requests_and_history(s: &dyn Store) {
    let (org, admin) = org_and_person(s, "admin").await;
    let other = s
        .create_org("Other", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    let data = RequestData::OrderTokens {
        count: 2,
        address: "Main St 1".into(),
        contact: "Ann".into(),
    };
    let r = s
        .submit_request(
            org.id,
            &data,
            "person:1",
            Some(admin.id),
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    assert_eq!(r.status, RequestStatus::Submitted);
    assert_eq!(r.data, data);
    s.submit_request(
        other.id,
        &RequestData::ReserveTokens { count: 5 },
        "api:1",
        None,
        NOW,
        ev(EventKind::RequestSubmitted),
    )
    .await
    .unwrap();
    assert_eq!(s.requests(Some(org.id), false).await.unwrap().len(), 1);
    assert_eq!(s.requests(Some(other.id), true).await.unwrap().len(), 1);
    assert_eq!(s.requests(None, false).await.unwrap().len(), 2);

    // Compare-and-set: only from the named statuses.
    let wrong = s
        .update_request(
            r.id,
            &change(&[RequestStatus::InProgress], RequestStatus::Done, None),
            NOW,
            ev(EventKind::RequestUpdated),
        )
        .await;
    assert!(matches!(wrong, Err(StoreError::Invalid(_))), "{wrong:?}");
    s.update_request(
        r.id,
        &change(&[RequestStatus::Submitted], RequestStatus::InProgress, None),
        NOW + 1,
        ev(EventKind::RequestUpdated),
    )
    .await
    .unwrap();
    let done = s
        .update_request(
            r.id,
            &change(&OPEN, RequestStatus::Rejected, Some("no budget")),
            NOW + 2,
            ev(EventKind::RequestUpdated),
        )
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Rejected);
    assert!(s.requests(Some(org.id), true).await.unwrap().is_empty());
    let history = s.request_history(r.id).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [
            RequestStatus::Submitted,
            RequestStatus::InProgress,
            RequestStatus::Rejected
        ]
    );
    assert_eq!(history[2].note.as_deref(), Some("no budget"));
    let events = s
        .events(&EventFilter {
            kind: Some("request_updated".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "the refused change wrote nothing");
}

async fn lifecycle_orders_move_stock(s: &dyn Store) {
    let (org, _) = org_and_person(s, "admin").await;
    let tokens: Vec<_> = (1..=3).map(|i| token(&format!("T{i}"))).collect();
    s.import_tokens(&tokens, NOW, ev(EventKind::TokenImported))
        .await
        .unwrap();
    let big = s
        .submit_request(
            org.id,
            &RequestData::OrderTokens {
                count: 5,
                address: "a".into(),
                contact: "c".into(),
            },
            "cli",
            None,
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    let refused = s
        .complete_order(
            big.id,
            org.id,
            5,
            &change(&OPEN, RequestStatus::Done, None),
            NOW,
            vec![ev(EventKind::TokenStockChanged)],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(
        s.request_by_id(big.id).await.unwrap().unwrap().status,
        RequestStatus::Submitted
    );
    let small = s
        .submit_request(
            org.id,
            &RequestData::OrderTokens {
                count: 2,
                address: "a".into(),
                contact: "c".into(),
            },
            "cli",
            None,
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    s.complete_order(
        small.id,
        org.id,
        2,
        &change(&OPEN, RequestStatus::Done, None),
        NOW,
        vec![ev(EventKind::TokenStockChanged)],
    )
    .await
    .unwrap();
    s.submit_request(
        org.id,
        &RequestData::ReserveTokens { count: 40 },
        "cli",
        None,
        NOW,
        ev(EventKind::RequestSubmitted),
    )
    .await
    .unwrap();
    let counts = s.stock_counts().await.unwrap();
    let provider = counts.iter().find(|c| c.org_id.is_none()).unwrap();
    let mine = counts.iter().find(|c| c.org_id == Some(org.id)).unwrap();
    assert_eq!(provider.in_stock, 1);
    assert_eq!((mine.in_stock, mine.reserved), (2, 40));
}

async fn lifecycle_leavers_tokens_back_or_lost(s: &dyn Store) {
    let (org, ann) = org_and_person(s, "ann").await;
    let (_, bob) = org_and_person(s, "bob").await;
    s.import_tokens(
        &[token("A1"), token("B1")],
        NOW,
        ev(EventKind::TokenImported),
    )
    .await
    .unwrap();
    s.assign_token("A1", ann.id, "t", ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    s.assign_token("B1", bob.id, "t", ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    s.add_device(&phone(&ann, "p"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    let r = s
        .submit_request(
            org.id,
            &RequestData::RemoveAccount {
                person_id: ann.id,
                end_date: "2025-11-24".into(),
                tokens: TokenFate::Return,
            },
            "cli",
            None,
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    assert_eq!(r.person_id, Some(ann.id));
    let done = s
        .remove_person_now(
            ann.id,
            TokenFate::Return,
            Some((r.id, &change(&OPEN, RequestStatus::Done, None))),
            NOW,
            vec![ev(EventKind::PersonRemoved)],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RequestStatus::Done);
    assert_eq!(
        s.person_by_id(ann.id).await.unwrap().unwrap().state,
        PersonState::Removed
    );
    assert!(s.password_hash(ann.id).await.unwrap().is_none());
    let a1 = s.device_by_serial("A1").await.unwrap().unwrap();
    assert_eq!(
        (a1.state, a1.person_id, a1.org_id),
        (DeviceState::InStock, None, Some(org.id))
    );
    assert!(
        s.devices_of(ann.id)
            .await
            .unwrap()
            .iter()
            .all(|d| d.state == DeviceState::Removed)
    );

    s.remove_person_now(
        bob.id,
        TokenFate::Lost,
        None,
        NOW,
        vec![ev(EventKind::PersonRemoved)],
    )
    .await
    .unwrap();
    let b1 = s.device_by_serial("B1").await.unwrap().unwrap();
    assert_eq!((b1.state, b1.person_id), (DeviceState::Removed, None));
    assert!(b1.sealed_secret.is_empty(), "a lost token's seed is wiped");
    let mine = s
        .stock_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.org_id == Some(org.id))
        .unwrap();
    assert_eq!((mine.in_stock, mine.assigned, mine.lost), (1, 0, 1));
    // Twice: refused.
    assert!(
        s.remove_person_now(bob.id, TokenFate::Lost, None, NOW, vec![])
            .await
            .is_err()
    );
}

async fn lifecycle_activation_link_once(s: &dyn Store) {
    let (org, _) = org_and_person(s, "admin").await;
    let data = RequestData::NewEmployee {
        full_name: "Cor New".into(),
        email: "cor@example.org".into(),
        employee_number: "7".into(),
        username: "cor".into(),
        start_date: "2025-12-01".into(),
        phone: true,
        token: false,
    };
    let r = s
        .submit_request(
            org.id,
            &data,
            "cli",
            None,
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    let new = NewPerson {
        username: "Cor".into(),
        full_name: "Cor New".into(),
        email: Some("cor@example.org".into()),
        employee_number: None,
        org_id: org.id,
        roles: vec![Role::Person],
    };
    let (done, cor, link) = s
        .complete_new_employee(
            r.id,
            &new,
            &[7; 32],
            NOW + 100,
            &change(&OPEN, RequestStatus::Done, None),
            NOW,
            vec![
                ev(EventKind::PersonCreated),
                ev(EventKind::ActivationLinkIssued),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.person_id),
        (RequestStatus::Done, Some(cor.id))
    );
    assert_eq!(cor.username, "cor");
    assert!(s.password_hash(cor.id).await.unwrap().is_none());
    let stored = s.activation_link(link).await.unwrap().unwrap();
    assert_eq!(stored.token_hash, vec![7; 32]);
    assert!(s.set_activation_seed(link, &[1, 2], "uid-1").await.unwrap());
    assert!(
        !s.set_activation_seed(link, &[3], "uid-2").await.unwrap(),
        "the first seed stays"
    );
    let mut p = phone(&cor, "first");
    p.uid = "uid-1".into();
    // Expired: refused.
    assert!(
        s.complete_activation(link, Some("$argon2id$h"), &p, 5, NOW + 100, vec![])
            .await
            .is_err()
    );
    let device = s
        .complete_activation(
            link,
            Some("$argon2id$h"),
            &p,
            5,
            NOW + 10,
            vec![
                ev(EventKind::ActivationCompleted),
                ev(EventKind::DeviceLinked),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (device.person_id, device.last_step),
        (Some(cor.id), Some(5))
    );
    assert_eq!(
        s.password_hash(cor.id).await.unwrap().as_deref(),
        Some("$argon2id$h")
    );
    let again = s
        .complete_activation(link, Some("$argon2id$x"), &p, 6, NOW + 11, vec![])
        .await;
    assert!(again.is_err(), "single use");
    // A new link voids an unused old one.
    let l2 = s
        .issue_activation_link(
            cor.id,
            None,
            &[8; 32],
            NOW,
            NOW + 100,
            ev(EventKind::ActivationLinkIssued),
        )
        .await
        .unwrap();
    let l3 = s
        .issue_activation_link(
            cor.id,
            None,
            &[9; 32],
            NOW,
            NOW + 100,
            ev(EventKind::ActivationLinkIssued),
        )
        .await
        .unwrap();
    assert!(
        s.activation_link(l2)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );
    assert!(
        s.activation_link(l3)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_none()
    );
}

async fn lifecycle_api_tokens_and_switch_over(s: &dyn Store) {
    let (org, _) = org_and_person(s, "admin").await;
    let t = s
        .create_api_token(
            org.id,
            &[1; 32],
            "hr",
            "cli",
            NOW,
            ev(EventKind::ApiTokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(
        s.api_token(t.id).await.unwrap().unwrap().token_hash,
        vec![1; 32]
    );
    assert_eq!(s.api_tokens(Some(org.id)).await.unwrap().len(), 1);
    s.revoke_api_token(t.id, NOW, ev(EventKind::ApiTokenIssued))
        .await
        .unwrap();
    assert!(
        s.api_token(t.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.revoke_api_token(t.id, NOW, ev(EventKind::ApiTokenIssued))
            .await
            .is_err()
    );
    assert_eq!(s.switch_over(org.id).await.unwrap(), None);
    s.set_switch_over(org.id, Some(NOW + 86_400), ev(EventKind::TokenStockChanged))
        .await
        .unwrap();
    assert_eq!(s.switch_over(org.id).await.unwrap(), Some(NOW + 86_400));
    s.set_switch_over(org.id, None, ev(EventKind::TokenStockChanged))
        .await
        .unwrap();
    assert_eq!(s.switch_over(org.id).await.unwrap(), None);
}

async fn lifecycle_due_removals(s: &dyn Store) {
    let (org, ann) = org_and_person(s, "ann").await;
    let r = s
        .submit_request(
            org.id,
            &RequestData::RemoveAccount {
                person_id: ann.id,
                end_date: "2030-01-01".into(),
                tokens: TokenFate::Return,
            },
            "cli",
            None,
            NOW,
            ev(EventKind::RequestSubmitted),
        )
        .await
        .unwrap();
    let mut c = change(&OPEN, RequestStatus::InProgress, Some("scheduled"));
    c.scheduled_at = Some(NOW + 1000);
    s.update_request(r.id, &c, NOW, ev(EventKind::RequestUpdated))
        .await
        .unwrap();
    assert!(s.due_removals(NOW + 999).await.unwrap().is_empty());
    let due = s.due_removals(NOW + 1000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].scheduled_at, Some(NOW + 1000));
}

macro_rules! lifecycle_suite {
    ($($name:ident),* $(,)?) => {
        mod lifecycle_sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::sqlite().await; super::$name(&*h.store).await; } )*
        }
        mod lifecycle_postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let h = super::postgres().await; super::$name(&*h.store).await; } )*
        }
    };
}

lifecycle_suite!(
    lifecycle_requests_and_history,
    lifecycle_orders_move_stock,
    lifecycle_leavers_tokens_back_or_lost,
    lifecycle_activation_link_once,
    lifecycle_api_tokens_and_switch_over,
    lifecycle_due_removals,
);

// ---- a year of events (issue 17): the summary, keyset pages --------------------------------

/// Counts and per-day counts come from the `audit_daily` summary for whole days and from
/// the table for part-days: for every filter tried, they equal counting the rows one by one.
async fn summary_counts_equal_the_rows(s: &dyn Store) {
    let (org, p) = org_and_person(s, "ann").await;
    let other = s
        .create_org("Other", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    let base = NOW.div_euclid(86_400) * 86_400;
    // Four days of events at awkward times, three organisations (one: none), all outcomes.
    for i in 0..96i64 {
        let mut e = ev(if i % 7 == 0 {
            EventKind::DeviceLinked
        } else {
            EventKind::LoginAttempt
        });
        e.time = base + i * 3_607 - 7_200;
        e.org_id = match i % 3 {
            0 => Some(org.id),
            1 => Some(other.id),
            _ => None,
        };
        e.person_id = (i % 5 == 0).then_some(p.id);
        e.channel = if i % 2 == 0 {
            Channel::Radius
        } else {
            Channel::Oidc
        };
        e.outcome = match i % 4 {
            0 => Outcome::Reject,
            1 => Outcome::Challenge,
            _ => Outcome::Accept,
        };
        e.reason = (e.outcome == Outcome::Reject).then(|| {
            if i % 8 == 0 {
                "bad_code"
            } else {
                "bad_password"
            }
            .to_owned()
        });
        s.append_event(&e).await.unwrap();
    }
    let all = s.events(&EventFilter::default()).await.unwrap();
    let matches = |f: &EventFilter, e: &mfa_gateway::audit::StoredEvent| {
        let e = &e.event;
        f.org_id.is_none_or(|o| e.org_id == Some(o))
            && f.person_id.is_none_or(|p| e.person_id == Some(p))
            && f.from.is_none_or(|t| e.time >= t)
            && f.to.is_none_or(|t| e.time <= t)
            && f.kind.as_deref().is_none_or(|k| e.kind.as_str() == k)
            && f.channel.as_deref().is_none_or(|c| e.channel.as_str() == c)
            && f.outcome.as_deref().is_none_or(|o| e.outcome.as_str() == o)
            && f.reason
                .as_deref()
                .is_none_or(|r| e.reason.as_deref() == Some(r))
    };
    let ranges = [
        (None, None),
        (Some(base), Some(base + 2 * 86_400 - 1)),
        (Some(base + 5), Some(base + 3 * 86_400 + 11)),
        (Some(base + 100), Some(base + 9_000)),
        (Some(base + 86_000), Some(base + 87_000)),
        (None, Some(base + 86_400 + 3)),
        (Some(base - 3), None),
    ];
    let mut tried = 0;
    for (from, to) in ranges {
        for org_id in [None, Some(org.id), Some(other.id)] {
            for (kind, outcome, reason, channel, person_id) in [
                (None, None, None, None, None),
                (Some("login_attempt"), None, None, None, None),
                (Some("login_attempt"), Some("reject"), None, None, None),
                (None, Some("reject"), Some("bad_code"), Some("radius"), None),
                (Some("login_attempt"), None, None, None, Some(p.id)),
            ] {
                let f = EventFilter {
                    org_id,
                    person_id,
                    from,
                    to,
                    kind: kind.map(Into::into),
                    outcome: outcome.map(Into::into),
                    reason: reason.map(Into::into),
                    channel: channel.map(Into::into),
                    ..EventFilter::default()
                };
                let expected: Vec<_> = all.iter().filter(|e| matches(&f, e)).collect();
                assert_eq!(
                    s.count_events(&f).await.unwrap(),
                    expected.len() as u64,
                    "{f:?}"
                );
                let mut per_day = std::collections::BTreeMap::new();
                for e in &expected {
                    *per_day
                        .entry((e.event.time.div_euclid(86_400), e.event.outcome.as_str()))
                        .or_insert(0u64) += 1;
                }
                let got: std::collections::BTreeMap<_, _> = s
                    .daily_outcomes(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| ((d.day, d.outcome), d.count))
                    .collect();
                let want: std::collections::BTreeMap<_, _> = per_day
                    .into_iter()
                    .map(|((d, o), n)| ((d, o.to_owned()), n))
                    .collect();
                assert_eq!(got, want, "{f:?}");
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 105);
}

/// Exports read in keyset pages in (time, id) order: the pages, joined, are the search's
/// rows in the same order, newest first or oldest first, and a filter holds on every page.
async fn keyset_pages_join_up(s: &dyn Store) {
    let (org, _) = org_and_person(s, "ann").await;
    for i in 0..23i64 {
        let mut e = ev(EventKind::LoginAttempt);
        e.time = NOW + i / 3; // several rows share a time
        e.org_id = (i % 2 == 0).then_some(org.id);
        s.append_event(&e).await.unwrap();
    }
    for oldest_first in [false, true] {
        for org_id in [None, Some(org.id)] {
            let f = EventFilter {
                org_id,
                kind: Some("login_attempt".into()),
                oldest_first,
                ..EventFilter::default()
            };
            let want: Vec<i64> = s.events(&f).await.unwrap().iter().map(|e| e.id).collect();
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = s.events_page(&f, after, 4).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some((last.event.time, last.id));
                got.extend(page.iter().map(|e| e.id));
            }
            assert_eq!(got, want, "oldest_first {oldest_first}, org {org_id:?}");
            assert_eq!(want.len(), if org_id.is_some() { 12 } else { 23 });
        }
    }
}

mod sqlite_year {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn summary_counts_equal_the_rows() {
        let h = super::sqlite().await;
        super::summary_counts_equal_the_rows(&*h.store).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keyset_pages_join_up() {
        let h = super::sqlite().await;
        super::keyset_pages_join_up(&*h.store).await;
    }
}

mod postgres_year {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn summary_counts_equal_the_rows() {
        let h = super::postgres().await;
        super::summary_counts_equal_the_rows(&*h.store).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keyset_pages_join_up() {
        let h = super::postgres().await;
        super::keyset_pages_join_up(&*h.store).await;
    }
}

// ---- per-organisation auditors (issue 16) --------------------------------------------------

/// An organisation's view (`scope_org`, an org auditor's): its events and the events
/// without an organisation about its people, never another organisation's nor those
/// without either. Searches, counts (summary for whole days + table), per-day counts,
/// most failures, keyset pages and a person's events all agree with filtering the rows one
/// by one.
async fn an_organisations_view_holds_its_events_only(s: &dyn Store) {
    let (a, ann) = org_and_person(s, "ann").await;
    let b = s
        .create_org("Other", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    let bob = s
        .create_person(
            &NewPerson {
                username: "bob".into(),
                full_name: "Bob Other".into(),
                email: None,
                employee_number: None,
                org_id: b.id,
                roles: vec![Role::Person],
            },
            None,
            NOW,
            ev(EventKind::PersonCreated),
        )
        .await
        .unwrap();
    let base = NOW.div_euclid(86_400) * 86_400;
    // Four days at awkward times: A's events, events without an organisation about ann
    // (A) or bob (B), B's events, and events about nobody known.
    for i in 0..120i64 {
        let mut e = ev(if i % 7 == 0 {
            EventKind::DeviceLinked
        } else {
            EventKind::LoginAttempt
        });
        e.time = base + i * 2_917 - 7_200;
        let (org, person, username) = match i % 5 {
            0 => (Some(a.id), Some(&ann), "ann"),
            1 => (None, Some(&ann), "ann"),
            2 => (Some(b.id), Some(&bob), "bob"),
            3 => (None, Some(&bob), "bob"),
            _ => (None, None, "nobody"),
        };
        e.org_id = org;
        e.person_id = person.map(|p| p.id);
        e.username = Some(username.into());
        e.source = Some(format!("192.0.2.{}", i % 4));
        e.channel = if i % 2 == 0 {
            Channel::Radius
        } else {
            Channel::Portal
        };
        e.outcome = match i % 3 {
            0 => Outcome::Reject,
            1 => Outcome::Accept,
            _ => Outcome::Done,
        };
        e.reason = (e.outcome == Outcome::Reject).then(|| "bad_code".to_owned());
        s.append_event(&e).await.unwrap();
    }
    let all = s.events(&EventFilter::default()).await.unwrap();
    let in_view = |org: i64, e: &AuditEvent| {
        e.org_id == Some(org)
            || (e.org_id.is_none()
                && e.person_id
                    .is_some_and(|p| (p == ann.id && org == a.id) || (p == bob.id && org == b.id)))
    };
    let matches = |f: &EventFilter, e: &mfa_gateway::audit::StoredEvent| {
        let e = &e.event;
        f.scope_org.is_none_or(|o| in_view(o, e))
            && f.org_id.is_none_or(|o| e.org_id == Some(o))
            && f.person_id.is_none_or(|p| e.person_id == Some(p))
            && f.from.is_none_or(|t| e.time >= t)
            && f.to.is_none_or(|t| e.time <= t)
            && f.kind.as_deref().is_none_or(|k| e.kind.as_str() == k)
            && f.outcome.as_deref().is_none_or(|o| e.outcome.as_str() == o)
    };
    let ranges = [
        (None, None),
        (Some(base), Some(base + 2 * 86_400 - 1)),
        (Some(base + 5), Some(base + 3 * 86_400 + 11)),
        (Some(base + 100), Some(base + 9_000)),
        (None, Some(base + 86_400 + 3)),
    ];
    let mut tried = 0;
    for scope_org in [Some(a.id), Some(b.id)] {
        for (from, to) in ranges {
            for org_id in [None, Some(a.id), Some(b.id)] {
                for (kind, outcome, person_id) in [
                    (None, None, None),
                    (Some("login_attempt"), None, None),
                    (Some("login_attempt"), Some("reject"), None),
                    (None, None, Some(ann.id)),
                ] {
                    let f = EventFilter {
                        scope_org,
                        org_id,
                        person_id,
                        from,
                        to,
                        kind: kind.map(Into::into),
                        outcome: outcome.map(Into::into),
                        ..EventFilter::default()
                    };
                    let expected: Vec<_> = all.iter().filter(|e| matches(&f, e)).collect();
                    let ids = |v: &[mfa_gateway::audit::StoredEvent]| {
                        v.iter().map(|e| e.id).collect::<Vec<_>>()
                    };
                    let want: Vec<i64> = expected.iter().map(|e| e.id).collect();
                    assert_eq!(ids(&s.events(&f).await.unwrap()), want, "{f:?}");
                    assert_eq!(
                        s.count_events(&f).await.unwrap(),
                        expected.len() as u64,
                        "{f:?}"
                    );
                    let mut per_day = std::collections::BTreeMap::new();
                    for e in &expected {
                        *per_day
                            .entry((
                                e.event.time.div_euclid(86_400),
                                e.event.outcome.as_str().to_owned(),
                            ))
                            .or_insert(0u64) += 1;
                    }
                    let got: std::collections::BTreeMap<_, _> = s
                        .daily_outcomes(&f)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|d| ((d.day, d.outcome), d.count))
                        .collect();
                    assert_eq!(got, per_day, "{f:?}");
                    // Most failures: by username and by source, among the view's rejects.
                    let top = s.top_failures(&f, 10).await.unwrap();
                    let mut by_user = std::collections::BTreeMap::<String, u64>::new();
                    let mut by_source = std::collections::BTreeMap::<String, u64>::new();
                    for e in expected
                        .iter()
                        .filter(|e| e.event.outcome == Outcome::Reject)
                    {
                        *by_user
                            .entry(e.event.username.clone().unwrap())
                            .or_default() += 1;
                        *by_source
                            .entry(e.event.source.clone().unwrap())
                            .or_default() += 1;
                    }
                    let sorted = |m: std::collections::BTreeMap<String, u64>| {
                        let mut v: Vec<(String, u64)> = m.into_iter().collect();
                        v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
                        v
                    };
                    assert_eq!(top.usernames, sorted(by_user), "{f:?}");
                    assert_eq!(top.sources, sorted(by_source), "{f:?}");
                    // Keyset pages (the exports) join up to the same rows.
                    let mut paged = Vec::new();
                    let mut after = None;
                    loop {
                        let page = s.events_page(&f, after, 7).await.unwrap();
                        let Some(last) = page.last() else { break };
                        after = Some((last.event.time, last.id));
                        paged.extend(page.iter().map(|e| e.id));
                    }
                    assert_eq!(paged, want, "{f:?}");
                    tried += 1;
                }
            }
        }
    }
    assert_eq!(tried, 120);
    // What an org auditor sees of A: never B's events, nor those without either.
    let view_a = s
        .events(&EventFilter {
            scope_org: Some(a.id),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert!(!view_a.is_empty());
    assert!(view_a.iter().all(|e| {
        e.event.username.as_deref() == Some("ann")
            || (e.event.org_id == Some(a.id) && e.event.person_id != Some(bob.id))
    }));
    assert!(
        view_a.iter().any(|e| e.event.org_id.is_none()),
        "ann's events without an organisation"
    );
    // A person's events as an organisation sees them.
    let about = |p: PersonId, scope: Option<OrgId>| async move {
        s.events_about_in(p, scope)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    let everything: Vec<i64> = s
        .events_about(ann.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(about(ann.id, None).await, everything);
    assert_eq!(
        about(ann.id, Some(a.id)).await,
        everything,
        "all of ann's are A's"
    );
    assert!(
        about(ann.id, Some(b.id)).await.is_empty(),
        "none of them B's"
    );
    assert!(about(bob.id, Some(a.id)).await.is_empty());
    assert_eq!(
        about(bob.id, Some(b.id)).await,
        s.events_about(bob.id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    );
}

mod sqlite_scope {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_organisations_view_holds_its_events_only() {
        let h = super::sqlite().await;
        super::an_organisations_view_holds_its_events_only(&*h.store).await;
    }
}

mod postgres_scope {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_organisations_view_holds_its_events_only() {
        let h = super::postgres().await;
        super::an_organisations_view_holds_its_events_only(&*h.store).await;
    }
}

// ---- RADIUS sessions from accounting (issue 12) ----

async fn radius_sessions_open_close_and_nas_restart(s: &dyn Store) {
    use mfa_gateway::store::{SessionChange, SessionRecord};
    let (_, p) = org_and_person(s, "ann").await;
    let record = |session: &str, nas: &str, time: i64| SessionRecord {
        client: "rdgw".into(),
        nas: nas.into(),
        session_id: session.into(),
        person_id: Some(p.id),
        username: Some("PRAKTIJK\\ann".into()),
        nas_ip: Some("192.0.2.1".into()),
        nas_identifier: Some("rdgw-1".into()),
        end_user_address: Some("198.51.100.7".into()),
        calling_station_id: None,
        time,
    };
    let event = |kind| {
        let mut e = ev(kind);
        e.person_id = Some(p.id);
        e
    };
    let before = s.events(&EventFilter::default()).await.unwrap().len();
    s.record_accounting(
        &SessionChange::Open(record("S1", "192.0.2.1", NOW)),
        &event(EventKind::AccountingStart),
    )
    .await
    .unwrap();
    // A retransmitted Start and an Interim-Update keep one session.
    s.record_accounting(
        &SessionChange::Open(record("S1", "192.0.2.1", NOW + 1)),
        &event(EventKind::AccountingInterim),
    )
    .await
    .unwrap();
    s.record_accounting(
        &SessionChange::Open(record("S2", "192.0.2.1", NOW + 2)),
        &event(EventKind::AccountingStart),
    )
    .await
    .unwrap();
    s.record_accounting(
        &SessionChange::Open(record("S3", "192.0.2.9", NOW + 2)),
        &event(EventKind::AccountingStart),
    )
    .await
    .unwrap();
    let open = s.open_sessions(p.id).await.unwrap();
    assert_eq!(
        open.iter()
            .map(|o| o.session_id.as_str())
            .collect::<Vec<_>>(),
        ["S1", "S2", "S3"]
    );
    assert_eq!(open[0].started_at, NOW);
    assert_eq!(open[0].nas_identifier.as_deref(), Some("rdgw-1"));
    // Stop closes one; a Stop for a session never seen open is kept closed.
    s.record_accounting(
        &SessionChange::Close(record("S1", "192.0.2.1", NOW + 60)),
        &event(EventKind::AccountingStop),
    )
    .await
    .unwrap();
    s.record_accounting(
        &SessionChange::Close(record("S9", "192.0.2.1", NOW + 60)),
        &event(EventKind::AccountingStop),
    )
    .await
    .unwrap();
    // A Start after the Stop does not reopen it.
    s.record_accounting(
        &SessionChange::Open(record("S1", "192.0.2.1", NOW + 61)),
        &event(EventKind::AccountingInterim),
    )
    .await
    .unwrap();
    let open = s.open_sessions(p.id).await.unwrap();
    assert_eq!(
        open.iter()
            .map(|o| o.session_id.as_str())
            .collect::<Vec<_>>(),
        ["S2", "S3"]
    );
    // Accounting-On from 192.0.2.1 ends its sessions, not the other NAS's.
    s.record_accounting(
        &SessionChange::NasRestart {
            client: "rdgw".into(),
            nas: "192.0.2.1".into(),
            time: NOW + 100,
        },
        &event(EventKind::AccountingNas),
    )
    .await
    .unwrap();
    let open = s.open_sessions(p.id).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].nas, "192.0.2.9");
    // Every change wrote its event.
    let after = s.events(&EventFilter::default()).await.unwrap().len();
    assert_eq!(after - before, 8);
}

// ---- usernames per organisation (issue 16, migration 0018) ----------------------------

async fn person_in(
    s: &dyn Store,
    org: &Organisation,
    username: &str,
) -> Result<Person, StoreError> {
    let new = NewPerson {
        username: username.into(),
        full_name: format!("{username} of {}", org.name),
        email: None,
        employee_number: None,
        org_id: org.id,
        roles: vec![Role::Person],
    };
    s.create_person(&new, None, NOW, ev(EventKind::PersonCreated))
        .await
}

/// Two organisations may each have an `ann`, one may not have two; a login name finds its
/// person by the client's default organisation, by being the only one, or qualified with
/// the organisation's login suffix.
async fn usernames_are_unique_per_organisation(s: &dyn Store) {
    use mfa_gateway::store::{NameMatch, org_slug, resolve_username};
    let zuid = s
        .create_org("Praktijk Zuid", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    let noord = s
        .create_org("Praktijk  Noord (Assen)", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    assert_eq!(org_slug(&noord.name), "praktijk-noord-assen");
    let ann_zuid = person_in(s, &zuid, "ann").await.unwrap();
    let ann_noord = person_in(s, &noord, "Ann").await.unwrap();
    assert!(matches!(
        person_in(s, &zuid, " ANN ").await,
        Err(StoreError::Conflict(_))
    ));
    let carol = person_in(s, &noord, "carol@example.org").await.unwrap();

    let named = s.people_named("ann").await.unwrap();
    assert_eq!(
        named
            .iter()
            .map(|(p, o)| (p.id, o.as_str()))
            .collect::<Vec<_>>(),
        [
            (ann_zuid.id, "Praktijk Zuid"),
            (ann_noord.id, "Praktijk  Noord (Assen)")
        ]
    );
    let found = |m: NameMatch| match m {
        NameMatch::Found(p) => Some(p.id),
        _ => None,
    };
    let resolve = |name: &'static str, default: Option<&'static str>| async move {
        resolve_username(s, name, default).await.unwrap()
    };
    assert!(matches!(resolve("ann", None).await, NameMatch::Ambiguous(v) if v.len() == 2));
    assert_eq!(s.person_by_username("ann").await.unwrap(), None);
    assert_eq!(
        found(resolve("ann", Some("Praktijk Zuid")).await),
        Some(ann_zuid.id)
    );
    assert_eq!(
        found(resolve(" Ann ", Some("Praktijk  Noord (Assen)")).await),
        Some(ann_noord.id)
    );
    assert_eq!(
        found(resolve("ann@praktijk-zuid", None).await),
        Some(ann_zuid.id)
    );
    assert_eq!(
        found(resolve("PRAKTIJK-NOORD-ASSEN\\ann", None).await),
        Some(ann_noord.id)
    );
    assert_eq!(resolve("ann@nowhere", None).await, NameMatch::Unknown);
    assert_eq!(
        resolve("bob", Some("Praktijk Zuid")).await,
        NameMatch::Unknown
    );
    // A unique name is found as before, also one with an `@`, also through a client whose
    // default is another organisation (its `orgs` decide whether it may log in there).
    assert_eq!(
        found(resolve("carol@example.org", None).await),
        Some(carol.id)
    );
    assert_eq!(
        found(resolve("carol@example.org", Some("Praktijk Zuid")).await),
        Some(carol.id)
    );
    assert_eq!(
        found(resolve("carol@example.org@praktijk-noord-assen", None).await),
        Some(carol.id)
    );
    assert_eq!(
        resolve("carol@example.org@praktijk-zuid", None).await,
        NameMatch::Unknown
    );
    // A login's lookup on one connection (`Store::resolve_for_login`): the same match, and
    // for a person what `login_reads` gives.
    s.add_device(&phone(&ann_zuid, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    for (name, default) in [
        ("ann", None),
        ("ann", Some("Praktijk Zuid")),
        ("ann@praktijk-zuid", None),
        ("PRAKTIJK-NOORD-ASSEN\\ann", None),
        ("ann@nowhere", None),
        ("carol@example.org", Some("Praktijk Zuid")),
        ("", None),
    ] {
        let (m, reads) = s
            .resolve_for_login(name, default, Some("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(m, resolve(name, default).await, "{name}");
        match (&m, reads) {
            (NameMatch::Found(p), Some(reads)) => {
                let single = s
                    .login_reads(p.id, p.org_id, Some("192.0.2.1"))
                    .await
                    .unwrap();
                assert_eq!(reads.password_hash, single.password_hash);
                assert_eq!(reads.devices, single.devices);
                assert_eq!(reads.policy, single.policy);
                assert_eq!(reads.one_time_codes, single.one_time_codes);
                assert_eq!(reads.source_blocked_until, single.source_blocked_until);
            }
            (NameMatch::Found(_), None) => panic!("{name}: a person without reads"),
            (_, reads) => assert!(reads.is_none(), "{name}"),
        }
    }
    let (_, reads) = s
        .resolve_for_login("ann@praktijk-zuid", None, None)
        .await
        .unwrap();
    assert_eq!(reads.map(|r| r.devices.len()), Some(1));
}

/// Migration 0018 on a database that has people, devices and events (SQLite rebuilds the
/// table): nothing is lost, every reference still holds, and the new rule applies.
async fn migration_0018_keeps_people_and_their_references(h: &Harness) {
    let s = &*h.store;
    let (org, ann) = org_and_person(s, "ann").await;
    s.add_device(&phone(&ann, "phone"), NOW, ev(EventKind::DeviceLinked))
        .await
        .unwrap();
    // Undo 0018 as if the database were older, then run the migrations again.
    match &h.raw {
        Raw::Sqlite(_) => {
            h.exec(&[
                "DROP INDEX people_username_org",
                "CREATE UNIQUE INDEX people_username_old ON people(username)",
                "DELETE FROM _sqlx_migrations WHERE version = 18",
            ])
            .await
        }
        Raw::Pg(_) => {
            h.exec(&[
                "DROP INDEX people_username_org",
                "ALTER TABLE people ADD CONSTRAINT people_username_key UNIQUE (username)",
                "DELETE FROM _sqlx_migrations WHERE version = 18",
            ])
            .await
        }
    }
    let other = s
        .create_org("Other practice", NOW, ev(EventKind::OrgCreated))
        .await
        .unwrap();
    assert!(
        person_in(s, &other, "ann").await.is_err(),
        "unique everywhere before 0018"
    );
    h.remigrate().await;
    let again = s.person_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!((again.username.as_str(), again.org_id), ("ann", org.id));
    assert_eq!(s.devices_of(ann.id).await.unwrap().len(), 1);
    person_in(s, &other, "ann").await.unwrap();
    assert!(person_in(s, &org, "ann").await.is_err());
    if let Raw::Sqlite(pool) = &h.raw {
        let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(on, 1, "foreign keys are on again");
        let broken: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
        assert!(broken.is_empty(), "{broken:?}");
    }
}

mod usernames {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let h = super::sqlite().await;
        super::usernames_are_unique_per_organisation(&*h.store).await;
        let h = super::sqlite().await;
        super::migration_0018_keeps_people_and_their_references(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let h = super::postgres().await;
        super::usernames_are_unique_per_organisation(&*h.store).await;
        let h = super::postgres().await;
        super::migration_0018_keeps_people_and_their_references(&h).await;
    }
}

/// Remembered browsers (migration 0020): kept under the token's hash with their audit event,
/// listed per person, touched, forgotten one by one or all (audited only when something
/// went), ended by the events that end them, purged when expired.
async fn remembered_browsers_are_kept_listed_forgotten_and_ended(s: &dyn Store) {
    use mfa_gateway::store::RememberedBrowser;
    let (_, ann) = org_and_person(s, "ann").await;
    let (_, bob) = org_and_person(s, "bob").await;
    let browser = |hash: &str, person: PersonId, at: i64| RememberedBrowser {
        id: 0,
        token_hash: hash.into(),
        person_id: person,
        user_agent: "Firefox".into(),
        created_at: at,
        last_used_at: at,
        expires_at: at + 86_400,
    };
    let id1 = s
        .remember_browser(
            &browser("h1", ann.id, NOW),
            &ev(EventKind::BrowserRemembered),
        )
        .await
        .unwrap();
    let id2 = s
        .remember_browser(
            &browser("h2", ann.id, NOW + 1),
            &ev(EventKind::BrowserRemembered),
        )
        .await
        .unwrap();
    s.remember_browser(
        &browser("h3", bob.id, NOW),
        &ev(EventKind::BrowserRemembered),
    )
    .await
    .unwrap();
    assert_ne!(id1, id2);
    let found = s.remembered_browser("h1").await.unwrap().unwrap();
    assert_eq!((found.id, found.person_id), (id1, ann.id));
    assert_eq!(found.user_agent, "Firefox");
    assert_eq!(s.remembered_browser("nope").await.unwrap(), None);
    let listed = s.remembered_browsers(ann.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![id2, id1],
        "newest first, only ann's"
    );
    let remembered = s
        .events(&EventFilter {
            kind: Some("browser_remembered".into()),
            person_id: Some(ann.id),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(remembered.len(), 2, "written with the row");
    assert_eq!(
        remembered[0].event.detail.as_ref().unwrap()["remembered_browser"],
        id2
    );
    s.touch_remembered(id1, NOW + 60).await.unwrap();
    assert_eq!(
        s.remembered_browser("h1")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        NOW + 60
    );
    // Someone else's id forgets nothing (and writes no event).
    assert_eq!(
        s.forget_browsers(bob.id, Some(id1), Some(&ev(EventKind::BrowserForgotten)))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.forget_browsers(ann.id, Some(id1), Some(&ev(EventKind::BrowserForgotten)))
            .await
            .unwrap(),
        1
    );
    let forgotten = |p: PersonId| EventFilter {
        kind: Some("browser_forgotten".into()),
        person_id: Some(p),
        ..EventFilter::default()
    };
    assert_eq!(s.events(&forgotten(ann.id)).await.unwrap().len(), 1);
    assert_eq!(s.events(&forgotten(bob.id)).await.unwrap().len(), 0);
    assert_eq!(
        s.forget_browsers(ann.id, None, None).await.unwrap(),
        1,
        "all of ann's"
    );
    assert!(s.remembered_browsers(ann.id).await.unwrap().is_empty());
    // An ending event about the person after a browser was remembered ends it; one before
    // does not.
    assert_eq!(s.remembered_ended_by(bob.id, NOW).await.unwrap(), None);
    let mut blocked = ev(EventKind::PersonBlocked);
    blocked.person_id = Some(bob.id);
    blocked.time = NOW + 10;
    s.set_blocked(bob.id, Some(NOW + 10), blocked)
        .await
        .unwrap();
    assert_eq!(
        s.remembered_ended_by(bob.id, NOW).await.unwrap().as_deref(),
        Some("person_blocked")
    );
    assert_eq!(s.remembered_ended_by(bob.id, NOW + 11).await.unwrap(), None);
    assert_eq!(s.remembered_ended_by(ann.id, NOW).await.unwrap(), None);
    // The purge: bob's (ended by the block) and ann's expired one; ann's live one stays.
    s.remember_browser(
        &browser("h4", ann.id, NOW),
        &ev(EventKind::BrowserRemembered),
    )
    .await
    .unwrap();
    s.remember_browser(
        &browser("h5", ann.id, NOW + 86_400),
        &ev(EventKind::BrowserRemembered),
    )
    .await
    .unwrap();
    assert_eq!(s.purge_remembered(NOW + 86_401).await.unwrap(), 2);
    assert_eq!(s.remembered_browser("h3").await.unwrap(), None);
    assert_eq!(s.remembered_browser("h4").await.unwrap(), None);
    assert!(s.remembered_browser("h5").await.unwrap().is_some());
}

// ---- the gateway's own PostgreSQL pool -----------------------------------------------------

/// `PgStore::connect`'s pool pings a connection before use only when it sat idle for 5 s or
/// more (a ping on every acquire was a round trip per query under load). A connection the
/// server ended while it sat idle (a restart, a firewall's idle cut) is found by that ping
/// and replaced: the next query succeeds on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_postgres_connection_the_server_ended_is_replaced() {
    let h = postgres().await;
    let Some((admin, schema)) = h.pg_schema.as_ref() else {
        panic!("a PostgreSQL harness has a schema");
    };
    let url = pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::connect(&format!("{url}{sep}options=-c%20search_path%3D{schema}"), 1)
        .await
        .unwrap();
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(admin)
        .await
        .unwrap();
    assert!(ended);
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    assert!(store.people_named("nobody").await.unwrap().is_empty());
    let second: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_ne!(first, second, "the ended connection was replaced");
}

// ---- memory that idle connections hold -----------------------------------------------------

/// Wait until every connection of `pool` is back in it (a dropped connection goes back in a
/// task of its own), and say how many there are.
async fn all_back(pool: &sqlx::SqlitePool) -> usize {
    for _ in 0..100 {
        if pool.num_idle() == pool.size() as usize {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        pool.num_idle(),
        pool.size() as usize,
        "every connection is back"
    );
    pool.num_idle()
}

/// `release_memory` (run by `serve` on its 10-second housekeeping tick) shrinks the page
/// cache of each SQLite connection that sits idle in the pool, leaves a connection in use
/// alone, returns every one it took, and the store works on after it. PostgreSQL keeps its
/// caches in its own processes: nothing to release there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sqlite_connections_give_their_page_caches_back() {
    let h = sqlite().await;
    let Raw::Sqlite(pool) = &h.raw else {
        panic!("a SQLite harness has a SQLite pool");
    };
    let s = &*h.store;
    let (_, ann) = org_and_person(s, "ann").await;
    // Three connections open, then all idle.
    let (a, b, c) = (
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
    );
    drop((a, b, c));
    let idle = all_back(pool).await;
    assert!(idle >= 3, "{idle} connections idle");

    let held = pool.acquire().await.unwrap();
    assert_eq!(s.release_memory().await.unwrap() as usize, idle - 1);
    drop(held);
    assert_eq!(all_back(pool).await, idle, "none lost");
    assert_eq!(s.release_memory().await.unwrap() as usize, idle);
    assert_eq!(all_back(pool).await, idle);

    let named = s.people_named("ann").await.unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].0.id, ann.id);

    let pg = postgres().await;
    assert_eq!(pg.store.release_memory().await.unwrap(), 0);
}

/// SQLite's plan for the audit followers' read by id (`WHERE id > $1 ORDER BY id LIMIT $2`).
async fn followers_read_plan(pool: &sqlx::SqlitePool) -> String {
    use sqlx::Row as _;
    sqlx::query(
        "EXPLAIN QUERY PLAN SELECT id, time, kind FROM audit_events \
         WHERE id > 5 ORDER BY id LIMIT 500",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<String, _>("detail").unwrap())
    .collect::<Vec<_>>()
    .join("; ")
}

/// `refresh_statistics` (run by `serve` every minute) brings SQLite's planner statistics in
/// step with the tables: taken while the audit table held one row, they had the followers'
/// read by id (`WHERE id > $1 ORDER BY id LIMIT $2`, twice a second) read the whole
/// `audit_time` index and sort it; once refreshed, the row id's range is searched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_planner_statistics_follow_the_tables() {
    use mfa_gateway::store::OpsStore as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url, 1).await.unwrap();
    append(&store, 1).await;
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    let ids = append(&store, 300).await;
    drop(store);
    async fn plan(url: &str) -> String {
        // A new connection reads the statistics.
        followers_read_plan(SqliteStore::connect(url, 1).await.unwrap().pool()).await
    }
    // The trap, as this SQLite falls into it.
    let stale = plan(&url).await;
    assert!(stale.contains("SCAN audit_events"), "{stale}");

    let store = SqliteStore::connect(&url, 1).await.unwrap();
    store.refresh_statistics().await.unwrap();
    let fresh = plan(&url).await;
    assert!(
        fresh.contains("SEARCH audit_events USING INTEGER PRIMARY KEY"),
        "{fresh}"
    );
    // Nothing changed ten-fold since: nothing is analysed again, and the reads are right.
    store.refresh_statistics().await.unwrap();
    let s: &dyn Store = &store;
    let after = s.events_after(ids[99], 500).await.unwrap();
    assert_eq!(after.len(), 200);
    assert_eq!(after[0].id, ids[100]);

    let pg = postgres().await;
    pg.store.refresh_statistics().await.unwrap();
}

/// The statistics job's `ANALYZE` is bounded (SQLite's analysis limit: past 2,000 rows of an
/// index it skips ahead a value at a time); unbounded, a year of audit events grown ten-fold
/// was analysed row by row, in a write transaction that holds every login's write meanwhile
/// (9.5 s against 0.5 s, bench/statistics.sh). Its statistics of a table of 50,000 events
/// come from a sample (a full `ANALYZE` counts every row of every index), and they still
/// plan the followers' read by id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statistics_are_taken_on_a_sample() {
    use mfa_gateway::store::OpsStore as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url, 1).await.unwrap();
    // 50,000 logins of 20 people (straight into the table: the chain is not this test's).
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) \
         INSERT INTO audit_events (time, kind, actor, person_id, username, org_id, channel, \
         outcome) SELECT 1700000000 + i, 'login', 'radius', i % 20, 'u' || (i % 20), 1, \
         'radius', 'accept' FROM n",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let rows_counted = |stat: &str| -> u64 { stat.split(' ').next().unwrap().parse().unwrap() };
    let stat = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT stat FROM sqlite_stat1 WHERE idx = 'audit_person_time'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
    };
    store.refresh_statistics().await.unwrap();
    let sampled = stat().await;
    let plan = followers_read_plan(store.pool()).await;
    assert!(
        plan.contains("SEARCH audit_events USING INTEGER PRIMARY KEY"),
        "{plan}"
    );
    sqlx::query("PRAGMA analysis_limit = 0")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    let full = stat().await;
    // Rows, then rows per person, then per person and time.
    assert_eq!(full, "50000 2500 1");
    // Each person's rows past the limit are skipped: fewer counted per person.
    assert_ne!(sampled, full);
    assert_eq!(rows_counted(&sampled), 50_000, "{sampled}");
}

/// After a burst has opened every connection, the pool shrinks back to what a trickle of
/// reads needs, although that trickle takes the idle connections in turn (as the audit
/// followers' reads every half second do): a connection is closed at its lifetime and a new
/// one opened only when none is free. Each holds SQLite's page cache and its prepared
/// statements (issue 17: the server's memory back near idle after a burst of logins).
#[tokio::test]
async fn sqlite_pool_shrinks_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url, 4).await.unwrap();
    assert_eq!(
        store.pool().options().get_max_lifetime(),
        Some(std::time::Duration::from_secs(30))
    );
    drop(store);

    let store = SqliteStore::connect_with_lifetime(&url, 4, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    let mut burst = Vec::new();
    for _ in 0..4 {
        burst.push(store.pool().acquire().await.unwrap());
    }
    assert_eq!(store.pool().size(), 4);
    drop(burst);
    // A read every 100 ms for 7 s: each of the burst's connections is taken in turn. From
    // 3 s on (every one of the burst's past its lifetime, and the pool's check run since),
    // the pool is down to the one the reads need (two for a moment, where the pool's check
    // holds one as a read comes).
    let mut smallest = u32::MAX;
    for i in 0..70 {
        sqlx::query("SELECT 1").execute(store.pool()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if i >= 30 {
            smallest = smallest.min(store.pool().size());
            assert!(store.pool().size() <= 2, "{}", store.pool().size());
        }
    }
    // (0 between a read's connection, closed at its age as it went back, and the next's.)
    assert!(smallest <= 1, "the pool after the burst: {smallest}");
}

/// `?synchronous=normal` in a SQLite URL: every connection of the pool syncs only at
/// checkpoints (PRAGMA synchronous 1); without it, or with `full`, at every commit (2). A
/// value other than those is refused, naming the parameter, and opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_synchronous_in_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db");
    for (query, expected) in [
        ("", 2),
        ("?synchronous=full", 2),
        ("?synchronous=normal", 1),
    ] {
        let store = SqliteStore::connect(&format!("sqlite://{}{query}", file.display()), 2)
            .await
            .unwrap();
        // Two connections at once, so both of the pool's are asked.
        let (mut a, mut b) = (
            store.pool().acquire().await.unwrap(),
            store.pool().acquire().await.unwrap(),
        );
        for conn in [&mut a, &mut b] {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(level, expected, "{query:?}");
        }
    }
    let Err(refused) =
        SqliteStore::connect(&format!("sqlite://{}?synchronous=off", file.display()), 2).await
    else {
        panic!("synchronous=off is refused");
    };
    assert!(
        refused
            .to_string()
            .contains("synchronous=off: must be full or normal"),
        "{refused}"
    );
}
