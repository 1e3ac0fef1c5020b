use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use doorstep_core::StoreError;
use doorstep_domain::api::ApiError;

/// The one error shape every endpoint returns, with its status code.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub body: ApiError,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: ApiError::new(code, message) }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for HttpError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "not_found", error.to_string()),
            StoreError::AlreadyExists { .. } => Self::new(StatusCode::CONFLICT, "conflict", error.to_string()),
            StoreError::Corrupt(_) | StoreError::Unavailable(_) => {
                tracing::error!(%error, "store failure");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the data store is not answering; try again shortly")
            }
        }
    }
}

pub async fn unknown_api_route(uri: Uri) -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "unknown_route", format!("no API endpoint at {}", uri.path()))
}
