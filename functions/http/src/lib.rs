//! HTTP entry points. Handlers only translate between HTTP and use cases; all
//! behaviour lives in `doorstep-core`.

mod config;
mod error;
mod health;
mod state;

pub use error::HttpError;
pub use state::{AppState, ClientSettings};

use axum::Router;

/// Every API route, as mounted by `doorstep serve` under the site root.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(config::router())
        .route("/api/{*rest}", axum::routing::any(error::unknown_api_route))
        .with_state(state)
}
