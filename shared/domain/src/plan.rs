//! Plans (one depot, one day), their routes and stops.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::geo::LatLon;
use crate::ids::{
    DepotId, DriverId, OrderId, OrgId, PlanId, RouteId, StopId, TrackingToken, VehicleId,
};
use crate::load::Load;
use crate::time::{iso_date, rfc3339};
use crate::validation::{Path, Report, Validate, codes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Being edited; drivers and customers see nothing.
    Draft,
    /// Sent to drivers; its orders are dispatched.
    Published,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Delivery,
}

/// One visit on a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stop {
    pub id: StopId,
    pub order_id: OrderId,
    /// 1-based position on the route.
    pub sequence: u32,
    pub kind: StopKind,
    pub location: LatLon,
    #[serde(with = "rfc3339")]
    pub planned_arrival: OffsetDateTime,
    /// Arrival + waiting + service.
    #[serde(with = "rfc3339")]
    pub planned_departure: OffsetDateTime,
    /// Set when the plan is published and the customer can track.
    #[serde(default)]
    pub tracking_token: Option<TrackingToken>,
}

/// What a route costs and carries.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteTotals {
    pub distance_m: f64,
    /// Start of shift use to end: driving + service + waiting (+ break).
    pub duration_s: u32,
    pub driving_s: u32,
    pub service_s: u32,
    pub waiting_s: u32,
    /// Highest load on board at any point, `[weight_kg, volume_l, items]`.
    pub max_load: Load,
    /// In the organisation's currency.
    pub cost: f64,
}

/// One vehicle's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    pub id: RouteId,
    pub vehicle_id: VehicleId,
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    #[serde(with = "rfc3339")]
    pub planned_start: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub planned_end: OffsetDateTime,
    pub stops: Vec<Stop>,
    pub totals: RouteTotals,
}

/// An order the planner could not place, and why (free text from the optimizer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unassigned {
    pub order_id: OrderId,
    pub reason: String,
}

/// All routes of one depot for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub id: PlanId,
    pub org_id: OrgId,
    pub depot_id: DepotId,
    /// Local delivery date, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    pub date: Date,
    pub status: PlanStatus,
    /// Optimistic concurrency, as for orders.
    pub version: u64,
    pub routes: Vec<Route>,
    #[serde(default)]
    pub unassigned: Vec<Unassigned>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
}

/// Why a plan status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanStatusError {
    #[error("plan is already published")]
    AlreadyPublished,
    #[error("plan is a draft")]
    NotPublished,
}

impl Plan {
    /// Marks a draft published at `at`. The caller dispatches its orders.
    pub fn publish(&mut self, at: OffsetDateTime) -> Result<(), PlanStatusError> {
        if self.status == PlanStatus::Published {
            return Err(PlanStatusError::AlreadyPublished);
        }
        self.status = PlanStatus::Published;
        self.published_at = Some(at);
        self.version += 1;
        self.updated_at = at;
        Ok(())
    }

    /// Back to draft for re-planning; the caller unplans its orders.
    pub fn unpublish(&mut self, at: OffsetDateTime) -> Result<(), PlanStatusError> {
        if self.status == PlanStatus::Draft {
            return Err(PlanStatusError::NotPublished);
        }
        self.status = PlanStatus::Draft;
        self.published_at = None;
        self.version += 1;
        self.updated_at = at;
        Ok(())
    }

    /// Every stop with its route.
    pub fn stops(&self) -> impl Iterator<Item = (&Route, &Stop)> {
        self.routes
            .iter()
            .flat_map(|r| r.stops.iter().map(move |s| (r, s)))
    }

    /// The route and stop serving `order_id` with the given kind.
    pub fn find_stop(&self, order_id: &OrderId, kind: StopKind) -> Option<(&Route, &Stop)> {
        self.stops()
            .find(|(_, s)| &s.order_id == order_id && s.kind == kind)
    }

    /// Plan-wide totals.
    pub fn totals(&self) -> RouteTotals {
        self.routes
            .iter()
            .fold(RouteTotals::default(), |acc, r| RouteTotals {
                distance_m: acc.distance_m + r.totals.distance_m,
                duration_s: acc.duration_s + r.totals.duration_s,
                driving_s: acc.driving_s + r.totals.driving_s,
                service_s: acc.service_s + r.totals.service_s,
                waiting_s: acc.waiting_s + r.totals.waiting_s,
                max_load: Load(
                    (0..acc.max_load.0.len().max(r.totals.max_load.0.len()))
                        .map(|i| {
                            acc.max_load
                                .0
                                .get(i)
                                .copied()
                                .unwrap_or(0.0)
                                .max(r.totals.max_load.0.get(i).copied().unwrap_or(0.0))
                        })
                        .collect(),
                ),
                cost: acc.cost + r.totals.cost,
            })
    }
}

impl Validate for Route {
    /// Structural checks: sequences 1..n in order, times non-decreasing,
    /// pickups before their deliveries.
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if self.planned_end < self.planned_start {
            report.push(
                &path.field("planned_end"),
                codes::WINDOW_ENDS_BEFORE_START,
                "must not be before planned_start",
            );
        }
        let mut last_departure = self.planned_start;
        let mut picked = BTreeSet::new();
        for (i, stop) in self.stops.iter().enumerate() {
            let sp = path.field("stops").index(i);
            if stop.sequence as usize != i + 1 {
                report.push(
                    &sp.field("sequence"),
                    codes::SEQUENCE_GAP,
                    format!("must be {} (stops are numbered 1..n in order)", i + 1),
                );
            }
            stop.location.validate_at(&sp.field("location"), report);
            if stop.planned_departure < stop.planned_arrival {
                report.push(
                    &sp.field("planned_departure"),
                    codes::WINDOW_ENDS_BEFORE_START,
                    "must not be before planned_arrival",
                );
            }
            if stop.planned_arrival < last_departure {
                report.push(
                    &sp.field("planned_arrival"),
                    codes::OUT_OF_RANGE,
                    "must not be before the previous departure",
                );
            }
            last_departure = stop.planned_departure;
            match stop.kind {
                StopKind::Pickup => {
                    picked.insert(&stop.order_id);
                }
                StopKind::Delivery => {
                    let paired_pickup_later = self.stops[i + 1..]
                        .iter()
                        .any(|s| s.kind == StopKind::Pickup && s.order_id == stop.order_id);
                    if paired_pickup_later && !picked.contains(&stop.order_id) {
                        report.push(&sp, codes::OUT_OF_RANGE, "delivery comes before its pickup");
                    }
                }
            }
        }
        if last_departure > self.planned_end {
            report.push(
                &path.field("planned_end"),
                codes::OUT_OF_RANGE,
                "must not be before the last departure",
            );
        }
    }
}

impl Validate for Plan {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let rp = path.field("routes");
        self.routes.validate_at(&rp, report);
        let mut vehicles = BTreeSet::new();
        let mut stop_ids = BTreeSet::new();
        let mut visits = BTreeSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            if !vehicles.insert(&r.vehicle_id) {
                report.push(
                    &rp.index(i).field("vehicle_id"),
                    codes::DUPLICATE,
                    "vehicle already has a route in this plan",
                );
            }
            for (j, s) in r.stops.iter().enumerate() {
                let sp = rp.index(i).field("stops").index(j);
                if !stop_ids.insert(&s.id) {
                    report.push(&sp.field("id"), codes::DUPLICATE, "stop id used twice");
                }
                if !visits.insert((&s.order_id, s.kind)) {
                    report.push(
                        &sp.field("order_id"),
                        codes::DUPLICATE,
                        "order already has this kind of stop in the plan",
                    );
                }
            }
        }
        if self.status == PlanStatus::Published && self.published_at.is_none() {
            report.push(
                &path.field("published_at"),
                codes::REQUIRED,
                "published plans record when",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::codes;
    use time::macros::{date, datetime};

    fn stop(n: u32, order: &str, kind: StopKind, arrive: OffsetDateTime) -> Stop {
        Stop {
            id: StopId::new(format!("s{n}-{order}")).unwrap(),
            order_id: OrderId::new(order).unwrap(),
            sequence: n,
            kind,
            location: LatLon::new(45.76, 4.83),
            planned_arrival: arrive,
            planned_departure: arrive + time::Duration::minutes(5),
            tracking_token: None,
        }
    }

    fn plan(stops: Vec<Stop>) -> Plan {
        let at = datetime!(2024-03-14 18:00 +1);
        Plan {
            id: PlanId::new("p1").unwrap(),
            org_id: OrgId::new("o").unwrap(),
            depot_id: DepotId::new("d").unwrap(),
            date: date!(2024 - 03 - 15),
            status: PlanStatus::Draft,
            version: 1,
            routes: vec![Route {
                id: RouteId::new("r1").unwrap(),
                vehicle_id: VehicleId::new("v1").unwrap(),
                driver_id: None,
                planned_start: datetime!(2024-03-15 8:00 +1),
                planned_end: datetime!(2024-03-15 12:00 +1),
                stops,
                totals: RouteTotals::default(),
            }],
            unassigned: vec![],
            created_at: at,
            updated_at: at,
            published_at: None,
        }
    }

    #[test]
    fn well_formed_plan_passes_and_can_be_published_once() {
        let mut p = plan(vec![
            stop(1, "a", StopKind::Pickup, datetime!(2024-03-15 9:00 +1)),
            stop(2, "a", StopKind::Delivery, datetime!(2024-03-15 9:30 +1)),
        ]);
        assert!(p.validate().is_ok());
        let at = datetime!(2024-03-14 19:00 +1);
        p.publish(at).unwrap();
        assert_eq!(
            (p.status, p.version, p.published_at),
            (PlanStatus::Published, 2, Some(at))
        );
        assert_eq!(p.publish(at), Err(PlanStatusError::AlreadyPublished));
        assert!(p.validate().is_ok());
        p.unpublish(at).unwrap();
        assert_eq!(p.unpublish(at), Err(PlanStatusError::NotPublished));
        assert!(
            p.find_stop(&OrderId::new("a").unwrap(), StopKind::Delivery)
                .is_some()
        );
    }

    #[test]
    fn plan_reports_sequence_time_order_and_duplicate_problems() {
        let mut second = stop(3, "a", StopKind::Delivery, datetime!(2024-03-15 8:30 +1));
        second.planned_departure = datetime!(2024-03-15 8:00 +1);
        let p = plan(vec![
            stop(1, "a", StopKind::Delivery, datetime!(2024-03-15 9:00 +1)),
            second,
            stop(3, "b", StopKind::Delivery, datetime!(2024-03-15 13:00 +1)),
        ]);
        let e = p.validate().unwrap_err();
        assert!(
            e.has("routes[0].stops[1].sequence", codes::SEQUENCE_GAP),
            "{e}"
        );
        assert!(
            e.has(
                "routes[0].stops[1].planned_departure",
                codes::WINDOW_ENDS_BEFORE_START
            ),
            "{e}"
        );
        assert!(
            e.has("routes[0].stops[1].planned_arrival", codes::OUT_OF_RANGE),
            "{e}"
        );
        assert!(e.has("routes[0].planned_end", codes::OUT_OF_RANGE), "{e}");
        assert!(
            e.has("routes[0].stops[1].order_id", codes::DUPLICATE),
            "{e}"
        );
    }

    #[test]
    fn delivery_before_its_pickup_is_reported() {
        let p = plan(vec![
            stop(1, "a", StopKind::Delivery, datetime!(2024-03-15 9:00 +1)),
            stop(2, "a", StopKind::Pickup, datetime!(2024-03-15 9:30 +1)),
        ]);
        assert_eq!(p.validate().unwrap_err().paths(), ["routes[0].stops[0]"]);
    }
}
