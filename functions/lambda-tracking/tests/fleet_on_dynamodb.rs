//! The ping benchmark's scenario at a small scale on the DynamoDB adapter
//! (real moto_server): 20 drivers × 100 pings with ~5% duplicates, ~2%
//! reordered and 10% of drivers offline for a while, uploaded concurrently
//! through the use case. Nothing may be lost or stored twice, and no
//! driver's latest position may ever go back. moto answers one request at
//! a time here: its threaded server does not isolate concurrent transactions
//! (see `MotoServer::start_serial`) and sometimes answers 500 under this load.

use std::collections::BTreeSet;
use std::sync::Arc;

use doorstep_core::ports::{FixedClock, Principal, TrackingStore};
use doorstep_core::usecases::tracking::{self, TrackingDeps, TrackingSettings};
use doorstep_core::{Clock, Store};
use doorstep_domain::auth::Role;
use doorstep_domain::tracking::{PingBatch, PingOutcome};
use doorstep_store_conformance::tracking::{day_of_uploads, fleet_business, publish_fleet_plans};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use time::Duration;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-23 11:00 UTC);
const DRIVERS: usize = 20;
const PINGS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_drivers_lose_nothing_store_nothing_twice_and_never_move_back() {
    let moto = MotoServer::start_serial();
    let store = DynamoStore::new(moto.client(), "doorstep-fleet");
    store.ensure_table().await.expect("table");
    let clock = FixedClock(NOW);
    let business = fleet_business("org-fleet", DRIVERS);
    store.import_business(&business).await.expect("import");
    let routes = publish_fleet_plans(&store, &clock, &business, NOW.date()).await;
    assert_eq!(routes.len(), DRIVERS);
    let org = business.organisation.id.clone();
    let store = Arc::new(store);

    let mut tasks = tokio::task::JoinSet::new();
    for (i, (driver, route)) in routes.into_iter().enumerate() {
        let (store, org) = (store.clone(), org.clone());
        tasks.spawn(async move {
            let principal = Principal { org, role: Role::Driver, subject: driver.to_string() };
            let clock = FixedClock(NOW);
            let deps = TrackingDeps { store: store.as_ref(), tracking: store.as_ref(), reports: store.as_ref(), clock: &clock, settings: TrackingSettings::default() };
            let (mut accepted, mut sent, mut latest) = (0usize, 0usize, None);
            for upload in day_of_uploads(i, PINGS, NOW - Duration::minutes(1), 7) {
                sent += upload.len();
                let result = tracking::upload_pings(deps, &principal, &PingBatch { route_id: route.clone(), pings: upload }).await.expect("upload");
                accepted += result.count(PingOutcome::Accepted);
                assert_eq!(result.count(PingOutcome::Rejected), 0);
                let now_latest = result.latest.expect("a latest position");
                if let Some((t, seq)) = latest {
                    assert!((now_latest.device_time, now_latest.seq) >= (t, seq), "driver {driver}: the latest position went back");
                }
                latest = Some((now_latest.device_time, now_latest.seq));
            }
            (driver, accepted, sent, latest)
        });
    }
    let dispatcher = Principal { org: org.clone(), role: Role::Dispatcher, subject: "usr_check".into() };
    let deps = TrackingDeps { store: store.as_ref(), tracking: store.as_ref(), reports: store.as_ref(), clock: &clock as &dyn Clock, settings: TrackingSettings::default() };
    let (mut total_sent, mut total_accepted) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let (driver, accepted, sent, latest) = joined.expect("driver task");
        total_sent += sent;
        total_accepted += accepted;
        assert_eq!(accepted, PINGS, "driver {driver}: each ping accepted exactly once, every repeat reported duplicate");
        let trail = tracking::trail(deps, &dispatcher, &driver, NOW - Duration::days(1), NOW).await.expect("trail");
        let seqs: Vec<u64> = trail.iter().map(|p| p.ping.seq).collect();
        assert_eq!(seqs.len(), PINGS, "driver {driver}: nothing lost, nothing twice");
        assert_eq!(seqs.iter().collect::<BTreeSet<_>>().len(), PINGS);
        assert_eq!(latest.map(|(_, s)| s), Some(PINGS as u64), "driver {driver}: ends at the newest ping");
        let stored = store.latest_position(&org, &driver, NOW).await.expect("read").expect("position");
        assert_eq!(stored.seq, PINGS as u64);
    }
    assert!(total_sent > DRIVERS * PINGS, "the scenario sends duplicates ({total_sent} sent)");
    assert_eq!(total_accepted, DRIVERS * PINGS);
    let board = tracking::positions(deps, &dispatcher).await.expect("positions");
    assert_eq!(board.len(), DRIVERS);
}
