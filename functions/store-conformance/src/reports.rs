//! Conformance cases for the report aggregates (`ReportStore`). Each adapter
//! runs [`run_reports`] in its tests.

use std::future::Future;

use doorstep_core::ports::{ReportStore, Store, StoreError};
use doorstep_domain::reports::{DeliveryEvent, DriverDay, ReportPolicy};
use doorstep_domain::{DriverId, OrderId, OrgId, RouteId};
use time::macros::{date, datetime};

use super::sample_business;

pub async fn run_reports<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + ReportStore,
{
    a_day_is_created_once_and_then_replaced_by_version(&fresh_store().await).await;
    a_stale_version_is_refused_and_changes_nothing(&fresh_store().await).await;
    days_list_by_date_range_and_stay_in_their_organisation(&fresh_store().await).await;
}

fn driver(id: &str) -> DriverId {
    DriverId::new(id).expect("driver id")
}

fn day_with_delivery(driver_id: &str, date: time::Date, order: &str) -> DriverDay {
    let mut day = DriverDay::new(driver(driver_id), date);
    day.apply(
        &DeliveryEvent::Delivered {
            order_id: OrderId::new(order).expect("order id"),
            route_id: RouteId::new("rte-1").expect("route id"),
            attempt: 0,
            at: datetime!(2026-11-23 10:00 +1),
            window: None,
            cod_due: None,
            cod_collected: None,
        },
        &ReportPolicy::default(),
    );
    day
}

async fn imported<S: Store>(store: &S, org_id: &str) -> OrgId {
    let business = sample_business(org_id);
    store.import_business(&business).await.expect("import");
    business.organisation.id
}

async fn a_day_is_created_once_and_then_replaced_by_version<S: Store + ReportStore>(store: &S) {
    let org = imported(store, "org-a").await;
    let d = date!(2026 - 11 - 23);
    assert_eq!(store.driver_day(&org, &driver("drv-camille"), d).await.expect("read"), None);
    let first = day_with_delivery("drv-camille", d, "ord-1");
    store.put_driver_day(&org, &first, 0).await.expect("create");
    let error = store.put_driver_day(&org, &first, 0).await.expect_err("created twice");
    assert!(
        matches!(error, StoreError::VersionConflict { kind: "report day", expected: 0, actual: 1, .. }),
        "a_day_is_created_once_and_then_replaced_by_version: {error:?}"
    );
    let read = store.driver_day(&org, &driver("drv-camille"), d).await.expect("read").expect("stored");
    assert_eq!((read.day.clone(), read.version), (first, 1));
    let second = day_with_delivery("drv-camille", d, "ord-2");
    store.put_driver_day(&org, &second, 1).await.expect("replace");
    let read = store.driver_day(&org, &driver("drv-camille"), d).await.expect("read").expect("stored");
    assert_eq!((read.day, read.version), (second, 2));
}

async fn a_stale_version_is_refused_and_changes_nothing<S: Store + ReportStore>(store: &S) {
    let org = imported(store, "org-a").await;
    let d = date!(2026 - 11 - 23);
    let first = day_with_delivery("drv-karim", d, "ord-1");
    store.put_driver_day(&org, &first, 0).await.expect("create");
    store.put_driver_day(&org, &day_with_delivery("drv-karim", d, "ord-2"), 1).await.expect("replace");
    let error = store.put_driver_day(&org, &day_with_delivery("drv-karim", d, "ord-3"), 1).await.expect_err("stale");
    assert!(
        matches!(error, StoreError::VersionConflict { kind: "report day", expected: 1, actual: 2, .. }),
        "a_stale_version_is_refused_and_changes_nothing: {error:?}"
    );
    let read = store.driver_day(&org, &driver("drv-karim"), d).await.expect("read").expect("stored");
    assert_eq!(read.version, 2);
    assert!(read.day.applied.contains("delivered#ord-2#0"), "the second write is kept");
}

async fn days_list_by_date_range_and_stay_in_their_organisation<S: Store + ReportStore>(store: &S) {
    let a = imported(store, "org-a").await;
    let b = imported(store, "org-b").await;
    for (d, who) in [
        (date!(2026 - 11 - 22), "drv-ines"),
        (date!(2026 - 11 - 23), "drv-karim"),
        (date!(2026 - 11 - 23), "drv-camille"),
        (date!(2026 - 11 - 25), "drv-camille"),
    ] {
        store.put_driver_day(&a, &day_with_delivery(who, d, "ord-1"), 0).await.expect("put a");
    }
    store.put_driver_day(&b, &day_with_delivery("drv-camille", date!(2026 - 11 - 23), "ord-9"), 0).await.expect("put b");
    let listed = store.driver_days(&a, date!(2026 - 11 - 23), date!(2026 - 11 - 24)).await.expect("list");
    let keys: Vec<(String, String)> = listed.iter().map(|d| (d.date.to_string(), d.driver_id.to_string())).collect();
    assert_eq!(
        keys,
        [("2026-11-23".to_owned(), "drv-camille".to_owned()), ("2026-11-23".to_owned(), "drv-karim".to_owned())],
        "days_list_by_date_range_and_stay_in_their_organisation"
    );
    let all = store.driver_days(&a, date!(2026 - 11 - 01), date!(2026 - 11 - 30)).await.expect("list all");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|d| !d.applied.contains("delivered#ord-9#0")), "org-b's day never shows in org-a");
}

// --- rebuilding a day from the stored records ----------------------------------------

/// The rebuild (`usecases::reports::rebuild_org`) over a store: it reads
/// plans, visits, proofs of delivery, orders and pings only through the
/// store's ports, so every adapter must give it the same day.
pub async fn run_rebuild<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + ReportStore + doorstep_core::ports::PodStore + doorstep_core::ports::TrackingStore + doorstep_core::ports::NotifyStore,
{
    a_rebuild_replaces_a_wrong_day_with_the_fold_of_the_stored_records(&fresh_store().await).await;
}

async fn a_rebuild_replaces_a_wrong_day_with_the_fold_of_the_stored_records<S>(store: &S)
where
    S: Store + ReportStore + doorstep_core::ports::PodStore + doorstep_core::ports::TrackingStore + doorstep_core::ports::NotifyStore,
{
    use doorstep_core::ports::{DriverAction, FixedClock, IdempotencyRecord, OrderUpdate, PingWrite};
    use doorstep_core::usecases::pod::seal;
    use doorstep_core::usecases::reports::{RebuildDeps, rebuild_org, route_started};
    use doorstep_core::usecases::tracking::stop_window;
    use doorstep_domain::pod::{PodOutcome, PodRecord, ProofOfDelivery, VisitKind, VisitRecord};
    use doorstep_domain::tracking::TrackingPing;
    use doorstep_domain::{OrderEvent, PlanId};
    use time::Duration;

    let case = "a_rebuild_replaces_a_wrong_day_with_the_fold_of_the_stored_records";
    const ORG: &str = "org-rebuild";
    let t0 = datetime!(2026-11-23 08:00 UTC);
    let org = OrgId::new(ORG).expect("org id");
    crate::notify::publish_sample(store, ORG, 2).await;
    let plan = store.get_plan(&org, &PlanId::new(format!("pln-{ORG}")).expect("plan id")).await.expect("plan");
    let route = plan.routes[0].clone();
    let driver = route.driver_id.clone().expect("the sample route has a driver");
    let stop = route.stops[0].clone();
    let order = store.get_order(&org, &stop.order_id).await.expect("order");
    let record = |key: &str| IdempotencyRecord {
        org_id: org.clone(),
        key: key.into(),
        request_hash: format!("hash-{key}"),
        status: 200,
        body: "{}".into(),
        created_at: t0,
        expires_at: t0 + Duration::days(7),
    };
    let start_at = t0 + Duration::minutes(5);
    let visit = VisitRecord {
        org_id: org.clone(),
        plan_id: plan.id.clone(),
        kind: VisitKind::RouteStarted,
        subject_id: route.id.to_string(),
        driver_id: Some(driver.clone()),
        device_time: start_at,
        recorded_at: start_at,
        geotag: None,
        distance_m: None,
        odometer_km: None,
        vehicle_checked: Some(true),
    };
    let start = DriverAction { org_id: org.clone(), orders: vec![], pod: None, visit: Some(visit), outbox: vec![], otp_guess: None, record: record("start") };
    store.write_driver_action(&start).await.expect("route start");
    let done_at = t0 + Duration::minutes(30);
    let mut delivered = order.clone();
    delivered.apply(&OrderEvent::Start, done_at).expect("start");
    delivered.apply(&OrderEvent::Deliver, done_at).expect("deliver");
    let pod = seal(PodRecord {
        org_id: org.clone(),
        order_id: order.id.clone(),
        plan_id: plan.id.clone(),
        stop_id: stop.id.clone(),
        driver_id: Some(driver.clone()),
        attempt: 0,
        outcome: PodOutcome::Delivered,
        proof: ProofOfDelivery {
            order_id: order.id.clone(),
            stop_id: Some(stop.id.clone()),
            photos: vec![],
            signature: None,
            signature_image: None,
            recipient_name: Some("Léa".into()),
            otp_verified: false,
            barcode: None,
            geotag: None,
            device_time: done_at,
            notes: None,
            cash_collected: None,
        },
        otp_verified: false,
        auto_pod: false,
        cash_due: order.cash_on_delivery.clone(),
        recorded_at: done_at,
        sha256: String::new(),
    });
    let done = DriverAction {
        org_id: org.clone(),
        orders: vec![OrderUpdate { order: delivered, expected_version: order.version }],
        pod: Some(pod),
        visit: None,
        outbox: vec![],
        otp_guess: None,
        record: record("done"),
    };
    store.write_driver_action(&done).await.expect("delivery");
    let pings: Vec<TrackingPing> = (1..=4u64)
        .map(|seq| TrackingPing {
            seq,
            device_time: start_at + Duration::minutes(seq as i64),
            lat: 45.70 + 0.01 * seq as f64,
            lon: 4.70,
            accuracy_m: Some(5.0),
            speed_mps: Some(if seq == 2 { 20.0 } else { 8.0 }),
            heading_deg: None,
            battery_pct: None,
        })
        .collect();
    let write = PingWrite { org_id: org.clone(), driver_id: driver.clone(), route_id: route.id.clone(), pings: pings.clone(), received_at: t0, expires_at: t0 + Duration::days(30) };
    store.record_pings(&write).await.expect("pings");
    // A wrong aggregate, as a crashed or buggy fold could leave.
    let mut wrong = DriverDay::new(driver.clone(), plan.date);
    wrong.delivered = 5;
    store.put_driver_day(&org, &wrong, 0).await.expect("wrong day");

    let clock = FixedClock(t0 + Duration::hours(2));
    let deps = RebuildDeps { store, pods: store, tracking: store, reports: store, clock: &clock, ping_retention: Duration::days(30) };
    let summary = rebuild_org(deps, &org, plan.date, plan.date).await.expect("rebuild");
    assert_eq!(summary.changed, 1, "{case}: {summary:?}");

    let vehicles = store.list_vehicles(&org).await.expect("vehicles");
    let vehicle = vehicles.iter().find(|v| v.id == route.vehicle_id);
    let mut expected = DriverDay::new(driver.clone(), plan.date);
    let policy = ReportPolicy::default();
    expected.apply(&route_started(&route, vehicle, start_at), &policy);
    expected.apply(
        &DeliveryEvent::Delivered {
            order_id: order.id.clone(),
            route_id: route.id.clone(),
            attempt: 0,
            at: done_at,
            window: Some(stop_window(&stop, Some(&order))),
            cod_due: order.cash_on_delivery.clone(),
            cod_collected: None,
        },
        &policy,
    );
    for p in &pings {
        expected.apply(
            &DeliveryEvent::Ping { route_id: Some(route.id.clone()), seq: p.seq, at: p.device_time, location: p.location(), accuracy_m: p.accuracy_m, speed_mps: p.speed_mps },
            &policy,
        );
    }
    let stored = store.driver_day(&org, &driver, plan.date).await.expect("read").expect("rebuilt");
    assert_eq!(stored.day, expected, "{case}");
    assert_eq!(stored.version, 2, "{case}: replaced with a version check");
    assert!(stored.day.routes[&route.id].measured && stored.day.speeding_events == 1, "{case}: pings counted");
    // Nothing changed since: a second rebuild writes nothing.
    let again = rebuild_org(deps, &org, plan.date, plan.date).await.expect("rebuild again");
    assert_eq!(again.changed, 0, "{case}");
    assert_eq!(store.driver_day(&org, &driver, plan.date).await.expect("read").expect("day").version, 2, "{case}");
}
