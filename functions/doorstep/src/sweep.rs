//! The orphan blob sweep of `doorstep serve`: photos uploaded with a ticket
//! that no proof of delivery cited within a day (the driver gave up, the app
//! was reinstalled) are deleted from the data directory's blob store. Runs
//! once at start-up and then every `interval`; cited blobs are never
//! touched (see `doorstep_core::usecases::pod::sweep_orphan_blobs`).

use std::sync::Arc;
use std::time::Duration;

use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::Clock;
use doorstep_core::usecases::pod::sweep_orphan_blobs;
use doorstep_store_sqlite::SqliteStore;
use tokio::sync::watch;

/// Uploads one pass looks at; a full pass is followed by another at once.
const BATCH: u32 = 200;

pub fn spawn_blob_sweeper(
    store: SqliteStore,
    blobs: FsBlobStore,
    clock: Arc<dyn Clock>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            loop {
                match sweep_orphan_blobs(&store, &blobs, clock.as_ref(), BATCH).await {
                    Ok(report) => {
                        if report.deleted + report.kept + report.failed > 0 {
                            tracing::info!(?report, "swept orphan blobs");
                        }
                        // Failed deletions stay listed: wait for the next tick rather than spin.
                        if report.deleted + report.kept < BATCH as usize || report.failed > 0 {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "orphan blob sweep failed; will retry");
                        break;
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}
