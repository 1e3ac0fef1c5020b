use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::crypto::random_bytes;
use crate::ports::{PasswordHasher, TokenError};

/// Argon2id password hashes. Parameters are stored in each hash, so changing
/// them later still verifies old hashes.
#[derive(Debug, Clone)]
pub struct Argon2Passwords {
    params: Params,
}

impl Default for Argon2Passwords {
    /// OWASP's recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self { params: Params::new(19 * 1024, 2, 1, None).unwrap_or_default() }
    }
}

impl Argon2Passwords {
    /// Deliberately weak and fast: for tests only.
    pub fn fast_for_tests() -> Self {
        Self { params: Params::new(64, 1, 1, None).unwrap_or_default() }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Passwords {
    fn hash(&self, password: &str) -> Result<String, TokenError> {
        let salt = SaltString::encode_b64(&random_bytes(16)).map_err(|e| TokenError::Issuing(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| TokenError::Issuing(e.to_string()))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|parsed| self.argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Passwords::fast_for_tests();
        let hash = hasher.hash("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(hasher.verify("correct horse", &hash));
        assert!(!hasher.verify("correct horse!", &hash));
        assert!(!hasher.verify("correct horse", "not a hash"));
        assert_ne!(hash, hasher.hash("correct horse").unwrap(), "salted");
    }
}
