//! AWS Lambda entry point of the tracking function (pings, positions, public tracking read).

use std::sync::Arc;

use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::SystemClock;
use doorstep_lambda_tracking::{Settings, app, init_logging, state};
use doorstep_store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let settings = Settings::from_env()?;
    let store = DynamoStore::from_env().await;
    let blobs = S3BlobStore::from_env(&settings.bucket).await.map_err(|e| anyhow::anyhow!("cannot set up S3: {e}"))?;
    tracing::info!(table = store.table(), bucket = %settings.bucket, "tracking function starting");
    let state = state(Arc::new(store), Arc::new(blobs), Arc::new(SystemClock), &settings);
    lambda_http::run(app(state)).await.map_err(|e| anyhow::anyhow!(e))
}
