//! Signing keys and their rotation.
//!
//! A key's life: generated and published in the JWKS at `publish_at`; signs from `sign_from`
//! (at least `key_publish_ahead` seconds later, except the very first key); stops signing at
//! `retire_at` (its successor's `sign_from`); stays in the JWKS until every ID token it signed
//! has expired (`retire_at` + the longest ID token lifetime + a minute of clock skew).
//! Keys are persisted by the caller through [`KeyStore`]; the gateway seals them at rest.

use crate::clients::SigningAlg;
use crate::error::{OidcError, Result};
use crate::settings::Settings;
use crate::{UnixTime, later, random_token};
use async_trait::async_trait;
use openidconnect::core::{
    CoreEdDsaPrivateSigningKey, CoreJsonWebKey, CoreJsonWebKeySet, CoreRsaPrivateSigningKey,
};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Relying parties' clocks may be this far off.
const SKEW: u64 = 60;

/// A signing key as persisted.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct StoredKey {
    #[zeroize(skip)]
    pub kid: String,
    #[zeroize(skip)]
    pub alg: SigningAlg,
    /// EdDSA: PKCS#8 (PEM or DER); RS256: PKCS#1 or PKCS#8 PEM. Secret: zeroized on drop and
    /// never shown by `Debug`.
    pub private_pkcs8_or_pem: Vec<u8>,
    #[zeroize(skip)]
    pub publish_at: UnixTime,
    #[zeroize(skip)]
    pub sign_from: UnixTime,
    #[zeroize(skip)]
    pub retire_at: Option<UnixTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pkcs8_or_pem", &"<redacted>")
            .field("publish_at", &self.publish_at)
            .field("sign_from", &self.sign_from)
            .field("retire_at", &self.retire_at)
            .finish()
    }
}

/// Where keys are persisted (the gateway seals them in its database).
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Every stored key.
    async fn load(&self) -> Result<Vec<StoredKey>>;
    /// Inserts or replaces the key with this `kid`.
    async fn save(&self, key: &StoredKey) -> Result<()>;
    /// Forgets a key no token can refer to any more (default: keep it).
    async fn delete(&self, _kid: &str) -> Result<()> {
        Ok(())
    }
}

/// Keys kept in memory only (tests, demos): a restart makes every issued ID token unverifiable.
#[derive(Debug, Default)]
pub struct MemoryKeyStore(Mutex<Vec<StoredKey>>);

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn load(&self) -> Result<Vec<StoredKey>> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
    async fn save(&self, key: &StoredKey) -> Result<()> {
        let mut keys = self.0.lock().unwrap_or_else(|e| e.into_inner());
        keys.retain(|k| k.kid != key.kid);
        keys.push(key.clone());
        Ok(())
    }
    async fn delete(&self, kid: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k| k.kid != kid);
        Ok(())
    }
}

pub(crate) enum Signer {
    Ed(CoreEdDsaPrivateSigningKey),
    Rsa(CoreRsaPrivateSigningKey),
}

/// A loaded key: what signs, and its public JWK.
pub struct SigningKey {
    meta: StoredKey,
    pub(crate) signer: Signer,
    jwk: CoreJsonWebKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.meta.fmt(f)
    }
}

impl SigningKey {
    fn load(stored: &StoredKey) -> Result<Self> {
        let kid = Some(JsonWebKeyId::new(stored.kid.clone()));
        let bad = |e: String| OidcError::Key(format!("key {}: {e}", stored.kid));
        let signer = match stored.alg {
            SigningAlg::EdDsa => {
                let pem = ed25519_pem(&stored.private_pkcs8_or_pem).map_err(bad)?;
                Signer::Ed(CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, kid).map_err(bad)?)
            }
            SigningAlg::Rs256 => {
                let pem = rsa_pkcs1_pem(&stored.private_pkcs8_or_pem).map_err(bad)?;
                Signer::Rsa(CoreRsaPrivateSigningKey::from_pem(&pem, kid).map_err(bad)?)
            }
        };
        let jwk = match &signer {
            Signer::Ed(k) => k.as_verification_key(),
            Signer::Rsa(k) => k.as_verification_key(),
        };
        Ok(Self {
            meta: stored.clone(),
            signer,
            jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.meta.kid
    }
    pub fn alg(&self) -> SigningAlg {
        self.meta.alg
    }
    /// The public key, as published.
    pub fn public_jwk(&self) -> &CoreJsonWebKey {
        &self.jwk
    }
}

fn ed25519_pem(bytes: &[u8]) -> std::result::Result<Zeroizing<String>, String> {
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    if bytes.starts_with(b"-----BEGIN") {
        let s = std::str::from_utf8(bytes).map_err(|_| "PEM is not UTF-8".to_owned())?;
        return Ok(Zeroizing::new(s.to_owned()));
    }
    let key = ed25519_dalek::SigningKey::from_pkcs8_der(bytes).map_err(|e| e.to_string())?;
    key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())
}

fn rsa_pkcs1_pem(bytes: &[u8]) -> std::result::Result<Zeroizing<String>, String> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{DecodePrivateKey, LineEnding};
    let s = std::str::from_utf8(bytes).map_err(|_| "PEM is not UTF-8".to_owned())?;
    if s.starts_with("-----BEGIN PRIVATE KEY-----") {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(s).map_err(|e| e.to_string())?;
        return key.to_pkcs1_pem(LineEnding::LF).map_err(|e| e.to_string());
    }
    Ok(Zeroizing::new(s.to_owned()))
}

/// The provider's keys.
pub struct KeySet {
    keys: Vec<SigningKey>,
    /// The longest ID token lifetime of any client, in seconds.
    max_token_lifetime: u64,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}

impl KeySet {
    /// Loads stored keys. `max_token_lifetime`: the longest ID token lifetime of any client.
    pub fn new(stored: Vec<StoredKey>, max_token_lifetime: u64) -> Result<Self> {
        let mut set = Self {
            keys: Vec::new(),
            max_token_lifetime,
        };
        set.merge(stored)?;
        Ok(set)
    }

    /// Adds keys not known yet and takes over the `retire_at` of known ones (another instance
    /// may have rotated).
    pub fn merge(&mut self, stored: Vec<StoredKey>) -> Result<()> {
        for s in stored {
            match self.keys.iter_mut().find(|k| k.meta.kid == s.kid) {
                Some(k) => k.meta.retire_at = s.retire_at.or(k.meta.retire_at),
                None => self.keys.push(SigningKey::load(&s)?),
            }
        }
        Ok(())
    }

    /// Generates a key (kid: 16 random base64url characters).
    pub fn generate(
        alg: SigningAlg,
        publish_at: UnixTime,
        sign_from: UnixTime,
    ) -> Result<StoredKey> {
        let der_or_pem = match alg {
            SigningAlg::EdDsa => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut()).map_err(|e| OidcError::Random(e.to_string()))?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| OidcError::Key(e.to_string()))?;
                pem.as_bytes().to_vec()
            }
            SigningAlg::Rs256 => {
                use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
                let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                    .map_err(|e| OidcError::Key(e.to_string()))?;
                let pem = key
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(|e| OidcError::Key(e.to_string()))?;
                pem.as_bytes().to_vec()
            }
        };
        Ok(StoredKey {
            kid: random_token(12)?,
            alg,
            private_pkcs8_or_pem: der_or_pem,
            publish_at,
            sign_from,
            retire_at: None,
        })
    }

    /// When `key` stops signing: its `retire_at`, or the start of a later key of its algorithm.
    fn retire_at(&self, key: &SigningKey) -> Option<UnixTime> {
        let successor = self
            .keys
            .iter()
            .filter(|k| k.meta.alg == key.meta.alg && k.meta.sign_from > key.meta.sign_from)
            .map(|k| k.meta.sign_from)
            .min();
        match (key.meta.retire_at, successor) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// No token signed by `key` can still be valid.
    fn dead(&self, key: &SigningKey, now: UnixTime) -> bool {
        self.retire_at(key)
            .is_some_and(|r| now >= later(r, self.max_token_lifetime + SKEW))
    }

    /// The keys relying parties must know at `now`.
    pub fn published(&self, now: UnixTime) -> impl Iterator<Item = &SigningKey> {
        self.keys
            .iter()
            .filter(move |k| k.meta.publish_at <= now && !self.dead(k, now))
    }

    /// The JWKS at `now`.
    pub fn jwks(&self, now: UnixTime) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(self.published(now).map(|k| k.jwk.clone()).collect())
    }

    /// The key that signs `alg` tokens at `now`: the latest that has started and not retired.
    pub fn signing_key(&self, alg: SigningAlg, now: UnixTime) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.meta.alg == alg && k.meta.publish_at <= now && k.meta.sign_from <= now)
            .filter(|k| k.meta.retire_at.is_none_or(|r| now < r))
            .max_by(|a, b| (a.meta.sign_from, &a.meta.kid).cmp(&(b.meta.sign_from, &b.meta.kid)))
    }

    /// A first key for `alg` when there is none that signs (it signs at once: nobody can have
    /// cached a JWKS without it). Returns the key to persist.
    pub fn ensure(&mut self, alg: SigningAlg, now: UnixTime) -> Result<Option<StoredKey>> {
        if self.signing_key(alg, now).is_some() {
            return Ok(None);
        }
        let key = Self::generate(alg, now, now)?;
        self.keys.push(SigningKey::load(&key)?);
        Ok(Some(key))
    }

    /// Rotation, when due, for every algorithm that has keys: a successor is published
    /// `key_publish_ahead` seconds before it takes over, and the current key gets its
    /// `retire_at`. Returns the keys to persist (new and changed).
    pub fn rotate(&mut self, now: UnixTime, settings: &Settings) -> Result<Vec<StoredKey>> {
        let period = settings.key_rotation_days.saturating_mul(86_400);
        let ahead = settings.key_publish_ahead;
        let mut algs: Vec<SigningAlg> = self.keys.iter().map(|k| k.meta.alg).collect();
        algs.sort_by_key(|a| a.as_str());
        algs.dedup();
        let mut changed = Vec::new();
        for alg in algs {
            if let Some(first) = self.ensure(alg, now)? {
                changed.push(first);
                continue;
            }
            if period == 0
                || self
                    .keys
                    .iter()
                    .any(|k| k.meta.alg == alg && k.meta.sign_from > now)
            {
                continue;
            }
            let Some(current) = self.signing_key(alg, now) else {
                continue;
            };
            let current_kid = current.meta.kid.clone();
            let due = later(current.meta.sign_from, period.saturating_sub(ahead));
            if now < due {
                continue;
            }
            let sign_from = later(current.meta.sign_from, period).max(later(now, ahead));
            let next = Self::generate(alg, now, sign_from)?;
            self.keys.push(SigningKey::load(&next)?);
            changed.push(next);
            if let Some(current) = self.keys.iter_mut().find(|k| k.meta.kid == current_kid) {
                current.meta.retire_at = Some(sign_from);
                changed.push(current.meta.clone());
            }
        }
        Ok(changed)
    }

    /// Forgets keys no valid token can refer to; returns their kids (to delete from the store).
    pub fn prune(&mut self, now: UnixTime) -> Vec<String> {
        let dead: Vec<String> = self
            .keys
            .iter()
            .filter(|k| self.dead(k, now))
            .map(|k| k.meta.kid.clone())
            .collect();
        self.keys.retain(|k| !dead.contains(&k.meta.kid));
        dead
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
