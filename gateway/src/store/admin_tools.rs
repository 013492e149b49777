//! What an org admin reads about a person's sign-ins beyond the person row: the sources
//! whose wrong passwords are counted or throttled (`password_failures`, migration 0009).
//!
//! A part of the store in its own file: the trait is a supertrait of `Store`, implemented for
//! both databases by `admin_tools_sql!` over the same SQL.

use crate::model::{PersonId, UnixTime};
use async_trait::async_trait;

/// Wrong passwords counted for one person from one source (an IPv4 address or IPv6 /64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordFailures {
    pub source: String,
    pub failures: u64,
    /// That source is throttled for this person until then (when in the future).
    pub blocked_until: Option<UnixTime>,
    pub updated_at: UnixTime,
}

#[async_trait]
pub trait AdminToolsStore: Send + Sync {
    /// The person's counted password failures per source, the most recent first, at most
    /// `limit`.
    async fn password_failures_of(
        &self,
        person: PersonId,
        limit: u32,
    ) -> super::Result<Vec<PasswordFailures>>;
}

macro_rules! admin_tools_sql {
    ($module:ident, $Store:ident) => {
        pub(super) mod $module {
            use super::*;
            use crate::store::Result;
            use crate::store::sql::$module::$Store;
            use sqlx::Row as _;

            #[async_trait]
            impl AdminToolsStore for $Store {
                async fn password_failures_of(
                    &self,
                    person: PersonId,
                    limit: u32,
                ) -> Result<Vec<PasswordFailures>> {
                    sqlx::query(
                        "SELECT source, failures, blocked_until, updated_at FROM password_failures \
                         WHERE person_id = $1 ORDER BY updated_at DESC, source LIMIT $2",
                    )
                    .bind(person)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(|row| {
                        Ok(PasswordFailures {
                            source: row.try_get("source")?,
                            failures: u64::try_from(row.try_get::<i64, _>("failures")?)
                                .unwrap_or(0),
                            blocked_until: row.try_get("blocked_until")?,
                            updated_at: row.try_get("updated_at")?,
                        })
                    })
                    .collect()
                }
            }
        }
    };
}

admin_tools_sql!(sqlite, SqliteStore);
admin_tools_sql!(postgres, PgStore);
