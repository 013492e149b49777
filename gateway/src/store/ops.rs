//! The operator's side of the store: an online backup (SQLite), every secret sealed with
//! the master key (read all, reseal all in one transaction: `key rotate`), and the
//! connection pool's state for the metrics.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `ops_sql!` implements it for both databases over the same SQL.

use super::{Result, StoreError};
use crate::audit::AuditEvent;
use async_trait::async_trait;

/// Where a sealed secret lives. Each is sealed with associated data that binds it to its
/// row (see `SealedSecret::aad`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedColumn {
    /// `devices.sealed_secret` (phone and token seeds, push subscriptions); AD: the uid.
    DeviceSecret,
    /// `webauthn_credentials.sealed_passkey`; AD: the device's uid.
    Passkey,
    /// `activation_links.sealed_seed`; AD: `seed_uid`.
    ActivationSeed,
    /// `signing_keys.sealed_key` (OIDC); AD: `oidc-signing-key:<kid>`.
    SigningKey,
    /// `audit_keys.sealed_key` (the checkpoint key); AD: `audit-checkpoint-key:<kid>`.
    AuditKey,
}

impl SealedColumn {
    pub const ALL: [Self; 5] = [
        Self::DeviceSecret,
        Self::Passkey,
        Self::ActivationSeed,
        Self::SigningKey,
        Self::AuditKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeviceSecret => "devices.sealed_secret",
            Self::Passkey => "webauthn_credentials.sealed_passkey",
            Self::ActivationSeed => "activation_links.sealed_seed",
            Self::SigningKey => "signing_keys.sealed_key",
            Self::AuditKey => "audit_keys.sealed_key",
        }
    }
}

/// One sealed secret: where it is, what it is bound to, and the sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub column: SealedColumn,
    /// The row's key: an id, or a kid for the key tables.
    pub row: RowKey,
    /// The associated data it is sealed with.
    pub aad: Vec<u8>,
    pub sealed: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    Id(i64),
    Kid(String),
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Kid(kid) => write!(f, "{kid:?}"),
        }
    }
}

/// The connection pool now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait OpsStore: Send + Sync {
    /// "sqlite" or "postgres".
    fn database(&self) -> &'static str;
    /// The connection pool now.
    fn pool_stats(&self) -> PoolStats;
    /// How long taking a connection from the pool takes now (a sample of the wait that
    /// every query sees under load).
    async fn pool_wait(&self) -> Result<std::time::Duration>;
    /// An online, consistent copy of the database into a new file `dest` (SQLite: `VACUUM
    /// INTO`, a snapshot in one read transaction while the gateway serves). PostgreSQL:
    /// refused (use `pg_dump`, docs/operations.md).
    async fn backup_into(&self, dest: &std::path::Path) -> Result<()>;
    /// Give back what the database keeps in this process's memory for connections that sit
    /// idle now, and say for how many. SQLite: each idle pooled connection's page cache
    /// (`PRAGMA shrink_memory`; up to 2 MiB each, filled by whatever read last, such as the
    /// retention job's reads of a year of audit); PostgreSQL keeps its caches in its own
    /// processes: nothing to do. A connection in use is left alone.
    async fn release_memory(&self) -> Result<u32>;
    /// Keep the query planner's statistics in step with the tables' sizes. SQLite: `PRAGMA
    /// optimize=0x10012` (`ANALYZE`, on a bounded sample, of each table whose row count
    /// changed ten-fold since its statistics were taken or that has none; some 2 ms a run
    /// with 10,000 people). Statistics taken while the audit table held a row or two made
    /// the planner read the whole `audit_time` index and sort it for each of the followers'
    /// reads by id, twice a second (issue 17). PostgreSQL: its autovacuum does this.
    async fn refresh_statistics(&self) -> Result<()>;
    /// Every secret sealed with the master key.
    async fn sealed_secrets(&self) -> Result<Vec<SealedSecret>>;
    /// Replace sealed secrets (each only if it still holds the `before` bytes) and write
    /// `event`, all in one transaction: all or nothing. `updates`: (before, after).
    async fn reseal(&self, updates: &[(SealedSecret, Vec<u8>)], event: &AuditEvent) -> Result<()>;
}

fn aad_of(column: SealedColumn, uid_or_kid: &str) -> Vec<u8> {
    match column {
        SealedColumn::DeviceSecret | SealedColumn::Passkey | SealedColumn::ActivationSeed => {
            uid_or_kid.as_bytes().to_vec()
        }
        SealedColumn::SigningKey => format!("oidc-signing-key:{uid_or_kid}").into_bytes(),
        SealedColumn::AuditKey => format!("audit-checkpoint-key:{uid_or_kid}").into_bytes(),
    }
}

/// Per column: the query that lists (row key, what the AD is made of, sealed bytes), and
/// the update (new bytes $1, row $2, old bytes $3).
fn column_sql(column: SealedColumn) -> (&'static str, &'static str) {
    match column {
        SealedColumn::DeviceSecret => (
            "SELECT id AS k, uid AS a, sealed_secret AS s FROM devices \
             WHERE LENGTH(sealed_secret) > 0 ORDER BY id",
            "UPDATE devices SET sealed_secret = $1 WHERE id = $2 AND sealed_secret = $3",
        ),
        SealedColumn::Passkey => (
            "SELECT w.device_id AS k, d.uid AS a, w.sealed_passkey AS s \
             FROM webauthn_credentials w JOIN devices d ON d.id = w.device_id ORDER BY w.device_id",
            "UPDATE webauthn_credentials SET sealed_passkey = $1 WHERE device_id = $2 AND sealed_passkey = $3",
        ),
        SealedColumn::ActivationSeed => (
            "SELECT id AS k, seed_uid AS a, sealed_seed AS s FROM activation_links \
             WHERE sealed_seed IS NOT NULL AND seed_uid IS NOT NULL ORDER BY id",
            "UPDATE activation_links SET sealed_seed = $1 WHERE id = $2 AND sealed_seed = $3",
        ),
        SealedColumn::SigningKey => (
            "SELECT kid AS k, kid AS a, sealed_key AS s FROM signing_keys ORDER BY kid",
            "UPDATE signing_keys SET sealed_key = $1 WHERE kid = $2 AND sealed_key = $3",
        ),
        SealedColumn::AuditKey => (
            "SELECT kid AS k, kid AS a, sealed_key AS s FROM audit_keys ORDER BY kid",
            "UPDATE audit_keys SET sealed_key = $1 WHERE kid = $2 AND sealed_key = $3",
        ),
    }
}

macro_rules! ops_sql {
    ($module:ident, $Store:ident, $name:literal) => {
        #[async_trait]
        impl OpsStore for super::sql::$module::$Store {
            fn database(&self) -> &'static str {
                $name
            }

            fn pool_stats(&self) -> PoolStats {
                let pool = self.pool();
                PoolStats {
                    size: pool.size(),
                    idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                    max: pool.options().get_max_connections(),
                }
            }

            async fn pool_wait(&self) -> Result<std::time::Duration> {
                let started = std::time::Instant::now();
                let conn = self.pool().acquire().await?;
                let waited = started.elapsed();
                drop(conn);
                Ok(waited)
            }

            async fn backup_into(&self, dest: &std::path::Path) -> Result<()> {
                ops_backup!($module, self, dest)
            }

            async fn release_memory(&self) -> Result<u32> {
                ops_release!($module, self)
            }

            async fn refresh_statistics(&self) -> Result<()> {
                ops_statistics!($module, self)
            }

            async fn sealed_secrets(&self) -> Result<Vec<SealedSecret>> {
                use sqlx::Row as _;
                let mut out = Vec::new();
                for column in SealedColumn::ALL {
                    let (select, _) = column_sql(column);
                    for r in sqlx::query(select).fetch_all(self.pool()).await? {
                        let row = match column {
                            SealedColumn::SigningKey | SealedColumn::AuditKey => {
                                RowKey::Kid(r.try_get("k")?)
                            }
                            _ => RowKey::Id(r.try_get("k")?),
                        };
                        let a: String = r.try_get("a")?;
                        out.push(SealedSecret {
                            column,
                            aad: aad_of(column, &a),
                            row,
                            sealed: r.try_get("s")?,
                        });
                    }
                }
                Ok(out)
            }

            async fn reseal(
                &self,
                updates: &[(SealedSecret, Vec<u8>)],
                event: &AuditEvent,
            ) -> Result<()> {
                let mut tx = self.begin().await?;
                for (old, new) in updates {
                    let (_, update) = column_sql(old.column);
                    let q = sqlx::query(update).bind(new.as_slice());
                    let q = match &old.row {
                        RowKey::Id(id) => q.bind(*id),
                        RowKey::Kid(kid) => q.bind(kid.as_str()),
                    };
                    let done = q.bind(old.sealed.as_slice()).execute(&mut *tx).await?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Err(StoreError::Conflict(format!(
                            "{} row {} changed during the rotation (nothing was changed; try again with the gateway stopped)",
                            old.column.as_str(),
                            old.row
                        )));
                    }
                }
                // One-time codes are keyed under a key derived from the master key: with a
                // new key they could never match again, so unused ones are void now (the
                // portal shows none left; people make new recovery codes).
                for sql in [
                    "DELETE FROM recovery_codes WHERE keyed = 1 AND used_at IS NULL",
                    "DELETE FROM temporary_codes WHERE keyed = 1 AND used_at IS NULL",
                ] {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                super::sql::$module::insert_event(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

macro_rules! ops_backup {
    (sqlite, $self:ident, $dest:ident) => {{
        if $dest.exists() {
            return Err(StoreError::Invalid(
                format!(
                    "{} exists: a backup never overwrites a file",
                    $dest.display()
                )
                .into(),
            ));
        }
        let path = $dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute($self.pool())
            .await?;
        Ok(())
    }};
    (postgres, $self:ident, $dest:ident) => {{
        let _ = ($self, $dest);
        Err(StoreError::Invalid(
            "the database is PostgreSQL: back it up with pg_dump (docs/operations.md: \
             pg_dump --format=custom --file=DEST \"$DATABASE_URL\")"
                .into(),
        ))
    }};
}

macro_rules! ops_release {
    (sqlite, $self:ident) => {{
        // Take every idle connection at once (so none is shrunk twice), shrink each, and
        // let them all go back. `try_acquire` opens no new connection and waits for none.
        let pool = $self.pool();
        let mut taken = Vec::new();
        while let Some(conn) = pool.try_acquire() {
            taken.push(conn);
        }
        let n = u32::try_from(taken.len()).unwrap_or(u32::MAX);
        for conn in &mut taken {
            sqlx::query("PRAGMA shrink_memory")
                .execute(&mut **conn)
                .await?;
        }
        Ok(n)
    }};
    (postgres, $self:ident) => {{
        let _ = $self;
        Ok(0)
    }};
}

macro_rules! ops_statistics {
    (sqlite, $self:ident) => {{
        // 0x10000: look at every table's size, not only those this connection's queries
        // used; 0x2: ANALYZE those that changed ten-fold; 0x10: with an analysis limit
        // (SQLite's 2000 rows an index, less with many indexes). Without 0x10 a table grown
        // ten-fold was analysed in full, in a write transaction that held every login's
        // write meanwhile: 9.2-9.6 s for a year's audit table, 0.5 s with the bound
        // (bench/statistics.sh).
        sqlx::query("PRAGMA optimize=0x10012")
            .execute($self.pool())
            .await?;
        Ok(())
    }};
    (postgres, $self:ident) => {{
        let _ = $self;
        Ok(())
    }};
}

ops_sql!(sqlite, SqliteStore, "sqlite");
ops_sql!(postgres, PgStore, "postgres");
