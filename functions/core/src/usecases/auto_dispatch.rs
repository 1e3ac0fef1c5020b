//! Auto-dispatch: an order arriving during the day goes straight into the
//! day's published plan when the organisation enables it.
//!
//! Cheapest feasible insertion over every published route of the day, found
//! by the optimizer's insertion search (`doorstep_optimizer::insertion`, the
//! checker's own rules; each existing stop stays on its vehicle, finished
//! stops stay first, a route under way starts from the driver's latest
//! position), then a short seeded
//! local repair of the chosen route with the optimizer (`solve` with the
//! started prefix locked). The result is committed like publishing: the plan
//! with the new stop, the order dispatched, its tracking link and outbox
//! entry, all conditional on the versions read; a conflict re-reads and
//! retries. An order that fits nowhere keeps a `dispatch_hold` with the reason.
//! Intake never fails because of this: errors are logged.

use std::collections::BTreeMap;

use doorstep_domain::lifecycle::OrderStatus;
use doorstep_domain::plan::{PlanStatus, StopKind};
use doorstep_domain::planning::{PlanningInput, TravelSettings, build_problem, reason_label};
use doorstep_domain::slots::DispatchHold;
use doorstep_domain::{Depot, Driver, LatLon, Order, OrderId, OrderKind, OrderState, OrgId, Organisation, Plan, Stop, StopId, Validate, Vehicle};
use doorstep_optimizer as opt;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::crypto::new_id;
use crate::error::{Error, Result};
use crate::ports::{Clock, PlanFilter, PlanPublication, PodStore, Store, StoreError, TrackingStore};
use crate::usecases::orders::id_error;
use crate::usecases::plans::{Dispatch, dispatch_stops};
use crate::usecases::route_rebuild::{EndRule, Rebuild, rebuild_route};

/// Orders of one request that are auto-dispatched; the rest wait for the next plan.
pub const MAX_PER_REQUEST: usize = 50;
/// Re-reads after a version conflict before giving up.
pub const MAX_ATTEMPTS: usize = 3;
/// Iterations of the local repair (bounded work, deterministic).
pub const REPAIR_ITERATIONS: u64 = 150;

/// Optional ports auto-dispatch uses when the host has them.
#[derive(Clone, Copy, Default)]
pub struct DispatchPorts<'a> {
    /// Drivers' latest positions (where a route under way starts from).
    pub tracking: Option<&'a dyn TrackingStore>,
    /// One-time codes, when the organisation requires them.
    pub pods: Option<&'a dyn PodStore>,
}

/// What happened to one order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Dispatched { plan: doorstep_domain::PlanId, stop: StopId },
    Held(DispatchHold),
    /// Nothing to do (no published plan that day, order no longer open...).
    Skipped(&'static str),
}

/// Runs auto-dispatch for freshly created orders of `org`; never fails.
/// True when it dispatched or held at least one of them.
pub async fn after_intake(store: &dyn Store, ports: DispatchPorts<'_>, clock: &dyn Clock, org: &OrgId, ids: &[OrderId]) -> bool {
    if ids.is_empty() {
        return false;
    }
    let organisation = match store.organisation(org).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(%org, error = %e, "auto-dispatch skipped: cannot read the organisation");
            return false;
        }
    };
    if !organisation.settings.auto_dispatch {
        return false;
    }
    let mut changed = false;
    if ids.len() > MAX_PER_REQUEST {
        tracing::info!(%org, orders = ids.len(), limit = MAX_PER_REQUEST, "auto-dispatching only the first orders of a large batch");
    }
    for id in ids.iter().take(MAX_PER_REQUEST) {
        match dispatch_one(store, ports, clock, &organisation, id).await {
            Ok(outcome) => {
                changed |= !matches!(outcome, Outcome::Skipped(_));
                tracing::info!(%org, order = %id, ?outcome, "auto-dispatch");
            }
            Err(e) => tracing::warn!(%org, order = %id, error = %e, "auto-dispatch failed; the order waits for the next plan"),
        }
    }
    changed
}

/// The intake's answer rebuilt from the orders as auto-dispatch left them
/// (dispatched, or with their `dispatch_hold`), stored under the
/// Idempotency-Key so a replay repeats it byte for byte. When the stored
/// answer cannot be replaced, the first answer stands (replays stay equal).
pub async fn final_answer(
    store: &dyn Store,
    principal: &crate::ports::Principal,
    idempotency_key: Option<&str>,
    request_hash: &str,
    one: bool,
    first: crate::usecases::orders::StoredResponse,
    ids: &[OrderId],
) -> crate::usecases::orders::StoredResponse {
    let found = match store.get_orders(&principal.org, ids).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "cannot re-read the new orders; answering as created");
            return first;
        }
    };
    let orders: Vec<Order> = ids.iter().filter_map(|id| found.iter().find(|o| &o.id == id).cloned()).collect();
    if orders.len() != ids.len() || orders.is_empty() {
        return first;
    }
    let body = if one {
        crate::usecases::orders::to_json(&orders[0])
    } else {
        crate::usecases::orders::to_json(&doorstep_domain::dispatch::CreatedOrders { orders })
    };
    let Ok(body) = body else { return first };
    if body == first.body {
        return first;
    }
    if let Some(key) = idempotency_key {
        match store.replace_idempotency_answer(&principal.org, key, request_hash, first.status, &body).await {
            Ok(true) => {}
            Ok(false) => return first,
            Err(e) => {
                tracing::warn!(error = %e, "cannot store the final answer for the Idempotency-Key; answering as created");
                return first;
            }
        }
    }
    crate::usecases::orders::StoredResponse { status: first.status, body, replayed: false }
}

/// Tries to insert one open order into its day's published plan.
pub async fn dispatch_one(store: &dyn Store, ports: DispatchPorts<'_>, clock: &dyn Clock, org: &Organisation, id: &OrderId) -> Result<Outcome> {
    for attempt in 0..MAX_ATTEMPTS {
        let now = clock.now();
        let order = store.get_order(&org.id, id).await?;
        if order.state() != OrderState::Created {
            return Ok(Outcome::Skipped("order is no longer open"));
        }
        let date = order_date(&order, org, now);
        let offset = crate::tz::offset_on(&org.timezone, date);
        let mut plans = Vec::new();
        let filter = PlanFilter { date: Some(date), published_only: true };
        let mut after = None;
        loop {
            let page = store.list_plans(&org.id, &filter, after.as_ref(), 50).await?;
            plans.extend(page.items.into_iter().filter(|p| p.status == PlanStatus::Published && order.depot_id.as_ref().is_none_or(|d| d == &p.depot_id)));
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        if plans.is_empty() {
            return Ok(Outcome::Skipped("no published plan for the order's day"));
        }
        let depots = store.list_depots(&org.id).await?;
        let vehicles = store.list_vehicles(&org.id).await?;
        let drivers = store.list_drivers(&org.id).await?;
        let mut best: Option<(Plan, Insertion)> = None;
        let mut last_unfit = None;
        for plan in &plans {
            let Some(depot) = depots.iter().find(|d| d.id == plan.depot_id) else { continue };
            let ids: Vec<OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect();
            let plan_orders = store.get_orders(&org.id, &ids).await?;
            let positions = positions_of(ports.tracking, &org.id, plan, now).await;
            let input = InsertInput {
                plan,
                plan_orders: &plan_orders,
                order: &order,
                depot,
                vehicles: &vehicles,
                drivers: &drivers,
                offset,
                default_service_time_s: org.default_service_time_s,
                now,
                positions: &positions,
                seed: seed_of(id),
            };
            match best_insertion(&input) {
                Ok(found) => {
                    if best.as_ref().is_none_or(|(_, b)| found.delta < b.delta) {
                        best = Some((plan.clone(), found));
                    }
                }
                Err(unfit) => last_unfit = Some(unfit),
            }
        }
        let Some((plan, insertion)) = best else {
            let unfit = last_unfit.unwrap_or(Unfit { reason: "no_route".into(), hint: "no published route of that day can take it".into() });
            let hold = DispatchHold { reason: unfit.reason, hint: unfit.hint, at: now };
            let mut held = order.clone();
            held.dispatch_hold = Some(hold.clone());
            held.version += 1;
            held.updated_at = now;
            match store.update_order(&held, order.version).await {
                Ok(()) => return Ok(Outcome::Held(hold)),
                Err(StoreError::VersionConflict { .. }) if attempt + 1 < MAX_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let expected = plan.version;
        let mut next = plan.clone();
        let stop_id = insertion.apply(&mut next, id, now)?;
        next.version += 1;
        next.updated_at = now;
        next.validate()?;
        let Dispatch { updates, tracking, outbox, .. } = dispatch_stops(store, ports.pods, &org.id, &next, std::slice::from_ref(id), std::slice::from_ref(&order), now).await?;
        let publication = PlanPublication { plan: next.clone(), expected_version: expected, orders: updates, tracking, outbox };
        match store.publish_plan(&publication).await {
            Ok(()) => return Ok(Outcome::Dispatched { plan: next.id, stop: stop_id }),
            Err(StoreError::VersionConflict { .. }) if attempt + 1 < MAX_ATTEMPTS => {
                tracing::debug!(order = %id, attempt, "auto-dispatch lost a race; re-reading");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::conflict(format!("order {id} could not be auto-dispatched after {MAX_ATTEMPTS} attempts; it waits for the next plan")))
}

/// Latest ping positions of the plan's drivers (empty without a tracking store).
pub(crate) async fn positions_of(tracking: Option<&dyn TrackingStore>, org: &OrgId, plan: &Plan, now: OffsetDateTime) -> BTreeMap<doorstep_domain::RouteId, (LatLon, OffsetDateTime)> {
    let mut out = BTreeMap::new();
    let Some(tracking) = tracking else { return out };
    for route in &plan.routes {
        let Some(driver) = &route.driver_id else { continue };
        match tracking.latest_position(org, driver, now).await {
            Ok(Some(p)) if p.route_id == route.id => {
                out.insert(route.id.clone(), (LatLon { lat: p.lat, lon: p.lon }, p.device_time));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(driver = %driver, error = %e, "no latest position for auto-dispatch"),
        }
    }
    out
}

/// A stable seed from the order id, so the repair is reproducible.
fn seed_of(id: &OrderId) -> u64 {
    id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The local day the order is for: its first window's, else today's.
pub fn order_date(order: &Order, org: &Organisation, now: OffsetDateTime) -> Date {
    let first = order.time_windows.iter().chain(order.pickup.iter().flat_map(|p| p.time_windows.iter())).map(|w| w.start).min();
    let at = first.unwrap_or(now);
    at.to_offset(crate::tz::offset_on(&org.timezone, at.date())).date()
}

/// Why an order fits in no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit {
    pub reason: String,
    pub hint: String,
}

/// Everything one insertion is computed from.
pub struct InsertInput<'a> {
    pub plan: &'a Plan,
    pub plan_orders: &'a [Order],
    pub order: &'a Order,
    pub depot: &'a Depot,
    pub vehicles: &'a [Vehicle],
    pub drivers: &'a [Driver],
    pub offset: UtcOffset,
    pub default_service_time_s: u32,
    pub now: OffsetDateTime,
    /// Route -> the driver's latest position and its time.
    pub positions: &'a BTreeMap<doorstep_domain::RouteId, (LatLon, OffsetDateTime)>,
    pub seed: u64,
}

/// The chosen route and its new sequence with times.
#[derive(Debug, Clone)]
pub struct Insertion {
    pub route_index: usize,
    /// Extra cost of the route.
    pub delta: f64,
    /// The route's open stops in their new order: (order, kind, place, arrival, departure).
    pub sequence: Vec<(OrderId, StopKind, LatLon, OffsetDateTime, OffsetDateTime)>,
    pub end: OffsetDateTime,
    pub extra_distance_m: f64,
    /// The plan as a routing problem: the route's totals are evaluated on it.
    pub planning: doorstep_domain::planning::PlanningProblem,
    /// Orders of the plan that are cancelled (their stops are not visited).
    pub cancelled: Vec<OrderId>,
}

impl Insertion {
    /// Writes the new sequence into `plan` (totals recomputed in full, see
    /// [`crate::usecases::route_rebuild`]); returns the new (main) stop's id.
    pub fn apply(&self, plan: &mut Plan, order: &OrderId, now: OffsetDateTime) -> Result<StopId> {
        let route = &mut plan.routes[self.route_index];
        let rebuild = Rebuild { sequence: &self.sequence, moved_in: &[], leaving: &[], end: Some(self.end), end_rule: EndRule::NoEarlier };
        let mut mint = |order_id: &OrderId, kind: StopKind, location: LatLon| -> Result<Option<Stop>> {
            let id = StopId::new(new_id("stp", now)).map_err(id_error)?;
            Ok(Some(Stop { id, order_id: order_id.clone(), sequence: 0, kind, location, planned_arrival: now, planned_departure: now, tracking_token: None }))
        };
        let cancelled = |o: &OrderId| self.cancelled.contains(o);
        let minted = rebuild_route(route, &rebuild, &self.planning, &cancelled, &mut mint)?;
        let mut new_stop = None;
        for stop in minted.iter().filter(|s| &s.order_id == order) {
            if new_stop.is_none() || stop.kind == StopKind::Delivery {
                new_stop = Some(stop.id.clone());
            }
        }
        new_stop.ok_or_else(|| Error::Internal("the insertion holds no stop for the new order".into()))
    }
}

/// One route of a published plan as a single-vehicle optimizer problem: its
/// open stops, the driver's start (latest ping, else last finished stop, else
/// the depot; never before now or what is done) and the started prefix locked.
pub(crate) struct RouteCase {
    pub problem: opt::Problem,
    /// The route's open jobs in their current order (locked prefix first).
    pub base: Vec<String>,
    /// How many of `base` are locked first.
    pub locked: usize,
}

impl RouteCase {
    pub fn routes(&self) -> Vec<opt::RouteJobs> {
        vec![opt::RouteJobs { vehicle: self.problem.vehicles[0].id.clone(), jobs: self.base.clone(), break_after: None }]
    }
}

/// What [`route_case`] reads the plan through.
pub(crate) struct CaseInput<'a> {
    /// Every order of the plan (and the ones being inserted) as one problem.
    pub problem: &'a opt::Problem,
    pub by_id: &'a BTreeMap<&'a OrderId, &'a Order>,
    pub positions: &'a BTreeMap<doorstep_domain::RouteId, (LatLon, OffsetDateTime)>,
    pub midnight: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// The job id of an order's stop.
pub(crate) fn job_id(order: &Order, kind: StopKind) -> String {
    match (order.kind, kind) {
        (OrderKind::PickupAndDelivery, StopKind::Pickup) => format!("{}/pickup", order.id),
        (OrderKind::PickupAndDelivery, StopKind::Delivery) => format!("{}/delivery", order.id),
        _ => order.id.to_string(),
    }
}

/// The job ids of an order, pickup first.
pub(crate) fn job_ids(order: &Order) -> Vec<String> {
    match order.kind {
        OrderKind::PickupAndDelivery => vec![format!("{}/pickup", order.id), format!("{}/delivery", order.id)],
        _ => vec![order.id.to_string()],
    }
}

fn is_done(state: OrderState) -> bool {
    matches!(state, OrderState::Delivered | OrderState::Failed | OrderState::Cancelled)
}

/// `route` (skipping stops of orders in `leave_out`) as a single-vehicle case
/// that also holds the jobs `extra`; `None` when its vehicle is not in the problem.
pub(crate) fn route_case(input: &CaseInput<'_>, route: &doorstep_domain::Route, leave_out: &[OrderId], extra: &[String]) -> Option<RouteCase> {
    let secs = |t: OffsetDateTime| (t - input.midnight).whole_seconds() as f64;
    let vehicle = input.problem.vehicles.iter().position(|v| v.id == route.vehicle_id.as_str())?;
    let state = |s: &Stop| input.by_id.get(&s.order_id).map_or(OrderState::Cancelled, |o| o.state());
    let last_done = route.stops.iter().rposition(|s| is_done(state(s)) && state(s) != OrderState::Cancelled);
    let started = route.stops.iter().any(|s| matches!(state(s), OrderState::OutForDelivery | OrderState::Delivered | OrderState::Failed))
        || input.positions.contains_key(&route.id);
    let mut problem = input.problem.clone();
    let mut locked_ids = Vec::new();
    let mut free_ids = Vec::new();
    for (i, s) in route.stops.iter().enumerate() {
        if is_done(state(s)) || leave_out.contains(&s.order_id) {
            continue;
        }
        let Some(j) = input.by_id.get(&s.order_id).map(|o| job_id(o, s.kind)) else { continue };
        if last_done.is_some_and(|d| i < d) { locked_ids.push(j) } else { free_ids.push(j) }
    }
    let kept_until = route.stops.iter().filter(|s| is_done(state(s))).map(|s| secs(s.planned_departure)).fold(f64::MIN, f64::max);
    let v = &problem.vehicles[vehicle];
    let shift_start = v.shift.map_or(0.0, |s| s.start);
    let mut start_loc = v.start;
    let mut start_t = shift_start.max(secs(route.planned_start)).max(secs(input.now)).max(kept_until);
    if started {
        let from = match input.positions.get(&route.id) {
            Some((p, t)) => {
                start_t = start_t.max(secs(*t));
                Some(*p)
            }
            None => last_done.map(|d| route.stops[d].location),
        };
        if let (Some(p), opt::Travel::Haversine { points, .. }) = (from, &mut problem.travel) {
            points.push(opt::LatLon { lat: p.lat, lon: p.lon });
            start_loc = points.len() - 1;
        }
    }
    let keep: Vec<String> = locked_ids.iter().chain(&free_ids).chain(extra).cloned().collect();
    problem.jobs.retain(|j| keep.contains(&j.id));
    problem.pairs.retain(|p| keep.contains(&p.pickup) && keep.contains(&p.delivery));
    let mut v = problem.vehicles[vehicle].clone();
    if started || start_t > shift_start || start_loc != v.start {
        v.under_way = Some(opt::UnderWay { location: start_loc, time: start_t, completed: Vec::new() });
    }
    problem.vehicles = vec![v];
    if !locked_ids.is_empty() {
        problem.locks = vec![opt::Lock { vehicle: problem.vehicles[0].id.clone(), jobs: locked_ids.clone(), kind: opt::LockKind::Prefix }];
    } else {
        problem.locks = Vec::new();
    }
    let base: Vec<String> = locked_ids.iter().chain(&free_ids).filter(|id| problem.jobs.iter().any(|j| &j.id == *id)).cloned().collect();
    Some(RouteCase { problem, base, locked: locked_ids.len() })
}

/// Every order of the plan plus `new` as plannable orders placed where the
/// plan's stops are, as one optimizer problem.
pub(crate) fn plan_problem(input: &InsertInput<'_>) -> Result<doorstep_domain::planning::PlanningProblem, Unfit> {
    let mut orders: Vec<Order> = Vec::with_capacity(input.plan_orders.len() + 1);
    for o in input.plan_orders.iter().chain(std::iter::once(input.order)) {
        if orders.iter().any(|x: &Order| x.id == o.id) {
            continue;
        }
        let mut o = o.clone();
        o.status = OrderStatus::Planned;
        o.depot_id = None;
        for (_, s) in input.plan.stops().filter(|(_, s)| s.order_id == o.id) {
            match (s.kind, o.pickup.as_mut()) {
                (StopKind::Pickup, Some(leg)) => leg.address.set_location(s.location),
                _ => o.address.set_location(s.location),
            }
        }
        orders.push(o);
    }
    let planning = PlanningInput {
        depot: input.depot,
        vehicles: input.vehicles,
        drivers: input.drivers,
        orders: &orders,
        date: input.plan.date,
        utc_offset: input.offset,
        default_service_time_s: input.default_service_time_s,
        travel: TravelSettings::default(),
    };
    build_problem(&planning).map_err(|e| Unfit { reason: "no_room_in_fleet".into(), hint: e.to_string() })
}

/// The stops of a route's new schedule: (order, kind, place, arrival, departure).
pub(crate) type Sequence = Vec<(OrderId, StopKind, LatLon, OffsetDateTime, OffsetDateTime)>;

/// The optimizer's schedule of a route as plan stops.
pub(crate) fn sequence_of(pp: &doorstep_domain::planning::PlanningProblem, route: &opt::Route, midnight: OffsetDateTime) -> Sequence {
    let instant = |s: f64| midnight + Duration::seconds(s.round() as i64);
    route
        .stops
        .iter()
        .filter_map(|s| {
            let r = pp.jobs.get(&s.job)?;
            Some((r.order_id.clone(), r.kind, r.location, instant(s.arrival), instant(s.departure)))
        })
        .collect()
}

/// Cheapest feasible insertion of `input.order` into one of the plan's routes
/// (the optimizer's [`opt::insertion::insertions`] on each route), followed by
/// a short seeded repair of that route.
pub fn best_insertion(input: &InsertInput<'_>) -> Result<Insertion, Unfit> {
    let new = input.order;
    if new.address.location().is_none() || new.pickup.as_ref().is_some_and(|p| p.address.location().is_none()) {
        return Err(Unfit { reason: "not_geocoded".into(), hint: "give the address a map position (lat/lon)".into() });
    }
    let by_id: BTreeMap<&OrderId, &Order> = input.plan_orders.iter().map(|o| (&o.id, o)).collect();
    let pp = plan_problem(input)?;
    let midnight = input.plan.date.midnight().assume_offset(input.offset);
    let instant = |s: f64| midnight + Duration::seconds(s.round() as i64);
    let now_s = (input.now - midnight).whole_seconds() as f64;
    let new_jobs = job_ids(new);
    let cases_input = CaseInput { problem: &pp.problem, by_id: &by_id, positions: input.positions, midnight, now: input.now };

    let mut best: Option<(f64, Found)> = None;
    let mut cases = 0usize;
    for (ri, route) in input.plan.routes.iter().enumerate() {
        let Some(case) = route_case(&cases_input, route, std::slice::from_ref(&new.id), &new_jobs) else { continue };
        if !new_jobs.iter().all(|id| case.problem.jobs.iter().any(|j| &j.id == id)) {
            continue;
        }
        cases += 1;
        let base = case.routes();
        let found = match opt::insertion::insertions(&case.problem, &base, &new_jobs[0], None, Some(1)) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(route = %route.id, error = %e, "auto-dispatch cannot try this route");
                continue;
            }
        };
        let Some(found) = found.into_iter().next() else { continue };
        if best.as_ref().is_some_and(|(d, _)| found.added_cost >= *d) {
            continue;
        }
        let (_, schedule) = repair(&case, found.jobs.clone(), found.route.clone(), input.seed);
        let before = opt::evaluate(&case.problem, &base).solution.routes.first().map_or((0.0, 0.0), |r| (r.distance, r.cost));
        let delta = schedule.cost - before.1;
        let insertion = Found {
            route_index: ri,
            delta,
            sequence: sequence_of(&pp, &schedule, midnight),
            end: instant(schedule.end_time),
            extra_distance_m: schedule.distance - before.0,
        };
        best = Some((found.added_cost, insertion));
    }
    if let Some((_, f)) = best {
        let cancelled = input.plan_orders.iter().filter(|o| o.state() == OrderState::Cancelled).map(|o| o.id.clone()).collect();
        return Ok(Insertion {
            route_index: f.route_index,
            delta: f.delta,
            sequence: f.sequence,
            end: f.end,
            extra_distance_m: f.extra_distance_m,
            planning: pp,
            cancelled,
        });
    }
    Err(explain(&pp.problem, &new_jobs, cases, now_s))
}

/// The best insertion so far, before the plan's problem is attached.
struct Found {
    route_index: usize,
    delta: f64,
    sequence: Sequence,
    end: OffsetDateTime,
    extra_distance_m: f64,
}

/// A short seeded optimizer run on the chosen route; kept only when it is
/// cheaper and breaks no rule the route did not already break.
fn repair(case: &RouteCase, jobs: opt::RouteJobs, schedule: opt::Route, seed: u64) -> (opt::RouteJobs, opt::Route) {
    let config = opt::SolverConfig { seed, max_iterations: Some(REPAIR_ITERATIONS), ..Default::default() };
    let Ok(solution) = opt::solve(&case.problem, &config, &opt::NoClock, &mut |_| opt::Control::Continue) else { return (jobs, schedule) };
    if !solution.unassigned.is_empty() || solution.routes.len() != 1 {
        return (jobs, schedule);
    }
    let proposed = solution.route_jobs().remove(0);
    if proposed.jobs.len() != jobs.jobs.len() || proposed.jobs[..case.locked] != jobs.jobs[..case.locked] {
        return (jobs, schedule);
    }
    if !opt::insertion::introduced(&case.problem, &case.routes(), std::slice::from_ref(&proposed)).is_empty() {
        return (jobs, schedule);
    }
    match opt::evaluate(&case.problem, std::slice::from_ref(&proposed)).solution.routes.into_iter().next() {
        Some(r) if r.cost + 1e-6 < schedule.cost => (proposed, r),
        _ => (jobs, schedule),
    }
}

/// Why the new job fits in no route, as an optimizer reason code and a hint.
fn explain(problem: &opt::Problem, new_jobs: &[String], routes: usize, now_s: f64) -> Unfit {
    let unfit = |reason: &str, hint: String| Unfit { reason: reason.into(), hint: format!("{}: {hint}", reason_label(reason)) };
    if routes == 0 {
        return unfit("no_room_in_fleet", "no published route of that day has an active vehicle of this depot".into());
    }
    let jobs: Vec<&opt::Job> = problem.jobs.iter().filter(|j| new_jobs.contains(&j.id)).collect();
    let vehicles = &problem.vehicles;
    if !vehicles.iter().any(|v| jobs.iter().all(|j| j.skills.iter().all(|s| v.skills.contains(s)))) {
        return unfit("skills", "no vehicle on the road has the skills it needs".into());
    }
    if !vehicles.iter().any(|v| v.capacity.is_empty() || jobs.iter().all(|j| j.demand.iter().zip(&v.capacity).all(|(d, c)| d <= c))) {
        return unfit("capacity", "it is larger than any vehicle on the road; split it or plan a bigger vehicle".into());
    }
    if jobs.iter().any(|j| !j.time_windows.is_empty() && j.time_windows.iter().all(|w| w.end < now_s)) {
        return unfit("time_window", "its time window has already passed; give it a later window".into());
    }
    let earliest_ok = jobs.iter().all(|j| {
        j.time_windows.is_empty()
            || vehicles.iter().any(|v| {
                let (s, t) = v.effective_start();
                let t = t.max(now_s);
                let arrive = t + problem.travel.duration(s, j.location) / v.speed_factor;
                j.time_windows.iter().any(|w| arrive <= w.end)
            })
    });
    if !earliest_ok {
        return unfit("time_window", "no vehicle can reach it within its time window".into());
    }
    unfit("no_room_in_fleet", "the published routes are full around its window; it waits for the next plan".into())
}

/// CSV import (see [`crate::usecases::csv_import::import`]) followed by
/// auto-dispatch of the orders it wrote.
pub async fn import_csv(
    store: &dyn Store,
    ports: DispatchPorts<'_>,
    clock: &dyn Clock,
    principal: &crate::ports::Principal,
    csv_text: &[u8],
    options: &crate::usecases::csv_import::CsvOptions,
    idempotency_key: Option<&str>,
) -> Result<crate::usecases::orders::StoredResponse> {
    let response = crate::usecases::csv_import::import(store, clock, principal, csv_text, options, idempotency_key).await?;
    if !response.replayed
        && let Ok(report) = serde_json::from_str::<doorstep_domain::dispatch::CsvImportReport>(&response.body)
    {
        after_intake(store, ports, clock, &principal.org, &report.created).await;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn offsets_follow_the_zone_and_european_summer_time() {
        assert_eq!(crate::tz::offset_on("Europe/Paris", date!(2026 - 11 - 23)).whole_hours(), 1);
        assert_eq!(crate::tz::offset_on("Europe/Paris", date!(2026 - 07 - 01)).whole_hours(), 2);
        assert_eq!(crate::tz::offset_on("Europe/London", date!(2026 - 07 - 01)).whole_hours(), 1);
        assert_eq!(crate::tz::offset_on("Europe/London", date!(2026 - 01 - 10)).whole_hours(), 0);
        assert_eq!(crate::tz::offset_on("UTC", date!(2026 - 07 - 01)).whole_hours(), 0);
    }

    #[test]
    fn the_repair_seed_is_stable_and_differs_between_orders() {
        let a = OrderId::new("ord_a").expect("id");
        let b = OrderId::new("ord_b").expect("id");
        assert_eq!(seed_of(&a), seed_of(&a));
        assert_ne!(seed_of(&a), seed_of(&b));
    }
}
