use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use doorstep_core::{Error, StoreError};
use doorstep_domain::api::{ApiError, ErrorCode};
use doorstep_domain::validation::FieldError;

/// The one error shape every endpoint returns, with its status code.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub body: ApiError,
    /// Seconds, for 429 answers.
    pub retry_after_s: Option<u64>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: ApiError::new(code, message), retry_after_s: None }
    }

    pub fn from_api(body: ApiError) -> Self {
        let status = StatusCode::from_u16(body.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, body, retry_after_s: None }
    }

    /// A request body or query that could not be read, naming the field.
    pub fn unreadable(code: ErrorCode, path: Option<String>, message: String) -> Self {
        let mut body = ApiError::new(code, message.clone());
        if let Some(p) = path {
            body.details = vec![FieldError { path: p.clone(), code: code.as_str().into(), message }];
            body.field = Some(p);
        }
        Self::from_api(body)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::from_api(ApiError::new(ErrorCode::Unauthorized, message))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<Error> for HttpError {
    fn from(error: Error) -> Self {
        match &error {
            Error::Store(_) | Error::Token(_) | Error::Internal(_) => tracing::error!(%error, "request failed"),
            _ => tracing::debug!(%error, "request refused"),
        }
        let mut http = Self::from_api(ApiError::from(&error));
        if let Error::RateLimited { retry_after_s } = error {
            http.retry_after_s = Some(retry_after_s);
        }
        http
    }
}

impl From<StoreError> for HttpError {
    fn from(error: StoreError) -> Self {
        Error::from(error).into()
    }
}

pub async fn unknown_api_route(uri: Uri) -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "unknown_route", format!("no API endpoint at {}", uri.path()))
}

pub async fn method_not_allowed() -> HttpError {
    HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not accept that method")
}
