//! The driver's durable outbox, as plain data and pure decisions. Storage
//! (IndexedDB) and sending (fetch) live in `store` and `sync`; everything that
//! decides what is sent next, how results are read and when to retry is here,
//! so it is unit-tested without a browser.
//!
//! Rules: items are sent strictly in the order they were queued (a stop's
//! "arrived" before its "delivered"); a failed send blocks the items behind it
//! and is retried with exponential backoff; an item the server refuses for
//! good (a 4xx other than auth/rate limits) is set aside as rejected, shown to
//! the driver, and no longer blocks the queue. Consecutive ping items of one
//! route travel as one batch. Every action carries its own idempotency key, so
//! a replay after a lost response is harmless.

use doorstep_domain::pod::{ArriveAtStop, CompleteStop, FailStop, StartRoute, VerifyOtp};
use doorstep_domain::tracking::{MAX_PINGS_PER_BATCH, PingBatch, TrackingPing};
use serde::{Deserialize, Serialize};

/// A photo waiting in IndexedDB (`blob_key` in the `blobs` store) until the
/// server acknowledged its upload (`uploaded_key` is the server's blob key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedPhoto {
    pub local_key: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub content_type: String,
    #[serde(default)]
    pub uploaded_key: Option<String>,
}

/// What the driver did, as it will be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    StartRoute { route_id: String, body: StartRoute },
    Arrive { stop_id: String, body: ArriveAtStop },
    /// `body.pod.photos` is filled from `photos` once they are uploaded.
    Complete { stop_id: String, body: CompleteStop, photos: Vec<QueuedPhoto> },
    Fail { stop_id: String, body: FailStop },
    Pings { route_id: String, pings: Vec<TrackingPing> },
    /// A one-time code checked while offline, queued before the delivery
    /// that relies on it; its key replays, so a guess counts once.
    VerifyOtp { stop_id: String, body: VerifyOtp },
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Self::StartRoute { .. } => "Route start",
            Self::Arrive { .. } => "Arrival",
            Self::Complete { .. } => "Delivery",
            Self::Fail { .. } => "Failed delivery",
            Self::Pings { .. } => "Positions",
            Self::VerifyOtp { .. } => "Code check",
        }
    }

    /// Local blob keys to delete once the item is acknowledged.
    pub fn blob_keys(&self) -> Vec<String> {
        match self {
            Self::Complete { photos, .. } => photos.iter().map(|p| p.local_key.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// One queued item as stored (its id is the IndexedDB key, which gives the order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Sent as `Idempotency-Key`; made on the device when the driver acted.
    pub idempotency_key: String,
    /// Device clock (ms since the epoch) when the driver acted.
    pub created_at_ms: f64,
    pub action: Action,
    #[serde(default)]
    pub attempts: u32,
    /// Not before this time (ms since the epoch).
    #[serde(default)]
    pub next_attempt_ms: f64,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Refused by the server for good: kept for the driver to see, skipped.
    #[serde(default)]
    pub rejected: bool,
}

impl Item {
    pub fn new(idempotency_key: String, created_at_ms: f64, action: Action) -> Self {
        Self { idempotency_key, created_at_ms, action, attempts: 0, next_attempt_ms: 0.0, last_error: None, rejected: false }
    }
}

/// First retry after 2 s, doubling up to 5 minutes.
pub fn backoff_ms(attempts: u32) -> f64 {
    const BASE_MS: f64 = 2_000.0;
    const CAP_MS: f64 = 300_000.0;
    (BASE_MS * 2f64.powi(attempts.saturating_sub(1).min(20) as i32)).min(CAP_MS)
}

/// How one send went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again later (network, server error, rate limit, expired sign-in).
    Retry(String),
    /// The server refuses it for good.
    Rejected(String),
}

/// Reads an HTTP status (`None`: no answer at all).
pub fn classify(status: Option<u16>, message: &str) -> Outcome {
    match status {
        None => Outcome::Retry(format!("offline or unreachable: {message}")),
        Some(200..=299) => Outcome::Done,
        Some(401) => Outcome::Retry("signed out: sign in again to send".into()),
        Some(408 | 425 | 429) | Some(500..=599) => Outcome::Retry(format!("server answered {}: {message}", status.unwrap_or_default())),
        Some(s) => Outcome::Rejected(format!("refused ({s}): {message}")),
    }
}

/// What the drainer does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Nothing waiting.
    Idle,
    /// The head item must wait until this time (ms since the epoch).
    WaitUntil(f64),
    /// Send these items (ids, in order) as one request: one action, or a run
    /// of ping items of the same route merged into one batch.
    Send(Vec<u64>),
}

pub fn next_step(items: &[(u64, Item)], now_ms: f64) -> Next {
    let mut pending = items.iter().filter(|(_, item)| !item.rejected);
    let Some((head_id, head)) = pending.next() else { return Next::Idle };
    if head.next_attempt_ms > now_ms {
        return Next::WaitUntil(head.next_attempt_ms);
    }
    let mut ids = vec![*head_id];
    if let Action::Pings { route_id, pings } = &head.action {
        let mut count = pings.len();
        for (id, item) in pending {
            match &item.action {
                Action::Pings { route_id: r, pings } if r == route_id && count + pings.len() <= MAX_PINGS_PER_BATCH => {
                    count += pings.len();
                    ids.push(*id);
                }
                _ => break,
            }
        }
    }
    Next::Send(ids)
}

/// The batch for a run of ping items chosen by [`next_step`], in seq order.
pub fn merge_pings<'a>(items: impl IntoIterator<Item = &'a Item>) -> Option<PingBatch> {
    let mut route = None;
    let mut pings = Vec::new();
    for item in items {
        if let Action::Pings { route_id, pings: p } = &item.action {
            route.get_or_insert_with(|| route_id.clone());
            pings.extend(p.iter().cloned());
        }
    }
    pings.sort_by_key(|p| p.seq);
    let route_id = doorstep_domain::ids::RouteId::new(route?).ok()?;
    Some(PingBatch { route_id, pings })
}

/// Applies a send's outcome to the items sent; returns the ids to delete.
pub fn apply_outcome(items: &mut [(u64, Item)], sent: &[u64], outcome: &Outcome, now_ms: f64) -> Vec<u64> {
    match outcome {
        Outcome::Done => sent.to_vec(),
        Outcome::Retry(error) => {
            for (id, item) in items.iter_mut() {
                if sent.contains(id) {
                    item.attempts += 1;
                    item.next_attempt_ms = now_ms + backoff_ms(item.attempts);
                    item.last_error = Some(error.clone());
                }
            }
            Vec::new()
        }
        Outcome::Rejected(error) => {
            for (id, item) in items.iter_mut() {
                if sent.contains(id) {
                    item.attempts += 1;
                    item.rejected = true;
                    item.last_error = Some(error.clone());
                }
            }
            Vec::new()
        }
    }
}

/// What the sync badge shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Items not yet acknowledged (rejected ones excluded).
    pub waiting: usize,
    pub photos_waiting: usize,
    pub rejected: usize,
    pub last_error: Option<String>,
    pub online: bool,
    pub syncing: bool,
}

impl Summary {
    pub fn of(items: &[(u64, Item)], online: bool, syncing: bool) -> Self {
        let pending: Vec<&Item> = items.iter().map(|(_, i)| i).filter(|i| !i.rejected).collect();
        Self {
            waiting: pending.len(),
            photos_waiting: pending
                .iter()
                .map(|i| match &i.action {
                    Action::Complete { photos, .. } => photos.iter().filter(|p| p.uploaded_key.is_none()).count(),
                    _ => 0,
                })
                .sum(),
            rejected: items.len() - pending.len(),
            last_error: pending.first().and_then(|i| i.last_error.clone()),
            online,
            syncing,
        }
    }

    pub fn text(&self) -> String {
        let mut text = match (self.waiting, self.online) {
            (0, _) if self.rejected > 0 => "Nothing left to send".to_owned(),
            (0, _) => "All changes sent".to_owned(),
            (1, true) => "1 item waiting to send".to_owned(),
            (n, true) => format!("{n} items waiting to send"),
            (1, false) => "Offline: 1 item waiting".to_owned(),
            (n, false) => format!("Offline: {n} items waiting"),
        };
        if self.photos_waiting > 0 {
            text.push_str(&format!(" ({} photo{})", self.photos_waiting, if self.photos_waiting == 1 { "" } else { "s" }));
        }
        if self.rejected > 0 {
            text.push_str(&format!("; {} refused by the server", self.rejected));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ping(seq: u64) -> TrackingPing {
        TrackingPing {
            seq,
            device_time: time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + seq as i64).unwrap(),
            lat: 45.76,
            lon: 4.83,
            accuracy_m: Some(5.0),
            speed_mps: None,
            heading_deg: None,
            battery_pct: None,
        }
    }

    fn pings(route: &str, seqs: &[u64]) -> Item {
        Item::new(format!("k{}", seqs[0]), 0.0, Action::Pings { route_id: route.into(), pings: seqs.iter().map(|s| ping(*s)).collect() })
    }

    fn arrive(stop: &str) -> Item {
        let body = ArriveAtStop { plan_id: doorstep_domain::ids::PlanId::new("p1").unwrap(), device_time: time::OffsetDateTime::UNIX_EPOCH, geotag: None };
        Item::new(format!("arrive-{stop}"), 0.0, Action::Arrive { stop_id: stop.into(), body })
    }

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_five_minutes() {
        let waits: Vec<f64> = (1..=10).map(backoff_ms).collect();
        assert_eq!(&waits[..5], &[2_000.0, 4_000.0, 8_000.0, 16_000.0, 32_000.0]);
        assert_eq!(backoff_ms(9), 300_000.0);
        assert_eq!(backoff_ms(1_000), 300_000.0);
    }

    #[test]
    fn statuses_are_read_as_done_retry_or_rejected() {
        assert_eq!(classify(Some(200), ""), Outcome::Done);
        assert_eq!(classify(Some(201), ""), Outcome::Done);
        for retry in [None, Some(401), Some(429), Some(500), Some(503)] {
            assert!(matches!(classify(retry, "x"), Outcome::Retry(_)), "{retry:?}");
        }
        for refused in [400, 404, 409, 422] {
            assert!(matches!(classify(Some(refused), "x"), Outcome::Rejected(_)), "{refused}");
        }
    }

    #[test]
    fn the_head_item_goes_first_and_waits_out_its_backoff() {
        let mut items = vec![(1, arrive("a")), (2, arrive("b"))];
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![1]));
        let deleted = apply_outcome(&mut items, &[1], &Outcome::Retry("offline".into()), 1_000.0);
        assert!(deleted.is_empty());
        // The second item must not overtake the first.
        assert_eq!(next_step(&items, 2_000.0), Next::WaitUntil(3_000.0));
        assert_eq!(next_step(&items, 3_000.0), Next::Send(vec![1]));
        assert_eq!(apply_outcome(&mut items, &[1], &Outcome::Done, 3_000.0), vec![1]);
    }

    #[test]
    fn a_rejected_item_is_kept_but_no_longer_blocks() {
        let mut items = vec![(1, arrive("a")), (2, arrive("b"))];
        apply_outcome(&mut items, &[1], &Outcome::Rejected("refused (409)".into()), 0.0);
        assert!(items[0].1.rejected);
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![2]));
        let summary = Summary::of(&items, true, false);
        assert_eq!((summary.waiting, summary.rejected), (1, 1));
        assert_eq!(summary.text(), "1 item waiting to send; 1 refused by the server");
    }

    #[test]
    fn consecutive_pings_of_one_route_travel_together_in_seq_order() {
        let items = vec![(1, pings("r1", &[2, 3])), (2, pings("r1", &[1])), (3, arrive("a")), (4, pings("r1", &[4]))];
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![1, 2]));
        let batch = merge_pings(items[..2].iter().map(|(_, i)| i)).unwrap();
        assert_eq!(batch.route_id.as_str(), "r1");
        assert_eq!(batch.pings.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2, 3]);
        // Another route's pings start a new batch.
        let items = vec![(1, pings("r1", &[1])), (2, pings("r2", &[2]))];
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![1]));
    }

    #[test]
    fn ping_batches_stay_within_the_server_limit() {
        let big: Vec<u64> = (1..=400).collect();
        let more: Vec<u64> = (401..=600).collect();
        let items = vec![(1, pings("r1", &big)), (2, pings("r1", &more))];
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![1]));
    }

    #[test]
    fn summary_counts_waiting_items_and_photos() {
        assert_eq!(Summary::of(&[], true, false).text(), "All changes sent");
        let photo = |uploaded: Option<&str>| QueuedPhoto {
            local_key: "p".into(),
            sha256: "0".repeat(64),
            size_bytes: 1,
            content_type: "image/jpeg".into(),
            uploaded_key: uploaded.map(Into::into),
        };
        let body: CompleteStop = serde_json::from_value(serde_json::json!({
            "plan_id": "p1", "pod": {"order_id": "o1", "device_time": "2024-03-15T09:00:00Z", "otp_verified": true}
        }))
        .unwrap();
        let complete = Item::new("c".into(), 0.0, Action::Complete { stop_id: "s1".into(), body, photos: vec![photo(None), photo(Some("k"))] });
        let items = vec![(1, arrive("a")), (2, arrive("b")), (3, complete)];
        assert_eq!(Summary::of(&items, false, false).text(), "Offline: 3 items waiting (1 photo)");
        assert_eq!(items[2].1.action.blob_keys(), ["p", "p"]);
    }

    #[test]
    fn an_offline_code_check_goes_before_the_delivery_that_relies_on_it() {
        let body = VerifyOtp { plan_id: doorstep_domain::ids::PlanId::new("p1").unwrap(), code: "1234".into() };
        let check = Item::new("otp-key".into(), 0.0, Action::VerifyOtp { stop_id: "s1".into(), body });
        let mut items = vec![(1, check.clone()), (2, arrive("b"))];
        assert_eq!(next_step(&items, 0.0), Next::Send(vec![1]));
        assert_eq!(check.action.label(), "Code check");
        let json = serde_json::to_string(&check).unwrap();
        assert_eq!(serde_json::from_str::<Item>(&json).unwrap(), check, "kept with its key");
        assert_eq!(apply_outcome(&mut items, &[1], &Outcome::Done, 0.0), vec![1]);
    }

    #[test]
    fn items_round_trip_through_json_as_stored() {
        let item = pings("r1", &[7]);
        let json = serde_json::to_string(&item).unwrap();
        assert_eq!(serde_json::from_str::<Item>(&json).unwrap(), item);
    }
}
