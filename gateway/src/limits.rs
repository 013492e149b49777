//! Rate limits applied before any lookup or password check: per source address, per
//! username, per client. Shared by the RADIUS front and the web login.
//!
//! Keys are what the lookup would match: usernames trimmed and lower-cased (`" ANN"` and
//! `"ann"` share one budget), IPv6 sources by their network of the configured prefix (an
//! attacker holds a whole /64, not one address). The username budget is per username and
//! source, so nobody can use up a person's budget from elsewhere.
//!
//! In process (governor) by default; with `[shared]`, the same quotas as one GCRA script in
//! Redis per check, so every instance counts against one budget.

use crate::config::RateLimits;
use crate::shared::{Quota as SharedQuota, RedisShared, SharedError};
use crate::store::normalise_username;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

/// Keyed limiters; a limit of 0 means none.
#[derive(Debug)]
pub struct Limits {
    source: Option<DefaultKeyedRateLimiter<IpAddr>>,
    username: Option<DefaultKeyedRateLimiter<String>>,
    client: Option<DefaultKeyedRateLimiter<String>>,
    /// Throttles audit events for rate-limited attempts: one per source per 10 s.
    audit: DefaultKeyedRateLimiter<IpAddr>,
    /// Things a source may make that the server keeps (pending OIDC authorizations): at
    /// most `STATE_PER_SOURCE` at once over their lifetime, refilling at that pace.
    state: DefaultKeyedRateLimiter<IpAddr>,
    ipv6_prefix: u8,
    /// The shared store, when several instances count together.
    shared: Option<SharedLimits>,
}

#[derive(Debug)]
struct SharedLimits {
    redis: RedisShared,
    source: Option<SharedQuota>,
    username: Option<SharedQuota>,
    client: Option<SharedQuota>,
}

/// Kept state (pending authorizations) one source may create per `STATE_LIFETIME_SECONDS`.
pub const STATE_PER_SOURCE: u32 = 1_000;
/// The lifetime the state budget refills over (the OIDC login timeout's default).
pub const STATE_LIFETIME_SECONDS: u64 = 600;

impl Limits {
    pub fn new(l: &RateLimits) -> Self {
        Self {
            source: per_minute(l.per_source_per_minute),
            username: per_minute(l.per_username_per_minute),
            client: NonZeroU32::new(l.per_client_per_second)
                .map(|n| RateLimiter::keyed(Quota::per_second(n))),
            audit: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN.saturating_add(5))),
            state: RateLimiter::keyed(state_quota()),
            ipv6_prefix: l.ipv6_prefix,
            shared: None,
        }
    }

    /// The same limits counted in the shared store (every instance against one budget).
    pub fn shared(l: &RateLimits, redis: RedisShared) -> Self {
        Self {
            shared: Some(SharedLimits {
                redis,
                source: SharedQuota::per_minute(l.per_source_per_minute),
                username: SharedQuota::per_minute(l.per_username_per_minute),
                client: SharedQuota::per_second(l.per_client_per_second),
            }),
            ..Self::new(l)
        }
    }

    /// May `source` make one more thing the server keeps (a pending authorization)? O(1).
    pub async fn allow_state(&self, source: IpAddr) -> Result<bool, SharedError> {
        let key = self.source_key(source);
        match &self.shared {
            Some(sh) => {
                let q = SharedQuota {
                    interval_ms: STATE_LIFETIME_SECONDS * 1000 / u64::from(STATE_PER_SOURCE),
                    burst: u64::from(STATE_PER_SOURCE),
                };
                sh.redis.allow(&[(format!("st:{key}"), q)]).await
            }
            None => Ok(self.state.check_key(&key).is_ok()),
        }
    }

    /// The key a source is counted under: an IPv4 address as is (IPv4-mapped IPv6 too), an
    /// IPv6 address as its network of the configured prefix.
    pub fn source_key(&self, source: IpAddr) -> IpAddr {
        match source.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let prefix = u32::from(self.ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }

    /// Whether this attempt is within every limit. Checked from the narrowest key to the
    /// widest and stopping at the first refusal, so attempts already refused for their
    /// source (or username) take nothing from the buckets other sources share: a flood from
    /// one address cannot use up its client's limit.
    pub async fn allow(
        &self,
        source: IpAddr,
        username: &str,
        client: &str,
    ) -> Result<bool, SharedError> {
        let key = self.source_key(source);
        let user = format!("{}\0{key}", normalise_username(username));
        if let Some(sh) = &self.shared {
            let checks: Vec<(String, SharedQuota)> = [
                sh.source.map(|q| (format!("s:{key}"), q)),
                sh.username.map(|q| (format!("u:{user}"), q)),
                sh.client.map(|q| (format!("c:{client}"), q)),
            ]
            .into_iter()
            .flatten()
            .collect();
            return sh.redis.allow(&checks).await;
        }
        Ok(self.allow_here(source, username, client))
    }

    /// `allow` in this process.
    fn allow_here(&self, source: IpAddr, username: &str, client: &str) -> bool {
        self.allow_source_here(source)
            && self.username.as_ref().is_none_or(|l| {
                // Per username *and* source: a flood of one username from elsewhere must not
                // use up the budget of the person at their own address.
                let key = format!(
                    "{}\0{}",
                    normalise_username(username),
                    self.source_key(source)
                );
                l.check_key(&key).is_ok()
            })
            && self
                .client
                .as_ref()
                .is_none_or(|l| l.check_key(&client.to_owned()).is_ok())
    }

    /// As [`Limits::allow`] without the per-source limit: for a RADIUS request whose only
    /// address is its NAS's (a NAS speaks for many people; it is limited per client).
    pub async fn allow_without_source(
        &self,
        username: &str,
        client: &str,
    ) -> Result<bool, SharedError> {
        let username = crate::store::normalise_username(username);
        if let Some(sh) = &self.shared {
            let checks: Vec<(String, SharedQuota)> = [
                sh.username.map(|q| (format!("u:{username}"), q)),
                sh.client.map(|q| (format!("c:{client}"), q)),
            ]
            .into_iter()
            .flatten()
            .collect();
            return sh.redis.allow(&checks).await;
        }
        Ok(self.allow_without_source_here(&username, client))
    }

    pub(crate) fn allow_without_source_here(&self, username: &str, client: &str) -> bool {
        let username = username.to_owned();
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
    pub async fn allow_source(&self, source: IpAddr) -> Result<bool, SharedError> {
        if let Some(sh) = &self.shared {
            let key = self.source_key(source);
            let checks: Vec<(String, SharedQuota)> = sh
                .source
                .map(|q| (format!("s:{key}"), q))
                .into_iter()
                .collect();
            return sh.redis.allow(&checks).await;
        }
        Ok(self.allow_source_here(source))
    }

    fn allow_source_here(&self, source: IpAddr) -> bool {
        let key = self.source_key(source);
        self.source
            .as_ref()
            .is_none_or(|l| l.check_key(&key).is_ok())
    }

    /// Whether a rate-limited attempt from `source` should still be audited (6 per minute).
    pub async fn audit_allowed(&self, source: IpAddr) -> bool {
        let key = self.source_key(source);
        if let Some(sh) = &self.shared {
            let q = SharedQuota::per_minute(6).map(|q| (format!("a:{key}"), q));
            return sh
                .redis
                .allow(&q.into_iter().collect::<Vec<_>>())
                .await
                .unwrap_or(false);
        }
        self.audit.check_key(&key).is_ok()
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
        self.state.retain_recent();
        self.state.shrink_to_fit();
    }
}

fn state_quota() -> Quota {
    let burst = NonZeroU32::new(STATE_PER_SOURCE).unwrap_or(NonZeroU32::MIN);
    let period = std::time::Duration::from_millis(
        STATE_LIFETIME_SECONDS * 1000 / u64::from(STATE_PER_SOURCE),
    );
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(source: u32, username: u32, client: u32) -> Limits {
        Limits::new(&RateLimits {
            per_source_per_minute: source,
            per_username_per_minute: username,
            per_client_per_second: client,
            ipv6_prefix: 64,
        })
    }

    #[test]
    fn a_flood_from_one_source_leaves_the_client_budget_to_others() {
        let limits = limits(5, 0, 10);
        let flood: IpAddr = "192.0.2.66".parse().expect("ip");
        let allowed = (0..1000)
            .filter(|i| limits.allow_here(flood, &format!("u{i}"), "rdgw"))
            .count();
        assert_eq!(allowed, 5, "the source limit holds");
        // The refused 995 took nothing from the client's bucket: others still get in.
        let other: IpAddr = "192.0.2.7".parse().expect("ip");
        assert!(limits.allow_here(other, "ann", "rdgw"));
    }

    #[test]
    fn spellings_of_one_username_share_one_bucket() {
        let limits = limits(0, 3, 0);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let allowed = ["ann", "ANN", " ann", "ann ", "Ann"]
            .iter()
            .filter(|u| limits.allow_here(ip, u, "c"))
            .count();
        assert_eq!(allowed, 3, "one budget for every spelling");
        assert!(
            limits.allow_here(ip, "bob", "c"),
            "another user has their own"
        );
        let elsewhere: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(
            limits.allow_here(elsewhere, "ann", "c"),
            "ann from elsewhere has her own"
        );
    }

    #[test]
    fn ipv6_sources_share_their_64() {
        let limits = limits(4, 0, 0);
        // Every address of one /64 (and the same address written differently) is one source.
        let allowed = (0..20u16)
            .map(|i| {
                format!("2001:db8:7:7::{i:x}")
                    .parse::<IpAddr>()
                    .expect("ip")
            })
            .filter(|ip| limits.allow_here(*ip, "ann", "c"))
            .count();
        assert_eq!(allowed, 4);
        let next: IpAddr = "2001:db8:7:8::1".parse().expect("ip");
        assert!(
            limits.allow_here(next, "ann", "c"),
            "the next /64 is another source"
        );
        // IPv4 and IPv4-mapped IPv6 are the same source.
        let limits = limits_v4();
        let v4: IpAddr = "192.0.2.9".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().expect("ip");
        assert!(limits.allow_here(v4, "a", "c"));
        assert!(!limits.allow_here(mapped, "a", "c"));
    }

    fn limits_v4() -> Limits {
        limits(1, 0, 0)
    }
}
