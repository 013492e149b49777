//! `[i18n]`: the language when nothing else says which, and the time zone times are shown in.

use super::Lang;
use crate::config::ConfigError;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawI18n {
    pub default_language: String,
    pub time_zone: String,
}

impl Default for RawI18n {
    fn default() -> Self {
        Self {
            default_language: "nl".into(),
            time_zone: "Europe/Amsterdam".into(),
        }
    }
}

/// What `[i18n]` says, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct I18nSettings {
    pub default_language: Lang,
    pub time_zone: jiff::tz::TimeZone,
    /// The zone's name as configured (for messages).
    pub time_zone_name: String,
}

impl Default for I18nSettings {
    fn default() -> Self {
        Self {
            default_language: Lang::Nl,
            time_zone: jiff::tz::TimeZone::get("Europe/Amsterdam")
                .unwrap_or(jiff::tz::TimeZone::UTC),
            time_zone_name: "Europe/Amsterdam".into(),
        }
    }
}

pub fn validate(raw: RawI18n) -> Result<I18nSettings, ConfigError> {
    let default_language =
        Lang::parse(&raw.default_language).ok_or_else(|| ConfigError::Invalid {
            key: "i18n.default_language",
            problem: format!("`{}` is not nl or en", raw.default_language),
        })?;
    let time_zone =
        super::time::zone_named(&raw.time_zone).map_err(|problem| ConfigError::Invalid {
            key: "i18n.time_zone",
            problem,
        })?;
    Ok(I18nSettings {
        default_language,
        time_zone,
        time_zone_name: raw.time_zone.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_language_or_zone_names_its_key() {
        let ok = validate(RawI18n::default()).unwrap();
        assert_eq!(ok.default_language, Lang::Nl);
        let bad = validate(RawI18n {
            default_language: "de".into(),
            ..RawI18n::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("i18n.default_language") && bad.contains("de"),
            "{bad}"
        );
        let bad = validate(RawI18n {
            time_zone: "Europe/Atlantis".into(),
            ..RawI18n::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("i18n.time_zone") && bad.contains("Atlantis"),
            "{bad}"
        );
    }
}
