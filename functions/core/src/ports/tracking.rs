//! Storage of driver pings, latest positions and route progress (ETAs and
//! which notifications went out). Kept apart from the `Store` port's plan
//! documents: the dispatcher edits plans under their own versions, while
//! drivers' phones write these many times a minute.

use async_trait::async_trait;
use doorstep_domain::tracking::{DriverPosition, RouteProgress, StoredPing};
use doorstep_domain::{DriverId, OrgId, RouteId};
use time::OffsetDateTime;

use super::{OutboxEntry, StoreError};

/// Pings of one driver to store, already checked by the use case.
#[derive(Debug, Clone, PartialEq)]
pub struct PingWrite {
    pub org_id: OrgId,
    pub driver_id: DriverId,
    pub route_id: RouteId,
    /// Distinct `seq`s (the use case drops repeats inside one upload).
    pub pings: Vec<doorstep_domain::TrackingPing>,
    pub received_at: OffsetDateTime,
    /// When these pings (and the position they may set) stop being readable.
    pub expires_at: OffsetDateTime,
}

/// What [`TrackingStore::record_pings`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PingsRecorded {
    /// The `seq`s that were new (stored now); the others were already stored.
    pub stored: Vec<u64>,
    /// The driver's latest position after the write (moved only forward).
    pub latest: Option<DriverPosition>,
}

#[async_trait]
pub trait TrackingStore: Send + Sync + 'static {
    /// Stores each ping not stored yet for (org, driver, seq) and keeps the
    /// others as they were; moves the driver's latest position to the newest
    /// stored ping if it is newer (device time, then seq) than the current one.
    async fn record_pings(&self, write: &PingWrite) -> Result<PingsRecorded, StoreError>;

    /// The unexpired latest position of every driver of `org` that has one.
    async fn latest_positions(&self, org: &OrgId, now: OffsetDateTime) -> Result<Vec<DriverPosition>, StoreError>;

    /// The driver's unexpired latest position.
    async fn latest_position(&self, org: &OrgId, driver: &DriverId, now: OffsetDateTime) -> Result<Option<DriverPosition>, StoreError>;

    /// The driver's unexpired pings with device time in `[from, to]`, by
    /// device time then seq, at most `limit`.
    async fn ping_trail(
        &self,
        org: &OrgId,
        driver: &DriverId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredPing>, StoreError>;

    async fn route_progress(&self, org: &OrgId, route: &RouteId) -> Result<Option<RouteProgress>, StoreError>;

    /// Writes the progress if the stored one is still at `expected_version`
    /// (`None`: there must be none yet), else `VersionConflict`; the outbox
    /// entries go in the same transaction.
    async fn save_route_progress(
        &self,
        org: &OrgId,
        progress: &RouteProgress,
        expected_version: Option<u64>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError>;

    /// Deletes expired pings (at most `limit`) where the store must do it
    /// itself; returns how many went. DynamoDB's TTL does this on its own.
    async fn sweep_expired_pings(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}
