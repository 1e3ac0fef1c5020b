//! Reports over HTTP: metrics as JSON, tables as CSV, for dispatchers of the
//! organisation only, with clear errors for a bad range or table.

mod common;

use axum::http::{Method, StatusCode};
use common::{World, check};
use doorstep_core::usecases::reports::record;
use doorstep_domain::reports::{DeliveryEvent, ReportPolicy};
use doorstep_domain::time::TimeWindow;
use doorstep_domain::{FailureReason, OrderId, OrgId, RouteId, VehicleId};
use time::macros::{date, datetime};

/// Org A's first driver: one route, one on-time delivery and one failure.
async fn a_day_in_org_a(world: &World) {
    let org = OrgId::new("org-a").expect("org");
    let driver = world.a.drivers[0].id.clone();
    let route = RouteId::new("rte-a1").expect("route");
    let events = [
        DeliveryEvent::RouteStarted {
            route_id: route.clone(),
            vehicle_id: VehicleId::new("a-veh-kangoo-1").expect("vehicle"),
            at: datetime!(2026-11-23 8:00 +1),
            planned_distance_m: 12_000.0,
            planned_duration_s: 3 * 3600,
            stops: vec![],
            cost_per_km: 0.5,
            cost_per_hour: 20.0,
            fixed_cost: 10.0,
            co2_g_per_km: Some(10.0),
        },
        DeliveryEvent::Delivered {
            order_id: OrderId::new("ord-1").expect("order"),
            route_id: route.clone(),
            attempt: 0,
            at: datetime!(2026-11-23 9:00 +1),
            window: Some(TimeWindow::new(datetime!(2026-11-23 8:30 +1), datetime!(2026-11-23 9:30 +1))),
            cod_due: None,
            cod_collected: None,
        },
        DeliveryEvent::Failed {
            order_id: OrderId::new("ord-2").expect("order"),
            route_id: route,
            attempt: 0,
            at: datetime!(2026-11-23 10:00 +1),
            reason: FailureReason::RecipientAbsent,
            reattempt: true,
        },
        DeliveryEvent::Rated { order_id: OrderId::new("ord-1").expect("order"), stars: 5 },
    ];
    let store = world.state.reports.as_ref();
    record(store, &org, &driver, date!(2026 - 11 - 23), &events, &ReportPolicy::default()).await.expect("record");
    // Recording the same events again changes nothing.
    record(store, &org, &driver, date!(2026 - 11 - 23), &events, &ReportPolicy::default()).await.expect("record again");
}

#[tokio::test]
async fn a_dispatcher_reads_the_days_metrics() {
    let world = World::new().await;
    a_day_in_org_a(&world).await;
    let reply = check(&world.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let r = &reply.json;
    assert_eq!((r["delivered"].as_u64(), r["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(r["on_time"]["numerator"], 1);
    assert_eq!(r["first_attempt_success"]["denominator"], 2);
    assert_eq!(r["rating_count"], 1);
    // 10 + 0.5 × 12 km (no pings: planned) + 20 × 2 h (start to last stop), over 1 delivery
    assert_eq!(r["cost_per_delivery"].as_f64(), Some(56.0));
    assert_eq!(r["failure_reasons"][0][0], "recipient_absent");
}

#[tokio::test]
async fn each_table_downloads_as_csv() {
    let world = World::new().await;
    a_day_in_org_a(&world).await;
    let reply =
        check(&world.app, Method::GET, "/api/reports/export/routes?from=2026-11-23&to=2026-11-23", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    assert!(reply.headers["content-disposition"].to_str().expect("ascii").contains("doorstep-routes-2026-11-23-2026-11-23.csv"));
    let lines: Vec<&str> = reply.text.lines().collect();
    assert!(lines[0].starts_with("route_id,driver_id,date"), "{}", reply.text);
    assert!(lines[1].starts_with("rte-a1,a-drv-camille,2026-11-23,a-veh-kangoo-1,1,1,12.00,,180.0,120.0,56.00,0.120"), "{}", reply.text);

    let unknown =
        check(&world.app, Method::GET, "/api/reports/export/everything?from=2026-11-23&to=2026-11-23", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.text);
    assert_eq!(unknown.json["field"], "table");
    assert!(unknown.json["message"].as_str().expect("message").contains("shifts, routes"), "{}", unknown.text);
}

#[tokio::test]
async fn reports_stay_in_their_organisation_and_need_a_dispatcher() {
    let world = World::new().await;
    a_day_in_org_a(&world).await;
    let other = check(&world.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", Some(&world.dispatcher_b), &[], None).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    assert_eq!(other.json["delivered"], 0, "org B sees none of org A's deliveries");
    let driver = check(&world.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", Some(&world.driver_a1), &[], None).await;
    assert_eq!(driver.status, StatusCode::FORBIDDEN, "{}", driver.text);
    let anonymous = check(&world.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-23", None, &[], None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_backwards_or_too_long_range_is_refused_naming_the_field() {
    let world = World::new().await;
    let backwards = check(&world.app, Method::GET, "/api/reports?from=2026-11-23&to=2026-11-01", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", backwards.text);
    assert_eq!(backwards.json["details"][0]["path"], "to");
    let long = check(&world.app, Method::GET, "/api/reports?from=2024-01-01&to=2026-11-01", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", long.text);
    assert!(long.json["details"][0]["message"].as_str().expect("message").contains("at most 366 days"), "{}", long.text);
    let garbled = check(&world.app, Method::GET, "/api/reports?from=yesterday&to=2026-11-01", Some(&world.dispatcher_a), &[], None).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST, "{}", garbled.text);
}
