//! A year of a 10,000-person platform, written straight into the gateway's database:
//! organisations, people (one shared bench password, hashed once), devices (TOTP seeds
//! sealed with the gateway's key, as the gateway seals them), and audit events with a
//! realistic mix (logins by hour of day and weekday, 3 % failures with their reasons, a
//! few attacking sources, OIDC tokens, admin and auditor events), hash-chained exactly as
//! `insert_event` chains them (`audit_chain::{encode, content_hash, chain_hash}`), with a
//! signed checkpoint at the end of every day and the summaries (`audit_daily`,
//! `audit_reject_periods`) filled, so `mfa-gateway audit verify` passes and the auditor's
//! pages read the summaries.
//!
//! Fast: large transactions, SQLite multi-row INSERTs (10 rows a statement, one prepared statement) with
//! `synchronous = OFF` for the load, PostgreSQL `COPY ... FROM STDIN`; the audit table's
//! secondary indexes are dropped during the load and made again after it (one sorted build
//! each instead of 15 million index updates). For a throwaway bench database only.

mod db;

use anyhow::{Context, bail};
use db::{
    Db, EventRow, Writer, drop_indexes, exec, finish_db, hex_literal, insert_values, select_ids,
    select_pairs, sizes, write_reject_periods, write_summary,
};
use mfa_gateway::audit::{AuditEvent, Channel, EventKind, Outcome};
use mfa_gateway::audit_chain::{self, Checkpoint, EventContent};
use mfa_gateway::config::Config;
use mfa_gateway::crypto::MasterKey;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub orgs: usize,
    pub people: usize,
    pub devices: usize,
    pub events: u64,
    pub days: u32,
    /// The last second of the year (Unix time); default now.
    pub end: i64,
    /// Every person's password (no blanks: the users file is split at them).
    pub password: String,
    /// Write `username password base32-seed` lines (radius-load's --users) here.
    pub users_file: Option<PathBuf>,
    /// The seed of the generator: the same seed, the same data.
    pub seed: u64,
    /// Events per transaction.
    pub batch: usize,
    /// Drop the audit table's secondary indexes during the load, make them after.
    pub defer_indexes: bool,
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            orgs: 300,
            people: 10_000,
            devices: 30_000,
            events: 15_000_000,
            days: 365,
            end: mfa_gateway::model::now(),
            password: "bench-password-2026".into(),
            users_file: None,
            seed: 17,
            batch: 100_000,
            defer_indexes: true,
            progress: true,
        }
    }
}

/// What was made, and how long it took.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub orgs: usize,
    pub people: usize,
    pub devices: usize,
    pub events: u64,
    pub first_event_id: i64,
    pub last_event_id: i64,
    pub checkpoints: usize,
    pub setup_secs: f64,
    pub events_secs: f64,
    pub index_secs: f64,
    pub total_secs: f64,
    /// The database's size on disk afterwards (SQLite: the file; PostgreSQL: the database).
    pub db_bytes: u64,
    /// The audit table with its indexes and summary (PostgreSQL; SQLite: None).
    pub audit_bytes: Option<u64>,
    /// The bench auditor (roles auditor and operator; its TOTP seed is the users file's first line).
    pub auditor: String,
}

/// SplitMix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index drawn with the given cumulative weights (last = total).
    pub fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.unit() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Logins by hour of day (UTC; a Dutch office day), relative.
const HOURS: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 3.0, 8.0, 9.5, 8.5, 7.0, 6.0, 5.0, 6.5, 7.5, 7.0, 5.0, 3.0, 2.0,
    1.5, 1.2, 0.9, 0.6, 0.3,
];

/// Relative activity by weekday, Monday first.
const WEEKDAYS: [f64; 7] = [1.05, 1.0, 1.0, 1.0, 0.95, 0.25, 0.15];

/// Why a login is refused, and how often (of the 3 % refused).
const REASONS: [(&str, f64); 7] = [
    ("bad_password", 0.36),
    ("bad_code", 0.30),
    ("unknown_user", 0.14),
    ("locked_out", 0.06),
    ("rate_limited", 0.06),
    ("replayed_code", 0.05),
    ("missing_code", 0.03),
];

/// Sources that spray passwords at unknown and known usernames all year.
const ATTACKERS: [&str; 6] = [
    "198.51.100.23",
    "198.51.100.77",
    "203.0.113.5",
    "203.0.113.66",
    "192.0.2.200",
    "192.0.2.201",
];

struct Person {
    id: i64,
    username: String,
    org: i64,
    devices: Vec<(i64, String)>,
}

/// Generate the year into the database of `config`. The database should be new (made by
/// `mfa-gateway init`): the generator adds its organisations ("Year org NNN") and people
/// ("yNNNNN"), and appends its events to the chain after whatever is there.
pub async fn generate(config: &Config, opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let key = MasterKey::load(&config.key_file, &config.key_env)?;
    let db = Db::open(&config.store_url).await?;
    let store = db.store();
    let mut rng = Rng::new(opts.seed);
    let say = |msg: String| {
        if opts.progress {
            eprintln!("[year] {msg}");
        }
    };

    // ---- organisations, people, devices --------------------------------------------
    let hasher = mfa_gateway::password::PasswordHasherCfg::new(config.password)?;
    let hash = hasher.hash_unchecked(&mfa_gateway::secret::SecretString::new(
        opts.password.clone(),
    ))?;
    let start_time = opts.end - i64::from(opts.days) * 86_400;
    if opts.password.is_empty() || opts.password.contains(char::is_whitespace) {
        bail!(
            "the password must be non-empty and without blanks (the users file is split at them)"
        );
    }
    if opts.orgs == 0 || opts.people == 0 {
        bail!("at least one organisation and one person");
    }
    let mut sql_rows = Vec::new();
    for o in 0..opts.orgs {
        sql_rows.push(format!("('Year org {o:03}', {start_time})"));
    }
    insert_values(&db, "organisations (name, created_at)", &sql_rows).await?;
    let orgs: Vec<i64> = select_ids(
        &db,
        "SELECT id FROM organisations WHERE name LIKE 'Year org %' ORDER BY name",
    )
    .await?;
    // Organisation sizes: a few large practices, many small ones.
    let org_weights = cumulative(
        &(0..orgs.len())
            .map(|i| 1.0 / ((i + 8) as f64).powf(0.9))
            .collect::<Vec<_>>(),
    );
    let auditor = "y00000".to_owned();
    sql_rows.clear();
    let mut org_of = Vec::with_capacity(opts.people);
    for p in 0..opts.people {
        let org = if p < orgs.len() {
            orgs[p] // every organisation has someone
        } else {
            orgs[rng.pick(&org_weights)]
        };
        org_of.push(org);
        let roles = if p == 0 {
            "person,auditor,operator"
        } else {
            "person"
        };
        sql_rows.push(format!(
            "('{}', 'y{p:05}', 'Person {p}', 'y{p:05}@example.org', 'E{p:05}', {org}, '{roles}', 'active', '{hash}', {start_time})",
            mfa_gateway::model::new_uid()
        ));
    }
    insert_values(
        &db,
        "people (public_id, username, full_name, email, employee_number, org_id, roles, state, password_hash, created_at)",
        &sql_rows,
    )
    .await?;
    let ids = select_ids(
        &db,
        "SELECT id FROM people WHERE username LIKE 'y%' ORDER BY username",
    )
    .await?;
    let mut people: Vec<Person> = ids
        .iter()
        .zip(&org_of)
        .enumerate()
        .map(|(p, (&id, &org))| Person {
            id,
            username: format!("y{p:05}"),
            org,
            devices: Vec::new(),
        })
        .collect();
    // Devices: each person's first is a TOTP phone whose seed goes to the users file.
    sql_rows.clear();
    let mut users = String::new();
    let mut device_uids = Vec::with_capacity(opts.devices);
    for d in 0..opts.devices.max(opts.people) {
        let p = d % people.len();
        let person = &people[p];
        let uid = mfa_gateway::model::new_uid();
        let seed = rng.bytes(20);
        let sealed = key
            .seal(&seed, uid.as_bytes())
            .map_err(|e| anyhow::anyhow!("sealing a seed: {e}"))?;
        let n = d / people.len();
        let (kind, label, serial) = if n % 3 == 2 {
            (
                "hardware_token",
                format!("token {}", n + 1),
                format!("'YT{d:07}'"),
            )
        } else {
            ("phone_totp", format!("phone {}", n + 1), "NULL".to_owned())
        };
        if n == 0 && opts.users_file.is_some() {
            users.push_str(&format!(
                "{} {} {}\n",
                person.username,
                opts.password,
                data_encoding::BASE32_NOPAD.encode(&seed)
            ));
        }
        sql_rows.push(format!(
            "('{uid}', {}, {}, '{kind}', '{label}', {serial}, 'totp', 'sha1', 6, 30, {}, 0, 'active', {start_time})",
            person.id,
            person.org,
            hex_literal(&db, &sealed)
        ));
        device_uids.push((uid, p, label));
    }
    insert_values(
        &db,
        "devices (uid, person_id, org_id, kind, label, serial, otp_kind, otp_hash, digits, period, sealed_secret, counter, state, created_at)",
        &sql_rows,
    )
    .await?;
    let device_ids = select_pairs(
        &db,
        "SELECT id, uid FROM devices WHERE person_id IS NOT NULL",
    )
    .await?;
    let by_uid: HashMap<String, i64> = device_ids.into_iter().map(|(id, uid)| (uid, id)).collect();
    for (uid, p, label) in device_uids {
        if let Some(&id) = by_uid.get(&uid) {
            people[p].devices.push((id, label));
        }
    }
    if let Some(path) = &opts.users_file {
        std::fs::write(path, users).with_context(|| format!("writing {}", path.display()))?;
    }
    let setup_secs = started.elapsed().as_secs_f64();
    say(format!(
        "{} organisations, {} people, {} devices in {setup_secs:.1} s",
        orgs.len(),
        people.len(),
        opts.devices.max(opts.people)
    ));

    // ---- the events --------------------------------------------------------------------
    // The checkpoint key first (making it writes an event), then chain on from the head.
    let signing = audit_chain::key(store.as_ref(), &key, mfa_gateway::model::now()).await?;
    let (head_id, head_hash) = store
        .chain_head()
        .await?
        .unwrap_or((0, audit_chain::GENESIS));
    let indexes = if opts.defer_indexes {
        drop_indexes(&db).await?
    } else {
        Vec::new()
    };
    let events_started = Instant::now();
    let mut writer = Writer::new(&db).await?;
    let mut next_id = head_id + 1;
    let mut previous = head_hash;
    let mut summary: HashMap<(i64, i64, &'static str, &'static str, &'static str, String), i64> =
        HashMap::new();
    // The most failures' summary: unpurged rejects per kind, column, period and value.
    let mut rejects: HashMap<(&'static str, &'static str, i64, String), i64> = HashMap::new();
    let mut checkpoints = Vec::new();
    let day_weights: Vec<f64> = (0..opts.days)
        .map(|d| {
            let day = (start_time + i64::from(d) * 86_400).div_euclid(86_400);
            // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
            WEEKDAYS[usize::try_from((day + 3).rem_euclid(7)).unwrap_or(0)]
        })
        .collect();
    let per_day = spread(opts.events, &day_weights);
    let hours = cumulative(&HOURS);
    let reasons = cumulative(&REASONS.map(|(_, w)| w));
    let mut batch: Vec<EventRow> = Vec::with_capacity(opts.batch.min(1 << 20));
    let mut written = 0u64;
    for (d, &count) in per_day.iter().enumerate() {
        let day_start = start_time.div_euclid(86_400) * 86_400 + d as i64 * 86_400;
        let mut times: Vec<i64> = (0..count)
            .map(|_| day_start + rng.pick(&hours) as i64 * 3_600 + rng.below(3_600) as i64)
            .collect();
        times.sort_unstable();
        for t in times {
            let event = event_at(&mut rng, &people, &reasons, t, next_id);
            let content = EventContent::from_event(&event);
            let content_hash = audit_chain::content_hash(next_id, &content);
            let chain_hash = audit_chain::chain_hash(&previous, &content_hash);
            *summary
                .entry((
                    t.div_euclid(86_400),
                    event.org_id.unwrap_or(0),
                    event.kind.as_str(),
                    event.channel.as_str(),
                    event.outcome.as_str(),
                    event.reason.clone().unwrap_or_default(),
                ))
                .or_default() += 1;
            if event.outcome == Outcome::Reject {
                let period = t.div_euclid(mfa_gateway::store::REJECT_PERIOD);
                for (col, value) in [("username", &event.username), ("source", &event.source)] {
                    if let Some(value) = value {
                        *rejects
                            .entry((event.kind.as_str(), col, period, value.clone()))
                            .or_default() += 1;
                    }
                }
            }
            batch.push(EventRow {
                id: next_id,
                content,
                content_hash,
                chain_hash,
            });
            previous = chain_hash;
            next_id += 1;
            if batch.len() >= opts.batch {
                writer.write(&db, &batch).await?;
                written += batch.len() as u64;
                batch.clear();
                say(format!(
                    "{written} events ({:.0}/s)",
                    written as f64 / events_started.elapsed().as_secs_f64()
                ));
            }
        }
        // A signed checkpoint at the end of the day, as the server makes them.
        if next_id - 1 > head_id {
            let last = next_id - 1;
            let time = day_start + 86_399;
            let message = audit_chain::checkpoint_message(last, &previous, time);
            use ed25519_dalek::Signer as _;
            checkpoints.push(Checkpoint {
                id: 0,
                last_event_id: last,
                chain_hash: previous.to_vec(),
                time,
                signature: signing.sign(&message).to_bytes().to_vec(),
                public_key: signing.verifying_key().as_bytes().to_vec(),
            });
        }
    }
    if !batch.is_empty() {
        writer.write(&db, &batch).await?;
        written += batch.len() as u64;
    }
    writer.finish(&db).await?;
    let events_secs = events_started.elapsed().as_secs_f64();
    say(format!(
        "{written} events in {events_secs:.1} s ({:.0}/s)",
        written as f64 / events_secs.max(1e-9)
    ));
    for cp in &checkpoints {
        store.add_checkpoint(cp).await?;
    }
    write_summary(&db, &summary).await?;
    write_reject_periods(&db, &rejects).await?;
    let index_started = Instant::now();
    for (name, create) in &indexes {
        say(format!("making index {name}"));
        exec!(&db, create)?;
    }
    finish_db(&db, next_id - 1).await?;
    let index_secs = index_started.elapsed().as_secs_f64();
    let (db_bytes, audit_bytes) = sizes(&db, &config.store_url).await?;
    Ok(Report {
        orgs: orgs.len(),
        people: people.len(),
        devices: opts.devices.max(opts.people),
        events: written,
        first_event_id: head_id + 1,
        last_event_id: next_id - 1,
        checkpoints: checkpoints.len(),
        setup_secs,
        events_secs,
        index_secs,
        total_secs: started.elapsed().as_secs_f64(),
        db_bytes,
        audit_bytes,
        auditor,
    })
}

/// `total` spread over days by weight, summing exactly to `total`.
fn spread(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let mut left = total - out.iter().sum::<u64>();
    let n = out.len();
    let mut i = 0;
    while left > 0 && n > 0 {
        out[i % n] += 1;
        left -= 1;
        i += 1;
    }
    out
}

/// One event at time `t`: mostly login attempts, some OIDC tokens, admin and auditor work.
fn event_at(rng: &mut Rng, people: &[Person], reasons: &[f64], t: i64, id: i64) -> AuditEvent {
    let person = &people[rng.below(people.len() as u64) as usize];
    let office = format!(
        "10.{}.{}.{}",
        (person.org >> 8) & 255,
        person.org & 255,
        10 + person.id % 200
    );
    let home = format!(
        "100.{}.{}.{}",
        64 + rng.below(64),
        rng.below(256),
        1 + rng.below(254)
    );
    let source = if rng.below(10) < 7 { office } else { home };
    let request_id = Some(format!("{:016x}", id as u64 ^ 0x5bd1_e995_0000_0000));
    let roll = rng.below(1000);
    if roll < 950 {
        // A login attempt.
        let radius = rng.below(5) < 4;
        let mut e = AuditEvent {
            time: t,
            kind: EventKind::LoginAttempt,
            actor: format!("person:{}", person.id),
            person_id: Some(person.id),
            username: Some(person.username.clone()),
            org_id: Some(person.org),
            channel: if radius {
                Channel::Radius
            } else {
                Channel::Oidc
            },
            client: Some(if radius {
                format!("rdgw-{}", person.org)
            } else {
                "guacamole".to_owned()
            }),
            source: Some(source),
            device_id: None,
            device_label: None,
            outcome: Outcome::Accept,
            reason: None,
            request_id,
            detail: None,
        };
        if rng.below(1000) < 30 {
            let reason = REASONS[rng.pick(reasons)].0;
            e.outcome = Outcome::Reject;
            e.reason = Some(reason.to_owned());
            if reason == "unknown_user" || rng.below(10) < 2 {
                // Spraying from a handful of addresses.
                e.source = Some(ATTACKERS[rng.below(ATTACKERS.len() as u64) as usize].into());
            }
            if reason == "unknown_user" {
                e.actor = "anonymous".into();
                e.person_id = None;
                e.org_id = None;
                e.username = Some(format!("admin{}", rng.below(50)));
            }
        } else if let Some((device_id, label)) = person
            .devices
            .get(rng.below(person.devices.len().max(1) as u64) as usize)
        {
            e.device_id = Some(*device_id);
            e.device_label = Some(label.clone());
        }
        return e;
    }
    let mut e = AuditEvent::admin(
        t,
        EventKind::OidcTokenIssued,
        &format!("person:{}", person.id),
    );
    e.person_id = Some(person.id);
    e.username = Some(person.username.clone());
    e.org_id = Some(person.org);
    e.source = Some(source);
    e.request_id = request_id;
    e.outcome = Outcome::Done;
    if roll < 975 {
        e.channel = Channel::Oidc;
        e.client = Some("guacamole".into());
        e.detail =
            Some(serde_json::json!({ "grant": "authorization_code", "scope": "openid profile" }));
    } else if roll < 995 {
        const ADMIN: [EventKind; 8] = [
            EventKind::DeviceLinked,
            EventKind::DeviceRemoved,
            EventKind::PasswordChanged,
            EventKind::PersonUnlocked,
            EventKind::PersonChanged,
            EventKind::MailSent,
            EventKind::ApprovalRequested,
            EventKind::ApprovalAnswered,
        ];
        e.kind = ADMIN[rng.below(ADMIN.len() as u64) as usize];
        e.channel = if rng.below(2) == 0 {
            Channel::Portal
        } else {
            Channel::Cli
        };
        e.client = Some("portal".into());
        e.detail = Some(serde_json::json!({ "what": e.kind.as_str() }));
    } else {
        // The bench auditor at work.
        e.kind = EventKind::AuditSearched;
        e.actor = format!("person:{}", people[0].id);
        e.channel = Channel::Portal;
        e.client = Some("audit".into());
        e.detail = Some(
            serde_json::json!({ "search": format!("person={}", person.username), "results": 40 }),
        );
    }
    e
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spread_sums_exactly_and_follows_the_weights() {
        let days = spread(1_000, &[1.0, 1.0, 0.5, 0.0]);
        assert_eq!(days.iter().sum::<u64>(), 1_000);
        assert_eq!(days[3], 0);
        assert!(days[0] > days[2]);
        let mut rng = Rng::new(1);
        let c = cumulative(&[1.0, 0.0, 3.0]);
        let mut counts = [0; 3];
        for _ in 0..4000 {
            counts[rng.pick(&c)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > 2 * counts[0], "{counts:?}");
    }

    /// The CI size: 20,000 events over a year into a new gateway's database (SQLite, then
    /// PostgreSQL in a schema of its own): the chain and every daily checkpoint verify (as
    /// `mfa-gateway audit verify` does), the summary counts what the table holds, and the
    /// users file logs in with the configured password.
    async fn small_year(url: Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        mfa_gateway::cli::init(&path).await.unwrap();
        if let Some(url) = url {
            let text = std::fs::read_to_string(&path).unwrap();
            // Only the `[store]` url: other sections (`[shared]`) have a `url` too.
            let mut section = String::new();
            let text = text
                .lines()
                .map(|l| {
                    if l.starts_with('[') {
                        section = l.trim().to_owned();
                    }
                    if section == "[store]" && l.starts_with("url = ") {
                        format!("url = \"{url}\"")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&path, text).unwrap();
        }
        let config = Config::load(&path).unwrap();
        let users = dir.path().join("users.txt");
        let opts = Options {
            orgs: 12,
            people: 300,
            devices: 900,
            events: 20_000,
            users_file: Some(users.clone()),
            progress: false,
            batch: 7_000,
            ..Options::default()
        };
        let r = generate(&config, &opts).await.unwrap();
        assert_eq!((r.events, r.checkpoints), (20_000, 365));
        let (_, gw) = mfa_gateway::cli::open_gateway(&path).await.unwrap();
        let store = gw.store();
        let key = audit_chain::load_key(store.as_ref(), gw.master_key())
            .await
            .unwrap()
            .unwrap();
        let public = *key.verifying_key().as_bytes();
        let report = audit_chain::verify(store.as_ref(), Some(&public))
            .await
            .unwrap();
        assert_eq!(report.problem, None);
        assert_eq!(report.events, r.last_event_id as u64);
        assert_eq!(report.checkpoints, 365);
        let (since, from) = audit_chain::verify_since_checkpoint(store.as_ref(), Some(&public))
            .await
            .unwrap();
        assert_eq!(
            (since.problem, from.map(|c| c.last_event_id)),
            (None, Some(r.last_event_id))
        );
        // The summary and the table agree (whole days from the one, the rest from the other).
        let all = mfa_gateway::store::EventFilter::default();
        assert_eq!(
            store.count_events(&all).await.unwrap(),
            r.last_event_id as u64
        );
        let rejects = mfa_gateway::store::EventFilter {
            outcome: Some("reject".into()),
            kind: Some("login_attempt".into()),
            ..all.clone()
        };
        let n = store.count_events(&rejects).await.unwrap();
        assert!(
            (300..=900).contains(&n),
            "about 3 % of 19,000 logins rejected: {n}"
        );
        let listed = store
            .events(&mfa_gateway::store::EventFilter {
                limit: 0,
                ..rejects
            })
            .await
            .unwrap();
        assert_eq!(listed.len() as u64, n);
        // The most failures of the year (the summary's whole periods, the table's ends)
        // are those of the listed rejects.
        let to = listed.iter().map(|e| e.event.time).max().unwrap();
        let year = mfa_gateway::store::EventFilter {
            kind: Some("login_attempt".into()),
            from: Some(to - 364 * 86_400),
            to: Some(to),
            ..all.clone()
        };
        let top = store.top_failures(&year, 10).await.unwrap();
        let most = |col: fn(&mfa_gateway::audit::AuditEvent) -> Option<String>| {
            let mut by: HashMap<String, u64> = HashMap::new();
            for e in listed.iter().filter(|e| e.event.time >= to - 364 * 86_400) {
                if let Some(v) = col(&e.event) {
                    *by.entry(v).or_default() += 1;
                }
            }
            let mut v: Vec<(String, u64)> = by.into_iter().collect();
            v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            v.truncate(10);
            v
        };
        assert_eq!(top.usernames, most(|e| e.username.clone()));
        assert_eq!(top.sources, most(|e| e.source.clone()));
        // The people log in with the users file's password and seed.
        let line = std::fs::read_to_string(&users).unwrap();
        let mut first = line.lines().next().unwrap().rsplitn(2, ' ');
        let seed = data_encoding::BASE32_NOPAD
            .decode(first.next().unwrap().as_bytes())
            .unwrap();
        let name_pw = first.next().unwrap();
        let (name, password) = name_pw.split_once(' ').unwrap();
        assert_eq!((name, password), ("y00000", opts.password.as_str()));
        let code = mfa_gateway::otp::totp(
            &seed,
            mfa_gateway::model::now(),
            30,
            mfa_gateway::otp::OtpHash::Sha1,
            6,
        );
        let attempt = mfa_gateway::service::cli_attempt(
            name,
            mfa_gateway::engine::Credentials::PasswordAndCode {
                password: mfa_gateway::secret::SecretString::new(password),
                code: mfa_gateway::secret::SecretString::new(code),
            },
        );
        let decision = gw.login(attempt, mfa_gateway::model::now()).await.unwrap();
        assert!(
            matches!(
                decision.verdict,
                mfa_gateway::engine::Verdict::Accept { .. }
            ),
            "{:?}",
            decision.verdict
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_year_on_sqlite_verifies() {
        small_year(None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_year_on_postgres_verifies() {
        let base = std::env::var("MFA_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let admin = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {base} ({e}): scripts/test.sh starts it")
        });
        let schema = format!("mfa_year_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        small_year(Some(format!(
            "{base}{sep}options=-c%20search_path%3D{schema}"
        )))
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await
            .unwrap();
    }
}
