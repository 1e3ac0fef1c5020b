//! The OpenAPI 3.1 description of the whole API, generated from the handlers.

use axum::Json;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder, ResponsesBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;

/// The error body of every endpoint: `{code, message, field, details}`.
#[derive(Debug, ToSchema)]
#[schema(as = ApiError)]
#[allow(dead_code)]
pub struct ErrorSchema {
    /// Machine code, e.g. `validation_failed`, `version_conflict`.
    code: String,
    message: String,
    /// The single field at fault, when there is exactly one.
    field: Option<String>,
    /// Every field problem, each with its path (`orders[3].address.lat`).
    details: Vec<FieldErrorSchema>,
}

#[derive(Debug, ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    path: String,
    code: String,
    message: String,
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
        openapi_json,
    ),
    components(schemas(ErrorSchema, FieldErrorSchema, crate::auth::Me)),
    modifiers(&Security),
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "This document", body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
