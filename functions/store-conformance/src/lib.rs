//! The store conformance suite. Each adapter's tests call [`run_all`] with a factory
//! that yields a fresh, empty store; every case gets its own store so cases never
//! see each other's data.

use std::future::Future;

pub mod customer;
pub mod dispatch;
pub mod fleet;
pub mod large_plans;
pub mod notify;
pub mod pod;
pub mod reports;
pub mod slots;
pub mod tracking;

use doorstep_core::ports::{
    ApiKeyRecord, BusinessSnapshot, IdempotencyRecord, OrderUpdate, OrdersWrite, OutboxEntry, PlanFilter, PlanPublication, SignInGrant,
    Store, StoreError, TrackingLink, UserAccount,
};
use doorstep_domain::api::OrderQuery;
use doorstep_domain::auth::Role;
use doorstep_domain::plan::{PlanStatus, RouteTotals, StopKind};
use doorstep_domain::{
    DriverId, LatLon, Order, OrderEvent, OrderId, OrderState, OrgId, Plan, PlanId, Route, RouteId, Stop, StopId,
};
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
    users_are_found_by_email_and_unique_across_organisations(&fresh_store().await).await;
    sign_in_grants_are_taken_once_by_either_hash(&fresh_store().await).await;
    api_keys_are_found_by_hash_listed_per_organisation_and_revoked(&fresh_store().await).await;
    counters_count_up_and_expire(&fresh_store().await).await;
    orders_and_their_idempotency_record_are_written_together(&fresh_store().await).await;
    orders_list_in_id_order_page_by_key_and_filter(&fresh_store().await).await;
    order_updates_are_conditional_on_the_version(&fresh_store().await).await;
    plans_are_saved_listed_and_updated_conditionally(&fresh_store().await).await;
    publishing_writes_plan_orders_and_links_all_or_nothing(&fresh_store().await).await;
    // Writes larger than one DynamoDB transaction (100 items) keep the same promises.
    a_business_larger_than_one_transaction_is_imported_whole_or_not_at_all(&fresh_store().await).await;
    large_order_batches_and_their_record_are_all_or_nothing(&fresh_store().await).await;
    publishing_a_large_plan_is_all_or_nothing(&fresh_store().await).await;
    fleet::run_fleet(&fresh_store).await;
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

// --- credentials, counters, orders and plans ---------------------------------

const T0: time::OffsetDateTime = time::macros::datetime!(2026-11-23 08:00 UTC);

fn org(id: &str) -> OrgId {
    OrgId::new(id).expect("valid org id")
}

fn user(org_id: &str, email: &str) -> UserAccount {
    UserAccount {
        id: format!("usr-{org_id}-{}", email.len()),
        org_id: org(org_id),
        email: email.into(),
        name: "Dispatcher".into(),
        role: Role::Dispatcher,
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
        created_at: T0,
    }
}

/// Orders of `org_id` with fresh ids `{prefix}-000..`, copied from the demo.
fn new_orders(org_id: &str, prefix: &str, n: usize) -> Vec<Order> {
    let template = sample_business(org_id).orders;
    (0..n)
        .map(|i| {
            let mut o = template[i % template.len()].clone();
            o.id = OrderId::new(format!("{prefix}-{i:03}")).expect("order id");
            o
        })
        .collect()
}

fn record(org_id: &str, key: &str, hash: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        org_id: org(org_id),
        key: key.into(),
        request_hash: hash.into(),
        status: 201,
        body: format!("{{\"key\":\"{key}\"}}"),
        created_at: T0,
        expires_at: T0 + time::Duration::hours(24),
    }
}

fn plan_for(business: &BusinessSnapshot, id: &str, orders: &[Order]) -> Plan {
    let at = T0;
    let stops = orders
        .iter()
        .enumerate()
        .map(|(i, o)| Stop {
            id: StopId::new(format!("stp-{id}-{i}")).expect("stop id"),
            order_id: o.id.clone(),
            sequence: u32::try_from(i + 1).expect("small"),
            kind: StopKind::Delivery,
            location: o.address.location().unwrap_or(LatLon::new(45.75, 4.85)),
            planned_arrival: at + time::Duration::minutes(10 * i as i64 + 10),
            planned_departure: at + time::Duration::minutes(10 * i as i64 + 15),
            tracking_token: None,
        })
        .collect();
    Plan {
        id: PlanId::new(id).expect("plan id"),
        org_id: business.organisation.id.clone(),
        depot_id: business.depots[0].id.clone(),
        date: time::macros::date!(2026 - 11 - 23),
        status: PlanStatus::Draft,
        version: 1,
        routes: vec![Route {
            id: RouteId::new(format!("rte-{id}")).expect("route id"),
            vehicle_id: business.vehicles[0].id.clone(),
            driver_id: Some(business.drivers[0].id.clone()),
            planned_start: at,
            planned_end: at + time::Duration::hours(8),
            stops,
            totals: RouteTotals::default(),
        }],
        unassigned: vec![],
        created_at: at,
        updated_at: at,
        published_at: None,
    }
}

async fn users_are_found_by_email_and_unique_across_organisations(store: &dyn Store) {
    store.import_business(&sample_business("org-a")).await.expect("import a");
    store.import_business(&sample_business("org-b")).await.expect("import b");
    let alice = user("org-a", "alice@example.com");
    store.create_user(&alice).await.expect("create user");
    assert_eq!(store.user_by_email("alice@example.com").await.expect("read"), Some(alice.clone()));
    assert_eq!(store.user_by_email("bob@example.com").await.expect("read"), None);
    let mut twin = user("org-b", "alice@example.com");
    twin.id = "usr-other".into();
    let error = store.create_user(&twin).await.expect_err("email taken");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "user", .. }), "users_are_found_by_email_and_unique_across_organisations: {error:?}");
    assert_eq!(store.user_by_email("alice@example.com").await.expect("read").map(|u| u.org_id), Some(org("org-a")));
}

async fn sign_in_grants_are_taken_once_by_either_hash(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let driver = business.drivers[0].id.clone();
    let grant = |t: &str, p: &str, expires| SignInGrant {
        org_id: org("org-a"),
        driver_id: driver.clone(),
        token_hash: t.into(),
        pin_hash: p.into(),
        expires_at: expires,
    };
    let later = T0 + time::Duration::hours(1);
    store.put_sign_in_grant(&grant("tok-1", "pin-1", later)).await.expect("put");
    store.put_sign_in_grant(&grant("tok-2", "pin-2", later)).await.expect("replace");
    assert_eq!(store.take_sign_in_grant("tok-1", T0).await.expect("take"), None, "a newer grant replaces the old one");
    assert_eq!(store.take_sign_in_grant("pin-2", T0).await.expect("take"), Some(grant("tok-2", "pin-2", later)));
    assert_eq!(store.take_sign_in_grant("tok-2", T0).await.expect("take"), None, "taking by PIN used the token too");
    store.put_sign_in_grant(&grant("tok-3", "pin-3", later)).await.expect("put");
    assert_eq!(store.take_sign_in_grant("tok-3", later).await.expect("take"), None, "expired grants are not returned");
    let mut stranger = grant("tok-4", "pin-4", later);
    stranger.driver_id = DriverId::new("drv-nobody").expect("id");
    assert!(store.put_sign_in_grant(&stranger).await.is_err(), "grants only for existing drivers");
}

async fn api_keys_are_found_by_hash_listed_per_organisation_and_revoked(store: &dyn Store) {
    store.import_business(&sample_business("org-a")).await.expect("import a");
    store.import_business(&sample_business("org-b")).await.expect("import b");
    let key = ApiKeyRecord {
        id: "key-1".into(),
        org_id: org("org-a"),
        name: "Shop".into(),
        secret_hash: "hash-1".into(),
        created_at: T0,
        revoked: false,
    };
    store.create_api_key(&key).await.expect("create");
    assert_eq!(store.api_key_by_hash("hash-1").await.expect("find"), Some(key.clone()));
    assert_eq!(store.api_key_by_hash("hash-x").await.expect("find"), None);
    assert_eq!(store.list_api_keys(&org("org-a")).await.expect("list"), vec![key.clone()]);
    assert!(store.list_api_keys(&org("org-b")).await.expect("list").is_empty());
    let error = store.revoke_api_key(&org("org-b"), "key-1").await.expect_err("foreign key");
    assert!(matches!(error, StoreError::NotFound { .. }), "another organisation cannot revoke it: {error:?}");
    store.revoke_api_key(&org("org-a"), "key-1").await.expect("revoke");
    assert!(store.api_key_by_hash("hash-1").await.expect("find").expect("still listed").revoked);
}

async fn counters_count_up_and_expire(store: &dyn Store) {
    let end = T0 + time::Duration::minutes(15);
    assert_eq!(store.counter("k", T0).await.expect("read"), 0);
    for expected in 1..=3 {
        assert_eq!(store.bump_counter("k", T0, end).await.expect("bump"), expected);
    }
    assert_eq!(store.counter("k", T0).await.expect("read"), 3);
    assert_eq!(store.counter("other", T0).await.expect("read"), 0);
    assert_eq!(store.counter("k", end).await.expect("read"), 0, "counters_count_up_and_expire: expired");
    assert_eq!(store.bump_counter("k", end, end + time::Duration::minutes(15)).await.expect("bump"), 1, "an expired counter restarts");
}

async fn orders_and_their_idempotency_record_are_written_together(store: &dyn Store) {
    store.import_business(&sample_business("org-a")).await.expect("import");
    let a = org("org-a");
    let orders = new_orders("org-a", "new", 3);
    let first = record("org-a", "key-1", "hash-1");
    assert_eq!(store.create_orders(&a, &orders, Some(&first)).await.expect("write"), OrdersWrite::Written);
    assert_eq!(store.idempotency_record(&a, "key-1", T0).await.expect("read"), Some(first.clone()));
    assert_eq!(store.idempotency_record(&a, "key-1", first.expires_at).await.expect("read"), None, "expired records are gone");
    assert_eq!(store.idempotency_record(&org("org-b"), "key-1", T0).await.expect("read"), None, "keys are per organisation");

    // Same key again: nothing written, the first record comes back.
    let more = new_orders("org-a", "more", 2);
    let again = record("org-a", "key-1", "hash-2");
    assert_eq!(store.create_orders(&a, &more, Some(&again)).await.expect("write"), OrdersWrite::AlreadyRecorded(first));
    assert!(store.get_orders(&a, &more.iter().map(|o| o.id.clone()).collect::<Vec<_>>()).await.expect("read").is_empty());

    // A taken order id aborts the whole write, record included.
    let mut clash = new_orders("org-a", "fresh", 2);
    clash.push(orders[0].clone());
    let error = store.create_orders(&a, &clash, Some(&record("org-a", "key-2", "hash-3"))).await.expect_err("duplicate");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "order", .. }), "{error:?}");
    assert_eq!(store.idempotency_record(&a, "key-2", T0).await.expect("read"), None, "the record was not written");
    assert!(store.get_order(&a, &clash[0].id).await.is_err(), "no order of the failed write was kept");
    assert_eq!(store.get_order(&a, &orders[1].id).await.expect("read"), orders[1]);
}

async fn orders_list_in_id_order_page_by_key_and_filter(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    store.import_business(&sample_business("org-b")).await.expect("import b");
    let a = org("org-a");
    let mut all_ids: Vec<OrderId> = business.orders.iter().map(|o| o.id.clone()).collect();
    all_ids.sort();
    let mut seen = Vec::new();
    let mut after: Option<OrderId> = None;
    loop {
        let page = store.list_orders(&a, &OrderQuery::default(), after.as_ref(), 7).await.expect("page");
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|o| o.id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, all_ids, "orders_list_in_id_order_page_by_key_and_filter: every order once, in id order");

    let cancelled_id = business.orders[3].id.clone();
    let mut cancelled = business.orders[3].clone();
    cancelled.apply(&OrderEvent::Cancel, T0).expect("cancel");
    store.update_order(&cancelled, 1).await.expect("update");
    let query = OrderQuery { state: Some(OrderState::Cancelled), ..OrderQuery::default() };
    let page = store.list_orders(&a, &query, None, 50).await.expect("filtered");
    assert_eq!(page.items.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), vec![cancelled_id]);
    let b_page = store.list_orders(&org("org-b"), &query, None, 50).await.expect("b");
    assert!(b_page.items.is_empty(), "another organisation's orders never appear");
    let found = store.get_orders(&a, &[business.orders[0].id.clone(), OrderId::new("ord-nope").expect("id")]).await.expect("get");
    assert_eq!(found, vec![business.orders[0].clone()]);
}

async fn order_updates_are_conditional_on_the_version(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let mut order = business.orders[0].clone();
    order.apply(&OrderEvent::Plan, T0).expect("plan");
    store.update_order(&order, 1).await.expect("first writer wins");
    let mut stale = business.orders[0].clone();
    stale.apply(&OrderEvent::Cancel, T0).expect("cancel");
    let error = store.update_order(&stale, 1).await.expect_err("stale");
    assert!(
        matches!(error, StoreError::VersionConflict { expected: 1, actual: 2, .. }),
        "order_updates_are_conditional_on_the_version: {error:?}"
    );
    assert_eq!(store.get_order(&order.org_id, &order.id).await.expect("read"), order);
    let mut foreign = order.clone();
    foreign.org_id = org("org-b");
    assert!(matches!(store.update_order(&foreign, 2).await, Err(StoreError::NotFound { .. })), "no write across organisations");
}

async fn plans_are_saved_listed_and_updated_conditionally(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let a = org("org-a");
    let p1 = plan_for(&business, "pln-1", &business.orders[..3]);
    let mut p2 = plan_for(&business, "pln-2", &business.orders[3..5]);
    p2.date = time::macros::date!(2026 - 11 - 24);
    store.create_plan(&p1).await.expect("create");
    store.create_plan(&p2).await.expect("create");
    assert!(matches!(store.create_plan(&p1).await, Err(StoreError::AlreadyExists { .. })));
    assert_eq!(store.get_plan(&a, &p1.id).await.expect("read"), p1);
    assert!(matches!(store.get_plan(&org("org-b"), &p1.id).await, Err(StoreError::NotFound { .. })));
    let on_day = PlanFilter { date: Some(p1.date), published_only: false };
    assert_eq!(store.list_plans(&a, &on_day, None, 10).await.expect("list").items, vec![p1.clone()]);
    let first = store.list_plans(&a, &PlanFilter::default(), None, 1).await.expect("page 1");
    assert_eq!(first.items, vec![p1.clone()]);
    let second = store.list_plans(&a, &PlanFilter::default(), first.next.as_ref(), 1).await.expect("page 2");
    assert_eq!(second.items, vec![p2.clone()]);
    let published = PlanFilter { date: None, published_only: true };
    assert!(store.list_plans(&a, &published, None, 10).await.expect("list").items.is_empty());

    let mut edited = p1.clone();
    edited.version = 2;
    edited.routes[0].driver_id = Some(business.drivers[1].id.clone());
    store.update_plan(&edited, 1).await.expect("update");
    let mut stale = p1.clone();
    stale.version = 2;
    let error = store.update_plan(&stale, 1).await.expect_err("stale");
    assert!(matches!(error, StoreError::VersionConflict { actual: 2, .. }), "plans_are_saved_listed_and_updated_conditionally: {error:?}");
    assert_eq!(store.get_plan(&a, &p1.id).await.expect("read"), edited);
}

async fn publishing_writes_plan_orders_and_links_all_or_nothing(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let a = org("org-a");
    let orders = &business.orders[..3];
    let plan = plan_for(&business, "pln-1", orders);
    store.create_plan(&plan).await.expect("create");
    let publication = |stale: bool| {
        let mut published = plan.clone();
        published.publish(T0).expect("publish");
        let updates = orders
            .iter()
            .map(|o| {
                let mut next = o.clone();
                next.apply(&OrderEvent::Plan, T0).expect("plan");
                next.apply(&OrderEvent::Dispatch, T0).expect("dispatch");
                OrderUpdate { order: next, expected_version: 1 }
            })
            .collect::<Vec<_>>();
        let tracking = published
            .stops()
            .map(|(_, s)| TrackingLink {
                token_hash: format!("hash-{}", s.id),
                org_id: a.clone(),
                plan_id: published.id.clone(),
                stop_id: s.id.clone(),
                order_id: s.order_id.clone(),
                expires_at: T0 + time::Duration::days(30),
            })
            .collect();
        let outbox = dispatched_outbox(orders);
        PlanPublication { plan: published, expected_version: if stale { 7 } else { 1 }, orders: updates, tracking, outbox }
    };

    // One order changed behind the planner's back: nothing is written.
    let mut moved = orders[2].clone();
    moved.apply(&OrderEvent::Cancel, T0).expect("cancel");
    store.update_order(&moved, 1).await.expect("cancel");
    let error = store.publish_plan(&publication(false)).await.expect_err("order changed");
    assert!(matches!(error, StoreError::VersionConflict { kind: "order", .. }), "{error:?}");
    assert_eq!(store.get_plan(&a, &plan.id).await.expect("plan").status, PlanStatus::Draft);
    assert_eq!(store.get_order(&a, &orders[0].id).await.expect("order"), orders[0], "no order was dispatched");
    assert_eq!(store.tracking_link("hash-stp-pln-1-0", T0).await.expect("link"), None, "no link was written");

    // Put it back and publish for real.
    let mut restored = orders[2].clone();
    restored.version = 3;
    store.update_order(&restored, 2).await.expect("restore");
    let mut good = publication(false);
    good.orders[2].expected_version = 3;
    good.orders[2].order.version = 5;
    let error = store.publish_plan(&publication(true)).await.expect_err("stale plan");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", .. }), "{error:?}");
    store.publish_plan(&good).await.expect("publish");
    assert_eq!(store.get_plan(&a, &plan.id).await.expect("plan"), good.plan);
    assert_eq!(store.get_order(&a, &orders[0].id).await.expect("order").state(), OrderState::Dispatched);
    let link = store.tracking_link("hash-stp-pln-1-1", T0).await.expect("link").expect("written");
    assert_eq!((link.order_id, link.plan_id), (orders[1].id.clone(), plan.id.clone()));
    assert_eq!(store.tracking_link("hash-stp-pln-1-1", T0 + time::Duration::days(30)).await.expect("link"), None, "expired");
    let published = PlanFilter { date: Some(plan.date), published_only: true };
    assert_eq!(store.list_plans(&a, &published, None, 10).await.expect("list").items.len(), 1);
}

// --- writes larger than one DynamoDB transaction ------------------------------

async fn a_business_larger_than_one_transaction_is_imported_whole_or_not_at_all(store: &dyn Store) {
    let mut business = sample_business("org-big");
    business.orders.extend(new_orders("org-big", "big", 150));
    let mut broken = business.clone();
    broken.orders.push(business.orders[200].clone());
    let error = store.import_business(&broken).await.expect_err("duplicate in the last part");
    assert!(
        matches!(error, StoreError::AlreadyExists { kind: "order", .. }),
        "a_business_larger_than_one_transaction_is_imported_whole_or_not_at_all: got {error:?}"
    );
    assert!(store.list_organisations().await.expect("list").is_empty(), "a refused large import left its organisation");
    let first = &business.orders[0];
    assert!(store.get_order(&first.org_id, &first.id).await.is_err(), "a refused large import left orders behind");
    store.import_business(&business).await.expect("import");
    assert_eq!(store.business(&business.organisation.id).await.expect("read back"), business, "large import reads back unchanged");
}

async fn large_order_batches_and_their_record_are_all_or_nothing(store: &dyn Store) {
    store.import_business(&sample_business("org-a")).await.expect("import");
    let a = org("org-a");
    let ids = |orders: &[Order]| orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>();

    // Without a key: a clash in the last part writes nothing.
    let mut clash = new_orders("org-a", "plain", 150);
    clash.push(sample_business("org-a").orders[0].clone());
    let error = store.create_orders(&a, &clash, None).await.expect_err("duplicate");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "order", .. }), "large_order_batches_and_their_record_are_all_or_nothing: {error:?}");
    assert!(store.get_orders(&a, &ids(&clash[..150])).await.expect("read").is_empty(), "no order of the refused batch was kept");

    // With a key and a 1 MB answer: every order, and the answer byte for byte.
    let orders = new_orders("org-a", "bulk", 250);
    let mut first = record("org-a", "bulk-key", "hash-bulk");
    first.body = format!("{{\"orders\":\"{}\"}}", "é0123456789".repeat(100_000));
    assert_eq!(store.create_orders(&a, &orders, Some(&first)).await.expect("write"), OrdersWrite::Written);
    assert_eq!(store.get_orders(&a, &ids(&orders)).await.expect("read").len(), 250);
    assert_eq!(store.idempotency_record(&a, "bulk-key", T0).await.expect("read"), Some(first.clone()), "the large answer reads back whole");
    let again = new_orders("org-a", "again", 120);
    assert_eq!(
        store.create_orders(&a, &again, Some(&record("org-a", "bulk-key", "hash-other"))).await.expect("write"),
        OrdersWrite::AlreadyRecorded(first)
    );
    assert!(store.get_orders(&a, &ids(&again)).await.expect("read").is_empty(), "a replayed key writes nothing");

    // With a key, a clash in the last part: no orders and no record.
    let mut clash = new_orders("org-a", "keyed", 150);
    clash.push(orders[7].clone());
    let error = store.create_orders(&a, &clash, Some(&record("org-a", "keyed-key", "hash-keyed"))).await.expect_err("duplicate");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "order", .. }), "{error:?}");
    assert_eq!(store.idempotency_record(&a, "keyed-key", T0).await.expect("read"), None, "the record of a refused batch was not kept");
    assert!(store.get_orders(&a, &ids(&clash[..150])).await.expect("read").is_empty(), "no order of the refused keyed batch was kept");
}

async fn publishing_a_large_plan_is_all_or_nothing(store: &dyn Store) {
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let a = org("org-a");
    // 60 stops: the plan, 60 orders and 60 links are 121 items.
    let orders = &business.orders[..60];
    let plan = plan_for(&business, "pln-big", orders);
    store.create_plan(&plan).await.expect("create");
    let mut published = plan.clone();
    published.publish(T0).expect("publish");
    let mut publication = PlanPublication {
        plan: published.clone(),
        expected_version: 1,
        orders: orders
            .iter()
            .map(|o| {
                let mut next = o.clone();
                next.apply(&OrderEvent::Plan, T0).expect("plan");
                next.apply(&OrderEvent::Dispatch, T0).expect("dispatch");
                OrderUpdate { order: next, expected_version: 1 }
            })
            .collect(),
        tracking: published
            .stops()
            .map(|(_, s)| TrackingLink {
                token_hash: format!("hash-{}", s.id),
                org_id: a.clone(),
                plan_id: published.id.clone(),
                stop_id: s.id.clone(),
                order_id: s.order_id.clone(),
                expires_at: T0 + time::Duration::days(30),
            })
            .collect(),
        outbox: dispatched_outbox(orders),
    };

    // The last order changed behind the planner's back: nothing is written.
    let mut moved = orders[59].clone();
    moved.apply(&OrderEvent::Cancel, T0).expect("cancel");
    store.update_order(&moved, 1).await.expect("cancel");
    let error = store.publish_plan(&publication).await.expect_err("order changed");
    assert!(matches!(error, StoreError::VersionConflict { kind: "order", .. }), "publishing_a_large_plan_is_all_or_nothing: {error:?}");
    assert_eq!(store.get_plan(&a, &plan.id).await.expect("plan"), plan, "the plan is untouched");
    assert_eq!(store.get_order(&a, &orders[0].id).await.expect("order"), orders[0], "no order was dispatched");
    assert_eq!(store.tracking_link("hash-stp-pln-big-0", T0).await.expect("link"), None, "no link was written");

    // The plan itself is still editable afterwards, and then publishing is refused as stale.
    let mut edited = plan.clone();
    edited.version = 2;
    store.update_plan(&edited, 1).await.expect("the plan is not left locked");
    let error = store.publish_plan(&publication).await.expect_err("stale plan");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", .. }), "{error:?}");

    publication.expected_version = 2;
    publication.orders.truncate(59);
    publication.tracking.truncate(59);
    publication.outbox.truncate(59);
    store.publish_plan(&publication).await.expect("publish");
    assert_eq!(store.get_plan(&a, &plan.id).await.expect("plan"), publication.plan);
    let dispatched = store.get_orders(&a, &orders[..59].iter().map(|o| o.id.clone()).collect::<Vec<_>>()).await.expect("orders");
    assert!(dispatched.iter().all(|o| o.state() == OrderState::Dispatched), "every order of the plan is dispatched");
    assert!(store.tracking_link("hash-stp-pln-big-58", T0).await.expect("link").is_some(), "the last link is written");
}

/// One `dispatched` outbox entry per order, as publishing writes them.
pub fn dispatched_outbox(orders: &[Order]) -> Vec<OutboxEntry> {
    orders
        .iter()
        .map(|o| OutboxEntry {
            org_id: o.org_id.clone(),
            order_id: o.id.clone(),
            attempt: o.attempts,
            trigger: doorstep_domain::notification::Trigger::Dispatched,
            tracking_token: Some(format!("token-{}", o.id)),
            eta: None,
            failure_reason: None,
            otp: None,
            created_at: T0,
        })
        .collect()
}
