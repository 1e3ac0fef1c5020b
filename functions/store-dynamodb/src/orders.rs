//! Orders and idempotency records.

use std::collections::HashSet;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use doorstep_core::StoreError;
use doorstep_core::ports::{IdempotencyRecord, KeyPage, OrdersWrite};
use doorstep_domain::api::OrderQuery;
use doorstep_domain::{Order, OrderId, OrgId};
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::business::{order_item, refuse_duplicates};
use crate::item::{BODY, EXPIRES_AT, Item, corrupt, expiry, get_opt_u64, get_s, get_time, get_u64, is_live, key, n, org_pk, s, ts, ttl_seconds};
use crate::ops::{MAX_TX_ITEMS, Range, key_of, unavailable};
use crate::tx::{Cond, OnFail, Tx};

/// Largest response body kept inline in the record; larger ones are split
/// into part items (an item holds at most 400 KB).
const MAX_INLINE_BODY: usize = 350_000;
const PENDING: &str = "pending";
pub(crate) const COMPLETE: &str = "complete";

/// What is stored under an idempotency key.
#[derive(Debug)]
pub enum Recorded {
    Complete(IdempotencyRecord),
    /// A large write is still under way (or died half-way).
    Pending,
    Absent,
}

fn record_key(org: &OrgId, key: &str) -> Item {
    crate::item::key(org_pk(org), format!("IDEM#{key}"))
}

/// Part items sort apart from records; the fixed-width number at the end
/// keeps `{key}#{n}` unambiguous whatever the key holds.
fn part_key(org: &OrgId, key: &str, index: usize) -> Item {
    crate::item::key(org_pk(org), format!("IDEMPART#{key}#{index:04}"))
}

/// The record's attributes except the answer.
pub(crate) fn record_item(record: &IdempotencyRecord, state: &str) -> Result<Item, StoreError> {
    let mut item = record_key(&record.org_id, &record.key);
    item.extend(
        [
            ("request_hash", s(record.request_hash.clone())),
            ("status", n(record.status)),
            ("created_at", s(ts(record.created_at)?)),
            ("state", s(state)),
        ]
        .into_iter()
        .chain(expiry(record.expires_at)?)
        .map(|(k, v)| (k.to_owned(), v)),
    );
    Ok(item)
}

/// The key may be reused once the old record expired (TTL may lag).
pub(crate) fn key_free_at(at: OffsetDateTime) -> Cond {
    Cond::new("attribute_not_exists(#pk) OR #e <= :now")
        .name("#pk", crate::item::PK)
        .name("#e", EXPIRES_AT)
        .value(":now", n(at.unix_timestamp()))
}

/// Splits at character boundaries into pieces of at most `max` bytes.
pub(crate) fn split_body(body: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = body;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

impl DynamoStore {
    pub(crate) async fn write_orders(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
    ) -> Result<OrdersWrite, StoreError> {
        if let Some(stray) = orders.iter().find(|o| o.org_id != *org) {
            return Err(StoreError::Corrupt(format!("order {} belongs to {}, not {org}", stray.id, stray.org_id)));
        }
        refuse_duplicates("order", orders.iter().map(|o| o.id.as_str()))?;
        let puts = orders
            .iter()
            .map(|o| Ok((order_item(o)?, OnFail::Exists { kind: "order", id: o.id.to_string() })))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let Some(record) = record else {
            return match self.put_new_in_chunks(puts).await? {
                Ok(()) => Ok(OrdersWrite::Written),
                Err(refused) => Err(self.refusal(refused).await),
            };
        };
        if orders.len() < MAX_TX_ITEMS && record.body.len() <= MAX_INLINE_BODY {
            self.write_orders_with_record(puts, record).await
        } else {
            self.write_many_orders_with_record(puts, record).await
        }
    }

    /// One transaction: the record (conditional on the key being free) and
    /// the orders.
    async fn write_orders_with_record(&self, puts: Vec<(Item, OnFail)>, record: &IdempotencyRecord) -> Result<OrdersWrite, StoreError> {
        for _ in 0..3 {
            let mut tx = Tx::new(&self.table);
            let mut item = record_item(record, COMPLETE)?;
            item.insert(BODY.to_owned(), s(record.body.clone()));
            tx.put(item, key_free_at(record.created_at), OnFail::KeyTaken)?;
            for (order, on_fail) in &puts {
                tx.put(order.clone(), Cond::not_exists(), on_fail.clone())?;
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(OrdersWrite::Written),
                Err(refused) if matches!(refused.on_fail, OnFail::KeyTaken) => {
                    if let Some(answer) = self.already_recorded(record).await? {
                        return Ok(answer);
                    }
                    // The record expired in between: try again.
                }
                Err(refused) => return Err(self.refusal(refused).await),
            }
        }
        Err(StoreError::Unavailable(format!("Idempotency-Key {:?} kept changing; try again", record.key)))
    }

    /// What a taken key means for a new write: the stored record, or
    /// `Unavailable` while the first write is still under way.
    pub(crate) async fn already_recorded(&self, record: &IdempotencyRecord) -> Result<Option<OrdersWrite>, StoreError> {
        match self.read_record(&record.org_id, &record.key, record.created_at).await? {
            Recorded::Complete(existing) => Ok(Some(OrdersWrite::AlreadyRecorded(existing))),
            Recorded::Pending => Err(StoreError::Unavailable(format!(
                "a request with Idempotency-Key {:?} is still being written; retry shortly",
                record.key
            ))),
            Recorded::Absent => Ok(None),
        }
    }

    /// More than one transaction's worth: the record goes first as
    /// `pending` (claiming the key), then the orders in transactions of 100,
    /// then the answer, and the record becomes `complete`. If the orders
    /// cannot all be written, what was written and the claim are deleted.
    async fn write_many_orders_with_record(&self, puts: Vec<(Item, OnFail)>, record: &IdempotencyRecord) -> Result<OrdersWrite, StoreError> {
        let claim_key = record_key(&record.org_id, &record.key);
        let mut claimed = false;
        for _ in 0..3 {
            let mut claim = record_item(record, PENDING)?;
            let ids = puts.iter().filter_map(|(item, _)| item.get(crate::item::SK).cloned()).collect();
            claim.insert("order_keys".to_owned(), AttributeValue::L(ids));
            if self.put_if(claim, key_free_at(record.created_at)).await?.is_ok() {
                claimed = true;
                break;
            }
            if let Some(answer) = self.already_recorded(record).await? {
                return Ok(answer);
            }
        }
        if !claimed {
            return Err(StoreError::Unavailable(format!("Idempotency-Key {:?} kept changing; try again", record.key)));
        }
        match self.put_new_in_chunks(puts).await {
            Ok(Ok(())) => {}
            failed => {
                self.delete_all(vec![claim_key]).await?;
                return match failed? {
                    Err(refused) => Err(self.refusal(refused).await),
                    Ok(()) => Ok(OrdersWrite::Written),
                };
            }
        }
        let parts = split_body(&record.body, MAX_INLINE_BODY);
        let complete = if parts.len() == 1 {
            Cond::new("SET #state = :complete, #body = :body REMOVE #keys")
                .name("#body", BODY)
                .value(":body", s(record.body.clone()))
        } else {
            for (index, part) in parts.iter().enumerate() {
                let mut item = part_key(&record.org_id, &record.key, index);
                item.insert(BODY.to_owned(), s(*part));
                item.insert(EXPIRES_AT.to_owned(), n(ttl_seconds(record.expires_at)));
                self.put_if(item, Cond::none()).await?.map_err(|_| StoreError::Unavailable("cannot write the answer".into()))?;
            }
            Cond::new("SET #state = :complete, #parts = :parts REMOVE #keys").name("#parts", "parts").value(":parts", n(parts.len()))
        };
        let complete = complete
            .name("#state", "state")
            .name("#keys", "order_keys")
            .value(":complete", s(COMPLETE))
            .value(":pending", s(PENDING));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(claim_key))
            .set_update_expression(complete.expr.clone())
            .condition_expression("#state = :pending")
            .set_expression_attribute_names(complete.names())
            .set_expression_attribute_values(complete.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(OrdersWrite::Written),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Err(StoreError::Unavailable(format!("the record of Idempotency-Key {:?} changed during the write", record.key)))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Rewrites a complete, inline answer of the request `request_hash`;
    /// `false` if the record is absent, another request's, pending, stored
    /// in parts, or the new answer would need parts.
    pub(crate) async fn replace_answer(&self, org: &OrgId, key: &str, request_hash: &str, status: u16, body: &str) -> Result<bool, StoreError> {
        if body.len() > MAX_INLINE_BODY {
            return Ok(false);
        }
        let update = Cond::new("SET #body = :body, #status = :status")
            .name("#body", BODY)
            .name("#status", "status")
            .name("#state", "state")
            .name("#hash", "request_hash")
            .name("#parts", "parts")
            .value(":body", s(body))
            .value(":status", n(status))
            .value(":complete", s(COMPLETE))
            .value(":hash", s(request_hash));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(org, key)))
            .set_update_expression(update.expr.clone())
            .condition_expression("#state = :complete AND #hash = :hash AND attribute_not_exists(#parts)")
            .set_expression_attribute_names(update.names())
            .set_expression_attribute_values(update.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The record under `key` as seen at `now` (expired ones are absent).
    pub(crate) async fn read_record(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<Recorded, StoreError> {
        let Some(item) = self.get(record_key(org, key)).await? else { return Ok(Recorded::Absent) };
        if !is_live(&item, now)? {
            return Ok(Recorded::Absent);
        }
        if get_s(&item, "state")? == PENDING {
            return Ok(Recorded::Pending);
        }
        let body = match get_opt_u64(&item, "parts")? {
            None => get_s(&item, BODY)?.to_owned(),
            Some(count) => {
                let mut body = String::new();
                for index in 0..usize::try_from(count).map_err(corrupt)? {
                    let part = self
                        .get(part_key(org, key, index))
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("part {index} of Idempotency-Key {key:?} is missing")))?;
                    body.push_str(get_s(&part, BODY)?);
                }
                body
            }
        };
        Ok(Recorded::Complete(IdempotencyRecord {
            org_id: org.clone(),
            key: key.to_owned(),
            request_hash: get_s(&item, "request_hash")?.to_owned(),
            status: u16::try_from(get_u64(&item, "status")?).map_err(corrupt)?,
            body,
            created_at: get_time(&item, "created_at")?,
            expires_at: get_time(&item, crate::item::EXPIRES)?,
        }))
    }

    pub(crate) async fn read_orders(&self, org: &OrgId, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        // BatchGetItem refuses a request that names a key twice.
        let mut seen = HashSet::new();
        let keys = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| key(org_pk(org), format!("ORDER#{id}")))
            .collect();
        self.batch_get(keys).await?.iter().map(crate::item::body).collect()
    }

    /// By state: a Query on GSI1. Other filters are applied here, so a page
    /// may hold fewer than `limit` orders while a cursor says more may follow.
    pub(crate) async fn order_page(
        &self,
        org: &OrgId,
        query: &OrderQuery,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<KeyPage<Order, OrderId>, StoreError> {
        let range = match query.state {
            Some(state) => Range { on_index: true, pk: format!("ORG#{org}#STATE#{}", state.as_str()), prefix: "ORDER#" },
            None => Range { on_index: false, pk: org_pk(org), prefix: "ORDER#" },
        };
        let filtered = query.depot_id.is_some() || query.date.is_some() || query.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        let (items, next) = self.list_page(&range, after.map(OrderId::as_str), limit, filtered, |o: &Order| query.matches(o)).await?;
        let next = next.map(|id| OrderId::new(id).map_err(corrupt)).transpose()?;
        Ok(KeyPage { items, next })
    }

    pub(crate) async fn replace_order(&self, order: &Order, expected: u64) -> Result<(), StoreError> {
        let item = order_item(order)?;
        let k = key_of(&item);
        match self.put_if(item, Cond::version(expected)).await? {
            Ok(()) => Ok(()),
            Err(old) => Err(self.version_conflict("order", order.id.to_string(), expected, old, k).await),
        }
    }
}
