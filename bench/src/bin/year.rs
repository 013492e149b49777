//! A year of a 10,000-person platform, straight into a gateway's database (see
//! `mfa_bench::year`): 300 organisations, 10,000 people, 30,000 devices and 15 million
//! audit events over 365 days, hash-chained with a signed checkpoint a day, so
//! `mfa-gateway audit verify` passes. Point it at a config made by `mfa-gateway init`
//! (SQLite or PostgreSQL); bench/year.sh does the whole thing.
//!
//!     cargo run --release -p mfa-bench --bin year -- --config DIR/gateway.toml [--events 15000000] [--users-file users.txt]

use clap::Parser;
use mfa_bench::year::{Options, generate};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(about = "Generate a year of a 10,000-person platform into a gateway's database")]
struct Args {
    /// The gateway's config (its store and key are used).
    #[arg(long, short)]
    config: PathBuf,
    #[arg(long, default_value_t = 300)]
    orgs: usize,
    #[arg(long, default_value_t = 10_000)]
    people: usize,
    #[arg(long, default_value_t = 30_000)]
    devices: usize,
    /// Audit events over the whole period.
    #[arg(long, default_value_t = 15_000_000)]
    events: u64,
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// The end of the period (Unix seconds); default now.
    #[arg(long)]
    end: Option<i64>,
    /// Every person's password.
    #[arg(long, default_value = "bench-password-2026")]
    password: String,
    /// Write `username password base32-seed` lines here (radius-load --users).
    #[arg(long)]
    users_file: Option<PathBuf>,
    #[arg(long, default_value_t = 17)]
    seed: u64,
    /// Events per transaction.
    #[arg(long, default_value_t = 100_000)]
    batch: usize,
    /// Keep the audit table's indexes during the load (slower).
    #[arg(long)]
    keep_indexes: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let config = mfa_gateway::config::Config::load(&a.config)?;
    let opts = Options {
        orgs: a.orgs,
        people: a.people,
        devices: a.devices,
        events: a.events,
        days: a.days,
        end: a.end.unwrap_or_else(mfa_gateway::model::now),
        password: a.password,
        users_file: a.users_file,
        seed: a.seed,
        batch: a.batch.max(1),
        defer_indexes: !a.keep_indexes,
        progress: true,
    };
    let r = generate(&config, &opts).await?;
    println!("year: organisations        {}", r.orgs);
    println!("year: people               {}", r.people);
    println!("year: devices              {}", r.devices);
    println!(
        "year: audit events         {} (ids {}..={}), {} checkpoints",
        r.events, r.first_event_id, r.last_event_id, r.checkpoints
    );
    println!("year: setup                {:.1} s", r.setup_secs);
    println!(
        "year: events written       {:.1} s ({:.0} events/s)",
        r.events_secs,
        r.events as f64 / r.events_secs.max(1e-9)
    );
    println!("year: indexes and stats    {:.1} s", r.index_secs);
    println!("year: total                {:.1} s", r.total_secs);
    let per_million = |bytes: u64| {
        if r.events == 0 {
            "n/a".to_owned()
        } else {
            format!(
                "{:.1}",
                bytes as f64 / (r.events as f64 / 1e6) / (1 << 20) as f64
            )
        }
    };
    println!(
        "year: database size        {:.1} MiB ({} MiB per million events)",
        r.db_bytes as f64 / (1 << 20) as f64,
        per_million(r.db_bytes)
    );
    if let Some(audit) = r.audit_bytes {
        println!(
            "year: audit table + indexes {:.1} MiB ({} MiB per million events)",
            audit as f64 / (1 << 20) as f64,
            per_million(audit)
        );
    }
    println!(
        "year: auditor              {} (roles auditor, operator; TOTP seed on the users file's first line)",
        r.auditor
    );
    Ok(())
}
