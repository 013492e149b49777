//! mfa-gateway: the MFA authentication gateway. The decision engine, the stores, the
//! audit events, the admin operations and the CLI; the protocol fronts live in `mfa-radius`
//! and `mfa-oidc`.

pub mod approval;
pub mod audit;
pub mod audit_chain;
pub mod audit_export;
pub mod audit_follow;
pub mod backchannel;
pub mod blocklist;
pub mod certs;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod directory;
pub mod disconnect;
pub mod engine;
pub mod hashing;
pub mod i18n;
pub mod limits;
pub mod mail;
pub mod model;
pub mod oidc_backend;
pub mod ops;
pub mod otp;
pub mod password;
pub mod policy;
pub mod pskc;
pub mod radius_accounting;
pub mod radius_field;
pub mod radius_front;
pub mod secret;
pub mod serve;
pub mod service;
pub mod shared;
pub mod siem;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod webauthn;
pub mod webhook;
pub mod webpush;

#[cfg(test)]
mod engine_tests;
