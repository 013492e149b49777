//! RADIUS end to end: the real `mfa-gateway serve` on ephemeral ports, asked by FreeRADIUS's
//! `radclient` (append and challenge modes, Status-Server, Message-Authenticator rules, rate
//! limits, IPv6), and by a small client built on `mfa_radius` for what radclient cannot do
//! (an exact retransmit of one datagram, RadSec). Every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_e2e::{
    Instance, Serving, audit_events, config, instance_roots, seed_of, serve, uri_in, wait_until,
};
use mfa_gateway::otp::{self, OtpHash};
use mfa_radius::SharedSecret;
use mfa_radius::auth::{encode_pap, sign_request, verify_response_authenticator};
use mfa_radius::packet::{Code, Packet, attr, random_authenticator};
use serde_json::Value;

pub(crate) const PW: &str = "correct horse battery";
pub(crate) const SECRET: &str = "e2e-shared-secret-0123";
pub(crate) const ORG: &str = "Practice Noord";
pub(crate) const READY: Duration = Duration::from_secs(30);
/// radclient's wait for an answer that should come.
pub(crate) const ANSWER_WAIT: u32 = 10;
/// radclient's wait where silence is expected (drops happen before any password check).
pub(crate) const SILENCE_WAIT: u32 = 2;
/// Our own sockets' read timeout.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

// ---- setting up a gateway ----

/// A `[[radius.clients]]` block with the test secret; `extra` holds more `key = value` lines.
pub(crate) fn client(name: &str, address: &str, extra: &str) -> String {
    format!(
        "\n[[radius.clients]]\nname = \"{name}\"\naddress = \"{address}\"\nsecret = \"{SECRET}\"\n{extra}\n"
    )
}

/// `init` with RADIUS on `listen` (a TOML array), RadSec on 127.0.0.1:0 if `radsec`, the
/// given `(section, key, value)` settings and `clients`; then one organisation.
pub(crate) fn gateway(
    listen: &str,
    radsec: bool,
    settings: &[(&str, &str, &str)],
    clients: &[String],
) -> Instance {
    let g = Instance::init();
    g.edit_config(|doc| {
        config::set_toml(doc, "radius.listen", listen);
        if radsec {
            config::set_toml(doc, "radius.radsec_listen", r#"["127.0.0.1:0"]"#);
        }
        for (section, key, value) in settings {
            let path = format!("{section}.{key}");
            assert!(
                config::get(doc, &path).is_some(),
                "the config made by init has no `{path}`"
            );
            config::set_toml(doc, &path, value);
        }
        for c in clients {
            config::merge(doc, c);
        }
    });
    g.ok(&["org", "add", ORG], None);
    g
}

/// A gateway on 127.0.0.1 with one append-mode client for 127.0.0.1.
fn append_gateway() -> Instance {
    gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[],
        &[client("rdgw", "127.0.0.1/32", r#"mode = "append""#)],
    )
}

pub(crate) fn start(g: &Instance) -> Serving {
    serve(g, READY)
}

/// A person with password `password` and one phone per label; returns the phones' seeds.
pub(crate) fn person(g: &Instance, user: &str, password: &str, phones: &[&str]) -> Vec<Vec<u8>> {
    mfa_e2e::add_person(g, user, ORG, user, None, password);
    phones
        .iter()
        .map(|label| {
            let out = g.ok(&["device", "add-totp", user, "--label", label], None);
            seed_of(&uri_in(&out))
        })
        .collect()
}

/// Import one HOTP token (counter 0) from a PSKC file and link it to `user`.
pub(crate) fn hotp_token(g: &Instance, user: &str, serial: &str, seed: &[u8], label: &str) {
    let secret = data_encoding::BASE64.encode(seed);
    let pskc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>ACME</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>
    <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{secret}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"#
    );
    let file = g.dir.path().join(format!("{serial}.xml"));
    std::fs::write(&file, pskc).unwrap();
    g.ok(&["token", "import", file.to_str().unwrap()], None);
    g.ok(&["token", "assign", serial, user, "--label", label], None);
}

pub(crate) fn now() -> i64 {
    mfa_gateway::model::now()
}

/// The TOTP code `steps` time steps from now (within the default skew for -1..=1).
pub(crate) fn totp(seed: &[u8], steps: i64) -> String {
    otp::totp(seed, now() + 30 * steps, 30, OtpHash::Sha1, 6)
}

/// A six-digit code that none of `seeds` would accept now (nor two steps either side).
pub(crate) fn wrong_code(seeds: &[&[u8]]) -> String {
    let valid: Vec<String> = seeds
        .iter()
        .flat_map(|s| (-2..=2).map(move |k| totp(s, k)))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Every `login_attempt` in the audit trail, oldest first.
pub(crate) fn login_attempts(g: &Instance) -> Vec<Value> {
    audit_events(g, Some("login_attempt"))
}

pub(crate) fn field<'a>(events: &'a [Value], name: &str) -> Vec<Option<&'a str>> {
    events.iter().map(|e| e[name].as_str()).collect()
}

// ---- radclient ----

/// What radclient got back.
#[derive(Debug)]
pub(crate) struct Answer {
    /// "Access-Accept", "Access-Reject", "Access-Challenge"; `None`: no reply.
    pub(crate) code: Option<String>,
    /// The reply's attributes as radclient prints them, string quotes removed.
    attrs: Vec<(String, String)>,
    /// All radclient printed, for failure messages.
    pub(crate) output: String,
}

impl Answer {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn assert_code(&self, code: &str) -> &Self {
        assert_eq!(self.code.as_deref(), Some(code), "{}", self.output);
        self
    }

    pub(crate) fn assert_silence(&self) {
        assert!(
            self.code.is_none() && self.output.contains("No reply from server"),
            "expected no answer:\n{}",
            self.output
        );
    }

    /// The attributes other than Message-Authenticator (which differs per answer).
    pub(crate) fn visible_attrs(&self) -> Vec<&(String, String)> {
        self.attrs
            .iter()
            .filter(|(n, _)| n != "Message-Authenticator")
            .collect()
    }
}

fn radclient_path() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("radclient"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "radclient not found: install it with `apt-get install freeradius-utils` \
                 (README's test command does)"
            )
        })
}

/// Parses radclient -x output: the "Received <code> ..." line and the attribute lines after it.
fn parse_radclient(output: String) -> Answer {
    let mut code = None;
    let mut attrs = Vec::new();
    let mut in_reply = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("Received ") {
            code = rest.split_whitespace().next().map(str::to_owned);
            in_reply = true;
        } else if in_reply && line.starts_with(char::is_whitespace) {
            if let Some((name, value)) = line.trim().split_once(" = ") {
                attrs.push((name.to_owned(), value.trim_matches('"').to_owned()));
            }
        } else {
            in_reply = false;
        }
    }
    Answer {
        code,
        attrs,
        output,
    }
}

/// `echo ATTRS | radclient -x -r 1 -t WAIT SERVER COMMAND SECRET`, killed if it outlives
/// its own timeout by far.
pub(crate) fn radclient(
    server: SocketAddr,
    command: &str,
    secret: &str,
    attrs: &str,
    wait: u32,
) -> Answer {
    let mut child = Command::new(radclient_path())
        .args(["-x", "-r", "1", "-t", &wait.to_string()])
        .arg(server.to_string())
        .args([command, secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn radclient");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(attrs.as_bytes()).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(u64::from(wait) + 20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("radclient did not finish in time for {attrs}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut output = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    parse_radclient(output)
}

/// An Access-Request with User-Name, User-Password and a Message-Authenticator.
pub(crate) fn auth(server: SocketAddr, user: &str, password: &str) -> Answer {
    auth_with(
        server,
        SECRET,
        user,
        password,
        ", Message-Authenticator = 0x00",
        ANSWER_WAIT,
    )
}

pub(crate) fn auth_with(
    server: SocketAddr,
    secret: &str,
    user: &str,
    password: &str,
    extra: &str,
    wait: u32,
) -> Answer {
    let attrs = format!(r#"User-Name = "{user}", User-Password = "{password}"{extra}"#);
    radclient(server, "auth", secret, &attrs, wait)
}

// ---- our own client, for exact retransmits and RadSec ----

/// A signed PAP Access-Request with a Message-Authenticator, and its Request Authenticator.
pub(crate) fn access_request(
    id: u8,
    user: &str,
    password: &str,
    secret: &str,
) -> (Vec<u8>, [u8; 16]) {
    let secret = SharedSecret::from(secret);
    let authenticator = random_authenticator().unwrap();
    let mut request = Packet::new(Code::ACCESS_REQUEST, id, authenticator);
    request.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    request.push(attr::USER_NAME, user.as_bytes());
    request.push(
        attr::USER_PASSWORD,
        encode_pap(password.as_bytes(), &authenticator, &secret).unwrap(),
    );
    request.push(attr::NAS_IDENTIFIER, b"e2e".as_slice());
    (sign_request(&mut request, &secret).unwrap(), authenticator)
}

/// Decodes an answer after checking that it answers `request_authenticator` with `secret`.
pub(crate) fn verified(
    response: &[u8],
    id: u8,
    request_authenticator: &[u8; 16],
    secret: &str,
) -> Packet {
    assert!(
        verify_response_authenticator(response, request_authenticator, &SharedSecret::from(secret)),
        "the Response Authenticator does not verify"
    );
    let packet = Packet::decode(response).unwrap();
    assert_eq!(packet.identifier, id);
    packet
}

/// One RadSec exchange: TLS with the instance's client certificate, trusting its CA.
fn radsec_exchange(g: &Instance, server: SocketAddr, request: &[u8]) -> Vec<u8> {
    let certs = g.dir.path().join("certs");
    let pem = |file: &str| std::fs::read(certs.join(file)).unwrap();
    let chain = rustls_pemfile::certs(&mut pem("client.pem").as_slice())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut pem("client.key").as_slice())
        .unwrap()
        .expect("a private key in client.key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(instance_roots(g))
        .with_client_auth_cert(chain, key)
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect_timeout(&server, READ_TIMEOUT).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(request).unwrap();
    tls.flush().unwrap();
    let mut header = [0u8; 4];
    tls.read_exact(&mut header).expect("an answer over RadSec");
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    assert!(length >= 20, "Length field {length}");
    let mut rest = vec![0u8; length - 4];
    tls.read_exact(&mut rest).unwrap();
    [header.as_slice(), &rest].concat()
}

// ---- the tests ----

#[test]
fn append_mode_accepts_either_phone_rejects_the_rest_and_audits_each_request() {
    let g = append_gateway();
    let seeds = person(&g, "ann", PW, &["business phone", "private phone"]);
    let (phone1, phone2) = (&seeds[0], &seeds[1]);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");

    let c1 = totp(phone1, 0);
    auth(server, "ann", &format!("{PW}{c1}")).assert_code("Access-Accept");
    auth(server, "ann", &format!("{PW}{}", totp(phone2, 0))).assert_code("Access-Accept");
    let bad = wrong_code(&[phone1, phone2]);
    auth(server, "ann", &format!("{PW}{bad}")).assert_code("Access-Reject");
    let wrong_password = auth(server, "ann", &format!("not the password{bad}"));
    wrong_password.assert_code("Access-Reject");
    let unknown = auth(server, "nobody", &format!("{PW}{bad}"));
    unknown.assert_code("Access-Reject");
    // A wrong password and an unknown user look the same on the wire.
    assert_eq!(wrong_password.visible_attrs(), unknown.visible_attrs());
    auth(server, "ann", &format!("{PW}{c1}")).assert_code("Access-Reject");

    let events = login_attempts(&g);
    assert_eq!(
        events.len(),
        6,
        "one login_attempt per request: {events:#?}"
    );
    assert_eq!(
        field(&events, "outcome"),
        ["accept", "accept", "reject", "reject", "reject", "reject"].map(Some)
    );
    assert_eq!(
        field(&events, "reason"),
        [
            None,
            None,
            Some("bad_code"),
            Some("bad_password"),
            Some("unknown_user"),
            Some("replayed_code")
        ]
    );
    assert_eq!(
        field(&events, "device_label")[..2],
        [Some("business phone"), Some("private phone")]
    );
    for e in &events {
        assert_eq!(e["channel"], "radius", "{e}");
        assert_eq!(e["client"], "rdgw", "{e}");
        assert_eq!(e["source"], "127.0.0.1", "{e}");
    }
    assert_eq!(events[4]["username"], "nobody");
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains(PW) && !text.contains(&c1),
        "no password or code in the audit"
    );
}

#[test]
fn append_mode_with_separator_accepts_a_hardware_token() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[],
        &[client(
            "citrix",
            "127.0.0.1/32",
            "mode = \"append\"\nseparator = \",\"",
        )],
    );
    // A password with the separator in it: the code is what follows the last one.
    let password = "correct,horse,battery";
    person(&g, "bob", password, &[]);
    let seed = b"12345678901234567890";
    hotp_token(&g, "bob", "HW000001", seed, "key fob");
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");

    let code = otp::hotp(seed, 0, OtpHash::Sha1, 6);
    auth(server, "bob", &format!("{password},{code}")).assert_code("Access-Accept");

    let events = login_attempts(&g);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["outcome"], "accept");
    assert_eq!(events[0]["device_label"], "key fob");
    assert_eq!(events[0]["client"], "citrix");
}

#[test]
fn challenge_mode_asks_for_the_code_with_a_single_use_state_bound_to_the_user() {
    let prompt = "Code from your phone, please";
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[("radius", "challenge_prompt", &format!("\"{prompt}\""))],
        &[client("vpn", "127.0.0.1/32", r#"mode = "challenge""#)],
    );
    let ann = person(&g, "ann", PW, &["phone"]);
    let bob = person(&g, "bob", PW, &["phone"]);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    let with_state = |user: &str, code: &str, state: &str| {
        auth_with(
            server,
            SECRET,
            user,
            code,
            &format!(", State = {state}, Message-Authenticator = 0x00"),
            ANSWER_WAIT,
        )
    };

    // A wrong password gets no challenge.
    let r = auth(server, "ann", "not the password");
    r.assert_code("Access-Reject");
    assert_eq!(r.attr("State"), None, "{}", r.output);

    let first = auth(server, "ann", PW);
    first.assert_code("Access-Challenge");
    assert_eq!(
        first.attr("Reply-Message"),
        Some(prompt),
        "{}",
        first.output
    );
    let state = first.attr("State").expect("a State").to_owned();
    assert!(state.starts_with("0x") && state.len() > 2, "{state}");
    with_state("ann", &totp(&ann[0], 0), &state).assert_code("Access-Accept");
    // The State is single use, even with a fresh code.
    with_state("ann", &totp(&ann[0], 1), &state).assert_code("Access-Reject");

    // Another user's State does not let bob in, even with bob's right code.
    let second = auth(server, "ann", PW);
    second.assert_code("Access-Challenge");
    let state2 = second.attr("State").expect("a State").to_owned();
    assert_ne!(state, state2);
    with_state("bob", &totp(&bob[0], 0), &state2).assert_code("Access-Reject");

    let events = login_attempts(&g);
    assert_eq!(
        field(&events, "outcome"),
        [
            "reject",
            "challenge",
            "accept",
            "reject",
            "challenge",
            "reject"
        ]
        .map(Some),
        "{events:#?}"
    );
    assert_eq!(
        field(&events, "username"),
        ["ann", "ann", "ann", "ann", "ann", "bob"].map(Some)
    );
    assert_eq!(events[0]["reason"], "bad_password");
    assert_eq!(events[2]["device_label"], "phone");
}

#[test]
fn status_server_is_answered_only_with_a_message_authenticator() {
    let g = append_gateway();
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    radclient(
        server,
        "status",
        SECRET,
        "Message-Authenticator = 0x00",
        ANSWER_WAIT,
    )
    .assert_code("Access-Accept");
    // RFC 5997: a Status-Server without one is dropped.
    radclient(
        server,
        "status",
        SECRET,
        "NAS-Identifier = \"e2e\"",
        SILENCE_WAIT,
    )
    .assert_silence();
    assert!(login_attempts(&g).is_empty(), "Status-Server is no login");
}

#[test]
fn wrong_secret_and_missing_message_authenticator_get_no_answer_unless_not_required() {
    // Message-Authenticator required (also the default).
    let strict = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[],
        &[client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\nmessage_authenticator = \"required\"",
        )],
    );
    let seed = person(&strict, "ann", PW, &["phone"]).remove(0);
    let s = start(&strict);
    let server = s.addr("radius udp", "127.0.0.1");
    let password = format!("{PW}{}", totp(&seed, 0));
    auth_with(
        server,
        "not-the-shared-secret",
        "ann",
        &password,
        ", Message-Authenticator = 0x00",
        SILENCE_WAIT,
    )
    .assert_silence();
    auth_with(server, SECRET, "ann", &password, "", SILENCE_WAIT).assert_silence();
    // Neither reached the engine: the code is still unused.
    assert!(login_attempts(&strict).is_empty());
    auth(server, "ann", &password).assert_code("Access-Accept");

    // Old equipment: a client configured not_required is answered without one.
    let lax = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[],
        &[client(
            "old-nas",
            "127.0.0.1/32",
            "mode = \"append\"\nmessage_authenticator = \"not_required\"",
        )],
    );
    let seed = person(&lax, "ann", PW, &["phone"]).remove(0);
    let s = start(&lax);
    let server = s.addr("radius udp", "127.0.0.1");
    let password = format!("{PW}{}", totp(&seed, 0));
    auth_with(server, SECRET, "ann", &password, "", ANSWER_WAIT).assert_code("Access-Accept");
    // Still silent for a wrong secret.
    auth_with(
        server,
        "not-the-shared-secret",
        "ann",
        &password,
        ", Message-Authenticator = 0x00",
        SILENCE_WAIT,
    )
    .assert_silence();
}

#[test]
fn a_retransmitted_request_gets_the_same_answer_and_authenticates_once() {
    let g = append_gateway();
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let (request, authenticator) =
        access_request(77, "ann", &format!("{PW}{}", totp(&seed, 0)), SECRET);
    let receive = || {
        let mut buf = [0u8; 4096];
        let (n, from) = socket
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no answer ({e}); server log:\n{}", s.log()));
        assert_eq!(from, server);
        buf[..n].to_vec()
    };

    // Twice back to back (the second arrives while the first is being decided)...
    socket.send_to(&request, server).unwrap();
    socket.send_to(&request, server).unwrap();
    let first = receive();
    let second = receive();
    assert_eq!(first, second, "both copies get the same answer");
    let answer = verified(&first, 77, &authenticator, SECRET);
    assert_eq!(answer.code, Code::ACCESS_ACCEPT);
    // ...and once more after the answer, from the cache.
    socket.send_to(&request, server).unwrap();
    assert_eq!(receive(), first);

    let events = login_attempts(&g);
    assert_eq!(events.len(), 1, "one login attempt: {events:#?}");
    assert_eq!(events[0]["outcome"], "accept");
}

#[test]
fn radsec_with_a_client_certificate_accepts() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        true,
        &[],
        // The dev client certificate names radsec-client.localhost: bound to this client.
        &[client(
            "radsec-proxy",
            "127.0.0.1/32",
            "mode = \"append\"\nradsec_identity = \"radsec-client.localhost\"",
        )],
    );
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius radsec", "127.0.0.1");
    // RFC 6614: the shared secret over TLS is "radsec".
    let (request, authenticator) =
        access_request(5, "ann", &format!("{PW}{}", totp(&seed, 0)), "radsec");
    let response = radsec_exchange(&g, server, &request);
    let answer = verified(&response, 5, &authenticator, "radsec");
    assert_eq!(answer.code, Code::ACCESS_ACCEPT, "server log:\n{}", s.log());

    let events = login_attempts(&g);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["outcome"], "accept");
    assert_eq!(events[0]["client"], "radsec-proxy");
}

#[test]
fn the_fourth_quick_attempt_for_one_user_is_rate_limited_and_audited() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[("rate_limit", "per_username_per_minute", "3")],
        &[client("rdgw", "127.0.0.1/32", r#"mode = "append""#)],
    );
    let ann = person(&g, "ann", PW, &["phone"]).remove(0);
    let bob = person(&g, "bob", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");

    let bad = wrong_code(&[&ann]);
    for _ in 0..3 {
        auth(server, "ann", &format!("{PW}{bad}")).assert_code("Access-Reject");
    }
    auth(server, "ann", &format!("{PW}{}", totp(&ann, 0))).assert_code("Access-Reject");
    // The limit is per username: bob still gets in.
    auth(server, "bob", &format!("{PW}{}", totp(&bob, 0))).assert_code("Access-Accept");

    let events = login_attempts(&g);
    let ann_events: Vec<&Value> = events.iter().filter(|e| e["username"] == "ann").collect();
    assert_eq!(ann_events.len(), 4, "{events:#?}");
    assert_eq!(ann_events[3]["outcome"], "reject");
    assert_eq!(ann_events[3]["reason"], "rate_limited");
    assert!(ann_events.iter().all(|e| e["outcome"] == "reject"));
}

#[test]
fn ipv6_listener_and_client_accept() {
    let g = gateway(
        r#"["127.0.0.1:0", "[::1]:0"]"#,
        false,
        &[],
        &[client("v6-nas", "::1/128", r#"mode = "append""#)],
    );
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius udp", "::1");
    auth(server, "ann", &format!("{PW}{}", totp(&seed, 0))).assert_code("Access-Accept");

    let events = login_attempts(&g);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["outcome"], "accept");
    assert_eq!(events[0]["client"], "v6-nas");
    assert_eq!(events[0]["source"], "::1");
}

/// Durability: an Accept leaves only after its audit event is committed. A load of logins
/// runs while the gateway is killed with SIGKILL; afterwards every Accept the client saw has
/// its event, and the audit chain still verifies.
#[test]
fn after_kill_9_every_accept_seen_has_its_audit_event() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[
            ("rate_limit", "per_source_per_minute", "0"),
            ("rate_limit", "per_username_per_minute", "0"),
        ],
        &[client("rdgw", "127.0.0.1/32", r#"mode = "append""#)],
    );
    person(&g, "kim", PW, &[]);
    // An HOTP token gives a fresh code for every login, with no wait for the next time step.
    let seed = b"kill-nine-seed-20byt";
    hotp_token(&g, "kim", "HW000009", seed, "desk token");
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = accepted.clone();
    let load = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut accepted = 0u32;
        for counter in 0..10_000u64 {
            let code = otp::hotp(seed, counter, OtpHash::Sha1, 6);
            let id = (counter % 256) as u8;
            let (request, authenticator) =
                access_request(id, "kim", &format!("{PW}{code}"), SECRET);
            if socket.send_to(&request, server).is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            let Ok((n, _)) = socket.recv_from(&mut buf) else {
                break; // the gateway is gone
            };
            if verified(&buf[..n], id, &authenticator, SECRET).code == Code::ACCESS_ACCEPT {
                accepted += 1;
                counted.store(accepted, std::sync::atomic::Ordering::SeqCst);
            }
        }
        accepted
    });
    // Mid-load: after a good number of Accepts, with more on the way.
    wait_until(Duration::from_secs(30), "20 Accepts under load", || {
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 20
    });
    drop(s); // SIGKILL, mid-load
    let accepted = load.join().unwrap();
    assert!(accepted > 0, "some logins were accepted before the kill");

    let events = login_attempts(&g);
    let accept_events = events.iter().filter(|e| e["outcome"] == "accept").count();
    assert!(
        accept_events >= accepted as usize,
        "{accepted} Accepts seen but only {accept_events} accept events recorded"
    );
    let verify = g.run(&["audit", "verify"], None);
    assert!(
        verify.ok,
        "the chain verifies after kill -9:\n{}{}",
        verify.stdout, verify.stderr
    );
}
