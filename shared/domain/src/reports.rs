//! Delivery reports. Metrics come from delivery events folded into one
//! aggregate per (organisation, day, driver), which the stores keep
//! incrementally; a report merges the aggregates of a date range.
//!
//! Definitions (shown in the app and in ARCHITECTURE.md):
//! - **On time**: delivered inside the order's time window (start and end
//!   included), or, for an order without one, inside the ETA window the
//!   customer was told at dispatch. Early and late deliveries are counted
//!   apart; deliveries recorded without any window are left out of the rate.
//! - **Delivery time**: from the route's start (the order went out for
//!   delivery) to the delivered event, in device time.
//! - **First-attempt success**: deliveries made on the first attempt, over
//!   every first attempt (delivered or failed).
//! - **Actual distance**: the sum of the driver's GPS movements on the route;
//!   a move counts once it leaves the GPS noise (the larger of the two
//!   accuracies, at least 10 m). Routes without pings fall back to planned.
//! - **Cost per delivery**: the routes' fixed cost + cost per km × distance +
//!   cost per hour × duration (actual where measured, else planned), over
//!   deliveries.
//! - **Idle time**: stretches of at least 3 minutes below 0.5 m/s, more than
//!   100 m from every stop of the route (waiting at a stop is service).
//! - **Speeding event**: a run of consecutive pings above the speed limit.
//! - **CO2**: distance × the vehicle's g CO2/km.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::geo::LatLon;
use crate::ids::{DriverId, OrderId, RouteId, VehicleId};
use crate::lifecycle::FailureReason;
use crate::order::Money;
use crate::pod::CashCollected;
use crate::time::{TimeWindow, rfc3339};

/// Thresholds for the ping-derived metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ReportPolicy {
    pub speed_limit_mps: f64,
    pub idle_speed_mps: f64,
    pub idle_min_s: i64,
    pub stop_radius_m: f64,
    /// Pings further apart than this say nothing about the time between.
    pub max_ping_gap_s: i64,
}

impl Default for ReportPolicy {
    fn default() -> Self {
        Self {
            // 50 km/h town limit plus 10% for GPS speed error.
            speed_limit_mps: 50.0 / 3.6 * 1.1,
            idle_speed_mps: 0.5,
            idle_min_s: 180,
            stop_radius_m: 100.0,
            max_ping_gap_s: 600,
        }
    }
}

/// What happened, as the back end records it for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryEvent {
    RouteStarted {
        route_id: RouteId,
        vehicle_id: VehicleId,
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
        planned_distance_m: f64,
        planned_duration_s: u32,
        /// Where the route stops, so waiting there is not idling.
        stops: Vec<LatLon>,
        cost_per_km: f64,
        cost_per_hour: f64,
        fixed_cost: f64,
        #[serde(default)]
        co2_g_per_km: Option<f64>,
    },
    Delivered {
        order_id: OrderId,
        route_id: RouteId,
        attempt: u32,
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
        #[serde(default)]
        window: Option<TimeWindow>,
        #[serde(default)]
        cod_due: Option<Money>,
        #[serde(default)]
        cod_collected: Option<CashCollected>,
    },
    Failed {
        order_id: OrderId,
        route_id: RouteId,
        attempt: u32,
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
        reason: FailureReason,
        /// Whether policy scheduled another attempt.
        reattempt: bool,
    },
    Ping {
        #[serde(default)]
        route_id: Option<RouteId>,
        seq: u64,
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
        location: LatLon,
        #[serde(default)]
        accuracy_m: Option<f64>,
        #[serde(default)]
        speed_mps: Option<f64>,
    },
    /// A customer's rating on the tracking page; a new one replaces the old.
    Rated { order_id: OrderId, stars: u8 },
}

/// One route's figures within a driver's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteTally {
    pub vehicle_id: VehicleId,
    #[serde(with = "rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(default, with = "rfc3339::option")]
    pub last_stop_at: Option<OffsetDateTime>,
    pub planned_distance_m: f64,
    pub planned_duration_s: u32,
    pub actual_distance_m: f64,
    /// Whether any ping measured this route.
    pub measured: bool,
    pub stops: Vec<LatLon>,
    pub cost_per_km: f64,
    pub cost_per_hour: f64,
    pub fixed_cost: f64,
    pub co2_g_per_km: Option<f64>,
    pub delivered: u32,
    pub failed: u32,
}

impl RouteTally {
    pub fn distance_m(&self) -> f64 {
        if self.measured { self.actual_distance_m } else { self.planned_distance_m }
    }

    /// Start to the last completed stop; `None` before the first one.
    pub fn actual_duration_s(&self) -> Option<i64> {
        self.last_stop_at.map(|end| (end - self.started_at).whole_seconds().max(0))
    }

    pub fn cost(&self) -> f64 {
        let hours = self.actual_duration_s().map_or(f64::from(self.planned_duration_s), |s| s as f64) / 3600.0;
        self.fixed_cost + self.cost_per_km * self.distance_m() / 1000.0 + self.cost_per_hour * hours
    }

    pub fn co2_kg(&self) -> Option<f64> {
        self.co2_g_per_km.map(|g| g * self.distance_m() / 1000.0 / 1000.0)
    }
}

/// The last ping folded in, and runs in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PingCursor {
    pub seq: u64,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
    pub location: LatLon,
    /// Where the last counted move ended.
    pub anchor: LatLon,
    pub accuracy_m: f64,
    pub route_id: Option<RouteId>,
    pub idle_run_s: i64,
    pub speeding: bool,
}

/// Everything one driver did on one day, folded from events. Applying an
/// event twice changes nothing, so at-least-once delivery of events is fine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverDay {
    pub driver_id: DriverId,
    #[serde(with = "crate::time::iso_date")]
    pub date: Date,
    pub routes: BTreeMap<RouteId, RouteTally>,
    pub delivered: u32,
    pub on_time: u32,
    pub early: u32,
    pub late: u32,
    pub without_window: u32,
    pub delivery_time_s_sum: i64,
    pub delivery_time_count: u32,
    pub first_attempts: u32,
    pub first_attempt_successes: u32,
    pub failed: u32,
    pub reattempts: u32,
    pub failure_reasons: BTreeMap<FailureReason, u32>,
    /// Minor units by currency.
    pub cod_due: BTreeMap<String, u64>,
    pub cod_collected: BTreeMap<String, u64>,
    pub cod_mismatches: BTreeSet<OrderId>,
    pub ratings: BTreeMap<OrderId, u8>,
    pub idle_s: i64,
    pub speeding_events: u32,
    pub ping_cursor: Option<PingCursor>,
    /// Keys of the completion events already applied.
    pub applied: BTreeSet<String>,
}

impl DriverDay {
    pub fn new(driver_id: DriverId, date: Date) -> Self {
        Self {
            driver_id,
            date,
            routes: BTreeMap::new(),
            delivered: 0,
            on_time: 0,
            early: 0,
            late: 0,
            without_window: 0,
            delivery_time_s_sum: 0,
            delivery_time_count: 0,
            first_attempts: 0,
            first_attempt_successes: 0,
            failed: 0,
            reattempts: 0,
            failure_reasons: BTreeMap::new(),
            cod_due: BTreeMap::new(),
            cod_collected: BTreeMap::new(),
            cod_mismatches: BTreeSet::new(),
            ratings: BTreeMap::new(),
            idle_s: 0,
            speeding_events: 0,
            ping_cursor: None,
            applied: BTreeSet::new(),
        }
    }

    /// Folds one event in. Returns false when it was already applied (or is
    /// a late ping) and nothing changed.
    pub fn apply(&mut self, event: &DeliveryEvent, policy: &ReportPolicy) -> bool {
        match event {
            DeliveryEvent::RouteStarted {
                route_id,
                vehicle_id,
                at,
                planned_distance_m,
                planned_duration_s,
                stops,
                cost_per_km,
                cost_per_hour,
                fixed_cost,
                co2_g_per_km,
            } => {
                if self.routes.contains_key(route_id) {
                    return false;
                }
                self.routes.insert(
                    route_id.clone(),
                    RouteTally {
                        vehicle_id: vehicle_id.clone(),
                        started_at: *at,
                        last_stop_at: None,
                        planned_distance_m: *planned_distance_m,
                        planned_duration_s: *planned_duration_s,
                        actual_distance_m: 0.0,
                        measured: false,
                        stops: stops.clone(),
                        cost_per_km: *cost_per_km,
                        cost_per_hour: *cost_per_hour,
                        fixed_cost: *fixed_cost,
                        co2_g_per_km: *co2_g_per_km,
                        delivered: 0,
                        failed: 0,
                    },
                );
                true
            }
            DeliveryEvent::Delivered { order_id, route_id, attempt, at, window, cod_due, cod_collected } => {
                if !self.applied.insert(format!("delivered#{order_id}#{attempt}")) {
                    return false;
                }
                self.delivered += 1;
                match window {
                    Some(w) if *at < w.start => self.early += 1,
                    Some(w) if *at > w.end => self.late += 1,
                    Some(_) => self.on_time += 1,
                    None => self.without_window += 1,
                }
                if *attempt == 0 {
                    self.first_attempts += 1;
                    self.first_attempt_successes += 1;
                }
                if let Some(route) = self.routes.get_mut(route_id) {
                    route.delivered += 1;
                    route.last_stop_at = Some(route.last_stop_at.map_or(*at, |t| t.max(*at)));
                    self.delivery_time_s_sum += (*at - route.started_at).whole_seconds().max(0);
                    self.delivery_time_count += 1;
                }
                if let Some(due) = cod_due {
                    *self.cod_due.entry(due.currency.clone()).or_default() += due.amount_minor;
                    if cod_collected.as_ref().is_none_or(|c| c.amount != *due) {
                        self.cod_mismatches.insert(order_id.clone());
                    }
                }
                if let Some(c) = cod_collected {
                    *self.cod_collected.entry(c.amount.currency.clone()).or_default() += c.amount.amount_minor;
                }
                true
            }
            DeliveryEvent::Failed { order_id, route_id, attempt, at, reason, reattempt } => {
                if !self.applied.insert(format!("failed#{order_id}#{attempt}")) {
                    return false;
                }
                self.failed += 1;
                *self.failure_reasons.entry(*reason).or_default() += 1;
                if *reattempt {
                    self.reattempts += 1;
                }
                if *attempt == 0 {
                    self.first_attempts += 1;
                }
                if let Some(route) = self.routes.get_mut(route_id) {
                    route.failed += 1;
                    route.last_stop_at = Some(route.last_stop_at.map_or(*at, |t| t.max(*at)));
                }
                true
            }
            DeliveryEvent::Rated { order_id, stars } => {
                let stars = (*stars).clamp(1, 5);
                self.ratings.insert(order_id.clone(), stars) != Some(stars)
            }
            DeliveryEvent::Ping { route_id, seq, at, location, accuracy_m, speed_mps } => {
                self.fold_ping(route_id.as_ref(), *seq, *at, *location, *accuracy_m, *speed_mps, policy)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fold_ping(
        &mut self,
        route_id: Option<&RouteId>,
        seq: u64,
        at: OffsetDateTime,
        location: LatLon,
        accuracy_m: Option<f64>,
        speed_mps: Option<f64>,
        policy: &ReportPolicy,
    ) -> bool {
        let accuracy = accuracy_m.unwrap_or(0.0).max(0.0);
        let speeding = speed_mps.is_some_and(|s| s > policy.speed_limit_mps);
        let Some(prev) = self.ping_cursor.take() else {
            if speeding {
                self.speeding_events += 1;
            }
            self.ping_cursor = Some(PingCursor {
                seq,
                at,
                location,
                anchor: location,
                accuracy_m: accuracy,
                route_id: route_id.cloned(),
                idle_run_s: 0,
                speeding,
            });
            return true;
        };
        // A ping older than the last one folded in (late, or replayed) is
        // stored by tracking but too late for distance and idle time.
        if seq <= prev.seq {
            self.ping_cursor = Some(prev);
            return false;
        }
        let gap = (at - prev.at).whole_seconds();
        let same_route = prev.route_id.as_ref() == route_id;
        let mut anchor = prev.anchor;
        if same_route {
            let moved = anchor.distance_m(location);
            if moved > prev.accuracy_m.max(accuracy).max(10.0) {
                if let Some(route) = route_id.and_then(|r| self.routes.get_mut(r)) {
                    route.actual_distance_m += moved;
                    route.measured = true;
                }
                anchor = location;
            }
        } else {
            anchor = location;
            if let Some(route) = route_id.and_then(|r| self.routes.get_mut(r)) {
                route.measured = true;
            }
        }
        // Idle: a slow interval away from every stop extends the run.
        let mut idle_run_s = prev.idle_run_s;
        let speed = speed_mps.unwrap_or_else(|| if gap > 0 { prev.location.distance_m(location) / gap as f64 } else { 0.0 });
        let near_stop = route_id
            .and_then(|r| self.routes.get(r))
            .is_some_and(|route| route.stops.iter().any(|s| s.distance_m(location) <= policy.stop_radius_m));
        if same_route && gap > 0 && gap <= policy.max_ping_gap_s && speed < policy.idle_speed_mps && !near_stop {
            idle_run_s += gap;
        } else {
            self.close_idle_run(idle_run_s, policy);
            idle_run_s = 0;
        }
        if speeding && !prev.speeding {
            self.speeding_events += 1;
        }
        self.ping_cursor = Some(PingCursor {
            seq,
            at,
            location,
            anchor,
            accuracy_m: accuracy,
            route_id: route_id.cloned(),
            idle_run_s,
            speeding,
        });
        true
    }

    fn close_idle_run(&mut self, run_s: i64, policy: &ReportPolicy) {
        if run_s >= policy.idle_min_s {
            self.idle_s += run_s;
        }
    }

    /// Idle time including a run still in progress.
    pub fn idle_s_so_far(&self, policy: &ReportPolicy) -> i64 {
        let open = self.ping_cursor.as_ref().map_or(0, |c| c.idle_run_s);
        self.idle_s + if open >= policy.idle_min_s { open } else { 0 }
    }
}

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

/// `GET /api/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&drivers=a,b`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    #[serde(with = "crate::time::iso_date")]
    pub from: Date,
    #[serde(with = "crate::time::iso_date")]
    pub to: Date,
    /// Only these drivers; empty means all.
    #[serde(default)]
    pub drivers: Vec<DriverId>,
}

impl crate::validation::Validate for ReportQuery {
    fn validate_at(&self, path: &crate::validation::Path, report: &mut crate::validation::Report) {
        use crate::validation::codes;
        if self.to < self.from {
            report.push(&path.field("to"), codes::OUT_OF_RANGE, "must not be before `from`");
        } else if (self.to - self.from).whole_days() >= MAX_REPORT_DAYS {
            report.push(&path.field("to"), codes::OUT_OF_RANGE, format!("a report covers at most {MAX_REPORT_DAYS} days; narrow the range"));
        }
    }
}

/// A share: `numerator` of `denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rate {
    pub numerator: u32,
    pub denominator: u32,
}

impl Rate {
    /// In percent; `None` when there is nothing to measure.
    pub fn percent(self) -> Option<f64> {
        (self.denominator > 0).then(|| 100.0 * f64::from(self.numerator) / f64::from(self.denominator))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverShiftRow {
    pub driver_id: DriverId,
    #[serde(with = "crate::time::iso_date")]
    pub date: Date,
    pub delivered: u32,
    pub failed: u32,
    pub on_time: Rate,
    pub distance_m: f64,
    pub idle_s: i64,
    pub speeding_events: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteRow {
    pub route_id: RouteId,
    pub driver_id: DriverId,
    #[serde(with = "crate::time::iso_date")]
    pub date: Date,
    pub vehicle_id: VehicleId,
    pub delivered: u32,
    pub failed: u32,
    pub planned_distance_m: f64,
    /// `None` when no ping measured the route.
    pub actual_distance_m: Option<f64>,
    pub planned_duration_s: u32,
    pub actual_duration_s: Option<i64>,
    pub cost: f64,
    pub co2_kg: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodRow {
    pub driver_id: DriverId,
    pub currency: String,
    pub due_minor: u64,
    pub collected_minor: u64,
    /// Orders whose collected amount differs from what was due.
    pub mismatched_orders: Vec<OrderId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyOnTime {
    #[serde(with = "crate::time::iso_date")]
    pub date: Date,
    pub on_time: Rate,
}

/// Every metric for a date range (and optionally some drivers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub delivered: u32,
    pub failed: u32,
    pub on_time: Rate,
    pub early: u32,
    pub late: u32,
    pub without_window: u32,
    pub on_time_by_day: Vec<DailyOnTime>,
    pub average_delivery_time_s: Option<f64>,
    pub first_attempt_success: Rate,
    pub reattempts: u32,
    pub failure_reasons: Vec<(FailureReason, u32)>,
    pub shifts: Vec<DriverShiftRow>,
    pub routes: Vec<RouteRow>,
    pub cost_per_delivery: Option<f64>,
    pub rating_count: u32,
    pub rating_average: Option<f64>,
    /// Ratings with 1..=5 stars, in that order.
    pub rating_histogram: [u32; 5],
    pub cod: Vec<CodRow>,
    pub co2_kg: f64,
}

impl Report {
    /// Merges driver-days (already filtered by date and driver).
    pub fn from_days(days: &[DriverDay], policy: &ReportPolicy) -> Self {
        let mut r = Report {
            delivered: 0,
            failed: 0,
            on_time: Rate::default(),
            early: 0,
            late: 0,
            without_window: 0,
            on_time_by_day: Vec::new(),
            average_delivery_time_s: None,
            first_attempt_success: Rate::default(),
            reattempts: 0,
            failure_reasons: Vec::new(),
            shifts: Vec::new(),
            routes: Vec::new(),
            cost_per_delivery: None,
            rating_count: 0,
            rating_average: None,
            rating_histogram: [0; 5],
            cod: Vec::new(),
            co2_kg: 0.0,
        };
        let mut reasons: BTreeMap<FailureReason, u32> = BTreeMap::new();
        let mut by_day: BTreeMap<Date, Rate> = BTreeMap::new();
        let (mut time_sum, mut time_count, mut cost, mut stars) = (0i64, 0u32, 0.0, 0u32);
        for day in days {
            let windowed = day.on_time + day.early + day.late;
            r.delivered += day.delivered;
            r.failed += day.failed;
            r.on_time.numerator += day.on_time;
            r.on_time.denominator += windowed;
            let daily = by_day.entry(day.date).or_default();
            daily.numerator += day.on_time;
            daily.denominator += windowed;
            r.early += day.early;
            r.late += day.late;
            r.without_window += day.without_window;
            time_sum += day.delivery_time_s_sum;
            time_count += day.delivery_time_count;
            r.first_attempt_success.numerator += day.first_attempt_successes;
            r.first_attempt_success.denominator += day.first_attempts;
            r.reattempts += day.reattempts;
            for (reason, n) in &day.failure_reasons {
                *reasons.entry(*reason).or_default() += n;
            }
            let mut distance = 0.0;
            for (route_id, route) in &day.routes {
                distance += route.distance_m();
                cost += route.cost();
                r.co2_kg += route.co2_kg().unwrap_or(0.0);
                r.routes.push(RouteRow {
                    route_id: route_id.clone(),
                    driver_id: day.driver_id.clone(),
                    date: day.date,
                    vehicle_id: route.vehicle_id.clone(),
                    delivered: route.delivered,
                    failed: route.failed,
                    planned_distance_m: route.planned_distance_m,
                    actual_distance_m: route.measured.then_some(route.actual_distance_m),
                    planned_duration_s: route.planned_duration_s,
                    actual_duration_s: route.actual_duration_s(),
                    cost: route.cost(),
                    co2_kg: route.co2_kg(),
                });
            }
            r.shifts.push(DriverShiftRow {
                driver_id: day.driver_id.clone(),
                date: day.date,
                delivered: day.delivered,
                failed: day.failed,
                on_time: Rate { numerator: day.on_time, denominator: windowed },
                distance_m: distance,
                idle_s: day.idle_s_so_far(policy),
                speeding_events: day.speeding_events,
            });
            for s in day.ratings.values() {
                r.rating_histogram[usize::from(s - 1)] += 1;
                stars += u32::from(*s);
                r.rating_count += 1;
            }
            let currencies: BTreeSet<&String> = day.cod_due.keys().chain(day.cod_collected.keys()).collect();
            for currency in currencies {
                r.cod.push(CodRow {
                    driver_id: day.driver_id.clone(),
                    currency: currency.clone(),
                    due_minor: day.cod_due.get(currency).copied().unwrap_or(0),
                    collected_minor: day.cod_collected.get(currency).copied().unwrap_or(0),
                    mismatched_orders: day.cod_mismatches.iter().cloned().collect(),
                });
            }
        }
        r.average_delivery_time_s = (time_count > 0).then(|| time_sum as f64 / f64::from(time_count));
        r.cost_per_delivery = (r.delivered > 0).then(|| cost / f64::from(r.delivered));
        r.rating_average = (r.rating_count > 0).then(|| f64::from(stars) / f64::from(r.rating_count));
        r.failure_reasons = reasons.into_iter().collect();
        r.on_time_by_day = by_day.into_iter().map(|(date, on_time)| DailyOnTime { date, on_time }).collect();
        r
    }

    /// Every table as CSV (name, text), for export.
    pub fn csv_tables(&self) -> Vec<(&'static str, String)> {
        let mut shifts = csv_line(&["driver_id", "date", "delivered", "failed", "on_time_pct", "distance_km", "idle_min", "speeding_events"]);
        for s in &self.shifts {
            shifts += &csv_line(&[
                s.driver_id.as_str(),
                &s.date.to_string(),
                &s.delivered.to_string(),
                &s.failed.to_string(),
                &fmt_opt(s.on_time.percent(), 1),
                &format!("{:.2}", s.distance_m / 1000.0),
                &format!("{:.1}", s.idle_s as f64 / 60.0),
                &s.speeding_events.to_string(),
            ]);
        }
        let mut routes = csv_line(&[
            "route_id",
            "driver_id",
            "date",
            "vehicle_id",
            "delivered",
            "failed",
            "planned_km",
            "actual_km",
            "planned_min",
            "actual_min",
            "cost",
            "co2_kg",
        ]);
        for r in &self.routes {
            routes += &csv_line(&[
                r.route_id.as_str(),
                r.driver_id.as_str(),
                &r.date.to_string(),
                r.vehicle_id.as_str(),
                &r.delivered.to_string(),
                &r.failed.to_string(),
                &format!("{:.2}", r.planned_distance_m / 1000.0),
                &fmt_opt(r.actual_distance_m.map(|m| m / 1000.0), 2),
                &format!("{:.1}", f64::from(r.planned_duration_s) / 60.0),
                &fmt_opt(r.actual_duration_s.map(|s| s as f64 / 60.0), 1),
                &format!("{:.2}", r.cost),
                &fmt_opt(r.co2_kg, 3),
            ]);
        }
        let mut reasons = csv_line(&["reason", "label", "count"]);
        for (reason, n) in &self.failure_reasons {
            let code = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            reasons += &csv_line(&[&code, reason.label(), &n.to_string()]);
        }
        let mut days = csv_line(&["date", "on_time", "with_window", "on_time_pct"]);
        for d in &self.on_time_by_day {
            days += &csv_line(&[
                &d.date.to_string(),
                &d.on_time.numerator.to_string(),
                &d.on_time.denominator.to_string(),
                &fmt_opt(d.on_time.percent(), 1),
            ]);
        }
        let mut cod = csv_line(&["driver_id", "currency", "due", "collected", "difference", "mismatched_orders"]);
        for c in &self.cod {
            let ids: Vec<&str> = c.mismatched_orders.iter().map(OrderId::as_str).collect();
            cod += &csv_line(&[
                c.driver_id.as_str(),
                &c.currency,
                &minor_to_units(c.due_minor as i64),
                &minor_to_units(c.collected_minor as i64),
                &minor_to_units(c.collected_minor as i64 - c.due_minor as i64),
                &ids.join(" "),
            ]);
        }
        let mut ratings = csv_line(&["stars", "count"]);
        for (i, n) in self.rating_histogram.iter().enumerate() {
            ratings += &csv_line(&[&(i + 1).to_string(), &n.to_string()]);
        }
        vec![
            ("shifts", shifts),
            ("routes", routes),
            ("failure_reasons", reasons),
            ("on_time_by_day", days),
            ("cash_on_delivery", cod),
            ("ratings", ratings),
        ]
    }
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
}

fn minor_to_units(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// One RFC 4180 line: fields with commas, quotes or line breaks are quoted.
fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { (*f).to_owned() }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::PaymentMethod;
    use time::macros::{date, datetime};

    fn rid(s: &str) -> RouteId {
        RouteId::new(s).unwrap()
    }

    fn oid(s: &str) -> OrderId {
        OrderId::new(s).unwrap()
    }

    fn eur(minor: u64) -> Money {
        Money { amount_minor: minor, currency: "EUR".into() }
    }

    fn window(start: OffsetDateTime, end: OffsetDateTime) -> Option<TimeWindow> {
        Some(TimeWindow::new(start, end))
    }

    fn delivered(order: &str, route: &str, attempt: u32, at: OffsetDateTime, window: Option<TimeWindow>) -> DeliveryEvent {
        DeliveryEvent::Delivered { order_id: oid(order), route_id: rid(route), attempt, at, window, cod_due: None, cod_collected: None }
    }

    fn failed(order: &str, route: &str, at: OffsetDateTime, reason: FailureReason, reattempt: bool) -> DeliveryEvent {
        DeliveryEvent::Failed { order_id: oid(order), route_id: rid(route), attempt: 0, at, reason, reattempt }
    }

    fn ping(seq: u64, at: OffsetDateTime, lat: f64, speed: f64) -> DeliveryEvent {
        DeliveryEvent::Ping {
            route_id: Some(rid("r-a")),
            seq,
            at,
            location: LatLon::new(lat, 4.80),
            accuracy_m: Some(5.0),
            speed_mps: Some(speed),
        }
    }

    /// Driver A: one on-time, one early and one late (second-attempt)
    /// delivery, one failure, pings with a speeding run and a 3-minute stop;
    /// one duplicate delivery and one late ping. Driver B: no pings.
    fn known_day() -> (DriverDay, DriverDay, Vec<DeliveryEvent>, Vec<DeliveryEvent>) {
        let a_events = vec![
            DeliveryEvent::RouteStarted {
                route_id: rid("r-a"),
                vehicle_id: VehicleId::new("v-a").unwrap(),
                at: datetime!(2026-03-10 8:00 +1),
                planned_distance_m: 20_000.0,
                planned_duration_s: 4 * 3600,
                stops: vec![LatLon::new(45.75, 4.85), LatLon::new(45.76, 4.85)],
                cost_per_km: 0.2,
                cost_per_hour: 20.0,
                fixed_cost: 30.0,
                co2_g_per_km: Some(100.0),
            },
            ping(1, datetime!(2026-03-10 8:00 +1), 45.70, 10.0),
            ping(2, datetime!(2026-03-10 8:01 +1), 45.71, 20.0),
            ping(3, datetime!(2026-03-10 8:02 +1), 45.72, 20.0),
            ping(4, datetime!(2026-03-10 8:03 +1), 45.72, 0.0),
            ping(5, datetime!(2026-03-10 8:05 +1), 45.72, 0.0),
            ping(6, datetime!(2026-03-10 8:06 +1), 45.73, 12.0),
            ping(2, datetime!(2026-03-10 8:01 +1), 45.71, 20.0),
            DeliveryEvent::Delivered {
                order_id: oid("o1"),
                route_id: rid("r-a"),
                attempt: 0,
                at: datetime!(2026-03-10 9:00 +1),
                window: window(datetime!(2026-03-10 8:30 +1), datetime!(2026-03-10 9:30 +1)),
                cod_due: Some(eur(2000)),
                cod_collected: Some(CashCollected { amount: eur(2000), method: PaymentMethod::Cash }),
            },
            delivered("o2", "r-a", 0, datetime!(2026-03-10 10:00 +1), window(datetime!(2026-03-10 10:15 +1), datetime!(2026-03-10 11:00 +1))),
            failed("o3", "r-a", datetime!(2026-03-10 10:30 +1), FailureReason::RecipientAbsent, true),
            DeliveryEvent::Delivered {
                order_id: oid("o4"),
                route_id: rid("r-a"),
                attempt: 1,
                at: datetime!(2026-03-10 11:00 +1),
                window: window(datetime!(2026-03-10 9:00 +1), datetime!(2026-03-10 10:00 +1)),
                cod_due: Some(eur(1500)),
                cod_collected: Some(CashCollected { amount: eur(1000), method: PaymentMethod::Cash }),
            },
            delivered("o1", "r-a", 0, datetime!(2026-03-10 9:00 +1), None),
            DeliveryEvent::Rated { order_id: oid("o1"), stars: 5 },
            DeliveryEvent::Rated { order_id: oid("o1"), stars: 4 },
            DeliveryEvent::Rated { order_id: oid("o2"), stars: 2 },
        ];
        let b_events = vec![
            DeliveryEvent::RouteStarted {
                route_id: rid("r-b"),
                vehicle_id: VehicleId::new("v-b").unwrap(),
                at: datetime!(2026-03-10 9:00 +1),
                planned_distance_m: 10_000.0,
                planned_duration_s: 2 * 3600,
                stops: vec![],
                cost_per_km: 0.5,
                cost_per_hour: 15.0,
                fixed_cost: 10.0,
                co2_g_per_km: None,
            },
            delivered("o5", "r-b", 0, datetime!(2026-03-10 9:30 +1), None),
            failed("o6", "r-b", datetime!(2026-03-10 10:00 +1), FailureReason::WrongAddress, false),
            failed("o7", "r-b", datetime!(2026-03-10 10:30 +1), FailureReason::RecipientAbsent, true),
            DeliveryEvent::Rated { order_id: oid("o5"), stars: 5 },
        ];
        let policy = ReportPolicy::default();
        let mut a = DriverDay::new(DriverId::new("drv-a").unwrap(), date!(2026 - 03 - 10));
        for e in &a_events {
            a.apply(e, &policy);
        }
        let mut b = DriverDay::new(DriverId::new("drv-b").unwrap(), date!(2026 - 03 - 10));
        for e in &b_events {
            b.apply(e, &policy);
        }
        (a, b, a_events, b_events)
    }

    fn close(actual: f64, expected: f64, what: &str) {
        assert!((actual - expected).abs() < 1e-3, "{what}: {actual} != {expected}");
    }

    #[test]
    fn a_known_day_gives_the_hand_computed_metrics() {
        let (a, b, _, _) = known_day();
        let policy = ReportPolicy::default();
        let r = Report::from_days(&[a.clone(), b], &policy);
        assert_eq!((r.delivered, r.failed), (4, 3));
        assert_eq!(r.on_time, Rate { numerator: 1, denominator: 3 });
        assert_eq!((r.early, r.late, r.without_window), (1, 1, 1));
        // (3600 + 7200 + 10800 + 1800) / 4
        close(r.average_delivery_time_s.unwrap(), 5850.0, "delivery time");
        // first attempts: o1, o2, o3 (A) and o5, o6, o7 (B); o4 was a second attempt
        assert_eq!(r.first_attempt_success, Rate { numerator: 3, denominator: 6 });
        assert_eq!(r.reattempts, 2);
        assert_eq!(r.failure_reasons, [(FailureReason::RecipientAbsent, 2), (FailureReason::WrongAddress, 1)]);
        // Three 0.01° moves north: 6371008.8 m × 0.01 × π/180 each.
        let step = 6_371_008.8 * 0.01_f64.to_radians();
        let route_a = &r.routes[0];
        close(route_a.actual_distance_m.unwrap(), 3.0 * step, "route A distance");
        assert_eq!(route_a.actual_duration_s, Some(3 * 3600));
        let cost_a = 30.0 + 0.2 * 3.0 * step / 1000.0 + 20.0 * 3.0;
        close(route_a.cost, cost_a, "route A cost");
        close(route_a.co2_kg.unwrap(), 100.0 * 3.0 * step / 1e6, "route A CO2");
        let route_b = &r.routes[1];
        assert_eq!(route_b.actual_distance_m, None, "no pings: no measured distance");
        assert_eq!(route_b.actual_duration_s, Some(5400));
        close(route_b.cost, 10.0 + 0.5 * 10.0 + 15.0 * 1.5, "route B cost falls back to planned distance");
        assert_eq!(route_b.co2_kg, None);
        close(r.cost_per_delivery.unwrap(), (cost_a + 37.5) / 4.0, "cost per delivery");
        assert_eq!(r.rating_count, 3);
        assert_eq!(r.rating_histogram, [0, 1, 0, 1, 1]);
        close(r.rating_average.unwrap(), 11.0 / 3.0, "rating average");
        assert_eq!(r.cod.len(), 1);
        assert_eq!((r.cod[0].due_minor, r.cod[0].collected_minor), (3500, 3000));
        assert_eq!(r.cod[0].mismatched_orders, [oid("o4")]);
        let shift_a = &r.shifts[0];
        assert_eq!((shift_a.delivered, shift_a.failed, shift_a.idle_s, shift_a.speeding_events), (3, 1, 180, 1));
        assert_eq!(r.shifts[1].on_time.percent(), None, "no windowed deliveries, no rate");
        assert_eq!(r.on_time_by_day.len(), 1);
    }

    #[test]
    fn applying_every_event_twice_changes_nothing() {
        let (a, _, a_events, _) = known_day();
        let mut again = a.clone();
        let policy = ReportPolicy::default();
        for e in &a_events {
            again.apply(e, &policy);
        }
        assert_eq!(again, a);
    }

    #[test]
    fn a_driver_day_survives_a_json_round_trip() {
        let (a, _, _, _) = known_day();
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<DriverDay>(&text).unwrap(), a);
    }

    #[test]
    fn idle_time_waiting_at_a_stop_is_not_counted() {
        let policy = ReportPolicy::default();
        let mut day = DriverDay::new(DriverId::new("drv-a").unwrap(), date!(2026 - 03 - 10));
        let (a_start, _, _, _) = known_day();
        let mut started = a_start.routes.clone();
        started.values_mut().for_each(|r| {
            r.actual_distance_m = 0.0;
            r.measured = false;
        });
        day.routes = started;
        // Ten minutes parked 20 m from the first stop.
        for (i, minute) in [0u8, 2, 4, 6, 8, 10].into_iter().enumerate() {
            let at = datetime!(2026-03-10 9:00 +1) + time::Duration::minutes(i64::from(minute));
            day.apply(&DeliveryEvent::Ping { route_id: Some(rid("r-a")), seq: i as u64 + 1, at, location: LatLon::new(45.7502, 4.85), accuracy_m: Some(5.0), speed_mps: Some(0.0) }, &policy);
        }
        assert_eq!(day.idle_s_so_far(&policy), 0);
    }

    #[test]
    fn csv_tables_quote_fields_and_list_every_table() {
        let (a, b, _, _) = known_day();
        let r = Report::from_days(&[a, b], &ReportPolicy::default());
        let tables = r.csv_tables();
        let names: Vec<&str> = tables.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["shifts", "routes", "failure_reasons", "on_time_by_day", "cash_on_delivery", "ratings"]);
        let reasons = &tables[2].1;
        assert!(reasons.starts_with("reason,label,count\r\n"), "{reasons}");
        assert!(reasons.contains("recipient_absent,Recipient not available,2\r\n"), "{reasons}");
        assert_eq!(csv_line(&["a,b", "say \"hi\""]), "\"a,b\",\"say \"\"hi\"\"\"\r\n");
        assert!(tables[4].1.contains("drv-a,EUR,35.00,30.00,-5.00,o4\r\n"), "{}", tables[4].1);
    }
}
