//! WebAuthn credentials (security keys and passkeys) of people.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `webauthn_sql!` implements it for both databases over the same SQL, using the helpers of
//! `sql.rs` (`begin`, `insert_event`, the row readers).

use async_trait::async_trait;

#[async_trait]
pub trait WebauthnStore: Send + Sync {}

macro_rules! webauthn_sql {
    ($module:ident, $Store:ident) => {
        #[async_trait]
        impl WebauthnStore for super::sql::$module::$Store {}
    };
}

webauthn_sql!(sqlite, SqliteStore);
webauthn_sql!(postgres, PgStore);
