//! The Lambda handler, in process, fed the checked-in API Gateway (HTTP API,
//! payload 2.0) events under tests/fixtures, against a real moto_server.

use std::sync::Arc;

use doorstep_core::ports::{FixedClock, Principal};
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::{Clock, Store};
use doorstep_domain::auth::Role;
use doorstep_lambda_tracking::{Settings, app, state};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt as _;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-22 18:00 UTC);

#[derive(Debug)]
struct Reply {
    status: u64,
    body: String,
    json: Value,
}

/// Sends one fixture (with `{{NAME}}` placeholders filled in) through the handler.
async fn check(router: &axum::Router, fixture: &str, fill: &[(&str, &str)]) -> Reply {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    for (name, value) in fill {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let event: LambdaRequest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{fixture} is not an API Gateway event: {e}"));
    let response = Adapter::from(router.clone()).oneshot(LambdaEvent::new(event, Context::default())).await.expect("handler answers");
    let raw = serde_json::to_value(&response).expect("response serialises");
    let body = raw["body"].as_str().unwrap_or_default().to_owned();
    Reply { status: raw["statusCode"].as_u64().expect("statusCode"), json: serde_json::from_str(&body).unwrap_or(Value::Null), body }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_events_upload_pings_read_positions_and_track_on_dynamodb() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-lambda-tracking");
    store.ensure_table().await.expect("table");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let business = doorstep_store_conformance::tracking::fleet_business("org-a", 2);
    store.import_business(&business).await.expect("import");
    let routes = doorstep_store_conformance::tracking::publish_fleet_plans(&store, clock.as_ref(), &business, NOW.date()).await;
    let (driver, route) = routes[0].clone();

    let settings = Settings::new(b"a test secret of at least 32 bytes..".to_vec(), TrackingSettings::default()).expect("settings");
    let state = state(Arc::new(store.clone()), clock.clone(), &settings);
    let org = business.organisation.id.clone();
    let token_of = |role: Role, subject: &str| {
        state.issuer.issue(&Principal { org: org.clone(), role, subject: subject.into() }, NOW).expect("token").token
    };
    let driver_token = token_of(Role::Driver, driver.as_str());
    let dispatcher_token = token_of(Role::Dispatcher, "usr_dispatcher");
    let router = app(state);

    let uploaded = check(&router, "post_pings.json", &[("ACCESS_TOKEN", &driver_token), ("ROUTE_ID", route.as_str())]).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let outcomes: Vec<&str> = uploaded.json["results"].as_array().expect("results").iter().map(|r| r["outcome"].as_str().expect("outcome")).collect();
    assert_eq!(outcomes, ["accepted", "accepted", "rejected", "duplicate"]);
    assert_eq!(uploaded.json["results"][2]["error"]["field"], "pings[2].lat");
    assert_eq!(uploaded.json["latest"]["seq"], 42);
    let again = check(&router, "post_pings.json", &[("ACCESS_TOKEN", &driver_token), ("ROUTE_ID", route.as_str())]).await;
    let outcomes: Vec<&str> = again.json["results"].as_array().expect("results").iter().map(|r| r["outcome"].as_str().expect("outcome")).collect();
    assert_eq!(outcomes, ["duplicate", "duplicate", "rejected", "duplicate"], "a retried upload stores nothing twice");

    let positions = check(&router, "get_positions.json", &[("ACCESS_TOKEN", &dispatcher_token)]).await;
    assert_eq!(positions.status, 200, "{}", positions.body);
    assert_eq!(positions.json["positions"].as_array().map(Vec::len), Some(1));
    assert_eq!(positions.json["positions"][0]["driver_id"], driver.as_str());
    let refused = check(&router, "get_positions.json", &[("ACCESS_TOKEN", &driver_token)]).await;
    assert_eq!(refused.status, 403, "drivers do not see the board: {}", refused.body);

    let unknown = check(&router, "get_tracking.json", &[("TOKEN", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json["code"], "not_found");
}
