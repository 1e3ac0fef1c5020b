//! The driver's side of a delivery: starting a route, arriving at a stop,
//! completing it with proof of delivery or failing it with a reason, one-time
//! codes, photo uploads, and reading proofs back (dispatcher and customer).
//!
//! The driver app queues actions offline and replays them, possibly more than
//! once: every action carries an `Idempotency-Key`, and its answer is stored in
//! the same transaction as the change it made, so a replay gets the same answer
//! and a different body under the same key gets 409.

use std::collections::BTreeMap;

use doorstep_domain::auth::Role;
use doorstep_domain::notification::Trigger;
use doorstep_domain::plan::PlanStatus;
use doorstep_domain::reports::DeliveryEvent;
use doorstep_domain::pod::{
    ArriveAtStop, CompleteStop, FailStop, OrderPod, OtpStatus, PhotoRef, PodAttempt, PodOutcome, PodRecord, ProofOfDelivery,
    PublicPod, RouteStartOutcome, StartRoute, StopOutcome, UploadRequest, UploadTicket, VerifyOtp, VisitKind, VisitRecord,
};
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{
    LatLon, Order, OrderEvent, OrderId, OrderState, Organisation, Plan, Route, RouteId, Stop, StopId, Validate, ValidationErrors,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::crypto::{new_id, random_digits, random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::{
    ActionWrite, BlobError, BlobStore, Clock, DriverAction, IdempotencyRecord, MAX_OTP_CODES, OTP_KIND, OrderUpdate, OtpGuess, OtpRecord,
    OutboxEntry, PodStore, Principal, ReportStore, Store, StoreError, UploadGrant, UploadRecord, UploadState,
};
use crate::usecases::auth::require;
use crate::usecases::orders::{MAX_IDEMPOTENCY_KEY_LEN, StoredResponse, to_json};

/// Driver actions may be replayed from an offline queue long after they
/// happened, so their keys are remembered longer than order intake's.
pub const DRIVER_IDEMPOTENCY_TTL: Duration = Duration::days(7);
/// How long an upload ticket works.
pub const UPLOAD_TICKET_TTL: Duration = Duration::minutes(15);
/// How long a photo URL handed to a dispatcher or customer works.
pub const DOWNLOAD_URL_TTL: Duration = Duration::minutes(10);
/// How long a one-time code stays valid after dispatch.
pub const OTP_TTL: Duration = Duration::days(30);
/// An uploaded blob no proof cites after this long is an orphan (the driver
/// gave up, the app was reinstalled) and the sweep deletes it. Far longer
/// than a ticket lives, so a queued completion sending right after its
/// upload is never caught out.
pub const ORPHAN_BLOB_AGE: Duration = Duration::hours(24);
/// How often the same guess may lose a race with another before giving up.
const OTP_RACE_RETRIES: usize = 4;

/// The ports the driver's use cases need.
#[derive(Clone, Copy)]
pub struct PodDeps<'a> {
    pub store: &'a dyn Store,
    pub pods: &'a dyn PodStore,
    pub blobs: &'a dyn BlobStore,
    /// Completed stops and route starts feed the reports.
    pub reports: &'a dyn ReportStore,
    pub clock: &'a dyn Clock,
}

impl std::fmt::Debug for PodDeps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodDeps").field("blobs", &self.blobs.backend()).finish_non_exhaustive()
    }
}

fn invalid(path: impl Into<String>, code: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationErrors(vec![FieldError { path: path.into(), code: code.into(), message: message.into() }]))
}

fn blob_error(e: BlobError) -> Error {
    match e {
        BlobError::InvalidKey(k) => invalid("blob_key", codes::INVALID_FORMAT, format!("{k:?} is not a blob key")),
        BlobError::Unavailable(m) => Error::Store(StoreError::Unavailable(m)),
    }
}

// --- idempotent driver actions ------------------------------------------------

/// A driver action ready to write, and its answer.
struct Prepared {
    action: DriverAction,
    status: u16,
    body: String,
    /// What the action tells the reports, folded in once it is written.
    report: Option<ReportEvents>,
}

/// Delivery events for one driver's day (the plan's date).
struct ReportEvents {
    driver: doorstep_domain::DriverId,
    date: time::Date,
    events: Vec<DeliveryEvent>,
}

impl ReportEvents {
    fn for_route(plan: &Plan, route: &Route, events: Vec<DeliveryEvent>) -> Option<Self> {
        route.driver_id.clone().map(|driver| Self { driver, date: plan.date, events })
    }
}

fn request_hash<T: Serialize>(operation: &str, subject: &str, body: &T) -> Result<String> {
    let json = serde_json::to_string(body).map_err(|e| Error::Internal(format!("cannot encode the request: {e}")))?;
    Ok(sha256_hex(format!("{operation}\n{subject}\n{json}").as_bytes()))
}

fn required_key(key: Option<&str>) -> Result<&str> {
    let key = key.ok_or_else(|| {
        invalid("Idempotency-Key", codes::REQUIRED, "driver actions need an Idempotency-Key header (a UUID made when the action happened)")
    })?;
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "Idempotency-Key",
            codes::INVALID_FORMAT,
            format!("must be 1-{MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(key)
}

fn replay(record: IdempotencyRecord, request_hash: &str) -> Result<StoredResponse> {
    if record.request_hash == request_hash {
        Ok(StoredResponse { status: record.status, body: record.body, replayed: true })
    } else {
        Err(Error::Conflict {
            message: format!("Idempotency-Key {:?} was already used with a different request; use a new key for a new action", record.key),
            field: Some("Idempotency-Key".into()),
        })
    }
}

/// How often a driver action is prepared and written before a version
/// conflict on its order is reported: a customer's note or a dispatcher's
/// edit landing between the read and the write must not fail a delivery
/// (the offline queue would treat a 409 as final).
pub const DRIVER_ACTION_ATTEMPTS: usize = 3;

/// Runs a driver action once per `Idempotency-Key`: a recorded key gets its
/// stored answer; otherwise `prepare` reads and decides, and the action is
/// written with the key's record. When an order changed between the read
/// and the write, `prepare` runs again on what is stored now (at most
/// [`DRIVER_ACTION_ATTEMPTS`] times), so it may refuse the new state.
async fn run_action<F, Fut>(deps: PodDeps<'_>, principal: &Principal, key: Option<&str>, request_hash: &str, prepare: F) -> Result<StoredResponse>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Prepared>>,
{
    let key = required_key(key)?;
    let now = deps.clock.now();
    if let Some(record) = deps.store.idempotency_record(&principal.org, key, now).await? {
        return replay(record, request_hash);
    }
    let mut attempt = 1;
    loop {
        let mut prepared = prepare().await?;
        prepared.action.record = IdempotencyRecord {
            org_id: principal.org.clone(),
            key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            status: prepared.status,
            body: prepared.body.clone(),
            created_at: now,
            expires_at: now + DRIVER_IDEMPOTENCY_TTL,
        };
        match deps.pods.write_driver_action(&prepared.action).await {
            Ok(ActionWrite::Written) => {
                if let Some(r) = &prepared.report {
                    crate::usecases::reports::record_after_commit(deps.reports, &principal.org, &r.driver, r.date, &r.events).await;
                }
                return Ok(StoredResponse { status: prepared.status, body: prepared.body, replayed: false });
            }
            Ok(ActionWrite::AlreadyRecorded(existing)) => return replay(existing, request_hash),
            // One-time code races are the caller's to retry (`verify_otp`).
            Err(StoreError::VersionConflict { kind, id, .. }) if kind != OTP_KIND && attempt < DRIVER_ACTION_ATTEMPTS => {
                tracing::info!(org = %principal.org, %id, attempt, "{kind} changed while a driver action was prepared; preparing it again");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn empty_action(principal: &Principal) -> DriverAction {
    DriverAction {
        org_id: principal.org.clone(),
        orders: Vec::new(),
        pod: None,
        visit: None,
        outbox: Vec::new(),
        otp_guess: None,
        // Filled in by `run_action`.
        record: IdempotencyRecord {
            org_id: principal.org.clone(),
            key: String::new(),
            request_hash: String::new(),
            status: 0,
            body: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
        },
    }
}

// --- finding the driver's route and stop ----------------------------------------

fn driver_of(principal: &Principal) -> Result<doorstep_domain::DriverId> {
    require(principal, &[Role::Driver], "report stop events")?;
    principal.driver_id().ok_or_else(|| Error::Forbidden("not a driver".into()))
}

/// The published plan and the caller's route in it; any other route is
/// not found (ids of other drivers' work do not leak).
async fn my_route(deps: PodDeps<'_>, principal: &Principal, plan_id: &doorstep_domain::PlanId, route_id: &RouteId) -> Result<(Plan, usize)> {
    let driver = driver_of(principal)?;
    let not_found = || Error::NotFound { what: "route", id: route_id.to_string() };
    let plan = match deps.store.get_plan(&principal.org, plan_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let index = plan.routes.iter().position(|r| &r.id == route_id && r.driver_id.as_ref() == Some(&driver)).ok_or_else(not_found)?;
    if plan.status != PlanStatus::Published {
        return Err(not_found());
    }
    Ok((plan, index))
}

async fn my_stop(deps: PodDeps<'_>, principal: &Principal, plan_id: &doorstep_domain::PlanId, stop_id: &StopId) -> Result<(Plan, Route, Stop)> {
    let driver = driver_of(principal)?;
    let not_found = || Error::NotFound { what: "stop", id: stop_id.to_string() };
    let plan = match deps.store.get_plan(&principal.org, plan_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if plan.status != PlanStatus::Published {
        return Err(not_found());
    }
    let (route, stop) = plan
        .routes
        .iter()
        .filter(|r| r.driver_id.as_ref() == Some(&driver))
        .find_map(|r| r.stops.iter().find(|s| &s.id == stop_id).map(|s| (r.clone(), s.clone())))
        .ok_or_else(not_found)?;
    Ok((plan, route, stop))
}

/// A dispatched order goes out for delivery on the way (the driver may
/// not have sent "start route"); after that it must be out for delivery.
fn ensure_out_for_delivery(order: &mut Order, now: OffsetDateTime) -> Result<()> {
    if order.state() == OrderState::Dispatched {
        order.apply(&OrderEvent::Start, now)?;
    }
    if order.state() != OrderState::OutForDelivery {
        return Err(Error::IllegalState(format!("order {} is {}, not out for delivery", order.id, order.state())));
    }
    Ok(())
}

// --- route start and arrival -----------------------------------------------------

/// `POST /api/routes/{route_id}/start`: the route's dispatched orders go out
/// for delivery, in one transaction.
pub async fn start_route(deps: PodDeps<'_>, principal: &Principal, route_id: &RouteId, request: &StartRoute, key: Option<&str>) -> Result<StoredResponse> {
    let hash = request_hash("routes.start", route_id.as_str(), request)?;
    driver_of(principal)?;
    run_action(deps, principal, key, &hash, move || async move {
        request.validate()?;
        let (plan, index) = my_route(deps, principal, &request.plan_id, route_id).await?;
        let route = &plan.routes[index];
        let now = deps.clock.now();
        let mut ids: Vec<OrderId> = Vec::new();
        for s in &route.stops {
            if !ids.contains(&s.order_id) {
                ids.push(s.order_id.clone());
            }
        }
        let found = deps.store.get_orders(&principal.org, &ids).await?;
        let mut orders = Vec::with_capacity(ids.len());
        let mut action = empty_action(principal);
        for id in &ids {
            let Some(order) = found.iter().find(|o| &o.id == id) else { continue };
            let mut next = order.clone();
            if next.state() == OrderState::Dispatched {
                next.apply(&OrderEvent::Start, now)?;
                action.orders.push(OrderUpdate { order: next.clone(), expected_version: order.version });
            }
            orders.push(next);
        }
        let visit = VisitRecord {
            org_id: principal.org.clone(),
            plan_id: plan.id.clone(),
            kind: VisitKind::RouteStarted,
            subject_id: route_id.to_string(),
            driver_id: route.driver_id.clone(),
            device_time: request.device_time,
            recorded_at: now,
            geotag: None,
            distance_m: None,
            odometer_km: request.odometer_km,
            vehicle_checked: Some(request.vehicle_checked),
        };
        action.visit = Some(visit.clone());
        let vehicle = deps.store.list_vehicles(&principal.org).await?.into_iter().find(|v| v.id == route.vehicle_id);
        let started = crate::usecases::reports::route_started(route, vehicle.as_ref(), request.device_time);
        let report = ReportEvents::for_route(&plan, route, vec![started]);
        let body = to_json(&RouteStartOutcome { visit, orders })?;
        Ok(Prepared { action, status: 200, body, report })
    })
    .await
}

/// `POST /api/stops/{stop_id}/arrive`: the arrival is recorded (time, and
/// how far from the stop), for reports and automatic proof of delivery.
pub async fn arrive(deps: PodDeps<'_>, principal: &Principal, stop_id: &StopId, request: &ArriveAtStop, key: Option<&str>) -> Result<StoredResponse> {
    let hash = request_hash("stops.arrive", stop_id.as_str(), request)?;
    driver_of(principal)?;
    run_action(deps, principal, key, &hash, move || async move {
        request.validate()?;
        let (plan, route, stop) = my_stop(deps, principal, &request.plan_id, stop_id).await?;
        let visit = VisitRecord {
            org_id: principal.org.clone(),
            plan_id: plan.id.clone(),
            kind: VisitKind::Arrived,
            subject_id: stop_id.to_string(),
            driver_id: route.driver_id.clone(),
            device_time: request.device_time,
            recorded_at: deps.clock.now(),
            geotag: request.geotag,
            distance_m: request.geotag.map(|g| LatLon::new(g.lat, g.lon).distance_m(stop.location)),
            odometer_km: None,
            vehicle_checked: None,
        };
        let mut action = empty_action(principal);
        action.visit = Some(visit.clone());
        Ok(Prepared { action, status: 200, body: to_json(&visit)?, report: None })
    })
    .await
}

// --- completion and failure ---------------------------------------------------------

fn prefixed(errors: ValidationErrors, prefix: &str) -> Vec<FieldError> {
    errors.0.into_iter().map(|e| FieldError { path: if e.path.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", e.path) }, ..e }).collect()
}

/// Each referenced blob must be this order's, uploaded, and exactly the
/// bytes the proof claims (size and SHA-256 of what is stored).
async fn check_blobs(deps: PodDeps<'_>, principal: &Principal, order: &OrderId, blobs: Vec<(String, PhotoRef)>, problems: &mut Vec<FieldError>) -> Result<()> {
    let prefix = blob_prefix(principal, order);
    for (path, photo) in &blobs {
        let mut push = |field: &str, code: &str, message: String| {
            problems.push(FieldError { path: format!("{path}.{field}"), code: code.into(), message });
        };
        if !photo.blob_key.starts_with(&prefix) {
            push("blob_key", codes::NOT_ALLOWED, format!("is not an upload for order {order}"));
            continue;
        }
        let Some(stat) = deps.blobs.stat(&photo.blob_key).await.map_err(blob_error)? else {
            push("blob_key", "not_found", "nothing was uploaded under this key; upload the file first".into());
            continue;
        };
        if stat.size_bytes != photo.size_bytes {
            push("size_bytes", "mismatch", format!("the uploaded file has {} bytes", stat.size_bytes));
        }
        if stat.sha256 != photo.sha256 {
            push("sha256", "mismatch", "does not match the SHA-256 of the uploaded bytes".into());
        }
        if stat.content_type != photo.content_type {
            push("content_type", "mismatch", format!("the file was uploaded as {}", stat.content_type));
        }
    }
    Ok(())
}

fn finish(problems: Vec<FieldError>) -> Result<()> {
    if problems.is_empty() { Ok(()) } else { Err(Error::Invalid(ValidationErrors(problems))) }
}

/// Seals a record: its hash over the canonical JSON of everything else.
pub fn seal(mut record: PodRecord) -> PodRecord {
    record.sha256 = String::new();
    record.sha256 = sha256_hex(record.canonical_json().as_bytes());
    record
}

fn outbox_entry(order: &Order, attempt: u32, trigger: Trigger, now: OffsetDateTime) -> OutboxEntry {
    OutboxEntry {
        org_id: order.org_id.clone(),
        order_id: order.id.clone(),
        attempt,
        trigger,
        tracking_token: None,
        eta: None,
        failure_reason: match &order.status {
            doorstep_domain::OrderStatus::Failed { reason, .. } => Some(*reason),
            _ => None,
        },
        otp: None,
        created_at: now,
    }
}

/// Whether automatic proof applies: the org allows it, the driver's
/// arrival was recorded within the radius, and the completion's geotag is
/// within it too.
async fn auto_pod_holds(deps: PodDeps<'_>, principal: &Principal, org: &Organisation, stop: &Stop, pod: &ProofOfDelivery) -> Result<bool> {
    let policy = &org.settings.pod;
    if !policy.auto_pod {
        return Ok(false);
    }
    let radius = f64::from(policy.auto_pod_radius_m);
    let Some(here) = pod.geotag else { return Ok(false) };
    if LatLon::new(here.lat, here.lon).distance_m(stop.location) > radius {
        return Ok(false);
    }
    let arrival = deps.pods.visit(&principal.org, stop.id.as_str()).await?;
    Ok(arrival.is_some_and(|v| v.kind == VisitKind::Arrived && v.distance_m.is_some_and(|d| d <= radius)))
}

/// A stop of the caller's route, with what completing or failing it reads.
struct StopVisit {
    plan: Plan,
    route: Route,
    stop: Stop,
    org: Organisation,
    /// The order as read: its version is the write's condition.
    order: Order,
    now: OffsetDateTime,
}

/// How a stop ended: the order as written, and what the proof, the outbox
/// entry and the reports say of it.
struct StopEnd {
    order: Order,
    /// The order as the notification describes it (failed, even when the
    /// failure sends it back to planning at once).
    notified: Order,
    trigger: Trigger,
    outcome: PodOutcome,
    proof: ProofOfDelivery,
    otp_verified: bool,
    auto_pod: bool,
    reattempt_scheduled: bool,
    event: DeliveryEvent,
}

impl StopVisit {
    async fn load(deps: PodDeps<'_>, principal: &Principal, plan_id: &doorstep_domain::PlanId, stop_id: &StopId) -> Result<Self> {
        let (plan, route, stop) = my_stop(deps, principal, plan_id, stop_id).await?;
        let org = deps.store.organisation(&principal.org).await?;
        let order = deps.store.get_order(&principal.org, &stop.order_id).await?;
        Ok(Self { plan, route, stop, org, order, now: deps.clock.now() })
    }

    /// The order after the driver's event (out for delivery on the way, if
    /// the route start was never sent).
    fn order_after(&self, event: &OrderEvent) -> Result<Order> {
        let mut next = self.order.clone();
        ensure_out_for_delivery(&mut next, self.now)?;
        next.apply(event, self.now)?;
        Ok(next)
    }

    /// The action: order, sealed proof and outbox entry in one write, with
    /// the answer and the report events.
    fn prepare(self, principal: &Principal, end: StopEnd) -> Result<Prepared> {
        let attempt = self.order.attempts;
        let record = seal(PodRecord {
            org_id: principal.org.clone(),
            order_id: self.order.id.clone(),
            plan_id: self.plan.id.clone(),
            stop_id: self.stop.id.clone(),
            driver_id: self.route.driver_id.clone(),
            attempt,
            outcome: end.outcome,
            proof: end.proof,
            otp_verified: end.otp_verified,
            auto_pod: end.auto_pod,
            cash_due: self.order.cash_on_delivery.clone(),
            recorded_at: self.now,
            sha256: String::new(),
        });
        let mut action = empty_action(principal);
        action.outbox.push(outbox_entry(&end.notified, attempt, end.trigger, self.now));
        action.orders.push(OrderUpdate { order: end.order.clone(), expected_version: self.order.version });
        action.pod = Some(record.clone());
        let report = ReportEvents::for_route(&self.plan, &self.route, vec![end.event]);
        let body = to_json(&StopOutcome { order: end.order, pod: record, reattempt_scheduled: end.reattempt_scheduled })?;
        Ok(Prepared { action, status: 200, body, report })
    }
}

/// `POST /api/stops/{stop_id}/complete`: the order is delivered. The
/// transition, the proof, the `delivered` outbox entry and the idempotency
/// record are written in one transaction.
pub async fn complete(deps: PodDeps<'_>, principal: &Principal, stop_id: &StopId, request: &CompleteStop, key: Option<&str>) -> Result<StoredResponse> {
    let hash = request_hash("stops.complete", stop_id.as_str(), request)?;
    driver_of(principal)?;
    run_action(deps, principal, key, &hash, move || async move {
        let pod = &request.pod;
        // "No evidence" may still be fine with automatic proof; everything else is final.
        let mut problems: Vec<FieldError> = match request.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        };
        let no_evidence = problems.iter().position(|e| e.code == codes::NO_EVIDENCE);
        let no_evidence = no_evidence.map(|i| problems.remove(i));
        finish(problems)?;
        let visit = StopVisit::load(deps, principal, &request.plan_id, stop_id).await?;
        let (org, order, stop) = (&visit.org, &visit.order, &visit.stop);
        if pod.order_id != stop.order_id {
            return Err(invalid("pod.order_id", codes::NOT_ALLOWED, format!("stop {stop_id} delivers order {}", stop.order_id)));
        }
        if pod.stop_id.as_ref().is_some_and(|s| s != stop_id) {
            return Err(invalid("pod.stop_id", codes::NOT_ALLOWED, "does not match the stop in the URL"));
        }
        let mut problems = match pod.check_against(order) {
            Ok(()) => Vec::new(),
            Err(e) => prefixed(e, "pod"),
        };
        let mut auto_pod = false;
        if let Some(missing) = no_evidence {
            if auto_pod_holds(deps, principal, org, stop, pod).await? {
                auto_pod = true;
            } else {
                problems.push(missing);
            }
        }
        let attempt = order.attempts;
        let otp_needed = org.settings.pod.otp_required || pod.otp_verified;
        let otp = if otp_needed { deps.pods.otp(&principal.org, &order.id, attempt).await? } else { None };
        let otp_verified = otp.as_ref().is_some_and(|o| o.verified);
        if otp_needed && !otp_verified {
            problems.push(FieldError {
                path: "pod.otp_verified".into(),
                code: "otp_not_verified".into(),
                message: "the customer's one-time code has not been verified for this delivery; check it first (POST /api/stops/{stop_id}/otp)".into(),
            });
        }
        let blobs: Vec<(String, PhotoRef)> = pod
            .photos
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pod.photos[{i}]"), p.clone()))
            .chain(pod.signature_image.clone().map(|p| ("pod.signature_image".to_owned(), p)))
            .collect();
        check_blobs(deps, principal, &order.id, blobs, &mut problems).await?;
        finish(problems)?;

        let next = visit.order_after(&OrderEvent::Deliver)?;
        let mut proof = pod.clone();
        proof.stop_id = Some(stop_id.clone());
        let event = DeliveryEvent::Delivered {
            order_id: order.id.clone(),
            route_id: visit.route.id.clone(),
            attempt,
            at: proof.device_time,
            window: Some(crate::usecases::tracking::stop_window(stop, Some(order))),
            cod_due: order.cash_on_delivery.clone(),
            cod_collected: proof.cash_collected.clone(),
        };
        let end = StopEnd {
            notified: next.clone(),
            order: next,
            trigger: Trigger::Delivered,
            outcome: PodOutcome::Delivered,
            proof,
            otp_verified,
            auto_pod,
            reattempt_scheduled: false,
            event,
        };
        visit.prepare(principal, end)
    })
    .await
}

/// `POST /api/stops/{stop_id}/fail`: the attempt failed for a listed reason.
/// The order counts the attempt and, by the organisation's policy, goes back
/// to planning (`created`) while attempts remain, or stays failed.
pub async fn fail(deps: PodDeps<'_>, principal: &Principal, stop_id: &StopId, request: &FailStop, key: Option<&str>) -> Result<StoredResponse> {
    let hash = request_hash("stops.fail", stop_id.as_str(), request)?;
    driver_of(principal)?;
    run_action(deps, principal, key, &hash, move || async move {
        request.validate()?;
        let visit = StopVisit::load(deps, principal, &request.plan_id, stop_id).await?;
        let mut problems = Vec::new();
        let blobs = request.photos.iter().enumerate().map(|(i, p)| (format!("photos[{i}]"), p.clone())).collect();
        check_blobs(deps, principal, &visit.order.id, blobs, &mut problems).await?;
        finish(problems)?;

        let failed = visit.order_after(&OrderEvent::Fail { reason: request.reason, note: request.note.clone() })?;
        let policy = &visit.org.settings.pod;
        let reattempt = policy.auto_reattempt && failed.attempts < policy.max_attempts;
        let mut next = failed.clone();
        if reattempt {
            next.apply(&OrderEvent::Reattempt, visit.now)?;
        }
        let proof = ProofOfDelivery {
            order_id: visit.order.id.clone(),
            stop_id: Some(stop_id.clone()),
            photos: request.photos.clone(),
            signature: None,
            signature_image: None,
            recipient_name: None,
            otp_verified: false,
            barcode: None,
            geotag: request.geotag,
            device_time: request.device_time,
            notes: request.note.clone(),
            cash_collected: None,
        };
        let event = DeliveryEvent::Failed {
            order_id: visit.order.id.clone(),
            route_id: visit.route.id.clone(),
            attempt: visit.order.attempts,
            at: request.device_time,
            reason: request.reason,
            reattempt,
        };
        let end = StopEnd {
            order: next,
            notified: failed,
            trigger: Trigger::Failed,
            outcome: PodOutcome::Failed { reason: request.reason, note: request.note.clone() },
            proof,
            otp_verified: false,
            auto_pod: false,
            reattempt_scheduled: reattempt,
            event,
        };
        visit.prepare(principal, end)
    })
    .await
}

// --- one-time codes ---------------------------------------------------------------------

fn otp_hash(salt: &str, order: &Order, attempt: u32, code: &str) -> String {
    sha256_hex(format!("{salt}\n{}\n{}\n{attempt}\n{code}", order.org_id, order.id).as_bytes())
}

fn otp_matches(stored: &[String], order: &Order, attempt: u32, code: &str) -> bool {
    stored.iter().any(|entry| entry.split_once(':').is_some_and(|(salt, hash)| otp_hash(salt, order, attempt, code) == hash))
}

/// Makes a code for each order of an organisation that requires codes, and
/// stores its salted hash; returns the plain codes to send with the
/// `dispatched` notification. `orders` are as they will be dispatched.
pub async fn issue_otp_codes(pods: &dyn PodStore, org: &Organisation, orders: &[Order], now: OffsetDateTime) -> Result<BTreeMap<OrderId, String>> {
    let policy = &org.settings.pod;
    let mut codes = BTreeMap::new();
    if !policy.otp_required {
        return Ok(codes);
    }
    for order in orders {
        let code = random_digits(usize::from(policy.otp_digits.clamp(4, 6)));
        let salt = random_token(12);
        pods.add_otp_code(&OtpRecord {
            org_id: org.id.clone(),
            order_id: order.id.clone(),
            attempt: order.attempts,
            code_hashes: vec![format!("{salt}:{}", otp_hash(&salt, order, order.attempts, &code))],
            attempts: 0,
            max_attempts: policy.otp_max_attempts,
            verified: false,
            expires_at: now + OTP_TTL,
        })
        .await?;
        codes.insert(order.id.clone(), code);
    }
    Ok(codes)
}

/// `POST /api/stops/{stop_id}/otp`: checks the code the customer read out.
/// Every guess is counted in the store, atomically, in the same transaction
/// as the `Idempotency-Key`'s record: a replay gets the stored answer and
/// spends no attempt, a new key is a new guess. After the organisation's
/// maximum the code locks.
pub async fn verify_otp(deps: PodDeps<'_>, principal: &Principal, stop_id: &StopId, request: &VerifyOtp, key: Option<&str>) -> Result<StoredResponse> {
    let hash = request_hash("stops.otp", stop_id.as_str(), request)?;
    driver_of(principal)?;
    for _ in 0..OTP_RACE_RETRIES {
        let result = run_action(deps, principal, key, &hash, || prepare_otp_guess(deps, principal, stop_id, request)).await;
        match result {
            // Another guess landed between our read and our write: read again.
            Err(Error::VersionConflict { what: OTP_KIND, .. }) => continue,
            other => return other,
        }
    }
    Err(Error::Store(StoreError::Unavailable("the one-time code kept changing; try again".into())))
}

async fn prepare_otp_guess(deps: PodDeps<'_>, principal: &Principal, stop_id: &StopId, request: &VerifyOtp) -> Result<Prepared> {
    let (_, _, stop) = my_stop(deps, principal, &request.plan_id, stop_id).await?;
    let code = request.code.trim();
    if !(4..=6).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("code", codes::INVALID_FORMAT, "must be 4 to 6 digits"));
    }
    let order = deps.store.get_order(&principal.org, &stop.order_id).await?;
    let now = deps.clock.now();
    let attempt = order.attempts;
    let record = deps
        .pods
        .otp(&principal.org, &order.id, attempt)
        .await?
        .filter(|r| r.expires_at > now)
        .ok_or_else(|| Error::NotFound { what: "one-time code", id: format!("for order {}", order.id) })?;
    let status = |r: &OtpRecord| OtpStatus { verified: r.verified, attempts_left: r.max_attempts.saturating_sub(r.attempts), locked: r.locked() };
    let mut action = empty_action(principal);
    let answer = if record.verified {
        status(&record)
    } else if record.locked() {
        return Err(Error::Conflict { message: "too many wrong codes: this code is locked; deliver with other proof or ask the dispatcher".into(), field: Some("code".into()) });
    } else {
        let correct = otp_matches(&record.code_hashes, &order, attempt, code);
        action.otp_guess = Some(OtpGuess { order_id: order.id.clone(), attempt, expected_attempts: record.attempts, correct });
        status(&OtpRecord { attempts: record.attempts + 1, verified: correct, ..record })
    };
    Ok(Prepared { action, status: 200, body: to_json(&answer)?, report: None })
}

// --- uploads ------------------------------------------------------------------------------

fn blob_prefix(principal: &Principal, order: &OrderId) -> String {
    format!("pod/{}/{}/", principal.org, order)
}

/// `POST /api/pod/uploads`: a ticket to upload one photo or signature image
/// of an order straight to the blob store.
pub async fn request_upload(deps: PodDeps<'_>, principal: &Principal, request: &UploadRequest) -> Result<UploadTicket> {
    require(principal, &[Role::Driver, Role::Dispatcher], "upload proof of delivery")?;
    request.validate()?;
    deps.store.get_order(&principal.org, &request.order_id).await?;
    let now = deps.clock.now();
    let ext = match request.content_type.as_str() {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    };
    let key = format!("{}{}.{ext}", blob_prefix(principal, &request.order_id), new_id("blob", now).to_ascii_lowercase());
    let grant = UploadGrant { key, content_type: request.content_type.clone(), max_bytes: doorstep_domain::pod::MAX_PHOTO_BYTES, expires_at: now + UPLOAD_TICKET_TTL };
    let ticket = deps.blobs.presign_upload(&grant).await.map_err(blob_error)?;
    // Recorded before the browser can upload, so every blob is either cited
    // by a proof or found by the orphan sweep.
    let upload = UploadRecord {
        org_id: principal.org.clone(),
        order_id: request.order_id.clone(),
        key: grant.key,
        granted_at: now,
        state: UploadState::Pending,
    };
    deps.pods.record_upload(&upload).await?;
    Ok(ticket)
}

/// What one orphan sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobSweep {
    /// Blobs deleted (their uploads now `deleted`).
    pub deleted: usize,
    /// Pending uploads a proof cited just before the sweep claimed them.
    pub kept: usize,
    /// Deletions the blob store refused; retried by the next sweep.
    pub failed: usize,
}

/// Deletes blobs uploaded more than [`ORPHAN_BLOB_AGE`] ago that no proof of
/// delivery cites, at most `limit` per call. Each is claimed in the store
/// first (`pending` to `deleting`, refused once a proof cites it, and a
/// claimed key can no longer be cited), then deleted, then marked
/// `deleted`; a sweep that dies in between is finished by the next one.
pub async fn sweep_orphan_blobs(pods: &dyn PodStore, blobs: &dyn BlobStore, clock: &dyn Clock, limit: u32) -> Result<BlobSweep> {
    let now = clock.now();
    let mut report = BlobSweep::default();
    for upload in pods.uploads_to_sweep(now - ORPHAN_BLOB_AGE, limit).await? {
        match upload.state {
            UploadState::Pending => {
                if !pods.claim_upload_deletion(&upload.org_id, &upload.key).await? {
                    report.kept += 1;
                    continue;
                }
            }
            UploadState::Deleting => {}
            UploadState::Referenced | UploadState::Deleted => continue,
        }
        match blobs.delete(&upload.key).await {
            Ok(()) => {
                pods.finish_upload_deletion(&upload.org_id, &upload.key, now).await?;
                tracing::info!(org = %upload.org_id, key = %upload.key, "orphan blob deleted");
                report.deleted += 1;
            }
            Err(e) => {
                tracing::warn!(org = %upload.org_id, key = %upload.key, error = %e, "orphan blob not deleted; the next sweep retries");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

// --- reading proofs back -----------------------------------------------------------------

async fn urls(deps_blobs: &dyn BlobStore, record: &PodRecord, now: OffsetDateTime) -> Result<(Vec<String>, Option<String>)> {
    let mut photos = Vec::with_capacity(record.proof.photos.len());
    for p in &record.proof.photos {
        photos.push(deps_blobs.presign_download(&p.blob_key, now, now + DOWNLOAD_URL_TTL).await.map_err(blob_error)?);
    }
    let signature = match &record.proof.signature_image {
        Some(p) => Some(deps_blobs.presign_download(&p.blob_key, now, now + DOWNLOAD_URL_TTL).await.map_err(blob_error)?),
        None => None,
    };
    Ok((photos, signature))
}

/// Whether a stored record is intact: its hash matches its content, and each
/// blob's stored bytes match the hash the record holds.
pub async fn verify_record(blobs: &dyn BlobStore, record: &PodRecord) -> Result<std::result::Result<(), doorstep_domain::pod::Tampered>> {
    if let Err(t) = record.verify_hash(sha256_hex) {
        return Ok(Err(t));
    }
    for blob in record.blobs() {
        let stat = blobs.stat(&blob.blob_key).await.map_err(blob_error)?;
        if stat.as_ref().map(|s| s.sha256.as_str()) != Some(blob.sha256.as_str()) {
            return Ok(Err(doorstep_domain::pod::Tampered {
                order_id: record.order_id.clone(),
                what: format!("blob {} is missing or its bytes changed", blob.blob_key),
            }));
        }
    }
    Ok(Ok(()))
}

/// `GET /api/orders/{id}/pod`: every attempt's proof with short-lived URLs,
/// each checked for tampering.
pub async fn order_pod(deps: PodDeps<'_>, principal: &Principal, order_id: &OrderId) -> Result<OrderPod> {
    require(principal, &[Role::Dispatcher, Role::Integration], "read proofs of delivery")?;
    deps.store.get_order(&principal.org, order_id).await?;
    let now = deps.clock.now();
    let mut attempts = Vec::new();
    for record in deps.pods.pod_records(&principal.org, order_id).await? {
        let intact = verify_record(deps.blobs, &record).await?.is_ok();
        let (photo_urls, signature_image_url) = urls(deps.blobs, &record, now).await?;
        attempts.push(PodAttempt { record, photo_urls, signature_image_url, intact });
    }
    Ok(OrderPod { order_id: order_id.clone(), attempts })
}

/// What the customer's tracking page shows of the delivery proof: photo and
/// signature, if the organisation allows it and the order was delivered.
pub async fn public_pod(pods: &dyn PodStore, blobs: &dyn BlobStore, now: OffsetDateTime, org: &Organisation, order_id: &OrderId) -> Result<Option<PublicPod>> {
    if !org.settings.pod.customer_can_see_pod {
        return Ok(None);
    }
    let records = pods.pod_records(&org.id, order_id).await?;
    let Some(record) = records.into_iter().rev().find(|r| r.outcome == PodOutcome::Delivered) else { return Ok(None) };
    if record.verify_hash(sha256_hex).is_err() {
        tracing::warn!(order = %order_id, "a proof of delivery failed its hash check; not shown to the customer");
        return Ok(None);
    }
    let (photo_urls, signature_image_url) = urls(blobs, &record, now).await?;
    Ok(Some(PublicPod {
        delivered_at: record.recorded_at,
        recipient_name: record.proof.recipient_name.clone(),
        photo_urls,
        signature: record.proof.signature.clone(),
        signature_image_url,
    }))
}

/// The outbox entry a dispatcher's deliver or fail event writes with the
/// order (`attempt` is the order's failed attempts before the event).
pub fn dispatcher_outbox(before: &Order, after: &Order, event: &OrderEvent, now: OffsetDateTime) -> Option<OutboxEntry> {
    let trigger = match event {
        OrderEvent::Deliver => Trigger::Delivered,
        OrderEvent::Fail { .. } => Trigger::Failed,
        _ => return None,
    };
    Some(outbox_entry(after, before.attempts, trigger, now))
}

/// Limits how many codes one attempt keeps (see [`MAX_OTP_CODES`]).
pub fn keep_latest_codes(mut hashes: Vec<String>) -> Vec<String> {
    if hashes.len() > MAX_OTP_CODES {
        hashes.drain(..hashes.len() - MAX_OTP_CODES);
    }
    hashes
}

#[cfg(test)]
mod tests {
    use doorstep_domain::pod::{PodOutcome, PodRecord, ProofOfDelivery};
    use doorstep_domain::{FailureReason, OrderId, OrgId, PlanId, StopId};
    use time::macros::datetime;

    use super::seal;
    use crate::crypto::sha256_hex;

    fn record() -> PodRecord {
        seal(PodRecord {
            org_id: OrgId::new("org-a").unwrap(),
            order_id: OrderId::new("ord-1").unwrap(),
            plan_id: PlanId::new("pln-1").unwrap(),
            stop_id: StopId::new("stp-1").unwrap(),
            driver_id: None,
            attempt: 0,
            outcome: PodOutcome::Delivered,
            proof: ProofOfDelivery {
                order_id: OrderId::new("ord-1").unwrap(),
                stop_id: None,
                photos: vec![doorstep_domain::pod::PhotoRef {
                    blob_key: "pod/org-a/ord-1/a.jpg".into(),
                    sha256: sha256_hex(b"photo"),
                    content_type: "image/jpeg".into(),
                    size_bytes: 5,
                }],
                signature: Some(doorstep_domain::pod::Signature { strokes: vec![vec![[0.1, 0.2], [0.3, 0.4]]] }),
                signature_image: None,
                recipient_name: Some("Léa".into()),
                otp_verified: false,
                barcode: Some("DST1".into()),
                geotag: None,
                device_time: datetime!(2026-11-22 17:59 UTC),
                notes: None,
                cash_collected: None,
            },
            otp_verified: false,
            auto_pod: false,
            cash_due: None,
            recorded_at: datetime!(2026-11-22 18:00 UTC),
            sha256: String::new(),
        })
    }

    #[test]
    fn a_sealed_record_verifies_and_survives_a_json_round_trip() {
        let r = record();
        assert!(r.verify_hash(sha256_hex).is_ok());
        let back: PodRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert!(back.verify_hash(sha256_hex).is_ok(), "{}", back.canonical_json());
    }

    #[test]
    fn a_changed_field_or_blob_hash_is_detected() {
        let mut name = record();
        name.proof.recipient_name = Some("Someone else".into());
        assert!(name.verify_hash(sha256_hex).is_err());
        let mut blob = record();
        blob.proof.photos[0].sha256 = sha256_hex(b"another photo");
        assert!(blob.verify_hash(sha256_hex).is_err());
        let mut outcome = record();
        outcome.outcome = PodOutcome::Failed { reason: FailureReason::RecipientAbsent, note: None };
        let err = outcome.verify_hash(sha256_hex).unwrap_err();
        assert!(err.to_string().contains("ord-1"), "{err}");
    }
}
