//! What the Lambda functions share: JSON logs for CloudWatch, the HS256
//! token secret every function of a deployment verifies with, and the
//! client address the sign-in rate limits count by.
//!
//! Behind CloudFront, API Gateway's `sourceIp` is a CloudFront edge, so
//! every customer would share a handful of counters. The distribution adds
//! `CloudFront-Viewer-Address` (the viewer's IP and port) and a secret
//! origin header; the function trusts the viewer address only when that
//! secret matches the one its environment holds, because the API's own
//! `execute-api` URL stays reachable and anyone calling it could send a
//! made-up `CloudFront-Viewer-Address`.

/// JSON logs, one object per line, as CloudWatch Logs Insights reads them.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")))
        .with_current_span(false)
        .with_target(false)
        .init();
}

#[cfg(feature = "http")]
mod cognito;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
pub use cognito::{COGNITO_CLIENT_ID_ENV, COGNITO_ISSUER_ENV, client_auth_from_env, cognito_from_env, verifier_from_env};
#[cfg(feature = "http")]
pub use doorstep_cognito::{CognitoSettings, HttpsJwks, OwnOrCognito};
#[cfg(feature = "http")]
pub use http::*;
