//! Server-side web sessions (in process), their cookie, and the CSRF token each carries.
//!
//! The cookie holds only a random id: HttpOnly, SameSite=Lax, Secure when served over TLS.
//! The id is replaced (rotated) whenever the session gains privilege (password accepted,
//! login finished), so an id planted before login is worth nothing after it.

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
/// Most sessions held at once; beyond it the oldest expired ones go, then new ones are refused.
const MAX_SESSIONS: usize = 100_000;

/// What a login is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFor {
    /// The pending OIDC authorization with this id.
    Oidc(String),
    /// The self-service portal.
    Portal,
}

/// A TOTP secret shown to the person, saved only once a code from it verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTotp {
    pub seed: SecretBytes,
    pub since: UnixTime,
}

/// A WebAuthn ceremony under way (see `crate::webauthn`): the library's state as JSON, kept
/// here only, used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCeremony {
    pub state: String,
    pub since: UnixTime,
    /// What the ceremony is for: the new key's name (registration), the device whose removal
    /// it confirms (removal), nothing (login).
    pub label: String,
    pub device: Option<crate::model::DeviceId>,
}

/// Where a login stands.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    },
}

#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub expires: UnixTime,
    pub login: LoginState,
}

impl Session {
    /// Does the submitted form token match this session's (constant time)?
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        ct_eq(self.csrf.as_bytes(), submitted.as_bytes())
    }
}

fn token() -> Option<String> {
    random_bytes(32).ok().map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    ttl: i64,
}

impl Sessions {
    pub fn new(ttl_seconds: i64) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            ttl: ttl_seconds,
        }
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: UnixTime) -> Option<Session> {
        let map = self.map.lock().ok()?;
        map.get(id).filter(|s| s.expires > now).cloned()
    }

    /// A new session; None when the table is full or randomness failed.
    pub fn create(&self, login: LoginState, now: UnixTime) -> Option<(String, Session)> {
        let id = token()?;
        let session = Session {
            csrf: token()?,
            expires: now + self.ttl,
            login,
        };
        let mut map = self.map.lock().ok()?;
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS {
                return None;
            }
        }
        map.insert(id.clone(), session.clone());
        Some((id, session))
    }

    /// Replace the session `old` by a new id and CSRF token holding `login`.
    pub fn rotate(&self, old: &str, login: LoginState, now: UnixTime) -> Option<(String, Session)> {
        self.remove(old);
        self.create(login, now)
    }

    /// Change what a session holds (same id).
    pub fn update(&self, id: &str, login: LoginState) {
        if let Ok(mut map) = self.map.lock()
            && let Some(s) = map.get_mut(id)
        {
            s.login = login;
        }
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    pub fn sweep(&self, now: UnixTime) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| s.expires > now);
        }
    }
}

/// The session id from the request's Cookie header(s).
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

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

    #[test]
    fn create_rotate_expire() {
        let s = Sessions::new(600);
        let (id, sess) = s.create(LoginState::Fresh, 1000).expect("session");
        assert!(s.get(&id, 1000).is_some());
        assert!(s.get(&id, 1600).is_none(), "expired");
        let (id2, sess2) = s.rotate(&id, LoginState::Fresh, 1001).expect("rotated");
        assert_ne!(id, id2);
        assert_ne!(sess.csrf, sess2.csrf);
        assert!(s.get(&id, 1001).is_none(), "old id is gone");
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
}
