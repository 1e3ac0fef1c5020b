//! The Lambda handler, in process, fed the checked-in API Gateway (HTTP API,
//! payload 2.0) events under tests/fixtures, against a real moto_server:
//! the same `Adapter` that `lambda_http::run` wraps around the router turns
//! each event into a request and the answer into API Gateway's response.

use std::sync::Arc;

use doorstep_core::adapters::Argon2Passwords;
use doorstep_core::crypto::sha256_hex;
use doorstep_core::ports::{ApiKeyRecord, FixedClock};
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::{Clock, Store};
use doorstep_domain::{OrderId, OrgId};
use doorstep_lambda_orders::{Settings, app, state};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt as _;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-22 18:00 UTC);
const API_KEY: &str = "dsk_fixture-integration-key-0123456789abcdef";

/// API Gateway's answer: status, headers and the body parsed as JSON.
#[derive(Debug)]
struct Reply {
    status: u64,
    headers: Value,
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
    let adapter = Adapter::from(router.clone());
    let response = adapter.oneshot(LambdaEvent::new(event, Context::default())).await.expect("handler answers");
    let raw = serde_json::to_value(&response).expect("response serialises");
    assert_eq!(raw["isBase64Encoded"], false, "{fixture}: JSON answers are sent as text");
    let body = raw["body"].as_str().unwrap_or_default();
    Reply {
        status: raw["statusCode"].as_u64().expect("statusCode"),
        headers: raw["headers"].clone(),
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_events_create_read_and_isolate_orders_on_dynamodb() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-lambda-orders");
    store.ensure_table().await.expect("table");
    let a = doorstep_store_conformance::sample_business("org-a");
    let b = doorstep_store_conformance::sample_business("org-b");
    store.import_business(&a).await.expect("import a");
    store.import_business(&b).await.expect("import b");
    let mut only_in_b = b.orders[0].clone();
    only_in_b.id = OrderId::new("ord-only-in-b").expect("id");
    store.create_orders(&b.organisation.id, std::slice::from_ref(&only_in_b), None).await.expect("b's order");

    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let settings = Settings::new(b"a test secret of at least 32 bytes..".to_vec(), None).expect("settings");
    let mut state = state(Arc::new(store.clone()), clock.clone(), &settings);
    state.passwords = Arc::new(Argon2Passwords::fast_for_tests());
    let org_a = OrgId::new("org-a").expect("id");
    create_dispatcher(&store, clock.as_ref(), state.passwords.as_ref(), &org_a, "alice@a.example", "Alice", "correct horse battery")
        .await
        .expect("dispatcher");
    let key = ApiKeyRecord {
        id: "key-shop".into(),
        org_id: org_a.clone(),
        name: "Shop".into(),
        secret_hash: sha256_hex(API_KEY.as_bytes()),
        created_at: NOW,
        revoked: false,
    };
    store.create_api_key(&key).await.expect("API key");
    let router = app(state);

    let health = check(&router, "health.json", &[]).await;
    assert_eq!((health.status, health.json["status"].as_str(), health.json["store"].as_str()), (200, Some("ok"), Some("dynamodb")));

    let created = check(&router, "create_order_with_api_key.json", &[("API_KEY", API_KEY)]).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    let order_id = created.json["id"].as_str().expect("order id").to_owned();
    assert_eq!(created.json["org_id"], "org-a");
    assert_eq!(created.json["external_ref"], "SHOP-1042");
    assert_eq!(created.json["status"]["state"], "created");

    let replayed = check(&router, "create_order_with_api_key.json", &[("API_KEY", API_KEY)]).await;
    assert_eq!((replayed.status, replayed.json["id"].as_str()), (201, Some(order_id.as_str())), "same Idempotency-Key: same answer");
    assert_eq!(replayed.headers["idempotent-replayed"], "true");

    let login = check(&router, "login.json", &[]).await;
    assert_eq!(login.status, 200, "{:?}", login.json);
    let token = login.json["access_token"].as_str().expect("access token").to_owned();

    let read = check(&router, "get_order.json", &[("ORDER_ID", &order_id), ("ACCESS_TOKEN", &token)]).await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!(read.json, created.json, "the order reads back as it was created");

    let foreign = check(&router, "get_foreign_order.json", &[("FOREIGN_ORDER_ID", "ord-only-in-b"), ("ACCESS_TOKEN", &token)]).await;
    assert_eq!((foreign.status, foreign.json["code"].as_str()), (404, Some("not_found")), "{:?}", foreign.json);

    let listed = check(&router, "list_orders.json", &[("ACCESS_TOKEN", &token)]).await;
    assert_eq!(listed.status, 200, "{:?}", listed.json);
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(2), "{:?}", listed.json);
    assert!(listed.json["next_cursor"].is_string(), "a cursor while more follow: {:?}", listed.json);

    // A wrong key is counted against API Gateway's sourceIp, not one shared "unknown" client.
    let refused = check(&router, "create_order_with_api_key.json", &[("API_KEY", "dsk_wrong")]).await;
    assert_eq!(refused.status, 401, "{:?}", refused.json);
    let window = NOW.unix_timestamp().div_euclid(15 * 60);
    assert_eq!(store.counter(&format!("rate:apikey:client:203.0.113.7:{window}"), NOW).await.expect("counter"), 1);
}
