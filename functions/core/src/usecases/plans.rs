//! Plans made in the browser: save, read, publish (dispatch) and edit, and a
//! driver's view of their own route.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_domain::api::{Page, PlanVersion};
use doorstep_domain::auth::Role;
use doorstep_domain::dispatch::{DriverRoute, IssuedTrackingLink, PublishedPlan, SavePlanRequest, UpdateRoute};
use doorstep_domain::notification::Trigger;
use doorstep_domain::plan::{PlanStatus, StopKind};
use doorstep_domain::tracking::eta_window;
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{
    LatLon, Order, OrderEvent, OrderId, OrderKind, OrderState, Plan, PlanId, Route, RouteId, Stop, StopId, TrackingToken,
    Validate, ValidationErrors,
};
use time::{Date, Duration};

use crate::crypto::{decode_cursor, encode_cursor, new_id, random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::{Clock, OrderUpdate, OutboxEntry, PlanFilter, PlanPublication, Principal, Store, TrackingLink};
use crate::usecases::auth::require;
use crate::usecases::orders::{bad_cursor, id_error};

/// How long a customer's tracking link works after publishing.
pub const TRACKING_LINK_TTL: Duration = Duration::days(30);
/// Random bytes in a tracking token: 192 bits, well above the 128 required.
pub const TRACKING_TOKEN_BYTES: usize = 24;
/// The window customers are told at dispatch: planned arrival ± 15 minutes.
pub const DISPATCH_ETA_HALF_WIDTH_S: i64 = 15 * 60;

const NOT_FOUND: &str = "not_found";
const NOT_PLANNABLE: &str = "not_plannable";

#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError { path: path.into(), code: code.into(), message: message.into() });
    }

    fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(ValidationErrors(self.0))) }
    }
}

/// Saves a draft plan after checking that its depot, vehicles, drivers and
/// orders exist in the caller's organisation and that the orders can be planned.
pub async fn save(store: &dyn Store, clock: &dyn Clock, principal: &Principal, request: &SavePlanRequest) -> Result<Plan> {
    require(principal, &[Role::Dispatcher], "save plans")?;
    request.validate()?;
    let org = &principal.org;
    let mut problems = Problems::default();
    if !store.list_depots(org).await?.iter().any(|d| d.id == request.depot_id) {
        problems.push("depot_id", NOT_FOUND, format!("no depot {} in this organisation", request.depot_id));
    }
    let vehicles: BTreeSet<_> = store.list_vehicles(org).await?.into_iter().map(|v| v.id).collect();
    let drivers: BTreeMap<_, _> = store.list_drivers(org).await?.into_iter().map(|d| (d.id.clone(), d)).collect();
    let wanted: Vec<OrderId> =
        request.routes.iter().flat_map(|r| r.stops.iter().map(|s| s.order_id.clone())).collect::<BTreeSet<_>>().into_iter().collect();
    let orders: BTreeMap<_, _> = store.get_orders(org, &wanted).await?.into_iter().map(|o| (o.id.clone(), o)).collect();

    let now = clock.now();
    let mut routes = Vec::with_capacity(request.routes.len());
    for (i, r) in request.routes.iter().enumerate() {
        let rp = format!("routes[{i}]");
        if !vehicles.contains(&r.vehicle_id) {
            problems.push(format!("{rp}.vehicle_id"), NOT_FOUND, format!("no vehicle {} in this organisation", r.vehicle_id));
        }
        if let Some(d) = &r.driver_id {
            match drivers.get(d) {
                None => problems.push(format!("{rp}.driver_id"), NOT_FOUND, format!("no driver {d} in this organisation")),
                Some(driver) if !driver.active => problems.push(format!("{rp}.driver_id"), codes::NOT_ALLOWED, "driver is not active"),
                Some(_) => {}
            }
        }
        let mut stops = Vec::with_capacity(r.stops.len());
        for (j, s) in r.stops.iter().enumerate() {
            let sp = format!("{rp}.stops[{j}]");
            let Some(order) = orders.get(&s.order_id) else {
                problems.push(format!("{sp}.order_id"), NOT_FOUND, format!("no order {} in this organisation", s.order_id));
                continue;
            };
            check_plannable(order, &request.depot_id, &sp, &mut problems);
            let wants_pickup = s.kind == StopKind::Pickup;
            let kind_ok = match order.kind {
                OrderKind::Delivery => !wants_pickup,
                OrderKind::Pickup => wants_pickup,
                OrderKind::PickupAndDelivery => true,
            };
            if !kind_ok {
                problems.push(format!("{sp}.kind"), codes::NOT_ALLOWED, format!("order {} is a {:?} order", order.id, order.kind));
            }
            let location = s.location.or_else(|| stop_location(order, s.kind));
            let Some(location) = location else {
                problems.push(format!("{sp}.location"), codes::LOCATION_REQUIRED, "the order's address is not geocoded; send a location");
                continue;
            };
            stops.push(Stop {
                id: StopId::new(new_id("stp", now)).map_err(id_error)?,
                order_id: s.order_id.clone(),
                sequence: u32::try_from(j + 1).unwrap_or(u32::MAX),
                kind: s.kind,
                location,
                planned_arrival: s.planned_arrival,
                planned_departure: s.planned_departure,
                tracking_token: None,
            });
        }
        routes.push(Route {
            id: RouteId::new(new_id("rte", now)).map_err(id_error)?,
            vehicle_id: r.vehicle_id.clone(),
            driver_id: r.driver_id.clone(),
            planned_start: r.planned_start,
            planned_end: r.planned_end,
            stops,
            totals: r.totals.clone(),
        });
    }
    // Every order the plan delivers must have all of its stops in it.
    for order in orders.values() {
        if order.kind == OrderKind::PickupAndDelivery {
            let kinds: BTreeSet<_> = request.routes.iter().flat_map(|r| &r.stops).filter(|s| s.order_id == order.id).map(|s| s.kind).collect();
            if kinds.len() != 2 {
                problems.push("routes", codes::REQUIRED, format!("order {} needs both a pickup and a delivery stop", order.id));
            }
        }
    }
    problems.finish()?;
    let plan = Plan {
        id: PlanId::new(new_id("pln", now)).map_err(id_error)?,
        org_id: org.clone(),
        depot_id: request.depot_id.clone(),
        date: request.date,
        status: PlanStatus::Draft,
        version: 1,
        routes,
        unassigned: request.unassigned.clone(),
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    plan.validate()?;
    store.create_plan(&plan).await?;
    Ok(plan)
}

fn check_plannable(order: &Order, depot: &doorstep_domain::DepotId, path: &str, problems: &mut Problems) {
    if !matches!(order.state(), OrderState::Created | OrderState::Planned) {
        problems.push(format!("{path}.order_id"), NOT_PLANNABLE, format!("order {} is {}", order.id, order.state()));
    }
    if let Some(d) = &order.depot_id
        && d != depot
    {
        problems.push(format!("{path}.order_id"), NOT_PLANNABLE, format!("order {} belongs to depot {d}", order.id));
    }
}

fn stop_location(order: &Order, kind: StopKind) -> Option<LatLon> {
    match (kind, &order.pickup) {
        (StopKind::Pickup, Some(leg)) => leg.address.location(),
        _ => order.address.location(),
    }
}

pub async fn get(store: &dyn Store, principal: &Principal, id: &PlanId) -> Result<Plan> {
    require(principal, &[Role::Dispatcher], "read plans")?;
    Ok(store.get_plan(&principal.org, id).await?)
}

pub async fn list(
    store: &dyn Store,
    principal: &Principal,
    date: Option<Date>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Plan>> {
    require(principal, &[Role::Dispatcher], "list plans")?;
    let after = match cursor {
        None => None,
        Some(c) => Some(decode_cursor("plan", c).and_then(|k| PlanId::new(k).ok()).ok_or_else(bad_cursor)?),
    };
    let filter = PlanFilter { date, published_only: false };
    let page = store.list_plans(&principal.org, &filter, after.as_ref(), limit).await?;
    Ok(Page { items: page.items, next_cursor: page.next.map(|k| encode_cursor("plan", k.as_str())) })
}

/// Publishes a draft: in one transaction the plan becomes published, its
/// orders dispatched and every stop gets a customer tracking token.
pub async fn publish(store: &dyn Store, clock: &dyn Clock, principal: &Principal, id: &PlanId, request: &PlanVersion) -> Result<PublishedPlan> {
    publish_with(store, None, clock, principal, id, request).await
}

/// Like [`publish`]; with `pods`, orders of an organisation that requires
/// one-time codes get one each (its hash stored, the code in the
/// `dispatched` outbox entry, for the customer's message).
pub async fn publish_with(
    store: &dyn Store,
    pods: Option<&dyn crate::ports::PodStore>,
    clock: &dyn Clock,
    principal: &Principal,
    id: &PlanId,
    request: &PlanVersion,
) -> Result<PublishedPlan> {
    require(principal, &[Role::Dispatcher], "publish plans")?;
    let mut plan = store.get_plan(&principal.org, id).await?;
    if plan.version != request.version {
        return Err(Error::VersionConflict { what: "plan", id: id.to_string(), expected: request.version, actual: plan.version });
    }
    if plan.status == PlanStatus::Published {
        return Err(Error::IllegalState(format!("plan {id} is already published")));
    }
    let mut problems = Problems::default();
    for (i, route) in plan.routes.iter().enumerate() {
        if route.driver_id.is_none() && !route.stops.is_empty() {
            problems.push(format!("routes[{i}].driver_id"), codes::REQUIRED, "assign a driver before publishing");
        }
    }
    problems.finish()?;
    let now = clock.now();
    let ids: Vec<OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let orders = store.get_orders(&principal.org, &ids).await?;
    let Dispatch { updates, tracking, issued, outbox } = dispatch_stops(store, pods, &principal.org, &plan, &ids, &orders, now).await?;
    plan.publish(now).map_err(|e| Error::IllegalState(e.to_string()))?;
    store.publish_plan(&PlanPublication { plan: plan.clone(), expected_version: request.version, orders: updates, tracking, outbox }).await?;
    Ok(PublishedPlan { plan, tracking: issued })
}

/// What dispatching some stops of a plan writes: the orders (created or
/// planned -> dispatched), a customer tracking link per stop and the
/// `dispatched` outbox entries. Shared by publishing a whole plan and by
/// auto-dispatch, which adds one order to a published plan.
pub(crate) struct Dispatch {
    pub updates: Vec<OrderUpdate>,
    pub tracking: Vec<TrackingLink>,
    pub issued: Vec<IssuedTrackingLink>,
    pub outbox: Vec<OutboxEntry>,
}

/// Dispatches the orders `ids` (read as `orders`) and the stops of `plan`
/// that serve them; with `pods`, issues one-time codes as the organisation requires.
pub(crate) async fn dispatch_stops(
    store: &dyn Store,
    pods: Option<&dyn crate::ports::PodStore>,
    org_id: &doorstep_domain::OrgId,
    plan: &Plan,
    ids: &[OrderId],
    orders: &[Order],
    now: time::OffsetDateTime,
) -> Result<Dispatch> {
    let mut updates = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(order) = orders.iter().find(|o| &o.id == id) else {
            return Err(Error::conflict(format!("order {id} no longer exists; re-plan")));
        };
        let mut next = order.clone();
        if next.state() == OrderState::Created {
            next.apply(&OrderEvent::Plan, now)?;
        }
        next.apply(&OrderEvent::Dispatch, now).map_err(|_| {
            Error::conflict(format!("order {id} is {} and cannot be dispatched; re-plan", order.state()))
        })?;
        // Planned now: whatever kept it out of an earlier plan no longer holds.
        next.dispatch_hold = None;
        updates.push(OrderUpdate { order: next, expected_version: order.version });
    }
    let codes = match pods {
        Some(pods) => {
            let org = store.organisation(org_id).await?;
            let dispatched: Vec<Order> = updates.iter().map(|u| u.order.clone()).collect();
            crate::usecases::pod::issue_otp_codes(pods, &org, &dispatched, now).await?
        }
        None => Default::default(),
    };
    let mut tracking = Vec::new();
    let mut issued = Vec::new();
    let mut outbox = Vec::new();
    for (_, stop) in plan.stops().filter(|(_, s)| ids.contains(&s.order_id)) {
        let token = TrackingToken::new(random_token(TRACKING_TOKEN_BYTES)).map_err(id_error)?;
        let attempt = updates.iter().find(|u| u.order.id == stop.order_id).map_or(0, |u| u.order.attempts);
        outbox.push(OutboxEntry {
            org_id: org_id.clone(),
            order_id: stop.order_id.clone(),
            attempt,
            trigger: Trigger::Dispatched,
            tracking_token: Some(token.as_str().to_owned()),
            eta: Some(eta_window(stop.planned_arrival, DISPATCH_ETA_HALF_WIDTH_S)),
            failure_reason: None,
            otp: codes.get(&stop.order_id).cloned(),
            created_at: now,
        });
        tracking.push(TrackingLink {
            token_hash: sha256_hex(token.as_str().as_bytes()),
            org_id: org_id.clone(),
            plan_id: plan.id.clone(),
            stop_id: stop.id.clone(),
            order_id: stop.order_id.clone(),
            expires_at: now + TRACKING_LINK_TTL,
        });
        issued.push(IssuedTrackingLink { stop_id: stop.id.clone(), order_id: stop.order_id.clone(), token });
    }
    Ok(Dispatch { updates, tracking, issued, outbox })
}

/// Re-sequences a route, moving stops in from other routes of the plan, with
/// the new times the browser computed; optionally reassigns the driver.
/// Stops whose delivery has started stay where they are.
pub async fn update_route(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    plan_id: &PlanId,
    route_id: &RouteId,
    request: &UpdateRoute,
) -> Result<Plan> {
    require(principal, &[Role::Dispatcher], "edit plans")?;
    request.validate()?;
    let mut plan = store.get_plan(&principal.org, plan_id).await?;
    if plan.version != request.version {
        return Err(Error::VersionConflict { what: "plan", id: plan_id.to_string(), expected: request.version, actual: plan.version });
    }
    let Some(target) = plan.routes.iter().position(|r| &r.id == route_id) else {
        return Err(Error::NotFound { what: "route", id: route_id.to_string() });
    };
    let mut problems = Problems::default();
    if let Some(d) = &request.driver_id {
        match store.get_driver(&principal.org, d).await {
            Ok(driver) if driver.active => {}
            Ok(_) => problems.push("driver_id", codes::NOT_ALLOWED, "driver is not active"),
            Err(crate::ports::StoreError::NotFound { .. }) => {
                problems.push("driver_id", NOT_FOUND, format!("no driver {d} in this organisation"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let order_ids: Vec<OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let started: BTreeSet<OrderId> = store
        .get_orders(&principal.org, &order_ids)
        .await?
        .into_iter()
        .filter(|o| !matches!(o.state(), OrderState::Created | OrderState::Planned | OrderState::Dispatched))
        .map(|o| o.id)
        .collect();
    let listed: BTreeSet<&StopId> = request.stops.iter().map(|s| &s.stop_id).collect();
    for stop in &plan.routes[target].stops {
        if !listed.contains(&stop.id) {
            problems.push("stops", codes::REQUIRED, format!("stop {} of this route is missing; list every stop", stop.id));
        }
    }
    let mut new_stops = Vec::with_capacity(request.stops.len());
    for (i, timing) in request.stops.iter().enumerate() {
        let found = plan.routes.iter().enumerate().find_map(|(ri, r)| r.stops.iter().position(|s| s.id == timing.stop_id).map(|si| (ri, si)));
        let Some((ri, si)) = found else {
            problems.push(format!("stops[{i}].stop_id"), NOT_FOUND, format!("no stop {} in this plan", timing.stop_id));
            continue;
        };
        let stop = &plan.routes[ri].stops[si];
        if started.contains(&stop.order_id) {
            let unchanged = ri == target
                && si == i
                && stop.planned_arrival == timing.planned_arrival
                && stop.planned_departure == timing.planned_departure;
            if !unchanged {
                problems.push(format!("stops[{i}]"), codes::NOT_ALLOWED, format!("stop {} has started and cannot move", stop.id));
            }
        }
        let mut moved = stop.clone();
        moved.planned_arrival = timing.planned_arrival;
        moved.planned_departure = timing.planned_departure;
        new_stops.push(moved);
    }
    problems.finish()?;
    // Take the moved stops off their old routes and renumber those.
    for (ri, route) in plan.routes.iter_mut().enumerate() {
        if ri != target {
            route.stops.retain(|s| !listed.contains(&s.id));
            for (n, s) in route.stops.iter_mut().enumerate() {
                s.sequence = u32::try_from(n + 1).unwrap_or(u32::MAX);
            }
        }
    }
    for (n, s) in new_stops.iter_mut().enumerate() {
        s.sequence = u32::try_from(n + 1).unwrap_or(u32::MAX);
    }
    let route = &mut plan.routes[target];
    route.stops = new_stops;
    if let Some(d) = &request.driver_id {
        route.driver_id = Some(d.clone());
    }
    if let Some(end) = request.planned_end {
        route.planned_end = end;
    }
    plan.version += 1;
    plan.updated_at = clock.now();
    plan.validate()?;
    store.update_plan(&plan, request.version).await?;
    Ok(plan)
}

/// The signed-in driver's published route on `date`, with its orders.
pub async fn driver_route(store: &dyn Store, principal: &Principal, date: Date) -> Result<DriverRoute> {
    require(principal, &[Role::Driver], "see a driver's route")?;
    let driver = principal.driver_id().ok_or_else(|| Error::Forbidden("not a driver".into()))?;
    let filter = PlanFilter { date: Some(date), published_only: true };
    let mut after = None;
    loop {
        let page = store.list_plans(&principal.org, &filter, after.as_ref(), 50).await?;
        for plan in page.items {
            if let Some(route) = plan.routes.iter().find(|r| r.driver_id.as_ref() == Some(&driver)) {
                let mut ids = Vec::new();
                for s in &route.stops {
                    if !ids.contains(&s.order_id) {
                        ids.push(s.order_id.clone());
                    }
                }
                let found = store.get_orders(&principal.org, &ids).await?;
                let orders = ids.iter().filter_map(|id| found.iter().find(|o| &o.id == id).cloned()).collect();
                return Ok(DriverRoute { plan_id: plan.id.clone(), plan_version: plan.version, date, route: route.clone(), orders });
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Err(Error::NotFound { what: "route", id: format!("for {driver} on {date}") }),
        }
    }
}
