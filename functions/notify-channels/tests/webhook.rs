//! Signed webhooks: the integrators' verification helper, and sending to a
//! real local HTTP receiver (axum) that verifies with that helper.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use doorstep_core::ports::{FixedClock, Outgoing, SendError, Sender};
use doorstep_domain::notification::Channel;
use doorstep_notify_channels::webhook::{
    DELIVERY_ID_HEADER, RetryPolicy, SIGNATURE_HEADER, Sleeper, TIMESTAMP_HEADER, VerifyError, WebhookSender, sign, verify,
};
use time::OffsetDateTime;
use time::macros::datetime;

const SECRET: &str = "whsec_0123456789abcdef";
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

#[test]
fn a_valid_signature_is_accepted() {
    let body = br#"{"type":"order.dispatched"}"#;
    let ts = NOW.unix_timestamp();
    let signature = sign(SECRET, ts, body);
    assert!(signature.starts_with("v1=") && signature.len() == 3 + 64, "{signature}");
    assert_eq!(verify(SECRET, &ts.to_string(), &signature, body, NOW), Ok(()));
    // Within the tolerance either way, and with a rotated secret listed first.
    assert_eq!(verify(SECRET, &ts.to_string(), &signature, body, NOW + time::Duration::minutes(4)), Ok(()));
    let rotated = format!("{}, {signature}", sign("whsec_old_secret_value", ts, body));
    assert_eq!(verify(SECRET, &ts.to_string(), &rotated, body, NOW - time::Duration::minutes(4)), Ok(()));
}

#[test]
fn a_tampered_body_is_rejected() {
    let ts = NOW.unix_timestamp();
    let signature = sign(SECRET, ts, br#"{"amount":10}"#);
    assert_eq!(verify(SECRET, &ts.to_string(), &signature, br#"{"amount":99}"#, NOW), Err(VerifyError::Mismatch));
    // A different secret, or a shifted timestamp, also fails.
    assert_eq!(verify("whsec_someone_else", &ts.to_string(), &signature, br#"{"amount":10}"#, NOW), Err(VerifyError::Mismatch));
    assert_eq!(verify(SECRET, &(ts + 1).to_string(), &signature, br#"{"amount":10}"#, NOW), Err(VerifyError::Mismatch));
}

#[test]
fn a_timestamp_older_than_five_minutes_is_rejected() {
    let old = (NOW - time::Duration::seconds(301)).unix_timestamp();
    let body = b"{}";
    let signature = sign(SECRET, old, body);
    assert_eq!(verify(SECRET, &old.to_string(), &signature, body, NOW), Err(VerifyError::TooOld));
    let future = (NOW + time::Duration::seconds(301)).unix_timestamp();
    assert_eq!(verify(SECRET, &future.to_string(), &sign(SECRET, future, body), body, NOW), Err(VerifyError::InFuture));
}

#[test]
fn malformed_headers_are_rejected() {
    let ts = NOW.unix_timestamp().to_string();
    assert_eq!(verify(SECRET, "yesterday", "v1=00", b"{}", NOW), Err(VerifyError::BadTimestamp));
    assert_eq!(verify(SECRET, &ts, "sha256=abc", b"{}", NOW), Err(VerifyError::NoSignature));
    assert_eq!(verify(SECRET, &ts, "v1=zz", b"{}", NOW), Err(VerifyError::NoSignature));
}

/// Records the backoff instead of sleeping.
#[derive(Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().expect("lock").push(duration);
    }
}

/// (delivery id, verification result, body) of one request.
type Seen = (String, Result<(), VerifyError>, serde_json::Value);

#[derive(Clone, Default)]
struct Receiver {
    /// Answers to give, in order; 200 once they run out.
    script: Arc<Mutex<Vec<StatusCode>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn start(receiver: Receiver) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let receiver = receiver.clone();
            async move {
                let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                // The sender signs with the fixed clock's time.
                let verdict = verify(SECRET, &h(TIMESTAMP_HEADER), &h(SIGNATURE_HEADER), &body, NOW);
                let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                receiver.seen.lock().expect("lock").push((h(DELIVERY_ID_HEADER), verdict, json));
                let mut script = receiver.script.lock().expect("lock");
                if script.is_empty() { StatusCode::OK } else { script.remove(0) }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}/hook")
}

fn sender(sleeper: Arc<RecordingSleeper>) -> WebhookSender {
    let policy = RetryPolicy { attempts: 4, base: Duration::from_millis(250), max: Duration::from_secs(1), timeout: Duration::from_secs(5) };
    WebhookSender::new(Arc::new(FixedClock(NOW)), sleeper, policy)
}

fn event(url: &str) -> Outgoing {
    Outgoing {
        delivery_id: "ord_1#0#dispatched#webhook-erp".into(),
        channel: Channel::Webhook,
        recipient: url.into(),
        secret: Some(SECRET.into()),
        subject: "s".into(),
        body: "b".into(),
        event: serde_json::json!({"type": "order.dispatched", "order_id": "ord_1"}),
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_and_every_try_verifies() {
    let receiver = Receiver::default();
    *receiver.script.lock().expect("lock") = vec![StatusCode::SERVICE_UNAVAILABLE, StatusCode::INTERNAL_SERVER_ERROR];
    let url = start(receiver.clone()).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    sender(sleeper.clone()).send(&event(&url)).await.expect("delivered on the third try");

    let seen = receiver.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    for (id, verdict, json) in &seen {
        assert_eq!(id, "ord_1#0#dispatched#webhook-erp", "one delivery id across retries");
        assert_eq!(verdict, &Ok(()));
        assert_eq!(json["delivery_id"], "ord_1#0#dispatched#webhook-erp");
        assert_eq!(json["order_id"], "ord_1");
    }
    assert_eq!(*sleeper.0.lock().expect("lock"), vec![Duration::from_millis(250), Duration::from_millis(500)]);
}

#[tokio::test]
async fn a_client_error_is_refused_without_retrying() {
    let receiver = Receiver::default();
    *receiver.script.lock().expect("lock") = vec![StatusCode::GONE];
    let url = start(receiver.clone()).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let error = sender(sleeper.clone()).send(&event(&url)).await.expect_err("refused");
    assert!(matches!(error, SendError::Refused(ref m) if m.starts_with("410")), "{error:?}");
    assert_eq!(receiver.seen.lock().expect("lock").len(), 1);
    assert!(sleeper.0.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn retries_are_bounded_when_the_endpoint_keeps_failing() {
    let receiver = Receiver::default();
    *receiver.script.lock().expect("lock") = vec![StatusCode::BAD_GATEWAY; 10];
    let url = start(receiver.clone()).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let error = sender(sleeper.clone()).send(&event(&url)).await.expect_err("gives up");
    assert!(matches!(error, SendError::Unavailable(_)), "{error:?}");
    assert_eq!(receiver.seen.lock().expect("lock").len(), 4, "exactly `attempts` tries");
    assert_eq!(
        *sleeper.0.lock().expect("lock"),
        vec![Duration::from_millis(250), Duration::from_millis(500), Duration::from_secs(1)],
        "exponential, capped at max"
    );
}
