//! Conformance cases for the driver's side of a delivery (`PodStore`):
//! actions written all or nothing with their idempotency record and outbox
//! entry, replays, visits, one-time codes counted atomically (and once per
//! idempotency key), the uploads the orphan blob sweep tracks, and a
//! customer's note landing between a driver action's read and its write.
//! Each adapter runs [`run_pod`] in its tests; [`run_orphan_sweep`] runs the
//! sweep use case on a store and a real blob store together.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::ports::{
    ActionWrite, BlobStore, DriverAction, FixedClock, IdempotencyRecord, NotifyStore, OTP_KIND, OrderUpdate, OtpGuess, OtpRecord, OutboxEntry,
    PodStore, Principal, ReportStore, Store, StoreError, UploadRecord, UploadState,
};
use doorstep_core::usecases::pod::{self, BlobSweep, DRIVER_ACTION_ATTEMPTS, ORPHAN_BLOB_AGE, PodDeps, seal, sweep_orphan_blobs};
use doorstep_domain::auth::Role;
use doorstep_domain::notification::Trigger;
use doorstep_domain::pod::{CompleteStop, FailStop, PhotoRef, PodOutcome, PodRecord, ProofOfDelivery, VisitKind, VisitRecord};
use doorstep_domain::tracking::CustomerNote;
use doorstep_domain::{FailureReason, Order, OrderEvent, OrderId, OrderState, OrgId, PlanId, StopId};
use time::OffsetDateTime;

use super::{T0, org};
use crate::notify::publish_sample;

/// Runs every POD case on fresh stores; panics with the case's name.
pub async fn run_pod<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + PodStore + NotifyStore + ReportStore,
{
    completing_a_stop_writes_order_proof_record_and_outbox_at_once(&fresh_store().await).await;
    a_replayed_key_writes_nothing_and_returns_the_stored_answer(&fresh_store().await).await;
    a_dispatchers_deliver_writes_order_and_outbox_at_once(&fresh_store().await).await;
    visits_are_kept_per_route_or_stop(&fresh_store().await).await;
    otp_guesses_are_counted_atomically_and_lock(&fresh_store().await).await;
    an_otp_guess_counts_once_per_key_and_refuses_a_stale_count(&fresh_store().await).await;
    a_cited_upload_is_never_claimed_and_a_claimed_one_cannot_be_cited(&fresh_store().await).await;
    a_customer_note_between_a_drivers_read_and_write_never_fails_the_action(fresh_store().await).await;
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
        otp_guess: None,
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

/// A driver action that only guesses the order's one-time code.
fn otp_guess(order: &Order, key: &str, attempt: u32, expected_attempts: u32, correct: bool) -> DriverAction {
    let mut action = delivery(order, order.version, key);
    action.orders.clear();
    action.pod = None;
    action.outbox.clear();
    action.otp_guess = Some(OtpGuess { order_id: order.id.clone(), attempt, expected_attempts, correct });
    action
}

async fn otp_guesses_are_counted_atomically_and_lock<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "otp_guesses_are_counted_atomically_and_lock";
    let order = first_order(store).await;
    let (o, a) = (&order.id, order.attempts);
    assert_eq!(store.otp(&org(ORG), o, a).await.expect("otp"), None, "{case}");
    store.add_otp_code(&otp(&order, "s1:h1", 5)).await.expect("add");

    // Twelve wrong guesses that all read the same count: exactly one counts.
    // (One after the other: moto's transactions do not serialise concurrent
    // condition checks, as DynamoDB and SQLite do.)
    let mut results = Vec::new();
    for i in 0..12 {
        results.push(store.write_driver_action(&otp_guess(&order, &format!("race-{i}"), a, 0, false)).await);
    }
    let written = results.iter().filter(|r| matches!(r, Ok(ActionWrite::Written))).count();
    let refused = results.iter().filter(|r| matches!(r, Err(StoreError::VersionConflict { kind: OTP_KIND, .. }))).count();
    assert_eq!((written, refused), (1, 11), "{case}: {results:?}");
    // Four more wrong guesses use up the five; then it locks, even for the right code.
    for count in 1..5 {
        assert_eq!(store.write_driver_action(&otp_guess(&order, &format!("wrong-{count}"), a, count, false)).await.expect("guess"), ActionWrite::Written, "{case}");
    }
    let locked = store.otp(&org(ORG), o, a).await.expect("otp").expect("record");
    assert_eq!((locked.attempts, locked.verified, locked.locked()), (5, false, true), "{case}: {locked:?}");
    assert!(matches!(store.write_driver_action(&otp_guess(&order, "right-late", a, 5, true)).await, Err(StoreError::VersionConflict { .. })), "{case}");
    assert_eq!(store.otp(&org(ORG), o, a).await.expect("otp").expect("record"), locked, "{case}: a locked code changes no more");

    // Re-dispatching the same attempt adds a code and keeps the count; at
    // most three codes are kept.
    for h in ["s2:h2", "s3:h3", "s4:h4"] {
        store.add_otp_code(&otp(&order, h, 5)).await.expect("add");
    }
    let kept = store.otp(&org(ORG), o, a).await.expect("otp").expect("record");
    assert_eq!(kept.code_hashes, vec!["s2:h2", "s3:h3", "s4:h4"], "{case}");
    assert_eq!(kept.attempts, 5, "{case}: the guess count survives");

    // Another attempt's code: a right guess verifies it.
    let other = OtpRecord { attempt: a + 1, ..otp(&order, "s9:h9", 3) };
    store.add_otp_code(&other).await.expect("add");
    assert_eq!(store.write_driver_action(&otp_guess(&order, "right", a + 1, 0, true)).await.expect("guess"), ActionWrite::Written, "{case}");
    let verified = store.otp(&org(ORG), o, a + 1).await.expect("otp").expect("record");
    assert_eq!((verified.attempts, verified.verified), (1, true), "{case}");
}

async fn an_otp_guess_counts_once_per_key_and_refuses_a_stale_count<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "an_otp_guess_counts_once_per_key_and_refuses_a_stale_count";
    let order = first_order(store).await;
    let (o, a) = (&order.id, order.attempts);
    store.add_otp_code(&otp(&order, "s1:h1", 3)).await.expect("add");
    let guess = |key: &str, expected_attempts: u32, correct: bool| otp_guess(&order, key, a, expected_attempts, correct);
    let wrong = guess("otp-1", 0, false);
    assert_eq!(store.write_driver_action(&wrong).await.expect("guess"), ActionWrite::Written, "{case}");
    // The offline queue replays it: the stored answer, no attempt spent.
    assert_eq!(store.write_driver_action(&wrong).await.expect("replay"), ActionWrite::AlreadyRecorded(wrong.record.clone()), "{case}");
    assert_eq!(store.otp(&org(ORG), o, a).await.expect("otp").expect("record").attempts, 1, "{case}: one guess counted");
    // A new key that read the count before the first guess landed: refused, nothing written.
    match store.write_driver_action(&guess("otp-2", 0, true)).await {
        Err(StoreError::VersionConflict { kind, expected, actual, .. }) => assert_eq!((kind, expected, actual), (OTP_KIND, 0, 1), "{case}"),
        other => panic!("{case}: a stale guess count must conflict, got {other:?}"),
    }
    assert!(store.idempotency_record(&org(ORG), "otp-2", T0).await.expect("record").is_none(), "{case}: no record for the refused guess");
    let right = guess("otp-3", 1, true);
    assert_eq!(store.write_driver_action(&right).await.expect("guess"), ActionWrite::Written, "{case}");
    let after = store.otp(&org(ORG), o, a).await.expect("otp").expect("record");
    assert_eq!((after.attempts, after.verified), (2, true), "{case}");
    // A verified code takes no more guesses.
    assert!(matches!(store.write_driver_action(&guess("otp-4", 2, false)).await, Err(StoreError::VersionConflict { .. })), "{case}");
    // No code at all for another attempt.
    let none = otp_guess(&order, "otp-5", a + 5, 0, false);
    assert!(matches!(store.write_driver_action(&none).await, Err(StoreError::NotFound { .. })), "{case}");
}

fn upload(order: &Order, key: &str, granted_at: time::OffsetDateTime) -> UploadRecord {
    UploadRecord { org_id: org(ORG), order_id: order.id.clone(), key: key.into(), granted_at, state: UploadState::Pending }
}

fn photo(key: &str, bytes: &[u8]) -> PhotoRef {
    PhotoRef { blob_key: key.into(), sha256: doorstep_core::crypto::sha256_hex(bytes), content_type: "image/jpeg".into(), size_bytes: bytes.len() as u64 }
}

/// `delivery` with these photos in its proof.
fn delivery_with_photos(order: &Order, key: &str, photos: Vec<PhotoRef>) -> DriverAction {
    let mut action = delivery(order, order.version, key);
    let mut pod = action.pod.take().expect("pod");
    pod.proof.photos = photos;
    action.pod = Some(seal(PodRecord { sha256: String::new(), ..pod }));
    action
}

async fn a_cited_upload_is_never_claimed_and_a_claimed_one_cannot_be_cited<S: Store + PodStore + NotifyStore>(store: &S) {
    let case = "a_cited_upload_is_never_claimed_and_a_claimed_one_cannot_be_cited";
    let order = first_order(store).await;
    let old = T0 - ORPHAN_BLOB_AGE - time::Duration::minutes(5);
    let cutoff = T0 - ORPHAN_BLOB_AGE;
    let prefix = format!("pod/{ORG}/{}/", order.id);
    let (orphan, cited, young) = (format!("{prefix}a.jpg"), format!("{prefix}b.jpg"), format!("{prefix}c.jpg"));
    store.record_upload(&upload(&order, &orphan, old)).await.expect("record");
    store.record_upload(&upload(&order, &cited, old + time::Duration::seconds(1))).await.expect("record");
    store.record_upload(&upload(&order, &young, T0)).await.expect("record");
    // Recording again changes nothing.
    store.record_upload(&upload(&order, &orphan, T0)).await.expect("record again");
    assert_eq!(store.upload(&org(ORG), &orphan).await.expect("upload"), Some(upload(&order, &orphan, old)), "{case}");
    let keys = |list: Vec<UploadRecord>| list.into_iter().map(|u| (u.key, u.state)).collect::<Vec<_>>();
    let due = keys(store.uploads_to_sweep(cutoff, 10).await.expect("sweep list"));
    assert_eq!(due, vec![(orphan.clone(), UploadState::Pending), (cited.clone(), UploadState::Pending)], "{case}: old pending ones, oldest first");
    assert_eq!(store.uploads_to_sweep(cutoff, 1).await.expect("sweep list").len(), 1, "{case}: the limit holds");

    // A proof cites one: it is referenced in the same transaction, and the sweep can no longer claim it.
    let done = delivery_with_photos(&order, "k-photos", vec![photo(&cited, b"cited")]);
    assert_eq!(store.write_driver_action(&done).await.expect("complete"), ActionWrite::Written, "{case}");
    assert_eq!(store.upload(&org(ORG), &cited).await.expect("upload").map(|u| u.state), Some(UploadState::Referenced), "{case}");
    assert!(!store.claim_upload_deletion(&org(ORG), &cited).await.expect("claim"), "{case}: a cited blob is never claimed");
    assert_eq!(keys(store.uploads_to_sweep(cutoff, 10).await.expect("sweep list")), vec![(orphan.clone(), UploadState::Pending)], "{case}");

    // The orphan is claimed once; a claimed key is listed until finished, and cannot be cited.
    assert!(store.claim_upload_deletion(&org(ORG), &orphan).await.expect("claim"), "{case}");
    assert!(!store.claim_upload_deletion(&org(ORG), &orphan).await.expect("claim again"), "{case}: one claimant");
    assert_eq!(keys(store.uploads_to_sweep(cutoff, 10).await.expect("sweep list")), vec![(orphan.clone(), UploadState::Deleting)], "{case}");
    // Another attempt's proof citing it (no order change, so only the photo can refuse it).
    let mut late = delivery_with_photos(&order, "k-late", vec![photo(&orphan, b"orphan")]);
    late.orders.clear();
    if let Some(pod) = late.pod.as_mut() {
        pod.attempt += 1;
    }
    match store.write_driver_action(&late).await {
        Err(StoreError::NotFound { kind, id }) => assert_eq!((kind, id.as_str()), ("photo", orphan.as_str()), "{case}"),
        other => panic!("{case}: citing a claimed blob must be refused, got {other:?}"),
    }
    assert!(store.idempotency_record(&org(ORG), "k-late", T0).await.expect("record").is_none(), "{case}: nothing written");
    store.finish_upload_deletion(&org(ORG), &orphan, T0).await.expect("finish");
    store.finish_upload_deletion(&org(ORG), &orphan, T0).await.expect("finish twice");
    assert_eq!(store.upload(&org(ORG), &orphan).await.expect("upload").map(|u| u.state), Some(UploadState::Deleted), "{case}");
    assert!(store.uploads_to_sweep(cutoff, 10).await.expect("sweep list").is_empty(), "{case}: the young one waits");
    assert!(matches!(store.write_driver_action(&late).await, Err(StoreError::NotFound { .. })), "{case}: a deleted blob stays uncitable");
    assert_eq!(store.pod_records(&org(ORG), &order.id).await.expect("pods").len(), 1, "{case}");
}

/// The store, except that the first `interruptions` driver actions find a
/// customer's note saved on their order between the use case's read and
/// its write (as `PUT /api/track/{token}/note` saves it: the order
/// replaced at its version + 1).
struct NoteBeforeWrite<S> {
    store: Arc<S>,
    interruptions: AtomicUsize,
    writes: AtomicUsize,
    note: CustomerNote,
}

impl<S: Store + PodStore> NoteBeforeWrite<S> {
    async fn save_note(&self, order: &OrderUpdate) {
        let mut noted = self.store.get_order(&order.order.org_id, &order.order.id).await.expect("read the order");
        let expected = noted.version;
        noted.customer_note = Some(self.note.clone());
        noted.version = expected + 1;
        self.store.update_order(&noted, expected).await.expect("the customer's note");
    }
}

#[async_trait]
impl<S: Store + PodStore> PodStore for NoteBeforeWrite<S> {
    async fn write_driver_action(&self, action: &DriverAction) -> Result<ActionWrite, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let interrupt = self.interruptions.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if interrupt && let Some(order) = action.orders.first() {
            self.save_note(order).await;
        }
        self.store.write_driver_action(action).await
    }
    async fn update_order_notifying(&self, update: &OrderUpdate, outbox: &[OutboxEntry]) -> Result<(), StoreError> {
        self.store.update_order_notifying(update, outbox).await
    }
    async fn pod_records(&self, org: &OrgId, order: &OrderId) -> Result<Vec<PodRecord>, StoreError> {
        self.store.pod_records(org, order).await
    }
    async fn visit(&self, org: &OrgId, subject_id: &str) -> Result<Option<VisitRecord>, StoreError> {
        self.store.visit(org, subject_id).await
    }
    async fn add_otp_code(&self, record: &OtpRecord) -> Result<(), StoreError> {
        self.store.add_otp_code(record).await
    }
    async fn otp(&self, org: &OrgId, order: &OrderId, attempt: u32) -> Result<Option<OtpRecord>, StoreError> {
        self.store.otp(org, order, attempt).await
    }
    async fn record_upload(&self, upload: &UploadRecord) -> Result<(), StoreError> {
        self.store.record_upload(upload).await
    }
    async fn upload(&self, org: &OrgId, key: &str) -> Result<Option<UploadRecord>, StoreError> {
        self.store.upload(org, key).await
    }
    async fn uploads_to_sweep(&self, granted_before: OffsetDateTime, limit: u32) -> Result<Vec<UploadRecord>, StoreError> {
        self.store.uploads_to_sweep(granted_before, limit).await
    }
    async fn claim_upload_deletion(&self, org: &OrgId, key: &str) -> Result<bool, StoreError> {
        self.store.claim_upload_deletion(org, key).await
    }
    async fn finish_upload_deletion(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.store.finish_upload_deletion(org, key, now).await
    }
}

async fn a_customer_note_between_a_drivers_read_and_write_never_fails_the_action<S: Store + PodStore + NotifyStore + ReportStore>(store: S) {
    let case = "a_customer_note_between_a_drivers_read_and_write_never_fails_the_action";
    let shared = Arc::new(store);
    let store = shared.as_ref();
    let entries = crate::notify::publish_with(store, ORG, 2, |b| b.orders.iter_mut().for_each(|o| o.cash_on_delivery = None)).await;
    let driver = Principal { org: org(ORG), role: Role::Driver, subject: crate::sample_business(ORG).drivers[0].id.to_string() };
    let plan_id = PlanId::new(format!("pln-{ORG}")).expect("plan id");
    let stop = |i: usize| StopId::new(format!("stp-pln-{ORG}-{i}")).expect("stop id");
    let dir = std::env::temp_dir().join(format!("doorstep-note-race-{}-{}", std::process::id(), doorstep_core::crypto::random_token(6)));
    let blobs = FsBlobStore::open(&dir, b"a blob secret of at least 32 bytes..").expect("blob store");
    let clock = FixedClock(T0 + time::Duration::hours(2));
    let note = CustomerNote { instructions: Some("Ring twice".into()), safe_place: None };
    let racer = |interruptions: usize| NoteBeforeWrite { store: shared.clone(), interruptions: AtomicUsize::new(interruptions), writes: AtomicUsize::new(0), note: note.clone() };

    // One note between the read and the write: the completion is prepared again and succeeds, keeping the note.
    let first = &entries[0].order_id;
    let racing = racer(1);
    let request: CompleteStop = serde_json::from_value(serde_json::json!({
        "plan_id": plan_id, "pod": {"order_id": first, "recipient_name": "Léa", "device_time": "2026-11-23T09:30:00Z"}
    }))
    .expect("complete request");
    let done = pod::complete(PodDeps { store, pods: &racing, blobs: &blobs, reports: store, clock: &clock }, &driver, &stop(0), &request, Some("race-complete")).await;
    let done = done.unwrap_or_else(|e| panic!("{case}: a note must not fail the delivery: {e}"));
    assert_eq!(racing.writes.load(Ordering::SeqCst), 2, "{case}: written on the second try");
    let delivered = store.get_order(&org(ORG), first).await.expect("order");
    assert_eq!((delivered.state(), delivered.customer_note.as_ref()), (OrderState::Delivered, Some(&note)), "{case}: delivered, the note kept");
    assert_eq!(store.pod_records(&org(ORG), first).await.expect("pods").len(), 1, "{case}: one proof");
    // The offline queue's replay gets the stored answer and writes nothing.
    let replayed = pod::complete(PodDeps { store, pods: store, blobs: &blobs, reports: store, clock: &clock }, &driver, &stop(0), &request, Some("race-complete")).await.expect("replay");
    assert_eq!((replayed.replayed, &replayed.body), (true, &done.body), "{case}");

    // A note before every try: the retries are bounded, the conflict is reported and nothing is written.
    let second = &entries[1].order_id;
    let before = store.get_order(&org(ORG), second).await.expect("order");
    let always = racer(DRIVER_ACTION_ATTEMPTS);
    let failed: FailStop = serde_json::from_value(serde_json::json!({
        "plan_id": plan_id, "reason": FailureReason::RecipientAbsent, "device_time": "2026-11-23T09:40:00Z"
    }))
    .expect("fail request");
    match pod::fail(PodDeps { store, pods: &always, blobs: &blobs, reports: store, clock: &clock }, &driver, &stop(1), &failed, Some("race-fail")).await {
        Err(doorstep_core::Error::VersionConflict { .. }) => {}
        other => panic!("{case}: an order that keeps changing must end in a version conflict, got {other:?}"),
    }
    assert_eq!(always.writes.load(Ordering::SeqCst), DRIVER_ACTION_ATTEMPTS, "{case}: bounded retries");
    let after = store.get_order(&org(ORG), second).await.expect("order");
    assert_eq!((after.state(), after.version), (before.state(), before.version + DRIVER_ACTION_ATTEMPTS as u64), "{case}: only the notes were written");
    assert!(store.idempotency_record(&org(ORG), "race-fail", T0).await.expect("record").is_none(), "{case}: no record for the refused action");
    // With the customer done typing, the queue's retry under the same key goes through.
    let retried = pod::fail(PodDeps { store, pods: store, blobs: &blobs, reports: store, clock: &clock }, &driver, &stop(1), &failed, Some("race-fail")).await.expect("retry");
    assert!(!retried.replayed, "{case}");
    assert_eq!(store.get_order(&org(ORG), second).await.expect("order").attempts, before.attempts + 1, "{case}: the failed attempt counts");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The orphan sweep on a store and a real blob store: of three blobs
/// uploaded over a day ago, the one a proof cites stays, the two nobody
/// cites are deleted (one left `deleting` by a sweep that died before
/// deleting it), and a blob uploaded an hour ago waits. `put` stores bytes
/// under a key the way a browser upload would.
pub async fn run_orphan_sweep<S, P, Fut>(store: &S, blobs: &dyn BlobStore, put: P)
where
    S: Store + PodStore + NotifyStore,
    P: Fn(String, Vec<u8>) -> Fut,
    Fut: Future<Output = ()>,
{
    let case = "run_orphan_sweep";
    let order = first_order(store).await;
    let long_ago = T0 - ORPHAN_BLOB_AGE - time::Duration::hours(1);
    let prefix = format!("pod/{ORG}/{}/", order.id);
    let blob = |name: &str| format!("{prefix}{name}.jpg");
    for (name, at) in [("cited", long_ago), ("orphan", long_ago), ("interrupted", long_ago), ("recent", T0 - time::Duration::hours(1))] {
        put(blob(name), name.as_bytes().to_vec()).await;
        store.record_upload(&upload(&order, &blob(name), at)).await.expect("record");
    }
    let done = delivery_with_photos(&order, "k-sweep", vec![photo(&blob("cited"), b"cited")]);
    assert_eq!(store.write_driver_action(&done).await.expect("complete"), ActionWrite::Written, "{case}");
    assert!(store.claim_upload_deletion(&org(ORG), &blob("interrupted")).await.expect("claim"), "{case}");

    let report = sweep_orphan_blobs(store, blobs, &FixedClock(T0), 100).await.expect("sweep");
    assert_eq!(report, BlobSweep { deleted: 2, kept: 0, failed: 0 }, "{case}");
    for (name, kept, state) in [
        ("cited", true, UploadState::Referenced),
        ("orphan", false, UploadState::Deleted),
        ("interrupted", false, UploadState::Deleted),
        ("recent", true, UploadState::Pending),
    ] {
        let stat = blobs.stat(&blob(name)).await.expect("stat");
        assert_eq!(stat.is_some(), kept, "{case}: blob {name}");
        assert_eq!(store.upload(&org(ORG), &blob(name)).await.expect("upload").map(|u| u.state), Some(state), "{case}: upload {name}");
    }
    let cited = blobs.stat(&blob("cited")).await.expect("stat").expect("cited blob");
    assert_eq!(cited.sha256, doorstep_core::crypto::sha256_hex(b"cited"), "{case}: the cited bytes are intact");
    // Nothing left to do a second time; a day later the recent one goes too.
    assert_eq!(sweep_orphan_blobs(store, blobs, &FixedClock(T0), 100).await.expect("sweep"), BlobSweep::default(), "{case}");
    let later = FixedClock(T0 + ORPHAN_BLOB_AGE);
    assert_eq!(sweep_orphan_blobs(store, blobs, &later, 100).await.expect("sweep").deleted, 1, "{case}");
    assert!(blobs.stat(&blob("cited")).await.expect("stat").is_some(), "{case}: a cited blob is never swept");
}
