//! Live tracking: drivers' ping uploads, the dispatcher's position reads and
//! the customer's public tracking page data.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::usecases::tracking::{self, TrackingSettings};
use doorstep_domain::time::rfc3339;
use doorstep_domain::tracking::{DriverPosition, PingBatch, PingBatchResult, RouteProgress, StoredPing};
use doorstep_domain::{DriverId, RouteId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::extract::{Caller, MAX_JSON_BYTES, parse_json, parse_query, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pings", post(upload_pings))
        .route("/api/tracking/positions", get(positions))
        .route("/api/tracking/drivers/{id}/trail", get(trail))
        .route("/api/tracking/routes/{id}", get(route_progress))
        .route("/api/track/{token}", get(public_view))
}

/// The tracking settings from the environment (`DOORSTEP_PING_RETENTION_DAYS`,
/// `DOORSTEP_TRACKING_LINK_DAYS_AFTER_DELIVERY`); the one place they are read.
pub fn settings_from_env() -> Result<TrackingSettings, String> {
    TrackingSettings::from_vars(|name| std::env::var(name).ok())
}

#[utoipa::path(post, path = "/api/pings", tag = "tracking", security(("bearer" = [])),
    request_body(content = Object, description = "PingBatch {route_id, pings: [{seq, device_time, lat, lon, accuracy_m?, speed_mps?, heading_deg?, battery_pct?}]} (at most 100)"),
    responses((status = 200, description = "PingBatchResult {results: [{seq, outcome: accepted|duplicate|rejected, error?: {field, code, message}}], latest}", body = Object), crate::openapi::Errors))]
pub async fn upload_pings(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PingBatchResult>, HttpError> {
    let batch: PingBatch = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(tracking::upload_pings(state.tracking(), &principal, &batch).await?))
}

/// `{"positions": [...]}`: the latest position of every driver.
#[derive(Debug, Serialize)]
pub struct Positions {
    pub positions: Vec<DriverPosition>,
}

#[utoipa::path(get, path = "/api/tracking/positions", tag = "tracking", security(("bearer" = [])),
    responses((status = 200, description = "{positions: [DriverPosition {driver_id, route_id, seq, device_time, lat, lon, accuracy_m, speed_mps, heading_deg, battery_pct, received_at}]}", body = Object), crate::openapi::Errors))]
pub async fn positions(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Positions>, HttpError> {
    Ok(Json(Positions { positions: tracking::positions(state.tracking(), &principal).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailQuery {
    #[serde(with = "rfc3339")]
    from: OffsetDateTime,
    #[serde(with = "rfc3339")]
    to: OffsetDateTime,
}

/// `{"pings": [...]}`: a driver's trail, oldest first.
#[derive(Debug, Serialize)]
pub struct Trail {
    pub pings: Vec<StoredPing>,
}

#[utoipa::path(get, path = "/api/tracking/drivers/{id}/trail", tag = "tracking", security(("bearer" = [])),
    params(("id" = String, Path), ("from" = String, Query, description = "RFC 3339"), ("to" = String, Query, description = "RFC 3339")),
    responses((status = 200, description = "{pings: [{driver_id, route_id, ping, received_at}]} by device time, at most 10,000", body = Object), crate::openapi::Errors))]
pub async fn trail(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, request: Request) -> Result<Json<Trail>, HttpError> {
    let driver: DriverId = path_id("driver", &id)?;
    let query: TrailQuery = parse_query(request.uri())?;
    Ok(Json(Trail { pings: tracking::trail(state.tracking(), &principal, &driver, query.from, query.to).await? }))
}

#[utoipa::path(get, path = "/api/tracking/routes/{id}", tag = "tracking", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "RouteProgress {plan_id, route_id, driver_id, version, etas: [{stop_id, order_id, sequence, eta, window, late_by_s}], notified, started: [{order_id, at}], updated_at}", body = Object), crate::openapi::Errors))]
pub async fn route_progress(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>) -> Result<Json<RouteProgress>, HttpError> {
    let route: RouteId = path_id("route progress", &id)?;
    Ok(Json(tracking::route_progress(state.tracking(), &principal, &route).await?))
}

/// The one answer for every token that leads nowhere (unknown, expired,
/// malformed): byte for byte the same, so it reveals nothing.
pub fn unknown_link() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not_found", "this tracking link is not valid (it may have expired)")
}

#[utoipa::path(get, path = "/api/track/{token}", tag = "tracking",
    params(("token" = String, Path, description = "the customer's tracking token")),
    responses((status = 200, description = "TrackingView {order_id, state, sender, driver_first_name, eta, stops_before, driver_position, destination, updated_at, timeline: [{state, at}], pod}", body = Object),
        (status = 404, description = "unknown or expired link (always the same body)", body = Object)))]
pub async fn public_view(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let mut response = match tracking::public_view(state.tracking(), &token).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => unknown_link().into_response(),
        Err(e) => HttpError::from(e).into_response(),
    };
    // Live data behind a secret link: never cached by browsers or proxies.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
