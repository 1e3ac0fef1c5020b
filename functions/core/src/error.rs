//! What a use case can refuse, mapped one-to-one onto the API error shape.

use doorstep_domain::api::{ApiError, ErrorCode};
use doorstep_domain::{IllegalTransition, ValidationErrors};

use crate::ports::{StoreError, TokenError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id} is at version {actual}, not {expected}; reload and retry")]
    VersionConflict { what: &'static str, id: String, expected: u64, actual: u64 },
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The thing is in a state that does not allow this (e.g. editing a delivered order).
    #[error("{0}")]
    IllegalState(String),
    /// Refused because of the current state of things; `field` names the culprit.
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    #[error("too many failed attempts; try again in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Token(TokenError),
    /// A bug on our side; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn forbidden_role(what: &str) -> Self {
        Self::Forbidden(format!("your role may not {what}"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into(), field: None }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Self::NotFound { what: kind, id },
            StoreError::VersionConflict { kind, id, expected, actual } => Self::VersionConflict { what: kind, id, expected, actual },
            StoreError::AlreadyExists { kind, id } => Self::conflict(format!("{kind} {id} already exists")),
            other => Self::Store(other),
        }
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid | TokenError::Expired => Self::Unauthorized(e.to_string()),
            TokenError::Issuing(_) => Self::Token(e),
        }
    }
}

impl From<&Error> for ApiError {
    fn from(e: &Error) -> Self {
        match e {
            Error::Invalid(v) => v.clone().into(),
            Error::Unauthorized(m) => ApiError::new(ErrorCode::Unauthorized, m.clone()),
            Error::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m.clone()),
            Error::NotFound { .. } => ApiError::new(ErrorCode::NotFound, e.to_string()),
            Error::VersionConflict { .. } => ApiError { field: Some("version".into()), ..ApiError::new(ErrorCode::VersionConflict, e.to_string()) },
            Error::IllegalTransition(t) => t.clone().into(),
            Error::IllegalState(m) => ApiError::new(ErrorCode::IllegalTransition, m.clone()),
            Error::Conflict { message, field } => ApiError { field: field.clone(), ..ApiError::new(ErrorCode::Conflict, message.clone()) },
            Error::RateLimited { .. } => ApiError::new(ErrorCode::RateLimited, e.to_string()),
            Error::Store(StoreError::Unavailable(_)) => {
                ApiError::new(ErrorCode::StoreUnavailable, "the data store is not answering; try again shortly")
            }
            // Corrupt data and signing failures are ours: say little, log the rest.
            Error::Store(_) | Error::Token(_) | Error::Internal(_) => ApiError::internal(),
        }
    }
}
