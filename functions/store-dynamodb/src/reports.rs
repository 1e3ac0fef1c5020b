//! Report aggregates: item (`ORG#{org}`, `DAY#{date}#DRIVER#{driver}`) with
//! `version` and `body`, replaced with a version condition. A date range is
//! one `Query` with `SK BETWEEN`.

use async_trait::async_trait;
use doorstep_core::ports::{ReportStore, StoreError, VersionedDay};
use doorstep_domain::reports::DriverDay;
use doorstep_domain::{DriverId, OrgId};
use time::Date;

use crate::DynamoStore;
use crate::item::{BODY, Item, PK, SK, VERSION, body, get_opt_u64, get_u64, item, key, n, org_pk, s, to_json};
use crate::ops::unavailable;
use crate::tx::Cond;

fn day_sk(date: Date, driver: &DriverId) -> String {
    format!("DAY#{date}#DRIVER#{driver}")
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn driver_day(&self, org: &OrgId, driver: &DriverId, date: Date) -> Result<Option<VersionedDay>, StoreError> {
        let Some(found) = self.get(key(org_pk(org), day_sk(date, driver))).await? else { return Ok(None) };
        Ok(Some(VersionedDay { day: body(&found)?, version: get_u64(&found, VERSION)? }))
    }

    async fn put_driver_day(&self, org: &OrgId, day: &DriverDay, expected_version: u64) -> Result<(), StoreError> {
        let new: Item = item(
            org_pk(org),
            day_sk(day.date, &day.driver_id),
            [(BODY, s(to_json(day)?)), (VERSION, n(expected_version + 1))],
        );
        let cond = if expected_version == 0 { Cond::not_exists() } else { Cond::version(expected_version) };
        match self.put_if(new, cond).await? {
            Ok(()) => Ok(()),
            Err(old) => Err(StoreError::VersionConflict {
                kind: "report day",
                id: format!("{}/{}", day.date, day.driver_id),
                expected: expected_version,
                actual: old.as_ref().map(|o| get_opt_u64(o, VERSION)).transpose()?.flatten().unwrap_or(0),
            }),
        }
    }

    async fn driver_days(&self, org: &OrgId, from: Date, to: Date) -> Result<Vec<DriverDay>, StoreError> {
        let mut days = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(org_pk(org)))
                .expression_attribute_values(":lo", s(format!("DAY#{from}#")))
                // `~` sorts after every id character.
                .expression_attribute_values(":hi", s(format!("DAY#{to}#~")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for found in out.items.unwrap_or_default() {
                days.push(body(&found)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(days);
            }
        }
    }
}
