//! OpenID Provider front of mfa-gateway: protocol only.
//!
//! This crate validates OpenID Connect / OAuth 2.0 requests, issues codes and tokens, signs ID
//! tokens and publishes its keys. It stores no people and shows no login page: the gateway
//! implements [`OidcBackend`] (where to log in, current claims, audit, end of session),
//! [`OidcState`] (short-lived protocol state; [`MemoryState`] by default) and [`KeyStore`]
//! (signing keys, sealed by the gateway), and mounts [`Provider::router`] on its listener.
//! The few pages a browser sees here (an error, "Sign out?", signed out) are drawn by the
//! gateway through [`Pages`]: this crate renders no HTML.
//!
//! A login: the relying party sends the browser to `/oauth2/authorize`; a valid request becomes
//! a [`PendingAuthorization`] and the browser goes to [`OidcBackend::login_url`]. When the person
//! has logged in, the gateway calls [`Provider::complete`] (or [`Provider::deny`]) and returns
//! the redirect it gets back. The relying party then exchanges the code at `/oauth2/token`.
//!
//! Time is read once per request from the injected [`Clock`]; tests use [`ManualClock`].

mod authorize;
mod backchannel;
mod client_auth;
mod clients;
mod discovery;
mod error;
mod events;
mod idtoken;
mod issue;
mod keys;
mod logout;
mod model;
mod pages;
mod params;
mod provider;
mod settings;
mod state;
mod token;
mod userinfo;

pub use backchannel::{
    BACKCHANNEL_LOGOUT_EVENT, BackchannelLogout, LOGOUT_TOKEN_LIFETIME, LOGOUT_TOKEN_TYPE,
    LogoutClaims,
};
pub use clients::{ClientRegistration, SigningAlg, check_backchannel_uri, hash_client_secret};
pub use error::{ErrorCode, OidcError, Result};
pub use events::{GrantKind, OidcEvent, RefusalReason, RevocationCause};
pub use idtoken::{GatewayClaims, GatewayIdToken, GatewayIdTokenClaims};
pub use keys::{KeySet, KeyStore, MemoryKeyStore, SigningKey, StoredKey};
pub use model::{
    AccessGrant, AuthenticatedUser, CodeGrant, OidcBackend, PendingAuthorization, RefreshGrant,
    ResponseType, UserClaims,
};
pub use pages::{ErrorPage, LogoutConfirmation, NoPages, Pages};
pub use provider::Provider;
pub use settings::Settings;
pub use state::{MemoryState, OidcState, Taken};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// Where the provider reads the time: once per request, at the edge.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: UnixTime) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// `n` random bytes from the operating system, base64url without padding.
pub(crate) fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| OidcError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(&bytes))
}

/// The key under which a bearer value (code, access or refresh token) is stored: its SHA-256,
/// base64url. The value itself is never stored or logged.
pub(crate) fn token_key(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// `now + secs`, saturating.
pub(crate) fn later(now: UnixTime, secs: u64) -> UnixTime {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_keys_stable() {
        let a = random_token(32).unwrap();
        let b = random_token(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(token_key(&a), token_key(&a));
        assert_ne!(token_key(&a), token_key(&b));
        assert_ne!(token_key(&a), a);
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let c = ManualClock::new(100);
        c.advance(61);
        assert_eq!(c.now(), 161);
        c.set(5);
        assert_eq!(c.now(), 5);
        assert!(SystemClock.now() > 1_700_000_000);
        assert_eq!(later(i64::MAX - 1, 10), i64::MAX);
    }
}
