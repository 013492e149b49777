//! RadSec: RADIUS over TLS over TCP (RFC 6614). Packets are framed by their own Length
//! field; the shared secret is "radsec" unless the client config names another; a client
//! certificate signed by the configured CA is required, the client is matched by source
//! address as over UDP, and the certificate must be that client's (its SHA-256 listed, or
//! its name: see `ClientConfig::radsec_identity`), so one client's certificate cannot speak
//! as another. Access and Accounting share the connection. A connection without a frame
//! for `tls_idle_timeout`, and with no answer pending, is closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::RadiusError;
use crate::packet::{DecodeError, HEADER_LEN, MAX_PACKET_LEN, declared_length};
use crate::request::{AccessPolicy, Services, Transport};
use crate::server::{Engine, ReplyTo, ServerConfig, drain, reap};
use crate::stats::{Counter, Stats};

/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers queued per connection before the reader waits for the writer.
const WRITE_QUEUE: usize = 64;

/// A rustls server config for RadSec: the certificate chain and key are ours, client
/// certificates are required and verified against `client_ca_pem`. Uses the ring provider
/// explicitly, so no process-wide provider needs installing.
pub fn tls_server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<rustls::ServerConfig, RadiusError> {
    let chain = rustls_pemfile::certs(&mut &cert_chain_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RadiusError::Pem("certificate chain", e))?;
    if chain.is_empty() {
        return Err(RadiusError::MissingPem("certificate chain"));
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| RadiusError::Pem("private key", e))?
        .ok_or(RadiusError::MissingPem("private key"))?;
    let mut roots = rustls::RootCertStore::empty();
    let mut found = false;
    for ca in rustls_pemfile::certs(&mut &client_ca_pem[..]) {
        let ca = ca.map_err(|e| RadiusError::Pem("client CA", e))?;
        roots.add(ca)?;
        found = true;
    }
    if !found {
        return Err(RadiusError::MissingPem("client CA"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(config)
}

/// Serves RadSec on `listener` until `shutdown` completes. Connections from addresses in no
/// client's network are closed before the handshake. On shutdown, connections stop reading,
/// policy calls under way get a grace period to answer, then everything is closed.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    config: Arc<ServerConfig>,
    policy: Arc<dyn AccessPolicy>,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let services = Services {
        access: true,
        accounting: true,
    };
    let engine = Engine::new(&config, policy, stats, Transport::Tls, services);
    let idle = config.tls_idle_timeout;
    let connection_slots = Arc::new(Semaphore::new(config.max_tls_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    if let Ok(local) = listener.local_addr() {
        tracing::info!(%local, "RADIUS/TLS listening");
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(result) = connections.join_next(), if !connections.is_empty() => reap(result),
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    if engine.clients.lookup(peer.ip()).is_none() {
                        engine.stats.incr(Counter::DropUnknownClient);
                        engine.stats.incr(Counter::TlsConnectionsRefused);
                        tracing::debug!(%peer, "RadSec connection from unknown client closed");
                        continue;
                    }
                    let Ok(slot) = Arc::clone(&connection_slots).try_acquire_owned() else {
                        engine.stats.incr(Counter::TlsConnectionsRefused);
                        tracing::warn!(%peer, "max_tls_connections reached: connection closed");
                        continue;
                    };
                    connections.spawn(connection(
                        Arc::clone(&engine),
                        acceptor.clone(),
                        tcp,
                        peer,
                        stop_rx.clone(),
                        slot,
                        idle,
                    ));
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    tracing::info!("RADIUS/TLS stopping");
    // Receivers only fail once every connection has ended: nothing to tell then.
    let _ = stop_tx.send(true);
    drain(&mut connections, engine.grace).await;
    Ok(())
}

async fn connection(
    engine: Arc<Engine>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
) {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            engine.stats.incr(Counter::TlsConnectionsRefused);
            tracing::info!(%peer, %error, "RadSec handshake failed");
            return;
        }
        Err(_) => {
            engine.stats.incr(Counter::TlsConnectionsRefused);
            tracing::info!(%peer, "RadSec handshake timed out");
            return;
        }
    };
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec());
    let bound = engine
        .clients
        .lookup(peer.ip())
        .zip(leaf)
        .is_some_and(|(client, der)| client.certificate_matches(&der));
    if !bound {
        engine.stats.incr(Counter::TlsCertificateMismatch);
        engine.stats.incr(Counter::TlsConnectionsRefused);
        tracing::warn!(%peer, "RadSec client certificate is not this client's: closed");
        let (_, mut writer) = tokio::io::split(stream);
        let _ = writer.shutdown().await;
        return;
    }
    engine.stats.incr(Counter::TlsConnections);
    tracing::debug!(%peer, "RadSec connection up");
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Arc<[u8]>>(WRITE_QUEUE);

    let write_half = async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    };

    let read_half = async move {
        let reply_to = ReplyTo::Tls(tx);
        let mut tasks = JoinSet::new();
        let mut frames = FrameReader::default();
        let mut deadline = tokio::time::Instant::now() + idle;
        loop {
            tokio::select! {
                biased;
                () = stopping(&mut stop) => break,
                Some(result) = tasks.join_next(), if !tasks.is_empty() => {
                    reap(result);
                    // An answer just went out: the idle time counts from here.
                    deadline = tokio::time::Instant::now() + idle;
                }
                () = tokio::time::sleep_until(deadline), if tasks.is_empty() => {
                    engine.stats.incr(Counter::TlsIdleClosed);
                    tracing::debug!(%peer, "RadSec connection idle: closing");
                    break;
                }
                read = frames.fill(&mut reader) => match read {
                    Ok(true) => {
                        deadline = tokio::time::Instant::now() + idle;
                        while let Some(frame) = frames.next_frame() {
                            match frame {
                                Ok(frame) => engine.handle(&frame, peer, &reply_to, &mut tasks).await,
                                Err(error) => {
                                    // Framing is lost: nothing after this can be trusted.
                                    engine.stats.incr(Counter::DropMalformed);
                                    tracing::info!(%peer, %error, "bad RadSec framing: closing");
                                    drain(&mut tasks, engine.grace).await;
                                    return;
                                }
                            }
                        }
                    }
                    Ok(false) => break,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "RadSec read failed");
                        break;
                    }
                },
            }
        }
        // Let policy calls under way answer before the writer closes.
        drain(&mut tasks, engine.grace).await;
    };

    tokio::join!(read_half, write_half);
    tracing::debug!(%peer, "RadSec connection closed");
}

/// Completes once the server is stopping (or gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopping| stopping).await;
}

/// Splits a byte stream into RADIUS packets using their Length field. `fill` only uses
/// `read`, which is cancel-safe, so it can sit in a `select!`.
#[derive(Debug, Default)]
struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    /// Reads more octets; `Ok(false)` at end of stream.
    async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> std::io::Result<bool> {
        let mut chunk = [0u8; MAX_PACKET_LEN];
        let n = reader.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// The next complete packet, if buffered; an error if the stream is not RADIUS.
    fn next_frame(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        if self.buf.len() < HEADER_LEN {
            return None;
        }
        match declared_length(&self.buf) {
            Ok(length) if length <= self.buf.len() => Some(Ok(self.buf.drain(..length).collect())),
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_split_on_length_across_reads() {
        let mut a = vec![1, 1, 0, 22];
        a.extend_from_slice(&[0; 16]);
        a.extend_from_slice(&[18, 2]);
        let mut b = vec![12, 2, 0, 20];
        b.extend_from_slice(&[9; 16]);
        let stream: Vec<u8> = [a.clone(), b.clone()].concat();
        let mut frames = FrameReader::default();
        let mut got = Vec::new();
        for piece in stream.chunks(7) {
            let mut reader = piece;
            assert!(frames.fill(&mut reader).await.unwrap());
            while let Some(frame) = frames.next_frame() {
                got.push(frame.unwrap());
            }
        }
        assert_eq!(got, [a, b]);
        let mut empty: &[u8] = &[];
        assert!(!frames.fill(&mut empty).await.unwrap());
    }

    #[test]
    fn bad_length_is_a_framing_error() {
        let mut buf = vec![1, 1, 0x20, 0x00];
        buf.extend_from_slice(&[0; 16]);
        let mut frames = FrameReader { buf };
        assert!(matches!(
            frames.next_frame(),
            Some(Err(DecodeError::BadLength(8192)))
        ));
    }

    #[test]
    fn config_needs_pem_material() {
        assert!(matches!(
            tls_server_config(b"", b"", b""),
            Err(RadiusError::MissingPem("certificate chain"))
        ));
    }
}
