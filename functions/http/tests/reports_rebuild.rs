//! Rebuilding the report aggregates from the stored records: a day done
//! through the API, its aggregate corrupted (driver A1) or never written
//! because the fold failed (driver A2), then `POST /api/reports/rebuild`.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::http::{Method, StatusCode};
use common::{NOW, PASSWORD, Reply, check, driver_token, json_body, login, marked_business, plan_body, state};
use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::ports::{BusinessSnapshot, FixedClock, ReportStore, StoreError, VersionedDay};
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::usecases::reports::{RebuildDeps, rebuild_org, record};
use doorstep_core::{Clock, Store};
use doorstep_domain::reports::{DeliveryEvent, DriverDay, ReportPolicy};
use doorstep_domain::tracking::CustomerRating;
use doorstep_domain::{DriverId, OrderId, OrgId, Plan, PlanId};
use doorstep_http::{AppState, api_router};
use doorstep_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};

const DAY: Date = date!(2026 - 11 - 23);

/// A report store whose every call fails, as a fold that crashed would.
struct BrokenReports;

#[async_trait]
impl ReportStore for BrokenReports {
    async fn driver_day(&self, _: &OrgId, _: &DriverId, _: Date) -> Result<Option<VersionedDay>, StoreError> {
        Err(StoreError::Unavailable("the report store is down".into()))
    }
    async fn put_driver_day(&self, _: &OrgId, _: &DriverDay, _: u64) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("the report store is down".into()))
    }
    async fn driver_days(&self, _: &OrgId, _: Date, _: Date) -> Result<Vec<DriverDay>, StoreError> {
        Err(StoreError::Unavailable("the report store is down".into()))
    }
}

struct RebuildWorld {
    app: Router,
    /// The same server, but its report folds fail.
    broken_app: Router,
    state: AppState,
    business: BusinessSnapshot,
    dispatcher: String,
    drivers: [String; 2],
    plan: Plan,
    _blobs: tempfile::TempDir,
}

impl RebuildWorld {
    async fn new() -> Self {
        let store = SqliteStore::open_in_memory().expect("store");
        let business = marked_business("org-a", "a");
        store.import_business(&business).await.expect("import");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = FsBlobStore::open(dir.path(), b"test secret, 32 bytes or more....").expect("blobs");
        let state = state(store, clock).with_local_blobs(blobs);
        let org = OrgId::new("org-a").expect("id");
        create_dispatcher(state.store.as_ref(), state.clock.as_ref(), state.passwords.as_ref(), &org, "alice@a.example", "D", PASSWORD)
            .await
            .expect("dispatcher");
        let app = api_router(state.clone());
        let mut broken = state.clone();
        broken.reports = Arc::new(BrokenReports);
        let broken_app = api_router(broken);
        let dispatcher = login(&app, "alice@a.example", PASSWORD).await.json["access_token"].as_str().expect("token").to_owned();
        let drivers = [driver_token(&app, &dispatcher, &business.drivers[0].id).await, driver_token(&app, &dispatcher, &business.drivers[1].id).await];
        // A1 drives orders 0-2, A2 orders 3-4, on 2026-11-23.
        let body = plan_body(&business, &[(0, 0, &[0, 1, 2]), (1, 1, &[3, 4])]);
        let saved = check(&app, Method::POST, "/api/plans", Some(&dispatcher), &[], json_body(&body)).await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
        let id = saved.json["id"].as_str().expect("plan id").to_owned();
        let published = check(&app, Method::POST, &format!("/api/plans/{id}/publish"), Some(&dispatcher), &[], json_body(&json!({"version": 1}))).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.text);
        let plan = state.store.get_plan(&org, &PlanId::new(id).expect("id")).await.expect("plan");
        Self { app, broken_app, state, business, dispatcher, drivers, plan, _blobs: dir }
    }

    fn org(&self) -> OrgId {
        self.business.organisation.id.clone()
    }

    fn driver_id(&self, driver: usize) -> DriverId {
        self.business.drivers[driver].id.clone()
    }

    async fn as_driver(&self, app: &Router, driver: usize, path: &str, body: Value, key: &str) -> Reply {
        let extra: Vec<(&str, &str)> = if key.is_empty() { vec![] } else { vec![("idempotency-key", key)] };
        let reply = check(app, Method::POST, path, Some(&self.drivers[driver]), &extra, json_body(&body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        reply
    }

    /// Driver `driver` works route `driver` through `app`: starts it, sends
    /// two batches of pings (a fast run and a 5-minute stand-still away from
    /// the stops), delivers the first stop, fails the second.
    async fn work_the_day(&self, app: &Router, driver: usize) {
        let route = &self.plan.routes[driver];
        let plan_id = self.plan.id.to_string();
        let start = NOW - Duration::hours(1);
        let ts = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("rfc3339");
        let k = |what: &str| format!("{what}-{driver}");
        self.as_driver(app, driver, &format!("/api/routes/{}/start", route.id), json!({"plan_id": plan_id, "device_time": ts(start), "vehicle_checked": true}), &k("start"))
            .await;
        let (lat, lon) = (45.70, 4.70);
        let ping = |seq: u64, minute: i64, north: f64, speed: f64| {
            json!({"seq": seq, "device_time": ts(start + Duration::minutes(minute)), "lat": lat + north, "lon": lon, "accuracy_m": 5.0, "speed_mps": speed})
        };
        let first: Vec<Value> = vec![ping(1, 1, 0.0, 8.0), ping(2, 2, 0.01, 20.0), ping(3, 3, 0.02, 20.0), ping(4, 4, 0.03, 9.0)];
        let second: Vec<Value> = vec![ping(5, 5, 0.03, 0.0), ping(6, 7, 0.03, 0.0), ping(7, 9, 0.03, 0.0), ping(8, 10, 0.04, 12.0)];
        for batch in [first, second] {
            let reply = self.as_driver(app, driver, "/api/pings", json!({"route_id": route.id, "pings": batch}), "").await;
            assert!(reply.json["results"].as_array().expect("results").iter().all(|r| r["outcome"] == "accepted"), "{}", reply.text);
        }
        let (done, failed) = (&route.stops[0], &route.stops[1]);
        let pod = json!({"order_id": done.order_id, "recipient_name": "Léa", "device_time": ts(start + Duration::minutes(30))});
        self.as_driver(app, driver, &format!("/api/stops/{}/complete", done.id), json!({"plan_id": plan_id, "pod": pod}), &k("done")).await;
        let fail = json!({"plan_id": plan_id, "reason": "recipient_absent", "device_time": ts(start + Duration::minutes(40))});
        self.as_driver(app, driver, &format!("/api/stops/{}/fail", failed.id), fail, &k("fail")).await;
    }

    /// The customer rates the delivered order (stored on the order, then
    /// folded, as the tracking page's rating does).
    async fn rate(&self, driver: usize, stars: u8) {
        let order_id: &OrderId = &self.plan.routes[driver].stops[0].order_id;
        let store = self.state.store.as_ref();
        let mut order = store.get_order(&self.org(), order_id).await.expect("order");
        let read = order.version;
        order.rating = Some(CustomerRating { stars, comment: None, at: NOW });
        order.version += 1;
        store.update_order(&order, read).await.expect("rating stored");
        let event = DeliveryEvent::Rated { order_id: order_id.clone(), stars };
        record(self.state.reports.as_ref(), &self.org(), &self.driver_id(driver), DAY, &[event], &ReportPolicy::default()).await.expect("fold");
    }

    async fn stored_day(&self, driver: usize) -> Option<VersionedDay> {
        self.state.reports.driver_day(&self.org(), &self.driver_id(driver), DAY).await.expect("read")
    }

    async fn report(&self) -> Value {
        let reply = check(&self.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", Some(&self.dispatcher), &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json
    }

    async fn rebuild(&self, token: &str, body: Value) -> Reply {
        check(&self.app, Method::POST, "/api/reports/rebuild", Some(token), &[], json_body(&body)).await
    }
}

#[tokio::test]
async fn a_corrupted_or_missing_aggregate_is_rebuilt_exactly_as_the_live_fold_made_it() {
    let w = RebuildWorld::new().await;
    w.work_the_day(&w.app, 0).await;
    w.rate(0, 4).await;
    let original = w.stored_day(0).await.expect("A1's day was folded");
    // The day has every kind of figure, so the comparison below means something.
    let route = &original.day.routes[&w.plan.routes[0].id];
    assert!(route.measured && route.actual_distance_m > 1000.0, "{route:?}");
    assert_eq!((original.day.delivered, original.day.failed, original.day.reattempts), (1, 1, 1));
    assert_eq!((original.day.speeding_events, original.day.idle_s_so_far(&ReportPolicy::default())), (1, 300));
    assert_eq!(original.day.ratings.values().copied().collect::<Vec<_>>(), [4]);
    let report_before = w.report().await;

    // A2's folds all fail: the actions stand, the aggregate misses them.
    w.work_the_day(&w.broken_app, 1).await;
    assert!(w.stored_day(1).await.is_none(), "the broken fold wrote nothing");
    // A1's aggregate gets corrupted.
    let mut corrupt = original.day.clone();
    corrupt.delivered = 99;
    corrupt.routes.clear();
    corrupt.ratings.clear();
    w.state.reports.put_driver_day(&w.org(), &corrupt, original.version).await.expect("corrupt");
    assert_ne!(w.report().await, report_before);

    let reply = w.rebuild(&w.dispatcher, json!({"from": "2026-11-23", "to": "2026-11-23"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["changed"], 2, "{}", reply.text);
    let a1 = w.stored_day(0).await.expect("A1 rebuilt");
    assert_eq!(a1.day, original.day, "every figure of A1's day as the live fold made it");
    assert_eq!(a1.version, original.version + 2, "replaced with a version check");
    // A2's rebuilt day equals the fold of the same actions through a working server.
    let a2 = w.stored_day(1).await.expect("A2 rebuilt").day;
    assert_eq!((a2.delivered, a2.failed, a2.speeding_events), (1, 1, 1));
    let again = RebuildWorld::new().await;
    again.work_the_day(&again.app, 1).await;
    let live = again.stored_day(1).await.expect("live fold").day;
    // The other world's plan has its own route id; everything else is the same.
    let live = serde_json::to_string(&live).expect("json").replace(again.plan.routes[1].id.as_str(), w.plan.routes[1].id.as_str());
    assert_eq!(serde_json::to_string(&a2).expect("json"), live);

    // The report reads as before for A1; a second rebuild changes nothing.
    let report_after = w.report().await;
    assert_eq!(report_after["shifts"][0], report_before["shifts"][0]);
    assert_eq!(report_after["routes"][0], report_before["routes"][0]);
    let twice = w.rebuild(&w.dispatcher, json!({"from": "2026-11-22", "to": "2026-11-24"})).await;
    assert_eq!(twice.status, StatusCode::OK, "{}", twice.text);
    assert_eq!(twice.json["changed"], 0, "{}", twice.text);
    assert_eq!(w.stored_day(0).await.expect("A1").version, a1.version);
}

#[tokio::test]
async fn a_bad_range_names_the_field_and_only_dispatchers_rebuild() {
    let w = RebuildWorld::new().await;
    let backwards = w.rebuild(&w.dispatcher, json!({"from": "2026-11-23", "to": "2026-11-22"})).await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", backwards.text);
    assert_eq!(backwards.json["field"], "to");
    let too_long = w.rebuild(&w.dispatcher, json!({"from": "2025-01-01", "to": "2026-11-23"})).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_long.text);
    assert_eq!(too_long.json["field"], "to");
    let not_a_date = w.rebuild(&w.dispatcher, json!({"from": "23/11/2026", "to": "2026-11-23"})).await;
    assert_eq!(not_a_date.json["field"], "from", "{}", not_a_date.text);
    assert!(not_a_date.status.is_client_error());
    let driver = w.rebuild(&w.drivers[0], json!({"from": "2026-11-23", "to": "2026-11-23"})).await;
    assert_eq!(driver.status, StatusCode::FORBIDDEN, "{}", driver.text);
    let nobody = check(&w.app, Method::POST, "/api/reports/rebuild", None, &[], json_body(&json!({"from": "2026-11-23", "to": "2026-11-23"}))).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED, "{}", nobody.text);
}

#[tokio::test]
async fn a_day_past_ping_retention_keeps_its_stored_ping_figures() {
    let w = RebuildWorld::new().await;
    w.work_the_day(&w.app, 0).await;
    let original = w.stored_day(0).await.expect("folded").day;
    // 40 days later the pings are gone; the rest is still rebuilt from records.
    let later = FixedClock(NOW + Duration::days(40));
    let pods = w.state.pods.clone().expect("pods");
    let deps = RebuildDeps {
        store: w.state.store.as_ref(),
        pods: pods.as_ref(),
        tracking: w.state.tracking.as_ref(),
        reports: w.state.reports.as_ref(),
        clock: &later,
        ping_retention: Duration::days(30),
    };
    let summary = rebuild_org(deps, &w.org(), DAY, DAY).await.expect("rebuild");
    assert_eq!(summary.changed, 0, "{summary:?}");
    assert_eq!(w.stored_day(0).await.expect("kept").day, original);
}
