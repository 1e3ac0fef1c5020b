//! Driver position pings and the customer's tracking view.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::geo::LatLon;
use crate::ids::{OrderId, RouteId};
use crate::lifecycle::OrderState;
use crate::time::{TimeWindow, rfc3339};
use crate::validation::{Path, Report, Validate};

/// One position report from a driver's device. The device numbers pings so
/// the server can drop duplicates and reorder batches sent after being offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingPing {
    /// Strictly increasing per device.
    pub seq: u64,
    /// The device's clock; may drift, so ordering uses `seq`.
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius, metres.
    #[serde(default)]
    pub accuracy_m: Option<f64>,
    /// Metres per second.
    #[serde(default)]
    pub speed_mps: Option<f64>,
    /// Degrees clockwise from true north, `[0, 360)`.
    #[serde(default)]
    pub heading_deg: Option<f64>,
    /// Percent, 0-100.
    #[serde(default)]
    pub battery_pct: Option<f64>,
}

impl TrackingPing {
    pub fn location(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

impl Validate for TrackingPing {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.latitude(&path.field("lat"), self.lat);
        report.longitude(&path.field("lon"), self.lon);
        if let Some(a) = self.accuracy_m {
            report.non_negative(&path.field("accuracy_m"), a);
        }
        if let Some(s) = self.speed_mps {
            // 100 m/s is far beyond any delivery vehicle: a GPS glitch.
            report.in_range(&path.field("speed_mps"), s, 0.0, 100.0);
        }
        if let Some(h) = self.heading_deg {
            report.in_range(&path.field("heading_deg"), h, 0.0, 360.0);
        }
        if let Some(b) = self.battery_pct {
            report.in_range(&path.field("battery_pct"), b, 0.0, 100.0);
        }
    }
}

/// Most pings accepted in one upload (about an hour offline at 10 s).
pub const MAX_PINGS_PER_BATCH: usize = 500;

/// Body of "upload pings" from the driver app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingBatch {
    pub route_id: RouteId,
    pub pings: Vec<TrackingPing>,
}

impl Validate for PingBatch {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let pp = path.field("pings");
        report.max_items(&pp, self.pings.len(), MAX_PINGS_PER_BATCH);
        self.pings.validate_at(&pp, report);
    }
}

/// Pings newer than `last_seq` (the highest already stored), sorted by
/// `seq`, duplicates dropped. Makes uploads idempotent.
pub fn new_pings(last_seq: Option<u64>, pings: &[TrackingPing]) -> Vec<TrackingPing> {
    let mut fresh: Vec<TrackingPing> = pings
        .iter()
        .filter(|p| last_seq.is_none_or(|last| p.seq > last))
        .cloned()
        .collect();
    fresh.sort_by_key(|p| p.seq);
    fresh.dedup_by_key(|p| p.seq);
    fresh
}

/// What the public tracking page shows. Deliberately minimal: no driver
/// surname, no other customers' stops, and the driver's position only while
/// this order is next in line (`out_for_delivery`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingView {
    pub order_id: OrderId,
    pub state: OrderState,
    /// Organisation name, for branding.
    pub sender: String,
    #[serde(default)]
    pub driver_first_name: Option<String>,
    /// Customer-facing arrival estimate.
    #[serde(default)]
    pub eta: Option<TimeWindow>,
    /// Stops the driver makes before this one.
    #[serde(default)]
    pub stops_before: Option<u32>,
    #[serde(default)]
    pub driver_position: Option<LatLon>,
    /// Where the delivery goes (for the map); rounded by the server if needed.
    #[serde(default)]
    pub destination: Option<LatLon>,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An arrival estimate widened into a window the customer can rely on:
/// rounded down to 5 minutes before, `half_width_s` either side.
pub fn eta_window(eta: OffsetDateTime, half_width_s: i64) -> TimeWindow {
    let start = eta - time::Duration::seconds(half_width_s.max(0));
    let rounding = i64::from(start.minute() % 5) * 60 + i64::from(start.second());
    let start = start
        - time::Duration::seconds(rounding)
        - time::Duration::nanoseconds(i64::from(start.nanosecond()));
    TimeWindow::new(start, eta + time::Duration::seconds(half_width_s.max(0)))
}

/// Whether a ping shows the driver within `radius_m` of `destination`. A
/// ping less accurate than the radius proves nothing, so it never counts.
pub fn is_nearby(ping: &TrackingPing, destination: LatLon, radius_m: f64) -> bool {
    ping.accuracy_m.unwrap_or(0.0) <= radius_m
        && ping.location().distance_m(destination) <= radius_m
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ping(seq: u64) -> TrackingPing {
        TrackingPing {
            seq,
            device_time: datetime!(2024-03-15 9:00 +1),
            lat: 45.76,
            lon: 4.83,
            accuracy_m: Some(8.0),
            speed_mps: Some(5.0),
            heading_deg: Some(90.0),
            battery_pct: Some(80.0),
        }
    }

    #[test]
    fn new_pings_drops_old_and_duplicate_and_sorts() {
        let got = new_pings(Some(3), &[ping(5), ping(2), ping(4), ping(5), ping(3)]);
        assert_eq!(got.iter().map(|p| p.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(new_pings(None, &[ping(1)]).len(), 1);
    }

    #[test]
    fn batch_validation_paths_point_at_the_ping() {
        let mut bad = ping(2);
        bad.lat = -91.0;
        bad.heading_deg = Some(400.0);
        bad.battery_pct = Some(101.0);
        let batch = PingBatch {
            route_id: RouteId::new("r1").unwrap(),
            pings: vec![ping(1), bad],
        };
        let e = batch.validate().unwrap_err();
        assert_eq!(
            e.paths(),
            [
                "pings[1].lat",
                "pings[1].heading_deg",
                "pings[1].battery_pct"
            ]
        );
    }

    #[test]
    fn eta_window_rounds_start_to_five_minutes() {
        let w = eta_window(datetime!(2024-03-15 10:13:27 +1), 900);
        assert_eq!(w.start, datetime!(2024-03-15 9:55 +1));
        assert_eq!(w.end, datetime!(2024-03-15 10:28:27 +1));
    }

    #[test]
    fn nearby_accounts_for_accuracy() {
        let dest = LatLon::new(45.7606, 4.83);
        let mut p = ping(1);
        assert!(is_nearby(&p, dest, 500.0)); // ~67 m away
        p.accuracy_m = Some(800.0);
        assert!(!is_nearby(&p, dest, 500.0));
        p.accuracy_m = None;
        p.lat = 45.80;
        assert!(!is_nearby(&p, dest, 500.0));
    }
}
