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
