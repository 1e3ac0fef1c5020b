//! Outbox items, written inside the transaction of the state change that
//! caused them. The stream of the table carries each new one to the notify
//! function; the sparse GSI1 partition `OUTBOX` lists those not yet drained.

use doorstep_core::StoreError;
use doorstep_core::ports::OutboxEntry;

use crate::item::{BODY, GSI1PK, GSI1SK, Item, item, key, org_pk, s, to_json, ts};
use crate::tx::{Cond, OnFail, Tx};

/// The GSI1 partition of undrained outbox items.
pub const PENDING_PARTITION: &str = "OUTBOX";
pub const SK_PREFIX: &str = "OUTBOX#";

pub fn outbox_key(entry: &OutboxEntry) -> Item {
    key(org_pk(&entry.org_id), format!("{SK_PREFIX}{}", entry.key()))
}

pub fn outbox_item(entry: &OutboxEntry) -> Result<Item, StoreError> {
    Ok(item(
        org_pk(&entry.org_id),
        format!("{SK_PREFIX}{}", entry.key()),
        [
            (BODY, s(to_json(entry)?)),
            (GSI1PK, s(PENDING_PARTITION)),
            (GSI1SK, s(format!("{}#{}#{}", ts(entry.created_at)?, entry.org_id, entry.key()))),
        ],
    ))
}

/// Adds the entry to a transaction. The put is unconditional, since one
/// refused condition would abort the whole state change; rewriting an entry
/// is harmless because the notifier's send ledger dedupes (order, attempt,
/// trigger, channel).
pub fn add(tx: &mut Tx, entry: &OutboxEntry) -> Result<(), StoreError> {
    tx.put(outbox_item(entry)?, Cond::none(), OnFail::Retry)
}
