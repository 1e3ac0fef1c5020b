use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use doorstep_core::usecases::health;
use doorstep_domain::api::Health;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/health", get(get_health))
}

#[utoipa::path(get, path = "/api/health", tag = "meta",
    responses((status = 200, description = "Healthy (status ok)", body = Health), (status = 503, description = "The store is not answering (status degraded)", body = Health)))]
pub async fn get_health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let report = health::check(state.store.as_ref()).await;
    let status = if report.status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(report))
}
