//! The outbox drain and the send ledger (`NotifyStore`) on DynamoDB.
//!
//! Undrained outbox items sit in the sparse GSI1 partition `OUTBOX`;
//! settling one removes its GSI1 keys (the item stays, with `drained_at`).
//! Ledger items are `PK = ORG#{org}`, `SK = SEND#{ledger key}`, claimed with
//! a conditional put (`attribute_not_exists`) and settled with a put
//! conditional on still being claimed by the same drainer.

use async_trait::async_trait;
use doorstep_core::ports::{Claim, NotifyStore, OutboxEntry, SendRecord, SendState, StoreError};
use doorstep_domain::OrgId;
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::item::{BODY, GSI1, GSI1PK, GSI1SK, Item, body, item, key, org_pk, s, to_json, ts};
use crate::ops::{conditional_update, unavailable};
use crate::outbox::{PENDING_PARTITION, SK_PREFIX};
use crate::tx::Cond;

pub const SEND_PREFIX: &str = "SEND#";
const STATE: &str = "state";
const CLAIMANT: &str = "claimant";
const OUTBOX_KEY: &str = "outbox_key";
const LEASE_UNTIL: &str = "lease_until";
const DRAINED_AT: &str = "drained_at";

fn send_item(record: &SendRecord) -> Result<Item, StoreError> {
    Ok(item(
        org_pk(&record.org_id),
        format!("{SEND_PREFIX}{}", record.key),
        [
            (BODY, s(to_json(record)?)),
            (STATE, s(record.state.as_str())),
            (CLAIMANT, s(record.claimant.clone())),
            (OUTBOX_KEY, s(record.outbox_key.clone())),
            (LEASE_UNTIL, s(ts(record.lease_until)?)),
        ],
    ))
}

fn send_key(org: &OrgId, key: &str) -> Item {
    crate::item::key(org_pk(org), format!("{SEND_PREFIX}{key}"))
}

fn claimed_by(claimant: &str) -> Cond {
    Cond::new("#state = :claimed AND #claimant = :claimant")
        .name("#state", STATE)
        .name("#claimant", CLAIMANT)
        .value(":claimed", s(SendState::Claimed.as_str()))
        .value(":claimant", s(claimant))
}

impl DynamoStore {
    async fn read_send(&self, org: &OrgId, key: &str) -> Result<Option<SendRecord>, StoreError> {
        self.get(send_key(org, key)).await?.map(|i| body(&i)).transpose()
    }

    /// Replaces a claimed record with `next` if `claimant` still holds it.
    async fn replace_claimed(&self, claimant: &str, next: &SendRecord) -> Result<bool, StoreError> {
        Ok(self.put_if(send_item(next)?, claimed_by(claimant)).await?.is_ok())
    }
}

#[async_trait]
impl NotifyStore for DynamoStore {
    async fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        let limit = limit.max(1) as usize;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_values(":pk", s(PENDING_PARTITION))
                .limit(i32::try_from(limit - entries.len()).unwrap_or(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for i in out.items.unwrap_or_default() {
                entries.push(body(&i)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || entries.len() >= limit {
                return Ok(entries);
            }
        }
    }

    async fn outbox_entry(&self, org: &OrgId, outbox_key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        self.get(key(org_pk(org), format!("{SK_PREFIX}{outbox_key}"))).await?.map(|i| body(&i)).transpose()
    }

    async fn settle_outbox(&self, org: &OrgId, outbox_key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(org_pk(org), format!("{SK_PREFIX}{outbox_key}"))))
            .update_expression("SET #drained = if_not_exists(#drained, :now) REMOVE #gpk, #gsk")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#drained", DRAINED_AT)
            .expression_attribute_names("#gpk", GSI1PK)
            .expression_attribute_names("#gsk", GSI1SK)
            .expression_attribute_names("#pk", crate::item::PK)
            .expression_attribute_values(":now", s(ts(now)?))
            .send()
            .await;
        // A failed condition: deleted meanwhile (an undone publication), nothing left to settle.
        conditional_update(result).map(|_| ())
    }

    async fn claim_send(&self, record: &SendRecord) -> Result<Claim, StoreError> {
        let claimed = SendRecord { state: SendState::Claimed, ..record.clone() };
        match self.put_if(send_item(&claimed)?, Cond::not_exists()).await? {
            Ok(()) => Ok(Claim::Won),
            Err(Some(old)) => Ok(Claim::Taken(body(&old)?)),
            Err(None) => match self.read_send(&record.org_id, &record.key).await? {
                Some(existing) => Ok(Claim::Taken(existing)),
                None => Err(StoreError::Unavailable(format!("send {} was refused but is not there", record.key))),
            },
        }
    }

    async fn settle_send(
        &self,
        org: &OrgId,
        key: &str,
        claimant: &str,
        state: SendState,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if !state.is_final() {
            return Ok(false);
        }
        let Some(mut record) = self.read_send(org, key).await? else { return Ok(false) };
        if record.state != SendState::Claimed || record.claimant != claimant {
            return Ok(false);
        }
        record.state = state;
        record.error = error.map(str::to_owned);
        record.settled_at = Some(now);
        self.replace_claimed(claimant, &record).await
    }

    async fn abandon_send(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let Some(mut record) = self.read_send(org, key).await? else { return Ok(false) };
        if record.state != SendState::Claimed || record.lease_until >= now {
            return Ok(false);
        }
        let claimant = record.claimant.clone();
        record.state = SendState::Unknown;
        record.error = Some(format!("claim by {claimant} expired without an outcome"));
        record.settled_at = Some(now);
        self.replace_claimed(&claimant, &record).await
    }

    async fn sends_for(&self, org: &OrgId, outbox_key: &str) -> Result<Vec<SendRecord>, StoreError> {
        let items = self.query_prefix(org_pk(org), &format!("{SEND_PREFIX}{outbox_key}#")).await?;
        items.iter().map(body).collect()
    }
}
