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
}

/// Start `mfa-gateway --config <instance> serve` and wait at most `timeout` for its
/// "mfa-gateway ready" line. Panics, showing what it wrote to standard error, if it exits
/// or is not ready in time.
pub fn serve(instance: &Instance, timeout: std::time::Duration) -> Serving {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::mpsc::RecvTimeoutError;

    let mut child = Command::new(binary())
        .arg("--config")
        .arg(instance.config())
        .arg("serve")
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
    // Keeps draining stdout after "ready", so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
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
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
