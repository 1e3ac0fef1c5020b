//! Adapters that need nothing outside this process, so every host shares
//! them: HS256 access tokens and argon2 password hashing.

mod argon2id;
mod hs256;

pub use argon2id::Argon2Passwords;
pub use hs256::Hs256Tokens;
