//! Conformance cases for the report aggregates (`ReportStore`). Each adapter
//! runs [`run_reports`] in its tests.

use std::future::Future;

use doorstep_core::ports::{ReportStore, Store, StoreError};
use doorstep_domain::reports::{DeliveryEvent, DriverDay, ReportPolicy};
use doorstep_domain::{DriverId, OrderId, OrgId, RouteId};
use time::macros::{date, datetime};

use super::sample_business;

pub async fn run_reports<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + ReportStore,
{
    a_day_is_created_once_and_then_replaced_by_version(&fresh_store().await).await;
    a_stale_version_is_refused_and_changes_nothing(&fresh_store().await).await;
    days_list_by_date_range_and_stay_in_their_organisation(&fresh_store().await).await;
}

fn driver(id: &str) -> DriverId {
    DriverId::new(id).expect("driver id")
}

fn day_with_delivery(driver_id: &str, date: time::Date, order: &str) -> DriverDay {
    let mut day = DriverDay::new(driver(driver_id), date);
    day.apply(
        &DeliveryEvent::Delivered {
            order_id: OrderId::new(order).expect("order id"),
            route_id: RouteId::new("rte-1").expect("route id"),
            attempt: 0,
            at: datetime!(2026-11-23 10:00 +1),
            window: None,
            cod_due: None,
            cod_collected: None,
        },
        &ReportPolicy::default(),
    );
    day
}

async fn imported<S: Store>(store: &S, org_id: &str) -> OrgId {
    let business = sample_business(org_id);
    store.import_business(&business).await.expect("import");
    business.organisation.id
}

async fn a_day_is_created_once_and_then_replaced_by_version<S: Store + ReportStore>(store: &S) {
    let org = imported(store, "org-a").await;
    let d = date!(2026 - 11 - 23);
    assert_eq!(store.driver_day(&org, &driver("drv-camille"), d).await.expect("read"), None);
    let first = day_with_delivery("drv-camille", d, "ord-1");
    store.put_driver_day(&org, &first, 0).await.expect("create");
    let error = store.put_driver_day(&org, &first, 0).await.expect_err("created twice");
    assert!(
        matches!(error, StoreError::VersionConflict { kind: "report day", expected: 0, actual: 1, .. }),
        "a_day_is_created_once_and_then_replaced_by_version: {error:?}"
    );
    let read = store.driver_day(&org, &driver("drv-camille"), d).await.expect("read").expect("stored");
    assert_eq!((read.day.clone(), read.version), (first, 1));
    let second = day_with_delivery("drv-camille", d, "ord-2");
    store.put_driver_day(&org, &second, 1).await.expect("replace");
    let read = store.driver_day(&org, &driver("drv-camille"), d).await.expect("read").expect("stored");
    assert_eq!((read.day, read.version), (second, 2));
}

async fn a_stale_version_is_refused_and_changes_nothing<S: Store + ReportStore>(store: &S) {
    let org = imported(store, "org-a").await;
    let d = date!(2026 - 11 - 23);
    let first = day_with_delivery("drv-karim", d, "ord-1");
    store.put_driver_day(&org, &first, 0).await.expect("create");
    store.put_driver_day(&org, &day_with_delivery("drv-karim", d, "ord-2"), 1).await.expect("replace");
    let error = store.put_driver_day(&org, &day_with_delivery("drv-karim", d, "ord-3"), 1).await.expect_err("stale");
    assert!(
        matches!(error, StoreError::VersionConflict { kind: "report day", expected: 1, actual: 2, .. }),
        "a_stale_version_is_refused_and_changes_nothing: {error:?}"
    );
    let read = store.driver_day(&org, &driver("drv-karim"), d).await.expect("read").expect("stored");
    assert_eq!(read.version, 2);
    assert!(read.day.applied.contains("delivered#ord-2#0"), "the second write is kept");
}

async fn days_list_by_date_range_and_stay_in_their_organisation<S: Store + ReportStore>(store: &S) {
    let a = imported(store, "org-a").await;
    let b = imported(store, "org-b").await;
    for (d, who) in [
        (date!(2026 - 11 - 22), "drv-ines"),
        (date!(2026 - 11 - 23), "drv-karim"),
        (date!(2026 - 11 - 23), "drv-camille"),
        (date!(2026 - 11 - 25), "drv-camille"),
    ] {
        store.put_driver_day(&a, &day_with_delivery(who, d, "ord-1"), 0).await.expect("put a");
    }
    store.put_driver_day(&b, &day_with_delivery("drv-camille", date!(2026 - 11 - 23), "ord-9"), 0).await.expect("put b");
    let listed = store.driver_days(&a, date!(2026 - 11 - 23), date!(2026 - 11 - 24)).await.expect("list");
    let keys: Vec<(String, String)> = listed.iter().map(|d| (d.date.to_string(), d.driver_id.to_string())).collect();
    assert_eq!(
        keys,
        [("2026-11-23".to_owned(), "drv-camille".to_owned()), ("2026-11-23".to_owned(), "drv-karim".to_owned())],
        "days_list_by_date_range_and_stay_in_their_organisation"
    );
    let all = store.driver_days(&a, date!(2026 - 11 - 01), date!(2026 - 11 - 30)).await.expect("list all");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|d| !d.applied.contains("delivered#ord-9#0")), "org-b's day never shows in org-a");
}
