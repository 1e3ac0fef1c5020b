//! Organisation-local time: IANA zones from the tz database compiled into the
//! binary (jiff's bundled copy), so Lambda and `doorstep serve` agree without
//! depending on the host's /usr/share/zoneinfo.

use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// The zone's UTC offset at `at`; UTC (with a warning) for a name the tz
/// database does not know, since organisation settings only check its shape.
pub fn offset_at(timezone: &str, at: OffsetDateTime) -> UtcOffset {
    let zone = match jiff::tz::TimeZone::get(timezone) {
        Ok(zone) => zone,
        Err(e) => {
            tracing::warn!(timezone, error = %e, "unknown time zone: using UTC");
            return UtcOffset::UTC;
        }
    };
    let Ok(instant) = jiff::Timestamp::from_second(at.unix_timestamp()) else { return UtcOffset::UTC };
    UtcOffset::from_whole_seconds(zone.to_offset(instant).seconds()).unwrap_or(UtcOffset::UTC)
}

/// The zone's offset on the local `date`, taken at noon UTC: days never
/// change offset around midday, so the whole working day shares it.
pub fn offset_on(timezone: &str, date: Date) -> UtcOffset {
    offset_at(timezone, date.midnight().assume_utc() + Duration::hours(12))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn hours(tz: &str, d: Date) -> f64 {
        f64::from(offset_on(tz, d).whole_seconds()) / 3600.0
    }

    #[test]
    fn offsets_follow_each_zone_and_its_summer_time() {
        let (winter, summer) = (date!(2026 - 11 - 23), date!(2026 - 07 - 01));
        for (tz, w, s) in [
            ("Europe/Paris", 1.0, 2.0),
            ("Europe/London", 0.0, 1.0),
            ("America/New_York", -5.0, -4.0),
            ("Asia/Kolkata", 5.5, 5.5),
            ("Australia/Sydney", 11.0, 10.0),
            ("UTC", 0.0, 0.0),
        ] {
            assert_eq!((hours(tz, winter), hours(tz, summer)), (w, s), "{tz}");
        }
    }

    #[test]
    fn an_unknown_zone_is_utc() {
        assert_eq!(offset_on("Mars/Olympus_Mons", date!(2026 - 11 - 23)), UtcOffset::UTC);
    }
}
