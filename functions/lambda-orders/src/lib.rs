//! The orders function on AWS Lambda: the same axum routers `doorstep serve`
//! mounts, on the DynamoDB store, behind API Gateway (HTTP API, payload 2.0).
//! `main` only reads the environment and calls [`app`]; the tests drive the
//! very same service with API Gateway events.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use doorstep_core::{Clock, Store};
use doorstep_http::{AppState, ClientSettings, api_router};
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;

/// Environment variable holding the secret that signs and verifies access
/// tokens (HS256, at least 32 bytes; every function of a deployment shares it).
pub const TOKEN_SECRET_ENV: &str = "DOORSTEP_TOKEN_SECRET";
pub const TILE_URL_ENV: &str = "DOORSTEP_TILE_URL";

/// What the function reads from its environment besides the AWS SDK's own
/// variables and `DOORSTEP_TABLE` (read by the store).
#[derive(Clone)]
pub struct Settings {
    pub token_secret: Vec<u8>,
    pub client: ClientSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("client", &self.client).finish_non_exhaustive()
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = std::env::var(TOKEN_SECRET_ENV).with_context(|| format!("set {TOKEN_SECRET_ENV} to at least 32 random bytes"))?;
        Self::new(secret.into_bytes(), std::env::var(TILE_URL_ENV).ok())
    }

    pub fn new(token_secret: Vec<u8>, tile_url: Option<String>) -> anyhow::Result<Self> {
        if token_secret.len() < 32 {
            bail!("{TOKEN_SECRET_ENV} must hold at least 32 bytes");
        }
        let mut client = ClientSettings::default();
        if let Some(url) = tile_url.filter(|u| !u.trim().is_empty()) {
            client.tile_url = url;
        }
        Ok(Self { token_secret, client })
    }
}

/// Handlers' shared state: HS256 tokens from the shared secret (the
/// function issues them at sign-in and verifies them on every call).
pub fn state<S: Store + doorstep_core::ports::TrackingStore + doorstep_core::ports::PodStore + doorstep_core::ports::ReportStore>(store: Arc<S>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    AppState::self_contained(store.clone(), clock, settings.client.clone(), &settings.token_secret).with_pods(store)
}

/// The service `lambda_http::run` serves.
pub fn app(state: AppState) -> Router {
    api_router(state).layer(axum::middleware::map_request(with_source_ip))
}

/// Rate limits count per client address, which the routers read from
/// `ConnectInfo`. In Lambda there is no socket: API Gateway's `sourceIp`
/// (the peer it saw, not a forwarding header anyone could send) stands in.
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
