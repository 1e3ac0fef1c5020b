//! The delivery slot reservation cases of the conformance suite (concurrent
//! intakes against a slot's capacity, refused batches, replays, releases),
//! on a real moto answering one request at a time (`MotoServer::start_serial`), a
//! fresh table per case.

use std::sync::atomic::{AtomicUsize, Ordering};

use doorstep_store_conformance::slots;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_passes_the_slot_reservation_conformance_cases() {
    let moto = MotoServer::start_serial();
    let client = moto.client();
    let tables = AtomicUsize::new(0);
    slots::run_slots(|| async {
        let n = tables.fetch_add(1, Ordering::Relaxed);
        let store = DynamoStore::new(client.clone(), format!("doorstep-slots-{n}"));
        store.ensure_table().await.expect("create the table");
        store
    })
    .await;
}
