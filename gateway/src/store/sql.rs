//! The SQL store, once, for both databases. `sql_store!` expands to a module per backend;
//! the SQL is shared (`$N` parameters work in both), the schema differs only in types.
//! `$postgres` is true on PostgreSQL, where each statement is a round trip over the network
//! and a data-modifying WITH can join statements; false on SQLite, in the process.

macro_rules! sql_store {
    ($module:ident, $Store:ident, $Db:ty, $Pool:ty, $Row:ty, $Conn:ty, $migrations:literal, $begin:literal, $chain_lock:expr, $chain_head:expr, $postgres:literal) => {
        pub(super) mod $module {
            use crate::audit::{AuditEvent, StoredEvent};
            use crate::audit_chain::{self, ChainRow, Checkpoint, EventContent, SealedAuditKey};
            use crate::changes::{Changes, Counted, DeviceUse, OneTimeKind, RecoveryCode, Recorded};
            use crate::model::*;
            use crate::otp::{OtpHash, OtpKind, OtpParams};
            use crate::store::{EventFilter, Result, Store, StoreError, normalise_username};
            use async_trait::async_trait;
            use sqlx::Row as _;

            /// The store on this database.
            #[derive(Debug, Clone)]
            pub struct $Store {
                pool: $Pool,
            }

            pub(crate) const PERSON_COLS: &str = "id, public_id, username, full_name, email, employee_number, org_id, roles, state, created_at, failed_logins, locked_until, blocked_at, email_verified_at";
            pub(crate) const DEVICE_COLS: &str = "id, uid, person_id, org_id, kind, label, serial, manufacturer, otp_kind, otp_hash, digits, period, sealed_secret, counter, last_step, state, created_at, last_used_at";
            pub(crate) const EVENT_COLS: &str = "id, time, kind, actor, person_id, username, org_id, channel, client, source, device_id, device_label, outcome, reason, request_id, detail";

            impl $Store {
                /// Wrap a pool whose database has been migrated (see `migrate`).
                pub fn from_pool(pool: $Pool) -> Self {
                    Self { pool }
                }

                pub fn pool(&self) -> &$Pool {
                    &self.pool
                }

                /// Bring the schema up to date (and hash events written before the chain).
                pub async fn migrate(&self) -> Result<()> {
                    sqlx::migrate!($migrations).run(&self.pool).await?;
                    self.backfill_chain().await
                }

                /// Chain the rows written before migration 0003 (a prefix of the table, in
                /// id order). Rows without hashes after a hashed row are left for `audit
                /// verify` to report.
                async fn backfill_chain(&self) -> Result<()> {
                    let mut tx = self.begin().await?;
                    if let Some(lock) = $chain_lock {
                        sqlx::query(lock).execute(&mut *tx).await?;
                    }
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {EVENT_COLS}, content_hash, chain_hash, purged FROM audit_events \
                         WHERE chain_hash IS NULL AND id < COALESCE((SELECT MIN(id) FROM audit_events WHERE chain_hash IS NOT NULL), $1) \
                         ORDER BY id"
                    )))
                    .bind(i64::MAX)
                    .fetch_all(&mut *tx)
                    .await?;
                    if rows.is_empty() {
                        return Ok(());
                    }
                    let mut previous = audit_chain::GENESIS;
                    for row in &rows {
                        let row = chain_row_from_row(row)?;
                        let content = audit_chain::content_hash(row.id, &row.content);
                        let chain = audit_chain::chain_hash(&previous, &content);
                        sqlx::query(
                            "UPDATE audit_events SET content_hash = $1, chain_hash = $2 WHERE id = $3",
                        )
                        .bind(content.to_vec())
                        .bind(chain.to_vec())
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                        previous = chain;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, $Db>> {
                    Ok(self.pool.begin_with($begin).await?)
                }
            }

            pub(crate) fn conflict(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
                match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => {
                        StoreError::Conflict(what())
                    }
                    _ => StoreError::Db(e),
                }
            }

            pub(crate) fn u(v: i64) -> u64 {
                u64::try_from(v).unwrap_or(0)
            }

            pub(crate) fn i(v: u64) -> i64 {
                i64::try_from(v).unwrap_or(i64::MAX)
            }

            /// Add `key` to an event's detail object (made when missing).
            fn add_detail(event: &mut AuditEvent, key: &str, value: serde_json::Value) {
                let mut map = match event.detail.take() {
                    Some(serde_json::Value::Object(m)) => m,
                    Some(other) => {
                        let mut m = serde_json::Map::new();
                        m.insert("detail".into(), other);
                        m
                    }
                    None => serde_json::Map::new(),
                };
                map.insert(key.to_owned(), value);
                event.detail = Some(serde_json::Value::Object(map));
            }

            pub(crate) fn org_from_row(row: &$Row) -> Result<Organisation> {
                Ok(Organisation {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            pub(crate) fn person_from_row(row: &$Row) -> Result<Person> {
                let state: String = row.try_get("state")?;
                let roles: String = row.try_get("roles")?;
                let failed: i64 = row.try_get("failed_logins")?;
                Ok(Person {
                    id: row.try_get("id")?,
                    public_id: row.try_get("public_id")?,
                    username: row.try_get("username")?,
                    full_name: row.try_get("full_name")?,
                    email: row.try_get("email")?,
                    employee_number: row.try_get("employee_number")?,
                    org_id: row.try_get("org_id")?,
                    roles: roles_from_text(&roles),
                    state: PersonState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("person state {state:?}")))?,
                    created_at: row.try_get("created_at")?,
                    failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
                    locked_until: row.try_get("locked_until")?,
                    blocked_at: row.try_get("blocked_at")?,
                    email_verified_at: row.try_get("email_verified_at")?,
                })
            }

            /// A one-time code from a row of `id, code_hash, keyed` (and `expires_at` for a
            /// temporary code).
            fn one_time_code_from_row(r: &$Row, kind: OneTimeKind) -> Result<RecoveryCode> {
                let id: i64 = r.try_get("id")?;
                let what = match kind {
                    OneTimeKind::Recovery => "recovery",
                    OneTimeKind::Temporary => "temporary",
                };
                let hash: Vec<u8> = r.try_get("code_hash")?;
                let hash = <[u8; 32]>::try_from(hash)
                    .map_err(|_| StoreError::Corrupt(format!("{what} code {id}")))?;
                let expires_at = match kind {
                    OneTimeKind::Recovery => None,
                    OneTimeKind::Temporary => Some(r.try_get::<UnixTime, _>("expires_at")?),
                };
                let keyed: i64 = r.try_get("keyed")?;
                Ok(RecoveryCode {
                    id,
                    hash,
                    kind,
                    expires_at,
                    legacy: keyed == 0,
                })
            }

            pub(crate) fn device_from_row(row: &$Row) -> Result<Device> {
                let kind: String = row.try_get("kind")?;
                let otp_kind: String = row.try_get("otp_kind")?;
                let otp_hash: String = row.try_get("otp_hash")?;
                let state: String = row.try_get("state")?;
                let period: Option<i64> = row.try_get("period")?;
                let digits: i64 = row.try_get("digits")?;
                let last_step: Option<i64> = row.try_get("last_step")?;
                let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
                let otp = OtpParams {
                    kind: match otp_kind.as_str() {
                        "hotp" => OtpKind::Hotp,
                        "totp" => OtpKind::Totp {
                            period: period
                                .and_then(|p| u32::try_from(p).ok())
                                .ok_or_else(|| corrupt("totp period"))?,
                        },
                        _ => return Err(corrupt("otp kind")),
                    },
                    hash: OtpHash::parse(&otp_hash).ok_or_else(|| corrupt("otp hash"))?,
                    digits: u8::try_from(digits).map_err(|_| corrupt("digits"))?,
                };
                Ok(Device {
                    id: row.try_get("id")?,
                    uid: row.try_get("uid")?,
                    person_id: row.try_get("person_id")?,
                    org_id: row.try_get("org_id")?,
                    kind: DeviceKind::parse(&kind).ok_or_else(|| corrupt("device kind"))?,
                    label: row.try_get("label")?,
                    serial: row.try_get("serial")?,
                    manufacturer: row.try_get("manufacturer")?,
                    otp,
                    sealed_secret: row.try_get("sealed_secret")?,
                    counter: u(row.try_get("counter")?),
                    last_step: last_step.map(u),
                    state: DeviceState::parse(&state).ok_or_else(|| corrupt("device state"))?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            }

            pub(crate) fn event_from_row(row: &$Row) -> Result<StoredEvent> {
                let text = |col: &str| -> Result<String> { Ok(row.try_get::<String, _>(col)?) };
                let parse = |col: &str| -> Result<serde_json::Value> {
                    Ok(serde_json::Value::String(text(col)?))
                };
                let detail: Option<String> = row.try_get("detail")?;
                let event = AuditEvent {
                    time: row.try_get("time")?,
                    kind: serde_json::from_value(parse("kind")?)
                        .map_err(|e| StoreError::Corrupt(format!("event kind: {e}")))?,
                    actor: text("actor")?,
                    person_id: row.try_get("person_id")?,
                    username: row.try_get("username")?,
                    org_id: row.try_get("org_id")?,
                    channel: serde_json::from_value(parse("channel")?)
                        .map_err(|e| StoreError::Corrupt(format!("event channel: {e}")))?,
                    client: row.try_get("client")?,
                    source: row.try_get("source")?,
                    device_id: row.try_get("device_id")?,
                    device_label: row.try_get("device_label")?,
                    outcome: serde_json::from_value(parse("outcome")?)
                        .map_err(|e| StoreError::Corrupt(format!("event outcome: {e}")))?,
                    reason: row.try_get("reason")?,
                    request_id: row.try_get("request_id")?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                };
                Ok(StoredEvent {
                    id: row.try_get("id")?,
                    event,
                })
            }

            fn chain_row_from_row(row: &$Row) -> Result<ChainRow> {
                Ok(ChainRow {
                    id: row.try_get("id")?,
                    content: EventContent {
                        time: row.try_get("time")?,
                        kind: row.try_get("kind")?,
                        actor: row.try_get("actor")?,
                        person_id: row.try_get("person_id")?,
                        username: row.try_get("username")?,
                        org_id: row.try_get("org_id")?,
                        channel: row.try_get("channel")?,
                        client: row.try_get("client")?,
                        source: row.try_get("source")?,
                        device_id: row.try_get("device_id")?,
                        device_label: row.try_get("device_label")?,
                        outcome: row.try_get("outcome")?,
                        reason: row.try_get("reason")?,
                        request_id: row.try_get("request_id")?,
                        detail: row.try_get("detail")?,
                    },
                    content_hash: row.try_get("content_hash")?,
                    chain_hash: row.try_get("chain_hash")?,
                    purged: row.try_get("purged")?,
                })
            }

            fn checkpoint_from_row(row: &$Row) -> Result<Checkpoint> {
                Ok(Checkpoint {
                    id: row.try_get("id")?,
                    last_event_id: row.try_get("last_event_id")?,
                    chain_hash: row.try_get("chain_hash")?,
                    time: row.try_get("time")?,
                    signature: row.try_get("signature")?,
                    public_key: row.try_get("public_key")?,
                })
            }

            /// Write an event and chain it (see `audit_chain`): writers are serialised (the
            /// SQLite write transaction; on PostgreSQL an advisory lock held to commit), so
            /// no two events chain onto the same predecessor.
            pub(crate) async fn insert_event(conn: &mut $Conn, e: &AuditEvent) -> Result<i64> {
                lock_chain(conn).await?;
                insert_event_locked(conn, e).await
            }

            /// Take the chain's lock (PostgreSQL: an advisory lock held to commit; SQLite
            /// needs no lock statement, its write lock serialises the writers).
            pub(crate) async fn lock_chain(conn: &mut $Conn) -> Result<()> {
                if let Some(lock) = $chain_lock {
                    sqlx::query(lock).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// [`insert_event`] in a transaction that holds the chain's lock already.
            pub(crate) async fn insert_event_locked(conn: &mut $Conn, e: &AuditEvent) -> Result<i64> {
                // The chain's head and the new event's id in one statement, so the row is
                // written once, hashes and all (no UPDATE after the INSERT).
                let head = sqlx::query($chain_head).fetch_one(&mut *conn).await?;
                insert_event_after(conn, e, &head).await
            }

            /// [`insert_event_locked`] with the chain's head read already (`head`: a row of
            /// the `$chain_head` statement, read under the chain's lock).
            pub(crate) async fn insert_event_after(
                conn: &mut $Conn,
                e: &AuditEvent,
                head: &$Row,
            ) -> Result<i64> {
                let content = EventContent::from_event(e);
                let id: i64 = head.try_get("id")?;
                let previous = match head.try_get::<Option<Vec<u8>>, _>("chain_hash")? {
                    None => audit_chain::GENESIS,
                    Some(p) => p.try_into().map_err(|_| {
                        StoreError::Corrupt("the last audit event's chain hash".into())
                    })?,
                };
                let content_hash = audit_chain::content_hash(id, &content);
                let chain_hash = audit_chain::chain_hash(&previous, &content_hash);
                // The event and its count in the per-day summary (store/filter.rs) in one
                // command: PostgreSQL a data-modifying WITH, SQLite two statements.
                let insert = if $postgres {
                    crate::store::filter::INSERT_EVENT_AND_DAILY
                } else {
                    crate::store::filter::INSERT_EVENT_THEN_DAILY
                };
                sqlx::query(insert)
                    .bind(id)
                    .bind(e.time)
                    .bind(e.kind.as_str())
                    .bind(&e.actor)
                    .bind(e.person_id)
                    .bind(&e.username)
                    .bind(e.org_id)
                    .bind(e.channel.as_str())
                    .bind(&e.client)
                    .bind(&e.source)
                    .bind(e.device_id)
                    .bind(&e.device_label)
                    .bind(e.outcome.as_str())
                    .bind(&e.reason)
                    .bind(&e.request_id)
                    .bind(&content.detail)
                    .bind(content_hash.to_vec())
                    .bind(chain_hash.to_vec())
                    .bind(crate::store::filter::day_of(e.time))
                    .execute(&mut *conn)
                    .await?;
                // A reject's username and source count in the most failures' summary.
                if e.outcome == crate::audit::Outcome::Reject
                    && let Some((sql, values)) = crate::store::filter::reject_periods_upsert(
                        e.kind.as_str(),
                        e.time,
                        e.username.as_deref(),
                        e.source.as_deref(),
                    )
                {
                    crate::store::filter::bind_values!(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(id)
            }

            /// A right code's changes that the one-command paths below take (the device's
            /// step or counter, the source's password failures forgotten, the person's
            /// failures reset): the statement pair for the device (TOTP, HOTP), the step or
            /// next counter, the device, the HOTP counter matched. None: not such a change (a
            /// one-time code, a count up, a new hash, a security key), left to the general
            /// path.
            fn simple_accept(
                changes: &Changes,
            ) -> Option<((&'static str, &'static str), u64, DeviceId, Option<u64>)> {
                let simple = changes.recovery_code_used.is_none()
                    && changes.temporary_code_used.is_none()
                    && changes.new_password_hash.is_none()
                    && matches!(changes.factor, None | Some(Counted::Passed))
                    && matches!(changes.password, None | Some((_, Counted::Passed)));
                if !simple {
                    return None;
                }
                use crate::store::sql::{ACCEPT_HOTP, ACCEPT_TOTP, SQLITE_ACCEPT_HOTP, SQLITE_ACCEPT_TOTP};
                match changes.device_use {
                    Some(DeviceUse::TotpStep { device_id, step }) => {
                        Some(((ACCEPT_TOTP, SQLITE_ACCEPT_TOTP), step, device_id, None))
                    }
                    Some(DeviceUse::HotpCounter { device_id, matched, next }) => {
                        Some(((ACCEPT_HOTP, SQLITE_ACCEPT_HOTP), next, device_id, Some(matched)))
                    }
                    _ => None,
                }
            }

            /// A right code's changes and the chain's lock (PostgreSQL) or head (SQLite) in
            /// one command, then the event in one more: where the general path of
            /// `record_login` sends six commands. PostgreSQL: one statement of data-modifying
            /// WITHs. SQLite (no such WITH): four statements in one command
            /// (`SQLITE_ACCEPT_*`), their results read in order. The compare-and-sets and the
            /// order they are judged in are the general path's; what lost is rolled back by
            /// the caller. None: not such a change ([`simple_accept`]).
            async fn accept_in_one_command(
                conn: &mut $Conn,
                person: PersonId,
                changes: &Changes,
                event: &AuditEvent,
            ) -> Result<Option<Recorded>> {
                let Some(((pg_sql, sqlite_sql), value, device_id, matched)) = simple_accept(changes)
                else {
                    return Ok(None);
                };
                let source = changes.password.as_ref().map(|(source, _)| source.as_str());
                let factor = changes.factor.is_some();
                // $1 the step or next counter, $2 the time, $3 the device, $4 the person, $5
                // the source (NULL: no password checked), $6 the factor counted, $7 the HOTP
                // counter matched.
                let mut query = sqlx::query(if $postgres { pg_sql } else { sqlite_sql })
                    .bind(i(value))
                    .bind(event.time)
                    .bind(device_id)
                    .bind(person)
                    .bind(source)
                    .bind(factor);
                if let Some(matched) = matched {
                    query = query.bind(i(matched));
                }
                let (device_done, blocked, person_done, head);
                if $postgres {
                    let row = query.fetch_one(&mut *conn).await?;
                    device_done = row.try_get::<i64, _>("device_done")? > 0;
                    blocked = row.try_get::<Option<i64>, _>("blocked_until")?;
                    person_done = row.try_get::<i64, _>("person_done")? > 0;
                    head = None;
                } else {
                    // The statements' results in order: the device's UPDATE, the failures'
                    // DELETE (its row, if one was there), the person's UPDATE, the head's row.
                    #[allow(deprecated)] // several statements in one query: SQLite only
                    let mut results = query.fetch_many(&mut *conn);
                    let (mut statement, mut done, mut b, mut h) = (0, [0u64; 3], None, None);
                    while let Some(item) = futures_util::TryStreamExt::try_next(&mut results).await? {
                        match item {
                            sqlx::Either::Left(result) => {
                                if let Some(n) = done.get_mut(statement) {
                                    *n = result.rows_affected();
                                }
                                statement += 1;
                            }
                            sqlx::Either::Right(row) if statement == 1 => {
                                b = row.try_get::<Option<i64>, _>("blocked_until")?;
                            }
                            sqlx::Either::Right(row) => h = Some(row),
                        }
                    }
                    if statement != 4 {
                        return Err(StoreError::Db(sqlx::Error::Protocol(format!(
                            "the login's command gave {statement} statements' results, not 4"
                        ))));
                    }
                    (device_done, blocked, person_done, head) = (done[0] > 0, b, done[2] > 0, h);
                }
                if !device_done {
                    return Ok(Some(Recorded::LostRace));
                }
                if blocked.is_some_and(|until| until > event.time) {
                    return Ok(Some(Recorded::Throttled));
                }
                if factor && !person_done {
                    return Ok(Some(Recorded::Locked));
                }
                match head {
                    Some(head) => insert_event_after(conn, event, &head).await?,
                    None => insert_event_locked(conn, event).await?,
                };
                Ok(Some(Recorded::Written))
            }

            /// Everyone of that username ([`Store::people_named`]) on `conn`.
            async fn people_named_on(
                conn: &mut $Conn,
                username: &str,
            ) -> Result<Vec<(Person, String)>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PERSON_COLS}, \
                     (SELECT o.name FROM organisations o WHERE o.id = people.org_id) AS org_name \
                     FROM people WHERE username = $1 ORDER BY id"
                )))
                .bind(normalise_username(username))
                .fetch_all(&mut *conn)
                .await?;
                rows.iter()
                    .map(|row| {
                        let org: Option<String> = row.try_get("org_name")?;
                        Ok((person_from_row(row)?, org.unwrap_or_default()))
                    })
                    .collect()
            }

            /// [`people_named_on`] for `resolve_username_with`.
            struct OnConnection<'a>(&'a mut $Conn);

            #[async_trait]
            impl crate::store::PeopleNamed for OnConnection<'_> {
                async fn named(&mut self, username: &str) -> Result<Vec<(Person, String)>> {
                    people_named_on(self.0, username).await
                }
            }

            /// What a login reads of `person` ([`Store::login_reads`]) on `conn`: two
            /// statements on PostgreSQL, one command of three on SQLite.
            async fn login_reads_on(
                conn: &mut $Conn,
                person: PersonId,
                org: OrgId,
                source: Option<&str>,
            ) -> Result<crate::store::LoginReads> {
                let mut reads = crate::store::LoginReads::default();
                // The person: the password hash, the source's block (no source: `f.source =
                // NULL` matches nothing) and the organisation's policy. On PostgreSQL with
                // the devices joined, a row per device (one without a device's columns when
                // there is none): a round trip fewer. SQLite reads the devices in a statement
                // of their own, in the same command.
                const PERSON: &str = "SELECT p.password_hash, \
                     (SELECT f.blocked_until FROM password_failures f \
                      WHERE f.person_id = p.id AND f.source = $2) AS blocked_until, \
                     (SELECT o.policy FROM org_policies o WHERE o.org_id = $3) AS policy";
                static PERSON_AND_DEVICES: std::sync::LazyLock<String> =
                    std::sync::LazyLock::new(|| {
                        let devices: Vec<String> =
                            DEVICE_COLS.split(", ").map(|c| format!("d.{c}")).collect();
                        format!(
                            "{PERSON}, {} FROM people p LEFT JOIN devices d ON d.person_id = p.id \
                             WHERE p.id = $1 ORDER BY d.id",
                            devices.join(", ")
                        )
                    });
                // The unused recovery codes and temporary codes.
                const CODES: &str = "SELECT id, code_hash, CAST(NULL AS BIGINT) AS expires_at, keyed, 0 AS is_temporary \
                     FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL \
                     UNION ALL \
                     SELECT id, code_hash, expires_at, keyed, 1 AS is_temporary \
                     FROM temporary_codes WHERE person_id = $1 AND used_at IS NULL \
                     ORDER BY is_temporary, id";
                let code_of = |r: &$Row| {
                    let temporary: i32 = r.try_get("is_temporary")?;
                    let kind = if temporary == 0 {
                        OneTimeKind::Recovery
                    } else {
                        OneTimeKind::Temporary
                    };
                    one_time_code_from_row(r, kind)
                };
                if $postgres {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(PERSON_AND_DEVICES.as_str()))
                        .bind(person)
                        .bind(source)
                        .bind(org)
                        .fetch_all(&mut *conn)
                        .await?;
                    if let Some(row) = rows.first() {
                        reads.password_hash = row.try_get("password_hash")?;
                        reads.source_blocked_until = row.try_get("blocked_until")?;
                        reads.policy = row.try_get("policy")?;
                    }
                    for row in &rows {
                        if row.try_get::<Option<i64>, _>("id")?.is_some() {
                            reads.devices.push(device_from_row(row)?);
                        }
                    }
                    reads.one_time_codes = sqlx::query(CODES)
                        .bind(person)
                        .fetch_all(&mut *conn)
                        .await?
                        .iter()
                        .map(code_of)
                        .collect::<Result<_>>()?;
                } else {
                    // SQLite: the person, the devices and the codes, three statements sent
                    // to the connection's worker thread as one command (see
                    // `filter::INSERT_EVENT_THEN_DAILY`); each statement's rows come before
                    // its result.
                    static READS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                        format!(
                            "{PERSON} FROM people p WHERE p.id = $1; \
                             SELECT {DEVICE_COLS} FROM devices WHERE person_id = $1 ORDER BY id; \
                             {CODES}"
                        )
                    });
                    #[allow(deprecated)] // several statements in one query: SQLite only
                    let mut results = sqlx::query(sqlx::AssertSqlSafe(READS.as_str()))
                        .bind(person)
                        .bind(source)
                        .bind(org)
                        .fetch_many(&mut *conn);
                    let mut statement = 0;
                    while let Some(item) = futures_util::TryStreamExt::try_next(&mut results).await? {
                        let row = match item {
                            sqlx::Either::Left(_) => {
                                statement += 1;
                                continue;
                            }
                            sqlx::Either::Right(row) => row,
                        };
                        match statement {
                            0 => {
                                reads.password_hash = row.try_get("password_hash")?;
                                reads.source_blocked_until = row.try_get("blocked_until")?;
                                reads.policy = row.try_get("policy")?;
                            }
                            1 => reads.devices.push(device_from_row(&row)?),
                            _ => reads.one_time_codes.push(code_of(&row)?),
                        }
                    }
                }
                Ok(reads)
            }

            /// A person's devices, in id order.
            async fn fetch_devices_of(conn: &mut $Conn, person: PersonId) -> Result<Vec<Device>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE person_id = $1 ORDER BY id"
                )))
                .bind(person)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(device_from_row)
                .collect()
            }

            pub(crate) async fn fetch_device(conn: &mut $Conn, id: DeviceId) -> Result<Device> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("device {id}")))?;
                device_from_row(&row)
            }

            async fn insert_device(
                conn: &mut $Conn,
                d: &NewDevice,
                now: UnixTime,
            ) -> Result<DeviceId> {
                let (otp_kind, period) = match d.otp.kind {
                    OtpKind::Hotp => ("hotp", None),
                    OtpKind::Totp { period } => ("totp", Some(i64::from(period))),
                };
                let row = sqlx::query(
                    "INSERT INTO devices (uid, person_id, org_id, kind, label, serial, manufacturer, otp_kind, otp_hash, digits, period, sealed_secret, counter, state, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                )
                .bind(&d.uid)
                .bind(d.person_id)
                .bind(d.org_id)
                .bind(d.kind.as_str())
                .bind(&d.label)
                .bind(&d.serial)
                .bind(&d.manufacturer)
                .bind(otp_kind)
                .bind(d.otp.hash.as_str())
                .bind(i64::from(d.otp.digits))
                .bind(period)
                .bind(&d.sealed_secret)
                .bind(i(d.counter))
                .bind(d.state.as_str())
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    conflict(e, || match &d.serial {
                        Some(s) => format!("token with serial {s:?}"),
                        None => "device".to_owned(),
                    })
                })?;
                Ok(row.try_get("id")?)
            }

            /// Unlink every device of a person: phones wiped and removed, tokens to stock.
            pub(crate) async fn unlink_devices(conn: &mut $Conn, person: PersonId) -> Result<()> {
                sqlx::query(
                    "UPDATE devices SET state = 'removed', sealed_secret = $1 \
                     WHERE person_id = $2 AND kind <> 'hardware_token' AND state <> 'removed'",
                )
                .bind(Vec::<u8>::new())
                .bind(person)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "UPDATE devices SET state = 'in_stock', person_id = NULL, label = '' \
                     WHERE person_id = $1 AND kind = 'hardware_token'",
                )
                .bind(person)
                .execute(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM recovery_codes WHERE person_id = $1")
                    .bind(person)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM temporary_codes WHERE person_id = $1")
                    .bind(person)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM webauthn_credentials WHERE person_id = $1")
                    .bind(person)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            #[async_trait]
            impl Store for $Store {
                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn create_org(
                    &self,
                    name: &str,
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<Organisation> {
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO organisations (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at",
                    )
                    .bind(name)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || format!("organisation {name:?}")))?;
                    let org = org_from_row(&row)?;
                    event.org_id = Some(org.id);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(org)
                }

                async fn orgs(&self) -> Result<Vec<Organisation>> {
                    sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(org_from_row)
                        .collect()
                }

                async fn org_by_name(&self, name: &str) -> Result<Option<Organisation>> {
                    sqlx::query("SELECT id, name, created_at FROM organisations WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(org_from_row)
                        .transpose()
                }

                async fn org_by_id(&self, id: OrgId) -> Result<Option<Organisation>> {
                    sqlx::query("SELECT id, name, created_at FROM organisations WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(org_from_row)
                        .transpose()
                }

                async fn create_person(
                    &self,
                    new: &NewPerson,
                    password_hash: Option<&str>,
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<Person> {
                    let username = normalise_username(&new.username);
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO people (public_id, username, full_name, email, employee_number, org_id, roles, state, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9) RETURNING id",
                    )
                    .bind(new_uid())
                    .bind(&username)
                    .bind(&new.full_name)
                    .bind(&new.email)
                    .bind(&new.employee_number)
                    .bind(new.org_id)
                    .bind(roles_to_text(&new.roles))
                    .bind(password_hash)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || format!("person {username:?}")))?;
                    let id: PersonId = row.try_get("id")?;
                    event.person_id = Some(id);
                    event.org_id = Some(new.org_id);
                    insert_event(&mut tx, &event).await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let person = person_from_row(&row)?;
                    tx.commit().await?;
                    Ok(person)
                }

                async fn people_named(&self, username: &str) -> Result<Vec<(Person, String)>> {
                    people_named_on(&mut *self.pool.acquire().await?, username).await
                }

                async fn person_by_id(&self, id: PersonId) -> Result<Option<Person>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(person_from_row)
                    .transpose()
                }

                async fn person_by_public_id(&self, public_id: &str) -> Result<Option<Person>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE public_id = $1"
                    )))
                    .bind(public_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(person_from_row)
                    .transpose()
                }

                async fn people(&self, org: Option<OrgId>) -> Result<Vec<Person>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE ($1 IS NULL OR org_id = $1) ORDER BY username"
                    )))
                    .bind(org)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(person_from_row)
                    .collect()
                }

                async fn removed_people(&self) -> Result<Vec<Person>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people \
                         WHERE state = 'removed' AND substr(username, 1, 10) <> 'pseudonym-' ORDER BY id"
                    )))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(person_from_row)
                    .collect()
                }

                async fn password_hash(&self, id: PersonId) -> Result<Option<String>> {
                    let row = sqlx::query("SELECT password_hash FROM people WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    match row {
                        Some(r) => Ok(r.try_get("password_hash")?),
                        None => Ok(None),
                    }
                }

                async fn set_password(
                    &self,
                    id: PersonId,
                    hash: &str,
                    event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE people SET password_hash = $1 WHERE id = $2 AND state <> 'removed'",
                    )
                    .bind(hash)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("person {id}")));
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_person_state(
                    &self,
                    id: PersonId,
                    state: PersonState,
                    event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE people SET state = $1 WHERE id = $2 AND state <> 'removed'",
                    )
                    .bind(state.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("person {id} (not removed)")));
                    }
                    if state == PersonState::Removed {
                        sqlx::query("UPDATE people SET password_hash = NULL WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        unlink_devices(&mut tx, id).await?;
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn unlock_person(&self, id: PersonId, event: AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE people SET failed_logins = 0, locked_until = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("person {id}")));
                    }
                    sqlx::query("DELETE FROM password_failures WHERE person_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn add_device(
                    &self,
                    new: &NewDevice,
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<Device> {
                    let mut tx = self.begin().await?;
                    let id = insert_device(&mut tx, new, now).await?;
                    event.device_id = Some(id);
                    event.device_label = Some(new.label.clone());
                    insert_event(&mut tx, &event).await?;
                    let device = fetch_device(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(device)
                }

                async fn devices_of(&self, person: PersonId) -> Result<Vec<Device>> {
                    fetch_devices_of(&mut *self.pool.acquire().await?, person).await
                }

                async fn device_by_id(&self, id: DeviceId) -> Result<Option<Device>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM devices WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(device_from_row)
                    .transpose()
                }

                async fn device_by_serial(&self, serial: &str) -> Result<Option<Device>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM devices WHERE serial = $1"
                    )))
                    .bind(serial)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(device_from_row)
                    .transpose()
                }

                async fn remove_device(&self, id: DeviceId, mut event: AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let device = fetch_device(&mut tx, id).await?;
                    if !matches!(device.state, DeviceState::Active | DeviceState::Disabled) {
                        return Err(StoreError::Invalid(format!(
                            "device {id} is not linked to anyone (state: {})",
                            device.state.as_str()
                        ).into()));
                    }
                    if device.kind == DeviceKind::SecurityKey {
                        sqlx::query("DELETE FROM webauthn_credentials WHERE device_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let query = match device.kind {
                        DeviceKind::HardwareToken => sqlx::query(
                            "UPDATE devices SET state = 'in_stock', person_id = NULL, label = '' WHERE id = $1",
                        )
                        .bind(id),
                        DeviceKind::PhoneTotp | DeviceKind::SecurityKey | DeviceKind::PushSubscription => sqlx::query(
                            "UPDATE devices SET state = 'removed', sealed_secret = $1 WHERE id = $2",
                        )
                        .bind(Vec::<u8>::new())
                        .bind(id),
                    };
                    query.execute(&mut *tx).await?;
                    event.device_id = Some(id);
                    event.device_label = Some(device.label.clone());
                    event.person_id = event.person_id.or(device.person_id);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn recovery_codes(&self, person: PersonId) -> Result<Vec<RecoveryCode>> {
                    sqlx::query(
                        "SELECT id, code_hash, keyed FROM recovery_codes \
                         WHERE person_id = $1 AND used_at IS NULL ORDER BY id",
                    )
                    .bind(person)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| one_time_code_from_row(r, OneTimeKind::Recovery))
                    .collect()
                }

                async fn temporary_codes(&self, person: PersonId) -> Result<Vec<RecoveryCode>> {
                    sqlx::query(
                        "SELECT id, code_hash, expires_at, keyed FROM temporary_codes \
                         WHERE person_id = $1 AND used_at IS NULL ORDER BY id",
                    )
                    .bind(person)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| one_time_code_from_row(r, OneTimeKind::Temporary))
                    .collect()
                }

                async fn login_reads(
                    &self,
                    person: PersonId,
                    org: OrgId,
                    source: Option<&str>,
                ) -> Result<crate::store::LoginReads> {
                    login_reads_on(&mut *self.pool.acquire().await?, person, org, source).await
                }

                async fn resolve_for_login(
                    &self,
                    typed: &str,
                    default_org: Option<&str>,
                    source: Option<&str>,
                ) -> Result<(crate::store::NameMatch, Option<crate::store::LoginReads>)> {
                    // One connection for both (each connection from the pool costs a
                    // message to SQLite's connection thread and back when it goes back).
                    let mut conn = self.pool.acquire().await?;
                    let found = crate::store::resolve_username_with(
                        typed,
                        default_org,
                        &mut OnConnection(&mut conn),
                    )
                    .await?;
                    let reads = match &found {
                        crate::store::NameMatch::Found(p) => {
                            Some(login_reads_on(&mut conn, p.id, p.org_id, source).await?)
                        }
                        _ => None,
                    };
                    Ok((found, reads))
                }

                async fn issue_temporary_code(
                    &self,
                    person: PersonId,
                    hash: [u8; 32],
                    issued_by: &str,
                    now: UnixTime,
                    expires_at: UnixTime,
                    event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "DELETE FROM temporary_codes WHERE person_id = $1 AND used_at IS NULL",
                    )
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO temporary_codes \
                         (person_id, code_hash, issued_by, created_at, expires_at, keyed) \
                         VALUES ($1, $2, $3, $4, $5, 1)",
                    )
                    .bind(person)
                    .bind(hash.to_vec())
                    .bind(issued_by)
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn replace_recovery_codes(
                    &self,
                    person: PersonId,
                    hashes: &[[u8; 32]],
                    now: UnixTime,
                    event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query("DELETE FROM recovery_codes WHERE person_id = $1")
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    for h in hashes {
                        sqlx::query(
                            "INSERT INTO recovery_codes (person_id, code_hash, created_at, keyed) VALUES ($1, $2, $3, 1)",
                        )
                        .bind(person)
                        .bind(h.to_vec())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn rename_device(
                    &self,
                    id: DeviceId,
                    person: PersonId,
                    label: &str,
                    mut event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE devices SET label = $1 WHERE id = $2 AND person_id = $3 \
                         AND state IN ('active', 'disabled')",
                    )
                    .bind(label)
                    .bind(id)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("device {id} of person {person}")));
                    }
                    event.device_id = Some(id);
                    event.device_label = Some(label.to_owned());
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn disable_device(&self, id: DeviceId, mut event: AuditEvent) -> Result<bool> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE devices SET state = 'disabled' WHERE id = $1 AND state = 'active'",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    event.device_id = Some(id);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn set_counter(
                    &self,
                    id: DeviceId,
                    next: u64,
                    mut event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    // Never backwards: a login that moved the counter past `next` meanwhile
                    // wins, so no code it used becomes valid again.
                    let done = sqlx::query(
                        "UPDATE devices SET counter = $1 WHERE id = $2 AND otp_kind = 'hotp' AND counter <= $1",
                    )
                    .bind(i(next))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("HOTP device {id}")));
                    }
                    event.device_id = Some(id);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn import_tokens(
                    &self,
                    tokens: &[NewDevice],
                    now: UnixTime,
                    event: AuditEvent,
                ) -> Result<usize> {
                    let mut tx = self.begin().await?;
                    for t in tokens {
                        insert_device(&mut tx, t, now).await?;
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(tokens.len())
                }

                async fn tokens(&self) -> Result<Vec<Device>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM devices WHERE kind = 'hardware_token' ORDER BY serial"
                    )))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(device_from_row)
                    .collect()
                }

                async fn assign_token(
                    &self,
                    serial: &str,
                    person: PersonId,
                    label: &str,
                    mut event: AuditEvent,
                ) -> Result<Device> {
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM devices WHERE serial = $1 AND kind = 'hardware_token'"
                    )))
                    .bind(serial)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("token with serial {serial:?}")))?;
                    let token = device_from_row(&row)?;
                    if token.state != DeviceState::InStock {
                        return Err(StoreError::Invalid(format!(
                            "token {serial:?} is not in stock (state: {})",
                            token.state.as_str()
                        ).into()));
                    }
                    let org: Option<i64> = sqlx::query(
                        "SELECT org_id FROM people WHERE id = $1 AND state = 'active'",
                    )
                    .bind(person)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("org_id"))
                    .transpose()?;
                    let org = org.ok_or_else(|| StoreError::NotFound(format!("active person {person}")))?;
                    if token.org_id.is_some_and(|o| o != org) {
                        return Err(StoreError::Invalid(format!(
                            "token {serial:?} belongs to another organisation's stock"
                        ).into()));
                    }
                    sqlx::query(
                        "UPDATE devices SET person_id = $1, org_id = $2, label = $3, state = 'active' WHERE id = $4",
                    )
                    .bind(person)
                    .bind(org)
                    .bind(label)
                    .bind(token.id)
                    .execute(&mut *tx)
                    .await?;
                    event.person_id = Some(person);
                    event.org_id = Some(org);
                    event.device_id = Some(token.id);
                    event.device_label = Some(label.to_owned());
                    insert_event(&mut tx, &event).await?;
                    let device = fetch_device(&mut tx, token.id).await?;
                    tx.commit().await?;
                    Ok(device)
                }

                async fn record_login(
                    &self,
                    person: Option<PersonId>,
                    changes: &Changes,
                    event: &AuditEvent,
                ) -> Result<Recorded> {
                    let mut tx = self.begin().await?;
                    if let Some(person) = person
                        && let Some(recorded) =
                            accept_in_one_command(&mut tx, person, changes, event).await?
                    {
                        if recorded == Recorded::Written {
                            tx.commit().await?;
                        } else {
                            tx.rollback().await?;
                        }
                        return Ok(recorded);
                    }
                    if let Some(device_use) = changes.device_use {
                        let done = match device_use {
                            DeviceUse::TotpStep { device_id, step } => {
                                sqlx::query(
                                    "UPDATE devices SET last_step = $1, last_used_at = $2 \
                                     WHERE id = $3 AND state = 'active' AND (last_step IS NULL OR last_step < $1)",
                                )
                                .bind(i(step))
                                .bind(event.time)
                                .bind(device_id)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected()
                                    > 0
                            }
                            DeviceUse::HotpCounter { device_id, matched, next } => {
                                sqlx::query(
                                    "UPDATE devices SET counter = $1, last_used_at = $2 \
                                     WHERE id = $3 AND state = 'active' AND counter <= $4",
                                )
                                .bind(i(next))
                                .bind(event.time)
                                .bind(device_id)
                                .bind(i(matched))
                                .execute(&mut *tx)
                                .await?
                                .rows_affected()
                                    > 0
                            }
                            DeviceUse::SecurityKey { device_id, counter } => {
                                crate::store::webauthn::$module::record_key_use(
                                    &mut tx, device_id, counter, event.time,
                                )
                                .await?
                            }
                        };
                        if !done {
                            tx.rollback().await?;
                            return Ok(Recorded::LostRace);
                        }
                    }
                    // A one-time code spent: recovery or temporary, same compare-and-set (a
                    // temporary code also only before it expires).
                    let spent = [
                        (
                            changes.recovery_code_used,
                            "UPDATE recovery_codes SET used_at = $1 \
                             WHERE id = $2 AND person_id = $3 AND used_at IS NULL",
                        ),
                        (
                            changes.temporary_code_used,
                            "UPDATE temporary_codes SET used_at = $1 \
                             WHERE id = $2 AND person_id = $3 AND used_at IS NULL \
                             AND expires_at > $1",
                        ),
                    ];
                    for (code, sql) in spent {
                        let Some(code) = code else { continue };
                        let done = sqlx::query(sql)
                            .bind(event.time)
                            .bind(code)
                            .bind(person)
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() == 0 {
                            tx.rollback().await?;
                            return Ok(Recorded::LostRace);
                        }
                    }
                    let mut event = std::borrow::Cow::Borrowed(event);
                    if let Some(person) = person {
                        let now = event.time;
                        // The password's counter for its source first, then the person's
                        // second-factor counter: each an increment (or reset) that applies
                        // only while no lock is live, the lock set in this transaction.
                        if let Some((source, counted)) = &changes.password {
                            match counted {
                                Counted::Failed(rule) => {
                                    let failures: Option<i64> = sqlx::query_scalar(
                                        "INSERT INTO password_failures (person_id, source, failures, blocked_until, updated_at) \
                                         VALUES ($1, $2, 1, NULL, $3) \
                                         ON CONFLICT (person_id, source) DO UPDATE \
                                         SET failures = password_failures.failures + 1, updated_at = $3 \
                                         WHERE password_failures.blocked_until IS NULL OR password_failures.blocked_until <= $3 \
                                         RETURNING failures",
                                    )
                                    .bind(person)
                                    .bind(source)
                                    .bind(now)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                                    let Some(failures) = failures else {
                                        tx.rollback().await?;
                                        return Ok(Recorded::Throttled);
                                    };
                                    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
                                    if let Some(until) = rule.until(failures, now) {
                                        sqlx::query(
                                            "UPDATE password_failures SET blocked_until = $1 \
                                             WHERE person_id = $2 AND source = $3",
                                        )
                                        .bind(until)
                                        .bind(person)
                                        .bind(source)
                                        .execute(&mut *tx)
                                        .await?;
                                        add_detail(event.to_mut(), "source_failures", failures.into());
                                        add_detail(event.to_mut(), "source_blocked_until", until.into());
                                    }
                                }
                                Counted::Passed => {
                                    // One statement: the pair's failures are forgotten, and
                                    // when they held a live block (set by a concurrent
                                    // attempt) the rollback puts them back.
                                    let blocked: Option<Option<i64>> = sqlx::query_scalar(
                                        "DELETE FROM password_failures WHERE person_id = $1 AND source = $2 \
                                         RETURNING blocked_until",
                                    )
                                    .bind(person)
                                    .bind(source)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                                    if blocked.flatten().is_some_and(|until| until > now) {
                                        tx.rollback().await?;
                                        return Ok(Recorded::Throttled);
                                    }
                                }
                            }
                        }
                        match changes.factor {
                            None => {}
                            Some(Counted::Failed(rule)) => {
                                let failed: Option<i64> = sqlx::query_scalar(
                                    "UPDATE people SET failed_logins = failed_logins + 1 \
                                     WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
                                     RETURNING failed_logins",
                                )
                                .bind(person)
                                .bind(now)
                                .fetch_optional(&mut *tx)
                                .await?;
                                let Some(failed) = failed else {
                                    tx.rollback().await?;
                                    return Ok(Recorded::Locked);
                                };
                                let failed = u32::try_from(failed).unwrap_or(u32::MAX);
                                if let Some(until) = rule.until(failed, now) {
                                    sqlx::query("UPDATE people SET locked_until = $1 WHERE id = $2")
                                        .bind(until)
                                        .bind(person)
                                        .execute(&mut *tx)
                                        .await?;
                                    add_detail(event.to_mut(), "failed_logins", failed.into());
                                    add_detail(event.to_mut(), "locked_until", until.into());
                                }
                            }
                            Some(Counted::Passed) => {
                                let done = sqlx::query(
                                    "UPDATE people SET failed_logins = 0, locked_until = NULL \
                                     WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
                                )
                                .bind(person)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                                if done.rows_affected() == 0 {
                                    tx.rollback().await?;
                                    return Ok(Recorded::Locked);
                                }
                            }
                        }
                        if let Some(hash) = &changes.new_password_hash {
                            sqlx::query("UPDATE people SET password_hash = $1 WHERE id = $2")
                                .bind(hash)
                                .bind(person)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(Recorded::Written)
                }

                async fn password_blocked_until(
                    &self,
                    person: PersonId,
                    source: &str,
                ) -> Result<Option<UnixTime>> {
                    Ok(sqlx::query_scalar::<_, Option<i64>>(
                        "SELECT blocked_until FROM password_failures WHERE person_id = $1 AND source = $2",
                    )
                    .bind(person)
                    .bind(source)
                    .fetch_optional(&self.pool)
                    .await?
                    .flatten())
                }

                async fn forget_password_failures(&self, before: UnixTime) -> Result<u64> {
                    Ok(sqlx::query(
                        "DELETE FROM password_failures WHERE updated_at < $1 \
                         AND (blocked_until IS NULL OR blocked_until < $1)",
                    )
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
                }

                async fn set_blocked(
                    &self,
                    id: PersonId,
                    blocked_at: Option<UnixTime>,
                    event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query("UPDATE people SET blocked_at = $1 WHERE id = $2")
                        .bind(blocked_at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("person {id}")));
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn signing_keys(&self) -> Result<Vec<SealedSigningKey>> {
                    let rows = sqlx::query(
                        "SELECT kid, alg, sealed_key, publish_at, sign_from, retire_at FROM signing_keys ORDER BY sign_from",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(SealedSigningKey {
                                kid: r.try_get("kid")?,
                                alg: r.try_get("alg")?,
                                sealed_key: r.try_get("sealed_key")?,
                                publish_at: r.try_get("publish_at")?,
                                sign_from: r.try_get("sign_from")?,
                                retire_at: r.try_get("retire_at")?,
                            })
                        })
                        .collect()
                }

                async fn save_signing_key(&self, key: &SealedSigningKey, event: AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO signing_keys (kid, alg, sealed_key, publish_at, sign_from, retire_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (kid) DO UPDATE SET retire_at = excluded.retire_at",
                    )
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(&key.sealed_key)
                    .bind(key.publish_at)
                    .bind(key.sign_from)
                    .bind(key.retire_at)
                    .execute(&mut *tx)
                    .await?;
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn append_event(&self, event: &AuditEvent) -> Result<i64> {
                    let mut tx = self.begin().await?;
                    let id = insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn events(&self, f: &EventFilter) -> Result<Vec<StoredEvent>> {
                    // Only the fields set become conditions (store/filter.rs); newest first
                    // by (time, id), the order every (column, time) index serves.
                    let limit = if f.limit == 0 { i64::MAX } else { i64::from(f.limit) };
                    let order = if f.oldest_first { "ASC" } else { "DESC" };
                    let w = crate::store::filter::Where::events(f, 1);
                    let (pl, po) = (w.next_param(), format!("${}", w.values.len() + 2));
                    crate::store::filter::bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(crate::store::filter::select_events(
                            EVENT_COLS,
                            &w,
                            order,
                            &format!("LIMIT {pl} OFFSET {po}")
                        ))),
                        w.values
                    )
                    .bind(limit)
                    .bind(i64::from(f.offset))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(event_from_row)
                    .collect()
                }

                async fn chain_rows(&self, after_id: i64, limit: u32) -> Result<Vec<ChainRow>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {EVENT_COLS}, content_hash, chain_hash, purged FROM audit_events \
                         WHERE id > $1 ORDER BY id LIMIT $2"
                    )))
                    .bind(after_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(chain_row_from_row)
                    .collect()
                }

                async fn chain_head(&self) -> Result<Option<(i64, [u8; 32])>> {
                    let Some(row) = sqlx::query(
                        "SELECT id, chain_hash FROM audit_events ORDER BY id DESC LIMIT 1",
                    )
                    .fetch_optional(&self.pool)
                    .await?
                    else {
                        return Ok(None);
                    };
                    let id: i64 = row.try_get("id")?;
                    let hash: Option<Vec<u8>> = row.try_get("chain_hash")?;
                    let hash = hash
                        .and_then(|h| <[u8; 32]>::try_from(h).ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("chain hash of event {id}")))?;
                    Ok(Some((id, hash)))
                }

                async fn audit_key(&self, kid: &str) -> Result<Option<SealedAuditKey>> {
                    let Some(r) = sqlx::query(
                        "SELECT kid, sealed_key, public_key, created_at FROM audit_keys WHERE kid = $1",
                    )
                    .bind(kid)
                    .fetch_optional(&self.pool)
                    .await?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(SealedAuditKey {
                        kid: r.try_get("kid")?,
                        sealed_key: r.try_get("sealed_key")?,
                        public_key: r.try_get("public_key")?,
                        created_at: r.try_get("created_at")?,
                    }))
                }

                async fn add_audit_key(&self, key: &SealedAuditKey, event: AuditEvent) -> Result<bool> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "INSERT INTO audit_keys (kid, sealed_key, public_key, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING",
                    )
                    .bind(&key.kid)
                    .bind(&key.sealed_key)
                    .bind(&key.public_key)
                    .bind(key.created_at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn add_checkpoint(&self, cp: &Checkpoint) -> Result<i64> {
                    let row = sqlx::query(
                        "INSERT INTO audit_checkpoints (last_event_id, chain_hash, time, signature, public_key) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(cp.last_event_id)
                    .bind(&cp.chain_hash)
                    .bind(cp.time)
                    .bind(&cp.signature)
                    .bind(&cp.public_key)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(row.try_get("id")?)
                }

                async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
                    sqlx::query(
                        "SELECT id, last_event_id, chain_hash, time, signature, public_key \
                         FROM audit_checkpoints ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(checkpoint_from_row)
                    .collect()
                }
            }
        }
    };
}

/// SQLite's chain head: the last event's chain hash and the next id (under the write
/// transaction's lock).
macro_rules! sqlite_chain_head_sql {
    () => {
        "SELECT (SELECT chain_hash FROM audit_events ORDER BY id DESC LIMIT 1) AS chain_hash, \
         COALESCE((SELECT MAX(id) FROM audit_events), 0) + 1 AS id"
    };
}

sql_store!(
    sqlite,
    SqliteStore,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection,
    "./migrations/sqlite",
    "BEGIN IMMEDIATE",
    // Write transactions are serialised already: no lock statement (a round trip saved).
    Option::<&'static str>::None,
    // The next id: what SQLite gives a row without one (the largest plus one).
    sqlite_chain_head_sql!(),
    // Not PostgreSQL: several statements in a command where PostgreSQL has one.
    false
);

/// The chain writers' lock on PostgreSQL (an arbitrary constant: "mfaaudit" in ASCII).
macro_rules! chain_lock_sql {
    () => {
        "pg_advisory_xact_lock(7883095268967868788)"
    };
}

/// What follows a right code's device update on PostgreSQL (`accept_in_one_command`):
/// the source's password failures forgotten (their block returned: a live one, set by a
/// concurrent attempt, rolls it all back), the person's failures reset while no lock is
/// live, then the chain's lock, after the rows' locks as on the general path (a writer
/// holding a person's row and waiting for the chain must not wait on us). The target list
/// runs left to right. $2 time, $4 person, $5 source (NULL: no password checked), $6 the
/// factor counted.
macro_rules! accept_rest_sql {
    () => {
        concat!(
            "f AS (DELETE FROM password_failures WHERE person_id = $4 AND source = $5 \
             RETURNING blocked_until), \
             p AS (UPDATE people SET failed_logins = 0, locked_until = NULL \
             WHERE id = $4 AND $6 AND (locked_until IS NULL OR locked_until <= $2) RETURNING 1) \
             SELECT (SELECT count(*) FROM d) AS device_done, \
             (SELECT blocked_until FROM f) AS blocked_until, \
             (SELECT count(*) FROM p) AS person_done, ",
            chain_lock_sql!(),
            " AS locked"
        )
    };
}

/// A right TOTP code's changes and the chain's lock ($1 the step, $3 the device).
pub(crate) const ACCEPT_TOTP: &str = concat!(
    "WITH d AS (UPDATE devices SET last_step = $1, last_used_at = $2 \
     WHERE id = $3 AND state = 'active' AND (last_step IS NULL OR last_step < $1) RETURNING 1), ",
    accept_rest_sql!()
);

/// A right HOTP code's changes and the chain's lock ($1 the next counter, $3 the device, $7
/// the counter matched).
pub(crate) const ACCEPT_HOTP: &str = concat!(
    "WITH d AS (UPDATE devices SET counter = $1, last_used_at = $2 \
     WHERE id = $3 AND state = 'active' AND counter <= $7 RETURNING 1), ",
    accept_rest_sql!()
);

/// SQLite: what follows a right code's device update (`accept_in_one_command`), statements
/// of the same command, parameters as [`accept_rest_sql`]'s: the source's failures
/// forgotten (their block returned), the person's failures reset, the chain's head.
macro_rules! sqlite_accept_rest_sql {
    () => {
        concat!(
            "; DELETE FROM password_failures WHERE person_id = $4 AND source = $5 \
             RETURNING blocked_until; \
             UPDATE people SET failed_logins = 0, locked_until = NULL \
             WHERE id = $4 AND $6 AND (locked_until IS NULL OR locked_until <= $2); ",
            sqlite_chain_head_sql!()
        )
    };
}

/// SQLite: [`ACCEPT_TOTP`]'s changes as statements of one command, and the chain's head.
pub(crate) const SQLITE_ACCEPT_TOTP: &str = concat!(
    "UPDATE devices SET last_step = $1, last_used_at = $2 \
     WHERE id = $3 AND state = 'active' AND (last_step IS NULL OR last_step < $1)",
    sqlite_accept_rest_sql!()
);

/// SQLite: [`ACCEPT_HOTP`]'s changes as statements of one command, and the chain's head.
pub(crate) const SQLITE_ACCEPT_HOTP: &str = concat!(
    "UPDATE devices SET counter = $1, last_used_at = $2 \
     WHERE id = $3 AND state = 'active' AND counter <= $7",
    sqlite_accept_rest_sql!()
);

sql_store!(
    postgres,
    PgStore,
    sqlx::Postgres,
    sqlx::PgPool,
    sqlx::postgres::PgRow,
    sqlx::PgConnection,
    "./migrations/postgres",
    "BEGIN",
    // Serialise chain writers.
    Some(concat!("SELECT ", chain_lock_sql!())),
    // The next id from the identity's sequence, taken under the lock: ids grow in chain order.
    "SELECT (SELECT chain_hash FROM audit_events ORDER BY id DESC LIMIT 1) AS chain_hash, \
     nextval(pg_get_serial_sequence('audit_events', 'id')) AS id",
    // PostgreSQL: the per-day summary in the event's INSERT, a right code's changes in one
    // statement, the devices joined to the login's read.
    true
);

/// `synchronous=full|normal` in a SQLite URL's query: ours, not sqlx's (which refuses a
/// parameter it does not know). Returns the URL without it, and the level: `full` (the
/// default) syncs the write-ahead log to disk at every commit (a committed login, its audit
/// event and the code it spent survive a power cut). `normal` syncs only at checkpoints: a
/// crash of the process loses nothing, a power cut may lose the last commits before it
/// (their events, and the marks that keep a TOTP code from being used twice), never the
/// database's consistency or the audit chain's.
pub fn sqlite_url_synchronous(
    url: &str,
) -> std::result::Result<(String, sqlx::sqlite::SqliteSynchronous), String> {
    use sqlx::sqlite::SqliteSynchronous;
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), SqliteSynchronous::Full));
    };
    let mut level = SqliteSynchronous::Full;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", value)) => {
                level = match value.to_ascii_lowercase().as_str() {
                    "full" => SqliteSynchronous::Full,
                    "normal" => SqliteSynchronous::Normal,
                    _ => return Err(format!("synchronous={value}: must be full or normal")),
                }
            }
            _ => rest.push(pair),
        }
    }
    if rest.is_empty() {
        Ok((base.to_owned(), level))
    } else {
        Ok((format!("{base}?{}", rest.join("&")), level))
    }
}

/// How long a SQLite connection lives. Opening one is a file open, a few pragmas (0.9-1.7 ms
/// measured) and its statements prepared again as they are used, each half minute.
const SQLITE_CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

impl sqlite::SqliteStore {
    /// Open (creating if missing) a SQLite file in WAL mode and migrate it.
    pub async fn connect(url: &str, max_connections: u32) -> super::Result<Self> {
        Self::connect_with_lifetime(url, max_connections, SQLITE_CONNECTION_LIFETIME).await
    }

    /// [`Self::connect`] with another lifetime for the pool's connections (30 s there): for
    /// tests of the pool shrinking after a burst, which would otherwise take a minute.
    pub async fn connect_with_lifetime(
        url: &str,
        max_connections: u32,
        lifetime: std::time::Duration,
    ) -> super::Result<Self> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
        use std::str::FromStr;
        let (url, synchronous) = sqlite_url_synchronous(url)
            .map_err(|e| super::StoreError::Invalid(format!("store URL: {e}").into()))?;
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL (the default): a committed audit event survives a power cut, not only
            // a crash; `?synchronous=normal` trades that for no sync at each commit.
            .synchronous(synchronous)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(max_connections)
            // No ping on acquire: a file has no peer that can hang up, and the ping is a
            // message to the connection's worker thread and back (sqlx still checks the
            // connection when it goes back to the pool).
            .test_before_acquire(false)
            // Each connection keeps SQLite's page cache (up to 2 MiB, given back on the
            // housekeeping tick while idle) and its prepared statements. An idle
            // timeout would never close one: the audit followers' reads every half second
            // take the pool's connections in turn. A connection is closed at this age
            // instead (when it goes back to the pool, or by the pool's check as often), and
            // a new one is opened only when none is free: after a burst the pool shrinks to
            // what the background reads need (issue 17's "back near idle").
            .max_lifetime(lifetime)
            .connect_with(options)
            .await?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }
}

/// How long a PostgreSQL connection may sit in the pool before it is pinged on its next use.
const PING_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(5);

impl postgres::PgStore {
    /// Connect to PostgreSQL and migrate.
    pub async fn connect(url: &str, max_connections: u32) -> super::Result<Self> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            // A connection is pinged before use only when it sat idle for a while (the
            // server may have restarted, a firewall may have cut it): under load a ping per
            // acquire is a round trip per query, and sqlx checks each connection again
            // when it goes back to the pool.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }
}
