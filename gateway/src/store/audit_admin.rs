//! The auditor's side of the audit table (counts, per-day outcomes, most failures), the
//! retention purge (redact rows in place, keeping their hashes, with an `audit_purged`
//! event naming them), erasing a removed person's identity, and role changes.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `audit_admin_sql!` implements it for both databases over the same SQL, using the helpers
//! of `sql.rs` (`begin`, `insert_event`, the row readers).

use super::filter::{
    FailuresIndex, PeriodTop, RejectsPlan, SummaryPlan, Value, Where, bind_values,
    most_failures_candidates, period_of, purge_candidates_sql, select_events, top_failures_narrow,
    top_failures_sql,
};
use super::{EventFilter, Result};
use crate::audit::{AuditEvent, StoredEvent};
use crate::model::{OrgId, PersonId, Role, UnixTime};
use async_trait::async_trait;

/// Rows redacted by one statement (7 values each: within SQLite's and PostgreSQL's limits on
/// bound values). A purge batch (100 rows) is one statement.
const REDACT_CHUNK: usize = 500;
/// Summary rows lowered by one statement (5 values each).
const FORGET_CHUNK: usize = 500;

/// Events of one outcome on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// Days since the epoch (UTC).
    pub day: i64,
    pub outcome: String,
    pub count: u64,
}

/// The usernames and source addresses with most rejected attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopFailures {
    pub usernames: Vec<(String, u64)>,
    pub sources: Vec<(String, u64)>,
}

/// What a row becomes when it is purged: its personal fields replaced (None: emptied).
/// The row keeps id, time, kind, channel, client, organisation, outcome and reason, and
/// its hashes; `purged` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub id: i64,
    pub person_id: Option<PersonId>,
    pub username: Option<String>,
    pub source: Option<String>,
    pub device_label: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
}

#[async_trait]
pub trait AuditAdminStore: Send + Sync {
    /// How many events match `filter` (its limit and offset ignored).
    async fn count_events(&self, filter: &EventFilter) -> Result<u64>;
    /// Matching events per UTC day and outcome, oldest day first.
    async fn daily_outcomes(&self, filter: &EventFilter) -> Result<Vec<DayCount>>;
    /// Among matching events not yet purged, the `limit` usernames and sources with most
    /// rejections (a purged row names a pseudonym and no source: not a failure to act on).
    async fn top_failures(&self, filter: &EventFilter, limit: u32) -> Result<TopFailures>;
    /// Unpurged events of `kind` (None: of every kind not in `except`) older than `before`
    /// and not older than `from` (where the last batch ended), oldest first, at most `limit`.
    async fn purge_candidates(
        &self,
        kind: Option<&str>,
        except: &[String],
        from: UnixTime,
        before: UnixTime,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// Events with ids above `after_id`, oldest first, at most `limit` (the SIEM stream).
    async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<StoredEvent>>;
    /// Matching events in `(time, id)` order, newest first (oldest first with
    /// `filter.oldest_first`), after `after` (the time and id of the previous page's last
    /// row), at most `limit`; the filter's own limit and offset are ignored. Exports read
    /// page after page this way, each page an index range, never an OFFSET.
    async fn events_page(
        &self,
        filter: &EventFilter,
        after: Option<(UnixTime, i64)>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// The highest event id (0: none).
    async fn last_event_id(&self) -> Result<i64>;
    /// Every event about a person (by id), oldest first, purged ones included.
    async fn events_about(&self, person: PersonId) -> Result<Vec<StoredEvent>>;
    /// The events about a person that an organisation's view holds (`scope`: see
    /// `EventFilter::scope_org`; None: all of them, as `events_about`), oldest first.
    async fn events_about_in(
        &self,
        person: PersonId,
        scope: Option<OrgId>,
    ) -> Result<Vec<StoredEvent>>;
    /// Apply `redactions` to the rows among them not purged yet and write the `audit_purged`
    /// event that `event` makes from those rows' ids (ascending), in one transaction; the
    /// ids it redacted. Rows already purged (another purge got there first) are left as
    /// they are and not named; when all of them are, nothing is written. On SQLite it then
    /// copies the WAL into the database (a passive checkpoint), so that no login's commit
    /// has to.
    async fn redact_events(
        &self,
        redactions: &[Redaction],
        event: &(dyn for<'i> Fn(&'i [i64]) -> AuditEvent + Send + Sync),
    ) -> Result<Vec<i64>>;
    /// Replace a removed person's identity with `pseudonym` (username; name, e-mail and
    /// employee number emptied) and apply `redactions` to the events about them, with
    /// `event`, in one transaction.
    async fn erase_person(
        &self,
        person: PersonId,
        pseudonym: &str,
        redactions: &[Redaction],
        event: &AuditEvent,
    ) -> Result<()>;
    /// Set a person's roles; audited.
    async fn set_roles(&self, person: PersonId, roles: &[Role], event: AuditEvent) -> Result<()>;
}

macro_rules! audit_admin_sql {
    ($module:ident, $Store:ident, $redact:ident, $take_unpurged:ident, $lower:ident, $most:ident, $rejects:expr, $sqlite:expr) => {
        #[async_trait]
        impl AuditAdminStore for super::sql::$module::$Store {
            async fn count_events(&self, f: &EventFilter) -> Result<u64> {
                use sqlx::Row as _;
                let raw = |f: EventFilter| async move {
                    let w = Where::events(&f, 1);
                    let row = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT COUNT(*) AS n FROM audit_events WHERE {}",
                            w.sql()
                        ))),
                        w.values
                    )
                    .fetch_one(self.pool())
                    .await?;
                    Ok::<_, super::StoreError>(super::sql::$module::u(row.try_get::<i64, _>("n")?))
                };
                let Some(plan) = SummaryPlan::of(f) else {
                    return raw(f.clone()).await;
                };
                let mut total = 0;
                if let Some(days) = plan.days
                    && let Some(w) = SummaryPlan::without_org_where(f, days)
                {
                    let row = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT COUNT(*) AS n FROM audit_events WHERE {}",
                            w.sql()
                        ))),
                        w.values
                    )
                    .fetch_one(self.pool())
                    .await?;
                    total += super::sql::$module::u(row.try_get::<i64, _>("n")?);
                }
                if let Some(days) = plan.days {
                    let w = SummaryPlan::summary_where(f, days);
                    let row = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM audit_daily WHERE {}",
                            w.sql()
                        ))),
                        w.values
                    )
                    .fetch_one(self.pool())
                    .await?;
                    total += super::sql::$module::u(row.try_get::<i64, _>("n")?);
                }
                for range in plan.partial {
                    total += raw(SummaryPlan::partial_filter(f, range)).await?;
                }
                Ok(total)
            }

            async fn daily_outcomes(&self, f: &EventFilter) -> Result<Vec<DayCount>> {
                use sqlx::Row as _;
                let mut counts: std::collections::BTreeMap<(i64, String), u64> =
                    std::collections::BTreeMap::new();
                let (plan_days, partial) = match SummaryPlan::of(f) {
                    Some(plan) => (plan.days, plan.partial),
                    None => (None, Vec::new()),
                };
                let mut raw_filters: Vec<EventFilter> = partial
                    .into_iter()
                    .map(|r| SummaryPlan::partial_filter(f, r))
                    .collect();
                if SummaryPlan::of(f).is_none() {
                    raw_filters.push(f.clone());
                }
                if let Some(days) = plan_days {
                    let w = SummaryPlan::summary_where(f, days);
                    let rows = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT day, outcome, CAST(SUM(n) AS BIGINT) AS n FROM audit_daily \
                             WHERE {} GROUP BY day, outcome",
                            w.sql()
                        ))),
                        w.values
                    )
                    .fetch_all(self.pool())
                    .await?;
                    for r in &rows {
                        *counts
                            .entry((r.try_get::<i64, _>("day")?, r.try_get("outcome")?))
                            .or_default() += super::sql::$module::u(r.try_get::<i64, _>("n")?);
                    }
                }
                let mut raw_wheres: Vec<Where> =
                    raw_filters.iter().map(|rf| Where::events(rf, 1)).collect();
                if let Some(days) = plan_days
                    && let Some(w) = SummaryPlan::without_org_where(f, days)
                {
                    raw_wheres.push(w);
                }
                for w in raw_wheres {
                    let rows = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT (time - ((time % 86400) + 86400) % 86400) / 86400 AS day, outcome, COUNT(*) AS n \
                             FROM audit_events WHERE {} GROUP BY 1, 2",
                            w.sql()
                        ))),
                        w.values
                    )
                    .fetch_all(self.pool())
                    .await?;
                    for r in &rows {
                        *counts
                            .entry((r.try_get::<i64, _>("day")?, r.try_get("outcome")?))
                            .or_default() += super::sql::$module::u(r.try_get::<i64, _>("n")?);
                    }
                }
                Ok(counts
                    .into_iter()
                    .map(|((day, outcome), count)| DayCount { day, outcome, count })
                    .collect())
            }

            async fn top_failures(&self, f: &EventFilter, limit: u32) -> Result<TopFailures> {
                use sqlx::Row as _;
                // The two lists side by side, each on a connection of its own. A wide filter
                // over a long range reads the summary of migration 0023 (`RejectsPlan`);
                // otherwise the rejects' indexes of 0022.
                let plan = RejectsPlan::of(f);
                let plan = &plan;
                let one = |column: &'static str| async move {
                    if let Some(plan) = plan
                        && let Some(found) = $most(self.pool(), plan, column, limit).await?
                    {
                        return Ok(found);
                    }
                    let w = Where::events(f, 1);
                    let pl = w.next_param();
                    let rows = bind_values!(
                        sqlx::query(sqlx::AssertSqlSafe(top_failures_sql(
                            column,
                            &w,
                            &pl,
                            if top_failures_narrow(f) { FailuresIndex::Narrow } else { $rejects },
                        ))),
                        w.values
                    )
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                r.try_get("what")?,
                                super::sql::$module::u(r.try_get::<i64, _>("n")?),
                            ))
                        })
                        .collect::<Result<Vec<(String, u64)>>>()
                };
                let (usernames, sources) = tokio::try_join!(one("username"), one("source"))?;
                Ok(TopFailures { usernames, sources })
            }

            async fn events_page(
                &self,
                f: &EventFilter,
                after: Option<(UnixTime, i64)>,
                limit: u32,
            ) -> Result<Vec<StoredEvent>> {
                use super::sql::$module::{EVENT_COLS, event_from_row};
                let mut w = Where::events(f, 1);
                let (cmp, order) = if f.oldest_first { (">", "ASC") } else { ("<", "DESC") };
                if let Some((time, id)) = after {
                    let (pt, pi) = (w.next_param(), format!("${}", w.values.len() + 2));
                    w.raw(&format!("time {cmp}= {pt} AND (time {cmp} {pt} OR id {cmp} {pi})"));
                    w.values.push(Value::Int(time));
                    w.values.push(Value::Int(id));
                }
                let pl = w.next_param();
                bind_values!(
                    sqlx::query(sqlx::AssertSqlSafe(select_events(
                        EVENT_COLS,
                        &w,
                        order,
                        &format!("LIMIT {pl}")
                    ))),
                    w.values
                )
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn purge_candidates(
                &self,
                kind: Option<&str>,
                except: &[String],
                from: UnixTime,
                before: UnixTime,
                limit: u32,
            ) -> Result<Vec<StoredEvent>> {
                use super::sql::$module::{EVENT_COLS, event_from_row};
                // Per kind, oldest first: the partial index on unpurged (kind, time) of
                // migration 0011, so a batch never walks over rows purged before.
                let kind_clause = match kind {
                    Some(_) => " AND kind = $2".to_owned(),
                    None => {
                        // `except` as a JSON-free list: kinds are snake_case words, checked by
                        // config. (The slow path: the service asks per kind.)
                        let except: Vec<String> = except
                            .iter()
                            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                            .map(|k| format!("'{k}'"))
                            .collect();
                        let not_in = if except.is_empty() {
                            String::new()
                        } else {
                            format!(" AND kind NOT IN ({})", except.join(", "))
                        };
                        format!("{not_in} AND ($2 = '' OR kind = $2)")
                    }
                };
                sqlx::query(sqlx::AssertSqlSafe(purge_candidates_sql(EVENT_COLS, &kind_clause)))
                .bind(before)
                .bind(kind.unwrap_or(""))
                .bind(i64::from(limit))
                .bind(from)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<StoredEvent>> {
                use super::sql::$module::{EVENT_COLS, event_from_row};
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLS} FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2"
                )))
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn last_event_id(&self) -> Result<i64> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM audit_events")
                    .fetch_one(self.pool())
                    .await?;
                Ok(row.try_get::<i64, _>("n")?)
            }

            async fn events_about(&self, person: PersonId) -> Result<Vec<StoredEvent>> {
                use super::sql::$module::{EVENT_COLS, event_from_row};
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLS} FROM audit_events WHERE person_id = $1 ORDER BY id"
                )))
                .bind(person)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn events_about_in(
                &self,
                person: PersonId,
                scope: Option<OrgId>,
            ) -> Result<Vec<StoredEvent>> {
                use super::sql::$module::{EVENT_COLS, event_from_row};
                let w = Where::events(
                    &EventFilter {
                        person_id: Some(person),
                        scope_org: scope,
                        ..EventFilter::default()
                    },
                    1,
                );
                bind_values!(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {EVENT_COLS} FROM audit_events WHERE {} ORDER BY id",
                        w.sql()
                    ))),
                    w.values
                )
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn redact_events(
                &self,
                redactions: &[Redaction],
                event: &(dyn for<'i> Fn(&'i [i64]) -> AuditEvent + Send + Sync),
            ) -> Result<Vec<i64>> {
                let mut tx = self.begin().await?;
                // Another purge (another instance's daily job, the CLI) may be at the same
                // rows. First the rows still unpurged, locked in id order on PostgreSQL (a
                // row another purge redacted meanwhile drops out once its transaction
                // commits; SQLite's write lock serialises the two). Only those are redacted
                // and named; none left: nothing is written, no event either.
                let (ids, gone) = $take_unpurged(&mut tx, redactions).await?;
                if ids.is_empty() {
                    tx.rollback().await?;
                    return Ok(ids);
                }
                // The rows are locked: the redaction finds exactly `ids` unpurged.
                $redact(&mut tx, redactions).await?;
                // The chain's lock, then the summary's rows: the order a login takes them in.
                super::sql::$module::lock_chain(&mut tx).await?;
                $lower(&mut tx, gone).await?;
                super::sql::$module::insert_event_locked(&mut tx, &event(&ids)).await?;
                tx.commit().await?;
                if $sqlite {
                    // A batch writes some hundreds of pages to the WAL. SQLite copies the WAL
                    // into the database (and syncs it) in whichever commit takes it past
                    // 1,000 pages; beside a purge that is most likely a login's, whose answer
                    // then waits for the copy. The purge copies it here instead, inside the
                    // time its pause is measured from. PASSIVE: waits for no reader or writer.
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                        .execute(self.pool())
                        .await
                    {
                        tracing::warn!(error = %e, "WAL checkpoint after a purge batch failed");
                    }
                }
                Ok(ids)
            }

            async fn erase_person(
                &self,
                person: PersonId,
                pseudonym: &str,
                redactions: &[Redaction],
                event: &AuditEvent,
            ) -> Result<()> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(
                    "UPDATE people SET username = $1, full_name = $1, email = NULL, employee_number = NULL \
                     WHERE id = $2 AND state = 'removed'",
                )
                .bind(pseudonym)
                .bind(person)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(super::StoreError::Invalid(
                        "only a removed person's identity can be erased".into(),
                    ));
                }
                // A purge may be at some of these rows: wait for it (see redact_events).
                let (_, gone) = $take_unpurged(&mut tx, redactions).await?;
                $redact(&mut tx, redactions).await?;
                for r in redactions {
                    // Events about the person that were purged already get the pseudonym
                    // too: the identity must go from every row.
                    sqlx::query(
                        "UPDATE audit_events SET username = $1, purged = TRUE WHERE id = $2 AND person_id = $3",
                    )
                    .bind(&r.username)
                    .bind(r.id)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                }
                super::sql::$module::lock_chain(&mut tx).await?;
                $lower(&mut tx, gone).await?;
                super::sql::$module::insert_event_locked(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_roles(&self, person: PersonId, roles: &[Role], event: AuditEvent) -> Result<()> {
                let mut tx = self.begin().await?;
                let done = sqlx::query("UPDATE people SET roles = $1 WHERE id = $2")
                    .bind(crate::model::roles_to_text(roles))
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(super::StoreError::NotFound(format!("person {person}")));
                }
                super::sql::$module::insert_event(&mut tx, &event).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        /// The most failures of `plan` in `column` from the summary (`RejectsPlan`), or
        /// None where its lists cannot tell (the table answers then).
        async fn $most(
            pool: &sqlx::Pool<<super::sql::$module::$Store as DbOf>::Db>,
            plan: &RejectsPlan,
            column: &'static str,
            limit: u32,
        ) -> Result<Option<Vec<(String, u64)>>> {
            use sqlx::Row as _;
            if limit == 0 {
                return Ok(Some(Vec::new()));
            }
            // An open end: from the first or to the last period the summary holds.
            let known = match plan.spans.days {
                Some((a, b)) if a.is_none() || b.is_none() => {
                    let row = sqlx::query(sqlx::AssertSqlSafe(RejectsPlan::known_sql(column)))
                        .bind(&plan.kind)
                        .fetch_one(pool)
                        .await?;
                    match (
                        row.try_get::<Option<i64>, _>("first")?,
                        row.try_get::<Option<i64>, _>("last")?,
                    ) {
                        (Some(a), Some(b)) => (a, b),
                        _ => (i64::MAX, i64::MIN),
                    }
                }
                _ => (i64::MAX, i64::MIN),
            };
            // Without a whole period nothing has a lower bound, so the lists could tell
            // only where they hold every value: the table (the indexes of 0022) answers.
            let Some(periods) = plan.periods(known).filter(|p| p.iter().any(|(_, whole)| *whole))
            else {
                return Ok(None);
            };
            for k in RejectsPlan::TRIES {
                let mut tops = Vec::with_capacity(periods.len());
                for &(period, whole) in &periods {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(RejectsPlan::top_sql(column)))
                        .bind(&plan.kind)
                        .bind(period)
                        .bind(k + 1)
                        .fetch_all(pool)
                        .await?;
                    let mut top = Vec::with_capacity(rows.len());
                    for r in &rows {
                        top.push((r.try_get::<String, _>("value")?, r.try_get::<i64, _>("n")?));
                    }
                    let rest = if top.len() as i64 > k {
                        top.pop().map_or(0, |(_, n)| n)
                    } else {
                        0
                    };
                    tops.push(PeriodTop { whole, top, rest });
                }
                let Some(candidates) = most_failures_candidates(&tops, limit as usize) else {
                    continue;
                };
                let mut totals = Vec::new();
                for chunk in candidates.chunks(500) {
                    let (sql, values) = plan.exact_sql(column, chunk, $sqlite);
                    for r in bind_values!(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
                        .fetch_all(pool)
                        .await?
                    {
                        let n: i64 = r.try_get("n")?;
                        if n > 0 {
                            totals.push((r.try_get::<String, _>("what")?, super::sql::$module::u(n)));
                        }
                    }
                }
                totals.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
                totals.truncate(limit as usize);
                return Ok(Some(totals));
            }
            Ok(None)
        }

        /// The rows of `redactions` still unpurged: their ids, ascending, and what the
        /// rejects among them count for in the most failures' summary
        /// (`audit_reject_periods`), read before the redaction and lowered by `$lower`
        /// after the chain's lock. On PostgreSQL the rows are locked (`FOR UPDATE`, in id
        /// order, so two purges cannot deadlock): the statements after this one see them
        /// as they stay until the commit.
        async fn $take_unpurged(
            conn: &mut sqlx::Transaction<'static, <super::sql::$module::$Store as DbOf>::Db>,
            redactions: &[Redaction],
        ) -> Result<(Vec<i64>, Gone)> {
            use sqlx::Row as _;
            let mut ids = Vec::new();
            let mut gone: std::collections::BTreeMap<(String, &'static str, i64, String), i64> =
                std::collections::BTreeMap::new();
            for chunk in redactions.chunks(REDACT_CHUNK) {
                let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT id, kind, time, username, source, outcome FROM audit_events \
                     WHERE id IN ({}) AND purged = FALSE ORDER BY id{}",
                    params.join(", "),
                    if $sqlite { "" } else { " FOR UPDATE" }
                )));
                for r in chunk {
                    q = q.bind(r.id);
                }
                for row in q.fetch_all(&mut **conn).await? {
                    ids.push(row.try_get::<i64, _>("id")?);
                    if row.try_get::<String, _>("outcome")? != "reject" {
                        continue;
                    }
                    let kind: String = row.try_get("kind")?;
                    let period = period_of(row.try_get("time")?);
                    for col in ["username", "source"] {
                        if let Some(value) = row.try_get::<Option<String>, _>(col)? {
                            *gone.entry((kind.clone(), col, period, value)).or_default() += 1;
                        }
                    }
                }
            }
            ids.sort_unstable();
            Ok((ids, gone.into_iter().collect()))
        }

        /// Take `gone` (from `$take_unpurged`) out of the summary, deleting what drops to nothing.
        /// Called with the chain's lock held: a login writes its reject's counts under that
        /// lock, so taking the summary's rows before it could deadlock with one.
        async fn $lower(
            conn: &mut sqlx::Transaction<'static, <super::sql::$module::$Store as DbOf>::Db>,
            gone: Gone,
        ) -> Result<()> {
            // One statement lowers the counts of a chunk of values; then each (kind, column,
            // period) touched loses its rows that reached zero (the `_top` index's range).
            let mut touched = std::collections::BTreeSet::new();
            for chunk in gone.chunks(FORGET_CHUNK) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let p = i * 5;
                        format!(
                            "(CAST(${} AS TEXT), CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS BIGINT))",
                            p + 1, p + 2, p + 3, p + 4, p + 5
                        )
                    })
                    .collect();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "WITH g (kind, col, period, value, less) AS (VALUES {}) \
                     UPDATE audit_reject_periods SET n = audit_reject_periods.n - g.less FROM g \
                     WHERE audit_reject_periods.kind = g.kind AND audit_reject_periods.col = g.col \
                     AND audit_reject_periods.value = g.value AND audit_reject_periods.period = g.period",
                    rows.join(", ")
                )));
                for ((kind, col, period, value), n) in chunk {
                    q = q.bind(kind).bind(*col).bind(*period).bind(value).bind(*n);
                    touched.insert((kind, *col, *period));
                }
                q.execute(&mut **conn).await?;
            }
            for (kind, col, period) in touched {
                sqlx::query(
                    "DELETE FROM audit_reject_periods WHERE kind = $1 AND col = $2 AND period = $3 AND n <= 0",
                )
                .bind(kind)
                .bind(col)
                .bind(period)
                .execute(&mut **conn)
                .await?;
            }
            Ok(())
        }

        /// Redact the rows of `redactions` that are not purged yet, one statement per
        /// chunk.
        async fn $redact(
            conn: &mut sqlx::Transaction<'static, <super::sql::$module::$Store as DbOf>::Db>,
            redactions: &[Redaction],
        ) -> Result<()> {
            for chunk in redactions.chunks(REDACT_CHUNK) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let p = i * 7;
                        format!(
                            "(CAST(${} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS TEXT), \
                             CAST(${} AS TEXT), CAST(${} AS TEXT), CAST(${} AS TEXT))",
                            p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7
                        )
                    })
                    .collect();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "WITH v (id, person_id, username, source, device_label, request_id, detail) AS (VALUES {}) \
                     UPDATE audit_events SET person_id = v.person_id, username = v.username, source = v.source, \
                     device_label = v.device_label, request_id = v.request_id, detail = v.detail, purged = TRUE \
                     FROM v WHERE audit_events.id = v.id AND audit_events.purged = FALSE",
                    rows.join(", ")
                )));
                for r in chunk {
                    q = q
                        .bind(r.id)
                        .bind(r.person_id)
                        .bind(&r.username)
                        .bind(&r.source)
                        .bind(&r.device_label)
                        .bind(&r.request_id)
                        .bind(&r.detail);
                }
                q.execute(&mut **conn).await?;
            }
            Ok(())
        }
    };
}

/// Counts to take out of `audit_reject_periods`: (kind, column, period, value) and how many.
type Gone = Vec<((String, &'static str, i64, String), i64)>;

/// The database type behind a store type.
trait DbOf {
    type Db: sqlx::Database;
}
impl DbOf for super::sql::sqlite::SqliteStore {
    type Db = sqlx::Sqlite;
}
impl DbOf for super::sql::postgres::PgStore {
    type Db = sqlx::Postgres;
}

audit_admin_sql!(
    sqlite,
    SqliteStore,
    redact_sqlite,
    take_unpurged_sqlite,
    lower_rejects_sqlite,
    most_from_periods_sqlite,
    FailuresIndex::RejectsNamed,
    true
);
audit_admin_sql!(
    postgres,
    PgStore,
    redact_postgres,
    take_unpurged_postgres,
    lower_rejects_postgres,
    most_from_periods_postgres,
    FailuresIndex::Rejects,
    false
);
