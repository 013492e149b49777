//! Account life cycle: requests of customer organisations, token orders and reservations.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `lifecycle_sql!` implements it for both databases over the same SQL, using the helpers of
//! `sql.rs` (`begin`, `insert_event`, the row readers).

use async_trait::async_trait;

#[async_trait]
pub trait LifecycleStore: Send + Sync {}

macro_rules! lifecycle_sql {
    ($module:ident, $Store:ident) => {
        #[async_trait]
        impl LifecycleStore for super::sql::$module::$Store {}
    };
}

lifecycle_sql!(sqlite, SqliteStore);
lifecycle_sql!(postgres, PgStore);
