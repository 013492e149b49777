//! `[approval]`: out-of-band approval (push to a phone) for second-factor-only clients.

use super::{ConfigError, invalid};
use serde::Deserialize;

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

pub(super) fn validate_approval(a: RawApproval) -> Result<ApprovalSettings, ConfigError> {
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
