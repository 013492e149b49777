//! The gateway's operations: a login through the engine, and the administrative changes,
//! each audited. This is where the store, the key and the engine meet; the CLI, the RADIUS
//! front and (later) the web pages call in here.

use crate::audit::{AuditEvent, Channel, EventKind};
use crate::changes::Recorded;
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::engine::{
    Attempt, CodeKey, Credentials, Decision, DeviceUse, Engine, RECOVERY_CODE_LEN, Reason,
    RecoveryCode, Subject, UsableDevice, Verdict,
};
use crate::limits::Limits;
use crate::model::{
    Device, DeviceId, DeviceKind, DeviceState, NewDevice, NewPerson, OrgId, Organisation, Person,
    PersonId, PersonState, UnixTime, new_uid,
};
use crate::otp::OtpParams;
use crate::password::{PasswordError, PasswordHasherCfg};
use crate::pskc::{PskcAlgorithm, PskcHash, PskcKey};
use crate::secret::{SecretBytes, SecretString, random_bytes};
use crate::store::{Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;

/// The longest a temporary code may be valid, in minutes (24 h).
pub const MAX_TEMPORARY_CODE_MINUTES: u32 = 24 * 60;

/// The client the self-service portal's logins and changes are audited under.
pub const PORTAL_CLIENT: &str = "portal";

/// Why the portal refused a change: the person's last device.
pub const LAST_DEVICE: &str = "svc-last-device";
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A refusal a person reads, in their language (`Refusal::text`); English here.
    #[error("{0}")]
    Refused(Refusal),
    /// A refusal in English only, from outside the service (configuration, directory
    /// sync): the CLI and the logs show it; the pages do not.
    #[error("{0}")]
    Invalid(String),
    /// Nothing by that name or id, or nothing the actor may see (the same answer). The
    /// detail is English, for the CLI and the logs; a page says "not found" in the
    /// person's language without it (`is_not_found`).
    #[error("{0} not found")]
    NotFound(String),
    #[error("cannot seal or open a secret: {0}")]
    Crypto(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

mod actor;
impl ServiceError {
    /// Not found: the service's, or the store's under it (a row gone between two reads).
    /// Pages answer these with their "not found" text in the person's language, never
    /// with the detail.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::NotFound(_) | Self::Store(StoreError::NotFound(_))
        )
    }
}

pub mod admin_tools;
mod approval;
mod approve;
mod audit_admin;
pub mod import;
pub mod lifecycle;
pub mod notify;
#[cfg(test)]
mod overload_tests;
mod portal;
mod push;
pub mod refusal;
pub mod remember;

/// A gateway on a new SQLite database in a temporary folder (cheap argon2 parameters), for
/// the service's unit tests; keep the folder while the gateway is used.
#[cfg(test)]
pub(crate) async fn test_gateway() -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::parse(
        "[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
        dir.path(),
    )
    .expect("config");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = crate::store::open(&url, 2).await.expect("store");
    let key = MasterKey::from_bytes(&[7; 32]).expect("key");
    (Gateway::new(&config, store, key).expect("gateway"), dir)
}
pub mod reset;
mod sso;
mod sso_sessions;
pub mod tenancy;
mod views;
pub use actor::{Actor, Scope};
pub use approval::{APPROVAL_DEVICE_ID, REQUEST_GONE};
pub use audit_admin::{PurgeReport, SubjectAccess};
pub use portal::WRONG_NEW_CODE;
pub use push::PUSH_DEVICES_FULL;
pub use refusal::Refusal;
use refusal::{number, refused};
pub use sso_sessions::{
    SsoEnd, SsoEndReason, SsoSessionView, SsoWhich, sso_sid, sso_sid_for_token,
};
pub use views::{AuditExport, AuditSearch};

/// A new TOTP device and what the person needs to set up their app.
#[derive(Debug, Clone)]
pub struct EnrolledDevice {
    pub device: Device,
    /// otpauth:// URI (holds the seed: show it to the person only).
    pub uri: SecretString,
}

/// The gateway: store, engine, key, and the bounded pool that runs password checks.
#[derive(Debug, Clone)]
pub struct Gateway {
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    key: MasterKey,
    /// The password-hashing threads (each reusing its argon2 memory) and their bounded
    /// wait queue: beyond it, attempts are rejected at once (`hashing.rs`).
    pool: crate::hashing::HashingPool,
    mailer: crate::mail::Mailer,
    audit_settings: Arc<crate::config::AuditSettings>,
    approvals: Arc<crate::approval::Hub>,
    webhook: Option<Arc<crate::webhook::Webhook>>,
    /// Why the configured webhook cannot be used (serve refuses to start then).
    webhook_problem: Option<String>,
    public_url: Arc<std::sync::OnceLock<String>>,
    /// Web Push for approval prompts (VAPID key derived from the master key).
    web_push: Option<Arc<crate::webpush::WebPush>>,
    /// Tests only: push endpoints on this machine are accepted.
    push_allow_loopback: bool,
    /// Push devices one person may link.
    max_push_devices: usize,
    /// Shared ephemeral state (several instances), when configured.
    shared: Option<crate::shared::RedisShared>,
    /// Set on SIGTERM: /readyz says unready while in-flight work finishes.
    draining: Arc<std::sync::atomic::AtomicBool>,
    /// Directories (LDAP / AD) that check the passwords of some organisations' people.
    directories: Arc<crate::directory::Directories>,
    /// Per (channel, client name): the organisations whose people it serves (empty: all).
    /// Replaced on SIGHUP with the clients.
    client_orgs: Arc<std::sync::RwLock<ClientOrgs>>,
    /// The default language and the time zone texts are written in.
    i18n: Arc<crate::i18n::I18nSettings>,
    /// Back-channel logout to relying parties when a single sign-on session ends (set once
    /// the OpenID Provider is up; unset in the CLI).
    backchannel: Arc<std::sync::OnceLock<crate::backchannel::Backchannel>>,
    /// What `now()` reads: the system clock, or the one a test moves.
    clock: crate::clock::GatewayClock,
}

/// Per (channel, client name): the organisations (by name) a RADIUS or OIDC client serves
/// and its default organisation (an unqualified name is first looked up there).
type ClientOrgs = std::collections::BTreeMap<(&'static str, String), ClientScope>;

#[derive(Debug, Clone, Default)]
struct ClientScope {
    orgs: Vec<String>,
    default_org: Option<String>,
}

impl Gateway {
    pub fn new(config: &Config, store: Arc<dyn Store>, key: MasterKey) -> Result<Self> {
        let hasher = PasswordHasherCfg::new(config.password)?;
        let engine = Engine::new(
            hasher,
            config.otp.clone(),
            config.lockout,
            CodeKey::new(*key.derive("one-time-codes")),
        );
        let threads = config.password.hashing_threads.max(1);
        // Shared ephemeral state (several instances): connected lazily, never waited for.
        let shared = match &config.shared {
            Some(settings) => Some(
                crate::shared::RedisShared::connect(settings, &key)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        let approvals = match &shared {
            Some(redis) => crate::approval::Hub::Shared(Box::new(
                crate::shared::approvals::SharedHub::new(redis.clone(), config.approval.hub),
            )),
            None => {
                crate::approval::Hub::Local(crate::approval::ApprovalHub::new(config.approval.hub))
            }
        };
        let web_push = crate::webpush::VapidKey::from_private_bytes(key.derive("vapid").as_slice())
            .and_then(|vapid| {
                crate::webpush::WebPush::new(
                    vapid,
                    &config.approval.push_subject,
                    std::time::Duration::from_secs(10),
                )
            })
            .map(Arc::new)
            .map_err(|e| tracing::error!(error = %e, "Web Push is off: no VAPID key"))
            .ok();
        let (webhook, webhook_problem) = match (
            &config.approval.webhook_url,
            &config.approval.webhook_secret_env,
        ) {
            (Some(url), Some(env)) => match crate::webhook::Webhook::new(url, env) {
                Ok(w) => (Some(Arc::new(w)), None),
                Err(e) => (None, Some(e)),
            },
            _ => (None, None),
        };
        Ok(Self {
            store,
            engine: Arc::new(engine),
            key,
            pool: crate::hashing::HashingPool::new(
                threads,
                threads * crate::hashing::QUEUE_PER_THREAD,
            )
            .map_err(|e| ServiceError::Internal(format!("starting the hashing threads: {e}")))?,
            mailer: crate::mail::Mailer::new(&config.mail)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?,
            audit_settings: Arc::new(config.audit.clone()),
            approvals: Arc::new(approvals),
            webhook,
            webhook_problem,
            public_url: Arc::new(std::sync::OnceLock::new()),
            web_push,
            push_allow_loopback: config.approval.push_allow_loopback,
            shared,
            draining: Arc::default(),
            max_push_devices: usize::try_from(config.approval.max_push_devices).unwrap_or(10),
            directories: Arc::new(
                crate::directory::Directories::new(&config.directories)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?,
            ),
            client_orgs: Arc::default(),
            i18n: Arc::new(config.i18n.clone()),
            backchannel: Arc::default(),
            clock: crate::clock::from_env(),
        })
        .inspect(|gw| gw.set_client_orgs(config))
    }

    /// The time now, by this gateway's clock: read once per request at the edge and
    /// passed inward.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The gateway's clock (the OpenID Provider reads the same one).
    pub fn clock(&self) -> &crate::clock::GatewayClock {
        &self.clock
    }

    /// The same gateway on another clock (tests: a `ManualClock` moved instead of sleeping).
    #[must_use]
    pub fn with_clock(mut self, clock: crate::clock::GatewayClock) -> Self {
        self.clock = clock;
        self
    }

    /// Logins waiting for the hashing pool, and password checks running.
    pub fn hashing_load(&self) -> (usize, usize) {
        (self.pool.queued(), self.pool.running())
    }

    /// Is this instance draining (stopping after its in-flight work)?
    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Start draining: `/readyz` turns unready so load balancers stop sending.
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Take the clients' `orgs` from `config` (at start and on SIGHUP).
    pub fn set_client_orgs(&self, config: &Config) {
        let mut map = ClientOrgs::new();
        for (name, field) in &config.radius.field {
            map.insert(
                (Channel::Radius.as_str(), name.clone()),
                ClientScope {
                    orgs: field.orgs.clone(),
                    default_org: field.default_org.clone(),
                },
            );
        }
        for c in &config.oidc.clients {
            map.insert(
                (Channel::Oidc.as_str(), c.client_id.clone()),
                ClientScope {
                    orgs: c.orgs.clone(),
                    default_org: c.default_org.clone(),
                },
            );
        }
        if let Ok(mut m) = self.client_orgs.write() {
            *m = map;
        }
    }

    /// The RADIUS and OIDC clients that serve the organisation named `org`: (channel,
    /// client name, whether it is bound to chosen organisations), by channel and name.
    pub fn clients_serving(&self, org: &str) -> Vec<(&'static str, String, bool)> {
        let Ok(map) = self.client_orgs.read() else {
            return Vec::new();
        };
        map.iter()
            .filter(|(_, c)| c.orgs.is_empty() || c.orgs.iter().any(|o| o == org))
            .map(|((channel, name), c)| (*channel, name.clone(), !c.orgs.is_empty()))
            .collect()
    }

    /// The configured default language and time zone.
    pub fn i18n(&self) -> &crate::i18n::I18nSettings {
        &self.i18n
    }

    /// The language of texts for `person`: their own choice (portal), else their
    /// organisation's default (its policy), else the configured default.
    pub async fn lang_of(&self, person: &Person) -> crate::i18n::Lang {
        if let Ok(Some(l)) = self.store.person_language(person.id).await
            && let Some(lang) = crate::i18n::Lang::parse(&l)
        {
            return lang;
        }
        self.lang_of_org(person.org_id).await
    }

    /// The person's own choice of language, if they made one.
    pub async fn own_language(&self, person: &Person) -> Result<Option<crate::i18n::Lang>> {
        Ok(self
            .store
            .person_language(person.id)
            .await?
            .as_deref()
            .and_then(crate::i18n::Lang::parse))
    }

    /// The person chooses the language of their e-mails and messages (None: their
    /// organisation's); audited `language_changed`.
    pub async fn portal_set_language(
        &self,
        actor: &Actor,
        lang: Option<crate::i18n::Lang>,
        now: UnixTime,
    ) -> Result<()> {
        let person = actor.own()?;
        let mut event = actor.event(EventKind::LanguageChanged, now);
        event.detail = Some(serde_json::json!({ "language": lang.map(|l| l.as_str()) }));
        self.store
            .set_person_language(person.id, lang.map(|l| l.as_str()), now, &event)
            .await?;
        Ok(())
    }

    /// An organisation's language (its policy's, else the configured default).
    pub async fn lang_of_org(&self, org: crate::model::OrgId) -> crate::i18n::Lang {
        match self.stored_policy(org).await {
            Ok(Some(p)) => p
                .language
                .as_deref()
                .and_then(crate::i18n::Lang::parse)
                .unwrap_or(self.i18n.default_language),
            _ => self.i18n.default_language,
        }
    }

    /// The language of texts a client gets before anyone is known (a RADIUS Access-Reject):
    /// its default organisation's, else the configured default. Never the person's: the
    /// language must not tell whether a username exists.
    pub async fn lang_of_client(
        &self,
        channel: Channel,
        client: Option<&str>,
    ) -> crate::i18n::Lang {
        let Some(org) = self.client_default_org(channel, client) else {
            return self.i18n.default_language;
        };
        match self.store.org_by_name(&org).await {
            Ok(Some(o)) => self.lang_of_org(o.id).await,
            _ => self.i18n.default_language,
        }
    }

    /// `t` in the zone and language: `5 december 2026 14:03 CET`.
    pub fn time_in(&self, t: UnixTime, lang: crate::i18n::Lang) -> String {
        crate::i18n::format_date_time(t, lang, &self.i18n.time_zone)
    }

    /// The default organisation (by name) of `client` on `channel`, if it has one.
    pub fn client_default_org(&self, channel: Channel, client: Option<&str>) -> Option<String> {
        let client = client?;
        let map = self.client_orgs.read().ok()?;
        map.get(&(channel.as_str(), client.to_owned()))?
            .default_org
            .clone()
    }

    /// The person a login name means for `client` on `channel` (issue 16: usernames are
    /// unique per organisation; see [`crate::store::resolve_username`]).
    pub async fn resolve_login_name(
        &self,
        channel: Channel,
        client: Option<&str>,
        name: &str,
    ) -> Result<crate::store::NameMatch> {
        let default_org = self.client_default_org(channel, client);
        Ok(
            crate::store::resolve_username(self.store.as_ref(), name, default_org.as_deref())
                .await?,
        )
    }

    /// Does the attempt's client serve other organisations than `person`'s?
    pub(crate) async fn client_refuses(&self, attempt: &Attempt, person: &Person) -> Result<bool> {
        self.client_refuses_for(attempt.channel, attempt.client.as_deref(), person)
            .await
    }

    /// Does `client` on `channel` serve other organisations than `person`'s?
    pub(crate) async fn client_refuses_for(
        &self,
        channel: Channel,
        client: Option<&str>,
        person: &Person,
    ) -> Result<bool> {
        let Some(client) = client else {
            return Ok(false);
        };
        let orgs = match self.client_orgs.read() {
            Ok(map) => match map.get(&(channel.as_str(), client.to_owned())) {
                Some(c) if !c.orgs.is_empty() => c.orgs.clone(),
                _ => return Ok(false),
            },
            Err(_) => return Ok(false),
        };
        let org = self.store.org_by_id(person.org_id).await?;
        Ok(!org.is_some_and(|o| orgs.contains(&o.name)))
    }

    /// The configured directories (LDAP / AD).
    pub fn directories(&self) -> &crate::directory::Directories {
        &self.directories
    }

    /// The directory that checks `person`'s password: one serving their organisation, when
    /// they have no local password.
    pub async fn directory_of(
        &self,
        person: &Person,
        has_local_password: bool,
    ) -> Result<Option<Arc<crate::directory::Directory>>> {
        if self.directories.is_empty() || has_local_password {
            return Ok(None);
        }
        let Some(org) = self.store.org_by_id(person.org_id).await? else {
            return Ok(None);
        };
        Ok(self.directories.for_org(&org.name).cloned())
    }

    /// The shared ephemeral state (Redis), when several instances share it.
    pub fn shared(&self) -> Option<&crate::shared::RedisShared> {
        self.shared.as_ref()
    }

    /// The password-hashing pool (for other callers of the hasher).
    pub fn hashing_pool(&self) -> &crate::hashing::HashingPool {
        &self.pool
    }

    /// How many logins may wait for or run a password check at once (beyond it: Reject
    /// `overloaded`). The RADIUS front admits no more than this at once.
    pub fn hashing_queue_size(&self) -> usize {
        self.pool.capacity() + self.pool.threads()
    }

    /// The operator's key (sealing other secrets, e.g. OIDC signing keys).
    pub fn master_key(&self) -> &MasterKey {
        &self.key
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Why the configured approval webhook cannot be used, if it cannot.
    pub fn webhook_problem(&self) -> Option<&str> {
        self.webhook_problem.as_deref()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn seal(&self, secret: &[u8], uid: &str) -> Result<Vec<u8>> {
        self.key
            .seal(secret, uid.as_bytes())
            .map_err(|e| ServiceError::Crypto(e.to_string()))
    }

    /// Open a device's seed.
    pub fn open_secret(&self, device: &Device) -> Result<SecretBytes> {
        self.key
            .open(&device.sealed_secret, device.uid.as_bytes())
            .map_err(|e| ServiceError::Crypto(format!("device {}: {e}", device.id)))
    }

    /// What the engine needs to know of a username (None when unknown), for an attempt
    /// from `source` (the password throttle's key).
    async fn subject(
        &self,
        person: Option<Person>,
        source: Option<&str>,
    ) -> Result<Option<Subject>> {
        let Some(person) = person else {
            return Ok(None);
        };
        // Two or three queries for all of it (`Store::login_reads`).
        let reads = self
            .store
            .login_reads(person.id, person.org_id, source)
            .await?;
        self.subject_of(person, reads).map(Some)
    }

    /// The engine's view of `person` from what the login read of them: the usable devices
    /// with their seeds opened, the policy parsed.
    fn subject_of(&self, person: Person, reads: crate::store::LoginReads) -> Result<Subject> {
        let mut devices = Vec::new();
        for device in reads.devices {
            if device.state != DeviceState::Active {
                continue;
            }
            // A push subscription gives no code: it only receives approval requests.
            if device.kind == DeviceKind::PushSubscription {
                continue;
            }
            // A security key has no seed: its credential is checked before the engine runs.
            if device.kind == DeviceKind::SecurityKey {
                devices.push(UsableDevice {
                    device,
                    secret: SecretBytes::new(Vec::new()),
                });
                continue;
            }
            match self.open_secret(&device) {
                Ok(secret) => devices.push(UsableDevice { device, secret }),
                // A seed that does not open never authenticates; the operator must see it.
                Err(e) => {
                    tracing::error!(device = device.id, error = %e, "device seed does not open")
                }
            }
        }
        let policy = match reads.policy {
            None => None,
            Some(json) => Some(Arc::new(crate::service::tenancy::parse_policy(
                person.org_id,
                &json,
            )?)),
        };
        Ok(Subject {
            person,
            password_hash: reads.password_hash,
            devices,
            recovery_codes: reads.one_time_codes,
            source_blocked_until: reads.source_blocked_until,
            directory: None,
            policy,
        })
    }

    /// Decide a login attempt, write its state changes and audit event, and only then
    /// return the decision. `now` is read once by the caller.
    pub async fn login(&self, attempt: Attempt, now: UnixTime) -> Result<Decision> {
        self.login_with(attempt, None, now, &mut None).await
    }

    /// `login`, for a web login's password step from a `remembered` browser: a right
    /// password of its person becomes an Accept without the code when the browser is live
    /// (`remember::skip_code`); `dead` says why the browser may no longer be used, if so.
    pub(crate) async fn login_with(
        &self,
        attempt: Attempt,
        remembered: Option<&crate::store::RememberedBrowser>,
        now: UnixTime,
        dead: &mut Option<&'static str>,
    ) -> Result<Decision> {
        if self.pool.queued() >= self.pool.capacity() {
            return self
                .reject_without_check(&attempt, Reason::Overloaded, now)
                .await;
        }
        // The password throttle's key, only when a password is checked.
        let source = matches!(
            attempt.credentials,
            Credentials::PasswordOnly { .. } | Credentials::PasswordAndCode { .. }
        )
        .then(|| self.engine.source_key(&attempt));
        // The name and what the login reads of its person, on one pooled connection
        // (`Store::resolve_for_login`).
        let default_org = self.client_default_org(attempt.channel, attempt.client.as_deref());
        let (found, reads) = self
            .store
            .resolve_for_login(&attempt.username, default_org.as_deref(), source.as_deref())
            .await?;
        let ambiguous = matches!(found, crate::store::NameMatch::Ambiguous(_));
        let mut subject = match (found, reads) {
            (crate::store::NameMatch::Found(p), Some(reads)) => Some(self.subject_of(p, reads)?),
            _ => None,
        };
        // A client bound to other organisations: the person is treated as unknown (the
        // same cost and answer), the event says why.
        let mut refused_for = None;
        if let Some(s) = &subject {
            let reason = if self.client_refuses(&attempt, &s.person).await? {
                Some(Reason::ClientNotForOrg)
            } else if s.policy.as_ref().is_some_and(|p| {
                attempt.channel == Channel::Radius
                    && !p.allows_source(attempt.client.as_deref(), attempt.source)
            }) {
                // The organisation accepts this client only from some addresses.
                Some(Reason::SourceNotAllowed)
            } else {
                None
            };
            if let Some(reason) = reason {
                refused_for = subject.take().map(|s| (s.person, reason));
            }
        }
        let mut dummy = None;
        let password = match &attempt.credentials {
            Credentials::PasswordOnly { password }
            | Credentials::PasswordAndCode { password, .. } => Some(password),
            _ => None,
        };
        if let Some(password) = password
            && !self.directories.is_empty()
        {
            match subject.as_mut() {
                Some(s) => {
                    if let Some(dir) = self
                        .directory_of(&s.person, s.password_hash.is_some())
                        .await?
                    {
                        s.directory = Some(if self.directory_may_bind(s, now) {
                            dir.check(&s.person.username, password.expose()).await
                        } else {
                            // Locked, throttled or not active: the engine refuses it without
                            // a password check, so the directory is not asked (a stranger's
                            // guesses must not lock the Windows account).
                            crate::directory::DirectoryCheck::Failed
                        });
                        // A directory person's password was checked by a bind, not a hash:
                        // the engine's decision is cheap and needs no hashing thread.
                        let decision = self.engine.decide(&attempt, subject.as_ref(), now);
                        let decision =
                            remember::apply(decision, subject.as_ref(), remembered, dead, now);
                        return self
                            .record_decision(&attempt, subject.as_ref(), decision, now)
                            .await;
                    }
                }
                None => {
                    // An unknown name costs what a directory check costs too, alongside the
                    // dummy hash below: a search and a bind in the first directory.
                    dummy = self
                        .directories
                        .all()
                        .first()
                        .cloned()
                        .map(|dir| (dir, attempt.username.clone(), password.clone()));
                }
            }
        }
        // The hashing pool runs the engine only: the store reads before it and the commit
        // after it (an fsync with SQLite) leave the hashing thread to the next login.
        let (engine, shared) = (self.engine.clone(), Arc::new(attempt));
        let job = shared.clone();
        let (ran, ()) = tokio::join!(
            self.pool
                .run(move || (engine.decide(&job, subject.as_ref(), now), subject)),
            async move {
                if let Some((dir, name, password)) = dummy {
                    dir.check(&name, password.expose()).await;
                }
            }
        );
        let attempt = Arc::unwrap_or_clone(shared);
        let (decision, subject) = match ran {
            Ok(r) => r,
            Err(crate::hashing::PoolError::Full) => {
                return self
                    .reject_without_check(&attempt, Reason::Overloaded, now)
                    .await;
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let mut decision = decision;
        if ambiguous {
            // The name is taken in several organisations: answered as unknown, said why.
            decision.verdict = Verdict::Reject(Reason::AmbiguousUsername);
            decision.event.reason = Some(Reason::AmbiguousUsername.as_str().into());
        }
        if let Some((p, reason)) = refused_for {
            decision.verdict = Verdict::Reject(reason);
            decision.event.reason = Some(reason.as_str().into());
            decision.event.person_id = Some(p.id);
            decision.event.org_id = Some(p.org_id);
        }
        let decision = remember::apply(decision, subject.as_ref(), remembered, dead, now);
        self.record_decision(&attempt, subject.as_ref(), decision, now)
            .await
    }

    /// May the directory be asked for `s`'s password now (not locked, not throttled from
    /// this source, active)?
    fn directory_may_bind(&self, s: &Subject, now: UnixTime) -> bool {
        let p = &s.person;
        p.state == PersonState::Active
            && p.blocked_at.is_none()
            && p.locked_until.is_none_or(|until| now >= until)
            && s.source_blocked_until.is_none_or(|until| now >= until)
    }

    /// Write `decision` (its changes and event, one transaction). When the store refuses it
    /// because a concurrent attempt got there first (the same code used, the person locked,
    /// the source throttled), the decision the engine gives for that race is written and
    /// returned instead: nothing is decided on a lock another request set.
    pub(crate) async fn record_decision(
        &self,
        attempt: &Attempt,
        subject: Option<&Subject>,
        mut decision: Decision,
        now: UnixTime,
    ) -> Result<Decision> {
        let person = subject.map(|s| s.person.id);
        // A replay is a wrong code (counted) and may itself meet a lock: at most three rounds.
        for _ in 0..3 {
            attempt.stamp(&mut decision.event);
            let recorded = self
                .store
                .record_login(person, &decision.changes, &decision.event)
                .await?;
            if recorded == Recorded::Written {
                count_decision(&decision.event);
                return Ok(decision);
            }
            decision = self.engine.after_race(recorded, attempt, subject, now);
        }
        Err(ServiceError::Internal(
            "a login decision could not be written after three races".into(),
        ))
    }

    /// Reject before any password check (overload, rate limit), audited.
    pub async fn reject_without_check(
        &self,
        attempt: &Attempt,
        reason: Reason,
        now: UnixTime,
    ) -> Result<Decision> {
        let event = AuditEvent {
            time: now,
            kind: EventKind::LoginAttempt,
            actor: "anonymous".into(),
            person_id: None,
            username: Some(attempt.username.clone()),
            org_id: None,
            channel: attempt.channel,
            client: attempt.client.clone(),
            source: attempt.source.map(|s| s.to_string()),
            device_id: None,
            device_label: None,
            outcome: crate::audit::Outcome::Reject,
            reason: Some(reason.as_str().into()),
            request_id: attempt.request_id.clone(),
            detail: None,
        };
        let mut event = event;
        attempt.stamp(&mut event);
        self.store.append_event(&event).await?;
        count_decision(&event);
        Ok(Decision {
            verdict: Verdict::Reject(reason),
            changes: Default::default(),
            event,
        })
    }

    /// The rate limits, before anything else: false when `attempt` is over one. Always
    /// counted; audited at most a few times per source per minute, so a flood does not become
    /// a flood of audit writes.
    pub async fn within_limits(&self, limits: &Limits, attempt: &Attempt, now: UnixTime) -> bool {
        let source = attempt
            .source
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let client = attempt.client.as_deref().unwrap_or("");
        // A NAS (RADIUS without an end-user address) is limited per client, never per source.
        let allowed = if attempt.nas.is_some_and(|nas| Some(nas) == attempt.source) {
            limits.allow_without_source(&attempt.username, client).await
        } else {
            limits.allow(source, &attempt.username, client).await
        };
        match allowed {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                // Without the shared counters nothing is checked: refused, audited.
                tracing::warn!(error = %e, "rate limits unavailable; refusing");
                if let Err(e) = self
                    .reject_without_check(attempt, Reason::SharedStateUnavailable, now)
                    .await
                {
                    crate::ops::count_audit_write_failure();
                    tracing::error!(error = %e, "audit write failed");
                }
                return false;
            }
        }
        metrics::counter!(crate::telemetry::RATE_LIMITED, "channel" => attempt.channel.as_str())
            .increment(1);
        if limits.audit_allowed(source).await
            && let Err(e) = self
                .reject_without_check(attempt, Reason::RateLimited, now)
                .await
        {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %e, "audit write failed");
        }
        false
    }

    // ---- organisations and people -------------------------------------------------------

    pub async fn create_org(
        &self,
        name: &str,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<Organisation> {
        self.operator_only(actor, "create organisation", now)
            .await?;
        let name = name.trim();
        if name.is_empty() {
            return Err(refused("svc-org-name-empty"));
        }
        // Its login suffix (`ann@praktijk-zuid`) must name it alone.
        let slug = crate::store::org_slug(name);
        if slug.is_empty() {
            return Err(refused("svc-org-name-no-letter"));
        }
        if let Some(other) = self
            .store
            .orgs()
            .await?
            .into_iter()
            .find(|o| crate::store::org_slug(&o.name) == slug)
        {
            return Err(Refusal::new("svc-org-suffix-taken")
                .with("name", name)
                .with("suffix", slug)
                .with("other", other.name)
                .into());
        }
        let mut event = actor.event(EventKind::OrgCreated, now);
        event.detail = Some(serde_json::json!({ "name": name }));
        Ok(self.store.create_org(name, now, event).await?)
    }

    pub async fn org(&self, name_or_id: &str) -> Result<Organisation> {
        if let Ok(id) = name_or_id.parse::<OrgId>()
            && let Some(org) = self.store.org_by_id(id).await?
        {
            return Ok(org);
        }
        self.store
            .org_by_name(name_or_id.trim())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("organisation {name_or_id:?}")))
    }

    /// A name that means `person` without a client's default organisation: the username
    /// when no other organisation has it, else qualified (`ann@praktijk-zuid`). A login
    /// keeps this between its steps.
    pub async fn login_name_of(&self, person: &Person) -> Result<String> {
        let named = self.store.people_named(&person.username).await?;
        if named.len() <= 1 {
            return Ok(person.username.clone());
        }
        let org = named
            .iter()
            .find(|(p, _)| p.id == person.id)
            .map(|(_, org)| org.clone())
            .unwrap_or_default();
        Ok(format!(
            "{}@{}",
            person.username,
            crate::store::org_slug(&org)
        ))
    }

    /// The person a name means: `ann`, or `ann@praktijk-zuid` when several organisations
    /// have an `ann` (the error then names the qualified names).
    pub async fn person(&self, username: &str) -> Result<Person> {
        match crate::store::resolve_username(self.store.as_ref(), username, None).await? {
            crate::store::NameMatch::Found(p) => Ok(p),
            crate::store::NameMatch::Unknown => {
                Err(ServiceError::NotFound(format!("person {username:?}")))
            }
            crate::store::NameMatch::Ambiguous(named) => {
                let names: Vec<String> = named
                    .iter()
                    .map(|(p, org)| format!("{}@{}", p.username, crate::store::org_slug(org)))
                    .collect();
                Err(Refusal::new("svc-username-ambiguous")
                    .with("username", username)
                    .with("count", number(names.len()))
                    .with("names", names.join(", "))
                    .into())
            }
        }
    }

    pub async fn create_person(
        &self,
        new: NewPerson,
        password: Option<SecretString>,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<Person> {
        self.operator_only(actor, "create person", now).await?;
        let username = crate::store::normalise_username(&new.username);
        if username.is_empty() || username.chars().any(|c| c.is_control()) {
            return Err(refused("svc-username-bad"));
        }
        if new.full_name.trim().is_empty() {
            return Err(refused("svc-full-name-empty"));
        }
        let hash = match password {
            Some(pw) => Some(self.hash_password(pw).await?),
            None => None,
        };
        let mut event = actor.event(EventKind::PersonCreated, now);
        event.username = Some(username);
        event.detail = Some(serde_json::json!({
            "roles": crate::model::roles_to_text(&new.roles),
        }));
        Ok(self
            .store
            .create_person(&new, hash.as_deref(), now, event)
            .await?)
    }

    async fn hash_password(&self, password: SecretString) -> Result<String> {
        let engine = self.engine.clone();
        self.pool
            .run(move || engine.hasher().hash(&password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(ServiceError::from)
    }

    fn person_event(person: &Person, kind: EventKind, actor: &str, now: UnixTime) -> AuditEvent {
        let mut e = AuditEvent::admin(now, kind, actor);
        e.person_id = Some(person.id);
        e.username = Some(person.username.clone());
        e.org_id = Some(person.org_id);
        e
    }

    /// An event about `person` done by `actor` (stamped with its channel, client, source
    /// and request id).
    fn person_event_by(
        person: &Person,
        kind: EventKind,
        actor: &Actor,
        now: UnixTime,
    ) -> AuditEvent {
        let mut e = Self::person_event(person, kind, actor.who(), now);
        actor.stamp(&mut e);
        e
    }

    pub async fn set_password(
        &self,
        username: &str,
        password: SecretString,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "set password", now).await?;
        let person = self.person(username).await?;
        let hash = self.hash_password(password).await?;
        let event = Self::person_event_by(&person, EventKind::PasswordChanged, actor, now);
        Ok(self.store.set_password(person.id, &hash, event).await?)
    }

    pub async fn set_state(
        &self,
        username: &str,
        state: PersonState,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "set state", now).await?;
        let person = self.person(username).await?;
        let kind = match state {
            PersonState::Disabled => EventKind::PersonDisabled,
            PersonState::Removed => EventKind::PersonRemoved,
            PersonState::Active => {
                return Err(refused("svc-use-unlock"));
            }
        };
        let event = Self::person_event_by(&person, kind, actor, now);
        Ok(self.store.set_person_state(person.id, state, event).await?)
    }

    pub async fn unlock(&self, username: &str, actor: &Actor, now: UnixTime) -> Result<()> {
        self.operator_only(actor, "unlock", now).await?;
        let person = self.person(username).await?;
        let event = Self::person_event_by(&person, EventKind::PersonUnlocked, actor, now);
        Ok(self.store.unlock_person(person.id, event).await?)
    }

    /// Block a person now (or lift the block), by the operator (the CLI): audited; every
    /// channel refuses a blocked person from the next request on. (The web's sessions end on
    /// their next request, which checks the block.)
    pub async fn set_blocked(
        &self,
        username: &str,
        block: bool,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<()> {
        self.operator_only(actor, "block", now).await?;
        let person = self.person(username).await?;
        let kind = if block {
            EventKind::PersonBlocked
        } else {
            EventKind::PersonUnblocked
        };
        let event = Self::person_event_by(&person, kind, actor, now);
        self.store
            .set_blocked(person.id, block.then_some(now), event.clone())
            .await?;
        if block {
            self.approvals.cancel_person(person.id).await;
            // Single sign-on ends too (it is also refused at use for a blocked person); from
            // the CLI the serving process sends the back-channel logouts (`backchannel::follow`).
            let why = SsoEnd::from_event(&event, SsoEndReason::PersonBlocked);
            self.end_sso(SsoWhich::Person(person.id), &why, now).await?;
        }
        Ok(())
    }

    /// Issue a temporary code for a person who lost their device (the helpdesk path): valid
    /// for one login within `valid_minutes` (1 to 24 h), `ABCDE-FGHIJ`, to show once. An
    /// unused old one is void. Audited with the issuer as actor and the expiry (never the
    /// code). The operator's (the CLI); an org admin uses `admin_temporary_code`.
    pub async fn issue_temporary_code(
        &self,
        username: &str,
        valid_minutes: u32,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<(SecretString, UnixTime)> {
        self.operator_only(actor, "temporary code", now).await?;
        let person = self.person(username).await?;
        self.temporary_code_for(&person, valid_minutes, actor, now)
            .await
    }

    /// As `issue_temporary_code`, for `person` (the caller checked the actor's scope).
    pub(crate) async fn temporary_code_for(
        &self,
        person: &Person,
        valid_minutes: u32,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<(SecretString, UnixTime)> {
        if !(1..=MAX_TEMPORARY_CODE_MINUTES).contains(&valid_minutes) {
            return Err(Refusal::new("svc-temporary-code-minutes")
                .with("max", number(MAX_TEMPORARY_CODE_MINUTES))
                .into());
        }
        let bytes = random_bytes(7).map_err(|_| ServiceError::Crypto("random generator".into()))?;
        let mut normal = data_encoding::BASE32_NOPAD.encode(&bytes);
        normal.truncate(RECOVERY_CODE_LEN);
        let hash = self.engine.code_key().hash(person.id, &normal);
        let (a, b) = normal.split_at(RECOVERY_CODE_LEN / 2);
        let code = SecretString::new(format!("{a}-{b}"));
        let expires_at = now + i64::from(valid_minutes) * 60;
        let mut event = Self::person_event_by(person, EventKind::TemporaryCodeIssued, actor, now);
        event.detail = Some(serde_json::json!({
            "expires_at": expires_at,
            "valid_minutes": valid_minutes,
        }));
        self.store
            .issue_temporary_code(person.id, hash, actor.who(), now, expires_at, event)
            .await?;
        Ok((code, expires_at))
    }

    // ---- devices --------------------------------------------------------------------------

    /// Link a new TOTP authenticator app to a person; returns the otpauth URI to show once.
    pub async fn add_totp(
        &self,
        username: &str,
        label: &str,
        params: OtpParams,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<EnrolledDevice> {
        self.operator_only(actor, "add phone", now).await?;
        if !params.is_valid() || !matches!(params.kind, crate::otp::OtpKind::Totp { .. }) {
            return Err(refused("svc-totp-params"));
        }
        let person = self.person(username).await?;
        if person.state != PersonState::Active {
            return Err(Refusal::new("svc-person-not-active")
                .with("username", username)
                .into());
        }
        let seed = SecretBytes::new(
            random_bytes(20).map_err(|_| ServiceError::Crypto("random generator".into()))?,
        );
        let new = self.new_phone(&person, label, params, &seed)?;
        let event = Self::person_event_by(&person, EventKind::DeviceLinked, actor, now);
        let device = self.store.add_device(&new, now, event).await?;
        let uri = self.device_uri(&person, &device, &seed);
        Ok(EnrolledDevice { device, uri })
    }

    /// A phone authenticator for `person`, its seed sealed under a fresh uid.
    fn new_phone(
        &self,
        person: &Person,
        label: &str,
        params: OtpParams,
        seed: &SecretBytes,
    ) -> Result<NewDevice> {
        let uid = new_uid();
        Ok(NewDevice {
            sealed_secret: self.seal(seed.expose(), &uid)?,
            uid,
            person_id: Some(person.id),
            org_id: Some(person.org_id),
            kind: DeviceKind::PhoneTotp,
            label: label_or(label, "phone")?,
            serial: None,
            manufacturer: None,
            otp: params,
            counter: 0,
            state: DeviceState::Active,
        })
    }

    /// The otpauth URI of a device (operators only: it holds the seed).
    pub fn device_uri(&self, person: &Person, device: &Device, seed: &SecretBytes) -> SecretString {
        SecretString::new(crate::otp::otpauth_uri(
            seed.expose(),
            &device.otp,
            &self.engine.otp_policy().issuer,
            &person.username,
            device.counter,
        ))
    }

    pub async fn devices(&self, username: &str) -> Result<Vec<Device>> {
        let person = self.person(username).await?;
        Ok(self.store.devices_of(person.id).await?)
    }

    async fn device(&self, id: DeviceId) -> Result<Device> {
        self.store
            .device_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("device {id}")))
    }

    pub async fn remove_device(&self, id: DeviceId, actor: &Actor, now: UnixTime) -> Result<()> {
        self.operator_only(actor, "remove device", now).await?;
        let device = self.device(id).await?;
        let mut event = actor.event(EventKind::DeviceRemoved, now);
        event.org_id = device.org_id;
        Ok(self.store.remove_device(device.id, event).await?)
    }

    /// Resynchronise an HOTP token from two consecutive codes.
    pub async fn resync(
        &self,
        id: DeviceId,
        first: &str,
        second: &str,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<u64> {
        self.operator_only(actor, "resync", now).await?;
        let device = self.device(id).await?;
        if device.otp.kind != crate::otp::OtpKind::Hotp {
            return Err(Refusal::new("svc-not-hotp").with("device", id).into());
        }
        let secret = self.open_secret(&device)?;
        let usable = UsableDevice { device, secret };
        let next = self
            .engine
            .resync(&usable, first, second)
            .ok_or_else(|| refused("svc-resync-window"))?;
        let mut event = actor.event(EventKind::DeviceResynced, now);
        event.person_id = usable.device.person_id;
        event.org_id = usable.device.org_id;
        event.device_label = Some(usable.device.label.clone());
        event.detail = Some(serde_json::json!({ "next_counter": next }));
        self.store.set_counter(id, next, event).await?;
        Ok(next)
    }

    /// Import hardware tokens from parsed PSKC keys into stock, all or nothing.
    /// `progress` is called after each key is sealed.
    pub async fn import_tokens(
        &self,
        keys: &[PskcKey],
        org: Option<OrgId>,
        source: &str,
        actor: &Actor,
        now: UnixTime,
        progress: &(dyn Fn() + Sync),
    ) -> Result<usize> {
        self.operator_only(actor, "import tokens", now).await?;
        let mut tokens = Vec::with_capacity(keys.len());
        for k in keys {
            let otp = OtpParams {
                kind: match k.kind {
                    PskcAlgorithm::Hotp => crate::otp::OtpKind::Hotp,
                    PskcAlgorithm::Totp => crate::otp::OtpKind::Totp { period: k.period },
                },
                hash: match k.hash {
                    PskcHash::Sha1 => crate::otp::OtpHash::Sha1,
                    PskcHash::Sha256 => crate::otp::OtpHash::Sha256,
                    PskcHash::Sha512 => crate::otp::OtpHash::Sha512,
                },
                digits: k.digits,
            };
            if !otp.is_valid() {
                return Err(Refusal::new("svc-import-unsupported")
                    .with("entry", number(k.entry))
                    .with("serial", k.serial.as_str())
                    .into());
            }
            let uid = new_uid();
            tokens.push(NewDevice {
                sealed_secret: self.seal(&k.secret, &uid)?,
                uid,
                person_id: None,
                org_id: org,
                kind: DeviceKind::HardwareToken,
                label: String::new(),
                serial: Some(k.serial.clone()),
                manufacturer: k.manufacturer.clone(),
                otp,
                counter: k.counter,
                state: DeviceState::InStock,
            });
            progress();
        }
        let mut event = actor.event(EventKind::TokenImported, now);
        event.org_id = org;
        event.detail = Some(serde_json::json!({ "count": tokens.len(), "file": source }));
        Ok(self.store.import_tokens(&tokens, now, event).await?)
    }

    pub async fn assign_token(
        &self,
        serial: &str,
        username: &str,
        label: &str,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<Device> {
        self.operator_only(actor, "assign token", now).await?;
        let person = self.person(username).await?;
        let event = Self::person_event_by(&person, EventKind::DeviceLinked, actor, now);
        let label = label_or(label, &format!("token {serial}"))?;
        Ok(self
            .store
            .assign_token(serial.trim(), person.id, &label, event)
            .await?)
    }
}

/// Count a written login decision (channel, client, outcome, reason).
fn count_decision(e: &AuditEvent) {
    metrics::counter!(
        crate::telemetry::DECISIONS,
        "channel" => e.channel.as_str(),
        "client" => e.client.clone().unwrap_or_default(),
        "outcome" => e.outcome.as_str(),
        "reason" => crate::telemetry::metric_reason(e.reason.as_deref().unwrap_or("")).to_owned(),
    )
    .increment(1);
}

/// A device label as given, checked by one rule on every path that adds or renames a
/// device (it reaches mail subjects, push payloads and CSV exports): trimmed, 1 to 64
/// characters, no control characters and no bidirectional-text controls. Empty: `default`.
pub(crate) fn label_or(label: &str, default: &str) -> Result<String> {
    let label = label.trim();
    if label.is_empty() {
        return Ok(default.to_owned());
    }
    check_label(label)
}

/// See `label_or`; an empty label is refused.
pub(crate) fn check_label(label: &str) -> Result<String> {
    let label = label.trim();
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if label.is_empty()
        || label.chars().count() > 64
        || label.chars().any(|c| c.is_control() || bidi(c))
    {
        return Err(refused(BAD_LABEL));
    }
    Ok(label.to_owned())
}

/// Why a device label was refused.
pub const BAD_LABEL: &str = "svc-bad-label";

/// A login attempt from the command line (for trying the gateway without a client).
pub fn cli_attempt(username: &str, credentials: crate::engine::Credentials) -> Attempt {
    Attempt {
        username: username.to_owned(),
        credentials,
        channel: Channel::Cli,
        client: Some("cli".into()),
        source: None,
        request_id: None,
        nas: None,
        typed_username: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels_follow_one_rule_on_every_path() {
        assert_eq!(
            check_label("  business phone ").ok().as_deref(),
            Some("business phone")
        );
        assert_eq!(label_or("", "phone").ok().as_deref(), Some("phone"));
        for bad in [
            "two\r\nlines",
            "tab\there",
            "nul\0",
            "evil\u{202E}gnp.exe",
            "isolate\u{2066}x",
            "mark\u{200F}",
            &"x".repeat(65),
            &"é".repeat(60_000),
        ] {
            assert!(check_label(bad).is_err(), "{bad:?}");
            assert!(label_or(bad, "phone").is_err(), "{bad:?}");
        }
        assert!(
            check_label(&"é".repeat(64)).is_ok(),
            "64 characters, not bytes"
        );
    }
}
