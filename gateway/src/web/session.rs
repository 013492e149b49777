//! Server-side web sessions (in process), their cookie, and the CSRF token each carries.
//!
//! The cookie holds only a random id: HttpOnly, SameSite=Lax, Secure when the public URL is
//! https. The id is replaced (rotated) whenever the session gains privilege (password
//! accepted, login finished), so an id planted before login is worth nothing after it.
//!
//! No session exists before a right password: the sign-in page's form is protected by a
//! stateless token ([`PreLogin`]: a random nonce in a cookie, the form holding its HMAC), so
//! fetching login pages keeps nothing on the server. A source holds at most
//! [`MAX_SESSIONS_PER_SOURCE`] sessions; a refusal is O(1).

use crate::model::PersonId;
use crate::model::UnixTime;
use crate::secret::{SecretBytes, ct_eq, random_bytes};
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
use std::sync::Mutex;

pub const COOKIE_NAME: &str = "mfa_session";
/// The pre-login cookie (a nonce; the sign-in form carries its HMAC).
pub const PRE_COOKIE_NAME: &str = "mfa_pre";
/// Most sessions held at once (expired ones are swept every few seconds).
const MAX_SESSIONS: usize = 100_000;
/// Most sessions one source (an IPv4 address or IPv6 /64) holds at once.
pub const MAX_SESSIONS_PER_SOURCE: usize = 1_000;

/// What a login is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoginFor {
    /// The pending OIDC authorization with this id.
    Oidc(String),
    /// The self-service portal.
    Portal,
}

/// A TOTP secret shown to the person, saved only once a code from it verifies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingTotp {
    /// (Only ever stored sealed: see `crate::shared::sessions`.)
    #[serde(with = "secret_bytes")]
    pub seed: SecretBytes,
    pub since: UnixTime,
}

/// A WebAuthn ceremony under way (see `crate::webauthn`): the library's state as JSON, kept
/// here only, used once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyCeremony {
    pub state: String,
    pub since: UnixTime,
    /// What the ceremony is for: the new key's name (registration), the device whose removal
    /// it confirms (removal), nothing (login).
    pub label: String,
    pub device: Option<crate::model::DeviceId>,
}

/// An approval asked for from the login page: the number its page shows (number matching)
/// and, once the person answered, how.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalWait {
    pub number: Option<u8>,
    pub since: UnixTime,
    /// None while waiting; then the device an accept names, or None for a refusal.
    pub answer: Option<WaitAnswer>,
}

/// How a login-page approval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WaitAnswer {
    Accepted { device_id: crate::model::DeviceId },
    Refused,
}

/// Where a login stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoginState {
    /// Nothing checked yet.
    Fresh,
    /// The password of `username` was right; the code is next.
    PasswordOk {
        username: String,
        purpose: LoginFor,
        since: UnixTime,
        failures: u32,
        /// A security key check under way (the other way to give the second factor).
        key: Option<KeyCeremony>,
        /// "Send a request to my phone" under way (kept in the session, so any instance
        /// can show how it stands).
        #[serde(default)]
        approval: Option<ApprovalWait>,
    },
    /// Logged in to the portal (password and second factor).
    LoggedIn {
        person_id: PersonId,
        username: String,
        auth_time: UnixTime,
        /// A phone being added.
        enrolment: Option<PendingTotp>,
        /// A security key being added, or checked to confirm a removal.
        key: Option<KeyCeremony>,
        /// When the person last proved a second factor (the login's, or a fresh code
        /// given to add a factor): adding a factor needs one younger than a few minutes.
        factor_at: UnixTime,
    },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub csrf: String,
    pub expires: UnixTime,
    pub login: LoginState,
    /// The source (address key) the session was made for; it counts toward its cap.
    pub source: String,
}

impl Session {
    /// Does the submitted form token match this session's (constant time)?
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        ct_eq(self.csrf.as_bytes(), submitted.as_bytes())
    }
}

/// Serde for a seed that lives in a session (which is stored sealed when shared).
mod secret_bytes {
    use crate::secret::SecretBytes;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    pub(super) fn serialize<S: serde::Serializer>(
        v: &SecretBytes,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v.expose()))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<SecretBytes, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(SecretBytes::new)
            .map_err(serde::de::Error::custom)
    }
}

fn token() -> Option<String> {
    random_bytes(32).ok().map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// Why no session was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This source holds as many sessions as it may.
    SourceFull,
    /// The table is full.
    Full,
    /// No randomness.
    Random,
    /// The shared session store cannot be reached.
    Unavailable,
}

/// Where sessions are kept: in process (one instance), or shared (see `crate::shared`).
/// Every method is one atomic step for its backend.
#[async_trait::async_trait]
pub trait SessionBackend: Send + Sync + std::fmt::Debug {
    /// The live session with this id.
    async fn get(&self, id: &str, now: UnixTime) -> Option<Session>;
    /// Keep `session` under `id` unless `source` holds `per_source` live sessions already.
    async fn insert(
        &self,
        id: &str,
        session: &Session,
        per_source: usize,
        now: UnixTime,
    ) -> Result<(), Refused>;
    /// Change what a live session holds with `f` (read and write as one step; `f` may run
    /// more than once when a concurrent change forces a retry). False when it is gone.
    async fn modify(
        &self,
        id: &str,
        now: UnixTime,
        f: &mut (dyn for<'x> FnMut(&'x mut LoginState) + Send),
    ) -> bool;
    async fn remove(&self, id: &str);
    /// End every session of `person` (logged in) or of `username` (half-way); how many.
    async fn end_person(&self, person: PersonId, username: &str) -> usize;
    /// Sessions held now (live or not yet swept).
    async fn count(&self) -> usize;
    /// Forget expired sessions (a shared store lets them expire by themselves).
    async fn sweep(&self, now: UnixTime);
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Session>,
    /// Live sessions per source.
    per_source: HashMap<String, usize>,
}

impl Inner {
    fn take(&mut self, id: &str) -> Option<Session> {
        let s = self.map.remove(id)?;
        self.release(&s.source);
        Some(s)
    }

    fn release(&mut self, source: &str) {
        if let Some(n) = self.per_source.get_mut(source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_source.remove(source);
            }
        }
    }
}

/// Sessions in this process (the embedded default).
#[derive(Debug, Default)]
pub struct MemorySessions {
    inner: Mutex<Inner>,
}

impl MemorySessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Is this login state one of `person`'s (logged in, or half-way as `username`)?
pub fn belongs_to(login: &LoginState, person: PersonId, username: &str) -> bool {
    match login {
        LoginState::LoggedIn { person_id, .. } => *person_id == person,
        LoginState::PasswordOk { username: u, .. } => {
            // Half-way logins keep the name unambiguous: `ann` or `ann@praktijk-zuid` (this
            // may also end another organisation's `ann` half-way: harmless).
            let u = crate::store::normalise_username(u);
            u == username || u.rsplit_once('@').is_some_and(|(name, _)| name == username)
        }
        LoginState::Fresh => false,
    }
}

#[async_trait::async_trait]
impl SessionBackend for MemorySessions {
    async fn get(&self, id: &str, now: UnixTime) -> Option<Session> {
        self.lock().map.get(id).filter(|s| s.expires > now).cloned()
    }

    async fn insert(
        &self,
        id: &str,
        session: &Session,
        per_source: usize,
        _now: UnixTime,
    ) -> Result<(), Refused> {
        let mut inner = self.lock();
        if inner.per_source.get(&session.source).copied().unwrap_or(0) >= per_source {
            return Err(Refused::SourceFull);
        }
        if inner.map.len() >= MAX_SESSIONS {
            return Err(Refused::Full);
        }
        *inner.per_source.entry(session.source.clone()).or_default() += 1;
        inner.map.insert(id.to_owned(), session.clone());
        Ok(())
    }

    async fn modify(
        &self,
        id: &str,
        now: UnixTime,
        f: &mut (dyn for<'x> FnMut(&'x mut LoginState) + Send),
    ) -> bool {
        match self.lock().map.get_mut(id).filter(|s| s.expires > now) {
            Some(s) => {
                f(&mut s.login);
                true
            }
            None => false,
        }
    }

    async fn remove(&self, id: &str) {
        self.lock().take(id);
    }

    async fn end_person(&self, person: PersonId, username: &str) -> usize {
        let mut inner = self.lock();
        let ids: Vec<String> = inner
            .map
            .iter()
            .filter(|(_, s)| belongs_to(&s.login, person, username))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            inner.take(id);
        }
        ids.len()
    }

    async fn count(&self) -> usize {
        self.lock().map.len()
    }

    async fn sweep(&self, now: UnixTime) {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .map
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            inner.take(id);
        }
    }
}

/// The session table: what the web handlers use, over a backend.
#[derive(Debug, Clone)]
pub struct Sessions {
    backend: std::sync::Arc<dyn SessionBackend>,
    ttl: i64,
    per_source: usize,
}

impl Sessions {
    /// Sessions in this process.
    pub fn new(ttl_seconds: i64) -> Self {
        Self::with_cap(ttl_seconds, MAX_SESSIONS_PER_SOURCE)
    }

    pub fn with_cap(ttl_seconds: i64, per_source: usize) -> Self {
        Self::with_backend(
            std::sync::Arc::new(MemorySessions::default()),
            ttl_seconds,
            per_source,
        )
    }

    pub fn with_backend(
        backend: std::sync::Arc<dyn SessionBackend>,
        ttl_seconds: i64,
        per_source: usize,
    ) -> Self {
        Self {
            backend,
            ttl: ttl_seconds,
            per_source,
        }
    }

    /// The live session with this id.
    pub async fn get(&self, id: &str, now: UnixTime) -> Option<Session> {
        self.backend.get(id, now).await
    }

    /// A new session for `source`; refused (at once, without a scan) when the source or the
    /// table is full.
    pub async fn create(
        &self,
        login: LoginState,
        source: &str,
        now: UnixTime,
    ) -> Result<(String, Session), Refused> {
        let id = token().ok_or(Refused::Random)?;
        let session = Session {
            csrf: token().ok_or(Refused::Random)?,
            expires: now + self.ttl,
            login,
            source: source.to_owned(),
        };
        self.backend
            .insert(&id, &session, self.per_source, now)
            .await?;
        Ok((id, session))
    }

    /// Replace the session `old` (if any) by a new id and CSRF token holding `login`, for
    /// `source`.
    pub async fn rotate(
        &self,
        old: &str,
        login: LoginState,
        source: &str,
        now: UnixTime,
    ) -> Result<(String, Session), Refused> {
        self.remove(old).await;
        self.create(login, source, now).await
    }

    /// Change what a session holds (same id).
    pub async fn update(&self, id: &str, login: LoginState, now: UnixTime) {
        self.modify(id, now, move |l| *l = login.clone()).await;
    }

    /// Change what a session holds with `f`, atomically (read and write as one step); its
    /// answer, or None when the session is gone.
    pub async fn modify<T: Send>(
        &self,
        id: &str,
        now: UnixTime,
        mut f: impl FnMut(&mut LoginState) -> T + Send,
    ) -> Option<T> {
        let mut out = None;
        let applied = self
            .backend
            .modify(id, now, &mut |l: &mut LoginState| out = Some(f(l)))
            .await;
        if applied { out } else { None }
    }

    pub async fn remove(&self, id: &str) {
        self.backend.remove(id).await;
    }

    /// End every session of `person` (blocked, removed): logged in or half-way.
    pub async fn end_person(&self, person: PersonId, username: &str) -> usize {
        self.backend.end_person(person, username).await
    }

    /// Sessions held now.
    pub async fn len(&self) -> usize {
        self.backend.count().await
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    pub async fn sweep(&self, now: UnixTime) {
        self.backend.sweep(now).await;
    }
}

/// The stateless protection of forms shown before any session exists (the sign-in and
/// activation pages): a random nonce in an HttpOnly cookie, and in the form the HMAC of
/// that nonce under a key derived from the master key (so every instance accepts it).
/// A cross-site form cannot read the cookie, so cannot forge the token.
#[derive(Clone)]
pub struct PreLogin {
    key: [u8; 32],
}

impl std::fmt::Debug for PreLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreLogin(..)")
    }
}

impl PreLogin {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A fresh nonce for the cookie.
    pub fn nonce() -> Option<String> {
        token()
    }

    /// The form token for `nonce`.
    pub fn token(&self, nonce: &str) -> String {
        use hmac::Mac as _;
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(b"pre-login\0");
        mac.update(nonce.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Does `submitted` belong to `nonce` (constant time)?
    pub fn check(&self, nonce: &str, submitted: &str) -> bool {
        !nonce.is_empty() && ct_eq(self.token(nonce).as_bytes(), submitted.as_bytes())
    }
}

/// The pre-login nonce from the request's cookies.
pub fn pre_nonce(headers: &HeaderMap) -> Option<String> {
    cookie(headers, PRE_COOKIE_NAME).filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Set-Cookie value for the pre-login nonce.
pub fn set_pre_cookie(nonce: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{PRE_COOKIE_NAME}={nonce}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1800{secure}")
}

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The session id from the request's Cookie header(s).
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE_NAME)
}

/// The single sign-on cookie (`mfa_sso`): its token, if the browser sent one.
pub fn sso_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SSO_COOKIE_NAME).filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Set-Cookie value for the single sign-on token (`max_age` 0: delete it).
pub fn set_sso_cookie(token: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SSO_COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

const SSO_COOKIE_NAME: &str = "mfa_sso";

/// Set-Cookie value for a session id.
pub fn set_cookie(id: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// Set-Cookie value that deletes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", secure, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_rotate_expire() {
        let s = Sessions::new(600);
        let (id, sess) = s
            .create(LoginState::Fresh, "a", 1000)
            .await
            .expect("session");
        assert!(s.get(&id, 1000).await.is_some());
        assert!(s.get(&id, 1600).await.is_none(), "expired");
        let (id2, sess2) = s
            .rotate(&id, LoginState::Fresh, "a", 1001)
            .await
            .expect("rotated");
        assert_ne!(id, id2);
        assert_ne!(sess.csrf, sess2.csrf);
        assert!(s.get(&id, 1001).await.is_none(), "old id is gone");
        assert!(sess2.csrf_ok(&sess2.csrf.clone()));
        assert!(!sess2.csrf_ok(&sess.csrf));
        assert!(!sess2.csrf_ok(""));
    }

    #[test]
    fn cookie_parsing_and_attributes() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; mfa_session=abc; b=2".parse().expect("header"));
        assert_eq!(session_id(&h).as_deref(), Some("abc"));
        let c = set_cookie("abc", true, 600);
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!set_cookie("abc", false, 600).contains("Secure"));
    }

    #[tokio::test]
    async fn a_source_holds_at_most_its_cap_and_others_are_unaffected() {
        let s = Sessions::with_cap(600, 3);
        for _ in 0..3 {
            assert!(s.create(LoginState::Fresh, "192.0.2.1", 0).await.is_ok());
        }
        assert_eq!(
            s.create(LoginState::Fresh, "192.0.2.1", 0).await.err(),
            Some(Refused::SourceFull)
        );
        assert!(s.create(LoginState::Fresh, "192.0.2.2", 0).await.is_ok());
        // Ended or expired sessions give their place back.
        s.sweep(601).await;
        assert!(s.is_empty().await);
        assert!(s.create(LoginState::Fresh, "192.0.2.1", 700).await.is_ok());
    }

    #[test]
    fn pre_login_tokens() {
        let p = PreLogin::new([1; 32]);
        let nonce = PreLogin::nonce().expect("nonce");
        let t = p.token(&nonce);
        assert!(p.check(&nonce, &t));
        assert!(!p.check(&nonce, "x"));
        assert!(!p.check("other", &t));
        assert!(!p.check("", &p.token("")));
        assert!(!PreLogin::new([2; 32]).check(&nonce, &t), "another key");
        let mut h = HeaderMap::new();
        h.insert(COOKIE, format!("mfa_pre={nonce}").parse().expect("header"));
        assert_eq!(pre_nonce(&h).as_deref(), Some(nonce.as_str()));
        assert!(set_pre_cookie(&nonce, true).contains("HttpOnly"));
    }
}
