//! Plans made in the browser, publishing them to drivers, and a driver's route.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use doorstep_core::usecases::plans;
use doorstep_core::usecases::reassign::{self, ReassignOutcome, ReassignPorts, ReassignStop};
use doorstep_domain::api::{DEFAULT_PAGE_SIZE, ErrorCode, MAX_PAGE_SIZE, Page, PlanVersion};
use doorstep_domain::dispatch::{DriverRoute, PublishedPlan, SavePlanRequest, UpdateRoute};
use doorstep_domain::time::iso_date;
use doorstep_domain::{Plan, PlanId, RouteId};
use serde::Deserialize;
use time::Date;

use crate::extract::{Caller, MAX_JSON_BYTES, parse_json, parse_query, path_id, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/plans", post(save_plan).get(list_plans))
        .route("/api/plans/{id}", get(get_plan))
        .route("/api/plans/{id}/publish", post(publish_plan))
        .route("/api/plans/{id}/routes/{route_id}", put(update_route))
        .route("/api/plans/{id}/stops/reassign", post(reassign_stop))
        .route("/api/drivers/me/route", get(driver_route))
}

#[utoipa::path(post, path = "/api/plans", tag = "plans", security(("bearer" = [])),
    request_body = SavePlanRequest,
    responses((status = 201, description = "The plan, as a draft", body = Plan), crate::openapi::Errors))]
pub async fn save_plan(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Plan>), HttpError> {
    let request: SavePlanRequest = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let plan = plans::save(state.store.as_ref(), state.clock.as_ref(), &principal, &request).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanListQuery {
    #[serde(default, with = "iso_date::option")]
    date: Option<Date>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/plans", tag = "plans", security(("bearer" = [])),
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD"), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "One page of plans; next_cursor is absent on the last page", body = crate::openapi::PlanPage), crate::openapi::Errors))]
pub async fn list_plans(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<Page<Plan>>, HttpError> {
    let query: PlanListQuery = parse_query(request.uri())?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(HttpError::unreadable(ErrorCode::InvalidQuery, Some("limit".into()), format!("must be between 1 and {MAX_PAGE_SIZE}")));
    }
    Ok(Json(plans::list(state.store.as_ref(), &principal, query.date, query.cursor.as_deref(), limit).await?))
}

#[utoipa::path(get, path = "/api/plans/{id}", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, description = "The plan", body = Plan), crate::openapi::Errors))]
pub async fn get_plan(State(state): State<AppState>, Caller(principal): Caller, Path(id): Path<String>) -> Result<Json<Plan>, HttpError> {
    let id: PlanId = path_id("plan", &id)?;
    Ok(Json(plans::get(state.store.as_ref(), &principal, &id).await?))
}

#[utoipa::path(post, path = "/api/plans/{id}/publish", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = PlanVersion, description = "The version the caller read"),
    responses((status = 200, description = "The published plan and each stop's customer tracking token; tokens are shown only here", body = PublishedPlan), crate::openapi::Errors))]
pub async fn publish_plan(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PublishedPlan>, HttpError> {
    let id: PlanId = path_id("plan", &id)?;
    let version: PlanVersion = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(plans::publish_with(state.store.as_ref(), state.pods.as_deref(), state.clock.as_ref(), &principal, &id, &version).await?))
}

#[utoipa::path(put, path = "/api/plans/{id}/routes/{route_id}", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path), ("route_id" = String, Path)),
    request_body = UpdateRoute,
    responses((status = 200, description = "The updated plan", body = Plan), crate::openapi::Errors))]
pub async fn update_route(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, route_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Plan>, HttpError> {
    let id: PlanId = path_id("plan", &id)?;
    let route_id: RouteId = path_id("route", &route_id)?;
    let request: UpdateRoute = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    Ok(Json(plans::update_route(state.store.as_ref(), state.clock.as_ref(), &principal, &id, &route_id, &request).await?))
}

#[utoipa::path(post, path = "/api/plans/{id}/stops/reassign", tag = "plans", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = doorstep_core::usecases::reassign::ReassignStop, description = "Moves an unstarted stop (not arrived, delivered or failed) of a published plan to `to_route_id` at `position` (index among that route's stops; absent = cheapest feasible place). Both routes are rescheduled on the server from the drivers' latest positions. A move that breaks a rule is refused with 422 naming it (e.g. \"time window: order ... arrives 14:12 after 14:00\") unless `force`; `dry_run` answers without writing. 409 if the plan is no longer at `version`."),
    responses((status = 200, description = "The plan after the move (or as it would be, for a dry run), the moved stops and any rules broken", body = doorstep_core::usecases::reassign::ReassignOutcome), crate::openapi::Errors))]
pub async fn reassign_stop(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ReassignOutcome>, HttpError> {
    let id: PlanId = path_id("plan", &id)?;
    let request: ReassignStop = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let ports = ReassignPorts { tracking: Some(state.tracking.as_ref()), pods: state.pods.as_deref() };
    Ok(Json(reassign::reassign(state.store.as_ref(), ports, state.clock.as_ref(), &principal, &id, &request).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteQuery {
    #[serde(with = "iso_date")]
    date: Date,
}

#[utoipa::path(get, path = "/api/drivers/me/route", tag = "plans", security(("bearer" = [])),
    params(("date" = String, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "The caller's route that day with its orders", body = DriverRoute), crate::openapi::Errors))]
pub async fn driver_route(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<DriverRoute>, HttpError> {
    let query: RouteQuery = parse_query(request.uri())?;
    Ok(Json(plans::driver_route(state.store.as_ref(), &principal, query.date).await?))
}
