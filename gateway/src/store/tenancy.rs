//! Organisations as tenants: a leaving customer's offboarding (migration 0015). A part of the
//! store in its own file: the trait is a supertrait of `Store`, implemented for both
//! databases by `tenancy_sql!` over the same SQL. Each change is written with its audit
//! event in one transaction.

use crate::audit::AuditEvent;
use crate::model::{OrgId, PersonId, UnixTime};

/// A single sign-on session as stored (its token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    pub person_id: PersonId,
    pub auth_time: UnixTime,
    /// Space-separated (RFC 8176 values).
    pub amr: String,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    pub expires_at: UnixTime,
}
use async_trait::async_trait;

#[async_trait]
pub trait TenancyStore: Send + Sync {
    /// Mark `org` offboarded at `now`, its people's identities to be erased at `erase_at`
    /// (None: the erasure is done, or cancelled), and write `event`.
    async fn set_org_offboarded(
        &self,
        org: OrgId,
        now: UnixTime,
        erase_at: Option<UnixTime>,
        event: &AuditEvent,
    ) -> super::Result<()>;

    /// When `org` was offboarded and when its erasure is due, if it was.
    async fn org_offboarding(
        &self,
        org: OrgId,
    ) -> super::Result<Option<(UnixTime, Option<UnixTime>)>>;

    /// Offboarded organisations whose erasure is due at `now`.
    async fn orgs_due_for_erasure(&self, now: UnixTime) -> super::Result<Vec<OrgId>>;

    /// The organisation's policy (JSON), if one was set.
    async fn org_policy(&self, org: OrgId) -> super::Result<Option<String>>;

    /// Keep a new single sign-on session under `token_hash`.
    async fn create_sso(&self, token_hash: &str, s: &SsoSession) -> super::Result<()>;

    /// The session under `token_hash`, if any.
    async fn sso(&self, token_hash: &str) -> super::Result<Option<SsoSession>>;

    /// Mark the session used at `now`.
    async fn touch_sso(&self, token_hash: &str, now: UnixTime) -> super::Result<()>;

    /// Delete one session (`Some`) or every session of `person`, bare: the service ends
    /// sessions through `Gateway::end_sso` (audited, back-channel logout), never this.
    async fn end_sso(&self, token_hash: Option<&str>, person: PersonId) -> super::Result<u64>;

    /// Delete the sessions whose lifetime ended before `now`; how many. (The daily task ends
    /// them through `Gateway::end_expired_sso`, which audits and notifies.)
    async fn purge_sso(&self, now: UnixTime) -> super::Result<u64>;

    /// Set the organisation's policy (JSON) and write `event`.
    async fn set_org_policy(
        &self,
        org: OrgId,
        policy: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> super::Result<()>;

    /// The person's own language (`nl`, `en`), if they chose one (migration 0021).
    async fn person_language(&self, person: PersonId) -> super::Result<Option<String>>;

    /// Set (`Some`) or clear the person's own language, with `event`.
    async fn set_person_language(
        &self,
        person: PersonId,
        language: Option<&str>,
        now: UnixTime,
        event: &AuditEvent,
    ) -> super::Result<()>;
}

macro_rules! tenancy_sql {
    ($module:ident, $Store:ident) => {
        pub(super) mod $module {
            use super::*;
            use crate::store::Result;
            use crate::store::sql::$module::{$Store, insert_event};
            use sqlx::Row as _;

            #[async_trait]
            impl TenancyStore for $Store {
                async fn set_org_offboarded(
                    &self,
                    org: OrgId,
                    now: UnixTime,
                    erase_at: Option<UnixTime>,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "UPDATE organisations SET offboarded_at = COALESCE(offboarded_at, $1), erase_at = $2 WHERE id = $3",
                    )
                    .bind(now)
                    .bind(erase_at)
                    .bind(org)
                    .execute(&mut *tx)
                    .await?;
                    insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn org_offboarding(
                    &self,
                    org: OrgId,
                ) -> Result<Option<(UnixTime, Option<UnixTime>)>> {
                    let row = sqlx::query(
                        "SELECT offboarded_at, erase_at FROM organisations WHERE id = $1",
                    )
                    .bind(org)
                    .fetch_optional(self.pool())
                    .await?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let at: Option<UnixTime> = row.try_get("offboarded_at")?;
                    let erase: Option<UnixTime> = row.try_get("erase_at")?;
                    Ok(at.map(|at| (at, erase)))
                }

                async fn orgs_due_for_erasure(&self, now: UnixTime) -> Result<Vec<OrgId>> {
                    let rows = sqlx::query(
                        "SELECT id FROM organisations WHERE erase_at IS NOT NULL AND erase_at <= $1 ORDER BY id",
                    )
                    .bind(now)
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter()
                        .map(|row| Ok(row.try_get("id")?))
                        .collect()
                }

                async fn create_sso(&self, token_hash: &str, s: &SsoSession) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO sso_sessions (token_hash, person_id, auth_time, amr, created_at, last_used_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(token_hash)
                    .bind(s.person_id)
                    .bind(s.auth_time)
                    .bind(&s.amr)
                    .bind(s.created_at)
                    .bind(s.last_used_at)
                    .bind(s.expires_at)
                    .execute(self.pool())
                    .await?;
                    Ok(())
                }

                async fn sso(&self, token_hash: &str) -> Result<Option<SsoSession>> {
                    let row = sqlx::query(
                        "SELECT person_id, auth_time, amr, created_at, last_used_at, expires_at \
                         FROM sso_sessions WHERE token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(self.pool())
                    .await?;
                    row.map(|r| {
                        Ok(SsoSession {
                            person_id: r.try_get("person_id")?,
                            auth_time: r.try_get("auth_time")?,
                            amr: r.try_get("amr")?,
                            created_at: r.try_get("created_at")?,
                            last_used_at: r.try_get("last_used_at")?,
                            expires_at: r.try_get("expires_at")?,
                        })
                    })
                    .transpose()
                }

                async fn touch_sso(&self, token_hash: &str, now: UnixTime) -> Result<()> {
                    sqlx::query("UPDATE sso_sessions SET last_used_at = $1 WHERE token_hash = $2")
                        .bind(now)
                        .bind(token_hash)
                        .execute(self.pool())
                        .await?;
                    Ok(())
                }

                async fn end_sso(&self, token_hash: Option<&str>, person: PersonId) -> Result<u64> {
                    let done = match token_hash {
                        Some(h) => {
                            sqlx::query("DELETE FROM sso_sessions WHERE token_hash = $1 AND person_id = $2")
                                .bind(h)
                                .bind(person)
                                .execute(self.pool())
                                .await?
                        }
                        None => {
                            sqlx::query("DELETE FROM sso_sessions WHERE person_id = $1")
                                .bind(person)
                                .execute(self.pool())
                                .await?
                        }
                    };
                    Ok(done.rows_affected())
                }

                async fn purge_sso(&self, now: UnixTime) -> Result<u64> {
                    Ok(sqlx::query("DELETE FROM sso_sessions WHERE expires_at < $1")
                        .bind(now)
                        .execute(self.pool())
                        .await?
                        .rows_affected())
                }

                async fn org_policy(&self, org: OrgId) -> Result<Option<String>> {
                    let row = sqlx::query("SELECT policy FROM org_policies WHERE org_id = $1")
                        .bind(org)
                        .fetch_optional(self.pool())
                        .await?;
                    row.map(|r| Ok(r.try_get("policy")?)).transpose()
                }

                async fn set_org_policy(
                    &self,
                    org: OrgId,
                    policy: &str,
                    now: UnixTime,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO org_policies (org_id, policy, updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (org_id) DO UPDATE SET policy = $2, updated_at = $3",
                    )
                    .bind(org)
                    .bind(policy)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn person_language(&self, person: PersonId) -> Result<Option<String>> {
                    let row =
                        sqlx::query("SELECT language FROM person_languages WHERE person_id = $1")
                            .bind(person)
                            .fetch_optional(self.pool())
                            .await?;
                    row.map(|r| Ok(r.try_get("language")?)).transpose()
                }

                async fn set_person_language(
                    &self,
                    person: PersonId,
                    language: Option<&str>,
                    now: UnixTime,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    match language {
                        Some(l) => {
                            sqlx::query(
                                "INSERT INTO person_languages (person_id, language, updated_at) \
                                 VALUES ($1, $2, $3) ON CONFLICT (person_id) \
                                 DO UPDATE SET language = $2, updated_at = $3",
                            )
                            .bind(person)
                            .bind(l)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM person_languages WHERE person_id = $1")
                                .bind(person)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}

tenancy_sql!(sqlite, SqliteStore);
tenancy_sql!(postgres, PgStore);
