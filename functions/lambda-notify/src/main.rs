//! Lambda entry point: DynamoDB Streams events to the notifier, and the
//! EventBridge schedule that sweeps entries the stream left pending.
//!
//! Configuration: the store's (`DOORSTEP_TABLE`, the AWS SDK's usual
//! variables), `DOORSTEP_PUBLIC_URL` (required: the tracking links' base),
//! `DOORSTEP_NOTIFY_LEASE_S` (default 300), and the channels' variables
//! (`DOORSTEP_SMTP_*`, `DOORSTEP_MAIL_FROM`, `DOORSTEP_SMS_*`). With
//! `DOORSTEP_SES_FROM` set, email goes through SES instead of SMTP
//! (`DOORSTEP_SES_CONFIGURATION_SET` optional).

use std::sync::Arc;

use anyhow::Context as _;
use doorstep_core::{Clock, SystemClock};
use doorstep_core::usecases::notify::NotifierConfig;
use doorstep_lambda_notify::ses::SesSender;
use doorstep_lambda_notify::{Notifier, handle_invocation};
use doorstep_store_dynamodb::DynamoStore;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    doorstep_function_host::init_logging();
    let public_url = std::env::var("DOORSTEP_PUBLIC_URL").context("DOORSTEP_PUBLIC_URL must be set (the tracking links' base URL)")?;
    let lease_s: i64 = std::env::var("DOORSTEP_NOTIFY_LEASE_S").ok().map(|v| v.parse()).transpose().context("DOORSTEP_NOTIFY_LEASE_S")?.unwrap_or(300);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut channels = doorstep_notify_channels::channels_from_env(clock.clone(), None)?;
    if let Some(from) = std::env::var("DOORSTEP_SES_FROM").ok().filter(|v| !v.trim().is_empty()) {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let set = std::env::var("DOORSTEP_SES_CONFIGURATION_SET").ok().filter(|v| !v.trim().is_empty());
        channels.email = Some(Arc::new(SesSender::new(aws_sdk_sesv2::Client::new(&config), from, set)));
    }
    let request_id = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "lambda".into());
    let mut config = NotifierConfig::new(public_url, format!("lambda-{request_id}-{}", std::process::id()));
    config.lease = time::Duration::seconds(lease_s);
    let notifier = Arc::new(Notifier { store: DynamoStore::from_env().await, channels, clock: Box::new(SystemClock), config });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let notifier = notifier.clone();
        async move { handle_invocation(&notifier, event.payload).await.map_err(lambda_runtime::Error::from) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
}
