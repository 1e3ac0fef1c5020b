//! Signing in, credentials and who may do what.
//!
//! Failed logins, PINs and API keys are counted in the store (so stateless
//! functions share the count) per account and per client address, in fixed
//! windows; past the limit every attempt is refused until the window ends.

use doorstep_domain::auth::{
    ApiKeyCreated, ApiKeySummary, DriverSignInRequest, LoginRequest, NewApiKey, Role, SignInCodes,
    SIGN_IN_PIN_DIGITS, TokenResponse,
};
use doorstep_domain::validation::is_plausible_email;
use doorstep_domain::{DriverId, OrgId, Validate};
use time::{Duration, OffsetDateTime};

use crate::crypto::{new_id, random_digits, random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::{
    ApiKeyRecord, Clock, PasswordHasher, Principal, SignInGrant, Store, TokenIssuer, TokenVerifier, UserAccount,
};

/// Prefix of integration API keys, so they are recognisable in logs and scanners.
pub const API_KEY_PREFIX: &str = "dsk_";
/// How long a driver's sign-in link and PIN stay valid.
pub const SIGN_IN_CODE_TTL: Duration = Duration::hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_account: u64,
    pub per_client: u64,
    pub window_s: i64,
}

impl Default for RateLimits {
    /// 5 failures per account and 20 per client address in 15 minutes.
    fn default() -> Self {
        Self { per_account: 5, per_client: 20, window_s: 15 * 60 }
    }
}

/// What the auth use cases need.
#[derive(Clone, Copy)]
pub struct AuthDeps<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub issuer: &'a dyn TokenIssuer,
    pub verifier: &'a dyn TokenVerifier,
    pub passwords: &'a dyn PasswordHasher,
    pub limits: RateLimits,
}

/// A credential as presented: a bearer token (JWT or `dsk_` API key) or an
/// `X-Api-Key` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Bearer(String),
    ApiKey(String),
}

/// Refuses unless the caller has one of `roles`.
pub fn require(principal: &Principal, roles: &[Role], what: &str) -> Result<()> {
    if roles.contains(&principal.role) { Ok(()) } else { Err(Error::forbidden_role(what)) }
}

/// Who presents `credential`. `client` is the caller's address, for rate limits.
pub async fn authenticate(deps: AuthDeps<'_>, credential: &Credential, client: &str) -> Result<Principal> {
    let now = deps.clock.now();
    let key = match credential {
        Credential::ApiKey(k) => k.as_str(),
        Credential::Bearer(b) if b.starts_with(API_KEY_PREFIX) => b.as_str(),
        Credential::Bearer(jwt) => return Ok(deps.verifier.verify(jwt, now).await?),
    };
    let client_key = format!("apikey:client:{client}");
    check_limits(deps, now, &[(client_key.clone(), deps.limits.per_client)]).await?;
    match deps.store.api_key_by_hash(&sha256_hex(key.as_bytes())).await? {
        Some(record) if !record.revoked => {
            Ok(Principal { org: record.org_id, role: Role::Integration, subject: record.id })
        }
        _ => {
            record_failure(deps, now, &[client_key]).await?;
            Err(Error::Unauthorized("the API key is not valid".into()))
        }
    }
}

/// A dispatcher's email and password for an access token.
pub async fn login(deps: AuthDeps<'_>, request: &LoginRequest, client: &str) -> Result<TokenResponse> {
    request.validate()?;
    let now = deps.clock.now();
    let email = request.email.trim().to_lowercase();
    let keys = [format!("login:account:{email}"), format!("login:client:{client}")];
    check_limits(deps, now, &[(keys[0].clone(), deps.limits.per_account), (keys[1].clone(), deps.limits.per_client)])
        .await?;
    let user = deps.store.user_by_email(&email).await?;
    let verified = match &user {
        Some(u) => deps.passwords.verify(&request.password, &u.password_hash),
        None => {
            // Spend the same time as for a real account so timing does not reveal which emails exist.
            let _ = deps.passwords.hash(&request.password);
            false
        }
    };
    match user {
        Some(user) if verified => {
            let principal = Principal { org: user.org_id, role: user.role, subject: user.id };
            token_response(deps, &principal, now)
        }
        _ => {
            record_failure(deps, now, &keys).await?;
            Err(Error::Unauthorized("the email or password is wrong".into()))
        }
    }
}

/// A driver's one-time link token or PIN for an access token.
pub async fn driver_sign_in(deps: AuthDeps<'_>, request: &DriverSignInRequest, client: &str) -> Result<TokenResponse> {
    request.validate()?;
    let now = deps.clock.now();
    let mut keys = vec![format!("driver:client:{client}")];
    let mut limits = vec![(keys[0].clone(), deps.limits.per_client)];
    let lookup = match (&request.token, &request.org_id, &request.driver_id, &request.pin) {
        (Some(token), ..) => sha256_hex(token.as_bytes()),
        (None, Some(org), Some(driver), Some(pin)) => {
            let account = format!("driver:account:{org}:{driver}");
            limits.push((account.clone(), deps.limits.per_account));
            keys.push(account);
            pin_hash(org, driver, pin)
        }
        // validate() has refused every other combination.
        _ => return Err(Error::Unauthorized("send a sign-in token or PIN".into())),
    };
    check_limits(deps, now, &limits).await?;
    let grant = deps.store.take_sign_in_grant(&lookup, now).await?;
    let Some(grant) = grant else {
        record_failure(deps, now, &keys).await?;
        return Err(Error::Unauthorized("the sign-in code is wrong, used or expired; ask your dispatcher for a new one".into()));
    };
    let driver = deps.store.get_driver(&grant.org_id, &grant.driver_id).await?;
    if !driver.active {
        return Err(Error::Unauthorized("this driver is not active".into()));
    }
    let principal = Principal { org: grant.org_id, role: Role::Driver, subject: grant.driver_id.to_string() };
    token_response(deps, &principal, now)
}

/// A dispatcher issues a one-time link token and PIN for one of their drivers,
/// replacing any earlier ones.
pub async fn issue_sign_in_codes(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    driver_id: &DriverId,
) -> Result<SignInCodes> {
    require(principal, &[Role::Dispatcher], "issue driver sign-in codes")?;
    store.get_driver(&principal.org, driver_id).await?;
    let now = clock.now();
    let token = random_token(24);
    let pin = random_digits(SIGN_IN_PIN_DIGITS);
    let expires_at = now + SIGN_IN_CODE_TTL;
    store
        .put_sign_in_grant(&SignInGrant {
            org_id: principal.org.clone(),
            driver_id: driver_id.clone(),
            token_hash: sha256_hex(token.as_bytes()),
            pin_hash: pin_hash(&principal.org, driver_id, &pin),
            expires_at,
        })
        .await?;
    Ok(SignInCodes { driver_id: driver_id.clone(), token, pin, expires_at })
}

pub async fn create_api_key(store: &dyn Store, clock: &dyn Clock, principal: &Principal, new: &NewApiKey) -> Result<ApiKeyCreated> {
    require(principal, &[Role::Dispatcher], "create API keys")?;
    new.validate()?;
    let now = clock.now();
    let secret = format!("{API_KEY_PREFIX}{}", random_token(32));
    let record = ApiKeyRecord {
        id: new_id("key", now),
        org_id: principal.org.clone(),
        name: new.name.trim().to_owned(),
        secret_hash: sha256_hex(secret.as_bytes()),
        created_at: now,
        revoked: false,
    };
    store.create_api_key(&record).await?;
    Ok(ApiKeyCreated { key: summary(&record), secret })
}

pub async fn list_api_keys(store: &dyn Store, principal: &Principal) -> Result<Vec<ApiKeySummary>> {
    require(principal, &[Role::Dispatcher], "list API keys")?;
    Ok(store.list_api_keys(&principal.org).await?.iter().map(summary).collect())
}

pub async fn revoke_api_key(store: &dyn Store, principal: &Principal, id: &str) -> Result<()> {
    require(principal, &[Role::Dispatcher], "revoke API keys")?;
    Ok(store.revoke_api_key(&principal.org, id).await?)
}

/// Creates a dispatcher account. Fails with a conflict if the email is taken.
pub async fn create_dispatcher(
    store: &dyn Store,
    clock: &dyn Clock,
    passwords: &dyn PasswordHasher,
    org: &OrgId,
    email: &str,
    name: &str,
    password: &str,
) -> Result<UserAccount> {
    let email = email.trim().to_lowercase();
    if !is_plausible_email(&email) {
        return Err(Error::conflict(format!("{email:?} is not an email address")));
    }
    if password.chars().count() < 10 {
        return Err(Error::conflict("passwords need at least 10 characters"));
    }
    let now = clock.now();
    let user = UserAccount {
        id: new_id("usr", now),
        org_id: org.clone(),
        email,
        name: name.to_owned(),
        role: Role::Dispatcher,
        password_hash: passwords.hash(password)?,
        created_at: now,
    };
    store.create_user(&user).await?;
    Ok(user)
}

fn summary(record: &ApiKeyRecord) -> ApiKeySummary {
    ApiKeySummary { id: record.id.clone(), name: record.name.clone(), created_at: record.created_at, revoked: record.revoked }
}

fn pin_hash(org: &OrgId, driver: &DriverId, pin: &str) -> String {
    sha256_hex(format!("pin\n{org}\n{driver}\n{pin}").as_bytes())
}

fn token_response(deps: AuthDeps<'_>, principal: &Principal, now: OffsetDateTime) -> Result<TokenResponse> {
    let issued = deps.issuer.issue(principal, now)?;
    Ok(TokenResponse {
        access_token: issued.token,
        token_type: "Bearer".into(),
        expires_in_s: issued.expires_in_s,
        org_id: principal.org.clone(),
        role: principal.role,
        subject: principal.subject.clone(),
    })
}

/// The current window's counter key and when the window ends.
fn window(limits: RateLimits, key: &str, now: OffsetDateTime) -> (String, OffsetDateTime) {
    let size = limits.window_s.max(1);
    let index = now.unix_timestamp().div_euclid(size);
    let end = OffsetDateTime::from_unix_timestamp((index + 1) * size).unwrap_or(now);
    (format!("rate:{key}:{index}"), end)
}

async fn check_limits(deps: AuthDeps<'_>, now: OffsetDateTime, keys: &[(String, u64)]) -> Result<()> {
    for (key, max) in keys {
        let (counter, end) = window(deps.limits, key, now);
        if deps.store.counter(&counter, now).await? >= *max {
            let retry_after_s = u64::try_from((end - now).whole_seconds()).unwrap_or(1).max(1);
            tracing::warn!(key, "sign-in rate limit reached");
            return Err(Error::RateLimited { retry_after_s });
        }
    }
    Ok(())
}

async fn record_failure(deps: AuthDeps<'_>, now: OffsetDateTime, keys: &[String]) -> Result<()> {
    for key in keys {
        let (counter, end) = window(deps.limits, key, now);
        deps.store.bump_counter(&counter, now, end).await?;
    }
    Ok(())
}
