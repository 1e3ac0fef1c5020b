//! The notify Lambda: DynamoDB Streams of the single table deliver every
//! new or rewritten outbox item (`SK` starting with `OUTBOX#`); each is
//! drained through the shared notifier use case and its send ledger.
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
use doorstep_core::usecases::notify::{Channels, NotifierConfig, process_entry};
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
