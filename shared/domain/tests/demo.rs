//! The Lyon demo business: valid, deterministic, spread over Lyon, and
//! shaped like a real day's work.

use std::collections::BTreeSet;

use doorstep_domain::demo::{DemoBusiness, LYON_BOUNDS, demo_business};
use doorstep_domain::lifecycle::OrderState;
use doorstep_domain::time::TimeOfDay;
use doorstep_domain::validation::{Validate, is_plausible_phone};
use time::macros::{date, offset};
use time::{Date, UtcOffset};

const DAY: Date = date!(2024 - 06 - 12);
const PARIS_SUMMER: UtcOffset = offset!(+2);

fn demo() -> DemoBusiness {
    demo_business(DAY, PARIS_SUMMER)
}

/// Fails with every problem of every demo entity.
fn check(d: &DemoBusiness) {
    let mut problems = Vec::new();
    let mut add = |what: String, r: Result<(), doorstep_domain::validation::ValidationErrors>| {
        if let Err(e) = r {
            problems.push(format!("{what}: {e}"));
        }
    };
    add("organisation".into(), d.organisation.validate());
    for dep in &d.depots {
        add(format!("depot {}", dep.id), dep.validate());
    }
    for v in &d.vehicles {
        add(format!("vehicle {}", v.id), v.validate());
    }
    for dr in &d.drivers {
        add(format!("driver {}", dr.id), dr.validate());
    }
    for o in &d.orders {
        add(format!("order {}", o.id), o.validate_for_planning());
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_demo_entity_is_valid_and_plannable() {
    check(&demo());
    check(&demo_business(date!(2024 - 12 - 31), offset!(+1)));
}

#[test]
fn demo_is_deterministic() {
    assert_eq!(demo(), demo());
    assert_eq!(
        serde_json::to_string(&demo().orders).unwrap(),
        serde_json::to_string(&demo().orders).unwrap()
    );
}

#[test]
fn has_one_depot_four_drivers_with_vehicles_and_about_eighty_orders() {
    let d = demo();
    assert_eq!(d.drivers.len(), 4);
    assert_eq!(d.vehicles.len(), 4);
    assert!((75..=90).contains(&d.orders.len()), "{}", d.orders.len());
    let vehicle_ids: BTreeSet<_> = d.vehicles.iter().map(|v| &v.id).collect();
    for dr in &d.drivers {
        assert!(
            vehicle_ids.contains(dr.vehicle_id.as_ref().unwrap()),
            "{}",
            dr.id
        );
    }
    assert_eq!(d.vehicles.iter().filter(|v| v.break_.is_some()).count(), 1);
    for v in &d.vehicles {
        assert!(
            v.shift.start >= TimeOfDay::hm(7, 0) && v.shift.end <= TimeOfDay::hm(19, 0),
            "{}",
            v.id
        );
        assert!(v.shift.duration_s() >= 7 * 3600, "{}", v.id);
    }
    let ids: BTreeSet<_> = d.orders.iter().map(|o| &o.id).collect();
    assert_eq!(ids.len(), d.orders.len(), "order ids are unique");
    let barcodes: BTreeSet<_> = d
        .orders
        .iter()
        .map(|o| o.barcode.clone().unwrap())
        .collect();
    assert_eq!(barcodes.len(), d.orders.len(), "barcodes are unique");
}

#[test]
fn everything_lies_in_lyon_and_covers_all_nine_arrondissements() {
    let d = demo();
    assert_eq!(d.depots.len(), 1);
    assert!(LYON_BOUNDS.contains(d.depots[0].location));
    assert_eq!(d.depots[0].address.location(), Some(d.depots[0].location));
    let mut postcodes = BTreeSet::new();
    for o in &d.orders {
        let p = o.address.location().unwrap();
        assert!(LYON_BOUNDS.contains(p), "{} at {p:?}", o.address.one_line());
        assert_eq!(o.address.city, "Lyon");
        postcodes.insert(o.address.postcode.clone());
    }
    let all: BTreeSet<String> = (1..=9).map(|n| format!("6900{n}")).collect();
    assert_eq!(postcodes, all);
    let addresses: BTreeSet<_> = d.orders.iter().map(|o| o.address.line1.clone()).collect();
    assert_eq!(addresses.len(), d.orders.len(), "no address repeats");
}

#[test]
fn orders_have_realistic_contents() {
    let d = demo();
    for o in &d.orders {
        let s = o.service_time_s.unwrap();
        assert!((180..=480).contains(&s), "{} service {s}", o.id);
        assert!(is_plausible_phone(o.recipient.phone.as_deref().unwrap()));
        assert!(o.recipient.phone.as_deref().unwrap().starts_with("+33 "));
        if let Some(e) = &o.recipient.email {
            assert!(e.ends_with("@example.com") && e.is_ascii(), "{e}");
        }
        assert_eq!(o.state(), OrderState::Created);
        assert!(o.created_at < DAY.midnight().assume_offset(PARIS_SUMMER));
    }
    assert!(d.orders.iter().any(|o| o.instructions.is_some()));
    assert!(d.orders.iter().any(|o| o.instructions.is_none()));
    // Every required skill exists on some vehicle, and every order fits some vehicle.
    for o in &d.orders {
        assert!(
            d.vehicles
                .iter()
                .any(|v| v.has_skills(&o.required_skills) && o.demand.fits_in(&v.capacity)),
            "{} cannot be served",
            o.id
        );
    }
    let total = d
        .orders
        .iter()
        .fold(doorstep_domain::load::Load::zero(), |acc, o| {
            acc.plus(&o.demand)
        });
    let fleet = d
        .vehicles
        .iter()
        .fold(doorstep_domain::load::Load::zero(), |acc, v| {
            acc.plus(&v.capacity)
        });
    assert!(total.fits_in(&fleet), "{total:?} > {fleet:?}");
}

#[test]
fn time_windows_mix_none_morning_afternoon_and_two_hour_slots_on_the_day() {
    let d = demo();
    let hm = |t: time::OffsetDateTime| (t.hour(), t.minute());
    let mut kinds = BTreeSet::new();
    for o in &d.orders {
        match o.time_windows.as_slice() {
            [] => {
                kinds.insert("none");
            }
            [w] => {
                assert_eq!(w.start.date(), DAY);
                assert_eq!(w.start.offset(), PARIS_SUMMER);
                let kind = match (hm(w.start), hm(w.end)) {
                    ((9, 0), (12, 0)) => "morning",
                    ((13, 0), (17, 0)) => "afternoon",
                    ((s, 0), (e, 0)) if e == s + 2 && (9..=15).contains(&s) => "slot",
                    other => panic!("unexpected window {other:?} on {}", o.id),
                };
                kinds.insert(kind);
            }
            many => panic!("{} has {} windows", o.id, many.len()),
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["none", "morning", "afternoon", "slot"])
    );
}
