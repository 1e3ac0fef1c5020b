//! The outbox drain and send ledger cases of the conformance suite, on SQLite.

use doorstep_store_conformance::notify;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_notify_conformance_cases() {
    notify::run_notify(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}

#[tokio::test]
async fn two_connections_to_one_file_claim_a_send_once() {
    use doorstep_core::ports::{Claim, NotifyStore, SendRecord, SendState};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doorstep.sqlite3");
    let first = SqliteStore::open(&path).expect("open");
    let second = SqliteStore::open(&path).expect("open again");
    let entries = notify::publish_sample(&first, "org-file", 1).await;
    let entry = &entries[0];
    let at = entry.created_at;
    let claim = |who: &str| SendRecord {
        org_id: entry.org_id.clone(),
        key: format!("{}#log", entry.key()),
        outbox_key: entry.key(),
        channel: doorstep_domain::notification::Channel::Log,
        recipient: "log".into(),
        state: SendState::Claimed,
        claimant: who.into(),
        claimed_at: at,
        lease_until: at + time::Duration::minutes(5),
        settled_at: None,
        error: None,
    };
    let (claim_a, claim_b) = (claim("a"), claim("b"));
    let (a, b) = tokio::join!(first.claim_send(&claim_a), second.claim_send(&claim_b));
    let won = [a.expect("a"), b.expect("b")].into_iter().filter(|c| *c == Claim::Won).count();
    assert_eq!(won, 1);
}
