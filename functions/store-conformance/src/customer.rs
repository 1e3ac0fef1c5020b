//! Conformance cases for what customers write through their tracking link:
//! the note for the driver and the rating, stored on the order through the
//! ordinary versioned order update. Each adapter runs [`run_customer`].

use std::future::Future;

use doorstep_core::ports::{Store, StoreError};
use doorstep_domain::Order;
use doorstep_domain::api::OrderQuery;
use doorstep_domain::tracking::{CustomerNote, CustomerRating};
use time::macros::datetime;

use super::sample_business;

pub async fn run_customer<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    a_customer_note_and_rating_round_trip_through_the_versioned_update(&fresh_store().await).await;
    a_stale_customer_write_is_refused_and_changes_nothing(&fresh_store().await).await;
}

fn with_customer_fields(order: &Order) -> Order {
    let mut next = order.clone();
    next.customer_note = Some(CustomerNote {
        instructions: Some("Sonnez deux fois,\npuis attendez « merci » 🚪".into()),
        safe_place: Some("Derrière le portail bleu".into()),
    });
    next.rating = Some(CustomerRating { stars: 4, comment: Some("Rapide \"et\" aimable".into()), at: datetime!(2026-11-23 10:42:07.5 +1) });
    next.version = order.version + 1;
    next
}

async fn a_customer_note_and_rating_round_trip_through_the_versioned_update(store: &dyn Store) {
    let case = "a_customer_note_and_rating_round_trip_through_the_versioned_update";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let stored = store.get_order(org, &business.orders[0].id).await.expect("read");
    assert_eq!((stored.customer_note.clone(), stored.rating.clone()), (None, None), "{case}: absent until written");

    let next = with_customer_fields(&stored);
    store.update_order(&next, stored.version).await.expect("update");
    assert_eq!(store.get_order(org, &next.id).await.expect("read back"), next, "{case}: get_order");
    let batch = store.get_orders(org, std::slice::from_ref(&next.id)).await.expect("batch read");
    assert_eq!(batch, vec![next.clone()], "{case}: get_orders");
    let page = store.list_orders(org, &OrderQuery::default(), None, 1_000).await.expect("list");
    assert!(page.items.contains(&next), "{case}: list_orders");

    // Cleared again: both read back as absent.
    let mut cleared = next.clone();
    cleared.customer_note = None;
    cleared.rating = None;
    cleared.version = next.version + 1;
    store.update_order(&cleared, next.version).await.expect("clear");
    assert_eq!(store.get_order(org, &next.id).await.expect("read back"), cleared, "{case}: cleared");
}

async fn a_stale_customer_write_is_refused_and_changes_nothing(store: &dyn Store) {
    let case = "a_stale_customer_write_is_refused_and_changes_nothing";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let stored = store.get_order(org, &business.orders[1].id).await.expect("read");
    // Someone else (a driver, a dispatcher) wrote first.
    let mut theirs = stored.clone();
    theirs.instructions = Some("Use the side door".into());
    theirs.version = stored.version + 1;
    store.update_order(&theirs, stored.version).await.expect("their update");

    let mine = with_customer_fields(&stored);
    let error = store.update_order(&mine, stored.version).await.expect_err("stale version");
    assert!(
        matches!(error, StoreError::VersionConflict { actual, .. } if actual == theirs.version),
        "{case}: got {error:?}"
    );
    assert_eq!(store.get_order(org, &stored.id).await.expect("read"), theirs, "{case}: nothing of the stale write");
}
