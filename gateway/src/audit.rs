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
    /// The life-cycle JSON API (an organisation's HR system, by its API token).
    Api,
    /// `directory sync`: people kept in step with an LDAP / AD directory.
    Directory,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Radius => "radius",
            Self::Oidc => "oidc",
            Self::Portal => "portal",
            Self::Cli => "cli",
            Self::System => "system",
            Self::Api => "api",
            Self::Directory => "directory",
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
    /// A device's label changed (the portal).
    DeviceRenamed,
    /// A new set of recovery codes replaced the old one (the portal).
    RecoveryCodesGenerated,
    /// An operator issued a temporary code for a lost device (the helpdesk path).
    TemporaryCodeIssued,
    DeviceResynced,
    TokenImported,
    /// OIDC: tokens issued to a client for a person.
    OidcTokenIssued,
    /// OIDC: a token request refused (bad client, code, verifier...).
    OidcTokenRefused,
    /// OIDC: RP-initiated logout.
    OidcLogout,
    /// OIDC: a signing key made or retired (also the audit checkpoint key).
    SigningKeyChanged,
    /// An auditor exported a search (`audit export`).
    AuditExported,
    /// A person's name, e-mail or employee number changed.
    PersonChanged,
    /// A person's roles changed.
    RoleChanged,
    /// An e-mail to a person: sent (done), failed, or not sent because no relay is set.
    MailSent,
    /// A life-cycle request (joiner, leaver, order, reservation...) submitted.
    RequestSubmitted,
    /// A life-cycle request changed status or content.
    RequestUpdated,
    /// An activation link (set password, link first phone) issued.
    ActivationLinkIssued,
    /// An activation link used: password set.
    ActivationCompleted,
    /// An organisation's API token made or revoked.
    ApiTokenIssued,
    /// Hardware token stock changed (ordered, delivered, marked lost).
    TokenStockChanged,
    /// Out-of-band approval: a prompt sent to a person's devices.
    ApprovalRequested,
    /// Out-of-band approval: approved, denied or reported as not me.
    ApprovalAnswered,
    /// The configuration was (re)loaded.
    ConfigReloaded,
    /// A page or API call refused for want of a role or organisation.
    AccessDenied,
    /// An auditor searched or viewed the audit trail.
    AuditSearched,
    /// Events past retention removed or pseudonymised.
    AuditPurged,
    /// Everything held about a person exported (GDPR subject access).
    SubjectAccessExported,
    /// An org admin or operator blocked a person at once ("block now"): every channel
    /// refuses them, their web sessions end.
    PersonBlocked,
    /// The block was lifted.
    PersonUnblocked,
    /// A device was disabled: the person said a newly linked device was not theirs (the
    /// link in the notice mail).
    DeviceDisabled,
    /// RADIUS accounting: a session started (Acct-Status-Type Start).
    AccountingStart,
    /// RADIUS accounting: a session ended (Stop).
    AccountingStop,
    /// RADIUS accounting: a session is still up (Interim-Update).
    AccountingInterim,
    /// RADIUS accounting: a NAS restarted (Accounting-On/Off): its sessions are over.
    AccountingNas,
    /// A Disconnect-Request (RFC 5176) sent for a session: ACK (done), NAK (reject) or no
    /// answer (failed).
    DisconnectSent,
    /// Self-service password reset: a link mailed (or, for a person whose password is their
    /// organisation's, a mail saying where to change it).
    PasswordResetRequested,
    /// Self-service password reset: the new password set through a link and a code.
    PasswordResetCompleted,
    /// Self-service password reset refused (unknown address, too many requests, a password
    /// the policy refuses...): the reason says which.
    PasswordResetRefused,
    /// Everything held about an organisation exported (`org export`).
    OrgExported,
    /// An organisation offboarded (`org offboard`), or its people's identities erased when
    /// that came due (reason `erasure`).
    OrgOffboarded,
    /// The operator set an organisation's policy (the rules in words in the detail).
    OrgPolicyChanged,
    /// An OIDC authorization answered from a single sign-on session (no new login).
    SsoLogin,
    /// A person chose the language of their e-mails and messages (detail: the language, or
    /// `null` for their organisation's).
    LanguageChanged,
    /// A single sign-on session ended (logout, revoked by the person or an administrator,
    /// the person blocked, disabled or removed, found dead, expired); actor and channel say
    /// who and where.
    SsoSessionEnded,
    /// A logout token was POSTed to a relying party (Back-Channel Logout 1.0): outcome
    /// done or failed, the client, the session's sid.
    BackchannelLogout,
    /// A web login remembered its browser ("Remember this browser for N days").
    BrowserRemembered,
    /// A remembered browser forgotten: by the person, an org admin, or because it ended
    /// (reason: the event that ended it, or `policy`).
    BrowserForgotten,
}

impl EventKind {
    /// Every kind, for listing.
    pub const ALL: [Self; 55] = [
        Self::LoginAttempt,
        Self::OrgCreated,
        Self::PersonCreated,
        Self::PersonDisabled,
        Self::PersonRemoved,
        Self::PasswordChanged,
        Self::PersonUnlocked,
        Self::DeviceLinked,
        Self::DeviceRemoved,
        Self::DeviceRenamed,
        Self::RecoveryCodesGenerated,
        Self::TemporaryCodeIssued,
        Self::DeviceResynced,
        Self::TokenImported,
        Self::OidcTokenIssued,
        Self::OidcTokenRefused,
        Self::OidcLogout,
        Self::SigningKeyChanged,
        Self::AuditExported,
        Self::PersonChanged,
        Self::RoleChanged,
        Self::MailSent,
        Self::RequestSubmitted,
        Self::RequestUpdated,
        Self::ActivationLinkIssued,
        Self::ActivationCompleted,
        Self::ApiTokenIssued,
        Self::TokenStockChanged,
        Self::ApprovalRequested,
        Self::ApprovalAnswered,
        Self::ConfigReloaded,
        Self::AccessDenied,
        Self::AuditSearched,
        Self::AuditPurged,
        Self::SubjectAccessExported,
        Self::PersonBlocked,
        Self::PersonUnblocked,
        Self::DeviceDisabled,
        Self::AccountingStart,
        Self::AccountingStop,
        Self::AccountingInterim,
        Self::AccountingNas,
        Self::DisconnectSent,
        Self::PasswordResetRequested,
        Self::PasswordResetCompleted,
        Self::PasswordResetRefused,
        Self::OrgExported,
        Self::OrgOffboarded,
        Self::OrgPolicyChanged,
        Self::SsoLogin,
        Self::LanguageChanged,
        Self::SsoSessionEnded,
        Self::BackchannelLogout,
        Self::BrowserRemembered,
        Self::BrowserForgotten,
    ];

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
            Self::DeviceRenamed => "device_renamed",
            Self::RecoveryCodesGenerated => "recovery_codes_generated",
            Self::TemporaryCodeIssued => "temporary_code_issued",
            Self::DeviceResynced => "device_resynced",
            Self::TokenImported => "token_imported",
            Self::OidcTokenIssued => "oidc_token_issued",
            Self::OidcTokenRefused => "oidc_token_refused",
            Self::OidcLogout => "oidc_logout",
            Self::SigningKeyChanged => "signing_key_changed",
            Self::AuditExported => "audit_exported",
            Self::PersonChanged => "person_changed",
            Self::RoleChanged => "role_changed",
            Self::MailSent => "mail_sent",
            Self::RequestSubmitted => "request_submitted",
            Self::RequestUpdated => "request_updated",
            Self::ActivationLinkIssued => "activation_link_issued",
            Self::ActivationCompleted => "activation_completed",
            Self::ApiTokenIssued => "api_token_issued",
            Self::TokenStockChanged => "token_stock_changed",
            Self::ApprovalRequested => "approval_requested",
            Self::ApprovalAnswered => "approval_answered",
            Self::ConfigReloaded => "config_reloaded",
            Self::AccessDenied => "access_denied",
            Self::AuditSearched => "audit_searched",
            Self::AuditPurged => "audit_purged",
            Self::SubjectAccessExported => "subject_access_exported",
            Self::PersonBlocked => "person_blocked",
            Self::PersonUnblocked => "person_unblocked",
            Self::DeviceDisabled => "device_disabled",
            Self::AccountingStart => "accounting_start",
            Self::AccountingStop => "accounting_stop",
            Self::AccountingInterim => "accounting_interim",
            Self::AccountingNas => "accounting_nas",
            Self::DisconnectSent => "disconnect_sent",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordResetCompleted => "password_reset_completed",
            Self::PasswordResetRefused => "password_reset_refused",
            Self::OrgExported => "org_exported",
            Self::OrgOffboarded => "org_offboarded",
            Self::OrgPolicyChanged => "org_policy_changed",
            Self::SsoLogin => "sso_login",
            Self::LanguageChanged => "language_changed",
            Self::SsoSessionEnded => "sso_session_ended",
            Self::BackchannelLogout => "backchannel_logout",
            Self::BrowserRemembered => "browser_remembered",
            Self::BrowserForgotten => "browser_forgotten",
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

/// The columns of a CSV export, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "id",
    "time",
    "kind",
    "actor",
    "person_id",
    "username",
    "org_id",
    "channel",
    "client",
    "source",
    "device_id",
    "device_label",
    "outcome",
    "reason",
    "request_id",
    "detail",
    "unix_time",
];

impl StoredEvent {
    /// The event's fields in `CSV_COLUMNS` order, as text (absent: empty).
    pub fn fields(&self) -> Vec<String> {
        let e = &self.event;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            self.id.to_string(),
            format_time(e.time),
            e.kind.as_str().to_owned(),
            e.actor.clone(),
            num(e.person_id),
            text(&e.username),
            num(e.org_id),
            e.channel.as_str().to_owned(),
            text(&e.client),
            text(&e.source),
            num(e.device_id),
            text(&e.device_label),
            e.outcome.as_str().to_owned(),
            text(&e.reason),
            text(&e.request_id),
            e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            e.time.to_string(),
        ]
    }
}

/// One CSV record (RFC 4180): fields with a comma, quote, CR or LF are quoted, quotes
/// doubled; a field starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'` so a
/// spreadsheet does not run it as a formula (OWASP CSV injection). Ends with CRLF.
pub fn csv_record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        let guarded;
        let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) && f.parse::<f64>().is_err() {
            guarded = format!("'{f}");
            guarded.as_str()
        } else {
            f
        };
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as RFC 3339 UTC (`2026-11-25T12:00:00Z`).
pub fn format_time(t: UnixTime) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A time given on the command line: unix seconds, an RFC 3339 date-time
/// (`2026-11-25T12:00:00Z`, `...+01:00`, fractions ignored) or a date (`2026-11-25`: its
/// first second, or its last with `end_of_day`, UTC).
pub fn parse_time(text: &str, end_of_day: bool) -> Option<UnixTime> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d) * 86_400;
    let Some(time) = time else {
        return Some(if end_of_day { day + 86_399 } else { day });
    };
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let i = time.rfind(['+', '-'])?;
        let (oh, om) = time[i + 1..].split_once(':')?;
        let off = num(oh)? * 3600 + num(om)? * 60;
        (&time[..i], if &time[i..=i] == "-" { -off } else { off })
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.split(':');
    let (h, mi, s) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    if hms.next().is_some() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(day + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_as_serde_names_them() {
        for k in EventKind::ALL {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.as_str().into()));
        }
    }

    #[test]
    fn times_round_trip() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_764_072_000), "2025-11-25T12:00:00Z");
        assert_eq!(
            parse_time("2025-11-25T12:00:00Z", false),
            Some(1_764_072_000)
        );
        assert_eq!(
            parse_time("2025-11-25T13:00:00+01:00", false),
            Some(1_764_072_000)
        );
        assert_eq!(
            parse_time("2025-11-25T12:00:00.5Z", false),
            Some(1_764_072_000)
        );
        assert_eq!(parse_time("2025-11-25", false), Some(1_764_028_800));
        assert_eq!(parse_time("2025-11-25", true), Some(1_764_028_800 + 86_399));
        assert_eq!(parse_time("1764072000", false), Some(1_764_072_000));
        assert_eq!(parse_time("2000-02-29", false), Some(951_782_400));
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-11-25T25:00:00Z",
            "2025-11",
        ] {
            assert_eq!(parse_time(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_record(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(
            csv_record(&["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
        assert_eq!(csv_record(&["=cmd()", "-5", "@x"]), "'=cmd(),-5,'@x\r\n");
        // A leading TAB or CR hides a formula from a naive check: guarded too.
        assert_eq!(csv_record(&["\t=1+1"]), "'\t=1+1\r\n");
        assert_eq!(csv_record(&["\r=1+1"]), "\"'\r=1+1\"\r\n");
    }
}
