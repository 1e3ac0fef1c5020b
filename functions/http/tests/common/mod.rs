//! A small world for HTTP tests: two organisations on an in-memory SQLite
//! store, signed-in callers of every kind, and one published plan, all made
//! through the API itself. Every entity's name carries its organisation's
//! marker (`SECRET-A`, `SECRET-B`) so a leak shows up in any response body.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use doorstep_core::adapters::{Argon2Passwords, Hs256Tokens};
use doorstep_core::ports::{BusinessSnapshot, FixedClock};
use doorstep_core::usecases::auth::{RateLimits, create_dispatcher};
use doorstep_core::{Clock, Store};
use doorstep_domain::{DepotId, DriverId, OrderId, OrgId, VehicleId};
use doorstep_http::{AppState, ClientSettings, api_router};
use doorstep_store_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-22 18:00 UTC);
pub const PASSWORD: &str = "correct horse battery";

/// One response: status, headers, raw body and its JSON (Null if not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

/// Sends one request through the router in process. `auth` is sent as
/// `Authorization: Bearer`; `body` as JSON unless `content_type` says otherwise.
pub async fn check(app: &Router, method: Method, path: &str, auth: Option<&str>, extra: &[(&str, &str)], body: Option<Body>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = auth {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut has_type = false;
    for (name, value) in extra {
        has_type |= name.eq_ignore_ascii_case("content-type");
        request = request.header(*name, *value);
    }
    if body.is_some() && !has_type {
        request = request.header("content-type", "application/json");
    }
    let response = app.clone().oneshot(request.body(body.unwrap_or_else(Body::empty)).expect("request")).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, text, json }
}

pub fn json_body(value: &Value) -> Option<Body> {
    Some(Body::from(value.to_string()))
}

/// The demo business re-keyed so every id and name is unique to `tag`.
pub fn marked_business(org: &str, tag: &str) -> BusinessSnapshot {
    let mut b = doorstep_store_conformance::sample_business(org);
    let marker = format!("SECRET-{}", tag.to_uppercase());
    b.organisation.name = format!("{} {marker}", b.organisation.name);
    for d in &mut b.depots {
        d.id = DepotId::new(format!("{tag}-{}", d.id)).expect("id");
        d.name = format!("{} {marker}", d.name);
    }
    let depot = b.depots[0].id.clone();
    for v in &mut b.vehicles {
        v.id = VehicleId::new(format!("{tag}-{}", v.id)).expect("id");
        v.depot_id = v.depot_id.as_ref().map(|_| depot.clone());
    }
    for d in &mut b.drivers {
        d.id = DriverId::new(format!("{tag}-{}", d.id)).expect("id");
        d.name = format!("{} {marker}", d.name);
        d.vehicle_id = d.vehicle_id.as_ref().map(|v| VehicleId::new(format!("{tag}-{v}")).expect("id"));
        d.active = true;
    }
    for o in &mut b.orders {
        o.id = OrderId::new(format!("{tag}-{}", o.id)).expect("id");
        o.recipient.name = format!("{} {marker}", o.recipient.name);
        o.depot_id = o.depot_id.as_ref().map(|_| depot.clone());
    }
    b
}

pub struct World {
    pub app: Router,
    pub state: AppState,
    pub a: BusinessSnapshot,
    pub b: BusinessSnapshot,
    pub dispatcher_a: String,
    pub dispatcher_b: String,
    pub driver_a1: String,
    pub driver_a2: String,
    pub key_a: String,
    /// A customer's tracking token from org A's published plan.
    pub tracking: String,
    pub published_plan_a: String,
}

pub fn state(store: SqliteStore, clock: Arc<dyn Clock>) -> AppState {
    let tokens = Arc::new(Hs256Tokens::new(b"test secret, 32 bytes or more....", 3600));
    let store = Arc::new(store);
    AppState {
        reports: store.clone(),
        tracking: store.clone(),
        tracking_settings: Default::default(),
        pods: Some(store.clone()),
        blobs: None,
        local_blobs: None,
        store,
        clock,
        client: ClientSettings::default(),
        verifier: tokens.clone(),
        issuer: tokens,
        passwords: Arc::new(Argon2Passwords::fast_for_tests()),
        limits: RateLimits::default(),
    }
}

pub async fn login(app: &Router, email: &str, password: &str) -> Reply {
    check(app, Method::POST, "/api/auth/login", None, &[], json_body(&json!({"email": email, "password": password}))).await
}

pub async fn driver_token(app: &Router, dispatcher: &str, driver: &DriverId) -> String {
    let codes = check(app, Method::POST, &format!("/api/drivers/{driver}/sign-in-codes"), Some(dispatcher), &[], None).await;
    assert_eq!(codes.status, StatusCode::CREATED, "{}", codes.text);
    let signed = check(app, Method::POST, "/api/auth/driver", None, &[], json_body(&json!({"token": codes.json["token"]}))).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    signed.json["access_token"].as_str().expect("token").to_owned()
}

/// A plan body for `routes`: (vehicle, driver, orders), stops 10 minutes apart from 09:00 Lyon.
pub fn plan_body(business: &BusinessSnapshot, routes: &[(usize, usize, &[usize])]) -> Value {
    let start = time::macros::datetime!(2026-11-23 08:00 UTC);
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("rfc3339");
    let routes: Vec<Value> = routes
        .iter()
        .map(|(v, d, orders)| {
            let stops: Vec<Value> = orders
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let arrive = start + time::Duration::minutes(10 * i as i64 + 10);
                    json!({
                        "order_id": business.orders[*o].id,
                        "kind": "delivery",
                        "planned_arrival": fmt(arrive),
                        "planned_departure": fmt(arrive + time::Duration::minutes(5)),
                    })
                })
                .collect();
            json!({
                "vehicle_id": business.vehicles[*v].id,
                "driver_id": business.drivers[*d].id,
                "planned_start": fmt(start),
                "planned_end": fmt(start + time::Duration::hours(8)),
                "stops": stops,
            })
        })
        .collect();
    json!({"depot_id": business.depots[0].id, "date": "2026-11-23", "routes": routes})
}

impl World {
    pub async fn new() -> Self {
        Self::new_on(SqliteStore::open_in_memory().expect("store")).await
    }

    /// The same world on a store the test keeps a handle to.
    pub async fn new_on(store: SqliteStore) -> Self {
        let a = marked_business("org-a", "a");
        let b = marked_business("org-b", "b");
        store.import_business(&a).await.expect("import a");
        store.import_business(&b).await.expect("import b");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
        let state = state(store, clock);
        for (org, email) in [("org-a", "alice@a.example"), ("org-b", "bob@b.example")] {
            create_dispatcher(state.store.as_ref(), state.clock.as_ref(), state.passwords.as_ref(), &OrgId::new(org).expect("id"), email, "D", PASSWORD)
                .await
                .expect("dispatcher");
        }
        let app = api_router(state.clone());
        let token = |r: Reply| r.json["access_token"].as_str().expect("access_token").to_owned();
        let dispatcher_a = token(login(&app, "alice@a.example", PASSWORD).await);
        let dispatcher_b = token(login(&app, "bob@b.example", PASSWORD).await);
        let driver_a1 = driver_token(&app, &dispatcher_a, &a.drivers[0].id).await;
        let driver_a2 = driver_token(&app, &dispatcher_a, &a.drivers[1].id).await;
        let key = check(&app, Method::POST, "/api/api-keys", Some(&dispatcher_a), &[], json_body(&json!({"name": "Shop"}))).await;
        assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
        let key_a = key.json["secret"].as_str().expect("secret").to_owned();

        // A1 drives orders 0-2, A2 orders 3-4; published.
        let body = plan_body(&a, &[(0, 0, &[0, 1, 2]), (1, 1, &[3, 4])]);
        let saved = check(&app, Method::POST, "/api/plans", Some(&dispatcher_a), &[], json_body(&body)).await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
        let plan_id = saved.json["id"].as_str().expect("plan id").to_owned();
        let published =
            check(&app, Method::POST, &format!("/api/plans/{plan_id}/publish"), Some(&dispatcher_a), &[], json_body(&json!({"version": 1}))).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.text);
        let tracking = published.json["tracking"][0]["token"].as_str().expect("tracking token").to_owned();
        Self { app, state, a, b, dispatcher_a, dispatcher_b, driver_a1, driver_a2, key_a, tracking, published_plan_a: plan_id }
    }
}

/// Keeps what the notifier sends (the log channel's place; the real adapters
/// are tested in doorstep-notify-channels).
#[derive(Default)]
pub struct CaptureSends(pub std::sync::Mutex<Vec<doorstep_core::ports::Outgoing>>);

#[async_trait::async_trait]
impl doorstep_core::ports::Sender for CaptureSends {
    async fn send(&self, message: &doorstep_core::ports::Outgoing) -> Result<(), doorstep_core::ports::SendError> {
        self.0.lock().expect("lock").push(message.clone());
        Ok(())
    }
}
