//! Configuration: a raw serde layer that mirrors `config/gateway.toml` (unknown keys are
//! refused), then `validate()` into the typed [`Config`] or a [`ConfigError`] naming the key.

mod approval;
mod audit;
mod http;
mod mail;
mod oidc;
mod password;
mod radius;
mod rate_limit;
mod shared;
mod store;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use std::path::{Path, PathBuf};

use approval::validate_approval;
pub use approval::{ApprovalSettings, RawApproval};
use audit::validate_audit;
pub use audit::{AuditSettings, RawAudit, RawSiem, SiemSink};
use http::validate_http;
pub use http::{HttpSettings, RawAdmin, RawHttp, RawTls, TlsPaths};
use mail::validate_mail;
pub use mail::{MailSecurity, MailSettings, RawMail};
use oidc::validate_oidc;
pub use oidc::{OidcClient, OidcSettings, RawOidc, RawOidcClient};
pub use password::{LockoutPolicy, OtpPolicy, PasswordPolicy, RawLockout, RawOtp, RawPassword};
use radius::validate_radius;
pub use radius::{RadiusSettings, RawRadius, RawRadiusClient};
pub use rate_limit::{RateLimits, RawRateLimit};
pub use shared::RawShared;
use shared::validate_shared;
use store::resolve_store_url;
pub use store::{RawLog, RawSecrets, RawStore};

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
