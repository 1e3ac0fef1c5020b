//! The API driven in-process through tower, on a real (in-memory) SQLite store.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{NOW, PASSWORD, World, check, json_body, login, plan_body};
use doorstep_core::Store;
use doorstep_core::ports::FixedClock;
use doorstep_http::api_router;
use doorstep_store_sqlite::SqliteStore;
use serde_json::{Value, json};

async fn app_with(business: Option<&str>) -> axum::Router {
    let store = SqliteStore::open_in_memory().expect("store");
    if let Some(org) = business {
        store.import_business(&doorstep_store_conformance::sample_business(org)).await.expect("import");
    }
    api_router(common::state(store, Arc::new(FixedClock(NOW))))
}

fn new_order(name: &str) -> Value {
    json!({
        "kind": "delivery",
        "address": {"line1": "12 Rue Mercière", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": 45.7620, "lon": 4.8330},
        "recipient": {"name": name, "phone": "+33 6 12 34 56 78"},
        "demand": [2.5, 10, 1]
    })
}

#[tokio::test]
async fn health_reports_ok_and_the_sqlite_store() {
    let reply = check(&app_with(None).await, Method::GET, "/api/health", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["status"], "ok");
    assert_eq!(reply.json["store"], "sqlite");
    assert_eq!(reply.json["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn config_without_an_organisation_defaults_to_openstreetmap() {
    let reply = check(&app_with(None).await, Method::GET, "/api/config", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["tile_url"].as_str().expect("tile_url").contains("openstreetmap.org"));
    assert_eq!(reply.json["depots"], json!([]));
}

#[tokio::test]
async fn config_centres_the_map_on_the_only_organisations_depot() {
    let reply = check(&app_with(Some("org-lyon")).await, Method::GET, "/api/config", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let depot = &reply.json["depots"][0];
    assert_eq!(reply.json["map_center"]["lat"], depot["lat"]);
    assert_eq!(reply.json["map_center"]["lon"], depot["lon"]);
    assert!(reply.json["org_name"].is_string());
}

#[tokio::test]
async fn config_serves_the_organisations_own_tiles_once_set() {
    let store = SqliteStore::open_in_memory().expect("store");
    let mut business = doorstep_store_conformance::sample_business("org-lyon");
    business.organisation.settings.tile_url = "https://tiles.example/{z}/{x}/{y}.png".into();
    business.organisation.settings.tile_attribution = "Example tiles".into();
    store.import_business(&business).await.expect("import");
    let app = api_router(common::state(store, Arc::new(FixedClock(NOW))));
    let reply = check(&app, Method::GET, "/api/config", None, &[], None).await;
    assert_eq!((reply.json["tile_url"].as_str(), reply.json["tile_attribution"].as_str()), (Some("https://tiles.example/{z}/{x}/{y}.png"), Some("Example tiles")), "{}", reply.text);
}

#[tokio::test]
async fn config_tells_the_web_app_how_dispatchers_sign_in() {
    let mut state = common::state(SqliteStore::open_in_memory().expect("store"), Arc::new(FixedClock(NOW)));
    let local = check(&api_router(state.clone()), Method::GET, "/api/config", None, &[], None).await;
    assert_eq!(local.json["auth"], json!({"mode": "local"}), "{}", local.text);
    state.client.auth = doorstep_domain::api::ClientAuth::Cognito {
        region: "eu-west-3".into(),
        user_pool_id: "eu-west-3_Abc".into(),
        client_id: "client-1".into(),
        endpoint: None,
    };
    let cognito = check(&api_router(state), Method::GET, "/api/config", None, &[], None).await;
    assert_eq!(cognito.json["auth"], json!({"mode": "cognito", "region": "eu-west-3", "user_pool_id": "eu-west-3_Abc", "client_id": "client-1"}));
}

#[tokio::test]
async fn config_names_no_organisation_to_anonymous_callers_when_there_are_several() {
    let world = World::new().await;
    let anonymous = check(&world.app, Method::GET, "/api/config", None, &[], None).await;
    assert_eq!(anonymous.json["org_name"], Value::Null);
    let signed_in = check(&world.app, Method::GET, "/api/config", Some(&world.dispatcher_b), &[], None).await;
    assert!(signed_in.text.contains("SECRET-B") && !signed_in.text.contains("SECRET-A"), "{}", signed_in.text);
}

#[tokio::test]
async fn unknown_api_route_and_wrong_method_return_the_error_shape() {
    let app = app_with(None).await;
    let reply = check(&app, Method::GET, "/api/nope", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json["code"], "unknown_route");
    assert!(reply.json["message"].as_str().expect("message").contains("/api/nope"));
    let reply = check(&app, Method::DELETE, "/api/health", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.json["code"], "method_not_allowed");
}

#[tokio::test]
async fn login_gives_a_token_and_repeated_failures_are_rate_limited() {
    let world = World::new().await;
    let me = check(&world.app, Method::GET, "/api/auth/me", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!((me.json["org_id"].as_str(), me.json["role"].as_str()), (Some("org-a"), Some("dispatcher")));
    for _ in 0..5 {
        let wrong = login(&world.app, "alice@a.example", "not the password").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json["code"], "unauthorized");
    }
    // Now even the right password waits for the window to pass.
    let limited = login(&world.app, "ALICE@a.example", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text);
    assert_eq!(limited.json["code"], "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    // Another account is not locked by Alice's failures.
    assert_eq!(login(&world.app, "bob@b.example", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn calls_without_a_valid_credential_get_401_in_the_error_shape() {
    let world = World::new().await;
    let forged = {
        let mut t = world.dispatcher_a.clone();
        t.push('x');
        t
    };
    for token in [None, Some("garbage"), Some(forged.as_str()), Some(world.tracking.as_str()), Some("dsk_not_a_key")] {
        let reply = check(&world.app, Method::GET, "/api/orders", token, &[], None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}: {}", reply.text);
        assert_eq!(reply.json["code"], "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn driver_sign_in_codes_work_once_by_link_or_pin() {
    let world = World::new().await;
    let driver = &world.a.drivers[2].id;
    let codes = check(&world.app, Method::POST, &format!("/api/drivers/{driver}/sign-in-codes"), Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(codes.status, StatusCode::CREATED);
    let by_pin = json!({"org_id": "org-a", "driver_id": driver, "pin": codes.json["pin"]});
    let first = check(&world.app, Method::POST, "/api/auth/driver", None, &[], json_body(&by_pin)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["role"], "driver");
    assert_eq!(first.json["subject"], json!(driver));
    let by_link = json!({"token": codes.json["token"]});
    let reused = check(&world.app, Method::POST, "/api/auth/driver", None, &[], json_body(&by_link)).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "the link died with the PIN: {}", reused.text);
    let foreign = check(&world.app, Method::POST, &format!("/api/drivers/{driver}/sign-in-codes"), Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another organisation's driver");
}

#[tokio::test]
async fn api_keys_work_as_bearer_or_header_until_revoked() {
    let world = World::new().await;
    let created = check(&world.app, Method::POST, "/api/api-keys", Some(&world.dispatcher_a), &[], json_body(&json!({"name": "ERP"}))).await;
    let secret = created.json["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("dsk_"));
    let listed = check(&world.app, Method::GET, "/api/api-keys", Some(&world.dispatcher_a), &[], None).await;
    assert!(!listed.text.contains(&secret), "secrets are never listed");
    let posted = check(&world.app, Method::POST, "/api/orders", None, &[("x-api-key", &secret)], json_body(&new_order("Via header"))).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    assert_eq!(posted.json["org_id"], "org-a");
    let id = created.json["key"]["id"].as_str().expect("id");
    let revoked = check(&world.app, Method::DELETE, &format!("/api/api-keys/{id}"), Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = check(&world.app, Method::GET, "/api/orders", Some(&secret), &[], None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn one_order_is_created_and_read_back() {
    let world = World::new().await;
    let created = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], json_body(&new_order("Jeanne Martin"))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!((created.json["version"].as_u64(), created.json["status"]["state"].as_str()), (Some(1), Some("created")));
    let id = created.json["id"].as_str().expect("id");
    let read = check(&world.app, Method::GET, &format!("/api/orders/{id}"), Some(&world.key_a), &[], None).await;
    assert_eq!(read.json, created.json);
    let other = check(&world.app, Method::GET, &format!("/api/orders/{id}"), Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bad_batch_reports_every_field_path_and_writes_nothing() {
    let world = World::new().await;
    let mut bad = new_order("Second");
    bad["address"]["lat"] = json!(123.0);
    bad["recipient"]["email"] = json!("nope");
    let mut third = new_order("Third");
    third["depot_id"] = json!("b-dep-gerland");
    let body = json!({"orders": [new_order("First"), bad, third]});
    let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], json_body(&body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.json["code"], "validation_failed");
    let paths: Vec<&str> = reply.json["details"].as_array().expect("details").iter().filter_map(|d| d["path"].as_str()).collect();
    assert_eq!(paths, ["orders[1].address.lat", "orders[1].recipient.email"]);
    // Validation passed once the shape is right; the foreign depot is then named.
    let body = json!({"orders": [new_order("First"), third_with_depot("b-dep-gerland")]});
    let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], json_body(&body)).await;
    assert_eq!(reply.json["field"], "orders[1].depot_id", "{}", reply.text);
    let listed = check(&world.app, Method::GET, "/api/orders?q=First", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(listed.json["items"], json!([]), "nothing was written");
}

fn third_with_depot(depot: &str) -> Value {
    let mut o = new_order("Third");
    o["depot_id"] = json!(depot);
    o
}

#[tokio::test]
async fn malformed_bodies_get_400_naming_the_field_never_500() {
    let world = World::new().await;
    let mut wrong_type = new_order("X");
    wrong_type["address"]["lat"] = json!("north");
    let mut unknown = new_order("X");
    unknown["recipient"]["nickname"] = json!("Jo");
    let mut missing = new_order("X");
    missing.as_object_mut().unwrap().remove("address");
    let cases: Vec<(String, Option<&str>)> = vec![
        ("{\"kind\": ".into(), None),
        (missing.to_string(), Some("address")),
        (json!({"orders": [new_order("A"), missing]}).to_string(), Some("orders[1].address")),
        ("[1, 2]".into(), None),
        (wrong_type.to_string(), Some("address.lat")),
        (unknown.to_string(), Some("recipient.nickname")),
        (json!({"orders": [new_order("A"), {"kind": "teleport"}]}).to_string(), Some("orders[1].kind")),
        (String::new(), None),
    ];
    for (body, field) in cases {
        let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], Some(Body::from(body.clone()))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
        assert_eq!(reply.json["code"], "invalid_json", "{body}");
        if let Some(f) = field {
            assert_eq!(reply.json["field"], f, "{body}: {}", reply.text);
        }
    }
    let reply = check(&world.app, Method::GET, "/api/orders?colour=red", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!((reply.status, reply.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let world = World::new().await;
    let huge = format!("{{\"orders\": [{}]}}", vec![new_order("Big").to_string(); 6000].join(","));
    assert!(huge.len() > 1024 * 1024);
    let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &[], Some(Body::from(huge))).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json["code"], "payload_too_large");
    let csv = "address,postcode,city,name\n".to_owned() + &"1 Rue X,69001,Lyon,Someone\n".repeat(200_000);
    let reply = check(&world.app, Method::POST, "/api/orders/import", Some(&world.dispatcher_a), &[("content-type", "text/csv")], Some(Body::from(csv))).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_answer_and_refuses_another_body() {
    let world = World::new().await;
    let key = [("idempotency-key", "order-42")];
    let body = json!({"orders": [new_order("IdemOne"), new_order("IdemTwo")]});
    let first = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &key, json_body(&body)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &key, json_body(&body)).await;
    assert_eq!((again.status, &again.text), (StatusCode::CREATED, &first.text), "the identical stored response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let changed = json!({"orders": [new_order("IdemOne"), new_order("IdemThree")]});
    let conflict = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_a), &key, json_body(&changed)).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.json["field"], "Idempotency-Key");
    let listed = check(&world.app, Method::GET, "/api/orders?q=IdemOne", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(listed.json["items"].as_array().expect("items").len(), 1, "written once");
    // Keys belong to an organisation: B may use the same one freely.
    let b = check(&world.app, Method::POST, "/api/orders", Some(&world.dispatcher_b), &key, json_body(&changed)).await;
    assert_eq!(b.status, StatusCode::CREATED);
}

#[tokio::test]
async fn orders_list_in_pages_with_an_opaque_cursor_and_filters() {
    let world = World::new().await;
    let mut seen = Vec::new();
    let mut path = "/api/orders?limit=7".to_owned();
    loop {
        let page = check(&world.app, Method::GET, &path, Some(&world.dispatcher_a), &[], None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        seen.extend(page.json["items"].as_array().expect("items").iter().map(|o| o["id"].as_str().expect("id").to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(c) => path = format!("/api/orders?limit=7&cursor={c}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = world.a.orders.iter().map(|o| o.id.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    let dispatched = check(&world.app, Method::GET, "/api/orders?state=dispatched", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(dispatched.json["items"].as_array().expect("items").len(), 5, "the published plan's orders");
    let bad = check(&world.app, Method::GET, "/api/orders?cursor=bm9wZQ", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!((bad.status, bad.json["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")));
}

#[tokio::test]
async fn patches_and_cancels_check_the_version() {
    let world = World::new().await;
    let id = &world.a.orders[10].id;
    let path = format!("/api/orders/{id}");
    let patched = check(&world.app, Method::PATCH, &path, Some(&world.dispatcher_a), &[], json_body(&json!({"version": 1, "instructions": "Code 1234"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!((patched.json["version"].as_u64(), patched.json["instructions"].as_str()), (Some(2), Some("Code 1234")));
    let stale = check(&world.app, Method::PATCH, &path, Some(&world.dispatcher_a), &[], json_body(&json!({"version": 1, "instructions": "Other"}))).await;
    assert_eq!((stale.status, stale.json["code"].as_str()), (StatusCode::CONFLICT, Some("version_conflict")));
    let cancel = format!("/api/orders/{id}/cancel");
    let cancelled = check(&world.app, Method::POST, &cancel, Some(&world.key_a), &[], json_body(&json!({"version": 2}))).await;
    assert_eq!(cancelled.json["status"]["state"], "cancelled", "{}", cancelled.text);
    let again = check(&world.app, Method::POST, &format!("/api/orders/{id}/events"), Some(&world.dispatcher_a), &[], json_body(&json!({"version": 3, "event": {"event": "plan"}}))).await;
    assert_eq!((again.status, again.json["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")));
}

#[tokio::test]
async fn csv_import_maps_common_headers_and_writes_nothing_when_a_row_is_bad() {
    let world = World::new().await;
    let csv = "Reference,Street,Zip,City,Latitude,Longitude,Customer,Phone,Weight,Window start,Window end\n\
               R1,1 Rue de la République,69002,Lyon,45.76,4.836,Ann,0612345678,\"2,5\",09:00,11:00\n\
               R2,2 Quai Perrache,69002,Lyon,45.74,north,Bob,0612345678,1,09:00,11:00\n\
               R3,,69003,Lyon,45.75,4.85,Cid,12,1,12:00,10:00\n";
    let path = "/api/orders/import?date=2026-11-23&utc_offset=%2B01:00";
    let strict = check(&world.app, Method::POST, path, Some(&world.dispatcher_a), &[("content-type", "text/csv")], Some(Body::from(csv))).await;
    assert_eq!(strict.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", strict.text);
    let paths: Vec<&str> = strict.json["details"].as_array().expect("details").iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(paths.contains(&"rows[3].Longitude"), "{paths:?}");
    assert!(paths.contains(&"rows[4].Street") && paths.contains(&"rows[4].Phone"), "{paths:?}");
    assert!(paths.contains(&"rows[4].Window start"), "{paths:?}");
    let none = check(&world.app, Method::GET, "/api/orders?q=R1", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(none.json["items"], json!([]), "all or nothing");

    let partial = format!("{path}&partial=true");
    let report = check(&world.app, Method::POST, &partial, Some(&world.key_a), &[("content-type", "text/csv")], Some(Body::from(csv))).await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.text);
    assert_eq!(report.json["created"].as_array().expect("created").len(), 1);
    assert_eq!(report.json["rows"], 3);
    let rows: Vec<u64> = report.json["errors"].as_array().expect("errors").iter().filter_map(|e| e["row"].as_u64()).collect();
    assert!(rows.contains(&3) && rows.contains(&4) && !rows.contains(&2), "{rows:?}");
    let id = report.json["created"][0].as_str().expect("id");
    let order = check(&world.app, Method::GET, &format!("/api/orders/{id}"), Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(order.json["demand"], json!([2.5, 0.0, 0.0]));
    assert_eq!(order.json["time_windows"][0]["start"], "2026-11-23T09:00:00+01:00");
    assert_eq!(order.json["address"]["country"], "FR", "the organisation's locale region (fr-FR)");
}

#[tokio::test]
async fn csv_import_takes_an_explicit_mapping_in_a_json_body() {
    let world = World::new().await;
    let body = json!({
        "csv": "Adresse;CP;Ville;Client\n3 Rue Neuve;69001;Lyon;Dee\n".replace(';', ","),
        "mapping": {"address.line1": "Adresse", "address.postcode": "CP", "recipient.name": "Client"},
        "country": "FR"
    });
    let reply = check(&world.app, Method::POST, "/api/orders/import", Some(&world.dispatcher_a), &[], json_body(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let unknown = check(&world.app, Method::POST, "/api/orders/import?mapping=colour:Couleur", Some(&world.dispatcher_a), &[("content-type", "text/csv")], Some(Body::from("a\n1\n"))).await;
    assert_eq!((unknown.status, unknown.json["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("mapping")));
}

#[tokio::test]
async fn plans_are_validated_published_to_drivers_and_edited_with_versions() {
    let world = World::new().await;
    // Orders 0-4 are already dispatched by the world's published plan.
    let taken = plan_body(&world.a, &[(2, 2, &[0, 5])]);
    let reply = check(&world.app, Method::POST, "/api/plans", Some(&world.dispatcher_a), &[], json_body(&taken)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["field"], "routes[0].stops[0].order_id", "{}", reply.text);
    let mut foreign = plan_body(&world.a, &[(2, 2, &[5])]);
    foreign["routes"][0]["stops"][0]["order_id"] = json!(world.b.orders[5].id);
    let reply = check(&world.app, Method::POST, "/api/plans", Some(&world.dispatcher_a), &[], json_body(&foreign)).await;
    assert_eq!((reply.json["field"].as_str(), reply.json["details"][0]["code"].as_str()), (Some("routes[0].stops[0].order_id"), Some("not_found")));

    let body = plan_body(&world.a, &[(2, 2, &[5, 6]), (3, 3, &[7])]);
    let saved = check(&world.app, Method::POST, "/api/plans", Some(&world.dispatcher_a), &[], json_body(&body)).await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    let plan = saved.json["id"].as_str().expect("id").to_owned();
    let route_2 = saved.json["routes"][0]["id"].as_str().expect("route").to_owned();
    let moved = saved.json["routes"][1]["stops"][0].clone();
    let s = &saved.json["routes"][0]["stops"];
    let timing = |stop: &Value, at: &str, until: &str| json!({"stop_id": stop["id"], "planned_arrival": at, "planned_departure": until});
    let edit = json!({"version": 1, "stops": [
        timing(&s[1], "2026-11-23T08:10:00Z", "2026-11-23T08:15:00Z"),
        timing(&moved, "2026-11-23T08:20:00Z", "2026-11-23T08:25:00Z"),
        timing(&s[0], "2026-11-23T08:30:00Z", "2026-11-23T08:35:00Z"),
    ]});
    let route_path = format!("/api/plans/{plan}/routes/{route_2}");
    let edited = check(&world.app, Method::PUT, &route_path, Some(&world.dispatcher_a), &[], json_body(&edit)).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.json["routes"][0]["stops"][1]["order_id"], moved["order_id"]);
    assert_eq!(edited.json["routes"][1]["stops"], json!([]), "the stop left its old route");
    let stale = check(&world.app, Method::PUT, &route_path, Some(&world.dispatcher_a), &[], json_body(&edit)).await;
    assert_eq!(stale.json["code"], "version_conflict", "{}", stale.text);

    let publish = format!("/api/plans/{plan}/publish");
    let stale = check(&world.app, Method::POST, &publish, Some(&world.dispatcher_a), &[], json_body(&json!({"version": 1}))).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let published = check(&world.app, Method::POST, &publish, Some(&world.dispatcher_a), &[], json_body(&json!({"version": 2}))).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    assert_eq!(published.json["plan"]["status"], "published");
    let tokens: Vec<&str> = published.json["tracking"].as_array().expect("tracking").iter().filter_map(|t| t["token"].as_str()).collect();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t.len() >= 22), "at least 128 bits each: {tokens:?}");
    let state = world.state.store.get_order(&world.a.organisation.id, &world.a.orders[7].id).await.expect("order").state();
    assert_eq!(state.as_str(), "dispatched");
    let hash = doorstep_core::crypto::sha256_hex(tokens[0].as_bytes());
    assert!(world.state.store.tracking_link(&hash, NOW).await.expect("link").is_some(), "looked up by hash only");

    let driver = common::driver_token(&world.app, &world.dispatcher_a, &world.a.drivers[2].id).await;
    let route = check(&world.app, Method::GET, "/api/drivers/me/route?date=2026-11-23", Some(&driver), &[], None).await;
    assert_eq!(route.status, StatusCode::OK, "{}", route.text);
    assert_eq!(route.json["route"]["driver_id"], json!(world.a.drivers[2].id));
    assert_eq!(route.json["orders"].as_array().expect("orders").len(), 3);
    let none = check(&world.app, Method::GET, "/api/drivers/me/route?date=2026-11-24", Some(&driver), &[], None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn openapi_describes_every_route_with_the_one_error_shape() {
    let world = World::new().await;
    let doc = check(&world.app, Method::GET, "/api/openapi.json", None, &[], None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json["openapi"].as_str().expect("version").starts_with("3.1"), "{}", doc.json["openapi"]);
    let paths = doc.json["paths"].as_object().expect("paths");
    for path in [
        "/api/health", "/api/config", "/api/auth/login", "/api/auth/driver", "/api/auth/me", "/api/drivers/{id}/sign-in-codes",
        "/api/api-keys", "/api/api-keys/{id}", "/api/orders", "/api/orders/import", "/api/orders/{id}", "/api/orders/{id}/cancel",
        "/api/orders/{id}/events", "/api/plans", "/api/plans/{id}", "/api/plans/{id}/publish", "/api/plans/{id}/routes/{route_id}",
        "/api/drivers/me/route", "/api/openapi.json", "/api/organisation", "/api/depots", "/api/vehicles", "/api/drivers",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    let error = &doc.json["components"]["schemas"]["ApiError"]["properties"];
    for field in ["code", "message", "field", "details"] {
        assert!(error.get(field).is_some(), "ApiError lacks {field}: {error}");
    }
    let create = &paths["/api/orders"]["post"]["responses"];
    assert_eq!(create["409"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ApiError");
}

#[tokio::test]
async fn dispatchers_read_their_own_organisation_depots_vehicles_and_drivers() {
    let world = World::new().await;
    let lists = [("/api/depots", world.a.depots.len()), ("/api/vehicles", world.a.vehicles.len()), ("/api/drivers", world.a.drivers.len())];
    for (path, count) in lists {
        let reply = check(&world.app, Method::GET, path, Some(&world.dispatcher_a), &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        let items = reply.json.as_array().expect("a JSON array");
        assert_eq!(items.len(), count, "{path}");
        assert!(count > 0 && items.iter().all(|i| i["org_id"] == "org-a"), "{path}: {}", reply.text);
        let driver = check(&world.app, Method::GET, path, Some(&world.driver_a1), &[], None).await;
        assert_eq!(driver.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(driver.json["code"], "forbidden");
    }
    let org = check(&world.app, Method::GET, "/api/organisation", Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text);
    assert_eq!(org.json["id"], "org-b");
    assert!(org.json["default_service_time_s"].is_u64(), "{}", org.text);
}
