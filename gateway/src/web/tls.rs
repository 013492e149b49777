//! HTTPS for axum: a listener that completes TLS handshakes on their own tasks (bounded,
//! with a timeout) and hands finished streams to `axum::serve`. Connections are bounded per
//! source (an IPv4 address or IPv6 /64) and in total, and one that sends or receives
//! nothing for `IDLE_TIMEOUT` (an idle keep-alive) is closed.

use axum::serve::Listener;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HANDSHAKES: usize = 256;
/// A connection with no byte read or written for this long is closed (server-sent event
/// streams send a keep-alive every 15 s, so they stay).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Open connections one source may hold.
pub const MAX_CONNECTIONS_PER_SOURCE: usize = 64;
/// Open connections in total.
pub const MAX_CONNECTIONS: usize = 8192;

/// Counted slots per key (a source) and in total; a slot is given back when its guard drops.
/// Taking one is O(1).
#[derive(Debug)]
pub struct Slots {
    inner: std::sync::Mutex<(std::collections::HashMap<String, usize>, usize)>,
    per_key: usize,
    total: usize,
}

/// A taken slot.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    key: String,
}

impl Slots {
    pub fn new(per_key: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: std::sync::Mutex::new((std::collections::HashMap::new(), 0)),
            per_key,
            total,
        })
    }

    /// A slot for `key`, or None when the key or the total is at its cap.
    pub fn take(self: &Arc<Self>, key: &str) -> Option<Slot> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (map, total) = &mut *inner;
        if *total >= self.total || map.get(key).copied().unwrap_or(0) >= self.per_key {
            return None;
        }
        *total += 1;
        *map.entry(key.to_owned()).or_default() += 1;
        Some(Slot {
            slots: self.clone(),
            key: key.to_owned(),
        })
    }

    /// Slots held now.
    pub fn held(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self
            .slots
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (map, total) = &mut *inner;
        *total = total.saturating_sub(1);
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The key a peer address is counted under: IPv4 as is, IPv6 by its /64.
pub fn peer_key(ip: std::net::IpAddr) -> String {
    crate::changes::source_key(Some(ip), 64)
}

/// A connection that holds its slot and closes when idle: a read or write that makes
/// progress moves the deadline; a read still waiting at the deadline fails with TimedOut.
#[derive(Debug)]
pub struct Tracked<S> {
    inner: S,
    idle: std::pin::Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    _slot: Slot,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, slot: Slot, timeout: Duration) -> Self {
        Self {
            inner,
            idle: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            _slot: slot,
        }
    }

    fn touch(&mut self) {
        let at = tokio::time::Instant::now() + self.timeout;
        self.idle.as_mut().reset(at);
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Tracked<S> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "idle connection closed",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Tracked<S> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        r
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("no {0} in the PEM file")]
    Missing(&'static str),
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A rustls server config (ring only) from PEM files, offering http/1.1.
pub fn server_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, TlsError> {
    let read = |what, p: &std::path::Path| {
        std::fs::read(p).map_err(|source| TlsError::Read {
            what,
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read("certificate", cert)?;
    let key_pem = read("key", key)?;
    let chain = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            what: "certificate",
            path: cert.display().to_string(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::Missing("certificate"));
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|source| TlsError::Read {
            what: "key",
            path: key.display().to_string(),
            source,
        })?
        .ok_or(TlsError::Missing("private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts TCP, handshakes TLS elsewhere, yields finished streams.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(Tracked<TlsStream<TcpStream>>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        stop: CancellationToken,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let connections = Slots::new(MAX_CONNECTIONS_PER_SOURCE, MAX_CONNECTIONS);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stop.cancelled() => return,
                    a = tcp.accept() => a,
                };
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(connection) = connections.take(&peer_key(peer.ip())) else {
                    tracing::debug!(%peer, "too many connections from this source (or in total); dropped");
                    continue;
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many TLS handshakes in progress; connection dropped");
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let tracked = Tracked::new(tls, connection, IDLE_TIMEOUT);
                            let _ = tx.send((tracked, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = Tracked<TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor stopped (shutdown): never yield again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The TCP peer of a connection, for `into_make_service_with_connect_info` over both the TLS
/// listener and a plain TCP listener (behind a proxy).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[test]
    fn slots_per_source_and_total() {
        let s = Slots::new(2, 3);
        let a1 = s.take("a").expect("slot");
        let _a2 = s.take("a").expect("slot");
        assert!(s.take("a").is_none(), "per source");
        let _b1 = s.take("b").expect("slot");
        assert!(s.take("c").is_none(), "total");
        drop(a1);
        assert!(s.take("a").is_some(), "given back");
        assert_eq!(
            peer_key("2001:db8::1".parse().expect("ip")),
            peer_key("2001:db8::ffff".parse().expect("ip"))
        );
    }

    #[tokio::test]
    async fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
        let s = Slots::new(10, 10);
        let (client, server) = tokio::io::duplex(64);
        let mut server = Tracked::new(
            server,
            s.take("a").expect("slot"),
            Duration::from_millis(300),
        );
        let mut client = client;
        // Busy: a byte every 150 ms keeps it open past the 300 ms idle timeout.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            client.write_all(b"x").await.expect("write");
            let mut b = [0u8; 1];
            server.read_exact(&mut b).await.expect("read");
        }
        // Idle: the next read fails after the timeout.
        let mut b = [0u8; 1];
        let err = server.read_exact(&mut b).await.expect_err("idle");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(s.held(), 1);
        drop(server);
        assert_eq!(s.held(), 0, "the slot is given back with the connection");
    }
}
