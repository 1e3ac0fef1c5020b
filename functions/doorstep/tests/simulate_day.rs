//! The day simulator of `cargo xtask simulate-day` on a tiny city (2
//! drivers, 12 orders) against the real `doorstep serve` binary: every
//! request answers 2xx, every order ends delivered or failed, and the
//! notification log sink matches the orders.
//!
//! The simulator lives in the xtask crate, which has no library target;
//! its std/domain-only modules are compiled into this test as they are.

#[allow(dead_code)]
#[path = "../../../infra/xtask/src/serve_client.rs"]
mod serve_client;

#[allow(dead_code)]
#[path = "../../../infra/xtask/src/simulate_day/city.rs"]
mod city;

#[allow(dead_code)]
#[path = "../../../infra/xtask/src/simulate_day/sim.rs"]
mod sim;

use std::path::Path;

use doorstep_core::adapters::Argon2Passwords;
use doorstep_core::ports::BusinessSnapshot;
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::{Store, SystemClock};
use doorstep_store_sqlite::SqliteStore;

const PASSWORD: &str = "tiny-city-dispatcher-password";

/// What `seed_org` does for the xtask command, in-process.
fn seed(data: &Path, drivers: usize) {
    let (date, _) = city::simulated_date(time::OffsetDateTime::now_utc());
    let b = city::city(drivers, date);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&data.join("doorstep.sqlite3")).expect("open the store");
        let org = b.organisation.id.clone();
        let snapshot = BusinessSnapshot { organisation: b.organisation, depots: b.depots, drivers: b.drivers, vehicles: b.vehicles, orders: Vec::new() };
        store.import_business(&snapshot).await.expect("import the city");
        create_dispatcher(&store, &SystemClock, &Argon2Passwords::default(), &org, city::DISPATCHER_EMAIL, "Dispatcher", PASSWORD)
            .await
            .expect("create the dispatcher");
    });
}

#[test]
fn a_tiny_simulated_day_ends_every_order_delivered_or_failed_without_api_errors() {
    let data = tempfile::tempdir().expect("temp dir");
    seed(data.path(), 2);
    let (server, host) =
        serve_client::start_serve(Path::new(env!("CARGO_BIN_EXE_doorstep")), data.path(), &data.path().join("no-web-app"), &[]).expect("start doorstep serve");
    // This seed fails one attempt; a ping a minute keeps the test short.
    let config = sim::Config { drivers: 2, orders: 12, seed: 1, ping_every_s: 60, batch: 3, iterations: 300 };
    let report = sim::run(&config, &sim::Target { host: &host, data: data.path(), password: PASSWORD }, &mut |line| eprintln!("{line}")).expect("the day runs");
    drop(server);

    assert!(report.api_errors.is_empty(), "API errors: {:#?}", report.api_errors);
    assert_eq!(report.rejected_pings, 0);
    assert_eq!((report.orders, report.planned, report.unassigned), (12, 12, 0), "every order is planned");
    assert_eq!(report.delivered() + report.failed(), 12, "final states: {:?}", report.states);
    assert_eq!(report.states.len(), usize::from(report.delivered() > 0) + usize::from(report.failed() > 0), "{:?}", report.states);
    assert_eq!(report.notified("dispatched"), 12, "{:?}", report.notifications);
    assert_eq!((report.notified("delivered"), report.notified("failed")), (report.delivered(), report.failed()), "{:?}", report.notifications);
    assert!(report.pings > 100 && !report.live_eta_error_min.is_empty(), "pings {} and live ETAs {:?}", report.pings, report.live_eta_error_min);
    assert_eq!(report.dispatch_eta_error_min.len(), 12);
}
