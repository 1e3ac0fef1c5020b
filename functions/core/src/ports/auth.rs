use async_trait::async_trait;
use doorstep_domain::auth::Role;
use doorstep_domain::{DriverId, OrgId};
use time::OffsetDateTime;

/// Who is calling: an organisation, a role in it, and who exactly (user id,
/// driver id or API key id). Every use case scopes its data to `org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org: OrgId,
    pub role: Role,
    pub subject: String,
}

impl Principal {
    /// The driver this principal is, if it is one.
    pub fn driver_id(&self) -> Option<DriverId> {
        if self.role == Role::Driver { DriverId::new(self.subject.clone()).ok() } else { None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is not valid")]
    Invalid,
    #[error("the access token has expired; sign in again")]
    Expired,
    #[error("cannot issue access tokens: {0}")]
    Issuing(String),
}

/// Checks a bearer token and says who holds it. `doorstep serve` verifies its
/// own HS256 tokens; on AWS a Cognito JWKS verifier plugs in here.
#[async_trait]
pub trait TokenVerifier: Send + Sync {
    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, TokenError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in_s: u64,
}

/// Signs access tokens after a successful sign-in.
pub trait TokenIssuer: Send + Sync {
    fn issue(&self, principal: &Principal, now: OffsetDateTime) -> Result<IssuedToken, TokenError>;
}

/// Password hashing behind a port so tests can use cheap parameters.
pub trait PasswordHasher: Send + Sync {
    /// A self-describing hash (PHC string).
    fn hash(&self, password: &str) -> Result<String, TokenError>;
    /// Whether `password` matches `hash`; false for a malformed hash.
    fn verify(&self, password: &str, hash: &str) -> bool;
}
