//! The notify Lambda: DynamoDB Streams of the single table deliver every
//! new or rewritten outbox item (`SK` starting with `OUTBOX#`); each is
//! drained through the shared notifier use case and its send ledger.
//!
//! The stream delivers each item once: a batch that keeps failing, is
//! throttled or outlives the retry limits goes to the dead-letter queue and
//! its entries would stay pending for ever. So the function also runs on an
//! EventBridge schedule (every 5 minutes) and then sweeps the sparse GSI1
//! `OUTBOX` partition for entries pending for more than a minute, through
//! the same ledger: a sweep racing a stream delivery never sends twice.
//! [`invocation`] tells the two event shapes apart.
//!
//! Records that fail are returned as `BatchItemFailures` (their sequence
//! numbers), so the event source mapping (with `ReportBatchItemFailures`
//! and bisect-on-error) retries only them. A retry cannot send twice: the
//! ledger claims each (order, attempt, trigger, channel) before sending.

pub mod ses;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use doorstep_core::Clock;
use doorstep_core::ports::OutboxEntry;
use doorstep_core::usecases::notify::{Channels, DrainReport, NotifierConfig, SWEEP_MIN_AGE, process_entry, sweep_stale};
use doorstep_store_dynamodb::DynamoStore;
use serde_dynamo::AttributeValue;

/// What the handler needs, built once per Lambda instance.
pub struct Notifier {
    pub store: DynamoStore,
    pub channels: Channels,
    pub clock: Box<dyn Clock>,
    pub config: NotifierConfig,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("store", &self.store).field("channels", &self.channels).field("config", &self.config).finish_non_exhaustive()
    }
}

/// What one stream record asks for.
#[derive(Debug, PartialEq)]
pub enum RecordWork {
    /// A pending outbox entry to drain.
    Drain(Box<OutboxEntry>),
    /// Not ours (another kind of item, a removal, an entry already drained).
    Ignore,
}

fn string<'a>(item: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// Reads one record; `Err` for an outbox item that cannot be read.
pub fn classify(record: &EventRecord) -> Result<RecordWork, String> {
    if !matches!(record.event_name.as_str(), "INSERT" | "MODIFY") {
        return Ok(RecordWork::Ignore);
    }
    let image = &record.change.new_image;
    let sk = string(image, "SK").or_else(|| string(&record.change.keys, "SK")).unwrap_or_default();
    if !sk.starts_with("OUTBOX#") {
        return Ok(RecordWork::Ignore);
    }
    // Settling an entry removes its GSI1 keys: that MODIFY is our own echo.
    if string(image, "GSI1PK") != Some("OUTBOX") {
        return Ok(RecordWork::Ignore);
    }
    let body = string(image, "body").ok_or_else(|| format!("{sk}: no body in the stream image (is the stream NEW_IMAGE?)"))?;
    let entry: OutboxEntry = serde_json::from_str(body).map_err(|e| format!("{sk}: unreadable outbox entry: {e}"))?;
    Ok(RecordWork::Drain(Box::new(entry)))
}

/// Handles one batch; the answer lists the records to retry.
pub async fn handle(notifier: &Notifier, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let id = record.change.sequence_number.clone().unwrap_or_else(|| record.event_id.clone());
        let failed = match classify(record) {
            Ok(RecordWork::Ignore) => false,
            Ok(RecordWork::Drain(entry)) => {
                let n = notifier;
                match process_entry(&n.store, &n.store, &n.channels, n.clock.as_ref(), &n.config, &entry).await {
                    Ok(outcome) => {
                        tracing::info!(key = %entry.key(), ?outcome, "outbox entry drained");
                        // Another invocation holds a send: retry later so the entry gets settled.
                        outcome.in_flight > 0
                    }
                    Err(e) => {
                        tracing::warn!(key = %entry.key(), error = %e, "outbox entry failed");
                        true
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "bad outbox record");
                true
            }
        };
        if failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// What invoked the function.
#[derive(Debug)]
pub enum Invocation {
    /// A batch of the table's stream.
    Stream(Box<Event>),
    /// The EventBridge schedule: sweep entries the stream left pending.
    Schedule,
}

/// Tells a DynamoDB Streams batch (`Records`) from an EventBridge scheduled
/// event (`source` `aws.events`, `detail-type` `Scheduled Event`).
pub fn invocation(payload: serde_json::Value) -> Result<Invocation, String> {
    if payload.get("Records").is_some() {
        let event: Event = serde_json::from_value(payload).map_err(|e| format!("unreadable DynamoDB Streams event: {e}"))?;
        return Ok(Invocation::Stream(Box::new(event)));
    }
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    if field("source") == Some("aws.events") && field("detail-type") == Some("Scheduled Event") {
        return Ok(Invocation::Schedule);
    }
    let keys: Vec<&str> = payload.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    Err(format!("neither a DynamoDB Streams batch nor an EventBridge scheduled event (top-level fields: {keys:?})"))
}

/// One sweep of entries the stream left pending for over [`SWEEP_MIN_AGE`].
pub async fn sweep(notifier: &Notifier) -> Result<DrainReport, doorstep_core::Error> {
    let n = notifier;
    let report = sweep_stale(&n.store, &n.store, &n.channels, n.clock.as_ref(), &n.config, SWEEP_MIN_AGE).await?;
    if report.entries > 0 {
        tracing::warn!(?report, "the sweep drained outbox entries the stream had left pending");
    }
    Ok(report)
}

/// Handles either invocation; the answer is the stream's
/// `BatchItemFailures`, or the sweep's counts.
pub async fn handle_invocation(notifier: &Notifier, payload: serde_json::Value) -> Result<serde_json::Value, String> {
    match invocation(payload)? {
        Invocation::Stream(event) => serde_json::to_value(handle(notifier, *event).await).map_err(|e| format!("cannot encode the answer: {e}")),
        Invocation::Schedule => {
            let r = sweep(notifier).await.map_err(|e| format!("the outbox sweep failed: {e}"))?;
            Ok(serde_json::json!({
                "entries": r.entries, "settled": r.settled, "sent": r.sent, "failed": r.failed,
                "skipped": r.skipped, "unknown": r.unknown, "in_flight": r.in_flight,
            }))
        }
    }
}
