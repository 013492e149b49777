//! One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238).
//!
//! totp-rs computes the codes (its `step_duration(1)` + `generate(counter)` is exactly HOTP,
//! RFC 4226 Appendix D) and compares tokens in constant time. What it lacks is ours: HOTP
//! look-ahead and resync, and refusing a TOTP time step that was already used.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Totp};

/// HMAC hash of an OATH credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpHash {
    Sha1,
    Sha256,
    Sha512,
}

impl OtpHash {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Self::Sha1 => Algorithm::SHA1,
            Self::Sha256 => Algorithm::SHA256,
            Self::Sha512 => Algorithm::SHA512,
        }
    }
}

/// Counter-based or time-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum OtpKind {
    Hotp,
    Totp { period: u32 },
}

/// The public parameters of an OATH credential (the seed is kept apart, sealed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpParams {
    pub kind: OtpKind,
    pub hash: OtpHash,
    pub digits: u8,
}

impl OtpParams {
    pub const fn totp_default() -> Self {
        Self {
            kind: OtpKind::Totp { period: 30 },
            hash: OtpHash::Sha1,
            digits: 6,
        }
    }

    /// Digits 6..=8 and a TOTP period of 1..=300 s are all we accept.
    pub fn is_valid(&self) -> bool {
        (6..=8).contains(&self.digits)
            && match self.kind {
                OtpKind::Hotp => true,
                OtpKind::Totp { period } => (1..=300).contains(&period),
            }
    }
}

/// A generator over one seed. Cheap to build; built per check.
fn generator(secret: &[u8], hash: OtpHash, digits: u8, step: u64) -> Totp {
    // build_noncompliant: old hardware tokens have seeds under 128 bits; digits are checked
    // by `OtpParams::is_valid` before we get here (totp-rs panics at 10 or more).
    Builder::new()
        .with_algorithm(hash.algorithm())
        .with_digits(digits.clamp(6, 8))
        .with_skew(0)
        .with_step_duration(step.max(1))
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// The HOTP value (RFC 4226) for `counter`.
pub fn hotp(secret: &[u8], counter: u64, hash: OtpHash, digits: u8) -> String {
    generator(secret, hash, digits, 1)
        .generate(counter)
        .to_string()
}

/// The TOTP time step of `now` (RFC 6238, T0 = 0).
pub fn time_step(now: i64, period: u32) -> u64 {
    u64::try_from(now).unwrap_or(0) / u64::from(period.max(1))
}

/// The TOTP value for the step that holds `now`.
pub fn totp(secret: &[u8], now: i64, period: u32, hash: OtpHash, digits: u8) -> String {
    hotp(secret, time_step(now, period), hash, digits)
}

/// Only digits of the right length can match; anything else is refused before any HMAC.
fn well_formed(code: &str, digits: u8) -> bool {
    code.len() == usize::from(digits) && code.bytes().all(|b| b.is_ascii_digit())
}

/// Result of checking a TOTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// Matched this time step, which was not used before.
    Matched {
        step: u64,
    },
    /// Matched a step at or before the last one used: a replay.
    Replayed {
        step: u64,
    },
    NoMatch,
}

/// Check a TOTP code within ±`skew` steps of `now`, refusing steps at or below `last_step`.
pub fn check_totp(
    secret: &[u8],
    params: &OtpParams,
    code: &str,
    now: i64,
    skew: u32,
    last_step: Option<u64>,
) -> TotpCheck {
    let OtpKind::Totp { period } = params.kind else {
        return TotpCheck::NoMatch;
    };
    if !well_formed(code, params.digits) {
        return TotpCheck::NoMatch;
    }
    let g = generator(secret, params.hash, params.digits, 1);
    let origin = time_step(now, period);
    let mut replayed = None;
    // Newest first, so a code that fits both a used and an unused step counts as fresh.
    for step in (origin.saturating_sub(u64::from(skew))..=origin + u64::from(skew)).rev() {
        if g.check(code, step).is_some() {
            if last_step.is_some_and(|last| step <= last) {
                replayed.get_or_insert(step);
            } else {
                return TotpCheck::Matched { step };
            }
        }
    }
    replayed.map_or(TotpCheck::NoMatch, |step| TotpCheck::Replayed { step })
}

/// Check an HOTP code against counters `next ..= next + look_ahead - 1`. Returns the counter
/// that matched; the next expected counter is then that plus one.
pub fn check_hotp(
    secret: &[u8],
    params: &OtpParams,
    code: &str,
    next: u64,
    look_ahead: u32,
) -> Option<u64> {
    if params.kind != OtpKind::Hotp || !well_formed(code, params.digits) {
        return None;
    }
    let g = generator(secret, params.hash, params.digits, 1);
    (next..next.saturating_add(u64::from(look_ahead.max(1))))
        .find(|&counter| g.check(code, counter).is_some())
}

/// Resynchronise an HOTP token from two consecutive codes within `window` counters of
/// `next`. Returns the new next counter (after the second code).
pub fn resync_hotp(
    secret: &[u8],
    params: &OtpParams,
    first: &str,
    second: &str,
    next: u64,
    window: u32,
) -> Option<u64> {
    if params.kind != OtpKind::Hotp
        || !well_formed(first, params.digits)
        || !well_formed(second, params.digits)
    {
        return None;
    }
    let g = generator(secret, params.hash, params.digits, 1);
    (next..next.saturating_add(u64::from(window)))
        .find(|&c| g.check(first, c).is_some() && g.check(second, c + 1).is_some())
        .map(|c| c + 2)
}

/// An `otpauth://` URI for an authenticator app.
pub fn otpauth_uri(
    secret: &[u8],
    params: &OtpParams,
    issuer: &str,
    account: &str,
    counter: u64,
) -> String {
    let secret = data_encoding::BASE32_NOPAD.encode(secret);
    let label = format!("{}:{}", encode(issuer), encode(account));
    let algorithm = match params.hash {
        OtpHash::Sha1 => "SHA1",
        OtpHash::Sha256 => "SHA256",
        OtpHash::Sha512 => "SHA512",
    };
    match params.kind {
        OtpKind::Totp { period } => format!(
            "otpauth://totp/{label}?secret={secret}&issuer={}&algorithm={algorithm}&digits={}&period={period}",
            encode(issuer),
            params.digits
        ),
        OtpKind::Hotp => format!(
            "otpauth://hotp/{label}?secret={secret}&issuer={}&algorithm={algorithm}&digits={}&counter={counter}",
            encode(issuer),
            params.digits
        ),
    }
}

/// Percent-encode everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 Appendix D and RFC 6238 Appendix B, from testdata/.
    const RFC4226: &str = include_str!("../testdata/rfc4226-appendix-d.txt");
    const RFC6238: &str = include_str!("../testdata/rfc6238-appendix-b.txt");
    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect())
    }

    #[test]
    fn rfc4226_appendix_d() {
        let mut n = 0;
        for row in rows(RFC4226) {
            let counter: u64 = row[0].parse().expect("counter");
            assert_eq!(
                hotp(SEED20, counter, OtpHash::Sha1, 6),
                row[1],
                "count {counter}"
            );
            n += 1;
        }
        assert_eq!(n, 10);
    }

    #[test]
    fn rfc6238_appendix_b() {
        let mut n = 0;
        for row in rows(RFC6238) {
            let time: i64 = row[0].parse().expect("time");
            let (hash, seed) = match row[1] {
                "SHA1" => (OtpHash::Sha1, SEED20),
                "SHA256" => (OtpHash::Sha256, SEED32),
                _ => (OtpHash::Sha512, SEED64),
            };
            assert_eq!(totp(seed, time, 30, hash, 8), row[2], "{time} {}", row[1]);
            n += 1;
        }
        assert_eq!(n, 18);
    }

    #[test]
    fn totp_skew_and_replay() {
        let p = OtpParams::totp_default();
        let now = 1_700_000_000;
        let step = time_step(now, 30);
        let code = totp(SEED20, now, 30, OtpHash::Sha1, 6);
        assert_eq!(
            check_totp(SEED20, &p, &code, now, 1, None),
            TotpCheck::Matched { step }
        );
        // one step late still fits with skew 1, two steps do not
        assert_eq!(
            check_totp(SEED20, &p, &code, now + 30, 1, None),
            TotpCheck::Matched { step }
        );
        assert_eq!(
            check_totp(SEED20, &p, &code, now + 60, 1, None),
            TotpCheck::NoMatch
        );
        assert_eq!(
            check_totp(SEED20, &p, &code, now + 30, 0, None),
            TotpCheck::NoMatch
        );
        assert_eq!(
            check_totp(SEED20, &p, &code, now, 1, Some(step)),
            TotpCheck::Replayed { step }
        );
        assert_eq!(
            check_totp(SEED20, &p, &code, now, 1, Some(step - 1)),
            TotpCheck::Matched { step }
        );
        assert_eq!(
            check_totp(SEED20, &p, "12345", now, 1, None),
            TotpCheck::NoMatch
        );
        assert_eq!(
            check_totp(SEED20, &p, "abcdef", now, 1, None),
            TotpCheck::NoMatch
        );
        let p60 = OtpParams {
            kind: OtpKind::Totp { period: 60 },
            digits: 8,
            hash: OtpHash::Sha256,
        };
        let code = totp(SEED32, now, 60, OtpHash::Sha256, 8);
        assert!(matches!(
            check_totp(SEED32, &p60, &code, now, 1, None),
            TotpCheck::Matched { .. }
        ));
    }

    #[test]
    fn hotp_look_ahead_and_resync() {
        let p = OtpParams {
            kind: OtpKind::Hotp,
            hash: OtpHash::Sha1,
            digits: 6,
        };
        // RFC 4226 count 5 = 254676
        assert_eq!(check_hotp(SEED20, &p, "254676", 0, 10), Some(5));
        assert_eq!(
            check_hotp(SEED20, &p, "254676", 0, 5),
            None,
            "outside window"
        );
        assert_eq!(
            check_hotp(SEED20, &p, "254676", 6, 10),
            None,
            "already used"
        );
        // counts 7 and 8 = 162583, 399871
        assert_eq!(resync_hotp(SEED20, &p, "162583", "399871", 0, 100), Some(9));
        assert_eq!(resync_hotp(SEED20, &p, "399871", "162583", 0, 100), None);
        assert_eq!(resync_hotp(SEED20, &p, "162583", "399871", 0, 5), None);
    }

    #[test]
    fn uri_has_the_parameters() {
        let uri = otpauth_uri(
            SEED20,
            &OtpParams::totp_default(),
            "SBC Login",
            "ann@example.org",
            0,
        );
        assert_eq!(
            uri,
            "otpauth://totp/SBC%20Login:ann%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=SBC%20Login&algorithm=SHA1&digits=6&period=30"
        );
    }
}
