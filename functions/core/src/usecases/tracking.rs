//! Live tracking: drivers' ping uploads (deduplicated, late ones accepted,
//! bad ones refused one by one), the ETAs of their remaining stops with the
//! `delayed` and `nearby` notifications they cause, the dispatcher's reads
//! (latest positions, a driver's trail, a route's ETAs) and the customer's
//! public tracking read.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_domain::auth::Role;
use doorstep_domain::notification::Trigger;
use doorstep_domain::plan::StopKind;
use doorstep_domain::planning::TravelSettings;
use doorstep_domain::reports::DeliveryEvent;
use doorstep_domain::time::TimeWindow;
use doorstep_domain::lifecycle::OrderStatus;
use doorstep_domain::tracking::{
    DriverPosition, MAX_PINGS_PER_BATCH, OrderStarted, PingBatch, PingBatchResult, PingOutcome, PingResult, RateDelivery, RouteProgress,
    SetCustomerNote, StopEta, StoredPing, TimelineStep, TrackingView, eta_window, failure_reason_for_customer, is_nearby,
};
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::pod::PodOutcome;
use doorstep_domain::{DriverId, Order, OrderId, OrderState, Organisation, OrgId, Plan, PlanId, Route, RouteId, Stop, StopId, ValidationErrors};
use time::{Duration, OffsetDateTime};

use crate::crypto::sha256_hex;
use crate::error::{Error, Result};
use crate::ports::{
    BlobStore, Clock, OutboxEntry, PingWrite, PlanFilter, PodStore, Principal, ReportStore, Store, StoreError, TrackingLink, TrackingStore,
};
use crate::usecases::auth::{RateLimits, require};
use crate::usecases::pod::public_pod;
use crate::usecases::plans::DISPATCH_ETA_HALF_WIDTH_S;

/// Environment variable: days pings (and latest positions) are kept.
pub const PING_RETENTION_ENV: &str = "DOORSTEP_PING_RETENTION_DAYS";
/// Environment variable: days a tracking link keeps working after the
/// delivery (or failure, or cancellation).
pub const LINK_DAYS_AFTER_FINAL_ENV: &str = "DOORSTEP_TRACKING_LINK_DAYS_AFTER_DELIVERY";
pub const DEFAULT_PING_RETENTION_DAYS: i64 = 30;
pub const DEFAULT_LINK_DAYS_AFTER_FINAL: i64 = 7;
/// Most pings one trail read returns.
pub const MAX_TRAIL_PINGS: u32 = 10_000;
/// Concurrent uploads of one route rewrite its progress with a version
/// check; this many rereads settle any realistic race.
const PROGRESS_RETRIES: usize = 4;

/// Tracking configuration, read once by the entry points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackingSettings {
    pub ping_retention: Duration,
    pub link_after_final: Duration,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            ping_retention: Duration::days(DEFAULT_PING_RETENTION_DAYS),
            link_after_final: Duration::days(DEFAULT_LINK_DAYS_AFTER_FINAL),
        }
    }
}

impl TrackingSettings {
    /// Reads the settings through `var` (the environment, in the entry
    /// points); unset or blank means the default. A bad value is an error
    /// naming the variable, never silently ignored.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> std::result::Result<Self, String> {
        let days = |name: &str, default: i64| -> std::result::Result<Duration, String> {
            match var(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(Duration::days(default)),
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(d) if (1..=3650).contains(&d) => Ok(Duration::days(d)),
                    _ => Err(format!("{name} must be a whole number of days between 1 and 3650; got {v:?}")),
                },
            }
        };
        Ok(Self {
            ping_retention: days(PING_RETENTION_ENV, DEFAULT_PING_RETENTION_DAYS)?,
            link_after_final: days(LINK_DAYS_AFTER_FINAL_ENV, DEFAULT_LINK_DAYS_AFTER_FINAL)?,
        })
    }
}

/// What the tracking use cases need.
#[derive(Clone, Copy)]
pub struct TrackingDeps<'a> {
    pub store: &'a dyn Store,
    pub tracking: &'a dyn TrackingStore,
    /// Where stored pings feed distance, idle time and speeding.
    pub reports: &'a dyn ReportStore,
    pub clock: &'a dyn Clock,
    pub settings: TrackingSettings,
}

/// Stores a driver's pings. Each ping gets its own result: `accepted`,
/// `duplicate` (same driver and `seq` already stored) or `rejected` with
/// the field at fault; the good ones are stored even when others are not.
/// Then the route's ETAs are recomputed from the driver's latest position.
pub async fn upload_pings(deps: TrackingDeps<'_>, principal: &Principal, batch: &PingBatch) -> Result<PingBatchResult> {
    require(principal, &[Role::Driver], "upload pings")?;
    let driver = principal.driver_id().ok_or_else(|| Error::Forbidden("not a driver".into()))?;
    if batch.pings.len() > MAX_PINGS_PER_BATCH {
        return Err(Error::Invalid(ValidationErrors(vec![FieldError {
            path: "pings".into(),
            code: codes::TOO_MANY.into(),
            message: format!("at most {MAX_PINGS_PER_BATCH} pings per upload; got {}; send the rest in another", batch.pings.len()),
        }])));
    }
    let now = deps.clock.now();
    let org = &principal.org;
    // The route must be this driver's, on a published plan: found through
    // its progress record once it has one.
    let (plan, progress) = find_route(deps, org, &driver, &batch.route_id, now).await?;

    let mut results = Vec::with_capacity(batch.pings.len());
    let mut seen = BTreeSet::new();
    let mut fresh = Vec::new();
    for (i, ping) in batch.pings.iter().enumerate() {
        if let Some(error) = batch.check_ping(i, now) {
            results.push(PingResult { seq: ping.seq, outcome: PingOutcome::Rejected, error: Some(error) });
        } else if !seen.insert(ping.seq) {
            results.push(PingResult { seq: ping.seq, outcome: PingOutcome::Duplicate, error: None });
        } else {
            fresh.push(ping.clone());
            results.push(PingResult { seq: ping.seq, outcome: PingOutcome::Accepted, error: None });
        }
    }
    let recorded = if fresh.is_empty() {
        None
    } else {
        let write = PingWrite {
            org_id: org.clone(),
            driver_id: driver.clone(),
            route_id: batch.route_id.clone(),
            pings: fresh,
            received_at: now,
            expires_at: now + deps.settings.ping_retention,
        };
        Some(deps.tracking.record_pings(&write).await?)
    };
    let latest = match &recorded {
        Some(r) => {
            let stored: BTreeSet<u64> = r.stored.iter().copied().collect();
            let mut first_of_seq = BTreeSet::new();
            for result in results.iter_mut().filter(|r| r.outcome == PingOutcome::Accepted) {
                if !stored.contains(&result.seq) || !first_of_seq.insert(result.seq) {
                    result.outcome = PingOutcome::Duplicate;
                }
            }
            r.latest.clone()
        }
        None => deps.tracking.latest_position(org, &driver, now).await?,
    };
    if let Some(r) = &recorded {
        let stored: BTreeSet<u64> = r.stored.iter().copied().collect();
        let mut events: Vec<DeliveryEvent> = batch
            .pings
            .iter()
            .filter(|p| stored.contains(&p.seq))
            .map(|p| DeliveryEvent::Ping {
                route_id: Some(batch.route_id.clone()),
                seq: p.seq,
                at: p.device_time,
                location: p.location(),
                accuracy_m: p.accuracy_m,
                speed_mps: p.speed_mps,
            })
            .collect();
        events.sort_by_key(|e| if let DeliveryEvent::Ping { seq, .. } = e { *seq } else { 0 });
        events.dedup_by_key(|e| if let DeliveryEvent::Ping { seq, .. } = e { *seq } else { 0 });
        crate::usecases::reports::record_after_commit(deps.reports, org, &driver, plan.date, &events).await;
    }
    let any_new = recorded.as_ref().is_some_and(|r| !r.stored.is_empty());
    if any_new && let Some(position) = &latest {
        update_progress(deps, org, &driver, plan, progress, position, now).await?;
    }
    Ok(PingBatchResult { results, latest })
}

/// The published plan holding `route` for `driver`, and the route's
/// progress if it has any. `NotFound` otherwise (nothing is stored then).
async fn find_route(
    deps: TrackingDeps<'_>,
    org: &OrgId,
    driver: &DriverId,
    route: &RouteId,
    now: OffsetDateTime,
) -> Result<(Plan, Option<RouteProgress>)> {
    let not_found = || Error::NotFound { what: "route", id: route.to_string() };
    let progress = deps.tracking.route_progress(org, route).await?;
    if let Some(p) = &progress {
        let plan = deps.store.get_plan(org, &p.plan_id).await.map_err(|_| not_found())?;
        return match plan_route(&plan, route) {
            Some(r) if r.driver_id.as_ref() == Some(driver) && plan.status == doorstep_domain::plan::PlanStatus::Published => Ok((plan, progress)),
            _ => Err(not_found()),
        };
    }
    // First upload for the route: look among the published plans of the
    // days around now (the plan's date is local; zones span ±14 h).
    let today = now.date();
    for date in [today, today.previous_day().unwrap_or(today), today.next_day().unwrap_or(today)] {
        let filter = PlanFilter { date: Some(date), published_only: true };
        let mut after: Option<PlanId> = None;
        loop {
            let page = deps.store.list_plans(org, &filter, after.as_ref(), 50).await?;
            for plan in page.items {
                if let Some(r) = plan_route(&plan, route) {
                    if r.driver_id.as_ref() == Some(driver) {
                        return Ok((plan, None));
                    }
                    return Err(not_found());
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Err(not_found())
}

fn plan_route<'a>(plan: &'a Plan, route: &RouteId) -> Option<&'a Route> {
    plan.routes.iter().find(|r| &r.id == route)
}

/// Whether a stop's visit is over for this attempt: the order reached a final
/// state, or this attempt failed and the order went back to the queue.
fn is_done(order: Option<&Order>) -> bool {
    order.is_none_or(|o| is_final(o.state()) || requeued(o))
}

/// A failed attempt the org reattempts moves the order back to Created in the
/// same write; on a published route that means this stop's attempt is over.
/// (A stop never carries an order that was not yet dispatched.)
fn requeued(order: &Order) -> bool {
    order.attempts > 0 && matches!(order.state(), OrderState::Created | OrderState::Planned)
}

/// The window a stop is held to: the order's window the plan aimed at, or
/// the window the customer was told at dispatch.
pub fn stop_window(stop: &Stop, order: Option<&Order>) -> TimeWindow {
    let windows = match (stop.kind, order) {
        (StopKind::Pickup, Some(o)) => o.pickup.as_ref().map(|p| p.time_windows.as_slice()).unwrap_or_default(),
        (StopKind::Delivery, Some(o)) => o.time_windows.as_slice(),
        (_, None) => &[],
    };
    windows
        .iter()
        .find(|w| w.end >= stop.planned_arrival)
        .or(windows.last())
        .copied()
        .unwrap_or_else(|| eta_window(stop.planned_arrival, DISPATCH_ETA_HALF_WIDTH_S))
}

/// ETAs of the route's remaining stops from `position` at `now`, with the
/// plan's travel model (great-circle × circuity ÷ speed), waiting for a
/// window's start and the stop's service time.
pub fn compute_etas(
    route: &Route,
    orders: &BTreeMap<OrderId, Order>,
    organisation: &Organisation,
    position: &DriverPosition,
    now: OffsetDateTime,
    travel: TravelSettings,
) -> Vec<StopEta> {
    let speed_mps = travel.speed_kmh / 3.6;
    let mut at = now.max(position.device_time);
    let mut from = position.location();
    let mut etas = Vec::new();
    for stop in &route.stops {
        let order = orders.get(&stop.order_id);
        if is_done(order) {
            continue;
        }
        let travel_s = from.distance_m(stop.location) * travel.circuity / speed_mps;
        let eta = at + Duration::seconds_f64(travel_s);
        let window = stop_window(stop, order);
        let service_s = match (stop.kind, order) {
            (StopKind::Pickup, Some(o)) => o.pickup.as_ref().and_then(|p| p.service_time_s).unwrap_or(organisation.default_service_time_s),
            (_, Some(o)) => o.service_time_or(organisation.default_service_time_s),
            (_, None) => organisation.default_service_time_s,
        };
        let starts = eta.max(window.start);
        etas.push(StopEta {
            stop_id: stop.id.clone(),
            order_id: stop.order_id.clone(),
            sequence: stop.sequence,
            eta,
            window: Some(window),
            late_by_s: (eta - window.end).whole_seconds().max(0),
        });
        at = starts + Duration::seconds(i64::from(service_s));
        from = stop.location;
    }
    etas
}

/// Recomputes and stores the route's ETAs, and writes `delayed` / `nearby`
/// outbox entries (once per order and attempt) in the same transaction.
async fn update_progress(
    deps: TrackingDeps<'_>,
    org: &OrgId,
    driver: &DriverId,
    plan: Plan,
    mut progress: Option<RouteProgress>,
    position: &DriverPosition,
    now: OffsetDateTime,
) -> Result<()> {
    let Some(route) = plan_route(&plan, &position.route_id).or_else(|| plan.routes.iter().find(|r| r.driver_id.as_ref() == Some(driver))) else {
        return Ok(());
    };
    let organisation = deps.store.organisation(org).await?;
    let ids: Vec<OrderId> = route.stops.iter().map(|s| s.order_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let orders: BTreeMap<OrderId, Order> = deps.store.get_orders(org, &ids).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
    let etas = compute_etas(route, &orders, &organisation, position, now, TravelSettings::default());
    let settings = &organisation.settings;
    let mut candidates = Vec::new();
    for eta in &etas {
        let stop = route.stops.iter().find(|s| s.id == eta.stop_id);
        let (Some(stop), Some(order)) = (stop, orders.get(&eta.order_id)) else { continue };
        if stop.kind == StopKind::Delivery && eta.late_by_s > i64::from(settings.delay_threshold_s) {
            candidates.push(entry(org, order, Trigger::Delayed, Some(eta_window(eta.eta, DISPATCH_ETA_HALF_WIDTH_S)), now));
        }
    }
    // Nearby counts for the next stop only.
    if let Some(next) = etas.first()
        && let Some(stop) = route.stops.iter().find(|s| s.id == next.stop_id)
        && let Some(order) = orders.get(&next.order_id)
        && stop.kind == StopKind::Delivery
        && is_nearby(&position.as_ping(), stop.location, f64::from(settings.nearby_radius_m))
    {
        candidates.push(entry(org, order, Trigger::Nearby, Some(eta_window(next.eta, DISPATCH_ETA_HALF_WIDTH_S)), now));
    }
    for _ in 0..PROGRESS_RETRIES {
        let expected = progress.as_ref().map(|p| p.version);
        let mut notified = progress.as_ref().map(|p| p.notified.clone()).unwrap_or_default();
        let mut started = progress.as_ref().map(|p| p.started.clone()).unwrap_or_default();
        // While an order is out for delivery its `updated_at` is when it left.
        for order in orders.values().filter(|o| o.state() == OrderState::OutForDelivery) {
            if !started.iter().any(|s| s.order_id == order.id) {
                started.push(OrderStarted { order_id: order.id.clone(), at: order.updated_at });
            }
        }
        let mut outbox = Vec::new();
        for c in &candidates {
            if !notified.contains(&c.key()) {
                notified.push(c.key());
                outbox.push(c.clone());
            }
        }
        let next = RouteProgress {
            plan_id: plan.id.clone(),
            route_id: route.id.clone(),
            driver_id: driver.clone(),
            version: expected.unwrap_or(0) + 1,
            etas: etas.clone(),
            notified,
            started,
            updated_at: now,
        };
        match deps.tracking.save_route_progress(org, &next, expected, &outbox).await {
            Ok(()) => return Ok(()),
            Err(StoreError::VersionConflict { .. }) => progress = deps.tracking.route_progress(org, &route.id).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Store(StoreError::Unavailable("the route's progress kept changing; retry the upload".into())))
}

fn entry(org: &OrgId, order: &Order, trigger: Trigger, eta: Option<TimeWindow>, now: OffsetDateTime) -> OutboxEntry {
    OutboxEntry {
        org_id: org.clone(),
        order_id: order.id.clone(),
        attempt: order.attempts,
        trigger,
        tracking_token: None,
        eta,
        failure_reason: None,
        otp: None,
        created_at: now,
    }
}

/// The latest position of every driver of the dispatcher's organisation.
pub async fn positions(deps: TrackingDeps<'_>, principal: &Principal) -> Result<Vec<DriverPosition>> {
    require(principal, &[Role::Dispatcher], "see drivers' positions")?;
    Ok(deps.tracking.latest_positions(&principal.org, deps.clock.now()).await?)
}

/// A driver's pings between two instants, oldest first (at most
/// [`MAX_TRAIL_PINGS`]). Another organisation's driver is simply not found.
pub async fn trail(
    deps: TrackingDeps<'_>,
    principal: &Principal,
    driver: &DriverId,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<StoredPing>> {
    require(principal, &[Role::Dispatcher], "see a driver's trail")?;
    if to < from {
        return Err(Error::Invalid(ValidationErrors(vec![FieldError {
            path: "to".into(),
            code: codes::WINDOW_ENDS_BEFORE_START.into(),
            message: "must not be before from".into(),
        }])));
    }
    deps.store.get_driver(&principal.org, driver).await?;
    Ok(deps.tracking.ping_trail(&principal.org, driver, from, to, deps.clock.now(), MAX_TRAIL_PINGS).await?)
}

/// The current ETAs of a route's remaining stops.
pub async fn route_progress(deps: TrackingDeps<'_>, principal: &Principal, route: &RouteId) -> Result<RouteProgress> {
    require(principal, &[Role::Dispatcher], "see a route's progress")?;
    deps.tracking
        .route_progress(&principal.org, route)
        .await?
        .ok_or_else(|| Error::NotFound { what: "route progress", id: route.to_string() })
}

/// Where the customer's page finds the proof of delivery; without it the
/// view simply carries no proof.
#[derive(Clone, Copy)]
pub struct ProofPorts<'a> {
    pub pods: &'a dyn PodStore,
    pub blobs: &'a dyn BlobStore,
}

/// What the customer's page (read and writes) needs.
#[derive(Clone, Copy)]
pub struct CustomerDeps<'a> {
    pub tracking: TrackingDeps<'a>,
    pub proof: Option<ProofPorts<'a>>,
    /// Writes per link and per client address in one window: `per_client`
    /// of each in `window_s` (the sign-in limits' budget per address).
    pub limits: RateLimits,
}

/// How a customer's write ended, short of a failure.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerWrite {
    /// Stored; the view as it is now.
    Saved(TrackingView),
    /// The link leads nowhere (unknown, expired, malformed).
    UnknownLink,
    /// A note for an order that is already delivered, failed or cancelled.
    TooLate { state: OrderState },
    /// A rating before the order was delivered or failed.
    NotDeliveredYet { state: OrderState },
    /// Too many writes through this link or from this address.
    RateLimited { retry_after_s: u64 },
}

/// The customer's view behind a tracking token, or `None` when the token is
/// unknown or expired: both look the same to the caller. Carries no proof
/// of delivery (see [`customer_view`]).
pub async fn public_view(deps: TrackingDeps<'_>, token: &str) -> Result<Option<TrackingView>> {
    customer_view(deps, None, token).await
}

/// The customer's view, with the proof of delivery when `proof` is given,
/// the order is delivered and the organisation lets customers see it.
pub async fn customer_view(deps: TrackingDeps<'_>, proof: Option<ProofPorts<'_>>, token: &str) -> Result<Option<TrackingView>> {
    let now = deps.clock.now();
    let Some((link, order)) = resolve_link(deps, token, now).await? else { return Ok(None) };
    build_view(deps, proof, &link, order, now).await
}

/// Whether the token leads to an order now (for answering a malformed
/// body with the same 404 as any other request on an unknown link).
pub async fn link_is_valid(deps: TrackingDeps<'_>, token: &str) -> Result<bool> {
    Ok(resolve_link(deps, token, deps.clock.now()).await?.is_some())
}

/// Replaces the customer's note to the driver. Refused once the order is
/// final (`TooLate`); bad text is `Error::Invalid` naming `instructions` or
/// `safe_place`, and nothing is written.
pub async fn set_customer_note(deps: CustomerDeps<'_>, token: &str, client: &str, body: &SetCustomerNote) -> Result<CustomerWrite> {
    let now = deps.tracking.clock.now();
    if let Some(retry_after_s) = count_write(deps, token, client, now).await? {
        return Ok(CustomerWrite::RateLimited { retry_after_s });
    }
    let Some((link, order)) = resolve_link(deps.tracking, token, now).await? else { return Ok(CustomerWrite::UnknownLink) };
    let note = body.to_note()?;
    if is_final(order.state()) {
        return Ok(CustomerWrite::TooLate { state: order.state() });
    }
    let write = |o: &mut Order| -> Option<CustomerWrite> {
        if is_final(o.state()) {
            return Some(CustomerWrite::TooLate { state: o.state() });
        }
        o.customer_note = note.clone();
        None
    };
    let order = match update_customer_fields(deps.tracking, order, write).await? {
        Ok(o) => o,
        Err(refused) => return Ok(refused),
    };
    saved(deps, &link, order, now).await
}

/// Records (or replaces) the customer's rating of a delivered or failed
/// order, and folds it into the reports of the delivery's day and driver.
/// Before that, `NotDeliveredYet`; bad input is `Error::Invalid` naming
/// `stars` or `comment`.
pub async fn rate_delivery(deps: CustomerDeps<'_>, token: &str, client: &str, body: &RateDelivery) -> Result<CustomerWrite> {
    let now = deps.tracking.clock.now();
    if let Some(retry_after_s) = count_write(deps, token, client, now).await? {
        return Ok(CustomerWrite::RateLimited { retry_after_s });
    }
    let Some((link, order)) = resolve_link(deps.tracking, token, now).await? else { return Ok(CustomerWrite::UnknownLink) };
    let rating = body.to_rating(now)?;
    if !can_rate(order.state()) {
        return Ok(CustomerWrite::NotDeliveredYet { state: order.state() });
    }
    let write = |o: &mut Order| -> Option<CustomerWrite> {
        if !can_rate(o.state()) {
            return Some(CustomerWrite::NotDeliveredYet { state: o.state() });
        }
        o.rating = Some(rating.clone());
        None
    };
    let order = match update_customer_fields(deps.tracking, order, write).await? {
        Ok(o) => o,
        Err(refused) => return Ok(refused),
    };
    // The rating counts on the delivery's day, for its driver.
    let org = &link.org_id;
    match deps.tracking.store.get_plan(org, &link.plan_id).await {
        Ok(plan) => {
            let driver = plan.stops().find(|(_, s)| s.id == link.stop_id).and_then(|(route, _)| route.driver_id.clone());
            if let Some(driver) = driver {
                let event = DeliveryEvent::Rated { order_id: order.id.clone(), stars: rating.stars };
                crate::usecases::reports::record_after_commit(deps.tracking.reports, org, &driver, plan.date, &[event]).await;
            }
        }
        Err(e) => tracing::warn!(%org, order = %order.id, error = %e, "rating stored but its plan is unreadable; not in the reports"),
    }
    saved(deps, &link, order, now).await
}

fn is_final(state: OrderState) -> bool {
    matches!(state, OrderState::Delivered | OrderState::Failed | OrderState::Cancelled)
}

fn can_rate(state: OrderState) -> bool {
    matches!(state, OrderState::Delivered | OrderState::Failed)
}

async fn saved(deps: CustomerDeps<'_>, link: &TrackingLink, order: Order, now: OffsetDateTime) -> Result<CustomerWrite> {
    Ok(match build_view(deps.tracking, deps.proof, link, order, now).await? {
        Some(view) => CustomerWrite::Saved(view),
        None => CustomerWrite::UnknownLink,
    })
}

/// Applies `change` to the order and writes it with the version read; on a
/// version conflict (a driver or dispatcher wrote meanwhile) it re-reads and
/// tries once more. `change` may refuse (returning the answer) after a
/// re-read shows the order moved on. Only the version moves: `updated_at`
/// dates state changes (the timeline, the link's end), which these are not.
async fn update_customer_fields(
    deps: TrackingDeps<'_>,
    mut order: Order,
    change: impl Fn(&mut Order) -> Option<CustomerWrite>,
) -> Result<std::result::Result<Order, CustomerWrite>> {
    for attempt in 0..2 {
        let expected = order.version;
        let mut next = order.clone();
        if let Some(refused) = change(&mut next) {
            return Ok(Err(refused));
        }
        next.version = expected + 1;
        match deps.store.update_order(&next, expected).await {
            Ok(()) => return Ok(Ok(next)),
            Err(StoreError::VersionConflict { .. }) if attempt == 0 => {
                order = deps.store.get_order(&order.org_id, &order.id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::conflict("the order kept changing while saving; please try again"))
}

/// Counts one write through `token` from `client`; `Some(retry_after_s)`
/// once either is over its budget for the window. The token is counted by
/// its hash whether it exists or not, so the answer says nothing about it.
async fn count_write(deps: CustomerDeps<'_>, token: &str, client: &str, now: OffsetDateTime) -> Result<Option<u64>> {
    let size = deps.limits.window_s.max(1);
    let index = now.unix_timestamp().div_euclid(size);
    let end = OffsetDateTime::from_unix_timestamp((index + 1) * size).unwrap_or(now);
    let keys = [format!("rate:track-write:link:{}:{index}", sha256_hex(token.as_bytes())), format!("rate:track-write:client:{client}:{index}")];
    let mut over = false;
    for key in &keys {
        over |= deps.tracking.store.bump_counter(key, now, end).await? > deps.limits.per_client;
    }
    if over {
        tracing::warn!(client, "tracking page write limit reached");
        return Ok(Some(u64::try_from((end - now).whole_seconds()).unwrap_or(1).max(1)));
    }
    Ok(None)
}

/// The link and its order, when the token leads anywhere now. The token is
/// hashed and looked up first, whatever it is, so an unknown one costs the
/// same as a known one up to that point. A link also ends
/// `link_after_final` after the order was delivered, failed or cancelled.
async fn resolve_link(deps: TrackingDeps<'_>, token: &str, now: OffsetDateTime) -> Result<Option<(TrackingLink, Order)>> {
    let hash = sha256_hex(token.as_bytes());
    let Some(link) = deps.tracking_link(&hash, now).await? else { return Ok(None) };
    let order = match deps.store.get_order(&link.org_id, &link.order_id).await {
        Ok(o) => o,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // A final state never changes again (a failure may be reattempted, which
    // re-plans the order under a new link), so its time is `updated_at`.
    if is_final(order.state()) && now > order.updated_at + deps.settings.link_after_final {
        return Ok(None);
    }
    Ok(Some((link, order)))
}

async fn build_view(deps: TrackingDeps<'_>, proof: Option<ProofPorts<'_>>, link: &TrackingLink, order: Order, now: OffsetDateTime) -> Result<Option<TrackingView>> {
    let org = &link.org_id;
    // The customer's link belongs to one attempt: once it failed and the order
    // was re-queued, the page tells what happened to that attempt.
    let attempt_failed = requeued(&order);
    let state = if attempt_failed { OrderState::Failed } else { order.state() };
    let finished = is_final(state);
    // After a failed attempt the note still reaches the next one.
    let can_leave_note = !is_final(order.state());
    let plan = match deps.store.get_plan(org, &link.plan_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some((route, stop)) = plan.stops().find(|(_, s)| s.id == link.stop_id) else { return Ok(None) };
    let organisation = deps.store.organisation(org).await?;
    let driver_first_name = match &route.driver_id {
        Some(d) => match deps.store.get_driver(org, d).await {
            Ok(driver) => driver.name.split_whitespace().next().map(str::to_owned),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let ids: Vec<OrderId> = route.stops.iter().map(|s| s.order_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let orders: BTreeMap<OrderId, Order> = deps.store.get_orders(org, &ids).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
    let remaining: Vec<&Stop> = route.stops.iter().filter(|s| !is_done(orders.get(&s.order_id))).collect();
    let is_next = remaining.first().is_some_and(|s| s.id == stop.id);
    let stops_before = remaining.iter().position(|s| s.id == stop.id).map(|p| u32::try_from(p).unwrap_or(u32::MAX));
    let progress = deps.tracking.route_progress(org, &route.id).await?;
    let (eta, driver_position) = if finished {
        (None, None)
    } else {
        let eta = progress
            .as_ref()
            .and_then(|p| p.eta_of(&stop.id))
            .map_or_else(|| eta_window(stop.planned_arrival, DISPATCH_ETA_HALF_WIDTH_S), |e| eta_window(e.eta, DISPATCH_ETA_HALF_WIDTH_S));
        // The driver's position only while on the way to this customer.
        let position = match (&route.driver_id, state == OrderState::OutForDelivery && is_next) {
            (Some(d), true) => deps.tracking.latest_position(org, d, now).await?.map(|p| p.location()),
            _ => None,
        };
        (Some(eta), position)
    };
    let mut timeline = Vec::new();
    if !matches!(state, OrderState::Created | OrderState::Planned) {
        timeline.push(TimelineStep { state: OrderState::Dispatched, at: plan.published_at });
    }
    match state {
        OrderState::OutForDelivery => timeline.push(TimelineStep { state, at: Some(order.updated_at) }),
        OrderState::Delivered | OrderState::Failed => {
            let left = progress.as_ref().and_then(|p| p.started_at(&order.id));
            timeline.push(TimelineStep { state: OrderState::OutForDelivery, at: left });
            timeline.push(TimelineStep { state, at: Some(order.updated_at) });
        }
        OrderState::Cancelled => timeline.push(TimelineStep { state, at: Some(order.updated_at) }),
        _ => {}
    }
    let pod = match (proof, state) {
        (Some(p), OrderState::Delivered) => match public_pod(p.pods, p.blobs, now, &organisation, &order.id).await {
            Ok(pod) => pod,
            // The page still shows the delivery; only the proof is missing.
            Err(e) => {
                tracing::warn!(%org, order = %order.id, error = %e, "cannot show the proof of delivery on the tracking page");
                None
            }
        },
        _ => None,
    };
    let failure_reason = match &order.status {
        OrderStatus::Failed { reason, .. } => Some(failure_reason_for_customer(*reason).to_owned()),
        _ if attempt_failed => match proof {
            Some(p) => failed_attempt_reason(p.pods, org, &order.id, &link.stop_id).await,
            None => None,
        },
        _ => None,
    };
    let updated_at = progress.as_ref().map_or(order.updated_at, |p| p.updated_at.max(order.updated_at));
    Ok(Some(TrackingView {
        order_id: order.id.clone(),
        state,
        sender: organisation.name,
        driver_first_name,
        eta,
        stops_before: if finished { None } else { stops_before },
        driver_position,
        destination: Some(stop.location),
        updated_at,
        timeline,
        pod,
        customer_note: order.customer_note,
        can_leave_note,
        rating: order.rating,
        can_rate: can_rate(state),
        failure_reason,
    }))
}

/// Why this stop's attempt failed, for the customer, from its sealed record.
async fn failed_attempt_reason(pods: &dyn PodStore, org: &OrgId, order: &OrderId, stop: &StopId) -> Option<String> {
    match pods.pod_records(org, order).await {
        Ok(records) => records.iter().rev().find(|r| &r.stop_id == stop).and_then(|r| match r.outcome {
            PodOutcome::Failed { reason, .. } => Some(failure_reason_for_customer(reason).to_owned()),
            PodOutcome::Delivered => None,
        }),
        Err(e) => {
            tracing::warn!(%org, %order, error = %e, "cannot read why a delivery attempt failed");
            None
        }
    }
}

impl TrackingDeps<'_> {
    async fn tracking_link(&self, hash: &str, now: OffsetDateTime) -> Result<Option<crate::ports::TrackingLink>, StoreError> {
        self.store.tracking_link(hash, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn settings_default_to_30_days_of_pings_and_7_days_after_delivery() {
        let s = TrackingSettings::from_vars(vars(&[])).expect("defaults");
        assert_eq!((s.ping_retention, s.link_after_final), (Duration::days(30), Duration::days(7)));
        let s = TrackingSettings::from_vars(vars(&[(PING_RETENTION_ENV, " 90 "), (LINK_DAYS_AFTER_FINAL_ENV, "")])).expect("set");
        assert_eq!((s.ping_retention, s.link_after_final), (Duration::days(90), Duration::days(7)));
    }

    #[test]
    fn bad_settings_are_refused_naming_the_variable() {
        for bad in ["0", "-3", "thirty", "1.5", "99999"] {
            let e = TrackingSettings::from_vars(vars(&[(PING_RETENTION_ENV, bad)])).expect_err(bad);
            assert!(e.contains(PING_RETENTION_ENV) && e.contains(bad), "{e}");
        }
        let e = TrackingSettings::from_vars(vars(&[(LINK_DAYS_AFTER_FINAL_ENV, "a week")])).expect_err("words");
        assert!(e.starts_with(LINK_DAYS_AFTER_FINAL_ENV), "{e}");
    }
}
