//! RADIUS front of mfa-gateway: protocol only — no storage, no people, no policy.
//!
//! Remote-desktop gateways, Citrix and VPNs ask "may this person in?" over RADIUS (RFC 2865)
//! or RadSec (RFC 6614). This crate verifies and decodes their Access-Requests, hands each
//! to an [`AccessPolicy`] the gateway implements, and sends the signed answer. It answers
//! Status-Server (RFC 5997) itself, requires Message-Authenticator (RFC 3579) by default and
//! puts one first in every response (BlastRADIUS), answers retransmits from a cache
//! (RFC 5080 2.2.2), and bounds the policy calls running at once. Accounting-Requests (RFC
//! 2866, [`serve_udp_accounting`] and RadSec) go to [`AccessPolicy::account`] and are
//! answered once recorded; [`dynauth`] sends Disconnect-Requests (RFC 5176). A policy that
//! answers [`Decision::Drop`] (a busy gateway) gets no answer sent and nothing cached, so the
//! NAS's retransmit is decided afresh.
//!
//! Modules: [`packet`] (codec), [`auth`] (authenticators, PAP), then the client table, the
//! end user's address, duplicate cache, request and accounting interpretation, reply
//! building, the UDP and TLS servers, and [`dynauth`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use mfa_radius::{AccessPolicy, AccessRequest, ClientConfig, Decision, ServerConfig, Stats};
//!
//! struct Policy;
//!
//! #[async_trait::async_trait]
//! impl AccessPolicy for Policy {
//!     async fn decide(&self, req: AccessRequest) -> Decision {
//!         let _ = (req.username, req.password, req.state); // the gateway's engine decides
//!         Decision::Reject { reply_message: None }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let nas = ClientConfig::new("vpn", "192.0.2.0/24".parse().unwrap(), "s3cret".into());
//! let config = Arc::new(ServerConfig::new(vec![nas]));
//! let socket = tokio::net::UdpSocket::bind("0.0.0.0:1812").await?;
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! mfa_radius::serve_udp(socket, config, Arc::new(Policy), Arc::new(Stats::new()), shutdown)
//!     .await
//! # }
//! ```

mod accounting;
mod address;
pub mod auth;
mod clients;
mod dedup;
pub mod dynauth;
pub mod packet;
mod reply;
mod request;
mod server;
mod stats;
mod tls;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod vector_tests;

pub use accounting::{AccountingRequest, AccountingStatus};
pub use address::AddressAttribute;
pub use auth::{Password, SharedSecret};
pub use clients::{
    ClientConfig, ClientInfo, ClientMode, Clients, MessageAuthenticatorPolicy,
    RADSEC_DEFAULT_SECRET,
};
pub use packet::{DecodeError, Packet};
pub use request::{AccessPolicy, AccessRequest, AccountingDecision, Decision, Transport};
pub use server::{ServerConfig, serve_udp, serve_udp_accounting};
pub use stats::{Counter, Stats};
pub use tls::{serve_tls, tls_server_config};

/// Errors of this crate. Nothing here reaches a RADIUS client: on the wire a bad packet is
/// silently dropped and counted.
#[derive(Debug, thiserror::Error)]
pub enum RadiusError {
    /// Bytes that are not a RADIUS packet.
    #[error("malformed RADIUS packet: {0}")]
    Decode(#[from] DecodeError),
    /// An encoded packet would exceed 4096 octets.
    #[error("RADIUS packet of {0} octets exceeds the 4096-octet maximum")]
    PacketTooLarge(usize),
    /// An attribute value exceeds 253 octets (or 128 for User-Password).
    #[error("value of attribute {0} is too long")]
    AttributeTooLong(u8),
    /// The HMAC-MD5 could not be set up (cannot happen with HMAC; kept to avoid a panic).
    #[error("HMAC-MD5 setup failed")]
    Crypto,
    /// The operating system's random source failed.
    #[error("random number generator failed")]
    Random,
    /// A PEM input could not be read.
    #[error("cannot read the {0} PEM: {1}")]
    Pem(&'static str, #[source] std::io::Error),
    /// A PEM input holds no item of the expected kind.
    #[error("no {0} found in the PEM input")]
    MissingPem(&'static str),
    /// rustls refused the certificates, key or protocol settings.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built from the CA.
    #[error("TLS client verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}
