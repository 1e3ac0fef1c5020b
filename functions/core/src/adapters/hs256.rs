use async_trait::async_trait;
use doorstep_domain::OrgId;
use doorstep_domain::auth::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ports::{IssuedToken, Principal, TokenError, TokenIssuer, TokenVerifier};

const ISSUER: &str = "doorstep";

/// Access tokens signed with one shared secret (HS256): `doorstep serve`
/// both issues and verifies them.
pub struct Hs256Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_s: u64,
}

impl std::fmt::Debug for Hs256Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hs256Tokens").field("ttl_s", &self.ttl_s).finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    org: String,
    role: Role,
    iat: i64,
    exp: i64,
}

impl Hs256Tokens {
    /// Tokens last `ttl_s` seconds. The secret should hold at least 32 random bytes.
    pub fn new(secret: &[u8], ttl_s: u64) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl_s }
    }
}

impl TokenIssuer for Hs256Tokens {
    fn issue(&self, principal: &Principal, now: OffsetDateTime) -> Result<IssuedToken, TokenError> {
        let iat = now.unix_timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: principal.subject.clone(),
            org: principal.org.to_string(),
            role: principal.role,
            iat,
            exp: iat + i64::try_from(self.ttl_s).unwrap_or(i64::MAX / 2),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Issuing(e.to_string()))?;
        Ok(IssuedToken { token, expires_in_s: self.ttl_s })
    }
}

#[async_trait]
impl TokenVerifier for Hs256Tokens {
    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock below, not the OS clock.
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= now.unix_timestamp() {
            return Err(TokenError::Expired);
        }
        let org = OrgId::new(claims.org).map_err(|_| TokenError::Invalid)?;
        Ok(Principal { org, role: claims.role, subject: claims.sub })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn principal() -> Principal {
        Principal { org: OrgId::new("org-a").unwrap(), role: Role::Driver, subject: "drv-1".into() }
    }

    #[tokio::test]
    async fn issued_tokens_verify_until_they_expire() {
        let tokens = Hs256Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let now = datetime!(2026-01-01 12:00 UTC);
        let issued = tokens.issue(&principal(), now).unwrap();
        assert_eq!(tokens.verify(&issued.token, now).await.unwrap(), principal());
        let later = now + time::Duration::seconds(60);
        assert!(matches!(tokens.verify(&issued.token, later).await, Err(TokenError::Expired)));
    }

    #[tokio::test]
    async fn tokens_signed_with_another_secret_or_tampered_are_invalid() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let ours = Hs256Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let theirs = Hs256Tokens::new(b"another secret, just as long....", 60);
        let foreign = theirs.issue(&principal(), now).unwrap().token;
        assert!(matches!(ours.verify(&foreign, now).await, Err(TokenError::Invalid)));
        let mut tampered = ours.issue(&principal(), now).unwrap().token;
        tampered.insert(tampered.len() / 2, 'x');
        assert!(matches!(ours.verify(&tampered, now).await, Err(TokenError::Invalid)));
        assert!(matches!(ours.verify("not a jwt", now).await, Err(TokenError::Invalid)));
    }
}
