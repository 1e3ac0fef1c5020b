//! Tracking over HTTP and its use cases on SQLite: per-ping results, ETAs
//! and the `delayed` / `nearby` notifications (once each), the dispatcher's
//! reads, and the public tracking read (the driver's position only while on
//! the way to this customer; one 404 for every dead link).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{NOW, World, check, json_body};
use doorstep_core::crypto::random_token;
use doorstep_core::ports::{FixedClock, NotifyStore, Principal};
use doorstep_core::usecases::plans::TRACKING_TOKEN_BYTES;
use doorstep_core::usecases::tracking::{self, TrackingDeps, TrackingSettings, compute_etas, stop_window};
use doorstep_domain::auth::Role;
use doorstep_domain::notification::Trigger;
use doorstep_domain::planning::TravelSettings;
use doorstep_domain::tracking::{PingBatch, PingOutcome, TrackingPing};
use doorstep_domain::{LatLon, Order, OrderEvent, OrderId, Plan, PlanId, Route};
use doorstep_http::api_router;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("rfc3339")
}

fn ping_json(seq: u64, at: OffsetDateTime, at_point: LatLon) -> Value {
    json!({"seq": seq, "device_time": ts(at), "lat": at_point.lat, "lon": at_point.lon, "accuracy_m": 5.0, "speed_mps": 7.5, "heading_deg": 90.0, "battery_pct": 80.0})
}

fn ping(seq: u64, at: OffsetDateTime, p: LatLon) -> TrackingPing {
    TrackingPing { seq, device_time: at, lat: p.lat, lon: p.lon, accuracy_m: Some(5.0), speed_mps: None, heading_deg: None, battery_pct: None }
}

async fn plan(world: &World) -> Plan {
    world.state.store.get_plan(&world.a.organisation.id, &PlanId::new(world.published_plan_a.clone()).expect("id")).await.expect("plan")
}

/// Route 0 of the published plan: driver A1, orders 0, 1 and 2.
async fn route_a1(world: &World) -> Route {
    plan(world).await.routes[0].clone()
}

fn driver_a1(world: &World) -> Principal {
    Principal { org: world.a.organisation.id.clone(), role: Role::Driver, subject: world.a.drivers[0].id.to_string() }
}

fn deps<'a>(world: &'a World, clock: &'a FixedClock) -> TrackingDeps<'a> {
    TrackingDeps { store: world.state.store.as_ref(), tracking: world.state.tracking.as_ref(), reports: world.state.reports.as_ref(), clock, settings: TrackingSettings::default() }
}

async fn set_state(world: &World, id: &OrderId, event: OrderEvent, at: OffsetDateTime) -> Order {
    let store = world.state.store.as_ref();
    let mut order = store.get_order(&world.a.organisation.id, id).await.expect("order");
    let read = order.version;
    order.apply(&event, at).expect("transition");
    store.update_order(&order, read).await.expect("update");
    order
}

/// Outbox entries of `trigger` for `orders`, read through the notify port.
async fn outbox(store: &doorstep_store_sqlite::SqliteStore, trigger: Trigger, orders: &[OrderId]) -> Vec<OrderId> {
    store.pending_outbox(10_000).await.expect("outbox").into_iter().filter(|e| e.trigger == trigger && orders.contains(&e.order_id)).map(|e| e.order_id).collect()
}

#[tokio::test]
async fn each_ping_gets_its_own_result_and_bad_ones_name_their_field() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    let here = route.stops[2].location;
    let mut pings: Vec<Value> = (1..=5).map(|s| ping_json(s, NOW - Duration::minutes(10) + Duration::seconds(s as i64), here)).collect();
    pings[3]["lat"] = json!(95.0);
    pings[1]["device_time"] = json!(ts(NOW + Duration::minutes(10)));
    pings.push(ping_json(5, NOW - Duration::minutes(9), here)); // the same seq twice in one upload
    let body = json!({"route_id": route.id, "pings": pings});
    let r = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let outcomes: Vec<&str> = r.json["results"].as_array().expect("results").iter().map(|x| x["outcome"].as_str().expect("outcome")).collect();
    assert_eq!(outcomes, ["accepted", "rejected", "accepted", "rejected", "accepted", "duplicate"]);
    assert_eq!(r.json["results"][3]["error"]["field"], "pings[3].lat");
    assert_eq!(r.json["results"][3]["error"]["code"], "out_of_range");
    assert!(r.json["results"][3]["error"]["message"].as_str().expect("message").contains("90"), "{}", r.text);
    assert_eq!(r.json["results"][1]["error"]["field"], "pings[1].device_time");
    assert_eq!(r.json["results"][1]["error"]["code"], "in_the_future");
    assert!(r.json["results"][0].get("error").is_none(), "accepted pings carry no error: {}", r.text);
    assert_eq!(r.json["latest"]["seq"], 5);
    // The same upload again: everything stored before is a duplicate now.
    let again = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&body)).await;
    let outcomes: Vec<&str> = again.json["results"].as_array().expect("results").iter().map(|x| x["outcome"].as_str().expect("outcome")).collect();
    assert_eq!(outcomes, ["duplicate", "rejected", "duplicate", "rejected", "duplicate", "duplicate"]);
}

#[tokio::test]
async fn uploads_are_refused_whole_when_too_large_or_for_someone_elses_route() {
    let world = World::new().await;
    let plan = plan(&world).await;
    let here = plan.routes[0].stops[0].location;
    let many: Vec<Value> = (1..=101).map(|s| ping_json(s, NOW - Duration::minutes(30) + Duration::seconds(s as i64), here)).collect();
    let r = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&json!({"route_id": plan.routes[0].id, "pings": many}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json["details"][0]["path"], "pings");
    // Route 1 belongs to driver A2.
    let theirs = json!({"route_id": plan.routes[1].id, "pings": [ping_json(1, NOW - Duration::minutes(1), here)]});
    let r = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&theirs)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // Dispatchers do not upload pings.
    let r = check(&world.app, Method::POST, "/api/pings", Some(&world.dispatcher_a), &[], json_body(&theirs)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let positions = check(&world.app, Method::GET, "/api/tracking/positions", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(positions.json["positions"], json!([]), "nothing refused was stored: {}", positions.text);
}

#[tokio::test]
async fn dispatchers_see_their_own_drivers_positions_and_trails_only() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    let here = route.stops[0].location;
    let pings: Vec<Value> = (1..=3).map(|s| ping_json(s, NOW - Duration::minutes(5) + Duration::seconds(10 * s as i64), here)).collect();
    let r = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&json!({"route_id": route.id, "pings": pings}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let a = check(&world.app, Method::GET, "/api/tracking/positions", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(a.json["positions"].as_array().expect("positions").len(), 1, "{}", a.text);
    assert_eq!(a.json["positions"][0]["driver_id"], json!(world.a.drivers[0].id));
    assert_eq!(a.json["positions"][0]["seq"], 3);
    let b = check(&world.app, Method::GET, "/api/tracking/positions", Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(b.json["positions"], json!([]), "{}", b.text);
    let from = ts(NOW - Duration::hours(1)).replace('+', "%2B");
    let to = ts(NOW).replace('+', "%2B");
    let path = format!("/api/tracking/drivers/{}/trail?from={from}&to={to}", world.a.drivers[0].id);
    let trail = check(&world.app, Method::GET, &path, Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text);
    let seqs: Vec<u64> = trail.json["pings"].as_array().expect("pings").iter().map(|p| p["ping"]["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let foreign = check(&world.app, Method::GET, &path, Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another org's driver is not found: {}", foreign.text);
    let progress = check(&world.app, Method::GET, &format!("/api/tracking/routes/{}", route.id), Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.text);
    assert_eq!(progress.json["etas"].as_array().expect("etas").len(), 3);
    let hidden = check(&world.app, Method::GET, &format!("/api/tracking/routes/{}", route.id), Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn etas_follow_the_plans_travel_model_from_the_latest_position() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    let now = route.planned_start;
    let clock = FixedClock(now);
    let at_first = route.stops[0].location;
    let batch = PingBatch { route_id: route.id.clone(), pings: vec![ping(1, now - Duration::seconds(30), at_first)] };
    tracking::upload_pings(deps(&world, &clock), &driver_a1(&world), &batch).await.expect("upload");
    let progress = world.state.tracking.route_progress(&world.a.organisation.id, &route.id).await.expect("read").expect("progress");
    assert_eq!(progress.etas.len(), 3);
    // At the first stop now: ETA now. The second: after waiting for the
    // window, serving, and driving great-circle × 1.3 at 25 km/h.
    let orders = world.state.store.get_orders(&world.a.organisation.id, &route.stops.iter().map(|s| s.order_id.clone()).collect::<Vec<_>>()).await.expect("orders");
    let first = orders.iter().find(|o| o.id == route.stops[0].order_id).expect("order");
    assert_eq!(progress.etas[0].eta, now);
    let window = stop_window(&route.stops[0], Some(first));
    let service = i64::from(first.service_time_or(world.a.organisation.default_service_time_s));
    let drive_s = at_first.distance_m(route.stops[1].location) * 1.3 / (25.0 / 3.6);
    let expected = now.max(window.start) + Duration::seconds(service) + Duration::seconds_f64(drive_s);
    assert!((progress.etas[1].eta - expected).abs() < Duration::milliseconds(1), "{:?} vs {expected:?}", progress.etas[1].eta);
    // A delivered stop drops out of the remaining ones.
    set_state(&world, &route.stops[0].order_id, OrderEvent::Start, now).await;
    let mut delivered = set_state(&world, &route.stops[0].order_id, OrderEvent::Deliver, now).await;
    delivered.org_id = world.a.organisation.id.clone();
    let by_id = world.state.store.get_orders(&world.a.organisation.id, &[route.stops[1].order_id.clone(), route.stops[2].order_id.clone(), delivered.id.clone()]).await.expect("orders");
    let map = by_id.into_iter().map(|o| (o.id.clone(), o)).collect();
    let position = world.state.tracking.latest_position(&world.a.organisation.id, &world.a.drivers[0].id, now).await.expect("read").expect("position");
    let etas = compute_etas(&route, &map, &world.a.organisation, &position, now, TravelSettings::default());
    assert_eq!(etas.iter().map(|e| e.sequence).collect::<Vec<_>>(), [2, 3]);
}

#[tokio::test]
async fn a_late_route_notifies_delayed_once_per_order_and_nearby_once_for_the_next_stop() {
    let store = doorstep_store_sqlite::SqliteStore::open_in_memory().expect("store");
    let world = World::new_on(store.clone()).await;
    let route = route_a1(&world).await;
    let ids: Vec<OrderId> = route.stops.iter().map(|s| s.order_id.clone()).collect();
    let now = route.planned_start;
    let clock = FixedClock(now);
    // 300 km away: every stop ends up hours past its window.
    let far = LatLon::new(route.stops[0].location.lat + 2.7, route.stops[0].location.lon);
    let b1 = PingBatch { route_id: route.id.clone(), pings: vec![ping(1, now - Duration::seconds(20), far)] };
    let r = tracking::upload_pings(deps(&world, &clock), &driver_a1(&world), &b1).await.expect("upload");
    assert_eq!(r.count(PingOutcome::Accepted), 1);
    let delayed = outbox(&store, Trigger::Delayed, &ids).await;
    assert_eq!(delayed.iter().collect::<BTreeSet<_>>(), ids.iter().collect::<BTreeSet<_>>(), "one delayed entry per late order");
    assert_eq!(delayed.len(), 3);
    assert!(outbox(&store, Trigger::Nearby, &ids).await.is_empty(), "not near anything yet");
    let progress = world.state.tracking.route_progress(&world.a.organisation.id, &route.id).await.expect("read").expect("progress");
    assert!(progress.etas.iter().all(|e| e.late_by_s > 15 * 60), "{:?}", progress.etas);
    // Still late on the next upload: no second delayed entry.
    let b2 = PingBatch { route_id: route.id.clone(), pings: vec![ping(2, now - Duration::seconds(10), far)] };
    tracking::upload_pings(deps(&world, &clock), &driver_a1(&world), &b2).await.expect("upload");
    assert_eq!(outbox(&store, Trigger::Delayed, &ids).await.len(), 3, "delayed is written once per order and attempt");
    // At the first stop: nearby for that order only, once.
    let at_first = route.stops[0].location;
    for seq in [3, 4] {
        let b = PingBatch { route_id: route.id.clone(), pings: vec![ping(seq, now - Duration::seconds(5) + Duration::seconds(seq as i64), at_first)] };
        tracking::upload_pings(deps(&world, &clock), &driver_a1(&world), &b).await.expect("upload");
    }
    assert_eq!(outbox(&store, Trigger::Nearby, &ids).await, [route.stops[0].order_id.clone()], "nearby once, for the next stop");
    // A late batch (older pings) is stored but does not move the driver back or re-notify.
    let late = PingBatch { route_id: route.id.clone(), pings: vec![ping(0, now - Duration::minutes(5), far)] };
    let r = tracking::upload_pings(deps(&world, &clock), &driver_a1(&world), &late).await.expect("upload");
    assert_eq!(r.count(PingOutcome::Accepted), 1);
    assert_eq!(r.latest.expect("latest").seq, 4, "the latest position never goes back");
    assert_eq!(outbox(&store, Trigger::Nearby, &ids).await.len(), 1);
    assert_eq!(outbox(&store, Trigger::Delayed, &ids).await.len(), 3);
}

#[tokio::test]
async fn the_public_read_shows_the_driver_only_while_on_the_way_to_this_customer() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    let path = format!("/api/track/{}", world.tracking);
    let here = LatLon::new(route.stops[0].location.lat + 0.02, route.stops[0].location.lon);
    let upload = |seq: u64| {
        let body = json!({"route_id": route.id, "pings": [ping_json(seq, NOW - Duration::minutes(2) + Duration::seconds(seq as i64), here)]});
        let app = world.app.clone();
        let token = world.driver_a1.clone();
        async move { check(&app, Method::POST, "/api/pings", Some(&token), &[], json_body(&body)).await }
    };
    assert_eq!(upload(1).await.status, StatusCode::OK);
    let dispatched = check(&world.app, Method::GET, &path, None, &[], None).await;
    assert_eq!(dispatched.status, StatusCode::OK, "{}", dispatched.text);
    assert_eq!(dispatched.json["state"], "dispatched");
    assert_eq!(dispatched.json["driver_position"], Value::Null, "not out for delivery yet");
    assert_eq!(dispatched.json["timeline"][0]["state"], "dispatched");
    assert!(dispatched.json["eta"]["start"].is_string(), "{}", dispatched.text);
    assert_eq!(dispatched.headers.get("cache-control").map(|v| v.to_str().expect("text")), Some("no-store"));
    let first_name = world.a.drivers[0].name.split_whitespace().next().expect("name");
    assert_eq!(dispatched.json["driver_first_name"], first_name);
    assert!(!dispatched.text.contains(&world.a.drivers[0].name), "never the driver's full name: {}", dispatched.text);

    // The second customer's order goes out for delivery too, but the first stop is next.
    let second_order = route.stops[1].order_id.clone();
    set_state(&world, &second_order, OrderEvent::Start, NOW).await;
    set_state(&world, &route.stops[0].order_id, OrderEvent::Start, NOW).await;
    assert_eq!(upload(2).await.status, StatusCode::OK);
    let en_route = check(&world.app, Method::GET, &path, None, &[], None).await;
    assert_eq!(en_route.json["state"], "out_for_delivery");
    assert_eq!(en_route.json["driver_position"], json!({"lat": here.lat, "lon": here.lon}), "{}", en_route.text);
    assert_eq!(en_route.json["stops_before"], 0);
    assert_eq!(en_route.json["timeline"][1]["state"], "out_for_delivery");
    let progress = world.state.tracking.route_progress(&world.a.organisation.id, &route.id).await.expect("read").expect("progress");
    let eta = progress.eta_of(&route.stops[0].id).expect("eta").eta;
    assert_eq!(en_route.json["eta"], serde_json::to_value(doorstep_domain::tracking::eta_window(eta, 15 * 60)).expect("json"), "the live ETA");

    // Delivered: no position any more, the delivery in the timeline.
    set_state(&world, &route.stops[0].order_id, OrderEvent::Deliver, NOW).await;
    let done = check(&world.app, Method::GET, &path, None, &[], None).await;
    assert_eq!(done.json["state"], "delivered");
    assert_eq!(done.json["driver_position"], Value::Null);
    assert_eq!(done.json["eta"], Value::Null);
    let steps: Vec<&str> = done.json["timeline"].as_array().expect("timeline").iter().map(|s| s["state"].as_str().expect("state")).collect();
    assert_eq!(steps, ["dispatched", "out_for_delivery", "delivered"]);
    assert_eq!(done.json["timeline"][2]["at"], ts(NOW));
    assert_eq!(done.json["timeline"][1]["at"], ts(NOW), "when it went out, as the uploads saw it");
    assert!(done.json.get("pod").is_some(), "the proof's slot is there for the POD read");
}

#[tokio::test]
async fn unknown_expired_and_malformed_links_get_the_same_404() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    let path = format!("/api/track/{}", world.tracking);
    set_state(&world, &route.stops[0].order_id, OrderEvent::Start, NOW).await;
    set_state(&world, &route.stops[0].order_id, OrderEvent::Deliver, NOW).await;
    let at = |t: OffsetDateTime| {
        let mut state = world.state.clone();
        state.clock = Arc::new(FixedClock(t));
        api_router(state)
    };
    let week = Duration::days(7);
    let still = check(&at(NOW + week - Duration::seconds(1)), Method::GET, &path, None, &[], None).await;
    assert_eq!(still.status, StatusCode::OK, "the link lives 7 days after delivery: {}", still.text);
    let later = at(NOW + week + Duration::seconds(1));
    let expired = check(&later, Method::GET, &path, None, &[], None).await;
    let unknown = check(&later, Method::GET, &format!("/api/track/{}", random_token(TRACKING_TOKEN_BYTES)), None, &[], None).await;
    let malformed = check(&later, Method::GET, "/api/track/x", None, &[], None).await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert_eq!(expired.text, unknown.text, "expired and unknown links answer byte for byte the same");
    assert_eq!(unknown.text, malformed.text);
    assert_eq!(expired.headers.get("content-type"), unknown.headers.get("content-type"));
    assert!(!expired.text.contains(&world.tracking), "the token is not echoed");
}

#[test]
fn tracking_tokens_carry_at_least_128_random_bits() {
    let token = random_token(TRACKING_TOKEN_BYTES);
    // base64url without padding: 6 bits per character from a 64-symbol alphabet.
    assert_eq!(token.len(), (TRACKING_TOKEN_BYTES * 8).div_ceil(6));
    assert!(token.len() * 6 >= 128 && TRACKING_TOKEN_BYTES * 8 >= 128, "{} bits", TRACKING_TOKEN_BYTES * 8);
    let alphabet: BTreeSet<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').chain(['-', '_']).collect();
    assert_eq!(alphabet.len(), 64);
    let draws: Vec<String> = (0..20_000).map(|_| random_token(TRACKING_TOKEN_BYTES)).collect();
    assert!(draws.iter().all(|t| t.chars().all(|c| alphabet.contains(&c))));
    assert_eq!(draws.iter().collect::<BTreeSet<_>>().len(), draws.len(), "no repeats in 20,000 draws");
    // Every symbol shows up in every position often enough: no stuck bits.
    let used: BTreeSet<char> = draws.iter().flat_map(|t| t.chars().take(31)).collect();
    assert_eq!(used.len(), 64);
}

#[tokio::test]
async fn the_published_token_is_not_the_order_id_and_only_its_hash_is_stored() {
    let world = World::new().await;
    let route = route_a1(&world).await;
    assert_eq!(world.tracking.len(), 32);
    assert!(route.stops.iter().all(|s| !world.tracking.contains(s.order_id.as_str())));
    let hash = doorstep_core::crypto::sha256_hex(world.tracking.as_bytes());
    let link = world.state.store.tracking_link(&hash, NOW).await.expect("read").expect("link");
    assert_eq!(link.order_id, route.stops[0].order_id);
    assert!(world.state.store.tracking_link(&world.tracking, NOW).await.expect("read").is_none(), "the plain token is no key");
}
