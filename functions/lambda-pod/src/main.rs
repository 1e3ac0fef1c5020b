//! AWS Lambda entry point of the POD function (stop events, proof of delivery,
//! uploads), and of its hourly orphan blob sweep.

use std::sync::Arc;

use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::SystemClock;
use doorstep_lambda_pod::{Function, Settings, app, handle, init_logging, state};
use doorstep_store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let settings = Settings::from_env()?;
    let store = DynamoStore::from_env().await;
    let blobs = S3BlobStore::from_env(&settings.bucket).await.map_err(|e| anyhow::anyhow!("cannot set up S3: {e}"))?;
    tracing::info!(table = store.table(), bucket = %settings.bucket, "pod function starting");
    let (store, blobs, clock) = (Arc::new(store), Arc::new(blobs), Arc::new(SystemClock));
    let state = state(store.clone(), blobs.clone(), clock.clone(), &settings);
    let function = Function { router: app(state), pods: store, blobs, clock };
    lambda_http::lambda_runtime::run(lambda_http::service_fn(move |event| {
        let function = function.clone();
        async move { handle(&function, event).await }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
