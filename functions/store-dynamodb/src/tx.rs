//! Conditional writes: condition expressions, and `TransactWriteItems`
//! requests that remember what each operation's failed condition means.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use doorstep_core::StoreError;

use crate::item::{Item, PK, VERSION, n};

/// A condition expression with its placeholders. Every attribute name goes
/// through a `#placeholder`, so DynamoDB's reserved words never bite.
#[derive(Debug, Clone, Default)]
pub struct Cond {
    pub expr: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Cond {
    pub fn new(expr: impl Into<String>) -> Self {
        Self { expr: Some(expr.into()), ..Self::default() }
    }

    pub fn none() -> Self {
        Self::default()
    }

    /// The item must not exist yet.
    pub fn not_exists() -> Self {
        Self::new("attribute_not_exists(#pk)").name("#pk", PK)
    }

    pub fn exists() -> Self {
        Self::new("attribute_exists(#pk)").name("#pk", PK)
    }

    /// Optimistic concurrency: the stored `version` must be `expected`.
    pub fn version(expected: u64) -> Self {
        Self::new("#v = :expected").name("#v", VERSION).value(":expected", n(expected))
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// This condition's placeholders merged with an update expression's.
    fn merged(&self, update: &Cond) -> Cond {
        let mut merged = self.clone();
        merged.names.extend(update.names.clone());
        merged.values.extend(update.values.clone());
        merged
    }
}

/// What it means when an operation's condition fails.
#[derive(Debug, Clone)]
pub enum OnFail {
    /// The item already exists.
    Exists { kind: &'static str, id: String },
    /// The item (or the one checked) does not exist.
    Missing { kind: &'static str, id: String },
    /// The item is not at the expected version (or is gone).
    Version { kind: &'static str, id: String, expected: u64, key: Item },
    /// The idempotency key is already recorded.
    KeyTaken,
    /// Someone changed the item since we read it: read again and retry.
    Retry,
}

/// Which operation's condition refused the write, and the item as it was
/// (when DynamoDB returned it).
#[derive(Debug)]
pub struct Refused {
    pub on_fail: OnFail,
    pub old: Option<Item>,
}

/// One `TransactWriteItems` request being built.
#[derive(Debug)]
pub struct Tx {
    table: String,
    pub ops: Vec<TransactWriteItem>,
    pub on_fail: Vec<OnFail>,
}

pub(crate) fn build_request<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Unavailable(format!("cannot build a DynamoDB request: {e}")))
}

impl Tx {
    pub fn new(table: &str) -> Self {
        Self { table: table.to_owned(), ops: Vec::new(), on_fail: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn put(&mut self, item: Item, cond: Cond, on_fail: OnFail) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        self.ops.push(TransactWriteItem::builder().put(build_request(put.build())?).build());
        self.on_fail.push(on_fail);
        Ok(())
    }

    pub fn delete(&mut self, key: Item, cond: Cond, on_fail: OnFail) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values());
        self.ops.push(TransactWriteItem::builder().delete(build_request(delete.build())?).build());
        self.on_fail.push(on_fail);
        Ok(())
    }

    /// `update` holds the update expression and its own placeholders.
    pub fn update(&mut self, key: Item, update: Cond, cond: Cond, on_fail: OnFail) -> Result<(), StoreError> {
        let all = cond.merged(&update);
        let op = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_update_expression(update.expr.clone())
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(all.names())
            .set_expression_attribute_values(all.values());
        self.ops.push(TransactWriteItem::builder().update(build_request(op.build())?).build());
        self.on_fail.push(on_fail);
        Ok(())
    }

    pub fn check(&mut self, key: Item, cond: Cond, on_fail: OnFail) -> Result<(), StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values());
        self.ops.push(TransactWriteItem::builder().condition_check(build_request(check.build())?).build());
        self.on_fail.push(on_fail);
        Ok(())
    }
}

