//! Live tracking: drivers' ping uploads, the dispatcher's position reads and
//! the customer's public tracking page data.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use doorstep_core::usecases::tracking::{self, CustomerDeps, CustomerWrite, ProofPorts, TrackingSettings};
use doorstep_domain::time::rfc3339;
use doorstep_domain::api::ErrorCode;
use doorstep_domain::tracking::{
    DriverPosition, NOT_DELIVERED_YET, PingBatch, PingBatchResult, RateDelivery, RouteProgress, SetCustomerNote, StoredPing, TOO_LATE,
};
use doorstep_domain::{DriverId, RouteId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::extract::{Caller, MAX_JSON_BYTES, client_address, parse_json, parse_query, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pings", post(upload_pings))
        .route("/api/tracking/positions", get(positions))
        .route("/api/tracking/drivers/{id}/trail", get(trail))
        .route("/api/tracking/routes/{id}", get(route_progress))
        .route("/api/track/{token}", get(public_view))
        .route("/api/track/{token}/note", put(set_note))
        .route("/api/track/{token}/rating", put(rate))
}

/// The tracking settings from the environment (`DOORSTEP_PING_RETENTION_DAYS`,
/// `DOORSTEP_TRACKING_LINK_DAYS_AFTER_DELIVERY`); the one place they are read.
pub fn settings_from_env() -> Result<TrackingSettings, String> {
    TrackingSettings::from_vars(|name| std::env::var(name).ok())
}

#[utoipa::path(post, path = "/api/pings", tag = "tracking", security(("bearer" = [])),
    request_body(content = PingBatch, description = "At most 100 pings"),
    responses((status = 200, description = "Each ping's outcome (accepted, duplicate or rejected with its error)", body = PingBatchResult), crate::openapi::Errors))]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Positions {
    pub positions: Vec<DriverPosition>,
}

#[utoipa::path(get, path = "/api/tracking/positions", tag = "tracking", security(("bearer" = [])),
    responses((status = 200, description = "The latest position of every driver", body = Positions), crate::openapi::Errors))]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Trail {
    pub pings: Vec<StoredPing>,
}

#[utoipa::path(get, path = "/api/tracking/drivers/{id}/trail", tag = "tracking", security(("bearer" = [])),
    params(("id" = String, Path), ("from" = String, Query, description = "RFC 3339"), ("to" = String, Query, description = "RFC 3339")),
    responses((status = 200, description = "Pings by device time, at most 10,000", body = Trail), crate::openapi::Errors))]
pub async fn trail(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, request: Request) -> Result<Json<Trail>, HttpError> {
    let driver: DriverId = path_id("driver", &id)?;
    let query: TrailQuery = parse_query(request.uri())?;
    Ok(Json(Trail { pings: tracking::trail(state.tracking(), &principal, &driver, query.from, query.to).await? }))
}

#[utoipa::path(get, path = "/api/tracking/routes/{id}", tag = "tracking", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The route's live ETAs", body = RouteProgress), crate::openapi::Errors))]
pub async fn route_progress(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>) -> Result<Json<RouteProgress>, HttpError> {
    let route: RouteId = path_id("route progress", &id)?;
    Ok(Json(tracking::route_progress(state.tracking(), &principal, &route).await?))
}

/// The one answer for every token that leads nowhere (unknown, expired,
/// malformed): byte for byte the same, so it reveals nothing.
pub fn unknown_link() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not_found", "this tracking link is not valid (it may have expired)")
}

/// Largest body of the customer's note or rating: the texts' limits with
/// room for JSON escapes.
pub const MAX_CUSTOMER_BODY_BYTES: usize = 16 * 1024;

const VIEW_FIELDS: &str = "TrackingView {order_id, state, sender, driver_first_name, eta, stops_before, driver_position, destination, updated_at, timeline: [{state, at}], pod: {delivered_at, recipient_name, photo_urls, signature, signature_image_url}?, customer_note: {instructions, safe_place}?, can_leave_note, rating: {stars, comment, at}?, can_rate, failure_reason}";

/// The customer's ports: the proof of delivery when the host wired a POD
/// and a blob store.
fn customer(state: &AppState) -> CustomerDeps<'_> {
    let proof = match (state.pods.as_deref(), state.blobs.as_deref()) {
        (Some(pods), Some(blobs)) => Some(ProofPorts { pods, blobs }),
        _ => None,
    };
    CustomerDeps { tracking: state.tracking(), proof, limits: state.limits }
}

/// Live data behind a secret link: never cached by browsers or proxies.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[utoipa::path(get, path = "/api/track/{token}", tag = "tracking",
    params(("token" = String, Path, description = "the customer's tracking token")),
    responses((status = 200, description = VIEW_FIELDS, body = doorstep_domain::tracking::TrackingView),
        (status = 404, description = "unknown or expired link (always the same body)", body = doorstep_domain::ApiError)))]
pub async fn public_view(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let deps = customer(&state);
    no_store(match tracking::customer_view(deps.tracking, deps.proof, &token).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => unknown_link().into_response(),
        Err(e) => HttpError::from(e).into_response(),
    })
}

/// Reads a customer's body; a body that cannot be read gets the unknown
/// link's 404 when the link is not valid either, so nothing is revealed.
async fn customer_body<T: serde::de::DeserializeOwned>(state: &AppState, token: &str, parts: &axum::http::request::Parts, body: Body) -> Result<T, HttpError> {
    let parsed = match read_body(&parts.headers, body, MAX_CUSTOMER_BODY_BYTES).await {
        Ok(bytes) => parse_json::<T>(&bytes),
        Err(e) => Err(e),
    };
    match parsed {
        Ok(value) => Ok(value),
        Err(e) => match tracking::link_is_valid(state.tracking(), token).await {
            Ok(true) => Err(e),
            Ok(false) => Err(unknown_link()),
            Err(store) => Err(store.into()),
        },
    }
}

fn write_answer(result: Result<CustomerWrite, doorstep_core::Error>) -> Response {
    no_store(match result {
        Ok(CustomerWrite::Saved(view)) => Json(view).into_response(),
        Ok(CustomerWrite::UnknownLink) => unknown_link().into_response(),
        Ok(CustomerWrite::TooLate { state }) => HttpError::new(
            StatusCode::CONFLICT,
            TOO_LATE,
            format!("this order is already {state}; a note for the driver can no longer be left or changed"),
        )
        .into_response(),
        Ok(CustomerWrite::NotDeliveredYet { state }) => HttpError::new(
            StatusCode::CONFLICT,
            NOT_DELIVERED_YET,
            format!("this order is {state}; it can be rated once it has been delivered (or the delivery failed)"),
        )
        .into_response(),
        Ok(CustomerWrite::RateLimited { retry_after_s }) => {
            let mut e = HttpError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited.as_str(),
                format!("too many changes through this link; try again in {retry_after_s} s"),
            );
            e.retry_after_s = Some(retry_after_s);
            e.into_response()
        }
        Err(e) => HttpError::from(e).into_response(),
    })
}

#[utoipa::path(put, path = "/api/track/{token}/note", tag = "tracking",
    params(("token" = String, Path, description = "the customer's tracking token")),
    request_body(content = SetCustomerNote, description = "instructions at most 500 characters, safe_place at most 200: replaces the note; trimmed, blank clears; no control characters except newlines"),
    responses((status = 200, description = VIEW_FIELDS, body = doorstep_domain::tracking::TrackingView),
        (status = 404, description = "unknown or expired link (always the same body)", body = doorstep_domain::ApiError),
        (status = 409, description = "code too_late: the order is already delivered, failed or cancelled", body = doorstep_domain::ApiError),
        (status = 422, description = "validation_failed naming instructions or safe_place", body = doorstep_domain::ApiError),
        (status = 429, description = "too many writes through this link or from this address (Retry-After)", body = doorstep_domain::ApiError)))]
pub async fn set_note(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let note: SetCustomerNote = match customer_body(&state, &token, &parts, body).await {
        Ok(n) => n,
        Err(e) => return no_store(e.into_response()),
    };
    write_answer(tracking::set_customer_note(customer(&state), &token, &client_address(&parts), &note).await)
}

#[utoipa::path(put, path = "/api/track/{token}/rating", tag = "tracking",
    params(("token" = String, Path, description = "the customer's tracking token")),
    request_body(content = RateDelivery, description = "stars 1-5, comment at most 1000 characters: replaces any earlier rating"),
    responses((status = 200, description = VIEW_FIELDS, body = doorstep_domain::tracking::TrackingView),
        (status = 404, description = "unknown or expired link (always the same body)", body = doorstep_domain::ApiError),
        (status = 409, description = "code not_delivered_yet: the order is not delivered or failed yet", body = doorstep_domain::ApiError),
        (status = 422, description = "validation_failed naming stars or comment", body = doorstep_domain::ApiError),
        (status = 429, description = "too many writes through this link or from this address (Retry-After)", body = doorstep_domain::ApiError)))]
pub async fn rate(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let rating: RateDelivery = match customer_body(&state, &token, &parts, body).await {
        Ok(r) => r,
        Err(e) => return no_store(e.into_response()),
    };
    write_answer(tracking::rate_delivery(customer(&state), &token, &client_address(&parts), &rating).await)
}
