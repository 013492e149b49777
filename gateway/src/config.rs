//! Configuration: a raw serde layer that mirrors `config/gateway.toml` (unknown keys are
//! refused), then `validate()` into the typed [`Config`] or a [`ConfigError`] naming the key.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What is wrong with the configuration, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub store: RawStore,
    pub secrets: RawSecrets,
    pub password: RawPassword,
    pub otp: RawOtp,
    pub lockout: RawLockout,
    pub tls: RawTls,
    pub log: RawLog,
    pub radius: RawRadius,
    pub rate_limit: RawRateLimit,
    pub admin: RawAdmin,
    pub http: RawHttp,
    pub oidc: RawOidc,
    pub mail: RawMail,
    pub audit: RawAudit,
    pub approval: RawApproval,
    pub shared: RawShared,
    /// `[[directories]]`: LDAP / Active Directory as the first factor.
    pub directories: Vec<crate::directory::config::RawDirectory>,
    /// `[i18n]`: the default language and the time zone.
    pub i18n: crate::i18n::config::RawI18n,
}

/// `[shared]`: where several instances keep their shared ephemeral state (Redis).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawShared {
    pub url: String,
    pub ca_file: String,
    pub password_env: String,
    pub key_prefix: String,
    pub timeout_ms: u64,
}

impl Default for RawShared {
    fn default() -> Self {
        Self {
            url: String::new(),
            ca_file: String::new(),
            password_env: String::new(),
            key_prefix: "mfa:".into(),
            timeout_ms: 500,
        }
    }
}

/// `[shared]`, validated: None without a URL (everything in this process).
fn validate_shared(
    s: RawShared,
    base: &Path,
) -> Result<Option<crate::shared::SharedSettings>, ConfigError> {
    let url = s.url.trim().to_owned();
    if url.is_empty() {
        return Ok(None);
    }
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(invalid(
            "shared.url",
            format!("`{url}` is not a redis:// or rediss:// URL"),
        ));
    }
    if url.contains('@') && url.split('@').next().is_some_and(|u| u.contains(':')) {
        return Err(invalid(
            "shared.url",
            "holds a password: put it in the environment variable named by shared.password_env",
        ));
    }
    if s.key_prefix.is_empty()
        || s.key_prefix.len() > 64
        || s.key_prefix.contains(char::is_whitespace)
    {
        return Err(invalid(
            "shared.key_prefix",
            "must be 1 to 64 characters without blanks",
        ));
    }
    if !(50..=10_000).contains(&s.timeout_ms) {
        return Err(invalid("shared.timeout_ms", "must be 50 to 10000"));
    }
    let opt = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let ca_file = opt(s.ca_file).map(|f| resolve(base, &f));
    if ca_file.is_some() && !url.starts_with("rediss://") {
        return Err(invalid("shared.ca_file", "is for rediss:// URLs only"));
    }
    Ok(Some(crate::shared::SharedSettings {
        url,
        ca_file,
        password_env: opt(s.password_env),
        key_prefix: s.key_prefix,
        timeout: std::time::Duration::from_millis(s.timeout_ms),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMail {
    pub relay: String,
    pub security: String,
    pub from: String,
    pub username: String,
    pub password_env: String,
    pub timeout_seconds: u64,
}

impl Default for RawMail {
    fn default() -> Self {
        Self {
            relay: String::new(),
            security: "starttls".into(),
            from: "mfa-gateway@localhost".into(),
            username: String::new(),
            password_env: String::new(),
            timeout_seconds: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApproval {
    pub timeout_seconds: u64,
    pub max_prompts: u32,
    pub window_seconds: u64,
    pub not_me_lock_seconds: u64,
    pub webhook_url: String,
    pub webhook_secret_env: String,
    pub push_subject: String,
    pub push_allow_loopback: bool,
    pub max_push_devices: u32,
}

impl Default for RawApproval {
    fn default() -> Self {
        Self {
            timeout_seconds: 50,
            max_prompts: 3,
            window_seconds: 600,
            not_me_lock_seconds: 3600,
            webhook_url: String::new(),
            webhook_secret_env: String::new(),
            push_subject: "mailto:operator@localhost".into(),
            push_allow_loopback: false,
            max_push_devices: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    pub retention_days: std::collections::BTreeMap<String, u32>,
    pub erase_removed_after_days: u32,
    pub siem: RawSiem,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSiem {
    pub sink: String,
    pub path: String,
    pub address: String,
    pub protocol: String,
    pub position_file: String,
}

impl Default for RawSiem {
    fn default() -> Self {
        Self {
            sink: "off".into(),
            path: "audit-stream.jsonl".into(),
            address: String::new(),
            protocol: "udp".into(),
            position_file: "siem.position".into(),
        }
    }
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            retention_days: [
                ("login_attempt".to_owned(), 365),
                ("default".to_owned(), 2557),
            ]
            .into_iter()
            .collect(),
            erase_removed_after_days: 30,
            siem: RawSiem::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHttp {
    pub listen: Vec<String>,
    pub tls: bool,
    pub public_url: String,
    pub trusted_proxies: Vec<String>,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            listen: vec![],
            tls: true,
            public_url: String::new(),
            trusted_proxies: vec![],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOidc {
    pub code_lifetime_seconds: u64,
    pub login_timeout_seconds: u64,
    pub key_rotation_days: u64,
    pub key_publish_ahead_seconds: u64,
    pub clients: Vec<RawOidcClient>,
}

impl Default for RawOidc {
    fn default() -> Self {
        Self {
            code_lifetime_seconds: 60,
            login_timeout_seconds: 600,
            key_rotation_days: 30,
            key_publish_ahead_seconds: 86400,
            clients: vec![],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOidcClient {
    pub client_id: String,
    pub name: String,
    pub secret_sha256: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub flows: Vec<String>,
    pub require_pkce: bool,
    pub refresh_tokens: bool,
    pub id_token_alg: String,
    pub id_token_lifetime_seconds: u64,
    pub access_token_lifetime_seconds: u64,
    pub refresh_token_lifetime_seconds: u64,
    /// The organisations (by name) whose people may sign in to it; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
    /// Back-Channel Logout 1.0: where logout tokens go when a single sign-on session it got
    /// tokens in ends (https; http only to loopback). Default: none.
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in logout tokens (they always carry it). Default false.
    pub backchannel_logout_session_required: bool,
}

impl Default for RawOidcClient {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            name: String::new(),
            secret_sha256: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            flows: vec!["code".into()],
            require_pkce: true,
            refresh_tokens: false,
            id_token_alg: "EdDSA".into(),
            id_token_lifetime_seconds: 300,
            access_token_lifetime_seconds: 300,
            refresh_token_lifetime_seconds: 86400,
            orgs: Vec::new(),
            default_org: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub listen: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub url: String,
    pub max_connections: u32,
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            url: "sqlite://mfa-gateway.db".into(),
            max_connections: 8,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSecrets {
    pub key_file: String,
    pub key_env: String,
}

impl Default for RawSecrets {
    fn default() -> Self {
        Self {
            key_file: "mfa-gateway.key".into(),
            key_env: "MFA_GATEWAY_KEY".into(),
        }
    }
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub cert: String,
    pub key: String,
    pub client_ca: String,
}

impl Default for RawTls {
    fn default() -> Self {
        Self {
            cert: "certs/server.pem".into(),
            key: "certs/server.key".into(),
            client_ca: "certs/ca.pem".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: String,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRadius {
    pub listen: Vec<String>,
    pub radsec_listen: Vec<String>,
    pub duplicate_window_seconds: u64,
    pub max_in_flight: usize,
    pub challenge_timeout_seconds: u64,
    pub challenge_prompt: String,
    pub clients: Vec<RawRadiusClient>,
    /// RADIUS Accounting (RFC 2866) UDP addresses (issue 12).
    pub accounting_listen: Vec<String>,
    /// RadSec: close a connection without a frame for this long.
    pub radsec_idle_timeout_seconds: u64,
    /// Every client's default: `DOMAIN\user` accepted for these domains.
    pub domains: Vec<String>,
    /// Every client's default: `user@suffix` accepted for these suffixes.
    pub upn_suffixes: Vec<String>,
}

impl Default for RawRadius {
    fn default() -> Self {
        Self {
            listen: vec!["0.0.0.0:1812".into()],
            radsec_listen: vec![],
            duplicate_window_seconds: 10,
            max_in_flight: 256,
            challenge_timeout_seconds: 120,
            // Empty: the catalogue's text in the person's language.
            challenge_prompt: String::new(),
            clients: vec![],
            accounting_listen: vec![],
            radsec_idle_timeout_seconds: 120,
            domains: vec![],
            upn_suffixes: vec![],
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRadiusClient {
    pub name: String,
    pub address: String,
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    pub radsec_secret: Option<String>,
    pub mode: String,
    pub separator: Option<String>,
    pub otp_digits: Option<u8>,
    pub message_authenticator: Option<String>,
    pub class: Option<String>,
    pub session_timeout: Option<u32>,
    pub label: Option<String>,
    // Issue 12: RADIUS clients as they are in the field (see `crate::radius_field`).
    pub end_user_address: Vec<String>,
    pub domains: Option<Vec<String>>,
    pub upn_suffixes: Option<Vec<String>>,
    pub radsec_identity: Option<String>,
    pub radsec_cert_sha256: Vec<String>,
    pub disconnect: bool,
    pub disconnect_port: Option<u16>,
    /// The organisations (by name) whose people this client serves; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
    pub disconnect_secret: Option<String>,
    pub disconnect_secret_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimit {
    pub per_source_per_minute: u32,
    pub per_username_per_minute: u32,
    pub per_client_per_second: u32,
    pub ipv6_prefix: u8,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        Self {
            per_source_per_minute: 120,
            per_username_per_minute: 30,
            per_client_per_second: 500,
            ipv6_prefix: 64,
        }
    }
}

/// The validated configuration. Relative paths are resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    pub store_url: String,
    pub store_max_connections: u32,
    pub key_file: PathBuf,
    pub key_env: String,
    pub password: PasswordPolicy,
    pub otp: OtpPolicy,
    pub lockout: LockoutPolicy,
    pub tls: TlsPaths,
    pub log_json: bool,
    pub log_level: String,
    pub radius: RadiusSettings,
    pub rate_limit: RateLimits,
    /// Plain-HTTP listeners for /metrics, /healthz and /readyz.
    pub admin_listen: Vec<std::net::SocketAddr>,
    pub http: HttpSettings,
    pub oidc: OidcSettings,
    pub mail: MailSettings,
    pub audit: AuditSettings,
    pub approval: ApprovalSettings,
    /// Shared ephemeral state (Redis) for several instances; None: in this process.
    pub shared: Option<crate::shared::SharedSettings>,
    /// Directories (LDAP / Active Directory) that check the passwords of some organisations.
    pub directories: Vec<crate::directory::config::DirectorySettings>,
    /// The default language and the time zone (issue 15).
    pub i18n: crate::i18n::I18nSettings,
}

/// Out-of-band approval (RADIUS second-factor-only clients, "send a request to my phone").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSettings {
    pub hub: crate::approval::HubSettings,
    /// POST each prompt (and "not me" alerts) here, signed with HMAC-SHA256.
    pub webhook_url: Option<String>,
    /// The environment variable holding the webhook's HMAC secret.
    pub webhook_secret_env: Option<String>,
    /// VAPID `sub` (mailto: or https:) for Web Push.
    pub push_subject: String,
    /// Tests only: accept push subscriptions whose endpoint is on this machine.
    pub push_allow_loopback: bool,
    /// Push devices one person may link.
    pub max_push_devices: u32,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            hub: crate::approval::HubSettings::default(),
            webhook_url: None,
            webhook_secret_env: None,
            push_subject: "mailto:operator@localhost".into(),
            push_allow_loopback: false,
            max_push_devices: 10,
        }
    }
}

/// How mail leaves: through an SMTP relay, or not at all (then each mail that would have
/// gone is recorded in the audit trail without its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// host and port; None: no relay.
    pub relay: Option<(String, u16)>,
    pub security: MailSecurity,
    pub from: String,
    pub username: Option<String>,
    /// The environment variable holding the relay password.
    pub password_env: Option<String>,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSecurity {
    /// Plain SMTP (only for a relay on this machine or a test sink).
    None,
    /// STARTTLS required.
    StartTls,
    /// Implicit TLS (SMTPS, port 465).
    Tls,
}

/// Audit retention: days per event kind (`default` for kinds not named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub retention_days: std::collections::BTreeMap<String, u32>,
    pub default_retention_days: u32,
    /// A removed person's identity is replaced by a pseudonym this long after removal.
    pub erase_removed_after_days: u32,
    /// Where events are streamed as they are written (a SIEM), if anywhere.
    pub siem: Option<SiemSink>,
    /// Where the stream remembers the last event it sent.
    pub siem_position_file: PathBuf,
}

/// A SIEM stream: JSON lines to a file, or RFC 5424 syslog messages over UDP or TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiemSink {
    File(PathBuf),
    SyslogUdp(std::net::SocketAddr),
    SyslogTcp(std::net::SocketAddr),
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: [("login_attempt".to_owned(), 365)].into_iter().collect(),
            default_retention_days: 2557,
            erase_removed_after_days: 30,
            siem: None,
            siem_position_file: PathBuf::from("siem.position"),
        }
    }
}

/// The web listener (OpenID Provider, login pages, metrics).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: Vec<std::net::SocketAddr>,
    pub tls: bool,
    /// The issuer; None: derived from the first bound address.
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub code_lifetime: u64,
    pub login_timeout: u64,
    pub key_rotation_days: u64,
    pub key_publish_ahead: u64,
    pub clients: Vec<OidcClient>,
}

/// A relying party registered in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    pub name: String,
    pub secret_sha256: Option<[u8; 32]>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub code_flow: bool,
    pub implicit_flow: bool,
    pub require_pkce: bool,
    pub refresh_tokens: bool,
    /// "EdDSA" or "RS256".
    pub id_token_alg: String,
    pub id_token_lifetime: u64,
    pub access_token_lifetime: u64,
    pub refresh_token_lifetime: u64,
    /// The organisations (by name) whose people may sign in to it; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0), if anywhere.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

/// The RADIUS front: listeners, clients, and how challenges behave.
#[derive(Debug, Clone)]
pub struct RadiusSettings {
    pub listen: Vec<std::net::SocketAddr>,
    pub radsec_listen: Vec<std::net::SocketAddr>,
    pub duplicate_window: std::time::Duration,
    pub max_in_flight: usize,
    pub challenge_timeout_seconds: u64,
    pub challenge_prompt: String,
    pub clients: Vec<mfa_radius::ClientConfig>,
    /// Per client name: how many digits the code has in append mode without a separator.
    pub otp_digits: std::collections::HashMap<String, u8>,
    /// Per client name: what a person approving a login is shown (second-factor-only).
    pub labels: std::collections::HashMap<String, String>,
    /// RADIUS Accounting listeners (UDP, usually port 1813).
    pub accounting_listen: Vec<std::net::SocketAddr>,
    /// RadSec: idle connections are closed after this.
    pub radsec_idle_timeout: std::time::Duration,
    /// Per client name: usernames as typed, Disconnect (issue 12).
    pub field: std::collections::HashMap<String, crate::radius_field::ClientField>,
}

/// Attempts allowed before any password is checked (0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_source_per_minute: u32,
    pub per_username_per_minute: u32,
    pub per_client_per_second: u32,
    /// IPv6 sources share one budget per prefix of this length.
    pub ipv6_prefix: u8,
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

#[derive(Debug, Clone)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
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

impl Config {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parse TOML text; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: describe(text, &e),
        })?;
        raw.validate(base)
    }
}

/// toml's own messages span several lines with a source excerpt; make one line that names
/// the line number and the full key (`section.key`).
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_owned();
    let Some(span) = e.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find_map(|l| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
    match line.split_once('=') {
        Some((key, _)) if !line.trim_start().starts_with('[') => {
            let key = key.trim();
            let full = section.map_or_else(|| key.to_owned(), |s| format!("{s}.{key}"));
            format!("line {line_no}: key `{full}`: {message}")
        }
        _ => format!("line {line_no}: {message}"),
    }
}

/// `p` relative to the configuration file's folder (unless absolute).
pub(crate) fn resolve_path(base: &Path, p: &str) -> PathBuf {
    resolve(base, p)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl RawConfig {
    pub fn validate(self, base: &Path) -> Result<Config, ConfigError> {
        let store_url = resolve_store_url(base, &self.store.url)?;
        if self.store.max_connections == 0 {
            return Err(invalid("store.max_connections", "must be at least 1"));
        }
        if self.secrets.key_file.is_empty() && self.secrets.key_env.is_empty() {
            return Err(invalid(
                "secrets.key_file",
                "set a key file or an environment variable (secrets.key_env)",
            ));
        }
        let p = &self.password;
        if p.argon2_memory_kib < 8 * p.argon2_parallelism.max(1) {
            return Err(invalid(
                "password.argon2_memory_kib",
                "must be at least 8 KiB per lane (OWASP: 19456)",
            ));
        }
        if p.argon2_iterations == 0 {
            return Err(invalid("password.argon2_iterations", "must be at least 1"));
        }
        if !(1..=255).contains(&p.argon2_parallelism) {
            return Err(invalid("password.argon2_parallelism", "must be 1 to 255"));
        }
        let hashing_threads = if p.hashing_threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            p.hashing_threads
        };
        if p.min_length == 0 {
            return Err(invalid("password.min_length", "must be at least 1"));
        }
        let blocklist = match p.blocklist_file.trim() {
            "" => None,
            file => Some(
                crate::blocklist::load_once(&resolve(base, file))
                    .map_err(|e| invalid("password.blocklist_file", e.to_string()))?,
            ),
        };
        let o = &self.otp;
        if o.totp_skew_steps > 10 {
            return Err(invalid(
                "otp.totp_skew_steps",
                "must be 0 to 10 (RFC 6238 recommends 1)",
            ));
        }
        if o.hotp_look_ahead == 0 || o.hotp_look_ahead > 1000 {
            return Err(invalid("otp.hotp_look_ahead", "must be 1 to 1000"));
        }
        if o.hotp_resync_window < o.hotp_look_ahead || o.hotp_resync_window > 100_000 {
            return Err(invalid(
                "otp.hotp_resync_window",
                "must be at least otp.hotp_look_ahead and at most 100000",
            ));
        }
        if o.issuer.is_empty() || o.issuer.contains(':') {
            return Err(invalid("otp.issuer", "must be non-empty and without ':'"));
        }
        let l = &self.lockout;
        if l.threshold == 0 {
            return Err(invalid("lockout.threshold", "must be at least 1"));
        }
        if l.base_seconds == 0 {
            return Err(invalid("lockout.base_seconds", "must be at least 1"));
        }
        if l.max_seconds < l.base_seconds {
            return Err(invalid(
                "lockout.max_seconds",
                "must be at least lockout.base_seconds",
            ));
        }
        if l.password_threshold == 0 {
            return Err(invalid("lockout.password_threshold", "must be at least 1"));
        }
        let v6 = self.rate_limit.ipv6_prefix;
        if !(32..=128).contains(&v6) {
            return Err(invalid(
                "rate_limit.ipv6_prefix",
                "must be between 32 and 128 (64: one customer network)",
            ));
        }
        let log_json = match self.log.format.as_str() {
            "text" => false,
            "json" => true,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("`{other}` is not one of: text, json"),
                ));
            }
        };
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                "log.level",
                format!("`{}` is not a level or filter", self.log.level),
            ));
        }
        Ok(Config {
            store_url,
            store_max_connections: self.store.max_connections,
            key_file: resolve(base, &self.secrets.key_file),
            key_env: self.secrets.key_env,
            password: PasswordPolicy {
                memory_kib: p.argon2_memory_kib,
                iterations: p.argon2_iterations,
                parallelism: p.argon2_parallelism,
                hashing_threads,
                min_length: p.min_length,
                blocklist,
            },
            otp: OtpPolicy {
                issuer: o.issuer.clone(),
                totp_skew_steps: o.totp_skew_steps,
                hotp_look_ahead: o.hotp_look_ahead,
                hotp_resync_window: o.hotp_resync_window,
            },
            lockout: LockoutPolicy {
                threshold: l.threshold,
                base_seconds: l.base_seconds,
                max_seconds: l.max_seconds,
                password_threshold: l.password_threshold,
                ipv6_prefix: v6,
            },
            tls: TlsPaths {
                cert: resolve(base, &self.tls.cert),
                key: resolve(base, &self.tls.key),
                client_ca: resolve(base, &self.tls.client_ca),
            },
            log_json,
            log_level: self.log.level,
            radius: validate_radius(self.radius)?,
            admin_listen: socket_addrs("admin.listen", &self.admin.listen)?,
            http: validate_http(self.http)?,
            oidc: validate_oidc(self.oidc)?,
            mail: validate_mail(self.mail)?,
            audit: validate_audit(self.audit, base)?,
            approval: validate_approval(self.approval)?,
            shared: validate_shared(self.shared, base)?,
            directories: crate::directory::config::validate(self.directories, base)?,
            i18n: crate::i18n::config::validate(self.i18n)?,
            rate_limit: RateLimits {
                per_source_per_minute: self.rate_limit.per_source_per_minute,
                per_username_per_minute: self.rate_limit.per_username_per_minute,
                per_client_per_second: self.rate_limit.per_client_per_second,
                ipv6_prefix: v6,
            },
        })
    }
}

fn socket_addrs(
    key: &'static str,
    list: &[String],
) -> Result<Vec<std::net::SocketAddr>, ConfigError> {
    list.iter()
        .map(|a| {
            a.parse().map_err(|_| {
                invalid(
                    key,
                    format!("`{a}` is not an address:port such as 0.0.0.0:1812 or [::]:1812"),
                )
            })
        })
        .collect()
}

fn validate_mail(m: RawMail) -> Result<MailSettings, ConfigError> {
    let security = match m.security.as_str() {
        "none" => MailSecurity::None,
        "starttls" => MailSecurity::StartTls,
        "tls" => MailSecurity::Tls,
        other => {
            return Err(invalid(
                "mail.security",
                format!("`{other}` is not one of: starttls, tls, none"),
            ));
        }
    };
    let relay = if m.relay.trim().is_empty() {
        None
    } else {
        let r = m.relay.trim();
        let (host, port) = match r.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (
                h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid("mail.relay", format!("`{p}` is not a port number")))?,
            ),
            _ => (
                r.to_owned(),
                match security {
                    MailSecurity::Tls => 465,
                    MailSecurity::StartTls => 587,
                    MailSecurity::None => 25,
                },
            ),
        };
        if host.contains(char::is_whitespace) {
            return Err(invalid("mail.relay", format!("`{r}` is not a host[:port]")));
        }
        Some((host, port))
    };
    if !m.from.contains('@') || m.from.contains(char::is_whitespace) {
        return Err(invalid(
            "mail.from",
            format!("`{}` is not an e-mail address", m.from),
        ));
    }
    if m.timeout_seconds == 0 || m.timeout_seconds > 300 {
        return Err(invalid("mail.timeout_seconds", "must be 1 to 300"));
    }
    let opt = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let username = opt(m.username);
    let password_env = opt(m.password_env);
    if username.is_some() != password_env.is_some() {
        return Err(invalid(
            "mail.password_env",
            "set both mail.username and mail.password_env, or neither",
        ));
    }
    Ok(MailSettings {
        relay,
        security,
        from: m.from,
        username,
        password_env,
        timeout_seconds: m.timeout_seconds,
    })
}

fn validate_approval(a: RawApproval) -> Result<ApprovalSettings, ConfigError> {
    if a.timeout_seconds == 0 || a.timeout_seconds > 600 {
        return Err(invalid("approval.timeout_seconds", "must be 1 to 600"));
    }
    if a.max_prompts == 0 {
        return Err(invalid("approval.max_prompts", "must be at least 1"));
    }
    if a.window_seconds == 0 {
        return Err(invalid("approval.window_seconds", "must be at least 1"));
    }
    let opt = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let webhook_url = opt(a.webhook_url);
    if let Some(u) = &webhook_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(invalid(
            "approval.webhook_url",
            format!("`{u}` is not an http:// or https:// URL"),
        ));
    }
    let webhook_secret_env = opt(a.webhook_secret_env);
    if webhook_url.is_some() != webhook_secret_env.is_some() {
        return Err(invalid(
            "approval.webhook_secret_env",
            "set both approval.webhook_url and approval.webhook_secret_env, or neither",
        ));
    }
    if a.max_push_devices == 0 || a.max_push_devices > 100 {
        return Err(invalid("approval.max_push_devices", "must be 1 to 100"));
    }
    if !(a.push_subject.starts_with("mailto:") || a.push_subject.starts_with("https://")) {
        return Err(invalid(
            "approval.push_subject",
            format!("`{}` is not a mailto: or https: contact", a.push_subject),
        ));
    }
    Ok(ApprovalSettings {
        hub: crate::approval::HubSettings {
            timeout_seconds: a.timeout_seconds,
            max_prompts: a.max_prompts,
            window_seconds: a.window_seconds,
            not_me_lock_seconds: a.not_me_lock_seconds,
            max_pending: 100_000,
        },
        webhook_url,
        webhook_secret_env,
        push_subject: a.push_subject,
        push_allow_loopback: a.push_allow_loopback,
        max_push_devices: a.max_push_devices,
    })
}

fn validate_siem(s: &RawSiem, base: &Path) -> Result<Option<SiemSink>, ConfigError> {
    let address = || -> Result<std::net::SocketAddr, ConfigError> {
        s.address.trim().parse().map_err(|_| {
            invalid(
                "audit.siem.address",
                format!(
                    "`{}` is not an address:port such as 192.0.2.5:514",
                    s.address
                ),
            )
        })
    };
    match s.sink.as_str() {
        "off" => Ok(None),
        "file" => {
            if s.path.trim().is_empty() {
                return Err(invalid("audit.siem.path", "give the file to append to"));
            }
            Ok(Some(SiemSink::File(resolve(base, &s.path))))
        }
        "syslog" => match s.protocol.as_str() {
            "udp" => Ok(Some(SiemSink::SyslogUdp(address()?))),
            "tcp" => Ok(Some(SiemSink::SyslogTcp(address()?))),
            other => Err(invalid(
                "audit.siem.protocol",
                format!("`{other}` is not one of: udp, tcp"),
            )),
        },
        other => Err(invalid(
            "audit.siem.sink",
            format!("`{other}` is not one of: off, file, syslog"),
        )),
    }
}

fn validate_audit(a: RawAudit, base: &Path) -> Result<AuditSettings, ConfigError> {
    let siem = validate_siem(&a.siem, base)?;
    let siem_position_file = resolve(base, &a.siem.position_file);
    let mut retention_days = std::collections::BTreeMap::new();
    let mut default_retention_days = 2557;
    for (kind, days) in a.retention_days {
        if days == 0 {
            return Err(invalid(
                "audit.retention_days",
                format!("`{kind}`: 0 days would purge at once; give at least 1"),
            ));
        }
        if kind == "default" {
            default_retention_days = days;
        } else if crate::audit::EventKind::ALL
            .iter()
            .any(|k| k.as_str() == kind)
        {
            retention_days.insert(kind, days);
        } else {
            return Err(invalid(
                "audit.retention_days",
                format!(
                    "`{kind}` is not `default` or an event kind ({})",
                    crate::audit::EventKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            ));
        }
    }
    Ok(AuditSettings {
        retention_days,
        default_retention_days,
        erase_removed_after_days: a.erase_removed_after_days,
        siem,
        siem_position_file,
    })
}

fn validate_http(h: RawHttp) -> Result<HttpSettings, ConfigError> {
    let listen = socket_addrs("http.listen", &h.listen)?;
    let public_url = match h.public_url.trim().trim_end_matches('/') {
        "" => None,
        u if u.starts_with("https://") || (!h.tls && u.starts_with("http://")) => {
            Some(u.to_owned())
        }
        u => {
            return Err(invalid(
                "http.public_url",
                format!(
                    "`{u}` must be an https:// URL (http:// only with tls = false behind a proxy)"
                ),
            ));
        }
    };
    let trusted_proxies = h
        .trusted_proxies
        .iter()
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        "http.trusted_proxies",
                        format!("`{p}` is not an IP address or CIDR network"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if h.tls && !trusted_proxies.is_empty() {
        return Err(invalid(
            "http.trusted_proxies",
            "only used with tls = false (behind a reverse proxy that terminates TLS)",
        ));
    }
    Ok(HttpSettings {
        listen,
        tls: h.tls,
        public_url,
        trusted_proxies,
    })
}

/// A redirect URI must be absolute, without fragment; plain http only to loopback.
fn redirect_uri_ok(u: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    !u.contains('#')
        && (u.starts_with("https://") || loopback.iter().any(|l| u.starts_with(l)))
        && !u.chars().any(char::is_whitespace)
}

fn validate_oidc(o: RawOidc) -> Result<OidcSettings, ConfigError> {
    if !(1..=600).contains(&o.code_lifetime_seconds) {
        return Err(invalid("oidc.code_lifetime_seconds", "must be 1 to 600"));
    }
    if !(60..=3600).contains(&o.login_timeout_seconds) {
        return Err(invalid("oidc.login_timeout_seconds", "must be 60 to 3600"));
    }
    let mut clients: Vec<OidcClient> = Vec::new();
    for c in o.clients {
        let id = c.client_id.trim().to_owned();
        if id.is_empty() || id.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
            return Err(invalid(
                "oidc.clients.client_id",
                "every client needs an id without blanks",
            ));
        }
        if clients.iter().any(|k| k.client_id == id) {
            return Err(invalid(
                "oidc.clients.client_id",
                format!("`{id}` is used twice"),
            ));
        }
        let at = |problem: String| invalid("oidc.clients", format!("client `{id}`: {problem}"));
        let secret_sha256 = match &c.secret_sha256 {
            None => None,
            Some(h) => {
                let bytes = hex::decode(h.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                Some(bytes.ok_or_else(|| at("secret_sha256 must be 64 hex digits (`mfa-gateway oidc hash-secret` makes it)".into()))?)
            }
        };
        if c.redirect_uris.is_empty() {
            return Err(at("needs at least one redirect_uris entry".into()));
        }
        for u in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
            if !redirect_uri_ok(u) {
                return Err(at(format!(
                    "`{u}` must be an absolute https:// URL without fragment (http:// only to loopback)"
                )));
            }
        }
        let mut code_flow = false;
        let mut implicit_flow = false;
        for f in &c.flows {
            match f.as_str() {
                "code" => code_flow = true,
                "implicit" => implicit_flow = true,
                other => return Err(at(format!("flow `{other}` is not one of code, implicit"))),
            }
        }
        if !code_flow && !implicit_flow {
            return Err(at("flows must name code and/or implicit".into()));
        }
        if secret_sha256.is_none() && code_flow && !c.require_pkce {
            return Err(at(
                "a public client (no secret) must use PKCE: set require_pkce = true".into(),
            ));
        }
        if !matches!(c.id_token_alg.as_str(), "EdDSA" | "RS256") {
            return Err(at(format!(
                "id_token_alg `{}` is not EdDSA or RS256",
                c.id_token_alg
            )));
        }
        for (k, v) in [
            ("id_token_lifetime_seconds", c.id_token_lifetime_seconds),
            (
                "access_token_lifetime_seconds",
                c.access_token_lifetime_seconds,
            ),
            (
                "refresh_token_lifetime_seconds",
                c.refresh_token_lifetime_seconds,
            ),
        ] {
            if !(30..=30 * 86400).contains(&v) {
                return Err(at(format!("{k} must be 30 s to 30 days")));
            }
        }
        let orgs = crate::radius_field::org_names(&c.orgs).map_err(at)?;
        let default_org =
            crate::radius_field::default_org(c.default_org.as_deref(), &orgs).map_err(at)?;
        let backchannel_logout_uri = match c.backchannel_logout_uri.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => {
                mfa_oidc::check_backchannel_uri(u).map_err(|why| {
                    at(format!(
                        "backchannel_logout_uri `{u}`: {why} (https://, or http:// to loopback)"
                    ))
                })?;
                Some(u.to_owned())
            }
        };
        clients.push(OidcClient {
            name: if c.name.trim().is_empty() {
                id.clone()
            } else {
                c.name.trim().to_owned()
            },
            client_id: id,
            secret_sha256,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            code_flow,
            implicit_flow,
            require_pkce: c.require_pkce,
            refresh_tokens: c.refresh_tokens,
            id_token_alg: c.id_token_alg,
            id_token_lifetime: c.id_token_lifetime_seconds,
            access_token_lifetime: c.access_token_lifetime_seconds,
            refresh_token_lifetime: c.refresh_token_lifetime_seconds,
            orgs,
            default_org,
            backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        });
    }
    if !(1..=365).contains(&o.key_rotation_days) {
        return Err(invalid("oidc.key_rotation_days", "must be 1 to 365"));
    }
    Ok(OidcSettings {
        code_lifetime: o.code_lifetime_seconds,
        login_timeout: o.login_timeout_seconds,
        key_rotation_days: o.key_rotation_days,
        key_publish_ahead: o.key_publish_ahead_seconds,
        clients,
    })
}

fn validate_radius(r: RawRadius) -> Result<RadiusSettings, ConfigError> {
    use mfa_radius::{ClientConfig, ClientMode, MessageAuthenticatorPolicy, SharedSecret};
    let listen = socket_addrs("radius.listen", &r.listen)?;
    let radsec_listen = socket_addrs("radius.radsec_listen", &r.radsec_listen)?;
    if r.max_in_flight == 0 {
        return Err(invalid("radius.max_in_flight", "must be at least 1"));
    }
    if !(10..=600).contains(&r.challenge_timeout_seconds) {
        return Err(invalid(
            "radius.challenge_timeout_seconds",
            "must be 10 to 600",
        ));
    }
    if r.duplicate_window_seconds > 60 {
        return Err(invalid(
            "radius.duplicate_window_seconds",
            "must be at most 60",
        ));
    }
    let mut clients = Vec::new();
    let mut otp_digits = std::collections::HashMap::new();
    let mut labels = std::collections::HashMap::new();
    let mut field = std::collections::HashMap::new();
    let accounting_listen = socket_addrs("radius.accounting_listen", &r.accounting_listen)?;
    if !(5..=3600).contains(&r.radsec_idle_timeout_seconds) {
        return Err(invalid(
            "radius.radsec_idle_timeout_seconds",
            "must be 5 to 3600",
        ));
    }
    crate::radius_field::check_names(&r.domains, &r.upn_suffixes)
        .map_err(|p| invalid("radius.domains", p))?;
    for c in r.clients {
        let name = c.name.trim().to_owned();
        if name.is_empty() {
            return Err(invalid("radius.clients.name", "every client needs a name"));
        }
        if otp_digits.contains_key(&name) {
            return Err(invalid(
                "radius.clients.name",
                format!("`{name}` is used twice"),
            ));
        }
        let at = |problem: String| invalid("radius.clients", format!("client `{name}`: {problem}"));
        let network: ipnet::IpNet = c
            .address
            .parse()
            .or_else(|_| {
                c.address
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
            })
            .map_err(|_| {
                at(format!(
                    "address `{}` is not an IP address or CIDR network",
                    c.address
                ))
            })?;
        let secret = match (&c.secret, &c.secret_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => {
                std::env::var(var).map_err(|_| at(format!("secret_env: ${var} is not set")))?
            }
            _ => return Err(at("set exactly one of secret and secret_env".into())),
        };
        if secret.len() < 16 {
            return Err(at("the shared secret must be at least 16 characters".into()));
        }
        let separator = match c.separator.as_deref() {
            None | Some("") => None,
            Some(s) if s.chars().count() == 1 => s.chars().next(),
            Some(s) => return Err(at(format!("separator `{s}` must be one character"))),
        };
        let mode = match c.mode.as_str() {
            "append" | "" => ClientMode::Append { separator },
            "challenge" => ClientMode::Challenge,
            "second_factor_only" => ClientMode::SecondFactorOnly,
            "code_only" => ClientMode::CodeOnly,
            other => {
                return Err(at(format!(
                    "mode `{other}` is not one of append, challenge, second_factor_only, code_only"
                )));
            }
        };
        let digits = c.otp_digits.unwrap_or(6);
        if !(6..=8).contains(&digits) {
            return Err(at("otp_digits must be 6 to 8".into()));
        }
        let message_authenticator = match c.message_authenticator.as_deref() {
            None | Some("required") => MessageAuthenticatorPolicy::Required,
            Some("not_required") => MessageAuthenticatorPolicy::NotRequired,
            Some("auto") => MessageAuthenticatorPolicy::Auto,
            Some(other) => {
                return Err(at(format!(
                    "message_authenticator `{other}` is not one of required, not_required, auto"
                )));
            }
        };
        let mut client = ClientConfig::new(
            name.clone(),
            network,
            SharedSecret::new(secret.into_bytes()),
        );
        let client_field =
            crate::radius_field::validate_client(&c, &r.domains, &r.upn_suffixes, &mut client)
                .map_err(at)?;
        field.insert(name.clone(), client_field);
        client.radsec_secret = c.radsec_secret.map(|s| SharedSecret::new(s.into_bytes()));
        client.mode = mode;
        client.message_authenticator = message_authenticator;
        client.class = c.class.map(String::into_bytes);
        client.session_timeout = c.session_timeout;
        if let Some(label) = c
            .label
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
        {
            if label.chars().count() > 64 || label.chars().any(char::is_control) {
                return Err(at("label must be 1 to 64 printable characters".into()));
            }
            labels.insert(name.clone(), label);
        }
        otp_digits.insert(name, digits);
        clients.push(client);
    }
    Ok(RadiusSettings {
        listen,
        radsec_listen,
        duplicate_window: std::time::Duration::from_secs(r.duplicate_window_seconds),
        max_in_flight: r.max_in_flight,
        challenge_timeout_seconds: r.challenge_timeout_seconds,
        challenge_prompt: r.challenge_prompt,
        clients,
        otp_digits,
        labels,
        accounting_listen,
        radsec_idle_timeout: std::time::Duration::from_secs(r.radsec_idle_timeout_seconds),
        field,
    })
}

/// `sqlite://relative.db` is taken relative to the config file; postgres URLs pass through.
/// `MFA_GATEWAY_STORE_URL` overrides the file (a PostgreSQL URL may hold a password).
fn resolve_store_url(base: &Path, url: &str) -> Result<String, ConfigError> {
    let url = std::env::var("MFA_GATEWAY_STORE_URL").unwrap_or_else(|_| url.to_owned());
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(invalid("store.url", "sqlite:// needs a file path"));
        }
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        let full = resolve(base, file);
        let mut out = format!("sqlite://{}", full.display());
        if !query.is_empty() {
            out.push('?');
            out.push_str(query);
        }
        Ok(out)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url)
    } else {
        Err(invalid(
            "store.url",
            "must start with sqlite:// or postgres://",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_documented_defaults() {
        let c = Config::parse("", Path::new("/etc/mfa")).expect("defaults are valid");
        assert_eq!(c.password.memory_kib, 19456);
        assert_eq!(c.password.iterations, 2);
        assert_eq!(c.password.parallelism, 1);
        assert_eq!(c.otp.hotp_look_ahead, 10);
        assert_eq!(c.otp.totp_skew_steps, 1);
        assert_eq!(c.key_file, Path::new("/etc/mfa/mfa-gateway.key"));
        assert_eq!(c.store_url, "sqlite:///etc/mfa/mfa-gateway.db");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let text = include_str!("../../config/gateway.toml");
        Config::parse(text, Path::new("/x")).expect("config/gateway.toml must validate");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[lockout]\nthreshhold = 3\n", Path::new(".")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`lockout.threshhold`"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn bad_value_names_the_key() {
        let e = Config::parse("[lockout]\nthreshold = 0\n", Path::new(".")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config key `lockout.threshold`: must be at least 1"
        );
        let e = Config::parse("[store]\nurl = \"mysql://x\"\n", Path::new(".")).unwrap_err();
        assert!(e.to_string().starts_with("config key `store.url`"));
        let e = Config::parse("[log]\nformat = \"xml\"\n", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("log.format"));
    }

    #[test]
    fn radius_clients_are_checked() {
        let ok = "[[radius.clients]]\nname = \"rdgw\"\naddress = \"10.0.0.0/24\"\nsecret = \"0123456789abcdef\"\nmode = \"challenge\"\n";
        let c = Config::parse(ok, Path::new(".")).expect("valid");
        assert_eq!(c.radius.clients.len(), 1);
        assert_eq!(c.radius.clients[0].mode, mfa_radius::ClientMode::Challenge);
        let short = ok.replace("0123456789abcdef", "short");
        let e = Config::parse(&short, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("radius.clients") && e.contains("rdgw") && e.contains("16"),
            "{e}"
        );
        let bad_mode = ok.replace("challenge", "push");
        let e = Config::parse(&bad_mode, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mode `push`"), "{e}");
        let bad_addr = ok.replace("10.0.0.0/24", "ten.0.0.0");
        assert!(Config::parse(&bad_addr, Path::new(".")).is_err());
        let e = Config::parse("[radius]\nlisten = [\"1812\"]\n", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config key `radius.listen`"), "{e}");
    }

    #[test]
    fn wrong_type_is_one_line_with_the_key() {
        let e =
            Config::parse("[password]\nargon2_iterations = \"two\"\n", Path::new(".")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`password.argon2_iterations`"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    /// `password.blocklist_file`, relative to the config's folder: loaded into the policy; a
    /// bad line refuses the config, naming the key and the line (not its text).
    #[test]
    fn blocklist_file_is_loaded_or_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("breached.txt"),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\nsummer2026!\n",
        )
        .unwrap();
        let c = Config::parse(
            "[password]\nblocklist_file = \"breached.txt\"\n",
            dir.path(),
        )
        .expect("valid");
        let list = c.password.blocklist.expect("loaded");
        assert!(list.contains("password") && list.contains("summer2026!"));
        assert!(
            Config::parse("", dir.path())
                .unwrap()
                .password
                .blocklist
                .is_none()
        );
        std::fs::write(
            dir.path().join("bad.txt"),
            "fine\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:lots\n",
        )
        .unwrap();
        let e = Config::parse("[password]\nblocklist_file = \"bad.txt\"\n", dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`password.blocklist_file`") && e.contains("line 2"),
            "{e}"
        );
        assert!(!e.contains("lots"), "{e}");
        let e = Config::parse("[password]\nblocklist_file = \"none.txt\"\n", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.txt"), "{e}");
    }
}
