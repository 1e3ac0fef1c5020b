//! Signed webhooks: each event is POSTed as JSON to the organisation's
//! endpoints, signed so the receiver can tell it came from us, unchanged and
//! recently.
//!
//! # Verifying a Doorstep webhook (for integrators)
//!
//! Every request carries:
//!
//! - `Doorstep-Timestamp`: unix seconds when it was signed;
//! - `Doorstep-Signature`: `v1=<hex>`, where `<hex>` is the lowercase hex
//!   HMAC-SHA256, keyed with the endpoint's secret (its UTF-8 bytes), of the
//!   string `"{timestamp}.{body}"`: the timestamp header's value, a full
//!   stop, and the raw request body bytes exactly as received. Several
//!   comma-separated `v1=` values may appear; one match is enough.
//! - `Doorstep-Delivery-Id`: the same for every retry of one message; use it
//!   to ignore duplicates.
//!
//! To verify: recompute the HMAC over the raw body (before any JSON
//! parsing), compare it with each `v1=` value in constant time, and reject
//! the request unless one matches and the timestamp is within 5 minutes of
//! your clock (either way), which limits replays. [`verify`] does exactly
//! this.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use doorstep_core::Clock;
use doorstep_core::ports::{Outgoing, SendError, Sender};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::http_client::{Answer, HttpClient, client, exchange};

pub const TIMESTAMP_HEADER: &str = "Doorstep-Timestamp";
pub const SIGNATURE_HEADER: &str = "Doorstep-Signature";
pub const DELIVERY_ID_HEADER: &str = "Doorstep-Delivery-Id";
/// How far a timestamp may be from the receiver's clock, either way.
pub const TOLERANCE: time::Duration = time::Duration::minutes(5);

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Doorstep-Signature` value for a body signed at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp header is not unix seconds")]
    BadTimestamp,
    #[error("the timestamp is more than 5 minutes old")]
    TooOld,
    #[error("the timestamp is more than 5 minutes in the future")]
    InFuture,
    #[error("the signature header has no v1= value")]
    NoSignature,
    #[error("no signature matches the body")]
    Mismatch,
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Checks a webhook request: `timestamp` and `signature` are the
/// `Doorstep-Timestamp` and `Doorstep-Signature` header values, `body` the
/// raw body, `now` the receiver's clock. See the module docs for the
/// algorithm. Comparison is constant-time.
pub fn verify(secret: &str, timestamp: &str, signature: &str, body: &[u8], now: OffsetDateTime) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    let signed_at = OffsetDateTime::from_unix_timestamp(ts).map_err(|_| VerifyError::BadTimestamp)?;
    if signed_at < now - TOLERANCE {
        return Err(VerifyError::TooOld);
    }
    if signed_at > now + TOLERANCE {
        return Err(VerifyError::InFuture);
    }
    let candidates: Vec<Vec<u8>> = signature
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(unhex)
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    let expected = mac(secret, timestamp.trim(), body);
    // `verify_slice` compares in constant time.
    if candidates.iter().any(|c| expected.clone().verify_slice(c).is_ok()) { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// Waits between retries; injected so tests do not wait for real.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, duration: Duration);
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Bounded exponential backoff: `attempts` tries, waiting `base`, `2 base`,
/// `4 base` ... (at most `max`) between them.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
    /// Per request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 4 tries over about 7 s (plus up to 10 s per try): well inside the
    /// notifier's 5-minute claim lease.
    fn default() -> Self {
        Self { attempts: 4, base: Duration::from_secs(1), max: Duration::from_secs(8), timeout: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max)
    }
}

/// POSTs events to webhook endpoints.
pub struct WebhookSender {
    client: HttpClient,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl WebhookSender {
    pub fn new(clock: Arc<dyn Clock>, sleeper: Arc<dyn Sleeper>, policy: RetryPolicy) -> Self {
        Self { client: client(), clock, sleeper, policy }
    }

    fn request(&self, message: &Outgoing, secret: &str, body: &Bytes) -> Result<http::Request<Full<Bytes>>, SendError> {
        let ts = self.clock.now().unix_timestamp();
        http::Request::post(&message.recipient)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "Doorstep-Webhooks/1")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sign(secret, ts, body))
            .header(DELIVERY_ID_HEADER, &message.delivery_id)
            .body(Full::new(body.clone()))
            .map_err(|e| SendError::Refused(format!("bad webhook URL {}: {e}", message.recipient)))
    }
}

#[async_trait]
impl Sender for WebhookSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let secret = message.secret.as_deref().ok_or_else(|| SendError::Refused("webhook without a secret".into()))?;
        let mut event = message.event.clone();
        if let Some(map) = event.as_object_mut() {
            map.insert("delivery_id".into(), message.delivery_id.clone().into());
        }
        let body = Bytes::from(serde_json::to_vec(&event).map_err(|e| SendError::Refused(e.to_string()))?);
        let mut last = String::new();
        for attempt in 1..=self.policy.attempts.max(1) {
            if attempt > 1 {
                self.sleeper.sleep(self.policy.delay(attempt - 1)).await;
            }
            // Signed afresh on every try, so a late retry is not refused as old.
            let request = self.request(message, secret, &body)?;
            match exchange(&self.client, request, self.policy.timeout).await {
                Answer::Status(status, _) if status.is_success() => return Ok(()),
                Answer::Status(status, text) if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS || status == http::StatusCode::REQUEST_TIMEOUT => {
                    last = format!("{status}: {text}");
                }
                Answer::Status(status, text) => return Err(SendError::Refused(format!("{status}: {text}"))),
                Answer::NoAnswer(e) => last = e,
            }
            tracing::debug!(attempt, url = %message.recipient, error = %last, "webhook attempt failed");
        }
        Err(SendError::Unavailable(format!("after {} tries: {last}", self.policy.attempts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { attempts: 6, base: Duration::from_millis(100), max: Duration::from_millis(500), timeout: Duration::from_secs(1) };
        let delays: Vec<_> = (1..=5).map(|r| p.delay(r).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
    }
}
