//! The `PodStore` port on the single table:
//!
//! | Item | PK | SK | Attributes |
//! |---|---|---|---|
//! | Proof of delivery | `ORG#{org}` | `POD#{order}#{attempt:04}` | `body` (sealed `PodRecord`) |
//! | Route start / arrival | `ORG#{org}` | `VISIT#{route or stop}` | `body` (`VisitRecord`) |
//! | One-time code | `ORG#{org}` | `OTP#{order}#{attempt:04}` | `code_hashes` (list), `attempts`, `max_attempts`, `verified`, `expires`, `expires_at` (TTL) |
//!
//! A driver action is one `TransactWriteItems`: the idempotency record
//! (`IDEM#{key}`, same shape as order intake's, conditional on the key being
//! free), the order Puts (conditional on their versions), the proof
//! (`attribute_not_exists`), the visit and the outbox entries.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use doorstep_core::StoreError;
use doorstep_core::ports::{ActionWrite, DriverAction, MAX_OTP_CODES, OrderUpdate, OtpRecord, OutboxEntry, PodStore};
use doorstep_domain::pod::{PodRecord, VisitRecord};
use doorstep_domain::{OrderId, OrgId};

use crate::DynamoStore;
use crate::business::order_item;
use crate::item::{BODY, EXPIRES, EXPIRES_AT, Item, PK, body, expiry, get_bool, get_time, get_u64, item, key, n, org_pk, s, to_json, ts};
use crate::ops::{MAX_TX_ITEMS, key_of, unavailable};
use crate::orders::Recorded;
use crate::outbox;
use crate::tx::{Cond, OnFail, Tx};

fn pod_sk(order: &OrderId, attempt: u32) -> String {
    format!("POD#{order}#{attempt:04}")
}

fn otp_key(org: &OrgId, order: &OrderId, attempt: u32) -> Item {
    key(org_pk(org), format!("OTP#{order}#{attempt:04}"))
}

/// The idempotency record, shaped exactly as order intake writes it, so
/// `Store::idempotency_record` reads both.
fn idem_item(action: &DriverAction) -> Result<Item, StoreError> {
    let r = &action.record;
    let mut it = item(
        org_pk(&r.org_id),
        format!("IDEM#{}", r.key),
        [
            ("request_hash", s(r.request_hash.clone())),
            ("status", n(r.status)),
            ("created_at", s(ts(r.created_at)?)),
            ("state", s("complete")),
            (BODY, s(r.body.clone())),
        ],
    );
    it.extend(expiry(r.expires_at)?.into_iter().map(|(k, v)| (k.to_owned(), v)));
    Ok(it)
}

fn otp_from(item: &Item, org: &OrgId, order: &OrderId, attempt: u32) -> Result<OtpRecord, StoreError> {
    let code_hashes = match item.get("code_hashes") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(h) => Ok(h.clone()),
                other => Err(StoreError::Corrupt(format!("code hash should be a string, found {other:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(StoreError::Corrupt(format!("code_hashes should be a list, found {other:?}"))),
    };
    Ok(OtpRecord {
        org_id: org.clone(),
        order_id: order.clone(),
        attempt,
        code_hashes,
        attempts: u32::try_from(get_u64(item, "attempts")?).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(get_u64(item, "max_attempts")?).unwrap_or(0),
        verified: get_bool(item, "verified")?,
        expires_at: get_time(item, EXPIRES)?,
    })
}

#[async_trait::async_trait]
impl PodStore for DynamoStore {
    async fn write_driver_action(&self, action: &DriverAction) -> Result<ActionWrite, StoreError> {
        if let Some(stray) = action.orders.iter().find(|u| u.order.org_id != action.org_id) {
            return Err(StoreError::Corrupt(format!("order {} is not in {}", stray.order.id, action.org_id)));
        }
        let items = 1 + action.orders.len() + usize::from(action.pod.is_some()) + usize::from(action.visit.is_some()) + action.outbox.len();
        if items > MAX_TX_ITEMS {
            return Err(StoreError::Unavailable(format!(
                "this action changes {items} items, more than one DynamoDB transaction holds ({MAX_TX_ITEMS}); split the route"
            )));
        }
        let record = &action.record;
        for _ in 0..3 {
            let mut tx = Tx::new(&self.table);
            // The key first: a replay racing its original is reported as such.
            let free = Cond::new("attribute_not_exists(#pk) OR #e <= :now")
                .name("#pk", PK)
                .name("#e", EXPIRES_AT)
                .value(":now", n(record.created_at.unix_timestamp()));
            tx.put(idem_item(action)?, free, OnFail::KeyTaken)?;
            for update in &action.orders {
                let it = order_item(&update.order)?;
                let k = key_of(&it);
                tx.put(
                    it,
                    Cond::version(update.expected_version),
                    OnFail::Version { kind: "order", id: update.order.id.to_string(), expected: update.expected_version, key: k },
                )?;
            }
            if let Some(pod) = &action.pod {
                let it = item(org_pk(&action.org_id), pod_sk(&pod.order_id, pod.attempt), [(BODY, s(to_json(pod)?))]);
                tx.put(it, Cond::not_exists(), OnFail::Exists { kind: "proof of delivery", id: format!("{}#{}", pod.order_id, pod.attempt) })?;
            }
            if let Some(visit) = &action.visit {
                let it = item(org_pk(&action.org_id), format!("VISIT#{}", visit.subject_id), [(BODY, s(to_json(visit)?))]);
                tx.put(it, Cond::none(), OnFail::Retry)?;
            }
            for entry in &action.outbox {
                outbox::add(&mut tx, entry)?;
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(ActionWrite::Written),
                Err(refused) if matches!(refused.on_fail, OnFail::KeyTaken) => {
                    match self.read_record(&action.org_id, &record.key, record.created_at).await? {
                        Recorded::Complete(existing) => return Ok(ActionWrite::AlreadyRecorded(existing)),
                        Recorded::Pending => {
                            return Err(StoreError::Unavailable(format!("a request with Idempotency-Key {:?} is still being written; retry shortly", record.key)));
                        }
                        // Expired in between: try again.
                        Recorded::Absent => {}
                    }
                }
                Err(refused) => return Err(self.refusal(refused).await),
            }
        }
        Err(StoreError::Unavailable(format!("Idempotency-Key {:?} kept changing; try again", record.key)))
    }

    async fn update_order_notifying(&self, update: &OrderUpdate, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        let it = order_item(&update.order)?;
        let k = key_of(&it);
        tx.put(
            it,
            Cond::version(update.expected_version),
            OnFail::Version { kind: "order", id: update.order.id.to_string(), expected: update.expected_version, key: k },
        )?;
        for entry in entries {
            outbox::add(&mut tx, entry)?;
        }
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    async fn pod_records(&self, org: &OrgId, order: &OrderId) -> Result<Vec<PodRecord>, StoreError> {
        self.query_prefix(org_pk(org), &format!("POD#{order}#")).await?.iter().map(body).collect()
    }

    async fn visit(&self, org: &OrgId, subject_id: &str) -> Result<Option<VisitRecord>, StoreError> {
        self.get(key(org_pk(org), format!("VISIT#{subject_id}"))).await?.as_ref().map(body).transpose()
    }

    async fn add_otp_code(&self, record: &OtpRecord) -> Result<(), StoreError> {
        let [(_, ttl), (_, exact)] = expiry(record.expires_at)?;
        let hashes = AttributeValue::L(record.code_hashes.iter().map(|h| s(h.clone())).collect());
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(otp_key(&record.org_id, &record.order_id, record.attempt)))
            .update_expression(
                "SET #h = list_append(if_not_exists(#h, :empty), :new), #a = if_not_exists(#a, :zero), #m = :max, \
                 #v = if_not_exists(#v, :false), #x = :exact, #t = :ttl",
            )
            .expression_attribute_names("#h", "code_hashes")
            .expression_attribute_names("#a", "attempts")
            .expression_attribute_names("#m", "max_attempts")
            .expression_attribute_names("#v", "verified")
            .expression_attribute_names("#x", EXPIRES)
            .expression_attribute_names("#t", EXPIRES_AT)
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":new", hashes)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":max", n(record.max_attempts))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":exact", exact)
            .expression_attribute_values(":ttl", ttl)
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        let count = match out.attributes.as_ref().and_then(|a| a.get("code_hashes")) {
            Some(AttributeValue::L(list)) => list.len(),
            _ => 0,
        };
        if count > MAX_OTP_CODES {
            // Drop the oldest codes beyond the limit.
            let drop: Vec<String> = (0..count - MAX_OTP_CODES).map(|i| format!("#h[{i}]")).collect();
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(otp_key(&record.org_id, &record.order_id, record.attempt)))
                .update_expression(format!("REMOVE {}", drop.join(", ")))
                .expression_attribute_names("#h", "code_hashes")
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn otp(&self, org: &OrgId, order: &OrderId, attempt: u32) -> Result<Option<OtpRecord>, StoreError> {
        self.get(otp_key(org, order, attempt)).await?.map(|it| otp_from(&it, org, order, attempt)).transpose()
    }

    async fn count_otp_guess(&self, org: &OrgId, order: &OrderId, attempt: u32, correct: bool) -> Result<OtpRecord, StoreError> {
        let update = if correct { "SET #a = #a + :one, #v = :true" } else { "SET #a = #a + :one" };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(otp_key(org, order, attempt)))
            .update_expression(update)
            // One conditional update: the guess only counts while the code is open.
            .condition_expression("attribute_exists(#pk) AND #v = :false AND #a < #m")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#a", "attempts")
            .expression_attribute_names("#v", "verified")
            .expression_attribute_names("#m", "max_attempts")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew);
        if correct {
            request = request.expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        match request.send().await {
            Ok(out) => otp_from(&out.attributes.unwrap_or_default(), org, order, attempt),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => self
                .otp(org, order, attempt)
                .await?
                .ok_or_else(|| StoreError::NotFound { kind: "one-time code", id: format!("{order}#{attempt}") }),
            Err(e) => Err(unavailable(e)),
        }
    }
}
