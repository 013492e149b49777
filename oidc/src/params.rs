//! Request parameters: a query string or an `application/x-www-form-urlencoded` body.
//!
//! RFC 6749 3.1: a parameter sent without a value is treated as omitted, and no parameter may
//! appear twice. Parsing never fails: bad percent-encoding or UTF-8 is replaced, and every
//! check happens on the parsed values.

use std::collections::HashMap;

/// At most this many parameters are kept; more make the request invalid.
const MAX_PARAMS: usize = 64;

/// Parsed parameters.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    /// A parameter appeared twice with a value, or there were too many.
    malformed: bool,
}

impl Params {
    /// Parses `a=b&c=d` (query string or form body).
    pub(crate) fn parse(input: &[u8]) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if params.values.len() >= MAX_PARAMS {
                params.malformed = true;
                break;
            }
            if params
                .values
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                params.malformed = true;
            }
        }
        params
    }

    /// The value of `name`, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A parameter was repeated, or there were too many.
    pub(crate) fn malformed(&self) -> bool {
        self.malformed
    }

    /// True when `name` is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// True when the request body is declared as a form (`application/x-www-form-urlencoded`,
/// parameters allowed).
pub(crate) fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Splits a space-separated list (scope, prompt), dropping empty items.
pub(crate) fn words(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_omitted_and_repeats_are_malformed() {
        let p = Params::parse(b"a=1&b=&c=%20x+y&d");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x y"));
        assert!(!p.has("d"));
        assert!(!p.malformed());
        assert!(Params::parse(b"a=1&a=2").malformed());
        assert!(!Params::parse(b"a=1&a=").malformed());
    }

    #[test]
    fn garbage_is_parsed_without_failing() {
        let p = Params::parse(b"%ff%fe=%c3%28&&&==&%");
        assert!(!p.malformed());
        let many: String = (0..100).map(|i| format!("p{i}=v&")).collect();
        assert!(Params::parse(many.as_bytes()).malformed());
    }

    #[test]
    fn scope_words() {
        assert_eq!(words(Some(" openid  profile ")), vec!["openid", "profile"]);
        assert!(words(None).is_empty());
    }
}
