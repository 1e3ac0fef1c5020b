//! Conformance cases for the outbox drain and the send ledger
//! (`NotifyStore`). Each adapter runs [`run_notify`] in its tests.

use std::future::Future;

use doorstep_core::ports::{Claim, NotifyStore, OrderUpdate, OutboxEntry, PlanPublication, SendRecord, SendState, Store, TrackingLink};
use doorstep_domain::notification::{Channel, Trigger};
use doorstep_domain::{OrderEvent, OrgId};

use super::{T0, dispatched_outbox, org, plan_for, sample_business};

/// Imports the sample business as `org_id` and publishes a plan of its
/// first `n` orders (tokens `token-{order}`, ETA windows set), so the
/// outbox holds one `dispatched` entry per order. Returns the entries.
pub async fn publish_sample<S: Store + ?Sized>(store: &S, org_id: &str, n: usize) -> Vec<OutboxEntry> {
    publish_with(store, org_id, n, |_| {}).await
}

/// [`publish_sample`] after `customize` changed the business (e.g. its
/// notification settings) before the import.
pub async fn publish_with<S: Store + ?Sized>(
    store: &S,
    org_id: &str,
    n: usize,
    customize: impl FnOnce(&mut doorstep_core::ports::BusinessSnapshot),
) -> Vec<OutboxEntry> {
    let mut business = sample_business(org_id);
    customize(&mut business);
    store.import_business(&business).await.expect("import");
    let orders = &business.orders[..n];
    let plan = plan_for(&business, &format!("pln-{org_id}"), orders);
    store.create_plan(&plan).await.expect("create plan");
    let mut published = plan.clone();
    published.publish(T0).expect("publish");
    let updates = orders
        .iter()
        .map(|o| {
            let mut next = o.clone();
            next.apply(&OrderEvent::Plan, T0).expect("plan");
            next.apply(&OrderEvent::Dispatch, T0).expect("dispatch");
            OrderUpdate { order: next, expected_version: o.version }
        })
        .collect::<Vec<_>>();
    let tracking = published
        .stops()
        .map(|(_, s)| TrackingLink {
            token_hash: format!("hash-{}", s.id),
            org_id: org(org_id),
            plan_id: published.id.clone(),
            stop_id: s.id.clone(),
            order_id: s.order_id.clone(),
            expires_at: T0 + time::Duration::days(30),
        })
        .collect();
    let mut outbox = dispatched_outbox(orders);
    for (entry, (_, stop)) in outbox.iter_mut().zip(published.stops()) {
        entry.eta = Some(doorstep_domain::time::TimeWindow::new(
            stop.planned_arrival - time::Duration::minutes(30),
            stop.planned_arrival + time::Duration::minutes(30),
        ));
    }
    store
        .publish_plan(&PlanPublication { plan: published, expected_version: 1, orders: updates, tracking, outbox: outbox.clone() })
        .await
        .expect("publish");
    outbox
}

/// Runs every notify case on fresh stores; panics with the case's name.
pub async fn run_notify<F, Fut, S>(fresh_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + NotifyStore,
{
    published_entries_are_pending_oldest_first_until_settled(&fresh_store().await).await;
    a_send_is_claimed_once_and_settled_only_by_its_claimant(&fresh_store().await).await;
    an_expired_claim_becomes_unknown_and_is_never_reclaimed(&fresh_store().await).await;
    concurrent_claims_have_exactly_one_winner(&fresh_store().await).await;
}

fn send(entry: &OutboxEntry, slot: &str, claimant: &str, lease_min: i64) -> SendRecord {
    SendRecord {
        org_id: entry.org_id.clone(),
        key: format!("{}#{slot}", entry.key()),
        outbox_key: entry.key(),
        channel: Channel::Email,
        recipient: "lea@example.com".into(),
        state: SendState::Claimed,
        claimant: claimant.into(),
        claimed_at: T0,
        lease_until: T0 + time::Duration::minutes(lease_min),
        settled_at: None,
        error: None,
    }
}

async fn published_entries_are_pending_oldest_first_until_settled<S: Store + NotifyStore>(store: &S) {
    let case = "published_entries_are_pending_oldest_first_until_settled";
    let entries = publish_sample(store, "org-n1", 3).await;
    let mut pending = store.pending_outbox(10).await.expect("pending");
    pending.sort_by_key(OutboxEntry::key);
    let mut expected = entries.clone();
    expected.sort_by_key(OutboxEntry::key);
    assert_eq!(pending, expected, "{case}: every published entry is pending");
    assert_eq!(store.pending_outbox(2).await.expect("pending").len(), 2, "{case}: the limit holds");

    let first = &entries[0];
    store.settle_outbox(&first.org_id, &first.key(), T0).await.expect("settle");
    store.settle_outbox(&first.org_id, &first.key(), T0).await.expect("settling twice is harmless");
    let pending = store.pending_outbox(10).await.expect("pending");
    assert_eq!(pending.len(), 2, "{case}: a settled entry leaves the pending list");
    assert!(!pending.iter().any(|e| e.key() == first.key()), "{case}");
    assert_eq!(store.outbox_entry(&first.org_id, &first.key()).await.expect("read"), Some(first.clone()), "{case}: it stays readable");
    let other_org = OrgId::new("org-other").expect("id");
    assert_eq!(store.outbox_entry(&other_org, &first.key()).await.expect("read"), None, "{case}: scoped to its org");
    store.settle_outbox(&other_org, "missing#0#dispatched", T0).await.expect("settling a missing entry is a no-op");
    assert_eq!(first.trigger, Trigger::Dispatched);
}

async fn a_send_is_claimed_once_and_settled_only_by_its_claimant<S: Store + NotifyStore>(store: &S) {
    let case = "a_send_is_claimed_once_and_settled_only_by_its_claimant";
    let entries = publish_sample(store, "org-n2", 2).await;
    let entry = &entries[0];
    let mine = send(entry, "email", "drainer-a", 5);
    assert_eq!(store.claim_send(&mine).await.expect("claim"), Claim::Won, "{case}");
    let theirs = send(entry, "email", "drainer-b", 5);
    assert_eq!(store.claim_send(&theirs).await.expect("claim"), Claim::Taken(mine.clone()), "{case}: the second claim sees the first");
    assert!(
        !store.settle_send(&entry.org_id, &mine.key, "drainer-b", SendState::Sent, None, T0).await.expect("settle"),
        "{case}: another drainer cannot settle my claim"
    );
    assert!(
        !store.abandon_send(&entry.org_id, &mine.key, T0 + time::Duration::minutes(1)).await.expect("abandon"),
        "{case}: a live claim is not abandoned"
    );
    let at = T0 + time::Duration::seconds(3);
    assert!(store.settle_send(&entry.org_id, &mine.key, "drainer-a", SendState::Sent, None, at).await.expect("settle"), "{case}");
    assert!(
        !store.settle_send(&entry.org_id, &mine.key, "drainer-a", SendState::Failed, Some("late"), at).await.expect("settle"),
        "{case}: a settled send stays settled"
    );
    let sms = send(entry, "sms", "drainer-a", 5);
    assert_eq!(store.claim_send(&sms).await.expect("claim"), Claim::Won);
    assert!(store.settle_send(&entry.org_id, &sms.key, "drainer-a", SendState::Failed, Some("refused: 400"), at).await.expect("settle"));
    // Another entry's sends are not listed with this one's.
    let other = send(&entries[1], "email", "drainer-a", 5);
    assert_eq!(store.claim_send(&other).await.expect("claim"), Claim::Won);

    let sends = store.sends_for(&entry.org_id, &entry.key()).await.expect("list");
    let summary: Vec<_> = sends.iter().map(|s| (s.key.clone(), s.state, s.error.clone(), s.settled_at)).collect();
    assert_eq!(
        summary,
        vec![
            (mine.key.clone(), SendState::Sent, None, Some(at)),
            (sms.key.clone(), SendState::Failed, Some("refused: 400".to_owned()), Some(at)),
        ],
        "{case}"
    );
    match store.claim_send(&send(entry, "email", "drainer-c", 5)).await.expect("claim") {
        Claim::Taken(r) => assert_eq!(r.state, SendState::Sent, "{case}"),
        Claim::Won => panic!("{case}: a sent message was claimed again"),
    }
}

async fn an_expired_claim_becomes_unknown_and_is_never_reclaimed<S: Store + NotifyStore>(store: &S) {
    let case = "an_expired_claim_becomes_unknown_and_is_never_reclaimed";
    let entries = publish_sample(store, "org-n3", 1).await;
    let entry = &entries[0];
    let crashed = send(entry, "webhook-erp", "drainer-dead", 1);
    assert_eq!(store.claim_send(&crashed).await.expect("claim"), Claim::Won);
    let later = T0 + time::Duration::minutes(2);
    assert!(store.abandon_send(&entry.org_id, &crashed.key, later).await.expect("abandon"), "{case}");
    assert!(!store.abandon_send(&entry.org_id, &crashed.key, later).await.expect("abandon"), "{case}: only once");
    assert!(
        !store.settle_send(&entry.org_id, &crashed.key, "drainer-dead", SendState::Sent, None, later).await.expect("settle"),
        "{case}: the late owner cannot overwrite unknown"
    );
    match store.claim_send(&send(entry, "webhook-erp", "drainer-new", 5)).await.expect("claim") {
        Claim::Taken(r) => {
            assert_eq!(r.state, SendState::Unknown, "{case}");
            assert_eq!(r.settled_at, Some(later), "{case}");
        }
        Claim::Won => panic!("{case}: an unknown send was claimed again"),
    }
}

async fn concurrent_claims_have_exactly_one_winner<S: Store + NotifyStore>(store: &S) {
    let case = "concurrent_claims_have_exactly_one_winner";
    let entries = publish_sample(store, "org-n4", 1).await;
    let entry = &entries[0];
    let claims: Vec<SendRecord> = (0..8).map(|i| send(entry, "sms", &format!("drainer-{i}"), 5)).collect();
    let results = futures::future::join_all(claims.iter().map(|c| store.claim_send(c))).await;
    let winners: Vec<usize> =
        results.iter().enumerate().filter(|(_, r)| matches!(r, Ok(Claim::Won))).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{case}: {results:?}");
    let winner = &claims[winners[0]];
    for r in &results {
        match r {
            Ok(Claim::Taken(t)) => assert_eq!(t.claimant, winner.claimant, "{case}: every loser sees the winner"),
            Ok(Claim::Won) => {}
            Err(e) => panic!("{case}: {e}"),
        }
    }
}
