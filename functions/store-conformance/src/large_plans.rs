//! Conformance case for plans far past one DynamoDB item (400 KB, about
//! 1,200 stops): a 5,000-stop, 250-route plan saves, reads back identical
//! (by id and in lists), is updated and published under version checks, and
//! of two concurrent updates from the same version exactly one wins. Each
//! adapter runs [`run_large_plans`].

use std::future::Future;

use doorstep_core::ports::{OrderUpdate, PlanFilter, PlanPublication, Store, StoreError, TrackingLink};
use doorstep_domain::plan::{PlanStatus, RouteTotals, StopKind};
use doorstep_domain::{LatLon, Order, OrderEvent, OrderId, OrderState, Plan, PlanId, Route, RouteId, Stop, StopId};
use futures::future::join;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::{dispatched_outbox, sample_business};

const AT: OffsetDateTime = datetime!(2026-11-23 7:00 +1);
pub const ROUTES: usize = 250;
pub const STOPS_PER_ROUTE: usize = 20;
/// Orders really stored and dispatched by the publication (two routes'
/// worth: more than one DynamoDB transaction with their links and outbox).
const DISPATCHED: usize = 40;

fn decimal(thousandths: usize) -> f64 {
    format!("{}.{:03}", thousandths / 1000, thousandths % 1000).parse().expect("decimal")
}

/// Plan equality without printing 5,000 stops: names the first difference.
#[track_caller]
fn same(read: &Plan, expected: &Plan, what: &str) {
    if read == expected {
        return;
    }
    let route = read.routes.iter().zip(&expected.routes).position(|(a, b)| a != b);
    panic!(
        "{what}: plans differ (version {} vs {}, status {:?} vs {:?}, {} vs {} routes, first differing route {route:?})",
        read.version,
        expected.version,
        read.status,
        expected.status,
        read.routes.len(),
        expected.routes.len()
    );
}

fn same_list(read: &[Plan], expected: &Plan, what: &str) {
    assert_eq!(read.len(), 1, "{what}: one plan listed");
    same(&read[0], expected, what);
}

pub async fn run_large_plans<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    a_5000_stop_plan_saves_reads_back_publishes_and_conflicts(&fresh_store().await).await;
}

/// A plan of `ROUTES` routes of `STOPS_PER_ROUTE` stops; the first
/// `DISPATCHED` stops are `orders`, the rest name orders never stored.
pub fn large_plan(business: &doorstep_core::ports::BusinessSnapshot, orders: &[Order]) -> Plan {
    let routes = (0..ROUTES)
        .map(|r| {
            let stops = (0..STOPS_PER_ROUTE)
                .map(|i| {
                    let n = r * STOPS_PER_ROUTE + i;
                    let order_id = orders.get(n).map_or_else(|| OrderId::new(format!("ord-big-{n:05}")).expect("order id"), |o| o.id.clone());
                    let minutes = i64::try_from(i).expect("small") * 17;
                    Stop {
                        id: StopId::new(format!("stp-big-{n:05}")).expect("stop id"),
                        order_id,
                        sequence: u32::try_from(i + 1).expect("small"),
                        kind: StopKind::Delivery,
                        // Short decimals, which JSON carries exactly.
                        location: LatLon::new(decimal(45_700 + n % 97), decimal(4_800 + n % 89)),
                        planned_arrival: AT + time::Duration::minutes(minutes),
                        planned_departure: AT + time::Duration::minutes(minutes + 5),
                        tracking_token: None,
                    }
                })
                .collect();
            Route {
                id: RouteId::new(format!("rte-big-{r:03}")).expect("route id"),
                vehicle_id: business.vehicles[r % business.vehicles.len()].id.clone(),
                driver_id: Some(business.drivers[r % business.drivers.len()].id.clone()),
                planned_start: AT,
                planned_end: AT + time::Duration::hours(9),
                stops,
                totals: RouteTotals::default(),
            }
        })
        .collect();
    Plan {
        id: PlanId::new("pln-big").expect("plan id"),
        org_id: business.organisation.id.clone(),
        depot_id: business.depots[0].id.clone(),
        date: date!(2026 - 11 - 23),
        status: PlanStatus::Draft,
        version: 1,
        routes,
        unassigned: vec![],
        created_at: AT,
        updated_at: AT,
        published_at: None,
    }
}

async fn a_5000_stop_plan_saves_reads_back_publishes_and_conflicts(store: &dyn Store) {
    let case = "a_5000_stop_plan_saves_reads_back_publishes_and_conflicts";
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let org = &business.organisation.id;
    let orders: Vec<Order> = (0..DISPATCHED)
        .map(|n| {
            let mut order = business.orders[n % business.orders.len()].clone();
            order.id = OrderId::new(format!("ord-big-{n:05}")).expect("order id");
            order
        })
        .collect();
    store.create_orders(org, &orders, None).await.expect("orders");
    let plan = large_plan(&business, &orders);
    assert_eq!(plan.stops().count(), ROUTES * STOPS_PER_ROUTE);
    let size = serde_json::to_string(&plan).expect("json").len();
    assert!(size > 1_000_000, "{case}: the plan is well past one DynamoDB item ({size} bytes)");

    store.create_plan(&plan).await.expect("create");
    same(&store.get_plan(org, &plan.id).await.expect("read"), &plan, &format!("{case}: reads back identical"));
    let dated = PlanFilter { date: Some(plan.date), published_only: false };
    let listed = store.list_plans(org, &dated, None, 10).await.expect("list by date");
    same_list(&listed.items, &plan, &format!("{case}: listed by date, identical"));
    let all = store.list_plans(org, &PlanFilter::default(), None, 10).await.expect("list");
    same_list(&all.items, &plan, &format!("{case}: listed, identical"));
    let error = store.create_plan(&plan).await.expect_err("twice");
    assert!(matches!(error, StoreError::AlreadyExists { kind: "plan", .. }), "{case}: {error:?}");
    same(&store.get_plan(org, &plan.id).await.expect("read"), &plan, &format!("{case}: unchanged by the refused create"));

    // An edit: the first route's stops reversed, one route dropped.
    let mut edited = plan.clone();
    edited.routes[0].stops.reverse();
    for (i, s) in edited.routes[0].stops.iter_mut().enumerate() {
        s.sequence = u32::try_from(i + 1).expect("small");
    }
    edited.routes.pop();
    edited.version = 2;
    store.update_plan(&edited, 1).await.expect("update");
    same(&store.get_plan(org, &plan.id).await.expect("read"), &edited, &format!("{case}: the edit reads back"));
    let error = store.update_plan(&plan, 1).await.expect_err("stale");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", expected: 1, actual: 2, .. }), "{case}: {error:?}");

    // Two editors from version 2 at once: exactly one wins, whole.
    let mut left = edited.clone();
    left.routes[1].stops.reverse();
    left.version = 3;
    let mut right = edited.clone();
    right.routes.truncate(ROUTES - 10);
    right.version = 3;
    let (l, r) = join(store.update_plan(&left, 2), store.update_plan(&right, 2)).await;
    let winner = match (&l, &r) {
        (Ok(()), Err(StoreError::VersionConflict { .. })) => &left,
        (Err(StoreError::VersionConflict { .. }), Ok(())) => &right,
        other => panic!("{case}: expected one winner and one conflict, got {other:?}"),
    };
    same(&store.get_plan(org, &plan.id).await.expect("read"), winner, &format!("{case}: the winner's plan, whole"));

    // Publishing: the plan, the first routes' orders, their links and outbox entries.
    let mut published = winner.clone();
    published.publish(AT).expect("publish");
    let dispatched: Vec<OrderUpdate> = orders
        .iter()
        .map(|o| {
            let mut next = o.clone();
            next.apply(&OrderEvent::Plan, AT).expect("plan");
            next.apply(&OrderEvent::Dispatch, AT).expect("dispatch");
            OrderUpdate { order: next, expected_version: o.version }
        })
        .collect();
    let links: Vec<TrackingLink> = published
        .stops()
        .filter(|(_, s)| orders.iter().any(|o| o.id == s.order_id))
        .map(|(_, s)| TrackingLink {
            token_hash: format!("hash-{}", s.id),
            org_id: org.clone(),
            plan_id: published.id.clone(),
            stop_id: s.id.clone(),
            order_id: s.order_id.clone(),
            expires_at: AT + time::Duration::days(30),
        })
        .collect();
    let publication = |expected_version| PlanPublication {
        plan: published.clone(),
        expected_version,
        orders: dispatched.clone(),
        tracking: links.clone(),
        outbox: dispatched_outbox(&orders),
    };
    let error = store.publish_plan(&publication(2)).await.expect_err("stale publication");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", .. }), "{case}: {error:?}");
    same(&store.get_plan(org, &plan.id).await.expect("read"), winner, &format!("{case}: a refused publication changes nothing"));
    assert_eq!(store.get_order(org, &orders[0].id).await.expect("order").state(), OrderState::Created, "{case}: orders untouched");

    store.publish_plan(&publication(winner.version)).await.expect("publish");
    same(&store.get_plan(org, &plan.id).await.expect("read"), &published, &format!("{case}: published reads back identical"));
    let live = store.list_plans(org, &PlanFilter { date: Some(plan.date), published_only: true }, None, 10).await.expect("published");
    same_list(&live.items, &published, &format!("{case}: listed as published"));
    let states: Vec<OrderState> = store.get_orders(org, &orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>()).await.expect("orders").iter().map(Order::state).collect();
    assert!(states.len() == DISPATCHED && states.iter().all(|s| *s == OrderState::Dispatched), "{case}: {states:?}");
    assert!(store.tracking_link(&links[0].token_hash, AT).await.expect("link").is_some(), "{case}: links written");

    // A concurrent change after publishing still conflicts.
    let mut late = winner.clone();
    late.version = published.version;
    let error = store.update_plan(&late, winner.version).await.expect_err("stale after publish");
    assert!(matches!(error, StoreError::VersionConflict { kind: "plan", .. }), "{case}: {error:?}");
    same(&store.get_plan(org, &plan.id).await.expect("read"), &published, &format!("{case}: still the published plan"));
}
