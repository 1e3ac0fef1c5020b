//! Moving an unstarted stop of a published plan to another route (or to
//! another place in its own route) during the day.
//!
//! Both routes are rescheduled here with the optimizer (the insertion search
//! of `doorstep_optimizer::insertion` and the checker's simulation), from the
//! driver's latest position and time for a route under way, exactly as
//! auto-dispatch reads a route. The move is refused when it breaks a rule the
//! route did not already break, naming the rule, unless forced. The plan is
//! written conditional on the version the dispatcher saw; the moved stop
//! keeps its id, so its tracking link and the drivers' routes follow it.
//! Both routes are rebuilt by [`crate::usecases::route_rebuild`] (totals in
//! full), and customers whose promised ETA window no longer holds get an
//! `eta_changed` outbox entry in the same write.

use std::collections::BTreeMap;

use doorstep_domain::auth::Role;
use doorstep_domain::plan::PlanStatus;
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{Order, OrderId, OrderState, Plan, PlanId, Route, RouteId, Stop, Validate, ValidationErrors};
use doorstep_optimizer as opt;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::ports::{Clock, OutboxEntry, PlanPublication, PodStore, Principal, Store, TrackingStore};
use crate::usecases::plans::DISPATCH_ETA_HALF_WIDTH_S;
use doorstep_domain::notification::Trigger;
use doorstep_domain::plan::StopKind;
use doorstep_domain::tracking::eta_window;
use doorstep_domain::pod::VisitKind;
use crate::usecases::auth::require;
use crate::usecases::auto_dispatch::{CaseInput, InsertInput, RouteCase, job_ids, plan_problem, route_case, sequence_of};
use crate::usecases::route_rebuild::{EndRule, Rebuild, rebuild_route};

/// `POST /api/plans/{id}/stops/reassign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReassignStop {
    /// The plan version the dispatcher saw.
    pub version: u64,
    pub order_id: OrderId,
    pub to_route_id: RouteId,
    /// Index among the target route's stops after the move (its pickup, for a
    /// pickup-and-delivery order); absent = the cheapest feasible place.
    #[serde(default)]
    pub position: Option<u32>,
    /// Move even if it breaks a rule (time window, capacity, shift...).
    #[serde(default)]
    pub force: bool,
    /// Compute and answer without writing (the board's preview).
    #[serde(default)]
    pub dry_run: bool,
}

/// A rule the move breaks, e.g. `time_window`, "time window: ... arrives 14:12 after 14:00".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenRule {
    pub rule: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
}

/// What the move does (or would do, for a dry run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReassignOutcome {
    /// The plan after the move (unchanged and not written for a dry run).
    pub plan: Plan,
    pub from_route_id: RouteId,
    pub to_route_id: RouteId,
    /// The moved stop(s) with their new planned times.
    pub stops: Vec<Stop>,
    /// Index of the (first) moved stop in the target route.
    pub position: u32,
    /// Rules broken by the move (only when forced or a dry run).
    pub broken: Vec<BrokenRule>,
    pub applied: bool,
}

/// Optional ports the move reads when the host has them.
#[derive(Clone, Copy, Default)]
pub struct ReassignPorts<'a> {
    /// Drivers' latest positions (where a route under way continues from).
    pub tracking: Option<&'a dyn TrackingStore>,
    /// Arrivals at stops (an arrived stop has started).
    pub pods: Option<&'a dyn PodStore>,
}

fn invalid(path: &str, code: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationErrors(vec![FieldError { path: path.into(), code: code.into(), message: message.into() }]))
}

/// Moves `request.order_id`'s stop(s) to `request.to_route_id` of plan `plan_id`.
pub async fn reassign(
    store: &dyn Store,
    ports: ReassignPorts<'_>,
    clock: &dyn Clock,
    principal: &Principal,
    plan_id: &PlanId,
    request: &ReassignStop,
) -> Result<ReassignOutcome> {
    require(principal, &[Role::Dispatcher], "reassign stops")?;
    let plan = store.get_plan(&principal.org, plan_id).await?;
    if plan.version != request.version {
        return Err(Error::VersionConflict { what: "plan", id: plan_id.to_string(), expected: request.version, actual: plan.version });
    }
    if plan.status != PlanStatus::Published {
        return Err(Error::IllegalState(format!("plan {plan_id} is not published; edit the draft instead")));
    }
    let Some(from) = plan.routes.iter().position(|r| r.stops.iter().any(|s| s.order_id == request.order_id)) else {
        return Err(invalid("order_id", "not_found", format!("order {} has no stop in plan {plan_id}", request.order_id)));
    };
    let Some(to) = plan.routes.iter().position(|r| r.id == request.to_route_id) else {
        return Err(Error::NotFound { what: "route", id: request.to_route_id.to_string() });
    };
    let now = clock.now();
    let org = store.organisation(&principal.org).await?;
    let ids: Vec<OrderId> = {
        let mut ids: Vec<OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let plan_orders = store.get_orders(&principal.org, &ids).await?;
    let Some(order) = plan_orders.iter().find(|o| o.id == request.order_id).cloned() else {
        return Err(invalid("order_id", "not_found", format!("order {} no longer exists", request.order_id)));
    };
    if !matches!(order.state(), OrderState::Planned | OrderState::Dispatched | OrderState::OutForDelivery) {
        return Err(Error::IllegalState(format!("order {} is {}; only a stop not yet served can move", order.id, order.state())));
    }
    if let Some(pods) = ports.pods {
        for (_, s) in plan.stops().filter(|(_, s)| s.order_id == order.id) {
            if pods.visit(&principal.org, s.id.as_str()).await?.is_some_and(|v| v.kind == VisitKind::Arrived) {
                return Err(Error::IllegalState(format!("the driver has arrived at stop {}; it can no longer move", s.id)));
            }
        }
    }
    let depot = store
        .list_depots(&principal.org)
        .await?
        .into_iter()
        .find(|d| d.id == plan.depot_id)
        .ok_or_else(|| Error::conflict(format!("depot {} of plan {plan_id} no longer exists", plan.depot_id)))?;
    let vehicles = store.list_vehicles(&principal.org).await?;
    let drivers = store.list_drivers(&principal.org).await?;
    let offset = crate::tz::offset_on(&org.timezone, plan.date);
    let positions = crate::usecases::auto_dispatch::positions_of(ports.tracking, &principal.org, &plan, now).await;
    let input = InsertInput {
        plan: &plan,
        plan_orders: &plan_orders,
        order: &order,
        depot: &depot,
        vehicles: &vehicles,
        drivers: &drivers,
        offset,
        default_service_time_s: org.default_service_time_s,
        now,
        positions: &positions,
        seed: 0,
    };
    let pp = plan_problem(&input).map_err(|u| Error::conflict(format!("the plan cannot be read as a routing problem: {}", u.hint)))?;
    let by_id: BTreeMap<&OrderId, &Order> = plan_orders.iter().map(|o| (&o.id, o)).collect();
    let midnight = plan.date.midnight().assume_offset(offset);
    let cases = CaseInput { problem: &pp.problem, by_id: &by_id, positions: &positions, midnight, now };
    let jobs = job_ids(&order);
    let moved_out = std::slice::from_ref(&order.id);
    let vehicle_gone = |r: &Route| Error::conflict(format!("vehicle {} of route {} is no longer in the fleet", r.vehicle_id, r.id));
    let target_route = &plan.routes[to];
    let target = route_case(&cases, target_route, moved_out, &jobs).ok_or_else(|| vehicle_gone(target_route))?;
    // Stops of the target route the case does not plan (finished ones) stay first.
    let kept = target_route.stops.iter().filter(|s| s.order_id != order.id && !target.base.iter().any(|j| is_job_of(j, &s.order_id))).count();
    let base = target.routes();
    let vehicle = target.problem.vehicles[0].id.clone();
    let placement = match request.position {
        Some(p) => {
            let p = p as usize;
            if p < kept {
                return Err(invalid("position", codes::NOT_ALLOWED, format!("the first {kept} stops of route {} are finished; choose {kept} or later", target_route.id)));
            }
            opt::insertion::insert_at(&target.problem, &base, &jobs[0], &vehicle, p - kept, None).map_err(|e| invalid("position", codes::NOT_ALLOWED, e.to_string()))?
        }
        None => best_placement(&target, &jobs[0])?,
    };
    let broken: Vec<BrokenRule> = placement.introduced.iter().map(|v| describe(v, &placement.insertion.route, &target.problem, &pp, midnight)).collect();
    if !broken.is_empty() && !request.force && !request.dry_run {
        let errors = broken
            .iter()
            .map(|b| FieldError { path: if request.position.is_some() { "position".into() } else { "to_route_id".into() }, code: "infeasible".into(), message: b.message.clone() })
            .collect();
        return Err(Error::Invalid(ValidationErrors(errors)));
    }

    let mut next = plan.clone();
    let moved: Vec<Stop> = plan.stops().filter(|(_, s)| s.order_id == order.id).map(|(_, s)| s.clone()).collect();
    let cancelled = |o: &OrderId| by_id.get(o).is_some_and(|x| x.state() == OrderState::Cancelled);
    // A move makes no stop: every stop of the new sequences already exists.
    let mut no_new_stops = |_: &OrderId, _: StopKind, _: doorstep_domain::LatLon| -> Result<Option<Stop>> { Ok(None) };
    if from != to {
        let source_route = &plan.routes[from];
        let source = route_case(&cases, source_route, moved_out, &[]).ok_or_else(|| vehicle_gone(source_route))?;
        let schedule = schedule_of(&source);
        let seq = schedule.as_ref().map(|r| sequence_of(&pp, r, midnight)).unwrap_or_default();
        let end = schedule.as_ref().map(|r| instant(midnight, r.end_time));
        let rebuild = Rebuild { sequence: &seq, moved_in: &[], leaving: moved_out, end, end_rule: EndRule::Schedule };
        rebuild_route(&mut next.routes[from], &rebuild, &pp, &cancelled, &mut no_new_stops)?;
    }
    let seq = sequence_of(&pp, &placement.insertion.route, midnight);
    let end = Some(instant(midnight, placement.insertion.route.end_time));
    let rebuild = Rebuild { sequence: &seq, moved_in: &moved, leaving: &[], end, end_rule: EndRule::Schedule };
    rebuild_route(&mut next.routes[to], &rebuild, &pp, &cancelled, &mut no_new_stops)?;
    let stops: Vec<Stop> = next.routes[to].stops.iter().filter(|s| s.order_id == order.id).cloned().collect();
    let position = next.routes[to].stops.iter().position(|s| s.order_id == order.id).unwrap_or(0) as u32;
    if request.dry_run {
        return Ok(ReassignOutcome { plan, from_route_id: request_route(&next, from), to_route_id: request.to_route_id.clone(), stops, position, broken, applied: false });
    }
    next.version += 1;
    next.updated_at = now;
    next.validate()?;
    let outbox = eta_changes(&plan, &next, &[from, to], &by_id, now);
    if outbox.is_empty() {
        store.update_plan(&next, request.version).await?;
    } else {
        // The plan and the customers' messages in one write (transactional outbox).
        let publication = PlanPublication { plan: next.clone(), expected_version: request.version, orders: Vec::new(), tracking: Vec::new(), outbox };
        store.publish_plan(&publication).await?;
    }
    tracing::info!(plan = %plan_id, order = %order.id, from = %next.routes[from].id, to = %next.routes[to].id, forced = !broken.is_empty(), "stop reassigned");
    Ok(ReassignOutcome { from_route_id: request_route(&next, from), plan: next, to_route_id: request.to_route_id.clone(), stops, position, broken, applied: true })
}

/// `eta_changed` entries for the delivery stops of `routes` whose new ETA
/// falls outside the window the customer was promised (the one around the
/// stop's ETA before the change, as the dispatched message and the tracking
/// page give it). Only orders still to be served in this attempt; the
/// entry's key carries the new window, so the same change is written once.
fn eta_changes(before: &Plan, after: &Plan, routes: &[usize], by_id: &BTreeMap<&OrderId, &Order>, now: OffsetDateTime) -> Vec<OutboxEntry> {
    let mut out: Vec<OutboxEntry> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    for &ri in routes {
        if seen.contains(&ri) {
            continue;
        }
        seen.push(ri);
        for stop in after.routes[ri].stops.iter().filter(|s| s.kind == StopKind::Delivery) {
            let Some((_, old)) = before.stops().find(|(_, s)| s.id == stop.id) else { continue };
            let Some(order) = by_id.get(&stop.order_id) else { continue };
            if !matches!(order.state(), OrderState::Dispatched | OrderState::OutForDelivery) {
                continue;
            }
            let promised = eta_window(old.planned_arrival, DISPATCH_ETA_HALF_WIDTH_S);
            if stop.planned_arrival >= promised.start && stop.planned_arrival <= promised.end {
                continue;
            }
            out.push(OutboxEntry {
                org_id: after.org_id.clone(),
                order_id: stop.order_id.clone(),
                attempt: order.attempts,
                trigger: Trigger::EtaChanged,
                tracking_token: None,
                eta: Some(eta_window(stop.planned_arrival, DISPATCH_ETA_HALF_WIDTH_S)),
                failure_reason: None,
                otp: None,
                created_at: now,
            });
        }
    }
    out
}

fn request_route(plan: &Plan, index: usize) -> RouteId {
    plan.routes[index].id.clone()
}

fn is_job_of(job: &str, order: &OrderId) -> bool {
    job == order.as_str() || job.strip_prefix(order.as_str()).is_some_and(|rest| rest == "/pickup" || rest == "/delivery")
}

/// The cheapest feasible insertion; when there is none, the position that
/// breaks fewest rules (then the cheapest), so the refusal can name them.
fn best_placement(case: &RouteCase, job: &str) -> Result<opt::insertion::Placement> {
    let base = case.routes();
    let vehicle = &case.problem.vehicles[0].id;
    let bad = |e: opt::insertion::InsertionError| invalid("order_id", codes::NOT_ALLOWED, e.to_string());
    if let Some(best) = opt::insertion::insertions(&case.problem, &base, job, None, Some(1)).map_err(bad)?.into_iter().next() {
        return Ok(opt::insertion::Placement { insertion: best, introduced: Vec::new() });
    }
    let mut best: Option<opt::insertion::Placement> = None;
    for p in case.locked..=case.base.len() {
        let placed = opt::insertion::insert_at(&case.problem, &base, job, vehicle, p, None).map_err(bad)?;
        let better = best.as_ref().is_none_or(|b| {
            placed.introduced.len() < b.introduced.len()
                || (placed.introduced.len() == b.introduced.len() && placed.insertion.added_cost < b.insertion.added_cost)
        });
        if better {
            best = Some(placed);
        }
    }
    best.ok_or_else(|| Error::Internal("no position to try".into()))
}

/// The schedule of a case's own jobs (`None` when it has none).
fn schedule_of(case: &RouteCase) -> Option<opt::Route> {
    if case.base.is_empty() {
        return None;
    }
    opt::evaluate(&case.problem, &case.routes()).solution.routes.into_iter().next()
}

fn instant(midnight: OffsetDateTime, s: f64) -> OffsetDateTime {
    midnight + Duration::seconds(s.round() as i64)
}

fn clock_time(midnight: OffsetDateTime, s: f64) -> String {
    let t = midnight + Duration::seconds(s.round() as i64);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// A broken rule in the dispatcher's words, with local times.
fn describe(
    v: &opt::LocatedViolation,
    route: &opt::Route,
    problem: &opt::Problem,
    pp: &doorstep_domain::planning::PlanningProblem,
    midnight: OffsetDateTime,
) -> BrokenRule {
    let rule = serde_json::to_value(v.kind).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{:?}", v.kind));
    let label = rule.replace('_', " ");
    let order_id = v.job.as_ref().and_then(|j| pp.jobs.get(j)).map(|r| r.order_id.clone());
    let job = v.job.as_ref().and_then(|j| problem.jobs.iter().find(|x| &x.id == j));
    let stop = v.job.as_ref().and_then(|j| route.stops.iter().find(|s| &s.job == j));
    let message = match (v.kind, job, stop) {
        (opt::ViolationKind::TimeWindow, Some(job), Some(stop)) => {
            let end = job.time_windows.iter().map(|w| w.end).fold(f64::MIN, f64::max);
            format!(
                "time window: order {} arrives {} after {}",
                order_id.as_ref().map_or(job.id.as_str(), |o| o.as_str()),
                clock_time(midnight, stop.arrival),
                clock_time(midnight, end)
            )
        }
        (opt::ViolationKind::Shift, ..) => {
            let end = problem.vehicles[0].shift.map_or(f64::MAX, |s| s.end);
            format!("shift: the route ends at {}, after the shift ends at {}", clock_time(midnight, route.end_time), clock_time(midnight, end))
        }
        _ => format!("{label}: {}", v.message),
    };
    BrokenRule { rule, message, order_id }
}
