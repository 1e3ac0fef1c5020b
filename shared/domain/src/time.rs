//! Times of day, windows and instants. Instants are `time::OffsetDateTime`
//! serialised as RFC 3339; dates as `YYYY-MM-DD`. Durations are whole
//! seconds (`*_s` fields) everywhere.
//!
//! Nothing here reads a clock: callers pass "now" in.

use std::fmt;
use std::str::FromStr;

use ::time::{Date, OffsetDateTime, Time, UtcOffset};
use serde::{Deserialize, Serialize};

use crate::validation::{Path, Report, Validate, codes};

/// `YYYY-MM-DD` serde for `time::Date` (`#[serde(with = "iso_date")]`, and
/// `iso_date::option` for `Option<Date>`).
pub mod iso_date {
    ::time::serde::format_description!(format, Date, "[year]-[month]-[day]");
    pub use format::*;
}

/// RFC 3339 serde for `OffsetDateTime` (re-exported for convenience).
pub use ::time::serde::rfc3339;

/// A local wall-clock time, minutes since midnight, `00:00` to `24:00`
/// inclusive (24:00 is only meaningful as the end of a window). Wire: `"08:30"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

/// Why a string is not a `HH:MM` time of day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time of day in HH:MM form between 00:00 and 24:00")]
pub struct TimeOfDayError(pub String);

impl TimeOfDay {
    pub const MIDNIGHT: Self = Self(0);
    pub const END_OF_DAY: Self = Self(24 * 60);

    /// `None` unless `h:m` is within 00:00..=24:00.
    pub const fn new(h: u16, m: u16) -> Option<Self> {
        if m < 60 && (h < 24 || (h == 24 && m == 0)) {
            Some(Self(h * 60 + m))
        } else {
            None
        }
    }

    /// For constants and tables; panics on an impossible time, which is a
    /// programming error there.
    pub const fn hm(h: u16, m: u16) -> Self {
        match Self::new(h, m) {
            Some(t) => t,
            None => panic!("invalid time of day"),
        }
    }

    pub const fn from_minutes(minutes: u16) -> Option<Self> {
        if minutes <= 24 * 60 {
            Some(Self(minutes))
        } else {
            None
        }
    }

    pub const fn minutes(self) -> u16 {
        self.0
    }

    pub const fn hour(self) -> u16 {
        self.0 / 60
    }

    pub const fn minute(self) -> u16 {
        self.0 % 60
    }

    /// This time on `date` at `offset`. 24:00 becomes midnight of the next day.
    pub fn on(self, date: Date, offset: UtcOffset) -> OffsetDateTime {
        let (date, minutes) = if self.0 == 24 * 60 {
            (date.next_day().unwrap_or(date), 0)
        } else {
            (date, self.0)
        };
        let t =
            Time::from_hms((minutes / 60) as u8, (minutes % 60) as u8, 0).unwrap_or(Time::MIDNIGHT);
        date.with_time(t).assume_offset(offset)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl FromStr for TimeOfDay {
    type Err = TimeOfDayError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimeOfDayError(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return Err(err());
        }
        let h = s[0..2].parse().map_err(|_| err())?;
        let m = s[3..5].parse().map_err(|_| err())?;
        Self::new(h, m).ok_or_else(err)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hand-written because the wire form (`"08:30"`) is not the Rust shape.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TimeOfDay {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Local wall-clock time HH:MM, 00:00 to 24:00"))
            .pattern(Some("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))
            .examples(["08:30"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TimeOfDay {}

/// A recurring local window (shifts, breaks, default delivery windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocalWindow {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl LocalWindow {
    pub const fn new(start: TimeOfDay, end: TimeOfDay) -> Self {
        Self { start, end }
    }

    pub fn duration_s(&self) -> u32 {
        u32::from(self.end.minutes().saturating_sub(self.start.minutes())) * 60
    }

    pub fn contains(&self, other: &LocalWindow) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The absolute window on `date` at `offset`.
    pub fn on(&self, date: Date, offset: UtcOffset) -> TimeWindow {
        TimeWindow {
            start: self.start.on(date, offset),
            end: self.end.on(date, offset),
        }
    }
}

impl Validate for LocalWindow {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if self.end <= self.start {
            report.push(
                &path.field("end"),
                codes::WINDOW_ENDS_BEFORE_START,
                format!("must be after start ({}); got {}", self.start, self.end),
            );
        }
    }
}

/// An absolute window between two instants, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    #[serde(with = "rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub end: OffsetDateTime,
}

impl TimeWindow {
    pub const fn new(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        Self { start, end }
    }

    pub fn duration_s(&self) -> i64 {
        (self.end - self.start).whole_seconds()
    }

    /// Inclusive at both ends: arriving exactly at `end` is on time.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t <= self.end
    }

    /// Whether the windows share more than an instant.
    pub fn overlaps(&self, other: &TimeWindow) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl Validate for TimeWindow {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if self.end <= self.start {
            report.push(
                &path.field("end"),
                codes::WINDOW_ENDS_BEFORE_START,
                "must be after start",
            );
        }
    }
}

/// Validates a list of windows: each well-formed, none overlapping an
/// earlier one (overlaps are reported on the later window's path; malformed
/// windows are only reported as such).
pub fn validate_windows(windows: &[TimeWindow], path: &Path, report: &mut Report) {
    windows.validate_at(path, report);
    let well_formed = |w: &TimeWindow| w.start < w.end;
    for (i, w) in windows.iter().enumerate().filter(|(_, w)| well_formed(w)) {
        if let Some(j) = windows[..i]
            .iter()
            .position(|o| well_formed(o) && o.overlaps(w))
        {
            report.push(
                &path.index(i),
                codes::WINDOWS_OVERLAP,
                format!("overlaps window {j}; merge them into one"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::{date, datetime, offset};

    #[test]
    fn time_of_day_parses_and_prints_hh_mm() {
        let t: TimeOfDay = "08:05".parse().unwrap();
        assert_eq!(t, TimeOfDay::hm(8, 5));
        assert_eq!(t.to_string(), "08:05");
        assert_eq!("24:00".parse::<TimeOfDay>().unwrap(), TimeOfDay::END_OF_DAY);
        for bad in [
            "8:05", "24:01", "12:60", "ab:cd", "12-00", "", "12:00:00", "+1:00",
        ] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"08:05\"");
        assert!(serde_json::from_str::<TimeOfDay>("\"25:00\"").is_err());
    }

    #[test]
    fn time_of_day_on_a_date_uses_the_offset_and_rolls_over_at_24h() {
        let d = date!(2024 - 03 - 15);
        assert_eq!(
            TimeOfDay::hm(9, 30).on(d, offset!(+1)),
            datetime!(2024-03-15 9:30 +1)
        );
        assert_eq!(
            TimeOfDay::END_OF_DAY.on(d, offset!(+1)),
            datetime!(2024-03-16 0:00 +1)
        );
    }

    #[test]
    fn windows_report_end_before_start_and_overlaps() {
        let w = |a, b| TimeWindow::new(a, b);
        let ws = [
            w(
                datetime!(2024-03-15 9:00 +1),
                datetime!(2024-03-15 12:00 +1),
            ),
            w(
                datetime!(2024-03-15 11:00 +1),
                datetime!(2024-03-15 10:00 +1),
            ),
            w(
                datetime!(2024-03-15 11:00 +1),
                datetime!(2024-03-15 13:00 +1),
            ),
        ];
        let mut r = Report::new();
        validate_windows(&ws, &Path::root().field("time_windows"), &mut r);
        let e = r.finish().unwrap_err();
        assert_eq!(e.paths(), ["time_windows[1].end", "time_windows[2]"]);
        assert!(e.has("time_windows[1].end", codes::WINDOW_ENDS_BEFORE_START));
        assert!(e.has("time_windows[2]", codes::WINDOWS_OVERLAP));
    }

    #[test]
    fn time_window_wire_format_is_rfc3339_with_offset() {
        let w = TimeWindow::new(
            datetime!(2024-03-15 9:00 +1),
            datetime!(2024-03-15 11:00 +1),
        );
        let json = serde_json::to_value(w).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"start": "2024-03-15T09:00:00+01:00", "end": "2024-03-15T11:00:00+01:00"})
        );
        assert_eq!(serde_json::from_value::<TimeWindow>(json).unwrap(), w);
        assert_eq!(w.duration_s(), 7200);
        assert!(w.contains(datetime!(2024-03-15 10:00 UTC)));
    }

    #[test]
    fn local_window_validates_order() {
        let w = LocalWindow::new(TimeOfDay::hm(17, 0), TimeOfDay::hm(8, 0));
        assert!(
            w.validate()
                .unwrap_err()
                .has("end", codes::WINDOW_ENDS_BEFORE_START)
        );
        let ok = LocalWindow::new(TimeOfDay::hm(8, 0), TimeOfDay::hm(17, 0));
        assert!(ok.validate().is_ok());
        assert_eq!(ok.duration_s(), 9 * 3600);
    }
}
