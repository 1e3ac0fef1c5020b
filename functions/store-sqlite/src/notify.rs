//! The outbox drain and the send ledger (`NotifyStore`) on SQLite.
//!
//! Several processes may drain one database file at once (WAL mode): claims
//! are `INSERT OR IGNORE` on the ledger's primary key, and every
//! read-then-write runs in an IMMEDIATE transaction, so the file lock
//! serialises them.

use async_trait::async_trait;
use doorstep_core::ports::{Claim, NotifyStore, OutboxEntry, SendRecord, SendState, StoreError};
use doorstep_domain::OrgId;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::{SqliteStore, from_json, to_json, ts, unavailable};

fn read_send(conn: &rusqlite::Connection, org: &str, key: &str) -> Result<Option<SendRecord>, StoreError> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM notification_sends WHERE org_id = ?1 AND key = ?2", params![org, key], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    body.map(|b| from_json(&b)).transpose()
}

fn write_send(conn: &rusqlite::Connection, record: &SendRecord) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE notification_sends SET state = ?3, claimant = ?4, body = ?5 WHERE org_id = ?1 AND key = ?2",
        params![record.org_id.as_str(), record.key, record.state.as_str(), record.claimant, to_json(record)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl NotifyStore for SqliteStore {
    async fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM outbox WHERE drained_at IS NULL ORDER BY seq LIMIT ?1")
                .map_err(unavailable)?;
            let bodies = stmt
                .query_map([i64::from(limit)], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn outbox_entry(&self, org: &OrgId, key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let (org, key) = (org.to_string(), key.to_owned());
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM outbox WHERE org_id = ?1 AND key = ?2", params![org, key], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn settle_outbox(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let (org, key, now) = (org.to_string(), key.to_owned(), ts(now)?);
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE outbox SET drained_at = ?3 WHERE org_id = ?1 AND key = ?2 AND drained_at IS NULL",
                params![org, key, now],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn claim_send(&self, record: &SendRecord) -> Result<Claim, StoreError> {
        let record = record.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO notification_sends (org_id, key, outbox_key, state, claimant, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        record.org_id.as_str(),
                        record.key,
                        record.outbox_key,
                        SendState::Claimed.as_str(),
                        record.claimant,
                        to_json(&SendRecord { state: SendState::Claimed, ..record.clone() })?
                    ],
                )
                .map_err(unavailable)?;
            let claim = if inserted == 1 {
                Claim::Won
            } else {
                let existing = read_send(&tx, record.org_id.as_str(), &record.key)?
                    .ok_or_else(|| StoreError::Corrupt(format!("send {} neither inserted nor found", record.key)))?;
                Claim::Taken(existing)
            };
            tx.commit().map_err(unavailable)?;
            Ok(claim)
        })
        .await
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
        let (org, key, claimant, error) = (org.to_string(), key.to_owned(), claimant.to_owned(), error.map(str::to_owned));
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let Some(mut record) = read_send(&tx, &org, &key)? else { return Ok(false) };
            if record.state != SendState::Claimed || record.claimant != claimant || !state.is_final() {
                return Ok(false);
            }
            record.state = state;
            record.error = error;
            record.settled_at = Some(now);
            write_send(&tx, &record)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn abandon_send(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let (org, key) = (org.to_string(), key.to_owned());
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let Some(mut record) = read_send(&tx, &org, &key)? else { return Ok(false) };
            if record.state != SendState::Claimed || record.lease_until >= now {
                return Ok(false);
            }
            record.state = SendState::Unknown;
            record.error = Some(format!("claim by {} expired without an outcome", record.claimant));
            record.settled_at = Some(now);
            write_send(&tx, &record)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn sends_for(&self, org: &OrgId, outbox_key: &str) -> Result<Vec<SendRecord>, StoreError> {
        let (org, outbox_key) = (org.to_string(), outbox_key.to_owned());
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM notification_sends WHERE org_id = ?1 AND outbox_key = ?2 ORDER BY key")
                .map_err(unavailable)?;
            let bodies = stmt
                .query_map(params![org, outbox_key], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }
}
