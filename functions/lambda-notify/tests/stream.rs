//! The notify Lambda's handler on a checked-in DynamoDB Streams event
//! (tests/fixtures/outbox-stream.json), against a real moto_server holding
//! the entries the event refers to. `__KEY_n__`/`__BODY_n__` in the fixture
//! are filled with the published entries' keys and JSON bodies.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use doorstep_core::ports::{FixedClock, NotifyStore, OutboxEntry, Outgoing, SendError, SendState, Sender};
use doorstep_core::usecases::notify::{Channels, NotifierConfig};
use doorstep_lambda_notify::{Notifier, handle};
use doorstep_store_conformance::notify::publish_with;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use time::macros::datetime;

/// The log channel, kept in memory to count what was sent.
#[derive(Default)]
struct Capture(Mutex<Vec<String>>);

#[async_trait]
impl Sender for Capture {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        self.0.lock().expect("lock").push(message.delivery_id.clone());
        Ok(())
    }
}

fn event(entries: &[OutboxEntry]) -> Event {
    let mut text = include_str!("fixtures/outbox-stream.json").to_owned();
    for (i, entry) in entries.iter().enumerate() {
        let body = serde_json::to_string(entry).expect("body");
        text = text.replace(&format!("__BODY_{i}__"), &serde_json::to_string(&body).expect("quoted"));
        text = text.replace(&format!("__KEY_{i}__"), &entry.key());
    }
    serde_json::from_str(&text).expect("fixture parses as a DynamoDB Streams event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_records_of_pending_outbox_items_are_sent_once_and_bad_ones_reported() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-lambda-notify");
    store.ensure_table().await.expect("table");
    let entries = publish_with(&store, "org-lambda", 2, |b| {
        // Only the log channel here: email and SMS have their own tests.
        b.organisation.settings.notifications.email = false;
        b.organisation.settings.notifications.sms = false;
    })
    .await;
    let log = Arc::new(Capture::default());
    let notifier = Notifier {
        store: store.clone(),
        channels: Channels { log: Some(log.clone()), ..Channels::default() },
        clock: Box::new(FixedClock(datetime!(2026-11-23 08:01 UTC))),
        config: NotifierConfig::new("https://track.example", "lambda-test"),
    };

    let response = handle(&notifier, event(&entries)).await;
    let failures: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failures, vec![Some("111100000000000000000004".to_owned())], "only the unreadable record fails");
    let sent = log.0.lock().expect("lock").clone();
    assert_eq!(sent, entries.iter().map(|e| format!("{}#log", e.key())).collect::<Vec<_>>());
    for entry in &entries {
        let sends = store.sends_for(&entry.org_id, &entry.key()).await.expect("ledger");
        assert_eq!(sends.iter().map(|s| s.state).collect::<Vec<_>>(), vec![SendState::Sent], "{}", entry.key());
    }
    assert!(store.pending_outbox(10).await.expect("pending").is_empty(), "both entries are settled");

    // The stream redelivers the batch (a retry after the partial failure): nothing is sent twice.
    let again = handle(&notifier, event(&entries)).await;
    assert_eq!(again.batch_item_failures.len(), 1);
    assert_eq!(log.0.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn channels_build_where_rustls_has_both_crypto_providers() {
    // This crate links the AWS SDK (aws-lc-rs) and the channels (ring): the
    // HTTPS client must name its provider instead of asking rustls to guess.
    let clock: Arc<dyn doorstep_core::Clock> = Arc::new(doorstep_core::SystemClock);
    let channels = doorstep_notify_channels::channels_from_env(clock, None).expect("channels");
    assert!(channels.webhook.is_some() && channels.log.is_some());
}
