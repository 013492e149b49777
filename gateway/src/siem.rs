//! The audit trail streamed to a SIEM as it is written: every committed event, in id order,
//! as one JSON line appended to a file, or as an RFC 5424 syslog message (facility authpriv,
//! MSGID = the event kind, the JSON as MSG) over UDP (one datagram each) or TCP (RFC 6587
//! octet counting). Off by default.
//!
//! The stream follows the table (every second; at once again after a full batch, so a
//! backlog of a million events is caught up at the sink's pace, not a batch a second), so
//! only committed events leave, in order, and a restart goes on where it stopped: the last
//! id sent is kept in `position_file`. A new stream (no position yet) starts at the events
//! written from then on. Metrics: events sent, send errors, and the lag (events written but
//! not yet sent).

use crate::audit::{Outcome, StoredEvent};
use crate::config::SiemSink;
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt as _;

/// Events read per round.
const BATCH: u32 = 2000;
/// syslog facility authpriv (10).
const FACILITY: u8 = 10;

/// One RFC 5424 message for `e` (without transport framing).
pub fn syslog_message(e: &StoredEvent, hostname: &str) -> String {
    let severity = match e.event.outcome {
        Outcome::Reject | Outcome::Failed => 4, // warning
        Outcome::Challenge => 5,                // notice
        Outcome::Accept | Outcome::Done => 6,   // informational
    };
    let pri = u16::from(FACILITY) * 8 + severity;
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    format!(
        "<{pri}>1 {time} {host} mfa-gateway - {msgid} - {json}",
        time = crate::audit::format_time(e.event.time),
        host = printable(hostname, 255),
        msgid = printable(e.event.kind.as_str(), 32),
    )
}

/// RFC 5424 header fields: printable US-ASCII without spaces, bounded, "-" if empty.
fn printable(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if out.is_empty() { "-".into() } else { out }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// The stream's sending side.
enum Out {
    File(tokio::fs::File),
    Udp(tokio::net::UdpSocket),
    Tcp(Option<tokio::net::TcpStream>, std::net::SocketAddr),
}

impl Out {
    async fn open(sink: &SiemSink) -> std::io::Result<Self> {
        Ok(match sink {
            SiemSink::File(path) => Self::File(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await?,
            ),
            SiemSink::SyslogUdp(addr) => {
                let bind = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = tokio::net::UdpSocket::bind(bind).await?;
                s.connect(addr).await?;
                Self::Udp(s)
            }
            SiemSink::SyslogTcp(addr) => Self::Tcp(None, *addr),
        })
    }

    /// Send a batch; returns how many went out (a prefix of `events`) and the error that
    /// stopped it, if any. A file or TCP stream gets the batch in one write.
    async fn send_batch(
        &mut self,
        events: &[StoredEvent],
        host: &str,
    ) -> (usize, Option<std::io::Error>) {
        let mut buf = Vec::new();
        match self {
            Self::File(_) => {
                for e in events {
                    if let Err(err) = serde_json::to_writer(&mut buf, e) {
                        return (0, Some(std::io::Error::other(err)));
                    }
                    buf.push(b'\n');
                }
            }
            Self::Tcp(..) => {
                for e in events {
                    let msg = syslog_message(e, host);
                    buf.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
                }
            }
            Self::Udp(_) => {
                for (i, e) in events.iter().enumerate() {
                    if let Err(err) = self.send(e, host).await {
                        return (i, Some(err));
                    }
                }
                return (events.len(), None);
            }
        }
        match self.write_all(&buf).await {
            Ok(()) => (events.len(), None),
            Err(err) => (0, Some(err)),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.write_all(bytes).await,
            Self::Udp(s) => s.send(bytes).await.map(|_| ()),
            Self::Tcp(conn, addr) => {
                if conn.is_none() {
                    *conn = Some(tokio::net::TcpStream::connect(*addr).await?);
                }
                let result = match conn {
                    Some(c) => c.write_all(bytes).await,
                    None => Ok(()),
                };
                if result.is_err() {
                    *conn = None;
                }
                result
            }
        }
    }

    async fn send(&mut self, e: &StoredEvent, host: &str) -> std::io::Result<()> {
        match self {
            Self::File(f) => {
                let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
                line.push(b'\n');
                f.write_all(&line).await
            }
            Self::Udp(s) => s.send(syslog_message(e, host).as_bytes()).await.map(|_| ()),
            Self::Tcp(conn, addr) => {
                if conn.is_none() {
                    *conn = Some(tokio::net::TcpStream::connect(*addr).await?);
                }
                let msg = syslog_message(e, host);
                let framed = format!("{} {msg}", msg.len());
                let result = match conn {
                    Some(c) => c.write_all(framed.as_bytes()).await,
                    None => Ok(()),
                };
                if result.is_err() {
                    *conn = None;
                }
                result
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.flush().await,
            Self::Udp(_) => Ok(()),
            Self::Tcp(Some(c), _) => c.flush().await,
            Self::Tcp(None, _) => Ok(()),
        }
    }
}

fn read_position(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write_position(path: &Path, id: i64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, id.to_string())?;
    std::fs::rename(&tmp, path)
}

/// Follow the audit table and send every new event to `sink` until `stop`.
pub async fn run(
    store: Arc<dyn Store>,
    sink: SiemSink,
    position_file: PathBuf,
    stop: tokio_util::sync::CancellationToken,
) {
    let host = hostname();
    let mut after = match read_position(&position_file) {
        Some(id) => id,
        None => match store.last_event_id().await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "SIEM stream: cannot read the audit table; not started");
                return;
            }
        },
    };
    let mut out: Option<Out> = None;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut behind = false;
    loop {
        if !behind {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => {}
            }
        }
        behind = false;
        let events = match store.events_after(after, BATCH).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "SIEM stream: cannot read new events");
                Vec::new()
            }
        };
        if !events.is_empty() {
            if out.is_none() {
                match Out::open(&sink).await {
                    Ok(o) => out = Some(o),
                    Err(e) => {
                        metrics::counter!(crate::telemetry::SIEM_ERRORS).increment(1);
                        tracing::warn!(error = %e, "SIEM stream: cannot open the sink");
                    }
                }
            }
            if let Some(o) = out.as_mut() {
                let (sent, error) = o.send_batch(&events, &host).await;
                if let Some(err) = error {
                    metrics::counter!(crate::telemetry::SIEM_ERRORS).increment(1);
                    tracing::warn!(error = %err, "SIEM stream: send failed; retrying");
                }
                if let Err(e) = o.flush().await {
                    tracing::warn!(error = %e, "SIEM stream: flush failed");
                }
                if let Some(last) = sent.checked_sub(1).and_then(|i| events.get(i)) {
                    after = last.id;
                    metrics::counter!(crate::telemetry::SIEM_SENT).increment(sent as u64);
                    if let Err(e) = write_position(&position_file, after) {
                        tracing::warn!(error = %e, "SIEM stream: cannot keep the position");
                    }
                    // A full batch sent: more may be waiting; go on without the tick.
                    behind = sent == events.len() && events.len() == BATCH as usize;
                }
            }
        }
        if let Ok(last) = store.last_event_id().await {
            metrics::gauge!(crate::telemetry::SIEM_LAG).set((last - after).max(0) as f64);
        }
        if stop.is_cancelled() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::audit::{AuditEvent, EventKind};

    #[test]
    fn rfc5424_message() {
        let mut e = AuditEvent::admin(1_764_000_000, EventKind::LoginAttempt, "radius");
        e.outcome = Outcome::Reject;
        let m = syslog_message(&StoredEvent { id: 7, event: e }, "gw 1");
        // authpriv (10) * 8 + warning (4) = 84; version 1; no space in the host name.
        assert!(
            m.starts_with("<84>1 2025-11-24T16:00:00Z gw1 mfa-gateway - login_attempt - {"),
            "{m}"
        );
        let json: serde_json::Value = serde_json::from_str(m.split(" - ").last().unwrap()).unwrap();
        assert_eq!(json["id"], 7);
    }
}
