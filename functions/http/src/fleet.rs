//! Read-only views of the caller's organisation that the dispatcher's planner
//! needs: the organisation itself, depots, vehicles and drivers. Dispatchers only.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use doorstep_core::Principal;
use doorstep_core::usecases::auth::require;
use doorstep_domain::auth::Role;
use doorstep_domain::{Depot, Driver, Organisation, Vehicle};

use crate::extract::Caller;
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/organisation", get(get_organisation))
        .route("/api/depots", get(list_depots))
        .route("/api/vehicles", get(list_vehicles))
        .route("/api/drivers", get(list_drivers))
}

fn dispatcher(principal: &Principal, what: &str) -> Result<(), HttpError> {
    Ok(require(principal, &[Role::Dispatcher], what)?)
}

#[utoipa::path(get, path = "/api/organisation", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Organisation {id, name, timezone, default_service_time_s, default_time_windows, settings}", body = Object), crate::openapi::Errors))]
pub async fn get_organisation(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Organisation>, HttpError> {
    dispatcher(&principal, "read the organisation")?;
    Ok(Json(state.store.organisation(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/depots", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Depot[] of the caller's organisation", body = Object), crate::openapi::Errors))]
pub async fn list_depots(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Depot>>, HttpError> {
    dispatcher(&principal, "list depots")?;
    Ok(Json(state.store.list_depots(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/vehicles", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Vehicle[] of the caller's organisation (active and inactive)", body = Object), crate::openapi::Errors))]
pub async fn list_vehicles(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Vehicle>>, HttpError> {
    dispatcher(&principal, "list vehicles")?;
    Ok(Json(state.store.list_vehicles(&principal.org).await.map_err(doorstep_core::Error::from)?))
}

#[utoipa::path(get, path = "/api/drivers", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Driver[] of the caller's organisation (active and inactive)", body = Object), crate::openapi::Errors))]
pub async fn list_drivers(State(state): State<AppState>, Caller(principal): Caller) -> Result<Json<Vec<Driver>>, HttpError> {
    dispatcher(&principal, "list drivers")?;
    Ok(Json(state.store.list_drivers(&principal.org).await.map_err(doorstep_core::Error::from)?))
}
