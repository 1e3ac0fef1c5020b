//! The customer-write cases of the conformance suite (note and rating on
//! the order), on SQLite.

use doorstep_store_conformance::customer;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_customer_conformance_cases() {
    customer::run_customer(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
