//! SMS to a Twilio-compatible API, here a real local HTTP receiver (axum)
//! standing in for the provider: the request shape is what is tested.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use doorstep_core::ports::{Outgoing, SendError, Sender};
use doorstep_domain::notification::Channel;
use doorstep_notify_channels::sms::{TwilioConfig, TwilioSender};

type Seen = Arc<Mutex<Vec<(String, String, Vec<(String, String)>)>>>;

async fn provider(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        axum::routing::post(move |Path(sid): Path<String>, headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let form = form_urlencoded::parse(&body).into_owned().collect();
                record.lock().expect("lock").push((sid, auth, form));
                (status, r#"{"sid":"SM123"}"#)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}"), seen)
}

fn sender(base_url: String) -> TwilioSender {
    TwilioSender::new(TwilioConfig { base_url, account_sid: "AC42".into(), auth_token: "tok".into(), from: "+33700000000".into() })
}

fn sms(to: &str) -> Outgoing {
    Outgoing {
        delivery_id: "ord_1#0#nearby#sms".into(),
        channel: Channel::Sms,
        recipient: to.into(),
        secret: None,
        subject: "unused".into(),
        body: "Bonjour Léa, votre livreur arrive & sonne.".into(),
        event: serde_json::json!({}),
    }
}

#[tokio::test]
async fn an_sms_is_a_form_post_with_basic_auth() {
    let (base, seen) = provider(StatusCode::CREATED).await;
    sender(base).send(&sms("+33 6 12 34 56 78")).await.expect("sent");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let (sid, auth, form) = &seen[0];
    assert_eq!(sid, "AC42");
    assert_eq!(auth, "Basic QUM0Mjp0b2s=", "base64 of AC42:tok");
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+33612345678"));
    assert_eq!(field("From"), Some("+33700000000"));
    assert_eq!(field("Body"), Some("Bonjour Léa, votre livreur arrive & sonne."));
}

#[tokio::test]
async fn a_provider_refusal_is_refused_and_an_outage_unavailable() {
    let (base, _) = provider(StatusCode::BAD_REQUEST).await;
    assert!(matches!(sender(base).send(&sms("+33612345678")).await, Err(SendError::Refused(_))));
    let (base, _) = provider(StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(matches!(sender(base).send(&sms("+33612345678")).await, Err(SendError::Unavailable(_))));
}
