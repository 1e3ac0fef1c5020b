//! Auto-dispatch over HTTP on SQLite: an order arriving by API for a day with
//! a published plan goes into the best route (planned times, dispatched,
//! tracking link, outbox entry); finished stops stay first; an order that
//! fits nowhere stays open with its reason; nothing happens when disabled.

mod common;

use axum::http::{Method, StatusCode};
use common::{NOW, World, check, json_body};
use doorstep_core::ports::NotifyStore;
use doorstep_domain::notification::Trigger;
use doorstep_domain::{OrderEvent, OrderId, PlanId};
use doorstep_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn world(enabled: bool) -> (World, SqliteStore) {
    let store = SqliteStore::open_in_memory().expect("store");
    let world = World::new_on(store.clone()).await;
    let patched = check(&world.app, Method::PATCH, "/api/organisation", Some(&world.dispatcher_a), &[], json_body(&json!({"settings": {"auto_dispatch": enabled}}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    (world, store)
}

/// A small parcel near the depot, wanted between `from` and `to` (Lyon time, 23 Nov).
fn new_order(from: &str, to: &str, weight_kg: f64) -> Value {
    json!({
        "kind": "delivery",
        "address": {"line1": "3 Rue Neuve", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": 45.7489, "lon": 4.8340},
        "recipient": {"name": "Auto Dispatch"},
        "demand": [weight_kg, 1.0, 1.0],
        "time_windows": [{"start": format!("2026-11-23T{from}:00+01:00"), "end": format!("2026-11-23T{to}:00+01:00")}],
    })
}

async fn post_order(world: &World, body: &Value) -> String {
    let created = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.json["id"].as_str().expect("id").to_owned()
}

async fn order(world: &World, id: &str) -> Value {
    let got = check(&world.app, Method::GET, &format!("/api/orders/{id}"), Some(&world.key_a), &[], None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.json
}

async fn routes(world: &World) -> Vec<Value> {
    let mut out = Vec::new();
    for driver in [&world.driver_a1, &world.driver_a2] {
        let route = check(&world.app, Method::GET, "/api/drivers/me/route?date=2026-11-23", Some(driver), &[], None).await;
        assert_eq!(route.status, StatusCode::OK, "{}", route.text);
        out.push(route.json);
    }
    out
}

fn at(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("time"), &Rfc3339).expect("rfc3339")
}

#[tokio::test]
async fn an_api_order_goes_into_a_published_route_with_times_link_and_notification() {
    let (world, store) = world(true).await;
    let id = post_order(&world, &new_order("10:00", "16:00", 2.0)).await;

    let stored = order(&world, &id).await;
    assert_eq!(stored["status"]["state"], "dispatched", "{stored}");
    assert!(stored.get("dispatch_hold").is_none(), "{stored}");

    let routes = routes(&world).await;
    let found: Vec<&Value> = routes.iter().filter(|r| r["route"]["stops"].as_array().expect("stops").iter().any(|s| s["order_id"] == id.as_str())).collect();
    assert_eq!(found.len(), 1, "exactly one driver gets it: {routes:?}");
    let route = found[0];
    assert!(route["orders"].as_array().expect("orders").iter().any(|o| o["id"] == id.as_str()));
    let stops = route["route"]["stops"].as_array().expect("stops");
    let mut last = at(&route["route"]["planned_start"]);
    for (i, s) in stops.iter().enumerate() {
        assert_eq!(s["sequence"], i + 1);
        assert!(at(&s["planned_arrival"]) >= last, "times go forward: {stops:?}");
        last = at(&s["planned_departure"]);
    }
    let stop = stops.iter().find(|s| s["order_id"] == id.as_str()).expect("new stop");
    let arrival = at(&stop["planned_arrival"]);
    assert!(arrival >= time::macros::datetime!(2026-11-23 9:00 UTC) - time::Duration::minutes(60), "{stop}");
    assert!(arrival <= time::macros::datetime!(2026-11-23 15:00 UTC), "arrives within its window: {stop}");

    // The customer's dispatched message with a working tracking link.
    let outbox: Vec<_> = store.pending_outbox(10_000).await.expect("outbox").into_iter().filter(|e| e.order_id.as_str() == id && e.trigger == Trigger::Dispatched).collect();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let token = outbox[0].tracking_token.clone().expect("token");
    let view = check(&world.app, Method::GET, &format!("/api/track/{token}"), None, &[], None).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
}

#[tokio::test]
async fn a_route_under_way_keeps_its_finished_stop_first() {
    let (world, _store) = world(true).await;
    let org = &world.a.organisation.id;
    let plan_id = PlanId::new(world.published_plan_a.clone()).expect("id");
    let before = world.state.store.get_plan(org, &plan_id).await.expect("plan");
    // Driver A1 delivered the first stop of the route.
    let first = before.routes[0].stops[0].clone();
    let mut done = world.state.store.get_order(org, &first.order_id).await.expect("order");
    for event in [OrderEvent::Start, OrderEvent::Deliver] {
        let read = done.version;
        done.apply(&event, NOW).expect("transition");
        world.state.store.update_order(&done, read).await.expect("update");
    }

    let id = post_order(&world, &new_order("09:00", "16:30", 1.0)).await;
    assert_eq!(order(&world, &id).await["status"]["state"], "dispatched");
    let after = world.state.store.get_plan(org, &plan_id).await.expect("plan");
    assert_eq!(after.version, before.version + 1);
    let route = &after.routes[0];
    assert_eq!(route.stops[0], first, "the finished stop stays first, untouched");
    let new_id = OrderId::new(id).expect("id");
    assert!(after.stops().any(|(_, s)| s.order_id == new_id));
    if let Some(pos) = route.stops.iter().position(|s| s.order_id == new_id) {
        assert!(pos >= 1);
        assert!(route.stops[pos].planned_arrival >= first.planned_departure);
    }
    // Every stop the plan had is still on its own route.
    for (r, s) in before.stops() {
        let moved = after.stops().find(|(_, t)| t.id == s.id).expect("stop kept");
        assert_eq!(moved.0.id, r.id);
    }
}

#[tokio::test]
async fn an_order_that_fits_nowhere_stays_open_with_its_reason() {
    let (world, _store) = world(true).await;
    let heavy = post_order(&world, &new_order("10:00", "16:00", 50_000.0)).await;
    let held = order(&world, &heavy).await;
    assert_eq!(held["status"]["state"], "created", "{held}");
    assert_eq!(held["dispatch_hold"]["reason"], "capacity", "{held}");
    assert!(!held["dispatch_hold"]["hint"].as_str().expect("hint").is_empty());

    let early = post_order(&world, &new_order("05:00", "06:00", 1.0)).await;
    let held = order(&world, &early).await;
    assert_eq!(held["status"]["state"], "created", "{held}");
    assert_eq!(held["dispatch_hold"]["reason"], "time_window", "{held}");
}

#[tokio::test]
async fn nothing_happens_when_the_organisation_has_not_enabled_it() {
    let (world, store) = world(false).await;
    let id = post_order(&world, &new_order("10:00", "16:00", 2.0)).await;
    let stored = order(&world, &id).await;
    assert_eq!(stored["status"]["state"], "created");
    assert!(stored.get("dispatch_hold").is_none());
    let plan = world.state.store.get_plan(&world.a.organisation.id, &PlanId::new(world.published_plan_a.clone()).expect("id")).await.expect("plan");
    assert_eq!(plan.version, 2, "the published plan is untouched");
    assert!(store.pending_outbox(10_000).await.expect("outbox").iter().all(|e| e.order_id.as_str() != id));
}

#[tokio::test]
async fn a_csv_import_and_a_dispatcher_batch_are_dispatched_too() {
    let (world, _store) = world(true).await;
    let batch = json!({"orders": [new_order("10:00", "16:00", 1.0), new_order("11:00", "16:00", 1.0)]});
    let created = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], json_body(&batch)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for o in created.json["orders"].as_array().expect("orders") {
        let id = o["id"].as_str().expect("id");
        assert_eq!(order(&world, id).await["status"]["state"], "dispatched");
    }
    let csv = "address,postcode,city,name,lat,lon,window_start,window_end\n5 Rue Neuve,69002,Lyon,Csv,45.7490,4.8342,2026-11-23T10:00:00+01:00,2026-11-23T16:00:00+01:00\n";
    let imported = check(&world.app, Method::POST, "/api/orders/import?country=FR", Some(&world.key_a), &[], json_body(&json!({"csv": csv}))).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let ids = imported.json["created"].as_array().expect("created");
    assert_eq!(ids.len(), 1, "{}", imported.text);
    assert_eq!(order(&world, ids[0].as_str().expect("id")).await["status"]["state"], "dispatched");
}

#[tokio::test]
async fn a_route_under_way_starts_from_the_drivers_latest_ping() {
    let (world, _store) = world(true).await;
    let org = &world.a.organisation.id;
    let plan_id = PlanId::new(world.published_plan_a.clone()).expect("id");
    let plan = world.state.store.get_plan(org, &plan_id).await.expect("plan");
    // Driver A1 is about 50 km north of Lyon; the new customer is next to them.
    let (lat, lon) = (46.20, 4.84);
    let ping = json!({"seq": 1, "device_time": "2026-11-22T17:59:00Z", "lat": lat, "lon": lon, "accuracy_m": 5.0});
    let pinged = check(&world.app, Method::POST, "/api/pings", Some(&world.driver_a1), &[], json_body(&json!({"route_id": plan.routes[0].id, "pings": [ping]}))).await;
    assert_eq!(pinged.status, StatusCode::OK, "{}", pinged.text);
    let mut body = new_order("09:00", "16:30", 1.0);
    body["address"]["lat"] = json!(lat + 0.002);
    body["address"]["lon"] = json!(lon);
    let id = post_order(&world, &body).await;
    assert_eq!(order(&world, &id).await["status"]["state"], "dispatched");
    let after = world.state.store.get_plan(org, &plan_id).await.expect("plan");
    let route = &after.routes[0];
    assert_eq!(route.stops[0].order_id.as_str(), id, "served first, from where the driver is: {:?}", route.stops);
}

#[tokio::test]
async fn the_intake_answer_says_dispatched_or_held_and_a_replay_repeats_it_byte_for_byte() {
    let (world, _store) = world(true).await;
    let key = [("idempotency-key", "intake-final-1")];
    let body = new_order("10:00", "16:00", 2.0);
    let created = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["status"]["state"], "dispatched", "{}", created.text);
    let id = created.json["id"].as_str().expect("id");
    assert_eq!(created.json["version"], order(&world, id).await["version"], "the answer is the order as stored");
    let replay = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&body)).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.text, created.text, "a replay repeats the final answer");

    // Held: the answer carries the reason; a batch answers each order's final state.
    let key = [("idempotency-key", "intake-final-2")];
    let batch = json!({"orders": [new_order("10:00", "16:00", 1.0), new_order("10:00", "16:00", 50_000.0)]});
    let created = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&batch)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["orders"][0]["status"]["state"], "dispatched", "{}", created.text);
    assert_eq!(created.json["orders"][1]["status"]["state"], "created", "{}", created.text);
    assert_eq!(created.json["orders"][1]["dispatch_hold"]["reason"], "capacity", "{}", created.text);
    let replay = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&batch)).await;
    assert_eq!(replay.text, created.text);

    // Without a key the answer is final too.
    let plain = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&new_order("11:00", "16:00", 1.0))).await;
    assert_eq!(plain.json["status"]["state"], "dispatched", "{}", plain.text);
}
