//! One test per engine rule. Time is a parameter; nothing sleeps.

use crate::audit::{Channel, EventKind, Outcome};
use crate::config::{LockoutPolicy, OtpPolicy, PasswordPolicy};
use crate::engine::*;
use crate::model::*;
use crate::otp::{self, OtpHash, OtpKind, OtpParams};
use crate::password::PasswordHasherCfg;
use crate::secret::{SecretBytes, SecretString};

const NOW: i64 = 1_764_000_000;
const PHONE1: &[u8] = b"phone-one-seed-20byt";
const PHONE2: &[u8] = b"phone-two-seed-20byt";
const TOKEN: &[u8] = b"12345678901234567890";

fn policy() -> PasswordPolicy {
    PasswordPolicy {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        hashing_threads: 1,
        min_length: 4,
        blocklist: None,
    }
}

fn engine_with(p: PasswordPolicy) -> Engine {
    Engine::new(
        PasswordHasherCfg::new(p).expect("params"),
        OtpPolicy::default(),
        LockoutPolicy {
            threshold: 5,
            base_seconds: 60,
            max_seconds: 600,
            password_threshold: 3,
            ipv6_prefix: 64,
        },
        CodeKey::new([7; 32]),
    )
}

fn engine() -> Engine {
    engine_with(policy())
}

fn device(id: i64, kind: DeviceKind, label: &str, otp: OtpParams) -> Device {
    Device {
        id,
        uid: format!("uid-{id}"),
        person_id: Some(1),
        org_id: Some(1),
        kind,
        label: label.into(),
        serial: None,
        manufacturer: None,
        otp,
        sealed_secret: vec![],
        counter: 0,
        last_step: None,
        state: DeviceState::Active,
        created_at: 0,
        last_used_at: None,
    }
}

fn hotp_params() -> OtpParams {
    OtpParams {
        kind: OtpKind::Hotp,
        hash: OtpHash::Sha1,
        digits: 6,
    }
}

/// Ann: password "correct horse", two phones and an HOTP token.
fn ann(e: &Engine) -> Subject {
    let hash = e
        .hasher()
        .hash(&SecretString::new("correct horse"))
        .expect("hash");
    let usable = |d: Device, s: &[u8]| UsableDevice {
        device: d,
        secret: SecretBytes::new(s.to_vec()),
    };
    Subject {
        person: Person {
            id: 1,
            public_id: "p1".into(),
            username: "ann".into(),
            full_name: "Ann Example".into(),
            email: None,
            employee_number: None,
            org_id: 1,
            roles: vec![Role::Person],
            state: PersonState::Active,
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            blocked_at: None,
            email_verified_at: None,
        },
        password_hash: Some(hash),
        recovery_codes: Vec::new(),
        source_blocked_until: None,
        directory: None,
        policy: None,
        devices: vec![
            usable(
                device(
                    10,
                    DeviceKind::PhoneTotp,
                    "business phone",
                    OtpParams::totp_default(),
                ),
                PHONE1,
            ),
            usable(
                device(
                    11,
                    DeviceKind::PhoneTotp,
                    "private phone",
                    OtpParams::totp_default(),
                ),
                PHONE2,
            ),
            usable(
                device(
                    12,
                    DeviceKind::HardwareToken,
                    "token at branch",
                    hotp_params(),
                ),
                TOKEN,
            ),
        ],
    }
}

fn attempt(user: &str, password: &str, code: Option<&str>) -> Attempt {
    let password = SecretString::new(password);
    Attempt {
        username: user.into(),
        credentials: match code {
            Some(c) => Credentials::PasswordAndCode {
                password,
                code: SecretString::new(c),
            },
            None => Credentials::PasswordOnly { password },
        },
        channel: Channel::Radius,
        client: Some("rdgw".into()),
        source: Some("192.0.2.7".parse().expect("ip")),
        request_id: Some("r1".into()),
        nas: None,
        typed_username: None,
    }
}

fn totp_now(seed: &[u8]) -> String {
    otp::totp(seed, NOW, 30, OtpHash::Sha1, 6)
}

/// Apply a decision's changes to the subject, as the store would (one attempt at a time).
fn apply(subject: &mut Subject, changes: &Changes, now: UnixTime) {
    for d in &mut subject.devices {
        match changes.device_use {
            Some(DeviceUse::TotpStep { device_id, step }) if device_id == d.device.id => {
                d.device.last_step = Some(step);
            }
            Some(DeviceUse::HotpCounter {
                device_id, next, ..
            }) if device_id == d.device.id => {
                d.device.counter = next;
            }
            _ => {}
        }
    }
    // A spent one-time code is no longer read (the store marks it used).
    subject.recovery_codes.retain(|c| match c.kind {
        OneTimeKind::Recovery => changes.recovery_code_used != Some(c.id),
        OneTimeKind::Temporary => changes.temporary_code_used != Some(c.id),
    });
    match changes.factor {
        Some(Counted::Failed(rule)) => {
            subject.person.failed_logins += 1;
            if let Some(until) = rule.until(subject.person.failed_logins, now) {
                subject.person.locked_until = Some(until);
            }
        }
        Some(Counted::Passed) => {
            subject.person.failed_logins = 0;
            subject.person.locked_until = None;
        }
        None => {}
    }
}

#[test]
fn any_linked_device_works_and_is_named() {
    let e = engine();
    let s = ann(&e);
    for (code, id, label) in [
        (totp_now(PHONE1), 10, "business phone"),
        (totp_now(PHONE2), 11, "private phone"),
        (otp::hotp(TOKEN, 0, OtpHash::Sha1, 6), 12, "token at branch"),
    ] {
        let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
        assert_eq!(
            d.verdict,
            Verdict::Accept {
                device_id: id,
                device_label: label.into()
            }
        );
        assert_eq!(d.event.kind, EventKind::LoginAttempt);
        assert_eq!(d.event.outcome, Outcome::Accept);
        assert_eq!(d.event.device_id, Some(id));
        assert_eq!(d.event.device_label.as_deref(), Some(label));
        assert_eq!(d.event.person_id, Some(1));
        assert_eq!(d.event.org_id, Some(1));
        assert_eq!(d.event.source.as_deref(), Some("192.0.2.7"));
        assert_eq!(d.event.client.as_deref(), Some("rdgw"));
    }
}

#[test]
fn a_used_totp_code_is_never_accepted_again() {
    let e = engine();
    let mut s = ann(&e);
    let code = totp_now(PHONE1);
    let first = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    assert!(matches!(first.verdict, Verdict::Accept { .. }));
    apply(&mut s, &first.changes, NOW);
    let again = e.decide(
        &attempt("ann", "correct horse", Some(&code)),
        Some(&s),
        NOW + 5,
    );
    assert_eq!(again.verdict, Verdict::Reject(Reason::ReplayedCode));
    assert_eq!(again.event.reason.as_deref(), Some("replayed_code"));
    // The next step's code is fine.
    let next = otp::totp(PHONE1, NOW + 30, 30, OtpHash::Sha1, 6);
    let d = e.decide(
        &attempt("ann", "correct horse", Some(&next)),
        Some(&s),
        NOW + 30,
    );
    assert!(matches!(d.verdict, Verdict::Accept { device_id: 10, .. }));
}

#[test]
fn hotp_look_ahead_moves_the_counter_and_old_codes_fail() {
    let e = engine();
    let mut s = ann(&e);
    let c3 = otp::hotp(TOKEN, 3, OtpHash::Sha1, 6);
    let d = e.decide(&attempt("ann", "correct horse", Some(&c3)), Some(&s), NOW);
    assert_eq!(
        d.changes.device_use,
        Some(DeviceUse::HotpCounter {
            device_id: 12,
            matched: 3,
            next: 4
        })
    );
    apply(&mut s, &d.changes, NOW);
    let d = e.decide(&attempt("ann", "correct horse", Some(&c3)), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    // Beyond the window of 10: no match.
    let far = otp::hotp(TOKEN, 4 + 10, OtpHash::Sha1, 6);
    let d = e.decide(&attempt("ann", "correct horse", Some(&far)), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
}

#[test]
fn hotp_resync_from_two_consecutive_codes() {
    let e = engine();
    let s = ann(&e);
    let token = &s.devices[2];
    let a = otp::hotp(TOKEN, 50, OtpHash::Sha1, 6);
    let b = otp::hotp(TOKEN, 51, OtpHash::Sha1, 6);
    assert_eq!(e.resync(token, &a, &b), Some(52));
    assert_eq!(e.resync(token, &b, &a), None);
}

#[test]
fn wrong_code_wrong_password_and_missing_code() {
    let e = engine();
    let s = ann(&e);
    let d = e.decide(
        &attempt("ann", "correct horse", Some("000000")),
        Some(&s),
        NOW,
    );
    let bad_code = if [totp_now(PHONE1), totp_now(PHONE2)].contains(&"000000".to_string()) {
        return;
    } else {
        d
    };
    assert_eq!(bad_code.verdict, Verdict::Reject(Reason::BadCode));
    let code = totp_now(PHONE1);
    let d = e.decide(&attempt("ann", "wrong horse", Some(&code)), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadPassword));
    assert_eq!(
        d.changes.device_use, None,
        "no code is consumed on a bad password"
    );
    let d = e.decide(&attempt("ann", "correct horse", Some("")), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::MissingCode));
}

#[test]
fn unknown_user_gets_the_wrong_password_answer() {
    let e = engine();
    let d = e.decide(
        &attempt("nobody", "correct horse", Some("123456")),
        None,
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::UnknownUser));
    assert_eq!(d.event.person_id, None);
    assert_eq!(d.event.username.as_deref(), Some("nobody"));
    assert_eq!(d.event.outcome, Outcome::Reject);
    assert_eq!(d.changes, Changes::default());
    // The public answer is a plain Reject for both: callers map every Reason to one answer.
    let s = ann(&e);
    let wrong = e.decide(&attempt("ann", "nope", Some("123456")), Some(&s), NOW);
    assert!(matches!(wrong.verdict, Verdict::Reject(_)));
    assert!(matches!(d.verdict, Verdict::Reject(_)));
}

/// argon2 verifications `f` runs on this thread.
fn argon2_runs(f: impl FnOnce()) -> usize {
    use crate::password::ARGON2_RUNS;
    let before = ARGON2_RUNS.with(std::cell::Cell::get);
    f();
    ARGON2_RUNS.with(std::cell::Cell::get) - before
}

#[test]
fn every_password_path_pays_exactly_one_hash() {
    // Unknown users, wrong passwords, locked and disabled accounts all cost one argon2
    // verification, like a right password: no answer comes back faster for any of them.
    let e = engine();
    let s = ann(&e);
    let good = totp_now(PHONE1);
    assert_eq!(
        argon2_runs(|| drop(e.decide(&attempt("nobody", "x", Some("1")), None, NOW))),
        1
    );
    assert_eq!(
        argon2_runs(|| drop(e.decide(&attempt("ann", "x", Some("1")), Some(&s), NOW))),
        1
    );
    assert_eq!(
        argon2_runs(|| drop(e.decide(
            &attempt("ann", "correct horse", Some(&good)),
            Some(&s),
            NOW
        ))),
        1
    );
    let mut locked = ann(&e);
    locked.person.locked_until = Some(NOW + 60);
    assert_eq!(
        argon2_runs(|| drop(e.decide(&attempt("ann", "x", Some("1")), Some(&locked), NOW))),
        1
    );
    let mut disabled = ann(&e);
    disabled.person.state = PersonState::Disabled;
    assert_eq!(
        argon2_runs(|| drop(e.decide(
            &attempt("ann", "correct horse", None),
            Some(&disabled),
            NOW
        ))),
        1
    );
    let mut no_hash = ann(&e);
    no_hash.password_hash = None;
    assert_eq!(
        argon2_runs(|| drop(e.decide(&attempt("ann", "x", Some("1")), Some(&no_hash), NOW))),
        1
    );
}

#[test]
fn disabled_or_removed_people_and_devices_never_authenticate() {
    let e = engine();
    let code = totp_now(PHONE1);
    for (state, reason) in [
        (PersonState::Disabled, Reason::PersonDisabled),
        (PersonState::Removed, Reason::PersonRemoved),
    ] {
        let mut s = ann(&e);
        s.person.state = state;
        let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
        assert_eq!(d.verdict, Verdict::Reject(reason));
        let c = Attempt {
            credentials: Credentials::CodeAfterPassword {
                code: SecretString::new(code.clone()),
            },
            ..attempt("ann", "", None)
        };
        assert!(matches!(
            e.decide(&c, Some(&s), NOW).verdict,
            Verdict::Reject(_)
        ));
    }
    for state in [
        DeviceState::Disabled,
        DeviceState::Removed,
        DeviceState::InStock,
    ] {
        let mut s = ann(&e);
        s.devices[0].device.state = state;
        let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode), "{state:?}");
    }
    let mut s = ann(&e);
    s.devices.clear();
    let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::NoDevice));
}

#[test]
fn wrong_codes_lock_the_person_grow_and_reset_on_success() {
    let e = engine();
    let mut s = ann(&e);
    let mut t = NOW;
    for i in 1..=5u32 {
        let d = e.decide(&attempt("ann", "correct horse", Some("12345")), Some(&s), t);
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
        apply(&mut s, &d.changes, t);
        assert_eq!(s.person.failed_logins, i);
    }
    assert_eq!(
        s.person.locked_until,
        Some(t + 60),
        "5 wrong codes -> 1 minute"
    );
    // During the backoff even the right password and code are not checked, nor counted.
    let good = totp_now(PHONE1);
    let d = e.decide(
        &attempt("ann", "correct horse", Some(&good)),
        Some(&s),
        t + 10,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::LockedOut));
    assert_eq!(
        d.changes,
        Changes::default(),
        "nothing to write but the event"
    );
    // After it, another failure doubles the backoff (6 failures: 2 minutes).
    t += 61;
    let d = e.decide(&attempt("ann", "correct horse", Some("12345")), Some(&s), t);
    apply(&mut s, &d.changes, t);
    assert_eq!(s.person.locked_until, Some(t + 120));
    // Capped at max_seconds.
    let rule = e.lockout_policy().factor_rule();
    assert_eq!(rule.until(40, t), Some(t + 600));
    assert_eq!(rule.until(4, t), None);
    // Success after the lock resets the count.
    t += 121;
    let code = otp::totp(PHONE2, t, 30, OtpHash::Sha1, 6);
    let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), t);
    assert!(matches!(d.verdict, Verdict::Accept { .. }));
    assert_eq!(d.changes.factor, Some(Counted::Passed));
}

#[test]
fn wrong_passwords_count_per_source_and_never_lock_the_person() {
    let e = engine();
    let mut s = ann(&e);
    let d = e.decide(&attempt("ann", "wrong", Some("123456")), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadPassword));
    let (source, counted) = d.changes.password.clone().expect("counted for the source");
    assert_eq!(source, "192.0.2.7");
    assert_eq!(counted, Counted::Failed(e.lockout_policy().password_rule()));
    assert_eq!(
        d.changes.factor, None,
        "the person's lockout is not touched"
    );
    // A blocked source is not checked (one dummy hash), and nothing more is counted.
    s.source_blocked_until = Some(NOW + 60);
    let code = totp_now(PHONE1);
    let runs = argon2_runs(|| {
        let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
        assert_eq!(d.verdict, Verdict::Reject(Reason::PasswordThrottled));
        assert_eq!(d.changes, Changes::default());
    });
    assert_eq!(runs, 1);
    // The second step of a challenge carries no password: the source block is not asked.
    let second = Attempt {
        credentials: Credentials::CodeAfterPassword {
            code: SecretString::new(code.clone()),
        },
        ..attempt("ann", "", None)
    };
    assert!(matches!(
        e.decide(&second, Some(&s), NOW).verdict,
        Verdict::Accept { .. }
    ));
    // Once the block is over, the right password resets the source's count.
    let code = otp::totp(PHONE2, NOW + 61, 30, OtpHash::Sha1, 6);
    let d = e.decide(
        &attempt("ann", "correct horse", Some(&code)),
        Some(&s),
        NOW + 61,
    );
    assert!(matches!(d.verdict, Verdict::Accept { .. }));
    assert_eq!(
        d.changes.password,
        Some(("192.0.2.7".to_owned(), Counted::Passed))
    );
}

#[test]
fn a_blocked_person_never_authenticates() {
    let e = engine();
    let mut s = ann(&e);
    s.person.blocked_at = Some(NOW - 5);
    let code = totp_now(PHONE1);
    let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::PersonBlocked));
    let second = Attempt {
        credentials: Credentials::CodeAfterPassword {
            code: SecretString::new(code),
        },
        ..attempt("ann", "", None)
    };
    assert_eq!(
        e.decide(&second, Some(&s), NOW).verdict,
        Verdict::Reject(Reason::PersonBlocked)
    );
}

#[test]
fn challenge_steps() {
    let e = engine();
    let s = ann(&e);
    let d = e.decide(&attempt("ann", "correct horse", None), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::NeedSecondFactor);
    assert_eq!(d.event.outcome, Outcome::Challenge);
    assert_eq!(d.changes.device_use, None);
    let d = e.decide(&attempt("ann", "wrong", None), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadPassword));
    let second = Attempt {
        credentials: Credentials::CodeAfterPassword {
            code: SecretString::new(totp_now(PHONE2)),
        },
        ..attempt("ann", "", None)
    };
    let d = e.decide(&second, Some(&s), NOW);
    assert!(matches!(d.verdict, Verdict::Accept { device_id: 11, .. }));
}

#[test]
fn rehash_when_parameters_change() {
    let old = engine();
    let s = ann(&old);
    let newer = engine_with(PasswordPolicy {
        memory_kib: 128,
        ..policy()
    });
    let code = totp_now(PHONE1);
    let d = newer.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    assert!(matches!(d.verdict, Verdict::Accept { .. }));
    let new_hash = d.changes.new_password_hash.expect("rehashed");
    assert!(new_hash.starts_with("$argon2id$v=19$m=128,t=1,p=1$"));
    assert!(
        newer
            .hasher()
            .verify(&SecretString::new("correct horse"), Some(&new_hash))
    );
    let same = old.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    assert_eq!(same.changes.new_password_hash, None);
}

#[test]
fn races_the_store_reports() {
    use crate::changes::Recorded;
    let e = engine();
    let s = ann(&e);
    let a = attempt("ann", "correct horse", Some("1"));
    let d = e.after_race(Recorded::LostRace, &a, Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::ReplayedCode));
    assert!(
        matches!(d.changes.factor, Some(Counted::Failed(_))),
        "a replay counts"
    );
    let d = e.after_race(Recorded::Locked, &a, Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::LockedOut));
    assert_eq!(d.changes, Changes::default());
    let d = e.after_race(Recorded::Throttled, &a, Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::PasswordThrottled));
    assert_eq!(d.changes, Changes::default());
}

#[test]
fn events_hold_no_secret() {
    let e = engine();
    let s = ann(&e);
    let code = totp_now(PHONE1);
    let d = e.decide(&attempt("ann", "correct horse", Some(&code)), Some(&s), NOW);
    let text = serde_json::to_string(&d.event).expect("json");
    assert!(!text.contains("correct horse"));
    assert!(!text.contains(&code));
    let dbg = format!("{:?}", attempt("ann", "correct horse", Some(&code)));
    assert!(
        !dbg.contains("correct horse") && !dbg.contains(&code),
        "{dbg}"
    );
}

#[test]
fn a_recovery_code_stands_in_for_a_device_code_once() {
    let e = engine();
    let mut s = ann(&e);
    s.recovery_codes = vec![
        RecoveryCode {
            id: 7,
            hash: e.code_key().hash(1, "ABCDE23456"),
            kind: OneTimeKind::Recovery,
            expires_at: None,
            legacy: false,
        },
        RecoveryCode {
            id: 8,
            hash: e.code_key().hash(1, "QRSTU76543"),
            kind: OneTimeKind::Recovery,
            expires_at: None,
            legacy: false,
        },
    ];
    // Typed in lower case with its dash: the same code.
    let d = e.decide(
        &attempt("ann", "correct horse", Some("qrstu-76543")),
        Some(&s),
        NOW,
    );
    assert!(
        matches!(
            d.verdict,
            Verdict::Accept {
                device_id: RECOVERY_CODE_DEVICE,
                ..
            }
        ),
        "{:?}",
        d.verdict
    );
    assert_eq!(d.changes.recovery_code_used, Some(8));
    assert_eq!(d.changes.device_use, None);
    assert_eq!(d.event.device_label.as_deref(), Some("recovery code"));
    // One that is not (or no longer) stored is a wrong code.
    s.recovery_codes.retain(|c| c.id != 8);
    let d = e.decide(
        &attempt("ann", "correct horse", Some("QRSTU-76543")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    assert_eq!(d.changes.recovery_code_used, None);
    assert_eq!(normalise_recovery_code("ABCDE-2345"), None, "too short");
    assert_eq!(normalise_recovery_code("ABCDE-23451"), None, "not base32");
}

fn temporary(e: &Engine, id: i64, normal: &str, expires_at: UnixTime) -> RecoveryCode {
    RecoveryCode {
        id,
        hash: e.code_key().hash(1, normal),
        kind: OneTimeKind::Temporary,
        expires_at: Some(expires_at),
        legacy: false,
    }
}

#[test]
fn one_time_codes_are_keyed_per_person_and_legacy_rows_still_work() {
    let e = engine();
    let key = e.code_key();
    assert_ne!(key.hash(1, "ABCDE23456"), key.hash(2, "ABCDE23456"));
    assert_ne!(key.hash(1, "ABCDE23456"), legacy_code_hash("ABCDE23456"));
    assert_ne!(
        key.hash(1, "ABCDE23456"),
        CodeKey::new([8; 32]).hash(1, "ABCDE23456"),
        "another master key, another hash"
    );
    let mut s = ann(&e);
    // A row written before keyed hashes (plain SHA-256) is still accepted once.
    s.recovery_codes = vec![RecoveryCode {
        id: 9,
        hash: legacy_code_hash("LEGCY23456"),
        kind: OneTimeKind::Recovery,
        expires_at: None,
        legacy: true,
    }];
    let d = e.decide(
        &attempt("ann", "correct horse", Some("LEGCY-23456")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.changes.recovery_code_used, Some(9));
    // Another person's keyed code does not work for ann.
    s.recovery_codes = vec![RecoveryCode {
        id: 10,
        hash: key.hash(2, "OTHER23456"),
        kind: OneTimeKind::Recovery,
        expires_at: None,
        legacy: false,
    }];
    let d = e.decide(
        &attempt("ann", "correct horse", Some("OTHER-23456")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
}

#[test]
fn a_temporary_code_works_once_until_it_expires() {
    let e = engine();
    let mut s = ann(&e);
    s.recovery_codes = vec![temporary(&e, 3, "HELPD23456", NOW + 3600)];
    let d = e.decide(
        &attempt("ann", "correct horse", Some("helpd-23456")),
        Some(&s),
        NOW,
    );
    assert!(
        matches!(
            d.verdict,
            Verdict::Accept {
                device_id: RECOVERY_CODE_DEVICE,
                ..
            }
        ),
        "{:?}",
        d.verdict
    );
    assert_eq!(d.changes.temporary_code_used, Some(3));
    assert_eq!(d.changes.recovery_code_used, None);
    assert_eq!(d.changes.device_use, None);
    assert_eq!(d.event.device_label.as_deref(), Some("temporary code"));
    // Once: spent, it is a wrong code.
    apply(&mut s, &d.changes, NOW);
    let d = e.decide(
        &attempt("ann", "correct horse", Some("HELPD-23456")),
        Some(&s),
        NOW + 1,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    assert_eq!(d.changes.temporary_code_used, None);
}

#[test]
fn an_expired_temporary_code_never_works() {
    let e = engine();
    let mut s = ann(&e);
    s.recovery_codes = vec![temporary(&e, 3, "HELPD23456", NOW + 3600)];
    for at in [NOW + 3600, NOW + 86_400] {
        let d = e.decide(
            &attempt("ann", "correct horse", Some("HELPD-23456")),
            Some(&s),
            at,
        );
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode), "at {at}");
        assert_eq!(d.changes.temporary_code_used, None);
    }
    // Nor does it let a person without a device in once expired; while live it does.
    s.devices.clear();
    let d = e.decide(
        &attempt("ann", "correct horse", Some("HELPD-23456")),
        Some(&s),
        NOW + 3600,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::NoDevice));
    let d = e.decide(
        &attempt("ann", "correct horse", Some("HELPD-23456")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.changes.temporary_code_used, Some(3));
}

#[test]
fn a_replaced_temporary_code_is_refused() {
    let e = engine();
    let mut s = ann(&e);
    // The store holds only the newest unused code: the old one was deleted when it was issued.
    s.recovery_codes = vec![temporary(&e, 4, "NEWCD23456", NOW + 3600)];
    let d = e.decide(
        &attempt("ann", "correct horse", Some("OLDCD-23456")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    let d = e.decide(
        &attempt("ann", "correct horse", Some("NEWCD-23456")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.changes.temporary_code_used, Some(4));
}

#[test]
fn a_directory_verdict_stands_in_for_the_hash() {
    use crate::directory::DirectoryCheck;
    let e = engine();
    let mut s = ann(&e);
    s.password_hash = None;
    // Passed: whatever was typed, the directory accepted it; the code is still checked.
    s.directory = Some(DirectoryCheck::Passed);
    let d = e.decide(
        &attempt("ann", "the windows password", Some(&totp_now(PHONE1))),
        Some(&s),
        NOW,
    );
    assert!(
        matches!(d.verdict, Verdict::Accept { .. }),
        "{:?}",
        d.verdict
    );
    assert!(
        d.changes.new_password_hash.is_none(),
        "no local hash is made"
    );
    // Failed: a wrong password, counted toward the source's throttle.
    s.directory = Some(DirectoryCheck::Failed);
    let d = e.decide(
        &attempt("ann", "correct horse", Some(&totp_now(PHONE1))),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadPassword));
    assert!(matches!(d.changes.password, Some((_, Counted::Failed(_)))));
    // Refused: its own reason, not counted.
    s.directory = Some(DirectoryCheck::Refused(Reason::DirectoryPasswordMustChange));
    let d = e.decide(&attempt("ann", "x", Some("123456")), Some(&s), NOW);
    assert_eq!(
        d.verdict,
        Verdict::Reject(Reason::DirectoryPasswordMustChange)
    );
    assert_eq!(
        d.event.reason.as_deref(),
        Some("directory_password_must_change")
    );
    assert!(d.changes.password.is_none());
    // A disabled person is refused as disabled whatever the directory said.
    s.person.state = PersonState::Disabled;
    s.directory = Some(DirectoryCheck::Refused(Reason::DirectoryUnavailable));
    let d = e.decide(&attempt("ann", "x", Some("123456")), Some(&s), NOW);
    assert_eq!(d.verdict, Verdict::Reject(Reason::PersonDisabled));
}

#[test]
fn an_organisation_policy_refuses_factor_kinds_and_sets_the_lockout_threshold() {
    use crate::policy::{FactorKind, OrgPolicy};
    let e = engine();
    let mut s = ann(&e);
    s.policy = Some(std::sync::Arc::new(OrgPolicy {
        factors: Some(vec![FactorKind::HardwareToken]),
        lockout_threshold: Some(3),
        ..OrgPolicy::default()
    }));
    // A right code from a phone: refused as a kind the organisation does not allow, not
    // counted toward the lockout.
    let d = e.decide(
        &attempt("ann", "correct horse", Some(&totp_now(PHONE1))),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::FactorNotAllowed));
    assert!(d.changes.factor.is_none());
    assert!(d.changes.device_use.is_none(), "the code is not spent");
    // The token counts.
    let hotp = otp::hotp(TOKEN, 0, OtpHash::Sha1, 6);
    let d = e.decide(&attempt("ann", "correct horse", Some(&hotp)), Some(&s), NOW);
    assert!(
        matches!(d.verdict, Verdict::Accept { .. }),
        "{:?}",
        d.verdict
    );
    // A wrong code counts with the organisation's threshold.
    let d = e.decide(
        &attempt("ann", "correct horse", Some("000000")),
        Some(&s),
        NOW,
    );
    assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    match d.changes.factor {
        Some(Counted::Failed(rule)) => assert_eq!(rule.threshold, 3),
        other => panic!("{other:?}"),
    }
}
