//! RADIUS load generator: sends signed Access-Requests (or Status-Server, or garbage) to one
//! server and reports what came back, the latency and, given the server's pid, the server's
//! CPU time per request.
//!
//!     radius-load --target 127.0.0.1:1812 --secret S --users users.txt --mode pap-totp \
//!         --concurrency 8 --duration 20 --server-pid PID
//!
//! Each worker owns one UDP socket and keeps one request outstanding (closed loop), unless
//! `--rate` paces the whole run. A run always ends by itself: at `--duration` seconds or
//! after `--requests` requests, whichever comes first, plus at most one timeout cycle.
//!
//! pap-totp sends User-Password = password + the current TOTP code. A code is accepted once:
//! the gateway refuses a step at or before the last one used on a device (replay). So every
//! user logs in at most once per 30-second step: users are taken least recently used first,
//! and when all have logged in during the current step a worker waits for the next step
//! (counted as "starved"). Give at least (expected logins/s x 30) users to measure an
//! unthrottled rate.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use mfa_gateway::otp::{OtpHash, totp};
use mfa_radius::SharedSecret;
use mfa_radius::auth::{
    MessageAuthenticatorCheck, check_response_message_authenticator, encode_pap, sign_request,
    verify_response_authenticator,
};
use mfa_radius::packet::{Code, Packet, attr, random_authenticator};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;

const TOTP_PERIOD: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Access-Request, PAP User-Password = password + current TOTP code (append mode).
    PapTotp,
    /// Access-Request, PAP User-Password = password only.
    Pap,
    /// Status-Server (RFC 5997) with Message-Authenticator.
    StatusServer,
    /// Random octets: the server must drop them.
    Garbage,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::PapTotp => "pap-totp",
            Mode::Pap => "pap",
            Mode::StatusServer => "status-server",
            Mode::Garbage => "garbage",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "radius-load",
    about = "RADIUS load generator for mfa-gateway benchmarks"
)]
struct Args {
    /// Server address (only this address is ever sent to).
    #[arg(long, default_value = "127.0.0.1:1812")]
    target: SocketAddr,
    /// RADIUS shared secret.
    #[arg(long, env = "RADIUS_LOAD_SECRET")]
    secret: String,
    /// Workers, each with one UDP socket and one request outstanding.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Stop sending after this many seconds (default 10 when --requests is not given).
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Pace the whole run at this many requests per second (default: as fast as answers come).
    #[arg(long)]
    rate: Option<f64>,
    /// Users file: lines `username password [totp_base32_seed]`; # starts a comment.
    #[arg(long, conflicts_with_all = ["user", "password", "seed"])]
    users: Option<PathBuf>,
    /// A single user (instead of --users).
    #[arg(long)]
    user: Option<String>,
    /// Password of --user.
    #[arg(long)]
    password: Option<String>,
    /// TOTP seed (base32) of --user.
    #[arg(long)]
    seed: Option<String>,
    /// What to send.
    #[arg(long, value_enum, default_value = "pap-totp")]
    mode: Mode,
    /// The server's process id: its CPU time during the run is read from /proc/PID/stat.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Local address to send from (e.g. 127.0.0.2 to look like another source).
    #[arg(long)]
    source_ip: Option<IpAddr>,
    /// Wait this long for an answer before retransmitting; 0 = send and never wait (for
    /// requests the server drops: unknown client, garbage).
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Retransmits of an unanswered request (same identifier and authenticator).
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Also write the figures as shell variables (key=value lines) to this file.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Label printed in the first line (e.g. the server's name).
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Debug, Clone)]
struct User {
    name: String,
    password: String,
    seed: Option<Vec<u8>>,
}

fn decode_seed(text: &str) -> anyhow::Result<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(clean.as_bytes())
        .with_context(|| format!("TOTP seed {text:?} is not base32"))
}

fn load_users(args: &Args) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::new();
    if let Some(path) = &args.users {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading users file {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(name), Some(password)) = (fields.next(), fields.next()) else {
                bail!(
                    "{} line {}: expected `username password [seed]`",
                    path.display(),
                    n + 1
                );
            };
            let seed = fields.next().map(decode_seed).transpose()?;
            users.push(User {
                name: name.to_owned(),
                password: password.to_owned(),
                seed,
            });
        }
    } else if let Some(name) = &args.user {
        users.push(User {
            name: name.clone(),
            password: args.password.clone().unwrap_or_default(),
            seed: args.seed.as_deref().map(decode_seed).transpose()?,
        });
    }
    match args.mode {
        Mode::PapTotp | Mode::Pap if users.is_empty() => {
            bail!("mode {} needs --users FILE or --user", args.mode.name())
        }
        Mode::PapTotp if users.iter().any(|u| u.seed.is_none()) => {
            bail!("mode pap-totp needs a TOTP seed for every user")
        }
        _ => Ok(users),
    }
}

/// Users for pap-totp, least recently used first; each at most once per TOTP step.
#[derive(Debug)]
struct Pool {
    queue: VecDeque<usize>,
    last_step: Vec<Option<u64>>,
}

impl Pool {
    fn new(n: usize) -> Self {
        Pool {
            queue: (0..n).collect(),
            last_step: vec![None; n],
        }
    }

    /// A user that has not logged in during `step`, marked as used in it.
    fn take(&mut self, step: u64) -> Option<usize> {
        let &idx = self.queue.front()?;
        if self.last_step[idx].is_some_and(|last| last >= step) {
            return None;
        }
        self.queue.pop_front();
        self.last_step[idx] = Some(step);
        self.queue.push_back(idx);
        Some(idx)
    }
}

#[derive(Debug)]
struct Shared {
    mode: Mode,
    target: SocketAddr,
    secret: SharedSecret,
    users: Vec<User>,
    pool: Mutex<Pool>,
    tickets: AtomicU64,
    start: Instant,
    end: Instant,
    max_requests: Option<u64>,
    rate: Option<f64>,
    timeout: Duration,
    retries: u32,
    bind: SocketAddr,
}

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    retransmits: u64,
    accepts: u64,
    rejects: u64,
    challenges: u64,
    other: u64,
    timeouts: u64,
    bad: u64,
    late: u64,
    errors: u64,
    starved: u64,
    starved_time: Duration,
    /// Latency of each answered request, in microseconds.
    latencies: Vec<u32>,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.sent += o.sent;
        self.retransmits += o.retransmits;
        self.accepts += o.accepts;
        self.rejects += o.rejects;
        self.challenges += o.challenges;
        self.other += o.other;
        self.timeouts += o.timeouts;
        self.bad += o.bad;
        self.late += o.late;
        self.errors += o.errors;
        self.starved += o.starved;
        self.starved_time += o.starved_time;
        self.latencies.extend(o.latencies);
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Time left until the next TOTP step begins.
fn until_next_step() -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let period = u128::from(TOTP_PERIOD) * 1000;
    let ms = now.as_millis();
    let next = (ms / period + 1) * period;
    Duration::from_millis(u64::try_from(next - ms).unwrap_or(1000)) + Duration::from_millis(5)
}

/// What a worker sends next.
enum Next {
    Send(Vec<u8>, [u8; 16]),
    Stop,
}

impl Shared {
    fn access_request(
        &self,
        id: u8,
        user: &User,
        password: &[u8],
    ) -> anyhow::Result<(Vec<u8>, [u8; 16])> {
        let authenticator = random_authenticator()?;
        let mut p = Packet::new(Code::ACCESS_REQUEST, id, authenticator);
        p.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
        p.push(attr::USER_NAME, user.name.as_bytes());
        p.push(
            attr::USER_PASSWORD,
            encode_pap(password, &authenticator, &self.secret)?,
        );
        p.push(attr::NAS_IDENTIFIER, &b"mfa-bench"[..]);
        p.push(attr::NAS_PORT, 0u32.to_be_bytes());
        Ok((sign_request(&mut p, &self.secret)?, authenticator))
    }

    /// Builds the next request; in pap-totp mode may wait for the next TOTP step.
    async fn next(&self, id: u8, ticket: u64, tally: &mut Tally) -> anyhow::Result<Next> {
        match self.mode {
            Mode::PapTotp => loop {
                let now = unix_now();
                let step = u64::try_from(now).unwrap_or(0) / u64::from(TOTP_PERIOD);
                let taken = self.pool.lock().ok().and_then(|mut p| p.take(step));
                let Some(idx) = taken else {
                    let wait = until_next_step();
                    if Instant::now() + wait >= self.end {
                        return Ok(Next::Stop);
                    }
                    tally.starved += 1;
                    tally.starved_time += wait;
                    tokio::time::sleep(wait).await;
                    continue;
                };
                let user = &self.users[idx];
                let seed = user.seed.as_deref().unwrap_or_default();
                let code = totp(seed, now, TOTP_PERIOD, OtpHash::Sha1, 6);
                let password = format!("{}{code}", user.password);
                let (bytes, auth) = self.access_request(id, user, password.as_bytes())?;
                return Ok(Next::Send(bytes, auth));
            },
            Mode::Pap => {
                let n = self.users.len() as u64;
                let user = &self.users[usize::try_from(ticket % n).unwrap_or(0)];
                let (bytes, auth) = self.access_request(id, user, user.password.as_bytes())?;
                Ok(Next::Send(bytes, auth))
            }
            Mode::StatusServer => {
                let authenticator = random_authenticator()?;
                let mut p = Packet::new(Code::STATUS_SERVER, id, authenticator);
                p.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
                p.push(attr::NAS_IDENTIFIER, &b"mfa-bench"[..]);
                Ok(Next::Send(
                    sign_request(&mut p, &self.secret)?,
                    authenticator,
                ))
            }
            Mode::Garbage => {
                let mut len = [0u8; 1];
                getrandom::fill(&mut len)?;
                let mut bytes = vec![0u8; 20 + usize::from(len[0] % 80)];
                getrandom::fill(&mut bytes)?;
                Ok(Next::Send(bytes, [0u8; 16]))
            }
        }
    }

    /// Checks that `bytes` is the signed answer to the request (`id`, `authenticator`).
    fn answer_code(&self, bytes: &[u8], id: u8, authenticator: &[u8; 16]) -> Answer {
        let Ok(packet) = Packet::decode(bytes) else {
            return Answer::Bad;
        };
        if packet.identifier != id {
            return Answer::Late;
        }
        if !verify_response_authenticator(bytes, authenticator, &self.secret) {
            // Same identifier but signed over another request: a late answer (ids wrap).
            return Answer::Late;
        }
        match check_response_message_authenticator(&packet, authenticator, &self.secret) {
            MessageAuthenticatorCheck::Absent | MessageAuthenticatorCheck::Valid => {
                Answer::Code(packet.code)
            }
            MessageAuthenticatorCheck::Invalid | MessageAuthenticatorCheck::Malformed => {
                Answer::Bad
            }
        }
    }
}

enum Answer {
    Code(Code),
    Late,
    Bad,
}

async fn worker(shared: Arc<Shared>, worker_id: usize) -> anyhow::Result<Tally> {
    let socket = UdpSocket::bind(shared.bind)
        .await
        .with_context(|| format!("binding a UDP socket to {}", shared.bind))?;
    socket
        .connect(shared.target)
        .await
        .with_context(|| format!("connecting the UDP socket to {}", shared.target))?;
    let mut tally = Tally::default();
    let mut id = u8::try_from(worker_id % 256).unwrap_or(0);
    let mut buf = vec![0u8; 4096];
    loop {
        let ticket = shared.tickets.fetch_add(1, Ordering::Relaxed);
        if shared.max_requests.is_some_and(|max| ticket >= max) {
            break;
        }
        if let Some(rate) = shared.rate {
            let at = shared.start + Duration::from_secs_f64(ticket as f64 / rate);
            if at >= shared.end {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
        }
        if Instant::now() >= shared.end {
            break;
        }
        id = id.wrapping_add(1);
        let (bytes, authenticator) = match shared.next(id, ticket, &mut tally).await? {
            Next::Send(bytes, authenticator) => (bytes, authenticator),
            Next::Stop => break,
        };
        let first_sent = Instant::now();
        if let Err(error) = socket.send(&bytes).await {
            tally.errors += 1;
            if tally.errors == 1 {
                eprintln!("radius-load: send failed: {error}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        tally.sent += 1;
        if shared.timeout.is_zero() {
            continue;
        }
        let mut attempt = 0;
        let mut deadline = Instant::now() + shared.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, socket.recv(&mut buf)).await {
                Ok(Ok(len)) => match shared.answer_code(&buf[..len], id, &authenticator) {
                    Answer::Code(code) => {
                        let micros = first_sent.elapsed().as_micros();
                        tally
                            .latencies
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                        match code {
                            Code::ACCESS_ACCEPT => tally.accepts += 1,
                            Code::ACCESS_REJECT => tally.rejects += 1,
                            Code::ACCESS_CHALLENGE => tally.challenges += 1,
                            _ => tally.other += 1,
                        }
                        break;
                    }
                    Answer::Late => tally.late += 1,
                    Answer::Bad => tally.bad += 1,
                },
                Ok(Err(error)) => {
                    // E.g. ICMP port unreachable: nothing listens there.
                    tally.errors += 1;
                    if tally.errors == 1 {
                        eprintln!("radius-load: receive failed: {error}");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    break;
                }
                Err(_) => {
                    if attempt >= shared.retries {
                        tally.timeouts += 1;
                        break;
                    }
                    attempt += 1;
                    tally.retransmits += 1;
                    if socket.send(&bytes).await.is_err() {
                        tally.errors += 1;
                    }
                    deadline = Instant::now() + shared.timeout;
                }
            }
        }
    }
    Ok(tally)
}

/// utime + stime of a process, in clock ticks (all its threads, living and ended).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn self_cpu_ticks() -> Option<u64> {
    cpu_ticks(std::process::id())
}

/// Busy and total clock ticks of the whole machine (all cores), from /proc/stat.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|&t| t > 0.0)
        .unwrap_or(100.0)
}

/// Datagrams the kernel dropped at the target's UDP socket(s) (receive buffer full), from
/// /proc/net/udp and udp6. Only meaningful when the target is on this machine.
fn socket_drops(port: u16) -> Option<u64> {
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(local) = fields.get(1) else { continue };
            let Some((_, port_hex)) = local.rsplit_once(':') else {
                continue;
            };
            if u16::from_str_radix(port_hex, 16).ok() != Some(port) {
                continue;
            }
            if let Some(drops) = fields.last().and_then(|d| d.parse::<u64>().ok()) {
                *total.get_or_insert(0) += drops;
            }
        }
    }
    total
}

fn percentile(sorted: &[u32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    Some(f64::from(sorted[idx]) / 1000.0)
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.decimals$}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number");
    }
    let duration = match (args.duration, args.requests) {
        (Some(d), _) if !(d > 0.0 && d.is_finite()) => bail!("--duration must be positive"),
        (Some(d), _) => d,
        // Bounded by --requests; a day is only a backstop.
        (None, Some(_)) => 86_400.0,
        (None, None) => 10.0,
    };
    let users = load_users(&args)?;
    let source = args.source_ip.unwrap_or(match args.target.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    });
    let local_target = args.target.ip().is_loopback();
    let tck = clock_ticks_per_second();

    let label = if args.label.is_empty() {
        String::new()
    } else {
        format!("[{}] ", args.label)
    };
    println!(
        "{label}radius-load: mode {}, target {}, source {}, concurrency {}, {}{}, {} users, timeout {} ms x {} tries",
        args.mode.name(),
        args.target,
        source,
        args.concurrency,
        args.duration.map_or_else(String::new, |d| format!("{d} s")),
        match (args.duration.is_some(), args.requests) {
            (true, Some(n)) => format!(" or {n} requests"),
            (false, Some(n)) => format!("{n} requests"),
            _ => String::new(),
        },
        users.len(),
        args.timeout_ms,
        args.retries + 1,
    );
    if let Some(rate) = args.rate {
        println!("{label}paced at {rate} requests/s");
    }

    let start = Instant::now();
    let shared = Arc::new(Shared {
        mode: args.mode,
        target: args.target,
        secret: SharedSecret::from(args.secret.as_str()),
        pool: Mutex::new(Pool::new(users.len())),
        users,
        tickets: AtomicU64::new(0),
        start,
        end: start + Duration::from_secs_f64(duration),
        max_requests: args.requests,
        rate: args.rate,
        timeout: Duration::from_millis(args.timeout_ms),
        retries: args.retries,
        bind: SocketAddr::new(source, 0),
    });

    let cpu_before = args.server_pid.and_then(cpu_ticks);
    if args.server_pid.is_some() && cpu_before.is_none() {
        eprintln!("radius-load: cannot read /proc/PID/stat of --server-pid: CPU shown as n/a");
    }
    let drops_before = local_target
        .then(|| socket_drops(args.target.port()))
        .flatten();
    let self_before = self_cpu_ticks();
    let machine_before = machine_ticks();

    let mut set = tokio::task::JoinSet::new();
    for w in 0..args.concurrency {
        set.spawn(worker(Arc::clone(&shared), w));
    }
    let mut tally = Tally::default();
    let mut failure = None;
    while let Some(done) = set.join_next().await {
        match done {
            Ok(Ok(t)) => tally.add(t),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow::anyhow!("a worker failed: {e}")),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = failure {
        return Err(e);
    }
    // Let the server finish what is still queued before reading its CPU time.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server_cpu = match (cpu_before, args.server_pid.and_then(cpu_ticks)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / tck),
        _ => None,
    };
    let drops = match (
        drops_before,
        local_target
            .then(|| socket_drops(args.target.port()))
            .flatten(),
    ) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let self_cpu = match (self_before, self_cpu_ticks()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / tck),
        _ => None,
    };
    // Machine-wide busy time minus this process and the server: other processes (and
    // interrupts) that competed for the cores during the run.
    let (machine_busy, machine_total) = match (machine_before, machine_ticks()) {
        (Some((b0, t0)), Some((b1, t1))) => (
            Some(b1.saturating_sub(b0) as f64 / tck),
            Some(t1.saturating_sub(t0) as f64 / tck),
        ),
        _ => (None, None),
    };
    let other_cpu =
        machine_busy.map(|m| (m - self_cpu.unwrap_or(0.0) - server_cpu.unwrap_or(0.0)).max(0.0));

    tally.latencies.sort_unstable();
    let p50 = percentile(&tally.latencies, 50.0);
    let p99 = percentile(&tally.latencies, 99.0);
    let max = tally.latencies.last().map(|&m| f64::from(m) / 1000.0);
    let per_s = |n: u64| n as f64 / elapsed;
    let datagrams = tally.sent + tally.retransmits;
    let received = datagrams.saturating_sub(drops.unwrap_or(0));
    let answered = tally.accepts + tally.rejects + tally.challenges + tally.other;
    let per_cpu = |n: u64| server_cpu.filter(|&c| c > 0.0).map(|c| n as f64 / c);

    println!(
        "{label}sent            {} requests + {} retransmits in {elapsed:.2} s = {:.1} requests/s",
        tally.sent,
        tally.retransmits,
        per_s(tally.sent)
    );
    if shared.timeout.is_zero() {
        println!("{label}answers         not awaited (--timeout-ms 0)");
    } else {
        println!(
            "{label}answers         accept {} ({:.1}/s)  reject {} ({:.1}/s)  challenge {} ({:.1}/s)  other {}",
            tally.accepts,
            per_s(tally.accepts),
            tally.rejects,
            per_s(tally.rejects),
            tally.challenges,
            per_s(tally.challenges),
            tally.other
        );
        println!(
            "{label}failures        timeouts {}  bad answers {}  late answers {}  errors {}",
            tally.timeouts, tally.bad, tally.late, tally.errors
        );
        println!(
            "{label}latency         p50 {} ms  p99 {} ms  max {} ms",
            fmt_opt(p50, 2),
            fmt_opt(p99, 2),
            fmt_opt(max, 2)
        );
    }
    if args.mode == Mode::PapTotp {
        println!(
            "{label}users           {} starved waits for a fresh TOTP step ({:.1} worker-seconds){}",
            tally.starved,
            tally.starved_time.as_secs_f64(),
            if tally.starved > 0 {
                ": too few users, the rate above is capped by them"
            } else {
                ""
            }
        );
    }
    println!(
        "{label}server          cpu {} s{}, socket drops {}, {} requests per server CPU-second{}",
        fmt_opt(server_cpu, 2),
        args.server_pid
            .map_or_else(String::new, |p| format!(" (pid {p})")),
        drops.map_or_else(|| "n/a".to_owned(), |d| d.to_string()),
        fmt_opt(per_cpu(received), 0),
        if answered > 0 {
            format!(
                ", {} answers per server CPU-second",
                fmt_opt(per_cpu(answered), 0)
            )
        } else {
            String::new()
        }
    );
    println!(
        "{label}load generator  cpu {} s; machine busy {} of {} CPU-s, other processes {} CPU-s",
        fmt_opt(self_cpu, 2),
        fmt_opt(machine_busy, 2),
        fmt_opt(machine_total, 2),
        fmt_opt(other_cpu, 2)
    );

    if let Some(path) = &args.summary {
        let mut s = String::new();
        let kv = |s: &mut String, k: &str, v: String| {
            let _ = writeln!(s, "{k}={v}");
        };
        kv(&mut s, "mode", args.mode.name().to_owned());
        kv(&mut s, "elapsed_s", format!("{elapsed:.3}"));
        kv(&mut s, "sent", tally.sent.to_string());
        kv(&mut s, "retransmits", tally.retransmits.to_string());
        kv(&mut s, "accepts", tally.accepts.to_string());
        kv(&mut s, "rejects", tally.rejects.to_string());
        kv(&mut s, "challenges", tally.challenges.to_string());
        kv(&mut s, "other", tally.other.to_string());
        kv(&mut s, "timeouts", tally.timeouts.to_string());
        kv(&mut s, "bad", tally.bad.to_string());
        kv(&mut s, "errors", tally.errors.to_string());
        kv(&mut s, "starved", tally.starved.to_string());
        kv(&mut s, "sent_per_s", format!("{:.1}", per_s(tally.sent)));
        kv(
            &mut s,
            "accepts_per_s",
            format!("{:.1}", per_s(tally.accepts)),
        );
        kv(
            &mut s,
            "rejects_per_s",
            format!("{:.1}", per_s(tally.rejects)),
        );
        kv(
            &mut s,
            "challenges_per_s",
            format!("{:.1}", per_s(tally.challenges)),
        );
        kv(&mut s, "answers_per_s", format!("{:.1}", per_s(answered)));
        kv(&mut s, "p50_ms", fmt_opt(p50, 2));
        kv(&mut s, "p99_ms", fmt_opt(p99, 2));
        kv(&mut s, "max_ms", fmt_opt(max, 2));
        kv(&mut s, "server_cpu_s", fmt_opt(server_cpu, 2));
        kv(
            &mut s,
            "socket_drops",
            drops.map_or_else(|| "n/a".to_owned(), |d| d.to_string()),
        );
        kv(&mut s, "received", received.to_string());
        kv(&mut s, "requests_per_cpu_s", fmt_opt(per_cpu(received), 0));
        kv(&mut s, "answers_per_cpu_s", fmt_opt(per_cpu(answered), 0));
        kv(
            &mut s,
            "accepts_per_cpu_s",
            fmt_opt(per_cpu(tally.accepts), 0),
        );
        kv(&mut s, "client_cpu_s", fmt_opt(self_cpu, 2));
        kv(&mut s, "machine_busy_s", fmt_opt(machine_busy, 2));
        kv(&mut s, "machine_total_s", fmt_opt(machine_total, 2));
        kv(&mut s, "other_cpu_s", fmt_opt(other_cpu, 2));
        std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
