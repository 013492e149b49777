//! `[store]`, `[secrets]` and `[log]`: the database URL (sqlite paths resolved against the
//! config file's folder), the key file and the log format.

use super::{ConfigError, invalid, resolve};
use serde::Deserialize;
use std::path::Path;

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

/// `sqlite://relative.db` is taken relative to the config file; postgres URLs pass through.
/// `MFA_GATEWAY_STORE_URL` overrides the file (a PostgreSQL URL may hold a password).
pub(super) fn resolve_store_url(base: &Path, url: &str) -> Result<String, ConfigError> {
    let url = std::env::var("MFA_GATEWAY_STORE_URL").unwrap_or_else(|_| url.to_owned());
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(invalid("store.url", "sqlite:// needs a file path"));
        }
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        // `?synchronous=full|normal` (the store reads it; sqlx would refuse it).
        crate::store::sqlite_url_synchronous(&url).map_err(|e| invalid("store.url", e))?;
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
