//! The data model: organisations, people, devices. Times are Unix seconds (UTC).

use crate::otp::OtpParams;
use serde::{Deserialize, Serialize};
use std::fmt;

pub type OrgId = i64;
pub type PersonId = i64;
pub type DeviceId = i64;
/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

/// Seconds since the epoch, now. Read once per request at the edge and passed inward.
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A customer organisation of the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Person,
    OrgAdmin,
    Operator,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Person, Role::OrgAdmin, Role::Operator, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Person => "person",
            Role::OrgAdmin => "org_admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().replace('-', "_"))
    }
}

/// Roles as stored: a comma-separated list.
pub fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn roles_from_text(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonState {
    Active,
    Disabled,
    Removed,
}

impl PersonState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// A named account: one real person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    /// Stable, random, not the username (OIDC `sub`).
    pub public_id: String,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub org_id: OrgId,
    pub roles: Vec<Role>,
    pub state: PersonState,
    pub created_at: UnixTime,
    /// Consecutive failed logins (reset on success).
    pub failed_logins: u32,
    /// No credential is checked before this time.
    pub locked_until: Option<UnixTime>,
}

/// What a new person is made of.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub org_id: OrgId,
    pub roles: Vec<Role>,
}

/// The kind of a linked device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// An authenticator app (TOTP) on a phone.
    PhoneTotp,
    /// An OATH hardware token (HOTP or TOTP) with a vendor serial number.
    HardwareToken,
    /// A WebAuthn security key or passkey (the credential lives in `webauthn_credentials`;
    /// the device row's OTP fields are placeholders and its sealed_secret is empty).
    SecurityKey,
    // Room for later: push-capable phones.
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneTotp => "phone_totp",
            Self::HardwareToken => "hardware_token",
            Self::SecurityKey => "security_key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "phone_totp" => Some(Self::PhoneTotp),
            "hardware_token" => Some(Self::HardwareToken),
            "security_key" => Some(Self::SecurityKey),
            _ => None,
        }
    }
}

/// Where a device stands. Hardware tokens exist before anyone holds them (stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Linked to a person and usable.
    Active,
    /// Linked but not usable.
    Disabled,
    /// A hardware token in stock, not linked to anyone.
    InStock,
    /// Unlinked for good (its seed is wiped); kept so the audit trail can name it.
    Removed,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::InStock => "in_stock",
            Self::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            "in_stock" => Some(Self::InStock),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// A device as stored; the seed stays sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    /// Random id, also the associated data of the sealed seed.
    pub uid: String,
    pub person_id: Option<PersonId>,
    pub org_id: Option<OrgId>,
    pub kind: DeviceKind,
    pub label: String,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub otp: OtpParams,
    #[serde(skip)]
    pub sealed_secret: Vec<u8>,
    /// HOTP: the next counter expected.
    pub counter: u64,
    /// TOTP: the last time step accepted (never accepted again).
    pub last_step: Option<u64>,
    pub state: DeviceState,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .field("person_id", &self.person_id)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("otp", &self.otp)
            .field("counter", &self.counter)
            .field("last_step", &self.last_step)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What a new device is made of (seed already sealed under `uid`).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub uid: String,
    pub person_id: Option<PersonId>,
    pub org_id: Option<OrgId>,
    pub kind: DeviceKind,
    pub label: String,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub otp: OtpParams,
    pub sealed_secret: Vec<u8>,
    pub counter: u64,
    pub state: DeviceState,
}

/// An OpenID Provider signing key as stored: the private key sealed under the operator's key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSigningKey {
    pub kid: String,
    pub alg: String,
    pub sealed_key: Vec<u8>,
    pub publish_at: UnixTime,
    pub sign_from: UnixTime,
    pub retire_at: Option<UnixTime>,
}

impl fmt::Debug for SealedSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("publish_at", &self.publish_at)
            .field("sign_from", &self.sign_from)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

/// A fresh random id (UUID v4 text).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}
