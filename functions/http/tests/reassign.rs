//! Reassigning an unstarted stop mid-day over HTTP on SQLite: the stop moves
//! to another driver's route with times computed on the server, both drivers
//! see it; a started stop, another organisation's plan, a stale version and a
//! move that breaks a rule are refused with nothing written.

mod common;

use axum::http::{Method, StatusCode};
use common::{NOW, World, check, json_body};
use doorstep_domain::time::TimeWindow;
use doorstep_domain::{OrderEvent, PlanId};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn plan_id(world: &World) -> PlanId {
    PlanId::new(world.published_plan_a.clone()).expect("id")
}

async fn plan(world: &World) -> doorstep_domain::Plan {
    world.state.store.get_plan(&world.a.organisation.id, &plan_id(world)).await.expect("plan")
}

async fn reassign(world: &World, token: &str, body: &Value) -> common::Reply {
    let path = format!("/api/plans/{}/stops/reassign", world.published_plan_a);
    check(&world.app, Method::POST, &path, Some(token), &[], json_body(body)).await
}

async fn my_route(world: &World, driver: &str) -> Value {
    let route = check(&world.app, Method::GET, "/api/drivers/me/route?date=2026-11-23", Some(driver), &[], None).await;
    assert_eq!(route.status, StatusCode::OK, "{}", route.text);
    route.json
}

fn at(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("time"), &Rfc3339).expect("rfc3339")
}

fn order_ids(route: &Value) -> Vec<String> {
    route["route"]["stops"].as_array().expect("stops").iter().map(|s| s["order_id"].as_str().expect("order id").to_owned()).collect()
}

#[tokio::test]
async fn an_unstarted_stop_moves_to_another_drivers_route_with_server_times() {
    let world = World::new().await;
    let before = plan(&world).await;
    let moved = before.routes[0].stops[0].clone();
    let to = before.routes[1].id.clone();

    // A preview answers without writing.
    let preview = reassign(&world, &world.dispatcher_a, &json!({"version": before.version, "order_id": moved.order_id, "to_route_id": to, "dry_run": true})).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.json["applied"], false);
    assert_eq!(plan(&world).await, before, "a dry run writes nothing");

    let done = reassign(&world, &world.dispatcher_a, &json!({"version": before.version, "order_id": moved.order_id, "to_route_id": to})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["applied"], true);
    assert_eq!(done.json["broken"], json!([]));
    assert_eq!(done.json["stops"][0]["planned_arrival"], preview.json["stops"][0]["planned_arrival"], "the preview's ETA is the one applied");

    let after = plan(&world).await;
    assert_eq!(after.version, before.version + 1);
    assert!(!after.routes[0].stops.iter().any(|s| s.order_id == moved.order_id));
    let stop = after.routes[1].stops.iter().find(|s| s.order_id == moved.order_id).expect("moved stop");
    assert_eq!(stop.id, moved.id, "the stop keeps its id, so its tracking link follows it");
    for route in &after.routes {
        for (i, s) in route.stops.iter().enumerate() {
            assert_eq!(s.sequence as usize, i + 1);
            assert!(s.planned_departure >= s.planned_arrival);
        }
        for w in route.stops.windows(2) {
            assert!(w[1].planned_arrival >= w[0].planned_departure, "times go forward on {}: {:?}", route.id, route.stops);
        }
    }

    // Both drivers' routes show it.
    let b = my_route(&world, &world.driver_a2).await;
    assert!(order_ids(&b).contains(&moved.order_id.to_string()), "{b}");
    assert!(b["orders"].as_array().expect("orders").iter().any(|o| o["id"] == moved.order_id.as_str()));
    let stop_json = b["route"]["stops"].as_array().expect("stops").iter().find(|s| s["order_id"] == moved.order_id.as_str()).expect("stop").clone();
    assert_eq!(at(&stop_json["planned_arrival"]), stop.planned_arrival);
    let a = my_route(&world, &world.driver_a1).await;
    assert!(!order_ids(&a).contains(&moved.order_id.to_string()), "{a}");
    // The customer's tracking page still answers for the moved stop.
    let view = check(&world.app, Method::GET, &format!("/api/track/{}", world.tracking), None, &[], None).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
}

#[tokio::test]
async fn a_position_puts_the_stop_there() {
    let world = World::new().await;
    let before = plan(&world).await;
    let moved = before.routes[0].stops[2].clone();
    let body = json!({"version": before.version, "order_id": moved.order_id, "to_route_id": before.routes[1].id, "position": 0, "force": true});
    let done = reassign(&world, &world.dispatcher_a, &body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["position"], 0);
    let after = plan(&world).await;
    assert_eq!(after.routes[1].stops[0].order_id, moved.order_id);
    assert_eq!(after.routes[1].stops.len(), before.routes[1].stops.len() + 1);
}

#[tokio::test]
async fn a_delivered_stop_cannot_move_and_nothing_is_written() {
    let world = World::new().await;
    let org = &world.a.organisation.id;
    let before = plan(&world).await;
    let first = before.routes[0].stops[0].clone();
    let mut done = world.state.store.get_order(org, &first.order_id).await.expect("order");
    for event in [OrderEvent::Start, OrderEvent::Deliver] {
        let read = done.version;
        done.apply(&event, NOW).expect("transition");
        world.state.store.update_order(&done, read).await.expect("update");
    }
    let refused = reassign(&world, &world.dispatcher_a, &json!({"version": before.version, "order_id": first.order_id, "to_route_id": before.routes[1].id})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("not yet served"), "{}", refused.text);
    assert_eq!(plan(&world).await, before);
}

#[tokio::test]
async fn a_stop_the_driver_has_arrived_at_cannot_move() {
    let mut world = World::new().await;
    // Arrivals go through the driver's proof-of-delivery endpoints, which need a blob store.
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = doorstep_blobs_fs::FsBlobStore::open(dir.path(), b"test secret, 32 bytes or more....").expect("blobs");
    world.state = world.state.clone().with_local_blobs(blobs);
    world.app = doorstep_http::api_router(world.state.clone());
    let before = plan(&world).await;
    let stop = before.routes[0].stops[1].clone();
    let arrived = check(
        &world.app,
        Method::POST,
        &format!("/api/stops/{}/arrive", stop.id),
        Some(&world.driver_a1),
        &[("idempotency-key", "0b8a4c52-8f7e-4a51-9d3e-2f7c1a0e9b11")],
        json_body(&json!({"plan_id": before.id, "device_time": "2026-11-22T18:00:00Z"})),
    )
    .await;
    assert!(arrived.status.is_success(), "{} {}", arrived.status, arrived.text);
    let now = plan(&world).await;
    let refused = reassign(&world, &world.dispatcher_a, &json!({"version": now.version, "order_id": stop.order_id, "to_route_id": before.routes[1].id})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("arrived"), "{}", refused.text);
    assert_eq!(plan(&world).await, now);
}

#[tokio::test]
async fn another_organisations_plan_is_not_found() {
    let world = World::new().await;
    let before = plan(&world).await;
    let body = json!({"version": before.version, "order_id": before.routes[0].stops[0].order_id, "to_route_id": before.routes[1].id});
    let refused = reassign(&world, &world.dispatcher_b, &body).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    assert!(!refused.text.contains("SECRET-A"));
    assert_eq!(plan(&world).await, before);
    // Drivers and integrations may not reassign at all.
    for token in [&world.driver_a1, &world.key_a] {
        let refused = reassign(&world, token, &body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    }
    assert_eq!(plan(&world).await, before);
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_nothing_is_written() {
    let world = World::new().await;
    let before = plan(&world).await;
    let body = json!({"version": before.version - 1, "order_id": before.routes[0].stops[0].order_id, "to_route_id": before.routes[1].id});
    let refused = reassign(&world, &world.dispatcher_a, &body).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.json["code"], "version_conflict", "{}", refused.text);
    assert_eq!(plan(&world).await, before);
    // Two dispatchers moving from the same version: the second loses.
    let first = json!({"version": before.version, "order_id": before.routes[0].stops[0].order_id, "to_route_id": before.routes[1].id});
    let second = json!({"version": before.version, "order_id": before.routes[0].stops[1].order_id, "to_route_id": before.routes[1].id});
    assert_eq!(reassign(&world, &world.dispatcher_a, &first).await.status, StatusCode::OK);
    let written = plan(&world).await;
    let lost = reassign(&world, &world.dispatcher_a, &second).await;
    assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.text);
    assert_eq!(plan(&world).await, written);
}

#[tokio::test]
async fn a_move_that_breaks_a_time_window_is_refused_naming_it_unless_forced() {
    let world = World::new().await;
    let org = &world.a.organisation.id;
    let before = plan(&world).await;
    let moved = before.routes[0].stops[0].clone();
    // The customer can only be served before 06:05 (Lyon): no route reaches it in time.
    let mut order = world.state.store.get_order(org, &moved.order_id).await.expect("order");
    order.time_windows = vec![TimeWindow {
        start: time::macros::datetime!(2026-11-23 05:00 +01:00),
        end: time::macros::datetime!(2026-11-23 06:05 +01:00),
    }];
    let read = order.version;
    order.version += 1;
    world.state.store.update_order(&order, read).await.expect("update");

    let body = json!({"version": before.version, "order_id": moved.order_id, "to_route_id": before.routes[1].id, "position": 1});
    let refused = reassign(&world, &world.dispatcher_a, &body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.text.contains("time window"), "{}", refused.text);
    assert!(refused.text.contains("after 06:05"), "{}", refused.text);
    assert_eq!(plan(&world).await, before, "nothing written");

    // Without a position: still nowhere in time.
    let anywhere = json!({"version": before.version, "order_id": moved.order_id, "to_route_id": before.routes[1].id});
    let refused = reassign(&world, &world.dispatcher_a, &anywhere).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert_eq!(plan(&world).await, before);

    // Forced: moved, and the answer says what it breaks.
    let mut forced = body.clone();
    forced["force"] = json!(true);
    let done = reassign(&world, &world.dispatcher_a, &forced).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["broken"][0]["rule"], "time_window", "{}", done.text);
    assert_eq!(done.json["broken"][0]["order_id"], moved.order_id.as_str());
    let after = plan(&world).await;
    assert_eq!(after.routes[1].stops[1].order_id, moved.order_id);
}

#[tokio::test]
async fn an_order_not_in_the_plan_or_an_unknown_route_is_refused() {
    let world = World::new().await;
    let before = plan(&world).await;
    let outside = &world.a.orders[20].id;
    let refused = reassign(&world, &world.dispatcher_a, &json!({"version": before.version, "order_id": outside, "to_route_id": before.routes[1].id})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.text.contains("order_id"), "{}", refused.text);
    let refused = reassign(&world, &world.dispatcher_a, &json!({"version": before.version, "order_id": before.routes[0].stops[0].order_id, "to_route_id": "rte_nope"})).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    assert_eq!(plan(&world).await, before);
}
