use std::sync::Arc;

use doorstep_core::adapters::{Argon2Passwords, Hs256Tokens};
use doorstep_core::ports::{PasswordHasher, TokenIssuer, TokenVerifier};
use doorstep_core::usecases::auth::{AuthDeps, RateLimits};
use doorstep_core::{Clock, Store};

/// What the map needs before any organisation is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    pub tile_url: String,
    pub tile_attribution: String,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tile_attribution: "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors".into(),
        }
    }
}

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub client: ClientSettings,
    pub verifier: Arc<dyn TokenVerifier>,
    pub issuer: Arc<dyn TokenIssuer>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub limits: RateLimits,
}

/// How long `doorstep serve`'s access tokens last: one working day.
pub const ACCESS_TOKEN_TTL_S: u64 = 12 * 3600;

impl AppState {
    /// One process that issues and verifies its own HS256 tokens (`doorstep serve`).
    pub fn self_contained(store: Arc<dyn Store>, clock: Arc<dyn Clock>, client: ClientSettings, token_secret: &[u8]) -> Self {
        let tokens = Arc::new(Hs256Tokens::new(token_secret, ACCESS_TOKEN_TTL_S));
        Self {
            store,
            clock,
            client,
            verifier: tokens.clone(),
            issuer: tokens,
            passwords: Arc::new(Argon2Passwords::default()),
            limits: RateLimits::default(),
        }
    }

    pub fn auth(&self) -> AuthDeps<'_> {
        AuthDeps {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            issuer: self.issuer.as_ref(),
            verifier: self.verifier.as_ref(),
            passwords: self.passwords.as_ref(),
            limits: self.limits,
        }
    }
}
