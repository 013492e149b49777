//! Audit events per second with durability on: each event is its own committed transaction
//! (hash chain included), as a login writes it. SQLite (WAL, synchronous=FULL) by default,
//! or PostgreSQL with `--store postgres://...`.
//!
//!     cargo run --release -p mfa-bench --bin audit-rate -- [--events 2000] [--concurrency 4] [--store URL]

use clap::Parser;
use mfa_gateway::audit::{AuditEvent, Channel, EventKind, Outcome};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 2000)]
    events: usize,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Store URL; default: a SQLite file in a temporary folder.
    #[arg(long)]
    store: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("mfa-audit-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("audit.db").display()));
    let store = mfa_gateway::store::open(&url, 8).await?;
    let event = AuditEvent {
        channel: Channel::Radius,
        client: Some("rdgw".into()),
        source: Some("192.0.2.7".into()),
        username: Some("ann".into()),
        outcome: Outcome::Accept,
        device_label: Some("business phone".into()),
        ..AuditEvent::admin(mfa_gateway::model::now(), EventKind::LoginAttempt, "bench")
    };
    let per_task = args.events.div_ceil(args.concurrency.max(1));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (store, event) = (Arc::clone(&store), event.clone());
        tasks.spawn(async move {
            for _ in 0..per_task {
                store.append_event(&event).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = per_task * args.concurrency.max(1);
    println!(
        "{n} audit events, {} writers, {}: {:.0} events/s ({:.2} ms each)",
        args.concurrency,
        if args.store.is_some() {
            "given store"
        } else {
            "SQLite WAL synchronous=FULL"
        },
        n as f64 / secs,
        1000.0 * secs / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
