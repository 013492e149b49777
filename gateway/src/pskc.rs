//! RFC 6030 PSKC (Portable Symmetric Key Container) import.
//!
//! [`parse`] reads a PSKC document and returns every HOTP/TOTP key in it, or
//! the first problem found (the import is all-or-nothing). Supported:
//! plain secrets, secrets encrypted with a pre-shared key (AES-CBC with
//! an HMAC `ValueMAC`, RFC 6030 section 6.1) and with a password-derived
//! key (PBKDF2, RFC 6030 section 6.2). Pure: no I/O, no panics on any input.

use std::collections::HashMap;
use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockCipher, BlockDecryptMut, KeyInit, KeyIvInit};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use roxmltree::Node;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const NS_PSKC: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const NS_PKCS5: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#";

/// Upper bound for PBKDF2 iterations, so a hostile file cannot stall us.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Longest file-provided text echoed in an error message.
const MAX_ECHO: usize = 80;

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One key from a PSKC file.
#[derive(Clone)]
pub struct PskcKey {
    /// 1-based index of the KeyPackage in the document.
    pub entry: usize,
    /// `Key/@Id`.
    pub key_id: Option<String>,
    /// `DeviceInfo/SerialNo` (never empty).
    pub serial: String,
    /// `DeviceInfo/Manufacturer`.
    pub manufacturer: Option<String>,
    /// `DeviceInfo/Model`.
    pub model: Option<String>,
    /// From `Key/@Algorithm`.
    pub kind: PskcAlgorithm,
    /// From `AlgorithmParameters/Suite`; SHA-1 when absent.
    pub hash: PskcHash,
    /// `AlgorithmParameters/ResponseFormat/@Length` (6..=8; 6 when absent).
    pub digits: u8,
    /// `Data/Counter` (0 when absent).
    pub counter: u64,
    /// `Data/TimeInterval` in seconds (30 when absent).
    pub period: u32,
    /// `Data/Time` (T0, 0 when absent).
    pub time_offset: i64,
    /// `Data/Secret`, decoded and (if it was encrypted) decrypted.
    pub secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PskcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskcKey")
            .field("entry", &self.entry)
            .field("key_id", &self.key_id)
            .field("serial", &self.serial)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("kind", &self.kind)
            .field("hash", &self.hash)
            .field("digits", &self.digits)
            .field("counter", &self.counter)
            .field("period", &self.period)
            .field("time_offset", &self.time_offset)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// OTP algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PskcAlgorithm {
    /// RFC 4226 HOTP.
    Hotp,
    /// RFC 6238 TOTP.
    Totp,
}

/// HMAC hash of an OTP key (also used for `MACMethod` and the PBKDF2 PRF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PskcHash {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How to decrypt encrypted key values.
#[derive(Clone, Copy)]
pub enum PskcKeyMaterial<'a> {
    /// No key: only files with plain values can be read.
    None,
    /// Raw AES key (16, 24 or 32 bytes) named by `EncryptionKey/ds:KeyName`.
    PreSharedKey(&'a [u8]),
    /// Password for a PBKDF2 `EncryptionKey/xenc11:DerivedKey`.
    Password(&'a [u8]),
}

impl fmt::Debug for PskcKeyMaterial<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::PreSharedKey(_) => f.write_str("PreSharedKey(<redacted>)"),
            Self::Password(_) => f.write_str("Password(<redacted>)"),
        }
    }
}

/// Why a PSKC file was refused. Display is one line naming where.
#[derive(Debug, thiserror::Error)]
pub enum PskcError {
    /// The input is not well-formed XML.
    #[error("not well-formed XML at line {line} column {column}: {message}")]
    Xml {
        /// 1-based line and column, and the parser's message.
        line: u32,
        column: u32,
        message: String,
    },
    /// The root element is not `pskc:KeyContainer`.
    #[error("root element is not KeyContainer in the PSKC namespace")]
    NotPskc,
    /// The container holds no `KeyPackage`.
    #[error("no KeyPackage in the file")]
    Empty,
    /// Encrypted values, but [`PskcKeyMaterial::None`].
    #[error("the file holds encrypted keys but no pre-shared key/password was given")]
    KeyMaterialMissing,
    /// A problem with the container as a whole (encryption key, MAC key, version).
    #[error("KeyContainer: {0}")]
    Container(String),
    /// A `ValueMAC` did not match: wrong key or tampered/damaged file.
    #[error("MAC check failed for entry {entry}{}: wrong pre-shared key or damaged file", serial_note(.serial))]
    Mac {
        /// 1-based KeyPackage index.
        entry: usize,
        /// Serial number, when it was read.
        serial: Option<String>,
    },
    /// A problem with one KeyPackage.
    #[error("entry {entry}{}: {reason}", serial_note(.serial))]
    Entry {
        /// 1-based KeyPackage index.
        entry: usize,
        /// Serial number, when it was read.
        serial: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

impl PskcError {
    /// The 1-based KeyPackage index the error is about, if any.
    pub fn entry(&self) -> Option<usize> {
        match self {
            Self::Mac { entry, .. } | Self::Entry { entry, .. } => Some(*entry),
            _ => None,
        }
    }
}

fn serial_note(serial: &Option<String>) -> String {
    serial
        .as_deref()
        .map(|s| format!(" (serial {})", quote(s)))
        .unwrap_or_default()
}

/// Quote file-provided text for an error message: escaped, one line, bounded.
fn quote(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{:?}...", s.get(..cut).unwrap_or_default()),
        None => format!("{s:?}"),
    }
}

/// Parse a PSKC document. Returns all keys, or the first error and no keys.
pub fn parse(xml: &str, keys: PskcKeyMaterial<'_>) -> Result<Vec<PskcKey>, PskcError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        let pos = e.pos();
        let mut message = e.to_string();
        let suffix = format!(" at {}:{}", pos.row, pos.col);
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
        let message = match message.char_indices().nth(200) {
            Some((cut, _)) => message.get(..cut).unwrap_or_default().to_owned(),
            None => message,
        };
        PskcError::Xml {
            line: pos.row,
            column: pos.col,
            message: message.replace(['\r', '\n'], " "),
        }
    })?;
    let root = doc.root_element();
    if !is(root, NS_PSKC, "KeyContainer") {
        return Err(PskcError::NotPskc);
    }
    if let Some(v) = root.attribute("Version")
        && v.trim() != "1.0"
    {
        return Err(PskcError::Container(format!(
            "unsupported PSKC version {}",
            quote(v)
        )));
    }
    let packages: Vec<Node<'_, '_>> = children(root, NS_PSKC, "KeyPackage").collect();
    if packages.is_empty() {
        return Err(PskcError::Empty);
    }
    let encrypted = root.descendants().any(|n| is(n, NS_PSKC, "EncryptedValue"));
    let crypto = if encrypted {
        Some(Crypto::new(root, keys)?)
    } else {
        None
    };

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(packages.len());
    for (i, package) in packages.into_iter().enumerate() {
        let entry = i + 1;
        let key = parse_entry(package, entry, crypto.as_ref(), &seen)?;
        seen.insert(key.serial.clone(), entry);
        out.push(key);
    }
    Ok(out)
}

fn is(n: Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
}

fn children<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| is(*c, ns, name))
}

fn child<'a, 'i>(n: Node<'a, 'i>, ns: &'static str, name: &'static str) -> Option<Node<'a, 'i>> {
    children(n, ns, name).next()
}

/// All text content of an element, trimmed.
fn text(n: Node<'_, '_>) -> String {
    let s: String = n.children().filter_map(|c| c.text()).collect();
    s.trim().to_owned()
}

fn opt_text(n: Option<Node<'_, '_>>) -> Option<String> {
    n.map(text).filter(|s| !s.is_empty())
}

fn b64(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> =
        Zeroizing::new(s.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    B64.decode(compact.as_bytes()).ok().map(Zeroizing::new)
}

/// `...#hmac-sha1` etc. (xmldsig, xmldsig-more) to a hash.
fn hash_from_uri(uri: &str) -> Option<PskcHash> {
    let (_, name) = uri.trim().rsplit_once('#')?;
    match name.to_ascii_lowercase().as_str() {
        "hmac-sha1" => Some(PskcHash::Sha1),
        "hmac-sha256" => Some(PskcHash::Sha256),
        "hmac-sha512" => Some(PskcHash::Sha512),
        _ => None,
    }
}

fn hmac(hash: PskcHash, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        let mut m = <M as Mac>::new_from_slice(key).ok()?;
        m.update(data);
        Some(m.finalize().into_bytes().to_vec())
    }
    match hash {
        PskcHash::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
        PskcHash::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
        PskcHash::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
    }
}

/// Why a decryption failed.
enum DecryptError {
    /// Bad PKCS#7 padding: wrong key or damaged data.
    Padding,
    /// Malformed encrypted value.
    Invalid(String),
}

impl DecryptError {
    fn reason(&self, what: &str) -> String {
        match self {
            Self::Padding => format!(
                "{what} could not be decrypted: bad PKCS#7 padding (wrong pre-shared key/password or damaged file)"
            ),
            Self::Invalid(r) => format!("{what}: {r}"),
        }
    }
}

/// An xenc-style encrypted value: cipher algorithm and IV||ciphertext.
struct Encrypted {
    key_len: usize,
    data: Vec<u8>,
}

impl Encrypted {
    fn read(n: Node<'_, '_>) -> Result<Self, DecryptError> {
        let invalid = |s: &str| DecryptError::Invalid(s.to_owned());
        let alg = child(n, NS_XENC, "EncryptionMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .ok_or_else(|| invalid("xenc:EncryptionMethod/@Algorithm is missing"))?;
        let key_len = [("aes128-cbc", 16), ("aes192-cbc", 24), ("aes256-cbc", 32)]
            .into_iter()
            .find(|(name, _)| alg.trim() == format!("{NS_XENC}{name}"))
            .map(|(_, len)| len)
            .ok_or_else(|| {
                DecryptError::Invalid(format!("unsupported encryption algorithm {}", quote(alg)))
            })?;
        let value = child(n, NS_XENC, "CipherData")
            .and_then(|d| child(d, NS_XENC, "CipherValue"))
            .ok_or_else(|| invalid("xenc:CipherData/xenc:CipherValue is missing"))?;
        let data = b64(&text(value)).ok_or_else(|| invalid("CipherValue is not valid base64"))?;
        if data.len() < 32 || data.len() % 16 != 0 {
            return Err(invalid(
                "CipherValue must be a 16-byte IV and a whole number of AES blocks",
            ));
        }
        Ok(Self {
            key_len,
            data: data.to_vec(),
        })
    }

    fn decrypt(&self, key: &[u8]) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        if key.len() != self.key_len {
            return Err(DecryptError::Invalid(format!(
                "aes{}-cbc needs a {}-byte key, the given key has {} bytes",
                self.key_len * 8,
                self.key_len,
                key.len()
            )));
        }
        let (iv, ct) = self
            .data
            .split_at_checked(16)
            .ok_or(DecryptError::Padding)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = match self.key_len {
            16 => cbc_decrypt::<aes::Aes128>(key, iv, &mut buf),
            24 => cbc_decrypt::<aes::Aes192>(key, iv, &mut buf),
            _ => cbc_decrypt::<aes::Aes256>(key, iv, &mut buf),
        }?;
        buf.truncate(len);
        Ok(buf)
    }
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<usize, DecryptError>
where
    C: BlockDecryptMut + BlockCipher + KeyInit,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| DecryptError::Invalid("bad AES key or IV length".to_owned()))?;
    dec.decrypt_padded_mut::<Pkcs7>(buf)
        .map(|p| p.len())
        .map_err(|_| DecryptError::Padding)
}

/// Document-wide decryption state.
struct Crypto {
    key: Zeroizing<Vec<u8>>,
    /// `MACMethod`: hash and MAC key; the key is `None` when the MAC key
    /// did not decrypt (wrong key), which makes every MAC check fail.
    mac: Option<(PskcHash, Option<Zeroizing<Vec<u8>>>)>,
}

impl Crypto {
    fn new(root: Node<'_, '_>, keys: PskcKeyMaterial<'_>) -> Result<Self, PskcError> {
        let container = |s: &str| PskcError::Container(s.to_owned());
        let enc_key = child(root, NS_PSKC, "EncryptionKey");
        let derived = enc_key.and_then(|k| child(k, NS_XENC11, "DerivedKey"));
        if enc_key.is_some_and(|k| child(k, NS_DS, "X509Data").is_some()) {
            return Err(container(
                "EncryptionKey uses a certificate (ds:X509Data), which is not supported",
            ));
        }
        let key = match (keys, derived) {
            (PskcKeyMaterial::None, _) => return Err(PskcError::KeyMaterialMissing),
            (PskcKeyMaterial::PreSharedKey(_), Some(_)) => {
                return Err(container(
                    "the file is protected with a password (PBKDF2), not a pre-shared key",
                ));
            }
            (PskcKeyMaterial::Password(_), None) => {
                return Err(container(
                    "the file is protected with a pre-shared key, not a password",
                ));
            }
            (PskcKeyMaterial::PreSharedKey(k), None) => Zeroizing::new(k.to_vec()),
            (PskcKeyMaterial::Password(p), Some(d)) => derive_key(d, p)?,
        };
        if ![16, 24, 32].contains(&key.len()) {
            return Err(container(
                "the pre-shared key must be 16, 24 or 32 bytes (AES-128/192/256)",
            ));
        }
        let mac = match child(root, NS_PSKC, "MACMethod") {
            None => None,
            Some(m) => {
                let alg = m.attribute("Algorithm").unwrap_or_default();
                let hash = hash_from_uri(alg).ok_or_else(|| {
                    PskcError::Container(format!("unsupported MACMethod algorithm {}", quote(alg)))
                })?;
                let mac_key = child(m, NS_PSKC, "MACKey")
                    .ok_or_else(|| container("MACMethod has no MACKey"))?;
                let mac_key = match Encrypted::read(mac_key).and_then(|e| e.decrypt(&key)) {
                    Ok(k) => Some(k),
                    Err(DecryptError::Padding) => None,
                    Err(e) => return Err(PskcError::Container(e.reason("MACKey"))),
                };
                Some((hash, mac_key))
            }
        };
        Ok(Self { key, mac })
    }
}

/// RFC 6030 section 6.2: PBKDF2 key from a password.
fn derive_key(derived: Node<'_, '_>, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let err = |s: &str| PskcError::Container(format!("EncryptionKey/DerivedKey: {s}"));
    let method = child(derived, NS_XENC11, "KeyDerivationMethod")
        .ok_or_else(|| err("KeyDerivationMethod is missing"))?;
    let alg = method.attribute("Algorithm").unwrap_or_default();
    if alg.trim() != format!("{NS_PKCS5}pbkdf2") {
        return Err(err(&format!("unsupported key derivation {}", quote(alg))));
    }
    let params = child(method, NS_PKCS5, "PBKDF2-params")
        .ok_or_else(|| err("pkcs5:PBKDF2-params is missing"))?;
    let salt = param(params, "Salt")
        .and_then(|s| param(s, "Specified"))
        .and_then(|s| b64(&text(s)))
        .ok_or_else(|| err("Salt/Specified is missing or not base64"))?;
    let iterations = param(params, "IterationCount")
        .and_then(|n| text(n).parse::<u32>().ok())
        .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
        .ok_or_else(|| err("IterationCount is missing or out of range"))?;
    let key_len = match param(params, "KeyLength") {
        None => 16,
        Some(n) => text(n)
            .parse::<usize>()
            .ok()
            .filter(|l| [16, 24, 32].contains(l))
            .ok_or_else(|| err("KeyLength must be 16, 24 or 32"))?,
    };
    let prf = match param(params, "PRF").and_then(|p| p.attribute("Algorithm")) {
        None => PskcHash::Sha1,
        Some(a) => hash_from_uri(a).ok_or_else(|| err(&format!("unsupported PRF {}", quote(a))))?,
    };
    let mut out = Zeroizing::new(vec![0u8; key_len]);
    match prf {
        PskcHash::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, &salt, iterations, &mut out),
        PskcHash::Sha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, iterations, &mut out)
        }
        PskcHash::Sha512 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &salt, iterations, &mut out)
        }
    }
    Ok(out)
}

/// A PBKDF2-params child: the RFC example leaves them unqualified; accept both.
fn param<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| {
        c.is_element()
            && c.tag_name().name() == name
            && matches!(c.tag_name().namespace(), None | Some(NS_PKCS5))
    })
}

fn algorithm(uri: &str) -> Option<PskcAlgorithm> {
    let uri = uri.trim();
    [
        (":hotp", PskcAlgorithm::Hotp),
        ("#hotp", PskcAlgorithm::Hotp),
        (":totp", PskcAlgorithm::Totp),
        ("#totp", PskcAlgorithm::Totp),
    ]
    .into_iter()
    .find(|(suffix, _)| {
        uri.strip_prefix(NS_PSKC)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(suffix))
    })
    .map(|(_, a)| a)
}

fn parse_entry(
    package: Node<'_, '_>,
    entry: usize,
    crypto: Option<&Crypto>,
    seen: &HashMap<String, usize>,
) -> Result<PskcKey, PskcError> {
    let device = child(package, NS_PSKC, "DeviceInfo");
    let serial = opt_text(device.and_then(|d| child(d, NS_PSKC, "SerialNo"))).ok_or_else(|| {
        PskcError::Entry {
            entry,
            serial: None,
            reason: "DeviceInfo/SerialNo is missing".to_owned(),
        }
    })?;
    let fail = |reason: &str| PskcError::Entry {
        entry,
        serial: Some(serial.clone()),
        reason: reason.to_owned(),
    };
    if serial.chars().any(char::is_control) {
        return Err(fail("DeviceInfo/SerialNo contains control characters"));
    }
    if let Some(first) = seen.get(&serial) {
        return Err(fail(&format!(
            "serial number already used by entry {first}"
        )));
    }
    let key = child(package, NS_PSKC, "Key").ok_or_else(|| fail("Key element is missing"))?;
    let alg = key.attribute("Algorithm").unwrap_or_default();
    let kind = algorithm(alg).ok_or_else(|| {
        fail(&format!(
            "unsupported algorithm {} (only HOTP and TOTP)",
            quote(alg)
        ))
    })?;

    let params = child(key, NS_PSKC, "AlgorithmParameters");
    let hash = match opt_text(params.and_then(|p| child(p, NS_PSKC, "Suite"))) {
        None => PskcHash::Sha1,
        Some(s) => {
            let norm = s.to_ascii_lowercase().replace('-', "");
            match norm.strip_prefix("hmac").unwrap_or(&norm) {
                "sha1" => PskcHash::Sha1,
                "sha256" => PskcHash::Sha256,
                "sha512" => PskcHash::Sha512,
                _ => return Err(fail(&format!("unsupported Suite {}", quote(&s)))),
            }
        }
    };
    let format = params.and_then(|p| child(p, NS_PSKC, "ResponseFormat"));
    let digits = match format.and_then(|f| f.attribute("Length")) {
        None => 6,
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|d| (6..=8).contains(d))
            .ok_or_else(|| {
                fail(&format!(
                    "ResponseFormat/@Length {} is not 6, 7 or 8",
                    quote(l)
                ))
            })?,
    };
    if let Some(enc) = format.and_then(|f| f.attribute("Encoding"))
        && !enc.trim().eq_ignore_ascii_case("DECIMAL")
    {
        return Err(fail(&format!(
            "ResponseFormat/@Encoding {} is not supported (only DECIMAL)",
            quote(enc)
        )));
    }

    let data = child(key, NS_PSKC, "Data");
    let number = |name: &'static str| -> Result<Option<String>, PskcError> {
        let Some(n) = data.and_then(|d| child(d, NS_PSKC, name)) else {
            return Ok(None);
        };
        if child(n, NS_PSKC, "EncryptedValue").is_some() {
            return Err(fail(&format!(
                "Data/{name}: encrypted values are only supported for the Secret"
            )));
        }
        let v = opt_text(child(n, NS_PSKC, "PlainValue"));
        v.map(Some)
            .ok_or_else(|| fail(&format!("Data/{name} has no PlainValue")))
    };
    let bad = |name: &str, v: &str| fail(&format!("Data/{name} value {} is not valid", quote(v)));
    let counter = match number("Counter")? {
        None => 0,
        Some(v) => v.parse::<u64>().map_err(|_| bad("Counter", &v))?,
    };
    let period = match number("TimeInterval")? {
        None => 30,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("TimeInterval", &v))?,
    };
    let time_offset = match number("Time")? {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|_| bad("Time", &v))?,
    };

    let secret_node = data
        .and_then(|d| child(d, NS_PSKC, "Secret"))
        .ok_or_else(|| fail("Data/Secret is missing"))?;
    let secret = if let Some(plain) = child(secret_node, NS_PSKC, "PlainValue") {
        b64(&Zeroizing::new(text(plain))).ok_or_else(|| fail("secret is not valid base64"))?
    } else if let Some(ev) = child(secret_node, NS_PSKC, "EncryptedValue") {
        let crypto = crypto.ok_or(PskcError::KeyMaterialMissing)?;
        let encrypted = Encrypted::read(ev).map_err(|e| fail(&e.reason("encrypted secret")))?;
        if let Some(mac_node) = child(secret_node, NS_PSKC, "ValueMAC") {
            let (hash, mac_key) = crypto
                .mac
                .as_ref()
                .ok_or_else(|| fail("secret has a ValueMAC but the file has no MACMethod"))?;
            let expected =
                b64(&text(mac_node)).ok_or_else(|| fail("ValueMAC is not valid base64"))?;
            let mac_err = || PskcError::Mac {
                entry,
                serial: Some(serial.clone()),
            };
            let mac_key = mac_key.as_ref().ok_or_else(mac_err)?;
            let actual = hmac(*hash, mac_key, &encrypted.data).ok_or_else(mac_err)?;
            if !bool::from(actual.ct_eq(&expected)) {
                return Err(mac_err());
            }
        } else if crypto.mac.is_some() {
            return Err(fail(
                "encrypted secret has no ValueMAC although the file has a MACMethod",
            ));
        }
        encrypted
            .decrypt(&crypto.key)
            .map_err(|e| fail(&e.reason("secret")))?
    } else {
        return Err(fail(
            "Data/Secret has neither PlainValue nor EncryptedValue",
        ));
    };
    if secret.is_empty() {
        return Err(fail("secret is empty"));
    }

    Ok(PskcKey {
        entry,
        key_id: key
            .attribute("Id")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        serial: serial.clone(),
        manufacturer: opt_text(device.and_then(|d| child(d, NS_PSKC, "Manufacturer"))),
        model: opt_text(device.and_then(|d| child(d, NS_PSKC, "Model"))),
        kind,
        hash,
        digits,
        counter,
        period,
        time_offset,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIG2: &str = include_str!("../testdata/pskc/rfc6030-figure2.xml");
    const FIG3: &str = include_str!("../testdata/pskc/rfc6030-figure3.xml");
    const FIG5: &str = include_str!("../testdata/pskc/rfc6030-figure5.xml");
    const FIG6: &str = include_str!("../testdata/pskc/rfc6030-figure6.xml");
    const FIG7: &str = include_str!("../testdata/pskc/rfc6030-figure7.xml");
    const FIG10: &str = include_str!("../testdata/pskc/rfc6030-figure10.xml");
    const AES256: &str = include_str!("../testdata/pskc/aes256-totp.xml");
    const BAD_B64: &str = include_str!("../testdata/pskc/bad-base64.xml");
    const BAD_MAC: &str = include_str!("../testdata/pskc/bad-mac.xml");
    const NO_MAC_METHOD: &str = include_str!("../testdata/pskc/no-mac-method.xml");
    const NOT_XML: &str = include_str!("../testdata/pskc/not-xml.xml");

    const FIG6_PSK: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90,
        0x12,
    ];
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn aes256_psk() -> Vec<u8> {
        (0x20u8..0x40).collect()
    }

    fn ok(xml: &str, keys: PskcKeyMaterial<'_>) -> Vec<PskcKey> {
        match parse(xml, keys) {
            Ok(k) => k,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn err(xml: &str, keys: PskcKeyMaterial<'_>) -> PskcError {
        match parse(xml, keys) {
            Ok(k) => panic!("unexpected success: {k:?}"),
            Err(e) => e,
        }
    }

    fn only(keys: Vec<PskcKey>) -> PskcKey {
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    /// A one-entry container around `key` (the inside of KeyPackage).
    fn doc(package: &str) -> String {
        format!(
            r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>{package}</KeyPackage></KeyContainer>"#
        )
    }

    fn hotp(serial: &str, params: &str, data: &str) -> String {
        doc(&format!(
            r#"<DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>
            <Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <AlgorithmParameters>{params}</AlgorithmParameters>
            <Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret>{data}</Data></Key>"#
        ))
    }

    #[test]
    fn figure3_plain() {
        let k = only(ok(FIG3, PskcKeyMaterial::None));
        assert_eq!(k.entry, 1);
        assert_eq!(k.serial, "987654321");
        assert_eq!(k.key_id.as_deref(), Some("12345678"));
        assert_eq!(k.manufacturer.as_deref(), Some("Manufacturer"));
        assert_eq!(k.model, None);
        assert_eq!(k.kind, PskcAlgorithm::Hotp);
        assert_eq!(k.hash, PskcHash::Sha1);
        assert_eq!(k.digits, 8);
        assert_eq!(k.counter, 0);
        assert_eq!(k.period, 30);
        assert_eq!(k.time_offset, 0);
        assert_eq!(k.secret.as_slice(), RFC_SECRET);
        // Key material is ignored for plain files.
        let k2 = only(ok(FIG3, PskcKeyMaterial::PreSharedKey(&FIG6_PSK)));
        assert_eq!(k2.secret.as_slice(), RFC_SECRET);
    }

    #[test]
    fn debug_redacts_secret() {
        let k = only(ok(FIG3, PskcKeyMaterial::None));
        let dbg = format!("{k:?}");
        assert!(dbg.contains("secret: \"<redacted>\""), "{dbg}");
        assert!(
            !dbg.contains("49, 50, 51") && !dbg.contains("12345678901234567890"),
            "{dbg}"
        );
        let m = format!("{:?}", PskcKeyMaterial::Password(b"qwerty"));
        assert!(!m.contains("qwerty") && !m.contains("113"), "{m}");
    }

    #[test]
    fn figure2_has_no_serial() {
        let e = err(FIG2, PskcKeyMaterial::None);
        assert!(
            matches!(
                e,
                PskcError::Entry {
                    entry: 1,
                    serial: None,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "entry 1: DeviceInfo/SerialNo is missing");
    }

    #[test]
    fn figure5_second_entry_refused() {
        let e = err(FIG5, PskcKeyMaterial::None);
        assert_eq!(e.entry(), Some(2));
        assert_eq!(
            e.to_string(),
            r#"entry 2 (serial "987654321"): serial number already used by entry 1"#
        );
        // Without the duplicate, the PIN key is refused for its algorithm.
        let fixed = FIG5
            .replacen("<SerialNo>987654321", "<SerialNo>987654322", 2)
            .replacen("<SerialNo>987654322", "<SerialNo>987654321", 1);
        let e = err(&fixed, PskcKeyMaterial::None);
        assert_eq!(
            e.to_string(),
            r#"entry 2 (serial "987654322"): unsupported algorithm "urn:ietf:params:xml:ns:keyprov:pskc:pin" (only HOTP and TOTP)"#
        );
    }

    #[test]
    fn figure10_duplicate_serial() {
        let e = err(FIG10, PskcKeyMaterial::None);
        match &e {
            PskcError::Entry {
                entry,
                serial,
                reason,
            } => {
                assert_eq!(*entry, 4);
                assert_eq!(serial.as_deref(), Some("9999999"));
                assert!(reason.contains("entry 3"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // Without the fourth package the bulk file imports.
        let start = FIG10.rfind("<KeyPackage>").unwrap_or_default();
        let end = FIG10.rfind("</KeyContainer>").unwrap_or_default();
        let three = format!("{}{}", &FIG10[..start], &FIG10[end..]);
        let keys = ok(&three, PskcKeyMaterial::None);
        let serials: Vec<&str> = keys.iter().map(|k| k.serial.as_str()).collect();
        assert_eq!(serials, ["654321", "123456", "9999999"]);
        assert!(
            keys.iter()
                .all(|k| k.secret.as_slice() == RFC_SECRET && k.digits == 8)
        );
        assert_eq!(keys.iter().map(|k| k.entry).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn figure6_pre_shared_key() {
        let k = only(ok(FIG6, PskcKeyMaterial::PreSharedKey(&FIG6_PSK)));
        assert_eq!(
            hex::encode(k.secret.as_slice()),
            "3132333435363738393031323334353637383930"
        );
        assert_eq!(k.serial, "987654321");
        assert_eq!((k.digits, k.counter, k.kind), (8, 0, PskcAlgorithm::Hotp));
    }

    #[test]
    fn figure6_wrong_key_is_a_mac_error() {
        for wrong in [[0u8; 16], [0x11; 16], {
            let mut k = FIG6_PSK;
            k[15] ^= 1;
            k
        }] {
            let e = err(FIG6, PskcKeyMaterial::PreSharedKey(&wrong));
            assert!(
                matches!(&e, PskcError::Mac { entry: 1, serial: Some(s) } if s == "987654321"),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                r#"MAC check failed for entry 1 (serial "987654321"): wrong pre-shared key or damaged file"#
            );
        }
        let e = err(FIG6, PskcKeyMaterial::PreSharedKey(&[1u8; 32]));
        assert!(matches!(e, PskcError::Container(_)), "{e:?}");
        let e = err(FIG6, PskcKeyMaterial::PreSharedKey(b"short"));
        assert!(matches!(e, PskcError::Container(_)), "{e:?}");
    }

    #[test]
    fn encrypted_without_key_material() {
        for f in [FIG6, FIG7, AES256] {
            let e = err(f, PskcKeyMaterial::None);
            assert!(matches!(e, PskcError::KeyMaterialMissing), "{e:?}");
            assert_eq!(
                e.to_string(),
                "the file holds encrypted keys but no pre-shared key/password was given"
            );
        }
        let e = err(FIG6, PskcKeyMaterial::Password(b"qwerty"));
        assert!(
            e.to_string().contains("pre-shared key, not a password"),
            "{e}"
        );
        let e = err(FIG7, PskcKeyMaterial::PreSharedKey(&FIG6_PSK));
        assert!(e.to_string().contains("password (PBKDF2)"), "{e}");
    }

    #[test]
    fn figure7_password() {
        let k = only(ok(FIG7, PskcKeyMaterial::Password(b"qwerty")));
        assert_eq!(k.secret.as_slice(), RFC_SECRET);
        assert_eq!(k.serial, "987654321");
        assert_eq!(k.key_id.as_deref(), Some("123456"));
        assert_eq!(k.manufacturer.as_deref(), Some("TokenVendorAcme"));
        assert_eq!((k.digits, k.counter), (8, 0));
        let e = err(FIG7, PskcKeyMaterial::Password(b"qwertz"));
        assert!(matches!(e, PskcError::Mac { entry: 1, .. }), "{e:?}");
    }

    #[test]
    fn aes256_totp_and_sha256_mac() {
        let psk = aes256_psk();
        let keys = ok(AES256, PskcKeyMaterial::PreSharedKey(&psk));
        assert_eq!(keys.len(), 2);
        let (a, b) = (&keys[0], &keys[1]);
        assert_eq!(
            (a.serial.as_str(), a.kind, a.hash),
            ("TT0001", PskcAlgorithm::Totp, PskcHash::Sha256)
        );
        assert_eq!((a.digits, a.period, a.time_offset), (8, 60, 0));
        assert_eq!(a.secret.as_slice(), b"12345678901234567890123456789012");
        assert_eq!(a.model.as_deref(), Some("TOTP-256"));
        assert_eq!(a.key_id.as_deref(), Some("TT0001-1"));
        assert_eq!(
            (b.serial.as_str(), b.kind, b.hash),
            ("TT0002", PskcAlgorithm::Totp, PskcHash::Sha1)
        );
        assert_eq!((b.digits, b.period, b.entry), (6, 30, 2));
        assert_eq!(b.secret.as_slice(), RFC_SECRET);
        // A 16-byte key cannot be used for aes256-cbc.
        let e = err(AES256, PskcKeyMaterial::PreSharedKey(&FIG6_PSK));
        assert!(
            e.to_string().contains("aes256-cbc needs a 32-byte key"),
            "{e}"
        );
        let mut wrong = psk.clone();
        wrong[0] ^= 0x80;
        let e = err(AES256, PskcKeyMaterial::PreSharedKey(&wrong));
        assert!(matches!(e, PskcError::Mac { entry: 1, .. }), "{e:?}");
    }

    #[test]
    fn bad_base64_names_entry_2() {
        let e = err(BAD_B64, PskcKeyMaterial::None);
        assert_eq!(e.entry(), Some(2));
        assert_eq!(
            e.to_string(),
            r#"entry 2 (serial "ABC122"): secret is not valid base64"#
        );
    }

    #[test]
    fn bad_mac_names_entry_2() {
        let e = err(BAD_MAC, PskcKeyMaterial::PreSharedKey(&FIG6_PSK));
        assert!(
            matches!(&e, PskcError::Mac { entry: 2, serial: Some(s) } if s == "BM-0002"),
            "{e:?}"
        );
    }

    #[test]
    fn value_mac_without_mac_method() {
        let e = err(NO_MAC_METHOD, PskcKeyMaterial::PreSharedKey(&FIG6_PSK));
        assert_eq!(
            e.to_string(),
            r#"entry 1 (serial "NM-0001"): secret has a ValueMAC but the file has no MACMethod"#
        );
    }

    #[test]
    fn not_xml() {
        let e = err(NOT_XML, PskcKeyMaterial::None);
        match &e {
            PskcError::Xml { line, .. } => assert_eq!(*line, 17, "{e}"),
            other => panic!("{other:?}"),
        }
        let s = e.to_string();
        assert!(
            s.starts_with("not well-formed XML at line 17 column "),
            "{s}"
        );
        assert!(!s.contains('\n'));
        let e = err("serial,secret\n1,abc\n", PskcKeyMaterial::None);
        assert!(matches!(e, PskcError::Xml { line: 1, .. }), "{e:?}");
        let e = err("", PskcKeyMaterial::None);
        assert!(matches!(e, PskcError::Xml { .. }), "{e:?}");
    }

    #[test]
    fn document_level_errors() {
        let e = err(r#"<KeyContainer Version="1.0"/>"#, PskcKeyMaterial::None);
        assert_eq!(
            e.to_string(),
            "root element is not KeyContainer in the PSKC namespace"
        );
        let e = err(
            r#"<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc:1.0"><KeyPackage/></KeyContainer>"#,
            PskcKeyMaterial::None,
        );
        assert!(matches!(e, PskcError::NotPskc), "{e:?}");
        let e = err(
            r#"<p:KeyContainer xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0"/>"#,
            PskcKeyMaterial::None,
        );
        assert_eq!(e.to_string(), "no KeyPackage in the file");
        let e = err(
            &FIG3.replace(r#"Version="1.0""#, r#"Version="2.0""#),
            PskcKeyMaterial::None,
        );
        assert!(matches!(e, PskcError::Container(_)), "{e:?}");
        // DTDs (entity expansion) are refused by the XML parser.
        let e = err(
            "<!DOCTYPE x [<!ENTITY a \"b\">]><KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"/>",
            PskcKeyMaterial::None,
        );
        assert!(matches!(e, PskcError::Xml { .. }), "{e:?}");
    }

    #[test]
    fn entry_level_checks() {
        let cases = [
            (
                hotp("S1", r#"<ResponseFormat Length="5"/>"#, ""),
                r#"ResponseFormat/@Length "5" is not 6, 7 or 8"#,
            ),
            (
                hotp("S1", r#"<ResponseFormat Length="9"/>"#, ""),
                "is not 6, 7 or 8",
            ),
            (
                hotp("S1", r#"<ResponseFormat Length="x"/>"#, ""),
                "is not 6, 7 or 8",
            ),
            (
                hotp(
                    "S1",
                    r#"<ResponseFormat Length="6" Encoding="HEXADECIMAL"/>"#,
                    "",
                ),
                "only DECIMAL",
            ),
            (
                hotp("S1", "<Suite>HMAC-MD5</Suite>", ""),
                r#"unsupported Suite "HMAC-MD5""#,
            ),
            (
                hotp("S1", "", "<Counter><PlainValue>-1</PlainValue></Counter>"),
                "Data/Counter",
            ),
            (
                hotp(
                    "S1",
                    "",
                    "<TimeInterval><PlainValue>0</PlainValue></TimeInterval>",
                ),
                "Data/TimeInterval",
            ),
            (
                hotp("S1", "", "<Time><PlainValue>soon</PlainValue></Time>"),
                "Data/Time",
            ),
            (
                hotp("S1", "", "<Counter/>"),
                "Data/Counter has no PlainValue",
            ),
            (hotp("S\n1", "", ""), "control characters"),
            (
                doc("<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo>"),
                "Key element is missing",
            ),
            (
                doc(
                    r#"<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"/>"#,
                ),
                "Data/Secret is missing",
            ),
            (
                doc(
                    r#"<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue></PlainValue></Secret></Data></Key>"#,
                ),
                "secret is empty",
            ),
            (
                doc(
                    r#"<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:ocra"><Data/></Key>"#,
                ),
                r#"unsupported algorithm "urn:ietf:params:xml:ns:keyprov:pskc:ocra""#,
            ),
            (
                doc(r#"<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo><Key><Data/></Key>"#),
                r#"unsupported algorithm """#,
            ),
        ];
        for (xml, needle) in cases {
            let e = err(&xml, PskcKeyMaterial::None);
            assert_eq!(e.entry(), Some(1), "{e:?}");
            let s = e.to_string();
            assert!(s.starts_with("entry 1 (serial "), "{s}");
            assert!(s.contains(needle), "{s} does not contain {needle}");
            assert!(!s.contains('\n') && !s.contains('\u{7}'), "{s}");
        }
        // Defaults and case-insensitive suites.
        let k = only(ok(
            &hotp("S1", "<Suite>hmac-sha512</Suite>", ""),
            PskcKeyMaterial::None,
        ));
        assert_eq!(
            (k.hash, k.digits, k.counter, k.period),
            (PskcHash::Sha512, 6, 0, 30)
        );
        let k = only(ok(
            &hotp(
                "S1",
                r#"<Suite>SHA256</Suite><ResponseFormat Length="7"/>"#,
                "<Counter><PlainValue>42</PlainValue></Counter><Time><PlainValue>-5</PlainValue></Time>",
            ),
            PskcKeyMaterial::None,
        ));
        assert_eq!(
            (k.hash, k.digits, k.counter, k.time_offset),
            (PskcHash::Sha256, 7, 42, -5)
        );
    }

    #[test]
    fn long_values_are_bounded_in_messages() {
        let long = "X".repeat(10_000);
        let e = err(
            &hotp(&long, "<Suite>HMAC-MD5</Suite>", ""),
            PskcKeyMaterial::None,
        );
        assert!(e.to_string().len() < 300, "{}", e.to_string().len());
    }

    /// Truncations and random byte changes of every test file never panic.
    #[test]
    fn truncated_and_mutated_files_never_panic() {
        let psk = aes256_psk();
        let files = [
            FIG2,
            FIG3,
            FIG5,
            FIG6,
            FIG7,
            FIG10,
            AES256,
            BAD_B64,
            BAD_MAC,
            NO_MAC_METHOD,
            NOT_XML,
        ];
        let materials = [
            PskcKeyMaterial::None,
            PskcKeyMaterial::PreSharedKey(&FIG6_PSK),
            PskcKeyMaterial::PreSharedKey(&psk),
            PskcKeyMaterial::Password(b"qwerty"),
        ];
        for f in files {
            for cut in (0..=f.len()).filter(|i| f.is_char_boundary(*i)) {
                for m in materials {
                    let _ = parse(&f[..cut], m);
                }
            }
        }
        // xorshift64*: deterministic, no extra crates.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        const ALPHABET: &[u8] = b"<>/=\"' \n0123456789+AaZz#:-&;!?xX\xc3\xa9";
        for round in 0..3000 {
            let f = files[round % files.len()];
            let mut bytes = f.as_bytes().to_vec();
            for _ in 0..(1 + next() % 4) {
                let pos = (next() % bytes.len() as u64) as usize;
                let b = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
                if let Some(slot) = bytes.get_mut(pos) {
                    *slot = b;
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text, materials[round % materials.len()]);
        }
        for _ in 0..500 {
            let len = (next() % 256) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes), PskcKeyMaterial::None);
        }
    }
}
