//! Seeds a data directory with one organisation and its dispatcher, for
//! `cargo xtask simulate-day`: the API has no sign-up or fleet set-up yet,
//! so the business (organisation, depots, vehicles, drivers; no orders) is
//! read as JSON from stdin and written through the real SQLite store, and
//! the dispatcher is created by the real use case. Orders, plans and the
//! whole day then go through `doorstep serve`'s API.
//!
//! `seed_org DATA_DIR EMAIL PASSWORD < business.json`

use std::io::Read as _;

use anyhow::{Context as _, bail};
use doorstep_core::adapters::Argon2Passwords;
use doorstep_core::ports::BusinessSnapshot;
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::{Store, SystemClock};
use doorstep_domain::{Depot, Driver, Organisation, Vehicle};
use doorstep_store_sqlite::SqliteStore;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Business {
    organisation: Organisation,
    depots: Vec<Depot>,
    vehicles: Vec<Vehicle>,
    drivers: Vec<Driver>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, email, password] = args.as_slice() else { bail!("usage: seed_org DATA_DIR EMAIL PASSWORD < business.json") };
    let mut json = String::new();
    std::io::stdin().read_to_string(&mut json).context("read the business from stdin")?;
    let business: Business = serde_json::from_str(&json).context("the business JSON")?;
    std::fs::create_dir_all(data).with_context(|| format!("create {data}"))?;
    let store = SqliteStore::open(&std::path::Path::new(data).join("doorstep.sqlite3")).map_err(|e| anyhow::anyhow!("open the store: {e}"))?;
    let org = business.organisation.id.clone();
    let snapshot = BusinessSnapshot {
        organisation: business.organisation,
        depots: business.depots,
        drivers: business.drivers,
        vehicles: business.vehicles,
        orders: Vec::new(),
    };
    store.import_business(&snapshot).await.map_err(|e| anyhow::anyhow!("import the business: {e}"))?;
    create_dispatcher(&store, &SystemClock, &Argon2Passwords::default(), &org, email, "Dispatcher", password)
        .await
        .map_err(|e| anyhow::anyhow!("create the dispatcher: {e}"))?;
    Ok(())
}
