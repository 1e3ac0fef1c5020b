//! The DynamoDB calls every method builds on: consistent reads, queries,
//! batches with retries of unprocessed keys, and transactions whose
//! cancellation reasons become `StoreError`s.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use doorstep_core::StoreError;
use serde::de::DeserializeOwned;

use crate::DynamoStore;
use crate::item::{GSI1, GSI1PK, GSI1SK, Item, PK, SK, VERSION, body, get_s, get_u64, id_after, s};
use crate::tx::{Cond, OnFail, Refused, Tx, build_request};

/// Most items one `TransactWriteItems` takes.
pub const MAX_TX_ITEMS: usize = 100;
/// Most `Query` calls one page of a filtered list may spend before it
/// returns what it has, with a cursor.
const MAX_QUERIES_PER_PAGE: usize = 10;
/// How often a transaction cancelled only by concurrent transactions is retried.
const CONFLICT_RETRIES: u32 = 5;

pub fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(&e).to_string())
}

/// A conditional `UpdateItem`'s outcome: `true` when written, `false` when
/// its condition failed; any other error means the store is unavailable.
pub fn conditional_update<O, R: std::fmt::Debug>(result: Result<O, SdkError<UpdateItemError, R>>) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// Where a paged list reads: the table or GSI1, one partition, one kind.
#[derive(Debug, Clone)]
pub struct Range {
    pub on_index: bool,
    pub pk: String,
    /// The sort key prefix of the kind, ending in `#` (`ORDER#`).
    pub prefix: &'static str,
}

impl DynamoStore {
    /// Strongly consistent `GetItem`.
    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`.
    pub(crate) async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every item of GSI1 partition `gsi_pk`.
    pub(crate) async fn query_index_all(&self, gsi_pk: String) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_values(":pk", s(gsi_pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// One page of a keyed list in sort-key order: the items after `after`
    /// that `keep` accepts, at most `limit`, and the id to continue after
    /// when more may follow. `filtered` says `keep` may refuse items, so
    /// each `Query` reads more than `limit`.
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        range: &Range,
        after: Option<&str>,
        limit: u32,
        filtered: bool,
        keep: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let limit = limit.max(1) as usize;
        let prefix = range.prefix;
        // BETWEEN is inclusive: the item at `after` itself is skipped below.
        let lo = after.map_or_else(|| prefix.to_owned(), |a| format!("{prefix}{a}"));
        let hi = format!("{}$", &prefix[..prefix.len() - 1]);
        let per_call = if filtered { (limit + 1).max(200) } else { limit + 1 }.min(1000);
        let (pk_attr, sk_attr) = if range.on_index { (GSI1PK, GSI1SK) } else { (PK, SK) };
        let mut found: Vec<(String, T)> = Vec::new();
        let mut last_seen: Option<String> = None;
        let mut start = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(range.on_index.then(|| GSI1.to_owned()))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":pk", s(range.pk.clone()))
                .expression_attribute_values(":lo", s(lo.clone()))
                .expression_attribute_values(":hi", s(hi.clone()))
                .set_consistent_read((!range.on_index).then_some(true))
                .limit(i32::try_from(per_call).unwrap_or(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                let id = id_after(get_s(&item, SK)?, prefix)?.to_owned();
                if Some(id.as_str()) == after {
                    continue;
                }
                last_seen = Some(id.clone());
                let value: T = body(&item)?;
                if keep(&value) {
                    found.push((id, value));
                    if found.len() > limit {
                        found.truncate(limit);
                        let next = found.last().map(|(id, _)| id.clone());
                        return Ok((found.into_iter().map(|(_, v)| v).collect(), next));
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok((found.into_iter().map(|(_, v)| v).collect(), None));
            }
        }
        // Read budget spent: a short page, continuing after the last item read.
        Ok((found.into_iter().map(|(_, v)| v).collect(), last_seen))
    }

    /// `BatchGetItem` in groups of 100 keys, retrying unprocessed keys.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for group in keys.chunks(100) {
            let mut pending = Some(build_request(
                KeysAndAttributes::builder().set_keys(Some(group.to_vec())).consistent_read(true).build(),
            )?);
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).filter(|k| !k.keys.is_empty());
                if attempt > 8 && pending.is_some() {
                    return Err(StoreError::Unavailable("DynamoDB kept keys unprocessed; try again".into()));
                }
            }
        }
        Ok(found)
    }

    /// Deletes the items with these keys (`BatchWriteItem`, 25 at a time),
    /// for undoing partly written multi-transaction writes.
    pub(crate) async fn delete_all(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for group in keys.chunks(25) {
            let mut requests = group
                .iter()
                .map(|k| Ok(WriteRequest::builder().delete_request(build_request(DeleteRequest::builder().set_key(Some(k.clone())).build())?).build()))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(unavailable)?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
                if attempt > 8 && !requests.is_empty() {
                    return Err(StoreError::Unavailable("DynamoDB kept deletes unprocessed; try again".into()));
                }
            }
        }
        Ok(())
    }

    /// A conditional `PutItem`; on a failed condition, the item as it was.
    pub(crate) async fn put_if(&self, item: Item, cond: Cond) -> Result<Result<(), Option<Item>>, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => Ok(Err(failed.item().cloned())),
                _ => Err(unavailable(e)),
            },
        }
    }

    /// Runs a transaction. `Err(Refused)` names the first operation whose
    /// condition failed (the same one SQLite's in-order checks would report).
    /// Cancellations caused only by concurrent transactions are retried.
    pub(crate) async fn transact(&self, tx: Tx) -> Result<Result<(), Refused>, StoreError> {
        if tx.is_empty() {
            return Ok(Ok(()));
        }
        let mut attempt = 0u32;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(tx.ops.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let retryable = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    if let Some((index, reason)) =
                        reasons.iter().enumerate().find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    {
                        let on_fail = tx.on_fail.get(index).cloned().unwrap_or(OnFail::Retry);
                        return Ok(Err(Refused { on_fail, old: reason.item().cloned() }));
                    }
                    reasons.iter().all(|r| matches!(r.code(), None | Some("None") | Some("TransactionConflict")))
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                _ => false,
            };
            if !retryable || attempt >= CONFLICT_RETRIES {
                return Err(unavailable(error));
            }
            attempt += 1;
            tracing::debug!(attempt, "transaction conflicted with another; retrying");
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    /// The error a refused write reports. A version conflict reads the
    /// stored version when DynamoDB did not return the old item.
    pub(crate) async fn refusal(&self, refused: Refused) -> StoreError {
        match refused.on_fail {
            OnFail::Exists { kind, id } => StoreError::AlreadyExists { kind, id },
            OnFail::Missing { kind, id } => StoreError::NotFound { kind, id },
            OnFail::Version { kind, id, expected, key } => self.version_conflict(kind, id, expected, refused.old, key).await,
            OnFail::KeyTaken | OnFail::Retry => {
                StoreError::Unavailable("the item changed during the write; try again".into())
            }
        }
    }

    pub(crate) async fn version_conflict(
        &self,
        kind: &'static str,
        id: String,
        expected: u64,
        old: Option<Item>,
        key: Item,
    ) -> StoreError {
        let old = match old {
            Some(old) => Some(old),
            None => match self.get(key).await {
                Ok(old) => old,
                Err(e) => return e,
            },
        };
        match old {
            None => StoreError::NotFound { kind, id },
            Some(old) => match get_u64(&old, VERSION) {
                Ok(actual) => StoreError::VersionConflict { kind, id, expected, actual },
                Err(e) => e,
            },
        }
    }

    /// Writes new items in transactions of up to 100. If a later
    /// transaction is refused or fails, the items already written are
    /// deleted again, so the caller sees all or nothing (readers may
    /// glimpse the partial state meanwhile).
    pub(crate) async fn put_new_in_chunks(&self, puts: Vec<(Item, OnFail)>) -> Result<Result<(), Refused>, StoreError> {
        let mut written: Vec<Item> = Vec::new();
        for chunk in puts.chunks(MAX_TX_ITEMS) {
            let mut tx = Tx::new(&self.table);
            for (item, on_fail) in chunk {
                tx.put(item.clone(), Cond::not_exists(), on_fail.clone())?;
            }
            match self.transact(tx).await {
                Ok(Ok(())) => written.extend(chunk.iter().map(|(item, _)| key_of(item))),
                failed => {
                    if !written.is_empty() {
                        tracing::warn!(items = written.len(), "multi-transaction write failed; deleting what it wrote");
                        // The first item (an organisation, say) goes last, so it
                        // keeps guarding its key until the rest is gone.
                        written.rotate_left(1);
                        self.delete_all(written).await?;
                    }
                    return failed;
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The primary key of an item.
pub fn key_of(item: &Item) -> Item {
    item.iter().filter(|(k, _)| *k == PK || *k == SK).map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<String, AttributeValue>>()
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(25 * 2u64.pow(attempt.min(6)))
}
