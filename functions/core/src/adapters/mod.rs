//! Adapters that need nothing outside this process, so every host shares
//! them: HS256 access tokens, argon2 password hashing, and Cognito token
//! verification (its key fetch is a port).

mod argon2id;
mod cognito;
mod hs256;

pub use argon2id::Argon2Passwords;
pub use cognito::{CognitoVerifier, JWKS_REFETCH_AFTER, JwksFetcher};
pub use hs256::Hs256Tokens;
