//! Pending out-of-band approvals: what holding many costs the server. Sends one
//! second-factor-only Access-Request (User-Name only, as RD Gateway) for each of `--users`
//! people at once, waits until they are all held, and reads the server's resident memory and
//! thread count from /proc before and while they wait. Nobody approves: each ends with the
//! server's timeout (Access-Reject), which is counted too.
//!
//!     approval-hold --target 127.0.0.1:1812 --secret S --users 1000 --prefix user \
//!         --server-pid PID --settle 5
//!
//! `bench/approval.sh` sets up a gateway with 1,000 people and runs this.

use anyhow::{Context, bail};
use clap::Parser;
use mfa_radius::SharedSecret;
use mfa_radius::auth::sign_request;
use mfa_radius::packet::{Code, Packet, attr, random_authenticator};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long)]
    target: SocketAddr,
    #[arg(long)]
    secret: String,
    /// People user0..user{N-1} (or with --prefix).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    #[arg(long, default_value = "user")]
    prefix: String,
    /// The server's pid (for /proc readings).
    #[arg(long)]
    server_pid: u32,
    /// Seconds to wait after sending before reading the server.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// Microseconds between two requests (a burst overflows the socket buffers).
    #[arg(long, default_value_t = 1000)]
    pace_us: u64,
    /// Give up waiting for answers after this many seconds.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

/// (resident KiB, threads) of a process.
fn proc_status(pid: u32) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("Threads:")?))
}

const PER_SOCKET: usize = 200;

/// Send one request per person, paced; the sockets (ids are per socket) to read answers on.
async fn send_all(a: &Args, secret: &SharedSecret) -> anyhow::Result<Vec<(usize, UdpSocket)>> {
    let mut sockets = Vec::new();
    for chunk in 0..a.users.div_ceil(PER_SOCKET) {
        let s = UdpSocket::bind("127.0.0.1:0").await?;
        s.connect(a.target).await?;
        sockets.push((chunk, s));
    }
    for (chunk, socket) in &sockets {
        for i in 0..PER_SOCKET {
            let n = chunk * PER_SOCKET + i;
            if n >= a.users {
                break;
            }
            let mut p = Packet::new(
                Code::ACCESS_REQUEST,
                u8::try_from(i).unwrap_or(0),
                random_authenticator()?,
            );
            p.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
            p.push(attr::USER_NAME, format!("{}{n}", a.prefix).into_bytes());
            p.push(attr::NAS_IDENTIFIER, &b"mfa-bench"[..]);
            socket.send(&sign_request(&mut p, secret)?).await?;
            tokio::time::sleep(Duration::from_micros(a.pace_us)).await;
        }
    }
    Ok(sockets)
}

/// Read every answer (or give up at --wait): (answers, rejects).
async fn collect(a: &Args, sockets: &[(usize, UdpSocket)]) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(a.wait);
    let (mut answers, mut rejects) = (0, 0);
    let mut buf = [0u8; 4096];
    for (chunk, socket) in sockets {
        let expected = PER_SOCKET.min(a.users - chunk * PER_SOCKET);
        let mut got = 0;
        while got < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, socket.recv(&mut buf)).await {
                Ok(Ok(n)) if n >= 20 => {
                    got += 1;
                    if buf[0] == 3 {
                        rejects += 1;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        answers += got;
    }
    (answers, rejects)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let secret = SharedSecret::new(a.secret.clone().into_bytes());
    // Round 1 warms the server (database caches, pools, the audit table's pages); round 2
    // is the one that counts: what holding N approvals adds to a warm server.
    for round in 1..=2 {
        let (rss0, threads0) = proc_status(a.server_pid)?;
        let sockets = send_all(&a, &secret).await?;
        tokio::time::sleep(Duration::from_secs(a.settle)).await;
        let (rss1, threads1) = proc_status(a.server_pid)?;
        let delta = i128::from(rss1) - i128::from(rss0);
        println!(
            "round {round}: {} second-factor-only requests held; server resident memory {rss0} KiB before, {rss1} KiB while holding ({delta:+} KiB, {:.0} bytes per pending approval); threads {threads0} before, {threads1} while holding",
            a.users,
            delta as f64 * 1024.0 / a.users.max(1) as f64
        );
        let (answers, rejects) = collect(&a, &sockets).await;
        let (rss2, threads2) = proc_status(a.server_pid)?;
        println!(
            "round {round}: {answers} answers ({rejects} Access-Reject after the approval timeout); afterwards {rss2} KiB, {threads2} threads"
        );
        if answers == 0 {
            bail!("no answers: is the client second_factor_only and the approval timeout shorter than --wait?");
        }
    }
    Ok(())
}
