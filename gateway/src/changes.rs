//! What a login decision changes in the store, as values both the engine (which decides)
//! and the store (which applies them atomically) use.
//!
//! Counters are never written as absolute values read earlier: a failure is an increment in
//! SQL that also sets the lock in the same transaction, and only when no lock is live, so a
//! burst of parallel attempts counts each one once and a late writer cannot clear a lock
//! another request just set.

use crate::model::{DeviceId, UnixTime};
use std::net::IpAddr;

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

/// How failures lock: after `threshold` consecutive failures, for `base_seconds`, doubling
/// with each further failure, at most `max_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    pub threshold: u32,
    pub base_seconds: u64,
    pub max_seconds: u64,
}

impl LockoutRule {
    /// When the lock after `failed` consecutive failures ends, if it has started.
    pub fn until(&self, failed: u32, now: UnixTime) -> Option<UnixTime> {
        let over = failed.checked_sub(self.threshold)?;
        let factor = 1u64.checked_shl(over).unwrap_or(u64::MAX);
        let secs = self
            .base_seconds
            .saturating_mul(factor)
            .min(self.max_seconds);
        Some(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
    }
}

/// The outcome of a checked credential, for its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Right: the counter is reset (only while no lock is live).
    Passed,
    /// Wrong: the counter goes up by one (only while no lock is live) and locks by the rule.
    Failed(LockoutRule),
}

/// A state changing login attempt's source, as the password throttle counts it: an IPv4
/// address, or the IPv6 network of the configured prefix (`2001:db8:1:2::/64`).
pub fn source_key(source: Option<IpAddr>, ipv6_prefix: u8) -> String {
    match source.map(|ip| ip.to_canonical()) {
        None => "-".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let prefix = ipv6_prefix.min(128);
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
            format!("{}/{prefix}", std::net::Ipv6Addr::from(bits & mask))
        }
    }
}

/// State changes that go with a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub device_use: Option<DeviceUse>,
    /// The password re-hashed with the current parameters.
    pub new_password_hash: Option<String>,
    /// A recovery code spent (compare-and-set: only if still unused).
    pub recovery_code_used: Option<i64>,
    /// A temporary code spent (compare-and-set: only if still unused).
    pub temporary_code_used: Option<i64>,
    /// The second factor was checked (after a right password): counts toward the person's
    /// lockout.
    pub factor: Option<Counted>,
    /// The password was checked from the source `.0` (see [`source_key`]): counts toward
    /// that source's throttle for this person.
    pub password: Option<(String, Counted)>,
}

/// What the store did with a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recorded {
    /// Changes applied and event written.
    Written,
    /// Nothing written: the device use (or one-time code) lost its compare-and-set; the
    /// same code was used meanwhile (a replay).
    LostRace,
    /// Nothing written: the person is locked (a concurrent attempt set the lock); nothing may
    /// be decided on this attempt's credentials.
    Locked,
    /// Nothing written: this source is throttled for this person (set concurrently).
    Throttled,
}

/// An unused one-time code of a person's, as stored (see `engine::one_time_code_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCode {
    pub id: i64,
    pub hash: [u8; 32],
    /// Recovery code (the person's own set) or temporary code (issued by an operator).
    pub kind: OneTimeKind,
    /// After this instant the code never works (temporary codes).
    pub expires_at: Option<UnixTime>,
    /// Stored by an older version as a plain SHA-256 of the code (before keyed hashes).
    pub legacy: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_share_their_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(source_key(Some(a), 64), source_key(Some(b), 64));
        assert_ne!(source_key(Some(a), 64), source_key(Some(c), 64));
        assert_eq!(source_key(Some(a), 64), "2001:db8:1:2::/64");
        assert_ne!(source_key(Some(a), 128), source_key(Some(b), 128));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(source_key(Some(mapped), 64), "192.0.2.1");
        assert_eq!(source_key(None, 64), "-");
    }

    #[test]
    fn lock_doubles_up_to_the_cap() {
        let r = LockoutRule {
            threshold: 5,
            base_seconds: 60,
            max_seconds: 3600,
        };
        assert_eq!(r.until(4, 0), None);
        assert_eq!(r.until(5, 0), Some(60));
        assert_eq!(r.until(6, 0), Some(120));
        assert_eq!(r.until(50, 0), Some(3600));
        assert_eq!(r.until(u32::MAX, 0), Some(3600));
    }
}
