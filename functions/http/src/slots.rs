//! Delivery slots for a shop's checkout: which slots of a day an address can
//! still book (`GET /api/slots`). Booking is `slot` on `POST /api/orders`.

use axum::extract::{Request, State};
use axum::routing::get;
use axum::{Json, Router};
use doorstep_core::usecases::slots;
use doorstep_domain::api::ErrorCode;
use doorstep_domain::LatLon;
use doorstep_domain::slots::SlotList;
use serde::Deserialize;

use crate::extract::{Caller, parse_query};
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/slots", get(list_slots))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotQuery {
    date: String,
    lat: f64,
    lon: f64,
}

#[utoipa::path(get, path = "/api/slots", tag = "slots", security(("bearer" = []), ("api_key" = [])),
    params(
        ("date" = String, Query, description = "YYYY-MM-DD, the organisation's local day"),
        ("lat" = f64, Query, description = "The delivery address's latitude"),
        ("lon" = f64, Query, description = "The delivery address's longitude"),
    ),
    responses((status = 200, description = "SlotList {date, zone, slots: [{id, start, end, window, available, reason, booked, capacity}]}; reason is zone_full, no_vehicle_can_reach (checked by insertion feasibility against the day's orders and plan), outside_zones or past", body = SlotList), crate::openapi::Errors))]
pub async fn list_slots(State(state): State<AppState>, Caller(principal): Caller, request: Request) -> Result<Json<SlotList>, HttpError> {
    let query: SlotQuery = parse_query(request.uri())?;
    let date = time::Date::parse(&query.date, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| HttpError::unreadable(ErrorCode::InvalidQuery, Some("date".into()), format!("{:?} is not YYYY-MM-DD", query.date)))?;
    let point = LatLon { lat: query.lat, lon: query.lon };
    Ok(Json(slots::list(state.store.as_ref(), state.clock.as_ref(), &principal, date, point).await?))
}
