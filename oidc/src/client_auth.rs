//! How clients authenticate at the token endpoint (RFC 6749 2.3.1): `client_secret_basic`,
//! `client_secret_post`, or `none` for public clients.

use crate::clients::{ClientRegistration, hash_client_secret};
use crate::error::ErrorCode;
use crate::events::RefusalReason;
use crate::params::Params;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashMap;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Why client authentication failed: the code to send, whether Basic was tried, the reason
/// to audit, and the claimed client id (if any, truncated).
#[derive(Debug)]
pub(crate) struct AuthFailure {
    pub(crate) code: ErrorCode,
    pub(crate) basic: bool,
    pub(crate) reason: RefusalReason,
    pub(crate) client_id: Option<String>,
}

/// The claimed client id, cut for audit records.
pub(crate) fn audit_id(id: &str) -> String {
    id.chars().take(128).collect()
}

/// Authenticates the client of a token request (RFC 6749 2.3.1): `client_secret_basic`,
/// `client_secret_post`, or `none` for public clients. Exactly one method may be used.
pub(crate) fn authenticate<'a>(
    clients: &'a HashMap<String, ClientRegistration>,
    headers: &HeaderMap,
    params: &Params,
) -> std::result::Result<&'a ClientRegistration, AuthFailure> {
    let fail = |code, basic, reason, id: Option<&str>| AuthFailure {
        code,
        basic,
        reason,
        client_id: id.map(audit_id),
    };
    let auth = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let tried_basic = auth.is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case(b"basic "));
    let basic = match auth {
        Some(value) if tried_basic => match parse_basic(value) {
            Some(pair) => Some(pair),
            None => {
                return Err(fail(
                    ErrorCode::InvalidClient,
                    true,
                    RefusalReason::MalformedRequest,
                    None,
                ));
            }
        },
        _ => None,
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");

    let (id, secret): (&str, Option<Zeroizing<String>>) = match (&basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                true,
                RefusalReason::MalformedRequest,
                body_id,
            ));
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id.as_str()) {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    true,
                    RefusalReason::MalformedRequest,
                    Some(id),
                ));
            }
            (id.as_str(), Some(secret.clone()))
        }
        (None, secret) => match body_id {
            Some(id) => (id, secret.map(|s| Zeroizing::new(s.to_owned()))),
            None => {
                return Err(fail(
                    ErrorCode::InvalidClient,
                    tried_basic,
                    RefusalReason::MissingClientAuth,
                    None,
                ));
            }
        },
    };
    let Some(client) = clients.get(id) else {
        // Same work as a real comparison.
        let _ = hash_client_secret(secret.as_deref().map_or("", |s| s.as_str())).ct_eq(&[0u8; 32]);
        return Err(fail(
            ErrorCode::InvalidClient,
            tried_basic,
            RefusalReason::UnknownClient,
            Some(id),
        ));
    };
    match (&client.secret_sha256, secret) {
        (Some(expected), Some(secret)) => {
            if bool::from(hash_client_secret(&secret).ct_eq(expected)) {
                Ok(client)
            } else {
                Err(fail(
                    ErrorCode::InvalidClient,
                    tried_basic,
                    RefusalReason::BadClientSecret,
                    Some(id),
                ))
            }
        }
        (Some(_), None) => Err(fail(
            ErrorCode::InvalidClient,
            tried_basic,
            RefusalReason::MissingClientAuth,
            Some(id),
        )),
        // A public client has no secret to present.
        (None, Some(_)) => Err(fail(
            ErrorCode::InvalidClient,
            tried_basic,
            RefusalReason::BadClientSecret,
            Some(id),
        )),
        (None, None) => Ok(client),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`; None when absent or malformed.
fn parse_basic(value: &[u8]) -> Option<(String, Zeroizing<String>)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Zeroizing::new(STANDARD.decode(rest.trim()).ok()?);
    let decoded = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form_decode(id)?;
    let secret = Zeroizing::new(form_decode(secret)?);
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// application/x-www-form-urlencoded decoding of one value: `+` is a space, then %XX.
fn form_decode(s: &str) -> Option<String> {
    let spaced = Zeroizing::new(s.replace('+', " "));
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::index;
    use axum::http::HeaderValue;

    fn registry() -> HashMap<String, ClientRegistration> {
        let mut conf = ClientRegistration::new("app:1", "App", "https://app.example/cb");
        conf.secret_sha256 = Some(hash_client_secret("s3cr+t &x"));
        let public = ClientRegistration::new("spa", "SPA", "https://spa.example/cb");
        index(vec![conf, public]).unwrap()
    }

    fn basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode(raw));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let clients = registry();
        let h = basic("app%3A1:s3cr%2Bt+%26x");
        let c = authenticate(&clients, &h, &Params::parse(b"")).unwrap();
        assert_eq!(c.client_id, "app:1");
        let h = basic("app%3A1:s3cr+t+%26x");
        let e = authenticate(&clients, &h, &Params::parse(b"")).unwrap_err();
        assert_eq!(
            (e.code, e.basic, e.reason),
            (
                ErrorCode::InvalidClient,
                true,
                RefusalReason::BadClientSecret
            )
        );
    }

    #[test]
    fn post_none_and_mixed_methods() {
        let clients = registry();
        let h = HeaderMap::new();
        let ok = Params::parse(b"client_id=app%3A1&client_secret=s3cr%2Bt+%26x");
        assert!(authenticate(&clients, &h, &ok).is_ok());
        let none = Params::parse(b"client_id=app%3A1");
        assert_eq!(
            authenticate(&clients, &h, &none).unwrap_err().reason,
            RefusalReason::MissingClientAuth
        );
        assert!(authenticate(&clients, &h, &Params::parse(b"client_id=spa")).is_ok());
        let public_with_secret = Params::parse(b"client_id=spa&client_secret=x");
        assert!(authenticate(&clients, &h, &public_with_secret).is_err());
        let both = Params::parse(b"client_secret=x");
        let e = authenticate(&clients, &basic("spa:x"), &both).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = authenticate(&clients, &h, &Params::parse(b"client_id=nobody")).unwrap_err();
        assert_eq!((e.code, e.basic), (ErrorCode::InvalidClient, false));
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        let e = authenticate(&clients, &garbage, &Params::parse(b"")).unwrap_err();
        assert_eq!((e.code, e.basic), (ErrorCode::InvalidClient, true));
    }
}
