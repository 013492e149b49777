//! Dutch and English (issue 15): one Fluent catalogue per language (`gateway/locales/nl`,
//! `gateway/locales/en`, compiled in), the language a text is for, and dates and times in
//! the configured time zone with the zone shown.
//!
//! Which language: the person's own setting, else their organisation's default (its
//! policy), else the configured default (`[i18n] default_language`, `nl`). A text that goes
//! out before anyone is known to be who they say (a RADIUS Access-Reject) uses only what
//! does not depend on the person (the client's default organisation, else the default), so
//! its language tells nobody whether a username exists.

pub mod config;
mod time;

pub use config::I18nSettings;
pub use time::{format_date_time, format_day, zone_named};

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader as _, langid};
use std::borrow::Cow;
use std::collections::HashMap;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the texts go into RADIUS attributes
        // and plain-text mails too.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language a person can read the gateway's texts in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Nl, Lang::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// `nl` or `en` (any case, surrounding blanks ignored); None otherwise.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header (RFC 9110 §12.5.4, by weight)
    /// that the gateway has: `nl-BE;q=0.9, en;q=0.8` is Dutch.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, usize, Lang)> = None;
        for (i, part) in header.split(',').enumerate().take(32) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default().trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        // Three decimals at most (RFC 9110): exact in thousandths.
                        .map(|q| (q * 1000.0).round() as u16)
                });
            let Some(q) = q.filter(|q| *q > 0) else {
                continue;
            };
            let primary = tag.split('-').next().unwrap_or_default();
            let Some(lang) = Lang::parse(primary) else {
                continue;
            };
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }

    fn id(self) -> &'static LanguageIdentifier {
        static NL: LanguageIdentifier = langid!("nl");
        static EN: LanguageIdentifier = langid!("en");
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text `key` in `lang`. A key missing from the catalogue (a test forbids it) shows
/// the key itself and logs an error.
pub fn t(lang: Lang, key: &str) -> String {
    lookup(lang, key, None)
}

/// The text `key` in `lang` with `args` (`{ $name }` in the catalogue).
pub fn t_args(lang: Lang, key: &str, args: &[(&'static str, Arg)]) -> String {
    let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(k, v)| {
            (
                Cow::Borrowed(*k),
                match v {
                    Arg::Text(s) => FluentValue::from(s.clone()),
                    Arg::Number(n) => FluentValue::from(*n),
                },
            )
        })
        .collect();
    lookup(lang, key, Some(&map))
}

/// An argument of a translated text.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Number(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

fn lookup(
    lang: Lang,
    key: &str,
    args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
) -> String {
    match LOCALES.try_lookup_complete(lang.id(), key, args) {
        Some(text) => text,
        None => {
            tracing::error!(key, lang = %lang, "text missing from the catalogue");
            key.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// The message ids of a catalogue (`id = ...` at the start of a line).
    fn keys(lang: Lang) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang.as_str());
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("the catalogue's folder") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a catalogue file");
            for line in text.lines() {
                if let Some((id, _)) = line.split_once(" =")
                    && !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    assert!(
                        out.insert(id.to_owned()),
                        "{id} twice in {}",
                        path.display()
                    );
                }
            }
        }
        out
    }

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                out.push(path);
            }
        }
    }

    #[test]
    fn both_catalogues_have_every_key_and_every_key_is_used() {
        let (nl, en) = (keys(Lang::Nl), keys(Lang::En));
        assert!(!nl.is_empty());
        let only_nl: Vec<_> = nl.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&nl).collect();
        assert!(only_nl.is_empty(), "missing in en: {only_nl:?}");
        assert!(only_en.is_empty(), "missing in nl: {only_en:?}");
        // Every key is named (quoted) somewhere in the gateway's code (other than here) or
        // templates.
        let mut files = Vec::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        sources(&root.join("src"), &mut files);
        sources(&root.join("templates"), &mut files);
        let code: String = files
            .iter()
            .filter(|p| !p.ends_with("i18n/mod.rs"))
            .map(|p| std::fs::read_to_string(p).expect("a source file"))
            .collect();
        let unused: Vec<_> = nl
            .iter()
            .filter(|k| !code.contains(&format!("\"{k}\"")))
            .collect();
        assert!(unused.is_empty(), "keys no code uses: {unused:?}");
        // And every key looks up to a text in both languages, given every variable the
        // catalogues use.
        let mut args: HashMap<Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        for lang in Lang::ALL {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(lang.as_str());
            for entry in std::fs::read_dir(&dir).expect("the catalogue's folder") {
                let text = std::fs::read_to_string(entry.expect("an entry").path())
                    .expect("a catalogue file");
                for piece in text.split('$').skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .collect();
                    args.insert(Cow::Owned(name), FluentValue::from("x"));
                }
            }
        }
        for k in &nl {
            for lang in Lang::ALL {
                assert!(
                    LOCALES
                        .try_lookup_complete(lang.id(), k, Some(&args))
                        .is_some(),
                    "{k} has no text in {lang}"
                );
            }
        }
    }

    #[test]
    fn texts_come_in_the_language_asked_with_their_arguments() {
        assert_eq!(t(Lang::En, "radius-reject"), "Access denied");
        assert_eq!(t(Lang::Nl, "radius-reject"), "Toegang geweigerd");
        let en = t_args(
            Lang::En,
            "mail-account-subject",
            &[("what", "the account was blocked".into())],
        );
        assert_eq!(en, "Your sign-in account: the account was blocked");
        assert_eq!(t(Lang::Nl, "no-such-key"), "no-such-key");
    }

    #[test]
    fn accept_language_picks_the_best_language_the_gateway_has() {
        let pick = Lang::from_accept_language;
        assert_eq!(pick("nl-NL,nl;q=0.9,en;q=0.8"), Some(Lang::Nl));
        assert_eq!(pick("en-GB, nl;q=0.5"), Some(Lang::En));
        assert_eq!(pick("de-DE, en;q=0.3, nl;q=0.7"), Some(Lang::Nl));
        assert_eq!(pick("fr, de"), None);
        assert_eq!(pick("nl;q=0, en"), Some(Lang::En));
        assert_eq!(pick("*"), None);
        assert_eq!(pick("en;q=abc, nl;q=0.1"), Some(Lang::Nl));
        assert_eq!(pick(""), None);
        assert_eq!(Lang::parse(" NL "), Some(Lang::Nl));
        assert_eq!(Lang::parse("de"), None);
    }
}
