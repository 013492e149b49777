//! The auditor's pages and exports against a running gateway, as an auditor uses them:
//! signs in through the portal login (password, then the TOTP code), then times each page
//! `--rounds` times and prints p50 / p95 / max, then streams a CSV and a JSON-lines export
//! of a range while sampling the server's resident memory (`--server-pid`).
//!
//!     audit-pages --base http://127.0.0.1:18480 --users users.txt --person y00042 \
//!         --org "Year org 001" --week 2026-06-01 --year-from 2025-12-05 \
//!         --export-from 2026-11-01 --export-to 2026-11-24 --server-pid PID
//!
//! Pages: search by person; by organisation and one week; the per-day chart for a year
//! (with the most failures over that year); the default page (the last 30 days). The
//! gateway must serve plain HTTP on loopback (`[http] tls = false`) for this client.

use anyhow::{Context, bail};
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "audit-pages", about = "Time the auditor's pages and exports")]
struct Args {
    /// The gateway's web listener (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:18480")]
    base: String,
    /// `username password base32-seed` lines; the first is the auditor.
    #[arg(long)]
    users: PathBuf,
    /// Page views per page.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// The person searched for.
    #[arg(long, default_value = "y00042")]
    person: String,
    /// The organisation searched for (with --week).
    #[arg(long, default_value = "Year org 001")]
    org: String,
    /// The first day (YYYY-MM-DD) of the week searched for with --org.
    #[arg(long)]
    week: String,
    /// The chart for a year: from this date to now.
    #[arg(long)]
    year_from: String,
    /// The export's range (dates, inclusive); empty: no export.
    #[arg(long, default_value = "")]
    export_from: String,
    #[arg(long, default_value = "")]
    export_to: String,
    /// The server's pid: its resident memory is sampled during the exports.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write every figure as `key=value` lines.
    #[arg(long)]
    summary: Option<PathBuf>,
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn csrf_of(html: &str) -> anyhow::Result<String> {
    let marker = r#"name="csrf" value=""#;
    let at = html.find(marker).context("no csrf field on the page")? + marker.len();
    Ok(html[at..].split('"').next().unwrap_or_default().to_owned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    seed: &[u8],
) -> anyhow::Result<()> {
    for attempt in 0..2 {
        let page = client
            .get(format!("{base}/portal/login"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = csrf_of(&page)?;
        let code_page = client
            .post(format!("{base}/portal/login"))
            .form(&[
                ("auth", ""),
                ("csrf", csrf.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await?
            .text()
            .await?;
        let csrf = csrf_of(&code_page).context("the password was not accepted")?;
        let now = mfa_gateway::model::now();
        let code = mfa_gateway::otp::totp(seed, now, 30, mfa_gateway::otp::OtpHash::Sha1, 6);
        let done = client
            .post(format!("{base}/login/code"))
            .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
            .send()
            .await?;
        let signed_in = done.status().is_redirection()
            && done
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .is_some_and(|l| l.starts_with("/portal"));
        if signed_in {
            return Ok(());
        }
        if attempt == 0 {
            // The code of this time step was used already (an earlier run): the next one.
            let wait = 30 - now.rem_euclid(30) + 1;
            eprintln!("audit-pages: code refused; waiting {wait} s for the next time step");
            tokio::time::sleep(Duration::from_secs(u64::try_from(wait).unwrap_or(31))).await;
        }
    }
    bail!("cannot sign in as {user}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let users = std::fs::read_to_string(&a.users)
        .with_context(|| format!("reading {}", a.users.display()))?;
    let first = users.lines().next().context("the users file is empty")?;
    let (rest, seed) = first.rsplit_once(' ').context("users line: no seed")?;
    let (user, password) = rest.split_once(' ').context("users line: no password")?;
    let seed = data_encoding::BASE32_NOPAD
        .decode(seed.as_bytes())
        .context("users line: the seed is not base32")?;
    // reqwest's rustls (the workspace's, ring only) wants a provider even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .build()?;
    let base = a.base.trim_end_matches('/');
    sign_in(&client, base, user, password, &seed).await?;
    let mut summary = String::new();

    let week_to = {
        let from = mfa_gateway::audit::parse_time(&a.week, false).context("--week: a date")?;
        mfa_gateway::audit::format_time(from + 6 * 86_400)[..10].to_owned()
    };
    let pages = [
        ("person", format!("/audit?person={}", enc(&a.person))),
        (
            "org_week",
            format!(
                "/audit?org={}&from={}&to={week_to}",
                enc(&a.org),
                enc(&a.week)
            ),
        ),
        ("chart_year", format!("/audit?from={}", enc(&a.year_from))),
        ("default_30_days", "/audit".to_owned()),
    ];
    println!(
        "audit-pages: {} rounds per page, signed in as {user} at {base}",
        a.rounds
    );
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(a.rounds);
        for _ in 0..a.rounds {
            let started = Instant::now();
            let res = client.get(format!("{base}{path}")).send().await?;
            let status = res.status();
            let body = res.text().await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if !status.is_success() || !body.contains("id=\"search\"") {
                bail!("{path}: {status}, not the search page");
            }
        }
        times.sort_by(f64::total_cmp);
        let (p50, p95, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or(f64::NAN),
        );
        println!(
            "audit-pages: {name:<16} p50 {p50:8.1} ms  p95 {p95:8.1} ms  max {max:8.1} ms  {}",
            if p95 < 200.0 {
                "(goal p95 < 200 ms: ok)"
            } else {
                "(goal p95 < 200 ms: FAIL)"
            }
        );
        summary.push_str(&format!(
            "page_{name}_p50_ms={p50:.1}\npage_{name}_p95_ms={p95:.1}\n"
        ));
    }

    if !a.export_from.is_empty() {
        for (format, ext) in [("csv", "csv"), ("jsonl", "jsonl")] {
            let path = format!(
                "/audit/export.{ext}?from={}&to={}",
                enc(&a.export_from),
                enc(&a.export_to)
            );
            let before = a.server_pid.and_then(rss_bytes);
            let sampler = a.server_pid.map(|pid| {
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let s = stop.clone();
                let task = std::thread::spawn(move || {
                    let mut max = 0u64;
                    while !s.load(std::sync::atomic::Ordering::Relaxed) {
                        max = max.max(rss_bytes(pid).unwrap_or(0));
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    max
                });
                (stop, task)
            });
            let started = Instant::now();
            let mut res = client.get(format!("{base}{path}")).send().await?;
            if !res.status().is_success() {
                bail!("{path}: {}", res.status());
            }
            let (mut bytes, mut lines) = (0u64, 0u64);
            while let Some(chunk) = res.chunk().await? {
                bytes += chunk.len() as u64;
                lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            }
            let secs = started.elapsed().as_secs_f64();
            let rows = if format == "csv" {
                lines.saturating_sub(1)
            } else {
                lines
            };
            let max = sampler.map(|(stop, task)| {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                task.join().unwrap_or(0)
            });
            let mib = |b: u64| b as f64 / (1 << 20) as f64;
            let rss = match (before, max) {
                (Some(b), Some(m)) => format!(
                    "server RSS {:.1} MiB before, {:.1} MiB at most during: +{:.1} MiB ({})",
                    mib(b),
                    mib(m),
                    mib(m.saturating_sub(b)),
                    if m.saturating_sub(b) < 50 << 20 {
                        "goal < 50 MiB: ok"
                    } else {
                        "goal < 50 MiB: FAIL"
                    }
                ),
                _ => "server RSS n/a (no --server-pid)".to_owned(),
            };
            println!(
                "audit-pages: export {format:<5} {rows} events, {:.1} MiB in {secs:.1} s = {:.0} events/s; {rss}",
                mib(bytes),
                rows as f64 / secs.max(1e-9)
            );
            summary.push_str(&format!(
                "export_{format}_events={rows}\nexport_{format}_seconds={secs:.2}\nexport_{format}_rss_growth_bytes={}\n",
                match (before, max) {
                    (Some(b), Some(m)) => m.saturating_sub(b).to_string(),
                    _ => "n/a".into(),
                }
            ));
        }
    }
    if let Some(path) = &a.summary {
        std::fs::write(path, summary)?;
    }
    Ok(())
}
