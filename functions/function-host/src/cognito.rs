//! `ApiAuth=cognito`: the template sets the user pool's issuer and app
//! client; with them the functions accept the pool's tokens besides their
//! own HS256 ones, and `/api/config` tells the web app to sign in with the
//! pool (`doorstep-cognito`).

use std::sync::Arc;

use doorstep_cognito::CognitoSettings;
use doorstep_core::ports::TokenVerifier;
use doorstep_domain::api::ClientAuth;

/// The user pool's issuer, `https://cognito-idp.{region}.amazonaws.com/{pool}`;
/// empty or unset: Cognito tokens are not accepted.
pub const COGNITO_ISSUER_ENV: &str = "DOORSTEP_COGNITO_ISSUER";
/// The app client tokens must be for.
pub const COGNITO_CLIENT_ID_ENV: &str = "DOORSTEP_COGNITO_CLIENT_ID";

/// The pool [`COGNITO_ISSUER_ENV`] and [`COGNITO_CLIENT_ID_ENV`] name;
/// `None` when either is unset or empty, or (logged) when they do not read
/// as a user pool.
pub fn cognito_from_env() -> Option<CognitoSettings> {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (issuer, client) = (var(COGNITO_ISSUER_ENV)?, var(COGNITO_CLIENT_ID_ENV)?);
    CognitoSettings::new(&issuer, &client, None, None)
        .inspect_err(|e| tracing::error!(error = %e, "Cognito settings are wrong; the user pool's tokens are refused"))
        .ok()
}

/// `own`, or `own` then the pool's tokens when the environment names a pool.
pub fn verifier_from_env(own: Arc<dyn TokenVerifier>) -> Arc<dyn TokenVerifier> {
    match cognito_from_env() {
        Some(settings) => settings.own_or_cognito(own),
        None => own,
    }
}

/// The sign-in `/api/config` announces: the pool's when the environment
/// names one, else Doorstep's own.
pub fn client_auth_from_env() -> ClientAuth {
    cognito_from_env().map(|s| s.client_auth()).unwrap_or_default()
}
