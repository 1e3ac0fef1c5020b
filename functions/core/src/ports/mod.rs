//! The ports: what the use cases need from the outside world.

mod auth;
mod clock;
mod store;

pub use auth::{IssuedToken, PasswordHasher, Principal, TokenError, TokenIssuer, TokenVerifier};
pub use clock::{Clock, FixedClock, SystemClock};
pub use store::{
    ApiKeyRecord, BusinessSnapshot, IdempotencyRecord, KeyPage, OrderUpdate, OrdersWrite, PlanFilter,
    PlanPublication, SignInGrant, Store, StoreError, TrackingLink, UserAccount,
};
