//! The OpenAPI 3.1 description of the whole API, generated from the handlers.

use axum::Json;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{RefOr, ResponseBuilder, ResponsesBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use doorstep_domain::dispatch::CreatedOrders;
use doorstep_domain::org::{NewDepot, NewDriver, OrgSettings};
use doorstep_domain::vehicle::NewVehicle;
use doorstep_domain::slots::SlotChoice;
use doorstep_domain::time::LocalWindow;
use doorstep_domain::{NewOrder, Order, Plan};

use crate::AppState;

/// `POST /api/orders` body: one order, or a batch `{orders: [...]}` (told
/// apart by the `orders` key). Each order may carry a delivery `slot`.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OrderIntake {
    One(OrderIntakeItem),
    Batch(OrderIntakeBatch),
}

/// A [`NewOrder`] plus the optional `slot` the handler takes off before
/// parsing it: NewOrder's own schema (it rejects unknown fields) with `slot`
/// added, rather than `allOf`, whose NewOrder part would forbid `slot`.
#[derive(Debug)]
pub struct OrderIntakeItem;

/// Only here to generate the `slot` property's schema.
#[derive(ToSchema)]
#[allow(dead_code)]
struct SlotField {
    /// Becomes the order's time window if still available (else 409 naming `slot`).
    slot: Option<SlotRef>,
}

impl PartialSchema for OrderIntakeItem {
    fn schema() -> RefOr<Schema> {
        let mut schema = NewOrder::schema();
        if let (RefOr::T(Schema::Object(order)), RefOr::T(Schema::Object(field))) = (&mut schema, SlotField::schema()) {
            order.properties.extend(field.properties);
            order.description = Some("A NewOrder, optionally with the delivery `slot` to book.".into());
        }
        schema
    }
}

impl ToSchema for OrderIntakeItem {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((SlotRef::name().into(), SlotRef::schema()));
        SlotRef::schemas(schemas);
        NewOrder::schemas(schemas);
    }
}

/// At most 1,000 orders, written all or nothing.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OrderIntakeBatch {
    orders: Vec<OrderIntakeItem>,
}

/// A delivery slot from `GET /api/slots`: its id or its date and start.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum SlotRef {
    /// The slot id, `YYYY-MM-DDTHH:MM`.
    Id(String),
    Choice(SlotChoice),
}

/// `GET /api/orders`: one page of `Page<Order>`, spelled out so that items
/// refer to `Order` (utoipa inlines generic arguments).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct OrderPage {
    items: Vec<Order>,
    /// Opaque; absent on the last page.
    next_cursor: Option<String>,
}

/// `GET /api/plans`: one page of `Page<Plan>`, spelled out like [`OrderPage`].
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PlanPage {
    items: Vec<Plan>,
    /// Opaque; absent on the last page.
    next_cursor: Option<String>,
}

/// `POST /api/orders` answer: the order (one) or `{orders}` (batch).
#[derive(Debug, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // a schema only, never built
pub enum OrderIntakeResult {
    One(Order),
    Batch(CreatedOrders),
}

/// A JSON merge patch (RFC 7396) over `$new`: the same properties, none
/// required; derived from `$new`'s own schema so the two cannot drift.
macro_rules! merge_patch {
    ($(#[$doc:meta])* $name:ident over $new:ty, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let mut schema = <$new as PartialSchema>::schema();
                if let RefOr::T(Schema::Object(object)) = &mut schema {
                    object.required.clear();
                    object.description = Some($description.into());
                }
                schema
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$new as ToSchema>::schemas(schemas);
            }
        }
    };
}

merge_patch!(DepotPatch over NewDepot, "JSON merge patch (RFC 7396) over NewDepot: send only the fields to change; null clears an optional field.");
merge_patch!(VehiclePatch over NewVehicle, "JSON merge patch (RFC 7396) over NewVehicle: send only the fields to change; null clears an optional field; {\"active\": false} deactivates.");
merge_patch!(DriverPatch over NewDriver, "JSON merge patch (RFC 7396) over NewDriver: send only the fields to change; null clears an optional field; {\"active\": false} deactivates.");
merge_patch!(OrgSettingsPatch over OrgSettings, "Only the settings to change: tile_url ({z}/{x}/{y}); osrm_table_url and geocoder_url http(s) or null; currency; notifications...");

/// `PATCH /api/organisation`: a JSON merge patch (RFC 7396). Send only the
/// fields to change; `settings` merges field by field too.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct OrganisationPatch {
    name: Option<String>,
    /// IANA zone, e.g. `Europe/Paris`.
    timezone: Option<String>,
    default_service_time_s: Option<u32>,
    default_time_windows: Option<Vec<LocalWindow>>,
    settings: Option<OrgSettingsPatch>,
}

/// An OpenAPI 3.1 document (this one): see the OpenAPI specification.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct OpenApiDocument {
    /// `3.1.x`.
    openapi: String,
    info: serde_json::Map<String, serde_json::Value>,
    paths: serde_json::Map<String, serde_json::Value>,
    components: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The error answers every endpoint may give, all with the one error shape.
pub struct Errors;

impl utoipa::IntoResponses for Errors {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let cases = [
            ("400", "Malformed JSON or query (invalid_json, invalid_query), with the field path"),
            ("401", "No valid credential (unauthorized)"),
            ("403", "The caller's role may not do this (forbidden)"),
            ("404", "Not found in the caller's organisation (not_found)"),
            ("409", "Version conflict, illegal transition, or Idempotency-Key reused with another body"),
            ("413", "Body over the limit: 1 MiB JSON, 5 MiB CSV (payload_too_large)"),
            ("422", "Validation failed; details lists every field problem"),
            ("429", "Too many failed sign-in attempts (rate_limited); see Retry-After"),
            ("503", "The store is not answering (store_unavailable)"),
        ];
        let mut builder = ResponsesBuilder::new();
        for (status, description) in cases {
            builder = builder.response(
                status,
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", utoipa::openapi::ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("ApiError"))).build())
                    .build(),
            );
        }
        builder.build().into()
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT (from /api/auth/login or /api/auth/driver) or an API key dsk_...")
                    .build(),
            ),
        );
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Doorstep API", description = "Last-mile delivery: order intake, dispatch and tracking. Every error is {code, message, field, details}."),
    paths(
        crate::health::get_health,
        crate::config::get_config,
        crate::auth::login,
        crate::auth::driver_sign_in,
        crate::auth::me,
        crate::auth::issue_sign_in_codes,
        crate::auth::create_api_key,
        crate::auth::list_api_keys,
        crate::auth::revoke_api_key,
        crate::orders::create_orders,
        crate::orders::list_orders,
        crate::orders::import_csv,
        crate::orders::get_order,
        crate::orders::patch_order,
        crate::orders::cancel_order,
        crate::orders::order_event,
        crate::plans::save_plan,
        crate::plans::list_plans,
        crate::plans::get_plan,
        crate::plans::publish_plan,
        crate::plans::update_route,
        crate::plans::reassign_stop,
        crate::plans::driver_route,
        crate::fleet::get_organisation,
        crate::fleet::list_depots,
        crate::fleet::list_vehicles,
        crate::fleet::list_drivers,
        crate::fleet::patch_organisation,
        crate::fleet::create_depot,
        crate::fleet::patch_depot,
        crate::fleet::create_vehicle,
        crate::fleet::patch_vehicle,
        crate::fleet::create_driver,
        crate::fleet::patch_driver,
        crate::tracking::upload_pings,
        crate::tracking::positions,
        crate::tracking::trail,
        crate::tracking::route_progress,
        crate::tracking::public_view,
        crate::tracking::set_note,
        crate::tracking::rate,
        crate::pod::start_route,
        crate::pod::arrive,
        crate::pod::complete,
        crate::pod::fail,
        crate::pod::verify_otp,
        crate::pod::request_upload,
        crate::pod::order_pod,
        crate::slots::list_slots,
        crate::reports::get_report,
        crate::reports::export_csv,
        crate::reports::rebuild,
        openapi_json,
    ),
    components(schemas(
        doorstep_domain::ApiError,
        doorstep_domain::FieldError,
        crate::auth::Me,
        OrderIntake,
        OrderIntakeResult,
        OrderPage,
        PlanPage,
        OrganisationPatch,
        DepotPatch,
        VehiclePatch,
        DriverPatch,
        doorstep_core::usecases::reports::RebuildRequest,
        doorstep_core::usecases::reports::RebuildSummary,
        doorstep_core::usecases::reassign::ReassignStop,
        doorstep_core::usecases::reassign::ReassignOutcome,
        OpenApiDocument,
        crate::tracking::Positions,
        crate::tracking::Trail,
        doorstep_domain::auth::LoginRequest,
        doorstep_domain::auth::DriverSignInRequest,
        doorstep_domain::auth::TokenResponse,
        doorstep_domain::auth::SignInCodes,
        doorstep_domain::auth::NewApiKey,
        doorstep_domain::auth::ApiKeyCreated,
        doorstep_domain::auth::ApiKeySummary,
        doorstep_domain::api::ClientConfig,
        doorstep_domain::api::Health,
        doorstep_domain::api::OrderEventRequest,
        doorstep_domain::api::PlanVersion,
        doorstep_domain::api::BatchCreateOrders,
        doorstep_domain::Order,
        doorstep_domain::NewOrder,
        doorstep_domain::OrderPatch,
        doorstep_domain::dispatch::CancelOrder,
        doorstep_domain::dispatch::CreatedOrders,
        doorstep_domain::dispatch::CsvImportRequest,
        doorstep_domain::dispatch::CsvImportReport,
        doorstep_domain::dispatch::SavePlanRequest,
        doorstep_domain::dispatch::PublishedPlan,
        doorstep_domain::dispatch::UpdateRoute,
        doorstep_domain::dispatch::DriverRoute,
        doorstep_domain::Plan,
        doorstep_domain::Organisation,
        doorstep_domain::Depot,
        doorstep_domain::Driver,
        doorstep_domain::Vehicle,
        doorstep_domain::org::NewDepot,
        doorstep_domain::org::NewDriver,
        doorstep_domain::vehicle::NewVehicle,
        doorstep_domain::tracking::PingBatch,
        doorstep_domain::tracking::PingBatchResult,
        doorstep_domain::tracking::RouteProgress,
        doorstep_domain::tracking::TrackingView,
        doorstep_domain::tracking::SetCustomerNote,
        doorstep_domain::tracking::RateDelivery,
        doorstep_domain::pod::StartRoute,
        doorstep_domain::pod::RouteStartOutcome,
        doorstep_domain::pod::ArriveAtStop,
        doorstep_domain::pod::VisitRecord,
        doorstep_domain::pod::CompleteStop,
        doorstep_domain::pod::StopOutcome,
        doorstep_domain::pod::FailStop,
        doorstep_domain::pod::VerifyOtp,
        doorstep_domain::pod::OtpStatus,
        doorstep_domain::pod::UploadRequest,
        doorstep_domain::pod::UploadTicket,
        doorstep_domain::pod::OrderPod,
        doorstep_domain::reports::Report,
        doorstep_domain::slots::SlotList,
    )),
    modifiers(&Security),
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "This document", body = OpenApiDocument)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
