//! The orders function on AWS Lambda: the same axum routers `doorstep serve`
//! mounts, on the DynamoDB store, behind API Gateway (HTTP API, payload 2.0).
//! `main` only reads the environment and calls [`app`]; the tests drive the
//! very same service with API Gateway events.

use std::sync::Arc;

use axum::Router;
use doorstep_core::{Clock, Store};
use doorstep_function_host::{ClientAddressing, with_client_address};
use doorstep_http::{AppState, ClientSettings, api_router};

pub use doorstep_function_host::{TOKEN_SECRET_ENV, init_logging};
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
        Self::new(doorstep_function_host::token_secret_from_env()?, std::env::var(TILE_URL_ENV).ok())
    }

    pub fn new(token_secret: Vec<u8>, tile_url: Option<String>) -> anyhow::Result<Self> {
        let token_secret = doorstep_function_host::token_secret(token_secret)?;
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
    let mut state = AppState::self_contained(store.clone(), clock, settings.client.clone(), &settings.token_secret).with_pods(store);
    // With ApiAuth=cognito the user pool's tokens count too.
    state.verifier = doorstep_function_host::verifier_from_env(state.verifier.clone());
    // ... and /api/config tells the web app to sign in with the pool.
    state.client.auth = doorstep_function_host::client_auth_from_env();
    state
}

/// The service `lambda_http::run` serves. Rate limits count by the client
/// address `doorstep_function_host` chooses (CloudFront's viewer address
/// behind the distribution, else API Gateway's `sourceIp`).
pub fn app(state: AppState) -> Router {
    with_client_address(api_router(state), ClientAddressing::from_env())
}
