//! Per-organisation policy (issue 16), set by the operator and shown to org admins: which
//! second factors count, whether out-of-band approvals are allowed, the end user's address
//! ranges per client, the lockout threshold (within bounds), the default language, single
//! sign-on and whether web logins may remember a browser (days, off by default). Kept
//! as JSON per organisation (`org_policies`, migration 0016); no row: the defaults (all of
//! it allowed, the configured threshold).

use crate::model::DeviceKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest single sign-on a policy may set (hours).
pub const SSO_HOURS_MAX: u32 = 24 * 30;
/// The longest idle time of a single sign-on session a policy may set (minutes).
pub const SSO_IDLE_MINUTES_MAX: u32 = 24 * 60;

/// What is wrong with a policy an operator set (`OrgPolicy::check`). `Display` is English
/// (the CLI); the service words it in the operator's language
/// (`service::refusal::Refusal::of_policy`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("factors: allow at least one kind (or all)")]
    NoFactors,
    #[error("lockout threshold {0} is outside {min}..={max}", min = LOCKOUT_BOUNDS.start(), max = LOCKOUT_BOUNDS.end())]
    LockoutThreshold(u32),
    #[error("language {0:?} is not one of nl, en")]
    Language(String),
    #[error("single sign-on lasts at most {SSO_HOURS_MAX} hours")]
    SsoHours,
    #[error("single sign-on idle time must be 1 to {SSO_IDLE_MINUTES_MAX} minutes")]
    SsoIdleMinutes,
    #[error("remember days {0} is outside {min}..={max}", min = REMEMBER_DAYS.start(), max = REMEMBER_DAYS.end())]
    RememberDays(u32),
    #[error("a client's ranges must name at least one range")]
    EmptyRanges,
}

/// The kinds of second factor a policy can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// An authenticator app on a phone (TOTP).
    TotpApp,
    /// An OATH hardware token (HOTP or TOTP).
    HardwareToken,
    /// A WebAuthn security key or passkey.
    SecurityKey,
    /// An out-of-band approval on a linked browser or phone (push, /portal/approvals).
    Push,
    /// A temporary code from the helpdesk.
    TemporaryCode,
    /// A one-time recovery code.
    RecoveryCode,
}

impl FactorKind {
    pub const ALL: [Self; 6] = [
        Self::TotpApp,
        Self::HardwareToken,
        Self::SecurityKey,
        Self::Push,
        Self::TemporaryCode,
        Self::RecoveryCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TotpApp => "totp_app",
            Self::HardwareToken => "hardware_token",
            Self::SecurityKey => "security_key",
            Self::Push => "push",
            Self::TemporaryCode => "temporary_code",
            Self::RecoveryCode => "recovery_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The factor kind a device gives.
    pub fn of_device(kind: DeviceKind) -> Self {
        match kind {
            DeviceKind::PhoneTotp => Self::TotpApp,
            DeviceKind::HardwareToken => Self::HardwareToken,
            DeviceKind::SecurityKey => Self::SecurityKey,
            DeviceKind::PushSubscription => Self::Push,
        }
    }
}

/// The lockout threshold a policy may set (wrong second factors before the person is
/// locked).
pub const LOCKOUT_BOUNDS: std::ops::RangeInclusive<u32> = 3..=20;

/// The languages a policy may set as the organisation's default.
pub const LANGUAGES: [&str; 2] = ["nl", "en"];

/// One organisation's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgPolicy {
    /// The factor kinds that count; None: all.
    pub factors: Option<Vec<FactorKind>>,
    /// Out-of-band approvals refused (also when `push` is not among the factors).
    pub no_approvals: bool,
    /// Per RADIUS client (by name): the end user's addresses it accepts for this
    /// organisation's people (CIDR); a client not listed: any address.
    pub client_ranges: BTreeMap<String, Vec<ipnet::IpNet>>,
    /// Wrong second factors before the person is locked; None: the configured threshold.
    pub lockout_threshold: Option<u32>,
    /// `nl` or `en`; None: the gateway's default.
    pub language: Option<String>,
    /// OIDC single sign-on: how long a session lasts (hours; None: 8; 0: no single
    /// sign-on, every authorization logs in).
    pub sso_hours: Option<u32>,
    /// OIDC single sign-on: unused this long (minutes; None: 60), it ends.
    pub sso_idle_minutes: Option<u32>,
    /// Web logins may offer "Remember this browser for N days" (`REMEMBER_DAYS`); None: off.
    /// A remembered browser still asks for the password, never for the code.
    pub remember_days: Option<u32>,
}

/// The days a policy may let a browser be remembered.
pub const REMEMBER_DAYS: std::ops::RangeInclusive<u32> = 1..=90;

/// Single sign-on defaults: 8 hours, 1 hour idle.
pub const SSO_HOURS: u32 = 8;
pub const SSO_IDLE_MINUTES: u32 = 60;

impl OrgPolicy {
    /// Does `kind` count for this organisation?
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.factors.as_ref().is_none_or(|f| f.contains(&kind))
    }

    /// Are out-of-band approvals allowed?
    pub fn allows_approvals(&self) -> bool {
        !self.no_approvals && self.allows(FactorKind::Push)
    }

    /// Is `source` allowed for `client` (RADIUS client name)?
    pub fn allows_source(&self, client: Option<&str>, source: Option<std::net::IpAddr>) -> bool {
        let Some(ranges) = client.and_then(|c| self.client_ranges.get(c)) else {
            return true;
        };
        source.is_some_and(|ip| ranges.iter().any(|r| r.contains(&ip)))
    }

    /// Check what an operator set.
    pub fn check(&self) -> Result<(), PolicyError> {
        if let Some(f) = &self.factors
            && f.is_empty()
        {
            return Err(PolicyError::NoFactors);
        }
        if let Some(t) = self.lockout_threshold
            && !LOCKOUT_BOUNDS.contains(&t)
        {
            return Err(PolicyError::LockoutThreshold(t));
        }
        if let Some(l) = &self.language
            && !LANGUAGES.contains(&l.as_str())
        {
            return Err(PolicyError::Language(l.clone()));
        }
        if self.sso_hours.is_some_and(|h| h > SSO_HOURS_MAX) {
            return Err(PolicyError::SsoHours);
        }
        if self
            .sso_idle_minutes
            .is_some_and(|m| m == 0 || m > SSO_IDLE_MINUTES_MAX)
        {
            return Err(PolicyError::SsoIdleMinutes);
        }
        if let Some(d) = self.remember_days
            && !REMEMBER_DAYS.contains(&d)
        {
            return Err(PolicyError::RememberDays(d));
        }
        if self.client_ranges.values().any(Vec::is_empty) {
            return Err(PolicyError::EmptyRanges);
        }
        Ok(())
    }

    /// The policy in words, one line per rule (CLI and the org admin's page).
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![match &self.factors {
            None => "second factors: all kinds".to_owned(),
            Some(f) => format!(
                "second factors: {}",
                f.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }];
        out.push(format!(
            "approvals (push, sign-in requests): {}",
            if self.allows_approvals() {
                "allowed"
            } else {
                "refused"
            }
        ));
        for (client, ranges) in &self.client_ranges {
            out.push(format!(
                "client {client}: only from {}",
                ranges
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(match self.lockout_threshold {
            Some(t) => format!("lockout after {t} wrong codes"),
            None => "lockout: the gateway's setting".to_owned(),
        });
        out.push(match self.sso_hours.unwrap_or(SSO_HOURS) {
            0 => "single sign-on: off (every application asks for a login)".to_owned(),
            h => format!(
                "single sign-on: {h} h, ends after {} min unused",
                self.sso_idle_minutes.unwrap_or(SSO_IDLE_MINUTES)
            ),
        });
        out.push(match self.remember_days {
            Some(d) => format!(
                "remember this browser: offered for {d} days (the password is still asked, the code is not)"
            ),
            None => "remember this browser: off (every web login asks for the code)".to_owned(),
        });
        out.push(match &self.language {
            Some(l) => format!("language: {l}"),
            None => "language: the gateway's default".to_owned(),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_everything() {
        let p = OrgPolicy::default();
        assert!(FactorKind::ALL.iter().all(|k| p.allows(*k)));
        assert!(p.allows_approvals());
        assert!(p.allows_source(Some("vpn"), None));
        assert!(p.check().is_ok());
    }

    #[test]
    fn factors_ranges_and_bounds() {
        let mut p = OrgPolicy {
            factors: Some(vec![FactorKind::HardwareToken]),
            ..OrgPolicy::default()
        };
        assert!(!p.allows(FactorKind::TotpApp));
        assert!(!p.allows_approvals(), "no push: no approvals");
        p.client_ranges
            .insert("vpn".into(), vec!["192.0.2.0/24".parse().unwrap()]);
        assert!(p.allows_source(Some("vpn"), Some("192.0.2.7".parse().unwrap())));
        assert!(!p.allows_source(Some("vpn"), Some("198.51.100.7".parse().unwrap())));
        assert!(!p.allows_source(Some("vpn"), None));
        assert!(p.allows_source(Some("other"), None));
        p.lockout_threshold = Some(2);
        assert!(p.check().unwrap_err().to_string().contains("outside"));
        p.lockout_threshold = Some(3);
        p.language = Some("de".into());
        assert!(p.check().unwrap_err().to_string().contains("nl, en"));
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.contains("hardware_token") && json.contains("192.0.2.0/24"),
            "{json}"
        );
        let back: OrgPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn remember_days_are_off_by_default_and_bounded() {
        let mut p = OrgPolicy::default();
        assert_eq!(p.remember_days, None);
        assert!(
            p.describe()
                .iter()
                .any(|l| l.contains("remember this browser: off"))
        );
        for bad in [0, 91, u32::MAX] {
            p.remember_days = Some(bad);
            assert!(
                p.check().unwrap_err().to_string().contains("remember days"),
                "{bad}"
            );
        }
        for good in [1, 30, 90] {
            p.remember_days = Some(good);
            assert!(p.check().is_ok(), "{good}");
        }
        assert!(
            p.describe()
                .iter()
                .any(|l| l.contains("offered for 90 days"))
        );
        // Stored policies from before the field still read (serde default).
        let old: OrgPolicy = serde_json::from_str(r#"{"sso_hours":4}"#).unwrap();
        assert_eq!(old.remember_days, None);
    }
}
