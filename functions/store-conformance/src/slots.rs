//! Conformance cases for delivery slot reservations: concurrent intakes for
//! one slot never pass its capacity (exactly K of N accepted, the rest
//! refused with nothing of theirs written), a refused batch writes nothing,
//! an idempotent replay holds nothing more, and a release frees one place
//! once. Each adapter runs [`run_slots`].

use std::future::Future;

use doorstep_core::ports::{HeldOrdersWrite, IdempotencyRecord, SlotHold, SlotKey, Store, StoreError};
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::{Order, OrderId, OrgId};
use futures::future::join_all;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::sample_business;

const AT: OffsetDateTime = datetime!(2026-11-22 9:00 +1);

pub async fn run_slots<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    concurrent_intakes_never_pass_a_slots_capacity(&fresh_store().await).await;
    a_batch_past_the_capacity_writes_nothing(&fresh_store().await).await;
    a_replayed_key_holds_nothing_more(&fresh_store().await).await;
    a_release_frees_one_place_once(&fresh_store().await).await;
}

fn ten_oclock() -> SlotKey {
    SlotKey { date: date!(2026 - 11 - 23), zone: "Centre".into(), start: TimeOfDay::hm(10, 0) }
}

fn window() -> TimeWindow {
    TimeWindow { start: datetime!(2026-11-23 10:00 +1), end: datetime!(2026-11-23 12:00 +1) }
}

/// A new order (a copy of the sample's first) with its hold on `slot`.
fn booking(template: &Order, id: &str, slot: &SlotKey, capacity: u32) -> (Order, SlotHold) {
    let mut order = template.clone();
    order.id = OrderId::new(id).expect("order id");
    order.time_windows = vec![window()];
    let hold = SlotHold { order_id: order.id.clone(), slot: slot.clone(), capacity, window: window() };
    (order, hold)
}

fn record(org: &OrgId, key: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        org_id: org.clone(),
        key: key.into(),
        request_hash: format!("hash-{key}"),
        status: 201,
        body: format!("{{\"key\":\"{key}\"}}"),
        created_at: AT,
        expires_at: AT + time::Duration::hours(24),
    }
}

async fn count(store: &dyn Store, org: &OrgId, slot: &SlotKey) -> u32 {
    let counts = store.slot_counts(org, slot.date).await.expect("slot counts");
    counts.iter().find(|c| c.slot == *slot).map_or(0, |c| c.count)
}

async fn stored(store: &dyn Store, org: &OrgId, ids: &[OrderId]) -> Vec<OrderId> {
    let mut found: Vec<OrderId> = store.get_orders(org, ids).await.expect("get orders").into_iter().map(|o| o.id).collect();
    found.sort();
    found
}

async fn concurrent_intakes_never_pass_a_slots_capacity(store: &dyn Store) {
    let case = "concurrent_intakes_never_pass_a_slots_capacity";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let (n, capacity) = (8usize, 3u32);
    let slot = ten_oclock();
    let bookings: Vec<(Order, SlotHold)> = (0..n).map(|i| booking(&business.orders[0], &format!("ord-race-{i}"), &slot, capacity)).collect();
    let records: Vec<IdempotencyRecord> = (0..n).map(|i| record(org, &format!("race-{i}"))).collect();
    let outcomes = join_all(bookings.iter().zip(&records).map(|((order, hold), record)| {
        store.create_orders_holding(org, std::slice::from_ref(order), Some(record), std::slice::from_ref(hold))
    }))
    .await;
    let mut accepted = Vec::new();
    for ((order, _), outcome) in bookings.iter().zip(outcomes) {
        match outcome {
            Ok(HeldOrdersWrite::Written) => accepted.push(order.id.clone()),
            Ok(HeldOrdersWrite::SlotFull { order_id }) => assert_eq!(order_id, order.id, "{case}: the refusal names the order"),
            other => panic!("{case}: {other:?}"),
        }
    }
    accepted.sort();
    assert_eq!(accepted.len(), capacity as usize, "{case}: exactly the capacity is accepted");
    let ids: Vec<OrderId> = bookings.iter().map(|(o, _)| o.id.clone()).collect();
    assert_eq!(stored(store, org, &ids).await, accepted, "{case}: only the accepted orders are stored");
    assert_eq!(count(store, org, &slot).await, capacity, "{case}: the counter is at the capacity");
    for ((order, hold), record) in bookings.iter().zip(&records) {
        let won = accepted.contains(&order.id);
        let held = store.slot_hold(org, &order.id).await.expect("hold");
        assert_eq!(held.as_ref(), won.then_some(hold), "{case}: {} holds the slot only if accepted", order.id);
        let kept = store.idempotency_record(org, &record.key, AT).await.expect("record");
        assert_eq!(kept.is_some(), won, "{case}: {}'s idempotency record written only if accepted", record.key);
    }
    // Another slot of the same zone is unaffected.
    let noon = SlotKey { start: TimeOfDay::hm(12, 0), ..slot.clone() };
    assert_eq!(count(store, org, &noon).await, 0, "{case}: other slots untouched");
}

async fn a_batch_past_the_capacity_writes_nothing(store: &dyn Store) {
    let case = "a_batch_past_the_capacity_writes_nothing";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let slot = ten_oclock();
    let (first, first_hold) = booking(&business.orders[0], "ord-b-1", &slot, 2);
    assert_eq!(store.create_orders_holding(org, &[first], None, &[first_hold]).await.expect("first"), HeldOrdersWrite::Written);

    // Two more for one place left: the second is named, nothing is written.
    let noon = SlotKey { start: TimeOfDay::hm(12, 0), ..slot.clone() };
    let (free, free_hold) = booking(&business.orders[0], "ord-b-noon", &noon, 2);
    let (a, a_hold) = booking(&business.orders[0], "ord-b-2", &slot, 2);
    let (b, b_hold) = booking(&business.orders[0], "ord-b-3", &slot, 2);
    let batch = [free, a, b];
    let outcome = store
        .create_orders_holding(org, &batch, Some(&record(org, "batch")), &[free_hold, a_hold, b_hold])
        .await
        .expect("refused batch");
    assert_eq!(outcome, HeldOrdersWrite::SlotFull { order_id: OrderId::new("ord-b-3").expect("id") }, "{case}");
    let ids: Vec<OrderId> = batch.iter().map(|o| o.id.clone()).collect();
    assert_eq!(stored(store, org, &ids).await, Vec::<OrderId>::new(), "{case}: no order of the batch");
    assert_eq!((count(store, org, &slot).await, count(store, org, &noon).await), (1, 0), "{case}: counters unchanged");
    assert_eq!(store.slot_hold(org, &batch[0].id).await.expect("hold"), None, "{case}: no hold");
    assert_eq!(store.idempotency_record(org, "batch", AT).await.expect("record"), None, "{case}: no record");

    // An order id already taken refuses the batch too, holding nothing.
    let (dup, dup_hold) = booking(&business.orders[0], "ord-b-1", &noon, 2);
    let error = store.create_orders_holding(org, &[dup], None, &[dup_hold]).await.expect_err("duplicate");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "order", .. } | StoreError::AlreadyExists { kind: "slot hold", .. }), "{case}: {error:?}");
    assert_eq!(count(store, org, &noon).await, 0, "{case}: nothing counted for a refused duplicate");
}

async fn a_replayed_key_holds_nothing_more(store: &dyn Store) {
    let case = "a_replayed_key_holds_nothing_more";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let slot = ten_oclock();
    let (first, hold) = booking(&business.orders[0], "ord-r-1", &slot, 5);
    let rec = record(org, "replayed");
    assert_eq!(store.create_orders_holding(org, &[first], Some(&rec), &[hold]).await.expect("first"), HeldOrdersWrite::Written);
    let (again, again_hold) = booking(&business.orders[0], "ord-r-2", &slot, 5);
    match store.create_orders_holding(org, std::slice::from_ref(&again), Some(&rec), &[again_hold]).await.expect("replay") {
        HeldOrdersWrite::AlreadyRecorded(existing) => assert_eq!(existing.request_hash, rec.request_hash, "{case}"),
        other => panic!("{case}: {other:?}"),
    }
    assert_eq!(count(store, org, &slot).await, 1, "{case}: one place taken");
    assert_eq!(stored(store, org, std::slice::from_ref(&again.id)).await, Vec::<OrderId>::new(), "{case}: no second order");
}

async fn a_release_frees_one_place_once(store: &dyn Store) {
    let case = "a_release_frees_one_place_once";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let slot = ten_oclock();
    let (a, a_hold) = booking(&business.orders[0], "ord-f-1", &slot, 2);
    let (b, b_hold) = booking(&business.orders[0], "ord-f-2", &slot, 2);
    let written = store.create_orders_holding(org, &[a.clone(), b.clone()], None, &[a_hold, b_hold]).await.expect("book");
    assert_eq!(written, HeldOrdersWrite::Written, "{case}");
    let (c, c_hold) = booking(&business.orders[0], "ord-f-3", &slot, 2);
    let full = store.create_orders_holding(org, std::slice::from_ref(&c), None, std::slice::from_ref(&c_hold)).await.expect("full");
    assert_eq!(full, HeldOrdersWrite::SlotFull { order_id: c.id.clone() }, "{case}");

    assert!(store.release_slot(org, &a.id).await.expect("release"), "{case}: released");
    assert_eq!(count(store, org, &slot).await, 1, "{case}: one place back");
    assert_eq!(store.slot_hold(org, &a.id).await.expect("hold"), None, "{case}: hold gone");
    assert!(!store.release_slot(org, &a.id).await.expect("release again"), "{case}: a second release is a no-op");
    assert!(!store.release_slot(org, &OrderId::new("ord-never").expect("id")).await.expect("no hold"), "{case}: no hold, no release");
    assert_eq!(count(store, org, &slot).await, 1, "{case}: released once");

    let again = store.create_orders_holding(org, std::slice::from_ref(&c), None, &[c_hold]).await.expect("book again");
    assert_eq!(again, HeldOrdersWrite::Written, "{case}: the freed place is bookable");
    assert_eq!(count(store, org, &slot).await, 2, "{case}");
}
