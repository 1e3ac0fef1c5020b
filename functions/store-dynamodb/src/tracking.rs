//! The `TrackingStore` port on the single table.
//!
//! | Item | PK | SK | Attributes |
//! |---|---|---|---|
//! | Ping | `ORG#{org}#DRIVER#{driver}#PINGS` | `SEQ#{seq:020}` | `body` (ping JSON), `route`, `received`, `GSI1PK` = `ORG#{org}#DRIVER#{driver}#TRAIL`, `GSI1SK` = `{device_ms:015}#{seq:020}`, `expires_at` (TTL) + `expires` |
//! | Latest position | `ORG#{org}` | `POSITION#{driver}` | `body`, `t` (device ms), `seq`, `expires_at` (TTL) + `expires` |
//! | Route progress | `ORG#{org}` | `PROGRESS#{route}` | `body`, `version` |
//!
//! Pings are written with one conditional `PutItem` each
//! (`attribute_not_exists(PK)`), up to 100 at once in parallel: a refused
//! condition is exactly "this (driver, seq) is already stored", so
//! duplicates are reported right even when two uploads of the same batch
//! race. The position is a `PutItem` conditional on being newer (device
//! time, then seq) or on the old one having expired. Reads compare
//! `expires` with the clock, since TTL deletion lags by up to two days.

use async_trait::async_trait;
use doorstep_core::StoreError;
use doorstep_core::ports::{OutboxEntry, PingWrite, PingsRecorded, TrackingStore};
use doorstep_domain::tracking::{DriverPosition, RouteProgress, StoredPing};
use doorstep_domain::{DriverId, OrgId, RouteId, TrackingPing};
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::item::{
    BODY, EXPIRES_AT, GSI1, GSI1PK, GSI1SK, Item, VERSION, body, corrupt, expiry, get_s, get_time, is_live, item, key, n, org_pk, s,
    to_json, ts,
};
use crate::ops::unavailable;
use crate::outbox;
use crate::tx::{Cond, OnFail, Tx};

const DEVICE_MS: &str = "t";
const SEQ: &str = "seq";

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX).max(0)
}

fn pings_pk(org: &OrgId, driver: &DriverId) -> String {
    format!("ORG#{org}#DRIVER#{driver}#PINGS")
}

fn trail_pk(org: &OrgId, driver: &DriverId) -> String {
    format!("ORG#{org}#DRIVER#{driver}#TRAIL")
}

fn trail_sk(device_ms: i64, seq: u64) -> String {
    format!("{device_ms:015}#{seq:020}")
}

fn position_key(org: &OrgId, driver: &DriverId) -> Item {
    key(org_pk(org), format!("POSITION#{driver}"))
}

fn progress_key(org: &OrgId, route: &RouteId) -> Item {
    key(org_pk(org), format!("PROGRESS#{route}"))
}

fn ping_item(write: &PingWrite, ping: &TrackingPing) -> Result<Item, StoreError> {
    let mut item = item(
        pings_pk(&write.org_id, &write.driver_id),
        format!("SEQ#{:020}", ping.seq),
        [
            (BODY, s(to_json(ping)?)),
            ("route", s(write.route_id.as_str())),
            ("received", s(ts(write.received_at)?)),
            (GSI1PK, s(trail_pk(&write.org_id, &write.driver_id))),
            (GSI1SK, s(trail_sk(ms(ping.device_time), ping.seq))),
        ],
    );
    item.extend(expiry(write.expires_at)?.map(|(k, v)| (k.to_owned(), v)));
    Ok(item)
}

#[async_trait]
impl TrackingStore for DynamoStore {
    async fn record_pings(&self, write: &PingWrite) -> Result<PingsRecorded, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        for ping in &write.pings {
            let item = ping_item(write, ping)?;
            let store = self.clone();
            let seq = ping.seq;
            tasks.spawn(async move { (seq, store.put_if(item, Cond::not_exists()).await) });
        }
        let mut stored = Vec::new();
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((seq, Ok(Ok(())))) => stored.push(seq),
                Ok((_, Ok(Err(_already_there)))) => {}
                Ok((_, Err(e))) => failure = Some(e),
                Err(e) => failure = Some(StoreError::Unavailable(format!("ping write task failed: {e}"))),
            }
        }
        // Pings written before a failure stay: a retry of the upload reports
        // them as duplicates, which is what they then are.
        if let Some(e) = failure {
            return Err(e);
        }
        stored.sort_unstable();
        let newest = write.pings.iter().filter(|p| stored.binary_search(&p.seq).is_ok()).max_by_key(|p| (p.device_time, p.seq));
        if let Some(ping) = newest {
            let position = DriverPosition::from_ping(write.driver_id.clone(), write.route_id.clone(), ping, write.received_at);
            let mut item = position_key(&write.org_id, &write.driver_id);
            item.extend([
                (BODY.to_owned(), s(to_json(&position)?)),
                (DEVICE_MS.to_owned(), n(ms(ping.device_time))),
                (SEQ.to_owned(), n(ping.seq)),
            ]);
            item.extend(expiry(write.expires_at)?.map(|(k, v)| (k.to_owned(), v)));
            let newer = Cond::new("attribute_not_exists(#pk) OR #t < :t OR (#t = :t AND #seq < :seq) OR #exp <= :now")
                .name("#pk", crate::item::PK)
                .name("#t", DEVICE_MS)
                .name("#seq", SEQ)
                .name("#exp", EXPIRES_AT)
                .value(":t", n(ms(ping.device_time)))
                .value(":seq", n(ping.seq))
                .value(":now", n(write.received_at.unix_timestamp()));
            // Refused: a newer position is already there, which stays.
            let _ = self.put_if(item, newer).await?;
        }
        let latest = self.read_position(&write.org_id, &write.driver_id, write.received_at).await?;
        Ok(PingsRecorded { stored, latest })
    }

    async fn latest_positions(&self, org: &OrgId, now: OffsetDateTime) -> Result<Vec<DriverPosition>, StoreError> {
        let items = self.query_prefix(org_pk(org), "POSITION#").await?;
        let mut positions = Vec::with_capacity(items.len());
        for item in items {
            if is_live(&item, now)? {
                positions.push(body(&item)?);
            }
        }
        Ok(positions)
    }

    async fn latest_position(&self, org: &OrgId, driver: &DriverId, now: OffsetDateTime) -> Result<Option<DriverPosition>, StoreError> {
        self.read_position(org, driver, now).await
    }

    async fn ping_trail(
        &self,
        org: &OrgId,
        driver: &DriverId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredPing>, StoreError> {
        let limit = limit as usize;
        let lo = trail_sk(ms(from), 0);
        let hi = trail_sk(ms(to), u64::MAX);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_names("#sk", GSI1SK)
                .expression_attribute_values(":pk", s(trail_pk(org, driver)))
                .expression_attribute_values(":lo", s(lo.clone()))
                .expression_attribute_values(":hi", s(hi.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                if !is_live(&item, now)? {
                    continue;
                }
                found.push(StoredPing {
                    driver_id: driver.clone(),
                    route_id: RouteId::new(get_s(&item, "route")?).map_err(corrupt)?,
                    ping: body(&item)?,
                    received_at: get_time(&item, "received")?,
                });
                if found.len() >= limit {
                    return Ok(found);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn route_progress(&self, org: &OrgId, route: &RouteId) -> Result<Option<RouteProgress>, StoreError> {
        self.get(progress_key(org, route)).await?.map(|item| body(&item)).transpose()
    }

    async fn save_route_progress(
        &self,
        org: &OrgId,
        progress: &RouteProgress,
        expected_version: Option<u64>,
        entries: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let k = progress_key(org, &progress.route_id);
        let mut item = k.clone();
        item.extend([(BODY.to_owned(), s(to_json(progress)?)), (VERSION.to_owned(), n(progress.version))]);
        let cond = match expected_version {
            Some(v) => Cond::version(v),
            None => Cond::not_exists(),
        };
        let id = progress.route_id.to_string();
        let mut tx = Tx::new(&self.table);
        tx.put(item, cond, OnFail::Version { kind: "route progress", id: id.clone(), expected: expected_version.unwrap_or(0), key: k })?;
        for entry in entries {
            outbox::add(&mut tx, entry)?;
        }
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => match (self.refusal(refused).await, expected_version) {
                // Expected none but one exists: report the version found.
                (StoreError::NotFound { .. }, Some(v)) => Err(StoreError::VersionConflict { kind: "route progress", id, expected: v, actual: 0 }),
                (e, _) => Err(e),
            },
        }
    }

    async fn sweep_expired_pings(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // DynamoDB's TTL on `expires_at` deletes them; reads already skip them.
        Ok(0)
    }
}

impl DynamoStore {
    async fn read_position(&self, org: &OrgId, driver: &DriverId, now: OffsetDateTime) -> Result<Option<DriverPosition>, StoreError> {
        match self.get(position_key(org, driver)).await? {
            Some(item) if is_live(&item, now)? => Ok(Some(body(&item)?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_sort_keys_sort_by_time_then_seq() {
        assert!(trail_sk(999, 5) < trail_sk(1000, 1));
        assert!(trail_sk(1000, 1) < trail_sk(1000, 2));
        assert!(trail_sk(1000, 9) < trail_sk(1000, 10));
    }
}
