//! The operator's commands for a DynamoDB deployment, as a library so the
//! tests drive them against moto: `create-org` makes an organisation and its
//! first dispatcher (argon2id password through the same use case sign-up by
//! API uses), checking everything before it writes anything.

use doorstep_core::crypto::new_id;
use doorstep_core::ports::{BusinessSnapshot, UserAccount};
use doorstep_core::usecases::auth::create_dispatcher;
use doorstep_core::ports::PasswordHasher;
use doorstep_core::{Clock, Store};
use doorstep_domain::validation::is_plausible_email;
use doorstep_domain::{OrgId, Organisation};

/// The shortest password `create_dispatcher` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    /// IANA zone, e.g. `Europe/Paris`.
    pub timezone: String,
    pub email: String,
    pub dispatcher_name: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOrgError {
    /// Bad input, naming the option at fault; nothing was written.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Core(#[from] doorstep_core::Error),
    #[error(transparent)]
    Store(#[from] doorstep_core::ports::StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> CreateOrgError {
    CreateOrgError::Invalid { field, message: message.into() }
}

/// Creates the organisation (no depots, drivers or orders yet: the
/// dispatcher adds them in the app) and its first dispatcher account.
pub async fn create_org(
    store: &dyn Store,
    clock: &dyn Clock,
    passwords: &dyn PasswordHasher,
    new: &NewOrganisation,
) -> Result<(Organisation, UserAccount), CreateOrgError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(invalid("--org-name", "must not be empty"));
    }
    let timezone = new.timezone.trim();
    if timezone.is_empty() || !timezone.contains('/') && timezone != "UTC" {
        return Err(invalid("--timezone", format!("{timezone:?} is not an IANA zone such as Europe/Paris")));
    }
    let email = new.email.trim().to_lowercase();
    if !is_plausible_email(&email) {
        return Err(invalid("--email", format!("{email:?} is not an email address")));
    }
    if new.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid("--password-stdin", format!("the password needs at least {MIN_PASSWORD_CHARS} characters")));
    }
    // Emails are unique across organisations: refuse before writing the
    // organisation, so a taken address leaves nothing behind.
    if store.user_by_email(&email).await?.is_some() {
        return Err(invalid("--email", format!("{email} already has an account")));
    }
    let now = clock.now();
    let id = OrgId::new(new_id("org", now)).map_err(|e| invalid("--org-name", format!("cannot make an organisation id: {e}")))?;
    let organisation = Organisation {
        id: id.clone(),
        name: name.to_owned(),
        timezone: timezone.to_owned(),
        default_service_time_s: 180,
        default_time_windows: Vec::new(),
        settings: Default::default(),
    };
    let snapshot = BusinessSnapshot { organisation: organisation.clone(), depots: Vec::new(), drivers: Vec::new(), vehicles: Vec::new(), orders: Vec::new() };
    store.import_business(&snapshot).await?;
    let user = create_dispatcher(store, clock, passwords, &id, &email, new.dispatcher_name.trim(), &new.password).await?;
    Ok((organisation, user))
}
