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
