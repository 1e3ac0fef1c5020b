//! Conformance cases for the fleet and settings writes: depots, vehicles
//! and drivers created one at a time, replaced only while unchanged since
//! they were read, never across organisations. Each adapter runs
//! [`run_fleet`] (also part of `run_all`).

use std::future::Future;

use doorstep_core::ports::{Store, StoreError};
use doorstep_domain::time::{LocalWindow, TimeOfDay};
use doorstep_domain::{DepotId, DriverId, LatLon, OrgId, VehicleId};

use super::sample_business;

pub async fn run_fleet<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    created_fleet_records_read_back_and_list_after_the_imported_ones(&fresh_store().await).await;
    creating_with_a_taken_id_or_for_a_missing_organisation_writes_nothing(&fresh_store().await).await;
    updates_apply_only_while_the_record_is_unchanged(&fresh_store().await).await;
    organisation_updates_are_conditional_and_keep_it_listed(&fresh_store().await).await;
    fleet_writes_never_reach_another_organisation(&fresh_store().await).await;
}

fn ids(n: &str) -> (DepotId, VehicleId, DriverId) {
    (DepotId::new(format!("dep-{n}")).unwrap(), VehicleId::new(format!("veh-{n}")).unwrap(), DriverId::new(format!("drv-{n}")).unwrap())
}

async fn created_fleet_records_read_back_and_list_after_the_imported_ones(store: &dyn Store) {
    let case = "created_fleet_records_read_back_and_list_after_the_imported_ones";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let (dep, veh, drv) = ids("new");

    let mut depot = business.depots[0].clone();
    depot.id = dep.clone();
    depot.name = "Dépôt Vaise « nord »".into();
    depot.location = LatLon::new(45.7741, 4.8055);
    store.create_depot(&depot).await.unwrap_or_else(|e| panic!("{case}: create depot: {e}"));

    let mut vehicle = business.vehicles[0].clone();
    vehicle.id = veh.clone();
    vehicle.depot_id = Some(dep.clone());
    vehicle.skills.insert("refrigerated".into());
    vehicle.break_ = Some(doorstep_domain::vehicle::Break {
        window: LocalWindow::new(TimeOfDay::hm(12, 0), TimeOfDay::hm(13, 30)),
        duration_s: 1800,
    });
    store.create_vehicle(&vehicle).await.unwrap_or_else(|e| panic!("{case}: create vehicle: {e}"));

    let mut driver = business.drivers[0].clone();
    driver.id = drv.clone();
    driver.vehicle_id = Some(veh.clone());
    driver.email = None;
    store.create_driver(&driver).await.unwrap_or_else(|e| panic!("{case}: create driver: {e}"));

    assert_eq!(store.get_depot(org, &dep).await.expect("get depot"), depot, "{case}: depot");
    assert_eq!(store.get_vehicle(org, &veh).await.expect("get vehicle"), vehicle, "{case}: vehicle");
    assert_eq!(store.get_driver(org, &drv).await.expect("get driver"), driver, "{case}: driver");

    let depots = store.list_depots(org).await.expect("list depots");
    assert_eq!(depots.len(), business.depots.len() + 1, "{case}: depot count");
    assert_eq!(depots[..business.depots.len()], business.depots[..], "{case}: imported depots first, in order");
    assert_eq!(depots.last(), Some(&depot), "{case}: new depot last");
    let vehicles = store.list_vehicles(org).await.expect("list vehicles");
    assert_eq!(vehicles[..business.vehicles.len()], business.vehicles[..], "{case}: imported vehicles first");
    assert_eq!(vehicles.last(), Some(&vehicle), "{case}: new vehicle last");
    let drivers = store.list_drivers(org).await.expect("list drivers");
    assert_eq!(drivers.last(), Some(&driver), "{case}: new driver last");
    let whole = store.business(org).await.expect("business");
    assert_eq!(whole.vehicles.len(), business.vehicles.len() + 1, "{case}: business has the new vehicle");

    match store.get_depot(org, &DepotId::new("dep-none").unwrap()).await {
        Err(StoreError::NotFound { kind: "depot", .. }) => {}
        other => panic!("{case}: missing depot gave {other:?}"),
    }
    match store.get_vehicle(org, &VehicleId::new("veh-none").unwrap()).await {
        Err(StoreError::NotFound { kind: "vehicle", .. }) => {}
        other => panic!("{case}: missing vehicle gave {other:?}"),
    }
}

async fn creating_with_a_taken_id_or_for_a_missing_organisation_writes_nothing(store: &dyn Store) {
    let case = "creating_with_a_taken_id_or_for_a_missing_organisation_writes_nothing";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;

    let mut clash = business.vehicles[1].clone();
    clash.name = "Imposter".into();
    match store.create_vehicle(&clash).await {
        Err(StoreError::AlreadyExists { kind: "vehicle", .. }) => {}
        other => panic!("{case}: taken vehicle id gave {other:?}"),
    }
    let mut clash = business.depots[0].clone();
    clash.name = "Imposter".into();
    assert!(matches!(store.create_depot(&clash).await, Err(StoreError::AlreadyExists { kind: "depot", .. })), "{case}: taken depot id");
    let mut clash = business.drivers[0].clone();
    clash.name = "Imposter".into();
    assert!(matches!(store.create_driver(&clash).await, Err(StoreError::AlreadyExists { kind: "driver", .. })), "{case}: taken driver id");
    assert_eq!(store.business(org).await.expect("business"), business, "{case}: nothing changed");

    let ghost = OrgId::new("org-ghost").unwrap();
    let (dep, veh, drv) = ids("ghost");
    let mut depot = business.depots[0].clone();
    depot.id = dep;
    depot.org_id = ghost.clone();
    let mut vehicle = business.vehicles[0].clone();
    vehicle.id = veh;
    vehicle.org_id = ghost.clone();
    let mut driver = business.drivers[0].clone();
    driver.id = drv;
    driver.org_id = ghost.clone();
    for result in [store.create_depot(&depot).await, store.create_vehicle(&vehicle).await, store.create_driver(&driver).await] {
        match result {
            Err(StoreError::NotFound { kind: "organisation", .. }) => {}
            other => panic!("{case}: missing organisation gave {other:?}"),
        }
    }
    assert!(store.list_depots(&ghost).await.expect("list").is_empty(), "{case}: no ghost depots");
    assert!(store.list_vehicles(&ghost).await.expect("list").is_empty(), "{case}: no ghost vehicles");
    assert!(store.list_drivers(&ghost).await.expect("list").is_empty(), "{case}: no ghost drivers");
}

async fn updates_apply_only_while_the_record_is_unchanged(store: &dyn Store) {
    let case = "updates_apply_only_while_the_record_is_unchanged";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;

    let before = business.vehicles[0].clone();
    let mut first = before.clone();
    first.shift = LocalWindow::new(TimeOfDay::hm(7, 0), TimeOfDay::hm(15, 0));
    first.active = false;
    store.update_vehicle(&first, &before).await.unwrap_or_else(|e| panic!("{case}: first update: {e}"));
    // A second writer that read `before` too must not overwrite the first.
    let mut second = before.clone();
    second.name = "Stale write".into();
    match store.update_vehicle(&second, &before).await {
        Err(StoreError::VersionConflict { kind: "vehicle", .. }) => {}
        other => panic!("{case}: stale vehicle update gave {other:?}"),
    }
    assert_eq!(store.get_vehicle(org, &before.id).await.expect("get"), first, "{case}: first write kept");
    let vehicles = store.list_vehicles(org).await.expect("list");
    assert_eq!(vehicles.iter().position(|v| v.id == before.id), Some(0), "{case}: an update keeps the list position");
    assert!(vehicles.iter().any(|v| v.id == before.id && !v.active), "{case}: deactivated vehicle still listed");

    let depot = business.depots[0].clone();
    let mut moved = depot.clone();
    moved.location = LatLon::new(45.75, 4.85);
    store.update_depot(&moved, &depot).await.unwrap_or_else(|e| panic!("{case}: depot update: {e}"));
    assert!(matches!(store.update_depot(&depot, &depot).await, Err(StoreError::VersionConflict { kind: "depot", .. })), "{case}: stale depot");
    assert_eq!(store.get_depot(org, &depot.id).await.expect("get"), moved, "{case}: depot moved");

    let driver = business.drivers[0].clone();
    let mut renamed = driver.clone();
    renamed.phone = "+33 6 00 00 00 01".into();
    renamed.vehicle_id = None;
    store.update_driver(&renamed, &driver).await.unwrap_or_else(|e| panic!("{case}: driver update: {e}"));
    assert!(matches!(store.update_driver(&driver, &driver).await, Err(StoreError::VersionConflict { kind: "driver", .. })), "{case}: stale driver");
    assert_eq!(store.get_driver(org, &driver.id).await.expect("get"), renamed, "{case}: driver changed");

    let mut missing = driver.clone();
    missing.id = DriverId::new("drv-none").unwrap();
    match store.update_driver(&missing, &missing).await {
        Err(StoreError::NotFound { kind: "driver", .. }) => {}
        other => panic!("{case}: missing driver update gave {other:?}"),
    }
}

async fn organisation_updates_are_conditional_and_keep_it_listed(store: &dyn Store) {
    let case = "organisation_updates_are_conditional_and_keep_it_listed";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let before = business.organisation.clone();
    let mut next = before.clone();
    next.default_service_time_s = 420;
    next.settings.tile_url = "https://tiles.example.com/{z}/{x}/{y}.png".into();
    next.settings.osrm_table_url = Some("https://osrm.example.com/table/v1/driving/".into());
    store.update_organisation(&next, &before).await.unwrap_or_else(|e| panic!("{case}: update: {e}"));
    let mut stale = before.clone();
    stale.name = "Stale".into();
    match store.update_organisation(&stale, &before).await {
        Err(StoreError::VersionConflict { kind: "organisation", .. }) => {}
        other => panic!("{case}: stale organisation update gave {other:?}"),
    }
    assert_eq!(store.organisation(&before.id).await.expect("read"), next, "{case}: first write kept");
    assert_eq!(store.list_organisations().await.expect("list"), vec![next.clone()], "{case}: still listed once");
    let mut ghost = next.clone();
    ghost.id = OrgId::new("org-ghost").unwrap();
    match store.update_organisation(&ghost, &ghost).await {
        Err(StoreError::NotFound { kind: "organisation", .. }) => {}
        other => panic!("{case}: missing organisation gave {other:?}"),
    }
}

async fn fleet_writes_never_reach_another_organisation(store: &dyn Store) {
    let case = "fleet_writes_never_reach_another_organisation";
    let a = sample_business("org-a");
    let b = sample_business("org-b");
    store.import_business(&a).await.expect("import a");
    store.import_business(&b).await.expect("import b");
    // Same ids in both (the demo's); org b's writes must touch only org b.
    let mut vehicle = b.vehicles[0].clone();
    vehicle.name = "B's van".into();
    store.update_vehicle(&vehicle, &b.vehicles[0]).await.expect("update b's vehicle");
    let mut depot = b.depots[0].clone();
    depot.name = "B's depot".into();
    store.update_depot(&depot, &b.depots[0]).await.expect("update b's depot");
    let mut driver = b.drivers[0].clone();
    driver.name = "B's driver".into();
    store.update_driver(&driver, &b.drivers[0]).await.expect("update b's driver");
    let (dep, _, _) = ids("b-only");
    let mut extra = b.depots[0].clone();
    extra.id = dep.clone();
    store.create_depot(&extra).await.expect("create b's depot");

    assert_eq!(store.business(&a.organisation.id).await.expect("read a"), a, "{case}: org a unchanged");
    assert!(matches!(store.get_depot(&a.organisation.id, &dep).await, Err(StoreError::NotFound { .. })), "{case}: a cannot read b's depot");
    assert_eq!(store.get_vehicle(&b.organisation.id, &vehicle.id).await.expect("read b"), vehicle, "{case}: b changed");
}
