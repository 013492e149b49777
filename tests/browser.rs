//! A minimal Chrome DevTools Protocol client: start headless Chromium, open pages, fill and
//! click like a person (real mouse events at the element's centre, typed text), read the
//! URL and text, take PNG screenshots, and send raw CDP commands (WebAuthn virtual
//! authenticators go through [`Page::cdp`]). One WebSocket to the browser, pages attached
//! with flat sessions. Every wait is bounded; a missing Chromium is an error, never a skip.
//!
//! TLS: Chromium trusts nothing extra unless told. [`Browser::launch_trusting`] accepts the
//! public keys of the given certificates (`--ignore-certificate-errors-spki-list`), so a test
//! gateway with its dev certificate is reachable while any other bad certificate still fails.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long a single command may take to be answered.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// The default wait for an element or a navigation.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long Chromium may take to open its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Events kept for [`Page::wait_event`]; older ones are dropped.
const EVENT_BACKLOG: usize = 2000;
const POLL: Duration = Duration::from_millis(50);

/// A headless Chromium, closed and killed on drop.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    conn: RefCell<Conn>,
    profile: tempfile::TempDir,
    screenshots: Cell<u32>,
}

/// A tab, driven through its flat CDP session.
#[derive(Debug)]
pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
    target: String,
}

/// An error answer to a CDP command.
#[derive(Debug, Clone, PartialEq)]
pub struct CdpError {
    pub method: String,
    pub message: String,
}

impl std::fmt::Display for CdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.method, self.message)
    }
}

#[derive(Debug)]
struct Conn {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Value>,
}

/// The Chromium binary: `chromium` or `chromium-browser` on PATH, else /usr/bin/chromium.
pub fn chromium_path() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "chromium not found: install it with `apt-get install chromium` \
                 (README's test command does)"
            )
        })
}

impl Browser {
    /// Headless Chromium that trusts no extra certificate.
    pub fn launch() -> Self {
        Self::launch_trusting(&[])
    }

    /// Headless Chromium that accepts a TLS server presenting the key of one of the PEM
    /// certificates `certs` (e.g. a test gateway's certs/server.pem), whatever its issuer.
    pub fn launch_trusting(certs: &[&Path]) -> Self {
        Self::launch_in("en-US", certs)
    }

    /// Headless Chromium whose language is `lang` (`nl`: its pages ask for Dutch with
    /// `Accept-Language`), trusting `certs` as [`Browser::launch_trusting`] does.
    pub fn launch_in(lang: &str, certs: &[&Path]) -> Self {
        let chromium = chromium_path();
        let profile = tempfile::tempdir().expect("tempdir for the Chromium profile");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("log file");
        let mut cmd = Command::new(&chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--password-store=basic",
            "--window-size=1024,768",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--lang={lang}"))
        .arg(format!("--accept-lang={lang}"));
        if !certs.is_empty() {
            let pins: Vec<String> = certs.iter().map(|c| spki_pin(c)).collect();
            cmd.arg(format!(
                "--ignore-certificate-errors-spki-list={}",
                pins.join(",")
            ));
        }
        cmd.arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + START_TIMEOUT;
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_owned(), path.trim().to_owned());
                }
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(profile.path().join("chromium.log"))
                    .unwrap_or_default();
                panic!(
                    "Chromium did not open its DevTools port within {START_TIMEOUT:?} \
                     (exit: {exited:?}); its output:\n{log}"
                );
            }
            std::thread::sleep(POLL);
        };
        let addr = format!("127.0.0.1:{port}");
        let stream = TcpStream::connect(&addr).expect("connect to Chromium's DevTools port");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .expect("read timeout");
        let (ws, _) = tungstenite::client(format!("ws://{addr}{path}"), stream)
            .expect("DevTools WebSocket handshake");
        Self {
            child,
            conn: RefCell::new(Conn {
                ws,
                next_id: 1,
                events: VecDeque::new(),
            }),
            profile,
            screenshots: Cell::new(0),
        }
    }

    /// What Chromium wrote to standard error so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }

    /// A browser-level command (no session), e.g. `Browser.getVersion`.
    pub fn cdp(&self, method: &str, params: Value) -> Value {
        self.try_cdp(method, params)
            .unwrap_or_else(|e| panic!("CDP {e}"))
    }

    pub fn try_cdp(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.call(None, method, params, COMMAND_TIMEOUT)
    }

    /// A new tab at about:blank.
    pub fn new_page(&self) -> Page<'_> {
        let target = self.cdp("Target.createTarget", json!({ "url": "about:blank" }))["targetId"]
            .as_str()
            .expect("a targetId")
            .to_owned();
        let session = self.cdp(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )["sessionId"]
            .as_str()
            .expect("a sessionId")
            .to_owned();
        let page = Page {
            browser: self,
            session,
            target,
        };
        page.cdp("Page.enable", json!({}));
        page
    }

    fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        let mut conn = self.conn.borrow_mut();
        let id = conn.next_id;
        conn.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        conn.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("sending {method} to Chromium: {e}"));
        let deadline = Instant::now() + timeout;
        loop {
            let Some(answer) = conn.read(deadline) else {
                panic!("Chromium did not answer {method} within {timeout:?}");
            };
            if answer["id"].as_u64() == Some(id) {
                if let Some(err) = answer.get("error") {
                    return Err(CdpError {
                        method: method.to_owned(),
                        message: err["message"].as_str().unwrap_or("?").to_owned()
                            + err["data"]
                                .as_str()
                                .map(|d| format!(" ({d})"))
                                .as_deref()
                                .unwrap_or(""),
                    });
                }
                return Ok(answer["result"].clone());
            }
        }
    }

    /// The next event `method` for `session` (from the backlog first), within `timeout`.
    fn event(&self, session: Option<&str>, method: &str, timeout: Duration) -> Option<Value> {
        let mut conn = self.conn.borrow_mut();
        let wanted = |e: &Value| {
            e["method"] == method && e.get("sessionId").and_then(Value::as_str) == session
        };
        if let Some(i) = conn.events.iter().position(wanted) {
            return conn.events.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while let Some(msg) = conn.read(deadline) {
            if msg.get("id").is_none() && wanted(&msg) {
                // `read` queued it too; take it back out.
                conn.events.pop_back();
                return Some(msg);
            }
        }
        None
    }

    /// Where screenshots of the current test go: target/screenshots/<test>/.
    fn screenshot_path(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        let n = self.screenshots.get() + 1;
        if n == 1 {
            // Leftovers of an earlier run would mix with this one's numbering.
            let _ = std::fs::remove_dir_all(&dir);
        }
        self.screenshots.set(n);
        std::fs::create_dir_all(&dir).expect("create the screenshot folder");
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        dir.join(format!("{n}-{name}.png"))
    }
}

impl Conn {
    /// The next message, or `None` once `deadline` has passed. Events are also queued.
    fn read(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let msg: Value = serde_json::from_str(&text).expect("CDP sends JSON");
                    if msg.get("id").is_none() {
                        if self.events.len() == EVENT_BACKLOG {
                            self.events.pop_front();
                        }
                        self.events.push_back(msg.clone());
                    }
                    return Some(msg);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("the DevTools connection failed: {e}"),
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Browser.close lets Chromium take its helper processes down with it.
        if let Ok(mut conn) = self.conn.try_borrow_mut() {
            let msg = json!({ "id": 0, "method": "Browser.close", "params": {} });
            let _ = conn.ws.send(Message::text(msg.to_string()));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page<'_> {
    /// A raw CDP command in this page's session; panics on an error answer.
    pub fn cdp(&self, method: &str, params: Value) -> Value {
        self.try_cdp(method, params)
            .unwrap_or_else(|e| panic!("CDP {e}"))
    }

    pub fn try_cdp(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.browser
            .call(Some(&self.session), method, params, COMMAND_TIMEOUT)
    }

    /// The next event `method` of this page (e.g. `WebAuthn.credentialAdded`, after enabling
    /// its domain), waiting at most `timeout`.
    pub fn wait_event(&self, method: &str, timeout: Duration) -> Value {
        self.browser
            .event(Some(&self.session), method, timeout)
            .unwrap_or_else(|| panic!("no {method} event within {timeout:?}"))
    }

    /// Evaluates `expression` and returns its value (JSON-serialisable values only).
    pub fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|e| panic!("evaluating `{expression}`: {e}"))
    }

    pub fn try_eval(&self, expression: &str) -> Result<Value, CdpError> {
        let r = self.try_cdp(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(CdpError {
                method: "Runtime.evaluate".into(),
                message: ex["exception"]["description"]
                    .as_str()
                    .or(ex["text"].as_str())
                    .unwrap_or("exception")
                    .to_owned(),
            });
        }
        Ok(r["result"]["value"].clone())
    }

    /// Evaluates `expression`, waits for the promise it gives, and returns its value.
    pub fn eval_async(&self, expression: &str) -> Value {
        let r = self.cdp(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("evaluating `{expression}`: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// Runs axe-core (WCAG 2.0 and 2.1, levels A and AA) on the page as it is; the
    /// violations, one line each (rule, impact, help, and the elements with what fails).
    /// axe-core comes from $MFA_TEST_AXE (scripts/test.sh installs it).
    pub fn axe(&self) -> Vec<String> {
        let path = std::env::var("MFA_TEST_AXE").unwrap_or_else(|_| {
            panic!(
                "MFA_TEST_AXE is not set: run the README test command (scripts/test.sh installs \
                 axe-core with npm), or `npm install --prefix target/axe axe-core@4.14.1` and set \
                 MFA_TEST_AXE=target/axe/node_modules/axe-core/axe.min.js"
            )
        });
        let source =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("axe-core at {path}: {e}"));
        if self.eval("typeof window.axe") != json!("object") {
            self.eval(&format!("{source}\n;true"));
        }
        let found = self.eval_async(
            "axe.run(document, { runOnly: { type: 'tag', values: \
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then(r => ({ passes: r.passes.length, \
             violations: r.violations.map(v => \
             v.id + ' (' + v.impact + '): ' + v.help + ' | ' + v.nodes.map(n => \
             n.target.join(' ') + ' -> ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' ; ')) }))",
        );
        // A run that checked nothing would pass anything.
        assert!(
            found["passes"].as_u64().is_some_and(|n| n > 0),
            "axe-core ran no rule on {}: {found}",
            self.url()
        );
        found["violations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Presses a key (`Tab`, `Enter`, ...) as a keyboard would, with `shift` held or not.
    pub fn press(&self, key: &str, shift: bool) {
        let (code, vk) = match key {
            "Tab" => ("Tab", 9),
            "Enter" => ("Enter", 13),
            "Space" | " " => ("Space", 32),
            "Escape" => ("Escape", 27),
            _ => (key, 0),
        };
        let text = match key {
            "Enter" => "\r",
            "Space" | " " => " ",
            _ => "",
        };
        for kind in ["keyDown", "keyUp"] {
            let mut p = json!({
                "type": kind, "key": if key == "Space" { " " } else { key }, "code": code,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk,
                "modifiers": if shift { 8 } else { 0 },
            });
            if kind == "keyDown" && !text.is_empty() {
                p["text"] = json!(text);
            }
            self.cdp("Input.dispatchKeyEvent", p);
        }
    }

    /// Submits the form `selector` (its default button) and waits for the page it leads to.
    pub fn submit(&self, selector: &str) {
        self.mark_document();
        let quoted = serde_json::to_string(selector).unwrap_or_default();
        self.eval(&format!(
            "(f => {{ if (!f) throw new Error('no form ' + {quoted}); f.requestSubmit(); return true; }})\
             (document.querySelector({quoted}))"
        ));
        self.wait_for_new_document(WAIT);
    }

    /// Evaluates `expression`, which navigates (builds and submits a form, say), and waits
    /// for the page it leads to: an element of the new page may be on the old one too.
    pub fn eval_and_wait_for_new_document(&self, expression: &str) {
        self.mark_document();
        self.eval(expression);
        self.wait_for_new_document(WAIT);
    }

    /// Types `text` into whatever has the focus, as a keyboard would.
    pub fn type_text(&self, text: &str) {
        self.cdp("Input.insertText", json!({ "text": text }));
    }

    /// A description of the focused element: `tag#id[name]`.
    pub fn focused(&self) -> String {
        self.eval(
            "(e => e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + \
             (e.name ? '[' + e.name + ']' : '') : '')(document.activeElement)",
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Loads `url` and waits for the new document to finish loading. Panics if Chromium
    /// reports a network error (refused connection, bad certificate...).
    pub fn goto(&self, url: &str) {
        if let Err(e) = self.try_goto(url) {
            panic!("loading {url}: {e}");
        }
    }

    /// [`Page::goto`], with Chromium's network error (e.g. `net::ERR_CERT_AUTHORITY_INVALID`)
    /// as the error.
    pub fn try_goto(&self, url: &str) -> Result<(), String> {
        self.mark_document();
        let r = self.cdp("Page.navigate", json!({ "url": url }));
        if let Some(err) = r["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(err.to_owned());
        }
        self.wait_for_new_document(WAIT);
        Ok(())
    }

    /// Waits until `selector` matches an element.
    pub fn wait_for(&self, selector: &str, timeout: Duration) {
        let probe = format!("document.querySelector({}) !== null", js(selector));
        let deadline = Instant::now() + timeout;
        while self.try_eval(&probe) != Ok(json!(true)) {
            assert!(
                Instant::now() < deadline,
                "no `{selector}` within {timeout:?} on {}",
                self.url()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Whether `selector` matches an element now.
    pub fn exists(&self, selector: &str) -> bool {
        self.eval(&format!(
            "document.querySelector({}) !== null",
            js(selector)
        )) == json!(true)
    }

    /// Focuses the input `selector`, clears it and types `value` into it.
    pub fn fill(&self, selector: &str, value: &str) {
        self.wait_for(selector, WAIT);
        let focus = format!(
            "(() => {{ const e = document.querySelector({}); e.focus(); e.value = ''; \
             return document.activeElement === e; }})()",
            js(selector)
        );
        assert_eq!(
            self.eval(&focus),
            json!(true),
            "`{selector}` takes no focus"
        );
        self.cdp("Input.insertText", json!({ "text": value }));
        let typed = self.eval(&format!("document.querySelector({}).value", js(selector)));
        assert_eq!(typed, json!(value), "typing into `{selector}`");
    }

    /// Clicks the middle of `selector` with the mouse and waits for the next document (a
    /// form submission or link) to load.
    pub fn click(&self, selector: &str) {
        self.mark_document();
        self.click_in_place(selector);
        self.wait_for_new_document(WAIT);
    }

    /// Clicks the middle of `selector` with the mouse, without waiting for a navigation.
    /// Panics if another element covers that point.
    pub fn click_in_place(&self, selector: &str) {
        self.wait_for(selector, WAIT);
        let centre = format!(
            "(() => {{ const e = document.querySelector({}); \
               e.scrollIntoView({{ block: 'center' }}); \
               const r = e.getBoundingClientRect(); \
               const x = r.left + r.width / 2, y = r.top + r.height / 2; \
               const hit = document.elementFromPoint(x, y); \
               return [x, y, r.width > 0 && r.height > 0, hit === e || e.contains(hit)]; }})()",
            js(selector)
        );
        let at = self.eval(&centre);
        let (x, y) = (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0));
        assert_eq!(at[2], json!(true), "`{selector}` is not visible");
        assert_eq!(
            at[3],
            json!(true),
            "`{selector}` is covered by another element"
        );
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.cdp(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// The address of the current document.
    pub fn url(&self) -> String {
        self.eval("location.href")
            .as_str()
            .expect("location.href is a string")
            .to_owned()
    }

    /// The rendered text of the first element matching `selector`.
    pub fn text(&self, selector: &str) -> String {
        let v = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); return e ? e.innerText : null; }})()",
            js(selector)
        ));
        match v.as_str() {
            Some(t) => t.to_owned(),
            None => panic!("no `{selector}` on {}", self.url()),
        }
    }

    /// The HTML of the current document.
    pub fn html(&self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the viewport, saved as target/screenshots/<test>/<n>-<name>.png (the folder
    /// of the current test is emptied at its first screenshot). Returns the path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let r = self.cdp("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        let path = self.browser.screenshot_path(name);
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Marks the current document so a new one can be told from it.
    fn mark_document(&self) {
        let _ = self.try_eval("window.__cdpOldDocument = true");
    }

    /// Waits until the document is a new (unmarked) one and has finished loading.
    fn wait_for_new_document(&self, timeout: Duration) {
        let probe = "typeof window.__cdpOldDocument === 'undefined' \
                     && document.readyState === 'complete'";
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let done = !left.is_zero()
                && self
                    .browser
                    .call(
                        Some(&self.session),
                        "Runtime.evaluate",
                        json!({ "expression": probe, "returnByValue": true }),
                        left,
                    )
                    .is_ok_and(|r| r["result"]["value"] == json!(true));
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page loaded within {timeout:?}; still at {}",
                self.try_eval("location.href").unwrap_or_default()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Page<'_> {
    fn drop(&mut self) {
        let _ = self
            .browser
            .try_cdp("Target.closeTarget", json!({ "targetId": self.target }));
    }
}

/// A JavaScript string literal.
fn js(s: &str) -> String {
    Value::from(s).to_string()
}

/// target/screenshots/<test>/, target/ found from this test binary's path
/// (target/<profile>/deps/<binary>), <test> the running test's name.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test binary lives in target/<profile>/deps");
    let thread = std::thread::current();
    let test = thread
        .name()
        .filter(|n| *n != "main")
        .and_then(|n| n.rsplit("::").next())
        .unwrap_or("unnamed");
    target.join("screenshots").join(test)
}

/// base64(SHA-256(SubjectPublicKeyInfo)) of the first certificate in a PEM file: what
/// `--ignore-certificate-errors-spki-list` takes.
fn spki_pin(pem: &Path) -> String {
    use sha2::Digest as _;
    let text = std::fs::read(pem).unwrap_or_else(|e| panic!("{}: {e}", pem.display()));
    let cert = rustls_pemfile::certs(&mut text.as_slice())
        .next()
        .unwrap_or_else(|| panic!("no certificate in {}", pem.display()))
        .expect("a PEM certificate");
    let spki = spki_of(cert.as_ref())
        .unwrap_or_else(|| panic!("cannot find the public key in {}", pem.display()));
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
}

/// The DER SubjectPublicKeyInfo (header included) inside an X.509 certificate.
fn spki_of(cert: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = der(cert)?;
    let (_, tbs, _) = der(der_content(certificate)?)?;
    let mut rest = der_content(tbs)?;
    // [0] version (optional), serial, signature, issuer, validity, subject, then the key.
    if rest.first() == Some(&0xa0) {
        rest = der(rest)?.2;
    }
    for _ in 0..5 {
        rest = der(rest)?.2;
    }
    Some(der(rest)?.1)
}

/// One DER element: (tag, the whole element, what follows it).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = input
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    (end <= input.len()).then(|| (tag, &input[..end], &input[end..]))
}

/// The content of one DER element (its header skipped).
fn der_content(element: &[u8]) -> Option<&[u8]> {
    let first = *element.get(1)?;
    let header = if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7f)
    };
    element.get(header..)
}
