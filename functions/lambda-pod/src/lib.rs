//! The POD function on AWS Lambda: drivers' stop events (route start,
//! arrival, completion with proof, failure), one-time codes, photo upload
//! tickets (S3 presigned POST) and proofs read back, on DynamoDB and S3,
//! behind API Gateway (HTTP API, payload 2.0). The template routes
//! `/api/routes/*`, `/api/stops/*`, `/api/pod/*` and `GET /api/orders/{id}/pod`
//! here. `main` only reads the environment and calls [`app`]; the tests
//! drive the very same service with API Gateway events.
//!
//! An EventBridge schedule (hourly) invokes the same function to sweep
//! orphan blobs: photos uploaded with a ticket that no proof of delivery
//! cited within a day. [`handle`] tells the two event shapes apart.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use doorstep_core::Clock;
use doorstep_core::ports::{BlobStore, PodStore, TrackingStore};
use doorstep_core::usecases::pod::{BlobSweep, sweep_orphan_blobs};
use doorstep_core::Store;
use doorstep_function_host::{ClientAddressing, with_client_address};
use doorstep_http::{AppState, ClientSettings};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt as _;
use lambda_http::{Adapter, LambdaEvent};
use serde_json::value::RawValue;

pub use doorstep_function_host::{TOKEN_SECRET_ENV, init_logging};
pub use doorstep_blobs_s3::BUCKET_ENV;

/// Everything the function reads from its environment besides the AWS
/// SDK's own variables and `DOORSTEP_TABLE` (read by the store): read here,
/// once, with errors that say what to set.
#[derive(Clone)]
pub struct Settings {
    pub token_secret: Vec<u8>,
    /// The S3 bucket of photos and signature images.
    pub bucket: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = doorstep_function_host::token_secret_from_env()?;
        let bucket = std::env::var(BUCKET_ENV).with_context(|| format!("set {BUCKET_ENV} to the S3 bucket for proof-of-delivery photos"))?;
        Self::new(secret, bucket)
    }

    pub fn new(token_secret: Vec<u8>, bucket: String) -> anyhow::Result<Self> {
        let token_secret = doorstep_function_host::token_secret(token_secret)?;
        let bucket = bucket.trim().to_owned();
        if bucket.len() < 3 || bucket.len() > 63 || !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
            bail!("{BUCKET_ENV} must be an S3 bucket name (3-63 lower-case letters, digits, '-' or '.'), got {bucket:?}");
        }
        Ok(Self { token_secret, bucket })
    }
}

/// Handlers' shared state: the store for everything, the blob store for photos.
pub fn state<S: Store + TrackingStore + PodStore + doorstep_core::ports::ReportStore>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    let mut state = AppState::self_contained(store.clone(), clock, ClientSettings::default(), &settings.token_secret).with_pods(store).with_blobs(blobs);
    // With ApiAuth=cognito the user pool's tokens count too.
    state.verifier = doorstep_function_host::verifier_from_env(state.verifier.clone());
    state
}

/// The service `lambda_http::run` serves: the POD routes only.
pub fn app(state: AppState) -> Router {
    let router = doorstep_http::pod::router()
        .route("/api/{*rest}", axum::routing::any(unknown_route))
        .with_state(state);
    with_client_address(router, ClientAddressing::from_env())
}

async fn unknown_route(uri: axum::http::Uri) -> doorstep_http::HttpError {
    doorstep_http::HttpError::new(axum::http::StatusCode::NOT_FOUND, "unknown_route", format!("no API endpoint at {} in the POD function", uri.path()))
}

/// Most uploads one scheduled run looks at (the next run takes the rest).
pub const SWEEP_BATCH: u32 = 500;

/// The function: the POD routes, and the orphan blob sweep for the schedule.
#[derive(Clone)]
pub struct Function {
    pub router: Router,
    pub pods: Arc<dyn PodStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function").field("blobs", &self.blobs.backend()).finish_non_exhaustive()
    }
}

/// The fields that mark an EventBridge scheduled event.
#[derive(serde::Deserialize)]
struct EventSource {
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "detail-type")]
    detail_type: Option<String>,
}

/// Whether the payload is an EventBridge scheduled event (`source`
/// `aws.events`, `detail-type` `Scheduled Event`) rather than an HTTP request.
pub fn is_scheduled_event(payload: &RawValue) -> bool {
    serde_json::from_str::<EventSource>(payload.get())
        .is_ok_and(|e| e.source.as_deref() == Some("aws.events") && e.detail_type.as_deref() == Some("Scheduled Event"))
}

/// One invocation: the schedule sweeps orphan blobs and answers with its
/// counts; anything else must be an API Gateway request for the router.
pub async fn handle(function: &Function, event: LambdaEvent<Box<RawValue>>) -> Result<serde_json::Value, lambda_http::Error> {
    let LambdaEvent { payload, context } = event;
    if is_scheduled_event(&payload) {
        let BlobSweep { deleted, kept, failed } = sweep_orphan_blobs(function.pods.as_ref(), function.blobs.as_ref(), function.clock.as_ref(), SWEEP_BATCH)
            .await
            .map_err(|e| format!("the orphan blob sweep failed: {e}"))?;
        tracing::info!(deleted, kept, failed, "orphan blob sweep");
        return Ok(serde_json::json!({"deleted": deleted, "kept": kept, "failed": failed}));
    }
    let request: LambdaRequest = serde_json::from_str(payload.get()).map_err(|e| format!("neither an API Gateway request nor a scheduled event: {e}"))?;
    let response = Adapter::from(function.router.clone()).oneshot(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}
