//! Delivery slots over HTTP on SQLite: listing for an address, a zone's
//! capacity, slots free by count but not servable, past slots, booking a slot
//! at intake, and a taken slot refused with nothing written.

mod common;

use axum::http::{Method, StatusCode};
use common::{World, check, json_body};
use serde_json::{Value, json};

const CENTRE: (f64, f64) = (45.7489, 4.8340);
/// About 110 km north of Lyon: inside a zone, too far for any shift.
const FAR: (f64, f64) = (46.75, 4.84);

async fn world() -> World {
    let world = World::new().await;
    let slots = json!({
        "slot_minutes": 120, "day_start": "08:00", "day_end": "18:00",
        "zones": [
            {"name": "Centre", "center": {"lat": 45.75, "lon": 4.84}, "radius_m": 6000.0, "capacity_per_slot": 2},
            {"name": "Far", "center": {"lat": FAR.0, "lon": FAR.1}, "radius_m": 20000.0, "capacity_per_slot": 5},
        ],
    });
    let patched = check(&world.app, Method::PATCH, "/api/organisation", Some(&world.dispatcher_a), &[], json_body(&json!({"settings": {"delivery_slots": slots}}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    world
}

async fn list(world: &World, date: &str, at: (f64, f64)) -> Value {
    let got = check(&world.app, Method::GET, &format!("/api/slots?date={date}&lat={}&lon={}", at.0, at.1), Some(&world.key_a), &[], None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.json
}

fn slot<'a>(list: &'a Value, start: &str) -> &'a Value {
    list["slots"].as_array().expect("slots").iter().find(|s| s["start"] == start).unwrap_or_else(|| panic!("no slot {start}: {list}"))
}

fn order_with_slot(slot: Value) -> Value {
    json!({
        "kind": "delivery",
        "address": {"line1": "3 Rue Neuve", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": CENTRE.0, "lon": CENTRE.1},
        "recipient": {"name": "Slot Buyer"},
        "slot": slot,
    })
}

async fn buyers(world: &World) -> usize {
    let got = check(&world.app, Method::GET, "/api/orders?q=Slot%20Buyer&limit=200", Some(&world.key_a), &[], None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.json["items"].as_array().expect("items").len()
}

#[tokio::test]
async fn an_address_gets_the_days_slots_of_its_zone() {
    let world = world().await;
    let listed = list(&world, "2026-11-23", CENTRE).await;
    assert_eq!(listed["zone"], "Centre");
    let slots = listed["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 5, "{listed}");
    let ten = slot(&listed, "10:00");
    assert_eq!((ten["id"].clone(), ten["available"].clone(), ten["capacity"].clone()), (json!("2026-11-23T10:00"), json!(true), json!(2)));
    assert_eq!(ten["window"]["start"], "2026-11-23T10:00:00+01:00");

    // A day without a plan is checked by a quick construction of its orders.
    let tuesday = list(&world, "2026-11-24", CENTRE).await;
    assert_eq!(slot(&tuesday, "10:00")["available"], true, "{tuesday}");

    let outside = list(&world, "2026-11-23", (48.85, 2.35)).await;
    assert!(outside["zone"].is_null());
    assert!(outside["slots"].as_array().expect("slots").iter().all(|s| s["available"] == false && s["reason"] == "outside_zones"), "{outside}");

    // An organisation without slots offers none.
    let none = check(&world.app, Method::GET, "/api/slots?date=2026-11-23&lat=45.75&lon=4.84", Some(&world.dispatcher_b), &[], None).await;
    assert_eq!((none.status, none.json["slots"].clone()), (StatusCode::OK, json!([])), "{}", none.text);

    let past = list(&world, "2026-11-22", CENTRE).await;
    assert!(past["slots"].as_array().expect("slots").iter().all(|s| s["reason"] == "past"), "{past}");
}

#[tokio::test]
async fn a_slot_free_by_count_but_out_of_reach_is_unavailable() {
    let world = world().await;
    let far = list(&world, "2026-11-23", FAR).await;
    assert_eq!(far["zone"], "Far");
    let eight = slot(&far, "08:00");
    assert_eq!(eight["booked"], 0);
    assert_eq!(eight["available"], false, "{far}");
    assert_eq!(eight["reason"], "no_vehicle_can_reach", "{far}");
    let eight_tuesday = list(&world, "2026-11-24", FAR).await;
    assert_eq!(slot(&eight_tuesday, "08:00")["reason"], "no_vehicle_can_reach", "{eight_tuesday}");
}

#[tokio::test]
async fn booking_a_slot_sets_the_window_until_the_zone_is_full() {
    let world = world().await;
    let first = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.json["time_windows"], json!([{"start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T12:00:00+01:00"}]));
    let second = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], json_body(&order_with_slot(json!({"date": "2026-11-23", "start": "10:00"})))).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);

    let listed = list(&world, "2026-11-23", CENTRE).await;
    let ten = slot(&listed, "10:00");
    assert_eq!((ten["available"].clone(), ten["reason"].clone(), ten["booked"].clone()), (json!(false), json!("zone_full"), json!(2)), "{listed}");
    assert_eq!(slot(&listed, "12:00")["available"], true);

    assert_eq!(buyers(&world).await, 2);
    let taken = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.json["field"], "slot", "{}", taken.text);
    assert_eq!(buyers(&world).await, 2, "nothing written");

    let batch = json!({"orders": [order_with_slot(json!("2026-11-23T12:00")), order_with_slot(json!("2026-11-23T10:00"))]});
    let taken = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&batch)).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.json["field"], "orders[1].slot", "{}", taken.text);
    assert_eq!(buyers(&world).await, 2, "nothing of the batch written");
}

#[tokio::test]
async fn bad_slots_and_queries_name_their_field() {
    let world = world().await;
    let bad = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("tomorrow")))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.json["field"], "slot", "{}", bad.text);
    let off_grid = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("2026-11-23T09:00")))).await;
    assert_eq!(off_grid.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", off_grid.text);
    assert_eq!(off_grid.json["details"][0]["path"], "slot", "{}", off_grid.text);
    let date = check(&world.app, Method::GET, "/api/slots?date=23/11/2026&lat=45.7&lon=4.8", Some(&world.key_a), &[], None).await;
    assert_eq!(date.status, StatusCode::BAD_REQUEST, "{}", date.text);
    assert_eq!(date.json["field"], "date", "{}", date.text);
    let lat = check(&world.app, Method::GET, "/api/slots?date=2026-11-23&lat=145.7&lon=4.8", Some(&world.key_a), &[], None).await;
    assert_eq!(lat.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", lat.text);
    assert_eq!(lat.json["details"][0]["path"], "lat", "{}", lat.text);
    assert_eq!(buyers(&world).await, 0);
}

async fn ten_oclock(world: &World) -> Value {
    slot(&list(world, "2026-11-23", CENTRE).await, "10:00").clone()
}

#[tokio::test]
async fn concurrent_checkouts_never_pass_a_slots_capacity() {
    let world = world().await;
    // Six checkouts for the Centre's 10:00 slot (2 places) at once.
    let attempts = (0..6).map(|i| {
        let key = if i % 2 == 0 { world.key_a.clone() } else { world.dispatcher_a.clone() };
        let app = world.app.clone();
        async move { check(&app, Method::POST, "/api/orders", Some(&key), &[], json_body(&order_with_slot(json!("2026-11-23T10:00")))).await }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == StatusCode::CONFLICT).collect();
    assert_eq!((created, refused.len()), (2, 4), "{:?}", replies.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>());
    assert!(refused.iter().all(|r| r.json["field"] == "slot"), "every refusal names slot");
    assert_eq!(buyers(&world).await, 2, "only the accepted orders are written");
    let ten = ten_oclock(&world).await;
    assert_eq!((ten["booked"].clone(), ten["reason"].clone()), (json!(2), json!("zone_full")), "{ten}");
}

#[tokio::test]
async fn cancelling_or_moving_an_order_frees_its_slot() {
    let world = world().await;
    let mut booked = Vec::new();
    for _ in 0..2 {
        let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        booked.push(reply.json);
    }
    assert_eq!(ten_oclock(&world).await["reason"], "zone_full");

    let cancel = json!({"version": booked[0]["version"]});
    let cancelled = check(&world.app, Method::POST, &format!("/api/orders/{}/cancel", booked[0]["id"].as_str().expect("id")), Some(&world.key_a), &[], json_body(&cancel)).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    let ten = ten_oclock(&world).await;
    assert_eq!((ten["booked"].clone(), ten["available"].clone()), (json!(1), json!(true)), "{ten}");

    // A third order takes the freed place; the slot is full again.
    let third = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.text);
    assert_eq!(ten_oclock(&world).await["reason"], "zone_full");

    // Moving an order out of the slot's window frees its place too.
    let moved = json!({"version": booked[1]["version"], "time_windows": [{"start": "2026-11-23T14:00:00+01:00", "end": "2026-11-23T16:00:00+01:00"}]});
    let patched = check(&world.app, Method::PATCH, &format!("/api/orders/{}", booked[1]["id"].as_str().expect("id")), Some(&world.dispatcher_a), &[], json_body(&moved)).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let ten = ten_oclock(&world).await;
    assert_eq!((ten["booked"].clone(), ten["available"].clone()), (json!(1), json!(true)), "{ten}");
    // An edit that keeps the window keeps the place.
    let third_id = third.json["id"].as_str().expect("id");
    let noted = json!({"version": third.json["version"], "external_ref": "kept"});
    let kept = check(&world.app, Method::PATCH, &format!("/api/orders/{third_id}"), Some(&world.dispatcher_a), &[], json_body(&noted)).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(ten_oclock(&world).await["booked"], 1);
}

#[tokio::test]
async fn a_replayed_checkout_holds_no_second_place() {
    let world = world().await;
    let key = [("idempotency-key", "checkout-42")];
    let first = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&order_with_slot(json!("2026-11-23T10:00")))).await;
    assert_eq!((again.status, again.text.clone()), (StatusCode::CREATED, first.text.clone()), "the stored answer");
    assert_eq!(ten_oclock(&world).await["booked"], 1);
    assert_eq!(buyers(&world).await, 1);
}

#[tokio::test]
async fn a_batch_booking_slots_is_capped_at_one_transactions_worth() {
    let world = world().await;
    let orders: Vec<Value> = (0..41).map(|_| order_with_slot(json!("2026-11-23T12:00"))).collect();
    let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[], json_body(&json!({"orders": orders}))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "orders", "{}", reply.text);
    assert_eq!(buyers(&world).await, 0);
}
