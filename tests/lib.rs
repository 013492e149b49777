//! Helpers for the end-to-end tests: find the built `mfa-gateway` binary and run it in a
//! temporary folder with its own config.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `mfa-gateway` binary next to this test binary (target/<profile>/mfa-gateway).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = dir.join("mfa-gateway");
    assert!(
        bin.exists(),
        "{} not built: run the tests with `cargo test --workspace` (README's test command)",
        bin.display()
    );
    bin
}

/// A gateway instance folder: config, key, database, certificates.
#[derive(Debug)]
pub struct Instance {
    pub dir: tempfile::TempDir,
}

/// What a command printed.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Instance {
    /// `mfa-gateway init` in a new temporary folder.
    pub fn init() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = Self { dir };
        let r = me.run(&["init"], None);
        assert!(r.ok, "init failed: {}{}", r.stdout, r.stderr);
        // The tests read English unless they ask for Dutch (the shipped default).
        let config = std::fs::read_to_string(me.config()).expect("the config");
        let english = config.replacen("default_language = \"nl\"", "default_language = \"en\"", 1);
        assert_ne!(
            config, english,
            "the config template has [i18n] default_language = \"nl\""
        );
        std::fs::write(me.config(), english).expect("write the config");
        me
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("gateway.toml")
    }

    /// Run `mfa-gateway --config <this> ARGS`, with `stdin` piped in if given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(binary());
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("MFA_GATEWAY_KEY")
            .env_remove("MFA_GATEWAY_STORE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn mfa-gateway");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().expect("wait").into()
    }

    /// The time by this instance's clock: the system's, moved on by
    /// [`Instance::advance_clock`] (a served debug build reads the same file).
    pub fn now(&self) -> i64 {
        mfa_gateway::model::now() + self.clock_shift()
    }

    fn clock_shift(&self) -> i64 {
        std::fs::read_to_string(self.dir.path().join("clock"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Moves the served gateway's clock `secs` forward (a fresh TOTP step without waiting
    /// 30 seconds for it).
    pub fn advance_clock(&self, secs: i64) {
        std::fs::write(
            self.dir.path().join("clock"),
            (self.clock_shift() + secs).to_string(),
        )
        .expect("write the test clock");
    }

    /// Run and insist on success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let r = self.run(args, stdin);
        assert!(
            r.ok,
            "mfa-gateway {args:?} failed:\n{}\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }
}

/// A phone app of a test: codes of time steps not used before, by an instance's clock.
/// The current step, else the next one (within the gateway's drift window); past that the
/// instance's clock moves on a step rather than the test sleeping for it.
#[derive(Debug)]
pub struct Phone {
    pub seed: Vec<u8>,
    last_step: std::cell::Cell<i64>,
}

impl Phone {
    pub fn new(seed: Vec<u8>) -> Self {
        Self {
            seed,
            last_step: std::cell::Cell::new(0),
        }
    }

    /// A fresh code for `g`'s gateway.
    pub fn code(&self, g: &Instance) -> String {
        let now_step = g.now() / 30;
        let mut step = now_step.max(self.last_step.get() + 1);
        if step > now_step + 1 {
            g.advance_clock(30 * (step - now_step - 1));
            step = g.now() / 30;
            step = step.max(self.last_step.get() + 1);
        }
        self.last_step.set(step);
        mfa_gateway::otp::totp(
            &self.seed,
            step * 30,
            30,
            mfa_gateway::otp::OtpHash::Sha1,
            6,
        )
    }
}

/// The seed in an otpauth:// URI.
pub fn seed_of(uri: &str) -> Vec<u8> {
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret in uri");
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32")
}

/// The first line of `text` that starts with `otpauth://`.
pub fn uri_in(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("otpauth://"))
        .expect("an otpauth URI in the output")
        .to_owned()
}

/// A running `mfa-gateway serve` of an [`Instance`]; killed and reaped on drop.
#[derive(Debug)]
pub struct Serving {
    child: std::process::Child,
    /// What it printed before "mfa-gateway ready", one `listening ...` line per listener,
    /// without the word `listening`: e.g. "radius udp 127.0.0.1:40000".
    pub listeners: Vec<String>,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    /// Every line it printed on standard output.
    out: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Start `mfa-gateway --config <instance> serve` and wait at most `timeout` for its
/// "mfa-gateway ready" line. Panics, showing what it wrote to standard error, if it exits
/// or is not ready in time.
pub fn serve(instance: &Instance, timeout: std::time::Duration) -> Serving {
    serve_with_env(instance, timeout, &[])
}

/// [`serve`] with extra environment variables (e.g. a secret named in the config).
pub fn serve_with_env(
    instance: &Instance,
    timeout: std::time::Duration,
    env: &[(&str, &str)],
) -> Serving {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::mpsc::RecvTimeoutError;

    let mut child = Command::new(binary())
        .arg("--config")
        .arg(instance.config())
        .arg("serve")
        .env(
            mfa_gateway::clock::TEST_CLOCK_FILE_ENV,
            instance.dir.path().join("clock"),
        )
        .envs(env.iter().copied())
        .env_remove("MFA_GATEWAY_KEY")
        .env_remove("MFA_GATEWAY_STORE_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mfa-gateway serve");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("stderr");
    let sink = log.clone();
    let stderr_done = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut chunk) {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let lines = out.clone();
    // Keeps draining stdout after "ready", so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines.lock().unwrap().push(line.clone());
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + timeout;
    let mut listeners = Vec::new();
    let failure = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.trim() == "mfa-gateway ready" => {
                return Serving {
                    child,
                    listeners,
                    log,
                    out,
                };
            }
            Ok(line) => {
                if let Some(what) = line.strip_prefix("listening ") {
                    listeners.push(what.trim().to_owned());
                }
            }
            Err(RecvTimeoutError::Timeout) => break format!("not ready within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => break "exited before it was ready".into(),
        }
    };
    let _ = child.kill();
    let status = child.wait();
    let _ = stderr_done.join();
    panic!(
        "mfa-gateway serve {failure} ({status:?}); stderr:\n{}",
        log.lock().unwrap()
    );
}

impl Serving {
    /// The addresses of the listeners of kind `what` ("radius udp", "radius radsec"), in the
    /// order printed.
    pub fn addrs(&self, what: &str) -> Vec<std::net::SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
            .map(|a| a.trim().parse().expect("a socket address"))
            .collect()
    }

    /// The one listener of kind `what` whose address is `ip` (e.g. "radius udp", "::1").
    pub fn addr(&self, what: &str, ip: &str) -> std::net::SocketAddr {
        let ip: std::net::IpAddr = ip.parse().expect("an IP address");
        self.addrs(what)
            .into_iter()
            .find(|a| a.ip() == ip)
            .unwrap_or_else(|| panic!("no `{what}` listener on {ip} in {:?}", self.listeners))
    }

    /// What the server wrote to standard error so far (for failure messages).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Send SIGTERM (a graceful stop: it drains) without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Kill it with SIGKILL (a crash: nothing is drained) and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send SIGHUP (reload the clients from the config).
    pub fn hangup(&self) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
    }

    /// Wait at most `timeout` until it has printed a line containing `needle` (counting
    /// from the start); panics with what it printed otherwise.
    pub fn wait_for_output(&self, needle: &str, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while !self.out.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(
                std::time::Instant::now() < deadline,
                "no line with {needle:?} in {:?}; stderr:\n{}",
                self.out.lock().unwrap(),
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Wait at most `timeout` for the process to end; whether it did.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub mod browser;

impl Serving {
    /// The rest of the first `listening <what> ...` line, e.g. `listener("http")` gives the
    /// issuer URL `https://127.0.0.1:PORT`.
    pub fn listener(&self, what: &str) -> String {
        self.listeners
            .iter()
            .find_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("no `{what}` listener in {:?}", self.listeners))
    }
}

/// A request received by an [`HttpStub`].
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as sent (binary bodies: an encrypted push message).
    pub raw_body: Vec<u8>,
}

/// What an [`HttpStub`] answers.
#[derive(Debug, Clone)]
pub struct StubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl StubResponse {
    /// 200 with an HTML body.
    pub fn html(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into(),
        }
    }

    /// 303 to `location`.
    pub fn see_other(location: impl Into<String>) -> Self {
        Self {
            status: 303,
            headers: vec![("location".into(), location.into())],
            body: String::new(),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: "not found".into(),
        }
    }
}

/// A tiny plain-HTTP/1.1 server on 127.0.0.1 (a relying party's callback, a test page): one
/// thread per connection, every read bounded, `Connection: close`. Stopped on drop.
#[derive(Debug)]
pub struct HttpStub {
    pub addr: std::net::SocketAddr,
    /// Every request received, oldest first.
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<StubRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl HttpStub {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Starts an [`HttpStub`] that answers every request with `handler`.
pub fn http_stub<F>(handler: F) -> HttpStub
where
    F: Fn(&StubRequest) -> StubResponse + Send + Sync + 'static,
{
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a stub port");
    let addr = listener.local_addr().expect("stub address");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handler = Arc::new(handler);
    let (seen, stopped) = (requests.clone(), stop.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let (handler, seen) = (handler.clone(), seen.clone());
            std::thread::spawn(move || {
                if let Some(request) = read_request(&stream) {
                    seen.lock().unwrap().push(request.clone());
                    write_response(&stream, &handler(&request));
                }
            });
        }
    });
    HttpStub {
        addr,
        requests,
        stop,
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, std::time::Duration::from_secs(1));
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<StubRequest> {
    use std::io::{BufRead, BufReader, Read};
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(StubRequest {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw_body: body,
    })
}

fn write_response(mut stream: &std::net::TcpStream, r: &StubResponse) {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nconnection: close\r\ncontent-length: {}\r\n",
        r.status,
        if r.status < 400 { "OK" } else { "Error" },
        r.body.len()
    );
    for (name, value) in &r.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(r.body.as_bytes());
    let _ = stream.flush();
}

/// A minimal SMTP server on 127.0.0.1 that accepts every mail and keeps it (what the
/// gateway's relay would get). Plain SMTP: configure `[mail] security = "none"`.
#[derive(Debug)]
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    mails: std::sync::Arc<std::sync::Mutex<Vec<SunkMail>>>,
}

/// One mail as received: envelope and the DATA text.
#[derive(Debug, Clone)]
pub struct SunkMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl SmtpSink {
    /// Mails received so far.
    pub fn mails(&self) -> Vec<SunkMail> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a mail whose data contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: std::time::Duration) -> SunkMail {
        let end = std::time::Instant::now() + timeout;
        loop {
            if let Some(m) = self.mails().into_iter().find(|m| m.data.contains(needle)) {
                return m;
            }
            assert!(
                std::time::Instant::now() < end,
                "no mail containing {needle:?} within {timeout:?}; got {:#?}",
                self.mails()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

pub fn smtp_sink() -> SmtpSink {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind smtp sink");
    let addr = listener.local_addr().expect("sink address");
    let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut out = stream.try_clone().expect("clone stream");
                let mut reader = BufReader::new(stream);
                let mut say = |s: &str| {
                    let _ = out.write_all(s.as_bytes());
                };
                say("220 sink ESMTP\r\n");
                let mut mail = SunkMail {
                    from: String::new(),
                    to: Vec::new(),
                    data: String::new(),
                };
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        say("250-sink\r\n250 8BITMIME\r\n");
                    } else if upper.starts_with("MAIL FROM:") {
                        mail.from = line[10..].trim().to_owned();
                        say("250 OK\r\n");
                    } else if upper.starts_with("RCPT TO:") {
                        mail.to.push(line[8..].trim().to_owned());
                        say("250 OK\r\n");
                    } else if upper.starts_with("DATA") {
                        say("354 go on\r\n");
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" || line == ".\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        mail.data = data;
                        kept.lock().unwrap().push(mail.clone());
                        mail.to.clear();
                        say("250 OK queued\r\n");
                    } else if upper.starts_with("QUIT") {
                        say("221 bye\r\n");
                        return;
                    } else {
                        say("250 OK\r\n");
                    }
                }
            });
        }
    });
    SmtpSink { addr, mails }
}

/// `init` in a new folder, then its config without the tables named in `strip` (and their
/// sub-tables), RADIUS on 127.0.0.1 (a free port), HTTPS on 127.0.0.1 (a free port), an
/// empty `[oidc]`, and `extra` appended.
pub fn https_instance(strip: &[&str], extra: &str) -> Instance {
    let g = Instance::init();
    let text = std::fs::read_to_string(g.config()).unwrap();
    let mut out = String::new();
    let mut keep = true;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim();
            keep = !["http", "oidc"]
                .iter()
                .chain(strip)
                .any(|n| name == *n || name.starts_with(&format!("{n}.")));
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut out = out.replace("listen = [\"0.0.0.0:1812\"]", "listen = [\"127.0.0.1:0\"]");
    out.push_str(
        "\n[http]\nlisten = [\"127.0.0.1:0\"]\ntls = true\npublic_url = \"\"\ntrusted_proxies = []\n\n[oidc]\n",
    );
    out.push_str(extra);
    std::fs::write(g.config(), out).unwrap();
    g
}

/// Sign in to the portal in `page` (password, then `code`) and wait for My devices.
pub fn portal_sign_in(
    page: &browser::Page<'_>,
    base: &str,
    user: &str,
    password: &str,
    code: &str,
) {
    let wait = std::time::Duration::from_secs(15);
    page.goto(&format!("{base}/portal/login"));
    page.wait_for("form#login-form", wait);
    page.fill("input[name=username]", user);
    page.fill("input[name=password]", password);
    page.click("button#submit");
    page.wait_for("form#code-form", wait);
    page.fill("input[name=code]", code);
    page.click("button#submit");
    page.wait_for("ul.devices", wait);
}

/// A blocking HTTPS client that trusts the instance's development CA (`certs/ca.pem`), never
/// follows redirects, keeps no cookies.
pub fn https_client(instance: &Instance) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(instance_tls(instance))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A rustls client config (ring) trusting only the instance's development CA.
pub fn instance_tls(instance: &Instance) -> rustls::ClientConfig {
    let pem = std::fs::read(instance.dir.path().join("certs/ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth()
}

/// The value of the hidden `csrf` field of a page (panics, showing the page, without one).
pub fn csrf_in(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no CSRF field in\n{html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("the end of the CSRF value")].to_owned()
}

/// An HTTPS client of `instance` (its development CA, cookies kept, redirects not followed)
/// signed in at `base` as `user`: the password, then the current code of the TOTP `seed`.
pub fn signed_in_client(
    instance: &Instance,
    base: &str,
    user: &str,
    password: &str,
    seed: &[u8],
) -> reqwest::blocking::Client {
    use mfa_gateway::otp::{self, OtpHash};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let h = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(instance_tls(instance))
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let login = h
        .get(format!("{base}/portal/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let code_page = h
        .post(format!("{base}/portal/login"))
        .form(&[
            ("csrf", csrf_in(&login).as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let code = otp::totp(seed, mfa_gateway::model::now(), 30, OtpHash::Sha1, 6);
    let done = h
        .post(format!("{base}/login/code"))
        .form(&[
            ("csrf", csrf_in(&code_page).as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(done.status().as_u16(), 303, "{user} signed in");
    h
}

/// An OIDC authorization URL of `client` at `base` (code flow, PKCE S256 with a fixed
/// verifier, `state=s`, `nonce=n`), with `extra` (`&prompt=none`, ...) appended.
pub fn authorize_url(base: &str, client: &str, redirect: &str, extra: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(
        b"a-code-verifier-that-is-long-enough-0123456789-abc",
    ));
    format!(
        "{base}/oauth2/authorize?response_type=code&client_id={client}&scope=openid&state=s\
         &nonce=n&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256{extra}",
        redirect.replace(':', "%3A").replace('/', "%2F")
    )
}

/// `person add USER --org ORG` with `password`, then one TOTP phone per label; the phones'
/// seeds.
pub fn person_with_phones(
    instance: &Instance,
    user: &str,
    org: &str,
    password: &str,
    labels: &[&str],
) -> Vec<Vec<u8>> {
    instance.ok(
        &[
            "person",
            "add",
            user,
            "--org",
            org,
            "--name",
            user,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    labels
        .iter()
        .map(|l| {
            seed_of(&uri_in(
                &instance.ok(&["device", "add-totp", user, "--label", l], None),
            ))
        })
        .collect()
}
