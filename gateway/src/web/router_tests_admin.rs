//! In-process router tests of the administration, tool, import, auditor and API routes,
//! and the access matrix of every route (roles, organisations, CSRF).
