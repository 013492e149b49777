//! End-to-end tests: the real UDP and RadSec servers on loopback, driven by FreeRADIUS's
//! `radclient` and by raw sockets. Every wait is bounded by a timeout.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mfa_radius::auth::{
    MessageAuthenticatorCheck, check_response_message_authenticator, encode_pap, sign_request,
    verify_response_authenticator,
};
use mfa_radius::packet::{Code, Packet, attr, random_authenticator};
use mfa_radius::{
    AccessPolicy, AccessRequest, AccountingDecision, AccountingRequest, AccountingStatus,
    ClientConfig, ClientMode, Counter, Decision, MessageAuthenticatorPolicy, ServerConfig,
    SharedSecret, Stats, Transport, serve_tls, serve_udp, serve_udp_accounting, tls_server_config,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const SECRET: &str = "testing123";
const CAROL_STATE: &[u8] = b"carol-state-1";
/// How long an expected answer may take, and how long silence must last to count as none.
const ANSWER: Duration = Duration::from_secs(5);
const NO_ANSWER: Duration = Duration::from_millis(500);

/// Accepts alice/pw123456, challenges carol for the code 123456, is slow for "slow",
/// rejects everyone else. Counts its calls.
#[derive(Debug, Default)]
struct Stub {
    calls: AtomicUsize,
    last_transport: std::sync::Mutex<Option<Transport>>,
    /// Accounting-Requests recorded.
    accounted: std::sync::Mutex<Vec<AccountingRequest>>,
}

#[async_trait::async_trait]
impl AccessPolicy for Stub {
    async fn decide(&self, req: AccessRequest) -> Decision {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.last_transport.lock().unwrap() = Some(req.transport);
        let password = req.password.as_ref().and_then(|p| p.as_str());
        match (req.username.as_str(), password, req.state.as_deref()) {
            ("alice", Some("pw123456"), None) => Decision::Accept {
                reply_message: Some("welcome alice".into()),
            },
            ("carol", Some("carolpw"), None) => Decision::Challenge {
                state: CAROL_STATE.to_vec(),
                reply_message: "Enter your code".into(),
                session_timeout: Some(60),
            },
            ("carol", Some("123456"), Some(CAROL_STATE)) => Decision::Accept {
                reply_message: None,
            },
            ("slow", _, _) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Decision::Accept {
                    reply_message: None,
                }
            }
            // The gateway's answer when its hashing queue is full.
            ("overloaded", _, _) => Decision::Drop,
            _ => Decision::Reject {
                reply_message: Some("denied".into()),
            },
        }
    }

    async fn account(&self, req: AccountingRequest) -> AccountingDecision {
        // "unrecorded" stands for a store that cannot write.
        if req.username.as_deref() == Some("unrecorded") {
            return AccountingDecision::Drop;
        }
        self.accounted.lock().unwrap().push(req);
        AccountingDecision::Recorded
    }
}

fn client(network: &str, policy: MessageAuthenticatorPolicy) -> ClientConfig {
    let mut config = ClientConfig::new("test-nas", network.parse().unwrap(), SECRET.into());
    config.message_authenticator = policy;
    config.mode = ClientMode::Challenge;
    config
}

struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    policy: Arc<Stub>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn udp(bind: &str, config: ServerConfig) -> Server {
        let socket = UdpSocket::bind(bind).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let (stats, policy) = (Arc::new(Stats::new()), Arc::new(Stub::default()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_udp(
            socket,
            Arc::new(config),
            Arc::clone(&policy) as Arc<dyn AccessPolicy>,
            Arc::clone(&stats),
            async move {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stats,
            policy,
            stop,
            task,
        }
    }

    async fn default_udp() -> Server {
        let config = ServerConfig::new(vec![client(
            "127.0.0.0/8",
            MessageAuthenticatorPolicy::Required,
        )]);
        Server::udp("127.0.0.1:0", config).await
    }

    fn calls(&self) -> usize {
        self.policy.calls.load(Ordering::SeqCst)
    }

    fn count(&self, counter: Counter) -> u64 {
        self.stats.get(counter)
    }

    /// Stops the server and checks that the serve function returns promptly.
    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        let result = timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server did not stop after shutdown");
        result.unwrap().unwrap();
    }
}

/// Runs radclient with `input` on stdin; returns stdout and stderr together.
async fn radclient(addr: SocketAddr, command: &str, secret: &str, input: &str) -> String {
    if let Err(error) = std::process::Command::new("radclient").arg("-v").output() {
        if error.kind() == std::io::ErrorKind::NotFound {
            panic!("radclient not found: install it with `apt-get install freeradius-utils`");
        }
        panic!("cannot run radclient: {error}");
    }
    let mut child = tokio::process::Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "1"])
        .arg(addr.to_string())
        .args([command, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("radclient hung")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("radclient {command}:\n{text}");
    text
}

/// The hex value radclient printed for `attribute` in the reply, e.g. `State = 0x...`.
fn reply_hex(output: &str, attribute: &str) -> Vec<Vec<u8>> {
    let received = output.split("Received").nth(1).unwrap_or_default();
    received
        .lines()
        .filter_map(|line| line.trim().strip_prefix(&format!("{attribute} = 0x")))
        .map(|hex_value| hex::decode(hex_value.trim()).unwrap())
        .collect()
}

#[tokio::test]
async fn pap_accept_with_message_authenticator() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = alice, User-Password = pw123456, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    assert!(out.contains("Reply-Message = \"welcome alice\""), "{out}");
    assert_eq!(server.calls(), 1);
    assert_eq!(server.count(Counter::Accepts), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn pap_reject() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = alice, User-Password = wrong, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Reject"), "{out}");
    assert_eq!(server.count(Counter::Rejects), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_shared_secret_gets_no_answer() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        "not-the-secret",
        "User-Name = alice, User-Password = pw123456, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(!out.contains("Received"), "{out}");
    assert!(out.contains("No reply"), "{out}");
    assert!(server.count(Counter::DropBadAuthenticator) >= 1);
    assert_eq!(server.calls(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn missing_message_authenticator_when_required_gets_no_answer() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = alice, User-Password = pw123456\n",
    )
    .await;
    assert!(!out.contains("Received"), "{out}");
    assert!(server.count(Counter::DropMissingMessageAuthenticator) >= 1);
    assert_eq!(server.calls(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn message_authenticator_not_required_and_auto_policies() {
    let config = ServerConfig::new(vec![
        client("127.0.0.1/32", MessageAuthenticatorPolicy::NotRequired),
        client("127.0.0.0/8", MessageAuthenticatorPolicy::Auto),
    ]);
    let server = Server::udp("127.0.0.1:0", config).await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = alice, User-Password = pw123456\n",
    )
    .await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    server.shutdown().await;

    // Auto: accepted without, until the client once sends a valid one.
    let config = ServerConfig::new(vec![client(
        "127.0.0.0/8",
        MessageAuthenticatorPolicy::Auto,
    )]);
    let server = Server::udp("127.0.0.1:0", config).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (plain, plain_auth) = request(1, "alice", "pw123456", SECRET, false);
    exchange(&socket, server.addr, &plain, &plain_auth).await;
    let (signed, signed_auth) = request(2, "alice", "pw123456", SECRET, true);
    exchange(&socket, server.addr, &signed, &signed_auth).await;
    let (plain, _) = request(3, "alice", "pw123456", SECRET, false);
    silence(&socket, server.addr, &plain).await;
    assert_eq!(server.count(Counter::DropMissingMessageAuthenticator), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn status_server_is_answered_without_the_policy() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "status",
        SECRET,
        "Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    assert_eq!(server.calls(), 0);
    assert_eq!(server.count(Counter::StatusServer), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn challenge_round_trip() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = carol, User-Password = carolpw, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Challenge"), "{out}");
    assert!(out.contains("Reply-Message = \"Enter your code\""), "{out}");
    let state = reply_hex(&out, "State");
    assert_eq!(state, [CAROL_STATE.to_vec()], "{out}");

    let input = format!(
        "User-Name = carol, User-Password = 123456, State = 0x{}, Message-Authenticator = 0x00\n",
        hex::encode(&state[0])
    );
    let out = radclient(server.addr, "auth", SECRET, &input).await;
    assert!(out.contains("Received Access-Accept"), "{out}");
    assert_eq!(server.count(Counter::Challenges), 1);
    assert_eq!(server.count(Counter::Accepts), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn proxy_state_is_echoed_in_order() {
    let server = Server::default_udp().await;
    let out = radclient(
        server.addr,
        "auth",
        SECRET,
        "User-Name = bob, User-Password = x, Proxy-State = 0x616263, \
         Proxy-State = 0x646566, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(out.contains("Received Access-Reject"), "{out}");
    assert_eq!(
        reply_hex(&out, "Proxy-State"),
        [b"abc".to_vec(), b"def".to_vec()],
        "{out}"
    );
    server.shutdown().await;
}

/// An Access-Request built with the crate's own codec.
fn request(id: u8, user: &str, password: &str, secret: &str, ma: bool) -> (Vec<u8>, [u8; 16]) {
    let secret = SharedSecret::from(secret);
    let authenticator = random_authenticator().unwrap();
    let mut packet = Packet::new(Code::ACCESS_REQUEST, id, authenticator);
    if ma {
        packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    }
    packet.push(attr::USER_NAME, user.as_bytes().to_vec());
    packet.push(
        attr::USER_PASSWORD,
        encode_pap(password.as_bytes(), &authenticator, &secret).unwrap(),
    );
    (sign_request(&mut packet, &secret).unwrap(), authenticator)
}

/// Sends `bytes` and returns the answer, which must come and be authentic.
async fn exchange(
    socket: &UdpSocket,
    to: SocketAddr,
    bytes: &[u8],
    authenticator: &[u8; 16],
) -> Vec<u8> {
    socket.send_to(bytes, to).await.unwrap();
    receive(socket, authenticator, ANSWER)
        .await
        .expect("no answer from the server")
}

/// Sends `bytes` and checks that nothing comes back.
async fn silence(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) {
    socket.send_to(bytes, to).await.unwrap();
    let mut buf = [0u8; 4096];
    let answer = timeout(NO_ANSWER, socket.recv_from(&mut buf)).await;
    assert!(answer.is_err(), "unexpected answer: {answer:?}");
}

async fn receive(socket: &UdpSocket, authenticator: &[u8; 16], wait: Duration) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    let (len, _) = timeout(wait, socket.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    let answer = buf[..len].to_vec();
    check_answer(&answer, authenticator, SECRET);
    Some(answer)
}

fn check_answer(answer: &[u8], authenticator: &[u8; 16], secret: &str) -> Packet {
    let secret = SharedSecret::from(secret);
    assert!(verify_response_authenticator(
        answer,
        authenticator,
        &secret
    ));
    let packet = Packet::decode(answer).unwrap();
    assert_eq!(packet.attributes[0].typ, attr::MESSAGE_AUTHENTICATOR);
    assert_eq!(
        check_response_message_authenticator(&packet, authenticator, &secret),
        MessageAuthenticatorCheck::Valid
    );
    packet
}

#[tokio::test]
async fn retransmit_is_answered_from_the_cache() {
    let server = Server::default_udp().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (bytes, auth) = request(7, "alice", "pw123456", SECRET, true);
    let first = exchange(&socket, server.addr, &bytes, &auth).await;
    let second = exchange(&socket, server.addr, &bytes, &auth).await;
    assert_eq!(first, second);
    assert_eq!(Packet::decode(&first).unwrap().code, Code::ACCESS_ACCEPT);
    assert_eq!(server.calls(), 1);
    assert_eq!(server.count(Counter::DuplicateAnsweredFromCache), 1);
    // Same Identifier, new authenticator: a new request.
    let (bytes, auth) = request(7, "alice", "pw123456", SECRET, true);
    exchange(&socket, server.addr, &bytes, &auth).await;
    assert_eq!(server.calls(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn retransmit_in_flight_joins_the_first() {
    let server = Server::default_udp().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (bytes, auth) = request(9, "slow", "x", SECRET, true);
    socket.send_to(&bytes, server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket.send_to(&bytes, server.addr).await.unwrap();
    let wait = Duration::from_secs(3);
    let first = receive(&socket, &auth, wait).await.expect("first answer");
    let second = receive(&socket, &auth, wait)
        .await
        .expect("answer for the retransmit");
    assert_eq!(first, second);
    assert_eq!(server.calls(), 1);
    assert_eq!(server.count(Counter::DuplicateJoinedInFlight), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn overload_is_dropped_unanswered_and_not_cached() {
    let mut config = ServerConfig::new(vec![client(
        "127.0.0.0/8",
        MessageAuthenticatorPolicy::Required,
    )]);
    config.max_in_flight = 1;
    let server = Server::udp("127.0.0.1:0", config).await;
    let slow_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (slow, slow_auth) = request(1, "slow", "x", SECRET, true);
    slow_socket.send_to(&slow, server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (fast, fast_auth) = request(2, "alice", "pw123456", SECRET, true);
    // No Access-Reject for the NAS to show its user: silence, so it retransmits.
    silence(&socket, server.addr, &fast).await;
    assert_eq!(server.count(Counter::Overload), 1);
    assert_eq!(server.count(Counter::Rejects), 0);

    let answer = receive(&slow_socket, &slow_auth, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(Packet::decode(&answer).unwrap().code, Code::ACCESS_ACCEPT);
    // The dropped request was not cached: a retransmit now reaches the policy.
    let answer = exchange(&socket, server.addr, &fast, &fast_auth).await;
    assert_eq!(Packet::decode(&answer).unwrap().code, Code::ACCESS_ACCEPT);
    assert_eq!(server.calls(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_client_and_garbage_are_dropped() {
    let config = ServerConfig::new(vec![client(
        "10.0.0.0/8",
        MessageAuthenticatorPolicy::Required,
    )]);
    let server = Server::udp("127.0.0.1:0", config).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (bytes, _) = request(1, "alice", "pw123456", SECRET, true);
    silence(&socket, server.addr, &bytes).await;
    assert_eq!(server.count(Counter::DropUnknownClient), 1);
    server.shutdown().await;

    let server = Server::default_udp().await;
    silence(&socket, server.addr, b"\x01\x02\x00\x30short").await;
    assert_eq!(server.count(Counter::DropMalformed), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn ipv6_socket_works() {
    let config = ServerConfig::new(vec![client(
        "::1/128",
        MessageAuthenticatorPolicy::Required,
    )]);
    let server = Server::udp("[::1]:0", config).await;
    let socket = UdpSocket::bind("[::1]:0").await.unwrap();
    let (bytes, auth) = request(1, "alice", "pw123456", SECRET, true);
    let answer = exchange(&socket, server.addr, &bytes, &auth).await;
    assert_eq!(Packet::decode(&answer).unwrap().code, Code::ACCESS_ACCEPT);
    server.shutdown().await;
}

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, as PEM
/// and DER.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
    client_cert: rustls::pki_types::CertificateDer<'static>,
    client_key: rustls::pki_types::PrivateKeyDer<'static>,
    ca_der: rustls::pki_types::CertificateDer<'static>,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test RadSec CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

    let mut client_params = CertificateParams::new(vec!["nas.test".to_string()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca_pem: ca.pem(),
        server_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert: client_cert.der().clone(),
        client_key: rustls::pki_types::PrivatePkcs8KeyDer::from(client_key.serialize_der()).into(),
        ca_der: ca.der().clone(),
    }
}

fn tls_client(pki: &Pki, with_cert: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if with_cert {
        builder
            .with_client_auth_cert(vec![pki.client_cert.clone()], pki.client_key.clone_key())
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn radsec_round_trip() {
    let pki = pki();
    let tls = tls_server_config(
        pki.server_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
        pki.ca_pem.as_bytes(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut nas = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    // The client certificate names nas.test: it is bound to this client.
    nas.radsec_identity = Some("nas.test".into());
    let config = ServerConfig::new(vec![nas]);
    let (stats, policy) = (Arc::new(Stats::new()), Arc::new(Stub::default()));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_tls(
        listener,
        Arc::new(tls),
        Arc::new(config),
        Arc::clone(&policy) as Arc<dyn AccessPolicy>,
        Arc::clone(&stats),
        async move {
            let _ = stopped.await;
        },
    ));

    let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut stream = timeout(
        Duration::from_secs(5),
        tls_client(&pki, true).connect(server_name.clone(), tcp),
    )
    .await
    .unwrap()
    .unwrap();
    // Two requests back to back on one stream, secret "radsec" (RFC 6614).
    let (first, first_auth) = request(1, "alice", "pw123456", "radsec", true);
    let (second, second_auth) = request(2, "bob", "nope", "radsec", true);
    stream.write_all(&[first, second].concat()).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut header = [0u8; 4];
        timeout(Duration::from_secs(5), stream.read_exact(&mut header))
            .await
            .unwrap()
            .unwrap();
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let mut answer = header.to_vec();
        answer.resize(length, 0);
        timeout(Duration::from_secs(5), stream.read_exact(&mut answer[4..]))
            .await
            .unwrap()
            .unwrap();
        answers.push(answer);
    }
    answers.sort_by_key(|a| a[1]);
    assert_eq!(
        check_answer(&answers[0], &first_auth, "radsec").code,
        Code::ACCESS_ACCEPT
    );
    assert_eq!(
        check_answer(&answers[1], &second_auth, "radsec").code,
        Code::ACCESS_REJECT
    );
    assert_eq!(*policy.last_transport.lock().unwrap(), Some(Transport::Tls));
    assert_eq!(stats.get(Counter::TlsConnections), 1);

    // Without a client certificate nothing is answered.
    let tcp = TcpStream::connect(addr).await.unwrap();
    if let Ok(Ok(mut stream)) = timeout(
        Duration::from_secs(5),
        tls_client(&pki, false).connect(server_name, tcp),
    )
    .await
    {
        let (bytes, _) = request(3, "alice", "pw123456", "radsec", true);
        let _ = stream.write_all(&bytes).await;
        let mut buf = [0u8; 20];
        let read = timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    assert_eq!(policy.calls.load(Ordering::SeqCst), 2);

    stop.send(()).unwrap();
    timeout(Duration::from_secs(10), task)
        .await
        .expect("RadSec server did not stop")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_policy_drop_gets_no_answer_and_its_retransmit_is_decided_again() {
    let server = Server::default_udp().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (bytes, _) = request(4, "overloaded", "x", SECRET, true);
    silence(&socket, server.addr, &bytes).await;
    silence(&socket, server.addr, &bytes).await;
    assert_eq!(server.calls(), 2, "not answered from the cache");
    assert_eq!(server.count(Counter::DropPolicy), 2);
    assert_eq!(server.count(Counter::Rejects), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn radclient_accounting_start_and_stop_are_answered_once_recorded() {
    let mut nas = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    nas.end_user_address = vec![mfa_radius::AddressAttribute::CallingStationId];
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (stats, policy) = (Arc::new(Stats::new()), Arc::new(Stub::default()));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_udp_accounting(
        socket,
        Arc::new(ServerConfig::new(vec![nas])),
        Arc::clone(&policy) as Arc<dyn AccessPolicy>,
        Arc::clone(&stats),
        async move {
            let _ = stopped.await;
        },
    ));
    let start = "Acct-Status-Type = Start, Acct-Session-Id = \"S-42\", User-Name = \"ann\", \
                 Calling-Station-Id = \"198.51.100.9\", NAS-IP-Address = 127.0.0.1\n";
    let out = radclient(addr, "acct", SECRET, start).await;
    assert!(out.contains("Received Accounting-Response"), "{out}");
    let stop_packet = "Acct-Status-Type = Stop, Acct-Session-Id = \"S-42\", User-Name = \"ann\", \
                       Acct-Session-Time = 600, Acct-Terminate-Cause = User-Request\n";
    let out = radclient(addr, "acct", SECRET, stop_packet).await;
    assert!(out.contains("Received Accounting-Response"), "{out}");
    {
        let accounted = policy.accounted.lock().unwrap();
        assert_eq!(accounted.len(), 2);
        assert_eq!(accounted[0].status, AccountingStatus::Start);
        assert_eq!(accounted[0].session_id.as_deref(), Some("S-42"));
        assert_eq!(
            accounted[0].end_user_address,
            Some("198.51.100.9".parse().unwrap())
        );
        assert_eq!(accounted[0].nas_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(accounted[1].status, AccountingStatus::Stop);
        assert_eq!(accounted[1].session_time, Some(600));
        assert_eq!(accounted[1].terminate_cause, Some(1));
    }
    // A wrong secret, and a request the policy could not record: no answer.
    let out = radclient(addr, "acct", "not-the-secret", start).await;
    assert!(!out.contains("Received"), "{out}");
    let unrecorded =
        "Acct-Status-Type = Start, Acct-Session-Id = \"S-43\", User-Name = \"unrecorded\"\n";
    let out = radclient(addr, "acct", SECRET, unrecorded).await;
    assert!(!out.contains("Received"), "{out}");
    // An Access-Request on the accounting port is not served.
    let out = radclient(
        addr,
        "auth",
        SECRET,
        "User-Name = alice, User-Password = pw123456, Message-Authenticator = 0x00\n",
    )
    .await;
    assert!(!out.contains("Received"), "{out}");
    assert_eq!(policy.calls.load(Ordering::SeqCst), 0);
    assert_eq!(stats.get(Counter::AccountingResponses), 2);
    assert_eq!(stats.get(Counter::AccountingDropBadAuthenticator), 1);
    assert!(stats.get(Counter::AccountingDropNotRecorded) >= 1);
    // Accounting never shows up as authentication in the counters.
    assert_eq!(stats.get(Counter::AccessRequests), 0);
    assert_eq!(stats.get(Counter::Accepts) + stats.get(Counter::Rejects), 0);
    stop.send(()).unwrap();
    timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A RadSec server with `nas` as its only client and an idle timeout of `idle`.
async fn radsec_server(
    pki: &Pki,
    nas: ClientConfig,
    idle: Duration,
) -> (
    SocketAddr,
    Arc<Stats>,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let tls = tls_server_config(
        pki.server_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
        pki.ca_pem.as_bytes(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ServerConfig::new(vec![nas]);
    config.tls_idle_timeout = idle;
    let stats = Arc::new(Stats::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_tls(
        listener,
        Arc::new(tls),
        Arc::new(config),
        Arc::new(Stub::default()) as Arc<dyn AccessPolicy>,
        Arc::clone(&stats),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stats, stop, task)
}

/// Connects with the test client certificate, sends alice's request and reads the answer;
/// `None` if the connection is closed without one.
async fn radsec_try(pki: &Pki, addr: SocketAddr) -> Option<Packet> {
    let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut stream = timeout(ANSWER, tls_client(pki, true).connect(server_name, tcp))
        .await
        .unwrap()
        .ok()?;
    let (bytes, auth) = request(1, "alice", "pw123456", "radsec", true);
    stream.write_all(&bytes).await.ok()?;
    let mut answer = vec![0u8; 4096];
    let n = timeout(ANSWER, stream.read(&mut answer))
        .await
        .unwrap()
        .ok()?;
    (n > 0).then(|| check_answer(&answer[..n], &auth, "radsec"))
}

#[tokio::test]
async fn radsec_certificate_is_bound_to_its_client() {
    let pki = pki();
    // Another client's identity: this certificate cannot speak as it.
    let mut other = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    other.radsec_identity = Some("other-nas.test".into());
    let (addr, stats, stop, task) = radsec_server(&pki, other, Duration::from_secs(60)).await;
    assert!(radsec_try(&pki, addr).await.is_none());
    assert_eq!(stats.get(Counter::TlsCertificateMismatch), 1);
    assert_eq!(stats.get(Counter::AccessRequests), 0);
    stop.send(()).unwrap();
    let _ = timeout(Duration::from_secs(10), task).await.unwrap();

    // No identity configured: the client's own name ("test-nas") is not in the certificate.
    let unnamed = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    let (addr, stats, stop, task) = radsec_server(&pki, unnamed, Duration::from_secs(60)).await;
    assert!(radsec_try(&pki, addr).await.is_none());
    assert_eq!(stats.get(Counter::TlsCertificateMismatch), 1);
    stop.send(()).unwrap();
    let _ = timeout(Duration::from_secs(10), task).await.unwrap();

    // Pinned by fingerprint: this certificate, and no other.
    use sha2::Digest as _;
    let mut pinned = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    pinned.radsec_cert_sha256 = vec![sha2::Sha256::digest(pki.client_cert.as_ref()).into()];
    let (addr, stats, stop, task) = radsec_server(&pki, pinned, Duration::from_secs(60)).await;
    let answer = radsec_try(&pki, addr).await.expect("an answer");
    assert_eq!(answer.code, Code::ACCESS_ACCEPT);
    assert_eq!(stats.get(Counter::TlsCertificateMismatch), 0);
    stop.send(()).unwrap();
    let _ = timeout(Duration::from_secs(10), task).await.unwrap();
}

#[tokio::test]
async fn radsec_idle_connection_is_closed() {
    let pki = pki();
    let mut nas = client("127.0.0.0/8", MessageAuthenticatorPolicy::Required);
    nas.radsec_identity = Some("nas.test".into());
    let (addr, stats, stop, task) = radsec_server(&pki, nas, Duration::from_millis(300)).await;
    let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut stream = timeout(ANSWER, tls_client(&pki, true).connect(server_name, tcp))
        .await
        .unwrap()
        .unwrap();
    // A frame keeps it open; then nothing for the idle time closes it.
    let (bytes, auth) = request(1, "alice", "pw123456", "radsec", true);
    stream.write_all(&bytes).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = timeout(ANSWER, stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        check_answer(&answer[..n], &auth, "radsec").code,
        Code::ACCESS_ACCEPT
    );
    let closed = timeout(ANSWER, stream.read(&mut answer)).await.unwrap();
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert_eq!(stats.get(Counter::TlsIdleClosed), 1);
    stop.send(()).unwrap();
    let _ = timeout(Duration::from_secs(10), task).await.unwrap();
}
