//! Organisations as tenants: a leaving customer's offboarding (migration 0015). A part of the
//! store in its own file: the trait is a supertrait of `Store`, implemented for both
//! databases by `tenancy_sql!` over the same SQL. Each change is written with its audit
//! event in one transaction.

use crate::audit::AuditEvent;
use crate::model::{OrgId, UnixTime};
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

    /// Set the organisation's policy (JSON) and write `event`.
    async fn set_org_policy(
        &self,
        org: OrgId,
        policy: &str,
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
            }
        }
    };
}

tenancy_sql!(sqlite, SqliteStore);
tenancy_sql!(postgres, PgStore);
