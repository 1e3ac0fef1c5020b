//! The notification drain under crashes and concurrency: `doorstep notify`
//! runs as a child process over a SQLite data directory and sends to a real
//! local webhook receiver (which verifies every signature with the
//! published helper) and to the JSONL log sink.
//!
//! At most once: a drainer killed mid-send leaves that send `unknown`, and
//! the next drainer never resends it; everything else goes out exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use doorstep_core::ports::{NotifyStore, OutboxEntry, SendState};
use doorstep_domain::notification::{NotificationSettings, WebhookEndpoint};
use doorstep_notify_channels::webhook::{DELIVERY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use doorstep_store_conformance::notify::publish_with;
use doorstep_store_sqlite::SqliteStore;

const SECRET: &str = "whsec_drain_test_secret";
const ORG: &str = "org-drain";

#[derive(Clone, Default)]
struct Receiver {
    delivery_ids: Arc<Mutex<Vec<String>>>,
    bad_signatures: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
}

impl Receiver {
    fn count(&self) -> usize {
        self.delivery_ids.lock().expect("lock").len()
    }

    fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for id in self.delivery_ids.lock().expect("lock").iter() {
            *counts.entry(id.clone()).or_default() += 1;
        }
        counts
    }
}

/// A webhook endpoint that records each delivery on arrival, then takes
/// `delay_ms` to answer (so a drainer can be killed mid-request).
async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let r = receiver.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                if verify(SECRET, &h(TIMESTAMP_HEADER), &h(SIGNATURE_HEADER), &body, time::OffsetDateTime::now_utc()).is_err() {
                    r.bad_signatures.fetch_add(1, Ordering::SeqCst);
                }
                r.delivery_ids.lock().expect("lock").push(h(DELIVERY_ID_HEADER));
                tokio::time::sleep(Duration::from_millis(r.delay_ms.load(Ordering::SeqCst))).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (receiver, format!("http://{addr}/hook"))
}

/// A data directory whose outbox holds `n` dispatched entries of an
/// organisation with one webhook (email and SMS off; the log sink is on).
async fn data_dir(dir: &Path, hook_url: &str, n: usize) -> (SqliteStore, Vec<OutboxEntry>) {
    let store = SqliteStore::open(&dir.join("doorstep.sqlite3")).expect("open");
    let url = hook_url.to_owned();
    let entries = publish_with(&store, ORG, n, move |b| {
        b.organisation.settings.notifications = NotificationSettings {
            email: false,
            sms: false,
            webhooks: vec![WebhookEndpoint { id: "erp".into(), url, secret: SECRET.into(), triggers: vec![], active: true }],
            ..NotificationSettings::default()
        };
    })
    .await;
    (store, entries)
}

fn drainer(dir: &Path, name: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["notify", "--public-url", "https://track.example", "--lease-s", "2", "--max-seconds", "60", "--data"])
        .arg(dir)
        .env_remove("DOORSTEP_SMTP_HOST")
        .env_remove("DOORSTEP_SMS_ACCOUNT_SID")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start doorstep notify")
}

async fn finish(mut child: Child, dir: &Path, name: &str) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
            assert!(status.success(), "{name} failed: {status}\n{log}");
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{name} did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lines of the log sink per delivery id.
fn log_counts(dir: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap_or_default().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        *counts.entry(v["delivery_id"].as_str().expect("id").to_owned()).or_default() += 1;
    }
    counts
}

/// Checks the ledger against what the receivers got; returns the `unknown` keys.
async fn check(store: &SqliteStore, entries: &[OutboxEntry], receiver: &Receiver, dir: &Path) -> Vec<String> {
    assert!(store.pending_outbox(100).await.expect("pending").is_empty(), "every entry is drained");
    assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0, "every webhook verifies");
    let webhooks = receiver.counts();
    let logs = log_counts(dir);
    let mut unknown = Vec::new();
    let mut ledger_keys = Vec::new();
    for entry in entries {
        let sends = store.sends_for(&entry.org_id, &entry.key()).await.expect("ledger");
        let slots: Vec<&str> = sends.iter().map(|s| s.key.rsplit('#').next().expect("slot")).collect();
        assert_eq!(slots, ["log", "webhook-erp"], "{}: one ledger row per slot", entry.key());
        for send in sends {
            ledger_keys.push(send.key.clone());
            let got = if send.key.ends_with("#log") { logs.get(&send.key) } else { webhooks.get(&send.key) }.copied().unwrap_or(0);
            match send.state {
                SendState::Sent => assert_eq!(got, 1, "{} was sent exactly once", send.key),
                SendState::Unknown => {
                    assert!(got <= 1, "{} (unknown) was never resent", send.key);
                    unknown.push(send.key.clone());
                }
                other => panic!("{} ended {other:?}", send.key),
            }
        }
    }
    for (id, n) in webhooks.iter().chain(logs.iter()) {
        assert!(ledger_keys.contains(id), "{id} was sent without a ledger row");
        assert_eq!(*n, 1, "{id} arrived {n} times");
    }
    unknown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drainer_killed_mid_batch_leaves_every_notification_sent_at_most_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (receiver, url) = start_receiver().await;
    let (store, entries) = data_dir(dir.path(), &url, 8).await;
    // Each answer takes a second: a request is surely in flight when we kill.
    receiver.delay_ms.store(1_000, Ordering::SeqCst);

    let mut first = drainer(dir.path(), "first");
    let started = Instant::now();
    while receiver.count() < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "the first drainer sent nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The third request has just arrived and waits for its answer: kill -9.
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");
    let before = receiver.count();
    assert!(before >= 3 && before < entries.len(), "killed mid-batch: {before} of {} webhooks", entries.len());

    // Past the lease the abandoned claim is reported `unknown`, not resent.
    receiver.delay_ms.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    finish(drainer(dir.path(), "second"), dir.path(), "second").await;

    let unknown = check(&store, &entries, &receiver, dir.path()).await;
    // The in-flight send is the only one left unknown, and it arrived (once).
    assert_eq!(unknown.len(), 1, "exactly the send in flight is unknown: {unknown:?}");
    assert!(unknown[0].ends_with("#webhook-erp"), "{unknown:?}");
    assert_eq!(receiver.counts().get(&unknown[0]), Some(&1), "the unknown send was not resent");
    assert!(receiver.count() >= entries.len() - unknown.len(), "the second drainer sent the rest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drainers_at_once_send_everything_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (receiver, url) = start_receiver().await;
    let (store, entries) = data_dir(dir.path(), &url, 10).await;
    receiver.delay_ms.store(30, Ordering::SeqCst);

    let (a, b) = (drainer(dir.path(), "a"), drainer(dir.path(), "b"));
    finish(a, dir.path(), "a").await;
    finish(b, dir.path(), "b").await;

    let unknown = check(&store, &entries, &receiver, dir.path()).await;
    assert!(unknown.is_empty(), "nobody crashed: {unknown:?}");
    assert_eq!(receiver.count(), entries.len(), "one webhook per entry");
    assert_eq!(log_counts(dir.path()).len(), entries.len(), "one log line per entry");
}

#[test]
fn the_notify_help_says_dynamodb_deployments_drain_on_the_notify_functions_schedule() {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep")).args(["notify", "--help"]).output().expect("run doorstep notify --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("SQLite data directories only"), "{help}");
    assert!(help.contains("every 5 minutes on its EventBridge schedule"), "{help}");
}
