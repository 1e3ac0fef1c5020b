//! The fleet and settings write API: depots, vehicles, drivers and the
//! organisation, as the Setup page uses it, through the real router on SQLite.

mod common;

use axum::http::{Method, StatusCode};
use common::{Reply, World, check, json_body};
use serde_json::{Value, json};

async fn call(world: &World, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    check(&world.app, method, path, Some(token), &[], body.as_ref().and_then(json_body)).await
}

fn depot_body() -> Value {
    json!({"name": "Dépôt Vaise", "address": {"line1": "5 Rue du Bourbonnais", "postcode": "69009", "city": "Lyon", "country": "FR"},
           "location": {"lat": 45.7741, "lon": 4.8055}})
}

fn van_body(depot: &Value) -> Value {
    json!({"name": "Cold van", "plate": "GH-123-JK", "depot_id": depot, "capacity": [700, 2500, 80],
           "shift": {"start": "07:30", "end": "16:30"}, "skills": ["refrigerated", "tail_lift"],
           "start": {"lat": 45.7741, "lon": 4.8055}, "end": {"lat": 45.7741, "lon": 4.8055},
           "cost_per_km": 0.4, "cost_per_hour": 22.5, "fixed_cost": 30,
           "break": {"window": {"start": "11:30", "end": "13:30"}, "duration_s": 1800}})
}

fn codes(reply: &Reply) -> Vec<(String, String)> {
    reply.json["details"].as_array().map_or_else(Vec::new, |d| {
        d.iter().map(|e| (e["path"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned())).collect()
    })
}

#[tokio::test]
async fn a_dispatcher_adds_a_depot_a_vehicle_and_a_driver_bound_to_it() {
    let world = World::new().await;
    let token = world.dispatcher_a.clone();

    let depot = call(&world, Method::POST, "/api/depots", &token, Some(depot_body())).await;
    assert_eq!(depot.status, StatusCode::CREATED, "{}", depot.text);
    assert!(depot.json["id"].as_str().unwrap().starts_with("dep_"));
    assert_eq!(depot.json["org_id"], "org-a");

    let van = call(&world, Method::POST, "/api/vehicles", &token, Some(van_body(&depot.json["id"]))).await;
    assert_eq!(van.status, StatusCode::CREATED, "{}", van.text);
    assert_eq!(van.json["break"]["duration_s"], 1800);
    assert_eq!(van.json["skills"], json!(["refrigerated", "tail_lift"]));
    assert_eq!(van.json["active"], true);

    let driver = call(&world, Method::POST, "/api/drivers", &token,
        Some(json!({"name": "Inès Morel", "phone": "+33 6 98 76 54 32", "email": "ines@example.com", "vehicle_id": van.json["id"]}))).await;
    assert_eq!(driver.status, StatusCode::CREATED, "{}", driver.text);
    assert_eq!(driver.json["vehicle_id"], van.json["id"]);

    let vehicles = call(&world, Method::GET, "/api/vehicles", &token, None).await;
    assert_eq!(vehicles.json.as_array().unwrap().last().unwrap(), &van.json, "listed as created");
    let drivers = call(&world, Method::GET, "/api/drivers", &token, None).await;
    assert_eq!(drivers.json.as_array().unwrap().last().unwrap(), &driver.json);
    let depots = call(&world, Method::GET, "/api/depots", &token, None).await;
    assert_eq!(depots.json.as_array().unwrap().len(), world.a.depots.len() + 1);

    // The new driver can be given a sign-in code like any other.
    let codes = call(&world, Method::POST, &format!("/api/drivers/{}/sign-in-codes", driver.json["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(codes.status, StatusCode::CREATED, "{}", codes.text);
}

#[tokio::test]
async fn patches_change_only_the_fields_sent_and_deactivate_instead_of_deleting() {
    let world = World::new().await;
    let token = world.dispatcher_a.clone();
    let vehicle = &world.a.vehicles[0];

    let patched = call(&world, Method::PATCH, &format!("/api/vehicles/{}", vehicle.id), &token,
        Some(json!({"shift": {"end": "18:00"}, "capacity": [900, 3000, 100], "break": {"window": {"start": "12:00", "end": "14:00"}, "duration_s": 2700}}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json["shift"], json!({"start": vehicle.shift.start.to_string(), "end": "18:00"}));
    assert_eq!(patched.json["name"], vehicle.name.as_str(), "untouched field kept");
    assert_eq!(patched.json["id"], vehicle.id.as_str());

    let off = call(&world, Method::PATCH, &format!("/api/vehicles/{}", vehicle.id), &token, Some(json!({"active": false, "break": null}))).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(off.json["active"], false);
    assert!(off.json["break"].is_null());
    let listed = call(&world, Method::GET, "/api/vehicles", &token, None).await;
    let still = listed.json.as_array().unwrap().iter().find(|v| v["id"] == vehicle.id.as_str()).expect("deactivated vehicle still listed");
    assert_eq!(still["active"], false);

    let driver = &world.a.drivers[2];
    let off = call(&world, Method::PATCH, &format!("/api/drivers/{}", driver.id), &token, Some(json!({"active": false, "email": null}))).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!((off.json["active"].clone(), off.json["email"].clone()), (json!(false), Value::Null));
    assert_eq!(off.json["name"], driver.name.as_str());

    let depot = &world.a.depots[0];
    let moved = call(&world, Method::PATCH, &format!("/api/depots/{}", depot.id), &token, Some(json!({"location": {"lat": 45.75, "lon": 4.85}}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json["location"], json!({"lat": 45.75, "lon": 4.85}));
    assert_eq!(moved.json["name"], depot.name.as_str());
}

#[tokio::test]
async fn bad_fleet_input_names_each_field_and_writes_nothing() {
    let world = World::new().await;
    let token = world.dispatcher_a.clone();
    let before = world.state.store.business(&world.a.organisation.id).await.unwrap();

    let mut bad = van_body(&json!(world.a.depots[0].id));
    bad["shift"] = json!({"start": "17:00", "end": "08:00"});
    bad["capacity"] = json!([700, -5, 80]);
    bad["break"] = json!({"window": {"start": "12:00", "end": "12:10"}, "duration_s": 1800});
    bad["skills"] = json!(["Tail Lift"]);
    bad["cost_per_km"] = json!(-1);
    let reply = call(&world, Method::POST, "/api/vehicles", &token, Some(bad)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.json["code"], "validation_failed");
    let got = codes(&reply);
    for path in ["shift.end", "capacity[1]", "break.duration_s", "skills", "cost_per_km"] {
        assert!(got.iter().any(|(p, _)| p == path), "{path} missing from {got:?}");
    }

    // References must exist in the caller's own organisation.
    let foreign = call(&world, Method::POST, "/api/vehicles", &token, Some(van_body(&json!(world.b.depots[0].id)))).await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", foreign.text);
    assert_eq!(codes(&foreign), [("depot_id".to_owned(), "unknown_reference".to_owned())]);
    assert!(!foreign.text.contains("SECRET-B"));
    let driver = call(&world, Method::POST, "/api/drivers", &token,
        Some(json!({"name": "Nobody", "phone": "+33 6 00 00 00 00", "vehicle_id": world.b.vehicles[0].id}))).await;
    assert_eq!(codes(&driver), [("vehicle_id".to_owned(), "unknown_reference".to_owned())]);
    let patch = call(&world, Method::PATCH, &format!("/api/drivers/{}", world.a.drivers[0].id), &token, Some(json!({"vehicle_id": "veh-none"}))).await;
    assert_eq!(codes(&patch), [("vehicle_id".to_owned(), "unknown_reference".to_owned())]);

    // Malformed patches: the field at fault, whatever the depth.
    let vehicle = &world.a.vehicles[0];
    let path = format!("/api/vehicles/{}", vehicle.id);
    let reply = call(&world, Method::PATCH, &path, &token, Some(json!({"shift": {"start": "25:00"}}))).await;
    assert_eq!((reply.status, reply.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("shift.start")), "{}", reply.text);
    let reply = call(&world, Method::PATCH, &path, &token, Some(json!({"capacity": {"weight_kg": "heavy"}}))).await;
    assert_eq!(reply.json["field"], "capacity.weight_kg", "{}", reply.text);
    let reply = call(&world, Method::PATCH, &path, &token, Some(json!({"break": {"window": {"start": "06:00", "end": "07:00"}, "duration_s": 600}}))).await;
    assert_eq!(codes(&reply), [("break.window".to_owned(), "outside_window".to_owned())], "{}", reply.text);
    let reply = call(&world, Method::PATCH, &path, &token, Some(json!({"org_id": "org-b"}))).await;
    assert_eq!(codes(&reply), [("org_id".to_owned(), "not_allowed".to_owned())], "{}", reply.text);
    let reply = call(&world, Method::PATCH, &path, &token, Some(json!({}))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = call(&world, Method::POST, "/api/depots", &token, Some(json!({"name": "", "address": {"line1": "x", "postcode": "1", "city": "y", "country": "fr"}, "location": {"lat": 100, "lon": 0}}))).await;
    assert_eq!(codes(&reply).into_iter().map(|(p, _)| p).collect::<Vec<_>>(), ["name", "address.country", "location.lat"], "{}", reply.text);
    let reply = call(&world, Method::PATCH, "/api/vehicles/veh-none", &token, Some(json!({"name": "x"}))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    assert!(world.state.store.business(&world.a.organisation.id).await.unwrap() == before, "nothing written");
}

#[tokio::test]
async fn organisation_settings_are_patched_and_checked() {
    let world = World::new().await;
    let token = world.dispatcher_a.clone();

    let reply = call(&world, Method::PATCH, "/api/organisation", &token, Some(json!({
        "default_service_time_s": 420,
        "default_time_windows": [{"start": "08:00", "end": "12:00"}],
        "settings": {"tile_url": "https://tiles.example.com/{z}/{x}/{y}.png",
                     "osrm_table_url": "https://osrm.example.com/table/v1/driving/",
                     "geocoder_url": "https://nominatim.example.com/search",
                     "notifications": {"templates": []}}
    }))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["default_service_time_s"], 420);
    assert_eq!(reply.json["settings"]["osrm_table_url"], "https://osrm.example.com/table/v1/driving/");
    assert_eq!(reply.json["settings"]["locale"], world.a.organisation.settings.locale.as_str(), "untouched setting kept");
    assert_eq!(reply.json["name"], world.a.organisation.name.as_str());
    let read = call(&world, Method::GET, "/api/organisation", &token, None).await;
    assert_eq!(read.json, reply.json);

    let bad = call(&world, Method::PATCH, "/api/organisation", &token, Some(json!({
        "default_service_time_s": 99999,
        "settings": {"tile_url": "https://tiles.example.com/{z}/{x}.png", "osrm_table_url": "osrm.local/table"}
    }))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(codes(&bad).into_iter().map(|(p, _)| p).collect::<Vec<_>>(), ["default_service_time_s", "settings.tile_url", "settings.osrm_table_url"]);
    let unknown = call(&world, Method::PATCH, "/api/organisation", &token, Some(json!({"settings": {"tiles": "x"}}))).await;
    assert_eq!(codes(&unknown), [("settings.tiles".to_owned(), "not_allowed".to_owned())], "{}", unknown.text);
    let id = call(&world, Method::PATCH, "/api/organisation", &token, Some(json!({"id": "org-b"}))).await;
    assert_eq!(codes(&id), [("id".to_owned(), "not_allowed".to_owned())]);
    let after = call(&world, Method::GET, "/api/organisation", &token, None).await;
    assert_eq!(after.json, read.json, "refused patches changed nothing");

    // Org B is untouched by A's settings.
    let b = call(&world, Method::GET, "/api/organisation", &world.dispatcher_b, None).await;
    assert_eq!(b.json["default_service_time_s"], world.b.organisation.default_service_time_s);
}

#[tokio::test]
async fn only_dispatchers_write_the_fleet() {
    let world = World::new().await;
    for token in [&world.driver_a1, &world.key_a] {
        let reply = call(&world, Method::POST, "/api/depots", token, Some(depot_body())).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        let reply = call(&world, Method::PATCH, "/api/organisation", token, Some(json!({"default_service_time_s": 1}))).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        let reply = call(&world, Method::PATCH, &format!("/api/drivers/{}", world.a.drivers[0].id), token, Some(json!({"active": false}))).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    }
    let anonymous = check(&world.app, Method::POST, "/api/vehicles", None, &[], json_body(&van_body(&Value::Null))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let after = world.state.store.business(&world.a.organisation.id).await.unwrap();
    assert!(after.organisation == world.a.organisation && after.depots == world.a.depots, "nothing written");
    assert!(after.vehicles == world.a.vehicles && after.drivers == world.a.drivers, "nothing written");
}
