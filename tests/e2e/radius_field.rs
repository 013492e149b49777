//! RADIUS clients as they are in the field (issue 12), end to end against the real binary
//! with FreeRADIUS's `radclient`: the end user's address behind one NAS (RD Gateway's
//! Tunnel-Client-Endpt), usernames as typed (`PRAKTIJK\ann`, `ann@praktijk.nl`), the
//! `code_only` mode (NetScaler secondary), a held RD Gateway request answered on `/approve`
//! in headless Chromium with a hardware token's code, accounting Start/Stop with a
//! Disconnect-Request to a NAS listener when the person is removed, a burst through one NAS
//! with a full hashing queue (dropped, retransmitted, all accepted), and bad input.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::radius::{
    ANSWER_WAIT, ORG, PW, READ_TIMEOUT, SECRET, SILENCE_WAIT, access_request, auth, auth_with,
    client, gateway, hotp_token, login_attempts, person, radclient, start, totp, verified,
    wrong_code,
};
use mfa_e2e::browser::Browser;
use mfa_e2e::{Instance, audit_events, https_instance, serve, wait_until};
use mfa_gateway::otp::{self, OtpHash};
use mfa_radius::SharedSecret;
use mfa_radius::packet::{Code, Packet, attr};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

/// Cheap password hashing, so hundreds of logins fit in a test on two cores.
const FAST_HASH: [(&str, &str, &str); 2] = [
    ("password", "argon2_memory_kib", "256"),
    ("password", "argon2_iterations", "1"),
];

/// People `prefix0..prefixN` with the test password and one phone each, made in process
/// through the gateway library (the CLI would start a process per person); their seeds.
fn many_people(g: &Instance, prefix: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_, gw) = mfa_gateway::cli::open_gateway(&g.config()).await.unwrap();
        let org = gw.org(ORG).await.unwrap();
        let now = mfa_gateway::model::now();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let username = format!("{prefix}{i}");
            let new = mfa_gateway::model::NewPerson {
                username: username.clone(),
                full_name: format!("Person {i}"),
                email: None,
                employee_number: None,
                org_id: org.id,
                roles: vec![mfa_gateway::model::Role::Person],
            };
            gw.create_person(
                new,
                Some(mfa_gateway::secret::SecretString::new(PW)),
                &mfa_gateway::service::Actor::cli(),
                now,
            )
            .await
            .unwrap();
            let phone = gw
                .add_totp(
                    &username,
                    "phone",
                    mfa_gateway::otp::OtpParams::totp_default(),
                    &mfa_gateway::service::Actor::cli(),
                    now,
                )
                .await
                .unwrap();
            out.push((username, mfa_e2e::seed_of(phone.uri.expose())));
        }
        out
    })
}

/// `radclient -x -p PARALLEL -r TRIES -t WAIT SERVER auth SECRET` with several requests (one
/// per blank-line separated block of `input`); all it printed.
fn radclient_many(server: SocketAddr, input: &str, parallel: u32, tries: u32, wait: u32) -> String {
    let mut child = Command::new("radclient")
        .args(["-x", "-p", &parallel.to_string(), "-r", &tries.to_string()])
        .args(["-t", &wait.to_string()])
        .arg(server.to_string())
        .args(["auth", SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient (apt-get install freeradius-utils)");
    let mut stdin = child.stdin.take().unwrap();
    let text = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    writer.join().unwrap().unwrap();
    child.wait().unwrap();
    out + &err
}

/// The events of `kind`, oldest first.
fn events_of(g: &Instance, kind: &str) -> Vec<Value> {
    audit_events(g, Some(kind))
}

#[test]
fn two_hundred_people_behind_one_nas_each_with_their_own_address() {
    let mut settings = FAST_HASH.to_vec();
    settings.push(("rate_limit", "per_username_per_minute", "0"));
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &settings,
        &[client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\nend_user_address = [\"Tunnel-Client-Endpt\", \"Calling-Station-Id\"]",
        )],
    );
    let people = many_people(&g, "p", 200);
    person(&g, "mallory", PW, &[]);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");

    // 200 people, each from their own address, 20 at a time: all accepted.
    let started = Instant::now();
    let input: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, (user, seed))| {
            format!(
                "User-Name = \"{user}\", User-Password = \"{PW}{}\", Tunnel-Client-Endpoint = \"198.51.{}.{}\", Message-Authenticator = 0x00\n",
                totp(seed, 0),
                100 + i / 200,
                1 + i % 200
            )
        })
        .collect();
    let out = radclient_many(server, &input.join("\n"), 20, 3, 5);
    assert_eq!(
        out.matches("Received Access-Accept").count(),
        200,
        "{out}\n{}",
        s.log()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "within a minute"
    );

    // One address sending many attempts is limited; another address is not.
    let flood: Vec<String> = (0..140)
        .map(|_| {
            "User-Name = \"mallory\", User-Password = \"wrong password 123456\", Tunnel-Client-Endpoint = \"203.0.113.66\", Message-Authenticator = 0x00\n".to_owned()
        })
        .collect();
    let out = radclient_many(server, &flood.join("\n"), 20, 3, 5);
    assert_eq!(out.matches("Received Access-Reject").count(), 140, "{out}");
    let (user, seed) = &people[0];
    auth_with(
        server,
        SECRET,
        user,
        &format!("{PW}{}", totp(seed, 1)),
        ", Tunnel-Client-Endpoint = \"198.51.100.250\", Message-Authenticator = 0x00",
        ANSWER_WAIT,
    )
    .assert_code("Access-Accept");

    let events = login_attempts(&g);
    let accepted: Vec<&Value> = events.iter().filter(|e| e["outcome"] == "accept").collect();
    assert_eq!(accepted.len(), 201);
    for e in &accepted {
        let source = e["source"].as_str().unwrap();
        assert!(source.starts_with("198.51.10"), "{e}");
        assert_eq!(e["detail"]["nas"], "127.0.0.1", "{e}");
    }
    let limited: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "rate_limited")
        .collect();
    assert!(!limited.is_empty(), "the flooding address is limited");
    assert!(
        limited.iter().all(|e| e["source"] == "203.0.113.66"),
        "only the flooding address: {limited:#?}"
    );
    assert!(
        !events.iter().any(|e| e["reason"] == "overloaded"),
        "none overloaded"
    );
}

#[test]
fn a_burst_of_200_through_one_nas_with_a_full_hashing_queue_is_all_accepted() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[
            ("password", "argon2_memory_kib", "1024"),
            ("password", "argon2_iterations", "1"),
            ("rate_limit", "per_username_per_minute", "0"),
        ],
        &[client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\nend_user_address = [\"Tunnel-Client-Endpt\"]",
        )],
    );
    let people = many_people(&g, "b", 200);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    let input: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, (user, seed))| {
            format!(
                "User-Name = \"{user}\", User-Password = \"{PW}{}\", Tunnel-Client-Endpoint = \"192.0.2.{}\", Message-Authenticator = 0x00\n",
                totp(seed, 0),
                1 + i
            )
        })
        .collect();
    // All 200 at once; dropped ones are retransmitted (as a NAS does) and decided afresh.
    let started = Instant::now();
    let out = radclient_many(server, &input.join("\n"), 200, 10, 3);
    let accepted = out.matches("Received Access-Accept").count();
    let log = s.log();
    assert_eq!(
        accepted,
        200,
        "{} sent, {} no reply, after {:?}; server log tail:\n{}",
        out.matches("Sent Access-Request").count(),
        out.matches("No reply").count(),
        started.elapsed(),
        &log[log.len().saturating_sub(3000)..]
    );
    assert_eq!(out.matches("Received Access-Reject").count(), 0, "{out}");
    let events = login_attempts(&g);
    assert_eq!(
        events.iter().filter(|e| e["outcome"] == "accept").count(),
        200
    );
}

#[test]
fn domain_and_upn_usernames_are_accepted_where_listed_and_unknown_otherwise() {
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[],
        &[client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\ndomains = [\"PRAKTIJK\"]\nupn_suffixes = [\"praktijk.nl\"]",
        )],
    );
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    auth(
        server,
        "PRAKTIJK\\\\ann",
        &format!("{PW}{}", totp(&seed, -1)),
    )
    .assert_code("Access-Accept");
    auth(
        server,
        "ann@praktijk.nl",
        &format!("{PW}{}", totp(&seed, 0)),
    )
    .assert_code("Access-Accept");
    // Not listed: refused exactly as an unknown user is.
    let bad = wrong_code(&[&seed]);
    let other_domain = auth(server, "OTHER\\\\ann", &format!("{PW}{}", totp(&seed, 1)));
    other_domain.assert_code("Access-Reject");
    let other_suffix = auth(server, "ann@other.nl", &format!("{PW}{}", totp(&seed, 1)));
    other_suffix.assert_code("Access-Reject");
    let unknown = auth(server, "nobody", &format!("{PW}{bad}"));
    unknown.assert_code("Access-Reject");
    assert_eq!(other_domain.visible_attrs(), unknown.visible_attrs());
    assert_eq!(other_suffix.visible_attrs(), unknown.visible_attrs());

    let events = login_attempts(&g);
    assert_eq!(events.len(), 5, "{events:#?}");
    assert_eq!(events[0]["username"], "ann");
    assert_eq!(events[0]["detail"]["typed_username"], "PRAKTIJK\\ann");
    assert!(events[0]["person_id"].as_i64().is_some());
    assert_eq!(events[1]["detail"]["typed_username"], "ann@praktijk.nl");
    for e in &events[2..] {
        assert_eq!(e["reason"], "unknown_user", "{e}");
        assert!(e["person_id"].is_null());
    }
    assert_eq!(events[2]["username"], "OTHER\\ann");
    assert_eq!(events[3]["username"], "ann@other.nl");
}

#[test]
fn code_only_accepts_a_code_refuses_a_replay_and_an_empty_password_asks_for_approval() {
    let g = https_instance(
        &["approval"],
        &format!(
            "\n[approval]\ntimeout_seconds = 30\nmax_prompts = 10\n\n[[radius.clients]]\nname = \"netscaler\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"code_only\"\nlabel = \"Citrix\"\n"
        ),
    );
    g.ok(&["org", "add", ORG], None);
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    person(&g, "dev-less", PW, &[]);
    let s = serve(&g, Duration::from_secs(30));
    let server = s.addr("radius udp", "127.0.0.1");
    let code = totp(&seed, 0);
    auth(server, "ann", &code).assert_code("Access-Accept");
    auth(server, "ann", &code).assert_code("Access-Reject");
    auth(server, "ann", "not-a-code").assert_code("Access-Reject");
    // An empty password (or "push") asks the person: nobody answers, so it times out when
    // the gateway's clock passes the prompt's expiry (moved, not waited for).
    let held = std::thread::spawn(move || auth(server, "ann", ""));
    wait_until(WAIT, "the prompt", || {
        !events_of(&g, "approval_requested").is_empty()
    });
    assert!(!held.is_finished(), "it waits");
    g.advance_clock(31);
    held.join().unwrap().assert_code("Access-Reject");
    // Nobody to ask: refused at once.
    let started = Instant::now();
    auth(server, "dev-less", "push").assert_code("Access-Reject");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    drop(s);

    let events = login_attempts(&g);
    let reasons: Vec<Option<&str>> = events.iter().map(|e| e["reason"].as_str()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("replayed_code"),
            Some("bad_code"),
            Some("approval_timed_out"),
            Some("no_device")
        ],
        "{events:#?}"
    );
    assert_eq!(events[0]["device_label"], "phone");
    assert_eq!(events_of(&g, "approval_requested").len(), 1);
}

#[test]
fn a_person_with_only_a_hotp_token_answers_a_held_rd_gateway_request_on_approve() {
    let g = https_instance(
        &["approval"],
        &format!(
            "\n[approval]\ntimeout_seconds = 30\nmax_prompts = 10\n\n[[radius.clients]]\nname = \"rdgw\"\naddress = \"127.0.0.1/32\"\nsecret = \"{SECRET}\"\nmode = \"second_factor_only\"\nlabel = \"Remote desktop\"\nend_user_address = [\"Tunnel-Client-Endpt\"]\n"
        ),
    );
    g.ok(&["org", "add", ORG], None);
    person(&g, "bob", PW, &[]);
    let seed = b"12345678901234567890";
    hotp_token(&g, "bob", "HW000042", seed, "key fob");
    let s = serve(&g, Duration::from_secs(30));
    let server = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");
    let held = |wait: u32| {
        std::thread::spawn(move || {
            radclient(
                server,
                "auth",
                SECRET,
                "User-Name = bob, Tunnel-Client-Endpoint = \"198.51.100.77\", Message-Authenticator = 0x00",
                wait,
            )
        })
    };
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();

    // 1. The right code from the token: the held request is accepted.
    let login = held(40);
    // Held: the prompt is out before the person answers.
    wait_until(WAIT, "the first prompt", || {
        !events_of(&g, "approval_requested").is_empty()
    });
    page.goto(&format!("{base}/approve"));
    page.wait_for("form#approve-form", WAIT);
    page.fill("input[name=username]", "bob");
    page.fill("input[name=code]", &otp::hotp(seed, 0, OtpHash::Sha1, 6));
    page.click("button#submit");
    page.wait_for("#approved", WAIT);
    page.screenshot("approve-with-token-code");
    login.join().unwrap().assert_code("Access-Accept");

    // 2. A wrong code is refused with the same words as an unknown name or nothing waiting,
    // and counts toward the lockout.
    let answer = |user: &str, code: &str| {
        page.goto(&format!("{base}/approve"));
        page.wait_for("form#approve-form", WAIT);
        page.fill("input[name=username]", user);
        page.fill("input[name=code]", code);
        page.click("button#submit");
        page.wait_for(".error", WAIT);
        page.text(".error")
    };
    let nothing_waiting = answer("bob", &otp::hotp(seed, 1, OtpHash::Sha1, 6));
    let unknown = answer("nobody", "123456");
    let login = held(20);
    wait_until(WAIT, "the second prompt", || {
        events_of(&g, "approval_requested").len() >= 2
    });
    let wrong = answer("bob", "000000");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, nothing_waiting);
    // The wrong code did not answer it: the held request runs out when the gateway's clock
    // passes the prompt's expiry.
    assert!(!login.is_finished(), "still held");
    g.advance_clock(31);
    login.join().unwrap().assert_code("Access-Reject");
    let show = g.ok(&["person", "show", "bob"], None);
    assert!(show.contains("failed logins 1"), "{show}");
    drop(s);

    let events = login_attempts(&g);
    let bad = events
        .iter()
        .find(|e| e["reason"] == "bad_code")
        .expect("the wrong code is a bad_code attempt");
    assert_eq!(bad["client"], "approve");
    assert_eq!(bad["username"], "bob");
    let held_accept = events
        .iter()
        .find(|e| e["client"] == "rdgw" && e["outcome"] == "accept")
        .expect("the held request's accept");
    assert_eq!(held_accept["source"], "198.51.100.77");
    assert_eq!(held_accept["detail"]["nas"], "127.0.0.1");
    let answered = events_of(&g, "approval_answered");
    assert_eq!(answered.len(), 1, "{answered:#?}");
    assert_eq!(answered[0]["device_label"], "key fob");
    assert_eq!(answered[0]["detail"]["method"], "code");
}

/// A NAS's Dynamic Authorization listener: answers one valid Disconnect-Request with an
/// ACK and returns it.
fn disconnect_listener(secret: &'static str) -> (SocketAddr, std::thread::JoinHandle<Packet>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let secret = SharedSecret::from(secret);
        let mut buf = [0u8; 4096];
        loop {
            let (n, from) = socket.recv_from(&mut buf).expect("a Disconnect-Request");
            let Some(request) = mfa_radius::dynauth::verify_request(&buf[..n], &secret) else {
                continue;
            };
            let mut ack = Packet::new(Code::DISCONNECT_ACK, request.identifier, [0; 16]);
            ack.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
            let bytes =
                mfa_radius::auth::sign_response(&mut ack, &request.authenticator, &secret).unwrap();
            socket.send_to(&bytes, from).unwrap();
            return request;
        }
    });
    (addr, handle)
}

#[test]
fn accounting_start_stop_and_a_disconnect_when_the_person_is_removed() {
    const DYNAUTH: &str = "dynauth-secret-0123456789";
    let (listener, request) = disconnect_listener(DYNAUTH);
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &[("radius", "accounting_listen", r#"["127.0.0.1:0"]"#)],
        &[client(
            "rdgw",
            "127.0.0.1/32",
            &format!(
                "mode = \"append\"\nend_user_address = [\"Tunnel-Client-Endpt\"]\ndomains = [\"PRAKTIJK\"]\n\
                 disconnect = true\ndisconnect_port = {}\ndisconnect_secret = \"{DYNAUTH}\"",
                listener.port()
            ),
        )],
    );
    person(&g, "ann", PW, &["phone"]);
    person(&g, "bob", PW, &["phone"]);
    let s = start(&g);
    let acct = s.addr("radius accounting", "127.0.0.1");
    let send = |attrs: &str| radclient(acct, "acct", SECRET, attrs, ANSWER_WAIT);
    let start_ann = "Acct-Status-Type = Start, Acct-Session-Id = \"A-1\", User-Name = \"PRAKTIJK\\\\ann\", Tunnel-Client-Endpoint = \"198.51.100.5\", NAS-IP-Address = 127.0.0.1, NAS-Identifier = \"rdgw-1\"";
    let out = send(start_ann);
    assert!(
        out.output.contains("Received Accounting-Response"),
        "{}",
        out.output
    );
    let out = send("Acct-Status-Type = Start, Acct-Session-Id = \"B-1\", User-Name = \"bob\"");
    assert!(
        out.output.contains("Received Accounting-Response"),
        "{}",
        out.output
    );
    let out = send(
        "Acct-Status-Type = Stop, Acct-Session-Id = \"B-1\", User-Name = \"bob\", Acct-Session-Time = 3600, Acct-Terminate-Cause = User-Request",
    );
    assert!(
        out.output.contains("Received Accounting-Response"),
        "{}",
        out.output
    );
    // A wrong secret gets no answer.
    let out = radclient(
        acct,
        "acct",
        "not-the-secret-at-all",
        start_ann,
        SILENCE_WAIT,
    );
    assert!(!out.output.contains("Received"), "{}", out.output);

    // ann is removed: her open session gets a Disconnect-Request; bob's closed one does not.
    g.ok(&["person", "remove", "ann"], None);
    let disconnect = request.join().unwrap();
    assert_eq!(disconnect.first(attr::ACCT_SESSION_ID), Some(&b"A-1"[..]));
    assert_eq!(
        disconnect.first(attr::USER_NAME),
        Some(&b"PRAKTIJK\\ann"[..])
    );
    assert_eq!(disconnect.first(attr::NAS_IDENTIFIER), Some(&b"rdgw-1"[..]));
    let sent = mfa_e2e::wait_for(WAIT, "disconnect_sent audited", || {
        Some(events_of(&g, "disconnect_sent")).filter(|sent| !sent.is_empty())
    });
    drop(s);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["outcome"], "done");
    assert_eq!(sent[0]["detail"]["session_id"], "A-1");
    assert_eq!(sent[0]["detail"]["cause"], "person_removed");

    let started = events_of(&g, "accounting_start");
    assert_eq!(started.len(), 2);
    assert_eq!(started[0]["username"], "ann");
    assert!(started[0]["person_id"].as_i64().is_some());
    assert_eq!(started[0]["source"], "198.51.100.5");
    assert_eq!(started[0]["detail"]["nas"], "127.0.0.1");
    assert_eq!(started[0]["detail"]["session_id"], "A-1");
    assert_eq!(started[0]["detail"]["typed_username"], "PRAKTIJK\\ann");
    let stopped = events_of(&g, "accounting_stop");
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0]["detail"]["duration_seconds"], 3600);
    // Accounting is no login.
    assert!(login_attempts(&g).is_empty());
}

#[test]
fn bad_input_is_rejected_or_dropped_and_counted_never_a_panic() {
    let mut settings = FAST_HASH.to_vec();
    settings.push(("admin", "listen", r#"["127.0.0.1:0"]"#));
    let g = gateway(
        r#"["127.0.0.1:0"]"#,
        false,
        &settings,
        &[client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\nend_user_address = [\"Tunnel-Client-Endpt\", \"Calling-Station-Id\"]\ndomains = [\"PRAKTIJK\"]",
        )],
    );
    let seed = person(&g, "ann", PW, &["phone"]).remove(0);
    let s = start(&g);
    let server = s.addr("radius udp", "127.0.0.1");
    // Malformed address attributes: ignored (the NAS's address is the source), counted.
    // (FreeRADIUS's dictionary spells Microsoft's Tunnel-Client-Endpt in full.)
    auth_with(
        server,
        SECRET,
        "ann",
        &format!("{PW}{}", totp(&seed, 0)),
        ", Tunnel-Client-Endpoint = \"rdgw.example:443\", Calling-Station-Id = \"00-11-22-33-44-55\", Message-Authenticator = 0x00",
        ANSWER_WAIT,
    )
    .assert_code("Access-Accept");
    // 253 octets of username, a NUL in it, an unknown domain: rejected.
    let long = "a".repeat(253);
    auth(server, &long, PW).assert_code("Access-Reject");
    auth(server, "OTHER\\\\ann", &format!("{PW}123456")).assert_code("Access-Reject");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let (request, authenticator) = access_request(9, "ann\0admin", PW, SECRET);
    socket.send_to(&request, server).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = socket.recv_from(&mut buf).expect("an answer");
    assert_eq!(
        verified(&buf[..n], 9, &authenticator, SECRET).code,
        Code::ACCESS_REJECT
    );
    // Garbage and truncated packets: dropped.
    socket.send_to(b"\x01\x02garbage", server).unwrap();
    socket
        .send_to(&request[..request.len() - 3], server)
        .unwrap();
    // Still serving.
    auth(server, "ann", &format!("{PW}{}", totp(&seed, 1))).assert_code("Access-Accept");

    let admin = s.addr("admin http", "127.0.0.1");
    let mut tcp = std::net::TcpStream::connect(admin).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut metrics = String::new();
    tcp.read_to_string(&mut metrics).unwrap();
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    assert_eq!(
        value("mfa_radius_end_user_address_invalid_total"),
        2,
        "{metrics}"
    );
    assert!(value("mfa_radius_drop_malformed_total") >= 2, "{metrics}");
    assert!(
        value("mfa_radius_reject_invalid_request_total") >= 1,
        "{metrics}"
    );
    drop(s);
    let events = login_attempts(&g);
    assert_eq!(events[0]["source"], "127.0.0.1", "{events:#?}");
    assert_eq!(events[0]["detail"]["nas"], "127.0.0.1");
}
