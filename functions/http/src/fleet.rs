//! The caller's organisation, depots, vehicles and drivers: what the
//! dispatcher's planner reads, and the Setup page writes. Dispatchers only.
//! Creates take the `New*` bodies; updates are JSON merge patches (send the
//! fields to change, `null` clears an optional one). Nothing is deleted:
//! drivers and vehicles are deactivated with `{"active": false}`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch};
use axum::{Json, Router};
use doorstep_core::Principal;
use doorstep_core::usecases::auth::require;
use doorstep_core::usecases::fleet;
use doorstep_domain::auth::Role;
use doorstep_domain::org::{NewDepot, NewDriver};
use doorstep_domain::vehicle::NewVehicle;
use doorstep_domain::{Depot, DepotId, Driver, DriverId, Organisation, Vehicle, VehicleId};
use serde_json::Value;

use crate::extract::{Caller, MAX_JSON_BYTES, parse_json, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/organisation", get(get_organisation).patch(patch_organisation))
        .route("/api/depots", get(list_depots).post(create_depot))
        .route("/api/depots/{id}", patch(patch_depot))
        .route("/api/vehicles", get(list_vehicles).post(create_vehicle))
        .route("/api/vehicles/{id}", patch(patch_vehicle))
        .route("/api/drivers", get(list_drivers).post(create_driver))
        .route("/api/drivers/{id}", patch(patch_driver))
}

fn dispatcher(principal: &Principal, what: &str) -> Result<(), HttpError> {
    Ok(require(principal, &[Role::Dispatcher], what)?)
}

#[utoipa::path(get, path = "/api/organisation", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "The caller's organisation", body = Organisation), crate::openapi::Errors))]
pub async fn get_organisation(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Organisation>, HttpError> {
    dispatcher(&principal, "read the organisation")?;
    Ok(Json(state.store.organisation(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/depots", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "The caller's organisation's depots", body = [Depot]), crate::openapi::Errors))]
pub async fn list_depots(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Depot>>, HttpError> {
    dispatcher(&principal, "list depots")?;
    Ok(Json(state.store.list_depots(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/vehicles", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "The caller's organisation's vehicles (active and inactive)", body = [Vehicle]), crate::openapi::Errors))]
pub async fn list_vehicles(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Vehicle>>, HttpError> {
    dispatcher(&principal, "list vehicles")?;
    Ok(Json(state.store.list_vehicles(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/drivers", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "The caller's organisation's drivers (active and inactive)", body = [Driver]), crate::openapi::Errors))]
pub async fn list_drivers(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Driver>>, HttpError> {
    dispatcher(&principal, "list drivers")?;
    Ok(Json(state.store.list_drivers(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

async fn json_patch(headers: &HeaderMap, body: Body) -> Result<Value, HttpError> {
    parse_json(&read_body(headers, body, MAX_JSON_BYTES).await?)
}

#[utoipa::path(patch, path = "/api/organisation", tag = "fleet", security(("bearer" = [])),
    request_body(content = crate::openapi::OrganisationPatch, description = "JSON merge patch over {name, timezone, default_service_time_s, default_time_windows, settings}; settings include tile_url ({z}/{x}/{y}), osrm_table_url and geocoder_url (http(s) or null), currency, notifications (templates per trigger and language)"),
    responses((status = 200, description = "The updated organisation", body = Organisation), crate::openapi::Errors))]
pub async fn patch_organisation(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<Json<Organisation>, HttpError> {
    dispatcher(&principal, "change the organisation's settings")?;
    let patch = json_patch(&headers, body).await?;
    Ok(Json(fleet::update_organisation(state.store.as_ref(), &principal, &patch).await?))
}

#[utoipa::path(post, path = "/api/depots", tag = "fleet", security(("bearer" = [])),
    request_body = NewDepot,
    responses((status = 201, description = "The new depot", body = Depot), crate::openapi::Errors))]
pub async fn create_depot(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<(StatusCode, Json<Depot>), HttpError> {
    dispatcher(&principal, "add depots")?;
    let new: NewDepot = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok((StatusCode::CREATED, Json(fleet::create_depot(state.store.as_ref(), state.clock.as_ref(), &principal, new).await?)))
}

#[utoipa::path(patch, path = "/api/depots/{id}", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = crate::openapi::DepotPatch, description = "JSON merge patch (RFC 7396) over NewDepot: send only the fields to change, every one optional; null clears an optional field"),
    responses((status = 200, description = "The updated depot", body = Depot), crate::openapi::Errors))]
pub async fn patch_depot(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<Depot>, HttpError> {
    dispatcher(&principal, "change depots")?;
    let id: DepotId = path_id("depot", &id)?;
    let patch = json_patch(&headers, body).await?;
    Ok(Json(fleet::update_depot(state.store.as_ref(), &principal, &id, &patch).await?))
}

#[utoipa::path(post, path = "/api/vehicles", tag = "fleet", security(("bearer" = [])),
    request_body(content = NewVehicle, description = "capacity is [kg, l, items]"),
    responses((status = 201, description = "The new vehicle", body = Vehicle), crate::openapi::Errors))]
pub async fn create_vehicle(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<(StatusCode, Json<Vehicle>), HttpError> {
    dispatcher(&principal, "add vehicles")?;
    let new: NewVehicle = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok((StatusCode::CREATED, Json(fleet::create_vehicle(state.store.as_ref(), state.clock.as_ref(), &principal, new).await?)))
}

#[utoipa::path(patch, path = "/api/vehicles/{id}", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = crate::openapi::VehiclePatch, description = "JSON merge patch (RFC 7396) over NewVehicle: send only the fields to change, every one optional; null clears an optional field; {\"active\": false} deactivates"),
    responses((status = 200, description = "The updated vehicle", body = Vehicle), crate::openapi::Errors))]
pub async fn patch_vehicle(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<Vehicle>, HttpError> {
    dispatcher(&principal, "change vehicles")?;
    let id: VehicleId = path_id("vehicle", &id)?;
    let patch = json_patch(&headers, body).await?;
    Ok(Json(fleet::update_vehicle(state.store.as_ref(), &principal, &id, &patch).await?))
}

#[utoipa::path(post, path = "/api/drivers", tag = "fleet", security(("bearer" = [])),
    request_body = NewDriver,
    responses((status = 201, description = "The new driver", body = Driver), crate::openapi::Errors))]
pub async fn create_driver(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<(StatusCode, Json<Driver>), HttpError> {
    dispatcher(&principal, "add drivers")?;
    let new: NewDriver = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok((StatusCode::CREATED, Json(fleet::create_driver(state.store.as_ref(), state.clock.as_ref(), &principal, new).await?)))
}

#[utoipa::path(patch, path = "/api/drivers/{id}", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = crate::openapi::DriverPatch, description = "JSON merge patch (RFC 7396) over NewDriver: send only the fields to change, every one optional; null clears an optional field; {\"active\": false} deactivates"),
    responses((status = 200, description = "The updated driver", body = Driver), crate::openapi::Errors))]
pub async fn patch_driver(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<Driver>, HttpError> {
    dispatcher(&principal, "change drivers")?;
    let id: DriverId = path_id("driver", &id)?;
    let patch = json_patch(&headers, body).await?;
    Ok(Json(fleet::update_driver(state.store.as_ref(), &principal, &id, &patch).await?))
}
