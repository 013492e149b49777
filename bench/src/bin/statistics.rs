//! SQLite's planner statistics on a big audit table (issue 17): how long the statistics job
//! (`OpsStore::refresh_statistics`, every minute in `serve`) takes when it analyses the audit
//! table again, and how long a write waits meanwhile (each login writes; an `ANALYZE` holds
//! the write lock). The audit table's statistics are removed first, as if the table had grown
//! ten-fold since they were taken: the job then analyses it. Against the statement the job
//! ran before it bounded its sample (`PRAGMA optimize=0x10002`: the whole table), in turns.
//!
//!     bash bench/statistics.sh            # a year of 15 million events, then this
//!     statistics --db DIR/mfa-gateway.db [--runs 2]

use clap::Parser;
use mfa_gateway::store::{OpsStore as _, SqliteStore};
use sqlx::{ConnectOptions as _, Connection as _};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// The SQLite database (a copy: its statistics are rewritten).
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 2)]
    runs: usize,
}

/// The longest wait for the write lock, and how many waits took over 100 ms, while `work`
/// runs: a write transaction that changes nothing (`BEGIN IMMEDIATE; COMMIT`) every 5 ms.
async fn writes_beside<F: std::future::Future<Output = anyhow::Result<()>>>(
    url: &str,
    work: F,
) -> anyhow::Result<(Duration, Duration, u32)> {
    let mut writer = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        .busy_timeout(Duration::from_secs(300))
        .connect()
        .await?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let done = done.clone();
        tokio::spawn(async move {
            let (mut longest, mut slow) = (Duration::ZERO, 0u32);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut writer).await?;
                let waited = t.elapsed();
                sqlx::query("COMMIT").execute(&mut writer).await?;
                longest = longest.max(waited);
                slow += u32::from(waited > Duration::from_millis(100));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            writer.close().await?;
            anyhow::Ok((longest, slow))
        })
    };
    let t = Instant::now();
    let r = work.await;
    let took = t.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (longest, slow) = probe.await??;
    r?;
    Ok((took, longest, slow))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = format!("sqlite://{}", args.db);
    let rows: i64 = {
        let store = SqliteStore::connect(&url, 1).await?;
        sqlx::query_scalar("SELECT count(*) FROM audit_events")
            .fetch_one(store.pool())
            .await?
    };
    println!("audit events: {rows}");
    for run in 1..=args.runs {
        for (label, bounded) in [("the job (0x10012)", true), ("before (0x10002)", false)] {
            // No statistics for the audit table; a new connection reads that.
            let store = SqliteStore::connect(&url, 1).await?;
            sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = 'audit_events'")
                .execute(store.pool())
                .await?;
            drop(store);
            let store = SqliteStore::connect(&url, 1).await?;
            let (took, longest, slow) = writes_beside(&url, async {
                if bounded {
                    store.refresh_statistics().await?;
                } else {
                    sqlx::query("PRAGMA optimize=0x10002")
                        .execute(store.pool())
                        .await?;
                }
                Ok(())
            })
            .await?;
            let stat: Option<String> =
                sqlx::query_scalar("SELECT stat FROM sqlite_stat1 WHERE idx = 'audit_person_time'")
                    .fetch_optional(store.pool())
                    .await?;
            println!(
                "run {run} {label:<18} {:>8.1} ms; a write waited up to {:>8.1} ms ({slow} waits over 100 ms); audit_person_time: {}",
                took.as_secs_f64() * 1000.0,
                longest.as_secs_f64() * 1000.0,
                stat.as_deref().unwrap_or("none")
            );
        }
    }
    Ok(())
}
