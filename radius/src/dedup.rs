//! Duplicate detection (RFC 5080 section 2.2.2): a retransmit must not run the policy twice
//! (a one-time code would then fail as a replay). Keyed on (source address, Identifier,
//! Request Authenticator). Time is a parameter; the server reads the clock.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most entries kept; past it new requests are served without duplicate detection.
pub(crate) const DEFAULT_CAPACITY: usize = 65_536;

pub(crate) type Key = (SocketAddr, u8, [u8; 16]);

#[derive(Debug)]
enum Entry {
    /// The policy is working on it; `joined` retransmits arrived meanwhile.
    InFlight { joined: u32 },
    /// Answered at `at` with `response`.
    Answered { response: Arc<[u8]>, at: Instant },
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    /// Answers in the order they were stored, so expired ones are dropped from the front in
    /// amortised O(1) per request (a full sweep of the map on every packet was the cost of a
    /// flood once the map was full).
    order: VecDeque<(Instant, Key)>,
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Begin {
    /// New: process it, then call [`Ticket::finish`].
    New(Ticket),
    /// A retransmit of an answered request: send these bytes again.
    Cached(Arc<[u8]>),
    /// A retransmit of a request still being processed: the first copy's answer will be
    /// sent for it too.
    Joined,
}

/// The response cache, shared by every packet task of one serve function.
#[derive(Debug)]
pub(crate) struct DedupCache {
    window: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

impl DedupCache {
    pub(crate) fn new(window: Duration, capacity: usize) -> Arc<Self> {
        Arc::new(DedupCache {
            window,
            capacity,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves a consistent map: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `key` up at `now`, registering it as in flight if it is new.
    pub(crate) fn begin(self: &Arc<Self>, key: Key, now: Instant) -> Begin {
        let mut inner = self.lock();
        self.purge(&mut inner, now);
        match inner.map.get_mut(&key) {
            Some(Entry::InFlight { joined }) => {
                *joined = joined.saturating_add(1);
                return Begin::Joined;
            }
            Some(Entry::Answered { response, at })
                if now.saturating_duration_since(*at) < self.window =>
            {
                return Begin::Cached(Arc::clone(response));
            }
            _ => {}
        }
        let tracked = inner.map.len() < self.capacity || inner.map.contains_key(&key);
        if tracked {
            inner.map.insert(key, Entry::InFlight { joined: 0 });
        }
        Begin::New(Ticket {
            cache: Arc::clone(self),
            key: tracked.then_some(key),
        })
    }

    /// Drop the answers older than the window, oldest first.
    fn purge(&self, inner: &mut Inner, now: Instant) {
        while let Some(&(at, key)) = inner.order.front() {
            if now.saturating_duration_since(at) < self.window {
                break;
            }
            inner.order.pop_front();
            // Only if the entry is still that answer (not re-registered since).
            if matches!(inner.map.get(&key), Some(Entry::Answered { at: a, .. }) if *a == at) {
                inner.map.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

/// A request registered as in flight. Dropping it unfinished forgets the request, so a
/// retransmit is processed afresh (used for overload rejects and cancelled tasks).
#[derive(Debug)]
pub(crate) struct Ticket {
    cache: Arc<DedupCache>,
    key: Option<Key>,
}

impl Ticket {
    /// Stores the answer; returns how many retransmits joined while in flight.
    pub(crate) fn finish(mut self, response: Arc<[u8]>, now: Instant) -> u32 {
        let Some(key) = self.key.take() else {
            return 0;
        };
        let mut inner = self.cache.lock();
        let joined = match inner.map.get(&key) {
            Some(Entry::InFlight { joined }) => *joined,
            _ => 0,
        };
        inner.map.insert(key, Entry::Answered { response, at: now });
        inner.order.push_back((now, key));
        joined
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut inner = self.cache.lock();
            if matches!(inner.map.get(&key), Some(Entry::InFlight { .. })) {
                inner.map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(id: u8) -> Key {
        ("192.0.2.1:1812".parse().unwrap(), id, [id; 16])
    }

    fn new(begin: Begin) -> Ticket {
        match begin {
            Begin::New(ticket) => ticket,
            other => panic!("expected New, got {other:?}"),
        }
    }

    #[test]
    fn retransmit_in_flight_joins_then_gets_cached_answer() {
        let cache = DedupCache::new(Duration::from_secs(10), 16);
        let t0 = Instant::now();
        let ticket = new(cache.begin(key(1), t0));
        assert!(matches!(cache.begin(key(1), t0), Begin::Joined));
        assert!(matches!(cache.begin(key(1), t0), Begin::Joined));
        assert_eq!(ticket.finish(Arc::from(&b"answer"[..]), t0), 2);
        match cache.begin(key(1), t0 + Duration::from_secs(9)) {
            Begin::Cached(bytes) => assert_eq!(&*bytes, b"answer"),
            other => panic!("{other:?}"),
        }
        // Another id, or the same one after the window, is new.
        let _other = new(cache.begin(key(2), t0));
        let _again = new(cache.begin(key(1), t0 + Duration::from_secs(10)));
    }

    #[test]
    fn dropped_ticket_forgets_the_request() {
        let cache = DedupCache::new(Duration::from_secs(10), 16);
        let t0 = Instant::now();
        drop(new(cache.begin(key(1), t0)));
        let _ticket = new(cache.begin(key(1), t0));
    }

    #[test]
    fn expired_entries_are_purged_and_capacity_is_bounded() {
        let cache = DedupCache::new(Duration::from_secs(10), 4);
        let t0 = Instant::now();
        for id in 0..4 {
            new(cache.begin(key(id), t0)).finish(Arc::from(&[id][..]), t0);
        }
        assert_eq!(cache.len(), 4);
        // Full: a new request is served but not tracked.
        let untracked = new(cache.begin(key(9), t0));
        assert!(untracked.key.is_none());
        assert_eq!(untracked.finish(Arc::from(&[9][..]), t0), 0);
        assert_eq!(cache.len(), 4);
        // After the window everything expired is swept.
        let later = t0 + Duration::from_secs(11);
        let _ticket = new(cache.begin(key(9), later));
        assert_eq!(cache.len(), 1);
    }
}
