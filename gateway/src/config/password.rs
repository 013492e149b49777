//! `[password]`, `[otp]` and `[lockout]`: the hashing, one-time-password and lockout policies.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPassword {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub hashing_threads: usize,
    pub min_length: usize,
    /// A breached-password list (one SHA-1 in hex, `HASH:COUNT` as HIBP has it, or a plain
    /// password a line): a new password in it is refused. Default "": none.
    pub blocklist_file: String,
}

impl Default for RawPassword {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hashing_threads: 0,
            min_length: 10,
            blocklist_file: String::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOtp {
    pub issuer: String,
    pub totp_skew_steps: u32,
    pub hotp_look_ahead: u32,
    pub hotp_resync_window: u32,
}

impl Default for RawOtp {
    fn default() -> Self {
        Self {
            issuer: "mfa-gateway".into(),
            totp_skew_steps: 1,
            hotp_look_ahead: 10,
            hotp_resync_window: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLockout {
    pub threshold: u32,
    pub base_seconds: u64,
    pub max_seconds: u64,
    pub password_threshold: u32,
}

impl Default for RawLockout {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_seconds: 60,
            max_seconds: 3600,
            password_threshold: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Size of the blocking pool that verifies passwords (the login capacity).
    pub hashing_threads: usize,
    pub min_length: usize,
    /// `password.blocklist_file`, read once for the process (`blocklist::load_once`).
    pub blocklist: Option<&'static crate::blocklist::Blocklist>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpPolicy {
    pub issuer: String,
    pub totp_skew_steps: u32,
    pub hotp_look_ahead: u32,
    pub hotp_resync_window: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong second factors (after a right password) that lock the person.
    pub threshold: u32,
    pub base_seconds: u64,
    pub max_seconds: u64,
    /// Wrong passwords from one source (per person) before that source is throttled for
    /// that person (the person from elsewhere is not).
    pub password_threshold: u32,
    /// IPv6 sources are counted by this prefix (an address block, not one /128).
    pub ipv6_prefix: u8,
}

impl LockoutPolicy {
    /// The rule for second-factor failures (locks the person).
    pub fn factor_rule(&self) -> crate::changes::LockoutRule {
        crate::changes::LockoutRule {
            threshold: self.threshold,
            base_seconds: self.base_seconds,
            max_seconds: self.max_seconds,
        }
    }

    /// The rule for password failures (throttles one source for one person).
    pub fn password_rule(&self) -> crate::changes::LockoutRule {
        crate::changes::LockoutRule {
            threshold: self.password_threshold,
            ..self.factor_rule()
        }
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            hashing_threads: 2,
            min_length: 10,
            blocklist: None,
        }
    }
}

impl Default for OtpPolicy {
    fn default() -> Self {
        let raw = RawOtp::default();
        Self {
            issuer: raw.issuer,
            totp_skew_steps: raw.totp_skew_steps,
            hotp_look_ahead: raw.hotp_look_ahead,
            hotp_resync_window: raw.hotp_resync_window,
        }
    }
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_seconds: 60,
            max_seconds: 3600,
            password_threshold: 5,
            ipv6_prefix: 64,
        }
    }
}
