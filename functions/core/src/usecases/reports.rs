//! Reports: folding delivery events into the per-(day, driver) aggregates,
//! and reading them back as metrics and CSV.

use doorstep_domain::auth::Role;
use doorstep_domain::reports::{DeliveryEvent, DriverDay, Report, ReportPolicy, ReportQuery};
use doorstep_domain::validation::{FieldError, ValidationErrors, codes};
use doorstep_domain::{DriverId, OrgId, Validate};
use time::Date;

use crate::error::{Error, Result};
use crate::ports::{Principal, ReportStore, StoreError};
use crate::usecases::auth::require;

/// How often a fold re-reads after losing a race with another writer.
const FOLD_RETRIES: u32 = 8;

/// Folds `events` into the driver's aggregate for `date`, retrying when a
/// concurrent fold got there first. Replayed events change nothing (the
/// aggregate is idempotent), so callers may retry freely.
pub async fn record(
    store: &dyn ReportStore,
    org: &OrgId,
    driver: &DriverId,
    date: Date,
    events: &[DeliveryEvent],
    policy: &ReportPolicy,
) -> Result<DriverDay> {
    for _ in 0..FOLD_RETRIES {
        let (mut day, version) = match store.driver_day(org, driver, date).await? {
            Some(stored) => (stored.day, stored.version),
            None => (DriverDay::new(driver.clone(), date), 0),
        };
        let mut changed = false;
        for event in events {
            changed |= day.apply(event, policy);
        }
        if !changed {
            return Ok(day);
        }
        match store.put_driver_day(org, &day, version).await {
            Ok(()) => return Ok(day),
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::conflict(format!("the report for {driver} on {date} is too busy to update; retry")))
}

/// [`record`] after the state change it describes has been committed: a
/// failure is logged, never returned, because the driver's action stands
/// either way (the aggregate misses the event; see ARCHITECTURE.md).
pub async fn record_after_commit(store: &dyn ReportStore, org: &OrgId, driver: &DriverId, date: Date, events: &[DeliveryEvent]) {
    if events.is_empty() {
        return;
    }
    if let Err(e) = record(store, org, driver, date, events, &ReportPolicy::default()).await {
        tracing::warn!(%org, %driver, %date, error = %e, "could not fold delivery events into the report");
    }
}

/// Every metric for the query's range (dispatchers only).
pub async fn report(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery) -> Result<Report> {
    let days = days(store, principal, query).await?;
    Ok(Report::from_days(&days, &ReportPolicy::default()))
}

/// One table of the report as CSV (`shifts`, `routes`, `failure_reasons`,
/// `on_time_by_day`, `cash_on_delivery`, `ratings`).
pub async fn csv(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery, table: &str) -> Result<String> {
    let tables = report(store, principal, query).await?.csv_tables();
    let names: Vec<&str> = tables.iter().map(|(n, _)| *n).collect();
    let wanted = names.join(", ");
    tables.into_iter().find(|(name, _)| *name == table).map(|(_, text)| text).ok_or_else(|| {
        Error::Invalid(ValidationErrors(vec![FieldError {
            path: "table".into(),
            code: codes::NOT_ALLOWED.into(),
            message: format!("unknown table {table:?}; use one of: {wanted}"),
        }]))
    })
}

async fn days(store: &dyn ReportStore, principal: &Principal, query: &ReportQuery) -> Result<Vec<DriverDay>> {
    require(principal, &[Role::Dispatcher], "read reports")?;
    query.validate()?;
    let mut days = store.driver_days(&principal.org, query.from, query.to).await?;
    if !query.drivers.is_empty() {
        days.retain(|d| query.drivers.contains(&d.driver_id));
    }
    Ok(days)
}
