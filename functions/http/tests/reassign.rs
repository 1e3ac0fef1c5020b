//! Reassigning an unstarted stop mid-day over HTTP on SQLite: the stop moves
//! to another driver's route with times computed on the server, both drivers
//! see it; a started stop, another organisation's plan, a stale version and a
//! move that breaks a rule are refused with nothing written.

mod common;

use axum::http::{Method, StatusCode};
use common::{CaptureSends, NOW, World, check, json_body};
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

/// A fresh evaluation of `plan` as written: its orders mapped onto the
/// optimizer's problem as the planner does, every route's stops evaluated
/// in order, read back as the planner reads a solution. Totals by vehicle.
async fn fresh_totals(world: &World, plan: &doorstep_domain::Plan) -> Vec<(String, doorstep_domain::plan::RouteTotals)> {
    use doorstep_domain::planning::{PlanningInput, TravelSettings, build_problem};
    let org = &world.a.organisation.id;
    let store = &world.state.store;
    let organisation = store.organisation(org).await.expect("org");
    let depot = store.list_depots(org).await.expect("depots").into_iter().find(|d| d.id == plan.depot_id).expect("depot");
    let vehicles = store.list_vehicles(org).await.expect("vehicles");
    let drivers = store.list_drivers(org).await.expect("drivers");
    let ids: Vec<doorstep_domain::OrderId> = plan.stops().map(|(_, s)| s.order_id.clone()).collect();
    let mut orders = store.get_orders(org, &ids).await.expect("orders");
    for o in &mut orders {
        o.status = doorstep_domain::lifecycle::OrderStatus::Planned;
        o.depot_id = None;
    }
    let input = PlanningInput {
        depot: &depot,
        vehicles: &vehicles,
        drivers: &drivers,
        orders: &orders,
        date: plan.date,
        utc_offset: time::macros::offset!(+1),
        default_service_time_s: organisation.default_service_time_s,
        travel: TravelSettings::default(),
    };
    let pp = build_problem(&input).expect("problem");
    let routes: Vec<doorstep_optimizer::RouteJobs> = plan
        .routes
        .iter()
        .map(|r| doorstep_optimizer::RouteJobs {
            vehicle: r.vehicle_id.to_string(),
            jobs: r
                .stops
                .iter()
                .map(|s| pp.jobs.iter().find(|(_, j)| j.order_id == s.order_id && j.kind == s.kind).map(|(id, _)| id.clone()).expect("job"))
                .collect(),
            break_after: None,
        })
        .collect();
    let evaluation = doorstep_optimizer::evaluate(&pp.problem, &routes);
    let draft = pp.to_plan(&evaluation.solution).expect("plan");
    draft.request.routes.into_iter().map(|r| (r.vehicle_id.to_string(), r.totals)).collect()
}

#[tokio::test]
async fn route_and_plan_totals_after_a_move_equal_a_fresh_evaluation() {
    let world = World::new().await;
    let before = plan(&world).await;
    let moved = before.routes[0].stops[0].clone();
    let body = json!({"version": before.version, "order_id": moved.order_id, "to_route_id": before.routes[1].id});
    let done = reassign(&world, &world.dispatcher_a, &body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let after = plan(&world).await;
    let answered: doorstep_domain::Plan = serde_json::from_value(done.json["plan"].clone()).expect("plan in the answer");
    assert_eq!(answered, after, "the answer is the plan written");

    let fresh = fresh_totals(&world, &after).await;
    assert_eq!(fresh.len(), after.routes.len());
    for route in &after.routes {
        let (_, expected) = fresh.iter().find(|(v, _)| v == route.vehicle_id.as_str()).expect("evaluated route");
        let t = &route.totals;
        assert_eq!(t.duration_s, expected.duration_s, "duration of {}", route.id);
        assert!((t.distance_m - expected.distance_m).abs() < 1e-6, "distance of {}: {} vs {}", route.id, t.distance_m, expected.distance_m);
        assert!((t.cost - expected.cost).abs() < 1e-6, "cost of {}: {} vs {}", route.id, t.cost, expected.cost);
        assert_eq!((t.driving_s, t.service_s, t.waiting_s), (expected.driving_s, expected.service_s, expected.waiting_s), "times of {}", route.id);
        assert_eq!(t.max_load, expected.max_load, "load of {}", route.id);
    }
    // The plan's totals are the routes' sums, so they agree too.
    let plan_totals = after.totals();
    let sum_duration: u32 = fresh.iter().map(|(_, t)| t.duration_s).sum();
    let sum_distance: f64 = fresh.iter().map(|(_, t)| t.distance_m).sum();
    assert_eq!(plan_totals.duration_s, sum_duration);
    assert!((plan_totals.distance_m - sum_distance).abs() < 1e-6);
    // The target route now drives further and longer than before.
    assert!(after.routes[1].totals.duration_s > before.routes[1].totals.duration_s || before.routes[1].totals.duration_s == 0);
}


/// Pending `eta_changed` outbox entries.
async fn eta_entries(store: &doorstep_store_sqlite::SqliteStore) -> Vec<doorstep_core::ports::OutboxEntry> {
    use doorstep_core::ports::NotifyStore;
    store.pending_outbox(10_000).await.expect("outbox").into_iter().filter(|e| e.trigger == doorstep_domain::notification::Trigger::EtaChanged).collect()
}

/// Orders of delivery stops whose ETA left the window promised before.
fn moved_windows(before: &doorstep_domain::Plan, after: &doorstep_domain::Plan) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (_, stop) in after.stops() {
        let (_, old) = before.stops().find(|(_, s)| s.id == stop.id).expect("stop before");
        let promised = doorstep_domain::tracking::eta_window(old.planned_arrival, 15 * 60);
        if stop.planned_arrival < promised.start || stop.planned_arrival > promised.end {
            out.insert(stop.order_id.to_string());
        }
    }
    out
}

#[tokio::test]
async fn customers_whose_eta_window_moved_get_one_eta_changed_message_with_the_new_window() {
    use doorstep_core::usecases::notify::{Channels, NotifierConfig, drain};
    let store = doorstep_store_sqlite::SqliteStore::open_in_memory().expect("store");
    let world = World::new_on(store.clone()).await;
    let before = plan(&world).await;
    let moved = before.routes[0].stops[0].clone();
    let body = json!({"version": before.version, "order_id": moved.order_id, "to_route_id": before.routes[1].id});

    let mut preview = body.clone();
    preview["dry_run"] = json!(true);
    assert_eq!(reassign(&world, &world.dispatcher_a, &preview).await.status, StatusCode::OK);
    assert!(eta_entries(&store).await.is_empty(), "a dry run notifies nobody");

    let done = reassign(&world, &world.dispatcher_a, &body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let after = plan(&world).await;
    let expected = moved_windows(&before, &after);
    assert!(!expected.is_empty(), "the move shifts some windows");
    assert!(expected.len() < after.stops().count(), "and leaves others: {expected:?}");
    let entries = eta_entries(&store).await;
    let notified: std::collections::BTreeSet<String> = entries.iter().map(|e| e.order_id.to_string()).collect();
    assert_eq!(notified, expected, "exactly the customers whose window moved");
    assert_eq!(entries.len(), expected.len(), "one entry each");

    // Drained through the notifier: one message each, naming the new window (Lyon time) and the tracking link.
    let log = std::sync::Arc::new(CaptureSends::default());
    let channels = Channels { log: Some(log.clone()), ..Channels::default() };
    let config = NotifierConfig::new("https://track.example/", "test");
    drain(&store, &store, &channels, &doorstep_core::ports::FixedClock(NOW), &config).await.expect("drain");
    let sent: Vec<doorstep_core::ports::Outgoing> = log.0.lock().expect("lock").iter().filter(|m| m.delivery_id.contains("#eta_changed#")).cloned().collect();
    assert_eq!(sent.len(), expected.len(), "{sent:?}");
    let hm = time::macros::format_description!("[hour]:[minute]");
    for (_, stop) in after.stops().filter(|(_, s)| expected.contains(s.order_id.as_str())) {
        let window = doorstep_domain::tracking::eta_window(stop.planned_arrival, 15 * 60);
        let local = |t: OffsetDateTime| t.to_offset(time::macros::offset!(+1)).format(hm).expect("format");
        // The demo organisation writes in French.
        let phrase = format!("devrait arriver entre {} et {}", local(window.start), local(window.end));
        let message = sent.iter().find(|m| m.delivery_id.starts_with(&format!("{}#0#eta_changed#", stop.order_id))).expect("message for the order");
        assert!(message.body.contains(&phrase), "{} lacks {phrase:?}", message.body);
        assert!(message.body.contains("https://track.example/t/"), "{}", message.body);
        assert_eq!(message.subject, format!("Nouvel horaire pour votre livraison {}", world.a.organisation.name));
    }

    // Draining again sends nothing twice.
    drain(&store, &store, &channels, &doorstep_core::ports::FixedClock(NOW), &config).await.expect("drain");
    assert_eq!(log.0.lock().expect("lock").iter().filter(|m| m.delivery_id.contains("#eta_changed#")).count(), expected.len());

    // A move that leaves every window where it was notifies nobody.
    let stop = after.routes[1].stops.iter().find(|s| s.order_id == moved.order_id).expect("moved stop");
    let same = json!({"version": after.version, "order_id": moved.order_id, "to_route_id": after.routes[1].id, "position": stop.sequence - 1, "force": true});
    let again = reassign(&world, &world.dispatcher_a, &same).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let later = plan(&world).await;
    let moved_again = moved_windows(&after, &later);
    assert!(moved_again.is_empty(), "the same place gives the same times: {moved_again:?}");
    let pending = eta_entries(&store).await;
    assert_eq!(pending.iter().map(|e| e.order_id.to_string()).collect::<std::collections::BTreeSet<_>>(), moved_again, "only windows that moved");
}
