//! Writing the year into the database: SQLite multi-row INSERTs in large transactions,
//! PostgreSQL `COPY ... FROM STDIN`, the audit table's indexes dropped for the load and made
//! again after it, the daily summary, statistics and sizes.

use anyhow::bail;
use mfa_gateway::audit_chain::EventContent;
use mfa_gateway::store::{PgStore, SqliteStore, Store};
use sqlx::Row as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

/// The database being written.
pub(super) enum Db {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

impl Db {
    pub(super) async fn open(url: &str) -> anyhow::Result<Self> {
        Ok(
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Self::Pg(PgStore::connect(url, 4).await?)
            } else {
                Self::Sqlite(SqliteStore::connect(url, 2).await?)
            },
        )
    }

    pub(super) fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Pg(s) => Arc::new(s.clone()),
        }
    }
}

/// Run SQL on either database (no result).
macro_rules! exec {
    ($db:expr, $sql:expr) => {
        match $db {
            Db::Sqlite(s) => sqlx::query(sqlx::AssertSqlSafe($sql.to_string()))
                .execute(s.pool())
                .await
                .map(|_| ()),
            Db::Pg(s) => sqlx::query(sqlx::AssertSqlSafe($sql.to_string()))
                .execute(s.pool())
                .await
                .map(|_| ()),
        }
    };
}
pub(super) use exec;

/// One event row ready to write.
pub(super) struct EventRow {
    pub(super) id: i64,
    pub(super) content: EventContent,
    pub(super) content_hash: [u8; 32],
    pub(super) chain_hash: [u8; 32],
}

const EVENT_COLUMNS: &str = "id, time, kind, actor, person_id, username, org_id, channel, client, source, device_id, device_label, outcome, reason, request_id, detail, content_hash, chain_hash, purged";

/// The rows of a multi-row INSERT, 500 at a time (values are literals made here).
pub(super) async fn insert_values(db: &Db, target: &str, rows: &[String]) -> anyhow::Result<()> {
    for chunk in rows.chunks(500) {
        exec!(
            db,
            format!("INSERT INTO {target} VALUES {}", chunk.join(", "))
        )?;
    }
    Ok(())
}

pub(super) async fn select_ids(db: &Db, sql: &str) -> anyhow::Result<Vec<i64>> {
    Ok(match db {
        Db::Sqlite(s) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(s.pool())
                .await?
        }
        Db::Pg(s) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(s.pool())
                .await?
        }
    })
}

pub(super) async fn select_pairs(db: &Db, sql: &str) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(match db {
        Db::Sqlite(s) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(s.pool())
                .await?
        }
        Db::Pg(s) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(s.pool())
                .await?
        }
    })
}

pub(super) fn hex_literal(db: &Db, bytes: &[u8]) -> String {
    match db {
        Db::Sqlite(_) => format!("X'{}'", hex::encode(bytes)),
        Db::Pg(_) => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// The audit table's secondary indexes, dropped; returns (name, CREATE statement) to make
/// them again.
pub(super) async fn drop_indexes(db: &Db) -> anyhow::Result<Vec<(String, String)>> {
    let indexes: Vec<(String, String)> = match db {
        Db::Sqlite(s) => sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = 'audit_events' AND sql IS NOT NULL",
        )
        .fetch_all(s.pool())
        .await?,
        Db::Pg(s) => sqlx::query_as(
            "SELECT indexname::text, indexdef::text FROM pg_indexes WHERE tablename = 'audit_events' \
             AND schemaname = current_schema() AND indexname NOT LIKE '%pkey'",
        )
        .fetch_all(s.pool())
        .await?,
    };
    for (name, _) in &indexes {
        exec!(db, format!("DROP INDEX {name}"))?;
    }
    Ok(indexes)
}

/// Writes event rows in large transactions.
pub(super) enum Writer {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Pg,
}

impl Writer {
    pub(super) async fn new(db: &Db) -> anyhow::Result<Self> {
        Ok(match db {
            Db::Sqlite(s) => {
                let mut conn = s.pool().acquire().await?;
                // A throwaway bench database: no fsync per transaction during the load.
                sqlx::query("PRAGMA synchronous = OFF")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA cache_size = -262144")
                    .execute(&mut *conn)
                    .await?;
                Self::Sqlite(conn)
            }
            Db::Pg(_) => Self::Pg,
        })
    }

    pub(super) async fn write(&mut self, db: &Db, rows: &[EventRow]) -> anyhow::Result<()> {
        match (self, db) {
            (Self::Sqlite(conn), _) => {
                // sqlx looks each parameter up by name (quadratic in a statement's
                // parameters): many small statements beat one huge one.
                const PER_STATEMENT: usize = 10;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut **conn).await?;
                for chunk in rows.chunks(PER_STATEMENT) {
                    let placeholders: Vec<String> = (0..chunk.len())
                        .map(|r| {
                            let b = r * 18;
                            let p: Vec<String> = (1..=18).map(|i| format!("${}", b + i)).collect();
                            format!("({}, FALSE)", p.join(", "))
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES {}",
                        placeholders.join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        let c = &r.content;
                        q = q
                            .bind(r.id)
                            .bind(c.time)
                            .bind(c.kind.clone())
                            .bind(c.actor.clone())
                            .bind(c.person_id)
                            .bind(c.username.clone())
                            .bind(c.org_id)
                            .bind(c.channel.clone())
                            .bind(c.client.clone())
                            .bind(c.source.clone())
                            .bind(c.device_id)
                            .bind(c.device_label.clone())
                            .bind(c.outcome.clone())
                            .bind(c.reason.clone())
                            .bind(c.request_id.clone())
                            .bind(c.detail.clone())
                            .bind(r.content_hash.to_vec())
                            .bind(r.chain_hash.to_vec());
                    }
                    if let Err(e) = q.execute(&mut **conn).await {
                        let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                        return Err(e.into());
                    }
                }
                sqlx::query("COMMIT").execute(&mut **conn).await?;
            }
            (Self::Pg, Db::Pg(s)) => {
                let mut conn = s.pool().acquire().await?;
                let statement = format!("COPY audit_events ({EVENT_COLUMNS}) FROM STDIN");
                let mut copy = conn.copy_in_raw(&statement).await?;
                let mut buf = Vec::with_capacity(rows.len() * 300);
                for r in rows {
                    copy_row(&mut buf, r);
                    if buf.len() > 4 << 20 {
                        copy.send(std::mem::take(&mut buf)).await?;
                    }
                }
                if !buf.is_empty() {
                    copy.send(buf).await?;
                }
                copy.finish().await?;
            }
            (Self::Pg, Db::Sqlite(_)) => bail!("writer and database do not match"),
        }
        Ok(())
    }

    pub(super) async fn finish(self, _db: &Db) -> anyhow::Result<()> {
        if let Self::Sqlite(mut conn) = self {
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// One row of COPY's text format.
fn copy_row(out: &mut Vec<u8>, r: &EventRow) {
    fn text(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            None => out.extend_from_slice(b"\\N"),
            Some(s) => {
                for b in s.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
        }
    }
    fn int(out: &mut Vec<u8>, v: Option<i64>) {
        match v {
            None => out.extend_from_slice(b"\\N"),
            Some(v) => {
                let _ = write!(out, "{v}");
            }
        }
    }
    fn bytea(out: &mut Vec<u8>, v: &[u8]) {
        out.extend_from_slice(b"\\\\x");
        out.extend_from_slice(hex::encode(v).as_bytes());
    }
    let c = &r.content;
    int(out, Some(r.id));
    out.push(b'\t');
    int(out, Some(c.time));
    for v in [Some(c.kind.as_str()), Some(c.actor.as_str())] {
        out.push(b'\t');
        text(out, v);
    }
    out.push(b'\t');
    int(out, c.person_id);
    out.push(b'\t');
    text(out, c.username.as_deref());
    out.push(b'\t');
    int(out, c.org_id);
    for v in [
        Some(c.channel.as_str()),
        c.client.as_deref(),
        c.source.as_deref(),
    ] {
        out.push(b'\t');
        text(out, v);
    }
    out.push(b'\t');
    int(out, c.device_id);
    for v in [
        c.device_label.as_deref(),
        Some(c.outcome.as_str()),
        c.reason.as_deref(),
        c.request_id.as_deref(),
        c.detail.as_deref(),
    ] {
        out.push(b'\t');
        text(out, v);
    }
    out.push(b'\t');
    bytea(out, &r.content_hash);
    out.push(b'\t');
    bytea(out, &r.chain_hash);
    out.extend_from_slice(b"\tf\n");
}

/// Add the generated events to the per-day summary (per organisation, and -1 for all).
pub(super) async fn write_summary(
    db: &Db,
    summary: &HashMap<(i64, i64, &'static str, &'static str, &'static str, String), i64>,
) -> anyhow::Result<()> {
    let mut all: HashMap<(i64, i64, &str, &str, &str, &str), i64> = HashMap::new();
    for ((day, org, kind, channel, outcome, reason), n) in summary {
        *all.entry((*day, *org, kind, channel, outcome, reason))
            .or_default() += n;
        *all.entry((*day, -1, kind, channel, outcome, reason))
            .or_default() += n;
    }
    let rows: Vec<String> = all
        .iter()
        .map(|((day, org, kind, channel, outcome, reason), n)| {
            format!("({day}, {org}, '{kind}', '{channel}', '{outcome}', '{reason}', {n})")
        })
        .collect();
    for chunk in rows.chunks(500) {
        exec!(
            db,
            format!(
                "INSERT INTO audit_daily (day, org_id, kind, channel, outcome, reason, n) VALUES {} \
                 ON CONFLICT (org_id, kind, day, channel, outcome, reason) DO UPDATE SET n = audit_daily.n + excluded.n",
                chunk.join(", ")
            )
        )?;
    }
    Ok(())
}

/// Add the generated rejects to the most failures' summary.
pub(super) async fn write_reject_periods(
    db: &Db,
    rejects: &HashMap<(&'static str, &'static str, i64, String), i64>,
) -> anyhow::Result<()> {
    // Values are usernames and addresses the generator made: no quotes in them.
    let rows: Vec<String> = rejects
        .iter()
        .map(|((kind, col, period, value), n)| {
            format!("('{kind}', '{col}', {period}, '{value}', {n})")
        })
        .collect();
    for chunk in rows.chunks(500) {
        exec!(
            db,
            format!(
                "INSERT INTO audit_reject_periods (kind, col, period, value, n) VALUES {} \
                 ON CONFLICT (kind, col, value, period) DO UPDATE SET n = audit_reject_periods.n + excluded.n",
                chunk.join(", ")
            )
        )?;
    }
    Ok(())
}

/// Statistics for the planner; PostgreSQL's id sequence past the rows written.
pub(super) async fn finish_db(db: &Db, last_id: i64) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(_) => {
            exec!(db, "PRAGMA analysis_limit = 2000")?;
            exec!(db, "ANALYZE")?;
            exec!(db, "PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        Db::Pg(_) => {
            exec!(
                db,
                format!(
                    "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), GREATEST({last_id}, 1))"
                )
            )?;
            exec!(db, "VACUUM (ANALYZE) audit_events")?;
            exec!(db, "ANALYZE")?;
        }
    }
    Ok(())
}

/// The database's size, and (PostgreSQL) the audit table's with indexes and summary.
pub(super) async fn sizes(db: &Db, url: &str) -> anyhow::Result<(u64, Option<u64>)> {
    Ok(match db {
        Db::Sqlite(_) => {
            let file = url
                .strip_prefix("sqlite://")
                .map(|r| r.split_once('?').map_or(r, |(f, _)| f))
                .unwrap_or_default();
            (std::fs::metadata(file).map(|m| m.len()).unwrap_or(0), None)
        }
        Db::Pg(s) => {
            let row = sqlx::query(
                "SELECT pg_database_size(current_database()) AS db, \
                 pg_total_relation_size('audit_events') + pg_total_relation_size('audit_daily') AS audit",
            )
            .fetch_one(s.pool())
            .await?;
            let db_bytes: i64 = row.try_get("db")?;
            let audit: i64 = row.try_get("audit")?;
            (
                u64::try_from(db_bytes).unwrap_or(0),
                Some(u64::try_from(audit).unwrap_or(0)),
            )
        }
    })
}
