//! The shared store conformance suite against a real moto_server: one
//! server per test process, a fresh table per case.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use doorstep_store_conformance as conformance;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_passes_the_store_conformance_suite() {
    let moto = MotoServer::start();
    let client = moto.client();
    let tables = AtomicUsize::new(0);
    let started = Instant::now();
    conformance::run_all(|| async {
        let n = tables.fetch_add(1, Ordering::Relaxed);
        let store = DynamoStore::new(client.clone(), format!("doorstep-case-{n}"));
        store.ensure_table().await.expect("create the table");
        store
    })
    .await;
    eprintln!("conformance on moto: {} cases in {:.1} s", tables.load(Ordering::Relaxed), started.elapsed().as_secs_f64());
}
