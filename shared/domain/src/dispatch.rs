//! Request and response bodies for order intake, CSV import and dispatch
//! (saving, publishing and editing plans made in the browser).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::geo::LatLon;
use crate::ids::{DepotId, DriverId, OrderId, PlanId, StopId, TrackingToken, VehicleId};
use crate::order::Order;
use crate::plan::{Plan, Route, RouteTotals, StopKind, Unassigned};
use crate::time::{iso_date, rfc3339};
use crate::validation::{Path, Report, Validate, codes};

/// `POST /api/orders` with a batch: the orders as stored, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedOrders {
    pub orders: Vec<Order>,
}

/// `POST /api/orders/{id}/cancel`: the version the caller read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    pub version: u64,
}

/// One problem with one CSV row. `row` is the line in the file as a
/// spreadsheet numbers it: the header is row 1, the first order row 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    pub row: usize,
    /// The CSV header at fault, when one is.
    #[serde(default)]
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// `POST /api/orders/import`: what was read, written and refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsvImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Orders written (empty when nothing was written).
    pub created: Vec<OrderId>,
    pub errors: Vec<RowError>,
    /// The CSV header chosen for each order field, e.g. `address.postcode` -> `Zip`.
    pub mapping: Vec<(String, String)>,
}

/// `POST /api/plans`: a plan the browser's optimizer produced. The server
/// assigns plan, route and stop ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SavePlanRequest {
    pub depot_id: DepotId,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub routes: Vec<NewRoute>,
    #[serde(default)]
    pub unassigned: Vec<Unassigned>,
}

/// Most routes one plan may hold (the largest supported fleet, with room).
pub const MAX_PLAN_ROUTES: usize = 100;
/// Most stops one plan may hold.
pub const MAX_PLAN_STOPS: usize = 2_000;

impl Validate for SavePlanRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let rp = path.field("routes");
        if self.routes.is_empty() {
            report.push(&rp, codes::REQUIRED, "must contain at least one route");
        }
        report.max_items(&rp, self.routes.len(), MAX_PLAN_ROUTES);
        let stops: usize = self.routes.iter().map(|r| r.stops.len()).sum();
        if stops > MAX_PLAN_STOPS {
            report.push(&rp, codes::TOO_MANY, format!("hold {stops} stops; at most {MAX_PLAN_STOPS} allowed"));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRoute {
    pub vehicle_id: VehicleId,
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    #[serde(with = "rfc3339")]
    pub planned_start: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub planned_end: OffsetDateTime,
    pub stops: Vec<NewStop>,
    #[serde(default)]
    pub totals: RouteTotals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewStop {
    pub order_id: OrderId,
    pub kind: StopKind,
    /// `None`: the order's geocoded address (or pickup address).
    #[serde(default)]
    pub location: Option<LatLon>,
    #[serde(with = "rfc3339")]
    pub planned_arrival: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub planned_departure: OffsetDateTime,
}

/// `PUT /api/plans/{id}/routes/{route_id}`: the route's new stop sequence
/// (stops may come from other routes of the plan) with re-planned times, and
/// optionally another driver. Stops already started cannot move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateRoute {
    /// The plan version the caller read.
    pub version: u64,
    /// Absent: keep the driver; `null` is not accepted (a route needs one to publish).
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    pub stops: Vec<StopTiming>,
    #[serde(default, with = "rfc3339::option")]
    pub planned_end: Option<OffsetDateTime>,
}

impl Validate for UpdateRoute {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let sp = path.field("stops");
        report.max_items(&sp, self.stops.len(), MAX_PLAN_STOPS);
        for i in 1..self.stops.len() {
            if self.stops[..i].iter().any(|s| s.stop_id == self.stops[i].stop_id) {
                report.push(&sp.index(i).field("stop_id"), codes::DUPLICATE, "listed twice");
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StopTiming {
    pub stop_id: StopId,
    #[serde(with = "rfc3339")]
    pub planned_arrival: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub planned_departure: OffsetDateTime,
}

/// A customer's tracking link for one stop, shown once when the plan is
/// published (the server keeps only a hash of the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedTrackingLink {
    pub stop_id: StopId,
    pub order_id: OrderId,
    pub token: TrackingToken,
}

/// `POST /api/plans/{id}/publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedPlan {
    pub plan: Plan,
    pub tracking: Vec<IssuedTrackingLink>,
}

/// `GET /api/drivers/me/route?date=`: a driver's route with its orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverRoute {
    pub plan_id: PlanId,
    pub plan_version: u64,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub route: Route,
    /// The orders the route's stops serve, in stop order, each once.
    pub orders: Vec<Order>,
}

/// `POST /api/orders/import` as JSON, for clients that cannot send a raw CSV
/// body. The same options are query parameters when the body is `text/csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CsvImportRequest {
    pub csv: String,
    /// Order field -> CSV header, overriding the recognised headers.
    #[serde(default)]
    pub mapping: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub partial: bool,
    #[serde(default)]
    pub country: Option<String>,
    /// Day for `HH:MM` window times, `YYYY-MM-DD`.
    #[serde(default, with = "iso_date::option")]
    pub date: Option<Date>,
    /// Offset for `HH:MM` window times, e.g. `+01:00`.
    #[serde(default)]
    pub utc_offset: Option<String>,
}
