//! The raw argon2id verify rate of this machine with the gateway's parameters: the ceiling
//! for password logins per second. Prints verifies/s per thread count.
//!
//!     cargo run --release -p mfa-bench --bin argon2-rate -- [--config gateway.toml] [--seconds 5]

use clap::Parser;
use mfa_gateway::config::Config;
use mfa_gateway::password::PasswordHasherCfg;
use mfa_gateway::secret::SecretString;
use std::path::PathBuf;
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
    for threads in 1..=cores {
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut n = 0u64;
                        while Instant::now() < deadline {
                            assert!(hasher.verify(&pw, Some(&hash)));
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        let secs = started.elapsed().as_secs_f64();
        println!(
            "threads {threads}: {:.1} verifies/s ({:.1} ms per verify per thread)",
            total as f64 / secs,
            1000.0 * secs * threads as f64 / total.max(1) as f64
        );
    }
    Ok(())
}
