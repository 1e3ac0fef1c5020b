//! JSON wire format: every entity round-trips, input DTOs reject unknown
//! fields, and a few field names are pinned because clients rely on them.

use doorstep_domain::api::{
    ApiError, BatchCreateOrders, ClientConfig, CreatePlanRequest, DepotPin, ErrorCode, Health,
    NewOrder, OrderEventRequest, OrderPatch, OrderQuery, Page,
};
use doorstep_domain::demo::demo_business;
use doorstep_domain::geo::LatLon;
use doorstep_domain::ids::{NotificationId, OrderId, PlanId, RouteId, StopId, TrackingToken};
use doorstep_domain::lifecycle::OrderState;
use doorstep_domain::load::Load;
use doorstep_domain::notification::{Channel, Notification, NotificationStatus, Trigger};
use doorstep_domain::order::Money;
use doorstep_domain::org::NewDriver;
use doorstep_domain::plan::{Plan, PlanStatus, Route, RouteTotals, Stop, StopKind};
use doorstep_domain::pod::{
    CashCollected, GeoTag, PaymentMethod, PhotoRef, ProofOfDelivery, Signature,
};
use doorstep_domain::tracking::{
    CustomerNote, PingBatch, TrackingPing, TrackingView, eta_window,
};
use doorstep_domain::vehicle::NewVehicle;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::macros::{date, datetime, offset};

/// Serialises, parses back, and checks the value and the JSON are unchanged.
fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(&back, value);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

fn plan() -> Plan {
    let stop = Stop {
        id: StopId::new("stop-1").unwrap(),
        order_id: OrderId::new("ord-0001").unwrap(),
        sequence: 1,
        kind: StopKind::Delivery,
        location: LatLon::new(45.7674, 4.8319),
        planned_arrival: datetime!(2024-03-15 9:12 +1),
        planned_departure: datetime!(2024-03-15 9:17 +1),
        tracking_token: Some(TrackingToken::new("q8Xv2LmN0pRt5WzY").unwrap()),
    };
    Plan {
        id: PlanId::new("plan-2024-03-15").unwrap(),
        org_id: demo().organisation.id,
        depot_id: demo().depots[0].id.clone(),
        date: date!(2024 - 03 - 15),
        status: PlanStatus::Published,
        version: 3,
        routes: vec![Route {
            id: RouteId::new("route-1").unwrap(),
            vehicle_id: demo().vehicles[0].id.clone(),
            driver_id: Some(demo().drivers[0].id.clone()),
            planned_start: datetime!(2024-03-15 8:00 +1),
            planned_end: datetime!(2024-03-15 9:40 +1),
            stops: vec![stop],
            totals: RouteTotals {
                distance_m: 8_450.5,
                duration_s: 6_000,
                driving_s: 1_500,
                service_s: 300,
                waiting_s: 0,
                max_load: Load::new(3.5, 20.0, 1.0),
                cost: 61.2,
            },
        }],
        unassigned: vec![],
        created_at: datetime!(2024-03-14 18:00 +1),
        updated_at: datetime!(2024-03-14 18:30 +1),
        published_at: Some(datetime!(2024-03-14 18:30 +1)),
    }
}

fn demo() -> doorstep_domain::demo::DemoBusiness {
    demo_business(date!(2024 - 03 - 15), offset!(+1))
}

fn ping() -> TrackingPing {
    TrackingPing {
        seq: 42,
        device_time: datetime!(2024-03-15 9:05:12.250 +1),
        lat: 45.7601,
        lon: 4.8412,
        accuracy_m: Some(6.5),
        speed_mps: Some(7.2),
        heading_deg: Some(271.0),
        battery_pct: Some(64.0),
    }
}

fn pod() -> ProofOfDelivery {
    ProofOfDelivery {
        order_id: OrderId::new("ord-0001").unwrap(),
        stop_id: Some(StopId::new("stop-1").unwrap()),
        photos: vec![PhotoRef {
            blob_key: "org-lyon-demo/pod/ord-0001/1.jpg".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            content_type: "image/jpeg".into(),
            size_bytes: 812_331,
        }],
        signature: Some(Signature {
            strokes: vec![vec![[0.1, 0.5], [0.2, 0.55], [0.3, 0.5]]],
        }),
        signature_image: None,
        recipient_name: Some("Léa Dubois".into()),
        otp_verified: true,
        barcode: Some("DST202403150001".into()),
        geotag: Some(GeoTag {
            lat: 45.7674,
            lon: 4.8319,
            accuracy_m: Some(12.0),
        }),
        device_time: datetime!(2024-03-15 9:16 +1),
        notes: Some("Remis en main propre".into()),
        cash_collected: Some(CashCollected {
            amount: Money {
                amount_minor: 2_450,
                currency: "EUR".into(),
            },
            method: PaymentMethod::Card,
        }),
    }
}

#[test]
fn every_entity_round_trips() {
    let d = demo();
    check(&d.organisation);
    check(&d.depots[0]);
    for v in &d.vehicles {
        check(v);
    }
    for driver in &d.drivers {
        check(driver);
    }
    for o in &d.orders {
        check(o);
    }
    check(&plan());
    check(&ping());
    check(&pod());
    check(&Notification {
        id: NotificationId::new("ntf-1").unwrap(),
        org_id: d.organisation.id.clone(),
        order_id: d.orders[0].id.clone(),
        trigger: Trigger::Nearby,
        channel: Channel::Sms,
        recipient: "+33 6 12 34 56 78".into(),
        status: NotificationStatus::Sent,
        attempts: 1,
        error: None,
        created_at: datetime!(2024-03-15 9:01 +1),
        sent_at: Some(datetime!(2024-03-15 9:01:02 +1)),
    });
    check(&Health {
        status: Health::OK.into(),
        version: "0.1.0".into(),
        store: "sqlite".into(),
    });
    check(&Page {
        items: d.orders[..2].to_vec(),
        next_cursor: Some("b3JkLTAwMDI".into()),
    });
    check(&ApiError::not_found("order", "ord-9"));
    check(&TrackingView {
        order_id: d.orders[0].id.clone(),
        state: OrderState::OutForDelivery,
        sender: d.organisation.name.clone(),
        driver_first_name: Some("Camille".into()),
        eta: Some(eta_window(datetime!(2024-03-15 10:13 +1), 900)),
        stops_before: Some(2),
        driver_position: Some(LatLon::new(45.7601, 4.8412)),
        destination: d.orders[0].address.location(),
        updated_at: datetime!(2024-03-15 9:58:30 +1),
        timeline: vec![doorstep_domain::tracking::TimelineStep { state: OrderState::Dispatched, at: Some(datetime!(2024-03-15 7:30 +1)) }],
        pod: None,
        customer_note: Some(CustomerNote {
            instructions: Some("Ring twice".into()),
            safe_place: None,
        }),
        can_leave_note: true,
        rating: None,
        can_rate: false,
        failure_reason: None,
    });
}

#[test]
fn order_wire_names_are_stable() {
    let o = &demo().orders[1];
    let v = serde_json::to_value(o).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "org_id",
        "external_ref",
        "kind",
        "address",
        "service_time_s",
        "time_windows",
        "demand",
        "priority",
        "required_skills",
        "recipient",
        "instructions",
        "barcode",
        "status",
        "attempts",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(v["kind"], "delivery");
    assert_eq!(v["status"], json!({"state": "created"}));
    assert_eq!(v["time_windows"][0]["start"], "2024-03-15T09:00:00+01:00");
    assert_eq!(v["created_at"], "2024-03-14T17:02:00+01:00");
    assert_eq!(v["address"]["city"], "Lyon");
    assert!(v["demand"].as_array().unwrap().len() == 3);
}

#[test]
fn vehicle_wire_uses_break_and_hh_mm_times() {
    let v = serde_json::to_value(&demo().vehicles[0]).unwrap();
    assert_eq!(v["shift"], json!({"start": "08:00", "end": "17:00"}));
    assert_eq!(
        v["break"],
        json!({"window": {"start": "12:00", "end": "14:00"}, "duration_s": 2700})
    );
    assert_eq!(v["start"], json!({"lat": 45.7345, "lon": 4.8372}));
}

#[test]
fn plan_date_is_iso_and_missing_optional_timestamps_read_as_none() {
    let mut v = serde_json::to_value(plan()).unwrap();
    assert_eq!(v["date"], "2024-03-15");
    v.as_object_mut().unwrap().remove("published_at");
    let p: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(p.published_at, None);
}

fn new_order_json() -> Value {
    json!({
        "kind": "delivery",
        "address": {"line1": "54 Rue Mercière", "postcode": "69002", "city": "Lyon", "country": "FR",
                    "lat": 45.7614, "lon": 4.8325},
        "recipient": {"name": "Léa Dubois", "phone": "06 12 34 56 78"}
    })
}

/// Adds `"surprise": 1` at `pointer` and expects parsing as `T` to fail
/// naming the field.
fn rejects_unknown<T: DeserializeOwned + std::fmt::Debug>(mut doc: Value, pointer: &str) {
    doc.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer}"))
        .insert("surprise".into(), json!(1));
    let err = serde_json::from_value::<T>(doc).expect_err("unknown field accepted");
    assert!(err.to_string().contains("surprise"), "{err}");
}

#[test]
fn minimal_new_order_parses_with_defaults() {
    let o: NewOrder = serde_json::from_value(new_order_json()).unwrap();
    assert_eq!(o.demand, Load::zero());
    assert!(o.time_windows.is_empty() && o.service_time_s.is_none() && o.pickup.is_none());
    check(&o);
}

#[test]
fn input_dtos_reject_unknown_fields_at_every_level() {
    rejects_unknown::<NewOrder>(new_order_json(), "");
    rejects_unknown::<NewOrder>(new_order_json(), "/address");
    rejects_unknown::<NewOrder>(new_order_json(), "/recipient");
    rejects_unknown::<BatchCreateOrders>(json!({"orders": [new_order_json()]}), "");
    rejects_unknown::<BatchCreateOrders>(json!({"orders": [new_order_json()]}), "/orders/0");
    rejects_unknown::<OrderPatch>(json!({"version": 1, "priority": "high"}), "");
    rejects_unknown::<OrderQuery>(json!({"state": "created"}), "");
    rejects_unknown::<OrderEventRequest>(json!({"version": 1, "event": {"event": "plan"}}), "");
    rejects_unknown::<OrderEventRequest>(
        json!({"version": 1, "event": {"event": "plan"}}),
        "/event",
    );
    rejects_unknown::<CreatePlanRequest>(json!({"depot_id": "dep-1", "date": "2024-03-15"}), "");
    rejects_unknown::<NewDriver>(json!({"name": "A", "phone": "0612345678"}), "");
    let vehicle = serde_json::to_value(&demo().vehicles[0]).unwrap();
    let mut new_vehicle = vehicle.clone();
    for k in ["id", "org_id"] {
        new_vehicle.as_object_mut().unwrap().remove(k);
    }
    serde_json::from_value::<NewVehicle>(new_vehicle.clone()).unwrap();
    rejects_unknown::<NewVehicle>(new_vehicle.clone(), "");
    rejects_unknown::<NewVehicle>(new_vehicle.clone(), "/shift");
    rejects_unknown::<NewVehicle>(new_vehicle, "/break");
    let batch = json!({"route_id": "route-1", "pings": [serde_json::to_value(ping()).unwrap()]});
    rejects_unknown::<PingBatch>(batch.clone(), "");
    rejects_unknown::<PingBatch>(batch, "/pings/0");
    let pod = serde_json::to_value(pod()).unwrap();
    rejects_unknown::<ProofOfDelivery>(pod.clone(), "");
    rejects_unknown::<ProofOfDelivery>(pod.clone(), "/photos/0");
    rejects_unknown::<ProofOfDelivery>(pod, "/cash_collected");
}

#[test]
fn patch_tells_absent_from_null() {
    let p: OrderPatch =
        serde_json::from_value(json!({"version": 4, "instructions": null, "priority": "urgent"}))
            .unwrap();
    assert_eq!(p.instructions, Some(None));
    assert_eq!(p.barcode, None);
    check(&p);
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(
        v,
        json!({"version": 4, "instructions": null, "priority": "urgent"})
    );
}

#[test]
fn api_error_shape_is_code_message_field_details() {
    let e = ApiError::version_conflict(3, 4);
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"code": "version_conflict", "message": e.message, "field": "version", "details": []})
    );
    assert_eq!(e.http_status(), 409);
    assert_eq!(e.known_code(), Some(ErrorCode::VersionConflict));
    // Codes this crate does not know still parse: newer servers may add some.
    let unknown: ApiError =
        serde_json::from_value(json!({"code": "teapot", "message": "short and stout"})).unwrap();
    assert_eq!(
        (
            unknown.code.as_str(),
            unknown.known_code(),
            unknown.http_status()
        ),
        ("teapot", None, 500)
    );
    assert!(unknown.details.is_empty() && unknown.field.is_none());
}

#[test]
fn error_codes_are_snake_case_strings_with_statuses() {
    for c in ErrorCode::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
        assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        assert!((400..600).contains(&c.http_status()), "{c:?}");
    }
    assert_eq!(ApiError::new("not_found", "x").http_status(), 404);
    assert_eq!(
        ApiError::new(ErrorCode::StoreUnavailable, "x").http_status(),
        503
    );
}

#[test]
fn client_config_defaults_fill_missing_fields() {
    let c: ClientConfig =
        serde_json::from_value(json!({"org_name": "Colis Express Lyon"})).unwrap();
    assert_eq!(c.tile_url, ClientConfig::default().tile_url);
    assert!(c.tile_url.contains("{z}"));
    assert_eq!(c.org_name.as_deref(), Some("Colis Express Lyon"));
    check(&ClientConfig {
        depots: vec![DepotPin {
            name: "Entrepôt Gerland".into(),
            lat: 45.7345,
            lon: 4.8372,
        }],
        map_center: LatLon::new(45.7345, 4.8372),
        map_zoom: 13.0,
        ..ClientConfig::default()
    });
}
