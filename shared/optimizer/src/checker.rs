//! Independent feasibility checker.
//!
//! Recomputes schedules, loads and totals straight from the [`Problem`] and job-id
//! sequences. It deliberately shares no evaluation code with the solver, so that
//! solver bugs show up as violations here. [`crate::evaluate`] reads the same
//! schedule ([`inspect`]) to show a hand-edited plan with its violations.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{BreakTimes, JobKind, LockKind, Problem, Route, RouteJobs, Stop};

/// Slack for floating-point comparisons of times, distances and durations.
const EPS: f64 = 1e-6;

/// What kind of rule a route breaks.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    InvalidProblem,
    UnknownVehicle,
    DuplicateVehicle,
    UnknownJob,
    DuplicateJob,
    CompletedJobPlanned,
    Pair,
    Capacity,
    TimeWindow,
    Shift,
    MaxDistance,
    MaxDuration,
    MaxStops,
    Skills,
    Break,
    Lock,
}

/// One broken rule, with a readable message naming the route and job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Violation {
    pub kind: ViolationKind,
    pub message: String,
}

/// Totals recomputed by the checker (cost = fixed + per-distance + per-time costs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckedTotals {
    pub vehicles: usize,
    pub distance: f64,
    pub duration: f64,
    pub cost: f64,
    pub served: usize,
    /// Ids of jobs that are neither served nor completed, in problem order.
    pub unassigned: Vec<String>,
}

/// Checks routes against every hard constraint of the problem.
pub fn check(problem: &Problem, routes: &[RouteJobs]) -> Result<CheckedTotals, Vec<Violation>> {
    let found = match inspect(problem, routes) {
        Ok(i) => i,
        Err(v) => return Err(vec![v]),
    };
    if found.violations.is_empty() {
        Ok(found.totals)
    } else {
        Err(found.violations.into_iter().map(|f| f.violation).collect())
    }
}

/// A violation with where it happened: the route (index into the input) and job.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Found {
    pub violation: Violation,
    pub route: Option<usize>,
    pub job: Option<String>,
}

/// The checker's full reading of some routes: schedules, totals, violations.
pub(crate) struct Inspection {
    pub violations: Vec<Found>,
    pub totals: CheckedTotals,
    /// One per input route: its schedule, or `None` when the route has no
    /// known jobs or an unknown/duplicate vehicle.
    pub schedules: Vec<Option<Route>>,
}

/// What every route's simulation needs from the problem, computed once.
pub(crate) struct Context<'a> {
    problem: &'a Problem,
    pub job_idx: BTreeMap<&'a str, usize>,
    pub veh_idx: BTreeMap<&'a str, usize>,
    /// partner[j] = the other job of j's pair.
    partner: Vec<Option<usize>>,
    /// completed_by[j] = vehicle that already served j.
    completed_by: Vec<Option<usize>>,
}

impl<'a> Context<'a> {
    /// `problem` must be valid.
    pub fn new(problem: &'a Problem) -> Self {
        let job_idx: BTreeMap<&str, usize> = problem
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.as_str(), i))
            .collect();
        let veh_idx: BTreeMap<&str, usize> = problem
            .vehicles
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), i))
            .collect();
        let mut partner: Vec<Option<usize>> = vec![None; problem.jobs.len()];
        for p in &problem.pairs {
            let (a, b) = (job_idx[p.pickup.as_str()], job_idx[p.delivery.as_str()]);
            partner[a] = Some(b);
            partner[b] = Some(a);
        }
        let mut completed_by: Vec<Option<usize>> = vec![None; problem.jobs.len()];
        for (vi, veh) in problem.vehicles.iter().enumerate() {
            if let Some(u) = &veh.under_way {
                for id in &u.completed {
                    completed_by[job_idx[id.as_str()]] = Some(vi);
                }
            }
        }
        Self {
            problem,
            job_idx,
            veh_idx,
            partner,
            completed_by,
        }
    }

    /// Simulates vehicle `vi` serving `jobs` (problem indices, at least one) with
    /// the break after `break_after` stops, reporting each broken rule of this
    /// route alone (not pairs across routes, duplicates or locks) to `viol` with
    /// the job it concerns.
    pub fn simulate(
        &self,
        ri: usize,
        vi: usize,
        jobs: &[usize],
        break_after: Option<usize>,
        viol: &mut dyn FnMut(ViolationKind, Option<usize>, String),
    ) -> Route {
        let problem = self.problem;
        let (partner, completed_by) = (&self.partner, &self.completed_by);
        let dims = problem.dimensions();
        let demand = |j: usize, k: usize| problem.jobs[j].demand.get(k).copied().unwrap_or(0);
        let veh = &problem.vehicles[vi];
        let tag = format!("route {ri} (vehicle '{}')", veh.id);

        // Skills.
        for &j in jobs {
            for s in &problem.jobs[j].skills {
                if !veh.skills.contains(s) {
                    viol(
                        ViolationKind::Skills,
                        Some(j),
                        format!("{tag}: job '{}' needs skill '{s}'", problem.jobs[j].id),
                    );
                }
            }
        }
        if let Some(m) = veh.max_stops
            && jobs.len() > m
        {
            viol(
                ViolationKind::MaxStops,
                None,
                format!("{tag}: {} stops, max_stops is {m}", jobs.len()),
            );
        }

        // Loads: unpaired deliveries and deliveries whose pickup is already done are on board
        // at the start; pickups add, deliveries remove.
        let on_board_from_start = |j: usize| {
            problem.jobs[j].kind == JobKind::Delivery
                && partner[j].is_none_or(|p| completed_by[p].is_some())
        };
        let mut load = vec![0i64; dims];
        for &j in jobs {
            if on_board_from_start(j) {
                for (k, l) in load.iter_mut().enumerate() {
                    *l += demand(j, k);
                }
            }
        }
        let start_load = load.clone();
        let over = |load: &[i64]| (0..dims).any(|k| load[k] > veh.capacity[k]);
        if over(&load) {
            viol(
                ViolationKind::Capacity,
                None,
                format!(
                    "{tag}: start load {load:?} exceeds capacity {:?}",
                    veh.capacity
                ),
            );
        }
        let mut loads = Vec::with_capacity(jobs.len());
        for &j in jobs {
            let sign = if problem.jobs[j].kind == JobKind::Pickup {
                1
            } else {
                -1
            };
            for (k, l) in load.iter_mut().enumerate() {
                *l += sign * demand(j, k);
            }
            if over(&load) {
                viol(
                    ViolationKind::Capacity,
                    Some(j),
                    format!(
                        "{tag}: load {load:?} after job '{}' exceeds capacity {:?}",
                        problem.jobs[j].id, veh.capacity
                    ),
                );
            }
            loads.push(load.clone());
        }

        // Schedule.
        let (mut pos, start_time) = match &veh.under_way {
            Some(u) => (u.location, u.time),
            None => (veh.start, veh.shift.map_or(0.0, |s| s.start)),
        };
        let start_pos = pos;
        let mut t = start_time;
        let mut dist = 0.0;
        // Unless the break comes first, the vehicle leaves as late as it can without
        // delaying the first service (so it never waits there).
        let mut departure = start_time;
        let brk = veh.break_;
        match (brk, break_after) {
            (Some(_), None) => viol(
                ViolationKind::Break,
                None,
                format!("{tag}: the break is not planned"),
            ),
            (None, Some(_)) => viol(
                ViolationKind::Break,
                None,
                format!("{tag}: vehicle has no break"),
            ),
            (Some(_), Some(b)) if b > jobs.len() => viol(
                ViolationKind::Break,
                None,
                format!("{tag}: break_after {b} exceeds the {} stops", jobs.len()),
            ),
            _ => {}
        }
        let mut taken: Option<BreakTimes> = None;
        let mut take_break =
            |t: &mut f64,
             after: usize,
             viol: &mut dyn FnMut(ViolationKind, Option<usize>, String)| {
                if let Some(b) = brk {
                    let s = t.max(b.window.start);
                    if s > b.window.end + EPS {
                        viol(
                            ViolationKind::Break,
                            None,
                            format!(
                                "{tag}: break starts at {s}, after its window end {}",
                                b.window.end
                            ),
                        );
                    }
                    *t = s + b.duration;
                    taken = Some(BreakTimes {
                        after_stops: after,
                        start: s,
                        end: *t,
                    });
                }
            };
        if break_after == Some(0) {
            take_break(&mut t, 0, viol);
        }
        let mut stops = Vec::with_capacity(jobs.len());
        for (k, &j) in jobs.iter().enumerate() {
            let job = &problem.jobs[j];
            dist += problem.travel.distance(pos, job.location);
            let travel = problem.travel.duration(pos, job.location) / veh.speed_factor;
            let mut arrival = t + travel;
            pos = job.location;
            let begin = if job.time_windows.is_empty() {
                Some(arrival)
            } else {
                job.time_windows
                    .iter()
                    .find(|w| w.end + EPS >= arrival)
                    .map(|w| arrival.max(w.start))
            };
            let begin = begin.unwrap_or_else(|| {
                viol(
                    ViolationKind::TimeWindow,
                    Some(j),
                    format!(
                        "{tag}: job '{}' reached at {arrival}, after its last window",
                        job.id
                    ),
                );
                arrival
            });
            if k == 0 && break_after != Some(0) {
                let travel = problem.travel.duration(start_pos, job.location) / veh.speed_factor;
                departure = start_time.max(begin - travel);
                arrival = (departure + travel).min(begin);
            }
            t = begin + job.service;
            stops.push(Stop {
                job: job.id.clone(),
                location: job.location,
                arrival,
                waiting: begin - arrival,
                service_start: begin,
                departure: t,
                load: loads[k].clone(),
            });
            if break_after == Some(k + 1) {
                take_break(&mut t, k + 1, viol);
            }
        }
        if let Some(end) = veh.end {
            dist += problem.travel.distance(pos, end);
            t += problem.travel.duration(pos, end) / veh.speed_factor;
        }
        if let Some(s) = veh.shift
            && t > s.end + EPS
        {
            viol(
                ViolationKind::Shift,
                None,
                format!("{tag}: finishes at {t}, after shift end {}", s.end),
            );
        }
        let duration = t - departure;
        if let Some(m) = veh.max_duration
            && duration > m + EPS
        {
            viol(
                ViolationKind::MaxDuration,
                None,
                format!("{tag}: duration {duration} exceeds {m}"),
            );
        }
        if let Some(m) = veh.max_distance
            && dist > m + EPS
        {
            viol(
                ViolationKind::MaxDistance,
                None,
                format!("{tag}: distance {dist} exceeds {m}"),
            );
        }
        Route {
            vehicle: veh.id.clone(),
            start_location: start_pos,
            departure,
            start_load,
            stops,
            break_: taken,
            end_location: veh.end,
            end_time: t,
            distance: dist,
            duration,
            cost: veh.fixed_cost + veh.cost_per_distance * dist + veh.cost_per_time * duration,
        }
    }
}

/// Reads routes against every hard constraint of the problem. `Err` only for
/// an invalid problem.
pub(crate) fn inspect(problem: &Problem, routes: &[RouteJobs]) -> Result<Inspection, Violation> {
    if let Err(e) = problem.validate() {
        return Err(Violation {
            kind: ViolationKind::InvalidProblem,
            message: e.to_string(),
        });
    }
    let ctx = Context::new(problem);
    let mut v: Vec<Found> = Vec::new();
    let mut viol = |kind, route: Option<usize>, job: Option<usize>, message: String| {
        v.push(Found {
            violation: Violation { kind, message },
            route,
            job: job.map(|j| problem.jobs[j].id.clone()),
        })
    };
    let (job_idx, veh_idx, completed_by) = (&ctx.job_idx, &ctx.veh_idx, &ctx.completed_by);

    let mut served_on: Vec<Option<(usize, usize)>> = vec![None; problem.jobs.len()];
    let mut route_of_vehicle: Vec<Option<usize>> = vec![None; problem.vehicles.len()];
    let mut schedules: Vec<Option<Route>> = vec![None; routes.len()];
    let mut totals = CheckedTotals {
        vehicles: 0,
        distance: 0.0,
        duration: 0.0,
        cost: 0.0,
        served: 0,
        unassigned: Vec::new(),
    };

    for (ri, r) in routes.iter().enumerate() {
        let Some(&vi) = veh_idx.get(r.vehicle.as_str()) else {
            viol(
                ViolationKind::UnknownVehicle,
                Some(ri),
                None,
                format!("route {ri}: unknown vehicle '{}'", r.vehicle),
            );
            continue;
        };
        if route_of_vehicle[vi].is_some() {
            viol(
                ViolationKind::DuplicateVehicle,
                Some(ri),
                None,
                format!("route {ri}: vehicle '{}' has two routes", r.vehicle),
            );
            continue;
        }
        route_of_vehicle[vi] = Some(ri);
        let mut jobs = Vec::with_capacity(r.jobs.len());
        for id in &r.jobs {
            match job_idx.get(id.as_str()) {
                None => viol(
                    ViolationKind::UnknownJob,
                    Some(ri),
                    None,
                    format!("route {ri}: unknown job '{id}'"),
                ),
                Some(&j) => {
                    if completed_by[j].is_some() {
                        viol(
                            ViolationKind::CompletedJobPlanned,
                            Some(ri),
                            Some(j),
                            format!("route {ri}: job '{id}' is already completed"),
                        );
                    }
                    if let Some((r0, _)) = served_on[j] {
                        viol(
                            ViolationKind::DuplicateJob,
                            Some(ri),
                            Some(j),
                            format!("job '{id}' is served twice (routes {r0} and {ri})"),
                        );
                    } else {
                        served_on[j] = Some((ri, jobs.len()));
                    }
                    jobs.push(j);
                }
            }
        }
        if jobs.is_empty() {
            if r.break_after.is_some() {
                viol(
                    ViolationKind::Break,
                    Some(ri),
                    None,
                    format!("route {ri}: an unused vehicle takes no break"),
                );
            }
            continue;
        }
        let route = ctx.simulate(ri, vi, &jobs, r.break_after, &mut |kind, job, message| {
            viol(kind, Some(ri), job, message)
        });
        totals.vehicles += 1;
        totals.distance += route.distance;
        totals.duration += route.duration;
        totals.cost += route.cost;
        totals.served += jobs.len();
        schedules[ri] = Some(route);
    }

    // Pairs: same route, pickup first; a delivery whose pickup is done stays on that vehicle.
    for p in &problem.pairs {
        let (a, b) = (job_idx[p.pickup.as_str()], job_idx[p.delivery.as_str()]);
        if let Some(vc) = completed_by[a] {
            if let Some((rb, _)) = served_on[b]
                && route_of_vehicle[vc] != Some(rb)
            {
                viol(
                    ViolationKind::Pair,
                    Some(rb),
                    Some(b),
                    format!(
                        "delivery '{}' must stay on vehicle '{}' that picked it up",
                        p.delivery, problem.vehicles[vc].id
                    ),
                );
            }
            continue;
        }
        match (served_on[a], served_on[b]) {
            (Some((ra, ia)), Some((rb, ib))) => {
                if ra != rb {
                    viol(
                        ViolationKind::Pair,
                        Some(rb),
                        Some(b),
                        format!(
                            "pickup '{}' and delivery '{}' are on different routes",
                            p.pickup, p.delivery
                        ),
                    );
                } else if ia > ib {
                    viol(
                        ViolationKind::Pair,
                        Some(rb),
                        Some(b),
                        format!(
                            "delivery '{}' comes before pickup '{}'",
                            p.delivery, p.pickup
                        ),
                    );
                }
            }
            (None, None) => {}
            (Some((r, _)), None) | (None, Some((r, _))) => viol(
                ViolationKind::Pair,
                Some(r),
                Some(if served_on[a].is_some() { a } else { b }),
                format!(
                    "only one of pickup '{}' and delivery '{}' is served",
                    p.pickup, p.delivery
                ),
            ),
        }
    }

    // Locks.
    for (li, l) in problem.locks.iter().enumerate() {
        let vi = veh_idx[l.vehicle.as_str()];
        let route_jobs: &[String] = route_of_vehicle[vi].map_or(&[], |ri| &routes[ri].jobs);
        let ok = match l.kind {
            LockKind::Prefix => {
                route_jobs.len() >= l.jobs.len() && route_jobs[..l.jobs.len()] == l.jobs[..]
            }
            LockKind::Sequence => {
                l.jobs.is_empty() || route_jobs.windows(l.jobs.len()).any(|w| w == &l.jobs[..])
            }
        };
        if !ok {
            viol(
                ViolationKind::Lock,
                route_of_vehicle[vi],
                l.jobs
                    .first()
                    .and_then(|id| job_idx.get(id.as_str()).copied()),
                format!(
                    "locks[{li}]: vehicle '{}' does not serve {:?} as locked",
                    l.vehicle, l.jobs
                ),
            );
        }
    }

    for (j, job) in problem.jobs.iter().enumerate() {
        if served_on[j].is_none() && completed_by[j].is_none() {
            totals.unassigned.push(job.id.clone());
        }
    }
    Ok(Inspection {
        violations: v,
        totals,
        schedules,
    })
}
