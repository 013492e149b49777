//! RADIUS sessions from accounting (RFC 2866), for Disconnect (RFC 5176) when a person is
//! removed, disabled or blocked (migration 0010). A part of the store in its own file: the
//! trait is a supertrait of `Store`, implemented for both databases by `radius_sql!` over the
//! same SQL. Each change is written with its audit event in one transaction.

use crate::audit::AuditEvent;
use crate::model::{PersonId, UnixTime};
use async_trait::async_trait;

/// What an Accounting-Request does to the session table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// Start or Interim-Update: the session is open (created if it is not known yet).
    Open(SessionRecord),
    /// Stop: the session is closed (created closed if it was never seen open).
    Close(SessionRecord),
    /// Accounting-On/Off: every open session of this client and NAS is closed.
    NasRestart {
        client: String,
        nas: String,
        time: UnixTime,
    },
    /// Nothing to change (an unknown status): only the event is written.
    None,
}

/// One session as accounting reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub client: String,
    /// The NAS's source address.
    pub nas: String,
    pub session_id: String,
    pub person_id: Option<PersonId>,
    pub username: Option<String>,
    pub nas_ip: Option<String>,
    pub nas_identifier: Option<String>,
    pub end_user_address: Option<String>,
    pub calling_station_id: Option<String>,
    pub time: UnixTime,
}

/// An open session (what a Disconnect-Request names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    pub id: i64,
    pub client: String,
    pub nas: String,
    pub session_id: String,
    pub username: Option<String>,
    pub nas_ip: Option<String>,
    pub nas_identifier: Option<String>,
    pub calling_station_id: Option<String>,
    pub started_at: UnixTime,
}

#[async_trait]
pub trait RadiusSessionStore: Send + Sync {
    /// Apply `change` and write `event`, in one transaction.
    async fn record_accounting(
        &self,
        change: &SessionChange,
        event: &AuditEvent,
    ) -> super::Result<()>;

    /// The person's sessions that accounting says are open, oldest first.
    async fn open_sessions(&self, person: PersonId) -> super::Result<Vec<OpenSession>>;
}

macro_rules! radius_sql {
    ($module:ident, $Store:ident) => {
        pub(super) mod $module {
            use super::*;
            use crate::store::Result;
            use crate::store::sql::$module::{$Store, insert_event};
            use sqlx::Row as _;

            #[async_trait]
            impl RadiusSessionStore for $Store {
                async fn record_accounting(
                    &self,
                    change: &SessionChange,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    match change {
                        SessionChange::Open(r) | SessionChange::Close(r) => {
                            let stopped = matches!(change, SessionChange::Close(_)).then_some(r.time);
                            sqlx::query(
                                "INSERT INTO radius_sessions (client, nas, session_id, person_id, username, nas_ip, nas_identifier, end_user_address, calling_station_id, started_at, updated_at, stopped_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) \
                                 ON CONFLICT (client, nas, session_id) DO UPDATE SET \
                                 updated_at = $10, stopped_at = COALESCE(radius_sessions.stopped_at, $11), \
                                 person_id = COALESCE(radius_sessions.person_id, $4), \
                                 end_user_address = COALESCE(radius_sessions.end_user_address, $8)",
                            )
                            .bind(&r.client)
                            .bind(&r.nas)
                            .bind(&r.session_id)
                            .bind(r.person_id)
                            .bind(&r.username)
                            .bind(&r.nas_ip)
                            .bind(&r.nas_identifier)
                            .bind(&r.end_user_address)
                            .bind(&r.calling_station_id)
                            .bind(r.time)
                            .bind(stopped)
                            .execute(&mut *tx)
                            .await?;
                        }
                        SessionChange::NasRestart { client, nas, time } => {
                            sqlx::query(
                                "UPDATE radius_sessions SET stopped_at = $1, updated_at = $1 \
                                 WHERE client = $2 AND nas = $3 AND stopped_at IS NULL",
                            )
                            .bind(time)
                            .bind(client)
                            .bind(nas)
                            .execute(&mut *tx)
                            .await?;
                        }
                        SessionChange::None => {}
                    }
                    insert_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn open_sessions(&self, person: PersonId) -> Result<Vec<OpenSession>> {
                    let rows = sqlx::query(
                        "SELECT id, client, nas, session_id, username, nas_ip, nas_identifier, calling_station_id, started_at \
                         FROM radius_sessions WHERE person_id = $1 AND stopped_at IS NULL ORDER BY id",
                    )
                    .bind(person)
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(OpenSession {
                                id: row.try_get("id")?,
                                client: row.try_get("client")?,
                                nas: row.try_get("nas")?,
                                session_id: row.try_get("session_id")?,
                                username: row.try_get("username")?,
                                nas_ip: row.try_get("nas_ip")?,
                                nas_identifier: row.try_get("nas_identifier")?,
                                calling_station_id: row.try_get("calling_station_id")?,
                                started_at: row.try_get("started_at")?,
                            })
                        })
                        .collect()
                }
            }
        }
    };
}

radius_sql!(sqlite, SqliteStore);
radius_sql!(postgres, PgStore);
