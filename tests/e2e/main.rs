//! End-to-end tests against the real `mfa-gateway` binary. One test binary (link time).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod a11y;
mod admin_tools;
mod approval;
mod audit;
mod auditor;
mod browser;
mod cli;
mod directory;
mod ha;
mod i18n;
mod import;
mod lifecycle;
mod lockout;
mod oidc;
mod ops;
mod org_auditor;
mod portal;
mod radius;
mod radius_field;
mod remember;
mod reset;
mod sso_sessions;
mod tenants;
mod usernames;
mod webauthn;
