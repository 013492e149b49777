//! The serving engine shared by UDP and RadSec, and the UDP server (RFC 2865).
//!
//! One receive loop per socket does the cheap work inline (client lookup, decode,
//! authenticators, duplicate check, quick answers). Only policy calls run in tasks, and at
//! most `max_in_flight` at once: past that a request is dropped (no answer, not cached, so
//! the NAS's retransmit is decided afresh) and counted as overload, so a flood cannot pile
//! up tasks. The accounting port (`serve_udp_accounting`) takes Accounting-Requests only,
//! the authentication port Access-Requests only; RadSec takes both.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::clients::{ClientConfig, Clients};
use crate::dedup::{Begin, DEFAULT_CAPACITY, DedupCache};
use crate::packet::{MAX_PACKET_LEN, Packet};
use crate::request::{
    AccessPolicy, AccountingDecision, Decision, Services, Transport, Verdict, process,
};
use crate::stats::{Counter, Stats};

/// How long a stopping server waits for policy calls under way before abandoning them.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// At most this many extra copies of an answer are sent for retransmits that joined.
const MAX_JOINED_RESENDS: u32 = 3;

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Known clients; for a source address the most specific network wins.
    pub clients: Vec<ClientConfig>,
    /// How long an answer is kept for retransmits (RFC 5080 2.2.2). Default 10 s.
    pub duplicate_window: Duration,
    /// Most policy calls running at once, per serve function. Default 256.
    pub max_in_flight: usize,
    /// Most RadSec connections open at once. Default 256.
    pub max_tls_connections: usize,
    /// A RadSec connection with no frame for this long (and no answer pending) is closed.
    /// Default 120 s.
    pub tls_idle_timeout: Duration,
    /// At shutdown, how long policy calls still running (held approvals) may take to
    /// finish before they are abandoned. Default 5 s.
    pub shutdown_grace: Duration,
    /// The clients as every server looks them up (`clients`, replaceable by a reload).
    pub table: Arc<Clients>,
}

impl ServerConfig {
    /// Defaults for everything but the clients.
    pub fn new(clients: Vec<ClientConfig>) -> Self {
        ServerConfig {
            duplicate_window: Duration::from_secs(10),
            max_in_flight: 256,
            max_tls_connections: 256,
            tls_idle_timeout: Duration::from_secs(120),
            shutdown_grace: SHUTDOWN_GRACE,
            table: Clients::new(&clients),
            clients,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new(Vec::new())
    }
}

/// Where answers to one peer go.
#[derive(Debug, Clone)]
pub(crate) enum ReplyTo {
    Udp {
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
    },
    Tls(mpsc::Sender<Arc<[u8]>>),
}

impl ReplyTo {
    async fn send(&self, bytes: Arc<[u8]>) {
        match self {
            ReplyTo::Udp { socket, peer } => {
                if let Err(error) = socket.send_to(&bytes, *peer).await {
                    tracing::debug!(%peer, %error, "sending the answer failed");
                }
            }
            ReplyTo::Tls(tx) => {
                if tx.send(bytes).await.is_err() {
                    tracing::debug!("connection closed before the answer was sent");
                }
            }
        }
    }
}

/// State shared by every packet of one serve function.
pub(crate) struct Engine {
    pub(crate) clients: Arc<Clients>,
    policy: Arc<dyn AccessPolicy>,
    pub(crate) stats: Arc<Stats>,
    dedup: Arc<DedupCache>,
    permits: Arc<Semaphore>,
    transport: Transport,
    services: Services,
    /// How long running policy calls may finish at shutdown.
    pub(crate) grace: Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        config: &ServerConfig,
        policy: Arc<dyn AccessPolicy>,
        stats: Arc<Stats>,
        transport: Transport,
        services: Services,
    ) -> Arc<Self> {
        Arc::new(Engine {
            clients: Arc::clone(&config.table),
            policy,
            stats,
            dedup: DedupCache::new(config.duplicate_window, DEFAULT_CAPACITY),
            permits: Arc::new(Semaphore::new(config.max_in_flight)),
            transport,
            services,
            grace: config.shutdown_grace,
        })
    }

    /// Handles one datagram or frame from `source`. Quick answers are sent before this
    /// returns; a policy call is spawned onto `tasks` if a permit is free.
    pub(crate) async fn handle(
        self: &Arc<Self>,
        bytes: &[u8],
        source: SocketAddr,
        reply_to: &ReplyTo,
        tasks: &mut JoinSet<()>,
    ) {
        let Some(client) = self.clients.lookup(source.ip()) else {
            self.stats.incr(if self.services.access {
                Counter::DropUnknownClient
            } else {
                Counter::AccountingDropUnknownClient
            });
            tracing::debug!(%source, "packet from unknown client dropped");
            return;
        };
        let packet = match Packet::decode(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                self.stats.incr(Counter::DropMalformed);
                tracing::debug!(client = %client.info.name, %source, %error, "malformed packet dropped");
                return;
            }
        };
        let span = tracing::debug_span!(
            "radius",
            client = %client.info.name,
            %source,
            id = packet.identifier,
            code = %packet.code,
            user = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let now = Instant::now();
        let verdict = span.in_scope(|| {
            process(
                &packet,
                &client,
                source,
                self.transport,
                self.services,
                &self.stats,
                now,
            )
        });
        match verdict {
            Verdict::Drop(counter) => {
                self.stats.incr(counter);
                span.record("outcome", counter.name());
                tracing::debug!(parent: &span, "dropped");
            }
            Verdict::Answer { response, counter } => {
                self.stats.incr(counter);
                span.record("outcome", counter.name());
                reply_to.send(response.into()).instrument(span).await;
            }
            Verdict::Ask { request, reply } => {
                let key = (source, packet.identifier, packet.authenticator);
                let Some((ticket, permit)) = self.admit(key, now, reply_to, &span).await else {
                    return;
                };
                let engine = Arc::clone(self);
                let reply_to = reply_to.clone();
                let task_span = span.clone();
                tasks.spawn(
                    async move {
                        let started = Instant::now();
                        let decision = engine.policy.decide(*request).await;
                        drop(permit);
                        if decision == Decision::Drop {
                            // The ticket goes unfinished: a retransmit is decided afresh.
                            engine.stats.incr(Counter::DropPolicy);
                            task_span.record("outcome", Counter::DropPolicy.name());
                            return;
                        }
                        let Some((response, counter)) = reply.build(&decision) else {
                            return;
                        };
                        engine.stats.incr(counter);
                        task_span.record("outcome", counter.name());
                        tracing::debug!(
                            latency_ms = started.elapsed().as_millis() as u64,
                            "answered"
                        );
                        let response: Arc<[u8]> = response.into();
                        let joined = ticket.finish(Arc::clone(&response), Instant::now());
                        for _ in 0..=joined.min(MAX_JOINED_RESENDS) {
                            reply_to.send(Arc::clone(&response)).await;
                        }
                    }
                    .instrument(span),
                );
            }
            Verdict::Account { request, reply } => {
                let key = (source, packet.identifier, packet.authenticator);
                let Some((ticket, permit)) = self.admit(key, now, reply_to, &span).await else {
                    return;
                };
                let engine = Arc::clone(self);
                let reply_to = reply_to.clone();
                let task_span = span.clone();
                tasks.spawn(
                    async move {
                        let decision = engine.policy.account(*request).await;
                        drop(permit);
                        let response = match decision {
                            AccountingDecision::Recorded => reply.accounting_response(),
                            AccountingDecision::Drop => None,
                        };
                        let Some(response) = response else {
                            engine.stats.incr(Counter::AccountingDropNotRecorded);
                            task_span.record("outcome", Counter::AccountingDropNotRecorded.name());
                            return;
                        };
                        engine.stats.incr(Counter::AccountingResponses);
                        task_span.record("outcome", Counter::AccountingResponses.name());
                        let response: Arc<[u8]> = response.into();
                        let joined = ticket.finish(Arc::clone(&response), Instant::now());
                        for _ in 0..=joined.min(MAX_JOINED_RESENDS) {
                            reply_to.send(Arc::clone(&response)).await;
                        }
                    }
                    .instrument(span),
                );
            }
        }
    }

    /// The duplicate check and a policy permit for a request that needs the policy. `None`:
    /// handled here (a cached answer sent, joined to the copy in flight, or dropped for
    /// overload without an answer, so the NAS retransmits later).
    async fn admit(
        &self,
        key: crate::dedup::Key,
        now: Instant,
        reply_to: &ReplyTo,
        span: &tracing::Span,
    ) -> Option<(crate::dedup::Ticket, tokio::sync::OwnedSemaphorePermit)> {
        let ticket = match self.dedup.begin(key, now) {
            Begin::Cached(bytes) => {
                self.stats.incr(Counter::DuplicateAnsweredFromCache);
                span.record("outcome", "duplicate_answered_from_cache");
                reply_to.send(bytes).instrument(span.clone()).await;
                return None;
            }
            Begin::Joined => {
                self.stats.incr(Counter::DuplicateJoinedInFlight);
                span.record("outcome", "duplicate_joined_in_flight");
                return None;
            }
            Begin::New(ticket) => ticket,
        };
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            drop(ticket);
            self.stats.incr(Counter::Overload);
            span.record("outcome", "overload");
            tracing::warn!(parent: span, "max_in_flight policy calls running: dropped");
            return None;
        };
        Some((ticket, permit))
    }
}

/// Logs a task that panicked (a bug in the policy); the server keeps going.
pub(crate) fn reap(result: Result<(), tokio::task::JoinError>) {
    if let Err(error) = result
        && error.is_panic()
    {
        tracing::error!("a policy call panicked; its request was dropped");
    }
}

/// Waits up to `grace` for `tasks`, then abandons the rest.
pub(crate) async fn drain(tasks: &mut JoinSet<()>, grace: Duration) {
    let all_done = async {
        while let Some(result) = tasks.join_next().await {
            reap(result);
        }
    };
    if tokio::time::timeout(grace, all_done).await.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "shutdown: abandoning policy calls still running"
        );
        tasks.abort_all();
    }
}

/// Serves RADIUS over UDP on `socket` (IPv4 or IPv6, bound by the caller) until `shutdown`
/// completes. Policy calls still running then get 5 seconds to finish.
pub async fn serve_udp(
    socket: UdpSocket,
    config: Arc<ServerConfig>,
    policy: Arc<dyn AccessPolicy>,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let services = Services {
        access: true,
        accounting: false,
    };
    serve_udp_with(socket, config, policy, stats, services, shutdown).await
}

/// Serves RADIUS Accounting (RFC 2866) over UDP on `socket` (usually port 1813) until
/// `shutdown` completes: Accounting-Requests and Status-Server only.
pub async fn serve_udp_accounting(
    socket: UdpSocket,
    config: Arc<ServerConfig>,
    policy: Arc<dyn AccessPolicy>,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let services = Services {
        access: false,
        accounting: true,
    };
    serve_udp_with(socket, config, policy, stats, services, shutdown).await
}

async fn serve_udp_with(
    socket: UdpSocket,
    config: Arc<ServerConfig>,
    policy: Arc<dyn AccessPolicy>,
    stats: Arc<Stats>,
    services: Services,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let socket = Arc::new(socket);
    let engine = Engine::new(&config, policy, stats, Transport::Udp, services);
    if let Ok(local) = socket.local_addr() {
        let what = if services.access {
            "RADIUS/UDP"
        } else {
            "RADIUS accounting/UDP"
        };
        tracing::info!(%local, clients = config.clients.len(), "{what} listening");
    }
    let mut tasks = JoinSet::new();
    // Datagrams longer than this are cut by the kernel: octets past 4096 are never part of
    // a valid packet, so nothing is lost.
    let mut buf = vec![0u8; MAX_PACKET_LEN];
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(result) = tasks.join_next(), if !tasks.is_empty() => reap(result),
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, peer)) => {
                    let reply_to = ReplyTo::Udp { socket: Arc::clone(&socket), peer };
                    engine.handle(&buf[..len], peer, &reply_to, &mut tasks).await;
                }
                Err(error) => {
                    // E.g. an ICMP port unreachable reported on a later receive: not fatal.
                    tracing::debug!(%error, "UDP receive failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    tracing::info!("RADIUS/UDP stopping");
    drain(&mut tasks, engine.grace).await;
    Ok(())
}
