//! The tracking function on AWS Lambda: drivers' ping uploads, the
//! dispatcher's position reads and the customer's public tracking read, on
//! the DynamoDB store, behind API Gateway (HTTP API, payload 2.0). The
//! public read carries the proof of delivery (photo and signature links,
//! presigned S3 GETs), so the function also has the POD store and the S3
//! blob store, with read-only rights on the bucket. `main` only reads the
//! environment and calls [`app`]; the tests drive the very same service with
//! API Gateway events.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use doorstep_core::ports::{BlobStore, PodStore, ReportStore, TrackingStore};
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::{Clock, Store};
use doorstep_function_host::{ClientAddressing, with_client_address};
use doorstep_http::{AppState, ClientSettings, HttpError};

pub use doorstep_blobs_s3::BUCKET_ENV;
pub use doorstep_function_host::{TOKEN_SECRET_ENV, init_logging};

/// What the function reads from its environment besides the AWS SDK's own
/// variables and `DOORSTEP_TABLE` (read by the store).
#[derive(Clone)]
pub struct Settings {
    pub token_secret: Vec<u8>,
    pub tracking: TrackingSettings,
    /// The S3 bucket of photos and signature images (read only here).
    pub bucket: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("tracking", &self.tracking).field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl Settings {
    /// `DOORSTEP_TOKEN_SECRET`, the tracking settings
    /// (`DOORSTEP_PING_RETENTION_DAYS`, `DOORSTEP_TRACKING_LINK_DAYS_AFTER_DELIVERY`)
    /// through the one reader the HTTP layer has for them, and
    /// `DOORSTEP_POD_BUCKET`.
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = doorstep_function_host::token_secret_from_env()?;
        let tracking = doorstep_http::tracking::settings_from_env().map_err(anyhow::Error::msg)?;
        let bucket = std::env::var(BUCKET_ENV).with_context(|| format!("set {BUCKET_ENV} to the S3 bucket of proof-of-delivery photos"))?;
        Self::new(secret, tracking, bucket)
    }

    pub fn new(token_secret: Vec<u8>, tracking: TrackingSettings, bucket: String) -> anyhow::Result<Self> {
        let token_secret = doorstep_function_host::token_secret(token_secret)?;
        let bucket = bucket.trim().to_owned();
        if !(3..=63).contains(&bucket.len()) || !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
            bail!("{BUCKET_ENV} must be an S3 bucket name (3-63 lower-case letters, digits, '-' or '.'), got {bucket:?}");
        }
        Ok(Self { token_secret, tracking, bucket })
    }
}

/// Handlers' shared state: HS256 tokens from the shared secret; the POD
/// store and the blob store for the proof on the public tracking read.
pub fn state<S: Store + TrackingStore + ReportStore + PodStore>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    let mut state = AppState::self_contained(store.clone(), clock, ClientSettings::default(), &settings.token_secret)
        .with_tracking_settings(settings.tracking)
        .with_pods(store)
        .with_blobs(blobs);
    // With ApiAuth=cognito the user pool's tokens count too.
    state.verifier = doorstep_function_host::verifier_from_env(state.verifier.clone());
    state
}

/// The service `lambda_http::run` serves: the tracking routes only.
pub fn app(state: AppState) -> Router {
    let router = doorstep_http::tracking::router()
        .route("/api/{*rest}", axum::routing::any(unknown_route))
        .with_state(state);
    with_client_address(router, ClientAddressing::from_env())
}

async fn unknown_route(uri: axum::http::Uri) -> HttpError {
    HttpError::new(axum::http::StatusCode::NOT_FOUND, "unknown_route", format!("the tracking function has no endpoint at {}", uri.path()))
}
