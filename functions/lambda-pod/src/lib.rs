//! The POD function on AWS Lambda: drivers' stop events (route start,
//! arrival, completion with proof, failure), one-time codes, photo upload
//! tickets (S3 presigned POST) and proofs read back, on DynamoDB and S3,
//! behind API Gateway (HTTP API, payload 2.0). The template routes
//! `/api/routes/*`, `/api/stops/*`, `/api/pod/*` and `GET /api/orders/{id}/pod`
//! here. `main` only reads the environment and calls [`app`]; the tests
//! drive the very same service with API Gateway events.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use doorstep_core::Clock;
use doorstep_core::ports::{BlobStore, PodStore, TrackingStore};
use doorstep_core::Store;
use doorstep_http::{AppState, ClientSettings};
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;

/// The secret that verifies access tokens (HS256, at least 32 bytes; every
/// function of a deployment shares it).
pub const TOKEN_SECRET_ENV: &str = "DOORSTEP_TOKEN_SECRET";
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
        let secret = std::env::var(TOKEN_SECRET_ENV).with_context(|| format!("set {TOKEN_SECRET_ENV} to at least 32 random bytes"))?;
        let bucket = std::env::var(BUCKET_ENV).with_context(|| format!("set {BUCKET_ENV} to the S3 bucket for proof-of-delivery photos"))?;
        Self::new(secret.into_bytes(), bucket)
    }

    pub fn new(token_secret: Vec<u8>, bucket: String) -> anyhow::Result<Self> {
        if token_secret.len() < 32 {
            bail!("{TOKEN_SECRET_ENV} must hold at least 32 bytes");
        }
        let bucket = bucket.trim().to_owned();
        if bucket.len() < 3 || bucket.len() > 63 || !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
            bail!("{BUCKET_ENV} must be an S3 bucket name (3-63 lower-case letters, digits, '-' or '.'), got {bucket:?}");
        }
        Ok(Self { token_secret, bucket })
    }
}

/// Handlers' shared state: the store for everything, the blob store for photos.
pub fn state<S: Store + TrackingStore + PodStore + doorstep_core::ports::ReportStore>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    AppState::self_contained(store.clone(), clock, ClientSettings::default(), &settings.token_secret).with_pods(store).with_blobs(blobs)
}

/// The service `lambda_http::run` serves: the POD routes only.
pub fn app(state: AppState) -> Router {
    doorstep_http::pod::router()
        .route("/api/{*rest}", axum::routing::any(unknown_route))
        .with_state(state)
        .layer(axum::middleware::map_request(with_source_ip))
}

async fn unknown_route(uri: axum::http::Uri) -> doorstep_http::HttpError {
    doorstep_http::HttpError::new(axum::http::StatusCode::NOT_FOUND, "unknown_route", format!("no API endpoint at {} in the POD function", uri.path()))
}

/// Rate limits count per client address, read from `ConnectInfo`; in Lambda
/// API Gateway's `sourceIp` stands in for the socket's peer.
async fn with_source_ip(mut request: Request) -> Request {
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    request
}

/// JSON logs, one object per line, as CloudWatch Logs Insights reads them.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")))
        .with_current_span(false)
        .with_target(false)
        .init();
}
