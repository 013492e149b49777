//! `[shared]`: shared ephemeral state (Redis) for several instances.

use super::{ConfigError, invalid, resolve};
use serde::Deserialize;
use std::path::Path;

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
pub(super) fn validate_shared(
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
