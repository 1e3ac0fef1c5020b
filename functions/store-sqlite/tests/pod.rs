//! The POD conformance cases on SQLite.

use doorstep_store_conformance::pod::run_pod;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_pod_conformance_cases() {
    run_pod(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
