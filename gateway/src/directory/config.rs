//! `[[directories]]`: the raw layer of the configuration and its validation.

use crate::config::ConfigError;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// One `[[directories]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDirectory {
    pub name: String,
    pub urls: Vec<String>,
    pub ca_file: String,
    pub bind_dn: String,
    pub bind_password_env: String,
    pub base_dn: String,
    pub user_filter: String,
    pub people_filter: String,
    pub username_attribute: String,
    pub name_attribute: String,
    pub email_attribute: String,
    pub employee_number_attribute: String,
    pub require_group: String,
    pub nested_groups: bool,
    pub orgs: Vec<String>,
    pub insecure_plaintext: bool,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    pub pool_size: usize,
    pub sync_interval_minutes: u64,
}

impl Default for RawDirectory {
    fn default() -> Self {
        Self {
            name: String::new(),
            urls: Vec::new(),
            ca_file: String::new(),
            bind_dn: String::new(),
            bind_password_env: String::new(),
            base_dn: String::new(),
            user_filter: String::new(),
            people_filter: String::new(),
            username_attribute: "sAMAccountName".into(),
            name_attribute: "displayName".into(),
            email_attribute: "mail".into(),
            employee_number_attribute: "employeeID".into(),
            require_group: String::new(),
            nested_groups: true,
            orgs: Vec::new(),
            insecure_plaintext: false,
            connect_timeout_ms: 1500,
            timeout_ms: 5000,
            pool_size: 8,
            sync_interval_minutes: 0,
        }
    }
}

/// How the gateway talks to a server of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS before anything is sent.
    StartTls,
    /// `ldap://` in the clear (tests only: `insecure_plaintext = true`).
    Plain,
}

/// A directory, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySettings {
    pub name: String,
    /// In the order they are tried.
    pub urls: Vec<(String, Transport)>,
    pub ca_file: Option<std::path::PathBuf>,
    pub bind_dn: String,
    /// The environment variable holding the service account's password.
    pub bind_password_env: String,
    pub base_dn: String,
    /// With `{username}` where the (RFC 4515 escaped) login name goes.
    pub user_filter: String,
    /// The people of the first organisation (for `directory sync`); None: no sync.
    pub people_filter: Option<String>,
    pub username_attribute: String,
    pub name_attribute: String,
    pub email_attribute: String,
    pub employee_number_attribute: String,
    pub require_group: Option<String>,
    /// Group membership through nested groups (Active Directory's
    /// LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941).
    pub nested_groups: bool,
    /// The organisations (by name) whose people without a local password it checks.
    pub orgs: Vec<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub pool_size: usize,
    /// How often `directory sync` runs by itself; None: only from the CLI.
    pub sync_interval: Option<Duration>,
}

fn invalid(key: &'static str, name: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: if name.is_empty() {
            problem.to_string()
        } else {
            format!("directory {name:?}: {problem}")
        },
    }
}

/// Check every `[[directories]]` table.
pub fn validate(
    raw: Vec<RawDirectory>,
    base: &Path,
) -> Result<Vec<DirectorySettings>, ConfigError> {
    let mut out: Vec<DirectorySettings> = Vec::with_capacity(raw.len());
    for d in raw {
        let name = d.name.trim().to_owned();
        if name.is_empty() || name.len() > 64 || name.contains(char::is_whitespace) {
            return Err(invalid(
                "directories.name",
                "",
                "each directory needs a name of 1 to 64 characters without blanks",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(invalid("directories.name", &name, "is used twice"));
        }
        if d.urls.is_empty() {
            return Err(invalid("directories.urls", &name, "give at least one URL"));
        }
        let mut urls = Vec::with_capacity(d.urls.len());
        for url in &d.urls {
            let url = url.trim().to_owned();
            let transport = if url.starts_with("ldaps://") {
                Transport::Ldaps
            } else if url.starts_with("ldap://") {
                if d.insecure_plaintext {
                    Transport::Plain
                } else {
                    Transport::StartTls
                }
            } else {
                return Err(invalid(
                    "directories.urls",
                    &name,
                    format!("`{url}` is not an ldaps:// or ldap:// URL"),
                ));
            };
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
            if rest.trim_end_matches('/').is_empty() || rest.trim_end_matches('/').contains('/') {
                return Err(invalid(
                    "directories.urls",
                    &name,
                    format!(
                        "`{url}` should be just scheme, host and port (the base DN is base_dn)"
                    ),
                ));
            }
            urls.push((url, transport));
        }
        if d.insecure_plaintext && urls.iter().any(|(_, t)| *t == Transport::Ldaps) {
            return Err(invalid(
                "directories.insecure_plaintext",
                &name,
                "is for ldap:// URLs only (and only for tests)",
            ));
        }
        let need = |key: &'static str, v: &str, what: &str| -> Result<String, ConfigError> {
            let v = v.trim();
            if v.is_empty() {
                Err(invalid(key, &name, format!("give {what}")))
            } else {
                Ok(v.to_owned())
            }
        };
        let bind_dn = need(
            "directories.bind_dn",
            &d.bind_dn,
            "the service account's DN",
        )?;
        let bind_password_env = need(
            "directories.bind_password_env",
            &d.bind_password_env,
            "the environment variable that holds the service account's password",
        )?;
        let base_dn = need("directories.base_dn", &d.base_dn, "the base DN to search")?;
        let user_filter = need(
            "directories.user_filter",
            &d.user_filter,
            "the filter that finds a person, e.g. (&(objectClass=user)(sAMAccountName={username}))",
        )?;
        if !user_filter.contains("{username}") {
            return Err(invalid(
                "directories.user_filter",
                &name,
                "must contain {username} where the login name goes",
            ));
        }
        for (key, f) in [
            ("directories.user_filter", user_filter.as_str()),
            ("directories.people_filter", d.people_filter.trim()),
        ] {
            if !f.is_empty() && ldap3::parse_filter(f.replace("{username}", "x")).is_err() {
                return Err(invalid(
                    key,
                    &name,
                    "is not an LDAP filter in parentheses (RFC 4515)",
                ));
            }
        }
        let attr = |key: &'static str, v: &str| -> Result<String, ConfigError> {
            let v = v.trim();
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                Err(invalid(
                    key,
                    &name,
                    format!("`{v}` is not an attribute name"),
                ))
            } else {
                Ok(v.to_owned())
            }
        };
        let username_attribute = attr("directories.username_attribute", &d.username_attribute)?;
        let name_attribute = attr("directories.name_attribute", &d.name_attribute)?;
        let email_attribute = attr("directories.email_attribute", &d.email_attribute)?;
        let employee_number_attribute = attr(
            "directories.employee_number_attribute",
            &d.employee_number_attribute,
        )?;
        let orgs: Vec<String> = d
            .orgs
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if orgs.is_empty() {
            return Err(invalid(
                "directories.orgs",
                &name,
                "name the organisation(s) whose people it checks",
            ));
        }
        if let Some(o) = out
            .iter()
            .find_map(|other| orgs.iter().find(|o| other.orgs.contains(o)))
        {
            return Err(invalid(
                "directories.orgs",
                &name,
                format!("organisation {o:?} is served by two directories"),
            ));
        }
        if !(100..=30_000).contains(&d.connect_timeout_ms) {
            return Err(invalid(
                "directories.connect_timeout_ms",
                &name,
                "must be 100 to 30000",
            ));
        }
        if !(100..=60_000).contains(&d.timeout_ms) {
            return Err(invalid(
                "directories.timeout_ms",
                &name,
                "must be 100 to 60000",
            ));
        }
        if !(1..=256).contains(&d.pool_size) {
            return Err(invalid("directories.pool_size", &name, "must be 1 to 256"));
        }
        let people_filter = Some(d.people_filter.trim().to_owned()).filter(|f| !f.is_empty());
        if d.sync_interval_minutes > 0 && people_filter.is_none() {
            return Err(invalid(
                "directories.sync_interval_minutes",
                &name,
                "needs people_filter (which people to keep in step)",
            ));
        }
        let ca_file = Some(d.ca_file.trim())
            .filter(|f| !f.is_empty())
            .map(|f| crate::config::resolve_path(base, f));
        if let Some(ca) = &ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                "directories.ca_file",
                &name,
                format!("{} is not a readable file", ca.display()),
            ));
        }
        out.push(DirectorySettings {
            name,
            urls,
            ca_file,
            bind_dn,
            bind_password_env,
            base_dn,
            user_filter,
            people_filter,
            username_attribute,
            name_attribute,
            email_attribute,
            employee_number_attribute,
            require_group: Some(d.require_group.trim().to_owned()).filter(|g| !g.is_empty()),
            nested_groups: d.nested_groups,
            orgs,
            connect_timeout: Duration::from_millis(d.connect_timeout_ms),
            timeout: Duration::from_millis(d.timeout_ms),
            pool_size: d.pool_size,
            sync_interval: (d.sync_interval_minutes > 0)
                .then(|| Duration::from_secs(d.sync_interval_minutes * 60)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawDirectory {
        RawDirectory {
            name: "praktijk".into(),
            urls: vec![
                "ldaps://dc1.praktijk.nl".into(),
                "ldaps://dc2.praktijk.nl:636".into(),
            ],
            bind_dn: "CN=svc-mfa,OU=Service,DC=praktijk,DC=nl".into(),
            bind_password_env: "PRAKTIJK_LDAP_PASSWORD".into(),
            base_dn: "OU=Staff,DC=praktijk,DC=nl".into(),
            user_filter: "(&(objectClass=user)(sAMAccountName={username}))".into(),
            orgs: vec!["Praktijk Zuid".into()],
            ..RawDirectory::default()
        }
    }

    fn problem(r: RawDirectory) -> String {
        validate(vec![r], Path::new("/")).unwrap_err().to_string()
    }

    #[test]
    fn the_issue_example_is_valid() {
        let d = validate(vec![raw()], Path::new("/")).unwrap();
        assert_eq!(d[0].urls[1].1, Transport::Ldaps);
        assert!(d[0].nested_groups);
        assert_eq!(d[0].connect_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn plain_ldap_means_starttls_unless_insecure_for_tests() {
        let mut r = raw();
        r.urls = vec!["ldap://127.0.0.1:3890".into()];
        assert_eq!(
            validate(vec![r], Path::new("/")).unwrap()[0].urls[0].1,
            Transport::StartTls
        );
        let mut r = raw();
        r.urls = vec!["ldap://127.0.0.1:3890".into()];
        r.insecure_plaintext = true;
        assert_eq!(
            validate(vec![r], Path::new("/")).unwrap()[0].urls[0].1,
            Transport::Plain
        );
        let mut r = raw();
        r.insecure_plaintext = true;
        assert!(problem(r).contains("directories.insecure_plaintext"));
    }

    #[test]
    fn bad_lines_name_their_key() {
        let mut r = raw();
        r.urls = vec!["http://dc1".into()];
        assert!(problem(r).contains("`directories.urls`"));
        let mut r = raw();
        r.user_filter = "(sAMAccountName=ann)".into();
        assert!(problem(r).contains("{username}"));
        let mut r = raw();
        r.user_filter = "(&(sAMAccountName={username})".into();
        assert!(problem(r).contains("RFC 4515"));
        let mut r = raw();
        r.orgs.clear();
        assert!(problem(r).contains("directories.orgs"));
        let mut r = raw();
        r.sync_interval_minutes = 10;
        assert!(problem(r).contains("people_filter"));
        let mut r = raw();
        r.ca_file = "/nonexistent/ca.pem".into();
        assert!(problem(r).contains("directories.ca_file"));
        let twice = validate(vec![raw(), raw()], Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(twice.contains("used twice"), "{twice}");
    }
}
