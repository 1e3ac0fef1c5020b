//! Order intake and editing: create one or a batch (idempotently), read, list,
//! patch, and lifecycle events such as cancel.

use std::collections::BTreeSet;

use doorstep_domain::api::{BatchCreateOrders, OrderEventRequest, OrderQuery, Page};
use doorstep_domain::auth::Role;
use doorstep_domain::dispatch::CreatedOrders;
use doorstep_domain::order::PatchError;
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{NewOrder, Order, OrderEvent, OrderId, OrderPatch, Validate, ValidationErrors};
use serde::Serialize;
use time::Duration;

use crate::crypto::{decode_cursor, encode_cursor, new_id, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::{Clock, IdempotencyRecord, OrderUpdate, OrdersWrite, PodStore, Principal, Store, StoreError};
use crate::usecases::auth::require;
use crate::usecases::auto_dispatch::DispatchPorts;
use doorstep_domain::slots::SlotChoice;

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

const WRITERS: &[Role] = &[Role::Dispatcher, Role::Integration];

/// A create request: one order (answered with the order) or a batch
/// (answered with `{"orders": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Intake {
    One(NewOrder),
    Batch(BatchCreateOrders),
}

/// A response exactly as first sent, so a replay can repeat it byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// True when this is a stored answer to an earlier identical request.
    pub replayed: bool,
}

/// Orders about to be written and how to answer once they are.
pub(crate) struct PreparedWrite {
    pub orders: Vec<Order>,
    pub status: u16,
    pub body: String,
}

pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    intake: &Intake,
    idempotency_key: Option<&str>,
) -> Result<StoredResponse> {
    create_with(store, DispatchPorts::default(), clock, principal, intake, &[], idempotency_key).await
}

/// Like [`create`], with delivery slots picked at checkout (`slots[i]` for
/// the i-th order; a slot becomes the order's time window after a fresh
/// availability check) and, when the organisation enables it, auto-dispatch
/// of the new orders into the day's published plan (never failing the intake).
pub async fn create_with(
    store: &dyn Store,
    ports: DispatchPorts<'_>,
    clock: &dyn Clock,
    principal: &Principal,
    intake: &Intake,
    slots: &[Option<SlotChoice>],
    idempotency_key: Option<&str>,
) -> Result<StoredResponse> {
    require(principal, WRITERS, "create orders")?;
    let operation = serde_json::to_string(intake).map_err(|e| Error::Internal(format!("cannot encode the request: {e}")))?;
    let slot_text = if slots.iter().all(Option::is_none) { String::new() } else { format!("\nslots {}", to_json(&slots)?) };
    let request_hash = sha256_hex(format!("orders.create\n{operation}{slot_text}").as_bytes());
    let written = std::sync::Mutex::new(Vec::new());
    let bookings = std::sync::Mutex::new(crate::usecases::slots::Bookings::default());
    let response = write_idempotently_holding(store, clock, principal, idempotency_key, &request_hash, &bookings, || async {
        let now = clock.now();
        let (news, list) = match intake {
            Intake::One(new) => (std::slice::from_ref(new), None),
            Intake::Batch(batch) => {
                batch.validate()?;
                (batch.orders.as_slice(), Some("orders"))
            }
        };
        if list.is_none() {
            news[0].validate()?;
        }
        check_depots(store, principal, news, list).await?;
        let mut orders = news
            .iter()
            .map(|new| Ok(Order::from_new(OrderId::new(new_id("ord", now)).map_err(id_error)?, principal.org.clone(), new.clone(), now)))
            .collect::<Result<Vec<_>>>()?;
        let booked = crate::usecases::slots::apply_slots(store, clock, principal, &mut orders, slots, list).await?;
        if let Ok(mut b) = bookings.lock() {
            *b = booked;
        }
        let body = match intake {
            Intake::One(_) => to_json(&orders[0])?,
            Intake::Batch(_) => to_json(&CreatedOrders { orders: orders.clone() })?,
        };
        if let Ok(mut w) = written.lock() {
            *w = orders.iter().map(|o| o.id.clone()).collect();
        }
        Ok(PreparedWrite { orders, status: 201, body })
    })
    .await?;
    if !response.replayed {
        let ids = written.into_inner().unwrap_or_default();
        if crate::usecases::auto_dispatch::after_intake(store, ports, clock, &principal.org, &ids).await {
            // Answer with the orders as auto-dispatch left them (and keep that for replays).
            let one = matches!(intake, Intake::One(_));
            return Ok(crate::usecases::auto_dispatch::final_answer(store, principal, idempotency_key, &request_hash, one, response, &ids).await);
        }
    }
    Ok(response)
}

/// Runs `prepare` and writes its orders with the idempotency record in one
/// transaction; replays a stored answer for a repeated key and body, and
/// refuses the same key with another body.
pub(crate) async fn write_idempotently<F, Fut>(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    idempotency_key: Option<&str>,
    request_hash: &str,
    prepare: F,
) -> Result<StoredResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<PreparedWrite>>,
{
    let none = std::sync::Mutex::default();
    write_idempotently_holding(store, clock, principal, idempotency_key, request_hash, &none, prepare).await
}

/// Like [`write_idempotently`], also writing the slot holds `prepare` left
/// in `bookings` in the orders' transaction.
async fn write_idempotently_holding<F, Fut>(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    idempotency_key: Option<&str>,
    request_hash: &str,
    bookings: &std::sync::Mutex<crate::usecases::slots::Bookings>,
    prepare: F,
) -> Result<StoredResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<PreparedWrite>>,
{
    let now = clock.now();
    if let Some(key) = idempotency_key {
        check_idempotency_key(key)?;
        if let Some(record) = store.idempotency_record(&principal.org, key, now).await? {
            return replay(record, request_hash);
        }
    }
    let prepared = prepare().await?;
    let record = idempotency_key.map(|key| IdempotencyRecord {
        org_id: principal.org.clone(),
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        status: prepared.status,
        body: prepared.body.clone(),
        created_at: now,
        expires_at: now + IDEMPOTENCY_TTL,
    });
    let bookings = bookings.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default();
    match crate::usecases::slots::write_holding(store, principal, &prepared.orders, record.as_ref(), &bookings).await? {
        OrdersWrite::Written => Ok(StoredResponse { status: prepared.status, body: prepared.body, replayed: false }),
        // Another request with this key won the race: answer as it did.
        OrdersWrite::AlreadyRecorded(existing) => replay(existing, request_hash),
    }
}

fn replay(record: IdempotencyRecord, request_hash: &str) -> Result<StoredResponse> {
    if record.request_hash == request_hash {
        Ok(StoredResponse { status: record.status, body: record.body, replayed: true })
    } else {
        Err(Error::Conflict {
            message: format!(
                "Idempotency-Key {:?} was already used with a different request; use a new key for a new request",
                record.key
            ),
            field: Some("Idempotency-Key".into()),
        })
    }
}

fn check_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Invalid(ValidationErrors(vec![FieldError {
            path: "Idempotency-Key".into(),
            code: codes::INVALID_FORMAT.into(),
            message: format!("must be 1-{MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters without spaces"),
        }])));
    }
    Ok(())
}

/// Every named depot must be one of the organisation's.
pub(crate) async fn check_depots(store: &dyn Store, principal: &Principal, orders: &[NewOrder], list: Option<&str>) -> Result<()> {
    if orders.iter().all(|o| o.depot_id.is_none()) {
        return Ok(());
    }
    let depots: BTreeSet<_> = store.list_depots(&principal.org).await?.into_iter().map(|d| d.id).collect();
    let errors: Vec<FieldError> = orders
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let depot = o.depot_id.as_ref()?;
            (!depots.contains(depot)).then(|| FieldError {
                path: match list {
                    Some(name) => format!("{name}[{i}].depot_id"),
                    None => "depot_id".into(),
                },
                code: "not_found".into(),
                message: format!("no depot {depot} in this organisation"),
            })
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(ValidationErrors(errors))) }
}

pub async fn get(store: &dyn Store, principal: &Principal, id: &OrderId) -> Result<Order> {
    require(principal, WRITERS, "read orders")?;
    Ok(store.get_order(&principal.org, id).await?)
}

pub async fn list(store: &dyn Store, principal: &Principal, query: &OrderQuery) -> Result<Page<Order>> {
    require(principal, WRITERS, "list orders")?;
    query.validate()?;
    let after = match &query.cursor {
        None => None,
        Some(c) => Some(decode_cursor("order", c).and_then(|k| OrderId::new(k).ok()).ok_or_else(bad_cursor)?),
    };
    let page = store.list_orders(&principal.org, query, after.as_ref(), query.limit_or_default()).await?;
    Ok(Page { items: page.items, next_cursor: page.next.map(|k| encode_cursor("order", k.as_str())) })
}

pub(crate) fn bad_cursor() -> Error {
    Error::Invalid(ValidationErrors(vec![FieldError {
        path: "cursor".into(),
        code: codes::INVALID_FORMAT.into(),
        message: "is not a cursor this list returned".into(),
    }]))
}

pub async fn patch(store: &dyn Store, clock: &dyn Clock, principal: &Principal, id: &OrderId, patch: &OrderPatch) -> Result<Order> {
    require(principal, &[Role::Dispatcher], "edit orders")?;
    let mut order = store.get_order(&principal.org, id).await?;
    let read_version = order.version;
    order.apply_patch(patch, clock.now()).map_err(|e| match e {
        PatchError::VersionConflict { expected, actual } => {
            Error::VersionConflict { what: "order", id: id.to_string(), expected, actual }
        }
        PatchError::NotEditable { .. } => Error::IllegalState(e.to_string()),
        PatchError::Invalid(v) => Error::Invalid(v),
    })?;
    if let Some(depot) = &order.depot_id
        && !store.list_depots(&principal.org).await?.iter().any(|d| &d.id == depot)
    {
        return Err(Error::Invalid(ValidationErrors(vec![FieldError {
            path: "depot_id".into(),
            code: "not_found".into(),
            message: format!("no depot {depot} in this organisation"),
        }])));
    }
    store.update_order(&order, read_version).await?;
    crate::usecases::slots::release_if_left(store, &order).await;
    Ok(order)
}

/// A lifecycle event sent by a dispatcher (cancel, unplan, reattempt...).
/// Deliver and fail also notify, so they need [`apply_event_with`].
pub async fn apply_event(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    id: &OrderId,
    request: &OrderEventRequest,
) -> Result<Order> {
    apply_event_with(store, None, clock, principal, id, request).await
}

/// Like [`apply_event`]; a deliver or fail event writes its `delivered` or
/// `failed` outbox entry in the same transaction as the order, through `pods`.
pub async fn apply_event_with(
    store: &dyn Store,
    pods: Option<&dyn PodStore>,
    clock: &dyn Clock,
    principal: &Principal,
    id: &OrderId,
    request: &OrderEventRequest,
) -> Result<Order> {
    let roles: &[Role] = if request.event == OrderEvent::Cancel { WRITERS } else { &[Role::Dispatcher] };
    require(principal, roles, "send this order event")?;
    request.validate()?;
    let mut order = store.get_order(&principal.org, id).await?;
    if order.version != request.version {
        return Err(Error::VersionConflict { what: "order", id: id.to_string(), expected: request.version, actual: order.version });
    }
    let before = order.clone();
    let now = clock.now();
    order.apply(&request.event, now)?;
    match crate::usecases::pod::dispatcher_outbox(&before, &order, &request.event, now) {
        Some(entry) => {
            let pods = pods.ok_or_else(|| Error::Store(StoreError::Unavailable("this server has no proof-of-delivery store to notify through".into())))?;
            pods.update_order_notifying(&OrderUpdate { order: order.clone(), expected_version: request.version }, &[entry]).await?;
        }
        None => store.update_order(&order, request.version).await?,
    }
    crate::usecases::slots::release_if_left(store, &order).await;
    Ok(order)
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode the response: {e}")))
}

pub(crate) fn id_error(e: doorstep_domain::IdError) -> Error {
    Error::Internal(format!("generated an invalid id: {e}"))
}
