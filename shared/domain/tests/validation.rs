//! Validation reports every problem with its path, for single objects,
//! nested objects and batches.

use doorstep_domain::api::{
    BatchCreateOrders, CreatePlanRequest, NewOrder, OrderPatch, OrderQuery,
};
use doorstep_domain::demo::demo_business;
use doorstep_domain::ids::{DepotId, OrderId};
use doorstep_domain::lifecycle::{FailureReason, OrderEvent, OrderState};
use doorstep_domain::order::{Order, PatchError};
use doorstep_domain::pod::ProofOfDelivery;
use doorstep_domain::validation::{Validate, ValidationErrors, codes, validate_batch};
use serde_json::{Value, json};
use time::macros::{date, datetime, offset};

fn new_order(v: Value) -> NewOrder {
    serde_json::from_value(v).unwrap()
}

fn valid() -> Value {
    json!({
        "kind": "delivery",
        "address": {"line1": "54 Rue Mercière", "postcode": "69002", "city": "Lyon", "country": "FR",
                    "lat": 45.7614, "lon": 4.8325},
        "service_time_s": 300,
        "time_windows": [{"start": "2024-03-15T09:00:00+01:00", "end": "2024-03-15T12:00:00+01:00"}],
        "demand": [2.5, 10, 1],
        "recipient": {"name": "Léa Dubois", "phone": "+33 6 12 34 56 78", "email": "lea@example.com"},
        "barcode": "DST1"
    })
}

/// Validates and returns (path, code) pairs in the order found.
fn check(v: &impl Validate) -> Vec<(String, String)> {
    match v.validate() {
        Ok(()) => Vec::new(),
        Err(ValidationErrors(errs)) => errs.into_iter().map(|e| (e.path, e.code)).collect(),
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn valid_order_passes() {
    assert_eq!(check(&new_order(valid())), []);
}

#[test]
fn bad_order_reports_every_problem_with_its_path() {
    let o = new_order(json!({
        "kind": "delivery",
        "external_ref": "",
        "address": {"line1": " ", "postcode": "69002", "city": "", "country": "France",
                    "lat": 95.0, "lon": -181.0},
        "service_time_s": 99999,
        "time_windows": [
            {"start": "2024-03-15T09:00:00+01:00", "end": "2024-03-15T12:00:00+01:00"},
            {"start": "2024-03-15T14:00:00+01:00", "end": "2024-03-15T13:00:00+01:00"}
        ],
        "pickup": {"address": {"line1": "1 Rue X", "postcode": "69001", "city": "Lyon", "country": "FR"}},
        "demand": [1, -2],
        "required_skills": ["Tail Lift"],
        "recipient": {"name": "", "phone": "12", "email": "no-at-sign"},
        "instructions": "",
        "barcode": "has space",
        "cash_on_delivery": {"amount_minor": 1500, "currency": "euro"}
    }));
    assert_eq!(
        check(&o),
        pairs(&[
            ("external_ref", codes::BLANK),
            ("address.line1", codes::REQUIRED),
            ("address.city", codes::REQUIRED),
            ("address.country", codes::INVALID_FORMAT),
            ("address.lat", codes::OUT_OF_RANGE),
            ("address.lon", codes::OUT_OF_RANGE),
            ("service_time_s", codes::OUT_OF_RANGE),
            ("time_windows[1].end", codes::WINDOW_ENDS_BEFORE_START),
            ("pickup", codes::NOT_ALLOWED),
            ("demand", codes::DIMENSION_MISMATCH),
            ("demand[1]", codes::NEGATIVE),
            ("required_skills", codes::INVALID_FORMAT),
            ("recipient.name", codes::REQUIRED),
            ("recipient.phone", codes::INVALID_PHONE),
            ("recipient.email", codes::INVALID_EMAIL),
            ("instructions", codes::BLANK),
            ("barcode", codes::INVALID_FORMAT),
            ("cash_on_delivery.currency", codes::INVALID_FORMAT),
        ])
    );
}

#[test]
fn pickup_and_delivery_needs_a_valid_pickup_leg() {
    let mut v = valid();
    v["kind"] = json!("pickup_and_delivery");
    assert_eq!(
        check(&new_order(v.clone())),
        pairs(&[("pickup", codes::REQUIRED)])
    );
    v["pickup"] = json!({
        "address": {"line1": "1 Rue X", "postcode": "69001", "city": "Lyon", "country": "FR", "lat": 45.0},
        "time_windows": [
            {"start": "2024-03-15T08:00:00+01:00", "end": "2024-03-15T10:00:00+01:00"},
            {"start": "2024-03-15T09:00:00+01:00", "end": "2024-03-15T11:00:00+01:00"}
        ]
    });
    assert_eq!(
        check(&new_order(v)),
        pairs(&[
            ("pickup.address.lon", codes::LAT_LON_INCOMPLETE),
            ("pickup.time_windows[1]", codes::WINDOWS_OVERLAP),
        ])
    );
}

#[test]
fn batch_paths_include_the_index() {
    let mut bad_lat = valid();
    bad_lat["address"]["lat"] = json!(-100.0);
    let mut bad_email = valid();
    bad_email["recipient"]["email"] = json!("x@y");
    let orders = vec![
        new_order(valid()),
        new_order(valid()),
        new_order(valid()),
        new_order(bad_lat),
        new_order(bad_email),
    ];
    let errs = validate_batch("orders", &orders).unwrap_err();
    assert_eq!(
        errs.paths(),
        ["orders[3].address.lat", "orders[4].recipient.email"]
    );
    let batch = BatchCreateOrders { orders };
    assert_eq!(batch.validate().unwrap_err(), errs);
    assert!(
        BatchCreateOrders { orders: vec![] }
            .validate()
            .unwrap_err()
            .has("orders", codes::REQUIRED)
    );
}

#[test]
fn planning_requires_geocoded_addresses() {
    let mut v = valid();
    v["address"].as_object_mut().unwrap().remove("lat");
    v["address"].as_object_mut().unwrap().remove("lon");
    let new = new_order(v);
    assert_eq!(check(&new), [], "ungeocoded orders may be created");
    let order = Order::from_new(
        OrderId::new("o1").unwrap(),
        demo_business(date!(2024 - 03 - 15), offset!(+1))
            .organisation
            .id,
        new,
        datetime!(2024-03-14 18:00 +1),
    );
    let errs = order.validate_for_planning().unwrap_err();
    assert_eq!(errs.paths(), ["address.lat", "address.lon"]);
    assert!(errs.has("address.lat", codes::LOCATION_REQUIRED));
}

fn stored_order() -> Order {
    demo_business(date!(2024 - 03 - 15), offset!(+1)).orders[0].clone()
}

#[test]
fn patch_applies_changes_bumps_version_and_validates_result() {
    let mut o = stored_order();
    let patch: OrderPatch = serde_json::from_value(
        json!({"version": 1, "priority": "urgent", "instructions": null, "service_time_s": 600}),
    )
    .unwrap();
    let at = datetime!(2024-03-15 7:00 +1);
    o.apply_patch(&patch, at).unwrap();
    assert_eq!(
        (o.version, o.updated_at, o.service_time_s),
        (2, at, Some(600))
    );
    assert_eq!(o.instructions, None);

    // Stale version.
    assert_eq!(
        o.apply_patch(&patch, at),
        Err(PatchError::VersionConflict {
            expected: 1,
            actual: 2
        })
    );
    // Cross-field rule checked on the result; the order is left untouched.
    let before = o.clone();
    let to_pair: OrderPatch =
        serde_json::from_value(json!({"version": 2, "kind": "pickup_and_delivery"})).unwrap();
    match o.apply_patch(&to_pair, at) {
        Err(PatchError::Invalid(e)) => assert_eq!(e.paths(), ["pickup"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(o, before);
    // Empty patch.
    let empty = OrderPatch {
        version: 2,
        ..OrderPatch::default()
    };
    assert!(empty.validate().unwrap_err().has("", codes::EMPTY_PATCH));
}

#[test]
fn patch_is_refused_once_dispatched() {
    let mut o = stored_order();
    let at = datetime!(2024-03-15 7:00 +1);
    o.apply(&OrderEvent::Plan, at).unwrap();
    o.apply(&OrderEvent::Dispatch, at).unwrap();
    assert_eq!(o.version, 3);
    let patch = OrderPatch {
        version: 3,
        priority: Some(Default::default()),
        ..OrderPatch::default()
    };
    assert_eq!(
        o.apply_patch(&patch, at),
        Err(PatchError::NotEditable {
            state: OrderState::Dispatched
        })
    );
}

#[test]
fn apply_counts_failed_attempts_and_leaves_order_alone_on_illegal_events() {
    let mut o = stored_order();
    let at = datetime!(2024-03-15 10:00 +1);
    for e in [OrderEvent::Plan, OrderEvent::Dispatch, OrderEvent::Start] {
        o.apply(&e, at).unwrap();
    }
    o.apply(
        &OrderEvent::Fail {
            reason: FailureReason::RecipientAbsent,
            note: None,
        },
        at,
    )
    .unwrap();
    o.apply(&OrderEvent::Reattempt, at).unwrap();
    assert_eq!(
        (o.state(), o.attempts, o.version),
        (OrderState::Created, 1, 6)
    );
    let before = o.clone();
    assert!(o.apply(&OrderEvent::Deliver, at).is_err());
    assert_eq!(o, before);
}

#[test]
fn query_and_plan_request_limits() {
    let q = OrderQuery {
        limit: Some(0),
        q: Some(" ".into()),
        ..OrderQuery::default()
    };
    assert_eq!(
        check(&q),
        pairs(&[("limit", codes::OUT_OF_RANGE), ("q", codes::BLANK)])
    );
    assert_eq!(
        OrderQuery {
            limit: Some(1000),
            ..OrderQuery::default()
        }
        .limit_or_default(),
        200
    );
    let id = OrderId::new("o1").unwrap();
    let r = CreatePlanRequest {
        depot_id: DepotId::new("d").unwrap(),
        date: date!(2024 - 03 - 15),
        vehicle_ids: vec![],
        order_ids: vec![id.clone(), OrderId::new("o2").unwrap(), id],
        time_limit_s: Some(0),
    };
    assert_eq!(
        check(&r),
        pairs(&[
            ("order_ids[2]", codes::DUPLICATE),
            ("time_limit_s", codes::OUT_OF_RANGE)
        ])
    );
}

#[test]
fn query_filters_match_orders() {
    let orders = demo_business(date!(2024 - 03 - 15), offset!(+1)).orders;
    let count = |q: OrderQuery| orders.iter().filter(|o| q.matches(o)).count();
    assert_eq!(count(OrderQuery::default()), orders.len());
    assert_eq!(
        count(OrderQuery {
            state: Some(OrderState::Delivered),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        count(OrderQuery {
            q: Some("dst202403150007".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(OrderQuery {
            date: Some(date!(2024 - 03 - 15)),
            ..Default::default()
        }),
        orders.len()
    );
    let with_windows = orders.iter().filter(|o| !o.time_windows.is_empty()).count();
    assert_eq!(
        count(OrderQuery {
            date: Some(date!(2024 - 03 - 16)),
            ..Default::default()
        }),
        orders.len() - with_windows
    );
}

#[test]
fn proof_of_delivery_needs_evidence_and_well_formed_parts() {
    let pod: ProofOfDelivery = serde_json::from_value(json!({
        "order_id": "ord-0001",
        "photos": [{"blob_key": "k", "sha256": "ABC", "content_type": "image/gif", "size_bytes": 0}],
        "signature": {"strokes": [[[0.1, 0.2], [1.5, 0.2]]]},
        "geotag": {"lat": 45.76, "lon": 190.0},
        "device_time": "2024-03-15T10:00:00+01:00"
    }))
    .unwrap();
    assert_eq!(
        check(&pod),
        pairs(&[
            ("photos[0].sha256", codes::INVALID_FORMAT),
            ("photos[0].content_type", codes::NOT_ALLOWED),
            ("photos[0].size_bytes", codes::OUT_OF_RANGE),
            ("signature.strokes[0][1]", codes::OUT_OF_RANGE),
            ("geotag.lon", codes::OUT_OF_RANGE),
        ])
    );
    let bare: ProofOfDelivery = serde_json::from_value(
        json!({"order_id": "ord-0001", "device_time": "2024-03-15T10:00:00+01:00"}),
    )
    .unwrap();
    assert_eq!(check(&bare), pairs(&[("", codes::NO_EVIDENCE)]));
}

#[test]
fn proof_is_checked_against_its_order() {
    let order = demo_business(date!(2024 - 03 - 15), offset!(+1))
        .orders
        .into_iter()
        .find(|o| o.cash_on_delivery.is_some())
        .unwrap();
    let pod: ProofOfDelivery = serde_json::from_value(json!({
        "order_id": order.id,
        "barcode": "WRONG",
        "device_time": "2024-03-15T10:00:00+01:00"
    }))
    .unwrap();
    let errs = pod.check_against(&order).unwrap_err();
    assert_eq!(errs.paths(), ["barcode", "cash_collected"]);
}

#[test]
fn api_error_from_validation_carries_all_details() {
    let mut v = valid();
    v["address"]["lat"] = json!(100.0);
    let one = doorstep_domain::api::ApiError::from(new_order(v.clone()).validate().unwrap_err());
    assert_eq!(one.field.as_deref(), Some("address.lat"));
    assert_eq!(one.http_status(), 422);
    v["recipient"]["name"] = json!("");
    let two = doorstep_domain::api::ApiError::from(new_order(v).validate().unwrap_err());
    assert_eq!(two.field, None);
    assert_eq!(two.details.len(), 2);
}
