//! Depots, vehicles, drivers and the organisation's record, written one at a
//! time: inserts under the organisation's foreign key, and replacements
//! conditional on the stored record still being what the caller read.

use doorstep_core::ports::StoreError;
use doorstep_domain::Organisation;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{from_json, insert_owned, to_json, unavailable};

/// Inserts an item owned by `org_id`: `NotFound` for a missing organisation,
/// `AlreadyExists` for a taken id.
pub(crate) fn create_owned<T: Serialize>(
    conn: &mut Connection,
    table: &'static str,
    kind: &'static str,
    org_id: &str,
    id: &str,
    item: &T,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(unavailable)?;
    let org_exists = tx
        .query_row("SELECT 1 FROM organisations WHERE id = ?1", [org_id], |_| Ok(()))
        .optional()
        .map_err(unavailable)?;
    if org_exists.is_none() {
        return Err(StoreError::NotFound { kind: "organisation", id: org_id.to_owned() });
    }
    insert_owned(&tx, table, kind, org_id, id, item)?;
    tx.commit().map_err(unavailable)
}

/// Replaces an owned item if the stored one decodes to `expected`.
pub(crate) fn update_owned<T: Serialize + DeserializeOwned + PartialEq>(
    conn: &mut Connection,
    table: &'static str,
    kind: &'static str,
    org_id: &str,
    id: &str,
    item: &T,
    expected: &T,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(unavailable)?;
    let sql = format!("SELECT body FROM {table} WHERE org_id = ?1 AND id = ?2");
    let stored: Option<String> = tx.query_row(&sql, params![org_id, id], |r| r.get(0)).optional().map_err(unavailable)?;
    let Some(stored) = stored else {
        return Err(StoreError::NotFound { kind, id: id.to_owned() });
    };
    if from_json::<T>(&stored)? != *expected {
        return Err(StoreError::VersionConflict { kind, id: id.to_owned(), expected: 0, actual: 0 });
    }
    let sql = format!("UPDATE {table} SET body = ?3 WHERE org_id = ?1 AND id = ?2");
    tx.execute(&sql, params![org_id, id, to_json(item)?]).map_err(unavailable)?;
    tx.commit().map_err(unavailable)
}

pub(crate) fn update_organisation(conn: &mut Connection, org: &Organisation, expected: &Organisation) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(unavailable)?;
    let stored: Option<String> = tx
        .query_row("SELECT body FROM organisations WHERE id = ?1", [org.id.as_str()], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    let Some(stored) = stored else {
        return Err(StoreError::NotFound { kind: "organisation", id: org.id.to_string() });
    };
    if org.id != expected.id || from_json::<Organisation>(&stored)? != *expected {
        return Err(StoreError::VersionConflict { kind: "organisation", id: org.id.to_string(), expected: 0, actual: 0 });
    }
    tx.execute("UPDATE organisations SET body = ?2 WHERE id = ?1", params![org.id.as_str(), to_json(org)?]).map_err(unavailable)?;
    tx.commit().map_err(unavailable)
}
