//! Reading requests: who is calling, bodies and queries, each failure in the
//! one error shape with the field at fault.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use doorstep_core::Principal;
use doorstep_core::usecases::auth::{self, Credential};
use doorstep_domain::api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::{AppState, HttpError};

/// Largest JSON body accepted: 1 MiB (a full 1,000-order batch fits).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest CSV upload accepted: 5 MiB.
pub const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;

/// The authenticated caller. Rejects with 401 when no valid credential is sent.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = credential(&parts.headers)?.ok_or_else(|| {
            HttpError::unauthorized("sign in first: send Authorization: Bearer <token> (or X-Api-Key for integrations)")
        })?;
        let client = client_address(parts);
        Ok(Caller(auth::authenticate(state.auth(), &credential, &client).await?))
    }
}

fn credential(headers: &HeaderMap) -> Result<Option<Credential>, HttpError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| HttpError::unauthorized("the Authorization header is not text"))?;
        let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(HttpError::unauthorized("use Authorization: Bearer <token>"));
        }
        return Ok(Some(Credential::Bearer(token.trim().to_owned())));
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value.to_str().map_err(|_| HttpError::unauthorized("the X-Api-Key header is not text"))?;
        return Ok(Some(Credential::ApiKey(key.trim().to_owned())));
    }
    Ok(None)
}

/// The peer's IP address, for rate limits. Proxies' forwarding headers are not
/// trusted: anyone could send them.
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string())
}

/// Reads at most `limit` bytes of body; larger ones are refused with 413.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge.as_str(),
            format!("the request body is larger than the {limit}-byte limit for this endpoint"),
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| too_large())
}

/// Parses JSON, naming the field at fault (`orders[3].address.lat`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::unreadable(ErrorCode::InvalidJson, None, "the request body is empty; send JSON".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(json_error)?;
    de.end().map_err(|e| HttpError::unreadable(ErrorCode::InvalidJson, None, format!("invalid request body: {e}")))?;
    Ok(value)
}

/// Like [`parse_json`] for an already parsed value.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, HttpError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(json_error)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> HttpError {
    // serde_path_to_error already ends the path with an unknown field's name.
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = inner.to_string();
    let mut path = (path != "." && !inner.is_syntax() && !inner.is_eof()).then_some(path);
    // serde names a missing field only in its message; the path stops at its parent.
    if let Some(field) = missing_field(&message) {
        path = Some(match path {
            Some(parent) => format!("{parent}.{field}"),
            None => field.to_owned(),
        });
    }
    let message = match &path {
        Some(p) => format!("invalid request body at {p}: {message}"),
        None => format!("invalid request body: {message}"),
    };
    HttpError::unreadable(ErrorCode::InvalidJson, path, message)
}

/// The field in serde's "missing field `name` at line …" message.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().filter(|name| !name.is_empty())
}

/// Parses the query string into `T`, refusing unknown or malformed parameters.
pub fn parse_query<T: DeserializeOwned>(uri: &Uri) -> Result<T, HttpError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| HttpError::unreadable(ErrorCode::InvalidQuery, None, format!("invalid query string: {}", e.body_text())))
}

/// An id from the path; a malformed one cannot exist, so it is simply not found.
pub fn path_id<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, HttpError> {
    raw.parse().map_err(|_| HttpError::from_api(doorstep_domain::api::ApiError::not_found(what, raw)))
}

/// The `Idempotency-Key` header, if sent.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, HttpError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.to_owned())).map_err(|_| {
            HttpError::unreadable(ErrorCode::ValidationFailed, Some("Idempotency-Key".into()), "must be printable ASCII".into())
        }),
    }
}
