//! Report aggregates: one row per (org, day, driver), replaced by version.

use async_trait::async_trait;
use doorstep_core::ports::{ReportStore, StoreError, VersionedDay};
use doorstep_domain::reports::DriverDay;
use doorstep_domain::{DriverId, OrgId};
use rusqlite::{OptionalExtension, params};
use time::Date;

use crate::{SqliteStore, from_json, sql_int, to_json, unavailable};

#[async_trait]
impl ReportStore for SqliteStore {
    async fn driver_day(&self, org: &OrgId, driver: &DriverId, date: Date) -> Result<Option<VersionedDay>, StoreError> {
        let (org, driver) = (org.to_string(), driver.to_string());
        self.with_conn(move |conn| {
            let row = conn
                .query_row(
                    "SELECT version, body FROM driver_days WHERE org_id = ?1 AND date = ?2 AND driver_id = ?3",
                    params![org, date.to_string(), driver],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(version, body)| Ok(VersionedDay { day: from_json(&body)?, version: version as u64 })).transpose()
        })
        .await
    }

    async fn put_driver_day(&self, org: &OrgId, day: &DriverDay, expected_version: u64) -> Result<(), StoreError> {
        let (org, day) = (org.to_string(), day.clone());
        self.with_conn(move |conn| {
            let body = to_json(&day)?;
            let (date, driver) = (day.date.to_string(), day.driver_id.to_string());
            let changed = if expected_version == 0 {
                conn.execute(
                    "INSERT OR IGNORE INTO driver_days (org_id, date, driver_id, version, body) VALUES (?1, ?2, ?3, 1, ?4)",
                    params![org, date, driver, body],
                )
            } else {
                conn.execute(
                    "UPDATE driver_days SET version = version + 1, body = ?5 WHERE org_id = ?1 AND date = ?2 AND driver_id = ?3 AND version = ?4",
                    params![org, date, driver, sql_int(expected_version), body],
                )
            }
            .map_err(unavailable)?;
            if changed == 1 {
                return Ok(());
            }
            let actual: Option<i64> = conn
                .query_row(
                    "SELECT version FROM driver_days WHERE org_id = ?1 AND date = ?2 AND driver_id = ?3",
                    params![org, date, driver],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            Err(StoreError::VersionConflict {
                kind: "report day",
                id: format!("{date}/{driver}"),
                expected: expected_version,
                actual: actual.map_or(0, |v| v as u64),
            })
        })
        .await
    }

    async fn driver_days(&self, org: &OrgId, from: Date, to: Date) -> Result<Vec<DriverDay>, StoreError> {
        let org = org.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM driver_days WHERE org_id = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date, driver_id",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![org, from.to_string(), to.to_string()], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|body| from_json(&body.map_err(unavailable)?)).collect()
        })
        .await
    }
}
