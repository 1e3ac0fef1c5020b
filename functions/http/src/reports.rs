//! Delivery reports for dispatchers: the metrics as JSON and each table as CSV.

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use doorstep_core::usecases::reports;
use doorstep_domain::api::ErrorCode;
use doorstep_domain::reports::{Report, ReportQuery};
use doorstep_domain::time::iso_date;
use doorstep_domain::DriverId;
use serde::Deserialize;
use time::Date;

use crate::extract::{Caller, parse_query};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/reports", get(get_report)).route("/api/reports/export/{table}", get(export_csv))
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
    responses((status = 200, description = "Report", body = Object), crate::openapi::Errors))]
pub async fn get_report(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<Report>, HttpError> {
    let query = report_query(&request)?;
    Ok(Json(reports::report(state.reports.as_ref(), &principal, &query).await?))
}

#[utoipa::path(get, path = "/api/reports/export/{table}", tag = "reports", security(("bearer" = [])),
    params(("table" = String, Path, description = "shifts, routes, failure_reasons, on_time_by_day, cash_on_delivery or ratings"),
        ("from" = String, Query), ("to" = String, Query), ("drivers" = Option<String>, Query)),
    responses((status = 200, description = "text/csv", body = String), crate::openapi::Errors))]
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
