//! Customer notifications in the one-process server: the outbox drainer
//! that `serve` runs in the background, and `doorstep notify`, which drains
//! a data directory's outbox from the command line (cron, or a second
//! drainer next to a running server: the send ledger keeps every message to
//! at most once). SQLite only, by design: the binary links no AWS SDK, and
//! on AWS the notify function's schedule is the drain of last resort.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::Method;
use doorstep_core::crypto::random_bytes;
use doorstep_core::usecases::notify::{Channels, DrainReport, NotifierConfig, drain};
use doorstep_core::{Clock, SystemClock};
use doorstep_store_sqlite::SqliteStore;
use tokio::sync::{Notify, watch};
use tracing_subscriber::EnvFilter;

/// The JSON lines the log sink writes, in the data directory.
pub const LOG_FILE: &str = "notifications.jsonl";

/// A drainer id that is unique per process run.
pub fn claimant() -> String {
    let tag: String = random_bytes(6).iter().map(|b| format!("{b:02x}")).collect();
    format!("doorstep-{}-{tag}", std::process::id())
}

pub fn channels(clock: Arc<dyn Clock>, data: &Path) -> anyhow::Result<Channels> {
    doorstep_notify_channels::channels_from_env(clock, Some(data.join(LOG_FILE))).context("notification channels are misconfigured")
}

/// Drains until nothing is pending or `deadline` passes. Entries held by
/// another drainer stay pending, so it waits a little between passes.
pub async fn drain_until_empty(
    store: &SqliteStore,
    channels: &Channels,
    clock: &dyn Clock,
    config: &NotifierConfig,
    deadline: Option<tokio::time::Instant>,
) -> anyhow::Result<DrainReport> {
    let mut total = DrainReport::default();
    loop {
        let report = drain(store, store, channels, clock, config).await?;
        total.entries += report.entries;
        total.settled += report.settled;
        total.sent += report.sent;
        total.failed += report.failed;
        total.skipped += report.skipped;
        total.unknown += report.unknown;
        if report.entries == 0 {
            return Ok(total);
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            anyhow::bail!("entries still pending at the deadline: {report:?}");
        }
        if report.settled < report.entries {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The background drainer of `doorstep serve`: drains when woken (after a
/// write request) and every `interval` as a backstop, until `stop` says so.
/// A pass in progress finishes before it stops.
pub fn spawn_drainer(
    store: SqliteStore,
    channels: Channels,
    clock: Arc<dyn Clock>,
    config: NotifierConfig,
    interval: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            loop {
                match drain(&store, &store, &channels, clock.as_ref(), &config).await {
                    Ok(report) if report.entries > 0 => {
                        tracing::debug!(?report, "drained the outbox");
                        // A full batch may leave more; otherwise wait for news.
                        if report.entries < config.batch as usize || report.settled == 0 {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox drain failed; will retry");
                        break;
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}

/// Wakes the drainer after every request that may have written something
/// (any method but GET, HEAD, OPTIONS, whatever its answer: a spurious
/// wake costs one indexed read of the pending outbox).
pub async fn wake_after_writes(
    axum::extract::State(wake): axum::extract::State<Arc<Notify>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method();
    let writes = !(method == Method::GET || method == Method::HEAD || method == Method::OPTIONS);
    let response = next.run(request).await;
    if writes {
        wake.notify_one();
    }
    response
}

#[derive(Debug, clap::Args)]
#[command(after_help = "SQLite data directories only (`doorstep serve`). DynamoDB deployments need no such command: the notify \
function reads the table's stream and, every 5 minutes on its EventBridge schedule, drains entries pending for over a \
minute (the same ledger, so nothing is sent twice). This binary links no AWS SDK.")]
pub struct NotifyArgs {
    /// Directory that holds the SQLite database (as for `serve`).
    #[arg(long, default_value = ".doorstep", env = "DOORSTEP_DATA")]
    data: PathBuf,
    /// Where customers reach the app; tracking links are `{public_url}/t/{token}`.
    #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
    public_url: String,
    /// How long a claimed send is protected (seconds); an older claim with
    /// no outcome is reported `unknown` and never resent.
    #[arg(long, default_value_t = 300, env = "DOORSTEP_NOTIFY_LEASE_S")]
    lease_s: u64,
    /// Entries per pass.
    #[arg(long, default_value_t = 100)]
    batch: u32,
    /// Give up (exit 1) if entries are still pending after this many seconds.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

pub fn run(args: NotifyArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?.block_on(async {
        let db_path = args.data.join("doorstep.sqlite3");
        anyhow::ensure!(db_path.is_file(), "no store at {}", db_path.display());
        let store = SqliteStore::open(&db_path).with_context(|| format!("cannot open the store {}", db_path.display()))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let channels = channels(clock.clone(), &args.data)?;
        let mut config = NotifierConfig::new(args.public_url, claimant());
        config.lease = time::Duration::seconds(i64::try_from(args.lease_s).unwrap_or(i64::MAX));
        config.batch = args.batch.max(1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.max_seconds);
        let report = drain_until_empty(&store, &channels, clock.as_ref(), &config, Some(deadline)).await?;
        println!(
            "drained {} entries: {} sent, {} failed, {} skipped, {} unknown",
            report.settled, report.sent, report.failed, report.skipped, report.unknown
        );
        Ok(())
    })
}
