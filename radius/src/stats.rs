//! Counters the gateway exports as metrics. Plain atomics: no locks on the packet path.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Access-Request packets received from known clients (decoded).
    AccessRequests,
    /// Status-Server packets received from known clients (decoded).
    StatusServerRequests,
    /// Packets of any other code received from known clients (dropped).
    OtherRequests,
    /// Access-Accept sent in answer to an Access-Request.
    Accepts,
    /// Access-Reject sent (every cause).
    Rejects,
    /// Access-Challenge sent.
    Challenges,
    /// Status-Server answered.
    StatusServer,
    /// Dropped: the source address is in no client's network.
    DropUnknownClient,
    /// Dropped: not a well-formed RADIUS packet, or an attribute is malformed.
    DropMalformed,
    /// Dropped: Message-Authenticator did not verify.
    DropBadAuthenticator,
    /// Dropped: Message-Authenticator required and absent.
    DropMissingMessageAuthenticator,
    /// Dropped: a code this server does not serve (e.g. Accounting-Request).
    DropUnsupportedCode,
    /// A retransmit answered from the response cache.
    DuplicateAnsweredFromCache,
    /// A retransmit that arrived while the first copy was with the policy (joined it).
    DuplicateJoinedInFlight,
    /// Dropped (no answer, not cached: the NAS retransmits) because `max_in_flight` policy
    /// calls were running.
    Overload,
    /// Dropped because the policy said so (the gateway's hashing queue was full): no
    /// answer, not cached, so the NAS's retransmit is decided afresh.
    DropPolicy,
    /// Rejected: CHAP-Password (not supported).
    RejectChap,
    /// Rejected: no User-Name, or no credentials the client mode allows.
    RejectInvalidRequest,
    /// RadSec connections accepted (TLS handshake done).
    TlsConnections,
    /// RadSec connections refused (unknown client, handshake failure or connection limit).
    TlsConnectionsRefused,
    /// RadSec connections closed because the client certificate is not the client's.
    TlsCertificateMismatch,
    /// RadSec connections closed after the idle timeout without a frame.
    TlsIdleClosed,
    /// A configured end-user address attribute held no valid IP address (ignored).
    EndUserAddressInvalid,
    /// Accounting-Request packets received from known clients (decoded).
    AccountingRequests,
    /// Accounting-Response sent.
    AccountingResponses,
    /// Accounting: dropped, the source address is in no client's network.
    AccountingDropUnknownClient,
    /// Accounting: dropped, the Request Authenticator or Message-Authenticator is wrong.
    AccountingDropBadAuthenticator,
    /// Accounting: dropped, malformed (no Acct-Status-Type, bad attribute values).
    AccountingDropMalformed,
    /// Accounting: dropped, the policy could not record it (the NAS sends it again).
    AccountingDropNotRecorded,
}

impl Counter {
    /// Every counter, in snapshot order.
    pub const ALL: [Counter; 29] = [
        Counter::AccessRequests,
        Counter::StatusServerRequests,
        Counter::OtherRequests,
        Counter::Accepts,
        Counter::Rejects,
        Counter::Challenges,
        Counter::StatusServer,
        Counter::DropUnknownClient,
        Counter::DropMalformed,
        Counter::DropBadAuthenticator,
        Counter::DropMissingMessageAuthenticator,
        Counter::DropUnsupportedCode,
        Counter::DuplicateAnsweredFromCache,
        Counter::DuplicateJoinedInFlight,
        Counter::Overload,
        Counter::DropPolicy,
        Counter::RejectChap,
        Counter::RejectInvalidRequest,
        Counter::TlsConnections,
        Counter::TlsConnectionsRefused,
        Counter::TlsCertificateMismatch,
        Counter::TlsIdleClosed,
        Counter::EndUserAddressInvalid,
        Counter::AccountingRequests,
        Counter::AccountingResponses,
        Counter::AccountingDropUnknownClient,
        Counter::AccountingDropBadAuthenticator,
        Counter::AccountingDropMalformed,
        Counter::AccountingDropNotRecorded,
    ];

    /// A stable snake_case name for metrics.
    pub fn name(self) -> &'static str {
        match self {
            Counter::AccessRequests => "requests_access_request",
            Counter::StatusServerRequests => "requests_status_server",
            Counter::OtherRequests => "requests_other",
            Counter::Accepts => "accepts",
            Counter::Rejects => "rejects",
            Counter::Challenges => "challenges",
            Counter::StatusServer => "status_server",
            Counter::DropUnknownClient => "drop_unknown_client",
            Counter::DropMalformed => "drop_malformed",
            Counter::DropBadAuthenticator => "drop_bad_authenticator",
            Counter::DropMissingMessageAuthenticator => "drop_missing_message_authenticator",
            Counter::DropUnsupportedCode => "drop_unsupported_code",
            Counter::DuplicateAnsweredFromCache => "duplicate_answered_from_cache",
            Counter::DuplicateJoinedInFlight => "duplicate_joined_in_flight",
            Counter::Overload => "overload",
            Counter::DropPolicy => "drop_policy",
            Counter::RejectChap => "reject_chap",
            Counter::RejectInvalidRequest => "reject_invalid_request",
            Counter::TlsConnections => "tls_connections",
            Counter::TlsConnectionsRefused => "tls_connections_refused",
            Counter::TlsCertificateMismatch => "tls_certificate_mismatch",
            Counter::TlsIdleClosed => "tls_idle_closed",
            Counter::EndUserAddressInvalid => "end_user_address_invalid",
            Counter::AccountingRequests => "accounting_requests",
            Counter::AccountingResponses => "accounting_responses",
            Counter::AccountingDropUnknownClient => "accounting_drop_unknown_client",
            Counter::AccountingDropBadAuthenticator => "accounting_drop_bad_authenticator",
            Counter::AccountingDropMalformed => "accounting_drop_malformed",
            Counter::AccountingDropNotRecorded => "accounting_drop_not_recorded",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Atomic counters shared by the serve functions and read by the gateway.
#[derive(Debug, Default)]
pub struct Stats {
    counters: [AtomicU64; Counter::ALL.len()],
}

impl Stats {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one to `counter`.
    pub fn incr(&self, counter: Counter) {
        self.counters[counter.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counters[counter.index()].load(Ordering::Relaxed)
    }

    /// Every counter with its name, in [`Counter::ALL`] order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Counter::ALL
            .iter()
            .map(|&c| (c.name(), self.get(c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_counter_once_in_index_order() {
        for (i, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(counter.index(), i, "{counter:?}");
        }
    }

    #[test]
    fn snapshot_reports_increments() {
        let stats = Stats::new();
        stats.incr(Counter::Overload);
        stats.incr(Counter::Overload);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.len(), Counter::ALL.len());
        assert!(snapshot.contains(&("overload", 2)));
        assert!(snapshot.contains(&("accepts", 0)));
    }
}
