//! Audit events: typed values the engine and the admin operations return, written by the
//! store in the same transaction as the change they describe.

use crate::model::{DeviceId, OrgId, PersonId, UnixTime};
use serde::{Deserialize, Serialize};

/// Where an attempt or change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Radius,
    Oidc,
    Portal,
    Cli,
    System,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Radius => "radius",
            Self::Oidc => "oidc",
            Self::Portal => "portal",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LoginAttempt,
    OrgCreated,
    PersonCreated,
    PersonDisabled,
    PersonRemoved,
    PasswordChanged,
    PersonUnlocked,
    DeviceLinked,
    DeviceRemoved,
    DeviceResynced,
    TokenImported,
    /// OIDC: tokens issued to a client for a person.
    OidcTokenIssued,
    /// OIDC: a token request refused (bad client, code, verifier...).
    OidcTokenRefused,
    /// OIDC: RP-initiated logout.
    OidcLogout,
    /// OIDC: a signing key made or retired.
    SigningKeyChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginAttempt => "login_attempt",
            Self::OrgCreated => "org_created",
            Self::PersonCreated => "person_created",
            Self::PersonDisabled => "person_disabled",
            Self::PersonRemoved => "person_removed",
            Self::PasswordChanged => "password_changed",
            Self::PersonUnlocked => "person_unlocked",
            Self::DeviceLinked => "device_linked",
            Self::DeviceRemoved => "device_removed",
            Self::DeviceResynced => "device_resynced",
            Self::TokenImported => "token_imported",
            Self::OidcTokenIssued => "oidc_token_issued",
            Self::OidcTokenRefused => "oidc_token_refused",
            Self::OidcLogout => "oidc_logout",
            Self::SigningKeyChanged => "signing_key_changed",
        }
    }
}

/// The result of what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accept,
    Reject,
    Challenge,
    Done,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
            Self::Challenge => "challenge",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// One audit record. No secret, password or full code ever goes in here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub time: UnixTime,
    pub kind: EventKind,
    /// Who acted: `person:<id>`, `cli`, `system`.
    pub actor: String,
    /// The person the event is about, when known.
    pub person_id: Option<PersonId>,
    /// The username as given in an attempt (also for unknown usernames).
    pub username: Option<String>,
    pub org_id: Option<OrgId>,
    pub channel: Channel,
    /// The RADIUS client or OIDC client id.
    pub client: Option<String>,
    pub source: Option<String>,
    pub device_id: Option<DeviceId>,
    pub device_label: Option<String>,
    pub outcome: Outcome,
    /// A closed set of reasons (see `engine::Reason`), as text.
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// Extra structured detail (never secrets).
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An administrative event done from the CLI.
    pub fn admin(time: UnixTime, kind: EventKind, actor: &str) -> Self {
        Self {
            time,
            kind,
            actor: actor.to_owned(),
            person_id: None,
            username: None,
            org_id: None,
            channel: Channel::Cli,
            client: None,
            source: None,
            device_id: None,
            device_label: None,
            outcome: Outcome::Done,
            reason: None,
            request_id: None,
            detail: None,
        }
    }
}

/// A stored event with its row id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
}
