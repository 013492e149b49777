//! `[radius]` and `[[radius.clients]]`: listeners, RadSec, clients and their secrets.

use super::{ConfigError, invalid, socket_addrs};
use serde::Deserialize;

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

pub(super) fn validate_radius(r: RawRadius) -> Result<RadiusSettings, ConfigError> {
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
