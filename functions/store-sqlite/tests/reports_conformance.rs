//! The report aggregate cases of the conformance suite, on SQLite.

use doorstep_store_conformance::reports;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_report_conformance_cases() {
    reports::run_reports(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}

#[tokio::test]
async fn sqlite_gives_the_rebuild_the_same_day() {
    reports::run_rebuild(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
