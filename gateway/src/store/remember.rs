//! Remembered browsers (issue 16, migration 0020). A part of the store in its own file: the
//! trait is a supertrait of `Store`, implemented for both databases by `remember_sql!` over
//! the same SQL. A browser is kept under the SHA-256 of its cookie's token (the service makes
//! and checks it); remembering and forgetting are written with their audit event in one
//! transaction.

use crate::audit::AuditEvent;
use crate::model::{PersonId, UnixTime};
use async_trait::async_trait;

/// A remembered browser as stored (its token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedBrowser {
    pub id: i64,
    pub token_hash: String,
    pub person_id: PersonId,
    /// The browser's User-Agent when it was remembered (shortened), to tell them apart.
    pub user_agent: String,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The audit event kinds that end a person's remembered browsers when written after a
/// browser was remembered: blocked, disabled, removed (also offboarded, which removes),
/// unlocked after a lockout, a new password (changed, reset, or set by activation).
pub const ENDING_KINDS: [&str; 7] = [
    "person_blocked",
    "person_disabled",
    "person_removed",
    "person_unlocked",
    "password_changed",
    "password_reset_completed",
    "activation_completed",
];

#[async_trait]
pub trait RememberStore: Send + Sync {
    /// Keep a new remembered browser (`id` ignored) and write `event` (its person and the
    /// new row's id in the detail), in one transaction; the new id.
    async fn remember_browser(
        &self,
        b: &RememberedBrowser,
        event: &AuditEvent,
    ) -> super::Result<i64>;

    /// The browser under `token_hash`, if any.
    async fn remembered_browser(
        &self,
        token_hash: &str,
    ) -> super::Result<Option<RememberedBrowser>>;

    /// `person`'s remembered browsers, newest first.
    async fn remembered_browsers(&self, person: PersonId) -> super::Result<Vec<RememberedBrowser>>;

    /// Mark the browser used at `now`.
    async fn touch_remembered(&self, id: i64, now: UnixTime) -> super::Result<()>;

    /// Forget one browser of `person` (`Some(id)`) or all of them, with `event` (written only
    /// when something was forgotten), in one transaction; how many.
    async fn forget_browsers(
        &self,
        person: PersonId,
        id: Option<i64>,
        event: Option<&AuditEvent>,
    ) -> super::Result<u64>;

    /// The first audit event kind in `ENDING_KINDS` about `person` at or after `since`, if
    /// any (what ended a browser remembered at `since`).
    async fn remembered_ended_by(
        &self,
        person: PersonId,
        since: UnixTime,
    ) -> super::Result<Option<String>>;

    /// The daily task: delete browsers that expired before `now`, and those whose person
    /// had an ending event since they were remembered; how many.
    async fn purge_remembered(&self, now: UnixTime) -> super::Result<u64>;
}

/// `IN (...)` of the ending kinds (constants, never input).
fn ending_kinds_sql() -> String {
    ENDING_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! remember_sql {
    ($module:ident, $Store:ident, $Row:ty) => {
        mod $module {
            use super::*;
            use crate::store::Result;
            use crate::store::sql::$module::{$Store, insert_event};
            use sqlx::Row as _;

            const COLS: &str =
                "id, token_hash, person_id, user_agent, created_at, last_used_at, expires_at";

            fn from_row(r: &$Row) -> Result<RememberedBrowser> {
                Ok(RememberedBrowser {
                    id: r.try_get("id")?,
                    token_hash: r.try_get("token_hash")?,
                    person_id: r.try_get("person_id")?,
                    user_agent: r.try_get("user_agent")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    expires_at: r.try_get("expires_at")?,
                })
            }

            #[async_trait]
            impl RememberStore for $Store {
                async fn remember_browser(
                    &self,
                    b: &RememberedBrowser,
                    event: &AuditEvent,
                ) -> Result<i64> {
                    let mut tx = self.begin().await?;
                    let id: i64 = sqlx::query(
                        "INSERT INTO remembered_browsers (token_hash, person_id, user_agent, created_at, last_used_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(&b.token_hash)
                    .bind(b.person_id)
                    .bind(&b.user_agent)
                    .bind(b.created_at)
                    .bind(b.last_used_at)
                    .bind(b.expires_at)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    let mut event = event.clone();
                    event.person_id = Some(b.person_id);
                    let mut detail = event.detail.take().unwrap_or_else(|| serde_json::json!({}));
                    if let Some(map) = detail.as_object_mut() {
                        map.insert("remembered_browser".into(), id.into());
                    }
                    event.detail = Some(detail);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn remembered_browser(
                    &self,
                    token_hash: &str,
                ) -> Result<Option<RememberedBrowser>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM remembered_browsers WHERE token_hash = $1"
                    )))
                    .bind(token_hash)
                    .fetch_optional(self.pool())
                    .await?
                    .as_ref()
                    .map(from_row)
                    .transpose()
                }

                async fn remembered_browsers(
                    &self,
                    person: PersonId,
                ) -> Result<Vec<RememberedBrowser>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM remembered_browsers WHERE person_id = $1 \
                         ORDER BY created_at DESC, id DESC"
                    )))
                    .bind(person)
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(from_row)
                    .collect()
                }

                async fn touch_remembered(&self, id: i64, now: UnixTime) -> Result<()> {
                    sqlx::query("UPDATE remembered_browsers SET last_used_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(self.pool())
                        .await?;
                    Ok(())
                }

                async fn forget_browsers(
                    &self,
                    person: PersonId,
                    id: Option<i64>,
                    event: Option<&AuditEvent>,
                ) -> Result<u64> {
                    let mut tx = self.begin().await?;
                    let done = match id {
                        Some(id) => {
                            sqlx::query(
                                "DELETE FROM remembered_browsers WHERE id = $1 AND person_id = $2",
                            )
                            .bind(id)
                            .bind(person)
                            .execute(&mut *tx)
                            .await?
                        }
                        None => {
                            sqlx::query("DELETE FROM remembered_browsers WHERE person_id = $1")
                                .bind(person)
                                .execute(&mut *tx)
                                .await?
                        }
                    }
                    .rows_affected();
                    if done > 0
                        && let Some(e) = event
                    {
                        let mut e = e.clone();
                        e.person_id = Some(person);
                        let mut detail = e.detail.take().unwrap_or_else(|| serde_json::json!({}));
                        if let Some(map) = detail.as_object_mut() {
                            map.insert("forgotten".into(), done.into());
                            if let Some(id) = id {
                                map.insert("remembered_browser".into(), id.into());
                            }
                        }
                        e.detail = Some(detail);
                        insert_event(&mut tx, &e).await?;
                    }
                    tx.commit().await?;
                    Ok(done)
                }

                async fn remembered_ended_by(
                    &self,
                    person: PersonId,
                    since: UnixTime,
                ) -> Result<Option<String>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT kind FROM audit_events WHERE person_id = $1 AND time >= $2 \
                         AND kind IN ({}) ORDER BY time LIMIT 1",
                        ending_kinds_sql()
                    )))
                    .bind(person)
                    .bind(since)
                    .fetch_optional(self.pool())
                    .await?;
                    row.map(|r| Ok(r.try_get("kind")?)).transpose()
                }

                async fn purge_remembered(&self, now: UnixTime) -> Result<u64> {
                    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM remembered_browsers WHERE expires_at < $1 OR EXISTS (\
                         SELECT 1 FROM audit_events a WHERE a.person_id = remembered_browsers.person_id \
                         AND a.time >= remembered_browsers.created_at AND a.kind IN ({}))",
                        ending_kinds_sql()
                    )))
                    .bind(now)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
                }
            }
        }
    };
}

remember_sql!(sqlite, SqliteStore, sqlx::sqlite::SqliteRow);
remember_sql!(postgres, PgStore, sqlx::postgres::PgRow);
