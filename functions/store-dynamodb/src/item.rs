//! Items as attribute maps: key shapes from ARCHITECTURE.md (DynamoDB key design), and
//! reading typed attributes back with `Corrupt` on anything unexpected.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use doorstep_core::StoreError;
use doorstep_domain::OrgId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// The TTL attribute (unix seconds, rounded up so TTL never deletes early).
pub const EXPIRES_AT: &str = "expires_at";
/// The exact expiry (RFC 3339), which reads compare with the clock.
pub const EXPIRES: &str = "expires";
pub const BODY: &str = "body";
pub const VERSION: &str = "version";

pub fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item made of its key and more attributes.
pub fn item(pk: impl Into<String>, sk: impl Into<String>, attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> Item {
    let mut item = key(pk, sk);
    item.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
    item
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        other => Err(StoreError::Corrupt(format!("attribute {name} should be a string, found {other:?}"))),
    }
}

pub fn get_u64(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a whole number: {v}"))),
        other => Err(StoreError::Corrupt(format!("attribute {name} should be a number, found {other:?}"))),
    }
}

pub fn get_opt_u64(item: &Item, name: &str) -> Result<Option<u64>, StoreError> {
    if item.contains_key(name) { get_u64(item, name).map(Some) } else { Ok(None) }
}

pub fn get_bool(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        other => Err(StoreError::Corrupt(format!("attribute {name} should be a boolean, found {other:?}"))),
    }
}

pub fn get_time(item: &Item, name: &str) -> Result<OffsetDateTime, StoreError> {
    parse_ts(get_s(item, name)?)
}

pub fn body<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    from_json(get_s(item, BODY)?)
}

pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode item: {e}")))
}

pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("cannot decode stored item: {e}")))
}

pub fn ts(t: OffsetDateTime) -> Result<String, StoreError> {
    t.format(&Rfc3339).map_err(|e| StoreError::Corrupt(format!("cannot encode instant: {e}")))
}

pub fn parse_ts(text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| StoreError::Corrupt(format!("bad stored instant {text:?}: {e}")))
}

/// Unix seconds for the TTL attribute, rounded up: DynamoDB may delete an
/// item only once it has really expired.
pub fn ttl_seconds(t: OffsetDateTime) -> i64 {
    let whole = t.unix_timestamp();
    if t.nanosecond() > 0 { whole + 1 } else { whole }
}

/// Both expiry attributes: the TTL one and the exact one.
pub fn expiry(t: OffsetDateTime) -> Result<[(&'static str, AttributeValue); 2], StoreError> {
    Ok([(EXPIRES_AT, n(ttl_seconds(t))), (EXPIRES, s(ts(t)?))])
}

/// Whether an item with expiry attributes is still valid at `now`. TTL
/// deletion lags by up to two days, so every read checks this itself.
pub fn is_live(item: &Item, now: OffsetDateTime) -> Result<bool, StoreError> {
    Ok(get_time(item, EXPIRES)? > now)
}

pub fn org_id(text: &str) -> Result<OrgId, StoreError> {
    OrgId::new(text).map_err(corrupt)
}

pub fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The id after `prefix` in a sort key (`ORDER#ord_1` -> `ord_1`).
pub fn id_after<'a>(sk: &'a str, prefix: &str) -> Result<&'a str, StoreError> {
    sk.strip_prefix(prefix).ok_or_else(|| StoreError::Corrupt(format!("sort key {sk:?} does not start with {prefix:?}")))
}
