//! Account life cycle: requests of customer organisations, token orders and reservations.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `lifecycle_sql!` implements it for both databases over the same SQL, using the helpers of
//! `sql.rs` (`begin`, `insert_event`, the row readers). Every change writes its audit
//! event(s) in its own transaction; status changes are compare-and-set on the status read.

use super::Result;
use crate::audit::AuditEvent;
use crate::model::{
    AccountChange, ActivationLink, ApiToken, Device, LifecycleRequest, NewDevice, NewPerson, OrgId,
    Person, PersonId, RequestChange, RequestData, RequestId, RequestStep, StockCount, TokenFate,
    UnixTime,
};
use async_trait::async_trait;

#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// File a request (status submitted, one history step).
    async fn submit_request(
        &self,
        org: OrgId,
        data: &RequestData,
        requested_by: &str,
        requester: Option<PersonId>,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<LifecycleRequest>;
    async fn request_by_id(&self, id: RequestId) -> Result<Option<LifecycleRequest>>;
    /// Requests of one organisation (or all), newest first; `open_only`: submitted or in
    /// progress.
    async fn requests(&self, org: Option<OrgId>, open_only: bool) -> Result<Vec<LifecycleRequest>>;
    /// A request's status history, oldest first.
    async fn request_history(&self, id: RequestId) -> Result<Vec<RequestStep>>;
    /// Change a request's status (and maybe data / schedule) if it stands at one of
    /// `change.from`; otherwise `Invalid`, nothing written.
    async fn update_request(
        &self,
        id: RequestId,
        change: &RequestChange<'_>,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<LifecycleRequest>;
    /// A new-employee request done: the person made (no password), an activation link
    /// (`link_hash` until `expires_at`), the request done; `events` (person created, request
    /// updated, link issued) get the new person's id.
    #[allow(clippy::too_many_arguments)]
    async fn complete_new_employee(
        &self,
        id: RequestId,
        new: &NewPerson,
        link_hash: &[u8; 32],
        expires_at: UnixTime,
        change: &RequestChange<'_>,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> Result<(LifecycleRequest, Person, i64)>;
    /// An order done: `count` tokens move from the provider's stock to `org`'s.
    async fn complete_order(
        &self,
        id: RequestId,
        org: OrgId,
        count: u32,
        change: &RequestChange<'_>,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> Result<LifecycleRequest>;
    /// A leaver: the person removed (disabled at once, password gone, devices unlinked,
    /// tokens to stock or marked lost) and, with `request`, that request done.
    #[allow(clippy::too_many_arguments)]
    async fn remove_person_now(
        &self,
        person: PersonId,
        tokens: TokenFate,
        request: Option<(RequestId, &RequestChange<'_>)>,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> Result<Option<LifecycleRequest>>;
    /// A change-account request done: name, e-mail, tokens.
    async fn complete_change(
        &self,
        id: RequestId,
        person: PersonId,
        what: &AccountChange,
        change: &RequestChange<'_>,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> Result<LifecycleRequest>;
    /// Leavers accepted with an end date at or before `now`, not yet applied.
    async fn due_removals(&self, now: UnixTime) -> Result<Vec<LifecycleRequest>>;

    /// A bulk import (`person import`): every person made (no password) with an activation
    /// link (`link_hash`, until `expires_at`) and their events (which get the person's id),
    /// all in one transaction: a taken username is `Conflict` and nothing is written.
    async fn import_people(
        &self,
        people: Vec<(NewPerson, [u8; 32], Vec<AuditEvent>)>,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<Vec<(Person, i64)>>;

    /// A new activation link for `person` (unused older ones are void).
    async fn issue_activation_link(
        &self,
        person: PersonId,
        request: Option<RequestId>,
        link_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
        event: AuditEvent,
    ) -> Result<i64>;
    async fn activation_link(&self, id: i64) -> Result<Option<ActivationLink>>;
    /// Keep the first phone's sealed seed with the link, unless it has one (false then).
    async fn set_activation_seed(&self, id: i64, sealed: &[u8], uid: &str) -> Result<bool>;
    /// Use the link (once, before it expires): the password set (None: a directory checks
    /// it) and the first phone linked (its code's step spent), in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn complete_activation(
        &self,
        id: i64,
        password_hash: Option<&str>,
        phone: &NewDevice,
        step: u64,
        now: UnixTime,
        events: Vec<AuditEvent>,
    ) -> Result<Device>;

    async fn create_api_token(
        &self,
        org: OrgId,
        hash: &[u8; 32],
        label: &str,
        created_by: &str,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<ApiToken>;
    async fn api_token(&self, id: i64) -> Result<Option<ApiToken>>;
    async fn api_tokens(&self, org: Option<OrgId>) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&self, id: i64, now: UnixTime, event: AuditEvent) -> Result<()>;

    /// The switch-over date of an organisation (reservations can change until then).
    async fn switch_over(&self, org: OrgId) -> Result<Option<UnixTime>>;
    async fn set_switch_over(
        &self,
        org: OrgId,
        at: Option<UnixTime>,
        event: AuditEvent,
    ) -> Result<()>;
    /// Hardware token counts per organisation (and the provider's own stock, org None).
    async fn stock_counts(&self) -> Result<Vec<StockCount>>;
}

macro_rules! lifecycle_sql {
    ($module:ident, $Store:ident, $Conn:ty, $Row:ty) => {
        mod $module {
            use super::*;
            use crate::model::{
                DeviceState, PersonState, RequestStatus, new_uid, roles_to_text,
            };
            use crate::otp::OtpKind;
            use crate::store::{Rejected, StoreError, normalise_username};
            use crate::store::sql::$module::{
                $Store, DEVICE_COLS, PERSON_COLS, conflict, device_from_row, fetch_device,
                insert_event, person_from_row, unlink_devices,
            };
            use sqlx::Row as _;

            const REQUEST_COLS: &str = "id, org_id, kind, data, status, requested_by, requester_id, person_id, scheduled_at, created_at, updated_at";
            const LINK_COLS: &str = "id, person_id, request_id, token_hash, sealed_seed, seed_uid, created_at, expires_at, used_at";
            const TOKEN_COLS: &str =
                "id, org_id, token_hash, label, created_by, created_at, revoked_at";

            fn request_from_row(row: &$Row) -> Result<LifecycleRequest> {
                let data: String = row.try_get("data")?;
                let status: String = row.try_get("status")?;
                Ok(LifecycleRequest {
                    id: row.try_get("id")?,
                    org_id: row.try_get("org_id")?,
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::Corrupt(format!("request data: {e}")))?,
                    status: RequestStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("request status {status:?}")))?,
                    requested_by: row.try_get("requested_by")?,
                    requester_id: row.try_get("requester_id")?,
                    person_id: row.try_get("person_id")?,
                    scheduled_at: row.try_get("scheduled_at")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn link_from_row(row: &$Row) -> Result<ActivationLink> {
                Ok(ActivationLink {
                    id: row.try_get("id")?,
                    person_id: row.try_get("person_id")?,
                    request_id: row.try_get("request_id")?,
                    token_hash: row.try_get("token_hash")?,
                    sealed_seed: row.try_get("sealed_seed")?,
                    seed_uid: row.try_get("seed_uid")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    used_at: row.try_get("used_at")?,
                })
            }

            fn token_from_row(row: &$Row) -> Result<ApiToken> {
                Ok(ApiToken {
                    id: row.try_get("id")?,
                    org_id: row.try_get("org_id")?,
                    token_hash: row.try_get("token_hash")?,
                    label: row.try_get("label")?,
                    created_by: row.try_get("created_by")?,
                    created_at: row.try_get("created_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            }

            fn data_text(data: &RequestData) -> Result<String> {
                serde_json::to_string(data)
                    .map_err(|e| StoreError::Invalid(format!("request data: {e}").into()))
            }

            async fn fetch_request(conn: &mut $Conn, id: RequestId) -> Result<LifecycleRequest> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {REQUEST_COLS} FROM lifecycle_requests WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?;
                request_from_row(&row)
            }

            async fn add_step(
                conn: &mut $Conn,
                id: RequestId,
                status: RequestStatus,
                actor: &str,
                note: Option<&str>,
                now: UnixTime,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO lifecycle_history (request_id, time, status, actor, note) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(now)
                .bind(status.as_str())
                .bind(actor)
                .bind(note)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// The compare-and-set status change every completion shares.
            async fn change_tx(
                conn: &mut $Conn,
                id: RequestId,
                change: &RequestChange<'_>,
                person: Option<PersonId>,
                now: UnixTime,
            ) -> Result<LifecycleRequest> {
                let current = fetch_request(&mut *conn, id).await?;
                if !change.from.contains(&current.status) {
                    return Err(StoreError::Invalid(Rejected::RequestNotAt {
                        id,
                        status: current.status,
                        wanted: change.from.to_vec(),
                    }));
                }
                let data = match change.data {
                    Some(d) => data_text(d)?,
                    None => data_text(&current.data)?,
                };
                let done = sqlx::query(
                    "UPDATE lifecycle_requests SET status = $1, data = $2, scheduled_at = COALESCE($3, scheduled_at), \
                     person_id = COALESCE($4, person_id), updated_at = $5 WHERE id = $6 AND status = $7",
                )
                .bind(change.to.as_str())
                .bind(data)
                .bind(change.scheduled_at)
                .bind(person)
                .bind(now)
                .bind(id)
                .bind(current.status.as_str())
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Invalid(Rejected::RequestChanged { id }));
                }
                add_step(&mut *conn, id, change.to, change.actor, change.note, now).await?;
                fetch_request(&mut *conn, id).await
            }

            async fn write_events(
                conn: &mut $Conn,
                events: Vec<AuditEvent>,
                person: Option<PersonId>,
            ) -> Result<()> {
                for mut e in events {
                    if e.person_id.is_none() {
                        e.person_id = person;
                    }
                    insert_event(&mut *conn, &e).await?;
                }
                Ok(())
            }

            /// Hardware tokens of a person marked lost: unlinked, seed wiped, never linked
            /// again.
            async fn mark_tokens_lost(
                conn: &mut $Conn,
                person: PersonId,
                now: UnixTime,
            ) -> Result<()> {
                let rows = sqlx::query(
                    "SELECT id, org_id FROM devices WHERE person_id = $1 AND kind = 'hardware_token' AND state <> 'removed'",
                )
                .bind(person)
                .fetch_all(&mut *conn)
                .await?;
                for row in rows {
                    let id: i64 = row.try_get("id")?;
                    let org: Option<i64> = row.try_get("org_id")?;
                    sqlx::query(
                        "UPDATE devices SET state = 'removed', person_id = NULL, label = '', sealed_secret = $1 WHERE id = $2",
                    )
                    .bind(Vec::<u8>::new())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    sqlx::query("DELETE FROM token_marks WHERE device_id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO token_marks (device_id, mark, org_id, time) VALUES ($1, 'lost', $2, $3)",
                    )
                    .bind(id)
                    .bind(org)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            /// Unlink a person's hardware tokens only (to stock, or lost).
            async fn unlink_tokens(
                conn: &mut $Conn,
                person: PersonId,
                fate: TokenFate,
                now: UnixTime,
            ) -> Result<()> {
                match fate {
                    TokenFate::Lost => mark_tokens_lost(&mut *conn, person, now).await,
                    TokenFate::Return => {
                        sqlx::query(
                            "UPDATE devices SET state = 'in_stock', person_id = NULL, label = '' \
                             WHERE person_id = $1 AND kind = 'hardware_token' AND state <> 'removed'",
                        )
                        .bind(person)
                        .execute(&mut *conn)
                        .await?;
                        Ok(())
                    }
                }
            }

            #[async_trait]
            impl LifecycleStore for $Store {
                async fn submit_request(
                    &self,
                    org: OrgId,
                    data: &RequestData,
                    requested_by: &str,
                    requester: Option<PersonId>,
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<LifecycleRequest> {
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO lifecycle_requests (org_id, kind, data, status, requested_by, requester_id, person_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'submitted', $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(org)
                    .bind(data.kind().as_str())
                    .bind(data_text(data)?)
                    .bind(requested_by)
                    .bind(requester)
                    .bind(data.person_id())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let id: RequestId = row.try_get("id")?;
                    add_step(&mut tx, id, RequestStatus::Submitted, requested_by, None, now).await?;
                    let mut detail = match event.detail.take() {
                        Some(serde_json::Value::Object(m)) => m,
                        _ => serde_json::Map::new(),
                    };
                    detail.insert("request".into(), id.into());
                    event.detail = Some(serde_json::Value::Object(detail));
                    event.org_id = Some(org);
                    insert_event(&mut tx, &event).await?;
                    let request = fetch_request(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(request)
                }

                async fn request_by_id(&self, id: RequestId) -> Result<Option<LifecycleRequest>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {REQUEST_COLS} FROM lifecycle_requests WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                    row.as_ref().map(request_from_row).transpose()
                }

                async fn requests(
                    &self,
                    org: Option<OrgId>,
                    open_only: bool,
                ) -> Result<Vec<LifecycleRequest>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {REQUEST_COLS} FROM lifecycle_requests \
                         WHERE ($1 IS NULL OR org_id = $1) AND ($2 = 0 OR status IN ('submitted', 'in_progress')) \
                         ORDER BY id DESC"
                    )))
                    .bind(org)
                    .bind(i64::from(open_only))
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter().map(request_from_row).collect()
                }

                async fn request_history(&self, id: RequestId) -> Result<Vec<RequestStep>> {
                    let rows = sqlx::query(
                        "SELECT time, status, actor, note FROM lifecycle_history WHERE request_id = $1 ORDER BY id",
                    )
                    .bind(id)
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let status: String = row.try_get("status")?;
                            Ok(RequestStep {
                                time: row.try_get("time")?,
                                status: RequestStatus::parse(&status).ok_or_else(|| {
                                    StoreError::Corrupt(format!("request status {status:?}"))
                                })?,
                                actor: row.try_get("actor")?,
                                note: row.try_get("note")?,
                            })
                        })
                        .collect()
                }

                async fn update_request(
                    &self,
                    id: RequestId,
                    change: &RequestChange<'_>,
                    now: UnixTime,
                    event: AuditEvent,
                ) -> Result<LifecycleRequest> {
                    let mut tx = self.begin().await?;
                    let request = change_tx(&mut tx, id, change, None, now).await?;
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(request)
                }

                async fn complete_new_employee(
                    &self,
                    id: RequestId,
                    new: &NewPerson,
                    link_hash: &[u8; 32],
                    expires_at: UnixTime,
                    change: &RequestChange<'_>,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<(LifecycleRequest, Person, i64)> {
                    let username = normalise_username(&new.username);
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO people (public_id, username, full_name, email, employee_number, org_id, roles, state, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', NULL, $8) RETURNING id",
                    )
                    .bind(new_uid())
                    .bind(&username)
                    .bind(&new.full_name)
                    .bind(&new.email)
                    .bind(&new.employee_number)
                    .bind(new.org_id)
                    .bind(roles_to_text(&new.roles))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || format!("person {username:?}")))?;
                    let person_id: PersonId = row.try_get("id")?;
                    let request = change_tx(&mut tx, id, change, Some(person_id), now).await?;
                    let row = sqlx::query(
                        "INSERT INTO activation_links (person_id, request_id, token_hash, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(person_id)
                    .bind(id)
                    .bind(link_hash.to_vec())
                    .bind(now)
                    .bind(expires_at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let link: i64 = row.try_get("id")?;
                    write_events(&mut tx, events, Some(person_id)).await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE id = $1"
                    )))
                    .bind(person_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let person = person_from_row(&row)?;
                    tx.commit().await?;
                    Ok((request, person, link))
                }

                async fn complete_order(
                    &self,
                    id: RequestId,
                    org: OrgId,
                    count: u32,
                    change: &RequestChange<'_>,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<LifecycleRequest> {
                    let mut tx = self.begin().await?;
                    let request = change_tx(&mut tx, id, change, None, now).await?;
                    let ids: Vec<i64> = sqlx::query(
                        "SELECT id FROM devices WHERE kind = 'hardware_token' AND state = 'in_stock' \
                         AND org_id IS NULL AND person_id IS NULL ORDER BY id LIMIT $1",
                    )
                    .bind(i64::from(count))
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get("id"))
                    .collect::<std::result::Result<_, _>>()?;
                    if ids.len() < usize::try_from(count).unwrap_or(usize::MAX) {
                        return Err(StoreError::Invalid(Rejected::TooFewTokens {
                            in_stock: ids.len(),
                            ordered: count,
                        }));
                    }
                    for token in ids {
                        sqlx::query("UPDATE devices SET org_id = $1 WHERE id = $2 AND org_id IS NULL")
                            .bind(org)
                            .bind(token)
                            .execute(&mut *tx)
                            .await?;
                    }
                    write_events(&mut tx, events, None).await?;
                    tx.commit().await?;
                    Ok(request)
                }

                async fn remove_person_now(
                    &self,
                    person: PersonId,
                    tokens: TokenFate,
                    request: Option<(RequestId, &RequestChange<'_>)>,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<Option<LifecycleRequest>> {
                    let mut tx = self.begin().await?;
                    let done = match request {
                        Some((id, change)) => Some(change_tx(&mut tx, id, change, None, now).await?),
                        None => None,
                    };
                    let updated = sqlx::query(
                        "UPDATE people SET state = $1, password_hash = NULL WHERE id = $2 AND state <> 'removed'",
                    )
                    .bind(PersonState::Removed.as_str())
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("person {person} (not removed)")));
                    }
                    if tokens == TokenFate::Lost {
                        mark_tokens_lost(&mut tx, person, now).await?;
                    }
                    unlink_devices(&mut tx, person).await?;
                    sqlx::query("UPDATE activation_links SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL")
                        .bind(now)
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    write_events(&mut tx, events, Some(person)).await?;
                    tx.commit().await?;
                    Ok(done)
                }

                async fn complete_change(
                    &self,
                    id: RequestId,
                    person: PersonId,
                    what: &AccountChange,
                    change: &RequestChange<'_>,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<LifecycleRequest> {
                    let mut tx = self.begin().await?;
                    let request = change_tx(&mut tx, id, change, None, now).await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {PERSON_COLS} FROM people WHERE id = $1 AND state = 'active'"
                    )))
                    .bind(person)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("active person {person}")))?;
                    let p = person_from_row(&row)?;
                    // A changed address is no longer proven.
                    sqlx::query(
                        "UPDATE people SET full_name = $1, email = $2, \
                         email_verified_at = CASE WHEN email IS NOT DISTINCT FROM $2 THEN email_verified_at ELSE NULL END \
                         WHERE id = $3",
                    )
                        .bind(what.full_name.as_deref().unwrap_or(&p.full_name))
                        .bind(what.email.as_deref().or(p.email.as_deref()))
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(fate) = what.unlink_tokens {
                        unlink_tokens(&mut tx, person, fate, now).await?;
                    }
                    if let Some(serial) = &what.new_serial {
                        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT {DEVICE_COLS} FROM devices WHERE serial = $1 AND kind = 'hardware_token'"
                        )))
                        .bind(serial)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Invalid(Rejected::NoToken { serial: serial.clone() })
                        })?;
                        let token = device_from_row(&row)?;
                        if token.state != DeviceState::InStock
                            || token.org_id.is_some_and(|o| o != p.org_id)
                        {
                            return Err(StoreError::Invalid(Rejected::TokenNotInStock {
                                serial: serial.clone(),
                            }));
                        }
                        sqlx::query(
                            "UPDATE devices SET person_id = $1, org_id = $2, label = $3, state = 'active' WHERE id = $4",
                        )
                        .bind(person)
                        .bind(p.org_id)
                        .bind(format!("token {serial}"))
                        .bind(token.id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    write_events(&mut tx, events, Some(person)).await?;
                    tx.commit().await?;
                    Ok(request)
                }

                async fn due_removals(&self, now: UnixTime) -> Result<Vec<LifecycleRequest>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {REQUEST_COLS} FROM lifecycle_requests WHERE kind = 'remove_account' \
                         AND status = 'in_progress' AND scheduled_at IS NOT NULL AND scheduled_at <= $1 ORDER BY id"
                    )))
                    .bind(now)
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter().map(request_from_row).collect()
                }

                async fn import_people(
                    &self,
                    people: Vec<(NewPerson, [u8; 32], Vec<AuditEvent>)>,
                    now: UnixTime,
                    expires_at: UnixTime,
                ) -> Result<Vec<(Person, i64)>> {
                    let mut tx = self.begin().await?;
                    let mut out = Vec::with_capacity(people.len());
                    for (new, link_hash, events) in people {
                        let username = normalise_username(&new.username);
                        let row = sqlx::query(
                            "INSERT INTO people (public_id, username, full_name, email, employee_number, org_id, roles, state, password_hash, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', NULL, $8) RETURNING id",
                        )
                        .bind(new_uid())
                        .bind(&username)
                        .bind(&new.full_name)
                        .bind(&new.email)
                        .bind(&new.employee_number)
                        .bind(new.org_id)
                        .bind(roles_to_text(&new.roles))
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, || format!("person {username:?}")))?;
                        let person_id: PersonId = row.try_get("id")?;
                        let row = sqlx::query(
                            "INSERT INTO activation_links (person_id, request_id, token_hash, created_at, expires_at) \
                             VALUES ($1, NULL, $2, $3, $4) RETURNING id",
                        )
                        .bind(person_id)
                        .bind(link_hash.to_vec())
                        .bind(now)
                        .bind(expires_at)
                        .fetch_one(&mut *tx)
                        .await?;
                        let link: i64 = row.try_get("id")?;
                        write_events(&mut tx, events, Some(person_id)).await?;
                        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT {PERSON_COLS} FROM people WHERE id = $1"
                        )))
                        .bind(person_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        out.push((person_from_row(&row)?, link));
                    }
                    tx.commit().await?;
                    Ok(out)
                }

                async fn issue_activation_link(
                    &self,
                    person: PersonId,
                    request: Option<RequestId>,
                    link_hash: &[u8; 32],
                    now: UnixTime,
                    expires_at: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<i64> {
                    let mut tx = self.begin().await?;
                    sqlx::query("UPDATE activation_links SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL")
                        .bind(now)
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    let row = sqlx::query(
                        "INSERT INTO activation_links (person_id, request_id, token_hash, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(person)
                    .bind(request)
                    .bind(link_hash.to_vec())
                    .bind(now)
                    .bind(expires_at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let id: i64 = row.try_get("id")?;
                    event.person_id = Some(person);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn activation_link(&self, id: i64) -> Result<Option<ActivationLink>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {LINK_COLS} FROM activation_links WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                    row.as_ref().map(link_from_row).transpose()
                }

                async fn set_activation_seed(&self, id: i64, sealed: &[u8], uid: &str) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE activation_links SET sealed_seed = $1, seed_uid = $2 WHERE id = $3 AND sealed_seed IS NULL",
                    )
                    .bind(sealed.to_vec())
                    .bind(uid)
                    .bind(id)
                    .execute(self.pool())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn complete_activation(
                    &self,
                    id: i64,
                    password_hash: Option<&str>,
                    phone: &NewDevice,
                    step: u64,
                    now: UnixTime,
                    events: Vec<AuditEvent>,
                ) -> Result<Device> {
                    let mut tx = self.begin().await?;
                    let used = sqlx::query(
                        "UPDATE activation_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if used.rows_affected() == 0 {
                        return Err(StoreError::Invalid("activation link used or expired".into()));
                    }
                    let person: PersonId = sqlx::query("SELECT person_id FROM activation_links WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("person_id")?;
                    if phone.person_id != Some(person) {
                        return Err(StoreError::Invalid("the phone is for another person".into()));
                    }
                    // The link was mailed to the person's address: using it proves the address.
                    let updated = sqlx::query(
                        "UPDATE people SET password_hash = $1, \
                         email_verified_at = CASE WHEN email IS NULL THEN NULL ELSE $3 END \
                         WHERE id = $2 AND state = 'active'",
                    )
                    .bind(password_hash)
                    .bind(person)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::Invalid("the account is not active".into()));
                    }
                    let (otp_kind, period) = match phone.otp.kind {
                        OtpKind::Hotp => ("hotp", None),
                        OtpKind::Totp { period } => ("totp", Some(i64::from(period))),
                    };
                    let row = sqlx::query(
                        "INSERT INTO devices (uid, person_id, org_id, kind, label, serial, manufacturer, otp_kind, otp_hash, digits, period, sealed_secret, counter, last_step, state, created_at) \
                         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $8, $9, $10, 0, $11, 'active', $12) RETURNING id",
                    )
                    .bind(&phone.uid)
                    .bind(person)
                    .bind(phone.org_id)
                    .bind(phone.kind.as_str())
                    .bind(&phone.label)
                    .bind(otp_kind)
                    .bind(phone.otp.hash.as_str())
                    .bind(i64::from(phone.otp.digits))
                    .bind(period)
                    .bind(&phone.sealed_secret)
                    .bind(i64::try_from(step).unwrap_or(i64::MAX))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let device: i64 = row.try_get("id")?;
                    for mut e in events {
                        e.person_id = Some(person);
                        if e.kind == crate::audit::EventKind::DeviceLinked {
                            e.device_id = Some(device);
                            e.device_label = Some(phone.label.clone());
                        }
                        insert_event(&mut tx, &e).await?;
                    }
                    let device = fetch_device(&mut tx, device).await?;
                    tx.commit().await?;
                    Ok(device)
                }

                async fn create_api_token(
                    &self,
                    org: OrgId,
                    hash: &[u8; 32],
                    label: &str,
                    created_by: &str,
                    now: UnixTime,
                    mut event: AuditEvent,
                ) -> Result<ApiToken> {
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO api_tokens (org_id, token_hash, label, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(org)
                    .bind(hash.to_vec())
                    .bind(label)
                    .bind(created_by)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let id: i64 = row.try_get("id")?;
                    event.org_id = Some(org);
                    let mut detail = match event.detail.take() {
                        Some(serde_json::Value::Object(m)) => m,
                        _ => serde_json::Map::new(),
                    };
                    detail.insert("token_id".into(), id.into());
                    event.detail = Some(serde_json::Value::Object(detail));
                    insert_event(&mut tx, &event).await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let token = token_from_row(&row)?;
                    tx.commit().await?;
                    Ok(token)
                }

                async fn api_token(&self, id: i64) -> Result<Option<ApiToken>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                    row.as_ref().map(token_from_row).transpose()
                }

                async fn api_tokens(&self, org: Option<OrgId>) -> Result<Vec<ApiToken>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {TOKEN_COLS} FROM api_tokens WHERE ($1 IS NULL OR org_id = $1) ORDER BY id"
                    )))
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter().map(token_from_row).collect()
                }

                async fn revoke_api_token(&self, id: i64, now: UnixTime, mut event: AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(
                        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING org_id",
                    )
                    .bind(now)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("API token {id} (not revoked)")))?;
                    event.org_id = Some(row.try_get("org_id")?);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn switch_over(&self, org: OrgId) -> Result<Option<UnixTime>> {
                    let row = sqlx::query("SELECT switch_over_at FROM org_switch_over WHERE org_id = $1")
                        .bind(org)
                        .fetch_optional(self.pool())
                        .await?;
                    Ok(row.map(|r| r.try_get("switch_over_at")).transpose()?)
                }

                async fn set_switch_over(
                    &self,
                    org: OrgId,
                    at: Option<UnixTime>,
                    mut event: AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query("DELETE FROM org_switch_over WHERE org_id = $1")
                        .bind(org)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(at) = at {
                        sqlx::query("INSERT INTO org_switch_over (org_id, switch_over_at) VALUES ($1, $2)")
                            .bind(org)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    event.org_id = Some(org);
                    insert_event(&mut tx, &event).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn stock_counts(&self) -> Result<Vec<StockCount>> {
                    let mut out: Vec<StockCount> = Vec::new();
                    fn slot(out: &mut Vec<StockCount>, org: Option<OrgId>) -> &mut StockCount {
                        let at = match out.iter().position(|c| c.org_id == org) {
                            Some(at) => at,
                            None => {
                                out.push(StockCount { org_id: org, ..StockCount::default() });
                                out.len() - 1
                            }
                        };
                        &mut out[at]
                    }
                    let n = |v: i64| u64::try_from(v).unwrap_or(0);
                    let rows = sqlx::query(
                        "SELECT d.org_id AS org_id, d.state AS state, m.mark AS mark, COUNT(*) AS n FROM devices d \
                         LEFT JOIN token_marks m ON m.device_id = d.id \
                         WHERE d.kind = 'hardware_token' GROUP BY d.org_id, d.state, m.mark",
                    )
                    .fetch_all(self.pool())
                    .await?;
                    for row in rows {
                        let org: Option<i64> = row.try_get("org_id")?;
                        let state: String = row.try_get("state")?;
                        let mark: Option<String> = row.try_get("mark")?;
                        let count = n(row.try_get("n")?);
                        let s = slot(&mut out, org);
                        match (DeviceState::parse(&state), mark.as_deref()) {
                            (Some(DeviceState::InStock), _) => s.in_stock += count,
                            (Some(DeviceState::Active | DeviceState::Disabled), _) => {
                                s.assigned += count
                            }
                            (_, Some("lost")) => s.lost += count,
                            _ => s.retired += count,
                        }
                    }
                    let rows = sqlx::query(
                        "SELECT org_id, data FROM lifecycle_requests WHERE kind = 'reserve_tokens' \
                         AND status IN ('submitted', 'in_progress', 'done')",
                    )
                    .fetch_all(self.pool())
                    .await?;
                    for row in rows {
                        let org: i64 = row.try_get("org_id")?;
                        let data: String = row.try_get("data")?;
                        if let Ok(RequestData::ReserveTokens { count }) = serde_json::from_str(&data) {
                            slot(&mut out, Some(org)).reserved += u64::from(count);
                        }
                    }
                    out.sort_by_key(|c| c.org_id);
                    Ok(out)
                }
            }
        }
    };
}

lifecycle_sql!(
    sqlite,
    SqliteStore,
    sqlx::SqliteConnection,
    sqlx::sqlite::SqliteRow
);
lifecycle_sql!(postgres, PgStore, sqlx::PgConnection, sqlx::postgres::PgRow);
