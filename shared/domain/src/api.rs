//! The HTTP contract shared by every endpoint: one error shape, health,
//! request bodies and paging.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::geo::LatLon;
use crate::ids::{DepotId, OrderId, VehicleId};
use crate::lifecycle::{IllegalTransition, OrderEvent, OrderState};
use crate::order::{Order, PatchError};
use crate::org::{DEFAULT_TILE_ATTRIBUTION, DEFAULT_TILE_URL};
use crate::time::iso_date;
use crate::validation::{
    FieldError, Path, Report, Validate, ValidationErrors, codes, validate_batch,
};

pub use crate::order::{NewOrder, OrderPatch};

/// The error codes Doorstep itself uses. On the wire `ApiError.code` is a
/// plain string so a newer server may add codes without breaking older
/// clients; match on [`ApiError::known_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Body parsed but failed validation; see `details`.
    ValidationFailed,
    /// Body is not JSON of the expected shape.
    InvalidJson,
    /// Query string is malformed.
    InvalidQuery,
    Unauthorized,
    Forbidden,
    NotFound,
    /// No API endpoint at this path.
    UnknownRoute,
    /// Optimistic concurrency: the stored version differs from the one sent.
    VersionConflict,
    /// The lifecycle does not allow this event now.
    IllegalTransition,
    /// Creating something that already exists (same id).
    Conflict,
    PayloadTooLarge,
    RateLimited,
    /// The data store is not answering.
    StoreUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        Self::ValidationFailed,
        Self::InvalidJson,
        Self::InvalidQuery,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::UnknownRoute,
        Self::VersionConflict,
        Self::IllegalTransition,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::StoreUnavailable,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::InvalidJson => "invalid_json",
            Self::InvalidQuery => "invalid_query",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::UnknownRoute => "unknown_route",
            Self::VersionConflict => "version_conflict",
            Self::IllegalTransition => "illegal_transition",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::StoreUnavailable => "store_unavailable",
            Self::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn http_status(self) -> u16 {
        match self {
            Self::ValidationFailed => 422,
            Self::InvalidJson | Self::InvalidQuery => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound | Self::UnknownRoute => 404,
            Self::VersionConflict | Self::IllegalTransition | Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::StoreUnavailable => 503,
            Self::Internal => 500,
        }
    }
}

impl From<ErrorCode> for String {
    fn from(c: ErrorCode) -> String {
        c.as_str().to_owned()
    }
}

/// The one error body every endpoint returns:
/// `{"code", "message", "field", "details"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{code}: {message}")]
pub struct ApiError {
    /// Snake-case machine code; see [`ErrorCode`] for Doorstep's own.
    pub code: String,
    /// Human-readable, English.
    pub message: String,
    /// The single field at fault, when there is exactly one.
    #[serde(default)]
    pub field: Option<String>,
    /// Every field problem (validation failures); empty otherwise.
    #[serde(default)]
    pub details: Vec<FieldError>,
}

impl ApiError {
    /// `code` is a string or an [`ErrorCode`].
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    pub fn known_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.code)
    }

    /// Status for this error; 500 for codes this crate does not know.
    pub fn http_status(&self) -> u16 {
        self.known_code().map_or(500, ErrorCode::http_status)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} {id} not found"))
    }

    pub fn internal() -> Self {
        // Never leak internals; the server logs the cause.
        Self::new(ErrorCode::Internal, "internal error")
    }

    pub fn version_conflict(expected: u64, actual: u64) -> Self {
        Self {
            field: Some("version".into()),
            ..Self::new(
                ErrorCode::VersionConflict,
                format!(
                    "sent version {expected} but the stored version is {actual}; reload and retry"
                ),
            )
        }
    }

    /// From a serde_json error while reading a request body.
    pub fn invalid_json(err: &serde_json::Error) -> Self {
        Self::new(
            ErrorCode::InvalidJson,
            format!("invalid request body: {err}"),
        )
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errs: ValidationErrors) -> Self {
        let field = match errs.0.as_slice() {
            [only] if !only.path.is_empty() => Some(only.path.clone()),
            _ => None,
        };
        Self {
            code: ErrorCode::ValidationFailed.into(),
            message: errs.to_string(),
            field,
            details: errs.0,
        }
    }
}

impl From<IllegalTransition> for ApiError {
    fn from(e: IllegalTransition) -> Self {
        Self {
            field: Some("event".into()),
            ..Self::new(ErrorCode::IllegalTransition, e.to_string())
        }
    }
}

impl From<PatchError> for ApiError {
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::VersionConflict { expected, actual } => {
                Self::version_conflict(expected, actual)
            }
            PatchError::NotEditable { .. } => {
                Self::new(ErrorCode::IllegalTransition, e.to_string())
            }
            PatchError::Invalid(v) => v.into(),
        }
    }
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// [`Health::OK`] or [`Health::DEGRADED`] (a dependency such as the
    /// store is failing).
    pub status: String,
    /// The server's crate version.
    pub version: String,
    /// Store backend: `sqlite`, `dynamodb` or `memory`.
    pub store: String,
}

impl Health {
    pub const OK: &'static str = "ok";
    pub const DEGRADED: &'static str = "degraded";

    pub fn is_ok(&self) -> bool {
        self.status == Self::OK
    }
}

/// A point for the web map (same shape as [`LatLon`]).
pub type MapPoint = LatLon;

/// A depot marker on the web map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepotPin {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// `GET /api/config`: what the browser needs before anything else. Every
/// field has a default so the map renders even before (or without) it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ClientConfig {
    pub tile_url: String,
    pub tile_attribution: String,
    pub org_name: Option<String>,
    pub depots: Vec<DepotPin>,
    pub map_center: MapPoint,
    /// Leaflet zoom (fractional zoom is allowed).
    pub map_zoom: f64,
    /// How dispatchers sign in.
    pub auth: ClientAuth,
}

/// How the web app signs a dispatcher in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ClientAuth {
    /// `POST /api/auth/login`, Doorstep's own tokens.
    #[default]
    Local,
    /// A Cognito user pool: the browser calls `InitiateAuth` itself and
    /// sends the pool's ID token as the bearer.
    Cognito {
        region: String,
        user_pool_id: String,
        client_id: String,
        /// Where the browser sends Cognito's API calls, when not
        /// `https://cognito-idp.{region}.amazonaws.com/` (a local test server).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
}

impl ClientAuth {
    /// The Cognito API URL the browser posts to (`None` for local sign-in).
    pub fn cognito_endpoint(&self) -> Option<String> {
        match self {
            Self::Local => None,
            Self::Cognito { endpoint: Some(e), .. } => Some(e.clone()),
            Self::Cognito { region, .. } => Some(format!("https://cognito-idp.{region}.amazonaws.com/")),
        }
    }
}

impl Default for ClientConfig {
    /// OpenStreetMap tiles and a whole-world view.
    fn default() -> Self {
        Self {
            tile_url: DEFAULT_TILE_URL.into(),
            tile_attribution: DEFAULT_TILE_ATTRIBUTION.into(),
            org_name: None,
            depots: Vec::new(),
            map_center: LatLon::new(20.0, 0.0),
            map_zoom: 2.0,
            auth: ClientAuth::Local,
        }
    }
}

/// One page of a list. `next_cursor` is opaque; absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

/// `GET /orders` query. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    #[serde(default)]
    pub state: Option<OrderState>,
    #[serde(default)]
    pub depot_id: Option<DepotId>,
    /// Orders with a time window (on any stop) starting on this local date,
    /// or with no window at all. `YYYY-MM-DD`.
    #[serde(default, with = "iso_date::option")]
    pub date: Option<Date>,
    /// Case-insensitive substring of recipient name, address line,
    /// external reference, barcode or id.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl OrderQuery {
    pub fn limit_or_default(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE)
    }

    /// The filters (not paging) as a predicate, for stores that filter in memory.
    pub fn matches(&self, order: &Order) -> bool {
        if self.state.is_some_and(|s| s != order.state()) {
            return false;
        }
        if let Some(d) = &self.depot_id
            && order.depot_id.as_ref() != Some(d)
        {
            return false;
        }
        if let Some(date) = self.date {
            let windows = order
                .time_windows
                .iter()
                .chain(order.pickup.iter().flat_map(|p| p.time_windows.iter()));
            let mut any = false;
            let mut on_date = false;
            for w in windows {
                any = true;
                on_date |= w.start.date() == date;
            }
            if any && !on_date {
                return false;
            }
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            let hay = [
                Some(order.id.as_str()),
                Some(order.recipient.name.as_str()),
                Some(order.address.line1.as_str()),
                order.external_ref.as_deref(),
                order.barcode.as_deref(),
            ];
            if !hay
                .into_iter()
                .flatten()
                .any(|h| h.to_lowercase().contains(&q))
            {
                return false;
            }
        }
        true
    }
}

impl Validate for OrderQuery {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if let Some(l) = self.limit
            && (l == 0 || l > MAX_PAGE_SIZE)
        {
            report.push(
                &path.field("limit"),
                codes::OUT_OF_RANGE,
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            );
        }
        report.optional_text(&path.field("q"), self.q.as_deref(), 100);
        report.optional_text(&path.field("cursor"), self.cursor.as_deref(), 500);
    }
}

/// `POST /orders/batch`: validated as a whole, paths `orders[3].address.lat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchCreateOrders {
    pub orders: Vec<NewOrder>,
}

pub const MAX_BATCH_ORDERS: usize = 1_000;

impl Validate for BatchCreateOrders {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let op = path.field("orders");
        if self.orders.is_empty() {
            report.push(&op, codes::REQUIRED, "must contain at least one order");
        }
        report.max_items(&op, self.orders.len(), MAX_BATCH_ORDERS);
        self.orders.validate_at(&op, report);
    }
}

impl BatchCreateOrders {
    /// Same as `validate`, spelled for clarity at call sites.
    pub fn validate_all(&self) -> Result<(), ValidationErrors> {
        validate_batch("orders", &self.orders)
    }
}

/// `POST /orders/{id}/events`: a lifecycle event for the order at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderEventRequest {
    pub version: u64,
    pub event: OrderEvent,
}

impl Validate for OrderEventRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.event.validate_at(&path.field("event"), report);
    }
}

/// `POST /plans`: ask the optimizer for a draft plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePlanRequest {
    pub depot_id: DepotId,
    #[serde(with = "iso_date")]
    pub date: Date,
    /// Empty: every active vehicle of the depot.
    #[serde(default)]
    pub vehicle_ids: Vec<VehicleId>,
    /// Empty: every `created` order of the depot for the date.
    #[serde(default)]
    pub order_ids: Vec<OrderId>,
    /// Optimizer time budget; the server caps it.
    #[serde(default)]
    pub time_limit_s: Option<u32>,
}

impl Validate for CreatePlanRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        for (name, dupes) in [
            ("vehicle_ids", first_duplicate(&self.vehicle_ids)),
            ("order_ids", first_duplicate(&self.order_ids)),
        ] {
            if let Some(i) = dupes {
                report.push(&path.field(name).index(i), codes::DUPLICATE, "listed twice");
            }
        }
        if let Some(t) = self.time_limit_s
            && (t == 0 || t > 600)
        {
            report.push(
                &path.field("time_limit_s"),
                codes::OUT_OF_RANGE,
                "must be between 1 and 600",
            );
        }
    }
}

fn first_duplicate<T: PartialEq>(items: &[T]) -> Option<usize> {
    (1..items.len()).find(|&i| items[..i].contains(&items[i]))
}

/// `POST /plans/{id}/publish` and `/unpublish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanVersion {
    pub version: u64,
}
