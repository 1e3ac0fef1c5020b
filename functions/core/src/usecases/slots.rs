//! Delivery slots: which of a day's slots an address can still book, checked
//! by counting per zone and then by insertion feasibility with the optimizer
//! (into the published plan if there is one, else a quick construction of the
//! day's open orders), and booking one at order intake: the order's slot
//! hold and its counter are written in the order insert's transaction, the
//! counter only while below the zone's capacity (so concurrent checkouts
//! cannot overbook), and released when the order is cancelled or moved out
//! of the slot.

use std::collections::BTreeMap;

use doorstep_domain::api::OrderQuery;
use doorstep_domain::auth::Role;
use doorstep_domain::planning::{PlanningInput, TravelSettings, build_problem};
use doorstep_domain::slots::{SlotAvailability, SlotChoice, SlotList, SlotReason, SlotSettings};
use doorstep_domain::time::{LocalWindow, TimeWindow};
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{LatLon, Order, OrderId, OrderState, Organisation, Plan, ValidationErrors};
use doorstep_optimizer as opt;
use time::{Date, OffsetDateTime};

use crate::error::{Error, Result};
use crate::ports::{Clock, HeldOrdersWrite, IdempotencyRecord, OrdersWrite, PlanFilter, Principal, SlotHold, SlotKey, Store};
use crate::usecases::auth::require;
use crate::tz::offset_on;
use crate::usecases::auto_dispatch::{InsertInput, best_insertion};

const CALLERS: &[Role] = &[Role::Dispatcher, Role::Integration];
/// Iterations of the quick construction when the day has no published plan.
pub const CHECK_ITERATIONS: u64 = 60;
/// Most orders of one day read for a check (pages of 200).
const MAX_DAY_ORDERS: usize = 4_000;
/// Most orders in one request that books slots: orders, holds and counters
/// go in one DynamoDB transaction (100 items).
pub const MAX_ORDERS_WITH_SLOTS: usize = 40;

/// `GET /api/slots?date=&lat=&lon=`.
pub async fn list(store: &dyn Store, clock: &dyn Clock, principal: &Principal, date: Date, point: LatLon) -> Result<SlotList> {
    require(principal, CALLERS, "list delivery slots")?;
    let mut problems = Vec::new();
    if !(-90.0..=90.0).contains(&point.lat) || !point.lat.is_finite() {
        problems.push(field_error("lat", codes::OUT_OF_RANGE, "must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&point.lon) || !point.lon.is_finite() {
        problems.push(field_error("lon", codes::OUT_OF_RANGE, "must be between -180 and 180"));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(ValidationErrors(problems)));
    }
    let org = store.organisation(&principal.org).await?;
    // An organisation without slots offers none (a checkout shows no choice).
    let Some(settings) = org.settings.delivery_slots.as_ref() else {
        return Ok(SlotList { date, zone: None, slots: Vec::new() });
    };
    let day = Day::load(store, &org, date).await?;
    Ok(day.availability(&org, settings, date, point, clock.now(), None))
}

/// The slot holds an intake writes with its orders, and each held order's
/// field path for a refusal.
#[derive(Debug, Default)]
pub(crate) struct Bookings {
    pub holds: Vec<SlotHold>,
    paths: Vec<(OrderId, String, String)>,
}

/// Gives each order with a slot that slot's window, after checking it is
/// still available; `Conflict` naming `slot` (or `orders[i].slot`) if not.
/// Returns the holds to write with the orders (see [`write_holding`]).
pub(crate) async fn apply_slots(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    orders: &mut [Order],
    slots: &[Option<SlotChoice>],
    list: Option<&str>,
) -> Result<Bookings> {
    let mut bookings = Bookings::default();
    if slots.iter().all(Option::is_none) {
        return Ok(bookings);
    }
    let path = |i: usize| match list {
        Some(name) => format!("{name}[{i}].slot"),
        None => "slot".to_owned(),
    };
    if orders.len() > MAX_ORDERS_WITH_SLOTS {
        return Err(Error::Invalid(ValidationErrors(vec![field_error(
            list.unwrap_or("orders"),
            codes::TOO_MANY,
            format!("a request that books delivery slots may hold at most {MAX_ORDERS_WITH_SLOTS} orders"),
        )])));
    }
    let org = store.organisation(&principal.org).await?;
    let Some(settings) = org.settings.delivery_slots.as_ref() else {
        return Err(Error::Invalid(ValidationErrors(vec![field_error(&path(0), codes::NOT_ALLOWED, "this organisation offers no delivery slots")])));
    };
    let mut days: BTreeMap<Date, Day> = BTreeMap::new();
    for (i, (order, slot)) in orders.iter_mut().zip(slots).enumerate() {
        let Some(slot) = slot else { continue };
        let Some(local) = settings.slot_starting(slot.start) else {
            return Err(Error::Invalid(ValidationErrors(vec![field_error(&path(i), codes::INVALID_FORMAT, format!("no slot starts at {} ({}-minute slots from {})", slot.start, settings.slot_minutes, settings.day_start))])));
        };
        let Some(point) = order.address.location() else {
            return Err(Error::Invalid(ValidationErrors(vec![field_error("address", codes::LOCATION_REQUIRED, "a slot needs the address's map position (lat/lon)")])));
        };
        let day = match days.entry(slot.date) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(Day::load(store, &org, slot.date).await?),
        };
        let listed = day.availability(&org, settings, slot.date, point, clock.now(), Some(local));
        let Some(found) = listed.slots.first() else {
            return Err(Error::Internal("a slot check returned no slot".into()));
        };
        if !found.available {
            let reason = found.reason.map_or("unavailable".to_owned(), |r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default());
            return Err(Error::Conflict { message: format!("slot {} is no longer available ({reason}); list the slots again", slot.id()), field: Some(path(i)) });
        }
        let Some(zone) = settings.zone_of(point) else {
            return Err(Error::Internal("an available slot has no zone".into()));
        };
        order.time_windows = vec![found.window];
        bookings.holds.push(SlotHold {
            order_id: order.id.clone(),
            slot: SlotKey { date: slot.date, zone: zone.name.clone(), start: local.start },
            capacity: zone.capacity_per_slot,
            window: found.window,
        });
        bookings.paths.push((order.id.clone(), path(i), slot.id()));
    }
    Ok(bookings)
}

/// Writes the orders with their slot holds (all or nothing); a slot that
/// filled up since the check answers `Conflict` naming that order's `slot`.
pub(crate) async fn write_holding(
    store: &dyn Store,
    principal: &Principal,
    orders: &[Order],
    record: Option<&IdempotencyRecord>,
    bookings: &Bookings,
) -> Result<OrdersWrite> {
    if bookings.holds.is_empty() {
        return Ok(store.create_orders(&principal.org, orders, record).await?);
    }
    match store.create_orders_holding(&principal.org, orders, record, &bookings.holds).await? {
        HeldOrdersWrite::Written => Ok(OrdersWrite::Written),
        HeldOrdersWrite::AlreadyRecorded(existing) => Ok(OrdersWrite::AlreadyRecorded(existing)),
        HeldOrdersWrite::SlotFull { order_id } => {
            let (path, id) = bookings
                .paths
                .iter()
                .find(|(o, _, _)| *o == order_id)
                .map_or(("slot".to_owned(), String::new()), |(_, p, id)| (p.clone(), id.clone()));
            Err(Error::Conflict { message: format!("slot {id} is no longer available (zone_full); list the slots again"), field: Some(path) })
        }
    }
}

/// After an order changed: releases its slot hold if it was cancelled or
/// moved out of the slot's window. Never fails the change (already
/// committed): a failed release is logged and leaves the slot counted.
pub(crate) async fn release_if_left(store: &dyn Store, order: &Order) {
    let released = async {
        let Some(hold) = store.slot_hold(&order.org_id, &order.id).await? else { return Ok::<bool, crate::ports::StoreError>(false) };
        let left = order.state() == OrderState::Cancelled || order.time_windows.first() != Some(&hold.window);
        if !left {
            return Ok(false);
        }
        store.release_slot(&order.org_id, &order.id).await
    }
    .await;
    match released {
        Ok(true) => tracing::debug!(order = %order.id, "released the order's delivery slot"),
        Ok(false) => {}
        Err(e) => tracing::error!(order = %order.id, error = %e, "could not release a delivery slot; it stays counted"),
    }
}

fn field_error(path: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError { path: path.into(), code: code.into(), message: message.into() }
}

/// What one day's checks read once.
struct Day {
    orders: Vec<Order>,
    /// Slot holds per (zone, local start): the reservation counters.
    counts: BTreeMap<(String, doorstep_domain::time::TimeOfDay), u32>,
    plans: Vec<Plan>,
    plan_orders: BTreeMap<doorstep_domain::PlanId, Vec<Order>>,
    depots: Vec<doorstep_domain::Depot>,
    vehicles: Vec<doorstep_domain::Vehicle>,
    drivers: Vec<doorstep_domain::Driver>,
}

impl Day {
    async fn load(store: &dyn Store, org: &Organisation, date: Date) -> Result<Self> {
        let query = OrderQuery { date: Some(date), ..OrderQuery::default() };
        let mut orders = Vec::new();
        let mut after: Option<OrderId> = None;
        loop {
            let page = store.list_orders(&org.id, &query, after.as_ref(), 200).await?;
            orders.extend(page.items.into_iter().filter(|o| o.state() != OrderState::Cancelled));
            match page.next {
                Some(n) if orders.len() < MAX_DAY_ORDERS => after = Some(n),
                _ => break,
            }
        }
        let filter = PlanFilter { date: Some(date), published_only: true };
        let plans = store.list_plans(&org.id, &filter, None, 20).await?.items;
        let mut plan_orders = BTreeMap::new();
        for plan in &plans {
            let ids: Vec<OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect();
            plan_orders.insert(plan.id.clone(), store.get_orders(&org.id, &ids).await?);
        }
        let counts = store.slot_counts(&org.id, date).await?.into_iter().map(|c| ((c.slot.zone, c.slot.start), c.count)).collect();
        Ok(Self {
            orders,
            counts,
            plans,
            plan_orders,
            depots: store.list_depots(&org.id).await?,
            vehicles: store.list_vehicles(&org.id).await?,
            drivers: store.list_drivers(&org.id).await?,
        })
    }

    /// Every slot of the day (or only `only`) for an address.
    fn availability(&self, org: &Organisation, settings: &SlotSettings, date: Date, point: LatLon, now: OffsetDateTime, only: Option<LocalWindow>) -> SlotList {
        let offset = offset_on(&org.timezone, date);
        let zone = settings.zone_of(point);
        let slots = settings
            .local_slots()
            .into_iter()
            .filter(|w| only.is_none_or(|o| o == *w))
            .map(|local| {
                let window = local.on(date, offset);
                let id = SlotChoice { date, start: local.start }.id();
                let (booked, capacity) = match zone {
                    Some(z) => (self.counts.get(&(z.name.clone(), local.start)).copied().unwrap_or(0), z.capacity_per_slot),
                    None => (0, 0),
                };
                let reason = if zone.is_none() {
                    Some(SlotReason::OutsideZones)
                } else if window.start <= now {
                    Some(SlotReason::Past)
                } else if booked >= capacity {
                    Some(SlotReason::ZoneFull)
                } else if !self.feasible(org, date, point, window, now) {
                    Some(SlotReason::NoVehicleCanReach)
                } else {
                    None
                };
                SlotAvailability { id, start: local.start, end: local.end, window, available: reason.is_none(), reason, booked, capacity }
            })
            .collect();
        SlotList { date, zone: zone.map(|z| z.name.clone()), slots }
    }

    /// Whether an order at `point` with `window` can be served next to the
    /// day's orders: insertion into a published plan, else a quick
    /// construction of the day (bounded iterations, fixed seed).
    fn feasible(&self, org: &Organisation, date: Date, point: LatLon, window: TimeWindow, now: OffsetDateTime) -> bool {
        let probe = probe_order(org, point, window, now);
        let offset = offset_on(&org.timezone, date);
        for plan in &self.plans {
            let Some(depot) = self.depots.iter().find(|d| d.id == plan.depot_id) else { continue };
            let empty = BTreeMap::new();
            let input = InsertInput {
                plan,
                plan_orders: self.plan_orders.get(&plan.id).map_or(&[][..], Vec::as_slice),
                order: &probe,
                depot,
                vehicles: &self.vehicles,
                drivers: &self.drivers,
                offset,
                default_service_time_s: org.default_service_time_s,
                now,
                positions: &empty,
                seed: 7,
            };
            if best_insertion(&input).is_ok() {
                return true;
            }
        }
        if !self.plans.is_empty() {
            return false;
        }
        let mut orders: Vec<Order> = self.orders.iter().filter(|o| matches!(o.state(), OrderState::Created | OrderState::Planned)).cloned().collect();
        orders.push(probe.clone());
        let probe_id = probe.id.to_string();
        self.depots.iter().any(|depot| {
            let input = PlanningInput {
                depot,
                vehicles: &self.vehicles,
                drivers: &self.drivers,
                orders: &orders,
                date,
                utc_offset: offset,
                default_service_time_s: org.default_service_time_s,
                travel: TravelSettings::default(),
            };
            let Ok(pp) = build_problem(&input) else { return false };
            let config = opt::SolverConfig { seed: 7, max_iterations: Some(CHECK_ITERATIONS), ..Default::default() };
            match opt::solve(&pp.problem, &config, &opt::NoClock, &mut |_| opt::Control::Continue) {
                Ok(solution) => solution.routes.iter().any(|r| r.stops.iter().any(|s| s.job == probe_id)),
                Err(_) => false,
            }
        })
    }
}

/// A stand-in for the order a customer is about to place.
fn probe_order(org: &Organisation, point: LatLon, window: TimeWindow, now: OffsetDateTime) -> Order {
    let new: doorstep_domain::NewOrder = serde_json::from_value(serde_json::json!({
        "kind": "delivery",
        "address": {"line1": "slot check", "postcode": "0", "city": "-", "country": "FR", "lat": point.lat, "lon": point.lon},
        "recipient": {"name": "slot check"},
    }))
    .unwrap_or_else(|e| unreachable!("the probe order is well-formed: {e}"));
    let mut order = Order::from_new(OrderId::new("ord_slot_probe").unwrap_or_else(|e| unreachable!("{e}")), org.id.clone(), new, now);
    order.time_windows = vec![window];
    order
}
