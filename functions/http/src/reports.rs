//! Delivery reports for dispatchers: the metrics as JSON and each table as CSV.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::usecases::reports::{self, RebuildDeps, RebuildRequest, RebuildSummary};
use doorstep_domain::api::ErrorCode;
use doorstep_domain::reports::{Report, ReportQuery};
use doorstep_domain::time::iso_date;
use doorstep_domain::DriverId;
use serde::Deserialize;
use time::Date;

use crate::extract::{Caller, MAX_JSON_BYTES, parse_json, parse_query, read_body};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reports", get(get_report))
        .route("/api/reports/export/{table}", get(export_csv))
        .route("/api/reports/rebuild", post(rebuild))
}

/// `from` and `to` as `YYYY-MM-DD`; `drivers` comma-separated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    #[serde(with = "iso_date")]
    from: Date,
    #[serde(with = "iso_date")]
    to: Date,
    #[serde(default)]
    drivers: Option<String>,
}

fn report_query(request: &Request) -> Result<ReportQuery, HttpError> {
    let raw: RawQuery = parse_query(request.uri())?;
    let mut drivers = Vec::new();
    for (i, id) in raw.drivers.iter().flat_map(|d| d.split(',')).map(str::trim).filter(|d| !d.is_empty()).enumerate() {
        drivers.push(id.parse::<DriverId>().map_err(|e| {
            HttpError::unreadable(ErrorCode::InvalidQuery, Some(format!("drivers[{i}]")), format!("{id:?} is not a driver id: {e}"))
        })?);
    }
    Ok(ReportQuery { from: raw.from, to: raw.to, drivers })
}

#[utoipa::path(get, path = "/api/reports", tag = "reports", security(("bearer" = [])),
    params(("from" = String, Query, description = "YYYY-MM-DD"), ("to" = String, Query, description = "YYYY-MM-DD, included"),
        ("drivers" = Option<String>, Query, description = "comma-separated driver ids; all when absent")),
    responses((status = 200, description = "The report over the range", body = Report), crate::openapi::Errors))]
pub async fn get_report(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<Report>, HttpError> {
    let query = report_query(&request)?;
    Ok(Json(reports::report(state.reports.as_ref(), &principal, &query).await?))
}

#[utoipa::path(get, path = "/api/reports/export/{table}", tag = "reports", security(("bearer" = [])),
    params(("table" = String, Path, description = "shifts, routes, failure_reasons, on_time_by_day, cash_on_delivery or ratings"),
        ("from" = String, Query), ("to" = String, Query), ("drivers" = Option<String>, Query)),
    responses((status = 200, description = "The table as CSV", body = String, content_type = "text/csv"), crate::openapi::Errors))]
pub async fn export_csv(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(table): Path<String>,
    request: Request,
) -> Result<impl IntoResponse, HttpError> {
    let query = report_query(&request)?;
    let text = reports::csv(state.reports.as_ref(), &principal, &query, &table).await?;
    let filename = format!("doorstep-{table}-{}-{}.csv", query.from, query.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        text,
    ))
}

#[utoipa::path(post, path = "/api/reports/rebuild", tag = "reports", security(("bearer" = [])),
    request_body(content = doorstep_core::usecases::reports::RebuildRequest, description = "to is included; at most 366 days"),
    responses((status = 200, description = "Every (day, driver) looked at and whether its aggregate changed", body = doorstep_core::usecases::reports::RebuildSummary), crate::openapi::Errors))]
pub async fn rebuild(State(state): State<AppState>, Caller(principal): Caller, headers: HeaderMap, body: Body) -> Result<Json<RebuildSummary>, HttpError> {
    let request: RebuildRequest = parse_json(&read_body(&headers, body, MAX_JSON_BYTES).await?)?;
    let pods = state.pods.as_deref().ok_or_else(|| {
        HttpError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StoreUnavailable.as_str(), "this server has no proof-of-delivery store to rebuild reports from")
    })?;
    let deps = RebuildDeps {
        store: state.store.as_ref(),
        pods,
        tracking: state.tracking.as_ref(),
        reports: state.reports.as_ref(),
        clock: state.clock.as_ref(),
        ping_retention: state.tracking_settings.ping_retention,
    };
    Ok(Json(reports::rebuild(deps, &principal, &request).await?))
}
