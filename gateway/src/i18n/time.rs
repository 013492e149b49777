//! Dates and times as a person reads them: in the configured time zone (Europe/Amsterdam
//! by default), in their language, with the zone shown (`5 december 2026 14:03 CET`).

use super::Lang;
use crate::model::UnixTime;
use jiff::Timestamp;
use jiff::tz::TimeZone;

const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn zoned(t: UnixTime, zone: &TimeZone) -> Option<jiff::ZonedDateTime> {
    Some(
        Timestamp::from_second(t)
            .ok()?
            .to_zoned_datetime(zone.clone()),
    )
}

fn month(lang: Lang, m: i8) -> &'static str {
    let i = usize::try_from(m - 1).unwrap_or(0).min(11);
    match lang {
        Lang::Nl => MONTHS_NL[i],
        Lang::En => MONTHS_EN[i],
    }
}

/// `5 december 2026 14:03 CET` (nl) / `5 December 2026 14:03 CET` (en): the day, the
/// 24-hour time and the zone's abbreviation (or its offset where it has none).
pub fn format_date_time(t: UnixTime, lang: Lang, zone: &TimeZone) -> String {
    let Some(z) = zoned(t, zone) else {
        return crate::audit::format_time(t);
    };
    let abbr = zone.to_offset_info(z.timestamp()).abbreviation().to_owned();
    format!(
        "{} {} {} {:02}:{:02} {}",
        z.day(),
        month(lang, z.month()),
        z.year(),
        z.hour(),
        z.minute(),
        abbr
    )
}

/// `5 december 2026` / `5 December 2026`, in the zone.
pub fn format_day(t: UnixTime, lang: Lang, zone: &TimeZone) -> String {
    match zoned(t, zone) {
        Some(z) => format!("{} {} {}", z.day(), month(lang, z.month()), z.year()),
        None => crate::audit::format_time(t),
    }
}

/// The configured zone by its IANA name (`Europe/Amsterdam`); the error names what is wrong.
pub fn zone_named(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name.trim()).map_err(|e| format!("`{name}` is not a time zone: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_amsterdam_with_the_zone_summer_and_winter() {
        let ams = zone_named("Europe/Amsterdam").unwrap();
        // 2026-12-05T13:03:00Z is 14:03 CET; 2026-07-01T12:00:00Z is 14:00 CEST.
        assert_eq!(
            format_date_time(1_796_475_780, Lang::Nl, &ams),
            "5 december 2026 14:03 CET"
        );
        assert_eq!(
            format_date_time(1_782_907_200, Lang::En, &ams),
            "1 July 2026 14:00 CEST"
        );
        assert_eq!(format_day(1_796_475_780, Lang::En, &ams), "5 December 2026");
        let utc = zone_named("UTC").unwrap();
        assert_eq!(
            format_date_time(1_796_475_780, Lang::En, &utc),
            "5 December 2026 13:03 UTC"
        );
        assert!(
            zone_named("Mars/Olympus")
                .unwrap_err()
                .contains("Mars/Olympus")
        );
    }
}
