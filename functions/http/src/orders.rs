//! Order intake: create (one or a batch, idempotently), CSV import, read,
//! list, patch, cancel and other lifecycle events.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::usecases::csv_import::{self, CsvOptions};
use doorstep_core::usecases::auto_dispatch;
use doorstep_core::usecases::orders::{self, Intake, StoredResponse};
use doorstep_domain::slots::SlotChoice;
use doorstep_domain::api::{ErrorCode, OrderEventRequest, OrderQuery, Page};
use doorstep_domain::dispatch::{CancelOrder, CsvImportRequest};
use doorstep_domain::{Order, OrderEvent, OrderId, OrderPatch};
use serde::Deserialize;
use time::UtcOffset;

use crate::extract::{Caller, MAX_CSV_BYTES, MAX_JSON_BYTES, from_value, idempotency_key, parse_json, parse_query, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders", post(create_orders).get(list_orders))
        .route("/api/orders/import", post(import_csv))
        .route("/api/orders/{id}", get(get_order).patch(patch_order))
        .route("/api/orders/{id}/cancel", post(cancel_order))
        .route("/api/orders/{id}/events", post(order_event))
}

/// Writes a stored response byte for byte, marking replays.
fn stored(response: StoredResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut http = (status, [(header::CONTENT_TYPE, "application/json")], response.body).into_response();
    if response.replayed {
        http.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    http
}

#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("bearer" = []), ("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the stored response again; same key, other body: 409. Kept 24 h.")),
    request_body(content = crate::openapi::OrderIntake, description = "NewOrder, or BatchCreateOrders {orders: NewOrder[]} (at most 1,000). Body limit 1 MiB. Each order may carry `slot` (a delivery slot id \"YYYY-MM-DDTHH:MM\" from GET /api/slots, or {date, start}): it becomes the order's time window if still available (else 409 naming `slot`). With the organisation's `auto_dispatch`, new orders are inserted into the day's published plan after the answer is prepared; one that fits nowhere keeps `dispatch_hold` {reason, hint, at}."),
    responses((status = 201, description = "Order (one) or CreatedOrders {orders} (batch)", body = crate::openapi::OrderIntakeResult), crate::openapi::Errors))]
pub async fn create_orders(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    let mut value: serde_json::Value = parse_json(&read_body(&parts.headers, body, MAX_JSON_BYTES).await?)?;
    let batch = value.get("orders").is_some();
    let slots = take_slots(&mut value, batch)?;
    let intake = if batch { Intake::Batch(from_value(value)?) } else { Intake::One(from_value(value)?) };
    let response = orders::create_with(state.store.as_ref(), state.dispatch_ports(), state.clock.as_ref(), &principal, &intake, &slots, key.as_deref()).await?;
    Ok(stored(response))
}

/// Takes each order's optional `slot` (`{"date", "start"}` or `"YYYY-MM-DDTHH:MM"`)
/// out of the body, so the rest reads as `NewOrder`s.
fn take_slots(value: &mut serde_json::Value, batch: bool) -> Result<Vec<Option<SlotChoice>>, HttpError> {
    let take = |order: &mut serde_json::Value, path: String| -> Result<Option<SlotChoice>, HttpError> {
        let Some(raw) = order.as_object_mut().and_then(|o| o.remove("slot")) else { return Ok(None) };
        if raw.is_null() {
            return Ok(None);
        }
        SlotChoice::from_json(&raw)
            .map(Some)
            .ok_or_else(|| HttpError::unreadable(ErrorCode::InvalidJson, Some(path), "must be a slot id \"YYYY-MM-DDTHH:MM\" or {\"date\": \"YYYY-MM-DD\", \"start\": \"HH:MM\"}".into()))
    };
    if batch {
        match value.get_mut("orders").and_then(|o| o.as_array_mut()) {
            Some(list) => list.iter_mut().enumerate().map(|(i, o)| take(o, format!("orders[{i}].slot"))).collect(),
            None => Ok(Vec::new()),
        }
    } else {
        Ok(vec![take(value, "slot".into())?])
    }
}

#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = []), ("api_key" = [])),
    params(
        ("state" = Option<String>, Query, description = "created, planned, dispatched, out_for_delivery, delivered, failed, cancelled"),
        ("depot_id" = Option<String>, Query),
        ("date" = Option<String>, Query, description = "YYYY-MM-DD: windows on this day, or no window"),
        ("q" = Option<String>, Query, description = "Substring of name, address, reference, barcode or id"),
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, description = "One page of orders; next_cursor is absent on the last page", body = crate::openapi::OrderPage), crate::openapi::Errors))]
pub async fn list_orders(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<Page<Order>>, HttpError> {
    let query: OrderQuery = parse_query(request.uri())?;
    Ok(Json(orders::list(state.store.as_ref(), &principal, &query).await?))
}

#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, description = "The order", body = Order), crate::openapi::Errors))]
pub async fn get_order(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>) -> Result<Json<Order>, HttpError> {
    let id: OrderId = path_id("order", &id)?;
    Ok(Json(orders::get(state.store.as_ref(), &principal, &id).await?))
}

#[utoipa::path(patch, path = "/api/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = OrderPatch, description = "version plus only the fields to change; null clears an optional field"),
    responses((status = 200, description = "The updated order", body = Order), crate::openapi::Errors))]
pub async fn patch_order(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Order>, HttpError> {
    let id: OrderId = path_id("order", &id)?;
    let patch: OrderPatch = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(orders::patch(state.store.as_ref(), state.clock.as_ref(), &principal, &id, &patch).await?))
}

#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path)),
    request_body(content = CancelOrder, description = "The version the caller read"),
    responses((status = 200, description = "The cancelled order", body = Order), crate::openapi::Errors))]
pub async fn cancel_order(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Order>, HttpError> {
    let id: OrderId = path_id("order", &id)?;
    let cancel: CancelOrder = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let event = OrderEventRequest { version: cancel.version, event: OrderEvent::Cancel };
    Ok(Json(orders::apply_event_with(state.store.as_ref(), state.pods.as_deref(), state.clock.as_ref(), &principal, &id, &event).await?))
}

#[utoipa::path(post, path = "/api/orders/{id}/events", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = OrderEventRequest,
    responses((status = 200, description = "The order after the event", body = Order), crate::openapi::Errors))]
pub async fn order_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Order>, HttpError> {
    let id: OrderId = path_id("order", &id)?;
    let event: OrderEventRequest = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(orders::apply_event_with(state.store.as_ref(), state.pods.as_deref(), state.clock.as_ref(), &principal, &id, &event).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    #[serde(default)]
    mapping: Option<String>,
    #[serde(default)]
    partial: Option<bool>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    utc_offset: Option<String>,
}

#[utoipa::path(post, path = "/api/orders/import", tag = "orders", security(("bearer" = []), ("api_key" = [])),
    params(
        ("mapping" = Option<String>, Query, description = "field:Header pairs, comma-separated, e.g. address.postcode:Zip,recipient.name:Client"),
        ("partial" = Option<bool>, Query, description = "Write the good rows and report the bad ones (default: all or nothing)"),
        ("country" = Option<String>, Query, description = "Default country code; else the organisation's locale region"),
        ("date" = Option<String>, Query, description = "YYYY-MM-DD for HH:MM window times"),
        ("utc_offset" = Option<String>, Query, description = "+HH:MM for HH:MM window times, default +00:00"),
        ("Idempotency-Key" = Option<String>, Header),
    ),
    request_body(content((String = "text/csv"), (CsvImportRequest = "application/json")), description = "CSV with a header row (limit 5 MiB), or JSON CsvImportRequest {csv, mapping, partial, ...}"),
    responses((status = 201, description = "Rows read, orders created, every bad row's errors, the mapping used", body = doorstep_domain::dispatch::CsvImportReport), crate::openapi::Errors))]
pub async fn import_csv(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    let query: ImportQuery = parse_query(&parts.uri)?;
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = read_body(&parts.headers, body, MAX_CSV_BYTES).await?;
    let (csv, options) = if is_json {
        let request: CsvImportRequest = parse_json(&bytes)?;
        let options = CsvOptions {
            mapping: request.mapping.into_iter().collect(),
            partial: request.partial,
            country: request.country,
            date: request.date,
            utc_offset: request.utc_offset.as_deref().map(|o| offset(o, "utc_offset", ErrorCode::InvalidJson)).transpose()?,
        };
        (request.csv.into_bytes(), options)
    } else {
        let mapping = match &query.mapping {
            Some(m) => csv_import::parse_mapping(m)?,
            None => Vec::new(),
        };
        let date = query
            .date
            .as_deref()
            .map(|d| {
                time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
                    HttpError::unreadable(ErrorCode::InvalidQuery, Some("date".into()), format!("{d:?} is not YYYY-MM-DD"))
                })
            })
            .transpose()?;
        let options = CsvOptions {
            mapping,
            partial: query.partial.unwrap_or(false),
            country: query.country.clone(),
            date,
            utc_offset: query.utc_offset.as_deref().map(|o| offset(o, "utc_offset", ErrorCode::InvalidQuery)).transpose()?,
        };
        (bytes.to_vec(), options)
    };
    let response = auto_dispatch::import_csv(state.store.as_ref(), state.dispatch_ports(), state.clock.as_ref(), &principal, &csv, &options, key.as_deref()).await?;
    Ok(stored(response))
}

fn offset(text: &str, field: &str, code: ErrorCode) -> Result<UtcOffset, HttpError> {
    UtcOffset::parse(text, time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"))
        .map_err(|_| HttpError::unreadable(code, Some(field.into()), format!("{text:?} is not an offset such as +01:00")))
}
