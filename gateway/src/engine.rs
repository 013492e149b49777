//! The decision engine: password + second factor + lockout -> accept / reject / challenge,
//! and the audit event that says why. Pure: no sockets, no SQL, `now` is a parameter.
//!
//! The caller looks the person up, opens the device seeds, runs [`Engine::decide`] on a
//! blocking pool (argon2id is the expensive part), then applies [`Changes`] and writes the
//! event in one transaction. A device-use change is a compare-and-set: when another request
//! used the same code first, the caller swaps the decision for [`Engine::after_race`].

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
pub use crate::changes::{
    Changes, Counted, DeviceUse, LockoutRule, OneTimeKind, RecoveryCode, source_key,
};
use crate::config::{LockoutPolicy, OtpPolicy};
use crate::model::{
    Device, DeviceId, DeviceKind, DeviceState, Person, PersonId, PersonState, UnixTime,
};
use crate::otp::{self, OtpKind, TotpCheck};
use crate::password::PasswordHasherCfg;
use crate::secret::{SecretBytes, SecretString, ct_eq};
use sha2::{Digest as _, Sha256};
use std::net::IpAddr;

/// What the person presented.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Password and one-time code together (web form, RADIUS append mode).
    PasswordAndCode {
        password: SecretString,
        code: SecretString,
    },
    /// The first step of a challenge: password only. A right password asks for the code.
    PasswordOnly { password: SecretString },
    /// The second step of a challenge. The caller vouches (by its single-use state bound to
    /// this username and client) that the password step was passed moments ago.
    CodeAfterPassword { code: SecretString },
    /// The second step, answered with a security key: the caller vouches for the password
    /// step as for `CodeAfterPassword`, and has verified the WebAuthn assertion (None: it did
    /// not verify, which counts as a failed attempt).
    KeyAfterPassword { key: Option<KeyAssertion> },
}

/// A WebAuthn assertion the caller verified: which security key (device) signed, and the
/// signature counter it reported (0: the key keeps none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAssertion {
    pub device_id: DeviceId,
    pub counter: u32,
}

/// One login attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub username: String,
    pub credentials: Credentials,
    pub channel: Channel,
    pub client: Option<String>,
    pub source: Option<IpAddr>,
    pub request_id: Option<String>,
    /// RADIUS: the NAS's own address, when `source` is the end user's (audited in
    /// `detail.nas`; a NAS is never limited per source).
    pub nas: Option<IpAddr>,
    /// RADIUS: the username as typed, when it was mapped to `username` (`PRAKTIJK\ann`).
    pub typed_username: Option<String>,
}

/// A device whose seed the caller has opened.
#[derive(Debug, Clone)]
pub struct UsableDevice {
    pub device: Device,
    pub secret: SecretBytes,
}

/// The device id an accept by a recovery code names (no device has it).
pub const RECOVERY_CODE_DEVICE: DeviceId = 0;
/// Characters in a recovery code (base32).
pub const RECOVERY_CODE_LEN: usize = 10;

/// A recovery code as typed, in normal form: upper case, without blanks and dashes; None
/// when it cannot be one.
pub fn normalise_recovery_code(code: &str) -> Option<String> {
    let c: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let base32 = |c: char| c.is_ascii_uppercase() || ('2'..='7').contains(&c);
    (c.len() == RECOVERY_CODE_LEN && c.chars().all(base32)).then_some(c)
}

/// The key one-time codes (recovery and temporary codes) are hashed under: derived from
/// the master key, so a copy of the database alone cannot be swept offline.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

impl CodeKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// What is stored of a one-time code of `person` (in normal form): HMAC-SHA256 under
    /// this key of the person id and the code, so the same code of two people is stored
    /// differently and a database copy cannot be swept without the master key.
    pub fn hash(&self, person: PersonId, normal: &str) -> [u8; 32] {
        use hmac::Mac as _;
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(&person.to_be_bytes());
        mac.update(normal.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// What an older version stored of a one-time code: its plain SHA-256 (still accepted for
/// rows marked legacy, until they are used or replaced).
pub fn legacy_code_hash(normal: &str) -> [u8; 32] {
    Sha256::digest(normal.as_bytes()).into()
}

/// What the store knows of the claimed person.
#[derive(Debug, Clone)]
pub struct Subject {
    pub person: Person,
    pub password_hash: Option<String>,
    pub devices: Vec<UsableDevice>,
    /// Unused recovery codes and temporary codes: each can stand in for a device's code once
    /// (a temporary code only until it expires).
    pub recovery_codes: Vec<RecoveryCode>,
    /// Until when the attempt's source may not try this person's password (too many wrong
    /// passwords from there), as read before the attempt.
    pub source_blocked_until: Option<UnixTime>,
    /// For a person whose password a directory checks: what it said (None: the local
    /// password hash is checked).
    pub directory: Option<crate::directory::DirectoryCheck>,
    /// The person's organisation's policy (factor kinds, lockout threshold); None: the
    /// defaults.
    pub policy: Option<std::sync::Arc<crate::policy::OrgPolicy>>,
}

impl Subject {
    /// Does the organisation's policy let `kind` count?
    fn allows(&self, kind: crate::policy::FactorKind) -> bool {
        self.policy.as_ref().is_none_or(|p| p.allows(kind))
    }
}

/// Why an attempt was rejected. A closed set: the audit and the metrics count these. Every
/// one of them gives the client the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    UnknownUser,
    NoPassword,
    BadPassword,
    PersonDisabled,
    PersonRemoved,
    LockedOut,
    NoDevice,
    MissingCode,
    BadCode,
    ReplayedCode,
    RateLimited,
    Overloaded,
    ChallengeExpired,
    SecondFactorOnlyUnsupported,
    /// Out-of-band approval: the person denied.
    ApprovalDenied,
    /// Out-of-band approval: nobody answered in time.
    ApprovalTimedOut,
    /// Out-of-band approval: the person said "this was not me" (a suspected attack).
    ApprovalNotMe,
    /// Out-of-band approval: a newer request for the same person took its place.
    ApprovalReplaced,
    /// Out-of-band approval: too many prompts for this person lately (no prompt sent).
    TooManyPrompts,
    /// Out-of-band approval: refused for a while after "this was not me".
    ApprovalsLocked,
    /// A security key's assertion did not verify, or names no active key of the person's.
    BadKey,
    /// Too many wrong passwords for this person from this source lately: the password is
    /// not checked from there for a while (the person elsewhere is not affected).
    PasswordThrottled,
    /// An org admin or operator blocked the person ("block now").
    PersonBlocked,
    /// The shared state (Redis) could not be reached: nothing was checked.
    SharedStateUnavailable,
    /// /approve: no sign-in of this person was waiting for an approval.
    NoPendingApproval,
    /// The person's directory (LDAP / AD) could not be reached: nothing was checked.
    DirectoryUnavailable,
    /// The directory account is disabled (or expired).
    DirectoryAccountDisabled,
    /// The directory account is locked.
    DirectoryAccountLocked,
    /// The directory password has expired.
    DirectoryPasswordExpired,
    /// The directory says the password must be changed first.
    DirectoryPasswordMustChange,
    /// The directory account is not in the required group.
    DirectoryNotInGroup,
    /// The RADIUS or OIDC client serves other organisations than the person's (answered as
    /// an unknown user is).
    ClientNotForOrg,
    /// The organisation's policy does not let this kind of second factor count (the code or
    /// key was right; not counted as a failure).
    FactorNotAllowed,
    /// The organisation's policy does not accept this client from the end user's address.
    SourceNotAllowed,
    /// The organisation's policy refuses out-of-band approvals.
    ApprovalsNotAllowed,
    /// The username is taken in several organisations and neither the name nor the client
    /// says which (answered as an unknown user is).
    AmbiguousUsername,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::NoPassword => "no_password",
            Self::BadPassword => "bad_password",
            Self::PersonDisabled => "person_disabled",
            Self::PersonRemoved => "person_removed",
            Self::LockedOut => "locked_out",
            Self::NoDevice => "no_device",
            Self::MissingCode => "missing_code",
            Self::BadCode => "bad_code",
            Self::ReplayedCode => "replayed_code",
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::ChallengeExpired => "challenge_expired",
            Self::SecondFactorOnlyUnsupported => "second_factor_only_unsupported",
            Self::ApprovalDenied => "approval_denied",
            Self::ApprovalTimedOut => "approval_timed_out",
            Self::ApprovalNotMe => "approval_not_me",
            Self::ApprovalReplaced => "approval_replaced",
            Self::TooManyPrompts => "too_many_prompts",
            Self::ApprovalsLocked => "approvals_locked",
            Self::BadKey => "bad_key",
            Self::PasswordThrottled => "password_throttled",
            Self::PersonBlocked => "person_blocked",
            Self::SharedStateUnavailable => "shared_state_unavailable",
            Self::NoPendingApproval => "no_pending_approval",
            Self::DirectoryUnavailable => "directory_unavailable",
            Self::DirectoryAccountDisabled => "directory_account_disabled",
            Self::DirectoryAccountLocked => "directory_account_locked",
            Self::DirectoryPasswordExpired => "directory_password_expired",
            Self::DirectoryPasswordMustChange => "directory_password_must_change",
            Self::DirectoryNotInGroup => "directory_not_in_group",
            Self::ClientNotForOrg => "client_not_for_org",
            Self::FactorNotAllowed => "factor_not_allowed",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::ApprovalsNotAllowed => "approvals_not_allowed",
            Self::AmbiguousUsername => "ambiguous_username",
        }
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept {
        device_id: DeviceId,
        device_label: String,
    },
    Reject(Reason),
    NeedSecondFactor,
}

/// The engine's answer: the verdict, the state changes, and the event to write.
#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    pub changes: Changes,
    pub event: AuditEvent,
}

/// The rules, configured.
#[derive(Debug, Clone)]
pub struct Engine {
    hasher: PasswordHasherCfg,
    otp: OtpPolicy,
    lockout: LockoutPolicy,
    codes: CodeKey,
}

impl Engine {
    pub fn new(
        hasher: PasswordHasherCfg,
        otp: OtpPolicy,
        lockout: LockoutPolicy,
        codes: CodeKey,
    ) -> Self {
        Self {
            hasher,
            otp,
            lockout,
            codes,
        }
    }

    pub fn hasher(&self) -> &PasswordHasherCfg {
        &self.hasher
    }

    pub fn otp_policy(&self) -> &OtpPolicy {
        &self.otp
    }

    pub fn lockout_policy(&self) -> &LockoutPolicy {
        &self.lockout
    }

    /// The key one-time codes are stored under.
    pub fn code_key(&self) -> &CodeKey {
        &self.codes
    }

    /// The unused, unexpired one-time code of `person` that `code` is, if any (every stored
    /// hash compared, in constant time).
    fn one_time_match(
        &self,
        person: PersonId,
        codes: &[RecoveryCode],
        code: &str,
        now: UnixTime,
    ) -> Option<(i64, OneTimeKind)> {
        let normal = normalise_recovery_code(code)?;
        let keyed = self.codes.hash(person, &normal);
        let legacy = codes
            .iter()
            .any(|c| c.legacy)
            .then(|| legacy_code_hash(&normal));
        codes.iter().fold(None, |found, c| {
            let live = c.expires_at.is_none_or(|e| now < e);
            let expected = if c.legacy {
                legacy.as_ref().unwrap_or(&keyed)
            } else {
                &keyed
            };
            found.or((ct_eq(&c.hash, expected) && live).then_some((c.id, c.kind)))
        })
    }

    /// The source key of an attempt, as the password throttle counts it.
    pub fn source_key(&self, attempt: &Attempt) -> String {
        source_key(attempt.source, self.lockout.ipv6_prefix)
    }

    /// Decide one attempt. `subject` is `None` for an unknown username.
    ///
    /// Counters are not decided here but in the store, atomically: a wrong password counts
    /// toward its source's throttle for this person ([`Changes::password`]), a wrong second
    /// factor after a right password toward the person's lockout ([`Changes::factor`]).
    /// When a concurrent attempt set a lock first, the store writes nothing and the caller
    /// asks [`Engine::after_race`] for the decision to write instead.
    pub fn decide(&self, attempt: &Attempt, subject: Option<&Subject>, now: UnixTime) -> Decision {
        let password = match &attempt.credentials {
            Credentials::PasswordAndCode { password, .. }
            | Credentials::PasswordOnly { password } => Some(password),
            Credentials::CodeAfterPassword { .. } | Credentials::KeyAfterPassword { .. } => None,
        };
        let Some(subject) = subject else {
            // Same path and cost as a known person with a wrong password.
            if let Some(pw) = password {
                self.hasher.verify_dummy(pw);
            }
            return self.reject(attempt, None, Reason::UnknownUser, Changes::default(), now);
        };
        let person = &subject.person;

        if person.locked_until.is_some_and(|until| now < until) {
            // Never checked; the dummy hash keeps the timing of a real check.
            if let Some(pw) = password {
                self.hasher.verify_dummy(pw);
            }
            return self.reject(
                attempt,
                Some(subject),
                Reason::LockedOut,
                Changes::default(),
                now,
            );
        }

        let mut changes = Changes::default();
        if let Some(pw) = password {
            if subject
                .source_blocked_until
                .is_some_and(|until| now < until)
            {
                self.hasher.verify_dummy(pw);
                return self.reject(
                    attempt,
                    Some(subject),
                    Reason::PasswordThrottled,
                    changes,
                    now,
                );
            }
            use crate::directory::DirectoryCheck;
            let ok = match subject.directory {
                // Checked by the directory before the engine ran: no hash here.
                Some(DirectoryCheck::Passed) => true,
                Some(DirectoryCheck::Failed | DirectoryCheck::Refused(_)) => false,
                None => self.hasher.verify(pw, subject.password_hash.as_deref()),
            };
            if let Some(reason) = state_reason(person) {
                return self.reject(attempt, Some(subject), reason, changes, now);
            }
            if let Some(DirectoryCheck::Refused(reason)) = subject.directory {
                // Not a wrong password: not counted toward the source's throttle.
                return self.reject(attempt, Some(subject), reason, changes, now);
            }
            let key = self.source_key(attempt);
            if !ok {
                let reason = if subject.password_hash.is_some() || subject.directory.is_some() {
                    Reason::BadPassword
                } else {
                    Reason::NoPassword
                };
                changes.password = Some((key, Counted::Failed(self.lockout.password_rule())));
                return self.reject(attempt, Some(subject), reason, changes, now);
            }
            changes.password = Some((key, Counted::Passed));
            if let Some(hash) = &subject.password_hash
                && self.hasher.needs_rehash(hash)
            {
                changes.new_password_hash = self.hasher.hash_unchecked(pw).ok();
            }
        } else if let Some(reason) = state_reason(person) {
            return self.reject(attempt, Some(subject), reason, changes, now);
        }

        let active: Vec<&UsableDevice> = subject
            .devices
            .iter()
            .filter(|d| d.device.state == DeviceState::Active)
            .filter(|d| d.device.person_id == Some(person.id))
            .collect();
        // A live temporary code (the helpdesk path) stands in for a lost device that was
        // already unlinked.
        let temporary = subject
            .recovery_codes
            .iter()
            .any(|c| c.kind == OneTimeKind::Temporary && c.expires_at.is_none_or(|e| now < e));
        if active.is_empty() && !temporary {
            return self.reject(attempt, Some(subject), Reason::NoDevice, changes, now);
        }

        let code = match &attempt.credentials {
            Credentials::PasswordOnly { .. } => {
                let event = self.event(attempt, Some(subject), Outcome::Challenge, None, now);
                return Decision {
                    verdict: Verdict::NeedSecondFactor,
                    changes,
                    event,
                };
            }
            Credentials::PasswordAndCode { code, .. } | Credentials::CodeAfterPassword { code } => {
                code.expose().trim()
            }
            Credentials::KeyAfterPassword { key } => {
                return self.decide_key(attempt, subject, &active, *key, changes, now);
            }
        };
        if code.is_empty() {
            return self.fail(attempt, subject, Reason::MissingCode, changes, now);
        }

        // Try every active device; the first that matches with an unused code wins.
        let mut replayed = false;
        for d in active {
            let dev = &d.device;
            // A security key gives no code (see `decide_key`).
            if dev.kind == DeviceKind::SecurityKey {
                continue;
            }
            let secret = d.secret.expose();
            let matched = match dev.otp.kind {
                OtpKind::Totp { .. } => match otp::check_totp(
                    secret,
                    &dev.otp,
                    code,
                    now,
                    self.otp.totp_skew_steps,
                    dev.last_step,
                ) {
                    TotpCheck::Matched { step } => Some(DeviceUse::TotpStep {
                        device_id: dev.id,
                        step,
                    }),
                    TotpCheck::Replayed { .. } => {
                        replayed = true;
                        None
                    }
                    TotpCheck::NoMatch => None,
                },
                OtpKind::Hotp => otp::check_hotp(
                    secret,
                    &dev.otp,
                    code,
                    dev.counter,
                    self.otp.hotp_look_ahead,
                )
                .map(|matched| DeviceUse::HotpCounter {
                    device_id: dev.id,
                    matched,
                    next: matched + 1,
                }),
            };
            if let Some(device_use) = matched {
                if !subject.allows(crate::policy::FactorKind::of_device(dev.kind)) {
                    return self.kind_refused(attempt, subject, changes, now);
                }
                changes.device_use = Some(device_use);
                return self.accept(attempt, subject, dev.id, &dev.label, None, changes, now);
            }
        }
        if let Some((used, kind)) =
            self.one_time_match(person.id, &subject.recovery_codes, code, now)
        {
            let factor = match kind {
                OneTimeKind::Recovery => crate::policy::FactorKind::RecoveryCode,
                OneTimeKind::Temporary => crate::policy::FactorKind::TemporaryCode,
            };
            if !subject.allows(factor) {
                return self.kind_refused(attempt, subject, changes, now);
            }
            match kind {
                OneTimeKind::Recovery => changes.recovery_code_used = Some(used),
                OneTimeKind::Temporary => changes.temporary_code_used = Some(used),
            }
            let detail = match kind {
                OneTimeKind::Recovery => serde_json::json!({ "recovery_code": used }),
                OneTimeKind::Temporary => serde_json::json!({ "temporary_code": used }),
            };
            return self.accept(
                attempt,
                subject,
                RECOVERY_CODE_DEVICE,
                kind.label(),
                Some(detail),
                changes,
                now,
            );
        }
        let reason = if replayed {
            Reason::ReplayedCode
        } else {
            Reason::BadCode
        };
        self.fail(attempt, subject, reason, changes, now)
    }

    /// The second factor by security key: `key` must name one of the person's active keys.
    fn decide_key(
        &self,
        attempt: &Attempt,
        subject: &Subject,
        active: &[&UsableDevice],
        key: Option<KeyAssertion>,
        mut changes: Changes,
        now: UnixTime,
    ) -> Decision {
        let found = key.and_then(|k| {
            active
                .iter()
                .find(|d| d.device.id == k.device_id && d.device.kind == DeviceKind::SecurityKey)
                .map(|d| (k, &d.device))
        });
        let Some((k, dev)) = found else {
            return self.fail(attempt, subject, Reason::BadKey, changes, now);
        };
        if !subject.allows(crate::policy::FactorKind::SecurityKey) {
            return self.kind_refused(attempt, subject, changes, now);
        }
        changes.device_use = Some(DeviceUse::SecurityKey {
            device_id: dev.id,
            counter: k.counter,
        });
        self.accept(attempt, subject, dev.id, &dev.label, None, changes, now)
    }

    /// An accept by `device_id`: the second factor passed (the lockout is reset).
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        attempt: &Attempt,
        subject: &Subject,
        device_id: DeviceId,
        label: &str,
        detail: Option<serde_json::Value>,
        mut changes: Changes,
        now: UnixTime,
    ) -> Decision {
        changes.factor = Some(Counted::Passed);
        let mut event = self.event(attempt, Some(subject), Outcome::Accept, None, now);
        if device_id != RECOVERY_CODE_DEVICE {
            event.device_id = Some(device_id);
        }
        event.device_label = Some(label.to_owned());
        event.detail = detail;
        Decision {
            verdict: Verdict::Accept {
                device_id,
                device_label: label.to_owned(),
            },
            changes,
            event,
        }
    }

    /// The decision to write instead of one the store refused: `Recorded::LostRace` (another
    /// request used this code first: a replay, which counts as a wrong code),
    /// `Recorded::Locked` (a concurrent attempt locked the person: nothing is decided on
    /// these credentials) or `Recorded::Throttled` (likewise for the source).
    pub fn after_race(
        &self,
        race: crate::changes::Recorded,
        attempt: &Attempt,
        subject: Option<&Subject>,
        now: UnixTime,
    ) -> Decision {
        use crate::changes::Recorded;
        let reason = match race {
            Recorded::LostRace => Reason::ReplayedCode,
            Recorded::Throttled => Reason::PasswordThrottled,
            Recorded::Locked | Recorded::Written => Reason::LockedOut,
        };
        match subject {
            Some(subject) if race == Recorded::LostRace => {
                self.fail(attempt, subject, reason, Changes::default(), now)
            }
            _ => self.reject(attempt, subject, reason, Changes::default(), now),
        }
    }

    /// Resynchronise an HOTP device from two consecutive codes: the new next counter.
    pub fn resync(&self, device: &UsableDevice, first: &str, second: &str) -> Option<u64> {
        otp::resync_hotp(
            device.secret.expose(),
            &device.device.otp,
            first.trim(),
            second.trim(),
            device.device.counter,
            self.otp.hotp_resync_window,
        )
    }

    /// A wrong second factor after a right password: counts toward the person's lockout.
    fn fail(
        &self,
        attempt: &Attempt,
        subject: &Subject,
        reason: Reason,
        mut changes: Changes,
        now: UnixTime,
    ) -> Decision {
        let mut rule = self.lockout.factor_rule();
        if let Some(t) = subject.policy.as_ref().and_then(|p| p.lockout_threshold) {
            rule.threshold = t;
        }
        changes.factor = Some(Counted::Failed(rule));
        self.reject(attempt, Some(subject), reason, changes, now)
    }

    /// A right code or key of a kind the organisation's policy does not let count: refused,
    /// not counted as a failure, nothing spent.
    fn kind_refused(
        &self,
        attempt: &Attempt,
        subject: &Subject,
        changes: Changes,
        now: UnixTime,
    ) -> Decision {
        self.reject(
            attempt,
            Some(subject),
            Reason::FactorNotAllowed,
            changes,
            now,
        )
    }

    fn reject(
        &self,
        attempt: &Attempt,
        subject: Option<&Subject>,
        reason: Reason,
        changes: Changes,
        now: UnixTime,
    ) -> Decision {
        let mut event = self.event(attempt, subject, Outcome::Reject, Some(reason), now);
        if reason == Reason::LockedOut
            && let Some(until) = subject.and_then(|s| s.person.locked_until)
        {
            event.detail = Some(serde_json::json!({ "locked_until": until }));
        }
        if reason == Reason::PasswordThrottled
            && let Some(until) = subject.and_then(|s| s.source_blocked_until)
        {
            event.detail = Some(serde_json::json!({ "source_blocked_until": until }));
        }
        Decision {
            verdict: Verdict::Reject(reason),
            changes,
            event,
        }
    }

    fn event(
        &self,
        attempt: &Attempt,
        subject: Option<&Subject>,
        outcome: Outcome,
        reason: Option<Reason>,
        now: UnixTime,
    ) -> AuditEvent {
        let person = subject.map(|s| &s.person);
        AuditEvent {
            time: now,
            kind: EventKind::LoginAttempt,
            actor: person.map_or_else(|| "anonymous".to_owned(), |p| format!("person:{}", p.id)),
            person_id: person.map(|p| p.id),
            username: Some(attempt.username.clone()),
            org_id: person.map(|p| p.org_id),
            channel: attempt.channel,
            client: attempt.client.clone(),
            source: attempt.source.map(|ip| ip.to_string()),
            device_id: None,
            device_label: None,
            outcome,
            reason: reason.map(|r| r.as_str().to_owned()),
            request_id: attempt.request_id.clone(),
            detail: None,
        }
    }
}

/// Why a person in this state may not log in at all, if so.
fn state_reason(person: &Person) -> Option<Reason> {
    match person.state {
        PersonState::Disabled => Some(Reason::PersonDisabled),
        PersonState::Removed => Some(Reason::PersonRemoved),
        PersonState::Active if person.blocked_at.is_some() => Some(Reason::PersonBlocked),
        PersonState::Active => None,
    }
}
