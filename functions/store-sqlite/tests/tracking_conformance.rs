//! The tracking cases of the conformance suite, on SQLite, and the sweep
//! that SQLite (unlike DynamoDB's TTL) must run itself.

use doorstep_core::ports::TrackingStore;
use doorstep_store_conformance::tracking;
use doorstep_store_sqlite::SqliteStore;
use time::Duration;

#[tokio::test]
async fn sqlite_passes_the_tracking_conformance_cases() {
    tracking::run_tracking(|| async { SqliteStore::open_in_memory().expect("open in-memory SQLite") }).await;
}

#[tokio::test]
async fn the_sweep_deletes_expired_pings_in_bounded_steps() {
    use doorstep_core::ports::PingWrite;
    let store = SqliteStore::open_in_memory().expect("open");
    let p0 = tracking::ping(1, 0);
    let write = PingWrite {
        org_id: "org-a".parse().expect("org"),
        driver_id: "drv-1".parse().expect("driver"),
        route_id: "rte-1".parse().expect("route"),
        pings: (1..=50).map(|s| tracking::ping(s, s as i64)).collect(),
        received_at: p0.device_time,
        expires_at: p0.device_time + Duration::days(30),
    };
    store.record_pings(&write).await.expect("write");
    let before = p0.device_time + Duration::days(29);
    assert_eq!(store.sweep_expired_pings(before, 1000).await.expect("sweep"), 0, "nothing is expired yet");
    let after = p0.device_time + Duration::days(31);
    assert_eq!(store.sweep_expired_pings(after, 20).await.expect("sweep"), 20, "at most the limit per call");
    assert_eq!(store.sweep_expired_pings(after, 1000).await.expect("sweep"), 30);
    assert_eq!(store.sweep_expired_pings(after, 1000).await.expect("sweep"), 0);
}
