//! The auto-dispatch cases of the conformance suite (an order's dispatch
//! hold, one more order into a published plan), on SQLite.

use doorstep_store_conformance::dispatch;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_dispatch_conformance_cases() {
    dispatch::run_dispatch(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
