//! The API routers driven in-process through tower, on a real (in-memory) SQLite store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use doorstep_core::Store;
use doorstep_http::{AppState, ClientSettings, api_router};
use doorstep_store_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn state_with(business: Option<&str>) -> AppState {
    let store = SqliteStore::open_in_memory().expect("store");
    if let Some(org) = business {
        store.import_business(&doorstep_store_conformance::sample_business(org)).await.expect("import");
    }
    AppState {
        store: Arc::new(store),
        clock: Arc::new(doorstep_core::ports::FixedClock(time::OffsetDateTime::UNIX_EPOCH)),
        client: ClientSettings::default(),
    }
}

/// Sends one GET and returns the status and JSON body.
async fn check(state: AppState, path: &str) -> (StatusCode, Value) {
    let response = api_router(state)
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path} did not return JSON ({e}): {bytes:?}"));
    (status, json)
}

#[tokio::test]
async fn health_reports_ok_and_the_sqlite_store() {
    let (status, body) = check(state_with(None).await, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], "sqlite");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn config_without_an_organisation_defaults_to_openstreetmap() {
    let (status, body) = check(state_with(None).await, "/api/config").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["tile_url"].as_str().expect("tile_url").contains("openstreetmap.org"));
    assert_eq!(body["depots"], serde_json::json!([]));
}

#[tokio::test]
async fn config_centres_the_map_on_the_organisations_depot() {
    let (status, body) = check(state_with(Some("org-lyon")).await, "/api/config").await;
    assert_eq!(status, StatusCode::OK);
    let depot = &body["depots"][0];
    assert_eq!(body["map_center"]["lat"], depot["lat"]);
    assert_eq!(body["map_center"]["lon"], depot["lon"]);
    assert!(body["org_name"].is_string());
}

#[tokio::test]
async fn unknown_api_route_returns_the_error_shape() {
    let (status, body) = check(state_with(None).await, "/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_route");
    assert!(body["message"].as_str().expect("message").contains("/api/nope"));
}
