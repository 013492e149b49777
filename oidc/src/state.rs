//! Short-lived protocol state: pending authorizations, codes, access and refresh tokens, and
//! revoked token families. In process by default ([`MemoryState`]); a Redis implementation can
//! follow the same contract.
//!
//! Bearer values are stored under their SHA-256 ([`crate::token_key`]), never in clear. Every
//! method takes `now` (time is a parameter); expired entries behave as absent.

use crate::UnixTime;
use crate::error::{OidcError, Result};
use crate::model::{AccessGrant, CodeGrant, PendingAuthorization, RefreshGrant};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The outcome of a single-use take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken<T> {
    /// First use: the value, now marked used.
    Fresh(T),
    /// The value was already taken: a replay. The grant is returned so its family can be revoked.
    Replayed(T),
    /// Unknown, expired, or its family was revoked.
    Missing,
}

/// Protocol state store. `take_*` must be atomic: of two concurrent takes of one value, exactly
/// one sees `Fresh`.
#[async_trait]
pub trait OidcState: Send + Sync + 'static {
    /// Stores a pending authorization until `pending.expires`.
    async fn put_pending(&self, pending: &PendingAuthorization, now: UnixTime) -> Result<()>;
    /// The pending authorization, if present and not expired.
    async fn get_pending(&self, id: &str, now: UnixTime) -> Result<Option<PendingAuthorization>>;
    /// Removes and returns the pending authorization (single use).
    async fn take_pending(&self, id: &str, now: UnixTime) -> Result<Option<PendingAuthorization>>;

    /// Stores a code grant under `key` until `grant.expires`.
    async fn put_code(&self, key: &str, grant: &CodeGrant, now: UnixTime) -> Result<()>;
    /// Takes a code: `Fresh` once, then `Replayed` until `remember_until` (so that a second use
    /// can revoke what the first one got).
    async fn take_code(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> Result<Taken<CodeGrant>>;

    /// Stores an access token grant under `key` until `grant.expires`.
    async fn put_access(&self, key: &str, grant: &AccessGrant, now: UnixTime) -> Result<()>;
    /// The access grant, if present, not expired and its family not revoked.
    async fn get_access(&self, key: &str, now: UnixTime) -> Result<Option<AccessGrant>>;

    /// Stores a refresh token grant under `key` until `grant.expires`.
    async fn put_refresh(&self, key: &str, grant: &RefreshGrant, now: UnixTime) -> Result<()>;
    /// Takes a refresh token (rotation): like [`OidcState::take_code`]; `Missing` when its
    /// family was revoked.
    async fn take_refresh(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> Result<Taken<RefreshGrant>>;

    /// Revokes every access and refresh token of `family`, until `until` (by then they have
    /// all expired anyway).
    async fn revoke_family(&self, family: &str, until: UnixTime, now: UnixTime) -> Result<()>;
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    expires: UnixTime,
    used: bool,
}

#[derive(Debug, Default)]
struct Inner {
    pending: HashMap<String, Entry<PendingAuthorization>>,
    codes: HashMap<String, Entry<CodeGrant>>,
    access: HashMap<String, Entry<AccessGrant>>,
    refresh: HashMap<String, Entry<RefreshGrant>>,
    revoked: HashMap<String, Entry<()>>,
    ops: u64,
    /// When a full map was last swept: at most once a second, so a refusal while full costs
    /// O(1), not a scan under the lock.
    swept_full_at: UnixTime,
}

/// In-process state: one mutex over a few maps. Expired entries are swept every 1024 operations and
/// whenever a map is full; a map still full after a sweep refuses new entries (the caller
/// answers temporarily_unavailable) rather than evicting someone's login.
#[derive(Debug)]
pub struct MemoryState {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for MemoryState {
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[allow(clippy::too_many_arguments)]
fn insert<T>(
    map: &mut HashMap<String, Entry<T>>,
    swept_full_at: &mut UnixTime,
    capacity: usize,
    key: &str,
    value: T,
    expires: UnixTime,
    now: UnixTime,
) -> Result<()> {
    if map.len() >= capacity && !map.contains_key(key) {
        if *swept_full_at < now {
            *swept_full_at = now;
            map.retain(|_, e| e.expires > now);
        }
        if map.len() >= capacity {
            return Err(OidcError::State("memory state is full".into()));
        }
    }
    map.insert(
        key.to_owned(),
        Entry {
            value,
            expires,
            used: false,
        },
    );
    Ok(())
}

/// The single-use take shared by codes and refresh tokens.
fn take<T: Clone>(
    map: &mut HashMap<String, Entry<T>>,
    key: &str,
    now: UnixTime,
    remember_until: UnixTime,
) -> Taken<T> {
    match map.get_mut(key) {
        Some(e) if e.expires <= now => {
            map.remove(key);
            Taken::Missing
        }
        Some(e) if e.used => Taken::Replayed(e.value.clone()),
        Some(e) => {
            e.used = true;
            e.expires = e.expires.max(remember_until);
            Taken::Fresh(e.value.clone())
        }
        None => Taken::Missing,
    }
}

impl MemoryState {
    /// A store holding at most `capacity` entries of each kind.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self, now: UnixTime) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.ops = inner.ops.wrapping_add(1);
        if inner.ops.is_multiple_of(1024) {
            inner.pending.retain(|_, e| e.expires > now);
            inner.codes.retain(|_, e| e.expires > now);
            inner.access.retain(|_, e| e.expires > now);
            inner.refresh.retain(|_, e| e.expires > now);
            inner.revoked.retain(|_, e| e.expires > now);
        }
        inner
    }

    /// Number of live entries of every kind (for tests and metrics).
    pub fn len(&self) -> usize {
        let i = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        i.pending.len() + i.codes.len() + i.access.len() + i.refresh.len() + i.revoked.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn revoked(inner: &Inner, family: &str, now: UnixTime) -> bool {
    inner.revoked.get(family).is_some_and(|e| e.expires > now)
}

#[async_trait]
impl OidcState for MemoryState {
    async fn put_pending(&self, pending: &PendingAuthorization, now: UnixTime) -> Result<()> {
        let mut i = self.lock(now);
        let i = &mut *i;
        insert(
            &mut i.pending,
            &mut i.swept_full_at,
            self.capacity,
            &pending.id,
            pending.clone(),
            pending.expires,
            now,
        )
    }

    async fn get_pending(&self, id: &str, now: UnixTime) -> Result<Option<PendingAuthorization>> {
        let i = self.lock(now);
        Ok(i.pending
            .get(id)
            .filter(|e| e.expires > now)
            .map(|e| e.value.clone()))
    }

    async fn take_pending(&self, id: &str, now: UnixTime) -> Result<Option<PendingAuthorization>> {
        let mut i = self.lock(now);
        Ok(i.pending
            .remove(id)
            .filter(|e| e.expires > now)
            .map(|e| e.value))
    }

    async fn put_code(&self, key: &str, grant: &CodeGrant, now: UnixTime) -> Result<()> {
        let mut i = self.lock(now);
        let i = &mut *i;
        insert(
            &mut i.codes,
            &mut i.swept_full_at,
            self.capacity,
            key,
            grant.clone(),
            grant.expires,
            now,
        )
    }

    async fn take_code(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> Result<Taken<CodeGrant>> {
        let mut i = self.lock(now);
        Ok(take(&mut i.codes, key, now, remember_until))
    }

    async fn put_access(&self, key: &str, grant: &AccessGrant, now: UnixTime) -> Result<()> {
        let mut i = self.lock(now);
        let i = &mut *i;
        insert(
            &mut i.access,
            &mut i.swept_full_at,
            self.capacity,
            key,
            grant.clone(),
            grant.expires,
            now,
        )
    }

    async fn get_access(&self, key: &str, now: UnixTime) -> Result<Option<AccessGrant>> {
        let i = self.lock(now);
        Ok(i.access
            .get(key)
            .filter(|e| e.expires > now && !revoked(&i, &e.value.family, now))
            .map(|e| e.value.clone()))
    }

    async fn put_refresh(&self, key: &str, grant: &RefreshGrant, now: UnixTime) -> Result<()> {
        let mut i = self.lock(now);
        let i = &mut *i;
        insert(
            &mut i.refresh,
            &mut i.swept_full_at,
            self.capacity,
            key,
            grant.clone(),
            grant.expires,
            now,
        )
    }

    async fn take_refresh(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> Result<Taken<RefreshGrant>> {
        let mut i = self.lock(now);
        let taken = take(&mut i.refresh, key, now, remember_until);
        Ok(match taken {
            Taken::Fresh(g) | Taken::Replayed(g) if revoked(&i, &g.family, now) => Taken::Missing,
            other => other,
        })
    }

    async fn revoke_family(&self, family: &str, until: UnixTime, now: UnixTime) -> Result<()> {
        let mut i = self.lock(now);
        // Revocation must never be refused: drop the family's tokens to make room if needed.
        i.access.retain(|_, e| e.value.family != family);
        i.refresh.retain(|_, e| e.value.family != family || e.used);
        let capacity = self.capacity.saturating_mul(2);
        // Always swept when full (revocations are rare and must not be refused).
        let mut always = UnixTime::MIN;
        insert(
            &mut i.revoked,
            &mut always,
            capacity,
            family,
            (),
            until,
            now,
        )
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
