//! The notifier use case over the SQLite store: channels per org settings,
//! templates per language, orders that moved on, and drains that repeat.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_core::ports::{FixedClock, NotifyStore, Outgoing, SendError, SendState, Sender, Store};
use doorstep_core::usecases::notify::{Channels, NotifierConfig, drain};
use doorstep_domain::notification::{NotificationSettings, TemplateOverride, Trigger, WebhookEndpoint};
use doorstep_domain::OrderEvent;
use doorstep_store_conformance::notify::publish_with;
use doorstep_store_sqlite::SqliteStore;
use time::macros::datetime;

/// Keeps what it is asked to send (a channel stand-in for the use case's
/// own logic; the real adapters have their own tests).
#[derive(Default)]
struct Capture(Mutex<Vec<Outgoing>>);

#[async_trait]
impl Sender for Capture {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        self.0.lock().expect("lock").push(message.clone());
        Ok(())
    }
}

struct Refuse;

#[async_trait]
impl Sender for Refuse {
    async fn send(&self, _: &Outgoing) -> Result<(), SendError> {
        Err(SendError::Refused("550 mailbox unavailable".into()))
    }
}

fn config() -> NotifierConfig {
    NotifierConfig::new("https://track.example/", "test-drainer")
}

const NOW: time::OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

#[tokio::test]
async fn dispatched_orders_are_notified_in_the_orgs_language_with_link_and_window() {
    let store = SqliteStore::open_in_memory().expect("store");
    let entries = publish_with(&store, "org-fr", 2, |b| {
        b.organisation.settings.locale = "fr-FR".into();
        b.organisation.settings.notifications.webhooks =
            vec![WebhookEndpoint { id: "erp".into(), url: "https://erp.example/hook".into(), secret: "whsec_0123456789abcdef".into(), triggers: vec![Trigger::Delivered], active: true }];
        b.orders[0].recipient.email = Some("lea@example.com".into());
        b.orders[0].recipient.phone = None;
        b.orders[1].recipient.email = None;
        b.orders[1].recipient.phone = Some("+33 6 12 34 56 78".into());
    })
    .await;
    let email = Arc::new(Capture::default());
    let sms = Arc::new(Refuse);
    let log = Arc::new(Capture::default());
    let webhook = Arc::new(Capture::default());
    let channels = Channels { email: Some(email.clone()), sms: Some(sms), webhook: Some(webhook.clone()), log: Some(log.clone()) };
    let report = drain(&store, &store, &channels, &FixedClock(NOW), &config()).await.expect("drain");
    assert_eq!((report.entries, report.settled), (2, 2));
    assert!(webhook.0.lock().expect("lock").is_empty(), "the webhook only wants `delivered`");

    let sent = email.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1, "only the first order has an email address");
    let m = &sent[0];
    let order = &entries[0].order_id;
    assert_eq!(m.recipient, "lea@example.com");
    assert_eq!(m.delivery_id, format!("{order}#0#dispatched#email"));
    assert!(m.subject.starts_with("Votre livraison "), "{}", m.subject);
    assert!(m.body.starts_with("Bonjour "), "{}", m.body);
    assert!(m.body.contains(" est prévue entre "), "{}", m.body);
    assert!(m.body.ends_with(&format!(" Suivre : https://track.example/t/token-{order}")), "{}", m.body);
    assert_eq!(m.event["type"], "order.dispatched");
    assert_eq!(m.event["tracking_url"], format!("https://track.example/t/token-{order}"));

    // The ledger says what happened to every slot; the log sink saw both entries.
    assert_eq!(log.0.lock().expect("lock").len(), 2);
    let second = store.sends_for(&entries[1].org_id, &entries[1].key()).await.expect("ledger");
    let states: Vec<_> = second.iter().map(|s| (s.key.rsplit('#').next().expect("slot").to_owned(), s.state)).collect();
    assert_eq!(states, [("log".to_owned(), SendState::Sent), ("sms".to_owned(), SendState::Failed)]);
    let sms_row = second.iter().find(|s| s.key.ends_with("#sms")).expect("sms");
    assert_eq!(sms_row.error.as_deref(), Some("refused: 550 mailbox unavailable"));
    assert_eq!(report.failed, 1);

    // A second drain finds nothing to do, and sends nothing again.
    let again = drain(&store, &store, &channels, &FixedClock(NOW), &config()).await.expect("drain");
    assert_eq!(again.entries, 0);
    assert_eq!(email.0.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn an_org_template_override_is_used_and_english_is_the_default() {
    let store = SqliteStore::open_in_memory().expect("store");
    publish_with(&store, "org-en", 1, |b| {
        b.organisation.settings.locale = "en-GB".into();
        b.organisation.settings.notifications = NotificationSettings {
            templates: vec![TemplateOverride {
                trigger: Trigger::Dispatched,
                language: "fr".into(),
                subject: "jamais".into(),
                body: "jamais".into(),
            }],
            ..NotificationSettings::default()
        };
    })
    .await;
    let log = Arc::new(Capture::default());
    let channels = Channels { log: Some(log.clone()), ..Channels::default() };
    drain(&store, &store, &channels, &FixedClock(NOW), &config()).await.expect("drain");
    let sent = log.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.starts_with("Hello "), "the French override does not apply to English: {}", sent[0].body);
    assert!(sent[0].body.contains(" is scheduled between "), "{}", sent[0].body);

    let store = SqliteStore::open_in_memory().expect("store");
    publish_with(&store, "org-fr2", 1, |b| {
        b.organisation.settings.locale = "fr-FR".into();
        b.organisation.settings.notifications.templates = vec![TemplateOverride {
            trigger: Trigger::Dispatched,
            language: "fr".into(),
            subject: "Commande {order_ref}".into(),
            body: "{recipient_name} : livraison {when}{{ok}}{tracking}".into(),
        }];
    })
    .await;
    let log = Arc::new(Capture::default());
    let channels = Channels { log: Some(log.clone()), ..Channels::default() };
    drain(&store, &store, &channels, &FixedClock(NOW), &config()).await.expect("drain");
    let sent = log.0.lock().expect("lock").clone();
    assert!(sent[0].body.contains(" : livraison entre "), "{}", sent[0].body);
    assert!(sent[0].body.contains("{ok} Suivre : https://track.example/t/token-"), "{}", sent[0].body);
    assert!(sent[0].subject.starts_with("Commande "), "{}", sent[0].subject);
}

#[tokio::test]
async fn an_order_that_moved_on_is_not_notified() {
    let store = SqliteStore::open_in_memory().expect("store");
    let entries = publish_with(&store, "org-undo", 2, |_| {}).await;
    // The first order is cancelled before the drain runs.
    let mut order = store.get_order(&entries[0].org_id, &entries[0].order_id).await.expect("order");
    let version = order.version;
    order.apply(&OrderEvent::Cancel, NOW).expect("cancel");
    store.update_order(&order, version).await.expect("update");

    let log = Arc::new(Capture::default());
    let channels = Channels { log: Some(log.clone()), ..Channels::default() };
    let report = drain(&store, &store, &channels, &FixedClock(NOW), &config()).await.expect("drain");
    assert_eq!((report.entries, report.settled, report.sent), (2, 2, 1));
    let sent = log.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].delivery_id, format!("{}#log", entries[1].key()));
    assert!(store.sends_for(&entries[0].org_id, &entries[0].key()).await.expect("ledger").is_empty());
    assert!(store.pending_outbox(10).await.expect("pending").is_empty());
}
