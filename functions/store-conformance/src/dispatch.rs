//! Conformance cases for auto-dispatch's writes: an order's `dispatch_hold`
//! round-trips through the versioned order update, and one more order goes
//! into an already published plan through `publish_plan` (plan, order, link
//! and outbox entry together, conditional on the versions read; a stale
//! plan version writes nothing). Each adapter runs [`run_dispatch`].

use std::future::Future;

use doorstep_core::ports::{OrderUpdate, PlanPublication, Store, StoreError, TrackingLink};
use doorstep_domain::api::OrderQuery;
use doorstep_domain::plan::{PlanStatus, RouteTotals, StopKind};
use doorstep_domain::slots::DispatchHold;
use doorstep_domain::{LatLon, Order, OrderEvent, OrderState, Plan, PlanId, Route, RouteId, Stop, StopId};
use time::OffsetDateTime;
use time::macros::datetime;

use super::{dispatched_outbox, sample_business};

const AT: OffsetDateTime = datetime!(2026-11-23 9:00 +1);

pub async fn run_dispatch<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    a_dispatch_hold_round_trips_through_the_versioned_update(&fresh_store().await).await;
    one_more_order_goes_into_a_published_plan_all_or_nothing(&fresh_store().await).await;
    the_final_intake_answer_replaces_the_stored_one_for_its_own_request_only(&fresh_store().await).await;
}

/// Auto-dispatch changes an intake's answer after the write; replays must
/// then repeat the final answer, and only the same request may replace it.
async fn the_final_intake_answer_replaces_the_stored_one_for_its_own_request_only(store: &dyn Store) {
    let case = "the_final_intake_answer_replaces_the_stored_one_for_its_own_request_only";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let record = doorstep_core::ports::IdempotencyRecord {
        org_id: org.clone(),
        key: "intake-1".into(),
        request_hash: "hash-1".into(),
        status: 201,
        body: "{\"state\":\"created\"}".into(),
        created_at: AT,
        expires_at: AT + time::Duration::hours(24),
    };
    let mut order = business.orders[0].clone();
    order.id = doorstep_domain::OrderId::new("ord_final_answer").expect("id");
    store.create_orders(org, &[order], Some(&record)).await.expect("write");
    assert!(!store.replace_idempotency_answer(org, "intake-1", "hash-2", 201, "{\"other\":1}").await.expect("replace"), "{case}: another request's");
    assert!(!store.replace_idempotency_answer(org, "intake-none", "hash-1", 201, "{}").await.expect("replace"), "{case}: no such key");
    let final_body = "{\"state\":\"dispatched\",\"é\":\"ü\"}";
    assert!(store.replace_idempotency_answer(org, "intake-1", "hash-1", 201, final_body).await.expect("replace"), "{case}: its own request");
    let read = store.idempotency_record(org, "intake-1", AT).await.expect("read").expect("record");
    assert_eq!(read.body, final_body, "{case}: the final answer, byte for byte");
    assert_eq!((read.status, read.request_hash.as_str(), read.expires_at), (201, "hash-1", record.expires_at), "{case}: the rest unchanged");
    let other = doorstep_domain::OrgId::new("org-b").expect("id");
    assert!(!store.replace_idempotency_answer(&other, "intake-1", "hash-1", 201, "{}").await.expect("replace"), "{case}: another organisation's");
}

async fn a_dispatch_hold_round_trips_through_the_versioned_update(store: &dyn Store) {
    let case = "a_dispatch_hold_round_trips_through_the_versioned_update";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let stored = store.get_order(org, &business.orders[0].id).await.expect("read");
    assert_eq!(stored.dispatch_hold, None, "{case}: absent until written");
    let mut held = stored.clone();
    held.dispatch_hold = Some(DispatchHold { reason: "capacity".into(), hint: "Too large for every suitable vehicle: split it".into(), at: AT });
    held.version += 1;
    store.update_order(&held, stored.version).await.expect("update");
    assert_eq!(store.get_order(org, &held.id).await.expect("read back"), held, "{case}: get_order");
    assert_eq!(store.get_orders(org, std::slice::from_ref(&held.id)).await.expect("batch"), vec![held.clone()], "{case}: get_orders");
    let page = store.list_orders(org, &OrderQuery::default(), None, 1_000).await.expect("list");
    assert!(page.items.contains(&held), "{case}: list_orders");
    let error = store.update_order(&held, stored.version).await.expect_err("stale");
    assert!(matches!(error, StoreError::VersionConflict { .. }), "{case}: {error:?}");
}

fn stop(id: &str, order: &Order, n: u32) -> Stop {
    Stop {
        id: StopId::new(id).expect("stop id"),
        order_id: order.id.clone(),
        sequence: n,
        kind: StopKind::Delivery,
        location: order.address.location().unwrap_or(LatLon::new(45.75, 4.85)),
        planned_arrival: AT + time::Duration::minutes(20 * i64::from(n)),
        planned_departure: AT + time::Duration::minutes(20 * i64::from(n) + 5),
        tracking_token: None,
    }
}

fn dispatched(order: &Order) -> OrderUpdate {
    let mut next = order.clone();
    next.apply(&OrderEvent::Plan, AT).expect("plan");
    next.apply(&OrderEvent::Dispatch, AT).expect("dispatch");
    OrderUpdate { order: next, expected_version: order.version }
}

fn link(plan: &Plan, stop: &Stop) -> TrackingLink {
    TrackingLink {
        token_hash: format!("hash-{}", stop.id),
        org_id: plan.org_id.clone(),
        plan_id: plan.id.clone(),
        stop_id: stop.id.clone(),
        order_id: stop.order_id.clone(),
        expires_at: AT + time::Duration::days(30),
    }
}

async fn one_more_order_goes_into_a_published_plan_all_or_nothing(store: &dyn Store) {
    let case = "one_more_order_goes_into_a_published_plan_all_or_nothing";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let (first, second, late) = (&business.orders[0], &business.orders[1], &business.orders[2]);
    let mut plan = Plan {
        id: PlanId::new("pln-auto").expect("plan id"),
        org_id: org.clone(),
        depot_id: business.depots[0].id.clone(),
        date: time::macros::date!(2026 - 11 - 23),
        status: PlanStatus::Draft,
        version: 1,
        routes: vec![Route {
            id: RouteId::new("rte-auto").expect("route id"),
            vehicle_id: business.vehicles[0].id.clone(),
            driver_id: Some(business.drivers[0].id.clone()),
            planned_start: AT,
            planned_end: AT + time::Duration::hours(8),
            stops: vec![stop("stp-a1", first, 1), stop("stp-a2", second, 2)],
            totals: RouteTotals::default(),
        }],
        unassigned: vec![],
        created_at: AT,
        updated_at: AT,
        published_at: None,
    };
    store.create_plan(&plan).await.expect("create");
    plan.publish(AT).expect("publish");
    let stops = plan.routes[0].stops.clone();
    let publication = PlanPublication {
        plan: plan.clone(),
        expected_version: 1,
        orders: vec![dispatched(first), dispatched(second)],
        tracking: stops.iter().map(|s| link(&plan, s)).collect(),
        outbox: dispatched_outbox(&[first.clone(), second.clone()]),
    };
    store.publish_plan(&publication).await.expect("publish");

    // The late order goes between the two, the plan stays published.
    let mut next = plan.clone();
    let inserted = stop("stp-a3", late, 2);
    next.routes[0].stops.insert(1, inserted.clone());
    for (n, s) in next.routes[0].stops.iter_mut().enumerate() {
        s.sequence = u32::try_from(n + 1).expect("small");
    }
    next.version += 1;
    let one_more = |expected_version: u64| PlanPublication {
        plan: next.clone(),
        expected_version,
        orders: vec![dispatched(late)],
        tracking: vec![link(&next, &inserted)],
        outbox: dispatched_outbox(std::slice::from_ref(late)),
    };
    let error = store.publish_plan(&one_more(1)).await.expect_err("stale plan version");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", .. }), "{case}: {error:?}");
    assert_eq!(store.get_plan(org, &plan.id).await.expect("plan"), plan, "{case}: plan unchanged");
    assert_eq!(store.get_order(org, &late.id).await.expect("order").state(), OrderState::Created, "{case}: order unchanged");
    assert_eq!(store.tracking_link("hash-stp-a3", AT).await.expect("link"), None, "{case}: no link");

    store.publish_plan(&one_more(plan.version)).await.expect("insert");
    let read = store.get_plan(org, &plan.id).await.expect("plan");
    assert_eq!(read, next, "{case}: plan with the new stop");
    assert_eq!(read.status, PlanStatus::Published);
    assert_eq!(store.get_order(org, &late.id).await.expect("order").state(), OrderState::Dispatched, "{case}: dispatched");
    let found = store.tracking_link("hash-stp-a3", AT).await.expect("link").expect("written");
    assert_eq!((found.order_id, found.stop_id), (late.id.clone(), inserted.id.clone()));
}
