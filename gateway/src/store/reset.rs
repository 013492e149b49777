//! Self-service password reset links (migration 0012).
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `reset_sql!` implements it for both databases over the same SQL. A link is
//! `<id>.<secret>`; the row keeps a keyed hash of the secret (the service makes and compares
//! it). One live link per person: a new one voids the older ones; completing a reset voids
//! them all. Each step is a compare-and-set on the row (live, not used, not expired), so a
//! link works once however many requests race.

use crate::audit::AuditEvent;
use crate::model::{Person, PersonId, UnixTime};
use async_trait::async_trait;

/// A reset link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetLink {
    pub id: i64,
    pub person_id: PersonId,
    /// Keyed hash of the secret (compare in constant time).
    pub token_hash: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// When the code step passed.
    pub verified_at: Option<UnixTime>,
    /// When it was used or made void.
    pub used_at: Option<UnixTime>,
}

#[async_trait]
pub trait ResetStore: Send + Sync {
    /// People whose e-mail address is `email` (case-insensitive, trimmed), at most `limit`.
    async fn people_by_email(&self, email: &str, limit: u32) -> super::Result<Vec<Person>>;
    /// Reset links issued to `person` at or after `since` (the per-person limit).
    async fn reset_links_since(&self, person: PersonId, since: UnixTime) -> super::Result<u32>;
    /// A new reset link for `person` (older ones not used are void), with `event`, in one
    /// transaction. Returns its id.
    async fn issue_reset_link(
        &self,
        person: PersonId,
        token_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
        event: AuditEvent,
    ) -> super::Result<i64>;
    async fn reset_link(&self, id: i64) -> super::Result<Option<ResetLink>>;
    /// The code step passed: mark the link, once, while it is live. False when it is not.
    async fn verify_reset_link(&self, id: i64, now: UnixTime) -> super::Result<bool>;
    /// Use the link (live, and its code step passed at or after `verified_since`): the
    /// person's password hash replaced, every reset link of theirs void, the throttles that
    /// wrong (old) passwords set on their sources cleared, `events` written, in one
    /// transaction. `Invalid` when the link cannot be used (nothing written).
    async fn complete_reset(
        &self,
        id: i64,
        password_hash: &str,
        verified_since: UnixTime,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> super::Result<PersonId>;
}

macro_rules! reset_sql {
    ($module:ident, $Store:ident, $Row:ty) => {
        mod $module {
            use super::*;
            use crate::store::sql::$module::{$Store, PERSON_COLS, insert_event, person_from_row};
            use crate::store::{Result, StoreError};
            use sqlx::Row as _;

            const LINK_COLS: &str =
                "id, person_id, token_hash, created_at, expires_at, verified_at, used_at";

            fn link_from_row(row: &$Row) -> Result<ResetLink> {
                Ok(ResetLink {
                    id: row.try_get("id")?,
                    person_id: row.try_get("person_id")?,
                    token_hash: row.try_get("token_hash")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    verified_at: row.try_get("verified_at")?,
                    used_at: row.try_get("used_at")?,
                })
            }

            #[async_trait]
            impl ResetStore for $Store {
                async fn people_by_email(&self, email: &str, limit: u32) -> Result<Vec<Person>> {
                    let email = email.trim();
                    if email.is_empty() {
                        return Ok(Vec::new());
                    }
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE LOWER(email) = LOWER($1) ORDER BY id LIMIT $2"
                    )))
                    .bind(email)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(person_from_row)
                    .collect()
                }

                async fn reset_links_since(&self, person: PersonId, since: UnixTime) -> Result<u32> {
                    let n: i64 = sqlx::query(
                        "SELECT COUNT(*) AS n FROM password_reset_links WHERE person_id = $1 AND created_at >= $2",
                    )
                    .bind(person)
                    .bind(since)
                    .fetch_one(self.pool())
                    .await?
                    .try_get("n")?;
                    Ok(u32::try_from(n).unwrap_or(u32::MAX))
                }

                async fn issue_reset_link(
                    &self,
                    person: PersonId,
                    token_hash: &[u8; 32],
                    now: UnixTime,
                    expires_at: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<i64> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "UPDATE password_reset_links SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL",
                    )
                    .bind(now)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    let id: i64 = sqlx::query(
                        "INSERT INTO password_reset_links (person_id, token_hash, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(person)
                    .bind(token_hash.to_vec())
                    .bind(now)
                    .bind(expires_at)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    event.person_id = Some(person);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn reset_link(&self, id: i64) -> Result<Option<ResetLink>> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {LINK_COLS} FROM password_reset_links WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?
                    .as_ref()
                    .map(link_from_row)
                    .transpose()
                }

                async fn verify_reset_link(&self, id: i64, now: UnixTime) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE password_reset_links SET verified_at = $1 \
                         WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(self.pool())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn complete_reset(
                    &self,
                    id: i64,
                    password_hash: &str,
                    verified_since: UnixTime,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<PersonId> {
                    let mut tx = self.begin().await?;
                    let used = sqlx::query(
                        "UPDATE password_reset_links SET used_at = $1 \
                         WHERE id = $2 AND used_at IS NULL AND expires_at > $1 \
                         AND verified_at IS NOT NULL AND verified_at >= $3",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(verified_since)
                    .execute(&mut *tx)
                    .await?;
                    if used.rows_affected() == 0 {
                        return Err(StoreError::Invalid("reset link used, expired or not verified".into()));
                    }
                    let person: PersonId =
                        sqlx::query("SELECT person_id FROM password_reset_links WHERE id = $1")
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get("person_id")?;
                    let updated = sqlx::query(
                        "UPDATE people SET password_hash = $1 WHERE id = $2 AND state = 'active' AND blocked_at IS NULL",
                    )
                    .bind(password_hash)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::Invalid("the account is not active".into()));
                    }
                    sqlx::query(
                        "UPDATE password_reset_links SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL",
                    )
                    .bind(now)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    // Wrong old passwords no longer throttle the person's sources.
                    sqlx::query("DELETE FROM password_failures WHERE person_id = $1")
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    for mut e in events {
                        e.person_id = Some(person);
                        insert_event(&mut tx, &e).await?;
                    }
                    tx.commit().await?;
                    Ok(person)
                }
            }
        }
    };
}

reset_sql!(sqlite, SqliteStore, sqlx::sqlite::SqliteRow);
reset_sql!(postgres, PgStore, sqlx::postgres::PgRow);
