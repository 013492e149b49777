//! Directories (LDAP / Active Directory) as the first factor, and the people they list.
//!
//! A person of an organisation a directory serves, who has no local password, is checked by
//! a bind as their own entry: the service account finds the entry (`user_filter`, the login
//! name escaped per RFC 4515), then a second connection binds as the found DN with the typed
//! password. An empty password never reaches the directory (an LDAP bind with an empty
//! password is an unauthenticated bind that "succeeds"). A name the directory does not know
//! costs a search and a bind all the same (a bind as a DN that does not exist), so the time
//! of an answer does not tell who is there. Referrals are never followed.
//!
//! Connections: per directory a bounded pool of connections bound as the service account
//! (searches) and one of connections used for the people's binds (their identity changes
//! with every bind, so they are never used to search). The URLs are tried in order with a
//! short connect timeout, starting with the one that answered last; a pooled connection that
//! fails is dropped and the operation tried once more on a fresh one, so a directory that
//! was down is used again as soon as it is back, without a restart.

pub mod config;
pub mod sync;

pub use config::{DirectorySettings, Transport};

use crate::engine::Reason;
use crate::secret::SecretString;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Scope, SearchEntry};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What the directory said of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryCheck {
    /// The bind as the person's entry succeeded and nothing stands in the way.
    Passed,
    /// Wrong password, no such entry, or an empty password.
    Failed,
    /// The password may be right but the account may not sign in (or the directory could
    /// not be asked): the reason, audited; not counted as a wrong password.
    Refused(Reason),
}

/// Why a directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory {0}: no server answered ({1})")]
    Unavailable(String, String),
    #[error("directory {0}: {1}")]
    Failed(String, String),
}

/// One person as the directory lists them (for `directory sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPerson {
    pub dn: String,
    /// As the directory spells it (the gateway keeps it in lower case).
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub employee_number: String,
}

/// A bounded set of idle connections and the permits to use one.
struct Pool {
    idle: std::sync::Mutex<Vec<Ldap>>,
    permits: tokio::sync::Semaphore,
}

impl Pool {
    fn new(size: usize) -> Self {
        Self {
            idle: std::sync::Mutex::new(Vec::with_capacity(size)),
            permits: tokio::sync::Semaphore::new(size),
        }
    }

    fn take(&self) -> Option<Ldap> {
        self.idle.lock().ok().and_then(|mut v| v.pop())
    }

    fn put(&self, conn: Ldap) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
    }

    fn clear(&self) {
        if let Ok(mut v) = self.idle.lock() {
            v.clear();
        }
    }
}

/// A configured directory and its connections.
pub struct Directory {
    settings: DirectorySettings,
    tls: Arc<rustls::ClientConfig>,
    service_password: Option<SecretString>,
    service: Pool,
    binds: Pool,
    /// The URL that answered last (tried first).
    preferred: AtomicUsize,
    /// Did the last attempt to reach a server succeed?
    up: AtomicBool,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("name", &self.settings.name)
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The AD bind sub-codes (`data 775` in the diagnostic message of result 49) that say the
/// password was right (or the account locked) but the account may not sign in.
fn ad_refusal(text: &str) -> Option<Reason> {
    let lower = text.to_ascii_lowercase();
    let code = lower.split("data ").nth(1)?.get(..3)?;
    match code {
        "532" => Some(Reason::DirectoryPasswordExpired),
        "773" => Some(Reason::DirectoryPasswordMustChange),
        "533" | "701" => Some(Reason::DirectoryAccountDisabled),
        "775" => Some(Reason::DirectoryAccountLocked),
        _ => None,
    }
}

/// The account's state as the entry's AD attributes tell it (for servers that let such an
/// account bind).
fn attribute_refusal(entry: &SearchEntry) -> Option<Reason> {
    let int =
        |name: &str| -> Option<i64> { first(entry, name).and_then(|v| v.trim().parse().ok()) };
    let uac = int("userAccountControl").unwrap_or(0);
    if uac & 0x2 != 0 {
        return Some(Reason::DirectoryAccountDisabled);
    }
    if uac & 0x10 != 0 || int("lockoutTime").is_some_and(|t| t > 0) {
        return Some(Reason::DirectoryAccountLocked);
    }
    if uac & 0x80_0000 != 0 {
        return Some(Reason::DirectoryPasswordExpired);
    }
    // pwdLastSet 0: "User must change password at next logon".
    if int("pwdLastSet") == Some(0) {
        return Some(Reason::DirectoryPasswordMustChange);
    }
    None
}

/// An attribute's first value, the name compared without case (servers answer in the
/// schema's spelling).
fn first<'a>(entry: &'a SearchEntry, name: &str) -> Option<&'a str> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// Parse a search entry without trusting the server: ldap3's parser panics on a malformed
/// entry, which must not take a login down with it.
fn entry_of(re: ldap3::ResultEntry) -> Option<SearchEntry> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(re))).ok()
}

const STATE_ATTRIBUTES: [&str; 4] = [
    "userAccountControl",
    "lockoutTime",
    "pwdLastSet",
    "accountExpires",
];

impl Directory {
    /// Set up a directory (no connection is made yet). The service account's password is
    /// read from its environment variable now.
    pub fn new(settings: DirectorySettings) -> Result<Self, DirectoryError> {
        let fail = |m: String| DirectoryError::Failed(settings.name.clone(), m);
        // Missing: this directory cannot be used (serve refuses to start; other commands
        // that do not need it still work).
        let service_password = std::env::var(&settings.bind_password_env)
            .ok()
            .filter(|p| !p.is_empty())
            .map(SecretString::new);
        let mut roots = rustls::RootCertStore::empty();
        match &settings.ca_file {
            Some(ca) => {
                let pem = std::fs::read(ca)
                    .map_err(|e| fail(format!("directories.ca_file {}: {e}", ca.display())))?;
                let mut any = false;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert
                        .map_err(|e| fail(format!("directories.ca_file {}: {e}", ca.display())))?;
                    roots
                        .add(cert)
                        .map_err(|e| fail(format!("directories.ca_file {}: {e}", ca.display())))?;
                    any = true;
                }
                if !any {
                    return Err(fail(format!(
                        "directories.ca_file {}: no certificate in it",
                        ca.display()
                    )));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            service: Pool::new(settings.pool_size),
            binds: Pool::new(settings.pool_size),
            settings,
            tls: Arc::new(tls),
            service_password,
            preferred: AtomicUsize::new(0),
            up: AtomicBool::new(true),
        })
    }

    /// Why this directory cannot be used at all (its service password is not set).
    pub fn problem(&self) -> Option<String> {
        self.service_password.is_none().then(|| {
            format!(
                "directory {}: directories.bind_password_env: the environment variable {} is not set",
                self.settings.name, self.settings.bind_password_env
            )
        })
    }

    pub fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Did the last attempt to reach it succeed?
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A new connection to the first server that answers (bound as the service account
    /// when `service`).
    async fn connect(&self, service: bool) -> Result<Ldap, DirectoryError> {
        let n = self.settings.urls.len();
        let start = self.preferred.load(Ordering::Relaxed) % n.max(1);
        let mut last = String::from("no URL");
        for i in 0..n {
            let idx = (start + i) % n;
            let (url, transport) = &self.settings.urls[idx];
            let mut s = LdapConnSettings::new().set_conn_timeout(self.settings.connect_timeout);
            match transport {
                Transport::Ldaps => s = s.set_config(self.tls.clone()),
                Transport::StartTls => s = s.set_config(self.tls.clone()).set_starttls(true),
                Transport::Plain => {}
            }
            // The connect timeout covers TCP; TLS and StartTLS get the operation timeout.
            let limit = self.settings.connect_timeout + self.settings.timeout;
            let (conn, mut ldap) = match tokio::time::timeout(
                limit,
                LdapConnAsync::with_settings(s, url),
            )
            .await
            {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => {
                    last = format!("{url}: {e}");
                    tracing::warn!(directory = %self.settings.name, %url, error = %e, "directory server did not answer");
                    continue;
                }
                Err(_) => {
                    last = format!("{url}: timed out");
                    tracing::warn!(directory = %self.settings.name, %url, "directory server timed out");
                    continue;
                }
            };
            tokio::spawn(async move {
                if let Err(e) = conn.drive().await {
                    tracing::debug!(error = %e, "directory connection ended");
                }
            });
            if service {
                let Some(password) = &self.service_password else {
                    return Err(DirectoryError::Failed(
                        self.settings.name.clone(),
                        self.problem().unwrap_or_default(),
                    ));
                };
                let bound = ldap
                    .with_timeout(self.settings.timeout)
                    .simple_bind(&self.settings.bind_dn, password.expose())
                    .await;
                match bound {
                    Ok(r) if r.rc == 0 => {}
                    Ok(r) => {
                        // Answered, but refused the service account: a configuration error,
                        // not an outage; the next server would say the same.
                        self.up.store(false, Ordering::Relaxed);
                        tracing::error!(directory = %self.settings.name, rc = r.rc, "the directory refused the service account's bind (bind_dn, bind_password_env)");
                        return Err(DirectoryError::Failed(
                            self.settings.name.clone(),
                            format!("the service account's bind was refused (result {})", r.rc),
                        ));
                    }
                    Err(e) => {
                        last = format!("{url}: {e}");
                        continue;
                    }
                }
            }
            self.preferred.store(idx, Ordering::Relaxed);
            self.up.store(true, Ordering::Relaxed);
            return Ok(ldap);
        }
        self.up.store(false, Ordering::Relaxed);
        Err(DirectoryError::Unavailable(
            self.settings.name.clone(),
            last,
        ))
    }

    /// Run `op` on a service connection from the pool (one more try on a fresh connection
    /// when a pooled one fails: it may be one the server closed meanwhile).
    async fn with_service<T, F>(&self, op: F) -> Result<T, DirectoryError>
    where
        F: for<'a> Fn(
            &'a mut Ldap,
            Duration,
        ) -> futures_util::future::BoxFuture<'a, ldap3::result::Result<T>>,
    {
        let _permit = self.service.permits.acquire().await.map_err(|_| {
            DirectoryError::Failed(self.settings.name.clone(), "pool closed".into())
        })?;
        if let Some(mut conn) = self.service.take() {
            if let Ok(v) = op(&mut conn, self.settings.timeout).await {
                self.service.put(conn);
                return Ok(v);
            }
            // Every idle connection is suspect now (a server restart closes them all).
            self.service.clear();
        }
        let mut conn = self.connect(true).await?;
        match op(&mut conn, self.settings.timeout).await {
            Ok(v) => {
                self.service.put(conn);
                Ok(v)
            }
            Err(e) => {
                self.up.store(false, Ordering::Relaxed);
                Err(DirectoryError::Unavailable(
                    self.settings.name.clone(),
                    e.to_string(),
                ))
            }
        }
    }

    /// Bind as `dn` with `password` on a connection of the bind pool.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<LdapResult, DirectoryError> {
        let _permit = self.binds.permits.acquire().await.map_err(|_| {
            DirectoryError::Failed(self.settings.name.clone(), "pool closed".into())
        })?;
        if let Some(mut conn) = self.binds.take() {
            if let Ok(r) = conn
                .with_timeout(self.settings.timeout)
                .simple_bind(dn, password)
                .await
            {
                self.binds.put(conn);
                return Ok(r);
            }
            self.binds.clear();
        }
        let mut conn = self.connect(false).await?;
        match conn
            .with_timeout(self.settings.timeout)
            .simple_bind(dn, password)
            .await
        {
            Ok(r) => {
                self.binds.put(conn);
                Ok(r)
            }
            Err(e) => {
                self.up.store(false, Ordering::Relaxed);
                Err(DirectoryError::Unavailable(
                    self.settings.name.clone(),
                    e.to_string(),
                ))
            }
        }
    }

    /// Search below `base` (scope `scope`) as the service account; referrals are dropped,
    /// never followed. Err for anything but success (or a referral answer).
    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let (base, filter) = (base.to_owned(), filter.to_owned());
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_owned()).collect();
        let found = self
            .with_service(move |ldap, timeout| {
                let (base, filter, attrs) = (base.clone(), filter.clone(), attrs.clone());
                Box::pin(async move {
                    ldap.with_timeout(timeout)
                        .search(&base, scope, &filter, attrs)
                        .await
                })
            })
            .await?;
        let ldap3::SearchResult(entries, result) = found;
        match result.rc {
            0 | 10 => Ok(entries.into_iter().filter_map(entry_of).collect()),
            rc => Err(DirectoryError::Failed(
                self.settings.name.clone(),
                format!("search answered result {rc}: {}", result.text),
            )),
        }
    }

    /// Check `password` for the login name `username` (a person of an organisation this
    /// directory serves).
    pub async fn check(&self, username: &str, password: &str) -> DirectoryCheck {
        if password.is_empty() {
            return DirectoryCheck::Failed;
        }
        let filter = self
            .settings
            .user_filter
            .replace("{username}", &ldap3::ldap_escape(username));
        let found = match self
            .search(
                &self.settings.base_dn,
                Scope::Subtree,
                &filter,
                &STATE_ATTRIBUTES,
            )
            .await
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "directory search failed");
                return DirectoryCheck::Refused(Reason::DirectoryUnavailable);
            }
        };
        let [entry] = found.as_slice() else {
            if found.len() > 1 {
                tracing::warn!(directory = %self.settings.name, entries = found.len(), "user_filter finds more than one entry for a login name; refused");
            }
            // The same cost as a real check: a bind as a DN that does not exist.
            let nobody = format!("cn=mfa-gateway-nobody,{}", self.settings.base_dn);
            return match self.bind_as(&nobody, password).await {
                Err(_) => DirectoryCheck::Refused(Reason::DirectoryUnavailable),
                Ok(_) => DirectoryCheck::Failed,
            };
        };
        let bound = match self.bind_as(&entry.dn, password).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "directory bind failed");
                return DirectoryCheck::Refused(Reason::DirectoryUnavailable);
            }
        };
        match bound.rc {
            0 => {}
            49 => {
                return ad_refusal(&bound.text)
                    .map_or(DirectoryCheck::Failed, DirectoryCheck::Refused);
            }
            // busy, unavailable, unwilling (e.g. a server shutting down), other
            51 | 52 | 80 => return DirectoryCheck::Refused(Reason::DirectoryUnavailable),
            _ => return DirectoryCheck::Failed,
        }
        if let Some(reason) = attribute_refusal(entry) {
            return DirectoryCheck::Refused(reason);
        }
        if let Some(group) = &self.settings.require_group {
            let rule = if self.settings.nested_groups {
                "memberOf:1.2.840.113556.1.4.1941:="
            } else {
                "memberOf="
            };
            let filter = format!("({rule}{})", ldap3::ldap_escape(group.as_str()));
            match self.search(&entry.dn, Scope::Base, &filter, &["1.1"]).await {
                Ok(found) if !found.is_empty() => {}
                Ok(_) => return DirectoryCheck::Refused(Reason::DirectoryNotInGroup),
                Err(e) => {
                    tracing::warn!(error = %e, "directory group check failed");
                    return DirectoryCheck::Refused(Reason::DirectoryUnavailable);
                }
            }
        }
        DirectoryCheck::Passed
    }

    /// Is a server of this directory answering (a service search of the root DSE)?
    pub async fn probe(&self) -> Result<(), DirectoryError> {
        self.search("", Scope::Base, "(objectClass=*)", &["1.1"])
            .await
            .map(|_| ())
    }

    /// Every entry `people_filter` finds, read in pages, or an error (never a part of them).
    pub async fn read_people(&self) -> Result<Vec<DirectoryPerson>, DirectoryError> {
        let name = self.settings.name.clone();
        let Some(filter) = self.settings.people_filter.clone() else {
            return Err(DirectoryError::Failed(name, "has no people_filter".into()));
        };
        let s = &self.settings;
        let attrs = vec![
            s.username_attribute.clone(),
            s.name_attribute.clone(),
            s.email_attribute.clone(),
            s.employee_number_attribute.clone(),
        ];
        let base = s.base_dn.clone();
        let entries = self
            .with_service(move |ldap, timeout| {
                let (base, filter, attrs) = (base.clone(), filter.clone(), attrs.clone());
                Box::pin(async move {
                    let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> = vec![
                        Box::new(ldap3::adapters::EntriesOnly::new()),
                        Box::new(ldap3::adapters::PagedResults::new(500)),
                    ];
                    let mut stream = ldap
                        .with_timeout(timeout)
                        .streaming_search_with(adapters, &base, Scope::Subtree, &filter, attrs)
                        .await?;
                    let mut out = Vec::new();
                    while let Some(entry) = stream.next().await? {
                        out.push(entry);
                    }
                    let done = stream.finish().await;
                    done.success()?;
                    Ok(out)
                })
            })
            .await?;
        let mut people = Vec::with_capacity(entries.len());
        for re in entries {
            let Some(entry) = entry_of(re) else {
                return Err(DirectoryError::Failed(
                    name,
                    "an entry could not be read; nothing was changed".into(),
                ));
            };
            let Some(username) = first(&entry, &s.username_attribute).map(str::trim) else {
                return Err(DirectoryError::Failed(
                    name,
                    format!(
                        "entry {} has no {}; nothing was changed",
                        entry.dn, s.username_attribute
                    ),
                ));
            };
            people.push(DirectoryPerson {
                username: username.to_owned(),
                full_name: first(&entry, &s.name_attribute)
                    .unwrap_or(username)
                    .trim()
                    .to_owned(),
                email: first(&entry, &s.email_attribute)
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                employee_number: first(&entry, &s.employee_number_attribute)
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                dn: entry.dn,
            });
        }
        Ok(people)
    }
}

/// The configured directories.
#[derive(Debug, Default)]
pub struct Directories {
    list: Vec<Arc<Directory>>,
}

impl Directories {
    pub fn new(settings: &[DirectorySettings]) -> Result<Self, DirectoryError> {
        Ok(Self {
            list: settings
                .iter()
                .cloned()
                .map(|s| Directory::new(s).map(Arc::new))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn all(&self) -> &[Arc<Directory>] {
        &self.list
    }

    /// The directory that serves the organisation named `org`, if any.
    pub fn for_org(&self, org: &str) -> Option<&Arc<Directory>> {
        self.list
            .iter()
            .find(|d| d.settings.orgs.iter().any(|o| o == org))
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Directory>> {
        self.list.iter().find(|d| d.settings.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_sub_codes() {
        let text = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563";
        assert_eq!(ad_refusal(text), Some(Reason::DirectoryPasswordMustChange));
        assert_eq!(
            ad_refusal("... data 532, v893"),
            Some(Reason::DirectoryPasswordExpired)
        );
        assert_eq!(
            ad_refusal("... data 533, v893"),
            Some(Reason::DirectoryAccountDisabled)
        );
        assert_eq!(
            ad_refusal("... data 775, v893"),
            Some(Reason::DirectoryAccountLocked)
        );
        assert_eq!(ad_refusal("... data 52e, v893"), None, "wrong password");
        assert_eq!(ad_refusal("Invalid credentials"), None);
    }

    #[test]
    fn ad_attributes() {
        let entry = |pairs: &[(&str, &str)]| SearchEntry {
            dn: "cn=x".into(),
            attrs: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect(),
            bin_attrs: Default::default(),
        };
        assert_eq!(
            attribute_refusal(&entry(&[("userAccountControl", "512")])),
            None
        );
        assert_eq!(
            attribute_refusal(&entry(&[("useraccountcontrol", "514")])),
            Some(Reason::DirectoryAccountDisabled)
        );
        assert_eq!(
            attribute_refusal(&entry(&[("lockoutTime", "133000000000000000")])),
            Some(Reason::DirectoryAccountLocked)
        );
        assert_eq!(attribute_refusal(&entry(&[("lockoutTime", "0")])), None);
        assert_eq!(
            attribute_refusal(&entry(&[("pwdLastSet", "0")])),
            Some(Reason::DirectoryPasswordMustChange)
        );
        assert_eq!(
            attribute_refusal(&entry(&[("userAccountControl", "8389120")])),
            Some(Reason::DirectoryPasswordExpired)
        );
    }

    #[test]
    fn login_names_are_escaped_per_rfc_4515() {
        let f = "(&(objectClass=user)(sAMAccountName={username}))"
            .replace("{username}", &ldap3::ldap_escape("*)(uid=*"));
        assert_eq!(
            f,
            "(&(objectClass=user)(sAMAccountName=\\2a\\29\\28uid=\\2a))"
        );
        assert!(ldap3::parse_filter(&f).is_ok());
    }
}
