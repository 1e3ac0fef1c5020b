//! Report aggregates in the one-process server: `doorstep reports rebuild`,
//! which recomputes a data directory's aggregates from the stored records,
//! and the daily rebuild `serve` runs in the background, so an event whose
//! fold failed after its commit is in the reports by the next morning.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use doorstep_core::usecases::reports::{RebuildDeps, rebuild_org};
use doorstep_core::usecases::tracking::TrackingSettings;
use doorstep_core::{Clock, Store, SystemClock};
use doorstep_domain::OrgId;
use doorstep_store_sqlite::SqliteStore;
use time::{Date, OffsetDateTime};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

#[derive(Debug, clap::Args)]
pub struct ReportsArgs {
    #[command(subcommand)]
    command: ReportsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ReportsCommand {
    /// Recompute the per-driver day aggregates of a date range from the stored
    /// route starts, proofs of delivery, orders, pings and ratings, replacing
    /// the stored ones (each conditional on the version read).
    Rebuild(RebuildArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "SQLite data directories only (`doorstep serve`), which also rebuilds the last two days once a day. \
On AWS, a dispatcher calls POST /api/reports/rebuild {\"from\", \"to\"}.")]
struct RebuildArgs {
    /// Directory that holds the SQLite database (as for `serve`).
    #[arg(long, default_value = ".doorstep", env = "DOORSTEP_DATA")]
    data: PathBuf,
    /// First day, YYYY-MM-DD.
    #[arg(long, value_parser = parse_date)]
    from: Date,
    /// Last day, YYYY-MM-DD (included; at most 366 days after `from`).
    #[arg(long, value_parser = parse_date)]
    to: Date,
    /// Only this organisation (default: every organisation in the store).
    #[arg(long)]
    org: Option<OrgId>,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).map_err(|e| format!("{text:?} is not a YYYY-MM-DD date: {e}"))
}

pub fn run(args: ReportsArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let ReportsCommand::Rebuild(args) = args.command;
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?.block_on(async {
        let db_path = args.data.join("doorstep.sqlite3");
        anyhow::ensure!(db_path.is_file(), "no store at {}", db_path.display());
        let store = SqliteStore::open(&db_path).with_context(|| format!("cannot open the store {}", db_path.display()))?;
        let settings = doorstep_http::tracking::settings_from_env().map_err(anyhow::Error::msg)?;
        let orgs = match args.org {
            Some(org) => vec![org],
            None => store.list_organisations().await?.into_iter().map(|o| o.id).collect(),
        };
        for org in orgs {
            let summary = rebuild_org(deps(&store, &SystemClock, &settings), &org, args.from, args.to)
                .await
                .with_context(|| format!("cannot rebuild the reports of {org}"))?;
            println!("{org}: {} driver days from {} to {}, {} replaced", summary.days.len(), args.from, args.to, summary.changed);
        }
        Ok(())
    })
}

fn deps<'a>(store: &'a SqliteStore, clock: &'a dyn Clock, settings: &TrackingSettings) -> RebuildDeps<'a> {
    RebuildDeps { store, pods: store, tracking: store, reports: store, clock, ping_retention: settings.ping_retention }
}

/// How often the daily rebuild looks at the clock.
const TICK: Duration = Duration::from_secs(3600);
/// The rebuild waits until this UTC hour, so the last offline uploads of
/// the evening are in.
const REBUILD_HOUR_UTC: u8 = 2;

/// The days the daily rebuild should do now, if it has not done them for
/// this UTC date yet: the two days before today. Plan dates are local, and
/// the server does not resolve each organisation's zone, so two days cover
/// "yesterday" from UTC-12 to UTC+14.
pub fn due(now: OffsetDateTime, last_run: Option<Date>) -> Option<(Date, Date)> {
    let today = now.date();
    if last_run == Some(today) || now.hour() < REBUILD_HOUR_UTC {
        return None;
    }
    let yesterday = today.previous_day()?;
    Some((yesterday.previous_day()?, yesterday))
}

/// The daily rebuild of `doorstep serve`: every organisation's last two
/// days, once per UTC day after 02:00, until `stop` says so. A failure is
/// logged and retried on the next tick.
pub fn spawn_daily_rebuild(
    store: SqliteStore,
    clock: Arc<dyn Clock>,
    settings: TrackingSettings,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_run: Option<Date> = None;
        loop {
            let now = clock.now();
            if let Some((from, to)) = due(now, last_run) {
                match rebuild_all(&store, clock.as_ref(), &settings, from, to).await {
                    Ok(changed) => {
                        tracing::info!(%from, %to, changed, "rebuilt the report aggregates");
                        last_run = Some(now.date());
                    }
                    Err(e) => tracing::warn!(%from, %to, error = %e, "report rebuild failed; will retry"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}

async fn rebuild_all(store: &SqliteStore, clock: &dyn Clock, settings: &TrackingSettings, from: Date, to: Date) -> anyhow::Result<u32> {
    let mut changed = 0;
    for org in store.list_organisations().await? {
        changed += rebuild_org(deps(store, clock, settings), &org.id, from, to).await?.changed;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_daily_rebuild_runs_once_per_utc_day_after_two_oclock() {
        assert_eq!(due(datetime!(2026-11-22 01:59 UTC), None), None, "too early: the evening's uploads may still come");
        assert_eq!(due(datetime!(2026-11-22 02:00 UTC), None), Some((date!(2026 - 11 - 20), date!(2026 - 11 - 21))));
        assert_eq!(due(datetime!(2026-11-22 23:00 UTC), Some(date!(2026 - 11 - 22))), None, "already done today");
        assert_eq!(due(datetime!(2026-11-23 03:00 UTC), Some(date!(2026 - 11 - 22))), Some((date!(2026 - 11 - 21), date!(2026 - 11 - 22))));
    }
}
