//! Writing the transactional outbox inside a caller's transaction.

use doorstep_core::StoreError;
use doorstep_core::ports::OutboxEntry;
use rusqlite::{Transaction, params};

use crate::{to_json, ts, unavailable};

/// Adds the entries to the outbox. An entry whose (org, key) is already there
/// is kept as it was: the first write of an event wins.
pub(crate) fn insert(tx: &Transaction<'_>, entries: &[OutboxEntry]) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO outbox (org_id, key, body, created_at) VALUES (?1, ?2, ?3, ?4)")
        .map_err(unavailable)?;
    for entry in entries {
        stmt.execute(params![entry.org_id.as_str(), entry.key(), to_json(entry)?, ts(entry.created_at)?]).map_err(unavailable)?;
    }
    Ok(())
}
