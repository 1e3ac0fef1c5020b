//! The fleet and settings cases of the conformance suite, on SQLite.

use doorstep_store_conformance::fleet;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_fleet_conformance_cases() {
    fleet::run_fleet(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
