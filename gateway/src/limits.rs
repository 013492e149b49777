//! Rate limits applied before any lookup or password check: per source address, per
//! username, per client. Shared by the RADIUS front and the web login.

use crate::config::RateLimits;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Keyed limiters; a limit of 0 means none.
#[derive(Debug)]
pub struct Limits {
    source: Option<DefaultKeyedRateLimiter<IpAddr>>,
    username: Option<DefaultKeyedRateLimiter<String>>,
    client: Option<DefaultKeyedRateLimiter<String>>,
    /// Throttles audit events for rate-limited attempts: one per source per 10 s.
    audit: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(l: &RateLimits) -> Self {
        Self {
            source: per_minute(l.per_source_per_minute),
            username: per_minute(l.per_username_per_minute),
            client: NonZeroU32::new(l.per_client_per_second)
                .map(|n| RateLimiter::keyed(Quota::per_second(n))),
            audit: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN.saturating_add(5))),
        }
    }

    /// Whether this attempt is within every limit. Checked from the narrowest key to the
    /// widest and stopping at the first refusal, so attempts already refused for their
    /// source (or username) take nothing from the buckets other sources share: a flood from
    /// one address cannot use up its client's limit.
    pub fn allow(&self, source: IpAddr, username: &str, client: &str) -> bool {
        self.source
            .as_ref()
            .is_none_or(|l| l.check_key(&source).is_ok())
            && self
                .username
                .as_ref()
                .is_none_or(|l| l.check_key(&username.to_owned()).is_ok())
            && self
                .client
                .as_ref()
                .is_none_or(|l| l.check_key(&client.to_owned()).is_ok())
    }

    /// As [`Limits::allow`] without the per-source limit: for a RADIUS request whose only
    /// address is its NAS's (a NAS speaks for many people; it is limited per client).
    pub fn allow_without_source(&self, username: &str, client: &str) -> bool {
        let username = crate::store::normalise_username(username);
        self.username
            .as_ref()
            .is_none_or(|l| l.check_key(&username).is_ok())
            && self
                .client
                .as_ref()
                .is_none_or(|l| l.check_key(&client.to_owned()).is_ok())
    }

    /// Whether `source` is within its limit (for requests that name no user, such as the
    /// start of an OIDC authorization).
    pub fn allow_source(&self, source: IpAddr) -> bool {
        self.source
            .as_ref()
            .is_none_or(|l| l.check_key(&source).is_ok())
    }

    /// Whether a rate-limited attempt from `source` should still be audited (6 per minute).
    pub fn audit_allowed(&self, source: IpAddr) -> bool {
        self.audit.check_key(&source).is_ok()
    }

    /// Forget keys that are back to full capacity (keyed limiters never evict by themselves).
    pub fn housekeeping(&self) {
        if let Some(l) = &self.source {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.username {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.client {
            l.retain_recent();
        }
        self.audit.retain_recent();
        self.audit.shrink_to_fit();
    }
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_source_leaves_the_client_budget_to_others() {
        let limits = Limits::new(&RateLimits {
            per_source_per_minute: 5,
            per_username_per_minute: 0,
            per_client_per_second: 10,
        });
        let flood: IpAddr = "192.0.2.66".parse().expect("ip");
        let allowed = (0..1000)
            .filter(|i| limits.allow(flood, &format!("u{i}"), "rdgw"))
            .count();
        assert_eq!(allowed, 5, "the source limit holds");
        // The refused 995 took nothing from the client's bucket: others still get in.
        let other: IpAddr = "192.0.2.7".parse().expect("ip");
        assert!(limits.allow(other, "ann", "rdgw"));
    }
}
