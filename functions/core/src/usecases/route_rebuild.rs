//! Rebuilding one route of a published plan from a new schedule of its open
//! stops, shared by auto-dispatch (a new order goes in) and reassigning (a
//! stop moves between routes).
//!
//! The stops the schedule does not cover (finished ones) stay first, the
//! scheduled ones follow with their new times, and the route's totals are
//! recomputed in full by the optimizer's own evaluation of the whole route
//! (every stop but cancelled ones, in order), mapped to `RouteTotals` by the
//! planner's `to_plan`. So a route's totals, and the plan's (`Plan::totals`
//! sums the routes), always equal a fresh evaluation of the plan as written,
//! never an accumulation of differences.

use doorstep_domain::plan::StopKind;
use doorstep_domain::planning::PlanningProblem;
use doorstep_domain::{LatLon, OrderId, Route, Stop};
use doorstep_optimizer as opt;
use time::OffsetDateTime;

use crate::error::Result;
use crate::usecases::auto_dispatch::Sequence;

/// How the route's planned end follows the new schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndRule {
    /// The schedule's end (the route may finish earlier than before).
    Schedule,
    /// Never earlier than the route's current end.
    NoEarlier,
}

/// Makes the stop for a scheduled (order, kind) the route does not hold yet;
/// `None` leaves it out.
pub(crate) type MintStop<'m> = dyn FnMut(&OrderId, StopKind, LatLon) -> Result<Option<Stop>> + 'm;

/// One route's new schedule and where its stops come from.
pub(crate) struct Rebuild<'a> {
    /// The route's open stops in their new order, with times.
    pub sequence: &'a Sequence,
    /// Stops moving in from another route (they keep their ids).
    pub moved_in: &'a [Stop],
    /// Orders whose stops leave this route.
    pub leaving: &'a [OrderId],
    /// The new schedule's end, if the route has open stops left.
    pub end: Option<OffsetDateTime>,
    pub end_rule: EndRule,
}

/// Writes `rebuild` into `route`: kept stops first, then the sequence (a stop
/// found on the route or in `moved_in`, else one made by `mint`, or skipped
/// when `mint` gives none), renumbered from 1; then the planned end and the
/// totals. Returns the stops `mint` made.
pub(crate) fn rebuild_route(
    route: &mut Route,
    rebuild: &Rebuild<'_>,
    pp: &PlanningProblem,
    cancelled: &dyn Fn(&OrderId) -> bool,
    mint: &mut MintStop<'_>,
) -> Result<Vec<Stop>> {
    let seq = rebuild.sequence;
    let in_seq = |s: &Stop| seq.iter().any(|(o, k, ..)| o == &s.order_id && *k == s.kind);
    let leaves = |s: &Stop| rebuild.leaving.contains(&s.order_id) || rebuild.moved_in.iter().any(|m| m.id == s.id);
    let mut stops: Vec<Stop> = route.stops.iter().filter(|s| !in_seq(s) && !leaves(s)).cloned().collect();
    let mut minted = Vec::new();
    for (order, kind, location, arrival, departure) in seq {
        let found = route.stops.iter().chain(rebuild.moved_in).find(|s| &s.order_id == order && s.kind == *kind).cloned();
        let stop = match found {
            Some(s) => Some(s),
            None => {
                let made = mint(order, *kind, *location)?;
                minted.extend(made.clone());
                made
            }
        };
        if let Some(mut stop) = stop {
            stop.planned_arrival = *arrival;
            stop.planned_departure = *departure;
            stops.push(stop);
        }
    }
    for (n, s) in stops.iter_mut().enumerate() {
        s.sequence = u32::try_from(n + 1).unwrap_or(u32::MAX);
    }
    route.stops = stops;
    if let Some(end) = rebuild.end {
        route.planned_end = match rebuild.end_rule {
            EndRule::Schedule => end,
            EndRule::NoEarlier => route.planned_end.max(end),
        };
    }
    route.totals = route_totals(route, pp, cancelled);
    Ok(minted)
}

/// The job id of a stop in `pp` (pickup and delivery of a pair differ).
fn job_of(pp: &PlanningProblem, stop: &Stop) -> Option<String> {
    pp.jobs.iter().find(|(_, r)| r.order_id == stop.order_id && r.kind == stop.kind).map(|(id, _)| id.clone())
}

/// The route's totals from a fresh evaluation of all its stops (cancelled
/// ones left out) on its vehicle, as the planner maps a solved route.
/// Zero for a route with nothing left to visit or a vehicle not in `pp`.
pub(crate) fn route_totals(route: &Route, pp: &PlanningProblem, cancelled: &dyn Fn(&OrderId) -> bool) -> doorstep_domain::plan::RouteTotals {
    let jobs: Vec<String> = route.stops.iter().filter(|s| !cancelled(&s.order_id)).filter_map(|s| job_of(pp, s)).collect();
    let Some(vehicle) = pp.problem.vehicles.iter().find(|v| v.id == route.vehicle_id.as_str()) else { return Default::default() };
    if jobs.is_empty() {
        return Default::default();
    }
    let mut problem = pp.problem.clone();
    problem.vehicles = vec![vehicle.clone()];
    problem.jobs.retain(|j| jobs.contains(&j.id));
    problem.pairs.retain(|p| jobs.contains(&p.pickup) && jobs.contains(&p.delivery));
    problem.locks = Vec::new();
    let evaluation = opt::evaluate(&problem, &[opt::RouteJobs { vehicle: vehicle.id.clone(), jobs, break_after: None }]);
    let single = PlanningProblem {
        depot_id: pp.depot_id.clone(),
        date: pp.date,
        utc_offset_s: pp.utc_offset_s,
        problem,
        jobs: pp.jobs.clone(),
        drivers: pp.drivers.clone(),
        excluded: Vec::new(),
    };
    let solution = opt::Solution { routes: evaluation.solution.routes, unassigned: Vec::new(), totals: evaluation.solution.totals, iterations: 0 };
    match single.to_plan(&solution) {
        Ok(draft) => draft.request.routes.into_iter().next().map(|r| r.totals).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(route = %route.id, error = %e, "route totals cannot be evaluated; left as they were");
            route.totals.clone()
        }
    }
}
