//! `ApiAuth=cognito`: the functions accept the user pool's tokens besides
//! their own HS256 ones (sign-in still issues those), checked by the core's
//! `CognitoVerifier` with the pool's JWKS fetched here over HTTPS.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use doorstep_core::adapters::{CognitoVerifier, JwksFetcher};
use doorstep_core::ports::{Principal, TokenError, TokenVerifier};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use time::OffsetDateTime;

/// The user pool's issuer, `https://cognito-idp.{region}.amazonaws.com/{pool}`;
/// empty or unset: Cognito tokens are not accepted.
pub const COGNITO_ISSUER_ENV: &str = "DOORSTEP_COGNITO_ISSUER";
/// The app client tokens must be for.
pub const COGNITO_CLIENT_ID_ENV: &str = "DOORSTEP_COGNITO_CLIENT_ID";

/// GETs the JWKS over HTTPS (rustls with ring, webpki roots), 5 s at most.
#[derive(Debug, Default)]
pub struct HttpsJwks;

#[async_trait]
impl JwksFetcher for HttpsJwks {
    async fn fetch(&self, url: &str) -> Result<String, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| e.to_string())?
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let uri: axum::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let response = tokio::time::timeout(Duration::from_secs(5), client.get(uri)).await.map_err(|_| format!("{url}: timed out"))?.map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| format!("{url}: {e}"))?.to_bytes();
        if !status.is_success() {
            return Err(format!("{url}: HTTP {status}"));
        }
        String::from_utf8(body.to_vec()).map_err(|e| format!("{url}: {e}"))
    }
}

/// The functions' own tokens first, then the user pool's.
pub struct OwnOrCognito {
    own: Arc<dyn TokenVerifier>,
    cognito: CognitoVerifier,
}

impl std::fmt::Debug for OwnOrCognito {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnOrCognito").field("cognito", &self.cognito).finish_non_exhaustive()
    }
}

impl OwnOrCognito {
    pub fn new(own: Arc<dyn TokenVerifier>, cognito: CognitoVerifier) -> Self {
        Self { own, cognito }
    }
}

#[async_trait]
impl TokenVerifier for OwnOrCognito {
    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, TokenError> {
        match self.own.verify(token, now).await {
            Err(TokenError::Invalid) => self.cognito.verify(token, now).await,
            other => other,
        }
    }
}

/// `own`, or [`OwnOrCognito`] when [`COGNITO_ISSUER_ENV`] and
/// [`COGNITO_CLIENT_ID_ENV`] are set (the template sets them with
/// `ApiAuth=cognito`).
pub fn verifier_from_env(own: Arc<dyn TokenVerifier>) -> Arc<dyn TokenVerifier> {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match (var(COGNITO_ISSUER_ENV), var(COGNITO_CLIENT_ID_ENV)) {
        (Some(issuer), Some(client)) => Arc::new(OwnOrCognito::new(own, CognitoVerifier::new(issuer, client, Arc::new(HttpsJwks)))),
        _ => own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::adapters::Hs256Tokens;
    use doorstep_core::ports::TokenIssuer;
    use doorstep_domain::auth::Role;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    const JWKS: &str = include_str!("../../core/tests/fixtures/cognito-test-jwks.json");
    const KEY_DER: &[u8] = include_bytes!("../../core/tests/fixtures/cognito-test-key.der");
    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-22 12:00 UTC);

    #[tokio::test]
    async fn own_tokens_still_work_and_pool_tokens_are_checked_against_the_fetched_keys() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://{}/pool", listener.local_addr().expect("addr"));
        let app = axum::Router::new().route("/pool/.well-known/jwks.json", axum::routing::get(|| async { JWKS }));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let own = Arc::new(Hs256Tokens::new(b"test secret, 32 bytes or more....", 3600));
        let verifier = OwnOrCognito::new(own.clone(), CognitoVerifier::new(&issuer, "client-1", Arc::new(HttpsJwks)));
        let principal = Principal { org: "org-a".parse().expect("org"), role: Role::Dispatcher, subject: "usr-1".into() };
        let mine = own.issue(&principal, NOW).expect("issue").token;
        assert_eq!(verifier.verify(&mine, NOW).await.expect("own token"), principal);

        let claims = serde_json::json!({
            "iss": issuer, "sub": "cognito-sub", "token_use": "id", "aud": "client-1", "exp": NOW.unix_timestamp() + 600,
            "cognito:groups": ["driver"], "custom:org": "org-a", "custom:driver": "drv-1",
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-key-1".into());
        let pool = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(KEY_DER)).expect("sign");
        let driver = verifier.verify(&pool, NOW).await.expect("pool token over the fetched JWKS");
        assert_eq!((driver.role, driver.subject.as_str()), (Role::Driver, "drv-1"));
        assert!(matches!(verifier.verify("not.a.token", NOW).await, Err(TokenError::Invalid)));
    }
}
