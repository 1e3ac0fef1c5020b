//! The demo business that `doorstep serve --demo` loads on first run, so a new user
//! sees a realistic day in Lyon instead of an empty screen.

use doorstep_domain::OrgId;
use doorstep_domain::demo::{DemoSize, demo_business_sized};
use time::{OffsetDateTime, UtcOffset};

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

/// What `doorstep serve --demo` loads: by default the whole Lyon day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DemoOptions {
    pub size: DemoSize,
    /// The organisation's time zone; `None`: Europe/Paris, as in Lyon.
    pub zone: Option<DemoZone>,
}

/// A time zone the demo can be dated in: Lyon's own (`Europe/Paris`) or a
/// fixed offset (`UTC`, `Etc/GMT`, `Etc/GMT-3` = UTC+3, `Etc/GMT+5` = UTC-5:
/// POSIX signs). Fixed zones let a test put the demo's working day at
/// whatever hour it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoZone {
    name: String,
    fixed: Option<UtcOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported demo time zone {0:?}: use Europe/Paris, UTC, Etc/GMT or Etc/GMT-14 ... Etc/GMT+12")]
pub struct UnsupportedZone(pub String);

impl DemoZone {
    pub fn parse(name: &str) -> Result<Self, UnsupportedZone> {
        let unsupported = || UnsupportedZone(name.to_owned());
        let fixed = match name {
            "Europe/Paris" => None,
            "UTC" | "Etc/UTC" | "Etc/GMT" => Some(UtcOffset::UTC),
            _ => {
                let rest = name.strip_prefix("Etc/GMT").ok_or_else(unsupported)?;
                let (sign, digits) = match rest.split_at_checked(1) {
                    Some(("+", d)) => (-1, d),
                    Some(("-", d)) => (1, d),
                    _ => return Err(unsupported()),
                };
                // Digits only: `parse` would also take a second sign.
                if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(unsupported());
                }
                let hours: i8 = digits.parse().map_err(|_| unsupported())?;
                // The tz database has Etc/GMT-14 ... Etc/GMT+12, no zero padding.
                let in_range = if sign > 0 { (1..=14).contains(&hours) } else { (1..=12).contains(&hours) };
                if !in_range || digits.starts_with('0') {
                    return Err(unsupported());
                }
                Some(UtcOffset::from_hms(sign * hours, 0, 0).map_err(|_| unsupported())?)
            }
        };
        Ok(Self { name: name.to_owned(), fixed })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset at `instant`.
    pub fn offset_at(&self, instant: OffsetDateTime) -> UtcOffset {
        self.fixed.unwrap_or_else(|| central_european_offset(instant))
    }
}

/// Loads the demo business dated today (Lyon time) unless the store already has an
/// organisation.
pub async fn load_if_empty(store: &dyn Store, clock: &dyn Clock) -> Result<DemoOutcome, StoreError> {
    load_if_empty_with(store, clock, &DemoOptions::default()).await
}

/// Loads the demo business cut to `options.size`, dated today in its zone,
/// unless the store already has an organisation.
pub async fn load_if_empty_with(store: &dyn Store, clock: &dyn Clock, options: &DemoOptions) -> Result<DemoOutcome, StoreError> {
    if !store.list_organisations().await?.is_empty() {
        return Ok(DemoOutcome::AlreadyPresent);
    }
    let now = clock.now();
    let offset = options.zone.as_ref().map_or_else(|| central_european_offset(now), |z| z.offset_at(now));
    let today = now.to_offset(offset).date();
    let mut demo = demo_business_sized(today, offset, options.size);
    if let Some(zone) = &options.zone {
        demo.organisation.timezone = zone.name().to_owned();
    }
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

/// Lyon's offset at `instant`, from the tz database.
pub fn central_european_offset(instant: OffsetDateTime) -> UtcOffset {
    crate::tz::offset_at("Europe/Paris", instant)
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

    #[test]
    fn demo_zones_are_lyon_or_fixed_offsets_with_posix_signs() {
        let at = datetime!(2026-07-01 12:00 UTC);
        assert_eq!(DemoZone::parse("Europe/Paris").unwrap().offset_at(at).whole_hours(), 2);
        assert_eq!(DemoZone::parse("UTC").unwrap().offset_at(at).whole_hours(), 0);
        assert_eq!(DemoZone::parse("Etc/GMT").unwrap().offset_at(at).whole_hours(), 0);
        assert_eq!(DemoZone::parse("Etc/GMT-3").unwrap().offset_at(at).whole_hours(), 3);
        assert_eq!(DemoZone::parse("Etc/GMT-14").unwrap().offset_at(at).whole_hours(), 14);
        assert_eq!(DemoZone::parse("Etc/GMT+12").unwrap().offset_at(at).whole_hours(), -12);
        assert_eq!(DemoZone::parse("Etc/GMT+5").unwrap().name(), "Etc/GMT+5");
        for bad in ["Europe/Berlin", "Etc/GMT+13", "Etc/GMT-15", "Etc/GMT+0", "Etc/GMT-03", "Etc/GMT3", "Etc/GMT--3", "Etc/GMT+", "etc/gmt-3", ""] {
            assert_eq!(DemoZone::parse(bad), Err(UnsupportedZone(bad.to_owned())), "{bad}");
        }
    }
}
