//! HTTP entry points. Handlers only translate between HTTP and use cases; all
//! behaviour lives in `doorstep-core`.

mod auth;
mod config;
mod error;
mod fleet;
pub mod extract;
mod health;
pub mod openapi;
mod orders;
mod plans;
mod reports;
mod slots;
pub mod pod;
mod state;
pub mod tracking;

pub use error::HttpError;
pub use state::{ACCESS_TOKEN_TTL_S, AppState, ClientSettings};

use axum::Router;

/// Every API route, as mounted by `doorstep serve` under the site root.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(config::router())
        .merge(auth::router())
        .merge(orders::router())
        .merge(plans::router())
        .merge(reports::router())
        .merge(pod::router())
        .merge(fleet::router())
        .merge(tracking::router())
        .merge(slots::router())
        .merge(openapi::router())
        .route("/api/{*rest}", axum::routing::any(error::unknown_api_route))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}
