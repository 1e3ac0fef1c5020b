//! The customer's side of the tracking page over HTTP, on SQLite and the
//! embedded blob store: notes for the driver, ratings (also in the
//! reports), the proof of delivery with photo links that work without a
//! login, friendly failure reasons, one 404 for every dead link, and the
//! write limit per link.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{NOW, PASSWORD, Reply, check, driver_token, json_body, login, marked_business, plan_body, state};
use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::crypto::{random_token, sha256_hex};
use doorstep_core::ports::{BusinessSnapshot, FixedClock};
use doorstep_core::usecases::auth::{RateLimits, create_dispatcher};
use doorstep_core::usecases::plans::TRACKING_TOKEN_BYTES;
use doorstep_core::{Clock, Store};
use doorstep_domain::OrgId;
use doorstep_http::{AppState, api_router};
use doorstep_store_sqlite::SqliteStore;
use serde_json::{Value, json};

/// One organisation, orders 0-2 planned for driver 0 and published; the
/// customers' tracking tokens in stop order.
struct Shop {
    app: Router,
    state: AppState,
    dispatcher: String,
    driver: String,
    plan: Value,
    tokens: Vec<String>,
    _blobs: tempfile::TempDir,
}

impl Shop {
    async fn new(customize: impl FnOnce(&mut BusinessSnapshot)) -> Self {
        let store = SqliteStore::open_in_memory().expect("store");
        let mut business = marked_business("org-a", "a");
        customize(&mut business);
        store.import_business(&business).await.expect("import");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = FsBlobStore::open(dir.path(), b"test secret, 32 bytes or more....").expect("blobs");
        let state = state(store, clock).with_local_blobs(blobs);
        let org = OrgId::new("org-a").expect("id");
        create_dispatcher(state.store.as_ref(), state.clock.as_ref(), state.passwords.as_ref(), &org, "alice@a.example", "D", PASSWORD).await.expect("dispatcher");
        let app = api_router(state.clone());
        let dispatcher = login(&app, "alice@a.example", PASSWORD).await.json["access_token"].as_str().expect("token").to_owned();
        let driver = driver_token(&app, &dispatcher, &business.drivers[0].id).await;
        let body = plan_body(&business, &[(0, 0, &[0, 1, 2])]);
        let saved = check(&app, Method::POST, "/api/plans", Some(&dispatcher), &[], json_body(&body)).await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
        let id = saved.json["id"].as_str().expect("plan id").to_owned();
        let published = check(&app, Method::POST, &format!("/api/plans/{id}/publish"), Some(&dispatcher), &[], json_body(&json!({"version": 1}))).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.text);
        let plan = published.json["plan"].clone();
        let stops: Vec<&str> = plan["routes"][0]["stops"].as_array().expect("stops").iter().map(|s| s["id"].as_str().expect("id")).collect();
        let links = published.json["tracking"].as_array().expect("tracking");
        let tokens = stops
            .iter()
            .map(|stop| links.iter().find(|l| l["stop_id"] == *stop).expect("a link per stop")["token"].as_str().expect("token").to_owned())
            .collect();
        Self { app, state, dispatcher, driver, plan, tokens, _blobs: dir }
    }

    fn stop(&self, i: usize) -> (String, String) {
        let stop = &self.plan["routes"][0]["stops"][i];
        (stop["id"].as_str().expect("stop").to_owned(), stop["order_id"].as_str().expect("order").to_owned())
    }

    async fn view(&self, i: usize) -> Reply {
        check(&self.app, Method::GET, &format!("/api/track/{}", self.tokens[i]), None, &[], None).await
    }

    async fn put(&self, i: usize, what: &str, body: Value) -> Reply {
        check(&self.app, Method::PUT, &format!("/api/track/{}/{what}", self.tokens[i]), None, &[], json_body(&body)).await
    }

    async fn order(&self, i: usize) -> Value {
        let (_, order) = self.stop(i);
        let r = check(&self.app, Method::GET, &format!("/api/orders/{order}"), Some(&self.dispatcher), &[], None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json
    }

    async fn driver_call(&self, path: &str, key: &str, body: Value) -> Reply {
        check(&self.app, Method::POST, path, Some(&self.driver), &[("idempotency-key", key)], json_body(&body)).await
    }

    /// The driver completes stop `i` (with `photos`, if any).
    async fn deliver(&self, i: usize, photos: Value) {
        let (stop, order) = self.stop(i);
        let pod = json!({"order_id": order, "recipient_name": "Léa", "device_time": "2026-11-22T17:30:00Z", "photos": photos});
        let done = self.driver_call(&format!("/api/stops/{stop}/complete"), &format!("done-{i}"), json!({"plan_id": self.plan["id"], "pod": pod})).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    }

    async fn fail(&self, i: usize, note: &str) -> Reply {
        let (stop, _) = self.stop(i);
        let body = json!({"plan_id": self.plan["id"], "reason": "recipient_absent", "note": note, "device_time": "2026-11-22T17:40:00Z"});
        self.driver_call(&format!("/api/stops/{stop}/fail"), &format!("fail-{i}"), body).await
    }

    async fn report(&self) -> Value {
        let r = check(&self.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", Some(&self.dispatcher), &[], None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json
    }
}

fn no_store(r: &Reply) -> Option<&str> {
    r.headers.get("cache-control").and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_note_is_trimmed_stored_and_reaches_the_view_the_driver_and_the_dispatcher() {
    let shop = Shop::new(|_| {}).await;
    let read = shop.order(0).await["version"].as_u64().expect("version");
    let before = shop.view(0).await;
    assert_eq!((before.json["customer_note"].clone(), before.json["can_leave_note"].clone()), (Value::Null, json!(true)), "{}", before.text);
    assert_eq!(before.json["can_rate"], false);

    let r = shop.put(0, "note", json!({"instructions": "  Ring twice,\r\nthen wait  ", "safe_place": " Behind the blue gate "})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(no_store(&r), Some("no-store"));
    let note = json!({"instructions": "Ring twice,\nthen wait", "safe_place": "Behind the blue gate"});
    assert_eq!(r.json["customer_note"], note, "{}", r.text);
    assert_eq!(shop.view(0).await.json["customer_note"], note);
    assert_eq!(shop.view(1).await.json["customer_note"], Value::Null, "only this customer's order");

    let order = shop.order(0).await;
    assert_eq!(order["customer_note"], note, "the dispatcher's order JSON carries it");
    assert_eq!(order["version"], read + 1, "one versioned write");
    let route = check(&shop.app, Method::GET, "/api/drivers/me/route?date=2026-11-23", Some(&shop.driver), &[], None).await;
    assert_eq!(route.status, StatusCode::OK, "{}", route.text);
    assert_eq!(route.json["orders"][0]["customer_note"], note, "the driver's route carries it");

    // Blank parts clear it.
    let cleared = shop.put(0, "note", json!({"instructions": "   ", "safe_place": null})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    assert_eq!(cleared.json["customer_note"], Value::Null);
}

#[tokio::test]
async fn a_bad_note_is_refused_naming_the_field_and_nothing_is_written() {
    let shop = Shop::new(|_| {}).await;
    let ok = shop.put(0, "note", json!({"instructions": "Ring twice", "safe_place": "Porch"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let before = shop.order(0).await;

    let cases = [
        (json!({"instructions": "x".repeat(501), "safe_place": "Porch"}), "instructions"),
        (json!({"instructions": "Ring", "safe_place": "y".repeat(201)}), "safe_place"),
        (json!({"instructions": "Ring\u{7} the bell"}), "instructions"),
        (json!({"safe_place": "Porch\tleft"}), "safe_place"),
    ];
    for (body, field) in cases {
        let r = shop.put(0, "note", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.json["field"], field, "{}", r.text);
        assert_eq!(r.json["code"], "validation_failed");
    }
    assert_eq!(shop.order(0).await, before, "the order is unchanged");

    // The limits themselves are allowed (characters, not bytes).
    let longest = json!({"instructions": "é".repeat(500), "safe_place": "ü".repeat(200)});
    let r = shop.put(0, "note", longest.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["customer_note"], longest);
    // Unknown fields are refused, naming them.
    let r = shop.put(0, "note", json!({"instruction": "typo"})).await;
    assert_eq!(r.json["field"], "instruction", "{}", r.text);
}

#[tokio::test]
async fn a_note_after_delivery_is_too_late() {
    let shop = Shop::new(|_| {}).await;
    shop.deliver(0, json!([])).await;
    let view = shop.view(0).await;
    assert_eq!((view.json["state"].clone(), view.json["can_leave_note"].clone(), view.json["can_rate"].clone()), (json!("delivered"), json!(false), json!(true)));
    let before = shop.order(0).await;
    let r = shop.put(0, "note", json!({"instructions": "Ring twice"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json["code"], "too_late");
    assert!(r.json["message"].as_str().expect("message").contains("delivered"), "{}", r.text);
    assert_eq!(shop.order(0).await, before);
}

#[tokio::test]
async fn a_rating_before_delivery_is_refused() {
    let shop = Shop::new(|_| {}).await;
    let r = shop.put(0, "rating", json!({"stars": 5})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json["code"], "not_delivered_yet");
    assert_eq!(shop.order(0).await["rating"], Value::Null);
}

#[tokio::test]
async fn stars_outside_one_to_five_or_a_long_comment_are_refused_by_field() {
    let shop = Shop::new(|_| {}).await;
    shop.deliver(0, json!([])).await;
    for stars in [0, 6] {
        let r = shop.put(0, "rating", json!({"stars": stars, "comment": "fine"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.json["field"], "stars", "{}", r.text);
    }
    let r = shop.put(0, "rating", json!({"stars": 4, "comment": "z".repeat(1001)})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json["field"], "comment", "{}", r.text);
    let r = shop.put(0, "rating", json!({"stars": 300})).await;
    assert_eq!(r.json["field"], "stars", "not a small number at all: {}", r.text);
    assert_eq!(shop.order(0).await["rating"], Value::Null);
    assert_eq!(shop.report().await["rating_count"], 0);
}

#[tokio::test]
async fn a_rating_shows_in_the_view_and_the_reports_and_a_new_one_replaces_it() {
    let shop = Shop::new(|_| {}).await;
    shop.deliver(0, json!([])).await;
    let delivered = shop.view(0).await;
    let r = shop.put(0, "rating", json!({"stars": 4, "comment": "  Quick and friendly  "})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["rating"], json!({"stars": 4, "comment": "Quick and friendly", "at": "2026-11-22T18:00:00Z"}), "{}", r.text);
    assert_eq!(shop.view(0).await.json["rating"]["stars"], 4);
    assert_eq!(r.json["timeline"], delivered.json["timeline"], "rating does not move the delivery's time");
    assert_eq!(shop.order(0).await["rating"]["stars"], 4);

    let report = shop.report().await;
    assert_eq!((report["rating_count"].clone(), report["rating_average"].clone()), (json!(1), json!(4.0)), "{report}");
    assert_eq!(report["rating_histogram"], json!([0, 0, 0, 1, 0]));

    let again = shop.put(0, "rating", json!({"stars": 2})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["rating"], json!({"stars": 2, "comment": null, "at": "2026-11-22T18:00:00Z"}));
    let report = shop.report().await;
    assert_eq!((report["rating_count"].clone(), report["rating_average"].clone()), (json!(1), json!(2.0)), "replaced, not added: {report}");
    assert_eq!(report["rating_histogram"], json!([0, 1, 0, 0, 0]));
}

#[tokio::test]
async fn the_proof_photo_in_the_view_opens_without_a_login_and_is_the_same_bytes() {
    let shop = Shop::new(|_| {}).await;
    let (_, order) = shop.stop(0);
    let bytes: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0].into_iter().chain((0..20_000u32).map(|i| (i % 251) as u8)).collect();
    let ticket = check(&shop.app, Method::POST, "/api/pod/uploads", Some(&shop.driver), &[],
        json_body(&json!({"order_id": order, "content_type": "image/jpeg", "size_bytes": bytes.len(), "sha256": sha256_hex(&bytes)}))).await;
    assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.text);
    let uploaded = post_form(&shop.app, &ticket.json, &bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let before = shop.view(0).await;
    assert_eq!(before.json["pod"], Value::Null, "no proof before delivery");
    shop.deliver(0, json!([{"blob_key": ticket.json["blob_key"], "sha256": sha256_hex(&bytes), "content_type": "image/jpeg", "size_bytes": bytes.len()}])).await;

    let view = shop.view(0).await;
    assert_eq!(view.json["pod"]["recipient_name"], "Léa", "{}", view.text);
    let url = view.json["pod"]["photo_urls"][0].as_str().expect("a photo url").to_owned();
    assert!(url.contains("sig=") && url.contains("expires="), "signed and expiring: {url}");
    let photo = check(&shop.app, Method::GET, &url, None, &[], None).await;
    assert_eq!(photo.status, StatusCode::OK, "no login needed: {}", photo.text);
    let raw = fetch_bytes(&shop.app, &url).await;
    assert_eq!(sha256_hex(&raw), sha256_hex(&bytes), "the very bytes the driver uploaded");

    // An organisation that keeps proofs private shows none.
    let shop_private = Shop::new(|b| b.organisation.settings.pod.customer_can_see_pod = false).await;
    shop_private.deliver(0, json!([])).await;
    let hidden = shop_private.view(0).await;
    assert_eq!((hidden.json["state"].clone(), hidden.json["pod"].clone()), (json!("delivered"), Value::Null), "{}", hidden.text);
}

#[tokio::test]
async fn a_failed_delivery_shows_a_friendly_reason_without_the_drivers_note_and_can_be_rated() {
    let shop = Shop::new(|b| b.organisation.settings.pod.auto_reattempt = false).await;
    let failed = shop.fail(1, "SECRET-DRIVER-NOTE nobody home, dog barking").await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);
    let view = shop.view(1).await;
    assert_eq!(view.json["state"], "failed", "{}", view.text);
    assert_eq!(view.json["failure_reason"], "We could not find anyone to receive the parcel.");
    assert!(!view.text.contains("SECRET-DRIVER-NOTE"), "never the driver's note: {}", view.text);
    assert_eq!((view.json["can_rate"].clone(), view.json["can_leave_note"].clone()), (json!(true), json!(false)));
    assert_eq!(shop.view(0).await.json["failure_reason"], Value::Null);
    let r = shop.put(1, "rating", json!({"stars": 1, "comment": "Nobody rang"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(shop.report().await["rating_count"], 1);
}

#[tokio::test]
async fn a_failed_attempt_that_is_reattempted_shows_as_failed_and_the_next_customer_becomes_next() {
    let shop = Shop::new(|b| {
        b.organisation.settings.pod.auto_reattempt = true;
        b.organisation.settings.pod.max_attempts = 3;
    })
    .await;
    assert_eq!(shop.view(1).await.json["stops_before"], 1);
    let failed = shop.fail(0, "nobody home").await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);
    assert_eq!(shop.order(0).await["status"]["state"], "created", "the order went back to the queue");
    let view = shop.view(0).await;
    assert_eq!(view.json["state"], "failed", "{}", view.text);
    assert_eq!(view.json["failure_reason"], "We could not find anyone to receive the parcel.");
    assert_eq!((view.json["eta"].clone(), view.json["stops_before"].clone()), (Value::Null, Value::Null), "{}", view.text);
    assert_eq!(view.json["can_leave_note"], true, "a note still reaches the next attempt");
    assert_eq!(shop.view(1).await.json["stops_before"], 0, "the failed stop is behind the driver");
}

#[tokio::test]
async fn unknown_and_malformed_links_get_the_same_404_on_every_route() {
    let shop = Shop::new(|_| {}).await;
    let unknown = random_token(TRACKING_TOKEN_BYTES);
    let reference = check(&shop.app, Method::GET, &format!("/api/track/{unknown}"), None, &[], None).await;
    assert_eq!(reference.status, StatusCode::NOT_FOUND);
    let bodies = [
        ("note", Some(json!({"instructions": "Ring"}))),
        ("rating", Some(json!({"stars": 5}))),
        ("note", Some(json!({"instructions": "x".repeat(600)}))),
        ("rating", Some(json!({"stars": 9}))),
        ("rating", Some(json!({"stars": "five", "extra": 1}))),
        ("note", None),
    ];
    for token in [unknown.as_str(), "x", "%20"] {
        for (what, body) in &bodies {
            let body = body.as_ref().map_or_else(|| Some(Body::from("{not json")), json_body);
            let r = check(&shop.app, Method::PUT, &format!("/api/track/{token}/{what}"), None, &[], body).await;
            assert_eq!((r.status, &r.text), (StatusCode::NOT_FOUND, &reference.text), "PUT {what} on {token:?}");
            assert_eq!(no_store(&r), Some("no-store"));
            assert_eq!(r.headers.get("content-type"), reference.headers.get("content-type"));
        }
    }
    // With a valid link, the same unreadable body is explained instead.
    let r = check(&shop.app, Method::PUT, &format!("/api/track/{}/note", shop.tokens[0]), None, &[], Some(Body::from("{not json"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn writes_through_one_link_are_limited_and_say_when_to_retry() {
    let shop = Shop::new(|_| {}).await;
    let mut limited = shop.state.clone();
    limited.limits = RateLimits { per_account: 5, per_client: 3, window_s: 900 };
    let app = api_router(limited);
    let path = format!("/api/track/{}/note", shop.tokens[0]);
    for n in 0..3 {
        let r = check(&app, Method::PUT, &path, None, &[], json_body(&json!({"instructions": format!("try {n}")}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = check(&app, Method::PUT, &path, None, &[], json_body(&json!({"instructions": "once more"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.json["code"], "rate_limited");
    // NOW is 18:00, so the 15-minute window ends at 18:15.
    assert_eq!(r.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("900"));
    assert_eq!(shop.order(0).await["customer_note"]["instructions"], "try 2", "the refused write changed nothing");
    // Reading is not limited.
    assert_eq!(check(&app, Method::GET, &format!("/api/track/{}", shop.tokens[0]), None, &[], None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_documents_the_customer_writes_and_their_refusals() {
    let shop = Shop::new(|_| {}).await;
    let doc = check(&shop.app, Method::GET, "/api/openapi.json", None, &[], None).await;
    assert_eq!(doc.status, StatusCode::OK);
    for (path, conflict) in [("/api/track/{token}/note", "too_late"), ("/api/track/{token}/rating", "not_delivered_yet")] {
        let put = &doc.json["paths"][path]["put"];
        assert!(put["responses"]["200"].is_object(), "{path}: {put}");
        assert!(put["responses"]["409"]["description"].as_str().unwrap_or("").contains(conflict), "{path}: {put}");
        for status in ["404", "422", "429"] {
            assert!(put["responses"][status].is_object(), "{path} lacks {status}: {put}");
        }
        assert!(put["security"].is_null(), "public: no login: {put}");
    }
    let get = doc.json["paths"]["/api/track/{token}"]["get"]["responses"]["200"]["description"].as_str().unwrap_or("").to_owned();
    for field in ["pod", "customer_note", "can_leave_note", "rating", "can_rate", "failure_reason"] {
        assert!(get.contains(field), "the view's description lacks {field}: {get}");
    }
}

/// The ticket's form fields, then `file`, as a browser sends them.
async fn post_form(app: &Router, ticket: &Value, bytes: &[u8]) -> Reply {
    let boundary = "----doorstep-test-boundary";
    let mut body = Vec::new();
    for (name, value) in ticket["fields"].as_object().expect("fields") {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n", value.as_str().expect("text")).as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let length = body.len().to_string();
    check(app, Method::POST, ticket["url"].as_str().expect("url"), None, &[("content-type", &content_type), ("content-length", &length)], Some(Body::from(body))).await
}

/// The raw bytes behind `url` (the common helper keeps text only).
async fn fetch_bytes(app: &Router, url: &str) -> Vec<u8> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::builder().method(Method::GET).uri(url).body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.expect("body").to_bytes().to_vec()
}
