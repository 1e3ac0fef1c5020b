//! The OpenAPI document is typed: every request and response body names its
//! schema, every reference resolves, and real answers of the router (and the
//! bodies clients send) fit the schemas the document gives them.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{World, check, json_body, plan_body};
use serde_json::{Value, json};

async fn document() -> Value {
    serde_json::to_value(doorstep_http::openapi::openapi_json().await.0).expect("OpenAPI JSON")
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every (where, content type, schema) of a request or response body.
fn body_schemas(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let op_name = format!("{} {path}", method.to_uppercase());
            for (content_type, media) in op["requestBody"]["content"].as_object().into_iter().flatten() {
                found.push((format!("{op_name} request"), content_type.clone(), media["schema"].clone()));
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                for (content_type, media) in response["content"].as_object().into_iter().flatten() {
                    found.push((format!("{op_name} {status}"), content_type.clone(), media["schema"].clone()));
                }
            }
        }
    }
    found
}

/// A body schema a client can generate a type from: a reference, an array
/// of references, or a plain primitive (CSV text).
fn is_typed(schema: &Value) -> bool {
    let is_ref = |s: &Value| s["$ref"].as_str().is_some_and(|r| r.starts_with("#/components/schemas/"));
    let primitive = matches!(schema["type"].as_str(), Some("string" | "integer" | "number" | "boolean")) && schema.get("properties").is_none();
    is_ref(schema) || (schema["type"] == "array" && is_ref(&schema["items"])) || primitive
}

#[tokio::test]
async fn every_request_and_response_body_names_its_schema() {
    let doc = document().await;
    let bodies = body_schemas(&doc);
    assert!(bodies.len() > 60, "the walk finds the bodies: {}", bodies.len());
    let untyped: Vec<String> =
        bodies.iter().filter(|(_, _, schema)| !is_typed(schema)).map(|(at, content_type, schema)| format!("{at} ({content_type}): {schema}")).collect();
    assert!(untyped.is_empty(), "untyped bodies (give them a ToSchema type):\n{}", untyped.join("\n"));
}

#[tokio::test]
async fn every_error_answer_has_the_one_error_shape() {
    let doc = document().await;
    let errors: Vec<(String, String, Value)> =
        body_schemas(&doc).into_iter().filter(|(at, _, _)| at.rsplit(' ').next().is_some_and(|status| status.starts_with('4') || status.starts_with('5'))).collect();
    assert!(errors.len() > 100, "the walk finds the error answers: {}", errors.len());
    let other: Vec<String> = errors
        .iter()
        .filter(|(at, _, schema)| schema["$ref"] != "#/components/schemas/ApiError" && !(at.starts_with("GET /api/health ")))
        .map(|(at, content_type, schema)| format!("{at} ({content_type}): {schema}"))
        .collect();
    assert!(other.is_empty(), "error answers without the ApiError shape:\n{}", other.join("\n"));
}

#[test]
fn the_typed_body_check_rejects_objects_and_inline_shapes() {
    assert!(is_typed(&json!({"$ref": "#/components/schemas/Order"})));
    assert!(is_typed(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Depot"}})));
    assert!(is_typed(&json!({"type": "string"})));
    assert!(!is_typed(&json!({"type": "object"})));
    assert!(!is_typed(&json!({})));
    assert!(!is_typed(&json!({"type": "array", "items": {"type": "object"}})));
    assert!(!is_typed(&json!({"type": "object", "properties": {"a": {"type": "string"}}})));
}

fn all_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.clone());
            }
            map.values().for_each(|v| all_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_schema_reference_resolves_to_a_component() {
    let doc = document().await;
    let mut refs = BTreeSet::new();
    all_refs(&doc, &mut refs);
    let schemas = doc["components"]["schemas"].as_object().expect("components.schemas");
    let dangling: Vec<&String> =
        refs.iter().filter(|r| r.strip_prefix("#/components/schemas/").is_none_or(|name| !schemas.contains_key(name))).collect();
    assert!(dangling.is_empty(), "references to missing schemas: {dangling:?}");
    for name in ["ApiError", "FieldError", "Order", "NewOrder", "Plan", "TrackingView", "OrderIntake", "OrderPage", "TimeOfDay", "OrderId"] {
        assert!(schemas.contains_key(name), "components lack {name}");
    }
}

// --- a small JSON Schema (2020-12 subset) checker ---------------------------

/// Every way `value` breaks `schema`, each with its JSON path.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.strip_prefix("#/components/schemas/").expect("a component reference");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "unresolved {r}");
        out.extend(violations(doc, target, value, at));
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(violations(doc, part, value, at));
    }
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema[key].as_array() {
            let results: Vec<Vec<String>> = options.iter().map(|o| violations(doc, o, value, at)).collect();
            let passing = results.iter().filter(|r| r.is_empty()).count();
            if passing == 0 || (exactly_one && passing > 1) {
                let why: Vec<String> = results.iter().map(|r| r.join("; ")).collect();
                out.push(format!("{at}: {passing} of the {key} options match ({})", why.join(" | ")));
            }
        }
    }
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = |k: &str| match k {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => false,
        };
        if !kinds.iter().any(|k| fits(k)) {
            out.push(format!("{at}: expected {kinds:?}, got {value}"));
            return out;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        out.push(format!("{at}: {value} is not {constant}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                out.push(format!("{at}: lacks required {name}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            let path = format!("{at}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(property) => out.extend(violations(doc, property, field, &path)),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => out.push(format!("{path}: not allowed here")),
                    Some(extra @ Value::Object(_)) => out.extend(violations(doc, extra, field, &path)),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            out.extend(violations(doc, schema_items, item, &format!("{at}[{i}]")));
        }
    }
    out
}

/// The JSON schema the document gives `method path` for `status` (or the
/// request body, when `status` is `None`).
fn schema_of(doc: &Value, method: &str, path: &str, status: Option<u16>) -> Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "the document has no {method} {path}");
    let media = match status {
        Some(s) => &op["responses"][s.to_string()]["content"]["application/json"],
        None => &op["requestBody"]["content"]["application/json"],
    };
    assert!(media["schema"].is_object(), "{method} {path} {status:?} has no JSON schema: {op}");
    media["schema"].clone()
}

fn assert_fits(doc: &Value, method: &str, path: &str, status: Option<u16>, value: &Value) {
    let schema = schema_of(doc, method, path, status);
    let broken = violations(doc, &schema, value, "$");
    assert!(broken.is_empty(), "{method} {path} {status:?} does not fit {schema}:\n{}\nvalue: {value}", broken.join("\n"));
}

#[tokio::test]
async fn the_schema_checker_catches_a_missing_field_a_wrong_type_and_an_unknown_field() {
    let doc = document().await;
    let order = json!({"kind": "delivery", "address": {"line1": "1 Rue", "postcode": "69002", "city": "Lyon", "country": "FR"}, "recipient": {"name": "A"}});
    assert!(violations(&doc, &json!({"$ref": "#/components/schemas/NewOrder"}), &order, "$").is_empty(), "a valid NewOrder passes");
    let schema = schema_of(&doc, "post", "/api/orders", None);
    let mut missing = order.clone();
    missing.as_object_mut().expect("object").remove("address");
    assert!(!violations(&doc, &schema, &missing, "$").is_empty(), "an order without address");
    let mut wrong = order.clone();
    wrong["kind"] = json!("teleport");
    assert!(!violations(&doc, &schema, &wrong, "$").is_empty(), "an unknown kind");
    let mut unknown = order.clone();
    unknown["colour"] = json!("red");
    assert!(!violations(&doc, &schema, &unknown, "$").is_empty(), "NewOrder rejects unknown fields");
    let health = schema_of(&doc, "get", "/api/health", Some(200));
    assert!(!violations(&doc, &health, &json!({"status": "ok", "version": 1, "store": "sqlite"}), "$").is_empty(), "a number for a string");
}

#[tokio::test]
async fn the_order_intake_schema_takes_one_order_or_a_batch_each_with_an_optional_slot() {
    let doc = document().await;
    let order = json!({"kind": "delivery", "address": {"line1": "1 Rue", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": 45.76, "lon": 4.83}, "recipient": {"name": "A"}, "demand": [1, 2, 1]});
    let mut by_id = order.clone();
    by_id["slot"] = json!("2026-11-23T10:00");
    let mut by_choice = order.clone();
    by_choice["slot"] = json!({"date": "2026-11-23", "start": "10:00"});
    for body in [order.clone(), by_id.clone(), by_choice.clone(), json!({"orders": [order.clone(), by_id, by_choice]})] {
        assert_fits(&doc, "post", "/api/orders", None, &body);
    }
    let schema = schema_of(&doc, "post", "/api/orders", None);
    assert!(!violations(&doc, &schema, &json!({"orders": [order.clone()], "kind": "delivery"}), "$").is_empty(), "a batch with order fields");
    let mut bad_slot = order;
    bad_slot["slot"] = json!({"date": "2026-11-23"});
    assert!(!violations(&doc, &schema, &bad_slot, "$").is_empty(), "a slot without start");
}

#[tokio::test]
async fn real_answers_of_the_router_fit_their_schemas() {
    let world = World::new().await;
    let app = &world.app;
    let doc = document().await;
    let dispatcher = Some(world.dispatcher_a.as_str());
    let new_order = json!({
        "kind": "delivery",
        "address": {"line1": "12 Rue Mercière", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": 45.7620, "lon": 4.8330},
        "recipient": {"name": "Jeanne Martin", "phone": "+33 6 12 34 56 78"},
        "demand": [2.5, 10, 1],
        "time_windows": [{"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T12:00:00Z"}]
    });

    // Bodies the client sends fit the request schemas.
    assert_fits(&doc, "post", "/api/auth/login", None, &json!({"email": "alice@a.example", "password": "x"}));
    assert_fits(&doc, "post", "/api/plans", None, &plan_body(&world.a, &[(0, 0, &[5, 6])]));
    assert_fits(&doc, "post", "/api/orders", None, &new_order);

    let mut seen = Vec::new();
    let mut fits = |method: &str, path: &str, status: u16, reply: &common::Reply| {
        assert_eq!(reply.status.as_u16(), status, "{method} {path}: {}", reply.text);
        assert_fits(&doc, method, path, Some(status), &reply.json);
        seen.push(format!("{method} {path} {status}"));
    };

    fits("get", "/api/health", 200, &check(app, Method::GET, "/api/health", None, &[], None).await);
    fits("get", "/api/config", 200, &check(app, Method::GET, "/api/config", dispatcher, &[], None).await);
    fits("get", "/api/auth/me", 200, &check(app, Method::GET, "/api/auth/me", dispatcher, &[], None).await);
    fits("get", "/api/api-keys", 200, &check(app, Method::GET, "/api/api-keys", dispatcher, &[], None).await);
    fits("get", "/api/organisation", 200, &check(app, Method::GET, "/api/organisation", dispatcher, &[], None).await);
    for list in ["/api/depots", "/api/vehicles", "/api/drivers"] {
        let reply = check(app, Method::GET, list, dispatcher, &[], None).await;
        assert!(!reply.json.as_array().expect("array").is_empty(), "{list}");
        fits("get", list, 200, &reply);
    }

    let one = check(app, Method::POST, "/api/orders", dispatcher, &[], json_body(&new_order)).await;
    fits("post", "/api/orders", 201, &one);
    let batch = check(app, Method::POST, "/api/orders", dispatcher, &[], json_body(&json!({"orders": [new_order.clone(), new_order.clone()]}))).await;
    fits("post", "/api/orders", 201, &batch);
    let order_id = one.json["id"].as_str().expect("order id").to_owned();
    fits("get", "/api/orders/{id}", 200, &check(app, Method::GET, &format!("/api/orders/{order_id}"), dispatcher, &[], None).await);
    let list = check(app, Method::GET, "/api/orders?limit=3", dispatcher, &[], None).await;
    assert!(list.json["next_cursor"].is_string(), "a page with a next one: {}", list.text);
    fits("get", "/api/orders", 200, &list);
    let cancelled = check(app, Method::POST, &format!("/api/orders/{order_id}/cancel"), dispatcher, &[], json_body(&json!({"version": 1}))).await;
    fits("post", "/api/orders/{id}/cancel", 200, &cancelled);

    fits("get", "/api/plans", 200, &check(app, Method::GET, "/api/plans", dispatcher, &[], None).await);
    let plan = format!("/api/plans/{}", world.published_plan_a);
    fits("get", "/api/plans/{id}", 200, &check(app, Method::GET, &plan, dispatcher, &[], None).await);
    let route = check(app, Method::GET, "/api/drivers/me/route?date=2026-11-23", Some(&world.driver_a1), &[], None).await;
    fits("get", "/api/drivers/me/route", 200, &route);

    fits("get", "/api/track/{token}", 200, &check(app, Method::GET, &format!("/api/track/{}", world.tracking), None, &[], None).await);
    fits("get", "/api/tracking/positions", 200, &check(app, Method::GET, "/api/tracking/positions", dispatcher, &[], None).await);
    let report = check(app, Method::GET, "/api/reports?from=2026-11-20&to=2026-11-23", dispatcher, &[], None).await;
    fits("get", "/api/reports", 200, &report);
    fits("get", "/api/openapi.json", 200, &check(app, Method::GET, "/api/openapi.json", None, &[], None).await);

    // Errors: the one shape, with the field path.
    fits("get", "/api/orders/{id}", 404, &check(app, Method::GET, "/api/orders/no-such-order", dispatcher, &[], None).await);
    let invalid = check(app, Method::POST, "/api/orders", dispatcher, &[], json_body(&json!({"kind": "delivery"}))).await;
    assert!(invalid.status == StatusCode::UNPROCESSABLE_ENTITY || invalid.status == StatusCode::BAD_REQUEST, "{}", invalid.text);
    fits("post", "/api/orders", invalid.status.as_u16(), &invalid);
    assert!(seen.len() >= 20, "{seen:?}");
}

/// Sends `body` (which must fit the request schema of `template`) and checks
/// the answer's status and that it fits the response schema.
#[allow(clippy::too_many_arguments)]
async fn sent_and_answered(
    app: &axum::Router,
    doc: &Value,
    method: Method,
    path: String,
    template: &str,
    token: Option<&str>,
    body: Value,
    status: u16,
) -> common::Reply {
    let lower = method.as_str().to_lowercase();
    assert_fits(doc, &lower, template, None, &body);
    let key = format!("key-{path}");
    let reply = check(app, method.clone(), &path, token, &[("idempotency-key", &key)], json_body(&body)).await;
    assert_eq!(reply.status.as_u16(), status, "{method} {path}: {}", reply.text);
    assert_fits(doc, &lower, template, Some(status), &reply.json);
    reply
}

#[tokio::test]
async fn a_drivers_day_answers_fit_their_schemas() {
    let world = World::new().await;
    let blobs_dir = tempfile::tempdir().expect("temp dir");
    let blobs = doorstep_blobs_fs::FsBlobStore::open(blobs_dir.path(), b"test secret, 32 bytes or more....").expect("blobs");
    let app = &doorstep_http::api_router(world.state.clone().with_local_blobs(blobs));
    let doc = document().await;
    let driver = Some(world.driver_a1.as_str());
    let dispatcher = Some(world.dispatcher_a.as_str());
    let day = check(app, Method::GET, "/api/drivers/me/route?date=2026-11-23", driver, &[], None).await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.text);
    let plan_id = day.json["plan_id"].clone();
    let route_id = day.json["route"]["id"].as_str().expect("route id").to_owned();
    let stop = |i: usize| {
        let s = &day.json["route"]["stops"][i];
        (s["id"].as_str().expect("stop id").to_owned(), s["order_id"].as_str().expect("order id").to_owned())
    };
    let (stop0, order0) = stop(0);
    let (stop1, _) = stop(1);

    let pings = json!({"route_id": route_id, "pings": [{"seq": 1, "device_time": "2026-11-22T17:40:00Z", "lat": 45.76, "lon": 4.83, "accuracy_m": 5.0}]});
    sent_and_answered(app, &doc, Method::POST, "/api/pings".into(), "/api/pings", driver, pings, 200).await;
    let start = json!({"plan_id": plan_id, "device_time": "2026-11-22T17:45:00Z", "vehicle_checked": true});
    sent_and_answered(app, &doc, Method::POST, format!("/api/routes/{route_id}/start"), "/api/routes/{route_id}/start", driver, start, 200).await;
    let arrive = json!({"plan_id": plan_id, "device_time": "2026-11-22T17:50:00Z", "geotag": {"lat": 45.76, "lon": 4.83}});
    sent_and_answered(app, &doc, Method::POST, format!("/api/stops/{stop0}/arrive"), "/api/stops/{stop_id}/arrive", driver, arrive, 200).await;
    let complete = json!({"plan_id": plan_id, "pod": {"order_id": order0, "recipient_name": "Léa", "device_time": "2026-11-22T17:55:00Z"}});
    let done = sent_and_answered(app, &doc, Method::POST, format!("/api/stops/{stop0}/complete"), "/api/stops/{stop_id}/complete", driver, complete, 200).await;
    assert_eq!(done.json["pod"]["outcome"], "delivered", "the flattened outcome: {}", done.text);
    let fail = json!({"plan_id": plan_id, "reason": "recipient_absent", "note": "nobody home", "device_time": "2026-11-22T17:58:00Z"});
    let failed = sent_and_answered(app, &doc, Method::POST, format!("/api/stops/{stop1}/fail"), "/api/stops/{stop_id}/fail", driver, fail, 200).await;
    assert_eq!(failed.json["pod"]["outcome"], "failed", "{}", failed.text);

    let upload = json!({"order_id": order0, "content_type": "image/jpeg", "size_bytes": 1000, "sha256": "ab".repeat(32)});
    sent_and_answered(app, &doc, Method::POST, "/api/pod/uploads".into(), "/api/pod/uploads", driver, upload, 200).await;
    let token = &world.tracking;
    let view = check(app, Method::GET, &format!("/api/track/{token}"), None, &[], None).await;
    assert_fits(&doc, "get", "/api/track/{token}", Some(200), &view.json);
    let rating = json!({"stars": 5, "comment": "Quick"});
    let status = if view.json["order_id"] == json!(order0) { 200 } else { 409 };
    sent_and_answered(app, &doc, Method::PUT, format!("/api/track/{token}/rating"), "/api/track/{token}/rating", None, rating, status).await;
    let pod = check(app, Method::GET, &format!("/api/orders/{order0}/pod"), dispatcher, &[], None).await;
    assert_eq!(pod.status, StatusCode::OK, "{}", pod.text);
    assert_fits(&doc, "get", "/api/orders/{id}/pod", Some(200), &pod.json);
    let progress = check(app, Method::GET, &format!("/api/tracking/routes/{route_id}"), dispatcher, &[], None).await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.text);
    assert_fits(&doc, "get", "/api/tracking/routes/{id}", Some(200), &progress.json);
    let driver_id = day.json["route"]["driver_id"].as_str().expect("driver id");
    let trail_path = format!("/api/tracking/drivers/{driver_id}/trail?from=2026-11-22T17:00:00Z&to=2026-11-22T18:00:00Z");
    let trail = check(app, Method::GET, &trail_path, dispatcher, &[], None).await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text);
    assert!(!trail.json["pings"].as_array().expect("pings").is_empty(), "{}", trail.text);
    assert_fits(&doc, "get", "/api/tracking/drivers/{id}/trail", Some(200), &trail.json);
    let positions = check(app, Method::GET, "/api/tracking/positions", dispatcher, &[], None).await;
    assert!(!positions.json["positions"].as_array().expect("positions").is_empty(), "{}", positions.text);
    assert_fits(&doc, "get", "/api/tracking/positions", Some(200), &positions.json);

    // Merge patches: a few fields in, the whole entity out.
    let depot = world.a.depots[0].id.to_string();
    sent_and_answered(app, &doc, Method::PATCH, format!("/api/depots/{depot}"), "/api/depots/{id}", dispatcher, json!({"name": "Renamed depot"}), 200).await;
    let settings = json!({"settings": {"currency": "EUR"}, "name": "Renamed org"});
    sent_and_answered(app, &doc, Method::PATCH, "/api/organisation".into(), "/api/organisation", dispatcher, settings, 200).await;
    let vehicle = world.a.vehicles[0].id.to_string();
    let inactive = json!({"active": false});
    sent_and_answered(app, &doc, Method::PATCH, format!("/api/vehicles/{vehicle}"), "/api/vehicles/{id}", dispatcher, inactive, 200).await;
}

#[tokio::test]
async fn serde_attributes_shape_the_schemas() {
    let doc = document().await;
    let schemas = &doc["components"]["schemas"];
    // rename_all = "snake_case" on a unit enum.
    assert_eq!(schemas["Priority"]["enum"], json!(["low", "normal", "high", "urgent"]), "{}", schemas["Priority"]);
    // tag = "state": each variant an object with its tag required.
    let states: Vec<&Value> = schemas["OrderStatus"]["oneOf"].as_array().expect("OrderStatus oneOf").iter().map(|v| &v["properties"]["state"]["enum"][0]).collect();
    assert!(states.contains(&&json!("out_for_delivery")) && states.contains(&&json!("failed")), "{states:?}");
    // flatten of the tagged outcome into the POD record.
    let pod = &schemas["PodRecord"]["allOf"];
    assert_eq!(pod[0]["$ref"], "#/components/schemas/PodOutcome", "{pod}");
    // deny_unknown_fields on inputs; stored entities tolerate unknown fields.
    assert_eq!(schemas["NewOrder"]["additionalProperties"], json!(false));
    assert!(schemas["Order"].get("additionalProperties").is_none(), "{}", schemas["Order"]);
    // skip_serializing_if / default: optional, not required.
    let required: Vec<&str> = schemas["Order"]["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert!(required.contains(&"id") && !required.contains(&"dispatch_hold") && !required.contains(&"barcode"), "{required:?}");
    // A newtype id is a string; a time of day a pattern-checked string.
    assert_eq!(schemas["OrderId"]["type"], "string");
    assert_eq!(schemas["TimeOfDay"]["type"], "string");
    // Merge patches keep the properties and require none.
    for patch in ["DepotPatch", "VehiclePatch", "DriverPatch", "OrgSettingsPatch"] {
        assert!(schemas[patch]["properties"].as_object().is_some_and(|p| !p.is_empty()), "{patch}");
        assert!(schemas[patch]["required"].as_array().is_none_or(Vec::is_empty), "{patch}: {}", schemas[patch]);
    }
}

// --- request schemas list exactly the fields the real types read ------------

/// The field names `T`'s derived `Deserialize` accepts: serde's derive hands
/// its full list to `deserialize_struct`, which this deserializer records.
fn serde_fields<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
    struct FieldsOf<'a>(&'a mut Option<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for FieldsOf<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a plain struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], _: V) -> Result<V::Value, Self::Error> {
            *self.0 = Some(fields);
            Err(serde::de::Error::custom("fields recorded"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields = None;
    let _ = T::deserialize(FieldsOf(&mut fields));
    let mut fields = fields.unwrap_or_else(|| panic!("{} does not deserialise as a plain struct", std::any::type_name::<T>())).to_vec();
    fields.sort_unstable();
    fields
}

/// The property names of `schema` (a reference is followed).
fn schema_properties(doc: &Value, schema: &Value) -> Vec<String> {
    let target = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.strip_prefix("#/components/schemas/").expect("a component reference")],
        None => schema,
    };
    let mut names: Vec<String> = target["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    names.sort_unstable();
    names
}

/// What differs between the schema's properties and the type's fields.
fn field_mismatch(schema: &[String], type_fields: &[&str]) -> Option<String> {
    let missing: Vec<&&str> = type_fields.iter().filter(|f| !schema.iter().any(|s| s == *f)).collect();
    let extra: Vec<&String> = schema.iter().filter(|s| !type_fields.contains(&s.as_str())).collect();
    (!missing.is_empty() || !extra.is_empty()).then(|| format!("the schema lacks {missing:?} and has {extra:?} the type does not read"))
}

#[tokio::test]
async fn request_schemas_list_exactly_the_fields_the_core_types_read() {
    use doorstep_core::usecases::{reassign::ReassignStop, reports::RebuildRequest};
    let doc = document().await;
    let bodies: [(&str, &str, Vec<&str>); 2] = [
        ("post", "/api/plans/{id}/stops/reassign", serde_fields::<ReassignStop>()),
        ("post", "/api/reports/rebuild", serde_fields::<RebuildRequest>()),
    ];
    for (method, path, fields) in bodies {
        assert!(!fields.is_empty(), "{method} {path}");
        let schema = schema_of(&doc, method, path, None);
        if let Some(mismatch) = field_mismatch(&schema_properties(&doc, &schema), &fields) {
            panic!("{method} {path}: {mismatch}");
        }
    }
}

#[test]
fn the_field_check_catches_a_field_the_schema_lacks() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Request {
        version: u64,
        #[serde(default, rename = "dryRun")]
        dry_run: bool,
    }
    assert_eq!(serde_fields::<Request>(), vec!["dryRun", "version"]);
    let doc = json!({"components": {"schemas": {"Request": {"type": "object", "properties": {"version": {"type": "integer"}}}}}});
    let schema = schema_properties(&doc, &json!({"$ref": "#/components/schemas/Request"}));
    assert_eq!(schema, vec!["version"]);
    let mismatch = field_mismatch(&schema, &serde_fields::<Request>()).expect("a field the schema lacks");
    assert!(mismatch.contains("dryRun"), "{mismatch}");
    assert_eq!(field_mismatch(&["a".into(), "b".into()], &["a"]).map(|m| m.contains("\"b\"")), Some(true), "a property the type does not read");
    assert_eq!(field_mismatch(&["a".into()], &["a"]), None);
}

#[tokio::test]
async fn a_reassign_preview_fits_its_schema() {
    let world = World::new().await;
    let doc = document().await;
    let dispatcher = Some(world.dispatcher_a.as_str());
    let plan = check(&world.app, Method::GET, &format!("/api/plans/{}", world.published_plan_a), dispatcher, &[], None).await;
    let moved = &plan.json["routes"][0]["stops"][0]["order_id"];
    let body = json!({"version": plan.json["version"], "order_id": moved, "to_route_id": plan.json["routes"][1]["id"], "force": true, "dry_run": true});
    let path = format!("/api/plans/{}/stops/reassign", world.published_plan_a);
    let reply = sent_and_answered(&world.app, &doc, Method::POST, path, "/api/plans/{id}/stops/reassign", dispatcher, body, 200).await;
    assert_eq!(reply.json["applied"], false, "{}", reply.text);
}

#[tokio::test]
async fn intake_sign_in_slots_and_rebuild_answers_fit_their_schemas() {
    let world = World::new().await;
    let app = &world.app;
    let doc = document().await;
    let dispatcher = Some(world.dispatcher_a.as_str());

    let login = json!({"email": "alice@a.example", "password": common::PASSWORD});
    sent_and_answered(app, &doc, Method::POST, "/api/auth/login".into(), "/api/auth/login", None, login, 200).await;
    let key = json!({"name": "Another shop"});
    sent_and_answered(app, &doc, Method::POST, "/api/api-keys".into(), "/api/api-keys", dispatcher, key, 201).await;
    let driver = world.a.drivers[2].id.to_string();
    let codes = check(app, Method::POST, &format!("/api/drivers/{driver}/sign-in-codes"), dispatcher, &[], None).await;
    assert_eq!(codes.status, StatusCode::CREATED, "{}", codes.text);
    assert_fits(&doc, "post", "/api/drivers/{id}/sign-in-codes", Some(201), &codes.json);
    let signed = json!({"token": codes.json["token"]});
    sent_and_answered(app, &doc, Method::POST, "/api/auth/driver".into(), "/api/auth/driver", None, signed, 200).await;

    // CSV import, as text and as JSON.
    let csv = "Reference,Street,Zip,City,Latitude,Longitude,Customer\nR1,1 Rue de la République,69002,Lyon,45.76,4.836,Ann\nR2,,69002,Lyon,45.74,4.83,Bob\n";
    let text = check(app, Method::POST, "/api/orders/import?partial=true", dispatcher, &[("content-type", "text/csv")], Some(csv.into())).await;
    assert_eq!(text.status, StatusCode::CREATED, "{}", text.text);
    assert!(!text.json["errors"].as_array().expect("errors").is_empty(), "a bad row is reported: {}", text.text);
    assert_fits(&doc, "post", "/api/orders/import", Some(201), &text.json);
    let as_json = json!({"csv": csv, "partial": true, "country": "FR"});
    sent_and_answered(app, &doc, Method::POST, "/api/orders/import".into(), "/api/orders/import", dispatcher, as_json, 201).await;

    // Slots: a nested merge patch of the settings, the listing, a booking.
    let slots = json!({"settings": {"delivery_slots": {
        "slot_minutes": 120, "day_start": "08:00", "day_end": "18:00",
        "zones": [{"name": "Centre", "center": {"lat": 45.75, "lon": 4.84}, "radius_m": 6000.0, "capacity_per_slot": 2}],
    }}});
    sent_and_answered(app, &doc, Method::PATCH, "/api/organisation".into(), "/api/organisation", dispatcher, slots, 200).await;
    let listed = check(app, Method::GET, "/api/slots?date=2026-11-23&lat=45.7489&lon=4.834", dispatcher, &[], None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_fits(&doc, "get", "/api/slots", Some(200), &listed.json);
    let free = listed.json["slots"].as_array().expect("slots").iter().find(|s| s["available"] == true).expect("a free slot")["id"].clone();
    let booked = json!({
        "kind": "delivery",
        "address": {"line1": "3 Rue Neuve", "postcode": "69002", "city": "Lyon", "country": "FR", "lat": 45.7489, "lon": 4.834},
        "recipient": {"name": "Slot Buyer"},
        "slot": free,
    });
    sent_and_answered(app, &doc, Method::POST, "/api/orders".into(), "/api/orders", dispatcher, booked, 201).await;

    let rebuild = json!({"from": "2026-11-22", "to": "2026-11-23"});
    sent_and_answered(app, &doc, Method::POST, "/api/reports/rebuild".into(), "/api/reports/rebuild", dispatcher, rebuild, 200).await;
}
