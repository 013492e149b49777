//! `[mail]`: the SMTP relay for account notices.

use super::{ConfigError, invalid};
use serde::Deserialize;

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

pub(super) fn validate_mail(m: RawMail) -> Result<MailSettings, ConfigError> {
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
