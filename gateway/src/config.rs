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
}

impl Default for RawPassword {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hashing_threads: 0,
            min_length: 10,
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
}

impl Default for RawLockout {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_seconds: 60,
            max_seconds: 3600,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Size of the blocking pool that verifies passwords (the login capacity).
    pub hashing_threads: usize,
    pub min_length: usize,
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
    pub threshold: u32,
    pub base_seconds: u64,
    pub max_seconds: u64,
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
            },
            tls: TlsPaths {
                cert: resolve(base, &self.tls.cert),
                key: resolve(base, &self.tls.key),
                client_ca: resolve(base, &self.tls.client_ca),
            },
            log_json,
            log_level: self.log.level,
        })
    }
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
    fn wrong_type_is_one_line_with_the_key() {
        let e = Config::parse("[password]\nargon2_iterations = \"two\"\n", Path::new("."))
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`password.argon2_iterations`"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
