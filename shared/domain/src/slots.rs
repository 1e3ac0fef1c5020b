//! Delivery slots a shop's checkout offers (e.g. 2-hour windows with a
//! capacity per zone), and what auto-dispatch leaves on an order it could not
//! place.
//!
//! A zone is a circle (centre + radius in metres): simple to set up from a
//! map click, cheap to test, and overlapping circles are allowed (the first
//! zone in the list that contains the address wins).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::geo::LatLon;
use crate::time::{LocalWindow, TimeOfDay, TimeWindow, iso_date, rfc3339};
use crate::validation::{Path, Report, Validate, codes};

/// Most zones one organisation may define.
pub const MAX_ZONES: usize = 50;

/// `settings.delivery_slots`: how the day is cut into slots and where they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlotSettings {
    /// Length of one slot in minutes (15-720), e.g. 120.
    pub slot_minutes: u16,
    /// Local time of the first slot's start, e.g. `08:00`.
    pub day_start: TimeOfDay,
    /// Local time by which the last slot ends, e.g. `20:00`.
    pub day_end: TimeOfDay,
    pub zones: Vec<SlotZone>,
}

/// A delivery zone: a circle with a capacity per slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlotZone {
    pub name: String,
    pub center: LatLon,
    /// Metres, 100 m to 200 km.
    pub radius_m: f64,
    /// Orders one slot may take in this zone.
    pub capacity_per_slot: u32,
}

impl Validate for SlotSettings {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if !(15..=720).contains(&self.slot_minutes) {
            report.push(&path.field("slot_minutes"), codes::OUT_OF_RANGE, "must be between 15 and 720 minutes");
        }
        if self.day_end <= self.day_start {
            report.push(&path.field("day_end"), codes::WINDOW_ENDS_BEFORE_START, format!("must be after day_start ({})", self.day_start));
        } else if u32::from(self.day_end.minutes() - self.day_start.minutes()) < u32::from(self.slot_minutes) {
            report.push(&path.field("day_end"), codes::OUT_OF_RANGE, "the day must hold at least one slot");
        }
        let zp = path.field("zones");
        report.max_items(&zp, self.zones.len(), MAX_ZONES);
        for (i, z) in self.zones.iter().enumerate() {
            let p = zp.index(i);
            report.required_text(&p.field("name"), &z.name, 80);
            if self.zones[..i].iter().any(|o| o.name == z.name) {
                report.push(&p.field("name"), codes::DUPLICATE, "another zone has this name");
            }
            z.center.validate_at(&p.field("center"), report);
            if !(z.radius_m.is_finite() && (100.0..=200_000.0).contains(&z.radius_m)) {
                report.push(&p.field("radius_m"), codes::OUT_OF_RANGE, "must be between 100 and 200000 metres");
            }
            if z.capacity_per_slot == 0 {
                report.push(&p.field("capacity_per_slot"), codes::MUST_BE_POSITIVE, "must be at least 1");
            }
        }
    }
}

impl SlotSettings {
    /// The day's slots as local windows, in order (a last partial slot is dropped).
    pub fn local_slots(&self) -> Vec<LocalWindow> {
        let len = self.slot_minutes.max(1);
        let mut out = Vec::new();
        let mut start = self.day_start.minutes();
        while start + len <= self.day_end.minutes() {
            if let (Some(s), Some(e)) = (TimeOfDay::from_minutes(start), TimeOfDay::from_minutes(start + len)) {
                out.push(LocalWindow::new(s, e));
            }
            start += len;
        }
        out
    }

    /// The first zone containing `point`.
    pub fn zone_of(&self, point: LatLon) -> Option<&SlotZone> {
        self.zones.iter().find(|z| z.center.distance_m(point) <= z.radius_m)
    }

    /// The slot starting at `start` on this day's grid.
    pub fn slot_starting(&self, start: TimeOfDay) -> Option<LocalWindow> {
        self.local_slots().into_iter().find(|w| w.start == start)
    }
}

/// A slot picked at checkout, sent as `slot` with a new order: `{"date":
/// "2026-11-23", "start": "10:00"}` or its id `"2026-11-23T10:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlotChoice {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub start: TimeOfDay,
}

impl SlotChoice {
    pub fn id(&self) -> String {
        format!("{}T{}", self.date, self.start)
    }

    /// Parses `YYYY-MM-DDTHH:MM`.
    pub fn parse_id(id: &str) -> Option<Self> {
        let (d, t) = id.split_once('T')?;
        let date = Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
        Some(Self { date, start: t.parse().ok()? })
    }

    /// Reads either form from JSON.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Self::parse_id(s),
            other => serde_json::from_value(other.clone()).ok(),
        }
    }
}

/// Why a slot cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlotReason {
    /// The zone's capacity for this slot is taken.
    ZoneFull,
    /// Counting allows it, but no vehicle can serve the address in this slot
    /// next to the day's other orders (shifts, distance, capacity).
    NoVehicleCanReach,
    /// The address is in none of the organisation's zones.
    OutsideZones,
    /// The slot has started (or ended) already.
    Past,
}

/// One slot of `GET /api/slots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlotAvailability {
    /// `YYYY-MM-DDTHH:MM`, accepted as the order's `slot`.
    pub id: String,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    /// The window the order gets.
    pub window: TimeWindow,
    pub available: bool,
    #[serde(default)]
    pub reason: Option<SlotReason>,
    /// Orders already in this slot and zone.
    pub booked: u32,
    pub capacity: u32,
}

/// `GET /api/slots?date=&lat=&lon=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlotList {
    #[serde(with = "iso_date")]
    pub date: Date,
    /// The zone holding the address, if any.
    #[serde(default)]
    pub zone: Option<String>,
    pub slots: Vec<SlotAvailability>,
}

/// The absolute window of a local slot on `date`.
pub fn slot_window(slot: &LocalWindow, date: Date, offset: UtcOffset) -> TimeWindow {
    slot.on(date, offset)
}

/// Left on an order that auto-dispatch could not place in the day's published
/// plan: it waits for the next plan, and the dispatcher sees why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchHold {
    /// Machine code: an optimizer reason (`capacity`, `time_window`,
    /// `skills`, `shift_or_max_duration`, `no_room_in_fleet`...), or
    /// `not_geocoded`, `no_route`.
    pub reason: String,
    /// What would help, for the dispatcher.
    pub hint: String,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SlotSettings {
        SlotSettings {
            slot_minutes: 120,
            day_start: TimeOfDay::hm(8, 0),
            day_end: TimeOfDay::hm(19, 0),
            zones: vec![SlotZone { name: "Centre".into(), center: LatLon { lat: 45.76, lon: 4.84 }, radius_m: 3000.0, capacity_per_slot: 5 }],
        }
    }

    #[test]
    fn the_day_is_cut_into_whole_slots() {
        let s = settings();
        let slots = s.local_slots();
        assert_eq!(slots.len(), 5);
        assert_eq!((slots[0].start, slots[4].end), (TimeOfDay::hm(8, 0), TimeOfDay::hm(18, 0)));
    }

    #[test]
    fn zones_contain_points_within_their_radius() {
        let s = settings();
        assert!(s.zone_of(LatLon { lat: 45.765, lon: 4.845 }).is_some());
        assert!(s.zone_of(LatLon { lat: 45.9, lon: 4.84 }).is_none());
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let mut s = settings();
        s.slot_minutes = 5;
        s.zones[0].radius_m = -1.0;
        s.zones[0].capacity_per_slot = 0;
        s.zones.push(s.zones[0].clone());
        let e = s.validate().unwrap_err();
        assert!(e.has("slot_minutes", codes::OUT_OF_RANGE));
        assert!(e.has("zones[0].radius_m", codes::OUT_OF_RANGE));
        assert!(e.has("zones[0].capacity_per_slot", codes::MUST_BE_POSITIVE));
        assert!(e.has("zones[1].name", codes::DUPLICATE));
    }

    #[test]
    fn slot_choices_read_both_forms() {
        let id = SlotChoice::from_json(&serde_json::json!("2026-11-23T10:00")).unwrap();
        let obj = SlotChoice::from_json(&serde_json::json!({"date": "2026-11-23", "start": "10:00"})).unwrap();
        assert_eq!(id, obj);
        assert_eq!(id.id(), "2026-11-23T10:00");
        assert!(SlotChoice::from_json(&serde_json::json!("tomorrow")).is_none());
    }
}
