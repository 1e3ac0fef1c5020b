//! The tracking function on AWS Lambda: drivers' ping uploads, the
//! dispatcher's position reads and the customer's public tracking read, on
//! the DynamoDB store, behind API Gateway (HTTP API, payload 2.0). `main`
//! only reads the environment and calls [`app`]; the tests drive the very
//! same service with API Gateway events.

use std::sync::Arc;

use axum::Router;
use doorstep_core::ports::TrackingStore;
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::{Clock, Store};
use doorstep_function_host::{ClientAddressing, with_client_address};
use doorstep_http::{AppState, ClientSettings, HttpError};

pub use doorstep_function_host::{TOKEN_SECRET_ENV, init_logging};

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
        let secret = doorstep_function_host::token_secret_from_env()?;
        let tracking = doorstep_http::tracking::settings_from_env().map_err(anyhow::Error::msg)?;
        Self::new(secret, tracking)
    }

    pub fn new(token_secret: Vec<u8>, tracking: TrackingSettings) -> anyhow::Result<Self> {
        let token_secret = doorstep_function_host::token_secret(token_secret)?;
        Ok(Self { token_secret, tracking })
    }
}

/// Handlers' shared state: HS256 tokens from the shared secret.
pub fn state<S: Store + TrackingStore + doorstep_core::ports::ReportStore>(store: Arc<S>, clock: Arc<dyn Clock>, settings: &Settings) -> AppState {
    let mut state = AppState::self_contained(store, clock, ClientSettings::default(), &settings.token_secret).with_tracking_settings(settings.tracking);
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
