//! Reports: folding delivery events into the per-(day, driver) aggregates,
//! and reading them back as metrics and CSV.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_domain::auth::Role;
use doorstep_domain::plan::Route;
use doorstep_domain::pod::{PodOutcome, PodRecord, VisitKind};
use doorstep_domain::reports::{DeliveryEvent, DriverDay, Report, ReportPolicy, ReportQuery};
use doorstep_domain::validation::{FieldError, ValidationErrors, codes};
use doorstep_domain::{DriverId, Order, OrderId, OrderState, OrgId, Organisation, Plan, PlanId, RouteId, Validate, Vehicle};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::ports::{Clock, PlanFilter, PodStore, Principal, ReportStore, Store, StoreError, TrackingStore};
use crate::usecases::auth::require;
use crate::usecases::tracking::stop_window;

/// How often a fold re-reads after losing a race with another writer.
const FOLD_RETRIES: u32 = 8;

/// Folds `events` into the driver's aggregate for `date`, retrying when a
/// concurrent fold got there first. Replayed events change nothing (the
/// aggregate is idempotent), so callers may retry freely.
pub async fn record(
    store: &dyn ReportStore,
    org: &OrgId,
    driver: &DriverId,
    date: Date,
    events: &[DeliveryEvent],
    policy: &ReportPolicy,
) -> Result<DriverDay> {
    for _ in 0..FOLD_RETRIES {
        let (mut day, version) = match store.driver_day(org, driver, date).await? {
            Some(stored) => (stored.day, stored.version),
            None => (DriverDay::new(driver.clone(), date), 0),
        };
        let mut changed = false;
        for event in events {
            changed |= day.apply(event, policy);
        }
        if !changed {
            return Ok(day);
        }
        match store.put_driver_day(org, &day, version).await {
            Ok(()) => return Ok(day),
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::conflict(format!("the report for {driver} on {date} is too busy to update; retry")))
}

/// [`record`] after the state change it describes has been committed: a
/// failure is logged, never returned, because the driver's action stands
/// either way (the aggregate misses the event; see ARCHITECTURE.md).
pub async fn record_after_commit(store: &dyn ReportStore, org: &OrgId, driver: &DriverId, date: Date, events: &[DeliveryEvent]) {
    if events.is_empty() {
        return;
    }
    if let Err(e) = record(store, org, driver, date, events, &ReportPolicy::default()).await {
        tracing::warn!(%org, %driver, %date, error = %e, "could not fold delivery events into the report");
    }
}

/// Every metric for the query's range (dispatchers only).
pub async fn report(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery) -> Result<Report> {
    let days = days(store, principal, query).await?;
    Ok(Report::from_days(&days, &ReportPolicy::default()))
}

/// One table of the report as CSV (`shifts`, `routes`, `failure_reasons`,
/// `on_time_by_day`, `cash_on_delivery`, `ratings`).
pub async fn csv(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery, table: &str) -> Result<String> {
    let tables = report(store, principal, query).await?.csv_tables();
    let names: Vec<&str> = tables.iter().map(|(n, _)| *n).collect();
    let wanted = names.join(", ");
    tables.into_iter().find(|(name, _)| *name == table).map(|(_, text)| text).ok_or_else(|| {
        Error::Invalid(ValidationErrors(vec![FieldError {
            path: "table".into(),
            code: codes::NOT_ALLOWED.into(),
            message: format!("unknown table {table:?}; use one of: {wanted}"),
        }]))
    })
}

async fn days(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery) -> Result<Vec<DriverDay>> {
    require(principal, &[Role::Dispatcher], "read reports")?;
    query.validate()?;
    let mut days = store.driver_days(&principal.org, query.from, query.to).await?;
    if !query.drivers.is_empty() {
        days.retain(|d| query.drivers.contains(&d.driver_id));
    }
    Ok(days)
}

// --- rebuilding the aggregates from the stored records ----------------------------

/// Pings read per call while rebuilding a driver's day.
const PING_PAGE: u32 = 5_000;

/// The ports a rebuild reads the source of truth from (plans, visits, proofs
/// of delivery, orders, pings) and writes the aggregates to.
#[derive(Clone, Copy)]
pub struct RebuildDeps<'a> {
    pub store: &'a dyn Store,
    pub pods: &'a dyn PodStore,
    pub tracking: &'a dyn TrackingStore,
    pub reports: &'a dyn ReportStore,
    pub clock: &'a dyn Clock,
    /// How long pings are kept: a day whose pings may have expired keeps the
    /// ping figures (distance, idle, speeding) of its stored aggregate.
    pub ping_retention: Duration,
}

impl std::fmt::Debug for RebuildDeps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebuildDeps").field("ping_retention", &self.ping_retention).finish_non_exhaustive()
    }
}

/// `POST /api/reports/rebuild`: the days to recompute, both included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {
    #[serde(with = "doorstep_domain::time::iso_date")]
    pub from: Date,
    /// Included; at most 366 days after `from`.
    #[serde(with = "doorstep_domain::time::iso_date")]
    pub to: Date,
}

/// One (day, driver) the rebuild looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebuiltDay {
    #[serde(with = "doorstep_domain::time::iso_date")]
    pub date: Date,
    pub driver_id: DriverId,
    /// Whether the stored aggregate differed (and was replaced).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebuildSummary {
    #[serde(with = "doorstep_domain::time::iso_date")]
    pub from: Date,
    #[serde(with = "doorstep_domain::time::iso_date")]
    pub to: Date,
    pub days: Vec<RebuiltDay>,
    /// How many aggregates were replaced.
    pub changed: u32,
}

fn check_range(from: Date, to: Date) -> Result<()> {
    let query = ReportQuery { from, to, drivers: Vec::new() };
    query.validate()?;
    Ok(())
}

/// Recomputes every driver's aggregate of each day from `from` to `to`
/// (dispatchers only, at most a report's range).
pub async fn rebuild(deps: RebuildDeps<'_>, principal: &Principal, request: &RebuildRequest) -> Result<RebuildSummary> {
    require(principal, &[Role::Dispatcher], "rebuild reports")?;
    rebuild_org(deps, &principal.org, request.from, request.to).await
}

/// [`rebuild`] for the operator's tools (`doorstep reports rebuild`, the
/// daily task of `doorstep serve`), which act for the organisation itself.
pub async fn rebuild_org(deps: RebuildDeps<'_>, org: &OrgId, from: Date, to: Date) -> Result<RebuildSummary> {
    check_range(from, to)?;
    let organisation = deps.store.organisation(org).await?;
    let vehicles = deps.store.list_vehicles(org).await?;
    let mut summary = RebuildSummary { from, to, days: Vec::new(), changed: 0 };
    let mut date = from;
    loop {
        for day in rebuild_day(deps, &organisation, &vehicles, date).await? {
            summary.changed += u32::from(day.changed);
            summary.days.push(day);
        }
        match date.next_day() {
            Some(next) if next <= to => date = next,
            _ => return Ok(summary),
        }
    }
}

/// Replaces each driver's aggregate of `date` with the one folded from the
/// stored records, conditional on the version read. A concurrent live fold
/// makes it re-read the records and try again.
async fn rebuild_day(deps: RebuildDeps<'_>, organisation: &Organisation, vehicles: &[Vehicle], date: Date) -> Result<Vec<RebuiltDay>> {
    let org = &organisation.id;
    let now = deps.clock.now();
    let (pings_from, _) = ping_window(date);
    // Pings older than the retention may be gone: keep the stored figures.
    let keep_ping_figures = pings_from < now - deps.ping_retention;
    let mut done: BTreeMap<DriverId, bool> = BTreeMap::new();
    for _ in 0..FOLD_RETRIES {
        let sources = day_events(deps, organisation, vehicles, date).await?;
        let stored_drivers: BTreeSet<DriverId> = deps.reports.driver_days(org, date, date).await?.into_iter().map(|d| d.driver_id).collect();
        let drivers: BTreeSet<DriverId> = sources.keys().cloned().chain(stored_drivers).filter(|d| !done.contains_key(d)).collect();
        let mut conflict = false;
        for driver in drivers {
            let stored = deps.reports.driver_day(org, &driver, date).await?;
            let mut day = DriverDay::new(driver.clone(), date);
            for event in sources.get(&driver).map(Vec::as_slice).unwrap_or_default() {
                day.apply(event, &ReportPolicy::default());
            }
            if keep_ping_figures && let Some(old) = &stored {
                carry_ping_figures(&mut day, &old.day);
            }
            if stored.as_ref().is_some_and(|s| s.day == day) {
                done.insert(driver, false);
                continue;
            }
            let version = stored.as_ref().map_or(0, |s| s.version);
            match deps.reports.put_driver_day(org, &day, version).await {
                Ok(()) => {
                    done.insert(driver, true);
                }
                Err(StoreError::VersionConflict { .. }) => conflict = true,
                Err(e) => return Err(e.into()),
            }
        }
        if !conflict {
            return Ok(done.into_iter().map(|(driver_id, changed)| RebuiltDay { date, driver_id, changed }).collect());
        }
    }
    Err(Error::conflict(format!("the reports of {date} are too busy to rebuild; retry")))
}

/// Device times a route of `date` can have pings in: plan dates are local,
/// and zones span UTC-12 to UTC+14, so a day either side.
fn ping_window(date: Date) -> (OffsetDateTime, OffsetDateTime) {
    let midnight = date.midnight().assume_utc();
    (midnight - Duration::days(1), midnight + Duration::days(2))
}

/// The ping-derived figures of `old` (pings past retention are gone).
fn carry_ping_figures(day: &mut DriverDay, old: &DriverDay) {
    day.idle_s = old.idle_s;
    day.speeding_events = old.speeding_events;
    day.ping_cursor = old.ping_cursor.clone();
    for (id, route) in &mut day.routes {
        if let Some(before) = old.routes.get(id) {
            route.actual_distance_m = before.actual_distance_m;
            route.measured = before.measured;
        }
    }
}

/// The route start as `pod::start_route` reports it.
pub fn route_started(route: &Route, vehicle: Option<&Vehicle>, at: OffsetDateTime) -> DeliveryEvent {
    DeliveryEvent::RouteStarted {
        route_id: route.id.clone(),
        vehicle_id: route.vehicle_id.clone(),
        at,
        planned_distance_m: route.totals.distance_m,
        planned_duration_s: route.totals.duration_s,
        stops: route.stops.iter().map(|s| s.location).collect(),
        cost_per_km: vehicle.map_or(0.0, |v| v.cost_per_km),
        cost_per_hour: vehicle.map_or(0.0, |v| v.cost_per_hour),
        fixed_cost: vehicle.map_or(0.0, |v| v.fixed_cost),
        co2_g_per_km: vehicle.and_then(|v| v.co2_g_per_km),
    }
}

/// Every driver's events of `date`, from the published plans of that date:
/// route starts (visits), completed and failed stops (proofs of delivery,
/// with the orders' windows), the routes' stored pings and the orders'
/// ratings (on their last attempt). Ordered so the fold sees each route's start first:
/// starts by time, then stops by time, then pings by sequence, then ratings.
async fn day_events(
    deps: RebuildDeps<'_>,
    organisation: &Organisation,
    vehicles: &[Vehicle],
    date: Date,
) -> Result<BTreeMap<DriverId, Vec<DeliveryEvent>>> {
    let org = &organisation.id;
    let policy = &organisation.settings.pod;
    let mut starts: BTreeMap<DriverId, Vec<(OffsetDateTime, DeliveryEvent)>> = BTreeMap::new();
    let mut stops: BTreeMap<DriverId, Vec<(OffsetDateTime, String, DeliveryEvent)>> = BTreeMap::new();
    let mut ratings: BTreeMap<DriverId, Vec<DeliveryEvent>> = BTreeMap::new();
    let mut routes_of: BTreeMap<DriverId, BTreeSet<RouteId>> = BTreeMap::new();
    for plan in published_plans(deps.store, org, date).await? {
        let mut ids: Vec<OrderId> = Vec::new();
        for stop in plan.routes.iter().flat_map(|r| &r.stops) {
            if !ids.contains(&stop.order_id) {
                ids.push(stop.order_id.clone());
            }
        }
        let orders: BTreeMap<OrderId, Order> = deps.store.get_orders(org, &ids).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
        let mut records: BTreeMap<OrderId, Vec<PodRecord>> = BTreeMap::new();
        for route in &plan.routes {
            let Some(driver) = &route.driver_id else { continue };
            routes_of.entry(driver.clone()).or_default().insert(route.id.clone());
            if let Some(visit) = deps.pods.visit(org, route.id.as_str()).await?
                && visit.kind == VisitKind::RouteStarted
                && visit.plan_id == plan.id
            {
                let vehicle = vehicles.iter().find(|v| v.id == route.vehicle_id);
                starts.entry(driver.clone()).or_default().push((visit.device_time, route_started(route, vehicle, visit.device_time)));
            }
            for stop in &route.stops {
                if !records.contains_key(&stop.order_id) {
                    let found = deps.pods.pod_records(org, &stop.order_id).await?;
                    records.insert(stop.order_id.clone(), found);
                }
                let order = orders.get(&stop.order_id);
                let last_attempt = records[&stop.order_id].iter().map(|r| r.attempt).max();
                for record in records[&stop.order_id].iter().filter(|r| r.plan_id == plan.id && r.stop_id == stop.id) {
                    let at = record.proof.device_time;
                    let event = match &record.outcome {
                        PodOutcome::Delivered => DeliveryEvent::Delivered {
                            order_id: record.order_id.clone(),
                            route_id: route.id.clone(),
                            attempt: record.attempt,
                            at,
                            window: Some(stop_window(stop, order)),
                            cod_due: record.cash_due.clone(),
                            cod_collected: record.proof.cash_collected.clone(),
                        },
                        PodOutcome::Failed { reason, .. } => {
                            // What `pod::fail` decided by policy; an order still
                            // failed at this attempt was certainly not re-planned.
                            let stuck = order.is_some_and(|o| o.state() == OrderState::Failed && o.attempts == record.attempt + 1);
                            let reattempt = policy.auto_reattempt && record.attempt + 1 < policy.max_attempts && !stuck;
                            DeliveryEvent::Failed {
                                order_id: record.order_id.clone(),
                                route_id: route.id.clone(),
                                attempt: record.attempt,
                                at,
                                reason: *reason,
                                reattempt,
                            }
                        }
                    };
                    stops.entry(driver.clone()).or_default().push((at, format!("{}#{}", record.order_id, record.attempt), event));
                    // Customers rate a delivered or finally failed order: the
                    // rating counts on its last attempt's day, for its driver.
                    if Some(record.attempt) == last_attempt
                        && let Some(rating) = order.and_then(|o| o.rating.as_ref())
                    {
                        let event = DeliveryEvent::Rated { order_id: record.order_id.clone(), stars: rating.stars };
                        ratings.entry(driver.clone()).or_default().push(event);
                    }
                }
            }
        }
    }
    let mut events: BTreeMap<DriverId, Vec<DeliveryEvent>> = BTreeMap::new();
    for (driver, routes) in &routes_of {
        let mut list = Vec::new();
        let mut driver_starts = starts.remove(driver).unwrap_or_default();
        driver_starts.sort_by_key(|(at, _)| *at);
        list.extend(driver_starts.into_iter().map(|(_, e)| e));
        let mut driver_stops = stops.remove(driver).unwrap_or_default();
        driver_stops.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        list.extend(driver_stops.into_iter().map(|(_, _, e)| e));
        list.extend(route_pings(deps, org, driver, routes, date).await?);
        list.extend(ratings.remove(driver).unwrap_or_default());
        if !list.is_empty() {
            events.insert(driver.clone(), list);
        }
    }
    Ok(events)
}

/// Every published plan of `date`.
async fn published_plans(store: &dyn Store, org: &OrgId, date: Date) -> Result<Vec<Plan>> {
    let filter = PlanFilter { date: Some(date), published_only: true };
    let mut plans = Vec::new();
    let mut after: Option<PlanId> = None;
    loop {
        let page = store.list_plans(org, &filter, after.as_ref(), 100).await?;
        plans.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(plans),
        }
    }
}

/// The driver's stored pings on `routes`, by sequence, as tracking folds them.
async fn route_pings(deps: RebuildDeps<'_>, org: &OrgId, driver: &DriverId, routes: &BTreeSet<RouteId>, date: Date) -> Result<Vec<DeliveryEvent>> {
    let now = deps.clock.now();
    let (mut from, to) = ping_window(date);
    let mut by_seq: BTreeMap<u64, DeliveryEvent> = BTreeMap::new();
    loop {
        let page = deps.tracking.ping_trail(org, driver, from, to, now, PING_PAGE).await?;
        let full = page.len() >= PING_PAGE as usize;
        let last = page.last().map(|p| p.ping.device_time);
        for stored in page {
            if !routes.contains(&stored.route_id) {
                continue;
            }
            let p = &stored.ping;
            by_seq.entry(p.seq).or_insert_with(|| DeliveryEvent::Ping {
                route_id: Some(stored.route_id.clone()),
                seq: p.seq,
                at: p.device_time,
                location: p.location(),
                accuracy_m: p.accuracy_m,
                speed_mps: p.speed_mps,
            });
        }
        // The next page starts at the last device time read (pings are in
        // device time, then seq; the ones read again are dropped by seq).
        match last {
            Some(t) if full && t > from => from = t,
            Some(_) if full => {
                return Err(Error::Internal(format!("more than {PING_PAGE} pings of driver {driver} share one device time")));
            }
            _ => return Ok(by_seq.into_values().collect()),
        }
    }
}
