//! The shared store conformance suite, run against SQLite (in memory and on disk).

use doorstep_store_conformance as conformance;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_in_memory_passes_the_store_conformance_suite() {
    conformance::run_all(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}

#[tokio::test]
async fn sqlite_file_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doorstep.sqlite3");
    let business = conformance::sample_business("org-reopen");
    {
        let store = SqliteStore::open(&path).expect("open");
        doorstep_core::Store::import_business(&store, &business).await.expect("import");
    }
    let reopened = SqliteStore::open(&path).expect("reopen");
    let read = doorstep_core::Store::business(&reopened, &business.organisation.id).await.expect("read back");
    assert_eq!(read, business);
}
