//! The delivery slot reservation cases of the conformance suite (concurrent
//! intakes against a slot's capacity, refused batches, replays, releases),
//! on SQLite.

use doorstep_store_conformance::slots;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_slot_reservation_conformance_cases() {
    slots::run_slots(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}
