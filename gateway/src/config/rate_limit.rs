//! `[rate_limit]`: per-source, per-username and per-client limits.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimit {
    pub per_source_per_minute: u32,
    pub per_username_per_minute: u32,
    pub per_client_per_second: u32,
    pub ipv6_prefix: u8,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        Self {
            per_source_per_minute: 120,
            per_username_per_minute: 30,
            per_client_per_second: 500,
            ipv6_prefix: 64,
        }
    }
}

/// Attempts allowed before any password is checked (0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_source_per_minute: u32,
    pub per_username_per_minute: u32,
    pub per_client_per_second: u32,
    /// IPv6 sources share one budget per prefix of this length.
    pub ipv6_prefix: u8,
}
