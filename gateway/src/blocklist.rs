//! The breached-password blocklist (`[password] blocklist_file`): passwords nobody may set.
//!
//! The file holds one entry a line: a SHA-1 of the password as 40 hex digits (the Have I Been
//! Pwned download, `HASH` or `HASH:COUNT`, either case) or the password itself (hashed on
//! load). Blank lines are skipped. A line that is not UTF-8, holds a control character, is
//! longer than `MAX_LINE` bytes, or has a hash with something other than a count after it
//! refuses the whole file, naming the line number and the problem (never the line: it may be
//! a password).
//!
//! Memory: only the first 8 bytes of each SHA-1 are kept, as a sorted, deduplicated
//! `Vec<u64>` (8 bytes an entry; a lookup is a binary search). Two different passwords share
//! a prefix with a chance of about n / 2^64 (1e-10 for the 850 million HIBP hashes): at worst
//! a good password is refused as breached, never the other way round.
//!
//! The list is read once per path and kept for the life of the process (`load_once`): the
//! password policy is a small `Copy` value passed around by value, so it holds a `&'static`
//! reference. A changed file needs a restart, like every setting but the clients.

use sha1::{Digest as _, Sha1};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The longest line accepted (a password list is not a binary file).
pub const MAX_LINE: usize = 1024;

/// What the person is told when they pick a listed password.
pub const BREACHED: &str = "This password appears in a list of breached passwords; choose another.";

#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: &'static str },
}

/// The listed passwords, as the first 8 bytes of their SHA-1, sorted.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blocklist {
    prefixes: Vec<u64>,
}

impl std::fmt::Debug for Blocklist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocklist")
            .field("entries", &self.prefixes.len())
            .finish()
    }
}

fn prefix_of(sha1: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&sha1[..8]);
    u64::from_be_bytes(first)
}

fn hex_prefix(hex40: &[u8]) -> Option<u64> {
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(hex40, &mut bytes).ok()?;
    Some(prefix_of(&bytes))
}

/// One line (without its line end): its prefix, None for a blank line, or the problem.
fn parse_line(line: &[u8]) -> Result<Option<u64>, &'static str> {
    if line.len() > MAX_LINE {
        return Err("longer than 1024 bytes");
    }
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8 text")?;
    if text.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    let bytes = text.as_bytes();
    let hexish = |b: &[u8]| b.iter().all(u8::is_ascii_hexdigit);
    if bytes.len() >= 40 && hexish(&bytes[..40]) {
        let rest = &text[40..];
        if rest.is_empty() {
            return hex_prefix(&bytes[..40]).map(Some).ok_or("not a SHA-1");
        }
        if let Some(count) = rest.strip_prefix(':') {
            let count = count.trim();
            if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a SHA-1 followed by something other than `:COUNT`");
            }
            return hex_prefix(&bytes[..40]).map(Some).ok_or("not a SHA-1");
        }
    }
    Ok(Some(prefix_of(&Sha1::digest(bytes))))
}

impl Blocklist {
    /// Read a list; every line is checked (see the module doc).
    pub fn parse(mut reader: impl BufRead, size_hint: usize) -> Result<Self, BlocklistError> {
        // About 42 bytes a line in the HIBP file: reserve for that, trim at the end.
        let mut prefixes = Vec::with_capacity(size_hint / 42);
        let mut buf = Vec::with_capacity(128);
        let mut number = 0usize;
        loop {
            buf.clear();
            let read =
                reader
                    .read_until(b'\n', &mut buf)
                    .map_err(|source| BlocklistError::Read {
                        path: PathBuf::new(),
                        source,
                    })?;
            if read == 0 {
                break;
            }
            number += 1;
            let mut line = buf.as_slice();
            if let Some(l) = line.strip_suffix(b"\n") {
                line = l;
            }
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            match parse_line(line) {
                Ok(Some(p)) => prefixes.push(p),
                Ok(None) => {}
                Err(problem) => {
                    return Err(BlocklistError::Line {
                        line: number,
                        problem,
                    });
                }
            }
        }
        prefixes.sort_unstable();
        prefixes.dedup();
        prefixes.shrink_to_fit();
        Ok(Self { prefixes })
    }

    /// Read the list at `path`.
    pub fn load(path: &Path) -> Result<Self, BlocklistError> {
        let read = |source| BlocklistError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read)?;
        let size = file.metadata().map_or(0, |m| m.len());
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        Self::parse(reader, usize::try_from(size).unwrap_or(0)).map_err(|e| match e {
            BlocklistError::Read { source, .. } => read(source),
            e => e,
        })
    }

    /// Is `password` listed (by the first 8 bytes of its SHA-1)?
    pub fn contains(&self, password: &str) -> bool {
        let p = prefix_of(&Sha1::digest(password.as_bytes()));
        self.prefixes.binary_search(&p).is_ok()
    }

    /// Distinct entries.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Heap bytes the list holds.
    pub fn heap_bytes(&self) -> usize {
        self.prefixes.capacity() * std::mem::size_of::<u64>()
    }
}

/// The list at `path`, read the first time it is asked for and kept for the life of the
/// process (the same path again: the same list, not read again). A file that does not load
/// is not kept: the next call reads it again.
pub fn load_once(path: &Path) -> Result<&'static Blocklist, BlocklistError> {
    use std::sync::Mutex;
    static LOADED: Mutex<Vec<(PathBuf, &'static Blocklist)>> = Mutex::new(Vec::new());
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, list)) = loaded.iter().find(|(p, _)| *p == key) {
        return Ok(list);
    }
    let list: &'static Blocklist = Box::leak(Box::new(Blocklist::load(path)?));
    tracing::info!(
        entries = list.len(),
        bytes = list.heap_bytes(),
        "breached-password list loaded"
    );
    loaded.push((key, list));
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Blocklist, BlocklistError> {
        Blocklist::parse(text.as_bytes(), text.len())
    }

    fn sha1_hex(s: &str) -> String {
        hex::encode(Sha1::digest(s.as_bytes()))
    }

    #[test]
    fn hashes_in_both_cases_hibp_counts_and_plain_passwords() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8 (HIBP's first example).
        let text = format!(
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n{}\n\nletmein1234\n{}\n",
            sha1_hex("correct horse battery").to_lowercase(),
            sha1_hex("Tr0ub4dor&3").to_uppercase(),
        );
        let list = parse(&text).expect("parses");
        assert_eq!(list.len(), 4);
        for listed in [
            "password",
            "correct horse battery",
            "letmein1234",
            "Tr0ub4dor&3",
        ] {
            assert!(list.contains(listed), "{listed}");
        }
        for free in ["Password", "letmein123", "", "correct horse"] {
            assert!(!list.contains(free), "{free}");
        }
        assert_eq!(list.heap_bytes(), 4 * 8, "8 bytes an entry");
        assert_eq!(format!("{list:?}"), "Blocklist { entries: 4 }");
    }

    #[test]
    fn duplicates_count_once_and_a_plain_password_may_look_like_anything() {
        let list = parse("hunter2hunter2\nhunter2hunter2\n  spaced  \nnot:a:hash\n").unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.contains("  spaced  "), "kept as written");
        assert!(!list.contains("spaced"));
        assert!(list.contains("not:a:hash"));
    }

    #[test]
    fn a_bad_line_names_its_number_and_problem_never_its_text() {
        let cases: [(&[u8], usize, &str); 4] = [
            (
                b"good one\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:many\n",
                2,
                "`:COUNT`",
            ),
            (b"a\nb\nsecret\x07bell\n", 3, "control character"),
            (b"ok\n\xff\xfesecret\n", 2, "UTF-8"),
            (b"x\n\n\n", 0, ""),
        ];
        for (text, line, problem) in cases {
            match Blocklist::parse(text, text.len()) {
                Err(BlocklistError::Line {
                    line: l,
                    problem: p,
                }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(p.contains(problem), "{p}");
                    let shown = BlocklistError::Line {
                        line: l,
                        problem: p,
                    }
                    .to_string();
                    assert!(shown.starts_with(&format!("line {line}: ")), "{shown}");
                    assert!(
                        !shown.contains("secret") && !shown.contains("many"),
                        "{shown}"
                    );
                }
                Ok(list) => assert_eq!((line, list.len()), (0, 1), "{text:?}"),
                Err(e) => panic!("{e}"),
            }
        }
        let long = format!("ok\n{}\n", "x".repeat(MAX_LINE + 1));
        assert!(matches!(
            parse(&long),
            Err(BlocklistError::Line { line: 2, .. })
        ));
        let hash_then_junk = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8 trailing\n";
        assert!(
            parse(hash_then_junk)
                .unwrap()
                .contains(hash_then_junk.trim_end())
        );
    }

    #[test]
    fn loaded_once_per_path_and_a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, "first password\n").unwrap();
        let a = load_once(&path).unwrap();
        std::fs::write(&path, "first password\nsecond password\n").unwrap();
        let b = load_once(&path).unwrap();
        assert!(std::ptr::eq(a, b), "read once");
        assert!(!b.contains("second password"));
        let missing = dir.path().join("nope.txt");
        let e = load_once(&missing).unwrap_err().to_string();
        assert!(e.contains("nope.txt"), "{e}");
    }

    /// Memory and time for a million entries (`cargo test -p mfa-gateway --lib
    /// blocklist_memory -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement"]
    fn blocklist_memory() {
        let mut text = String::with_capacity(1_000_000 * 50);
        for i in 0..1_000_000u32 {
            text.push_str(&hex::encode_upper(Sha1::digest(i.to_be_bytes())));
            text.push_str(":12\r\n");
        }
        let start = std::time::Instant::now();
        let list = parse(&text).unwrap();
        let took = start.elapsed();
        let t = std::time::Instant::now();
        let mut hits = 0;
        for i in 0..100_000u32 {
            hits += usize::from(list.contains(&i.to_string()));
        }
        println!(
            "entries {} heap bytes {} ({} per entry), parse {took:?}, 100k lookups {:?} ({hits} hits)",
            list.len(),
            list.heap_bytes(),
            list.heap_bytes() / list.len(),
            t.elapsed()
        );
    }
}
