//! The `PodStore` port on the single table:
//!
//! | Item | PK | SK | Attributes |
//! |---|---|---|---|
//! | Proof of delivery | `ORG#{org}` | `POD#{order}#{attempt:04}` | `body` (sealed `PodRecord`) |
//! | Route start / arrival | `ORG#{org}` | `VISIT#{route or stop}` | `body` (`VisitRecord`) |
//! | One-time code | `ORG#{org}` | `OTP#{order}#{attempt:04}` | `code_hashes` (list), `attempts`, `max_attempts`, `verified`, `expires`, `expires_at` (TTL) |
//! | Uploaded blob | `ORG#{org}` | `UPLOAD#{blob key}` | `order`, `granted_ms`, `state`; sparse GSI1 `UPLOADS` / `{granted_ms:015}#{org}#{key}` while `pending` or `deleting`; `settled_at` + TTL (30 days) once `deleted` |
//!
//! A driver action is one `TransactWriteItems`: the idempotency record
//! (`IDEM#{key}`, same shape as order intake's, conditional on the key being
//! free), the one-time code guess (conditional on the guess count read),
//! the order Puts (conditional on their versions), the proof
//! (`attribute_not_exists`) with an Update marking each of its blobs
//! referenced (refused once the orphan sweep claimed it), the visit and the
//! outbox entries.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use doorstep_core::StoreError;
use doorstep_core::ports::{
    ActionWrite, DriverAction, MAX_OTP_CODES, OTP_KIND, OrderUpdate, OtpGuess, OtpRecord, OutboxEntry, PodStore, UploadRecord, UploadState,
};
use doorstep_domain::pod::{PodRecord, VisitRecord};
use doorstep_domain::{OrderId, OrgId};
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::business::order_item;
use crate::item::{
    BODY, EXPIRES, EXPIRES_AT, GSI1, GSI1PK, GSI1SK, Item, PK, body, expiry, get_bool, get_s, get_time, get_u64, item, key, n, org_pk, s,
    to_json, ts,
};
use crate::ops::{MAX_TX_ITEMS, conditional_update, key_of, unavailable};
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


/// The GSI1 partition of uploads the orphan sweep still has to look at.
pub const UPLOADS_PARTITION: &str = "UPLOADS";
const STATE: &str = "state";
const ORDER: &str = "order";
const GRANTED_MS: &str = "granted_ms";
/// How long a `deleted` tombstone is kept (far past any replay of a driver action).
const TOMBSTONE_DAYS: i64 = 30;

fn upload_key(org: &OrgId, blob: &str) -> Item {
    key(org_pk(org), format!("UPLOAD#{blob}"))
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn sweep_sk(ms: i64, org: &OrgId, blob: &str) -> String {
    format!("{ms:015}#{org}#{blob}")
}

fn upload_from(item: &Item) -> Result<UploadRecord, StoreError> {
    let pk = get_s(item, PK)?;
    let org = pk.strip_prefix("ORG#").ok_or_else(|| StoreError::Corrupt(format!("upload item under {pk}")))?;
    let sk = get_s(item, crate::item::SK)?;
    let blob = sk.strip_prefix("UPLOAD#").ok_or_else(|| StoreError::Corrupt(format!("upload item with SK {sk}")))?;
    let ms = i64::try_from(get_u64(item, GRANTED_MS)?).unwrap_or(i64::MAX);
    let state = get_s(item, STATE)?;
    Ok(UploadRecord {
        org_id: OrgId::new(org).map_err(|e| StoreError::Corrupt(format!("bad org id in {pk}: {e}")))?,
        order_id: OrderId::new(get_s(item, ORDER)?).map_err(|e| StoreError::Corrupt(format!("bad order id in {sk}: {e}")))?,
        key: blob.to_owned(),
        granted_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|e| StoreError::Corrupt(format!("bad upload time {ms}: {e}")))?,
        state: UploadState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("unknown upload state {state:?}")))?,
    })
}

/// Marks a cited blob referenced (creating the record for a blob uploaded
/// before uploads were tracked); refused once the sweep claimed the key.
fn reference_blob(tx: &mut Tx, org: &OrgId, order: &OrderId, blob: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let update = Cond::new("SET #state = :referenced, #order = if_not_exists(#order, :order), #g = if_not_exists(#g, :g) REMOVE #gpk, #gsk")
        .name("#state", STATE)
        .name("#order", ORDER)
        .name("#g", GRANTED_MS)
        .name("#gpk", GSI1PK)
        .name("#gsk", GSI1SK)
        .value(":referenced", s(UploadState::Referenced.as_str()))
        .value(":order", s(order.as_str()))
        .value(":g", n(millis(now)));
    let cond = Cond::new("attribute_not_exists(#pk) OR #state IN (:pending, :referenced)")
        .name("#pk", PK)
        .name("#state", STATE)
        .value(":pending", s(UploadState::Pending.as_str()))
        .value(":referenced", s(UploadState::Referenced.as_str()));
    tx.update(upload_key(org, blob), update, cond, OnFail::Missing { kind: "photo", id: blob.to_owned() })
}

/// Counts one guess if the count is still the one the caller read.
fn otp_guess(tx: &mut Tx, org: &OrgId, guess: &OtpGuess) -> Result<(), StoreError> {
    let mut update = Cond::new(if guess.correct { "SET #a = #a + :one, #v = :true" } else { "SET #a = #a + :one" })
        .name("#a", "attempts")
        .value(":one", n(1));
    if guess.correct {
        update = update.name("#v", "verified").value(":true", AttributeValue::Bool(true));
    }
    let cond = Cond::new("attribute_exists(#pk) AND #v = :false AND #a = :expected AND #a < #m")
        .name("#pk", PK)
        .name("#a", "attempts")
        .name("#v", "verified")
        .name("#m", "max_attempts")
        .value(":false", AttributeValue::Bool(false))
        .value(":expected", n(guess.expected_attempts));
    tx.update(otp_key(org, &guess.order_id, guess.attempt), update, cond, OnFail::Missing { kind: OTP_KIND, id: format!("{}#{}", guess.order_id, guess.attempt) })
}

#[async_trait::async_trait]
impl PodStore for DynamoStore {
    async fn write_driver_action(&self, action: &DriverAction) -> Result<ActionWrite, StoreError> {
        if let Some(stray) = action.orders.iter().find(|u| u.order.org_id != action.org_id) {
            return Err(StoreError::Corrupt(format!("order {} is not in {}", stray.order.id, action.org_id)));
        }
        let blobs: BTreeSet<&str> = action.pod.iter().flat_map(|p| p.blobs()).map(|b| b.blob_key.as_str()).collect();
        let items = 1
            + usize::from(action.otp_guess.is_some())
            + action.orders.len()
            + usize::from(action.pod.is_some())
            + blobs.len()
            + usize::from(action.visit.is_some())
            + action.outbox.len();
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
            if let Some(guess) = &action.otp_guess {
                otp_guess(&mut tx, &action.org_id, guess)?;
            }
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
                for blob in &blobs {
                    reference_blob(&mut tx, &action.org_id, &pod.order_id, blob, record.created_at)?;
                }
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
                Err(refused) if matches!(&refused.on_fail, OnFail::Missing { kind, .. } if *kind == OTP_KIND) => {
                    let guess = action.otp_guess.as_ref().ok_or_else(|| StoreError::Corrupt("a code refused without a guess".into()))?;
                    let id = format!("{}#{}", guess.order_id, guess.attempt);
                    return Err(match self.otp(&action.org_id, &guess.order_id, guess.attempt).await? {
                        None => StoreError::NotFound { kind: OTP_KIND, id },
                        // Also when it was verified or locked meanwhile: the caller reads it again.
                        Some(now) => StoreError::VersionConflict { kind: OTP_KIND, id, expected: u64::from(guess.expected_attempts), actual: u64::from(now.attempts) },
                    });
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

    async fn record_upload(&self, upload: &UploadRecord) -> Result<(), StoreError> {
        let ms = millis(upload.granted_at);
        let mut it = item(
            org_pk(&upload.org_id),
            format!("UPLOAD#{}", upload.key),
            [(ORDER, s(upload.order_id.as_str())), (GRANTED_MS, n(ms)), (STATE, s(upload.state.as_str()))],
        );
        if matches!(upload.state, UploadState::Pending | UploadState::Deleting) {
            it.insert(GSI1PK.to_owned(), s(UPLOADS_PARTITION));
            it.insert(GSI1SK.to_owned(), s(sweep_sk(ms, &upload.org_id, &upload.key)));
        }
        // Already recorded: keep what is there.
        let _kept = self.put_if(it, Cond::not_exists()).await?;
        Ok(())
    }

    async fn upload(&self, org: &OrgId, blob: &str) -> Result<Option<UploadRecord>, StoreError> {
        self.get(upload_key(org, blob)).await?.as_ref().map(upload_from).transpose()
    }

    async fn uploads_to_sweep(&self, granted_before: OffsetDateTime, limit: u32) -> Result<Vec<UploadRecord>, StoreError> {
        let limit = limit.max(1) as usize;
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_names("#sk", GSI1SK)
                .expression_attribute_values(":pk", s(UPLOADS_PARTITION))
                .expression_attribute_values(":before", s(format!("{:015}", millis(granted_before))))
                .limit(i32::try_from(limit - found.len()).unwrap_or(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for it in out.items.unwrap_or_default() {
                found.push(upload_from(&it)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || found.len() >= limit {
                return Ok(found);
            }
        }
    }

    async fn claim_upload_deletion(&self, org: &OrgId, blob: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(upload_key(org, blob)))
            .update_expression("SET #state = :deleting")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_values(":deleting", s(UploadState::Deleting.as_str()))
            .expression_attribute_values(":pending", s(UploadState::Pending.as_str()))
            .send()
            .await;
        conditional_update(result)
    }

    async fn finish_upload_deletion(&self, org: &OrgId, blob: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let [(_, ttl), (_, exact)] = expiry(now + time::Duration::days(TOMBSTONE_DAYS))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(upload_key(org, blob)))
            .update_expression("SET #state = :deleted, #settled = :now, #x = :exact, #t = :ttl REMOVE #gpk, #gsk")
            .condition_expression("#state = :deleting")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#settled", "settled_at")
            .expression_attribute_names("#x", EXPIRES)
            .expression_attribute_names("#t", EXPIRES_AT)
            .expression_attribute_names("#gpk", GSI1PK)
            .expression_attribute_names("#gsk", GSI1SK)
            .expression_attribute_values(":deleted", s(UploadState::Deleted.as_str()))
            .expression_attribute_values(":deleting", s(UploadState::Deleting.as_str()))
            .expression_attribute_values(":now", s(ts(now)?))
            .expression_attribute_values(":exact", exact)
            .expression_attribute_values(":ttl", ttl)
            .send()
            .await;
        // A failed condition: finished by another sweep already.
        conditional_update(result).map(|_| ())
    }
}
