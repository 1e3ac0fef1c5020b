//! Sign-in and credentials on the wire: who may call the API and how they prove it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{DriverId, OrgId};
use crate::time::rfc3339;
use crate::validation::{Path, Report, Validate, codes};

/// What a caller may do. Every credential carries exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Plans the day: every order and plan of the organisation.
    Dispatcher,
    /// Drives routes: only their own route.
    Driver,
    /// An organisation's API key: may create and read orders.
    Integration,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatcher => "dispatcher",
            Self::Driver => "driver",
            Self::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Dispatcher, Self::Driver, Self::Integration]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// `POST /api/auth/login`: a dispatcher's email and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("email"), &self.email, 254);
        report.required_text(&path.field("password"), &self.password, 256);
    }
}

/// `POST /api/auth/driver`: either the one-time link token, or the
/// organisation, driver and PIN a dispatcher handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DriverSignInRequest {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub org_id: Option<OrgId>,
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    #[serde(default)]
    pub pin: Option<String>,
}

impl Validate for DriverSignInRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        match (&self.token, &self.pin) {
            (Some(t), None) => report.required_text(&path.field("token"), t, 128),
            (None, Some(p)) => {
                if !(p.len() == SIGN_IN_PIN_DIGITS && p.bytes().all(|b| b.is_ascii_digit())) {
                    report.push(
                        &path.field("pin"),
                        codes::INVALID_FORMAT,
                        format!("must be {SIGN_IN_PIN_DIGITS} digits"),
                    );
                }
                if self.org_id.is_none() {
                    report.push(&path.field("org_id"), codes::REQUIRED, "is required with a PIN");
                }
                if self.driver_id.is_none() {
                    report.push(&path.field("driver_id"), codes::REQUIRED, "is required with a PIN");
                }
            }
            _ => report.push(path, codes::REQUIRED, "send either token, or org_id + driver_id + pin"),
        }
    }
}

/// Digits in a driver's sign-in PIN.
pub const SIGN_IN_PIN_DIGITS: usize = 8;

/// A signed-in session: send `Authorization: Bearer {access_token}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in_s: u64,
    pub org_id: OrgId,
    pub role: Role,
    /// User id, driver id or API key id.
    pub subject: String,
}

/// `POST /api/drivers/{id}/sign-in-codes`: both ways for one driver to
/// sign in once, shown to the dispatcher once and never stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInCodes {
    pub driver_id: DriverId,
    /// For a link such as `/driver?token=...`.
    pub token: String,
    pub pin: String,
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `POST /api/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
}

impl Validate for NewApiKey {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), &self.name, 100);
    }
}

/// An API key as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeySummary {
    pub id: String,
    pub name: String,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

/// The answer to `POST /api/api-keys`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    pub key: ApiKeySummary,
    /// `dsk_...`; send as `Authorization: Bearer` or `X-Api-Key`.
    pub secret: String,
}
