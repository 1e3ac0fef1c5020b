//! The auto-dispatch cases of the conformance suite (an order's dispatch
//! hold, one more order into a published plan), on a real moto_server (a
//! fresh table per case).

use std::sync::atomic::{AtomicUsize, Ordering};

use doorstep_store_conformance::dispatch;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_passes_the_dispatch_conformance_cases() {
    let moto = MotoServer::start();
    let client = moto.client();
    let tables = AtomicUsize::new(0);
    dispatch::run_dispatch(|| async {
        let n = tables.fetch_add(1, Ordering::Relaxed);
        let store = DynamoStore::new(client.clone(), format!("doorstep-dispatch-{n}"));
        store.ensure_table().await.expect("create the table");
        store
    })
    .await;
}
