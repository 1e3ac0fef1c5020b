//! The report aggregate cases of the conformance suite, on a real
//! moto_server (a fresh table per case).

use std::sync::atomic::{AtomicUsize, Ordering};

use doorstep_store_conformance::reports;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_passes_the_report_conformance_cases() {
    let moto = MotoServer::start();
    let client = moto.client();
    let tables = AtomicUsize::new(0);
    reports::run_reports(|| async {
        let n = tables.fetch_add(1, Ordering::Relaxed);
        let store = DynamoStore::new(client.clone(), format!("doorstep-reports-{n}"));
        store.ensure_table().await.expect("create the table");
        store
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_gives_the_rebuild_the_same_day() {
    let moto = MotoServer::start();
    let client = moto.client();
    let tables = AtomicUsize::new(0);
    reports::run_rebuild(|| async {
        let n = tables.fetch_add(1, Ordering::Relaxed);
        let store = DynamoStore::new(client.clone(), format!("doorstep-rebuild-{n}"));
        store.ensure_table().await.expect("create the table");
        store
    })
    .await;
}
