//! The large plan case of the conformance suite (5,000 stops on 250 routes:
//! save, read back, update, publish, concurrent updates), on SQLite.

use doorstep_store_conformance::large_plans;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_large_plan_conformance_case() {
    large_plans::run_large_plans(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
