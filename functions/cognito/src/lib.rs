//! Cognito user-pool sign-in for Doorstep's servers: with a pool configured
//! (`ApiAuth=cognito` in the Lambdas through `doorstep-function-host`, the
//! `--cognito-*` flags of `doorstep serve`), the pool's tokens count besides
//! Doorstep's own HS256 ones, checked by the core's `CognitoVerifier` with the
//! pool's JWKS fetched here over HTTP(S), and `/api/config` tells the web app
//! to sign dispatchers in with the pool. Reads no environment: the hosts do.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use doorstep_core::adapters::{CognitoVerifier, JwksFetcher};
use doorstep_core::ports::{Principal, TokenError, TokenVerifier};
use doorstep_domain::api::ClientAuth;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use time::OffsetDateTime;

/// A user pool whose tokens count and whose sign-in the web app uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoSettings {
    issuer: String,
    client_id: String,
    region: String,
    user_pool_id: String,
    jwks_url: Option<String>,
    endpoint: Option<String>,
}

impl CognitoSettings {
    /// Checks the issuer is a user pool's (`https://cognito-idp.{region}.amazonaws.com/{pool}`,
    /// which is also what a local test server puts in its tokens) and that the
    /// URLs are http(s); errors name the setting.
    pub fn new(issuer: &str, client_id: &str, jwks_url: Option<&str>, endpoint: Option<&str>) -> Result<Self, String> {
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        let (region, user_pool_id) = issuer
            .strip_prefix("https://cognito-idp.")
            .and_then(|rest| rest.split_once(".amazonaws.com/"))
            .filter(|(region, pool)| !region.is_empty() && !region.contains('/') && !pool.is_empty() && !pool.contains('/'))
            .map(|(region, pool)| (region.to_owned(), pool.to_owned()))
            .ok_or_else(|| format!("cognito issuer: expected https://cognito-idp.REGION.amazonaws.com/POOL_ID, got {issuer:?}"))?;
        let client_id = client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err("cognito client id: must not be empty".into());
        }
        let url = |name: &str, value: Option<&str>| -> Result<Option<String>, String> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) if v.starts_with("https://") || v.starts_with("http://") => Ok(Some(v.to_owned())),
                Some(v) => Err(format!("{name}: expected an http(s) URL, got {v:?}")),
            }
        };
        Ok(Self {
            jwks_url: url("cognito JWKS URL", jwks_url)?,
            endpoint: url("cognito endpoint", endpoint)?,
            issuer,
            client_id,
            region,
            user_pool_id,
        })
    }

    /// What `/api/config` tells the web app.
    pub fn client_auth(&self) -> ClientAuth {
        ClientAuth::Cognito {
            region: self.region.clone(),
            user_pool_id: self.user_pool_id.clone(),
            client_id: self.client_id.clone(),
            endpoint: self.endpoint.clone(),
        }
    }

    /// The pool's verifier, keys fetched over HTTP(S).
    pub fn verifier(&self) -> CognitoVerifier {
        let verifier = CognitoVerifier::new(&self.issuer, &self.client_id, Arc::new(HttpsJwks));
        match &self.jwks_url {
            Some(url) => verifier.with_jwks_url(url),
            None => verifier,
        }
    }

    /// `own` tokens first, then the pool's.
    pub fn own_or_cognito(&self, own: Arc<dyn TokenVerifier>) -> Arc<dyn TokenVerifier> {
        Arc::new(OwnOrCognito::new(own, self.verifier()))
    }
}

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

    #[test]
    fn settings_read_region_and_pool_from_the_issuer_for_the_web_app() {
        let settings = CognitoSettings::new("https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_AbC123/", " client-1 ", None, Some("http://127.0.0.1:5000/")).expect("settings");
        assert_eq!(
            settings.client_auth(),
            ClientAuth::Cognito {
                region: "eu-west-3".into(),
                user_pool_id: "eu-west-3_AbC123".into(),
                client_id: "client-1".into(),
                endpoint: Some("http://127.0.0.1:5000/".into()),
            }
        );
        assert_eq!(settings.client_auth().cognito_endpoint().as_deref(), Some("http://127.0.0.1:5000/"));
        let aws = CognitoSettings::new("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", "c", None, None).expect("settings");
        assert_eq!(aws.client_auth().cognito_endpoint().as_deref(), Some("https://cognito-idp.us-east-1.amazonaws.com/"));
    }

    #[test]
    fn settings_that_are_not_a_user_pool_are_refused_naming_the_setting() {
        let issuer = CognitoSettings::new("https://example.com/pool", "c", None, None).expect_err("not a pool");
        assert!(issuer.starts_with("cognito issuer:"), "{issuer}");
        let client = CognitoSettings::new("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", " ", None, None).expect_err("no client");
        assert!(client.starts_with("cognito client id:"), "{client}");
        let jwks = CognitoSettings::new("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", "c", Some("ftp://keys"), None).expect_err("bad url");
        assert!(jwks.starts_with("cognito JWKS URL:"), "{jwks}");
    }
}
