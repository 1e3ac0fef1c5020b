//! Storage of the report aggregates: one `DriverDay` per (organisation, day,
//! driver), replaced with optimistic versioning so concurrent folds never
//! lose an event.

use async_trait::async_trait;
use doorstep_domain::reports::DriverDay;
use doorstep_domain::{DriverId, OrgId};
use time::Date;

use super::StoreError;

/// A stored aggregate and the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedDay {
    pub day: DriverDay,
    pub version: u64,
}

#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    async fn driver_day(&self, org: &OrgId, driver: &DriverId, date: Date) -> Result<Option<VersionedDay>, StoreError>;

    /// Writes the aggregate if the stored one is still at `expected_version`
    /// (0: none stored yet); the new version is `expected_version + 1`.
    /// Otherwise `VersionConflict` (kind `report day`) and nothing changes.
    async fn put_driver_day(&self, org: &OrgId, day: &DriverDay, expected_version: u64) -> Result<(), StoreError>;

    /// Every driver's aggregates from `from` to `to` (both included), by
    /// date then driver.
    async fn driver_days(&self, org: &OrgId, from: Date, to: Date) -> Result<Vec<DriverDay>, StoreError>;
}
