//! Storage behind one trait, implemented on SQLite (embedded default) and PostgreSQL.
//!
//! Every change is written together with its audit event in one transaction. Both
//! implementations are generated from the same SQL by the `sql_store!` macro in `sql.rs`;
//! the schemas live in `migrations/sqlite` and `migrations/postgres`.

mod admin_tools;
mod audit_admin;
pub(crate) mod filter;
mod lifecycle;
mod ops;
mod radius_sessions;
mod remember;
mod reset;
mod sql;
mod sso_sessions;
mod tenancy;
mod webauthn;

pub use admin_tools::{AdminToolsStore, PasswordFailures};
pub use audit_admin::{AuditAdminStore, DayCount, Redaction, TopFailures};
/// The length of a period of the most failures' summary (`audit_reject_periods`).
pub use filter::REJECT_PERIOD;
pub use lifecycle::LifecycleStore;
pub use ops::{OpsStore, PoolStats, RowKey, SealedColumn, SealedSecret};
pub use radius_sessions::{OpenSession, RadiusSessionStore, SessionChange, SessionRecord};
pub use remember::{ENDING_KINDS, RememberStore, RememberedBrowser};
pub use reset::{ResetLink, ResetStore};
pub use sso_sessions::{SsoSessionRow, SsoSessionStore};
pub use tenancy::{SsoSession, TenancyStore};
pub use webauthn::WebauthnStore;

use crate::audit::{AuditEvent, StoredEvent};
use crate::audit_chain::{ChainRow, Checkpoint, SealedAuditKey};
use crate::changes::{Changes, Recorded, RecoveryCode};
use crate::model::{
    Device, DeviceId, NewDevice, NewPerson, OrgId, Organisation, Person, PersonId, PersonState,
    SealedSigningKey, UnixTime,
};
use async_trait::async_trait;
use std::sync::Arc;

/// What a login reads of its person before the password check ([`Store::login_reads`]).
#[derive(Debug, Default)]
pub struct LoginReads {
    pub password_hash: Option<String>,
    /// Until when the attempt's source may not try this person's password (see
    /// [`Store::password_blocked_until`]); None without a source.
    pub source_blocked_until: Option<UnixTime>,
    /// The organisation's stored policy (JSON), as [`TenancyStore::org_policy`] gives it.
    pub policy: Option<String>,
    /// All devices ever linked (as [`Store::devices_of`]).
    pub devices: Vec<Device>,
    /// Unused recovery codes, then unused temporary codes, each by id (as
    /// [`Store::recovery_codes`] then [`Store::temporary_codes`]).
    pub one_time_codes: Vec<RecoveryCode>,
}

pub use sql::postgres::PgStore;
pub use sql::sqlite::SqliteStore;
pub use sql::sqlite_url_synchronous;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A change refused (nothing written): why, typed where a person may read it.
    #[error("{0}")]
    Invalid(Rejected),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is damaged: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why the store refused a change (nothing was written). The kinds a person may meet on a
/// page are typed, so the service can say them in the person's language
/// (`service::refusal::Refusal::of_store`); the rest (a fault of the caller or of the data,
/// for the logs and the CLI) are an English sentence. `Display` is English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// A request does not stand at one of the statuses the change starts from.
    #[error("request {id} is {}, not {}", status.as_str(), statuses(wanted))]
    RequestNotAt {
        id: crate::model::RequestId,
        status: crate::model::RequestStatus,
        wanted: Vec<crate::model::RequestStatus>,
    },
    /// A request was changed by someone else between reading and writing it.
    #[error("request {id} changed meanwhile")]
    RequestChanged { id: crate::model::RequestId },
    /// An order for more tokens than the provider's stock holds.
    #[error("only {in_stock} tokens in stock, {ordered} ordered")]
    TooFewTokens { in_stock: usize, ordered: u32 },
    /// No hardware token has this serial number.
    #[error("no token {serial:?}")]
    NoToken { serial: String },
    /// The token is not in the organisation's (or the provider's) stock.
    #[error("token {serial:?} is not in the organisation's stock")]
    TokenNotInStock { serial: String },
    /// Anything else, in English.
    #[error("{0}")]
    Text(String),
}

fn statuses(s: &[crate::model::RequestStatus]) -> String {
    s.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

impl From<String> for Rejected {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Rejected {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

/// Which events to read: every field set must match (texts exactly).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub person_id: Option<PersonId>,
    /// The username as stored in the event (normalised), for usernames with no person.
    pub username: Option<String>,
    pub org_id: Option<OrgId>,
    /// The viewer's organisation (an org auditor): only events of this organisation and
    /// events without one about a person of it, in the query itself. None: every event.
    pub scope_org: Option<OrgId>,
    /// From this time on (inclusive).
    pub from: Option<UnixTime>,
    /// Up to this time (inclusive).
    pub to: Option<UnixTime>,
    pub channel: Option<String>,
    pub client: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub source: Option<String>,
    pub kind: Option<String>,
    /// Newest first (or oldest first), at most this many (0: no limit), after skipping
    /// `offset`.
    pub limit: u32,
    pub offset: u32,
    pub oldest_first: bool,
}

/// The store. Methods that change something take the audit event that describes the change
/// and write both in one transaction; the store fills in ids it creates (person, device).
#[async_trait]
pub trait Store:
    AuditAdminStore
    + AdminToolsStore
    + LifecycleStore
    + WebauthnStore
    + OpsStore
    + RadiusSessionStore
    + ResetStore
    + TenancyStore
    + SsoSessionStore
    + RememberStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Is the database reachable?
    async fn ping(&self) -> Result<()>;

    async fn create_org(
        &self,
        name: &str,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<Organisation>;
    async fn orgs(&self) -> Result<Vec<Organisation>>;
    async fn org_by_name(&self, name: &str) -> Result<Option<Organisation>>;
    async fn org_by_id(&self, id: OrgId) -> Result<Option<Organisation>>;

    async fn create_person(
        &self,
        new: &NewPerson,
        password_hash: Option<&str>,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<Person>;
    /// Everyone whose username is exactly `username` (normalised), with their
    /// organisation's name, oldest first: one per organisation at most.
    async fn people_named(&self, username: &str) -> Result<Vec<(Person, String)>>;
    /// The one person a login name means, without a default organisation (see
    /// [`resolve_username`]); None when unknown or ambiguous.
    async fn person_by_username(&self, username: &str) -> Result<Option<Person>> {
        Ok(match resolve_username(self, username, None).await? {
            NameMatch::Found(p) => Some(p),
            NameMatch::Unknown | NameMatch::Ambiguous(_) => None,
        })
    }
    async fn person_by_id(&self, id: PersonId) -> Result<Option<Person>>;
    /// By the stable public id (the OIDC `sub`).
    async fn person_by_public_id(&self, public_id: &str) -> Result<Option<Person>>;
    async fn people(&self, org: Option<OrgId>) -> Result<Vec<Person>>;
    /// The removed people whose identity is not erased yet (their username is no
    /// `pseudonym-`), by id: what the daily retention job looks at, without reading
    /// everyone.
    async fn removed_people(&self) -> Result<Vec<Person>>;
    async fn password_hash(&self, id: PersonId) -> Result<Option<String>>;
    async fn set_password(&self, id: PersonId, hash: &str, event: AuditEvent) -> Result<()>;
    /// Disable or remove. Removing also unlinks every device: phones are wiped, hardware
    /// tokens go back to stock.
    async fn set_person_state(
        &self,
        id: PersonId,
        state: PersonState,
        event: AuditEvent,
    ) -> Result<()>;
    /// Clear the failed-login count and any lockout.
    async fn unlock_person(&self, id: PersonId, event: AuditEvent) -> Result<()>;

    async fn add_device(&self, new: &NewDevice, now: UnixTime, event: AuditEvent)
    -> Result<Device>;
    /// All devices ever linked to a person (removed ones included).
    async fn devices_of(&self, person: PersonId) -> Result<Vec<Device>>;
    async fn device_by_id(&self, id: DeviceId) -> Result<Option<Device>>;
    async fn device_by_serial(&self, serial: &str) -> Result<Option<Device>>;
    /// Unlink: a phone is marked removed and its seed wiped; a hardware token goes back to
    /// stock (its seed and counter stay with it).
    async fn remove_device(&self, id: DeviceId, event: AuditEvent) -> Result<()>;
    /// What a login reads of `person` before its password check, on one connection: the
    /// person's password hash with the source's password block and `org`'s stored policy
    /// (on PostgreSQL with the devices joined, a row per device); the devices (SQLite); the
    /// one-time codes. One query each took six round trips to the
    /// database: each round trip wakes a database thread and a runtime thread, which on a
    /// busy server is CPU taken from the hashing threads (issue 17's CPU per login).
    async fn login_reads(
        &self,
        person: PersonId,
        org: OrgId,
        source: Option<&str>,
    ) -> Result<LoginReads>;
    /// A login's name resolved ([`resolve_username`]) and, when it means one person, what
    /// the login reads of them ([`Store::login_reads`]), on one pooled connection: a
    /// connection going back to the pool costs a round trip (sqlx checks it then; on SQLite
    /// a message to the connection's thread and back).
    async fn resolve_for_login(
        &self,
        typed: &str,
        default_org: Option<&str>,
        source: Option<&str>,
    ) -> Result<(NameMatch, Option<LoginReads>)>;
    /// A person's unused recovery codes.
    async fn recovery_codes(&self, person: PersonId) -> Result<Vec<RecoveryCode>>;
    /// Replace a person's recovery codes (the old set, used or not, is gone) by `hashes`.
    async fn replace_recovery_codes(
        &self,
        person: PersonId,
        hashes: &[[u8; 32]],
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<()>;
    /// A person's unused temporary codes (expired ones included: the engine gets `now`).
    async fn temporary_codes(&self, person: PersonId) -> Result<Vec<RecoveryCode>>;
    /// Issue a temporary code (the helpdesk path): an unused old one is gone, `hash` is valid
    /// for one login until `expires_at`; written with its audit event.
    async fn issue_temporary_code(
        &self,
        person: PersonId,
        hash: [u8; 32],
        issued_by: &str,
        now: UnixTime,
        expires_at: UnixTime,
        event: AuditEvent,
    ) -> Result<()>;
    /// Rename a device linked (active or disabled) to `person`.
    async fn rename_device(
        &self,
        id: DeviceId,
        person: PersonId,
        label: &str,
        event: AuditEvent,
    ) -> Result<()>;
    /// Disable an active device (it stays linked, authenticates nothing); false when it was
    /// not active (then nothing is written).
    async fn disable_device(&self, id: DeviceId, event: AuditEvent) -> Result<bool>;
    /// Set an HOTP device's next counter (resync); NotFound when it is not an HOTP device or
    /// its counter is already past `next`.
    async fn set_counter(&self, id: DeviceId, next: u64, event: AuditEvent) -> Result<()>;
    /// Import hardware tokens into stock: all or nothing.
    async fn import_tokens(
        &self,
        tokens: &[NewDevice],
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<usize>;
    /// Hardware tokens, in stock or linked.
    async fn tokens(&self) -> Result<Vec<Device>>;
    /// Link a token from stock to a person.
    async fn assign_token(
        &self,
        serial: &str,
        person: PersonId,
        label: &str,
        event: AuditEvent,
    ) -> Result<Device>;

    /// Apply a login decision's changes and write its event, in one transaction. Writes
    /// nothing and says why when the device use lost its compare-and-set (the same code or
    /// a later one was used meanwhile), the one-time code was spent already, the person is
    /// locked (a counted second factor) or the source is throttled for this person (a
    /// counted password) by a concurrent attempt. Counters are increments in SQL; a lock
    /// reached by this attempt is set in the same transaction and named in the event's
    /// detail.
    async fn record_login(
        &self,
        person: Option<PersonId>,
        changes: &Changes,
        event: &AuditEvent,
    ) -> Result<Recorded>;
    /// Until when `source` (see `changes::source_key`) may not try `person`'s password, if
    /// it was ever blocked (the time may be past).
    async fn password_blocked_until(
        &self,
        person: PersonId,
        source: &str,
    ) -> Result<Option<UnixTime>>;
    /// Forget password failures last counted before `before` whose block is over; returns
    /// how many (pairs of person and source).
    async fn forget_password_failures(&self, before: UnixTime) -> Result<u64>;
    /// Block a person now (`Some(now)`) or lift the block (`None`), audited.
    async fn set_blocked(
        &self,
        id: PersonId,
        blocked_at: Option<UnixTime>,
        event: AuditEvent,
    ) -> Result<()>;

    /// OpenID Provider signing keys (sealed).
    async fn signing_keys(&self) -> Result<Vec<SealedSigningKey>>;
    /// Add a signing key, or update its retirement time; audited.
    async fn save_signing_key(&self, key: &SealedSigningKey, event: AuditEvent) -> Result<()>;

    async fn append_event(&self, event: &AuditEvent) -> Result<i64>;
    async fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>>;

    /// The hash chain (see `audit_chain`): up to `limit` rows with ids above `after_id`, in
    /// id order, as stored.
    async fn chain_rows(&self, after_id: i64, limit: u32) -> Result<Vec<ChainRow>>;
    /// The last event's id and chain hash (None: no events).
    async fn chain_head(&self) -> Result<Option<(i64, [u8; 32])>>;
    /// The audit checkpoint key named `kid` (sealed).
    async fn audit_key(&self, kid: &str) -> Result<Option<SealedAuditKey>>;
    /// Store an audit key unless one with its kid exists (then nothing is written and the
    /// answer is false); audited.
    async fn add_audit_key(&self, key: &SealedAuditKey, event: AuditEvent) -> Result<bool>;
    /// Store a checkpoint; returns its id.
    async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<i64>;
    /// All checkpoints, oldest first.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;
}

/// Open the store the URL names (sqlite:// or postgres://) and run its migrations.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, max_connections).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url, max_connections).await?))
    }
}

/// Usernames are compared without case and surrounding blanks.
pub fn normalise_username(name: &str) -> String {
    name.trim().to_lowercase()
}

/// An organisation's login suffix, from its name: lower case, every run of characters
/// other than letters and digits one `-` ("Praktijk Zuid" is `praktijk-zuid`). A name may
/// be qualified with it: `ann@praktijk-zuid` or `praktijk-zuid\ann`.
pub fn org_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// What a login name means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    Found(Person),
    Unknown,
    /// The name is taken in several organisations and nothing says which: answered as an
    /// unknown user, audited as `ambiguous_username`.
    Ambiguous(Vec<(Person, String)>),
}

/// The person a login name means (issue 16: usernames are unique per organisation).
/// 1. With a `default_org` (the client's), its person of that name.
/// 2. A name taken in one organisation only: that person (every name that was unique keeps
///    working unchanged, also one that contains `@`).
/// 3. A name taken in several: ambiguous.
/// 4. A name qualified with an organisation's login suffix ([`org_slug`]):
///    `ann@praktijk-zuid` or `praktijk-zuid\ann`.
pub async fn resolve_username<S: Store + ?Sized>(
    store: &S,
    typed: &str,
    default_org: Option<&str>,
) -> Result<NameMatch> {
    resolve_username_with(typed, default_org, &mut ByStore(store)).await
}

/// Where [`resolve_username_with`] finds everyone of a username: [`Store::people_named`],
/// or a store's own query on a connection it holds ([`Store::resolve_for_login`]).
#[async_trait::async_trait]
pub(crate) trait PeopleNamed: Send {
    async fn named(&mut self, username: &str) -> Result<Vec<(Person, String)>>;
}

struct ByStore<'a, S: ?Sized>(&'a S);

#[async_trait::async_trait]
impl<S: Store + ?Sized> PeopleNamed for ByStore<'_, S> {
    async fn named(&mut self, username: &str) -> Result<Vec<(Person, String)>> {
        self.0.people_named(username).await
    }
}

/// [`resolve_username`], with the people of a name from `named`.
pub(crate) async fn resolve_username_with(
    typed: &str,
    default_org: Option<&str>,
    named: &mut dyn PeopleNamed,
) -> Result<NameMatch> {
    let name = normalise_username(typed);
    if name.is_empty() {
        return Ok(NameMatch::Unknown);
    }
    let mut named_as = named.named(&name).await?;
    if let Some(org) = default_org
        && let Some(i) = named_as.iter().position(|(_, o)| o == org)
    {
        return Ok(NameMatch::Found(named_as.swap_remove(i).0));
    }
    match named_as.len() {
        0 => {}
        1 => return Ok(NameMatch::Found(named_as.remove(0).0)),
        _ => return Ok(NameMatch::Ambiguous(named_as)),
    }
    let qualified = name
        .rsplit_once('@')
        .or_else(|| name.split_once('\\').map(|(org, user)| (user, org)));
    let Some((user, suffix)) = qualified else {
        return Ok(NameMatch::Unknown);
    };
    if user.is_empty() || suffix.is_empty() {
        return Ok(NameMatch::Unknown);
    }
    let mut hits: Vec<(Person, String)> = named
        .named(user)
        .await?
        .into_iter()
        .filter(|(_, org)| org_slug(org) == suffix)
        .collect();
    Ok(match hits.len() {
        0 => NameMatch::Unknown,
        1 => NameMatch::Found(hits.remove(0).0),
        _ => NameMatch::Ambiguous(hits),
    })
}
