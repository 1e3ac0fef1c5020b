//! Stop events and proof of delivery through the API, on SQLite and the
//! embedded (filesystem) blob store: uploads and their limits, completion
//! and failure with their policies, replays, signed download links.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{CaptureSends, NOW, PASSWORD, Reply, check, driver_token, json_body, login, marked_business, plan_body, state};
use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::crypto::sha256_hex;
use doorstep_core::ports::{BusinessSnapshot, FixedClock, NotifyStore, PodStore, UploadState};
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::usecases::notify::{Channels, NotifierConfig, drain};
use doorstep_core::usecases::pod;
use doorstep_core::{Clock, Store};
use doorstep_domain::OrgId;
use doorstep_http::{AppState, api_router};
use doorstep_store_sqlite::SqliteStore;
use serde_json::{Value, json};

/// One organisation with a published plan of `orders` (indexes into the
/// demo's orders) for driver 0, and the blob store in a temp dir.
struct PodWorld {
    app: Router,
    state: AppState,
    store: SqliteStore,
    business: BusinessSnapshot,
    dispatcher: String,
    driver: String,
    plan: Value,
    _blobs: tempfile::TempDir,
}

impl PodWorld {
    async fn new(orders: &[usize], customize: impl FnOnce(&mut BusinessSnapshot)) -> Self {
        let store = SqliteStore::open_in_memory().expect("store");
        let mut business = marked_business("org-a", "a");
        customize(&mut business);
        store.import_business(&business).await.expect("import");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = FsBlobStore::open(dir.path(), b"test secret, 32 bytes or more....").expect("blobs");
        let state = state(store.clone(), clock).with_local_blobs(blobs);
        let org = OrgId::new("org-a").expect("id");
        create_dispatcher(state.store.as_ref(), state.clock.as_ref(), state.passwords.as_ref(), &org, "alice@a.example", "D", PASSWORD).await.expect("dispatcher");
        let app = api_router(state.clone());
        let dispatcher = login(&app, "alice@a.example", PASSWORD).await.json["access_token"].as_str().expect("token").to_owned();
        let driver = driver_token(&app, &dispatcher, &business.drivers[0].id).await;
        let mut world = Self { app, state, store, business, dispatcher, driver, plan: Value::Null, _blobs: dir };
        world.plan = world.publish(orders).await;
        world
    }

    /// Plans and publishes these orders for driver 0; the published plan.
    async fn publish(&self, orders: &[usize]) -> Value {
        let body = plan_body(&self.business, &[(0, 0, orders)]);
        let saved = self.call(Method::POST, "/api/plans", &self.dispatcher, Some(body), &[]).await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
        let id = saved.json["id"].as_str().expect("plan id").to_owned();
        let published = self.call(Method::POST, &format!("/api/plans/{id}/publish"), &self.dispatcher, Some(json!({"version": 1})), &[]).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.text);
        published.json["plan"].clone()
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Reply {
        check(&self.app, method, path, Some(token), extra, body.as_ref().and_then(json_body)).await
    }

    fn stop(&self, i: usize) -> (String, String) {
        let stop = &self.plan["routes"][0]["stops"][i];
        (stop["id"].as_str().expect("stop").to_owned(), stop["order_id"].as_str().expect("order").to_owned())
    }

    fn plan_id(&self) -> String {
        self.plan["id"].as_str().expect("plan id").to_owned()
    }

    /// Asks for a ticket and uploads `bytes` with it; the reply to the upload.
    async fn upload(&self, order: &str, content_type: &str, bytes: &[u8]) -> (Value, Reply) {
        let ticket = self
            .call(
                Method::POST,
                "/api/pod/uploads",
                &self.driver,
                Some(json!({"order_id": order, "content_type": content_type, "size_bytes": bytes.len(), "sha256": sha256_hex(bytes)})),
                &[],
            )
            .await;
        assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.text);
        let reply = post_form(&self.app, &ticket.json, &[], bytes, content_type).await;
        (ticket.json, reply)
    }

    async fn complete(&self, stop: &str, key: &str, pod: Value) -> Reply {
        self.call(Method::POST, &format!("/api/stops/{stop}/complete"), &self.driver, Some(json!({"plan_id": self.plan_id(), "pod": pod})), &[("idempotency-key", key)]).await
    }

    async fn order(&self, id: &str) -> Value {
        self.call(Method::GET, &format!("/api/orders/{id}"), &self.dispatcher, None, &[]).await.json
    }
}

/// The ticket's form fields (with `overrides`), then `file`, as a browser sends them.
async fn post_form(app: &Router, ticket: &Value, overrides: &[(&str, &str)], bytes: &[u8], file_type: &str) -> Reply {
    let boundary = "----doorstep-test-boundary";
    let mut body = Vec::new();
    let mut fields: Vec<(String, String)> =
        ticket["fields"].as_object().expect("fields").iter().map(|(k, v)| (k.clone(), v.as_str().expect("text").to_owned())).collect();
    for (name, value) in overrides {
        fields.retain(|(k, _)| k != name);
        fields.push(((*name).to_owned(), (*value).to_owned()));
    }
    for (name, value) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\nContent-Type: {file_type}\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = ticket["url"].as_str().expect("url");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let length = body.len().to_string();
    check(app, Method::POST, url, None, &[("content-type", &content_type), ("content-length", &length)], Some(Body::from(body))).await
}

fn photo_ref(ticket: &Value, content_type: &str, bytes: &[u8]) -> Value {
    json!({"blob_key": ticket["blob_key"], "sha256": sha256_hex(bytes), "content_type": content_type, "size_bytes": bytes.len()})
}

fn jpeg(n: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..n).map(|i| (i % 251) as u8));
    bytes
}

fn barcode(world: &PodWorld, order: &str) -> Value {
    let o = world.business.orders.iter().find(|o| o.id.as_str() == order).expect("order");
    json!(o.barcode)
}

#[tokio::test]
async fn a_stop_completes_with_a_photo_replays_and_serves_a_signed_link() {
    let w = PodWorld::new(&[0, 1], |_| {}).await;
    let (stop, order) = w.stop(0);
    let bytes = jpeg(50_000);
    let (ticket, uploaded) = w.upload(&order, "image/jpeg", &bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    assert_eq!(uploaded.json["sha256"], json!(sha256_hex(&bytes)));
    let org = OrgId::new("org-a").expect("id");
    let blob_key = ticket["blob_key"].as_str().expect("key").to_owned();
    let upload_state = || async { w.store.upload(&org, &blob_key).await.expect("upload").map(|u| u.state) };
    assert_eq!(upload_state().await, Some(UploadState::Pending), "the ticket records the upload for the orphan sweep");

    let pod = json!({"order_id": order, "photos": [photo_ref(&ticket, "image/jpeg", &bytes)], "recipient_name": "Léa",
        "barcode": barcode(&w, &order), "device_time": "2026-11-22T17:59:00Z", "geotag": {"lat": 45.76, "lon": 4.83}});
    let done = w.complete(&stop, "key-1", pod.clone()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(upload_state().await, Some(UploadState::Referenced), "the proof cites it: never swept");
    assert_eq!(done.json["order"]["status"]["state"], "delivered");
    assert_eq!(done.json["pod"]["outcome"], "delivered");
    // The delivered notification is in the outbox, attempt 0.
    let entry = w.store.outbox_entry(&OrgId::new("org-a").expect("id"), &format!("{order}#0#delivered")).await.expect("outbox");
    assert!(entry.is_some(), "delivered entry written with the order");

    // The offline queue replays it: same answer, marked; other body: 409.
    let again = w.complete(&stop, "key-1", pod.clone()).await;
    assert_eq!((again.status, &again.text), (StatusCode::OK, &done.text));
    assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap_or("")), Some("true"));
    let mut other = pod.clone();
    other["recipient_name"] = json!("Someone else");
    let conflict = w.complete(&stop, "key-1", other).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    assert_eq!(conflict.json["field"], "Idempotency-Key");

    // The dispatcher reads it back with a working, signed, expiring link.
    let read = w.call(Method::GET, &format!("/api/orders/{order}/pod"), &w.dispatcher, None, &[]).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.json["attempts"][0]["intact"], true);
    let url = read.json["attempts"][0]["photo_urls"][0].as_str().expect("url").to_owned();
    let fetched = check(&w.app, Method::GET, &url, None, &[], None).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    assert_eq!(fetched.headers.get("content-type").map(|v| v.to_str().unwrap_or("")), Some("image/jpeg"));

    let tampered = url.replace("expires=", "expires=9");
    let refused = check(&w.app, Method::GET, &tampered, None, &[], None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let other_key = url.replace(&ticket["blob_key"].as_str().expect("key")[..20], "pod/org-b/xxxxxxxxxx");
    assert_eq!(check(&w.app, Method::GET, &other_key, None, &[], None).await.status, StatusCode::FORBIDDEN);
    let mut later = w.state.clone();
    later.clock = Arc::new(FixedClock(NOW + time::Duration::hours(1)));
    let expired = check(&api_router(later), Method::GET, &url, None, &[], None).await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN, "{}", expired.text);
    assert!(expired.json["message"].as_str().unwrap_or("").contains("expired"), "{}", expired.text);

    // The customer sees photo and name through tracking (the org allows it by default).
    let org = w.store.organisation(&OrgId::new("org-a").expect("id")).await.expect("org");
    let blobs = w.state.blobs.clone().expect("blobs");
    let order_id: doorstep_domain::OrderId = order.parse().expect("id");
    let public = pod::public_pod(w.state.pods.as_deref().expect("pods"), blobs.as_ref(), NOW, &org, &order_id).await.expect("public pod").expect("shown");
    assert_eq!((public.recipient_name.as_deref(), public.photo_urls.len()), (Some("Léa"), 1));
    let mut private = org.clone();
    private.settings.pod.customer_can_see_pod = false;
    assert!(pod::public_pod(w.state.pods.as_deref().expect("pods"), blobs.as_ref(), NOW, &private, &order_id).await.expect("public pod").is_none());

    // A changed blob is detected.
    let key = ticket["blob_key"].as_str().expect("key");
    std::fs::write(w._blobs.path().join("data").join(key), b"not the photo").expect("tamper");
    let read = w.call(Method::GET, &format!("/api/orders/{order}/pod"), &w.dispatcher, None, &[]).await;
    assert_eq!(read.json["attempts"][0]["intact"], false, "{}", read.text);
}

#[tokio::test]
async fn an_upload_over_10_mib_is_refused_and_nothing_is_kept() {
    let w = PodWorld::new(&[0], |_| {}).await;
    let (_, order) = w.stop(0);
    // The ticket itself is refused for an 11 MB file...
    let big = jpeg(11 * 1000 * 1000);
    let ticket = w
        .call(Method::POST, "/api/pod/uploads", &w.driver, Some(json!({"order_id": order, "content_type": "image/jpeg", "size_bytes": big.len(), "sha256": sha256_hex(&big)})), &[])
        .await;
    assert_eq!(ticket.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ticket.text);
    assert_eq!(ticket.json["field"], "size_bytes", "{}", ticket.text);
    // ...and so is the file, when a ticket for a small one is used for it.
    let small = jpeg(10);
    let ticket = w
        .call(Method::POST, "/api/pod/uploads", &w.driver, Some(json!({"order_id": order, "content_type": "image/jpeg", "size_bytes": small.len(), "sha256": sha256_hex(&small)})), &[])
        .await;
    let refused = post_form(&w.app, &ticket.json, &[], &big, "image/jpeg").await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.text);
    assert!(refused.json["message"].as_str().unwrap_or("").contains("10485760-byte limit"), "{}", refused.text);
    // Just over the photo limit, within the form's: refused while streaming.
    let over = jpeg(10 * 1024 * 1024);
    let refused = post_form(&w.app, &ticket.json, &[], &over, "image/jpeg").await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.text);
    assert_eq!(refused.json["field"], "file");
    let key = ticket.json["blob_key"].as_str().expect("key");
    assert!(!w._blobs.path().join("data").join(key).exists(), "nothing kept");
    assert_eq!(std::fs::read_dir(w._blobs.path().join("tmp")).expect("tmp").count(), 0, "no partial file left");
}

#[tokio::test]
async fn a_text_html_upload_is_refused() {
    let w = PodWorld::new(&[0], |_| {}).await;
    let (_, order) = w.stop(0);
    let page = b"<html><script>alert(1)</script></html>";
    let ticket = w
        .call(Method::POST, "/api/pod/uploads", &w.driver, Some(json!({"order_id": order, "content_type": "text/html", "size_bytes": page.len(), "sha256": sha256_hex(page)})), &[])
        .await;
    assert_eq!(ticket.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ticket.text);
    assert_eq!(ticket.json["field"], "content_type");
    // A form whose Content-Type was changed after signing is refused too.
    let bytes = jpeg(10);
    let (ticket, _) = w.upload(&order, "image/jpeg", &bytes).await;
    let refused = post_form(&w.app, &ticket, &[("Content-Type", "text/html")], page, "text/html").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert_eq!(refused.json["field"], "Content-Type");
    let forged = post_form(&w.app, &ticket, &[("Content-Type", "image/png")], &bytes, "image/png").await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", forged.text);
}

#[tokio::test]
async fn a_photo_whose_hash_or_size_does_not_match_is_refused() {
    let w = PodWorld::new(&[0], |_| {}).await;
    let (stop, order) = w.stop(0);
    let bytes = jpeg(1_000);
    let (ticket, _) = w.upload(&order, "image/jpeg", &bytes).await;
    let mut photo = photo_ref(&ticket, "image/jpeg", &bytes);
    photo["sha256"] = json!(sha256_hex(b"something else"));
    photo["size_bytes"] = json!(999);
    let pod = json!({"order_id": order, "photos": [photo], "device_time": "2026-11-22T17:59:00Z"});
    let refused = w.complete(&stop, "key-hash", pod).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    let paths: Vec<&str> = refused.json["details"].as_array().expect("details").iter().filter_map(|d| d["path"].as_str()).collect();
    assert_eq!(paths, ["pod.photos[0].size_bytes", "pod.photos[0].sha256"], "{}", refused.text);
    assert_eq!(w.order(&order).await["status"]["state"], "dispatched", "nothing written");
    // A photo of another order's upload is refused as well.
    let (_, other_order) = (0, w.business.orders[5].id.to_string());
    let forged = json!({"blob_key": format!("pod/org-a/{other_order}/x.jpg"), "sha256": sha256_hex(&bytes), "content_type": "image/jpeg", "size_bytes": bytes.len()});
    let refused = w.complete(&stop, "key-other", json!({"order_id": order, "photos": [forged], "device_time": "2026-11-22T17:59:00Z"})).await;
    assert_eq!(refused.json["field"], "pod.photos[0].blob_key", "{}", refused.text);
}

#[tokio::test]
async fn a_wrong_barcode_or_short_cash_is_refused_by_field() {
    // Demo order 9 is cash on delivery.
    let w = PodWorld::new(&[9], |_| {}).await;
    let (stop, order) = w.stop(0);
    let due = w.business.orders[9].cash_on_delivery.clone().expect("cod order");
    let pod = json!({"order_id": order, "recipient_name": "Léa", "barcode": "WRONG-CODE", "device_time": "2026-11-22T17:59:00Z",
        "cash_collected": {"amount": {"amount_minor": due.amount_minor - 1, "currency": due.currency}, "method": "cash"}});
    let refused = w.complete(&stop, "key-bc", pod).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    let paths: Vec<&str> = refused.json["details"].as_array().expect("details").iter().filter_map(|d| d["path"].as_str()).collect();
    assert_eq!(paths, ["pod.barcode", "pod.cash_collected.amount"], "{}", refused.text);
    let pod = json!({"order_id": order, "recipient_name": "Léa", "barcode": barcode(&w, &order), "device_time": "2026-11-22T17:59:00Z",
        "cash_collected": {"amount": due, "method": "cash"}});
    let done = w.complete(&stop, "key-bc-2", pod).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["pod"]["cash_due"]["amount_minor"], json!(due.amount_minor));
}


#[tokio::test]
async fn a_failed_order_is_replanned_until_its_attempts_run_out() {
    let w = PodWorld::new(&[0], |_| {}).await;
    let (stop, order) = w.stop(0);
    let fail = |stop: String, plan: String, key: &'static str| {
        let w = &w;
        async move {
            w.call(Method::POST, &format!("/api/stops/{stop}/fail"), &w.driver,
                Some(json!({"plan_id": plan, "reason": "recipient_absent", "device_time": "2026-11-22T17:59:00Z"})), &[("idempotency-key", key)]).await
        }
    };
    let first = fail(stop.clone(), w.plan_id(), "fail-1").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!((first.json["reattempt_scheduled"].clone(), first.json["order"]["status"]["state"].clone()), (json!(true), json!("created")));
    assert_eq!(first.json["order"]["attempts"], 1);
    let org = OrgId::new("org-a").expect("id");
    let entry = w.store.outbox_entry(&org, &format!("{order}#0#failed")).await.expect("outbox").expect("failed entry");
    assert_eq!(entry.failure_reason, Some(doorstep_domain::FailureReason::RecipientAbsent));
    // The order is back to planning, yet the customer still hears of the missed delivery.
    let log = Arc::new(CaptureSends::default());
    let channels = Channels { log: Some(log.clone()), ..Channels::default() };
    drain(&w.store, &w.store, &channels, &FixedClock(NOW), &NotifierConfig::new("https://track.example/", "test")).await.expect("drain");
    let sent: Vec<String> = log.0.lock().expect("lock").iter().map(|m| m.delivery_id.clone()).collect();
    assert!(sent.contains(&format!("{order}#0#failed#log")), "sent: {sent:?}");

    // Re-planned and failed again: the second of two attempts stays failed.
    let plan = w.publish(&[0]).await;
    let stop2 = plan["routes"][0]["stops"][0]["id"].as_str().expect("stop").to_owned();
    let second = fail(stop2, plan["id"].as_str().expect("plan").to_owned(), "fail-2").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!((second.json["reattempt_scheduled"].clone(), second.json["order"]["status"]["state"].clone()), (json!(false), json!("failed")));
    assert!(w.store.outbox_entry(&org, &format!("{order}#1#failed")).await.expect("outbox").is_some(), "attempt 1's entry");
    // A reason from the list is required.
    let bad = w.call(Method::POST, &format!("/api/stops/{stop}/fail"), &w.driver, Some(json!({"plan_id": w.plan_id(), "reason": "aliens", "device_time": "2026-11-22T17:59:00Z"})), &[("idempotency-key", "fail-3")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.json["field"], "reason");
}

#[tokio::test]
async fn automatic_proof_needs_a_geofenced_arrival() {
    let w = PodWorld::new(&[0, 1], |b| b.organisation.settings.pod.auto_pod = true).await;
    let at = |i: usize| w.plan["routes"][0]["stops"][i]["location"].clone();
    let near = |i: usize| json!({"lat": at(i)["lat"], "lon": at(i)["lon"], "accuracy_m": 5.0});
    let far = json!({"lat": 45.0, "lon": 4.0});
    // Stop 0: arrived far away; completing without evidence is refused.
    let (stop0, order0) = w.stop(0);
    let arrived = w.call(Method::POST, &format!("/api/stops/{stop0}/arrive"), &w.driver, Some(json!({"plan_id": w.plan_id(), "device_time": "2026-11-22T17:50:00Z", "geotag": far})), &[("idempotency-key", "arr-0")]).await;
    assert_eq!(arrived.status, StatusCode::OK, "{}", arrived.text);
    let refused = w.complete(&stop0, "auto-0", json!({"order_id": order0, "device_time": "2026-11-22T17:59:00Z", "geotag": near(0)})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert_eq!(refused.json["details"][0]["code"], "no_evidence", "{}", refused.text);
    // Stop 1: arrived at the door and completed there: proof enough.
    let (stop1, order1) = w.stop(1);
    let arrived = w.call(Method::POST, &format!("/api/stops/{stop1}/arrive"), &w.driver, Some(json!({"plan_id": w.plan_id(), "device_time": "2026-11-22T17:55:00Z", "geotag": near(1)})), &[("idempotency-key", "arr-1")]).await;
    assert!(arrived.json["distance_m"].as_f64().expect("distance") < 1.0, "{}", arrived.text);
    let done = w.complete(&stop1, "auto-1", json!({"order_id": order1, "device_time": "2026-11-22T17:59:00Z", "geotag": near(1)})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["pod"]["auto_pod"], true);
}

#[tokio::test]
async fn a_one_time_code_is_required_and_checked_on_the_server() {
    let w = PodWorld::new(&[0], |b| {
        b.organisation.settings.pod.otp_required = true;
        b.organisation.settings.pod.otp_max_attempts = 2;
    })
    .await;
    let (stop, order) = w.stop(0);
    let pod = json!({"order_id": order, "recipient_name": "Léa", "otp_verified": true, "device_time": "2026-11-22T17:59:00Z"});
    // The client's flag alone proves nothing.
    let refused = w.complete(&stop, "otp-0", pod.clone()).await;
    assert_eq!(refused.json["field"], "pod.otp_verified", "{}", refused.text);
    // The code went out with the dispatched notification; only its hash is stored.
    let entry = w.store.outbox_entry(&OrgId::new("org-a").expect("id"), &format!("{order}#0#dispatched")).await.expect("outbox").expect("entry");
    let code = entry.otp.expect("a code in the dispatched entry");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let otp_path = format!("/api/stops/{stop}/otp");
    let otp = |c: &str, key: &'static str| otp_check(&w, &otp_path, c.to_owned(), key);
    let first = otp(wrong, "guess-1").await;
    assert_eq!((first.status, first.json["verified"].clone(), first.json["attempts_left"].clone()), (StatusCode::OK, json!(false), json!(1)), "{}", first.text);
    let right = otp(&code, "guess-2").await;
    assert_eq!(right.json["verified"], true, "{}", right.text);
    let done = w.complete(&stop, "otp-1", pod).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["pod"]["otp_verified"], true);
}

async fn otp_check(w: &PodWorld, path: &str, code: String, key: &str) -> Reply {
    w.call(Method::POST, path, &w.driver, Some(json!({"plan_id": w.plan_id(), "code": code})), &[("idempotency-key", key)]).await
}

#[tokio::test]
async fn a_replayed_code_check_gets_the_same_answer_and_spends_no_attempt() {
    let w = PodWorld::new(&[0], |b| {
        b.organisation.settings.pod.otp_required = true;
        b.organisation.settings.pod.otp_max_attempts = 2;
    })
    .await;
    let (stop, order) = w.stop(0);
    let entry = w.store.outbox_entry(&OrgId::new("org-a").expect("id"), &format!("{order}#0#dispatched")).await.expect("outbox").expect("entry");
    let code = entry.otp.expect("a code in the dispatched entry");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let otp_path = format!("/api/stops/{stop}/otp");
    let otp = |c: &str, headers: &'static [(&'static str, &'static str)]| {
        w.call(Method::POST, &otp_path, &w.driver, Some(json!({"plan_id": w.plan_id(), "code": c})), headers)
    };
    let unkeyed = otp(wrong, &[]).await;
    assert_eq!((unkeyed.status, unkeyed.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("Idempotency-Key")), "{}", unkeyed.text);

    let first = otp(wrong, &[("idempotency-key", "offline-guess-1")]).await;
    assert_eq!((first.status, first.json["attempts_left"].clone()), (StatusCode::OK, json!(1)), "{}", first.text);
    // The offline queue sends it three more times: the same answer, no attempt spent.
    for _ in 0..3 {
        let again = otp(wrong, &[("idempotency-key", "offline-guess-1")]).await;
        assert_eq!(again.text, first.text);
        assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap_or("")), Some("true"));
    }
    // Another code under the same key is a different request.
    let reused = otp(&code, &[("idempotency-key", "offline-guess-1")]).await;
    assert_eq!((reused.status, reused.json["field"].clone()), (StatusCode::CONFLICT, json!("Idempotency-Key")), "{}", reused.text);
    // A new key is a new guess: the right code still has its last attempt.
    let right = otp(&code, &[("idempotency-key", "offline-guess-2")]).await;
    assert_eq!((right.json["verified"].clone(), right.json["attempts_left"].clone()), (json!(true), json!(0)), "{}", right.text);
    let pod = json!({"order_id": order, "recipient_name": "Léa", "otp_verified": true, "device_time": "2026-11-22T17:59:00Z"});
    assert_eq!(w.complete(&stop, "otp-done", pod).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_code_locks_after_the_last_new_guess_and_replays_keep_their_answers() {
    let w = PodWorld::new(&[0], |b| {
        b.organisation.settings.pod.otp_required = true;
        b.organisation.settings.pod.otp_max_attempts = 2;
    })
    .await;
    let (stop, order) = w.stop(0);
    let entry = w.store.outbox_entry(&OrgId::new("org-a").expect("id"), &format!("{order}#0#dispatched")).await.expect("outbox").expect("entry");
    let code = entry.otp.expect("code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let otp_path = format!("/api/stops/{stop}/otp");
    let otp = |c: &str, key: &'static str| otp_check(&w, &otp_path, c.to_owned(), key);
    assert_eq!(otp(wrong, "w1").await.json["attempts_left"], 1);
    let last = otp(wrong, "w2").await;
    assert_eq!((last.json["attempts_left"].clone(), last.json["locked"].clone()), (json!(0), json!(true)), "{}", last.text);
    let locked = otp(&code, "w3").await;
    assert_eq!((locked.status, locked.json["field"].clone()), (StatusCode::CONFLICT, json!("code")), "{}", locked.text);
    // Replays still answer as they did.
    assert_eq!(otp(wrong, "w1").await.json["attempts_left"], 1);
}

#[tokio::test]
async fn a_dispatcher_marking_delivered_writes_the_outbox_entry() {
    let w = PodWorld::new(&[0], |_| {}).await;
    let (_, order) = w.stop(0);
    let version = w.order(&order).await["version"].as_u64().expect("version");
    let started = w.call(Method::POST, &format!("/api/orders/{order}/events"), &w.dispatcher, Some(json!({"version": version, "event": {"event": "start"}})), &[]).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let done = w.call(Method::POST, &format!("/api/orders/{order}/events"), &w.dispatcher, Some(json!({"version": version + 1, "event": {"event": "deliver"}})), &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let entry = w.store.outbox_entry(&OrgId::new("org-a").expect("id"), &format!("{order}#0#delivered")).await.expect("outbox");
    assert!(entry.is_some(), "delivered entry written with the order");
}

#[tokio::test]
async fn a_started_route_and_its_finished_stops_appear_in_the_reports_once() {
    let w = PodWorld::new(&[0, 1], |_| {}).await;
    let route = w.plan["routes"][0]["id"].as_str().expect("route").to_owned();
    let start = w
        .call(Method::POST, &format!("/api/routes/{route}/start"), &w.driver,
            Some(json!({"plan_id": w.plan_id(), "device_time": "2026-11-22T17:00:00Z", "vehicle_checked": true})), &[("idempotency-key", "start-1")])
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let (stop0, order0) = w.stop(0);
    let pod = json!({"order_id": order0, "recipient_name": "Léa", "device_time": "2026-11-22T17:30:00Z"});
    let done = w.complete(&stop0, "done-1", pod.clone()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    // A replay (the offline queue sending again) is not counted twice.
    assert_eq!(w.complete(&stop0, "done-1", pod).await.status, StatusCode::OK);
    let (stop1, _) = w.stop(1);
    let failed = w
        .call(Method::POST, &format!("/api/stops/{stop1}/fail"), &w.driver,
            Some(json!({"plan_id": w.plan_id(), "reason": "business_closed", "device_time": "2026-11-22T17:45:00Z"})), &[("idempotency-key", "fail-1")])
        .await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);

    let report = w.call(Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", &w.dispatcher, None, &[]).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!((report.json["delivered"].clone(), report.json["failed"].clone()), (json!(1), json!(1)));
    assert_eq!(report.json["failure_reasons"], json!([["business_closed", 1]]));
    assert_eq!(report.json["first_attempt_success"], json!({"numerator": 1, "denominator": 2}));
    let routes = report.json["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 1, "{}", report.text);
    // Route start 17:00 to the last finished stop 17:45.
    assert_eq!(routes[0]["actual_duration_s"], json!(45 * 60));
    assert_eq!(report.json["average_delivery_time_s"], json!(30.0 * 60.0));
}
