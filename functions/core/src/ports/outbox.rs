//! The transactional outbox: a notification-worthy order event, written by
//! the store in the same transaction as the state change that caused it. A
//! notifier drains it later (DynamoDB Streams to the notify Lambda in AWS, a
//! background task in `doorstep serve`).

use doorstep_domain::notification::Trigger;
use doorstep_domain::FailureReason;
use doorstep_domain::time::{TimeWindow, rfc3339};
use doorstep_domain::{OrderId, OrgId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub org_id: OrgId,
    pub order_id: OrderId,
    /// The order's failed attempts when the event happened: a reattempt is a
    /// new delivery, so it may notify again.
    pub attempt: u32,
    pub trigger: Trigger,
    /// The customer's plain tracking token (only on `dispatched`; the store
    /// keeps just its hash elsewhere, so the message must carry it).
    #[serde(default)]
    pub tracking_token: Option<String>,
    #[serde(default)]
    pub eta: Option<TimeWindow>,
    #[serde(default)]
    pub failure_reason: Option<FailureReason>,
    /// The plain one-time code for proof of delivery (only on `dispatched`,
    /// for organisations that require it; the store keeps just its hash).
    #[serde(default)]
    pub otp: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

impl OutboxEntry {
    /// Unique per (order, attempt, trigger): writing the same event twice
    /// keeps one entry, so a trigger notifies at most once per attempt.
    /// `eta_changed` also carries the new window's start (unix seconds): each
    /// new window is its own event, the same change is still written once.
    pub fn key(&self) -> String {
        match (self.trigger, &self.eta) {
            (Trigger::EtaChanged, Some(w)) => format!("{}#{}#{}#{}", self.order_id, self.attempt, self.trigger.as_str(), w.start.unix_timestamp()),
            _ => format!("{}#{}#{}", self.order_id, self.attempt, self.trigger.as_str()),
        }
    }
}
