//! The driver's stop events and proof of delivery: route start, arrival,
//! completion with proof, failure with a reason, one-time codes, photo
//! uploads (tickets, and the embedded blob store's own upload and download
//! routes) and reading proofs back. Every driver action takes an
//! `Idempotency-Key` (the offline queue replays them).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_blobs_fs::{Refused, WriteError};
use doorstep_core::ports::BlobError;
use doorstep_core::usecases::orders::StoredResponse;
use doorstep_core::usecases::pod::{self, PodDeps};
use doorstep_domain::api::ErrorCode;
use doorstep_domain::pod::{ArriveAtStop, CompleteStop, FailStop, MAX_PHOTO_BYTES, OrderPod, StartRoute, UploadRequest, UploadTicket, VerifyOtp};
use doorstep_domain::{OrderId, RouteId, StopId};
use serde::Deserialize;

use crate::extract::{Caller, MAX_JSON_BYTES, idempotency_key, parse_json, parse_query, path_id, read_body};
use crate::{AppState, HttpError};

/// Largest upload form: the largest photo plus room for the other fields.
pub const MAX_UPLOAD_FORM_BYTES: usize = MAX_PHOTO_BYTES as usize + 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/routes/{route_id}/start", post(start_route))
        .route("/api/stops/{stop_id}/arrive", post(arrive))
        .route("/api/stops/{stop_id}/complete", post(complete))
        .route("/api/stops/{stop_id}/fail", post(fail))
        .route("/api/stops/{stop_id}/otp", post(verify_otp))
        .route("/api/pod/uploads", post(request_upload))
        .route("/api/pod/blobs", post(upload_blob).layer(DefaultBodyLimit::max(MAX_UPLOAD_FORM_BYTES)))
        .route("/api/pod/blobs/{*key}", get(download_blob))
        .route("/api/orders/{id}/pod", get(order_pod))
}

fn deps(state: &AppState) -> Result<PodDeps<'_>, HttpError> {
    state.pod().ok_or_else(|| {
        HttpError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StoreUnavailable.as_str(), "this server has no blob store for proofs of delivery")
    })
}

/// A stored response byte for byte, marking replays.
fn stored(response: StoredResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut http = (status, [(header::CONTENT_TYPE, "application/json")], response.body).into_response();
    if response.replayed {
        http.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    http
}

#[utoipa::path(post, path = "/api/routes/{route_id}/start", tag = "pod", security(("bearer" = [])),
    params(("route_id" = String, Path), ("Idempotency-Key" = String, Header, description = "Required: a UUID per action; replays get the stored answer")),
    request_body = StartRoute,
    responses((status = 200, description = "The start recorded and the route's orders, now out for delivery", body = doorstep_domain::pod::RouteStartOutcome), crate::openapi::Errors))]
pub async fn start_route(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Response, HttpError> {
    let id: RouteId = path_id("route", &id)?;
    let key = idempotency_key(&headers)?;
    let request: StartRoute = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(stored(pod::start_route(deps(&state)?, &principal, &id, &request, key.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/stops/{stop_id}/arrive", tag = "pod", security(("bearer" = [])),
    params(("stop_id" = String, Path), ("Idempotency-Key" = String, Header)),
    request_body = ArriveAtStop,
    responses((status = 200, description = "The arrival recorded", body = doorstep_domain::pod::VisitRecord), crate::openapi::Errors))]
pub async fn arrive(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Response, HttpError> {
    let id: StopId = path_id("stop", &id)?;
    let key = idempotency_key(&headers)?;
    let request: ArriveAtStop = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(stored(pod::arrive(deps(&state)?, &principal, &id, &request, key.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/stops/{stop_id}/complete", tag = "pod", security(("bearer" = [])),
    params(("stop_id" = String, Path), ("Idempotency-Key" = String, Header)),
    request_body = CompleteStop,
    responses((status = 200, description = "The delivered order and its proof", body = doorstep_domain::pod::StopOutcome), crate::openapi::Errors))]
pub async fn complete(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Response, HttpError> {
    let id: StopId = path_id("stop", &id)?;
    let key = idempotency_key(&headers)?;
    let request: CompleteStop = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(stored(pod::complete(deps(&state)?, &principal, &id, &request, key.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/stops/{stop_id}/fail", tag = "pod", security(("bearer" = [])),
    params(("stop_id" = String, Path), ("Idempotency-Key" = String, Header)),
    request_body = FailStop,
    responses((status = 200, description = "The failed order, its record, and whether a reattempt was scheduled", body = doorstep_domain::pod::StopOutcome), crate::openapi::Errors))]
pub async fn fail(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Response, HttpError> {
    let id: StopId = path_id("stop", &id)?;
    let key = idempotency_key(&headers)?;
    let request: FailStop = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(stored(pod::fail(deps(&state)?, &principal, &id, &request, key.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/stops/{stop_id}/otp", tag = "pod", security(("bearer" = [])),
    params(("stop_id" = String, Path), ("Idempotency-Key" = String, Header, description = "Required: one per guess; a replay gets the stored answer and spends no attempt")),
    request_body = VerifyOtp,
    responses((status = 200, description = "Whether the code matched, and the attempts left", body = doorstep_domain::pod::OtpStatus), crate::openapi::Errors))]
pub async fn verify_otp(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Response, HttpError> {
    let id: StopId = path_id("stop", &id)?;
    let key = idempotency_key(&headers)?;
    let request: VerifyOtp = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(stored(pod::verify_otp(deps(&state)?, &principal, &id, &request, key.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/pod/uploads", tag = "pod", security(("bearer" = [])),
    request_body(content = UploadRequest, description = "content_type image/jpeg, image/png or image/webp; size_bytes at most 10 MiB"),
    responses((status = 200, description = "POST multipart/form-data to url with every field, then `file` last", body = UploadTicket), crate::openapi::Errors))]
pub async fn request_upload(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<Json<UploadTicket>, HttpError> {
    let request: UploadRequest = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(pod::request_upload(deps(&state)?, &principal, &request).await?))
}

#[utoipa::path(get, path = "/api/orders/{id}/pod", tag = "pod", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Every attempt's proof with short-lived photo and signature URLs, and whether it is intact", body = OrderPod), crate::openapi::Errors))]
pub async fn order_pod(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>) -> Result<Json<OrderPod>, HttpError> {
    let id: OrderId = path_id("order", &id)?;
    Ok(Json(pod::order_pod(deps(&state)?, &principal, &id).await?))
}

// --- the embedded blob store's own routes ---------------------------------------

fn not_served() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "unknown_route", "this server does not store blobs itself; upload to the ticket's URL")
}

fn refused(r: Refused) -> HttpError {
    let (status, code) = match &r {
        Refused::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge.as_str()),
        Refused::BadSignature | Refused::Expired | Refused::BadLink | Refused::LinkExpired => (StatusCode::FORBIDDEN, ErrorCode::Forbidden.as_str()),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationFailed.as_str()),
    };
    let field = match &r {
        Refused::MissingField(f) | Refused::Mismatch(f) => Some((*f).to_owned()),
        Refused::NotAnImage(_) => Some("Content-Type".to_owned()),
        Refused::TooLarge { .. } | Refused::Empty => Some("file".to_owned()),
        _ => None,
    };
    let mut error = HttpError::new(status, code, r.to_string());
    error.body.field = field;
    error
}

fn blob_unavailable(e: BlobError) -> HttpError {
    tracing::error!(error = %e, "blob store failed");
    HttpError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StoreUnavailable.as_str(), "the blob store is not answering; try again shortly")
}

fn too_large() -> HttpError {
    refused(Refused::TooLarge { max: MAX_PHOTO_BYTES })
}

fn form_error(e: axum::extract::multipart::MultipartError) -> HttpError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    HttpError::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed.as_str(), format!("cannot read the upload form: {}", e.body_text()))
}

/// Most form fields before `file` (a ticket has four).
const MAX_FORM_FIELDS: usize = 16;

/// `POST /api/pod/blobs`: the form of an upload ticket, then `file`. The file
/// streams to disk, counted and hashed as it comes; past the ticket's limit
/// the upload stops and nothing is kept.
pub async fn upload_blob(State(state): State<AppState>, request: Request) -> Result<Response, HttpError> {
    let local = state.local_blobs.clone().ok_or_else(not_served)?;
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_FORM_BYTES) {
        return Err(too_large());
    }
    let mut form = Multipart::from_request(request, &state).await.map_err(|e| {
        HttpError::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed.as_str(), format!("send multipart/form-data: {}", e.body_text()))
    })?;
    let mut fields = BTreeMap::new();
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            if fields.len() >= MAX_FORM_FIELDS {
                return Err(HttpError::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed.as_str(), "too many form fields"));
            }
            fields.insert(name, field.text().await.map_err(form_error)?);
            continue;
        }
        let policy = local.accept_form(&fields, state.clock.now()).map_err(refused)?;
        let mut writer = local.begin(&policy).await.map_err(blob_unavailable)?;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    writer.abort().await;
                    return Err(form_error(e));
                }
            };
            if let Err(e) = writer.write(&chunk).await {
                writer.abort().await;
                return Err(match e {
                    WriteError::Refused(r) => refused(r),
                    WriteError::Store(s) => blob_unavailable(s),
                });
            }
        }
        let stat = writer.finish().await.map_err(|e| match e {
            WriteError::Refused(r) => refused(r),
            WriteError::Store(s) => blob_unavailable(s),
        })?;
        let body = serde_json::json!({"blob_key": policy.key, "sha256": stat.sha256, "size_bytes": stat.size_bytes, "content_type": stat.content_type});
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    Err(refused(Refused::MissingField("file")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkQuery {
    expires: i64,
    sig: String,
}

/// `GET /api/pod/blobs/{key}?expires=..&sig=..`: a signed, expiring link
/// (no sign-in, so it works in `<img src>`).
pub async fn download_blob(State(state): State<AppState>, Path(key): Path<String>, request: Request) -> Result<Response, HttpError> {
    let local = state.local_blobs.clone().ok_or_else(not_served)?;
    let query: LinkQuery = parse_query(request.uri())?;
    local.check_link(&key, query.expires, &query.sig, state.clock.now()).map_err(refused)?;
    let (bytes, content_type) = match local.read(&key).await {
        Ok(Some(found)) => found,
        Ok(None) | Err(BlobError::InvalidKey(_)) => {
            return Err(HttpError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound.as_str(), "no such blob"));
        }
        Err(e) => return Err(blob_unavailable(e)),
    };
    let content_type = HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response())
}
