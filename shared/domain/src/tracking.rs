//! Driver position pings and the customer's tracking view.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::geo::LatLon;
use crate::ids::{DriverId, OrderId, PlanId, RouteId, StopId};
use crate::lifecycle::OrderState;
use crate::pod::PublicPod;
use crate::time::{TimeWindow, rfc3339};
use crate::validation::{Path, Report, Validate};

/// One position report from a driver's device. The device numbers pings so
/// the server can drop duplicates and reorder batches sent after being offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Most pings accepted in one upload; the app sends a longer offline
/// backlog as several batches.
pub const MAX_PINGS_PER_BATCH: usize = 100;

/// How far ahead of the server's clock a ping's device time may be: a
/// device clock that runs further ahead cannot be trusted for ordering.
pub const MAX_PING_CLOCK_AHEAD_S: i64 = 5 * 60;

/// Code of a ping whose device time is too far in the future.
pub const IN_THE_FUTURE: &str = "in_the_future";

/// Body of "upload pings" from the driver app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl PingBatch {
    /// Why the ping at `index` cannot be stored, if it cannot: the first
    /// problem found, with its path (`pings[3].lat`). A ping dated more than
    /// [`MAX_PING_CLOCK_AHEAD_S`] after `now` (the server's clock) is refused.
    pub fn check_ping(&self, index: usize, now: OffsetDateTime) -> Option<PingError> {
        let ping = self.pings.get(index)?;
        let path = Path::root().field("pings").index(index);
        if let Err(e) = ping.validate_at_root(&path) {
            let first = e.0.into_iter().next()?;
            return Some(PingError {
                field: first.path,
                code: first.code,
                message: first.message,
            });
        }
        let ahead = (ping.device_time - now).whole_seconds();
        if ahead > MAX_PING_CLOCK_AHEAD_S {
            return Some(PingError {
                field: path.field("device_time").as_str().to_owned(),
                code: IN_THE_FUTURE.into(),
                message: format!(
                    "is {ahead} s ahead of the server clock; at most {MAX_PING_CLOCK_AHEAD_S} s is accepted"
                ),
            });
        }
        None
    }
}

impl TrackingPing {
    fn validate_at_root(&self, path: &Path) -> Result<(), crate::ValidationErrors> {
        let mut report = Report::new();
        self.validate_at(path, &mut report);
        report.finish()
    }
}

/// What happened to one ping of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PingOutcome {
    /// Stored now.
    Accepted,
    /// Already stored (same driver and `seq`), from an earlier upload or
    /// earlier in this one: nothing changed.
    Duplicate,
    /// Not stored; `error` says why.
    Rejected,
}

/// Why a ping was rejected, in the API error's field shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PingError {
    /// Path in the request, e.g. `pings[3].lat`.
    pub field: String,
    pub code: String,
    pub message: String,
}

/// One ping's result, in the order the pings were sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PingResult {
    pub seq: u64,
    pub outcome: PingOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PingError>,
}

/// A driver's position as last reported (the newest ping by device time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverPosition {
    pub driver_id: DriverId,
    pub route_id: RouteId,
    pub seq: u64,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
    #[serde(default)]
    pub speed_mps: Option<f64>,
    #[serde(default)]
    pub heading_deg: Option<f64>,
    #[serde(default)]
    pub battery_pct: Option<f64>,
    /// When the server stored it.
    #[serde(with = "rfc3339")]
    pub received_at: OffsetDateTime,
}

impl DriverPosition {
    pub fn from_ping(
        driver_id: DriverId,
        route_id: RouteId,
        ping: &TrackingPing,
        received_at: OffsetDateTime,
    ) -> Self {
        Self {
            driver_id,
            route_id,
            seq: ping.seq,
            device_time: ping.device_time,
            lat: ping.lat,
            lon: ping.lon,
            accuracy_m: ping.accuracy_m,
            speed_mps: ping.speed_mps,
            heading_deg: ping.heading_deg,
            battery_pct: ping.battery_pct,
            received_at,
        }
    }

    pub fn location(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }

    /// The ping this position came from.
    pub fn as_ping(&self) -> TrackingPing {
        TrackingPing {
            seq: self.seq,
            device_time: self.device_time,
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy_m,
            speed_mps: self.speed_mps,
            heading_deg: self.heading_deg,
            battery_pct: self.battery_pct,
        }
    }

    /// Whether this position is newer than `other`: later device time,
    /// or the same time and a higher `seq`. The latest position only ever
    /// moves to a newer one.
    pub fn is_newer_than(&self, other: &DriverPosition) -> bool {
        (self.device_time, self.seq) > (other.device_time, other.seq)
    }
}

/// Answer to "upload pings": one result per ping sent, and where the driver
/// is now (unchanged by late pings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PingBatchResult {
    pub results: Vec<PingResult>,
    #[serde(default)]
    pub latest: Option<DriverPosition>,
}

impl PingBatchResult {
    pub fn count(&self, outcome: PingOutcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// A stored ping with the driver and route it belongs to, as the dispatcher's trail shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredPing {
    pub driver_id: DriverId,
    pub route_id: RouteId,
    pub ping: TrackingPing,
    #[serde(with = "rfc3339")]
    pub received_at: OffsetDateTime,
}

/// The current arrival estimate of one remaining stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StopEta {
    pub stop_id: StopId,
    pub order_id: OrderId,
    pub sequence: u32,
    #[serde(with = "rfc3339")]
    pub eta: OffsetDateTime,
    /// The window the customer expects (the order's, or the one told at
    /// dispatch).
    #[serde(default)]
    pub window: Option<TimeWindow>,
    /// Seconds past the window's end (0 when on time).
    pub late_by_s: i64,
}

/// A route's live progress: the ETAs of its remaining stops, recomputed on
/// every upload of its driver's pings. Kept apart from the plan (which the
/// dispatcher edits with its own versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteProgress {
    pub plan_id: PlanId,
    pub route_id: RouteId,
    pub driver_id: DriverId,
    /// Starts at 1; each write sends the version it read.
    pub version: u64,
    pub etas: Vec<StopEta>,
    /// Outbox keys (`order#attempt#trigger`) already written for this route,
    /// so `delayed` and `nearby` go out once per order and attempt.
    #[serde(default)]
    pub notified: Vec<String>,
    /// When each order of the route went out for delivery, as first seen
    /// by an upload (for the customer's timeline once it is delivered).
    #[serde(default)]
    pub started: Vec<OrderStarted>,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An order of the route and when it went out for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderStarted {
    pub order_id: OrderId,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

impl RouteProgress {
    pub fn started_at(&self, order_id: &OrderId) -> Option<OffsetDateTime> {
        self.started
            .iter()
            .find(|s| &s.order_id == order_id)
            .map(|s| s.at)
    }

    pub fn eta_of(&self, stop_id: &StopId) -> Option<&StopEta> {
        self.etas.iter().find(|e| &e.stop_id == stop_id)
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

/// One step of the customer's timeline; `at` is `None` when the step is
/// known to have happened but its time is not recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineStep {
    pub state: OrderState,
    #[serde(default, with = "rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

/// Longest delivery instructions a customer may leave, in characters.
pub const MAX_NOTE_INSTRUCTIONS_CHARS: usize = 500;
/// Longest safe-place description, in characters.
pub const MAX_NOTE_SAFE_PLACE_CHARS: usize = 200;
/// Longest rating comment, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 1000;
/// Code of a note sent once the order is delivered, failed or cancelled.
pub const TOO_LATE: &str = "too_late";
/// Code of a rating sent before the order is delivered or failed.
pub const NOT_DELIVERED_YET: &str = "not_delivered_yet";
/// Code of text holding control characters (other than newlines).
pub const CONTROL_CHARACTERS: &str = "control_characters";

/// What the customer told the driver through the tracking page. Stored on
/// the order; both parts trimmed, a blank part is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerNote {
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub safe_place: Option<String>,
}

/// Body of `PUT /api/track/{token}/note`. Replaces the whole note; an
/// absent or blank part clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetCustomerNote {
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub safe_place: Option<String>,
}

impl SetCustomerNote {
    /// The note as stored (`None` when both parts are blank), or every
    /// problem found, naming `instructions` / `safe_place`.
    pub fn to_note(&self) -> Result<Option<CustomerNote>, crate::ValidationErrors> {
        let mut report = Report::new();
        let instructions = customer_text(&mut report, "instructions", self.instructions.as_deref(), MAX_NOTE_INSTRUCTIONS_CHARS, true);
        let safe_place = customer_text(&mut report, "safe_place", self.safe_place.as_deref(), MAX_NOTE_SAFE_PLACE_CHARS, true);
        report.finish()?;
        let note = CustomerNote { instructions, safe_place };
        Ok((note != CustomerNote::default()).then_some(note))
    }
}

/// A customer's rating of the delivery, from the tracking page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerRating {
    /// 1 to 5.
    pub stars: u8,
    #[serde(default)]
    pub comment: Option<String>,
    /// When the server received it.
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

/// Body of `PUT /api/track/{token}/rating`. A new rating replaces the old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateDelivery {
    pub stars: u8,
    #[serde(default)]
    pub comment: Option<String>,
}

impl RateDelivery {
    /// The rating as stored, dated `at`, or every problem found, naming
    /// `stars` / `comment`.
    pub fn to_rating(&self, at: OffsetDateTime) -> Result<CustomerRating, crate::ValidationErrors> {
        let mut report = Report::new();
        if !(1..=5).contains(&self.stars) {
            report.push(&Path::root().field("stars"), crate::validation::codes::OUT_OF_RANGE, format!("is {}; must be 1 to 5", self.stars));
        }
        let comment = customer_text(&mut report, "comment", self.comment.as_deref(), MAX_RATING_COMMENT_CHARS, true);
        report.finish()?;
        Ok(CustomerRating { stars: self.stars, comment, at })
    }
}

/// Customer-typed text: `\r\n` becomes `\n`, trimmed, blank is `None`;
/// too long or holding other control characters is reported under `field`.
fn customer_text(report: &mut Report, field: &str, value: Option<&str>, max: usize, newlines: bool) -> Option<String> {
    let path = Path::root().field(field);
    let text = value?.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().any(|c| c.is_control() && !(newlines && c == '\n')) {
        report.push(&path, CONTROL_CHARACTERS, "must not contain control characters (newlines are fine)");
    }
    report.max_len(&path, text, max);
    Some(text.to_owned())
}

/// What a customer is told about a failed attempt: a plain, friendly
/// sentence per reason, never the driver's own note.
pub fn failure_reason_for_customer(reason: crate::lifecycle::FailureReason) -> &'static str {
    use crate::lifecycle::FailureReason as R;
    match reason {
        R::RecipientAbsent => "We could not find anyone to receive the parcel.",
        R::RecipientRefused => "The delivery was refused at the address.",
        R::WrongAddress => "We could not find the address.",
        R::AddressInaccessible => "We could not get to the address.",
        R::BusinessClosed => "The business was closed.",
        R::NoSafePlace => "There was no safe place to leave the parcel.",
        R::DamagedParcel => "The parcel was damaged, so we did not leave it.",
        R::MissingParcel => "The parcel was not on the vehicle.",
        R::PaymentNotAvailable => "Payment on delivery was not possible.",
        R::OutOfTime => "We ran out of time today.",
        R::VehicleProblem => "Our vehicle had a problem.",
        R::Other => "We could not complete the delivery.",
    }
}

/// What the public tracking page shows. Deliberately minimal: no driver
/// surname, no other customers' stops, and the driver's position only while
/// this order is next in line (`out_for_delivery`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The steps the customer cares about, oldest first.
    #[serde(default)]
    pub timeline: Vec<TimelineStep>,
    /// After delivery: the proof, as far as the organisation lets the
    /// customer see it (photo URLs are short-lived and need no login).
    #[serde(default)]
    pub pod: Option<PublicPod>,
    /// What the customer told the driver, if anything.
    #[serde(default)]
    pub customer_note: Option<CustomerNote>,
    /// Whether `PUT .../note` is accepted now (the order is not final).
    #[serde(default)]
    pub can_leave_note: bool,
    /// The customer's rating, if given.
    #[serde(default)]
    pub rating: Option<CustomerRating>,
    /// Whether `PUT .../rating` is accepted now (delivered or failed).
    #[serde(default)]
    pub can_rate: bool,
    /// When failed: why, in words for the customer (no driver notes).
    #[serde(default)]
    pub failure_reason: Option<String>,
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
    fn check_ping_names_the_first_problem_and_refuses_the_future() {
        let now = datetime!(2024-03-15 9:00 +1);
        let mut bad = ping(2);
        bad.lat = 91.0;
        let mut future = ping(3);
        future.device_time = now + time::Duration::minutes(6);
        let mut slightly_ahead = ping(4);
        slightly_ahead.device_time = now + time::Duration::minutes(4);
        let batch = PingBatch {
            route_id: RouteId::new("r1").unwrap(),
            pings: vec![ping(1), bad, future, slightly_ahead],
        };
        assert_eq!(batch.check_ping(0, now), None);
        assert_eq!(batch.check_ping(1, now).unwrap().field, "pings[1].lat");
        let e = batch.check_ping(2, now).unwrap();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("pings[2].device_time", IN_THE_FUTURE)
        );
        assert_eq!(batch.check_ping(3, now), None);
    }

    #[test]
    fn ping_results_have_the_shape_the_driver_app_reads() {
        let result = PingBatchResult {
            results: vec![
                PingResult {
                    seq: 1,
                    outcome: PingOutcome::Accepted,
                    error: None,
                },
                PingResult {
                    seq: 2,
                    outcome: PingOutcome::Rejected,
                    error: Some(PingError {
                        field: "pings[1].lat".into(),
                        code: "out_of_range".into(),
                        message: "m".into(),
                    }),
                },
            ],
            latest: None,
        };
        let v = serde_json::to_value(&result).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"results": [
                {"seq": 1, "outcome": "accepted"},
                {"seq": 2, "outcome": "rejected", "error": {"field": "pings[1].lat", "code": "out_of_range", "message": "m"}}
            ], "latest": null})
        );
        assert_eq!(
            serde_json::from_value::<PingBatchResult>(v).unwrap(),
            result
        );
    }

    #[test]
    fn positions_order_by_device_time_then_seq() {
        let d = DriverId::new("drv-1").unwrap();
        let r = RouteId::new("r1").unwrap();
        let at = datetime!(2024-03-15 9:00 +1);
        let a = DriverPosition::from_ping(d.clone(), r.clone(), &ping(5), at);
        let mut later = ping(4);
        later.device_time = at + time::Duration::seconds(1);
        let b = DriverPosition::from_ping(d, r, &later, at);
        assert!(b.is_newer_than(&a) && !a.is_newer_than(&b) && !a.is_newer_than(&a));
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

    #[test]
    fn a_customer_note_is_trimmed_and_blank_parts_are_dropped() {
        let body = SetCustomerNote { instructions: Some(" Ring twice\r\nthen wait ".into()), safe_place: Some("   ".into()) };
        let note = body.to_note().unwrap().unwrap();
        assert_eq!(note, CustomerNote { instructions: Some("Ring twice\nthen wait".into()), safe_place: None });
        assert_eq!(SetCustomerNote::default().to_note().unwrap(), None, "nothing left: no note");
    }

    #[test]
    fn a_bad_customer_note_names_each_field() {
        let body = SetCustomerNote { instructions: Some("a".repeat(501)), safe_place: Some("gate\u{1b}[31m".into()) };
        let e = body.to_note().unwrap_err();
        assert_eq!(e.paths(), ["instructions", "safe_place"]);
        assert!(e.has("safe_place", CONTROL_CHARACTERS));
        let fits = SetCustomerNote { instructions: Some("é".repeat(500)), safe_place: Some("b".repeat(200)) };
        assert!(fits.to_note().is_ok(), "limits count characters, not bytes");
    }

    #[test]
    fn a_rating_needs_one_to_five_stars_and_a_short_comment() {
        let at = datetime!(2024-03-15 9:00 +1);
        for stars in [0, 6, 255] {
            let e = RateDelivery { stars, comment: None }.to_rating(at).unwrap_err();
            assert_eq!(e.paths(), ["stars"], "{stars}");
        }
        let e = RateDelivery { stars: 3, comment: Some("c".repeat(1001)) }.to_rating(at).unwrap_err();
        assert_eq!(e.paths(), ["comment"]);
        let r = RateDelivery { stars: 5, comment: Some(" Great \n".into()) }.to_rating(at).unwrap();
        assert_eq!(r, CustomerRating { stars: 5, comment: Some("Great".into()), at });
    }
}
