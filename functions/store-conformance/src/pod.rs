//! Conformance cases for the driver's side of a delivery (`PodStore`):
//! actions written all or nothing with their idempotency record and outbox
//! entry, replays, visits, and one-time codes counted atomically. Each
//! adapter runs [`run_pod`] in its tests.

use std::future::Future;

use doorstep_core::ports::{ActionWrite, DriverAction, IdempotencyRecord, NotifyStore, OrderUpdate, OtpRecord, OutboxEntry, PodStore, Store, StoreError};
use doorstep_core::usecases::pod::seal;
use doorstep_domain::notification::Trigger;
use doorstep_domain::pod::{PodOutcome, PodRecord, ProofOfDelivery, VisitKind, VisitRecord};
use doorstep_domain::{Order, OrderEvent, OrderState, PlanId, StopId};

use super::{T0, org};
use crate::notify::publish_sample;

/// Runs every POD case on fresh stores; panics with the case's name.
pub async fn run_pod<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + PodStore + NotifyStore,
{
    completing_a_stop_writes_order_proof_record_and_outbox_at_once(&fresh_store().await).await;
    a_replayed_key_writes_nothing_and_returns_the_stored_answer(&fresh_store().await).await;
    a_dispatchers_deliver_writes_order_and_outbox_at_once(&fresh_store().await).await;
    visits_are_kept_per_route_or_stop(&fresh_store().await).await;
    otp_guesses_are_counted_atomically_and_lock(&fresh_store().await).await;
}

const ORG: &str = "org-pod";

/// The first order of the published sample plan, delivered: the action the
/// use case would write for `key`.
fn delivery(order: &Order, expected_version: u64, key: &str) -> DriverAction {
    let mut next = order.clone();
    next.apply(&OrderEvent::Start, T0).expect("start");
    next.apply(&OrderEvent::Deliver, T0).expect("deliver");
    let pod = seal(PodRecord {
        org_id: org(ORG),
        order_id: order.id.clone(),
        plan_id: PlanId::new(format!("pln-{ORG}")).expect("plan id"),
        stop_id: StopId::new(format!("stp-pln-{ORG}-0")).expect("stop id"),
        driver_id: None,
        attempt: order.attempts,
        outcome: PodOutcome::Delivered,
        proof: ProofOfDelivery {
            order_id: order.id.clone(),
            stop_id: None,
            photos: vec![],
            signature: None,
            signature_image: None,
            recipient_name: Some("Léa".into()),
            otp_verified: false,
            barcode: None,
            geotag: None,
            device_time: T0,
            notes: None,
            cash_collected: None,
        },
        otp_verified: false,
        auto_pod: false,
        cash_due: None,
        recorded_at: T0,
        sha256: String::new(),
    });
    DriverAction {
        org_id: org(ORG),
        orders: vec![OrderUpdate { order: next, expected_version }],
        pod: Some(pod),
        visit: None,
        outbox: vec![delivered_entry(order)],
        record: IdempotencyRecord {
            org_id: org(ORG),
            key: key.into(),
            request_hash: format!("hash-{key}"),
            status: 200,
            body: format!("{{\"key\":\"{key}\"}}"),
            created_at: T0,
            expires_at: T0 + time::Duration::days(7),
        },
    }
}

fn delivered_entry(order: &Order) -> OutboxEntry {
    OutboxEntry {
        org_id: order.org_id.clone(),
        order_id: order.id.clone(),
        attempt: order.attempts,
        trigger: Trigger::Delivered,
        tracking_token: None,
        eta: None,
        failure_reason: None,
        otp: None,
        created_at: T0,
    }
}

async fn first_order<S: Store + PodStore + NotifyStore>(store: &S) -> Order {
    let entries = publish_sample(store, ORG, 2).await;
    store.get_order(&org(ORG), &entries[0].order_id).await.expect("order")
}

async fn completing_a_stop_writes_order_proof_record_and_outbox_at_once<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "completing_a_stop_writes_order_proof_record_and_outbox_at_once";
    let order = first_order(store).await;
    let entry_key = delivered_entry(&order).key();

    // Someone changed the order since it was read: none of it is written.
    let stale = delivery(&order, order.version + 7, "k-stale");
    match store.write_driver_action(&stale).await {
        Err(StoreError::VersionConflict { expected, actual, .. }) => assert_eq!((expected, actual), (order.version + 7, order.version), "{case}"),
        other => panic!("{case}: a stale version must conflict, got {other:?}"),
    }
    assert_eq!(store.get_order(&org(ORG), &order.id).await.expect("order"), order, "{case}: order unchanged");
    assert!(store.pod_records(&org(ORG), &order.id).await.expect("pods").is_empty(), "{case}: no proof written");
    assert!(store.idempotency_record(&org(ORG), "k-stale", T0).await.expect("record").is_none(), "{case}: no idempotency record");
    assert!(store.outbox_entry(&org(ORG), &entry_key).await.expect("outbox").is_none(), "{case}: no outbox entry");

    let action = delivery(&order, order.version, "k-1");
    assert_eq!(store.write_driver_action(&action).await.expect("write"), ActionWrite::Written, "{case}");
    let stored = store.get_order(&org(ORG), &order.id).await.expect("order");
    assert_eq!(stored.state(), OrderState::Delivered, "{case}");
    assert_eq!(stored, action.orders[0].order, "{case}: the order as written");
    let pods = store.pod_records(&org(ORG), &order.id).await.expect("pods");
    assert_eq!(pods, vec![action.pod.clone().expect("pod")], "{case}: the proof as written");
    assert!(pods[0].verify_hash(doorstep_core::crypto::sha256_hex).is_ok(), "{case}: the stored proof still matches its hash");
    assert_eq!(store.idempotency_record(&org(ORG), "k-1", T0).await.expect("record"), Some(action.record.clone()), "{case}");
    assert_eq!(store.outbox_entry(&org(ORG), &entry_key).await.expect("outbox"), Some(action.outbox[0].clone()), "{case}");
}

async fn a_replayed_key_writes_nothing_and_returns_the_stored_answer<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "a_replayed_key_writes_nothing_and_returns_the_stored_answer";
    let order = first_order(store).await;
    let action = delivery(&order, order.version, "k-replay");
    assert_eq!(store.write_driver_action(&action).await.expect("write"), ActionWrite::Written, "{case}");
    // The offline queue sends it again (same key): nothing more is written,
    // even though the order version it names is stale by now.
    match store.write_driver_action(&action).await.expect("replay") {
        ActionWrite::AlreadyRecorded(r) => assert_eq!(r, action.record, "{case}"),
        other => panic!("{case}: expected the stored record, got {other:?}"),
    }
    assert_eq!(store.pod_records(&org(ORG), &order.id).await.expect("pods").len(), 1, "{case}: one proof");
    // An expired key may be used again.
    let mut later = delivery(&order, order.version, "k-replay");
    later.record.created_at = T0 + time::Duration::days(8);
    later.record.expires_at = later.record.created_at + time::Duration::days(7);
    later.pod = None;
    later.outbox.clear();
    match store.write_driver_action(&later).await {
        Err(StoreError::VersionConflict { .. }) => {}
        other => panic!("{case}: an expired key is free again, so the stale order conflicts; got {other:?}"),
    }
}

async fn a_dispatchers_deliver_writes_order_and_outbox_at_once<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "a_dispatchers_deliver_writes_order_and_outbox_at_once";
    let order = first_order(store).await;
    let mut next = order.clone();
    next.apply(&OrderEvent::Start, T0).expect("start");
    next.apply(&OrderEvent::Deliver, T0).expect("deliver");
    let entry = delivered_entry(&order);
    let stale = OrderUpdate { order: next.clone(), expected_version: order.version + 1 };
    assert!(matches!(store.update_order_notifying(&stale, std::slice::from_ref(&entry)).await, Err(StoreError::VersionConflict { .. })), "{case}");
    assert!(store.outbox_entry(&org(ORG), &entry.key()).await.expect("outbox").is_none(), "{case}: no entry after a conflict");
    let update = OrderUpdate { order: next.clone(), expected_version: order.version };
    store.update_order_notifying(&update, std::slice::from_ref(&entry)).await.expect("update");
    assert_eq!(store.get_order(&org(ORG), &order.id).await.expect("order"), next, "{case}");
    assert_eq!(store.outbox_entry(&org(ORG), &entry.key()).await.expect("outbox"), Some(entry), "{case}");
}

async fn visits_are_kept_per_route_or_stop<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "visits_are_kept_per_route_or_stop";
    let order = first_order(store).await;
    let visit = VisitRecord {
        org_id: org(ORG),
        plan_id: PlanId::new(format!("pln-{ORG}")).expect("plan id"),
        kind: VisitKind::Arrived,
        subject_id: format!("stp-pln-{ORG}-0"),
        driver_id: None,
        device_time: T0,
        recorded_at: T0 + time::Duration::seconds(3),
        geotag: Some(doorstep_domain::pod::GeoTag { lat: 45.75, lon: 4.85, accuracy_m: Some(8.0) }),
        distance_m: Some(12.5),
        odometer_km: None,
        vehicle_checked: None,
    };
    let mut action = delivery(&order, order.version, "k-visit");
    action.orders.clear();
    action.pod = None;
    action.outbox.clear();
    action.visit = Some(visit.clone());
    assert_eq!(store.write_driver_action(&action).await.expect("write"), ActionWrite::Written, "{case}");
    assert_eq!(store.visit(&org(ORG), &visit.subject_id).await.expect("visit"), Some(visit.clone()), "{case}");
    assert_eq!(store.visit(&org("org-other"), &visit.subject_id).await.expect("visit"), None, "{case}: another org sees nothing");
    assert_eq!(store.visit(&org(ORG), "stp-none").await.expect("visit"), None, "{case}");
}

fn otp(order: &Order, hash: &str, max: u32) -> OtpRecord {
    OtpRecord {
        org_id: org(ORG),
        order_id: order.id.clone(),
        attempt: order.attempts,
        code_hashes: vec![hash.into()],
        attempts: 0,
        max_attempts: max,
        verified: false,
        expires_at: T0 + time::Duration::days(30),
    }
}

async fn otp_guesses_are_counted_atomically_and_lock<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "otp_guesses_are_counted_atomically_and_lock";
    let order = first_order(store).await;
    let (o, a) = (&order.id, order.attempts);
    assert_eq!(store.otp(&org(ORG), o, a).await.expect("otp"), None, "{case}");
    assert!(matches!(store.count_otp_guess(&org(ORG), o, a, false).await, Err(StoreError::NotFound { .. })), "{case}");
    store.add_otp_code(&otp(&order, "s1:h1", 5)).await.expect("add");
    assert_eq!(store.count_otp_guess(&org(ORG), o, a, false).await.expect("guess").attempts, 1, "{case}");

    // Twelve wrong guesses at once: exactly the four left count, then it locks.
    let org_id = org(ORG);
    let guesses = (0..12).map(|_| store.count_otp_guess(&org_id, o, a, false));
    for result in futures::future::join_all(guesses).await {
        result.expect("guess");
    }
    let locked = store.otp(&org(ORG), o, a).await.expect("otp").expect("record");
    assert_eq!((locked.attempts, locked.verified, locked.locked()), (5, false, true), "{case}: {locked:?}");
    // A right code after the lock changes nothing.
    let after = store.count_otp_guess(&org(ORG), o, a, true).await.expect("guess");
    assert_eq!((after.attempts, after.verified), (5, false), "{case}");

    // Re-dispatching the same attempt adds a code and keeps the count; at
    // most three codes are kept.
    for h in ["s2:h2", "s3:h3", "s4:h4"] {
        store.add_otp_code(&otp(&order, h, 5)).await.expect("add");
    }
    let kept = store.otp(&org(ORG), o, a).await.expect("otp").expect("record");
    assert_eq!(kept.code_hashes, vec!["s2:h2", "s3:h3", "s4:h4"], "{case}");
    assert_eq!(kept.attempts, 5, "{case}: the guess count survives");

    // Another attempt's code: a right guess verifies, and then nothing counts.
    let other = OtpRecord { attempt: a + 1, ..otp(&order, "s9:h9", 3) };
    store.add_otp_code(&other).await.expect("add");
    let verified = store.count_otp_guess(&org(ORG), o, a + 1, true).await.expect("guess");
    assert_eq!((verified.attempts, verified.verified), (1, true), "{case}");
    let again = store.count_otp_guess(&org(ORG), o, a + 1, false).await.expect("guess");
    assert_eq!((again.attempts, again.verified), (1, true), "{case}: a verified code stays verified");
}
