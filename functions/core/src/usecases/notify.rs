//! The notifier: drains the transactional outbox into customer messages.
//!
//! For each entry it re-reads the order (an entry whose order moved on, or
//! whose publication was undone, is dropped), expands it to channels from
//! the organisation's settings, renders the org's templates in its language
//! and sends through the ledger:
//!
//! 1. claim `(order, attempt, trigger, slot)` in the ledger (a conditional
//!    insert: only one drainer wins, even when several run at once);
//! 2. send, with the ledger key as the provider's idempotency key;
//! 3. record `sent` or `failed`.
//!
//! A drainer that dies between 1 and 3 leaves a `claimed` record. Once its
//! lease has passed, the next drain marks it `unknown` and does NOT send it
//! again: the message may already have gone out, and for customer messages
//! at most once beats at least once. Operators see `unknown` rows in the
//! ledger. The entry leaves the pending list when every slot is final.

use std::sync::Arc;

use doorstep_domain::notification::{
    Channel, Language, Trigger, phrase_otp, phrase_tracking, phrase_window, reason_label, render_template,
};
use doorstep_domain::{Order, OrderState, Organisation};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::error::{Error, Result};
use crate::ports::{Claim, Clock, NotifyStore, OutboxEntry, Outgoing, SendRecord, SendState, Sender, Store, StoreError};

/// How the notifier behaves. `public_url` is where customers reach the app
/// (tracking links are `{public_url}/t/{token}`).
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub public_url: String,
    /// How long a claim protects a send in flight. Must exceed the longest
    /// send (a webhook's bounded retries); a claim older than this with no
    /// outcome becomes `unknown`.
    pub lease: time::Duration,
    /// Most entries one drain pass reads.
    pub batch: u32,
    /// This drainer's id in the ledger (unique per process run).
    pub claimant: String,
}

impl NotifierConfig {
    pub fn new(public_url: impl Into<String>, claimant: impl Into<String>) -> Self {
        Self { public_url: public_url.into(), lease: time::Duration::minutes(5), batch: 100, claimant: claimant.into() }
    }
}

/// The configured channel adapters; `None` means not configured here.
#[derive(Default, Clone)]
pub struct Channels {
    pub email: Option<Arc<dyn Sender>>,
    pub sms: Option<Arc<dyn Sender>>,
    pub webhook: Option<Arc<dyn Sender>>,
    pub log: Option<Arc<dyn Sender>>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("webhook", &self.webhook.is_some())
            .field("log", &self.log.is_some())
            .finish()
    }
}

/// What one entry came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryOutcome {
    pub sent: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Abandoned claims found past their lease (not resent).
    pub unknown: usize,
    /// Sends another drainer holds right now: the entry stays pending.
    pub in_flight: usize,
    /// The order moved on (other attempt, state undone): nothing sent.
    pub superseded: bool,
    /// The entry left the pending list.
    pub settled: bool,
}

/// What one drain pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub entries: usize,
    pub settled: usize,
    pub sent: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unknown: usize,
    pub in_flight: usize,
}

impl DrainReport {
    fn add(&mut self, o: &EntryOutcome) {
        self.entries += 1;
        self.settled += usize::from(o.settled);
        self.sent += o.sent;
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.unknown += o.unknown;
        self.in_flight += o.in_flight;
    }
}

/// One pass over the pending outbox (at most `config.batch` entries). An
/// entry that fails with a store error is logged and left pending.
pub async fn drain(
    store: &dyn Store,
    outbox: &dyn NotifyStore,
    channels: &Channels,
    clock: &dyn Clock,
    config: &NotifierConfig,
) -> Result<DrainReport> {
    let entries = outbox.pending_outbox(config.batch).await?;
    Ok(drain_entries(store, outbox, channels, clock, config, &entries).await)
}

/// How old a pending entry must be before [`sweep_stale`] takes it: a
/// younger one is normally still on its way through the table's stream.
pub const SWEEP_MIN_AGE: time::Duration = time::Duration::minutes(1);

/// The backstop where a stream delivers each entry once (DynamoDB Streams
/// to the notify Lambda): drains pending entries created at least `min_age`
/// ago, oldest first (at most `config.batch` read). An entry the stream is
/// handling at the same moment is still sent at most once per slot: both
/// paths claim the same ledger rows.
pub async fn sweep_stale(
    store: &dyn Store,
    outbox: &dyn NotifyStore,
    channels: &Channels,
    clock: &dyn Clock,
    config: &NotifierConfig,
    min_age: time::Duration,
) -> Result<DrainReport> {
    let cutoff = clock.now() - min_age;
    let entries: Vec<OutboxEntry> = outbox.pending_outbox(config.batch).await?.into_iter().filter(|e| e.created_at <= cutoff).collect();
    Ok(drain_entries(store, outbox, channels, clock, config, &entries).await)
}

async fn drain_entries(
    store: &dyn Store,
    outbox: &dyn NotifyStore,
    channels: &Channels,
    clock: &dyn Clock,
    config: &NotifierConfig,
    entries: &[OutboxEntry],
) -> DrainReport {
    let mut report = DrainReport::default();
    for entry in entries {
        match process_entry(store, outbox, channels, clock, config, entry).await {
            Ok(outcome) => report.add(&outcome),
            Err(e) => {
                tracing::warn!(key = %entry.key(), org = %entry.org_id, error = %e, "outbox entry not processed; left pending");
                report.entries += 1;
            }
        }
    }
    report
}

/// One slot of an entry: a channel and a recipient.
struct Slot {
    name: String,
    channel: Channel,
    recipient: String,
    secret: Option<String>,
    sender: Option<Arc<dyn Sender>>,
}

/// Sends everything one outbox entry asks for, through the ledger.
pub async fn process_entry(
    store: &dyn Store,
    outbox: &dyn NotifyStore,
    channels: &Channels,
    clock: &dyn Clock,
    config: &NotifierConfig,
    entry: &OutboxEntry,
) -> Result<EntryOutcome> {
    let key = entry.key();
    let mut outcome = EntryOutcome::default();
    let org = match store.organisation(&entry.org_id).await {
        Ok(org) => Some(org),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let order = match store.get_order(&entry.org_id, &entry.order_id).await {
        Ok(order) => Some(order),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let (Some(org), Some(order)) = (org, order) else {
        tracing::info!(%key, org = %entry.org_id, "outbox entry for a missing organisation or order; dropped");
        outbox.settle_outbox(&entry.org_id, &key, clock.now()).await?;
        outcome.superseded = true;
        outcome.settled = true;
        return Ok(outcome);
    };
    if !still_applies(entry, &order) {
        tracing::info!(%key, state = %order.state(), attempts = order.attempts, "order moved on since the event; not notifying");
        outbox.settle_outbox(&entry.org_id, &key, clock.now()).await?;
        outcome.superseded = true;
        outcome.settled = true;
        return Ok(outcome);
    }

    // Non-dispatch events link to the tracking page too: the plain token
    // travels only in this attempt's `dispatched` entry.
    let dispatched = if entry.trigger == Trigger::Dispatched || entry.tracking_token.is_some() {
        None
    } else {
        outbox.outbox_entry(&entry.org_id, &format!("{}#{}#dispatched", entry.order_id, entry.attempt)).await?
    };
    let token = entry.tracking_token.clone().or_else(|| dispatched.as_ref().and_then(|d| d.tracking_token.clone()));
    let otp = otp_of(entry).or_else(|| {
        // The code matters until delivery; repeat it in "nearby".
        if entry.trigger == Trigger::Nearby { dispatched.as_ref().and_then(otp_of) } else { None }
    });
    let tracking_url = token.map(|t| format!("{}/t/{t}", config.public_url.trim_end_matches('/')));
    let language = Language::for_locale(&org.settings.locale);
    let (subject, body) = render(&org, &order, entry, language, tracking_url.as_deref(), otp.as_deref())?;
    let event = event_json(&org, &order, entry, tracking_url.as_deref(), &subject, &body);

    for slot in slots(&org, &order, entry.trigger, channels) {
        let ledger_key = ledger_key(entry, &slot.name);
        let now = clock.now();
        let record = SendRecord {
            org_id: entry.org_id.clone(),
            key: ledger_key.clone(),
            outbox_key: key.clone(),
            channel: slot.channel,
            recipient: slot.recipient.clone(),
            state: SendState::Claimed,
            claimant: config.claimant.clone(),
            claimed_at: now,
            lease_until: now + config.lease,
            settled_at: None,
            error: None,
        };
        match outbox.claim_send(&record).await? {
            Claim::Taken(existing) => match existing.state {
                // When `abandon_send` says no, its owner settled it meanwhile.
                SendState::Claimed if existing.lease_until < now && outbox.abandon_send(&entry.org_id, &ledger_key, now).await? => {
                    tracing::warn!(key = %ledger_key, claimant = %existing.claimant, "send abandoned mid-flight; marked unknown, not resent");
                    outcome.unknown += 1;
                }
                SendState::Claimed if existing.lease_until < now => {}
                SendState::Claimed => outcome.in_flight += 1,
                _ => {}
            },
            Claim::Won => {
                let Some(sender) = slot.sender else {
                    outbox.settle_send(&entry.org_id, &ledger_key, &config.claimant, SendState::Skipped, Some("channel not configured"), clock.now()).await?;
                    outcome.skipped += 1;
                    continue;
                };
                let message = Outgoing {
                    delivery_id: ledger_key.clone(),
                    channel: slot.channel,
                    recipient: slot.recipient,
                    secret: slot.secret,
                    subject: subject.clone(),
                    body: body.clone(),
                    event: event.clone(),
                };
                let (state, error) = match sender.send(&message).await {
                    Ok(()) => (SendState::Sent, None),
                    Err(e) => (SendState::Failed, Some(e.to_string())),
                };
                if state == SendState::Sent {
                    outcome.sent += 1;
                } else {
                    tracing::warn!(key = %ledger_key, error = ?error, "notification not sent");
                    outcome.failed += 1;
                }
                let recorded = outbox.settle_send(&entry.org_id, &ledger_key, &config.claimant, state, error.as_deref(), clock.now()).await?;
                if !recorded {
                    tracing::error!(key = %ledger_key, "our claim expired while sending (lease too short?); the ledger says unknown");
                }
            }
        }
    }
    if outcome.in_flight == 0 {
        outbox.settle_outbox(&entry.org_id, &key, clock.now()).await?;
        outcome.settled = true;
    }
    Ok(outcome)
}

/// Whether the event still describes the order: same attempt, and a state
/// the trigger makes sense in (a publication undone leaves it planned).
fn still_applies(entry: &OutboxEntry, order: &Order) -> bool {
    let state = order.state();
    match entry.trigger {
        Trigger::Dispatched | Trigger::Nearby | Trigger::Delayed | Trigger::EtaChanged => {
            order.attempts == entry.attempt && matches!(state, OrderState::Dispatched | OrderState::OutForDelivery)
        }
        Trigger::Delivered => order.attempts == entry.attempt && state == OrderState::Delivered,
        // Failing bumps `attempts`; the entry may carry the count before or after.
        Trigger::Failed => match state {
            OrderState::Failed => order.attempts == entry.attempt || order.attempts == entry.attempt + 1,
            // Sent back for another attempt in the same transaction (the org's
            // reattempt policy): the missed delivery still happened and the
            // customer must hear of it, until the next attempt is under way.
            OrderState::Created | OrderState::Planned | OrderState::Dispatched => order.attempts == entry.attempt + 1,
            OrderState::OutForDelivery | OrderState::Delivered | OrderState::Cancelled => false,
        },
    }
}

/// The delivery code, if proof of delivery asked for one.
fn otp_of(entry: &OutboxEntry) -> Option<String> {
    entry.otp.clone().filter(|c| !c.is_empty())
}

fn slots(org: &Organisation, order: &Order, trigger: Trigger, channels: &Channels) -> Vec<Slot> {
    let settings = &org.settings.notifications;
    let mut slots = Vec::new();
    if settings.email
        && let Some(email) = order.recipient.email.as_deref().filter(|e| !e.trim().is_empty())
    {
        slots.push(Slot { name: "email".into(), channel: Channel::Email, recipient: email.to_owned(), secret: None, sender: channels.email.clone() });
    }
    if settings.sms
        && let Some(phone) = order.recipient.phone.as_deref().filter(|p| !p.trim().is_empty())
    {
        slots.push(Slot { name: "sms".into(), channel: Channel::Sms, recipient: phone.to_owned(), secret: None, sender: channels.sms.clone() });
    }
    for hook in settings.webhooks.iter().filter(|h| h.wants(trigger)) {
        slots.push(Slot {
            name: format!("webhook-{}", hook.id),
            channel: Channel::Webhook,
            recipient: hook.url.clone(),
            secret: Some(hook.secret.clone()),
            sender: channels.webhook.clone(),
        });
    }
    if let Some(log) = &channels.log {
        slots.push(Slot { name: "log".into(), channel: Channel::Log, recipient: "log".into(), secret: None, sender: Some(log.clone()) });
    }
    slots
}

fn render(
    org: &Organisation,
    order: &Order,
    entry: &OutboxEntry,
    language: Language,
    tracking_url: Option<&str>,
    otp: Option<&str>,
) -> Result<(String, String)> {
    let hm = format_description!("[hour]:[minute]");
    let when = entry.eta.as_ref().and_then(|w| {
        // Shown in the offset the window was planned in (the depot's local time).
        let start = w.start.format(hm).ok()?;
        let end = w.end.to_offset(w.start.offset()).format(hm).ok()?;
        Some(phrase_window(language, &start, &end))
    });
    let value = |name: &str| -> String {
        match name {
            "recipient_name" => order.recipient.name.clone(),
            "sender" => org.name.clone(),
            "order_ref" => order.external_ref.clone().unwrap_or_else(|| order.id.to_string()),
            "when" => when.clone().unwrap_or_default(),
            "tracking_url" => tracking_url.unwrap_or_default().to_owned(),
            "tracking" => tracking_url.map(|u| phrase_tracking(language, u)).unwrap_or_default(),
            "reason" => entry.failure_reason.map(|r| reason_label(language, r).to_owned()).unwrap_or_default(),
            "otp_code" => otp.unwrap_or_default().to_owned(),
            "otp" => otp.map(|c| phrase_otp(language, c)).unwrap_or_default(),
            _ => String::new(),
        }
    };
    let (subject, body) = org.settings.notifications.template(entry.trigger, language);
    // Saved templates are validated; a stored one that no longer parses is our bug.
    let name = format!("{}/{}", entry.trigger.as_str(), language.code());
    let subject = render_template(subject, value).map_err(|e| Error::Internal(format!("template {name} subject: {e}")))?;
    let body = render_template(body, value).map_err(|e| Error::Internal(format!("template {name} body: {e}")))?;
    Ok((subject, body))
}

fn event_json(org: &Organisation, order: &Order, entry: &OutboxEntry, tracking_url: Option<&str>, subject: &str, body: &str) -> serde_json::Value {
    let ts = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    json!({
        "type": format!("order.{}", entry.trigger.as_str()),
        "event_key": entry.key(),
        "created_at": ts(entry.created_at),
        "org_id": org.id,
        "order_id": order.id,
        "external_ref": order.external_ref,
        "attempt": entry.attempt,
        "trigger": entry.trigger,
        "tracking_url": tracking_url,
        "eta": entry.eta.as_ref().map(|w| json!({"start": ts(w.start), "end": ts(w.end)})),
        "failure_reason": entry.failure_reason,
        "message": {"subject": subject, "body": body},
    })
}

/// The ledger key of one slot of an entry (`{order}#{attempt}#{trigger}#{slot}`).
pub fn ledger_key(entry: &OutboxEntry, slot: &str) -> String {
    format!("{}#{slot}", entry.key())
}
