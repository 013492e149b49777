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
    /// A customer organisation's auditor (its privacy officer): `/audit`, subject access
    /// included, for their own organisation's events only.
    OrgAuditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Person,
        Role::OrgAdmin,
        Role::Operator,
        Role::Auditor,
        Role::OrgAuditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Person => "person",
            Role::OrgAdmin => "org_admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::OrgAuditor => "org_auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().replace('-', "_"))
    }

    /// Every role's name, comma-separated (for help and error texts).
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
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
    /// Blocked by an org admin or operator ("block now") since then: no login on any
    /// channel until the block is lifted.
    pub blocked_at: Option<UnixTime>,
    /// When the person proved the e-mail address (used the activation link mailed to it).
    pub email_verified_at: Option<UnixTime>,
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
    /// A browser (usually a phone's) that gets sign-in requests by Web Push for out-of-band
    /// approval: its sealed_secret is the push subscription (endpoint and keys, JSON); the
    /// OTP fields are placeholders. It gives no code.
    PushSubscription,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneTotp => "phone_totp",
            Self::HardwareToken => "hardware_token",
            Self::SecurityKey => "security_key",
            Self::PushSubscription => "push_subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "phone_totp" => Some(Self::PhoneTotp),
            "hardware_token" => Some(Self::HardwareToken),
            "security_key" => Some(Self::SecurityKey),
            "push_subscription" => Some(Self::PushSubscription),
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

// ---- account life cycle (issue 8) ---------------------------------------------------------

pub type RequestId = i64;

/// What a customer organisation asks the provider for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    NewEmployee,
    ChangeAccount,
    RemoveAccount,
    OrderTokens,
    ReserveTokens,
}

impl RequestKind {
    pub const ALL: [Self; 5] = [
        Self::NewEmployee,
        Self::ChangeAccount,
        Self::RemoveAccount,
        Self::OrderTokens,
        Self::ReserveTokens,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewEmployee => "new_employee",
            Self::ChangeAccount => "change_account",
            Self::RemoveAccount => "remove_account",
            Self::OrderTokens => "order_tokens",
            Self::ReserveTokens => "reserve_tokens",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// In words, for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::NewEmployee => "New employee",
            Self::ChangeAccount => "Change account",
            Self::RemoveAccount => "Remove account",
            Self::OrderTokens => "Order hardware tokens",
            Self::ReserveTokens => "Reserve tokens",
        }
    }
}

/// Where a request stands: submitted -> in_progress -> done / rejected (a reservation may
/// also be cancelled by its organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Submitted,
    InProgress,
    Done,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [Self; 5] = [
        Self::Submitted,
        Self::InProgress,
        Self::Done,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Open: the operator still has to act.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::InProgress)
    }
}

/// What happens to a leaver's hardware tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenFate {
    /// Back to the organisation's stock.
    #[default]
    Return,
    /// Marked lost (never linked again).
    Lost,
}

/// The data of a request, by kind. Dates are `YYYY-MM-DD` (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestData {
    NewEmployee {
        full_name: String,
        email: String,
        #[serde(default)]
        employee_number: String,
        /// The login name; the e-mail address when empty.
        #[serde(default)]
        username: String,
        start_date: String,
        #[serde(default)]
        phone: bool,
        #[serde(default)]
        token: bool,
    },
    ChangeAccount {
        person_id: PersonId,
        /// Empty: unchanged.
        #[serde(default)]
        full_name: String,
        #[serde(default)]
        email: String,
        /// Unlink the person's hardware token(s) (back to stock or lost) ...
        #[serde(default)]
        replace_token: bool,
        #[serde(default)]
        old_token: TokenFate,
        /// ... and link this one from the organisation's stock (empty: the person links one
        /// in the portal).
        #[serde(default)]
        new_serial: String,
    },
    RemoveAccount {
        person_id: PersonId,
        end_date: String,
        #[serde(default)]
        tokens: TokenFate,
    },
    OrderTokens {
        count: u32,
        address: String,
        contact: String,
    },
    ReserveTokens {
        count: u32,
    },
}

impl RequestData {
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::NewEmployee { .. } => RequestKind::NewEmployee,
            Self::ChangeAccount { .. } => RequestKind::ChangeAccount,
            Self::RemoveAccount { .. } => RequestKind::RemoveAccount,
            Self::OrderTokens { .. } => RequestKind::OrderTokens,
            Self::ReserveTokens { .. } => RequestKind::ReserveTokens,
        }
    }

    /// The existing person the request is about.
    pub fn person_id(&self) -> Option<PersonId> {
        match self {
            Self::ChangeAccount { person_id, .. } | Self::RemoveAccount { person_id, .. } => {
                Some(*person_id)
            }
            _ => None,
        }
    }
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRequest {
    pub id: RequestId,
    pub org_id: OrgId,
    pub data: RequestData,
    pub status: RequestStatus,
    /// Who asked: `person:<id>`, `api:<token id>`, `cli`.
    pub requested_by: String,
    pub requester_id: Option<PersonId>,
    /// The person it is about (made by a new-employee request once done).
    pub person_id: Option<PersonId>,
    /// A leaver's end date, once the operator accepted it; applied when it comes.
    pub scheduled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// One step of a request's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStep {
    pub time: UnixTime,
    pub status: RequestStatus,
    pub actor: String,
    pub note: Option<String>,
}

/// An activation link as stored (the token only as its SHA-256).
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationLink {
    pub id: i64,
    pub person_id: PersonId,
    pub request_id: Option<RequestId>,
    pub token_hash: Vec<u8>,
    /// The first phone's seed, sealed under `seed_uid`, made when the page is first opened.
    pub sealed_seed: Option<Vec<u8>>,
    pub seed_uid: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

impl fmt::Debug for ActivationLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationLink")
            .field("id", &self.id)
            .field("person_id", &self.person_id)
            .field("request_id", &self.request_id)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// An organisation's API token as stored (the token only as its SHA-256).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub org_id: OrgId,
    pub token_hash: Vec<u8>,
    pub label: String,
    pub created_by: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("label", &self.label)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// Hardware tokens by where they stand, per organisation (None: the provider's own stock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StockCount {
    pub org_id: Option<OrgId>,
    /// Unassigned, in the provider's stock (org None) or shipped to the organisation.
    pub in_stock: u64,
    /// Linked to a person.
    pub assigned: u64,
    pub lost: u64,
    pub retired: u64,
    /// Tokens reserved without obligation (open and done reservations).
    pub reserved: u64,
}

/// A status change of a request, applied only when it stands at one of `from`.
#[derive(Debug, Clone)]
pub struct RequestChange<'a> {
    pub from: &'a [RequestStatus],
    pub to: RequestStatus,
    pub actor: &'a str,
    pub note: Option<&'a str>,
    /// New data (a reservation changed by its organisation).
    pub data: Option<&'a RequestData>,
    pub scheduled_at: Option<UnixTime>,
}

/// What a change-account request does, once resolved by the service.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// Unlink the person's hardware tokens, to stock or marked lost.
    pub unlink_tokens: Option<TokenFate>,
    /// Then link this token from the organisation's (or the provider's) stock.
    pub new_serial: Option<String>,
}
