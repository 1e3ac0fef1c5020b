//! Storage for the driver's side of a delivery: route starts, arrivals,
//! proofs of delivery and one-time codes. Adapters: SQLite and DynamoDB, both
//! held to the shared conformance suite.

use async_trait::async_trait;
use doorstep_domain::pod::{PodRecord, VisitRecord};
use doorstep_domain::{OrderId, OrgId};
use time::OffsetDateTime;

use super::{IdempotencyRecord, OrderUpdate, OutboxEntry, StoreError, UploadRecord};

/// Everything one driver action writes, all or nothing: order transitions
/// (each conditional on its version), the proof or visit, the outbox entries
/// and the idempotency record (conditional on its key being free).
#[derive(Debug, Clone, PartialEq)]
pub struct DriverAction {
    pub org_id: OrgId,
    pub orders: Vec<OrderUpdate>,
    pub pod: Option<PodRecord>,
    pub visit: Option<VisitRecord>,
    pub outbox: Vec<OutboxEntry>,
    /// A one-time code guess, counted in the same transaction as the
    /// idempotency record, so a replay never spends another attempt.
    pub otp_guess: Option<OtpGuess>,
    pub record: IdempotencyRecord,
}

/// One guess at an attempt's one-time code. `expected_attempts` is the guess
/// count the caller read: the write is refused (a `VersionConflict` of kind
/// [`OTP_KIND`], `actual` the count found) if another guess landed first, or
/// if the code is verified or locked by then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpGuess {
    pub order_id: OrderId,
    pub attempt: u32,
    pub expected_attempts: u32,
    pub correct: bool,
}

/// The `kind` of store errors about one-time codes.
pub const OTP_KIND: &str = "one-time code";

/// What [`PodStore::write_driver_action`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionWrite {
    Written,
    /// The key was already recorded (unexpired): nothing was written.
    AlreadyRecorded(IdempotencyRecord),
}

/// A one-time code for an order's delivery attempt. Only salted hashes are
/// kept (`salt:sha256hex` each); re-dispatching the same attempt adds a code
/// rather than replacing one the customer may already hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub attempt: u32,
    pub code_hashes: Vec<String>,
    /// Guesses so far (right or wrong).
    pub attempts: u32,
    pub max_attempts: u32,
    pub verified: bool,
    pub expires_at: OffsetDateTime,
}

impl OtpRecord {
    pub fn locked(&self) -> bool {
        !self.verified && self.attempts >= self.max_attempts
    }
}

/// Most codes kept per attempt (older ones are dropped).
pub const MAX_OTP_CODES: usize = 3;

#[async_trait]
pub trait PodStore: Send + Sync + 'static {
    /// Writes the action in one transaction. If the idempotency key is taken
    /// (unexpired at `record.created_at`), writes nothing and returns the
    /// stored record; a stale order version is `VersionConflict` and nothing
    /// is written either. The proof's blobs are marked referenced in the
    /// same transaction (see [`PodStore::record_upload`]); a blob the sweep
    /// is deleting or deleted is `NotFound` (kind `"photo"`).
    async fn write_driver_action(&self, action: &DriverAction) -> Result<ActionWrite, StoreError>;

    /// Replaces the order if it is still at the expected version and adds the
    /// outbox entries, in one transaction (a dispatcher's deliver or fail).
    async fn update_order_notifying(&self, update: &OrderUpdate, outbox: &[OutboxEntry]) -> Result<(), StoreError>;

    /// The order's proofs, oldest attempt first.
    async fn pod_records(&self, org: &OrgId, order: &OrderId) -> Result<Vec<PodRecord>, StoreError>;

    /// The visit recorded for a route (start) or stop (arrival).
    async fn visit(&self, org: &OrgId, subject_id: &str) -> Result<Option<VisitRecord>, StoreError>;

    /// Adds a code hash to the attempt's record, creating it if absent
    /// (keeping its guess count if present), and sets its expiry.
    async fn add_otp_code(&self, record: &OtpRecord) -> Result<(), StoreError>;

    async fn otp(&self, org: &OrgId, order: &OrderId, attempt: u32) -> Result<Option<OtpRecord>, StoreError>;

    /// Records an upload ticket as `pending` (nothing cites its blob yet).
    /// Recording the same key again changes nothing.
    async fn record_upload(&self, upload: &UploadRecord) -> Result<(), StoreError>;

    async fn upload(&self, org: &OrgId, key: &str) -> Result<Option<UploadRecord>, StoreError>;

    /// Uploads the orphan sweep must look at, oldest first, at most `limit`:
    /// `pending` ones granted before `granted_before`, and `deleting` ones
    /// (a sweep that claimed them and did not finish).
    async fn uploads_to_sweep(&self, granted_before: OffsetDateTime, limit: u32) -> Result<Vec<UploadRecord>, StoreError>;

    /// `pending` to `deleting`, only if still pending: false when a proof
    /// cited it meanwhile (or it is already claimed), and then the blob
    /// must be kept.
    async fn claim_upload_deletion(&self, org: &OrgId, key: &str) -> Result<bool, StoreError>;

    /// `deleting` to `deleted`, once the blob is gone; the record stays as a
    /// tombstone so a late proof citing the key is refused.
    async fn finish_upload_deletion(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;
}
