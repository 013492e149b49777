//! How the auditor's queries stay fast on a year of events (15 million rows):
//!
//! - [`Where`]: the WHERE clause of an [`EventFilter`] with only the fields that are set,
//!   numbered parameters bound by `bind_values!`. (A fixed `($1 IS NULL OR person_id = $1)`
//!   clause for every field reads well but defeats every index on SQLite, whose plan is made
//!   once for all values: each search scanned the whole table.)
//! - `audit_daily`, a summary kept in the event's own transaction (`insert_event`): events
//!   per UTC day, organisation (and -1 for all of them), kind, channel, outcome and reason.
//!   Counts and the per-day chart read it for whole days ([`SummaryPlan`]) and the table
//!   only for the part-days at the ends of a range. Purges and erasures change none of its
//!   columns, so it stays exact. Migration 0011 fills it for the rows already there.
//! - `audit_reject_periods`, the most failures' summary (migration 0023), also kept in
//!   the event's transaction: rejects not yet purged per kind, column (username, source),
//!   period of 30 days and value. Unlike `audit_daily` it follows the purge and erasure
//!   (`$forget` in audit_admin.rs lowers it in their transaction): the most failures count
//!   only unpurged rows. A long range reads each period's most rejected values here, and
//!   counts only the values that may be among the most ([`RejectsPlan`]); on PostgreSQL a
//!   year's lists read every reject of the year from the value-ordered indexes otherwise
//!   (some 420,000 entries each).
//! - Searches and exports are ordered by `(time, id)`, which every `(column, time)` index
//!   serves, and exports read in pages after the last row sent (keyset), never by OFFSET.
//! - An organisation's view (`EventFilter::scope_org`, an org auditor's): its events by
//!   `(org_id, time)` and its people's events without an organisation by
//!   `(person_id, time)`, joined by SQLite's multi-index OR; those rows are then sorted,
//!   so a page costs the organisation's matching rows, never a scan of the whole table.
//!   Counts read the summary for the organisation plus the table for the events without
//!   one ([`SummaryPlan::without_org_where`]).

use super::EventFilter;

/// A value bound to a numbered parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
}

/// Conditions joined with AND, and the values of their parameters in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Where {
    conditions: Vec<String>,
    pub(crate) values: Vec<Value>,
    first: usize,
}

impl Where {
    /// An empty clause whose first parameter will be `$first`.
    pub(crate) fn starting_at(first: usize) -> Self {
        Self {
            first: first.max(1),
            ..Self::default()
        }
    }

    /// The filter's set fields, parameters from `$first`.
    pub(crate) fn events(f: &EventFilter, first: usize) -> Self {
        let mut w = Self::starting_at(first);
        w.int("person_id = ", f.person_id);
        w.text("username = ", f.username.as_deref());
        w.int("org_id = ", f.org_id);
        if let Some(org) = f.scope_org {
            w.scope(org);
        }
        w.int("time >= ", f.from);
        w.int("time <= ", f.to);
        w.text("channel = ", f.channel.as_deref());
        w.text("client = ", f.client.as_deref());
        w.text("outcome = ", f.outcome.as_deref());
        w.text("reason = ", f.reason.as_deref());
        w.text("source = ", f.source.as_deref());
        w.text("kind = ", f.kind.as_deref());
        w
    }

    /// The next parameter's placeholder.
    pub(crate) fn next_param(&self) -> String {
        format!("${}", self.first + self.values.len())
    }

    /// Add `left $N` with `v` bound to `$N`, if `v` is set.
    pub(crate) fn int(&mut self, left: &str, v: Option<i64>) {
        if let Some(v) = v {
            let p = self.next_param();
            self.conditions.push(format!("{left}{p}"));
            self.values.push(Value::Int(v));
        }
    }

    pub(crate) fn text(&mut self, left: &str, v: Option<&str>) {
        if let Some(v) = v {
            let p = self.next_param();
            self.conditions.push(format!("{left}{p}"));
            self.values.push(Value::Text(v.to_owned()));
        }
    }

    /// An organisation's view (an org auditor): its own events, and events without an
    /// organisation about one of its people (portal and token events carry only the
    /// person). Events with neither (unknown usernames, the system) are not in it: they may
    /// name people of other organisations.
    pub(crate) fn scope(&mut self, org: i64) {
        let own = self.next_param();
        self.values.push(Value::Int(org));
        let people = self.people_of(org);
        self.conditions.push(format!(
            "(org_id = {own} OR (+org_id IS NULL AND person_id IN ({people})))"
        ));
    }

    /// Only the events without an organisation about a person of `org`: the part of an
    /// organisation's view that `audit_daily` (by the event's organisation) does not hold.
    pub(crate) fn without_org_about_people_of(&mut self, org: i64) {
        let people = self.people_of(org);
        self.conditions
            .push(format!("+org_id IS NULL AND person_id IN ({people})"));
    }

    /// The ids of an organisation's people, as a subquery with its parameter bound. (The
    /// `+` before `org_id IS NULL` above keeps SQLite off the organisation index there,
    /// where every event without an organisation would be a match: it walks the person
    /// index for each of the organisation's people instead.)
    fn people_of(&mut self, org: i64) -> String {
        let p = self.next_param();
        self.values.push(Value::Int(org));
        format!("SELECT id FROM people WHERE org_id = {p}")
    }

    /// A condition without a parameter.
    pub(crate) fn raw(&mut self, condition: &str) {
        self.conditions.push(condition.to_owned());
    }

    /// The clause (`1 = 1` when empty).
    pub(crate) fn sql(&self) -> String {
        if self.conditions.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.conditions.join(" AND ")
        }
    }
}

/// Events matching `w` in `(time, id)` order (`order`: ASC or DESC), then `tail` (LIMIT...).
pub(crate) fn select_events(columns: &str, w: &Where, order: &str, tail: &str) -> String {
    format!(
        "SELECT {columns} FROM audit_events WHERE {} ORDER BY time {order}, id {order} {tail}",
        w.sql()
    )
}

/// How the most failures read the table where [`RejectsPlan`] does not apply or cannot tell:
/// [`FailuresIndex::Narrow`] where the filter names
/// a person, username, organisation or source ([`top_failures_narrow`]): their own
/// `(column, time)` index finds few rows, and `outcome || ''` keeps the planner off the
/// reject index. Otherwise the partial reject index of migration 0022, ordered by the value
/// so the GROUP BY streams: it reads every unpurged reject of the kind (about 50 ms for a
/// year of 15 million events, 30 ms for a day), where a time-ordered index would fetch
/// every row of the range from the table (300 ms for 30 days). SQLite's planner, with the
/// statistics of ANALYZE, took the `(kind, time)` index of unpurged rows instead, so on
/// SQLite the index is named (`INDEXED BY`); PostgreSQL's planner costs it by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailuresIndex {
    Narrow,
    Rejects,
    /// The reject index, named (SQLite).
    RejectsNamed,
}

/// The `column` values (username, source) with most rejects among events matching `w`,
/// not yet purged (a purged row's username is a pseudonym, its source is gone). The
/// conditions are literals: the partial indexes of migration 0022 need them.
pub(crate) fn top_failures_sql(
    column: &str,
    w: &Where,
    limit_param: &str,
    index: FailuresIndex,
) -> String {
    // Narrow: written so that no partial index applies (SQLite matches a partial index's
    // condition by its form): neither the reject index nor the `(kind, time)` index of
    // unpurged rows, which, without ANALYZE's statistics, SQLite took for a person's list
    // (a year of every login attempt, where the person's index holds a few hundred rows).
    let (hint, outcome, unpurged) = match index {
        FailuresIndex::Narrow => (String::new(), "outcome || ''", "NOT purged"),
        FailuresIndex::Rejects => (String::new(), "outcome", "purged = FALSE"),
        FailuresIndex::RejectsNamed => (
            format!(" INDEXED BY audit_rejects_{column}"),
            "outcome",
            "purged = FALSE",
        ),
    };
    format!(
        "SELECT {column} AS what, COUNT(*) AS n FROM audit_events{hint} \
         WHERE {} AND {outcome} = 'reject' AND {column} IS NOT NULL AND {unpurged} \
         GROUP BY {column} ORDER BY n DESC, {column} LIMIT {limit_param}",
        w.sql()
    )
}

/// Whether `f` names what an index of its own narrows to a few rows (a person, username,
/// organisation or source): the most failures then read those rows, not the reject index.
pub(crate) fn top_failures_narrow(f: &EventFilter) -> bool {
    f.person_id.is_some()
        || f.username.is_some()
        || f.org_id.is_some()
        || f.scope_org.is_some()
        || f.source.is_some()
}

/// The length of a period of `audit_reject_periods` (migration 0023): 30 days.
pub const REJECT_PERIOD: i64 = 30 * 86_400;

/// The period of `audit_reject_periods` a Unix time falls in.
pub(crate) fn period_of(time: i64) -> i64 {
    time.div_euclid(REJECT_PERIOD)
}

/// The rows an event adds to `audit_reject_periods` (a reject's username and source, those
/// it has), as an upsert with parameters from `$1`, and their values; None for no row.
pub(crate) fn reject_periods_upsert(
    kind: &str,
    time: i64,
    username: Option<&str>,
    source: Option<&str>,
) -> Option<(String, Vec<Value>)> {
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for (col, value) in [("username", username), ("source", source)] {
        if let Some(value) = value {
            let n = values.len();
            rows.push(format!("(${}, '{col}', ${}, ${}, 1)", n + 1, n + 2, n + 3));
            values.push(Value::Text(kind.to_owned()));
            values.push(Value::Int(period_of(time)));
            values.push(Value::Text(value.to_owned()));
        }
    }
    if rows.is_empty() {
        return None;
    }
    Some((
        format!(
            "INSERT INTO audit_reject_periods (kind, col, period, value, n) VALUES {} \
             ON CONFLICT (kind, col, value, period) DO UPDATE SET n = audit_reject_periods.n + 1",
            rows.join(", ")
        ),
        values,
    ))
}

/// How the most failures of a wide filter (no person, username, organisation or source:
/// [`top_failures_narrow`]) read a long range from `audit_reject_periods`, as a threshold
/// algorithm over its periods of 30 days: the `k` values with most rejects in each period
/// that the range touches (an index on `(kind, col, period, n)`), and the count of the next
/// one there, bound what any value can have; the values that may be among the most are
/// then counted exactly, the whole periods from the summary and the part-periods at the
/// ends from the value-ordered reject indexes of migration 0022, one probe per value
/// ([`most_failures_candidates`]). Where a few values stand out (an attacker's address,
/// the usernames a spray tries) that reads some thousand summary rows instead of every
/// reject of the year. Where they do not, a larger `k` is tried, then the table; a range
/// without a whole period (the default page's 30 days) goes to the table at once.
///
/// None (the table answers) when the summary cannot: no kind (the chart always names one),
/// a channel, client or reason, or an outcome other than reject, which it does not hold;
/// an empty range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RejectsPlan {
    pub(crate) kind: String,
    /// Whole periods (first, last; None: unbounded) and the time ranges at the ends.
    pub(crate) spans: SummaryPlan,
}

impl RejectsPlan {
    /// The `k` values tried per period, in turn, before the table.
    pub(crate) const TRIES: [i64; 2] = [64, 512];
    /// At most this many periods (a range of some 5 years) are read period by period.
    pub(crate) const MAX_PERIODS: i64 = 64;

    pub(crate) fn of(f: &EventFilter) -> Option<Self> {
        if top_failures_narrow(f)
            || f.channel.is_some()
            || f.client.is_some()
            || f.reason.is_some()
            || f.outcome.as_deref().is_some_and(|o| o != "reject")
        {
            return None;
        }
        let kind = f.kind.clone()?;
        let spans = SummaryPlan::spans(f.from, f.to, REJECT_PERIOD);
        if spans.days.is_none() && spans.partial.is_empty() {
            return None;
        }
        Some(Self { kind, spans })
    }

    /// The periods the range touches, whole or in part (`known`: the first and last period
    /// the summary holds, for an open end), each with whether it is whole; None when there
    /// are more than [`Self::MAX_PERIODS`].
    pub(crate) fn periods(&self, known: (i64, i64)) -> Option<Vec<(i64, bool)>> {
        let mut first = i64::MAX;
        let mut last = i64::MIN;
        let mut whole = (i64::MAX, i64::MIN);
        if let Some((a, b)) = self.spans.days {
            let (a, b) = (a.unwrap_or(known.0), b.unwrap_or(known.1));
            if a <= b {
                (first, last, whole) = (a, b, (a, b));
            }
        }
        for (lo, hi) in &self.spans.partial {
            first = first.min(period_of(*lo));
            last = last.max(period_of(*hi));
        }
        if first > last {
            return Some(Vec::new());
        }
        if last - first >= Self::MAX_PERIODS {
            return None;
        }
        Some(
            (first..=last)
                .map(|p| (p, whole.0 <= p && p <= whole.1))
                .collect(),
        )
    }

    /// The `k` + 1 values of `column` with most rejects in one period: kind $1, period $2,
    /// `k` + 1 $3.
    pub(crate) fn top_sql(column: &str) -> String {
        format!(
            "SELECT value, n FROM audit_reject_periods WHERE kind = $1 AND col = '{column}' \
             AND period = $2 AND n > 0 ORDER BY n DESC LIMIT $3"
        )
    }

    /// The first and last period of `column` the summary holds: kind $1.
    pub(crate) fn known_sql(column: &str) -> String {
        format!(
            "SELECT MIN(period) AS first, MAX(period) AS last FROM audit_reject_periods \
             WHERE kind = $1 AND col = '{column}'"
        )
    }

    /// The rejects of each of `names` over the range: the whole periods from the summary,
    /// each part-period from the table (on SQLite naming the value-ordered index of
    /// migration 0022: `sqlite`).
    pub(crate) fn exact_sql(
        &self,
        column: &str,
        names: &[String],
        sqlite: bool,
    ) -> (String, Vec<Value>) {
        let mut values: Vec<Value> = Vec::new();
        let mut parts = Vec::new();
        let push_names = |values: &mut Vec<Value>| {
            let first = values.len() + 1;
            values.extend(names.iter().map(|n| Value::Text(n.clone())));
            (first..first + names.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some((first, last)) = self.spans.days {
            let list = push_names(&mut values);
            let mut w = Where::starting_at(values.len() + 1);
            w.text("kind = ", Some(&self.kind));
            w.int("period >= ", first);
            w.int("period <= ", last);
            parts.push(format!(
                "SELECT value AS what, n FROM audit_reject_periods WHERE col = '{column}' \
                 AND value IN ({list}) AND {}",
                w.sql()
            ));
            values.extend(w.values);
        }
        let hint = if sqlite {
            format!(" INDEXED BY audit_rejects_{column}")
        } else {
            String::new()
        };
        for (lo, hi) in &self.spans.partial {
            let list = push_names(&mut values);
            let mut e = Where::starting_at(values.len() + 1);
            e.text("kind = ", Some(&self.kind));
            e.int("time >= ", Some(*lo));
            e.int("time <= ", Some(*hi));
            parts.push(format!(
                "SELECT {column} AS what, COUNT(*) AS n FROM audit_events{hint} WHERE {} \
                 AND {column} IN ({list}) AND outcome = 'reject' AND {column} IS NOT NULL \
                 AND purged = FALSE GROUP BY {column}",
                e.sql()
            ));
            values.extend(e.values);
        }
        (
            format!(
                "SELECT what, CAST(SUM(n) AS BIGINT) AS n FROM ({}) AS t GROUP BY what",
                parts.join(" UNION ALL ")
            ),
            values,
        )
    }
}

/// One period's values with most rejects, as `audit_reject_periods` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeriodTop {
    /// Whether the period lies wholly within the range (its counts are the range's).
    pub(crate) whole: bool,
    /// Its `k` values with most rejects (fewer when it has fewer).
    pub(crate) top: Vec<(String, i64)>,
    /// The count of the next value: the most any value not in `top` has there (0: none).
    pub(crate) rest: i64,
}

/// The values that may be among the `limit` with most rejects over the periods, or None
/// when the lists are too short to tell. A value in no list has at most the sum of the
/// `rest`s (B) in all; a value's upper bound is its counts where listed plus the `rest`
/// elsewhere, its lower bound its counts in the whole periods. With L the `limit`-th
/// largest lower bound, a value whose upper bound is below L cannot be among them (at
/// least `limit` values have L or more), so when B < L (or B = 0: every value is listed)
/// the values with an upper bound of L or more hold the answer.
pub(crate) fn most_failures_candidates(periods: &[PeriodTop], limit: usize) -> Option<Vec<String>> {
    let bound: i64 = periods.iter().map(|p| p.rest).sum();
    // value -> (lower bound, upper bound above `bound`)
    let mut seen: std::collections::HashMap<&str, (i64, i64)> = std::collections::HashMap::new();
    for p in periods {
        for (value, n) in &p.top {
            let e = seen.entry(value.as_str()).or_default();
            if p.whole {
                e.0 += n;
            }
            e.1 += n - p.rest;
        }
    }
    let mut lower: Vec<i64> = seen.values().map(|(lb, _)| *lb).collect();
    lower.sort_unstable_by(|a, b| b.cmp(a));
    let l = lower.get(limit.max(1) - 1).copied().unwrap_or(0);
    if bound != 0 && bound >= l {
        return None;
    }
    let mut out: Vec<String> = seen
        .into_iter()
        .filter(|(_, (_, above))| bound + above >= l)
        .map(|(v, _)| v.to_owned())
        .collect();
    out.sort();
    Some(out)
}

/// Unpurged events older than $1 and not older than $4 (`kind_clause` narrows them; $3: the
/// limit), oldest first: `purged = FALSE` as a literal for the partial index of migration
/// 0011. $4 is where the purge's last batch ended: on PostgreSQL a purged row's entry stays
/// in that index until VACUUM, so without it each batch walked every row purged before it
/// (on 15 million events a purge slowed from about 1,000 to under 300 rows/s).
pub(crate) fn purge_candidates_sql(columns: &str, kind_clause: &str) -> String {
    format!(
        "SELECT {columns} FROM audit_events \
         WHERE purged = FALSE AND time < $1 AND time >= $4{kind_clause} \
         AND kind <> 'audit_purged' ORDER BY time LIMIT $3"
    )
}

/// Bind `Where::values` (in order) to a query.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values.iter() {
            q = match v {
                $crate::store::filter::Value::Int(i) => q.bind(*i),
                $crate::store::filter::Value::Text(t) => q.bind(t.clone()),
            };
        }
        q
    }};
}
pub(crate) use bind_values;

/// An audit event's row ($1..$18; the chain's hashes included), as a literal for `concat!`.
macro_rules! insert_event_sql {
    () => {
        "INSERT INTO audit_events (id, time, kind, actor, person_id, username, org_id, channel, client, source, device_id, device_label, outcome, reason, request_id, detail, content_hash, chain_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    };
}

/// An upsert into the per-day summary of the rows `$values` (each a count of 1).
macro_rules! daily_upsert_sql {
    ($values:expr) => {
        concat!(
            "INSERT INTO audit_daily (day, org_id, kind, channel, outcome, reason, n) VALUES ",
            $values,
            " ON CONFLICT (org_id, kind, day, channel, outcome, reason) DO UPDATE SET n = audit_daily.n + 1"
        )
    };
}

/// The per-day summary's two rows for an event written by [`insert_event_sql`]'s
/// parameters: $19 is the event's day, the rest are the event's own ($3 kind, $8 channel,
/// $13 outcome, $14 reason, $7 organisation); one row for its organisation (0: none) and one
/// for all (-1).
macro_rules! daily_rows_of_event {
    () => {
        "($19, -1, $3, $8, $13, COALESCE($14, ''), 1), ($19, COALESCE($7, 0), $3, $8, $13, COALESCE($14, ''), 1)"
    };
}

/// SQLite: the event's row and its count in the per-day summary, two statements sent to
/// the connection's worker thread as one command (a round trip and two thread switches
/// fewer per event than a command each). sqlx runs every statement of a SQLite query, each
/// binding the `$N` it names. sqlx 0.9 calls that deprecated; the store tests
/// (`summary_counts_equal_the_rows`, `a_right_code_and_its_races_are_recorded_alike`) fail
/// when a later sqlx stops doing it.
pub(crate) const INSERT_EVENT_THEN_DAILY: &str = concat!(
    insert_event_sql!(),
    "; ",
    daily_upsert_sql!(daily_rows_of_event!())
);

/// PostgreSQL: the event's row and its per-day count in one statement (a data-modifying
/// WITH runs once, to completion, though nothing reads it); parameters as
/// [`INSERT_EVENT_THEN_DAILY`]'s.
pub(crate) const INSERT_EVENT_AND_DAILY: &str = concat!(
    "WITH event AS (",
    insert_event_sql!(),
    ") ",
    daily_upsert_sql!(daily_rows_of_event!())
);

/// The UTC day of a Unix time.
pub(crate) fn day_of(time: i64) -> i64 {
    time.div_euclid(86_400)
}

/// How to answer a count or a per-day count from the summary: whole days from
/// `audit_daily`, the part-days at the ends from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SummaryPlan {
    /// Whole days to read from the summary, first and last (inclusive; None: unbounded);
    /// None when the range holds no whole day. (Periods, for [`RejectsPlan`].)
    pub(crate) days: Option<(Option<i64>, Option<i64>)>,
    /// Time ranges (inclusive) to count from the table.
    pub(crate) partial: Vec<(i64, i64)>,
}

impl SummaryPlan {
    /// The plan for `f`, or None when the summary cannot answer it (a person, username,
    /// client or source is asked for: those have indexes of their own; or an organisation
    /// other than the viewer's: nothing, which the table answers).
    pub(crate) fn of(f: &EventFilter) -> Option<Self> {
        if f.person_id.is_some() || f.username.is_some() || f.client.is_some() || f.source.is_some()
        {
            return None;
        }
        if let (Some(scope), Some(org)) = (f.scope_org, f.org_id)
            && scope != org
        {
            return None;
        }
        Some(Self::spans(f.from, f.to, 86_400))
    }

    /// The whole spans of `span` seconds (days, or the periods of `audit_reject_periods`)
    /// within `lo..=hi`, numbered since the epoch, and the time ranges left at the ends.
    pub(crate) fn spans(lo: Option<i64>, hi: Option<i64>, span: i64) -> Self {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            return Self {
                days: None,
                partial: Vec::new(),
            };
        }
        // The first span that starts at or after `lo`, the last that ends at or before `hi`.
        let first = lo.map(|t| t.div_euclid(span) + i64::from(t.rem_euclid(span) != 0));
        let last = hi.map(|t| t.saturating_add(1).div_euclid(span) - 1);
        if let (Some(a), Some(b), Some(lo), Some(hi)) = (first, last, lo, hi)
            && a > b
        {
            return Self {
                days: None,
                partial: vec![(lo, hi)],
            };
        }
        let mut partial = Vec::new();
        if let (Some(lo), Some(a)) = (lo, first)
            && lo < a * span
        {
            partial.push((lo, a * span - 1));
        }
        if let (Some(hi), Some(b)) = (hi, last)
            && hi > (b + 1) * span - 1
        {
            partial.push(((b + 1) * span, hi));
        }
        Self {
            days: Some((first, last)),
            partial,
        }
    }

    /// The summary's WHERE clause for `f` over the whole days, parameters from `$1`.
    pub(crate) fn summary_where(f: &EventFilter, days: (Option<i64>, Option<i64>)) -> Where {
        let mut w = Where::starting_at(1);
        w.int("org_id = ", Some(f.org_id.or(f.scope_org).unwrap_or(-1)));
        w.text("kind = ", f.kind.as_deref());
        w.int("day >= ", days.0);
        w.int("day <= ", days.1);
        w.text("channel = ", f.channel.as_deref());
        w.text("outcome = ", f.outcome.as_deref());
        w.text("reason = ", f.reason.as_deref());
        w
    }

    /// An organisation's view over the whole days also holds the events without an
    /// organisation about its people, which the summary counts under no organisation:
    /// their WHERE clause on the table (parameters from `$1`), or None when `f` is no
    /// organisation's view or names the organisation itself (then only its own events).
    pub(crate) fn without_org_where(
        f: &EventFilter,
        days: (Option<i64>, Option<i64>),
    ) -> Option<Where> {
        let org = f.scope_org.filter(|_| f.org_id.is_none())?;
        let whole_days = EventFilter {
            from: days.0.map(|d| d * 86_400),
            to: days.1.map(|d| (d + 1) * 86_400 - 1),
            scope_org: None,
            ..f.clone()
        };
        let mut w = Where::events(&whole_days, 1);
        w.without_org_about_people_of(org);
        Some(w)
    }

    /// `f` narrowed to one of the part-day ranges.
    pub(crate) fn partial_filter(f: &EventFilter, range: (i64, i64)) -> EventFilter {
        EventFilter {
            from: Some(range.0),
            to: Some(range.1),
            ..f.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn plan(from: Option<i64>, to: Option<i64>) -> Option<SummaryPlan> {
        SummaryPlan::of(&EventFilter {
            from,
            to,
            ..EventFilter::default()
        })
    }

    #[test]
    fn only_set_fields_become_conditions() {
        let w = Where::events(&EventFilter::default(), 1);
        assert_eq!((w.sql().as_str(), w.values.len()), ("1 = 1", 0));
        let w = Where::events(
            &EventFilter {
                org_id: Some(7),
                from: Some(100),
                kind: Some("login_attempt".into()),
                ..EventFilter::default()
            },
            3,
        );
        assert_eq!(w.sql(), "org_id = $3 AND time >= $4 AND kind = $5");
        assert_eq!(
            w.values,
            [
                Value::Int(7),
                Value::Int(100),
                Value::Text("login_attempt".into())
            ]
        );
        assert_eq!(w.next_param(), "$6");
        // An organisation's view: its events, and those without one about its people.
        let w = Where::events(
            &EventFilter {
                scope_org: Some(7),
                kind: Some("login_attempt".into()),
                ..EventFilter::default()
            },
            1,
        );
        assert_eq!(
            w.sql(),
            "(org_id = $1 OR (+org_id IS NULL AND person_id IN (SELECT id FROM people WHERE org_id = $2))) AND kind = $3"
        );
        assert_eq!(
            w.values,
            [
                Value::Int(7),
                Value::Int(7),
                Value::Text("login_attempt".into())
            ]
        );
    }

    #[test]
    fn an_organisations_view_reads_its_summary_and_the_events_without_one() {
        let f = EventFilter {
            scope_org: Some(7),
            kind: Some("login_attempt".into()),
            ..EventFilter::default()
        };
        let w = SummaryPlan::summary_where(&f, (Some(10), Some(11)));
        assert_eq!(
            w.sql(),
            "org_id = $1 AND kind = $2 AND day >= $3 AND day <= $4"
        );
        assert_eq!(w.values[0], Value::Int(7));
        let w = SummaryPlan::without_org_where(&f, (Some(10), Some(11))).expect("needed");
        assert_eq!(
            w.sql(),
            "time >= $1 AND time <= $2 AND kind = $3 AND +org_id IS NULL AND person_id IN (SELECT id FROM people WHERE org_id = $4)"
        );
        assert_eq!(
            w.values[..2],
            [Value::Int(10 * DAY), Value::Int(12 * DAY - 1)]
        );
        // Naming the organisation itself: its own events only, all in the summary.
        let own = EventFilter {
            org_id: Some(7),
            ..f.clone()
        };
        assert!(SummaryPlan::without_org_where(&own, (None, None)).is_none());
        // Another organisation: not from the summary (the table answers: nothing).
        let other = EventFilter {
            org_id: Some(8),
            ..f.clone()
        };
        assert_eq!(SummaryPlan::of(&other), None);
        // The provider's view: no such part.
        assert!(SummaryPlan::without_org_where(&EventFilter::default(), (None, None)).is_none());
    }

    #[test]
    fn whole_days_from_the_summary_part_days_from_the_table() {
        // Unbounded: everything from the summary.
        assert_eq!(
            plan(None, None),
            Some(SummaryPlan {
                days: Some((None, None)),
                partial: vec![]
            })
        );
        // Whole days exactly (a date's start to a date's end).
        assert_eq!(
            plan(Some(10 * DAY), Some(12 * DAY - 1)),
            Some(SummaryPlan {
                days: Some((Some(10), Some(11))),
                partial: vec![]
            })
        );
        // Part-days at both ends.
        assert_eq!(
            plan(Some(10 * DAY + 5), Some(13 * DAY + 7)),
            Some(SummaryPlan {
                days: Some((Some(11), Some(12))),
                partial: vec![(10 * DAY + 5, 11 * DAY - 1), (13 * DAY, 13 * DAY + 7)]
            })
        );
        // Within one day, or across midnight without a whole day: the table only.
        assert_eq!(
            plan(Some(10 * DAY + 5), Some(10 * DAY + 9)),
            Some(SummaryPlan {
                days: None,
                partial: vec![(10 * DAY + 5, 10 * DAY + 9)]
            })
        );
        assert_eq!(
            plan(Some(10 * DAY + 5), Some(11 * DAY + 9)),
            Some(SummaryPlan {
                days: None,
                partial: vec![(10 * DAY + 5, 11 * DAY + 9)]
            })
        );
        // Open at one end; before the epoch too.
        assert_eq!(
            plan(Some(-DAY - 1), None),
            Some(SummaryPlan {
                days: Some((Some(-1), None)),
                partial: vec![(-DAY - 1, -DAY - 1)]
            })
        );
        assert_eq!(
            plan(Some(5), Some(4)),
            Some(SummaryPlan {
                days: None,
                partial: vec![]
            })
        );
        // A person, username, client or source: not from the summary.
        assert_eq!(
            SummaryPlan::of(&EventFilter {
                source: Some("192.0.2.1".into()),
                ..EventFilter::default()
            }),
            None
        );
    }

    #[test]
    fn the_most_failures_read_whole_periods_from_their_summary() {
        const P: i64 = REJECT_PERIOD;
        let year = EventFilter {
            kind: Some("login_attempt".into()),
            from: Some(3 * P + 5),
            to: Some(15 * P + 7),
            ..EventFilter::default()
        };
        let plan = RejectsPlan::of(&year).expect("a plan");
        assert_eq!(plan.spans.days, Some((Some(4), Some(14))));
        assert_eq!(
            plan.spans.partial,
            [(3 * P + 5, 4 * P - 1), (15 * P, 15 * P + 7)]
        );
        // Periods 3 and 15 in part, 4..=14 whole.
        let periods = plan.periods((i64::MAX, i64::MIN)).expect("a few");
        assert_eq!(periods.len(), 13);
        assert_eq!(
            (periods[0], periods[1], periods[12]),
            ((3, false), (4, true), (15, false))
        );
        let names = ["admin".to_owned(), "root".to_owned()];
        let (sql, values) = plan.exact_sql("username", &names, true);
        assert_eq!(
            sql,
            "SELECT what, CAST(SUM(n) AS BIGINT) AS n FROM (\
             SELECT value AS what, n FROM audit_reject_periods WHERE col = 'username' AND value IN ($1, $2) AND kind = $3 AND period >= $4 AND period <= $5 \
             UNION ALL SELECT username AS what, COUNT(*) AS n FROM audit_events INDEXED BY audit_rejects_username WHERE kind = $8 AND time >= $9 AND time <= $10 AND username IN ($6, $7) AND outcome = 'reject' AND username IS NOT NULL AND purged = FALSE GROUP BY username \
             UNION ALL SELECT username AS what, COUNT(*) AS n FROM audit_events INDEXED BY audit_rejects_username WHERE kind = $13 AND time >= $14 AND time <= $15 AND username IN ($11, $12) AND outcome = 'reject' AND username IS NOT NULL AND purged = FALSE GROUP BY username\
             ) AS t GROUP BY what"
        );
        assert_eq!(values.len(), 15);
        assert_eq!(values[5], Value::Text("admin".into()));
        assert_eq!(values[7], Value::Text("login_attempt".into()));
        // An open start: from the first period the summary holds; too many periods: none.
        let open = RejectsPlan::of(&EventFilter {
            from: None,
            ..year.clone()
        })
        .expect("a plan");
        assert_eq!(
            open.periods((10, 20)).expect("a few").first(),
            Some(&(10, true))
        );
        assert_eq!(open.periods((i64::MAX, i64::MIN)).expect("none").len(), 1);
        assert_eq!(open.periods((-100, 20)), None);
        // What the summary does not hold goes to the table: a person, organisation, source,
        // channel, client or reason, another outcome, no kind; and an empty range.
        for f in [
            EventFilter {
                person_id: Some(1),
                ..year.clone()
            },
            EventFilter {
                scope_org: Some(1),
                ..year.clone()
            },
            EventFilter {
                source: Some("192.0.2.1".into()),
                ..year.clone()
            },
            EventFilter {
                channel: Some("radius".into()),
                ..year.clone()
            },
            EventFilter {
                reason: Some("bad_code".into()),
                ..year.clone()
            },
            EventFilter {
                outcome: Some("accept".into()),
                ..year.clone()
            },
            EventFilter {
                kind: None,
                ..year.clone()
            },
            EventFilter {
                from: Some(9),
                to: Some(8),
                ..year.clone()
            },
        ] {
            assert_eq!(RejectsPlan::of(&f), None, "{f:?}");
        }
        // Within a period: the table only, by time.
        let week = EventFilter {
            from: Some(3 * P + 5),
            to: Some(3 * P + 9),
            ..year.clone()
        };
        let plan = RejectsPlan::of(&week).expect("a plan");
        assert_eq!(
            (plan.spans.days, plan.spans.partial),
            (None, vec![(3 * P + 5, 3 * P + 9)])
        );
        // A reject's upsert: the values it has.
        let (sql, values) =
            reject_periods_upsert("login_attempt", P + 1, None, Some("192.0.2.1")).expect("a row");
        assert!(
            sql.contains("VALUES ($1, 'source', $2, $3, 1) ON CONFLICT"),
            "{sql}"
        );
        assert_eq!(values[1], Value::Int(1));
        assert!(reject_periods_upsert("login_attempt", 0, None, None).is_none());
    }

    fn top(whole: bool, top: &[(&str, i64)], rest: i64) -> PeriodTop {
        PeriodTop {
            whole,
            top: top.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect(),
            rest,
        }
    }

    #[test]
    fn the_few_values_that_may_be_among_the_most() {
        // Two whole periods and a part: "spray" stands out, "ann" may be second.
        let periods = [
            top(true, &[("spray", 90), ("ann", 9)], 3),
            top(true, &[("spray", 80), ("bob", 7)], 4),
            top(false, &[("spray", 50), ("ann", 6)], 2),
        ];
        // Anything unlisted has at most 3 + 4 + 2 = 9; "spray" at least 170.
        assert_eq!(
            most_failures_candidates(&periods, 1),
            Some(vec!["spray".to_owned()])
        );
        // The second: lower bounds 170, 9, 7: L = 9 is not above 9.
        assert_eq!(most_failures_candidates(&periods, 2), None);
        // Every value listed (nothing left over anywhere): those that may beat "a", which
        // has 2 for sure ("b" has 1 at most, "c" up to 5 in the part-period).
        let all = [
            top(true, &[("a", 2), ("b", 1)], 0),
            top(false, &[("c", 5)], 0),
        ];
        assert_eq!(
            most_failures_candidates(&all, 1),
            Some(vec!["a".to_owned(), "c".to_owned()])
        );
        // A plateau of equals longer than the lists: cannot tell.
        let flat = [
            top(true, &[("a", 5), ("b", 5)], 5),
            top(true, &[("c", 5), ("d", 5)], 5),
        ];
        assert_eq!(most_failures_candidates(&flat, 1), None);
        // No periods: nothing.
        assert_eq!(most_failures_candidates(&[], 10), Some(vec![]));
    }

    /// The queries of the auditor's pages, the exports and the purge are index ranges on
    /// SQLite, never a scan of the whole table (the plan SQLite makes for them, on the
    /// schema the migrations make).
    #[tokio::test]
    async fn auditor_queries_use_indexes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::store::SqliteStore::connect(&url, 1).await.unwrap();
        let plan = |sql: String, values: Vec<Value>| {
            let pool = store.pool().clone();
            async move {
                let q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(format!(
                    "EXPLAIN QUERY PLAN {sql}"
                )));
                let mut q = q;
                for v in &values {
                    q = match v {
                        Value::Int(i) => q.bind(*i),
                        Value::Text(t) => q.bind(t.clone()),
                    };
                }
                let rows = q.bind(50i64).bind(0i64).fetch_all(&pool).await.unwrap();
                rows.into_iter()
                    .map(|r| r.3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
        };
        let week = EventFilter {
            org_id: Some(7),
            from: Some(100),
            to: Some(700_000),
            ..EventFilter::default()
        };
        let person = EventFilter {
            person_id: Some(42),
            ..EventFilter::default()
        };
        let source = EventFilter {
            source: Some("192.0.2.1".into()),
            ..EventFilter::default()
        };
        let year = EventFilter {
            kind: Some("login_attempt".into()),
            from: Some(100),
            ..EventFilter::default()
        };
        let cases = [
            ("search by person", {
                let w = Where::events(&person, 1);
                (
                    select_events("id", &w, "DESC", "LIMIT $2 OFFSET $3"),
                    w.values,
                    "audit_person_time",
                )
            }),
            ("organisation and week", {
                let w = Where::events(&week, 1);
                (
                    select_events("id", &w, "DESC", "LIMIT $4 OFFSET $5"),
                    w.values,
                    "audit_org_time",
                )
            }),
            ("an organisation's view, a week", {
                let f = EventFilter {
                    scope_org: Some(7),
                    org_id: None,
                    ..week.clone()
                };
                let w = Where::events(&f, 1);
                (
                    select_events("id", &w, "DESC", "LIMIT $5 OFFSET $6"),
                    w.values,
                    "audit_org_time",
                )
            }),
            ("an organisation's events without one, a year", {
                let w = SummaryPlan::without_org_where(
                    &EventFilter {
                        scope_org: Some(7),
                        ..year.clone()
                    },
                    (Some(1), None),
                )
                .expect("a view");
                (
                    format!(
                        "SELECT COUNT(*) FROM audit_events WHERE {} LIMIT $4 OFFSET $5",
                        w.sql()
                    ),
                    w.values,
                    "audit_person_time",
                )
            }),
            ("by source", {
                let w = Where::events(&source, 1);
                (
                    select_events("id", &w, "DESC", "LIMIT $2 OFFSET $3"),
                    w.values,
                    "audit_source_time",
                )
            }),
            ("most failures, usernames", {
                let w = Where::events(&year, 1);
                (
                    top_failures_sql("username", &w, "$3", FailuresIndex::RejectsNamed),
                    w.values,
                    "audit_rejects_username",
                )
            }),
            ("most failures, sources", {
                let w = Where::events(&year, 1);
                (
                    top_failures_sql("source", &w, "$3", FailuresIndex::RejectsNamed),
                    w.values,
                    "audit_rejects_source",
                )
            }),
            ("a person's most failures, a year", {
                let f = EventFilter {
                    person_id: Some(42),
                    ..year.clone()
                };
                let w = Where::events(&f, 1);
                (
                    top_failures_sql("username", &w, "$4", FailuresIndex::Narrow),
                    w.values,
                    "audit_person_time",
                )
            }),
            ("purge batch", {
                let sql = purge_candidates_sql("id", " AND kind = $2");
                (
                    sql,
                    vec![
                        Value::Int(100),
                        Value::Text("login_attempt".into()),
                        Value::Int(100),
                        Value::Int(0),
                    ],
                    "audit_unpurged_kind_time",
                )
            }),
        ];
        for (what, (sql, values, index)) in cases {
            let p = plan(sql, values).await;
            assert!(p.contains(index), "{what}: {p}");
            assert!(
                !p.split(" | ").any(|step| step == "SCAN audit_events"),
                "{what} scans the table: {p}"
            );
        }
    }
}
