//! The ports: what the use cases need from the outside world.

mod auth;
mod blobs;
mod clock;
mod notify;
mod outbox;
mod pod;
mod reports;
mod slots;
mod store;
mod tracking;

pub use auth::{IssuedToken, PasswordHasher, Principal, TokenError, TokenIssuer, TokenVerifier};
pub use clock::{Clock, FixedClock, SystemClock};
pub use notify::{Claim, NotifyStore, Outgoing, SendError, SendRecord, SendState, Sender};
pub use outbox::OutboxEntry;
pub use blobs::{BlobError, BlobStat, BlobStore, UploadGrant, UploadRecord, UploadState, is_valid_key};
pub use reports::{ReportStore, VersionedDay};
pub use slots::{HeldOrdersWrite, SlotCount, SlotHold, SlotKey};
pub use pod::{ActionWrite, DriverAction, MAX_OTP_CODES, OTP_KIND, OtpGuess, OtpRecord, PodStore};
pub use tracking::{PingWrite, PingsRecorded, TrackingStore};
pub use store::{
    ApiKeyRecord, BusinessSnapshot, IdempotencyRecord, KeyPage, OrderUpdate, OrdersWrite, PlanFilter,
    PlanPublication, SignInGrant, Store, StoreError, TrackingLink, UserAccount,
};
