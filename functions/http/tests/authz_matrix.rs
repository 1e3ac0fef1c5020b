//! Every endpoint x every kind of caller x own and foreign ids: no response
//! may carry another organisation's data, no caller may do more than its role
//! allows, and refused calls change nothing.

mod common;

use axum::http::{Method, StatusCode};
use common::{World, check, json_body};
use doorstep_core::ports::PlanFilter;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    DispatcherA,
    DispatcherB,
    DriverA1,
    DriverA2,
    KeyA,
    Anonymous,
    Tracking,
}

/// Which roles may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Allowed {
    Public,
    Anyone,
    Dispatcher,
    Writers,
    Driver,
}

struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: Allowed,
    /// Whether the path names an entity of one organisation (org A's ids).
    names_an_entity: bool,
}

fn endpoints(world: &World, org: &common::World, use_b: bool) -> Vec<Endpoint> {
    let business = if use_b { &org.b } else { &org.a };
    let order = &business.orders[20].id;
    let driver = &business.drivers[3].id;
    let plan = if use_b { "pln_does_not_exist".to_owned() } else { world.published_plan_a.clone() };
    let e = |method: Method, path: String, body: Option<Value>, allowed: Allowed, names_an_entity: bool| Endpoint {
        method,
        path,
        body,
        allowed,
        names_an_entity,
    };
    let new_order = json!({"kind": "delivery", "address": {"line1": "1 Rue", "postcode": "69001", "city": "Lyon", "country": "FR"}, "recipient": {"name": "New"}});
    vec![
        e(Method::GET, "/api/health".into(), None, Allowed::Public, false),
        e(Method::GET, "/api/openapi.json".into(), None, Allowed::Public, false),
        e(Method::GET, "/api/config".into(), None, Allowed::Public, false),
        e(Method::GET, "/api/auth/me".into(), None, Allowed::Anyone, false),
        e(Method::POST, format!("/api/drivers/{driver}/sign-in-codes"), None, Allowed::Dispatcher, true),
        e(Method::GET, "/api/api-keys".into(), None, Allowed::Dispatcher, false),
        e(Method::POST, "/api/api-keys".into(), Some(json!({"name": "matrix"})), Allowed::Dispatcher, false),
        e(Method::DELETE, "/api/api-keys/key_does_not_exist".into(), None, Allowed::Dispatcher, true),
        e(Method::POST, "/api/orders".into(), Some(new_order), Allowed::Writers, false),
        e(Method::GET, "/api/orders".into(), None, Allowed::Writers, false),
        e(Method::GET, "/api/orders?q=SECRET".into(), None, Allowed::Writers, false),
        e(Method::POST, "/api/orders/import?country=FR".into(), Some(json!({"csv": "address,postcode,city,name\n1 Rue,69001,Lyon,Csv\n"})), Allowed::Writers, false),
        e(Method::GET, format!("/api/orders/{order}"), None, Allowed::Writers, true),
        e(Method::PATCH, format!("/api/orders/{order}"), Some(json!({"version": 1, "instructions": "matrix"})), Allowed::Dispatcher, true),
        e(Method::POST, format!("/api/orders/{order}/events"), Some(json!({"version": 1, "event": {"event": "plan"}})), Allowed::Dispatcher, true),
        e(Method::POST, format!("/api/orders/{order}/cancel"), Some(json!({"version": 1})), Allowed::Writers, true),
        e(Method::POST, "/api/plans".into(), Some(common::plan_body(business, &[(2, 2, &[30, 31])])), Allowed::Dispatcher, false),
        e(Method::GET, "/api/plans".into(), None, Allowed::Dispatcher, false),
        e(Method::GET, format!("/api/plans/{plan}"), None, Allowed::Dispatcher, true),
        e(Method::POST, format!("/api/plans/{plan}/publish"), Some(json!({"version": 2})), Allowed::Dispatcher, true),
        e(Method::PUT, format!("/api/plans/{plan}/routes/rte_x"), Some(json!({"version": 2, "stops": []})), Allowed::Dispatcher, true),
        e(Method::POST, format!("/api/plans/{plan}/stops/reassign"), Some(json!({"version": 2, "order_id": order, "to_route_id": "rte_x"})), Allowed::Dispatcher, true),
        e(Method::GET, "/api/drivers/me/route?date=2026-11-23".into(), None, Allowed::Driver, false),
        e(Method::GET, "/api/slots?date=2026-11-23&lat=45.75&lon=4.84".into(), None, Allowed::Writers, false),
        e(Method::GET, "/api/organisation".into(), None, Allowed::Dispatcher, false),
        e(Method::GET, "/api/depots".into(), None, Allowed::Dispatcher, false),
        e(Method::GET, "/api/vehicles".into(), None, Allowed::Dispatcher, false),
        e(Method::GET, "/api/drivers".into(), None, Allowed::Dispatcher, false),
        // Fleet and settings writes (the Setup page). Bodies name no other
        // entity, so an outsider's create succeeds in its own organisation.
        e(Method::PATCH, "/api/organisation".into(), Some(json!({"default_service_time_s": 301})), Allowed::Dispatcher, false),
        e(Method::POST, "/api/depots".into(), Some(json!({"name": "Matrix depot", "address": {"line1": "1 Rue", "postcode": "69001", "city": "Lyon", "country": "FR"}, "location": {"lat": 45.76, "lon": 4.83}})), Allowed::Dispatcher, false),
        e(Method::PATCH, format!("/api/depots/{}", business.depots[0].id), Some(json!({"address": {"line2": "Quai 4"}})), Allowed::Dispatcher, true),
        e(Method::POST, "/api/vehicles".into(), Some(json!({"name": "Matrix van", "capacity": [500, 2000, 50], "shift": {"start": "08:00", "end": "16:00"}, "start": {"lat": 45.76, "lon": 4.83}})), Allowed::Dispatcher, false),
        e(Method::PATCH, format!("/api/vehicles/{}", business.vehicles[3].id), Some(json!({"skills": ["matrix"]})), Allowed::Dispatcher, true),
        e(Method::POST, "/api/drivers".into(), Some(json!({"name": "Matrix Driver", "phone": "+33 6 11 22 33 44"})), Allowed::Dispatcher, false),
        e(Method::PATCH, format!("/api/drivers/{driver}"), Some(json!({"phone": "+33 6 12 34 56 78"})), Allowed::Dispatcher, true),
    ]
}

fn token(world: &World, who: Who) -> Option<String> {
    match who {
        Who::DispatcherA => Some(world.dispatcher_a.clone()),
        Who::DispatcherB => Some(world.dispatcher_b.clone()),
        Who::DriverA1 => Some(world.driver_a1.clone()),
        Who::DriverA2 => Some(world.driver_a2.clone()),
        Who::KeyA => Some(world.key_a.clone()),
        Who::Anonymous => None,
        Who::Tracking => Some(world.tracking.clone()),
    }
}

fn may(who: Who, allowed: Allowed) -> bool {
    match allowed {
        Allowed::Public => true,
        Allowed::Anyone => !matches!(who, Who::Anonymous | Who::Tracking),
        Allowed::Dispatcher => matches!(who, Who::DispatcherA | Who::DispatcherB),
        Allowed::Writers => matches!(who, Who::DispatcherA | Who::DispatcherB | Who::KeyA),
        Allowed::Driver => matches!(who, Who::DriverA1 | Who::DriverA2),
    }
}

/// Everything both organisations hold, to prove refused calls wrote nothing.
async fn snapshot(world: &World, org: &str) -> String {
    let org = doorstep_domain::OrgId::new(org).expect("id");
    let store = world.state.store.as_ref();
    let business = store.business(&org).await.expect("business");
    let plans = store.list_plans(&org, &PlanFilter::default(), None, 200).await.expect("plans").items;
    let keys = store.list_api_keys(&org).await.expect("keys");
    let fleet = format!("{:?}{:?}{:?}{:?}", business.organisation, business.depots, business.vehicles, business.drivers);
    format!("{:?}{:?}{:?}{fleet}", business.orders, plans, keys)
}

#[tokio::test]
async fn no_caller_sees_or_changes_another_organisations_data() {
    let world = World::new().await;
    let mut leaks = Vec::new();
    let mut over_reach = Vec::new();
    let mut calls = 0;
    let a_before = snapshot(&world, "org-a").await;

    // Callers outside org A, on org A's ids: they must change nothing in A.
    for who in [Who::DispatcherB, Who::Anonymous, Who::Tracking] {
        for ep in endpoints(&world, &world, false) {
            calls += 1;
            let reply = check(&world.app, ep.method.clone(), &ep.path, token(&world, who).as_deref(), &[], ep.body.as_ref().and_then(json_body)).await;
            let label = format!("{who:?} {} {}", ep.method, ep.path);
            if reply.text.contains("SECRET-A") || reply.text.contains("org-a") {
                leaks.push(format!("{label}: {}", reply.text.chars().take(200).collect::<String>()));
            }
            let expected = if who == Who::Tracking && ep.path == "/api/config" {
                // /api/config tells a client its credential is bad rather than quietly showing less.
                vec![StatusCode::UNAUTHORIZED]
            } else if !may(who, ep.allowed) {
                if matches!(who, Who::Anonymous | Who::Tracking) { vec![StatusCode::UNAUTHORIZED] } else { vec![StatusCode::FORBIDDEN] }
            } else if ep.names_an_entity {
                vec![StatusCode::NOT_FOUND]
            } else if ep.method == Method::POST && ep.path == "/api/plans" {
                vec![StatusCode::UNPROCESSABLE_ENTITY] // A's depot, vehicles and orders are not found in B
            } else {
                vec![StatusCode::OK, StatusCode::CREATED]
            };
            if !expected.contains(&reply.status) {
                over_reach.push(format!("{label}: {} not in {expected:?}: {}", reply.status, reply.text));
            }
            assert!(reply.status != StatusCode::INTERNAL_SERVER_ERROR, "{label}");
            assert!(reply.status.is_success() || reply.json["code"].is_string(), "{label}: error without the error shape");
        }
    }
    assert_eq!(snapshot(&world, "org-a").await, a_before, "org A changed by outsiders");

    // Org A's callers on org B's ids: not found, and B unchanged.
    let b_before = snapshot(&world, "org-b").await;
    for who in [Who::DispatcherA, Who::KeyA] {
        for ep in endpoints(&world, &world, true).into_iter().filter(|e| e.names_an_entity) {
            calls += 1;
            let reply = check(&world.app, ep.method.clone(), &ep.path, token(&world, who).as_deref(), &[], ep.body.as_ref().and_then(json_body)).await;
            let label = format!("{who:?} {} {}", ep.method, ep.path);
            if reply.text.contains("SECRET-B") || reply.text.contains("org-b") {
                leaks.push(label.clone());
            }
            let expected = if may(who, ep.allowed) { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
            if reply.status != expected {
                over_reach.push(format!("{label}: {} instead of {expected}: {}", reply.status, reply.text));
            }
        }
    }
    assert_eq!(snapshot(&world, "org-b").await, b_before, "org B changed by org A");

    // Org A's own callers on org A's ids: each role gets exactly its rights.
    for who in [Who::DriverA1, Who::DriverA2, Who::KeyA, Who::DispatcherA] {
        for ep in endpoints(&world, &world, false) {
            calls += 1;
            let before = snapshot(&world, "org-a").await;
            let reply = check(&world.app, ep.method.clone(), &ep.path, token(&world, who).as_deref(), &[], ep.body.as_ref().and_then(json_body)).await;
            let label = format!("{who:?} {} {}", ep.method, ep.path);
            if reply.text.contains("SECRET-B") || reply.text.contains("org-b") {
                leaks.push(label.clone());
            }
            if may(who, ep.allowed) {
                // Allowed: success, or a refusal about the data (not about who asks).
                let ok = reply.status.is_success()
                    || [StatusCode::NOT_FOUND, StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY].contains(&reply.status);
                if !ok {
                    over_reach.push(format!("{label}: allowed but got {}: {}", reply.status, reply.text));
                }
            } else {
                if reply.status != StatusCode::FORBIDDEN {
                    over_reach.push(format!("{label}: {} instead of 403: {}", reply.status, reply.text));
                }
                assert_eq!(snapshot(&world, "org-a").await, before, "{label} was refused but changed data");
            }
            // A driver sees only their own route.
            if ep.allowed == Allowed::Driver && reply.status == StatusCode::OK {
                let me = if who == Who::DriverA1 { &world.a.drivers[0].id } else { &world.a.drivers[1].id };
                if reply.json["route"]["driver_id"] != json!(me) {
                    leaks.push(format!("{label}: another driver's route"));
                }
                let others = world.a.drivers.iter().filter(|d| &d.id != me).any(|d| reply.text.contains(&format!("\"{}\"", d.id)));
                if others {
                    leaks.push(format!("{label}: names another driver"));
                }
            }
        }
    }
    println!("authorisation matrix: {calls} calls, {} leaks, {} wrong answers", leaks.len(), over_reach.len());
    assert!(leaks.is_empty(), "leaks: {leaks:#?}");
    assert!(over_reach.is_empty(), "wrong answers: {over_reach:#?}");
}
