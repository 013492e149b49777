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
        me.edit_config(|doc| {
            assert_eq!(
                config::get(doc, "i18n.default_language").and_then(toml_edit::Item::as_str),
                Some("nl"),
                "the config template has [i18n] default_language = \"nl\""
            );
            config::set(doc, "i18n.default_language", "en");
        });
        me
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("gateway.toml")
    }

    /// Reads this instance's config as a TOML document, lets `edit` change it and writes it
    /// back (comments and layout kept). See [`config`] for the helpers.
    pub fn edit_config(&self, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
        let text = std::fs::read_to_string(self.config()).expect("read the config");
        let mut doc: toml_edit::DocumentMut = text.parse().expect("the config is TOML");
        edit(&mut doc);
        std::fs::write(self.config(), doc.to_string()).expect("write the config");
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
/// empty `[oidc]`, and the TOML text `extra` merged in (see [`config::merge`]).
pub fn https_instance(strip: &[&str], extra: &str) -> Instance {
    let g = Instance::init();
    g.edit_config(|doc| {
        config::local_https(doc, strip);
        config::merge(doc, extra);
    });
    g
}

/// Editing a config as a TOML document ([`toml_edit::DocumentMut`], through
/// [`Instance::edit_config`]) rather than as text. Paths are dotted table names, as in the
/// gateway's error messages: `"rate_limit.threshold"`, `"audit.siem"`.
pub mod config {
    pub use toml_edit::{Array, DocumentMut, Item, Table, Value, value};

    /// The item at `path`, if there is one.
    pub fn get<'a>(doc: &'a DocumentMut, path: &str) -> Option<&'a Item> {
        path.split('.')
            .try_fold(doc.as_item(), |item, key| item.get(key))
    }

    /// The table at `path`, made (with the tables above it) where missing.
    pub fn table<'a>(doc: &'a mut DocumentMut, path: &str) -> &'a mut Table {
        let mut table = doc.as_table_mut();
        for key in path.split('.').filter(|k| !k.is_empty()) {
            table = table
                .entry(key)
                .or_insert_with(toml_edit::table)
                .as_table_mut()
                .unwrap_or_else(|| panic!("`{key}` of `{path}` is not a table"));
        }
        table
    }

    /// Sets the key at `path` (`"lockout.threshold"`) to `v` (an integer, a string, a bool, an
    /// [`toml_edit::Array`]...), making the tables above it where missing.
    pub fn set(doc: &mut DocumentMut, path: &str, v: impl Into<Value>) {
        let (tables, key) = path.rsplit_once('.').unwrap_or(("", path));
        table(doc, tables).insert(key, value(v));
    }

    /// [`set`] with the value written as TOML (`r#"["127.0.0.1:0"]"#`, `"0"`, `"\"append\""`).
    pub fn set_toml(doc: &mut DocumentMut, path: &str, toml: &str) {
        let v: Value = toml
            .parse()
            .unwrap_or_else(|e| panic!("`{toml}` for `{path}` is not a TOML value: {e}"));
        set(doc, path, v);
    }

    /// Removes the key or table at `path` (with its sub-tables) if it is there; what it was.
    pub fn remove(doc: &mut DocumentMut, path: &str) -> Option<Item> {
        let (tables, key) = path.rsplit_once('.').unwrap_or(("", path));
        let mut item = doc.as_item_mut();
        for k in tables.split('.').filter(|k| !k.is_empty()) {
            item = item.get_mut(k)?;
        }
        item.as_table_like_mut()?.remove(key)
    }

    /// The `[[table]]` entries of the array of tables at `path` (`"radius.clients"`).
    pub fn tables_mut<'a>(doc: &'a mut DocumentMut, path: &str) -> Vec<&'a mut Table> {
        let (tables, key) = path.rsplit_once('.').unwrap_or(("", path));
        table(doc, tables)
            .get_mut(key)
            .and_then(Item::as_array_of_tables_mut)
            .map(|a| a.iter_mut().collect())
            .unwrap_or_default()
    }

    /// The `[[path]]` entry (`"radius.clients"`) whose `name` (or `client_id`) is `name`.
    pub fn entry<'a>(doc: &'a mut DocumentMut, path: &str, name: &str) -> &'a mut Table {
        tables_mut(doc, path)
            .into_iter()
            .find(|t| {
                ["name", "client_id"]
                    .iter()
                    .any(|k| t.get(k).and_then(Item::as_str) == Some(name))
            })
            .unwrap_or_else(|| panic!("no [[{path}]] named {name:?}"))
    }

    /// Merges the TOML text `extra` into `doc`: its tables are added (or merged into those
    /// of the same name), its keys set (replacing a value already there), its `[[...]]`
    /// entries appended; what is added is written after what was there, as if appended.
    pub fn merge(doc: &mut DocumentMut, extra: &str) {
        let extra: DocumentMut = extra
            .parse()
            .unwrap_or_else(|e| panic!("not TOML: {e}\n{extra}"));
        let mut position = 1_000_000;
        merge_table(doc.as_table_mut(), extra.as_table().clone(), &mut position);
    }

    fn merge_table(into: &mut Table, from: Table, position: &mut isize) {
        for (key, item) in from {
            match (into.get_mut(&key), item) {
                (Some(Item::Table(mine)), Item::Table(theirs)) => {
                    merge_table(mine, theirs, position);
                }
                (Some(Item::ArrayOfTables(mine)), Item::ArrayOfTables(theirs)) => {
                    for mut t in theirs {
                        place(&mut t, position);
                        mine.push(t);
                    }
                }
                (_, mut item) => {
                    match &mut item {
                        Item::Table(t) => place(t, position),
                        Item::ArrayOfTables(a) => a.iter_mut().for_each(|t| place(t, position)),
                        _ => {}
                    }
                    into.insert(&key, item);
                }
            }
        }
    }

    /// Numbers `t` and its sub-tables after everything there, in their order.
    fn place(t: &mut Table, position: &mut isize) {
        *position += 1;
        t.set_position(Some(*position));
        for (_, item) in t.iter_mut() {
            match item {
                Item::Table(sub) => place(sub, position),
                Item::ArrayOfTables(a) => a.iter_mut().for_each(|sub| place(sub, position)),
                _ => {}
            }
        }
    }

    /// RADIUS on 127.0.0.1 (a free port) rather than the well-known port, so tests can run
    /// side by side.
    pub fn local_radius(doc: &mut DocumentMut) {
        assert!(
            get(doc, "radius.listen").is_some(),
            "the config made by init has radius.listen"
        );
        set_toml(doc, "radius.listen", r#"["127.0.0.1:0"]"#);
    }

    /// Without the tables `strip`, `[http]` and `[oidc]`: RADIUS on 127.0.0.1 (a free port),
    /// HTTPS on 127.0.0.1 (a free port, the development certificate), an empty `[oidc]`.
    pub fn local_https(doc: &mut DocumentMut, strip: &[&str]) {
        for t in ["http", "oidc"].iter().chain(strip) {
            remove(doc, t);
        }
        local_radius(doc);
        merge(
            doc,
            "[http]\nlisten = [\"127.0.0.1:0\"]\ntls = true\npublic_url = \"\"\n\
             trusted_proxies = []\n\n[oidc]\n",
        );
    }
}

/// A free TCP port on 127.0.0.1 for a server another process will bind (slapd, redis,
/// nginx, PostgreSQL, a gateway's web listener whose URL must be known beforehand).
///
/// Picked at random *below* the kernel's ephemeral range: a port the kernel handed out for
/// `bind(0)` is also what it hands out as the local port of outgoing connections, and with
/// many tests connecting side by side one of them can take it in the moment between this
/// probe and the server's own bind (CI once lost a PostgreSQL start that way). Below the
/// range only another caller of this function can collide, at random over ~20,000 ports.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = if low > 11_000 {
        (10_000, low)
    } else {
        (61_000, 65_535)
    };
    for attempt in 0u32..200 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u32(attempt);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        let port = from + (h.finish() % u64::from(to - from)) as u16;
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 between {from} and {to}")
}

/// Waits at most `timeout` until `cond` holds, asking it every 50 ms; panics naming `what`
/// otherwise. For something that happens in its own time (a packet arrives, a line is
/// written); where a test waits for *time* to pass, [`Instance::advance_clock`] instead.
pub fn wait_until(timeout: std::time::Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || cond().then_some(()));
}

/// [`wait_until`] for a value: the first `Some` that `probe` gives.
pub fn wait_for<T>(
    timeout: std::time::Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {timeout:?}: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
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
    https_client_with(instance, false)
}

/// A browser without the browser: [`https_client`] with a cookie jar of its own.
pub fn browser_client(instance: &Instance) -> reqwest::blocking::Client {
    https_client_with(instance, true)
}

/// [`https_client`], keeping cookies if `cookies` (20 s timeout).
pub fn https_client_with(instance: &Instance, cookies: bool) -> reqwest::blocking::Client {
    https_builder(instance)
        .cookie_store(cookies)
        .build()
        .unwrap()
}

/// A client builder as [`https_client`]'s, to change before building (a cookie jar of its
/// own, a shorter timeout).
pub fn https_builder(instance: &Instance) -> reqwest::blocking::ClientBuilder {
    // reqwest is built without a crypto provider of its own: ring is ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(instance_tls(instance))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
}

/// The instance's development CA (`certs/ca.pem`) as rustls roots.
pub fn instance_roots(instance: &Instance) -> rustls::RootCertStore {
    let pem = std::fs::read(instance.dir.path().join("certs/ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

/// A rustls client config (ring) trusting only the instance's development CA.
pub fn instance_tls(instance: &Instance) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(instance_roots(instance))
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
/// signed in at `base` as `user`: the password, then the code of the TOTP `seed` for the
/// current step by the instance's clock (see [`Instance::now`]).
pub fn signed_in_client(
    instance: &Instance,
    base: &str,
    user: &str,
    password: &str,
    seed: &[u8],
) -> reqwest::blocking::Client {
    use mfa_gateway::otp::{self, OtpHash};
    let h = browser_client(instance);
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
    let code = otp::totp(seed, instance.now(), 30, OtpHash::Sha1, 6);
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

/// The PKCE verifier of every [`authorize_url`].
pub const PKCE_VERIFIER: &str = "a-code-verifier-that-is-long-enough-0123456789-abc";

/// An OIDC authorization URL of `client` at `base` (code flow, PKCE S256 with
/// [`PKCE_VERIFIER`], `state=s`, `nonce=n`), with `extra` (`&prompt=none`, ...) appended.
pub fn authorize_url(base: &str, client: &str, redirect: &str, extra: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(PKCE_VERIFIER.as_bytes()));
    format!(
        "{base}/oauth2/authorize?response_type=code&client_id={client}&scope=openid&state=s\
         &nonce=n&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256{extra}",
        redirect.replace(':', "%3A").replace('/', "%2F")
    )
}

/// `person add USER --org ORG --name NAME [--email EMAIL]` with `password`; what it printed.
pub fn add_person(
    instance: &Instance,
    user: &str,
    org: &str,
    name: &str,
    email: Option<&str>,
    password: &str,
) -> String {
    let mut args = vec!["person", "add", user, "--org", org, "--name", name];
    if let Some(email) = email {
        args.extend(["--email", email]);
    }
    args.push("--password-stdin");
    instance.ok(&args, Some(&format!("{password}\n")))
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
    add_person(instance, user, org, user, None, password);
    labels
        .iter()
        .map(|l| {
            seed_of(&uri_in(
                &instance.ok(&["device", "add-totp", user, "--label", l], None),
            ))
        })
        .collect()
}

/// The TOTP code (SHA-1, 30 s, 6 digits) of `seed` at unix time `t`.
pub fn totp_at(seed: &[u8], t: i64) -> String {
    mfa_gateway::otp::totp(seed, t, 30, mfa_gateway::otp::OtpHash::Sha1, 6)
}

/// The code of `seed` for the current time step by the system's clock (see [`Phone`] for
/// codes not used before by an instance's clock).
pub fn totp_now(seed: &[u8]) -> String {
    totp_at(seed, mfa_gateway::model::now())
}

/// Lower-case hex SHA-256 of `s` (a client's `secret_sha256`).
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// A cookie's value from a response's Set-Cookie headers.
pub fn cookie(res: &reqwest::blocking::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The Location header of a redirect (panics without one).
pub fn location(res: &reqwest::blocking::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no location in a {} answer", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `code` parameter of a redirect back to a relying party.
pub fn code_in_redirect(to: &str) -> String {
    to.split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {to}"))
        .to_owned()
}

/// Part `n` (0: header, 1: claims) of a JWT as JSON, not verified.
pub fn jwt_part(jwt: &str, n: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(n).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A request to `base`'s OIDC token endpoint with `form`, as client `basic` (id, secret:
/// client_secret_basic) if given: the status and the JSON answer (`null` if not JSON).
pub fn token_request(
    h: &reqwest::blocking::Client,
    base: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut request = h.post(format!("{base}/oauth2/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let res = request.send().unwrap();
    let status = res.status().as_u16();
    let body = res.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// The OIDC token exchange of an authorization `code` (PKCE `verifier`) at `base` for
/// `client`: with `secret`, client_secret_basic; without, a public client. The tokens
/// (panics, showing the answer, unless 200).
pub fn exchange_code(
    h: &reqwest::blocking::Client,
    base: &str,
    (client, secret): (&str, Option<&str>),
    code: &str,
    redirect: &str,
    verifier: &str,
) -> serde_json::Value {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ];
    if secret.is_none() {
        form.push(("client_id", client));
    }
    let (status, tokens) = token_request(h, base, secret.map(|s| (client, s)), &form);
    assert_eq!(status, 200, "the token exchange: {tokens}");
    tokens
}

/// The claims of the ID token in a token answer, not verified.
pub fn id_token_claims(tokens: &serde_json::Value) -> serde_json::Value {
    let jwt = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no ID token in {tokens}"));
    jwt_part(jwt, 1)
}

/// Every audit event of `kind` (`None`: of every kind) in `g`'s trail, oldest first.
pub fn audit_events(g: &Instance, kind: Option<&str>) -> Vec<serde_json::Value> {
    let mut args = vec!["audit", "search", "--format", "jsonl", "--limit", "0"];
    if let Some(kind) = kind {
        args.extend(["--kind", kind]);
    }
    let mut events: Vec<serde_json::Value> = g
        .ok(&args, None)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    events.sort_by_key(|e| e["id"].as_i64());
    events
}

/// Waits at most `timeout` for a file ending in `.ext` in `dir` (a browser's download
/// folder); its text.
pub fn downloaded(dir: &Path, ext: &str, timeout: std::time::Duration) -> String {
    let path = wait_for(
        timeout,
        &format!("a .{ext} file in {}", dir.display()),
        || {
            std::fs::read_dir(dir)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == ext))
        },
    );
    std::fs::read_to_string(path).unwrap()
}
