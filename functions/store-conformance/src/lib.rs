//! The store conformance suite. Each adapter's tests call [`run_all`] with a factory
//! that yields a fresh, empty store; every case gets its own store so cases never
//! see each other's data.

use std::future::Future;

use doorstep_core::ports::{BusinessSnapshot, Store, StoreError};
use doorstep_domain::OrgId;
use doorstep_domain::demo::demo_business;
use time::macros::{date, offset};

/// A realistic business (the Lyon demo) re-keyed to `org_id`, so several can coexist.
pub fn sample_business(org_id: &str) -> BusinessSnapshot {
    let demo = demo_business(date!(2026 - 11 - 23), offset!(+1));
    let org = OrgId::new(org_id).expect("valid org id");
    let mut snapshot = BusinessSnapshot {
        organisation: demo.organisation,
        depots: demo.depots,
        drivers: demo.drivers,
        vehicles: demo.vehicles,
        orders: demo.orders,
    };
    snapshot.organisation.id = org.clone();
    snapshot.depots.iter_mut().for_each(|d| d.org_id = org.clone());
    snapshot.drivers.iter_mut().for_each(|d| d.org_id = org.clone());
    snapshot.vehicles.iter_mut().for_each(|v| v.org_id = org.clone());
    snapshot.orders.iter_mut().for_each(|o| o.org_id = org.clone());
    snapshot
}

/// Runs every case; panics with the case's name on the first failure.
pub async fn run_all<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    ping_answers_on_a_fresh_store(&fresh_store().await).await;
    fresh_store_lists_no_organisations(&fresh_store().await).await;
    imported_business_reads_back_unchanged(&fresh_store().await).await;
    importing_an_existing_organisation_fails_and_changes_nothing(&fresh_store().await).await;
    import_with_a_duplicate_order_writes_nothing(&fresh_store().await).await;
    unknown_organisation_is_not_found(&fresh_store().await).await;
    organisations_do_not_see_each_others_data(&fresh_store().await).await;
}

async fn ping_answers_on_a_fresh_store(store: &dyn Store) {
    store.ping().await.expect("ping_answers_on_a_fresh_store");
}

async fn fresh_store_lists_no_organisations(store: &dyn Store) {
    let orgs = store.list_organisations().await.expect("list organisations");
    assert!(orgs.is_empty(), "fresh_store_lists_no_organisations: found {orgs:?}");
}

async fn imported_business_reads_back_unchanged(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let read = store.business(&business.organisation.id).await.expect("read back");
    assert_eq!(read, business, "imported_business_reads_back_unchanged");
    let orgs = store.list_organisations().await.expect("list");
    assert_eq!(orgs, vec![business.organisation.clone()]);
}

async fn importing_an_existing_organisation_fails_and_changes_nothing(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("first import");
    let mut changed = business.clone();
    changed.organisation.name = "Someone else".into();
    changed.orders.truncate(3);
    let error = store.import_business(&changed).await.expect_err("second import must fail");
    assert!(
        matches!(error, StoreError::AlreadyExists { kind: "organisation", .. }),
        "importing_an_existing_organisation_fails_and_changes_nothing: got {error:?}"
    );
    let read = store.business(&business.organisation.id).await.expect("read back");
    assert_eq!(read, business, "the first import must be untouched");
}

async fn import_with_a_duplicate_order_writes_nothing(store: &dyn Store) {
    let mut business = sample_business("org-dup");
    let duplicate = business.orders[0].clone();
    business.orders.push(duplicate);
    let error = store.import_business(&business).await.expect_err("duplicate order must fail");
    assert!(
        matches!(error, StoreError::AlreadyExists { kind: "order", .. }),
        "import_with_a_duplicate_order_writes_nothing: got {error:?}"
    );
    assert!(
        store.list_organisations().await.expect("list").is_empty(),
        "import_with_a_duplicate_order_writes_nothing: a failed import left data behind"
    );
}

async fn unknown_organisation_is_not_found(store: &dyn Store) {
    let missing = OrgId::new("org-missing").expect("valid id");
    let error = store.business(&missing).await.expect_err("unknown org");
    assert!(
        matches!(error, StoreError::NotFound { kind: "organisation", .. }),
        "unknown_organisation_is_not_found: got {error:?}"
    );
}

async fn organisations_do_not_see_each_others_data(store: &dyn Store) {
    let a = sample_business("org-a");
    let mut b = sample_business("org-b");
    b.orders.truncate(5);
    store.import_business(&a).await.expect("import a");
    store.import_business(&b).await.expect("import b");
    assert_eq!(store.business(&a.organisation.id).await.expect("a").orders.len(), a.orders.len());
    assert_eq!(store.business(&b.organisation.id).await.expect("b").orders.len(), 5);
}
