//! The tracking function on AWS Lambda: drivers' ping uploads, the
//! dispatcher's position reads and the customer's public tracking read, on
//! the DynamoDB store, behind API Gateway (HTTP API, payload 2.0). `main`
//! only reads the environment and calls [`app`]; the tests drive the very
//! same service with API Gateway events.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use doorstep_core::ports::TrackingStore;
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::{Clock, Store};
use doorstep_http::{AppState, ClientSettings, HttpError};
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;

/// The secret that verifies drivers' and dispatchers' access tokens (HS256,
/// at least 32 bytes; every function of a deployment shares it).
pub const TOKEN_SECRET_ENV: &str = "DOORSTEP_TOKEN_SECRET";

/// What the function reads from its environment besides the AWS SDK's own
/// variables and `DOORSTEP_TABLE` (read by the store).
#[derive(Clone)]
pub struct Settings {
    pub token_secret: Vec<u8>,
    pub tracking: TrackingSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("tracking", &self.tracking).finish_non_exhaustive()
    }
}

impl Settings {
    /// `DOORSTEP_TOKEN_SECRET`, and the tracking settings
    /// (`DOORSTEP_PING_RETENTION_DAYS`, `DOORSTEP_TRACKING_LINK_DAYS_AFTER_DELIVERY`)
    /// through the one reader the HTTP layer has for them.
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = std::env::var(TOKEN_SECRET_ENV).with_context(|| format!("set {TOKEN_SECRET_ENV} to at least 32 random bytes"))?;
        let tracking = doorstep_http::tracking::settings_from_env().map_err(anyhow::Error::msg)?;
        Self::new(secret.into_bytes(), tracking)
    }

    pub fn new(token_secret: Vec<u8>, tracking: TrackingSettings) -> anyhow::Result<Self> {
        if token_secret.len() < 32 {
            bail!("{TOKEN_SECRET_ENV} must hold at least 32 bytes");
        }
        Ok(Self { token_secret, tracking })
    }
}

/// Handlers' shared state: HS256 tokens from the shared secret.
pub fn state<S: Store + TrackingStore + doorstep_core::ports::ReportStore>(store: Arc<S>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    AppState::self_contained(store, clock, ClientSettings::default(), &settings.token_secret).with_tracking_settings(settings.tracking)
}

/// The service `lambda_http::run` serves: the tracking routes only.
pub fn app(state: AppState) -> Router {
    doorstep_http::tracking::router()
        .route("/api/{*rest}", axum::routing::any(unknown_route))
        .with_state(state)
        .layer(axum::middleware::map_request(with_source_ip))
}

async fn unknown_route(uri: axum::http::Uri) -> HttpError {
    HttpError::new(axum::http::StatusCode::NOT_FOUND, "unknown_route", format!("the tracking function has no endpoint at {}", uri.path()))
}

/// Rate limits count per client address, which the routers read from
/// `ConnectInfo`. In Lambda there is no socket: API Gateway's `sourceIp`
/// stands in.
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
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .init();
}
