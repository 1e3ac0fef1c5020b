//! The notify Lambda on its EventBridge schedule, against a real
//! moto_server: the sweep drains entries the stream left pending (older
//! than a minute), leaves younger ones to the stream, and racing a stream
//! delivery of the same entries sends each message once.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use doorstep_core::ports::{FixedClock, NotifyStore, OutboxEntry, Outgoing, SendError, SendState, Sender};
use doorstep_core::usecases::notify::{Channels, NotifierConfig};
use doorstep_lambda_notify::{Invocation, Notifier, handle, handle_invocation, invocation, sweep};
use doorstep_store_conformance::notify::publish_with;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use time::OffsetDateTime;

#[derive(Default)]
struct Capture(Mutex<Vec<String>>);

#[async_trait]
impl Sender for Capture {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        // Slow enough that a racing drainer finds the claim in flight.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        self.0.lock().expect("lock").push(message.delivery_id.clone());
        Ok(())
    }
}

fn schedule_event() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/schedule.json")).expect("fixture")
}

fn stream_event(entries: &[OutboxEntry]) -> Event {
    let mut text = include_str!("fixtures/outbox-stream.json").to_owned();
    for (i, entry) in entries.iter().enumerate() {
        let body = serde_json::to_string(entry).expect("body");
        text = text.replace(&format!("__BODY_{i}__"), &serde_json::to_string(&body).expect("quoted"));
        text = text.replace(&format!("__KEY_{i}__"), &entry.key());
    }
    serde_json::from_str(&text).expect("stream fixture")
}

async fn world(moto: &MotoServer, table: &str) -> (DynamoStore, Vec<OutboxEntry>) {
    let store = DynamoStore::new(moto.client(), table);
    store.ensure_table().await.expect("table");
    let entries = publish_with(&store, "org-sweep", 2, |b| {
        b.organisation.settings.notifications.email = false;
        b.organisation.settings.notifications.sms = false;
    })
    .await;
    (store, entries)
}

fn notifier(store: &DynamoStore, log: &Arc<Capture>, now: OffsetDateTime, claimant: &str) -> Notifier {
    Notifier {
        store: store.clone(),
        channels: Channels { log: Some(log.clone()), ..Channels::default() },
        clock: Box::new(FixedClock(now)),
        config: NotifierConfig::new("https://track.example", claimant),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_event_sweeps_entries_pending_for_over_a_minute() {
    let moto = MotoServer::start();
    let (store, entries) = world(&moto, "doorstep-notify-sweep").await;
    let created = entries[0].created_at;
    let log = Arc::new(Capture::default());

    // Thirty seconds on, the stream is still expected to bring them: untouched.
    let early = notifier(&store, &log, created + time::Duration::seconds(30), "sweep-early");
    let answer = handle_invocation(&early, schedule_event()).await.expect("sweep");
    assert_eq!(answer["entries"], 0, "{answer}");
    assert_eq!(store.pending_outbox(10).await.expect("pending").len(), 2);

    // Two minutes on (the stream lost them): the schedule sends and settles both.
    let late = notifier(&store, &log, created + time::Duration::minutes(2), "sweep-late");
    let answer = handle_invocation(&late, schedule_event()).await.expect("sweep");
    assert_eq!((answer["entries"].clone(), answer["sent"].clone(), answer["settled"].clone()), (2.into(), 2.into(), 2.into()), "{answer}");
    let sent = log.0.lock().expect("lock").clone();
    assert_eq!(sent, entries.iter().map(|e| format!("{}#log", e.key())).collect::<Vec<_>>());
    assert!(store.pending_outbox(10).await.expect("pending").is_empty(), "both settled");
    // The next tick finds nothing.
    assert_eq!(sweep(&late).await.expect("sweep").entries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_racing_a_stream_delivery_sends_each_message_once() {
    let moto = MotoServer::start();
    let (store, entries) = world(&moto, "doorstep-notify-race").await;
    let log = Arc::new(Capture::default());
    let now = entries[0].created_at + time::Duration::minutes(2);
    let (by_stream, by_schedule) = (notifier(&store, &log, now, "stream"), notifier(&store, &log, now, "schedule"));
    let (streamed, swept) = tokio::join!(handle(&by_stream, stream_event(&entries)), sweep(&by_schedule));
    swept.expect("sweep");
    // The fixture's third record is unreadable on purpose; a record whose send
    // the sweep held in flight may be retried by the stream, never re-sent.
    assert!(!streamed.batch_item_failures.is_empty());
    let mut sent = log.0.lock().expect("lock").clone();
    sent.sort();
    let mut expected: Vec<String> = entries.iter().map(|e| format!("{}#log", e.key())).collect();
    expected.sort();
    assert_eq!(sent, expected, "each message once");
    // The stream's retry and the next tick finish whatever was in flight, without resending.
    handle(&by_stream, stream_event(&entries)).await;
    sweep(&by_schedule).await.expect("sweep");
    for entry in &entries {
        let sends = store.sends_for(&entry.org_id, &entry.key()).await.expect("ledger");
        assert_eq!(sends.iter().map(|s| s.state).collect::<Vec<_>>(), vec![SendState::Sent], "{}", entry.key());
    }
    assert!(store.pending_outbox(10).await.expect("pending").is_empty());
    assert_eq!(log.0.lock().expect("lock").len(), 2, "still each message once");
}

#[test]
fn the_two_event_shapes_are_told_apart_and_anything_else_is_refused() {
    assert!(matches!(invocation(schedule_event()), Ok(Invocation::Schedule)));
    let stream = serde_json::json!({"Records": []});
    assert!(matches!(invocation(stream), Ok(Invocation::Stream(_))));
    let other = serde_json::json!({"source": "aws.events", "detail-type": "Object Created", "detail": {}});
    let err = invocation(other).expect_err("not a schedule");
    assert!(err.contains("detail-type"), "{err}");
}
