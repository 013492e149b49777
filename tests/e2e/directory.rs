//! Directory passwords end to end: a real OpenLDAP server (`slapd`, started here on its own
//! ports with an Active-Directory-like schema, `tests/ldap/`) checks the passwords of an
//! organisation's people; RADIUS (radclient, append and challenge modes, `DOMAIN\user`),
//! the portal and the OIDC login page (Chromium) use it; the first URL is down (failover),
//! then the whole directory (`directory_unavailable`, /readyz says so), then it is back
//! (no restart). `directory sync` makes, updates and retires people and changes nothing when
//! the directory cannot be read.

use crate::radius::{SECRET, auth, client, login_attempts, totp};
use mfa_e2e::browser::Browser;
use mfa_e2e::{
    Instance, StubResponse, authorize_url, config, http_stub, https_client, https_instance,
    portal_sign_in, seed_of, serve_with_env, smtp_sink, uri_in,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORG: &str = "Praktijk Zuid";
const SVC_ENV: &str = "PRAKTIJK_LDAP_PASSWORD";
const SVC_PW: &str = "svc-secret";
const ANN_PW: &str = "Winter2026!ann";
const READY: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const GROUP: &str = "cn=RDS-Users,ou=Groups,dc=praktijk,dc=nl";

fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: install it with `apt-get install slapd ldap-utils` \
                 (README's test command does)"
            )
        })
}

/// A throwaway slapd: its own folder, an ldaps:// port and an ldap:// (StartTLS) port,
/// loaded with `tests/ldap/people.ldif`, the TLS certificate of the gateway instance's
/// development CA. Killed on drop.
struct Slapd {
    dir: tempfile::TempDir,
    ldaps: u16,
    ldap: u16,
    ca: PathBuf,
    child: Option<Child>,
}

impl Slapd {
    fn start(certs: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("ldap");
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include {schema}\n\
             pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             TLSCACertificateFile {c}/ca.pem\nTLSCertificateFile {c}/server.pem\n\
             TLSCertificateKeyFile {c}/server.key\n\
             database mdb\nmaxsize 10485760\nsuffix \"dc=praktijk,dc=nl\"\n\
             rootdn \"cn=admin,dc=praktijk,dc=nl\"\nrootpw admin-secret\ndirectory {d}/db\n\
             access to attrs=userPassword by anonymous auth by self write by * none\n\
             access to * by users read by * none\n",
            schema = here.join("ad-subset.schema").display(),
            d = dir.path().display(),
            c = certs.display(),
        );
        std::fs::write(dir.path().join("slapd.conf"), conf).unwrap();
        let added = Command::new(tool("slapadd"))
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(here.join("people.ldif"))
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let mut me = Self {
            dir,
            ldaps: mfa_e2e::free_port(),
            ldap: mfa_e2e::free_port(),
            ca: certs.join("ca.pem"),
            child: None,
        };
        me.run();
        me
    }

    fn run(&mut self) {
        let child = Command::new(tool("slapd"))
            .arg("-h")
            .arg(format!(
                "ldaps://127.0.0.1:{}/ ldap://127.0.0.1:{}/",
                self.ldaps, self.ldap
            ))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slapd");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.ldaps)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.ldaps)).is_ok() {
            assert!(Instant::now() < deadline, "slapd did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Change the directory as its administrator would (ldapmodify over ldaps://).
    fn modify(&self, ldif: &str) {
        use std::io::Write as _;
        let mut child = Command::new(tool("ldapmodify"))
            .args(["-H", &format!("ldaps://127.0.0.1:{}", self.ldaps)])
            .args([
                "-x",
                "-D",
                "cn=admin,dc=praktijk,dc=nl",
                "-w",
                "admin-secret",
            ])
            .env("LDAPTLS_CACERT", &self.ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `[[directories]]` table for `slapd`, tried in the order of `urls`.
fn directory_toml(urls: &[String]) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "\n[[directories]]\nname = \"praktijk\"\nurls = [{}]\nca_file = \"certs/ca.pem\"\n\
         bind_dn = \"cn=svc-mfa,ou=Service,dc=praktijk,dc=nl\"\nbind_password_env = \"{SVC_ENV}\"\n\
         base_dn = \"ou=Staff,dc=praktijk,dc=nl\"\n\
         user_filter = \"(&(objectClass=user)(sAMAccountName={{username}}))\"\n\
         people_filter = \"(&(objectClass=user)(memberOf={GROUP}))\"\n\
         username_attribute = \"sAMAccountName\"\nname_attribute = \"displayName\"\n\
         email_attribute = \"mail\"\nemployee_number_attribute = \"employeeID\"\n\
         require_group = \"{GROUP}\"\nnested_groups = false\norgs = [\"{ORG}\"]\n\
         connect_timeout_ms = 500\ntimeout_ms = 3000\n",
        urls.join(", ")
    )
}

/// Run a CLI command with the service account's password in the environment.
fn cli(g: &Instance, args: &[&str]) -> mfa_e2e::Run {
    let out = Command::new(mfa_e2e::binary())
        .arg("--config")
        .arg(g.config())
        .args(args)
        .env(SVC_ENV, SVC_PW)
        .env_remove("MFA_GATEWAY_KEY")
        .env_remove("MFA_GATEWAY_STORE_URL")
        .output()
        .unwrap();
    out.into()
}

fn cli_ok(g: &Instance, args: &[&str]) -> String {
    let r = cli(g, args);
    assert!(r.ok, "mfa-gateway {args:?}:\n{}\n{}", r.stdout, r.stderr);
    r.stdout
}

/// The reasons of the login attempts after the first `skip`, oldest first.
fn reasons(g: &Instance, skip: usize) -> Vec<String> {
    login_attempts(g)
        .iter()
        .skip(skip)
        .map(|e| {
            format!(
                "{}:{}",
                e["username"].as_str().unwrap_or("-"),
                e["reason"]
                    .as_str()
                    .unwrap_or(e["outcome"].as_str().unwrap_or("-"))
            )
        })
        .collect()
}

/// The portal's password step with plain HTTPS: the page that follows.
fn portal_password(g: &Instance, base: &str, user: &str, password: &str) -> String {
    let client = https_client(g);
    let page = client.get(format!("{base}/portal/login")).send().unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .strip_prefix("mfa_pre=")
                .map(str::to_owned)
        })
        .expect("pre-login cookie");
    let html = page.text().unwrap();
    let at = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    client
        .post(format!("{base}/portal/login"))
        .header("cookie", format!("mfa_pre={pre}"))
        .form(&[("csrf", csrf), ("username", user), ("password", password)])
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn directory_passwords_on_radius_the_portal_and_oidc_with_failover_and_an_outage() {
    let rp = http_stub(|_| StubResponse::html("<p id=rp>back at the application</p>"));
    let redirect = rp.url("/callback");
    let g = https_instance(&["admin"], "\n[admin]\nlisten = [\"127.0.0.1:0\"]\n");
    let mut slapd = Slapd::start(&g.dir.path().join("certs"));
    // The first URL has nobody listening: every connection fails over to the second.
    let dead = mfa_e2e::free_port();
    let extra = format!(
        "{}{}\n[[oidc.clients]]\nclient_id = \"guac\"\nname = \"Guacamole\"\n\
         redirect_uris = [\"{redirect}\"]\nflows = [\"code\"]\nrequire_pkce = true\n",
        client(
            "rdgw",
            "127.0.0.1/32",
            "mode = \"append\"\ndomains = [\"PRAKTIJK\"]"
        ),
        directory_toml(&[
            format!("ldaps://127.0.0.1:{dead}"),
            format!("ldaps://127.0.0.1:{}", slapd.ldaps),
        ]),
    );
    g.edit_config(|doc| config::merge(doc, &extra));
    cli_ok(&g, &["org", "add", ORG]);
    assert!(cli_ok(&g, &["directory", "check"]).contains("praktijk: answers"));
    cli_ok(
        &g,
        &["directory", "sync", "--base-url", "https://gw.example"],
    );
    // Three phones: three sign-ins within one time step, each with a fresh code.
    let phones: Vec<Vec<u8>> = ["one", "two", "three", "four"]
        .iter()
        .map(|l| {
            seed_of(&uri_in(&cli_ok(
                &g,
                &["device", "add-totp", "ann", "--label", l],
            )))
        })
        .collect();
    // Cees is not in the group the directory requires; made by hand without a password.
    cli_ok(
        &g,
        &[
            "person",
            "add",
            "cees",
            "--org",
            ORG,
            "--name",
            "Cees",
            "--no-password",
        ],
    );
    // A person with a local password in the same organisation keeps it (a break-glass admin).
    g.ok(
        &[
            "person",
            "add",
            "local",
            "--org",
            ORG,
            "--name",
            "Local",
            "--password-stdin",
        ],
        Some("local password 123\n"),
    );
    let local_phone = seed_of(&uri_in(&g.ok(&["device", "add-totp", "local"], None)));

    let s = serve_with_env(&g, READY, &[(SVC_ENV, SVC_PW)]);
    let radius = s.addr("radius udp", "127.0.0.1");
    let base = s.listener("http");
    let admin = s.listener("admin http");
    let before = login_attempts(&g).len();

    // RADIUS append mode, the name as RD Gateway sends it.
    auth(
        radius,
        "PRAKTIJK\\\\ann",
        &format!("{ANN_PW}{}", totp(&phones[0], 0)),
    )
    .assert_code("Access-Accept");
    auth(
        radius,
        "ann",
        &format!("Winter2025!ann{}", totp(&phones[1], 0)),
    )
    .assert_code("Access-Reject");
    // An empty password with a right code: refused before any bind.
    auth(radius, "ann", &totp(&phones[1], 0)).assert_code("Access-Reject");
    // A filter injection finds nobody (the name is escaped, RFC 4515).
    auth(radius, "*)(uid=*", &format!("{ANN_PW}123456")).assert_code("Access-Reject");
    auth(radius, "nobody", &format!("{ANN_PW}123456")).assert_code("Access-Reject");
    auth(radius, "cees", &format!("Winter2026!cees{}", "123456")).assert_code("Access-Reject");
    auth(radius, "dirk", "Winter2026!dirk123456").assert_code("Access-Reject");
    auth(radius, "eva", "Winter2026!eva123456").assert_code("Access-Reject");
    // The local password still works for the person who has one.
    auth(
        radius,
        "local",
        &format!("local password 123{}", totp(&local_phone, 0)),
    )
    .assert_code("Access-Accept");
    assert_eq!(
        reasons(&g, before),
        [
            "ann:accept",
            "ann:bad_password",
            "ann:bad_password",
            "*)(uid=*:unknown_user",
            "nobody:unknown_user",
            "cees:directory_not_in_group",
            "dirk:directory_account_disabled",
            "eva:directory_password_must_change",
            "local:accept",
        ]
    );

    // The portal: a Windows password that must be changed says so; a wrong one says nothing.
    let eva = portal_password(&g, &base, "eva", "Winter2026!eva");
    assert!(
        eva.contains("Change your password in Windows first"),
        "{eva}"
    );
    let wrong = portal_password(&g, &base, "eva", "Winter2025!eva");
    assert!(!wrong.contains("Windows"), "{wrong}");
    let dirk = portal_password(&g, &base, "dirk", "Winter2026!dirk");
    assert!(
        !dirk.contains("Windows"),
        "a disabled account looks like any refusal"
    );

    // Chromium: the portal, then the OIDC login page of a relying party.
    let browser = Browser::launch_trusting(&[&g.dir.path().join("certs/server.pem")]);
    let page = browser.new_page();
    portal_sign_in(&page, &base, "ann", ANN_PW, &totp(&phones[1], 0));
    let oidc = browser.new_page();
    oidc.goto(&authorize_url(&base, "guac", &redirect, ""));
    oidc.wait_for("form#login-form", WAIT);
    oidc.fill("input[name=username]", "ann");
    oidc.fill("input[name=password]", ANN_PW);
    oidc.click("button#submit");
    oidc.wait_for("form#code-form", WAIT);
    oidc.fill("input[name=code]", &totp(&phones[2], 0));
    oidc.click("button#submit");
    oidc.wait_for("p#rp", WAIT);
    let back = rp
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.target.clone())
        .find(|t| t.starts_with("/callback"))
        .expect("the browser came back to the relying party");
    assert!(
        back.starts_with("/callback?code=") && back.contains("state=s"),
        "{back}"
    );

    // The whole directory down: refused as unavailable, /readyz says so but stays ready.
    slapd.stop();
    let mark = login_attempts(&g).len();
    auth(radius, "ann", &format!("{ANN_PW}{}", totp(&phones[3], 0))).assert_code("Access-Reject");
    assert_eq!(reasons(&g, mark), ["ann:directory_unavailable"]);
    let ready = https_client(&g)
        .get(format!("http://{admin}/readyz"))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        ready
            .text()
            .unwrap()
            .contains("directory praktijk: not reachable"),
        "readyz names the directory"
    );
    // Back: used again without a restart.
    slapd.run();
    auth(radius, "ann", &format!("{ANN_PW}{}", totp(&phones[3], 0))).assert_code("Access-Accept");
    let ready = https_client(&g)
        .get(format!("http://{admin}/readyz"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(ready, "ready\n");
    // Nothing secret in the log: neither the service password nor a person's.
    let log = s.log();
    assert!(!log.contains(SVC_PW) && !log.contains(ANN_PW), "{log}");
}

#[test]
fn directory_sync_makes_updates_and_retires_people_and_a_failed_read_changes_nothing() {
    let sink = smtp_sink();
    let g = https_instance(
        &["mail"],
        &format!(
            "\n[mail]\nrelay = \"{}\"\nsecurity = \"none\"\nfrom = \"mfa@example.net\"\n",
            sink.addr
        ),
    );
    let mut slapd = Slapd::start(&g.dir.path().join("certs"));
    // StartTLS on ldap:// this time.
    g.edit_config(|doc| {
        config::merge(
            doc,
            &directory_toml(&[format!("ldap://127.0.0.1:{}", slapd.ldap)]),
        );
        config::merge(doc, &client("vpn", "127.0.0.1/32", "mode = \"challenge\""));
    });
    cli_ok(&g, &["org", "add", ORG]);
    let dry = cli_ok(&g, &["directory", "sync", "--dry-run"]);
    assert!(dry.contains("4 would be made"), "{dry}");
    assert!(
        !g.ok(&["person", "list"], None).contains("ann"),
        "a dry run writes nothing"
    );

    let made = cli_ok(
        &g,
        &["directory", "sync", "--base-url", "https://gw.example"],
    );
    assert!(made.contains("4 were made, 0 updated, 0 retired"), "{made}");
    let mail = sink.wait_for("ann@praktijk.example", WAIT);
    assert!(
        mail.data.contains("https://gw.example/activate/"),
        "{}",
        mail.data
    );
    let show = g.ok(&["person", "show", "ann"], None);
    assert!(
        show.contains("Ann de Vries") && show.contains("E100"),
        "{show}"
    );
    // Nothing changed: nothing to do.
    let again = cli_ok(
        &g,
        &["directory", "sync", "--base-url", "https://gw.example"],
    );
    assert!(
        again.contains("0 were made, 0 updated, 0 retired"),
        "{again}"
    );

    // Ann marries, Bob leaves the group.
    slapd.modify(
        "dn: cn=Ann de Vries,ou=Staff,dc=praktijk,dc=nl\nchangetype: modify\n\
         replace: displayName\ndisplayName: Ann de Vries-Jansen\n\n\
         dn: cn=Bob Jansen,ou=Staff,dc=praktijk,dc=nl\nchangetype: modify\n\
         delete: memberOf\n",
    );
    // A sync that cannot read the directory changes nothing.
    slapd.stop();
    let failed = cli(
        &g,
        &["directory", "sync", "--base-url", "https://gw.example"],
    );
    assert!(
        !failed.ok && failed.stderr.contains("changed nothing"),
        "{failed:?}"
    );
    let people = g.ok(&["person", "list"], None);
    assert!(
        people.contains("Ann de Vries ") && !people.contains("removed"),
        "{people}"
    );
    slapd.run();
    let synced = cli_ok(
        &g,
        &["directory", "sync", "--base-url", "https://gw.example"],
    );
    assert!(
        synced.contains("0 were made, 1 updated, 1 retired"),
        "{synced}"
    );
    assert!(
        g.ok(&["person", "show", "ann"], None)
            .contains("Ann de Vries-Jansen")
    );
    assert!(g.ok(&["person", "show", "bob"], None).contains("removed"));
    let audit = g.ok(
        &["audit", "search", "--person", "bob", "--format", "jsonl"],
        None,
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"person_removed\"") && l.contains("\"channel\":\"directory\"")),
        "{audit}"
    );

    // RADIUS challenge mode with the directory password.
    let phone = seed_of(&uri_in(&g.ok(&["device", "add-totp", "ann"], None)));
    let s = serve_with_env(&g, READY, &[(SVC_ENV, SVC_PW)]);
    let radius = s.addr("radius udp", "127.0.0.1");
    let first = auth(radius, "ann", ANN_PW);
    first.assert_code("Access-Challenge");
    let state = first.attr("State").expect("a State").to_owned();
    crate::radius::auth_with(
        radius,
        SECRET,
        "ann",
        &totp(&phone, 0),
        &format!(", State = {state}, Message-Authenticator = 0x00"),
        crate::radius::ANSWER_WAIT,
    )
    .assert_code("Access-Accept");
    auth(radius, "bob", "Winter2026!bob").assert_code("Access-Reject");
}
