//! RADIUS clients as they are in the field (issue 12): what each client may add to the
//! basic RADIUS front, from its `[[radius.clients]]` block.
//!
//! - Usernames as typed: `domains = ["PRAKTIJK"]` accepts `PRAKTIJK\ann`, `upn_suffixes =
//!   ["praktijk.nl"]` accepts `ann@praktijk.nl`; both map to the stored `ann`. Any other
//!   name with a `\` or `@` is looked up as typed: unless a person's stored username is
//!   exactly that, it is an unknown user, with the same answer and the same cost (the
//!   engine's dummy hash) as any other unknown user.
//! - The end user's address (`end_user_address`): read by `mfa-radius`, it becomes the
//!   attempt's `source`; the NAS's own address goes to the audit event's `detail.nas`.
//! - Disconnect (`disconnect = true`): where Disconnect-Requests go (see `disconnect.rs`).
//! - RadSec binding (`radsec_identity`, `radsec_cert_sha256`): passed to `mfa-radius`.

use crate::audit::AuditEvent;
use crate::config::RawRadiusClient;
use crate::engine::Attempt;
use mfa_radius::{AddressAttribute, ClientConfig, SharedSecret};
use std::net::IpAddr;

/// What the gateway keeps per RADIUS client beyond `mfa_radius::ClientConfig`.
#[derive(Debug, Clone, Default)]
pub struct ClientField {
    /// `DOMAIN\user` is accepted for these domains (lower case).
    pub domains: Vec<String>,
    /// `user@suffix` is accepted for these suffixes (lower case).
    pub upn_suffixes: Vec<String>,
    /// Where Disconnect-Requests for this client's sessions go, if anywhere.
    pub disconnect: Option<DisconnectTarget>,
    /// The organisations (by name) whose people it serves; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
}

/// A client's `default_org`: trimmed, printable, and one of its `orgs` when it lists any.
pub fn default_org(default_org: Option<&str>, orgs: &[String]) -> Result<Option<String>, String> {
    let Some(d) = default_org.map(str::trim) else {
        return Ok(None);
    };
    if d.is_empty() || d.chars().any(char::is_control) {
        return Err("default_org: an organisation name must be non-empty and printable".into());
    }
    if !orgs.is_empty() && !orgs.iter().any(|o| o == d) {
        return Err(format!(
            "default_org: {d:?} is not one of the client's orgs"
        ));
    }
    Ok(Some(d.to_owned()))
}

/// A client's `orgs`: names trimmed, none empty, none twice.
pub fn org_names(orgs: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(orgs.len());
    for o in orgs {
        let o = o.trim();
        if o.is_empty() || o.chars().any(char::is_control) {
            return Err("orgs: each organisation name must be non-empty and printable".into());
        }
        if out.iter().any(|x| x == o) {
            return Err(format!("orgs: {o:?} is listed twice"));
        }
        out.push(o.to_owned());
    }
    Ok(out)
}

/// A NAS's Dynamic Authorization server (RFC 5176).
#[derive(Clone)]
pub struct DisconnectTarget {
    pub port: u16,
    pub secret: SharedSecret,
}

impl std::fmt::Debug for DisconnectTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisconnectTarget")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Domains and suffixes must be plain names (no `\`, `@`, blanks or control characters).
pub fn check_names(domains: &[String], suffixes: &[String]) -> Result<(), String> {
    for d in domains.iter().chain(suffixes) {
        let t = d.trim();
        if t.is_empty()
            || t.len() > 253
            || t.chars()
                .any(|c| c == '\\' || c == '@' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "`{d}` is not a domain name (no blanks, `\\` or `@`)"
            ));
        }
    }
    Ok(())
}

fn lower(list: &[String]) -> Vec<String> {
    list.iter().map(|d| d.trim().to_lowercase()).collect()
}

/// Validates the issue-12 keys of one client, sets what `mfa-radius` enforces on `client`,
/// and returns what the gateway keeps. The error names the key (the caller adds the client).
pub fn validate_client(
    c: &RawRadiusClient,
    default_domains: &[String],
    default_suffixes: &[String],
    client: &mut ClientConfig,
) -> Result<ClientField, String> {
    for name in &c.end_user_address {
        let attribute = AddressAttribute::parse(name).ok_or_else(|| {
            format!(
                "end_user_address: `{name}` is not one of Tunnel-Client-Endpt, Calling-Station-Id, \
                 Framed-IP-Address, Login-IP-Host, Fortinet-Client-IP-Address, \
                 Vendor-Specific:VENDOR:TYPE"
            )
        })?;
        client.end_user_address.push(attribute);
    }
    let domains = c.domains.as_deref().unwrap_or(default_domains);
    let suffixes = c.upn_suffixes.as_deref().unwrap_or(default_suffixes);
    check_names(domains, suffixes).map_err(|p| format!("domains/upn_suffixes: {p}"))?;
    client.radsec_identity = c
        .radsec_identity
        .as_ref()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty());
    for fp in &c.radsec_cert_sha256 {
        let hex_text: String = fp.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(hex_text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                format!("radsec_cert_sha256: `{fp}` is not a SHA-256 fingerprint (64 hex digits)")
            })?;
        client.radsec_cert_sha256.push(bytes);
    }
    let disconnect = if c.disconnect {
        let secret = match (&c.disconnect_secret, &c.disconnect_secret_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| format!("disconnect_secret_env: ${var} is not set"))?,
            _ => {
                return Err(
                    "disconnect = true needs exactly one of disconnect_secret and \
                     disconnect_secret_env"
                        .into(),
                );
            }
        };
        if secret.len() < 16 {
            return Err("the disconnect secret must be at least 16 characters".into());
        }
        Some(DisconnectTarget {
            port: c
                .disconnect_port
                .unwrap_or(mfa_radius::dynauth::DEFAULT_PORT),
            secret: SharedSecret::new(secret.into_bytes()),
        })
    } else {
        if c.disconnect_secret.is_some()
            || c.disconnect_secret_env.is_some()
            || c.disconnect_port.is_some()
        {
            return Err("disconnect_port and disconnect_secret need disconnect = true".into());
        }
        None
    };
    Ok(ClientField {
        domains: lower(domains),
        upn_suffixes: lower(suffixes),
        disconnect,
        default_org: default_org(c.default_org.as_deref(), &org_names(&c.orgs)?)?,
        orgs: org_names(&c.orgs)?,
    })
}

impl ClientField {
    /// The username to look up for a name as typed: `DOMAIN\user` and `user@suffix` lose
    /// their listed domain or suffix; everything else stays as typed (a name with an
    /// unlisted domain matches a person only when the domain is an organisation's login
    /// suffix: see [`crate::store::resolve_username`]).
    pub fn map_username(&self, typed: &str) -> String {
        let t = typed.trim();
        if let Some((domain, user)) = t.split_once('\\')
            && self.domains.contains(&domain.to_lowercase())
            && !user.is_empty()
            && !user.contains(['\\', '@'])
        {
            return user.to_owned();
        }
        if let Some((user, suffix)) = t.rsplit_once('@')
            && self.upn_suffixes.contains(&suffix.to_lowercase())
            && !user.is_empty()
            && !user.contains(['\\', '@'])
        {
            return user.to_owned();
        }
        t.to_owned()
    }
}

impl Attempt {
    /// Puts what the RADIUS front knows beyond the engine's fields into `event`: the NAS's
    /// address and the username as typed (when it was mapped), in `detail`.
    pub fn stamp(&self, event: &mut AuditEvent) {
        if self.nas.is_none() && self.typed_username.is_none() {
            return;
        }
        let mut detail = match event.detail.take() {
            Some(serde_json::Value::Object(map)) => map,
            Some(other) => {
                let mut map = serde_json::Map::new();
                map.insert("detail".into(), other);
                map
            }
            None => serde_json::Map::new(),
        };
        if let Some(nas) = self.nas {
            detail.insert("nas".into(), nas.to_string().into());
        }
        if let Some(typed) = &self.typed_username {
            detail.insert("typed_username".into(), typed.clone().into());
        }
        event.detail = Some(serde_json::Value::Object(detail));
    }
}

/// The NAS's own address, as kept in an audit event (`detail.nas`).
pub fn nas_of(event: &AuditEvent) -> Option<IpAddr> {
    event.detail.as_ref()?.get("nas")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(domains: &[&str], suffixes: &[&str]) -> ClientField {
        ClientField {
            domains: domains.iter().map(|d| d.to_lowercase()).collect(),
            upn_suffixes: suffixes.iter().map(|d| d.to_lowercase()).collect(),
            disconnect: None,
            orgs: Vec::new(),
            default_org: None,
        }
    }

    #[test]
    fn a_default_org_must_be_one_of_the_orgs() {
        let orgs = vec!["Praktijk Zuid".to_owned()];
        assert_eq!(default_org(None, &orgs).unwrap(), None);
        assert_eq!(
            default_org(Some(" Praktijk Zuid "), &orgs)
                .unwrap()
                .as_deref(),
            Some("Praktijk Zuid")
        );
        assert!(
            default_org(Some("Noord"), &orgs)
                .unwrap_err()
                .contains("default_org")
        );
        assert_eq!(
            default_org(Some("Noord"), &[]).unwrap().as_deref(),
            Some("Noord")
        );
        assert!(default_org(Some(" "), &[]).is_err());
    }

    #[test]
    fn org_names_are_trimmed_and_checked() {
        let names = |v: &[&str]| org_names(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(names(&[" A ", "B"]).unwrap(), ["A", "B"]);
        assert!(names(&["A", "A"]).unwrap_err().contains("twice"));
        assert!(names(&[""]).is_err());
        assert!(names(&[]).unwrap().is_empty());
    }

    #[test]
    fn listed_domains_and_suffixes_map_others_stay_as_typed() {
        let f = field(&["PRAKTIJK"], &["praktijk.nl"]);
        assert_eq!(f.map_username("PRAKTIJK\\ann"), "ann");
        assert_eq!(f.map_username("praktijk\\Ann"), "Ann");
        assert_eq!(f.map_username("ann@Praktijk.NL"), "ann");
        assert_eq!(f.map_username(" ann "), "ann");
        // Not listed, or not a plain user part: as typed (an unknown user).
        assert_eq!(f.map_username("OTHER\\ann"), "OTHER\\ann");
        assert_eq!(f.map_username("ann@other.nl"), "ann@other.nl");
        assert_eq!(f.map_username("PRAKTIJK\\"), "PRAKTIJK\\");
        assert_eq!(f.map_username("PRAKTIJK\\a\\b"), "PRAKTIJK\\a\\b");
        assert_eq!(f.map_username("x@ann@praktijk.nl"), "x@ann@praktijk.nl");
        let none = field(&[], &[]);
        assert_eq!(none.map_username("PRAKTIJK\\ann"), "PRAKTIJK\\ann");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_names(&["PRAKTIJK".into()], &["praktijk.nl".into()]).is_ok());
        for bad in ["", "a b", "x\\y", "a@b"] {
            assert!(check_names(&[bad.into()], &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_nas_is_limited_per_client_never_per_source() {
        let limits = crate::limits::Limits::new(&crate::config::RateLimits {
            per_source_per_minute: 5,
            per_username_per_minute: 0,
            per_client_per_second: 1000,
            ipv6_prefix: 64,
        });
        // 300 people behind one NAS: the per-source limit (5) does not apply.
        assert!((0..300).all(|i| limits.allow_without_source_here(&format!("u{i}"), "rdgw")));
        let tight = crate::limits::Limits::new(&crate::config::RateLimits {
            per_source_per_minute: 5,
            per_username_per_minute: 0,
            per_client_per_second: 10,
            ipv6_prefix: 64,
        });
        let allowed = (0..300)
            .filter(|i| tight.allow_without_source_here(&format!("u{i}"), "rdgw"))
            .count();
        assert_eq!(allowed, 10, "the per-client limit holds");
    }

    fn parse(client: &str) -> Result<crate::config::Config, String> {
        let text = format!(
            "[[radius.clients]]\nname = \"rdgw\"\naddress = \"10.0.0.0/24\"\nsecret = \"0123456789abcdef\"\n{client}\n"
        );
        crate::config::Config::parse(&text, std::path::Path::new(".")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_client_keys_are_validated_and_named() {
        let c = parse(
            "mode = \"code_only\"\nend_user_address = [\"Tunnel-Client-Endpt\", \"Calling-Station-Id\"]\n\
             domains = [\"PRAKTIJK\"]\nradsec_identity = \"rdgw.example\"\n\
             radsec_cert_sha256 = [\"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\"]\n\
             disconnect = true\ndisconnect_secret = \"another-secret-0123\"",
        )
        .expect("valid");
        let client = &c.radius.clients[0];
        assert_eq!(client.mode, mfa_radius::ClientMode::CodeOnly);
        assert_eq!(client.end_user_address.len(), 2);
        assert_eq!(client.radsec_identity.as_deref(), Some("rdgw.example"));
        assert_eq!(client.radsec_cert_sha256[0][0], 0xab);
        let field = &c.radius.field["rdgw"];
        assert_eq!(field.domains, ["praktijk"]);
        assert_eq!(field.disconnect.as_ref().map(|d| d.port), Some(3799));

        for (bad, key) in [
            ("end_user_address = [\"User-Name\"]", "end_user_address"),
            ("domains = [\"A B\"]", "domains"),
            ("radsec_cert_sha256 = [\"abc\"]", "radsec_cert_sha256"),
            ("disconnect = true", "disconnect"),
            ("disconnect_port = 3799", "disconnect"),
            ("disconnect = true\ndisconnect_secret = \"short\"", "16"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("rdgw") && e.contains(key), "{bad}: {e}");
        }
        let e = crate::config::Config::parse(
            "[radius]\nradsec_idle_timeout_seconds = 1\n",
            std::path::Path::new("."),
        )
        .expect_err("too short");
        assert!(e.to_string().contains("radius.radsec_idle_timeout_seconds"));
    }
}
