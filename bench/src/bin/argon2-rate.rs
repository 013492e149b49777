//! The raw argon2id verify rate of this machine with the gateway's parameters: the ceiling
//! for password logins per second. Prints verifies/s per thread count, run the gateway's way
//! (`threads N:`, on a `HashingPool` of N threads that keep their argon2 memory), and with
//! fresh memory per verify (`fresh memory, threads N:`, what a verify off the pool pays: the
//! page faults of 19 MiB each time).
//!
//!     cargo run --release -p mfa-bench --bin argon2-rate -- [--config gateway.toml] [--seconds 5]

use clap::Parser;
use mfa_gateway::config::Config;
use mfa_gateway::hashing::HashingPool;
use mfa_gateway::password::PasswordHasherCfg;
use mfa_gateway::secret::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// Take the argon2 parameters from this config (default: the built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::parse("", std::path::Path::new("."))?,
    };
    let p = config.password;
    let hasher = PasswordHasherCfg::new(p)?;
    let pw = SecretString::new("correct horse battery staple");
    let hash = hasher.hash(&pw)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "argon2id m={} KiB t={} p={}, {} cores, {} s per run",
        p.memory_kib, p.iterations, p.parallelism, cores, args.seconds
    );
    let hasher = Arc::new(hasher);
    let hash: Arc<str> = hash.into();
    let seconds = Duration::from_secs(args.seconds);
    for threads in 1..=cores {
        let (total, secs) = pooled(&hasher, &pw, &hash, threads, seconds)?;
        report("threads", threads, total, secs);
    }
    for threads in 1..=cores {
        let (total, secs) = fresh(&hasher, &pw, &hash, threads, seconds);
        report("fresh memory, threads", threads, total, secs);
    }
    Ok(())
}

fn report(label: &str, threads: usize, total: u64, secs: f64) {
    println!(
        "{label} {threads}: {:.1} verifies/s ({:.1} ms per verify per thread)",
        total as f64 / secs,
        1000.0 * secs * threads as f64 / total.max(1) as f64
    );
}

/// Verifies on a hashing pool of `threads` threads (each reusing its argon2 memory), kept
/// busy by twice as many waiting jobs, as the gateway's logins do.
fn pooled(
    hasher: &Arc<PasswordHasherCfg>,
    pw: &SecretString,
    hash: &Arc<str>,
    threads: usize,
    seconds: Duration,
) -> anyhow::Result<(u64, f64)> {
    let pool = HashingPool::new(threads, threads * 8)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let done = Arc::new(AtomicU64::new(0));
    // One verify per thread first: the threads' memory is allocated before the clock runs.
    runtime.block_on(async {
        let mut warm = tokio::task::JoinSet::new();
        for _ in 0..threads {
            let (pool, hasher, pw, hash) = (pool.clone(), hasher.clone(), pw.clone(), hash.clone());
            warm.spawn(async move { pool.run(move || hasher.verify(&pw, Some(&hash))).await });
        }
        while warm.join_next().await.is_some() {}
    });
    let started = Instant::now();
    let deadline = started + seconds;
    runtime.block_on(async {
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..threads * 2 {
            let (pool, hasher, pw, hash, done) = (
                pool.clone(),
                hasher.clone(),
                pw.clone(),
                hash.clone(),
                done.clone(),
            );
            jobs.spawn(async move {
                while Instant::now() < deadline {
                    let (hasher, pw, hash) = (hasher.clone(), pw.clone(), hash.clone());
                    match pool.run(move || hasher.verify(&pw, Some(&hash))).await {
                        Ok(true) => done.fetch_add(1, Ordering::Relaxed),
                        _ => return Err(anyhow::anyhow!("a verify failed")),
                    };
                }
                Ok(())
            });
        }
        while let Some(r) = jobs.join_next().await {
            r??;
        }
        anyhow::Ok(())
    })?;
    Ok((
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    ))
}

/// Verifies on `threads` plain threads: each verify allocates and frees its argon2 memory.
fn fresh(
    hasher: &PasswordHasherCfg,
    pw: &SecretString,
    hash: &str,
    threads: usize,
    seconds: Duration,
) -> (u64, f64) {
    let deadline = Instant::now() + seconds;
    let started = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        assert!(hasher.verify(pw, Some(hash)));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (total, started.elapsed().as_secs_f64())
}
