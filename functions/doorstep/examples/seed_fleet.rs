//! Seeds a data directory for `cargo xtask bench-pings`: the demo business
//! plus N drivers, each with a vehicle, an order and a route on a plan
//! published today (UTC), and a dispatcher to sign drivers in with. Uses the
//! real SQLite store and use cases. Prints one `driver route` line per driver.
//!
//! `cargo run --release -p doorstep --example seed_fleet -- DATA_DIR DRIVERS PASSWORD`

use anyhow::{Context as _, bail};
use doorstep_core::adapters::Argon2Passwords;
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::{Clock, Store, SystemClock};
use doorstep_store_conformance::tracking::{fleet_business, publish_fleet_plans};
use doorstep_store_sqlite::SqliteStore;

const DISPATCHER_EMAIL: &str = "bench@fleet.example";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, drivers, password] = args.as_slice() else { bail!("usage: seed_fleet DATA_DIR DRIVERS PASSWORD") };
    let drivers: usize = drivers.parse().context("DRIVERS must be a number")?;
    std::fs::create_dir_all(data).with_context(|| format!("create {data}"))?;
    let store = SqliteStore::open(&std::path::Path::new(data).join("doorstep.sqlite3")).map_err(|e| anyhow::anyhow!("open the store: {e}"))?;
    let clock = SystemClock;
    let business = fleet_business("org-fleet", drivers);
    store.import_business(&business).await.map_err(|e| anyhow::anyhow!("import the fleet: {e}"))?;
    create_dispatcher(&store, &clock, &Argon2Passwords::default(), &business.organisation.id, DISPATCHER_EMAIL, "Bench", password)
        .await
        .map_err(|e| anyhow::anyhow!("create the dispatcher: {e}"))?;
    for (driver, route) in publish_fleet_plans(&store, &clock, &business, clock.now().date()).await {
        println!("{driver} {route}");
    }
    Ok(())
}
