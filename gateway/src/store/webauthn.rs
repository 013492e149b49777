//! WebAuthn credentials (security keys and passkeys) of people.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `webauthn_sql!` implements it for both databases over the same SQL, using the helpers of
//! `sql.rs` (`begin`, `insert_event`, the row readers).
//!
//! A security key is a device row (kind `security_key`: listed, renamed and removed like any
//! device) plus a row in `webauthn_credentials` with the sealed credential, its id and the
//! signature counter. A use at login is recorded by `Store::record_login` (a
//! `DeviceUse::SecurityKey`), through `record_key_use` here, in the login's transaction.

use crate::audit::AuditEvent;
use crate::model::{Device, NewDevice, PersonId, UnixTime};
use crate::webauthn::KeyCredential;
use async_trait::async_trait;

#[async_trait]
pub trait WebauthnStore: Send + Sync {
    /// Link a security key: its device row (`new`, kind `security_key`) and its credential
    /// (id in base64url, the `Passkey` sealed under `new.uid`), with `event`, in one
    /// transaction. `Conflict` when the credential is linked already.
    async fn add_security_key(
        &self,
        new: &NewDevice,
        credential_id: &str,
        sealed_passkey: &[u8],
        now: UnixTime,
        event: AuditEvent,
    ) -> super::Result<Device>;

    /// The person's active security keys, each with its credential.
    async fn security_keys(&self, person: PersonId) -> super::Result<Vec<KeyCredential>>;
}

macro_rules! webauthn_sql {
    ($module:ident, $Store:ident, $Conn:ty) => {
        pub(super) mod $module {
            use super::*;
            use crate::model::DeviceKind;
            use crate::otp::OtpKind;
            use crate::store::sql::$module::{
                $Store, DEVICE_COLS, conflict, device_from_row, fetch_device, insert_event,
            };
            use crate::store::{Result, StoreError};
            use sqlx::Row as _;

            /// Record a use of security key `device_id` that reported `counter`: its counter
            /// only goes up (both 0: a key without one), and its last use. False, with nothing
            /// written, when the key is not active or the counter did not go up (a cloned key
            /// or a replay).
            pub(crate) async fn record_key_use(
                conn: &mut $Conn,
                device_id: crate::model::DeviceId,
                counter: u32,
                time: UnixTime,
            ) -> Result<bool> {
                let counter = i64::from(counter);
                let done = sqlx::query(
                    "UPDATE webauthn_credentials SET sign_count = $1 \
                     WHERE device_id = $2 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0)) \
                     AND device_id IN (SELECT id FROM devices WHERE id = $2 AND state = 'active')",
                )
                .bind(counter)
                .bind(device_id)
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("UPDATE devices SET last_used_at = $1 WHERE id = $2")
                    .bind(time)
                    .bind(device_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(true)
            }

            #[async_trait]
            impl WebauthnStore for $Store {
                async fn add_security_key(
                    &self,
                    new: &NewDevice,
                    credential_id: &str,
                    sealed_passkey: &[u8],
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<Device> {
                    let person = new.person_id.ok_or_else(|| {
                        StoreError::Invalid("a security key must belong to a person".into())
                    })?;
                    if new.kind != DeviceKind::SecurityKey {
                        return Err(StoreError::Invalid("not a security key".into()));
                    }
                    let (otp_kind, period) = match new.otp.kind {
                        OtpKind::Hotp => ("hotp", None),
                        OtpKind::Totp { period } => ("totp", Some(i64::from(period))),
                    };
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO devices (uid, person_id, org_id, kind, label, serial, manufacturer, otp_kind, otp_hash, digits, period, sealed_secret, counter, state, created_at) \
                         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $8, $9, $10, 0, $11, $12) RETURNING id",
                    )
                    .bind(&new.uid)
                    .bind(person)
                    .bind(new.org_id)
                    .bind(new.kind.as_str())
                    .bind(&new.label)
                    .bind(otp_kind)
                    .bind(new.otp.hash.as_str())
                    .bind(i64::from(new.otp.digits))
                    .bind(period)
                    .bind(Vec::<u8>::new())
                    .bind(new.state.as_str())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || "device".to_owned()))?;
                    let id: i64 = row.try_get("id")?;
                    sqlx::query(
                        "INSERT INTO webauthn_credentials (device_id, person_id, credential_id, sealed_passkey, sign_count, created_at) \
                         VALUES ($1, $2, $3, $4, 0, $5)",
                    )
                    .bind(id)
                    .bind(person)
                    .bind(credential_id)
                    .bind(sealed_passkey)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || "security key".to_owned()))?;
                    event.device_id = Some(id);
                    event.device_label = Some(new.label.clone());
                    insert_event(&mut tx, &event).await?;
                    let device = fetch_device(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(device)
                }

                async fn security_keys(&self, person: PersonId) -> Result<Vec<KeyCredential>> {
                    let devices = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM devices \
                         WHERE person_id = $1 AND kind = 'security_key' AND state = 'active' ORDER BY id"
                    )))
                    .bind(person)
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(device_from_row)
                    .collect::<Result<Vec<_>>>()?;
                    let rows = sqlx::query(
                        "SELECT device_id, credential_id, sealed_passkey, sign_count \
                         FROM webauthn_credentials WHERE person_id = $1",
                    )
                    .bind(person)
                    .fetch_all(self.pool())
                    .await?;
                    let mut out = Vec::with_capacity(devices.len());
                    for device in devices {
                        let Some(row) = rows
                            .iter()
                            .find(|r| r.try_get::<i64, _>("device_id").ok() == Some(device.id))
                        else {
                            return Err(StoreError::Corrupt(format!(
                                "security key {} has no credential",
                                device.id
                            )));
                        };
                        let count: i64 = row.try_get("sign_count")?;
                        out.push(KeyCredential {
                            credential_id: row.try_get("credential_id")?,
                            sealed_passkey: row.try_get("sealed_passkey")?,
                            sign_count: u32::try_from(count).unwrap_or(u32::MAX),
                            device,
                        });
                    }
                    Ok(out)
                }
            }
        }
    };
}

webauthn_sql!(sqlite, SqliteStore, sqlx::SqliteConnection);
webauthn_sql!(postgres, PgStore, sqlx::PgConnection);
