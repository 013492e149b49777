//! The decision engine: password + second factor + lockout -> accept / reject / challenge,
//! and the audit event that says why. Pure: no sockets, no SQL, `now` is a parameter.
//!
//! The caller looks the person up, opens the device seeds, runs [`Engine::decide`] on a
//! blocking pool (argon2id is the expensive part), then applies [`Changes`] and writes the
//! event in one transaction. A device-use change is a compare-and-set: when another request
//! used the same code first, the caller swaps the decision for [`Engine::lost_race`].

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::config::{LockoutPolicy, OtpPolicy};
use crate::model::{Device, DeviceId, DeviceKind, DeviceState, Person, PersonState, UnixTime};
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

/// An unused one-time recovery code of a person's, as stored: the SHA-256 of its normal
/// form (see [`recovery_code_hash`]). The codes are random (50 bits), so a fast hash is enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCode {
    pub id: i64,
    pub hash: [u8; 32],
    /// Recovery code (the person's own set) or temporary code (issued by an operator).
    pub kind: OneTimeKind,
    /// After this instant the code never works (temporary codes).
    pub expires_at: Option<UnixTime>,
}

/// The two kinds of one-time code that stand in for a device's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimeKind {
    /// One of the person's recovery codes (the portal).
    Recovery,
    /// A temporary code an operator issued for a lost device (the helpdesk path).
    Temporary,
}

impl OneTimeKind {
    /// The device label an accept by such a code names.
    pub fn label(self) -> &'static str {
        match self {
            Self::Recovery => "recovery code",
            Self::Temporary => "temporary code",
        }
    }
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

/// What is stored of a recovery code (in normal form).
pub fn recovery_code_hash(normal: &str) -> [u8; 32] {
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
    /// /approve: no sign-in of this person was waiting for an approval.
    NoPendingApproval,
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
            Self::NoPendingApproval => "no_pending_approval",
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

/// A device use to record, as compare-and-set: it only applies if nobody used the same code
/// (or a later one) in the meantime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceUse {
    /// TOTP: set `last_step` to `step` where it is NULL or below `step`.
    TotpStep { device_id: DeviceId, step: u64 },
    /// HOTP: set the next counter to `next` where it is still at most `matched`.
    HotpCounter {
        device_id: DeviceId,
        matched: u64,
        next: u64,
    },
    /// A security key: set its signature counter to `counter` where it is below it (or both
    /// are 0: a key without a counter), and its last use.
    SecurityKey { device_id: DeviceId, counter: u32 },
}

/// Lockout state to store for the person (absolute values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutUpdate {
    pub failed_logins: u32,
    pub locked_until: Option<UnixTime>,
}

/// State changes that go with a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub lockout: Option<LockoutUpdate>,
    pub device_use: Option<DeviceUse>,
    /// The password re-hashed with the current parameters.
    pub new_password_hash: Option<String>,
    /// A recovery code spent (compare-and-set: only if still unused).
    pub recovery_code_used: Option<i64>,
    /// A temporary code spent (compare-and-set: only if still unused).
    pub temporary_code_used: Option<i64>,
}

/// The engine's answer: the verdict, the state changes, and the event to write.
#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    pub changes: Changes,
    pub event: AuditEvent,
}

/// The unused, unexpired one-time code `code` is, if any (every stored hash compared, in
/// constant time).
fn recovery_match(codes: &[RecoveryCode], code: &str, now: UnixTime) -> Option<(i64, OneTimeKind)> {
    let hash = recovery_code_hash(&normalise_recovery_code(code)?);
    codes.iter().fold(None, |found, c| {
        let live = c.expires_at.is_none_or(|e| now < e);
        found.or((ct_eq(&c.hash, &hash) && live).then_some((c.id, c.kind)))
    })
}

/// The rules, configured.
#[derive(Debug, Clone)]
pub struct Engine {
    hasher: PasswordHasherCfg,
    otp: OtpPolicy,
    lockout: LockoutPolicy,
}

impl Engine {
    pub fn new(hasher: PasswordHasherCfg, otp: OtpPolicy, lockout: LockoutPolicy) -> Self {
        Self {
            hasher,
            otp,
            lockout,
        }
    }

    pub fn hasher(&self) -> &PasswordHasherCfg {
        &self.hasher
    }

    pub fn otp_policy(&self) -> &OtpPolicy {
        &self.otp
    }

    /// Decide one attempt. `subject` is `None` for an unknown username.
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
            // Counted, never checked; the dummy hash keeps the timing of a real check.
            if let Some(pw) = password {
                self.hasher.verify_dummy(pw);
            }
            let lockout = LockoutUpdate {
                failed_logins: person.failed_logins.saturating_add(1),
                locked_until: person.locked_until,
            };
            let changes = Changes {
                lockout: Some(lockout),
                ..Changes::default()
            };
            return self.reject(attempt, Some(subject), Reason::LockedOut, changes, now);
        }

        let mut changes = Changes::default();
        if let Some(pw) = password {
            let ok = self.hasher.verify(pw, subject.password_hash.as_deref());
            let state_reason = match person.state {
                PersonState::Active => None,
                PersonState::Disabled => Some(Reason::PersonDisabled),
                PersonState::Removed => Some(Reason::PersonRemoved),
            };
            if let Some(reason) = state_reason {
                return self.reject(attempt, Some(subject), reason, changes, now);
            }
            if !ok {
                let reason = if subject.password_hash.is_some() {
                    Reason::BadPassword
                } else {
                    Reason::NoPassword
                };
                return self.fail(attempt, subject, reason, now);
            }
            if let Some(hash) = &subject.password_hash
                && self.hasher.needs_rehash(hash)
            {
                changes.new_password_hash = self.hasher.hash_unchecked(pw).ok();
            }
        } else if person.state != PersonState::Active {
            return self.reject(attempt, Some(subject), Reason::PersonDisabled, changes, now);
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
            return self.fail(attempt, subject, Reason::MissingCode, now);
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
                changes.device_use = Some(device_use);
                if person.failed_logins > 0 || person.locked_until.is_some() {
                    changes.lockout = Some(LockoutUpdate {
                        failed_logins: 0,
                        locked_until: None,
                    });
                }
                let mut event = self.event(attempt, Some(subject), Outcome::Accept, None, now);
                event.device_id = Some(dev.id);
                event.device_label = Some(dev.label.clone());
                return Decision {
                    verdict: Verdict::Accept {
                        device_id: dev.id,
                        device_label: dev.label.clone(),
                    },
                    changes,
                    event,
                };
            }
        }
        if let Some((used, kind)) = recovery_match(&subject.recovery_codes, code, now) {
            match kind {
                OneTimeKind::Recovery => changes.recovery_code_used = Some(used),
                OneTimeKind::Temporary => changes.temporary_code_used = Some(used),
            }
            if person.failed_logins > 0 || person.locked_until.is_some() {
                changes.lockout = Some(LockoutUpdate {
                    failed_logins: 0,
                    locked_until: None,
                });
            }
            let mut event = self.event(attempt, Some(subject), Outcome::Accept, None, now);
            event.device_label = Some(kind.label().to_owned());
            event.detail = Some(match kind {
                OneTimeKind::Recovery => serde_json::json!({ "recovery_code": used }),
                OneTimeKind::Temporary => serde_json::json!({ "temporary_code": used }),
            });
            return Decision {
                verdict: Verdict::Accept {
                    device_id: RECOVERY_CODE_DEVICE,
                    device_label: kind.label().to_owned(),
                },
                changes,
                event,
            };
        }
        let reason = if replayed {
            Reason::ReplayedCode
        } else {
            Reason::BadCode
        };
        self.fail(attempt, subject, reason, now)
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
        let person = &subject.person;
        let found = key.and_then(|k| {
            active
                .iter()
                .find(|d| d.device.id == k.device_id && d.device.kind == DeviceKind::SecurityKey)
                .map(|d| (k, &d.device))
        });
        let Some((k, dev)) = found else {
            return self.fail(attempt, subject, Reason::BadKey, now);
        };
        changes.device_use = Some(DeviceUse::SecurityKey {
            device_id: dev.id,
            counter: k.counter,
        });
        if person.failed_logins > 0 || person.locked_until.is_some() {
            changes.lockout = Some(LockoutUpdate {
                failed_logins: 0,
                locked_until: None,
            });
        }
        let mut event = self.event(attempt, Some(subject), Outcome::Accept, None, now);
        event.device_id = Some(dev.id);
        event.device_label = Some(dev.label.clone());
        Decision {
            verdict: Verdict::Accept {
                device_id: dev.id,
                device_label: dev.label.clone(),
            },
            changes,
            event,
        }
    }

    /// The decision to write instead of an Accept whose device use lost a race: another
    /// request used the same code first.
    pub fn lost_race(&self, attempt: &Attempt, subject: &Subject, now: UnixTime) -> Decision {
        self.fail(attempt, subject, Reason::ReplayedCode, now)
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

    /// When the lockout after `failed` consecutive failures ends, if it has started.
    pub fn locked_until(&self, failed: u32, now: UnixTime) -> Option<UnixTime> {
        let over = failed.checked_sub(self.lockout.threshold)?;
        let factor = 1u64.checked_shl(over).unwrap_or(u64::MAX);
        let secs = self
            .lockout
            .base_seconds
            .saturating_mul(factor)
            .min(self.lockout.max_seconds);
        Some(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
    }

    /// A failure that counts toward the lockout.
    fn fail(
        &self,
        attempt: &Attempt,
        subject: &Subject,
        reason: Reason,
        now: UnixTime,
    ) -> Decision {
        let failed = subject.person.failed_logins.saturating_add(1);
        let changes = Changes {
            lockout: Some(LockoutUpdate {
                failed_logins: failed,
                locked_until: self.locked_until(failed, now),
            }),
            ..Changes::default()
        };
        self.reject(attempt, Some(subject), reason, changes, now)
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
        if let Some(l) = changes.lockout
            && l.locked_until.is_some()
        {
            event.detail = Some(serde_json::json!({
                "failed_logins": l.failed_logins,
                "locked_until": l.locked_until,
            }));
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
