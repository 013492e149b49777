//! Secrets at rest: OTP seeds are sealed with XChaCha20-Poly1305 under the operator's key.
//!
//! Sealed format: `0x01 || nonce (24 bytes) || ciphertext+tag`. The associated data binds a
//! ciphertext to the row it belongs to (a device's random uid), so a sealed seed copied onto
//! another row does not open.

use crate::secret::{SecretBytes, random_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::Path;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no encryption key: {file} does not exist and ${env} is not set; run `mfa-gateway init` to make one (or put 32 random bytes, base64, in either)"
    )]
    Missing { file: String, env: String },
    #[error("cannot read key file {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("encryption key from {origin} is not 32 bytes of base64")]
    Malformed { origin: String },
    #[error("cannot write key file {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },
    #[error("the system random number generator failed")]
    Random,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealed secret is damaged or was sealed under another key")]
    Open,
    #[error("the system random number generator failed")]
    Random,
}

/// The operator's 256-bit key for secrets at rest.
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// HMAC-SHA256(key, "mfa-gateway pseudonym key v1"): keys the audit pseudonyms.
    pseudonym_key: zeroize::Zeroizing<[u8; 32]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        use hmac::Mac as _;
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).ok()?;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(bytes).ok()?;
        mac.update(b"mfa-gateway pseudonym key v1");
        let pseudonym_key = zeroize::Zeroizing::new(mac.finalize().into_bytes().into());
        Some(Self {
            cipher,
            pseudonym_key,
        })
    }

    /// A 256-bit key for `purpose`, derived from the master key (HMAC-SHA256 under the
    /// derivation key, domain-separated from the pseudonyms): stable across restarts and
    /// instances, never stored.
    pub fn derive(&self, purpose: &str) -> zeroize::Zeroizing<[u8; 32]> {
        use hmac::Mac as _;
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        if let Ok(mut mac) =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(self.pseudonym_key.as_slice())
        {
            mac.update(b"derive\0");
            mac.update(purpose.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// A short public name of this key (16 hex digits, derived one way): tells keys apart
    /// in logs and audit events (`key rotate`) without revealing anything of them.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.derive("key fingerprint v1")[..8])
    }

    /// A keyed pseudonym for `text` (a username, an address): the same text always gives
    /// the same pseudonym under one key, and without the key it cannot be reversed or
    /// recomputed from a guess.
    pub fn pseudonym(&self, text: &str) -> String {
        use hmac::Mac as _;
        let Ok(mut mac) =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(self.pseudonym_key.as_slice())
        else {
            return "pseudonym".to_owned();
        };
        mac.update(text.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("pseudonym-{}", hex::encode(&digest[..10]))
    }

    fn from_base64(text: &str, origin: &str) -> Result<Self, KeyError> {
        let bytes =
            zeroize::Zeroizing::new(B64.decode(text.trim()).map_err(|_| KeyError::Malformed {
                origin: origin.to_owned(),
            })?);
        Self::from_bytes(&bytes).ok_or_else(|| KeyError::Malformed {
            origin: origin.to_owned(),
        })
    }

    /// The key from the environment variable `env` if set, else from `file`.
    pub fn load(file: &Path, env: &str) -> Result<Self, KeyError> {
        if !env.is_empty()
            && let Ok(value) = std::env::var(env)
        {
            return Self::from_base64(&value, &format!("${env}"));
        }
        let name = file.display().to_string();
        match std::fs::read_to_string(file) {
            Ok(text) => Self::from_base64(&text, &name),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KeyError::Missing {
                file: name,
                env: env.to_owned(),
            }),
            Err(source) => Err(KeyError::Read { file: name, source }),
        }
    }

    /// Make a new random key and write it (base64) to `file`, readable by the owner only.
    /// Refuses to overwrite an existing file.
    pub fn generate_file(file: &Path) -> Result<Self, KeyError> {
        let bytes = zeroize::Zeroizing::new(random_bytes(32).map_err(|_| KeyError::Random)?);
        let text = zeroize::Zeroizing::new(B64.encode(&*bytes) + "\n");
        write_private(file, text.as_bytes()).map_err(|source| KeyError::Write {
            file: file.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes).ok_or(KeyError::Random)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce_bytes = random_bytes(NONCE_LEN).map_err(|_| SealError::Random)?;
        let nonce = XNonce::from_slice(&nonce_bytes);
        let ct = self
            .cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<SecretBytes, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Open)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(SecretBytes::new)
            .map_err(|_| SealError::Open)
    }
}

/// Write a file that only its owner may read (0600 on Unix); never overwrite.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes(&[7u8; 32]).expect("32 bytes")
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = key();
        let sealed = k.seal(b"12345678901234567890", b"device:a").expect("seal");
        assert_ne!(&sealed[25..], b"12345678901234567890");
        assert_eq!(
            k.open(&sealed, b"device:a").expect("open").expose(),
            b"12345678901234567890"
        );
        assert!(k.open(&sealed, b"device:b").is_err(), "bound to its row");
        let other = MasterKey::from_bytes(&[8u8; 32]).expect("32 bytes");
        assert!(other.open(&sealed, b"device:a").is_err(), "other key");
        let mut damaged = sealed.clone();
        damaged[30] ^= 1;
        assert!(k.open(&damaged, b"device:a").is_err());
        assert!(k.open(&[], b"").is_err());
        assert!(k.open(&[1, 2, 3], b"").is_err());
    }

    #[test]
    fn key_file_generate_load_and_refuse_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        let k1 = MasterKey::generate_file(&path).expect("generate");
        let k2 = MasterKey::load(&path, "").expect("load");
        let sealed = k1.seal(b"x", b"").expect("seal");
        assert_eq!(k2.open(&sealed, b"").expect("open").expose(), b"x");
        assert!(MasterKey::generate_file(&path).is_err(), "no overwrite");
        let missing = MasterKey::load(&dir.path().join("nope"), "MFA_TEST_UNSET_KEY_VAR")
            .expect_err("missing");
        assert!(missing.to_string().contains("mfa-gateway init"));
        std::fs::write(dir.path().join("bad"), "not base64!").expect("write");
        assert!(matches!(
            MasterKey::load(&dir.path().join("bad"), ""),
            Err(KeyError::Malformed { .. })
        ));
    }
}
