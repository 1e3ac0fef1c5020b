//! The POD Lambda in process, fed the checked-in API Gateway (HTTP API,
//! payload 2.0) events under tests/fixtures, against a real moto_server for
//! both DynamoDB and S3: a driver asks for an upload ticket, uploads the
//! photo to S3 with the presigned POST, completes the stop with it, and the
//! dispatcher reads the proof back with a working presigned photo URL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::crypto::sha256_hex;
use doorstep_core::ports::{FixedClock, Principal};
use doorstep_core::usecases::plans;
use doorstep_core::{Clock, Store};
use doorstep_domain::auth::Role;
use doorstep_domain::dispatch::SavePlanRequest;
use doorstep_domain::api::PlanVersion;
use doorstep_lambda_pod::{Settings, app, state};
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
    json: Value,
}

async fn check(router: &axum::Router, fixture: &str, fill: &[(&str, &str)]) -> Reply {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    for (name, value) in fill {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let event: LambdaRequest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{fixture} is not an API Gateway event: {e}"));
    let response = Adapter::from(router.clone()).oneshot(LambdaEvent::new(event, Context::default())).await.expect("handler answers");
    let raw = serde_json::to_value(&response).expect("response serialises");
    Reply { status: raw["statusCode"].as_u64().expect("statusCode"), json: serde_json::from_str(raw["body"].as_str().unwrap_or_default()).unwrap_or(Value::Null) }
}

/// One HTTP/1.1 exchange over a socket (to moto's S3; the test has no HTTP client crate).
fn http(url: &str, method: &str, content_type: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = content_type {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
    let status = String::from_utf8_lossy(&response[..split]).split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, response[split..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_uploads_a_photo_to_s3_and_completes_a_stop_through_api_gateway_events() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-lambda-pod");
    store.ensure_table().await.expect("table");
    let business = doorstep_store_conformance::sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build(),
    );
    s3.create_bucket().bucket("doorstep-pod").send().await.expect("bucket");
    let creds = SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "moto"));
    let blobs = Arc::new(S3BlobStore::new(s3, creds, "doorstep-pod", Some(&moto.endpoint)));
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let settings = Settings::new(b"a test secret of at least 32 bytes..".to_vec(), "doorstep-pod".into()).expect("settings");
    let state = state(Arc::new(store.clone()), blobs, clock.clone(), &settings);
    let router = app(state.clone());

    // A published plan: driver 0 delivers order 0.
    let org = business.organisation.id.clone();
    let dispatcher = Principal { org: org.clone(), role: Role::Dispatcher, subject: "usr-dispatcher".into() };
    let order = &business.orders[0];
    let request: SavePlanRequest = serde_json::from_value(json!({
        "depot_id": business.depots[0].id, "date": "2026-11-23",
        "routes": [{"vehicle_id": business.vehicles[0].id, "driver_id": business.drivers[0].id,
            "planned_start": "2026-11-23T08:00:00Z", "planned_end": "2026-11-23T16:00:00Z",
            "stops": [{"order_id": order.id, "kind": "delivery", "planned_arrival": "2026-11-23T08:10:00Z", "planned_departure": "2026-11-23T08:15:00Z"}]}]
    }))
    .expect("plan request");
    let plan = plans::save(&store, clock.as_ref(), &dispatcher, &request).await.expect("save");
    let published = plans::publish_with(&store, state.pods.as_deref(), clock.as_ref(), &dispatcher, &plan.id, &PlanVersion { version: 1 }).await.expect("publish");
    let stop = published.plan.routes[0].stops[0].id.to_string();
    let driver = Principal { org: org.clone(), role: Role::Driver, subject: business.drivers[0].id.to_string() };
    let driver_token = state.issuer.issue(&driver, NOW).expect("token").token;
    let dispatcher_token = state.issuer.issue(&dispatcher, NOW).expect("token").token;

    let photo: Vec<u8> = (0..40_000u32).map(|i| (i % 241) as u8).collect();
    let (size, sha) = (photo.len().to_string(), sha256_hex(&photo));
    let ticket = check(&router, "request_upload.json", &[("ACCESS_TOKEN", &driver_token), ("ORDER_ID", order.id.as_str()), ("SIZE", &size), ("SHA256", &sha)]).await;
    assert_eq!(ticket.status, 200, "{:?}", ticket.json);
    let url = ticket.json["url"].as_str().expect("url");
    assert_eq!(url, format!("{}/doorstep-pod", moto.endpoint));

    // The browser's form: every ticket field, then the file.
    let boundary = "----doorstep-lambda-test";
    let mut form = Vec::new();
    for (name, value) in ticket.json["fields"].as_object().expect("fields") {
        form.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n", value.as_str().expect("text")).as_bytes());
    }
    form.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    form.extend(&photo);
    form.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, answer) = http(url, "POST", Some(&format!("multipart/form-data; boundary={boundary}")), &form);
    assert!((200..300).contains(&status), "S3 upload answered {status}: {}", String::from_utf8_lossy(&answer));

    let blob_key = ticket.json["blob_key"].as_str().expect("key").to_owned();
    let fill = [
        ("ACCESS_TOKEN", driver_token.as_str()),
        ("STOP_ID", stop.as_str()),
        ("PLAN_ID", plan.id.as_str()),
        ("ORDER_ID", order.id.as_str()),
        ("BLOB_KEY", blob_key.as_str()),
        ("SHA256", sha.as_str()),
        ("SIZE", size.as_str()),
        ("BARCODE", order.barcode.as_deref().unwrap_or_default()),
        ("IDEMPOTENCY_KEY", "6f1c1a52-4c1e-4f57-9d55-0b5f3c8e2a10"),
    ];
    let done = check(&router, "complete_stop.json", &fill).await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    assert_eq!(done.json["order"]["status"]["state"], "delivered");
    let replay = check(&router, "complete_stop.json", &fill).await;
    assert_eq!((replay.status, &replay.json), (200, &done.json), "a replay answers the same");

    let read = check(&router, "order_pod.json", &[("ACCESS_TOKEN", &dispatcher_token), ("ORDER_ID", order.id.as_str())]).await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!(read.json["attempts"][0]["intact"], true);
    let photo_url = read.json["attempts"][0]["photo_urls"][0].as_str().expect("photo url");
    let (status, fetched) = http(photo_url, "GET", None, b"");
    assert_eq!(status, 200);
    assert_eq!(fetched, photo);

    let unknown = check(&router, "unknown_route.json", &[("ACCESS_TOKEN", &driver_token)]).await;
    assert_eq!((unknown.status, unknown.json["code"].clone()), (404, json!("unknown_route")));
}

#[test]
fn settings_say_what_is_missing() {
    let err = Settings::new(b"short".to_vec(), "doorstep-pod".into()).unwrap_err();
    assert!(err.to_string().contains("DOORSTEP_TOKEN_SECRET"), "{err}");
    let err = Settings::new(vec![b'x'; 32], "Not A Bucket!".into()).unwrap_err();
    assert!(err.to_string().contains("DOORSTEP_POD_BUCKET"), "{err}");
}
