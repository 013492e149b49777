//! `mfa-gateway`: parse the command line, run it.

use clap::Parser;

/// jemalloc for the whole process: with the `unprefixed` feature it is `malloc` itself, so
/// SQLite's page caches and statements use it too. Under load glibc's per-thread arenas kept
/// some 30 MiB of freed memory (RSS 112.5 MiB after 10,000 logins on a year of audit,
/// against 78.6 MiB with jemalloc, whose freed pages go back to the system after 10 s).
/// It runs with a background thread (the `background_threads` feature): without one,
/// jemalloc returns freed pages only when the same arena allocates again, so an idle server
/// could keep what its last burst freed for good (a minute after start, 50.6 MiB against 26,
/// when the retention job still read all 10,000 people). With it they go back after the
/// 10-second decay, busy or idle.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = mfa_gateway::cli::Cli::parse();
    match mfa_gateway::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
