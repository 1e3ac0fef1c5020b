//! Verifies Cognito user-pool tokens (RS256) against the pool's JWKS, for
//! deployments with `ApiAuth=cognito`. The JWKS is fetched through a port
//! (the core has no HTTP client), once, and again only when a token names a
//! key the cached set lacks (key rotation), at most every 5 minutes.
//!
//! Claims: `iss` must be the pool; an ID token's `aud` or an access token's
//! `client_id` must be the app client; `cognito:groups` gives the role
//! (`dispatcher` wins over `driver`); `custom:org` the organisation; a
//! driver's `custom:driver` their driver id (a dispatcher's subject is `sub`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_domain::auth::Role;
use doorstep_domain::{DriverId, OrgId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::ports::{Principal, TokenError, TokenVerifier};

/// How soon an unknown key id may make the verifier fetch the JWKS again.
pub const JWKS_REFETCH_AFTER: Duration = Duration::minutes(5);

/// Fetches a JWKS document (an HTTPS GET in the host).
#[async_trait]
pub trait JwksFetcher: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<String, String>;
}

struct Cached {
    keys: Arc<JwkSet>,
    fetched_at: OffsetDateTime,
}

pub struct CognitoVerifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    fetcher: Arc<dyn JwksFetcher>,
    cache: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for CognitoVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoVerifier").field("issuer", &self.issuer).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    aud: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
    #[serde(default, rename = "custom:org")]
    org: Option<String>,
    #[serde(default, rename = "custom:driver")]
    driver: Option<String>,
}

impl CognitoVerifier {
    /// For the user pool `https://cognito-idp.{region}.amazonaws.com/{pool}`
    /// (`issuer`) and its app client; the JWKS is `{issuer}/.well-known/jwks.json`.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>, fetcher: Arc<dyn JwksFetcher>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        let jwks_url = format!("{issuer}/.well-known/jwks.json");
        Self { issuer, client_id: client_id.into(), jwks_url, fetcher, cache: Mutex::new(None) }
    }

    /// Fetches the keys from `url` instead, for a pool served somewhere
    /// other than its issuer (a local Cognito test server).
    pub fn with_jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// The cached key set, fetched first if there is none, or again if
    /// `kid` is not in it and the last fetch is old enough.
    async fn keys_for(&self, kid: &str, now: OffsetDateTime) -> Result<Arc<JwkSet>, TokenError> {
        let cached = {
            let guard = self.cache.lock().map_err(|_| TokenError::Invalid)?;
            guard.as_ref().map(|c| (c.keys.clone(), c.fetched_at))
        };
        if let Some((keys, fetched_at)) = &cached
            && (keys.find(kid).is_some() || now - *fetched_at < JWKS_REFETCH_AFTER)
        {
            return Ok(keys.clone());
        }
        let text = self.fetcher.fetch(&self.jwks_url).await.map_err(|e| {
            tracing::warn!(url = %self.jwks_url, error = %e, "cannot fetch the user pool's keys");
            TokenError::Invalid
        })?;
        let keys: JwkSet = serde_json::from_str(&text).map_err(|e| {
            tracing::warn!(url = %self.jwks_url, error = %e, "the user pool's key set is unreadable");
            TokenError::Invalid
        })?;
        let keys = Arc::new(keys);
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some(Cached { keys: keys.clone(), fetched_at: now });
        }
        Ok(keys)
    }
}

#[async_trait]
impl TokenVerifier for CognitoVerifier {
    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let keys = self.keys_for(&kid, now).await?;
        let jwk = keys.find(&kid).ok_or(TokenError::Invalid)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        // Expiry against the injected clock below; audience by token kind.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| TokenError::Invalid)?.claims;
        let for_us = match claims.token_use.as_deref() {
            Some("id") => claims.aud.as_deref() == Some(self.client_id.as_str()),
            Some("access") => claims.client_id.as_deref() == Some(self.client_id.as_str()),
            _ => false,
        };
        if !for_us {
            return Err(TokenError::Invalid);
        }
        if claims.exp <= now.unix_timestamp() {
            return Err(TokenError::Expired);
        }
        let org = claims.org.as_deref().and_then(|o| OrgId::new(o).ok()).ok_or(TokenError::Invalid)?;
        let role = if claims.groups.iter().any(|g| g == "dispatcher") {
            Role::Dispatcher
        } else if claims.groups.iter().any(|g| g == "driver") {
            Role::Driver
        } else {
            return Err(TokenError::Invalid);
        };
        let subject = match role {
            Role::Driver => claims.driver.as_deref().and_then(|d| DriverId::new(d).ok()).ok_or(TokenError::Invalid)?.to_string(),
            _ => claims.sub,
        };
        Ok(Principal { org, role, subject })
    }
}
