//! The demo business that `doorstep serve --demo` loads on first run, so a new user
//! sees a realistic day in Lyon instead of an empty screen.

use doorstep_domain::OrgId;
use doorstep_domain::demo::demo_business;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

use crate::crypto::random_token;
use crate::error::Result;
use crate::ports::{BusinessSnapshot, Clock, PasswordHasher, Store, StoreError};
use crate::usecases::auth::create_dispatcher;

/// The demo dispatcher's login.
pub const DEMO_DISPATCHER_EMAIL: &str = "dispatcher@colis-express.example";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoOutcome {
    Loaded { org: OrgId, orders: usize },
    /// The store already holds an organisation; nothing was written.
    AlreadyPresent,
}

/// Loads the demo business dated today (Lyon time) unless the store already has an
/// organisation.
pub async fn load_if_empty(store: &dyn Store, clock: &dyn Clock) -> Result<DemoOutcome, StoreError> {
    if !store.list_organisations().await?.is_empty() {
        return Ok(DemoOutcome::AlreadyPresent);
    }
    let now = clock.now();
    let offset = central_european_offset(now);
    let today = now.to_offset(offset).date();
    let demo = demo_business(today, offset);
    let snapshot = BusinessSnapshot {
        organisation: demo.organisation,
        depots: demo.depots,
        drivers: demo.drivers,
        vehicles: demo.vehicles,
        orders: demo.orders,
    };
    store.import_business(&snapshot).await?;
    Ok(DemoOutcome::Loaded { org: snapshot.organisation.id.clone(), orders: snapshot.orders.len() })
}

/// Creates the demo dispatcher in the first organisation unless it exists.
/// Returns the password when the account was created now (a random one
/// unless `password` is given), so it can be shown once; `None` otherwise.
pub async fn ensure_demo_dispatcher(
    store: &dyn Store,
    clock: &dyn Clock,
    passwords: &dyn PasswordHasher,
    password: Option<&str>,
) -> Result<Option<String>> {
    if store.user_by_email(DEMO_DISPATCHER_EMAIL).await?.is_some() {
        return Ok(None);
    }
    let Some(org) = store.list_organisations().await?.into_iter().next() else {
        return Ok(None);
    };
    let password = password.map_or_else(|| random_token(12), str::to_owned);
    create_dispatcher(store, clock, passwords, &org.id, DEMO_DISPATCHER_EMAIL, "Demo dispatcher", &password).await?;
    Ok(Some(password))
}

/// Lyon's offset at `instant`: CET (+1), or CEST (+2) from the last Sunday of March
/// 01:00 UTC to the last Sunday of October 01:00 UTC (the EU rule since 1996).
pub fn central_european_offset(instant: OffsetDateTime) -> UtcOffset {
    let utc = instant.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let starts = last_sunday(year, Month::March).with_hms(1, 0, 0).map(|t| t.assume_utc());
    let ends = last_sunday(year, Month::October).with_hms(1, 0, 0).map(|t| t.assume_utc());
    let summer = matches!((starts, ends), (Ok(s), Ok(e)) if utc >= s && utc < e);
    let hours = if summer { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn last_sunday(year: i32, month: Month) -> Date {
    let days = month.length(year);
    let mut date = Date::from_calendar_date(year, month, days).unwrap_or(Date::MIN);
    while date.weekday() != Weekday::Sunday {
        date = date.previous_day().unwrap_or(date);
    }
    date
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn offset_is_winter_time_in_november_and_summer_time_in_july() {
        assert_eq!(central_european_offset(datetime!(2026-11-21 12:00 UTC)).whole_hours(), 1);
        assert_eq!(central_european_offset(datetime!(2026-07-01 12:00 UTC)).whole_hours(), 2);
    }

    #[test]
    fn offset_switches_at_one_utc_on_the_last_sunday() {
        // 2026: summer time starts 29 March and ends 25 October.
        assert_eq!(central_european_offset(datetime!(2026-03-29 00:59 UTC)).whole_hours(), 1);
        assert_eq!(central_european_offset(datetime!(2026-03-29 01:00 UTC)).whole_hours(), 2);
        assert_eq!(central_european_offset(datetime!(2026-10-25 00:59 UTC)).whole_hours(), 2);
        assert_eq!(central_european_offset(datetime!(2026-10-25 01:00 UTC)).whole_hours(), 1);
    }
}
