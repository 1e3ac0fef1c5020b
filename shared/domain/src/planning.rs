//! Mapping between the business (depot, vehicles, drivers, orders of one day)
//! and the optimizer's own model, both ways. Pure: the caller passes the plan
//! date and the organisation's UTC offset on that date.
//!
//! Conventions of the [`Problem`] built here:
//! * times are seconds since local midnight of the plan date;
//! * distances are metres: great-circle distance × [`TravelSettings::circuity`],
//!   travel time = distance ÷ [`TravelSettings::speed_kmh`] (no road network yet);
//! * loads are integers: grams, millilitres and items ([`DEMAND_SCALE`]);
//!   demands are rounded up and capacities down, so a plan never overloads;
//! * costs are the vehicle's, per metre and per second;
//! * job ids are order ids, or `{order}/pickup` and `{order}/delivery` for
//!   pickup-and-delivery orders; vehicle ids are vehicle ids.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_optimizer as opt;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::dispatch::{NewRoute, NewStop, SavePlanRequest};
use crate::geo::LatLon;
use crate::ids::{DepotId, DriverId, OrderId, VehicleId};
use crate::lifecycle::OrderState;
use crate::load::{LOAD_DIMENSIONS, Load};
use crate::order::{Order, OrderKind, Priority};
use crate::org::{Depot, Driver};
use crate::plan::{RouteTotals, StopKind, Unassigned};
use crate::time::{LocalWindow, TimeWindow};
use crate::vehicle::Vehicle;

/// Road distance is about 1.3 × the straight line in a European city.
pub const DEFAULT_CIRCUITY: f64 = 1.3;
/// Average urban van speed including stops at lights.
pub const DEFAULT_SPEED_KMH: f64 = 25.0;
/// Multipliers from `[weight_kg, volume_l, items]` to the optimizer's integers
/// `[g, ml, items]`.
pub const DEMAND_SCALE: [f64; LOAD_DIMENSIONS] = [1000.0, 1000.0, 1.0];

/// How travel is estimated; shown to the dispatcher next to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TravelSettings {
    pub circuity: f64,
    pub speed_kmh: f64,
}

impl Default for TravelSettings {
    fn default() -> Self {
        Self {
            circuity: DEFAULT_CIRCUITY,
            speed_kmh: DEFAULT_SPEED_KMH,
        }
    }
}

/// Everything one plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanningInput<'a> {
    pub depot: &'a Depot,
    /// Inactive vehicles and those of other depots are left out.
    pub vehicles: &'a [Vehicle],
    pub drivers: &'a [Driver],
    /// Orders that are not `created` or `planned`, or belong to another depot,
    /// are left out; ones without a geocoded address are reported excluded.
    pub orders: &'a [Order],
    pub date: Date,
    /// The organisation's offset from UTC on `date`.
    pub utc_offset: UtcOffset,
    /// For orders without their own service time.
    pub default_service_time_s: u32,
    pub travel: TravelSettings,
}

/// An order that cannot be planned, with a machine code, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnplannedOrder {
    pub order_id: OrderId,
    /// `not_geocoded`, or an optimizer reason (`skills`, `capacity`,
    /// `time_window`, `shift_or_max_duration`, `break`, `no_room_in_fleet`...).
    pub reason: String,
    pub hint: String,
}

/// What a job of the problem stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRef {
    pub order_id: OrderId,
    pub kind: StopKind,
    pub location: LatLon,
}

/// A problem for the optimizer plus what is needed to read its solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanningProblem {
    pub depot_id: DepotId,
    #[serde(with = "crate::time::iso_date")]
    pub date: Date,
    /// Offset in seconds east of UTC.
    pub utc_offset_s: i32,
    pub problem: opt::Problem,
    /// Job id → order and stop.
    pub jobs: BTreeMap<String, JobRef>,
    /// Vehicle id → the driver who usually drives it (or a free active one).
    pub drivers: BTreeMap<String, DriverId>,
    /// Orders left out before solving (not geocoded).
    pub excluded: Vec<UnplannedOrder>,
}

/// A plan ready for `POST /api/plans`, and why some orders are not in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDraft {
    pub request: SavePlanRequest,
    pub unplanned: Vec<UnplannedOrder>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanningError {
    #[error("depot {0} has no active vehicle")]
    NoVehicles(DepotId),
    #[error("the travel settings must be positive finite numbers")]
    BadTravelSettings,
    #[error("the solution names job {0:?}, which is not in the problem")]
    UnknownJob(String),
    #[error("the solution names vehicle {0:?}, which is not in the problem")]
    UnknownVehicle(String),
    #[error("time {0} s after midnight is out of range")]
    TimeOutOfRange(f64),
}

fn seconds_of_day(w: &LocalWindow) -> opt::TimeWindow {
    opt::TimeWindow::new(
        f64::from(w.start.minutes()) * 60.0,
        f64::from(w.end.minutes()) * 60.0,
    )
}

fn scaled(load: &Load, round: fn(f64) -> f64) -> Vec<i64> {
    (0..LOAD_DIMENSIONS)
        .map(|i| {
            let q = load.0.get(i).copied().unwrap_or(0.0).max(0.0);
            // Scaled loads stay far below 2^53, so the cast is exact.
            round(q * DEMAND_SCALE[i]) as i64
        })
        .collect()
}

fn unscaled(load: &[i64]) -> Load {
    Load(
        (0..LOAD_DIMENSIONS)
            .map(|i| load.get(i).copied().unwrap_or(0) as f64 / DEMAND_SCALE[i])
            .collect(),
    )
}

/// Penalty for leaving an order out: one order outweighs nine of the priority below.
pub fn priority_weight(p: Priority) -> f64 {
    match p {
        Priority::Low => 1.0,
        Priority::Normal => 10.0,
        Priority::High => 100.0,
        Priority::Urgent => 1000.0,
    }
}

/// Human label of an optimizer reason code.
pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        "not_geocoded" => "Address not geocoded",
        "skills" => "No vehicle has the required skills",
        "capacity" => "Too large for every suitable vehicle",
        "unreachable" => "Too far for every suitable vehicle",
        "time_window" => "Time window cannot be met",
        "shift_or_max_duration" => "Does not fit in any shift",
        "break" => "Conflicts with a driver's break",
        "max_stops" => "Vehicle stop limit reached",
        "no_room_in_fleet" => "No room left in the fleet",
        "manual" => "Left out by the dispatcher",
        _ => "Could not be planned",
    }
}

fn midnight(date: Date, offset: UtcOffset) -> OffsetDateTime {
    date.midnight().assume_offset(offset)
}

/// Builds the optimizer's problem for one depot and day.
pub fn build_problem(input: &PlanningInput<'_>) -> Result<PlanningProblem, PlanningError> {
    let t = input.travel;
    if !(t.circuity.is_finite() && t.circuity > 0.0 && t.speed_kmh.is_finite() && t.speed_kmh > 0.0)
    {
        return Err(PlanningError::BadTravelSettings);
    }
    let depot = input.depot;
    let day_start = midnight(input.date, input.utc_offset);
    let mut points: Vec<opt::LatLon> = Vec::new();
    let mut place = |p: LatLon| {
        points.push(opt::LatLon {
            lat: p.lat,
            lon: p.lon,
        });
        points.len() - 1
    };

    let vehicles: Vec<&Vehicle> = input
        .vehicles
        .iter()
        .filter(|v| v.active && v.depot_id.as_ref().is_none_or(|d| d == &depot.id))
        .collect();
    if vehicles.is_empty() {
        return Err(PlanningError::NoVehicles(depot.id.clone()));
    }
    let mut opt_vehicles = Vec::with_capacity(vehicles.len());
    for v in &vehicles {
        let start = place(v.start);
        let end = v.end.map(&mut place);
        opt_vehicles.push(opt::Vehicle {
            id: v.id.to_string(),
            start,
            end,
            shift: Some(seconds_of_day(&v.shift)),
            capacity: scaled(&v.capacity, f64::floor),
            skills: v.skills.iter().cloned().collect(),
            fixed_cost: v.fixed_cost,
            cost_per_distance: v.cost_per_km / 1000.0,
            cost_per_time: v.cost_per_hour / 3600.0,
            max_distance: None,
            max_duration: None,
            max_stops: None,
            break_: v.break_.map(|b| opt::Break {
                window: seconds_of_day(&b.window),
                duration: f64::from(b.duration_s),
            }),
            speed_factor: 1.0,
            under_way: None,
        });
    }
    let drivers = assign_drivers(&vehicles, input.drivers);

    let windows = |ws: &[TimeWindow]| -> Vec<opt::TimeWindow> {
        ws.iter()
            .map(|w| {
                opt::TimeWindow::new(
                    (w.start - day_start).whole_seconds() as f64,
                    (w.end - day_start).whole_seconds() as f64,
                )
            })
            .collect()
    };
    let mut jobs = Vec::new();
    let mut pairs = Vec::new();
    let mut refs = BTreeMap::new();
    let mut excluded = Vec::new();
    for order in input.orders.iter().filter(|o| {
        matches!(o.state(), OrderState::Created | OrderState::Planned)
            && o.depot_id.as_ref().is_none_or(|d| d == &depot.id)
    }) {
        let main = order.address.location();
        let pickup = order.pickup.as_ref().map(|leg| leg.address.location());
        let (Some(main), true) = (main, pickup.is_none_or(|p| p.is_some())) else {
            excluded.push(UnplannedOrder {
                order_id: order.id.clone(),
                reason: "not_geocoded".into(),
                hint: "give the address a map position (lat/lon), then plan again".into(),
            });
            continue;
        };
        let job = |id: String, kind: opt::JobKind, location: usize, service: u32, tws| opt::Job {
            id,
            kind,
            location,
            service: f64::from(service),
            demand: scaled(&order.demand, f64::ceil),
            time_windows: tws,
            priority: priority_weight(order.priority),
            skills: order.required_skills.iter().cloned().collect(),
        };
        let service = order.service_time_or(input.default_service_time_s);
        match (order.kind, &order.pickup) {
            (OrderKind::PickupAndDelivery, Some(leg)) => {
                let p = leg.address.location().unwrap_or(main);
                let (pid, did) = (
                    format!("{}/pickup", order.id),
                    format!("{}/delivery", order.id),
                );
                let pickup_service = leg.service_time_s.unwrap_or(input.default_service_time_s);
                jobs.push(job(
                    pid.clone(),
                    opt::JobKind::Pickup,
                    place(p),
                    pickup_service,
                    windows(&leg.time_windows),
                ));
                jobs.push(job(
                    did.clone(),
                    opt::JobKind::Delivery,
                    place(main),
                    service,
                    windows(&order.time_windows),
                ));
                refs.insert(
                    pid.clone(),
                    JobRef {
                        order_id: order.id.clone(),
                        kind: StopKind::Pickup,
                        location: p,
                    },
                );
                refs.insert(
                    did.clone(),
                    JobRef {
                        order_id: order.id.clone(),
                        kind: StopKind::Delivery,
                        location: main,
                    },
                );
                pairs.push(opt::Pair {
                    pickup: pid,
                    delivery: did,
                });
            }
            (kind, _) => {
                let (jk, sk) = if kind == OrderKind::Pickup {
                    (opt::JobKind::Pickup, StopKind::Pickup)
                } else {
                    (opt::JobKind::Delivery, StopKind::Delivery)
                };
                let id = order.id.to_string();
                jobs.push(job(
                    id.clone(),
                    jk,
                    place(main),
                    service,
                    windows(&order.time_windows),
                ));
                refs.insert(
                    id,
                    JobRef {
                        order_id: order.id.clone(),
                        kind: sk,
                        location: main,
                    },
                );
            }
        }
    }

    let problem = opt::Problem {
        name: format!("{} {}", depot.name, input.date),
        time_unit: opt::TimeUnit::Seconds,
        travel: opt::Travel::Haversine {
            points,
            circuity: t.circuity,
            speed_m_per_s: t.speed_kmh / 3.6,
        },
        jobs,
        pairs,
        vehicles: opt_vehicles,
        locks: Vec::new(),
    };
    Ok(PlanningProblem {
        depot_id: depot.id.clone(),
        date: input.date,
        utc_offset_s: input.utc_offset.whole_seconds(),
        problem,
        jobs: refs,
        drivers,
        excluded,
    })
}

/// Each vehicle's usual active driver, else an active driver without a vehicle
/// of this plan, so routes can be published without manual assignment.
fn assign_drivers(vehicles: &[&Vehicle], drivers: &[Driver]) -> BTreeMap<String, DriverId> {
    let mut out = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for v in vehicles {
        if let Some(d) = drivers
            .iter()
            .find(|d| d.active && d.vehicle_id.as_ref() == Some(&v.id))
        {
            taken.insert(d.id.clone());
            out.insert(v.id.to_string(), d.id.clone());
        }
    }
    let planned: BTreeSet<&VehicleId> = vehicles.iter().map(|v| &v.id).collect();
    let mut free = drivers.iter().filter(|d| {
        d.active
            && !taken.contains(&d.id)
            && d.vehicle_id.as_ref().is_none_or(|v| !planned.contains(v))
    });
    for v in vehicles {
        if !out.contains_key(v.id.as_str())
            && let Some(d) = free.next()
        {
            out.insert(v.id.to_string(), d.id.clone());
        }
    }
    out
}

impl PlanningProblem {
    fn instant(&self, seconds: f64) -> Result<OffsetDateTime, PlanningError> {
        // Beyond a week either way is a broken solution, not a plan.
        if !seconds.is_finite() || seconds.abs() > 7.0 * 86_400.0 {
            return Err(PlanningError::TimeOutOfRange(seconds));
        }
        let offset = UtcOffset::from_whole_seconds(self.utc_offset_s).unwrap_or(UtcOffset::UTC);
        Ok(midnight(self.date, offset) + Duration::seconds(seconds.round() as i64))
    }

    /// Turns the optimizer's solution into a plan for `POST /api/plans`
    /// (routes with timed stops, drivers assigned) and the orders left out.
    pub fn to_plan(&self, solution: &opt::Solution) -> Result<PlanDraft, PlanningError> {
        let mut routes = Vec::new();
        for r in solution.routes.iter().filter(|r| !r.stops.is_empty()) {
            let vehicle = self
                .problem
                .vehicles
                .iter()
                .find(|v| v.id == r.vehicle)
                .ok_or_else(|| PlanningError::UnknownVehicle(r.vehicle.clone()))?;
            let vehicle_id = VehicleId::new(r.vehicle.as_str())
                .map_err(|_| PlanningError::UnknownVehicle(r.vehicle.clone()))?;
            let mut stops = Vec::with_capacity(r.stops.len());
            let mut max_load = r.start_load.clone();
            let (mut driving, mut service, mut waiting) = (0.0, 0.0, 0.0);
            let mut at = r.start_location;
            for s in &r.stops {
                let job = self
                    .jobs
                    .get(&s.job)
                    .ok_or_else(|| PlanningError::UnknownJob(s.job.clone()))?;
                driving += self.problem.travel.duration(at, s.location) / vehicle.speed_factor;
                at = s.location;
                waiting += s.waiting;
                service += s.departure - s.service_start;
                for (m, q) in max_load.iter_mut().zip(&s.load) {
                    *m = (*m).max(*q);
                }
                stops.push(NewStop {
                    order_id: job.order_id.clone(),
                    kind: job.kind,
                    location: Some(job.location),
                    planned_arrival: self.instant(s.arrival)?,
                    planned_departure: self.instant(s.departure)?,
                });
            }
            if let Some(end) = r.end_location {
                driving += self.problem.travel.duration(at, end) / vehicle.speed_factor;
            }
            let secs = |x: f64| x.max(0.0).round() as u32;
            routes.push(NewRoute {
                vehicle_id,
                driver_id: self.drivers.get(&r.vehicle).cloned(),
                planned_start: self.instant(r.departure)?,
                planned_end: self.instant(r.end_time)?,
                stops,
                totals: RouteTotals {
                    distance_m: r.distance,
                    duration_s: secs(r.duration),
                    driving_s: secs(driving),
                    service_s: secs(service),
                    waiting_s: secs(waiting),
                    max_load: unscaled(&max_load),
                    cost: r.cost,
                },
            });
        }

        let mut unplanned = self.excluded.clone();
        let mut seen: BTreeSet<OrderId> = BTreeSet::new();
        for u in &solution.unassigned {
            let job = self
                .jobs
                .get(&u.job)
                .ok_or_else(|| PlanningError::UnknownJob(u.job.clone()))?;
            // A pickup-and-delivery order is reported once, not per stop.
            if seen.insert(job.order_id.clone()) {
                let reason = serde_json::to_value(u.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unassigned".into());
                unplanned.push(UnplannedOrder {
                    order_id: job.order_id.clone(),
                    reason,
                    hint: u.hint.clone(),
                });
            }
        }
        let request = SavePlanRequest {
            depot_id: self.depot_id.clone(),
            date: self.date,
            routes,
            unassigned: unplanned
                .iter()
                .map(|u| Unassigned {
                    order_id: u.order_id.clone(),
                    reason: format!("{}: {}", reason_label(&u.reason), u.hint),
                })
                .collect(),
        };
        Ok(PlanDraft { request, unplanned })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_business;
    use crate::ids::RouteId;
    use crate::plan::Route;
    use crate::time::TimeOfDay;
    use crate::validation::Validate;
    use time::macros::{date, datetime, offset};

    const DAY: Date = date!(2026 - 03 - 10);

    fn input<'a>(b: &'a crate::demo::DemoBusiness) -> PlanningInput<'a> {
        PlanningInput {
            depot: &b.depots[0],
            vehicles: &b.vehicles,
            drivers: &b.drivers,
            orders: &b.orders,
            date: DAY,
            utc_offset: offset!(+1),
            default_service_time_s: b.organisation.default_service_time_s,
            travel: TravelSettings::default(),
        }
    }

    #[test]
    fn demo_business_maps_windows_shifts_breaks_loads_skills_and_priorities() {
        let b = demo_business(DAY, offset!(+1));
        let p = build_problem(&input(&b)).unwrap();
        p.problem.validate().unwrap();
        assert_eq!(p.problem.jobs.len(), b.orders.len());
        assert_eq!(p.problem.vehicles.len(), 4);
        assert!(p.excluded.is_empty());

        let kangoo = &p.problem.vehicles[0];
        assert_eq!(
            kangoo.shift,
            Some(opt::TimeWindow::new(8.0 * 3600.0, 17.0 * 3600.0))
        );
        assert_eq!(kangoo.capacity, vec![600_000, 3_300_000, 120]);
        let lunch = kangoo.break_.unwrap();
        assert_eq!(
            (lunch.window.start, lunch.window.end, lunch.duration),
            (12.0 * 3600.0, 14.0 * 3600.0, 2700.0)
        );
        assert!((kangoo.cost_per_distance - 0.18 / 1000.0).abs() < 1e-12);
        assert!((kangoo.cost_per_time - 22.0 / 3600.0).abs() < 1e-12);
        assert_eq!(p.problem.vehicles[1].skills, vec!["tail_lift".to_owned()]);
        assert_eq!(p.drivers["veh-master-2"].as_str(), "drv-karim");

        // Order 2 (index 1) has the 09:00-12:00 window at +01:00.
        let o = &b.orders[1];
        let j = &p.problem.jobs[1];
        assert_eq!(j.id, o.id.as_str());
        assert_eq!(
            j.time_windows,
            vec![opt::TimeWindow::new(9.0 * 3600.0, 12.0 * 3600.0)]
        );
        assert_eq!(j.service, f64::from(o.service_time_s.unwrap()));
        assert_eq!(j.demand[0], (o.demand.weight_kg() * 1000.0).ceil() as i64);
        // Index 13 needs the tail lift; order 29 is urgent.
        assert_eq!(p.problem.jobs[13].skills, vec!["tail_lift".to_owned()]);
        assert_eq!(
            p.problem.jobs[28].priority,
            priority_weight(Priority::Urgent)
        );
        assert_eq!(
            p.problem.jobs[0].priority,
            priority_weight(Priority::Normal)
        );

        let opt::Travel::Haversine {
            circuity,
            speed_m_per_s,
            ..
        } = p.problem.travel
        else {
            panic!("haversine travel expected");
        };
        assert_eq!(circuity, DEFAULT_CIRCUITY);
        assert!((speed_m_per_s - 25.0 / 3.6).abs() < 1e-12);
    }

    #[test]
    fn demands_round_up_and_capacities_down() {
        let l = Load::new(1.0004, 0.0001, 2.0);
        assert_eq!(scaled(&l, f64::ceil), vec![1001, 1, 2]);
        assert_eq!(scaled(&l, f64::floor), vec![1000, 0, 2]);
        assert_eq!(unscaled(&[1500, 2000, 3]), Load::new(1.5, 2.0, 3.0));
    }

    #[test]
    fn orders_without_a_position_are_excluded_and_others_filtered_out() {
        let mut b = demo_business(DAY, offset!(+1));
        b.orders[0].address.lat = None;
        b.orders[1].status = crate::lifecycle::OrderStatus::Cancelled;
        b.orders[2].depot_id = Some(DepotId::new("elsewhere").unwrap());
        b.vehicles[3].active = false;
        let p = build_problem(&input(&b)).unwrap();
        assert_eq!(p.problem.jobs.len(), b.orders.len() - 3);
        assert_eq!(p.problem.vehicles.len(), 3);
        assert_eq!(p.excluded.len(), 1);
        assert_eq!(p.excluded[0].order_id, b.orders[0].id);
        assert_eq!(p.excluded[0].reason, "not_geocoded");
    }

    #[test]
    fn no_active_vehicle_and_bad_settings_are_errors() {
        let mut b = demo_business(DAY, offset!(+1));
        let mut i = input(&b);
        i.travel.speed_kmh = 0.0;
        assert_eq!(
            build_problem(&i).unwrap_err(),
            PlanningError::BadTravelSettings
        );
        for v in &mut b.vehicles {
            v.active = false;
        }
        assert!(matches!(
            build_problem(&input(&b)),
            Err(PlanningError::NoVehicles(_))
        ));
    }

    #[test]
    fn pickup_and_delivery_orders_become_a_pair() {
        let mut b = demo_business(DAY, offset!(+1));
        let o = &mut b.orders[5];
        o.kind = OrderKind::PickupAndDelivery;
        o.pickup = Some(crate::order::PickupLeg {
            address: b.depots[0].address.clone(),
            service_time_s: Some(60),
            time_windows: vec![
                LocalWindow::new(TimeOfDay::hm(8, 0), TimeOfDay::hm(10, 0)).on(DAY, offset!(+1)),
            ],
        });
        let p = build_problem(&input(&b)).unwrap();
        p.problem.validate().unwrap();
        let id = b.orders[5].id.as_str();
        assert_eq!(
            p.problem.pairs,
            vec![opt::Pair {
                pickup: format!("{id}/pickup"),
                delivery: format!("{id}/delivery")
            }]
        );
        let pick = &p.problem.jobs[p.problem.job_index(&format!("{id}/pickup")).unwrap()];
        assert_eq!((pick.kind, pick.service), (opt::JobKind::Pickup, 60.0));
        assert_eq!(
            pick.time_windows,
            vec![opt::TimeWindow::new(8.0 * 3600.0, 10.0 * 3600.0)]
        );
        assert_eq!(p.jobs[&format!("{id}/pickup")].kind, StopKind::Pickup);
    }

    #[test]
    fn demo_round_trip_is_feasible_and_gives_a_valid_plan_request() {
        let b = demo_business(DAY, offset!(+1));
        let p = build_problem(&input(&b)).unwrap();
        let config = opt::SolverConfig {
            seed: 3,
            max_iterations: Some(300),
            ..Default::default()
        };
        let solution = opt::solve(&p.problem, &config, &opt::NoClock, &mut |_| {
            opt::Control::Continue
        })
        .unwrap();
        opt::check(&p.problem, &solution.route_jobs()).expect("checker accepts the solution");

        let draft = p.to_plan(&solution).unwrap();
        let req = &draft.request;
        req.validate().unwrap();
        assert_eq!(req.date, DAY);
        let planned: usize = req.routes.iter().map(|r| r.stops.len()).sum();
        assert_eq!(planned + draft.unplanned.len(), b.orders.len());
        assert_eq!(req.unassigned.len(), draft.unplanned.len());
        for u in &draft.unplanned {
            assert!(!u.hint.is_empty(), "{u:?}");
        }
        for (i, r) in req.routes.iter().enumerate() {
            assert!(r.driver_id.is_some(), "route {i} has no driver");
            let route = Route {
                id: RouteId::new(format!("r{i}")).unwrap(),
                vehicle_id: r.vehicle_id.clone(),
                driver_id: r.driver_id.clone(),
                planned_start: r.planned_start,
                planned_end: r.planned_end,
                stops: r
                    .stops
                    .iter()
                    .enumerate()
                    .map(|(j, s)| crate::plan::Stop {
                        id: crate::ids::StopId::new(format!("s{i}-{j}")).unwrap(),
                        order_id: s.order_id.clone(),
                        sequence: j as u32 + 1,
                        kind: s.kind,
                        location: s.location.unwrap(),
                        planned_arrival: s.planned_arrival,
                        planned_departure: s.planned_departure,
                        tracking_token: None,
                    })
                    .collect(),
                totals: r.totals.clone(),
            };
            route.validate().unwrap();
            let v = b.vehicles.iter().find(|v| v.id == r.vehicle_id).unwrap();
            assert!(r.planned_start >= v.shift.start.on(DAY, offset!(+1)));
            assert!(r.planned_end <= v.shift.end.on(DAY, offset!(+1)));
            assert!(
                r.totals.max_load.fits_in(&v.capacity),
                "{:?}",
                r.totals.max_load
            );
            let t = &r.totals;
            assert!(
                t.driving_s + t.service_s + t.waiting_s <= t.duration_s + 2,
                "{t:?}"
            );
            // Every stop arrives within one of its order's windows (or waits for it).
            for s in &r.stops {
                let o = b.orders.iter().find(|o| o.id == s.order_id).unwrap();
                if let Some(last) = o.time_windows.iter().map(|w| w.end).max() {
                    assert!(s.planned_departure > o.time_windows[0].start, "{}", o.id);
                    assert!(s.planned_arrival <= last, "{}", o.id);
                }
            }
        }
    }

    #[test]
    fn seconds_become_instants_at_the_offset() {
        let b = demo_business(DAY, offset!(+1));
        let p = build_problem(&input(&b)).unwrap();
        assert_eq!(
            p.instant(9.0 * 3600.0 + 0.4).unwrap(),
            datetime!(2026-03-10 9:00 +1)
        );
        assert!(p.instant(f64::NAN).is_err());
    }

    #[test]
    fn unknown_jobs_in_a_solution_are_errors() {
        let b = demo_business(DAY, offset!(+1));
        let p = build_problem(&input(&b)).unwrap();
        let bogus = opt::Solution {
            routes: vec![],
            unassigned: vec![opt::Unassigned {
                job: "nope".into(),
                reason: opt::UnassignedReason::Skills,
                hint: String::new(),
            }],
            totals: opt::Totals {
                vehicles: 0,
                distance: 0.0,
                duration: 0.0,
                cost: 0.0,
                unassigned: 1,
            },
            iterations: 0,
        };
        assert_eq!(
            p.to_plan(&bogus).unwrap_err(),
            PlanningError::UnknownJob("nope".into())
        );
    }
}

/// A dispatcher's hand edits of a solved plan: each vehicle's job sequence,
/// moves between positions and routes, locks on stops and routes, the locks'
/// meaning for re-optimisation, and an undo/redo history. Pure data: the app
/// keeps one [`edit::PlanEdit`] per history entry and evaluates it with
/// `doorstep_optimizer::evaluate`.
pub mod edit {
    use std::collections::BTreeSet;

    use doorstep_optimizer as opt;
    use serde::{Deserialize, Serialize};

    /// Why an edit was refused; the plan stays as it was.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum EditError {
        #[error("job {0:?} is not in this plan")]
        UnknownJob(String),
        #[error("vehicle {0:?} is not in this plan")]
        UnknownVehicle(String),
        #[error("stop {0:?} is locked: unlock it to move it")]
        LockedStop(String),
        #[error("the route of vehicle {0:?} is locked: unlock it to change it")]
        LockedRoute(String),
        #[error("the stop cannot move further that way")]
        AtTheEnd,
    }

    /// One state of an edited plan.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PlanEdit {
        /// One per vehicle of the problem, in the problem's order (empty = unused).
        pub routes: Vec<opt::RouteJobs>,
        /// Vehicles whose whole route is locked.
        pub locked_routes: BTreeSet<String>,
        /// Jobs locked on their vehicle and in their order.
        pub locked_jobs: BTreeSet<String>,
    }

    fn partner(problem: &opt::Problem, job: &str) -> Option<(String, opt::JobKind)> {
        problem.pairs.iter().find_map(|p| {
            if p.pickup == job {
                Some((p.delivery.clone(), opt::JobKind::Delivery))
            } else if p.delivery == job {
                Some((p.pickup.clone(), opt::JobKind::Pickup))
            } else {
                None
            }
        })
    }

    impl PlanEdit {
        /// The solver's routes, one entry per vehicle of `problem`; breaks stay where the solver put them.
        pub fn from_solution(problem: &opt::Problem, solution: &opt::Solution) -> Self {
            let routes = problem
                .vehicles
                .iter()
                .map(
                    |v| match solution.routes.iter().find(|r| r.vehicle == v.id) {
                        Some(r) => opt::RouteJobs {
                            vehicle: v.id.clone(),
                            jobs: r.stops.iter().map(|s| s.job.clone()).collect(),
                            break_after: r.break_.as_ref().map(|b| b.after_stops),
                        },
                        None => opt::RouteJobs {
                            vehicle: v.id.clone(),
                            jobs: Vec::new(),
                            break_after: None,
                        },
                    },
                )
                .collect();
            Self {
                routes,
                locked_routes: BTreeSet::new(),
                locked_jobs: BTreeSet::new(),
            }
        }

        /// These routes with the locks of `earlier` (after a re-optimisation).
        pub fn with_locks_of(mut self, earlier: &PlanEdit) -> Self {
            self.locked_routes = earlier.locked_routes.clone();
            self.locked_jobs = earlier.locked_jobs.clone();
            self
        }

        /// `(route index, position)` of a job, or `None` when it is unassigned.
        pub fn position(&self, job: &str) -> Option<(usize, usize)> {
            self.routes
                .iter()
                .enumerate()
                .find_map(|(r, route)| route.jobs.iter().position(|j| j == job).map(|p| (r, p)))
        }

        /// Jobs of `problem` in no route, in the problem's order.
        pub fn unassigned(&self, problem: &opt::Problem) -> Vec<String> {
            let planned: BTreeSet<&str> = self
                .routes
                .iter()
                .flat_map(|r| r.jobs.iter().map(String::as_str))
                .collect();
            problem
                .jobs
                .iter()
                .filter(|j| !planned.contains(j.id.as_str()))
                .map(|j| j.id.clone())
                .collect()
        }

        pub fn is_route_locked(&self, vehicle: &str) -> bool {
            self.locked_routes.contains(vehicle)
        }

        /// Locked by itself or with its route.
        pub fn is_job_locked(&self, job: &str) -> bool {
            self.locked_jobs.contains(job)
                || self
                    .position(job)
                    .is_some_and(|(r, _)| self.locked_routes.contains(&self.routes[r].vehicle))
        }

        fn route_index(&self, vehicle: &str) -> Result<usize, EditError> {
            self.routes
                .iter()
                .position(|r| r.vehicle == vehicle)
                .ok_or_else(|| EditError::UnknownVehicle(vehicle.to_owned()))
        }

        fn check_movable(&self, job: &str) -> Result<(), EditError> {
            if self.locked_jobs.contains(job) {
                return Err(EditError::LockedStop(job.to_owned()));
            }
            if let Some((r, _)) = self.position(job)
                && self.locked_routes.contains(&self.routes[r].vehicle)
            {
                return Err(EditError::LockedRoute(self.routes[r].vehicle.clone()));
            }
            Ok(())
        }

        /// Moves `job` onto `to`'s route (or out of every route with `None`),
        /// before the job `before` (or at the end). Moved to another route or
        /// out, the other job of a pickup-and-delivery pair goes with it (the
        /// pickup just before the delivery). Routes it changes get their break
        /// placed again by the evaluation.
        pub fn move_job(
            &self,
            problem: &opt::Problem,
            job: &str,
            to: Option<&str>,
            before: Option<&str>,
        ) -> Result<Self, EditError> {
            if problem.job_index(job).is_none() {
                return Err(EditError::UnknownJob(job.to_owned()));
            }
            self.check_movable(job)?;
            if before == Some(job) {
                // Dropped onto itself.
                return Ok(self.clone());
            }
            let target = to.map(|v| self.route_index(v)).transpose()?;
            if let Some(t) = target
                && self.locked_routes.contains(&self.routes[t].vehicle)
            {
                return Err(EditError::LockedRoute(self.routes[t].vehicle.clone()));
            }
            let from = self.position(job).map(|(r, _)| r);
            let partner = partner(problem, job).filter(|_| from != target || from.is_none());
            if let Some((other, _)) = &partner {
                self.check_movable(other)?;
            }
            let mut next = self.clone();
            let mut touched = BTreeSet::new();
            for moved in std::iter::once(job).chain(partner.as_ref().map(|(o, _)| o.as_str())) {
                if let Some((r, p)) = next.position(moved) {
                    next.routes[r].jobs.remove(p);
                    touched.insert(r);
                }
            }
            if let Some(t) = target {
                let route = &mut next.routes[t].jobs;
                let at = before
                    .and_then(|b| route.iter().position(|j| j == b))
                    .unwrap_or(route.len());
                let group: Vec<String> = match &partner {
                    Some((other, opt::JobKind::Pickup)) => vec![other.clone(), job.to_owned()],
                    Some((other, opt::JobKind::Delivery)) => vec![job.to_owned(), other.clone()],
                    None => vec![job.to_owned()],
                };
                route.splice(at..at, group);
                touched.insert(t);
            }
            if next == *self {
                return Ok(next);
            }
            for r in touched {
                next.routes[r].break_after = None;
            }
            Ok(next)
        }

        /// Moves `job` one place up (`-1`) or down (`+1`) in its route.
        pub fn shift(
            &self,
            problem: &opt::Problem,
            job: &str,
            delta: isize,
        ) -> Result<Self, EditError> {
            let (r, p) = self.position(job).ok_or(EditError::AtTheEnd)?;
            let jobs = &self.routes[r].jobs;
            let before = match delta {
                d if d < 0 => p
                    .checked_sub(1)
                    .map(|q| Some(jobs[q].as_str()))
                    .ok_or(EditError::AtTheEnd)?,
                _ if p + 1 >= jobs.len() => return Err(EditError::AtTheEnd),
                _ => jobs.get(p + 2).map(String::as_str),
            };
            let vehicle = self.routes[r].vehicle.clone();
            self.move_job(problem, job, Some(&vehicle), before)
        }

        /// Locks or unlocks a whole route.
        pub fn toggle_route_lock(&self, vehicle: &str) -> Result<Self, EditError> {
            self.route_index(vehicle)?;
            let mut next = self.clone();
            if !next.locked_routes.remove(vehicle) {
                next.locked_routes.insert(vehicle.to_owned());
            }
            Ok(next)
        }

        /// Locks or unlocks one planned stop (with the other stop of its pair).
        pub fn toggle_job_lock(
            &self,
            problem: &opt::Problem,
            job: &str,
        ) -> Result<Self, EditError> {
            let (r, _) = self
                .position(job)
                .ok_or_else(|| EditError::UnknownJob(job.to_owned()))?;
            if self.locked_routes.contains(&self.routes[r].vehicle) {
                return Err(EditError::LockedRoute(self.routes[r].vehicle.clone()));
            }
            let mut next = self.clone();
            let lock = !next.locked_jobs.contains(job);
            for j in std::iter::once(job.to_owned()).chain(partner(problem, job).map(|p| p.0)) {
                if lock {
                    next.locked_jobs.insert(j);
                } else {
                    next.locked_jobs.remove(&j);
                }
            }
            Ok(next)
        }

        /// The optimizer's locks: a locked route is a prefix lock of all its
        /// stops; locked stops keep their vehicle and order as one sequence lock
        /// per run of consecutive locked stops (a prefix lock when the run opens the route).
        pub fn locks(&self) -> Vec<opt::Lock> {
            let mut out = Vec::new();
            for r in &self.routes {
                if self.locked_routes.contains(&r.vehicle) {
                    out.push(opt::Lock {
                        vehicle: r.vehicle.clone(),
                        jobs: r.jobs.clone(),
                        kind: opt::LockKind::Prefix,
                    });
                    continue;
                }
                let mut run: Vec<String> = Vec::new();
                let mut run_start = 0;
                for (i, j) in r
                    .jobs
                    .iter()
                    .chain(std::iter::once(&String::new()))
                    .enumerate()
                {
                    if !j.is_empty() && self.locked_jobs.contains(j) {
                        if run.is_empty() {
                            run_start = i;
                        }
                        run.push(j.clone());
                    } else if !run.is_empty() {
                        let kind = if run_start == 0 {
                            opt::LockKind::Prefix
                        } else {
                            opt::LockKind::Sequence
                        };
                        out.push(opt::Lock {
                            vehicle: r.vehicle.clone(),
                            jobs: std::mem::take(&mut run),
                            kind,
                        });
                    }
                }
            }
            out
        }

        /// The problem with these edits' locks, as evaluated.
        pub fn locked_problem(&self, problem: &opt::Problem) -> opt::Problem {
            let mut p = problem.clone();
            p.locks = self.locks();
            p
        }

        /// The problem to re-optimise: the locks, and a locked route may take
        /// no more stops than it has (so its sequence stays exactly as it is).
        pub fn reoptimisation_problem(&self, problem: &opt::Problem) -> opt::Problem {
            let mut p = self.locked_problem(problem);
            for v in &mut p.vehicles {
                if let Some(r) = self
                    .routes
                    .iter()
                    .find(|r| r.vehicle == v.id && self.locked_routes.contains(&r.vehicle))
                {
                    v.max_stops = Some(v.max_stops.map_or(r.jobs.len(), |m| m.min(r.jobs.len())));
                }
            }
            p
        }
    }

    /// Undo/redo over whole states: an edit pushes the new state and forgets
    /// what was undone; at most `limit` earlier states are kept.
    #[derive(Debug, Clone, PartialEq)]
    pub struct History<T> {
        past: Vec<T>,
        present: T,
        future: Vec<T>,
        limit: usize,
    }

    impl<T: Clone> History<T> {
        pub fn new(present: T, limit: usize) -> Self {
            Self {
                past: Vec::new(),
                present,
                future: Vec::new(),
                limit: limit.max(1),
            }
        }

        pub fn present(&self) -> &T {
            &self.present
        }

        pub fn push(&mut self, next: T) {
            self.past.push(std::mem::replace(&mut self.present, next));
            if self.past.len() > self.limit {
                self.past.remove(0);
            }
            self.future.clear();
        }

        /// Returns false when there is nothing to undo.
        pub fn undo(&mut self) -> bool {
            match self.past.pop() {
                Some(prev) => {
                    self.future.push(std::mem::replace(&mut self.present, prev));
                    true
                }
                None => false,
            }
        }

        /// Returns false when there is nothing to redo.
        pub fn redo(&mut self) -> bool {
            match self.future.pop() {
                Some(next) => {
                    self.past.push(std::mem::replace(&mut self.present, next));
                    true
                }
                None => false,
            }
        }

        pub fn can_undo(&self) -> bool {
            !self.past.is_empty()
        }

        pub fn can_redo(&self) -> bool {
            !self.future.is_empty()
        }

        /// Every state held: earlier, present and undone ones.
        pub fn states(&self) -> impl Iterator<Item = &T> {
            self.past
                .iter()
                .chain(std::iter::once(&self.present))
                .chain(self.future.iter())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn problem() -> opt::Problem {
            let mut jobs: Vec<opt::Job> = (0..6)
                .map(|i| opt::Job::new(format!("j{i}"), i + 1))
                .collect();
            jobs[4].kind = opt::JobKind::Pickup;
            opt::Problem {
                name: "t".into(),
                time_unit: opt::TimeUnit::Unitless,
                travel: opt::Travel::Euclidean {
                    points: (0..7).map(|i| [f64::from(i), 0.0]).collect(),
                },
                jobs,
                pairs: vec![opt::Pair {
                    pickup: "j4".into(),
                    delivery: "j5".into(),
                }],
                vehicles: vec![
                    opt::Vehicle::new("a", 0),
                    opt::Vehicle::new("b", 0),
                    opt::Vehicle::new("c", 0),
                ],
                locks: vec![],
            }
        }

        fn plan() -> PlanEdit {
            let r = |v: &str, jobs: &[&str], b: Option<usize>| opt::RouteJobs {
                vehicle: v.into(),
                jobs: jobs.iter().map(|s| s.to_string()).collect(),
                break_after: b,
            };
            PlanEdit {
                routes: vec![
                    r("a", &["j0", "j1", "j2"], Some(1)),
                    r("b", &["j4", "j5"], Some(0)),
                    r("c", &[], None),
                ],
                locked_routes: BTreeSet::new(),
                locked_jobs: BTreeSet::new(),
            }
        }

        fn jobs(p: &PlanEdit, r: usize) -> Vec<&str> {
            p.routes[r].jobs.iter().map(String::as_str).collect()
        }

        #[test]
        fn moves_go_before_a_stop_or_to_the_end_and_reset_the_moved_routes_breaks() {
            let p = problem();
            let a = plan().move_job(&p, "j2", Some("a"), Some("j0")).unwrap();
            assert_eq!(jobs(&a, 0), ["j2", "j0", "j1"]);
            assert_eq!(a.routes[0].break_after, None);
            assert_eq!(
                a.routes[1].break_after,
                Some(0),
                "an untouched route keeps its break"
            );
            let b = plan().move_job(&p, "j0", Some("a"), None).unwrap();
            assert_eq!(jobs(&b, 0), ["j1", "j2", "j0"]);
            let c = plan().move_job(&p, "j1", Some("c"), None).unwrap();
            assert_eq!((jobs(&c, 0), jobs(&c, 2)), (vec!["j0", "j2"], vec!["j1"]));
            let out = plan().move_job(&p, "j1", None, None).unwrap();
            assert_eq!(out.unassigned(&p), ["j1", "j3"]);
            let back = out.move_job(&p, "j3", Some("a"), Some("j2")).unwrap();
            assert_eq!(jobs(&back, 0), ["j0", "j3", "j2"]);
        }

        #[test]
        fn alt_arrows_shift_one_place_and_stop_at_the_ends() {
            let p = problem();
            assert_eq!(
                jobs(&plan().shift(&p, "j1", -1).unwrap(), 0),
                ["j1", "j0", "j2"]
            );
            assert_eq!(
                jobs(&plan().shift(&p, "j1", 1).unwrap(), 0),
                ["j0", "j2", "j1"]
            );
            assert_eq!(
                jobs(&plan().shift(&p, "j0", 1).unwrap(), 0),
                ["j1", "j0", "j2"]
            );
            assert_eq!(plan().shift(&p, "j0", -1), Err(EditError::AtTheEnd));
            assert_eq!(plan().shift(&p, "j2", 1), Err(EditError::AtTheEnd));
        }

        #[test]
        fn a_pair_moves_together_between_routes_but_not_within_one() {
            let p = problem();
            let moved = plan().move_job(&p, "j5", Some("a"), Some("j1")).unwrap();
            assert_eq!(jobs(&moved, 0), ["j0", "j4", "j5", "j1", "j2"]);
            assert!(jobs(&moved, 1).is_empty());
            let within = plan().move_job(&p, "j5", Some("b"), Some("j4")).unwrap();
            assert_eq!(jobs(&within, 1), ["j5", "j4"]);
        }

        #[test]
        fn locked_stops_and_routes_refuse_moves_and_become_optimizer_locks() {
            let p = problem();
            let l = plan()
                .toggle_job_lock(&p, "j1")
                .unwrap()
                .toggle_job_lock(&p, "j2")
                .unwrap();
            assert_eq!(
                l.move_job(&p, "j1", None, None),
                Err(EditError::LockedStop("j1".into()))
            );
            let r = l.toggle_route_lock("b").unwrap();
            assert_eq!(
                r.move_job(&p, "j0", Some("b"), None),
                Err(EditError::LockedRoute("b".into()))
            );
            assert_eq!(
                r.move_job(&p, "j4", None, None),
                Err(EditError::LockedRoute("b".into()))
            );
            assert!(r.is_job_locked("j5") && !r.is_job_locked("j0"));
            let locks = r.locks();
            assert_eq!(locks.len(), 2);
            assert_eq!(
                (locks[0].vehicle.as_str(), &locks[0].jobs, locks[0].kind),
                (
                    "a",
                    &vec!["j1".to_owned(), "j2".to_owned()],
                    opt::LockKind::Sequence
                )
            );
            assert_eq!(
                (locks[1].vehicle.as_str(), locks[1].kind),
                ("b", opt::LockKind::Prefix)
            );
            let re = r.reoptimisation_problem(&p);
            re.validate().unwrap();
            assert_eq!(re.vehicles[1].max_stops, Some(2));
            assert_eq!(re.vehicles[0].max_stops, None);
            // Locking one stop of a pair locks both (the optimizer requires it).
            let pair = plan().toggle_job_lock(&p, "j4").unwrap();
            assert!(pair.locked_jobs.contains("j5"));
            assert_eq!(pair.locks()[0].kind, opt::LockKind::Prefix);
            pair.locked_problem(&p).validate().unwrap();
        }

        #[test]
        fn locked_routes_survive_a_reoptimisation_unchanged() {
            let p = problem();
            let edit = plan().toggle_route_lock("a").unwrap();
            let config = opt::SolverConfig {
                seed: 1,
                max_iterations: Some(200),
                ..Default::default()
            };
            let s = opt::solve(
                &edit.reoptimisation_problem(&p),
                &config,
                &opt::NoClock,
                &mut |_| opt::Control::Continue,
            )
            .unwrap();
            let next = PlanEdit::from_solution(&p, &s).with_locks_of(&edit);
            assert_eq!(jobs(&next, 0), ["j0", "j1", "j2"]);
            assert!(next.is_route_locked("a"));
        }

        #[test]
        fn undo_and_redo_walk_the_history_and_a_new_edit_forgets_the_redo() {
            let mut h = History::new(0, 3);
            assert!(!h.undo() && !h.can_undo());
            h.push(1);
            h.push(2);
            assert!(h.undo());
            assert_eq!(*h.present(), 1);
            assert!(h.redo());
            assert_eq!(*h.present(), 2);
            assert!(!h.redo());
            h.undo();
            h.push(3);
            assert!(!h.can_redo());
            assert_eq!(h.states().copied().collect::<Vec<_>>(), [0, 1, 3]);
            h.push(4);
            h.push(5);
            assert_eq!(
                h.states().copied().collect::<Vec<_>>(),
                [1, 3, 4, 5],
                "the oldest state is dropped past the limit"
            );
        }
    }
}
