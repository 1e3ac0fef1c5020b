//! Tracking cases of the conformance suite: pings deduplicated on (driver,
//! seq), late pings accepted, the latest position moving forward only,
//! retention, tenants kept apart, and route progress written conditionally.

use std::future::Future;

use doorstep_core::ports::{PingWrite, Store, StoreError, TrackingStore};
use doorstep_domain::tracking::{RouteProgress, StopEta};
use doorstep_domain::{DriverId, OrderId, OrgId, PlanId, RouteId, StopId, TrackingPing};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-23 9:00 UTC);

/// Runs every tracking case, each on a fresh store.
pub async fn run_tracking<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + TrackingStore,
{
    a_repeated_seq_is_stored_once_and_reported_as_not_new(&fresh_store().await).await;
    late_pings_are_stored_but_never_move_the_latest_position_back(&fresh_store().await).await;
    expired_pings_and_positions_are_invisible(&fresh_store().await).await;
    drivers_of_different_organisations_are_kept_apart(&fresh_store().await).await;
    the_trail_is_a_time_range_in_device_time_order(&fresh_store().await).await;
    route_progress_is_written_conditionally_on_its_version(&fresh_store().await).await;
}

fn org(id: &str) -> OrgId {
    OrgId::new(id).expect("org id")
}

fn driver(id: &str) -> DriverId {
    DriverId::new(id).expect("driver id")
}

/// Ping `seq` taken `offset_s` seconds after 09:00.
pub fn ping(seq: u64, offset_s: i64) -> TrackingPing {
    TrackingPing {
        seq,
        device_time: T0 + Duration::seconds(offset_s),
        lat: 45.75 + seq as f64 * 1e-4,
        lon: 4.85,
        accuracy_m: Some(5.0),
        speed_mps: Some(8.0),
        heading_deg: Some(90.0),
        battery_pct: Some(70.0),
    }
}

fn write(org_id: &str, driver_id: &str, pings: Vec<TrackingPing>) -> PingWrite {
    PingWrite {
        org_id: org(org_id),
        driver_id: driver(driver_id),
        route_id: RouteId::new("rte-1").expect("route id"),
        pings,
        received_at: T0 + Duration::minutes(10),
        expires_at: T0 + Duration::days(30),
    }
}

async fn seqs_in_trail<S: TrackingStore>(store: &S, org_id: &str, driver_id: &str, now: OffsetDateTime) -> Vec<u64> {
    store
        .ping_trail(&org(org_id), &driver(driver_id), T0 - Duration::days(1), T0 + Duration::days(1), now, 10_000)
        .await
        .expect("trail")
        .into_iter()
        .map(|p| p.ping.seq)
        .collect()
}

async fn a_repeated_seq_is_stored_once_and_reported_as_not_new<S: TrackingStore>(store: &S) {
    let first = store.record_pings(&write("org-a", "drv-1", vec![ping(1, 0), ping(2, 10), ping(3, 20)])).await.expect("first");
    let mut stored = first.stored.clone();
    stored.sort_unstable();
    assert_eq!(stored, [1, 2, 3], "a_repeated_seq_is_stored_once_and_reported_as_not_new: first upload");
    // The same seqs again (even with different contents) are not new.
    let mut changed = ping(3, 25);
    changed.lat = 46.0;
    let second = store.record_pings(&write("org-a", "drv-1", vec![ping(2, 10), changed, ping(4, 30)])).await.expect("second");
    assert_eq!(second.stored, [4], "a_repeated_seq_is_stored_once_and_reported_as_not_new: only seq 4 is new");
    let trail = store
        .ping_trail(&org("org-a"), &driver("drv-1"), T0, T0 + Duration::hours(1), T0 + Duration::hours(1), 100)
        .await
        .expect("trail");
    assert_eq!(trail.iter().map(|p| p.ping.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(trail[2].ping, ping(3, 20), "the first write of a seq wins");
    assert_eq!(second.latest.expect("latest").seq, 4);
}

async fn late_pings_are_stored_but_never_move_the_latest_position_back<S: TrackingStore>(store: &S) {
    let now = T0 + Duration::hours(1);
    let r = store.record_pings(&write("org-a", "drv-1", vec![ping(10, 600)])).await.expect("newest first");
    assert_eq!(r.latest.as_ref().map(|p| p.seq), Some(10));
    // An offline backlog arrives later: older device times, lower seqs.
    let late = store.record_pings(&write("org-a", "drv-1", vec![ping(7, 300), ping(5, 100), ping(6, 200)])).await.expect("late");
    assert_eq!(late.stored.len(), 3, "late_pings_are_stored_but_never_move_the_latest_position_back: late pings are stored");
    assert_eq!(late.latest.as_ref().map(|p| p.seq), Some(10), "a late batch must not move the latest position back");
    let read = store.latest_position(&org("org-a"), &driver("drv-1"), now).await.expect("read").expect("some");
    assert_eq!((read.seq, read.device_time), (10, T0 + Duration::seconds(600)));
    // A higher seq with an older device time (clock jumped back) does not win either.
    let skewed = store.record_pings(&write("org-a", "drv-1", vec![ping(11, 500)])).await.expect("skewed");
    assert_eq!(skewed.latest.as_ref().map(|p| p.seq), Some(10));
    // Same device time, higher seq: newer.
    let tie = store.record_pings(&write("org-a", "drv-1", vec![ping(12, 600)])).await.expect("tie");
    assert_eq!(tie.latest.as_ref().map(|p| p.seq), Some(12));
    let forward = store.record_pings(&write("org-a", "drv-1", vec![ping(13, 700), ping(8, 400)])).await.expect("forward");
    assert_eq!(forward.latest.as_ref().map(|p| p.seq), Some(13));
    assert_eq!(seqs_in_trail(store, "org-a", "drv-1", now).await, [5, 6, 7, 8, 11, 10, 12, 13], "trail in device-time order");
}

async fn expired_pings_and_positions_are_invisible<S: TrackingStore>(store: &S) {
    let mut w = write("org-a", "drv-1", vec![ping(1, 0), ping(2, 10)]);
    w.expires_at = T0 + Duration::days(30);
    store.record_pings(&w).await.expect("write");
    let before = T0 + Duration::days(30) - Duration::seconds(1);
    let after = T0 + Duration::days(30) + Duration::seconds(1);
    assert_eq!(seqs_in_trail(store, "org-a", "drv-1", before).await, [1, 2], "expired_pings_and_positions_are_invisible: live before");
    assert!(store.latest_position(&org("org-a"), &driver("drv-1"), before).await.expect("read").is_some());
    assert!(seqs_in_trail(store, "org-a", "drv-1", after).await.is_empty(), "expired_pings_and_positions_are_invisible: pings past retention");
    assert!(store.latest_position(&org("org-a"), &driver("drv-1"), after).await.expect("read").is_none(), "expired position");
    assert!(store.latest_positions(&org("org-a"), after).await.expect("list").is_empty(), "expired positions are not listed");
    // Sweeping (where the store does it itself) never resurrects anything.
    store.sweep_expired_pings(after, 1000).await.expect("sweep");
    assert!(seqs_in_trail(store, "org-a", "drv-1", before).await.len() <= 2);
    assert!(seqs_in_trail(store, "org-a", "drv-1", after).await.is_empty());
    // After expiry a new ping starts a fresh position, even if older than the expired one.
    let mut again = write("org-a", "drv-1", vec![ping(3, -100)]);
    again.received_at = after;
    again.expires_at = after + Duration::days(30);
    let r = store.record_pings(&again).await.expect("write after expiry");
    assert_eq!(r.stored, [3]);
    assert_eq!(r.latest.map(|p| p.seq), Some(3), "an expired position is replaced");
}

async fn drivers_of_different_organisations_are_kept_apart<S: TrackingStore>(store: &S) {
    let now = T0 + Duration::hours(1);
    let a = store.record_pings(&write("org-a", "drv-1", vec![ping(1, 0), ping(2, 10)])).await.expect("a");
    let b = store.record_pings(&write("org-b", "drv-1", vec![ping(1, 0), ping(2, 10), ping(3, 20)])).await.expect("b");
    let c = store.record_pings(&write("org-a", "drv-2", vec![ping(1, 0)])).await.expect("c");
    assert_eq!(a.stored.len(), 2);
    assert_eq!(b.stored.len(), 3, "drivers_of_different_organisations_are_kept_apart: the same driver id and seqs in another org are new");
    assert_eq!(c.stored.len(), 1, "another driver's seq 1 is new");
    assert_eq!(seqs_in_trail(store, "org-a", "drv-1", now).await, [1, 2]);
    assert_eq!(seqs_in_trail(store, "org-b", "drv-1", now).await, [1, 2, 3]);
    let mut listed: Vec<(String, u64)> =
        store.latest_positions(&org("org-a"), now).await.expect("list").into_iter().map(|p| (p.driver_id.to_string(), p.seq)).collect();
    listed.sort();
    assert_eq!(listed, [("drv-1".to_owned(), 2), ("drv-2".to_owned(), 1)]);
    let other: Vec<u64> = store.latest_positions(&org("org-b"), now).await.expect("list").into_iter().map(|p| p.seq).collect();
    assert_eq!(other, [3]);
    assert!(store.latest_positions(&org("org-c"), now).await.expect("list").is_empty());
}

async fn the_trail_is_a_time_range_in_device_time_order<S: TrackingStore>(store: &S) {
    let now = T0 + Duration::hours(2);
    let pings: Vec<TrackingPing> = (1..=20).rev().map(|seq| ping(seq, seq as i64 * 60)).collect();
    store.record_pings(&write("org-a", "drv-1", pings)).await.expect("write");
    let trail = store
        .ping_trail(&org("org-a"), &driver("drv-1"), T0 + Duration::minutes(5), T0 + Duration::minutes(10), now, 100)
        .await
        .expect("trail");
    assert_eq!(trail.iter().map(|p| p.ping.seq).collect::<Vec<_>>(), [5, 6, 7, 8, 9, 10], "the_trail_is_a_time_range_in_device_time_order");
    assert_eq!(trail[0].route_id.as_str(), "rte-1");
    let limited = store.ping_trail(&org("org-a"), &driver("drv-1"), T0, T0 + Duration::hours(1), now, 3).await.expect("trail");
    assert_eq!(limited.iter().map(|p| p.ping.seq).collect::<Vec<_>>(), [1, 2, 3], "the limit keeps the oldest");
}

async fn route_progress_is_written_conditionally_on_its_version<S: TrackingStore>(store: &S) {
    let o = org("org-a");
    let route = RouteId::new("rte-1").expect("route");
    assert!(store.route_progress(&o, &route).await.expect("read").is_none());
    let mut progress = RouteProgress {
        plan_id: PlanId::new("pln-1").expect("plan"),
        route_id: route.clone(),
        driver_id: driver("drv-1"),
        version: 1,
        etas: vec![StopEta {
            stop_id: StopId::new("stp-1").expect("stop"),
            order_id: OrderId::new("ord-1").expect("order"),
            sequence: 1,
            eta: T0 + Duration::minutes(30),
            window: None,
            late_by_s: 0,
        }],
        notified: vec![],
        started: vec![],
        updated_at: T0,
    };
    store.save_route_progress(&o, &progress, None, &[]).await.expect("create");
    assert_eq!(store.route_progress(&o, &route).await.expect("read"), Some(progress.clone()));
    let again = store.save_route_progress(&o, &progress, None, &[]).await.expect_err("create twice");
    assert!(
        matches!(again, StoreError::VersionConflict { actual: 1, .. }),
        "route_progress_is_written_conditionally_on_its_version: creating an existing one: {again:?}"
    );
    progress.version = 2;
    progress.notified = vec!["ord-1#0#delayed".into()];
    store.save_route_progress(&o, &progress, Some(1), &[]).await.expect("update");
    let stale = store.save_route_progress(&o, &progress, Some(1), &[]).await.expect_err("stale");
    assert!(matches!(stale, StoreError::VersionConflict { expected: 1, actual: 2, .. }), "stale version: {stale:?}");
    assert_eq!(store.route_progress(&o, &route).await.expect("read"), Some(progress));
    assert!(store.route_progress(&org("org-b"), &route).await.expect("read").is_none(), "another org sees no progress");
}

// --- fleets for load tests ----------------------------------------------

/// The demo business with `drivers` extra drivers (`fdrv-0000`...), each with
/// a vehicle and one delivery order of their own, spread over Lyon.
pub fn fleet_business(org_id: &str, drivers: usize) -> doorstep_core::ports::BusinessSnapshot {
    let mut b = crate::sample_business(org_id);
    let depot = b.depots[0].id.clone();
    let vehicle = b.vehicles[0].clone();
    let driver = b.drivers[0].clone();
    let order = b.orders.iter().find(|o| o.kind == doorstep_domain::OrderKind::Delivery && o.pickup.is_none()).expect("a delivery order").clone();
    for i in 0..drivers {
        let mut v = vehicle.clone();
        v.id = format!("fveh-{i:04}").parse().expect("vehicle id");
        v.name = format!("Van {i}");
        v.plate = None;
        v.depot_id = Some(depot.clone());
        let mut d = driver.clone();
        d.id = format!("fdrv-{i:04}").parse().expect("driver id");
        d.name = format!("Driver{i} Fleet");
        d.vehicle_id = Some(v.id.clone());
        d.active = true;
        let mut o = order.clone();
        o.id = format!("ford-{i:04}").parse().expect("order id");
        o.external_ref = None;
        o.depot_id = Some(depot.clone());
        o.time_windows.clear();
        o.address.lat = Some(45.72 + (i % 90) as f64 * 0.001);
        o.address.lon = Some(4.80 + (i / 90 % 80) as f64 * 0.001);
        b.vehicles.push(v);
        b.drivers.push(d);
        b.orders.push(o);
    }
    b
}

/// Saves and publishes plans (100 routes each, the most one plan holds) on
/// `date` giving every fleet driver of [`fleet_business`] a route with their
/// order, through the real use cases. Returns (driver, route) pairs.
pub async fn publish_fleet_plans(
    store: &dyn Store,
    clock: &dyn doorstep_core::Clock,
    business: &doorstep_core::ports::BusinessSnapshot,
    date: time::Date,
) -> Vec<(DriverId, RouteId)> {
    use doorstep_core::usecases::plans;
    use doorstep_domain::dispatch::{NewRoute, NewStop, SavePlanRequest};
    let dispatcher = doorstep_core::Principal {
        org: business.organisation.id.clone(),
        role: doorstep_domain::auth::Role::Dispatcher,
        subject: "usr_fleet_seed".into(),
    };
    let start = date.with_hms(7, 0, 0).expect("time").assume_utc();
    let fleet: Vec<usize> = (0..business.drivers.len()).filter(|&i| business.drivers[i].id.as_str().starts_with("fdrv-")).collect();
    let mut pairs = Vec::new();
    for chunk in fleet.chunks(doorstep_domain::dispatch::MAX_PLAN_ROUTES) {
        let routes = chunk
            .iter()
            .map(|&i| {
                let d = &business.drivers[i];
                let order = business.orders.iter().find(|o| o.id.as_str() == format!("ford-{}", &d.id.as_str()[5..])).expect("the driver's order");
                NewRoute {
                    vehicle_id: d.vehicle_id.clone().expect("vehicle"),
                    driver_id: Some(d.id.clone()),
                    planned_start: start,
                    planned_end: start + Duration::hours(10),
                    stops: vec![NewStop {
                        order_id: order.id.clone(),
                        kind: doorstep_domain::plan::StopKind::Delivery,
                        location: None,
                        planned_arrival: start + Duration::hours(2),
                        planned_departure: start + Duration::hours(2) + Duration::minutes(5),
                    }],
                    totals: Default::default(),
                }
            })
            .collect();
        let request = SavePlanRequest { depot_id: business.depots[0].id.clone(), date, routes, unassigned: vec![] };
        let plan = plans::save(store, clock, &dispatcher, &request).await.expect("save a fleet plan");
        let published = plans::publish(store, clock, &dispatcher, &plan.id, &doorstep_domain::api::PlanVersion { version: plan.version })
            .await
            .expect("publish a fleet plan");
        pairs.extend(published.plan.routes.iter().map(|r| (r.driver_id.clone().expect("driver"), r.id.clone())));
    }
    pairs
}

/// One driver's uploads in a realistic day: batches of 10 in order, about
/// 5% of pings sent twice, 2% held back to a later batch, and for one
/// driver in ten an offline stretch (the middle third) flushed afterwards
/// in batches of up to 100, newest batch first. Device times are 5 s apart
/// ending at `end`. Deterministic for a seed.
pub fn day_of_uploads(driver_index: usize, pings: usize, end: OffsetDateTime, seed: u64) -> Vec<Vec<TrackingPing>> {
    let mut state = seed ^ (driver_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        // xorshift64*: enough for shuffling test traffic.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11
    };
    let start = end - Duration::seconds(5 * pings as i64);
    let all: Vec<TrackingPing> = (1..=pings as u64)
        .map(|seq| TrackingPing {
            seq,
            device_time: start + Duration::seconds(5 * seq as i64),
            lat: 45.70 + (driver_index % 100) as f64 * 0.001 + seq as f64 * 1e-5,
            lon: 4.80 + (driver_index / 100) as f64 * 0.001,
            accuracy_m: Some(6.0),
            speed_mps: Some(7.0),
            heading_deg: Some(45.0),
            battery_pct: Some(90.0 - seq as f64 * 0.01),
        })
        .collect();
    let offline = driver_index % 10 == 3;
    let (off_from, off_to) = (pings / 3, 2 * pings / 3);
    let mut uploads: Vec<Vec<TrackingPing>> = Vec::new();
    let mut held: Vec<TrackingPing> = Vec::new();
    let mut backlog: Vec<TrackingPing> = Vec::new();
    let mut batch: Vec<TrackingPing> = Vec::new();
    for (i, ping) in all.iter().enumerate() {
        if offline && (off_from..off_to).contains(&i) {
            backlog.push(ping.clone());
            if next() % 20 == 0 {
                backlog.push(ping.clone());
            }
            if i + 1 == off_to {
                // Back online: the backlog goes out newest batch first.
                let mut chunks: Vec<Vec<TrackingPing>> = backlog.chunks(max_batch()).map(<[TrackingPing]>::to_vec).collect();
                chunks.reverse();
                uploads.extend(chunks);
                backlog.clear();
            }
            continue;
        }
        if next() % 50 == 0 {
            held.push(ping.clone());
        } else {
            batch.push(ping.clone());
        }
        if next() % 20 == 0 {
            batch.push(ping.clone());
        }
        if batch.len() >= 10 {
            batch.append(&mut held);
            uploads.push(std::mem::take(&mut batch));
        }
    }
    batch.append(&mut held);
    if !batch.is_empty() {
        uploads.push(batch);
    }
    uploads.into_iter().flat_map(|u| u.chunks(max_batch()).map(<[TrackingPing]>::to_vec).collect::<Vec<_>>()).collect()
}

fn max_batch() -> usize {
    doorstep_domain::tracking::MAX_PINGS_PER_BATCH
}
