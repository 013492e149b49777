//! The auditor's side of the audit table: searches, counts, retention and purge.
//!
//! A part of the store kept in its own file: the trait is a supertrait of `Store`, and
//! `audit_admin_sql!` implements it for both databases over the same SQL, using the helpers of
//! `sql.rs` (`begin`, `insert_event`, the row readers).

use async_trait::async_trait;

#[async_trait]
pub trait AuditAdminStore: Send + Sync {}

macro_rules! audit_admin_sql {
    ($module:ident, $Store:ident) => {
        #[async_trait]
        impl AuditAdminStore for super::sql::$module::$Store {}
    };
}

audit_admin_sql!(sqlite, SqliteStore);
audit_admin_sql!(postgres, PgStore);
