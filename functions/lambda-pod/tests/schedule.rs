//! The POD Lambda's one entry point on both event shapes, against a real
//! moto_server (DynamoDB and S3): its EventBridge schedule deletes a photo
//! no proof cited within a day and keeps a recent one, and an API Gateway
//! event still reaches the router.

use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::Clock;
use doorstep_core::ports::{BlobStore, FixedClock, PodStore, UploadRecord, UploadState};
use doorstep_domain::{OrderId, OrgId};
use doorstep_lambda_pod::{Function, Settings, app, handle, is_scheduled_event, state};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use lambda_http::{Context, LambdaEvent};
use serde_json::value::RawValue;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-22 18:00 UTC);

fn fixture(name: &str) -> Box<RawValue> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    RawValue::from_string(text).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_sweeps_orphan_photos_and_http_events_still_reach_the_routes() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-pod-sweep");
    store.ensure_table().await.expect("table");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build(),
    );
    s3.create_bucket().bucket("doorstep-pod-sweep").send().await.expect("bucket");
    let creds = SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "moto"));
    let blobs = Arc::new(S3BlobStore::new(s3.clone(), creds, "doorstep-pod-sweep", Some(&moto.endpoint)));
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let settings = Settings::new(b"a test secret of at least 32 bytes..".to_vec(), "doorstep-pod-sweep".into()).expect("settings");
    let store = Arc::new(store);
    let function = Function { router: app(state(store.clone(), blobs.clone(), clock.clone(), &settings)), pods: store.clone(), blobs: blobs.clone(), clock };

    let org = OrgId::new("org-a").expect("org");
    for (key, granted_at) in [("pod/org-a/ord-1/old.jpg", NOW - time::Duration::hours(30)), ("pod/org-a/ord-1/new.jpg", NOW - time::Duration::hours(2))] {
        s3.put_object().bucket("doorstep-pod-sweep").key(key).content_type("image/jpeg").body(b"jpeg".to_vec().into()).send().await.expect("put");
        let upload = UploadRecord { org_id: org.clone(), order_id: OrderId::new("ord-1").expect("id"), key: key.into(), granted_at, state: UploadState::Pending };
        store.record_upload(&upload).await.expect("record");
    }

    let schedule = fixture("schedule.json");
    assert!(is_scheduled_event(&schedule));
    let answer = handle(&function, LambdaEvent::new(schedule, Context::default())).await.expect("sweep");
    assert_eq!(answer, serde_json::json!({"deleted": 1, "kept": 0, "failed": 0}));
    assert!(blobs.stat("pod/org-a/ord-1/old.jpg").await.expect("stat").is_none(), "the day-old orphan is gone");
    assert!(blobs.stat("pod/org-a/ord-1/new.jpg").await.expect("stat").is_some(), "a recent upload waits");
    assert_eq!(store.upload(&org, "pod/org-a/ord-1/old.jpg").await.expect("upload").map(|u| u.state), Some(UploadState::Deleted));

    // The same entry point serves API Gateway requests.
    let request = fixture("unknown_route.json");
    assert!(!is_scheduled_event(&request));
    let answer = handle(&function, LambdaEvent::new(request, Context::default())).await.expect("answer");
    assert_eq!(answer["statusCode"], 404, "{answer}");

    // Anything else is refused with a message that says what was expected.
    let err = handle(&function, LambdaEvent::new(RawValue::from_string("{\"hello\": 1}".into()).expect("json"), Context::default())).await.expect_err("refused");
    assert!(err.to_string().contains("scheduled event"), "{err}");
}
