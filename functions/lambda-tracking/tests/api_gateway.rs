//! The Lambda handler, in process, fed the checked-in API Gateway (HTTP API,
//! payload 2.0) events under tests/fixtures, against a real moto_server (for
//! both DynamoDB and S3).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::primitives::ByteStream;
use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::crypto::sha256_hex;
use doorstep_core::ports::{FixedClock, Principal};
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::usecases::{plans, pod};
use doorstep_core::{Clock, Store};
use doorstep_domain::api::PlanVersion;
use doorstep_domain::auth::Role;
use doorstep_domain::dispatch::SavePlanRequest;
use doorstep_domain::pod::{CompleteStop, UploadRequest};
use doorstep_lambda_tracking::{Settings, app, state};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt as _;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{Value, json};

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

const SECRET: &[u8] = b"a test secret of at least 32 bytes..";
const BUCKET: &str = "doorstep-pod";

fn s3_client(moto: &MotoServer) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build(),
    )
}

/// The S3 blob store on moto's S3, as `main` builds it from the environment.
fn blobs(moto: &MotoServer) -> Arc<S3BlobStore> {
    let creds = SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "moto"));
    Arc::new(S3BlobStore::new(s3_client(moto), creds, BUCKET, Some(&moto.endpoint)))
}

/// One HTTP/1.1 GET to moto's S3 (the test has no HTTP client crate): status and body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
    let status = String::from_utf8_lossy(&response[..split]).split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, response[split..].to_vec())
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

    let settings = Settings::new(SECRET.to_vec(), TrackingSettings::default(), BUCKET.into()).expect("settings");
    let state = state(Arc::new(store.clone()), blobs(&moto), clock.clone(), &settings);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_tracking_read_of_a_delivered_order_links_the_exact_photo_bytes_in_s3() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-lambda-tracking-pod");
    store.ensure_table().await.expect("table");
    let s3 = s3_client(&moto);
    s3.create_bucket().bucket(BUCKET).send().await.expect("bucket");
    let business = doorstep_store_conformance::sample_business("org-a");
    assert!(business.organisation.settings.pod.customer_can_see_pod, "the sample business shows customers their proof");
    store.import_business(&business).await.expect("import");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let settings = Settings::new(SECRET.to_vec(), TrackingSettings::default(), BUCKET.into()).expect("settings");
    let state = state(Arc::new(store.clone()), blobs(&moto), clock.clone(), &settings);
    let router = app(state.clone());

    // A published plan: driver 0 delivers order 0; the customer holds the stop's token.
    let org = business.organisation.id.clone();
    let dispatcher = Principal { org: org.clone(), role: Role::Dispatcher, subject: "usr-dispatcher".into() };
    let order = &business.orders[0];
    let request: SavePlanRequest = serde_json::from_value(json!({
        "depot_id": business.depots[0].id, "date": "2026-11-22",
        "routes": [{"vehicle_id": business.vehicles[0].id, "driver_id": business.drivers[0].id,
            "planned_start": "2026-11-22T08:00:00Z", "planned_end": "2026-11-22T16:00:00Z",
            "stops": [{"order_id": order.id, "kind": "delivery", "planned_arrival": "2026-11-22T08:10:00Z", "planned_departure": "2026-11-22T08:15:00Z"}]}]
    }))
    .expect("plan request");
    let plan = plans::save(&store, clock.as_ref(), &dispatcher, &request).await.expect("save");
    let published = plans::publish_with(&store, state.pods.as_deref(), clock.as_ref(), &dispatcher, &plan.id, &PlanVersion { version: 1 }).await.expect("publish");
    let stop = published.plan.routes[0].stops[0].id.clone();
    let token = published.tracking.iter().find(|l| l.stop_id == stop).expect("the stop's link").token.as_str().to_owned();

    let before = check(&router, "get_tracking.json", &[("TOKEN", &token)]).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.json["pod"], Value::Null, "no proof before delivery");

    // The driver uploads a photo (as the browser would, straight to S3) and completes the stop with it.
    let driver = Principal { org: org.clone(), role: Role::Driver, subject: business.drivers[0].id.to_string() };
    let deps = state.pod().expect("the tracking function has the POD and blob stores");
    let photo: Vec<u8> = (0..30_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = sha256_hex(&photo);
    let upload = UploadRequest { order_id: order.id.clone(), content_type: "image/jpeg".into(), size_bytes: photo.len() as u64, sha256: sha.clone() };
    let ticket = pod::request_upload(deps, &driver, &upload).await.expect("ticket");
    s3.put_object().bucket(BUCKET).key(&ticket.blob_key).content_type("image/jpeg").body(ByteStream::from(photo.clone())).send().await.expect("upload");
    let complete: CompleteStop = serde_json::from_value(json!({"plan_id": plan.id, "pod": {
        "order_id": order.id, "recipient_name": "Léa Dubois", "barcode": order.barcode, "device_time": "2026-11-22T17:58:41Z",
        "photos": [{"blob_key": ticket.blob_key, "sha256": sha, "content_type": "image/jpeg", "size_bytes": photo.len()}]}}))
    .expect("complete request");
    pod::complete(deps, &driver, &stop, &complete, Some("5d6c2a1e-delivered")).await.expect("complete");

    // The customer's read through the Lambda handler: the proof, with a photo link that works without a login.
    let view = check(&router, "get_tracking.json", &[("TOKEN", &token)]).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.json["state"], "delivered", "{}", view.body);
    assert_eq!(view.json["pod"]["recipient_name"], "Léa Dubois", "{}", view.body);
    let urls = view.json["pod"]["photo_urls"].as_array().expect("photo urls");
    assert_eq!(urls.len(), 1, "{}", view.body);
    let (status, fetched) = http_get(urls[0].as_str().expect("url"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&fetched));
    assert_eq!(sha256_hex(&fetched), sha, "the link serves exactly the uploaded bytes");
}

#[test]
fn settings_name_the_bucket_variable_when_it_is_not_a_bucket() {
    let err = Settings::new(SECRET.to_vec(), TrackingSettings::default(), "Not A Bucket!".into()).unwrap_err();
    assert!(err.to_string().contains("DOORSTEP_POD_BUCKET"), "{err}");
    let err = Settings::new(b"short".to_vec(), TrackingSettings::default(), BUCKET.into()).unwrap_err();
    assert!(err.to_string().contains("DOORSTEP_TOKEN_SECRET"), "{err}");
}
