//! Tests of parsing and validation, across sections.

use super::*;

#[test]
fn empty_file_gives_documented_defaults() {
    let c = Config::parse("", Path::new("/etc/mfa")).expect("defaults are valid");
    assert_eq!(c.password.memory_kib, 19456);
    assert_eq!(c.password.iterations, 2);
    assert_eq!(c.password.parallelism, 1);
    assert_eq!(c.otp.hotp_look_ahead, 10);
    assert_eq!(c.otp.totp_skew_steps, 1);
    assert_eq!(c.key_file, Path::new("/etc/mfa/mfa-gateway.key"));
    assert_eq!(c.store_url, "sqlite:///etc/mfa/mfa-gateway.db");
}

#[test]
fn the_shipped_example_is_valid() {
    let text = include_str!("../../../config/gateway.toml");
    Config::parse(text, Path::new("/x")).expect("config/gateway.toml must validate");
}

#[test]
fn unknown_key_is_named() {
    let e = Config::parse("[lockout]\nthreshhold = 3\n", Path::new(".")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`lockout.threshhold`"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn bad_value_names_the_key() {
    let e = Config::parse("[lockout]\nthreshold = 0\n", Path::new(".")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config key `lockout.threshold`: must be at least 1"
    );
    let e = Config::parse("[store]\nurl = \"mysql://x\"\n", Path::new(".")).unwrap_err();
    assert!(e.to_string().starts_with("config key `store.url`"));
    let e = Config::parse(
        "[store]\nurl = \"sqlite://g.db?synchronous=off\"\n",
        Path::new("."),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config key `store.url`: synchronous=off: must be full or normal"
    );
    let c = Config::parse(
        "[store]\nurl = \"sqlite://g.db?synchronous=normal\"\n",
        Path::new("/etc/mfa"),
    )
    .expect("synchronous=normal is valid");
    assert_eq!(c.store_url, "sqlite:///etc/mfa/g.db?synchronous=normal");
    let e = Config::parse("[log]\nformat = \"xml\"\n", Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("log.format"));
}

#[test]
fn radius_clients_are_checked() {
    let ok = "[[radius.clients]]\nname = \"rdgw\"\naddress = \"10.0.0.0/24\"\nsecret = \"0123456789abcdef\"\nmode = \"challenge\"\n";
    let c = Config::parse(ok, Path::new(".")).expect("valid");
    assert_eq!(c.radius.clients.len(), 1);
    assert_eq!(c.radius.clients[0].mode, mfa_radius::ClientMode::Challenge);
    let short = ok.replace("0123456789abcdef", "short");
    let e = Config::parse(&short, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("radius.clients") && e.contains("rdgw") && e.contains("16"),
        "{e}"
    );
    let bad_mode = ok.replace("challenge", "push");
    let e = Config::parse(&bad_mode, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mode `push`"), "{e}");
    let bad_addr = ok.replace("10.0.0.0/24", "ten.0.0.0");
    assert!(Config::parse(&bad_addr, Path::new(".")).is_err());
    let e = Config::parse("[radius]\nlisten = [\"1812\"]\n", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("config key `radius.listen`"), "{e}");
}

#[test]
fn wrong_type_is_one_line_with_the_key() {
    let e = Config::parse("[password]\nargon2_iterations = \"two\"\n", Path::new(".")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`password.argon2_iterations`"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

/// `password.blocklist_file`, relative to the config's folder: loaded into the policy; a
/// bad line refuses the config, naming the key and the line (not its text).
#[test]
fn blocklist_file_is_loaded_or_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("breached.txt"),
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\nsummer2026!\n",
    )
    .unwrap();
    let c = Config::parse(
        "[password]\nblocklist_file = \"breached.txt\"\n",
        dir.path(),
    )
    .expect("valid");
    let list = c.password.blocklist.expect("loaded");
    assert!(list.contains("password") && list.contains("summer2026!"));
    assert!(
        Config::parse("", dir.path())
            .unwrap()
            .password
            .blocklist
            .is_none()
    );
    std::fs::write(
        dir.path().join("bad.txt"),
        "fine\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:lots\n",
    )
    .unwrap();
    let e = Config::parse("[password]\nblocklist_file = \"bad.txt\"\n", dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`password.blocklist_file`") && e.contains("line 2"),
        "{e}"
    );
    assert!(!e.contains("lots"), "{e}");
    let e = Config::parse("[password]\nblocklist_file = \"none.txt\"\n", dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.txt"), "{e}");
}
