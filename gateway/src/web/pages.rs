//! The static files the pages load: one stylesheet and the WebAuthn script (the security
//! key pages alone load it; their CSP allows it). The pages themselves are templates
//! (`templates.rs`, `gateway/templates/`).

/// The stylesheet served at /static/style.css.
pub const STYLE_CSS: &str = include_str!("../../static/style.css");

/// The WebAuthn script served at /static/webauthn.js.
pub const WEBAUTHN_JS: &str = include_str!("../../static/webauthn.js");
