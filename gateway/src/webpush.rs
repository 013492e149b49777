//! Web Push for out-of-band approval: message encryption (RFC 8291 with the RFC 8188
//! `aes128gcm` content coding), VAPID (RFC 8292) and the POST to the push service (RFC 8030).
//!
//! The crypto is plain functions over bytes; only [`WebPush::send`] does I/O. Time is a
//! parameter (`now`), so the VAPID token's expiry is testable without the clock.
//!
//! What the gateway keeps: the VAPID private key ([`VapidKey::to_private_bytes`], 32 bytes,
//! to be sealed at rest) and per person the browser's [`Subscription`] (endpoint, p256dh,
//! auth). The `auth` secret is shared only with the person's browser: keep it out of logs
//! (its `Debug` is redacted here).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::{PublicKey, SecretKey};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2_011::Sha256;
use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// Length of an uncompressed P-256 point (0x04 || x || y).
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of the subscription's authentication secret (RFC 8291 section 3.2).
pub const AUTH_SECRET_LEN: usize = 16;
/// The record size written in the header (the RFC 8291 example's value).
pub const RECORD_SIZE: u32 = 4096;
/// The largest plaintext that fits the 4096-byte push message body RFC 8291 section 4 lets
/// push services limit to: 4096 - 86 (header) - 16 (tag) - 1 (padding delimiter).
pub const MAX_PLAINTEXT: usize = 3993;
/// The longest VAPID token lifetime RFC 8292 section 2 allows.
pub const MAX_VAPID_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The longest endpoint URL accepted (real ones are a few hundred bytes).
pub const MAX_ENDPOINT_LEN: usize = 2048;

const SALT_LEN: usize = 16;
const HEADER_LEN: usize = SALT_LEN + 4 + 1 + PUBLIC_KEY_LEN;
const TAG_LEN: usize = 16;

/// Everything that can go wrong in this module. The texts are safe to show an operator;
/// none of them carries key material.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the push endpoint is not a valid URL")]
    BadEndpoint,
    #[error("the push endpoint is longer than {MAX_ENDPOINT_LEN} characters")]
    EndpointTooLong,
    #[error("the push endpoint must be an https:// URL (http:// only for 127.0.0.1 or localhost)")]
    InsecureEndpoint,
    #[error("the push endpoint must not carry a user name or password")]
    EndpointCredentials,
    #[error("the subscription's {0} is not base64url")]
    NotBase64(&'static str),
    #[error("the subscription's p256dh must be an uncompressed P-256 public key (65 bytes)")]
    BadP256dh,
    #[error("the subscription's auth secret must be 16 bytes")]
    BadAuth,
    #[error("the subscription JSON is not a PushSubscription (endpoint, keys.p256dh, keys.auth)")]
    BadSubscriptionJson,
    #[error("the VAPID private key must be a valid P-256 private key (32 bytes)")]
    BadPrivateKey,
    #[error("the VAPID contact must be a mailto: or https: URL")]
    BadContact,
    #[error("the VAPID token lifetime must be between 1 second and 24 hours")]
    BadLifetime,
    #[error("the push message is {0} bytes, more than the {MAX_PLAINTEXT} bytes a push can carry")]
    PayloadTooLarge(usize),
    #[error("the push message is not a valid aes128gcm message: {0}")]
    Malformed(&'static str),
    #[error("the push message cannot be decrypted with these keys")]
    Decrypt,
    #[error("the system random generator failed")]
    Random,
    /// Cannot happen with the fixed key and nonce lengths used here; an error, not a panic.
    #[error("push encryption failed: {0}")]
    Crypto(&'static str),
    #[error("the HTTP client cannot be set up: {0}")]
    Client(String),
    #[error("the push service cannot be reached: {0}")]
    Transport(String),
}

/// The application server's P-256 key pair (VAPID, RFC 8292). `Debug` shows only the
/// public key.
#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
}

impl VapidKey {
    /// A new random key.
    pub fn generate() -> Result<Self, PushError> {
        let secret = random_secret_key()?;
        Ok(Self {
            signing: SigningKey::from(&secret),
        })
    }

    /// The key from its raw private scalar (32 bytes, big-endian), as
    /// [`to_private_bytes`](Self::to_private_bytes) gives it.
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self, PushError> {
        if bytes.len() != 32 {
            return Err(PushError::BadPrivateKey);
        }
        let signing = SigningKey::from_slice(bytes).map_err(|_| PushError::BadPrivateKey)?;
        Ok(Self { signing })
    }

    /// The raw private scalar (32 bytes). Seal it before it is stored.
    pub fn to_private_bytes(&self) -> SecretBytes {
        let bytes = Zeroizing::new(self.signing.to_bytes());
        SecretBytes::new(bytes.to_vec())
    }

    /// The public key as an uncompressed point (65 bytes, 0x04 || x || y).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        uncompressed(&PublicKey::from(self.signing.verifying_key()))
    }

    /// The public key, base64url without padding: the browser's `applicationServerKey` and
    /// the `k=` of the Authorization header.
    pub fn public_key_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key_bytes())
    }

    /// The VAPID token (an ES256 JWT) for pushes to `endpoint`: `aud` is the endpoint's
    /// origin, `exp` is `now + lifetime` (at most 24 h), `sub` is the operator's contact
    /// (`mailto:` or `https:`).
    pub fn jwt(
        &self,
        endpoint: &Url,
        contact: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<String, PushError> {
        check_contact(contact)?;
        if lifetime < Duration::from_secs(1) || lifetime > MAX_VAPID_LIFETIME {
            return Err(PushError::BadLifetime);
        }
        let exp = unix_seconds(now).saturating_add(lifetime.as_secs());
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": exp,
            "sub": contact,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }

    /// The `Authorization` header value: `vapid t=<jwt>, k=<public key>` (RFC 8292 section 3).
    pub fn authorization(
        &self,
        endpoint: &Url,
        contact: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<String, PushError> {
        let jwt = self.jwt(endpoint, contact, now, lifetime)?;
        Ok(format!("vapid t={jwt}, k={}", self.public_key_b64url()))
    }
}

impl fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_key_b64url())
            .finish_non_exhaustive()
    }
}

/// A browser's push subscription, validated: what `PushSubscription.toJSON()` gives
/// (`endpoint`, `keys.p256dh`, `keys.auth`, the keys base64url).
#[derive(Clone)]
pub struct Subscription {
    endpoint: Url,
    p256dh: PublicKey,
    auth: [u8; AUTH_SECRET_LEN],
}

/// The JSON of `PushSubscription.toJSON()`; `expirationTime` and unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct BrowserSubscription {
    endpoint: String,
    keys: BrowserKeys,
}

#[derive(Debug, Deserialize)]
struct BrowserKeys {
    p256dh: String,
    auth: String,
}

/// The subscription's three stored values, base64url as the browser gave them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionParts {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl fmt::Debug for SubscriptionParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionParts")
            .field("endpoint", &self.endpoint)
            .field("p256dh", &self.p256dh)
            .field("auth", &"<redacted>")
            .finish()
    }
}

impl Subscription {
    /// Validates the three values: the endpoint is an https:// URL (or http:// on 127.0.0.1
    /// or localhost, for tests), `p256dh` an uncompressed P-256 point on the curve, `auth`
    /// 16 bytes; the keys are base64url (padding tolerated).
    pub fn new(endpoint: &str, p256dh: &str, auth: &str) -> Result<Self, PushError> {
        let endpoint = check_endpoint(endpoint)?;
        let p256dh_bytes = b64url("p256dh", p256dh)?;
        let p256dh = parse_public_key(&p256dh_bytes).ok_or(PushError::BadP256dh)?;
        let auth_bytes = b64url("auth secret", auth)?;
        let auth: [u8; AUTH_SECRET_LEN] = auth_bytes
            .as_slice()
            .try_into()
            .map_err(|_| PushError::BadAuth)?;
        Ok(Self {
            endpoint,
            p256dh,
            auth,
        })
    }

    /// Parses and validates the JSON the browser's `PushSubscription.toJSON()` gives:
    /// `{"endpoint": "...", "expirationTime": null, "keys": {"p256dh": "...", "auth": "..."}}`.
    pub fn from_browser_json(json: &str) -> Result<Self, PushError> {
        let raw: BrowserSubscription =
            serde_json::from_str(json).map_err(|_| PushError::BadSubscriptionJson)?;
        Self::new(&raw.endpoint, &raw.keys.p256dh, &raw.keys.auth)
    }

    /// The push service URL.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The values to store (and to give back to [`Subscription::new`]).
    pub fn parts(&self) -> SubscriptionParts {
        SubscriptionParts {
            endpoint: self.endpoint.as_str().to_owned(),
            p256dh: URL_SAFE_NO_PAD.encode(uncompressed(&self.p256dh)),
            auth: URL_SAFE_NO_PAD.encode(self.auth),
        }
    }

    /// True when the endpoint's host is one of the big browser push services (Google FCM,
    /// Mozilla autopush, Microsoft WNS, Apple). A caller that wants to refuse anything else
    /// (so a subscription cannot make the gateway POST to an internal host) checks this.
    pub fn is_known_push_service(&self) -> bool {
        let Some(host) = self.endpoint.host_str() else {
            return false;
        };
        self.endpoint.scheme() == "https"
            && (host == "fcm.googleapis.com"
                || host == "updates.push.services.mozilla.com"
                || host.ends_with(".notify.windows.com")
                || host.ends_with(".push.apple.com"))
    }

    /// Encrypts `plaintext` for this subscription (RFC 8291, one aes128gcm record, a fresh
    /// sender key pair and salt).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, PushError> {
        let sender = random_secret_key()?;
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| PushError::Random)?;
        encrypt_with(&self.p256dh, &self.auth, &sender, &salt, plaintext)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("endpoint", &self.endpoint.as_str())
            .field("auth", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// RFC 8291 encryption with a given sender key and salt (deterministic; tests use the RFC's
/// values). `ua_public` is the subscription's p256dh, `auth` its authentication secret.
pub(crate) fn encrypt_with(
    ua_public: &PublicKey,
    auth: &[u8; AUTH_SECRET_LEN],
    sender: &SecretKey,
    salt: &[u8; SALT_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, PushError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(PushError::PayloadTooLarge(plaintext.len()));
    }
    let as_public = uncompressed(&sender.public_key());
    let shared = sender.diffie_hellman(ua_public);
    let RecordKeys { cek, nonce } = derive(
        shared.raw_secret_bytes().as_slice(),
        auth,
        &uncompressed(ua_public),
        &as_public,
        salt,
    )?;
    let mut record = Zeroizing::new(Vec::with_capacity(plaintext.len() + 1));
    record.extend_from_slice(plaintext);
    record.push(0x02); // the last (and only) record's padding delimiter, no padding
    let cipher = Aes128Gcm::new_from_slice(cek.as_slice())
        .map_err(|_| PushError::Crypto("content-encryption key length"))?;
    let sealed = cipher
        .encrypt(&Nonce::<Aes128Gcm>::from(*nonce), record.as_slice())
        .map_err(|_| PushError::Crypto("AES-GCM"))?;

    let mut body = Vec::with_capacity(HEADER_LEN + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(PUBLIC_KEY_LEN as u8);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// The user agent's side (the browser; tests play it): decrypts a push message body with
/// the subscription's private key (32 bytes) and authentication secret (16 bytes).
pub fn decrypt(ua_private: &[u8], auth: &[u8], body: &[u8]) -> Result<Vec<u8>, PushError> {
    if ua_private.len() != 32 {
        return Err(PushError::Decrypt);
    }
    let ua_secret = SecretKey::from_slice(ua_private).map_err(|_| PushError::Decrypt)?;
    let auth: &[u8; AUTH_SECRET_LEN] = auth.try_into().map_err(|_| PushError::BadAuth)?;
    if body.len() < HEADER_LEN {
        return Err(PushError::Malformed("shorter than its header"));
    }
    let (header, sealed) = body.split_at(HEADER_LEN);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&header[..SALT_LEN]);
    let mut rs = [0u8; 4];
    rs.copy_from_slice(&header[SALT_LEN..SALT_LEN + 4]);
    let rs = u32::from_be_bytes(rs) as usize;
    if header[SALT_LEN + 4] as usize != PUBLIC_KEY_LEN {
        return Err(PushError::Malformed(
            "the key id is not a 65-byte public key",
        ));
    }
    let as_public_bytes = &header[SALT_LEN + 5..];
    let as_public = parse_public_key(as_public_bytes)
        .ok_or(PushError::Malformed("the key id is not a P-256 public key"))?;
    if rs < TAG_LEN + 2 {
        return Err(PushError::Malformed("record size too small"));
    }
    if sealed.len() < TAG_LEN + 1 {
        return Err(PushError::Malformed("no record"));
    }
    if sealed.len() > rs {
        return Err(PushError::Malformed("more than one record"));
    }

    let shared = ua_secret.diffie_hellman(&as_public);
    let RecordKeys { cek, nonce } = derive(
        shared.raw_secret_bytes().as_slice(),
        auth,
        &uncompressed(&ua_secret.public_key()),
        as_public_bytes,
        &salt,
    )?;
    let cipher = Aes128Gcm::new_from_slice(cek.as_slice())
        .map_err(|_| PushError::Crypto("content-encryption key length"))?;
    let mut record = Zeroizing::new(
        cipher
            .decrypt(&Nonce::<Aes128Gcm>::from(*nonce), sealed)
            .map_err(|_| PushError::Decrypt)?,
    );
    // RFC 8188 section 2: the padding is a delimiter (0x02 in the last record) then zeros.
    let Some(end) = record.iter().rposition(|&b| b != 0) else {
        return Err(PushError::Malformed("no padding delimiter"));
    };
    if record[end] != 0x02 {
        return Err(PushError::Malformed(
            "the only record is not marked as the last",
        ));
    }
    record.truncate(end);
    Ok(record.to_vec())
}

/// The content-encryption key and the record nonce (zeroized on drop).
struct RecordKeys {
    cek: Zeroizing<[u8; 16]>,
    nonce: Zeroizing<[u8; 12]>,
}

/// CEK (16 bytes) and nonce (12 bytes) from the ECDH secret (RFC 8291 section 3.4, RFC
/// 8188 section 2.2 and 2.3).
fn derive(
    ecdh_secret: &[u8],
    auth: &[u8; AUTH_SECRET_LEN],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8; SALT_LEN],
) -> Result<RecordKeys, PushError> {
    let mut key_info = Vec::with_capacity(14 + 2 * PUBLIC_KEY_LEN);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(auth), ecdh_secret)
        .expand(&key_info, ikm.as_mut_slice())
        .map_err(|_| PushError::Crypto("HKDF length"))?;
    let prk = Hkdf::<Sha256>::new(Some(salt), ikm.as_slice());
    let mut cek = Zeroizing::new([0u8; 16]);
    prk.expand(b"Content-Encoding: aes128gcm\0", cek.as_mut_slice())
        .map_err(|_| PushError::Crypto("HKDF length"))?;
    let mut nonce = Zeroizing::new([0u8; 12]);
    prk.expand(b"Content-Encoding: nonce\0", nonce.as_mut_slice())
        .map_err(|_| PushError::Crypto("HKDF length"))?;
    Ok(RecordKeys { cek, nonce })
}

/// What the push service answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// 201 Created or 202 Accepted (or another 2xx): the push service has the message.
    Accepted(u16),
    /// 404 Not Found or 410 Gone: the subscription has expired or was removed; delete it.
    Gone(u16),
    /// Anything else (400 bad request, 401/403 VAPID refused, 413 too large, 429 too
    /// many requests, 5xx): not delivered, the subscription may still be good.
    Failed(u16),
}

impl Delivery {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Delivery::Accepted(s) | Delivery::Gone(s) | Delivery::Failed(s) => s,
        }
    }

    fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Delivery::Accepted(status),
            404 | 410 => Delivery::Gone(status),
            _ => Delivery::Failed(status),
        }
    }
}

/// Urgency of a push (RFC 8030 section 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    VeryLow,
    Low,
    Normal,
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::VeryLow => "very-low",
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// Sends pushes: the VAPID key, the operator's contact and an HTTP client (rustls with the
/// ring provider and the webpki roots, no redirects, a timeout).
#[derive(Clone)]
pub struct WebPush {
    key: VapidKey,
    contact: String,
    http: reqwest::Client,
}

impl fmt::Debug for WebPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPush")
            .field("key", &self.key)
            .field("contact", &self.contact)
            .finish_non_exhaustive()
    }
}

/// The VAPID token lifetime used by [`WebPush::send`].
pub const SEND_VAPID_LIFETIME: Duration = Duration::from_secs(12 * 3600);

impl WebPush {
    /// `contact` is the VAPID `sub` (`mailto:ops@example.org` or an https: URL); `timeout`
    /// bounds each push request as a whole (connect, TLS, answer).
    pub fn new(key: VapidKey, contact: &str, timeout: Duration) -> Result<Self, PushError> {
        check_contact(contact)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PushError::Client(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| PushError::Client(e.to_string()))?;
        Ok(Self {
            key,
            contact: contact.to_owned(),
            http,
        })
    }

    /// The VAPID key (its public half goes to the portal page).
    pub fn key(&self) -> &VapidKey {
        &self.key
    }

    /// Encrypts `payload` for `subscription` and POSTs it to the endpoint with
    /// `Content-Encoding: aes128gcm`, `TTL: <ttl seconds>`, `Urgency: <urgency>` and
    /// `Authorization: vapid t=..., k=...`. `Ok` is the push service's answer (see
    /// [`Delivery`]); `Err` is a local error or no answer (timeout, connection refused).
    pub async fn send(
        &self,
        subscription: &Subscription,
        payload: &[u8],
        ttl: Duration,
        urgency: Urgency,
        now: SystemTime,
    ) -> Result<Delivery, PushError> {
        let body = subscription.encrypt(payload)?;
        let authorization = self.key.authorization(
            subscription.endpoint(),
            &self.contact,
            now,
            SEND_VAPID_LIFETIME,
        )?;
        let response = self
            .http
            .post(subscription.endpoint().clone())
            .header("Content-Type", "application/octet-stream")
            .header("Content-Encoding", "aes128gcm")
            .header("TTL", ttl.as_secs().to_string())
            .header("Urgency", urgency.as_str())
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await
            // Without the URL: an endpoint is a capability and stays out of error texts.
            .map_err(|e| PushError::Transport(transport_reason(e)))?;
        Ok(Delivery::from_status(response.status().as_u16()))
    }
}

fn transport_reason(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        e.without_url().to_string()
    }
}

fn check_endpoint(endpoint: &str) -> Result<Url, PushError> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(PushError::EndpointTooLong);
    }
    let url = Url::parse(endpoint).map_err(|_| PushError::BadEndpoint)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PushError::EndpointCredentials);
    }
    let host = url.host_str().ok_or(PushError::BadEndpoint)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if host == "127.0.0.1" || host == "localhost" || host == "[::1]" => Ok(url),
        "http" => Err(PushError::InsecureEndpoint),
        _ => Err(PushError::BadEndpoint),
    }
}

fn check_contact(contact: &str) -> Result<(), PushError> {
    let url = Url::parse(contact).map_err(|_| PushError::BadContact)?;
    match url.scheme() {
        "mailto" if url.path().contains('@') => Ok(()),
        "https" if url.host_str().is_some() => Ok(()),
        _ => Err(PushError::BadContact),
    }
}

fn b64url(what: &'static str, value: &str) -> Result<Vec<u8>, PushError> {
    URL_SAFE_NO_PAD
        .decode(value.trim().trim_end_matches('='))
        .map_err(|_| PushError::NotBase64(what))
}

/// An uncompressed point only (the form RFC 8291 requires for p256dh and the key id).
fn parse_public_key(bytes: &[u8]) -> Option<PublicKey> {
    if bytes.len() != PUBLIC_KEY_LEN || bytes[0] != 0x04 {
        return None;
    }
    PublicKey::from_sec1_bytes(bytes).ok()
}

fn uncompressed(key: &PublicKey) -> Vec<u8> {
    // p256 does not compress points by default: 65 bytes.
    key.to_sec1_bytes().into_vec()
}

fn random_secret_key() -> Result<SecretKey, PushError> {
    // A random 32-byte string is a valid scalar except with probability ~2^-32; retry then.
    for _ in 0..16 {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut_slice()).map_err(|_| PushError::Random)?;
        if let Ok(key) = SecretKey::from_slice(bytes.as_slice()) {
            return Ok(key);
        }
    }
    Err(PushError::Random)
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[path = "webpush_tests.rs"]
mod tests;
