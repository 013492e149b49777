//! Single sign-on sessions as the person and their administrators see them, and the relying
//! parties each served (migration 0019, `sso_session_clients`), for back-channel logout.
//!
//! A part of the store in its own file: the trait is a supertrait of `Store`, implemented for
//! both databases by `sso_sessions_sql!` over the same SQL. Ending a session deletes it and
//! its clients and writes its audit event in one transaction, once: a second ender finds
//! nothing and writes nothing.

use crate::audit::AuditEvent;
use crate::model::{PersonId, UnixTime};
use crate::store::SsoSession;
use async_trait::async_trait;

/// A stored session, the hash its row is kept under, and the clients it served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSessionRow {
    /// SHA-256 of the cookie's token (never shown; the service derives the public `sid`).
    pub token_hash: String,
    pub session: SsoSession,
    /// The OIDC clients that got tokens in it, in the order they first did.
    pub clients: Vec<String>,
}

#[async_trait]
pub trait SsoSessionStore: Send + Sync {
    /// Every session of `person`, newest first, with the clients each served.
    async fn sso_sessions_of(&self, person: PersonId) -> super::Result<Vec<SsoSessionRow>>;

    /// The session under `token_hash` with its clients, if any.
    async fn sso_session_row(&self, token_hash: &str) -> super::Result<Option<SsoSessionRow>>;

    /// Sessions whose lifetime ended before `now`, oldest first, at most `limit`.
    async fn expired_sso_sessions(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> super::Result<Vec<SsoSessionRow>>;

    /// `client_id` got tokens in the session under `token_hash` at `now`; false when there is
    /// no such session (nothing written).
    async fn add_sso_client(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> super::Result<bool>;

    /// End the session under `token_hash`: it and its clients deleted and `event` written, in
    /// one transaction. The clients it served, or None when it was already gone (then nothing
    /// is written).
    async fn end_sso_session(
        &self,
        token_hash: &str,
        event: &AuditEvent,
    ) -> super::Result<Option<Vec<String>>>;
}

macro_rules! sso_sessions_sql {
    ($module:ident, $Store:ident, $Row:ty) => {
        mod $module {
            use super::*;
            use crate::store::Result;
            use crate::store::sql::$module::{$Store, insert_event};
            use sqlx::Row as _;

            const COLS: &str =
                "token_hash, person_id, auth_time, amr, created_at, last_used_at, expires_at";

            fn row_from(r: &$Row) -> Result<SsoSessionRow> {
                Ok(SsoSessionRow {
                    token_hash: r.try_get("token_hash")?,
                    session: SsoSession {
                        person_id: r.try_get("person_id")?,
                        auth_time: r.try_get("auth_time")?,
                        amr: r.try_get("amr")?,
                        created_at: r.try_get("created_at")?,
                        last_used_at: r.try_get("last_used_at")?,
                        expires_at: r.try_get("expires_at")?,
                    },
                    clients: Vec::new(),
                })
            }

            impl $Store {
                /// Fill in each row's clients.
                async fn with_clients(&self, mut rows: Vec<SsoSessionRow>) -> Result<Vec<SsoSessionRow>> {
                    for row in &mut rows {
                        let clients = sqlx::query(
                            "SELECT client_id FROM sso_session_clients WHERE token_hash = $1 \
                             ORDER BY first_at, client_id",
                        )
                        .bind(&row.token_hash)
                        .fetch_all(self.pool())
                        .await?;
                        row.clients = clients
                            .iter()
                            .map(|c| c.try_get("client_id"))
                            .collect::<std::result::Result<_, _>>()?;
                    }
                    Ok(rows)
                }
            }

            #[async_trait]
            impl SsoSessionStore for $Store {
                async fn sso_sessions_of(&self, person: PersonId) -> Result<Vec<SsoSessionRow>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM sso_sessions WHERE person_id = $1 \
                         ORDER BY created_at DESC, token_hash"
                    )))
                    .bind(person)
                    .fetch_all(self.pool())
                    .await?;
                    let rows = rows.iter().map(row_from).collect::<Result<Vec<_>>>()?;
                    self.with_clients(rows).await
                }

                async fn sso_session_row(&self, token_hash: &str) -> Result<Option<SsoSessionRow>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM sso_sessions WHERE token_hash = $1"
                    )))
                    .bind(token_hash)
                    .fetch_optional(self.pool())
                    .await?;
                    let rows = row.iter().map(row_from).collect::<Result<Vec<_>>>()?;
                    Ok(self.with_clients(rows).await?.pop())
                }

                async fn expired_sso_sessions(
                    &self,
                    now: UnixTime,
                    limit: u32,
                ) -> Result<Vec<SsoSessionRow>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM sso_sessions WHERE expires_at < $1 \
                         ORDER BY expires_at, token_hash LIMIT $2"
                    )))
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?;
                    let rows = rows.iter().map(row_from).collect::<Result<Vec<_>>>()?;
                    self.with_clients(rows).await
                }

                async fn add_sso_client(
                    &self,
                    token_hash: &str,
                    client_id: &str,
                    now: UnixTime,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "INSERT INTO sso_session_clients (token_hash, client_id, first_at, last_at) \
                         SELECT token_hash, $2, $3, $3 FROM sso_sessions WHERE token_hash = $1 \
                         ON CONFLICT (token_hash, client_id) DO UPDATE SET last_at = $3",
                    )
                    .bind(token_hash)
                    .bind(client_id)
                    .bind(now)
                    .execute(self.pool())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn end_sso_session(
                    &self,
                    token_hash: &str,
                    event: &AuditEvent,
                ) -> Result<Option<Vec<String>>> {
                    let mut tx = self.begin().await?;
                    let clients = sqlx::query(
                        "SELECT client_id FROM sso_session_clients WHERE token_hash = $1 \
                         ORDER BY first_at, client_id",
                    )
                    .bind(token_hash)
                    .fetch_all(&mut *tx)
                    .await?;
                    let clients = clients
                        .iter()
                        .map(|c| c.try_get("client_id"))
                        .collect::<std::result::Result<Vec<String>, _>>()?;
                    sqlx::query("DELETE FROM sso_session_clients WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&mut *tx)
                        .await?;
                    let done = sqlx::query("DELETE FROM sso_sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(Some(clients))
                }
            }
        }
    };
}

sso_sessions_sql!(sqlite, SqliteStore, sqlx::sqlite::SqliteRow);
sso_sessions_sql!(postgres, PgStore, sqlx::postgres::PgRow);
