//! Draining the transactional outbox: reading and settling entries, the send
//! ledger that makes every (order, attempt, trigger, channel) go out at most
//! once, and the channels that carry messages.

use async_trait::async_trait;
use doorstep_domain::OrgId;
use doorstep_domain::notification::Channel;
use doorstep_domain::time::rfc3339;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{OutboxEntry, StoreError};

/// Where one send stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// A drainer claimed it and is sending (or died while sending).
    Claimed,
    Sent,
    /// The provider refused it, or every retry failed.
    Failed,
    /// Nothing to send (no contact details, channel off or not configured).
    Skipped,
    /// The claim's lease ran out without a recorded outcome: the drainer
    /// died mid-send, so the message may or may not have gone out. Never
    /// resent (at most once beats at least once for customer messages).
    Unknown,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Unknown => "unknown",
        }
    }

    pub fn is_final(self) -> bool {
        self != Self::Claimed
    }
}

/// One row of the send ledger: one (order, attempt, trigger, channel slot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub org_id: OrgId,
    /// `{outbox key}#{slot}`, e.g. `ord_..#0#dispatched#email` or
    /// `...#webhook-erp`. Also the idempotency key sent to providers.
    pub key: String,
    pub outbox_key: String,
    pub channel: Channel,
    pub recipient: String,
    pub state: SendState,
    /// Who claimed it (one id per drainer run).
    pub claimant: String,
    #[serde(with = "rfc3339")]
    pub claimed_at: OffsetDateTime,
    /// After this a `claimed` record counts as abandoned (then `unknown`).
    #[serde(with = "rfc3339")]
    pub lease_until: OffsetDateTime,
    #[serde(default, with = "rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub error: Option<String>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The record is ours now: send, then settle it.
    Won,
    /// Someone claimed it before; here is the record as it is.
    Taken(SendRecord),
}

/// The outbox and send ledger. Implemented by both stores; conformance
/// cases in `doorstep-store-conformance` (module `notify`).
#[async_trait]
pub trait NotifyStore: Send + Sync + 'static {
    /// Undrained entries of every organisation, oldest first, at most `limit`.
    async fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError>;
    /// One entry by its key, drained or not.
    async fn outbox_entry(&self, org: &OrgId, key: &str) -> Result<Option<OutboxEntry>, StoreError>;
    /// Takes the entry off the pending list (it stays stored). Idempotent.
    async fn settle_outbox(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records `record` (state `claimed`) if its key is not in the ledger yet.
    async fn claim_send(&self, record: &SendRecord) -> Result<Claim, StoreError>;
    /// Moves a `claimed` record of `claimant` to a final state. Returns false
    /// (and changes nothing) when the record is not claimed by `claimant`.
    async fn settle_send(
        &self,
        org: &OrgId,
        key: &str,
        claimant: &str,
        state: SendState,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Marks a `claimed` record whose lease ended before `now` as `unknown`.
    /// Returns false when it is not (or no longer) an expired claim.
    async fn abandon_send(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// The ledger rows of one outbox entry, in key order.
    async fn sends_for(&self, org: &OrgId, outbox_key: &str) -> Result<Vec<SendRecord>, StoreError>;
}

/// One rendered message, ready for a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The ledger key: the providers' idempotency key (webhook
    /// `Doorstep-Delivery-Id`, SMTP `Message-ID`).
    pub delivery_id: String,
    pub channel: Channel,
    /// Email address, phone number, webhook URL or log label.
    pub recipient: String,
    /// The webhook's signing secret.
    pub secret: Option<String>,
    pub subject: String,
    pub body: String,
    /// The event as JSON (the webhook body; logged by the log sink).
    pub event: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The provider answered and refused: retrying will not help.
    #[error("refused: {0}")]
    Refused(String),
    /// No definite answer after the channel's own retries.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A channel adapter (SMTP/SES, SMS provider, webhooks, log sink).
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError>;
}
