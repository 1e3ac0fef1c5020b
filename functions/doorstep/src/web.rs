//! Serving the built web app next to the API.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The whole site: API routes first, then static files, then the app's
/// `index.html` for client-side routes such as `/driver`, and the tracking
/// page's `track.html` for `/t/{token}`.
///
/// Every response is cross-origin isolated (COOP same-origin + COEP
/// credentialless) so the optimizer can use threads, while OSM tiles still load.
pub fn site(api: Router, web_dir: &Path) -> Router {
    let index = web_dir.to_path_buf();
    let files = ServeDir::new(web_dir)
        .fallback(axum::routing::get(app_shell).with_state(index));
    api.fallback_service(files)
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-embedder-policy"),
            HeaderValue::from_static("credentialless"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// The page a client-side route gets: the customer tracking page
/// (`/t/{token}`) has its own small bundle; every other route is the app.
fn shell_file(path: &str) -> &'static str {
    if path.starts_with("/t/") { "track.html" } else { "index.html" }
}

/// Client-side routes get `index.html` (or `track.html`); a missing file (a
/// path with an extension) is a plain 404 rather than HTML that would confuse the browser.
async fn app_shell(State(web_dir): State<PathBuf>, request: Request) -> Response {
    let path = request.uri().path();
    let last_segment = path.rsplit('/').next().unwrap_or("");
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let file = shell_file(path);
    match tokio::fs::read_to_string(web_dir.join(file)).await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(format!(
                "<!doctype html><title>Doorstep</title><h1>The web app is not built</h1>\
                 <p>No <code>{file}</code> in <code>{}</code>. Run <code>cargo xtask dev</code> \
                 from the Doorstep checkout, or pass <code>--web DIR</code>.</p>",
                web_dir.display()
            )),
        )
            .into_response(),
    }
}
