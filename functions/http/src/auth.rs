//! Sign-in, driver codes and integration keys.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use doorstep_core::usecases::auth;
use doorstep_domain::DriverId;
use doorstep_domain::auth::{ApiKeyCreated, ApiKeySummary, DriverSignInRequest, LoginRequest, NewApiKey, Role, SignInCodes, TokenResponse};
use serde::Serialize;

use crate::extract::{Caller, MAX_JSON_BYTES, client_address, parse_json, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/driver", post(driver_sign_in))
        .route("/api/auth/me", get(me))
        .route("/api/drivers/{id}/sign-in-codes", post(issue_sign_in_codes))
        .route("/api/api-keys", post(create_api_key).get(list_api_keys))
        .route("/api/api-keys/{id}", delete(revoke_api_key))
}

/// Who the caller is, as the server sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    #[schema(value_type = String)]
    pub org_id: doorstep_domain::OrgId,
    #[schema(value_type = String)]
    pub role: Role,
    pub subject: String,
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = TokenResponse), crate::openapi::Errors))]
pub async fn login(State(state): State<AppState>, request: Request) -> Result<Json<TokenResponse>, HttpError> {
    let (parts, body) = request.into_parts();
    let body: LoginRequest = parse_json(&read_body(&parts.headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(auth::login(state.auth(), &body, &client_address(&parts)).await?))
}

#[utoipa::path(post, path = "/api/auth/driver", tag = "auth",
    request_body(content = DriverSignInRequest, description = "Either {token} (the one-time sign-in token) or {org_id, driver_id, pin}"),
    responses((status = 200, description = "Signed in", body = TokenResponse), crate::openapi::Errors))]
pub async fn driver_sign_in(State(state): State<AppState>, request: Request) -> Result<Json<TokenResponse>, HttpError> {
    let (parts, body) = request.into_parts();
    let body: DriverSignInRequest = parse_json(&read_body(&parts.headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(auth::driver_sign_in(state.auth(), &body, &client_address(&parts)).await?))
}

#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = Me), crate::openapi::Errors))]
pub async fn me(Caller(principal): Caller) -> Json<Me> {
    Json(Me { org_id: principal.org, role: principal.role, subject: principal.subject })
}

#[utoipa::path(post, path = "/api/drivers/{id}/sign-in-codes", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Driver id")),
    responses((status = 201, description = "One-time token and PIN", body = SignInCodes), crate::openapi::Errors))]
pub async fn issue_sign_in_codes(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SignInCodes>), HttpError> {
    let driver: DriverId = path_id("driver", &id)?;
    let codes = auth::issue_sign_in_codes(state.store.as_ref(), state.clock.as_ref(), &principal, &driver).await?;
    Ok((StatusCode::CREATED, Json(codes)))
}

#[utoipa::path(post, path = "/api/api-keys", tag = "auth", security(("bearer" = [])),
    request_body = NewApiKey,
    responses((status = 201, description = "The key with its secret, shown only once", body = ApiKeyCreated), crate::openapi::Errors))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Caller(principal): Caller,
    request: Request,
) -> Result<(StatusCode, Json<ApiKeyCreated>), HttpError> {
    let (parts, body) = request.into_parts();
    let body: NewApiKey = parse_json(&read_body(&parts.headers, body, MAX_JSON_BYTES).await?)?;
    let created = auth::create_api_key(state.store.as_ref(), state.clock.as_ref(), &principal, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/api-keys", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The organisation's API keys (no secrets)", body = [ApiKeySummary]), crate::openapi::Errors))]
pub async fn list_api_keys(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<ApiKeySummary>>, HttpError> {
    Ok(Json(auth::list_api_keys(state.store.as_ref(), &principal).await?))
}

#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked"), crate::openapi::Errors))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    auth::revoke_api_key(state.store.as_ref(), &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
