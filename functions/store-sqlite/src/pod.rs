//! The `PodStore` port: driver actions (order transitions, proof, visit,
//! outbox and idempotency record in one transaction), proofs, visits and
//! one-time codes.

use async_trait::async_trait;
use doorstep_core::ports::{ActionWrite, DriverAction, OrderUpdate, OtpRecord, OutboxEntry, PodStore, StoreError};
use doorstep_core::usecases::pod::keep_latest_codes;
use doorstep_domain::pod::{PodRecord, VisitRecord};
use doorstep_domain::{OrderId, OrgId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{SqliteStore, conditional_order_update, from_json, is_constraint, outbox, parse_ts, read_idempotency, to_json, ts, unavailable};

fn read_otp(conn: &Connection, org: &OrgId, order: &OrderId, attempt: u32) -> Result<Option<OtpRecord>, StoreError> {
    let row = conn
        .query_row(
            "SELECT code_hashes, attempts, max_attempts, verified, expires_at FROM otp_codes WHERE org_id = ?1 AND order_id = ?2 AND attempt = ?3",
            params![org.as_str(), order.as_str(), attempt],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?, r.get::<_, bool>(3)?, r.get::<_, String>(4)?)),
        )
        .optional()
        .map_err(unavailable)?;
    row.map(|(hashes, attempts, max_attempts, verified, expires_at)| {
        Ok(OtpRecord {
            org_id: org.clone(),
            order_id: order.clone(),
            attempt,
            code_hashes: from_json(&hashes)?,
            attempts,
            max_attempts,
            verified,
            expires_at: parse_ts(&expires_at)?,
        })
    })
    .transpose()
}

#[async_trait]
impl PodStore for SqliteStore {
    async fn write_driver_action(&self, action: &DriverAction) -> Result<ActionWrite, StoreError> {
        let action = action.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let org = &action.org_id;
            let record = &action.record;
            if let Some(existing) = read_idempotency(&tx, org, &record.key)? {
                if existing.expires_at > record.created_at {
                    return Ok(ActionWrite::AlreadyRecorded(existing));
                }
                tx.execute("DELETE FROM idempotency WHERE org_id = ?1 AND key = ?2", params![org.as_str(), record.key]).map_err(unavailable)?;
            }
            for update in &action.orders {
                if update.order.org_id != *org {
                    return Err(StoreError::Corrupt(format!("order {} is not in {org}", update.order.id)));
                }
                conditional_order_update(&tx, &update.order, update.expected_version)?;
            }
            if let Some(pod) = &action.pod {
                let result = tx.execute(
                    "INSERT INTO pod_records (org_id, order_id, attempt, body) VALUES (?1, ?2, ?3, ?4)",
                    params![org.as_str(), pod.order_id.as_str(), pod.attempt, to_json(pod)?],
                );
                match result {
                    Ok(_) => {}
                    Err(e) if is_constraint(&e) => {
                        return Err(StoreError::AlreadyExists { kind: "proof of delivery", id: format!("{}#{}", pod.order_id, pod.attempt) });
                    }
                    Err(e) => return Err(unavailable(e)),
                }
            }
            if let Some(visit) = &action.visit {
                tx.execute(
                    "INSERT OR REPLACE INTO visits (org_id, subject_id, body) VALUES (?1, ?2, ?3)",
                    params![org.as_str(), visit.subject_id, to_json(visit)?],
                )
                .map_err(unavailable)?;
            }
            outbox::insert(&tx, &action.outbox)?;
            tx.execute(
                "INSERT INTO idempotency (org_id, key, request_hash, status, body, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![org.as_str(), record.key, record.request_hash, record.status, record.body, ts(record.created_at)?, ts(record.expires_at)?],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(ActionWrite::Written)
        })
        .await
    }

    async fn update_order_notifying(&self, update: &OrderUpdate, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        let (update, entries) = (update.clone(), entries.to_vec());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            conditional_order_update(&tx, &update.order, update.expected_version)?;
            outbox::insert(&tx, &entries)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn pod_records(&self, org: &OrgId, order: &OrderId) -> Result<Vec<PodRecord>, StoreError> {
        let (org, order) = (org.clone(), order.clone());
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare("SELECT body FROM pod_records WHERE org_id = ?1 AND order_id = ?2 ORDER BY attempt")
                .map_err(unavailable)?;
            let bodies = stmt
                .query_map(params![org.as_str(), order.as_str()], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn visit(&self, org: &OrgId, subject_id: &str) -> Result<Option<VisitRecord>, StoreError> {
        let (org, subject) = (org.clone(), subject_id.to_owned());
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM visits WHERE org_id = ?1 AND subject_id = ?2", params![org.as_str(), subject], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn add_otp_code(&self, record: &OtpRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let existing = read_otp(&tx, &record.org_id, &record.order_id, record.attempt)?;
            let (hashes, attempts, verified) = match existing {
                Some(old) => {
                    let mut all = old.code_hashes;
                    all.extend(record.code_hashes.iter().cloned());
                    (keep_latest_codes(all), old.attempts, old.verified)
                }
                None => (keep_latest_codes(record.code_hashes.clone()), 0, false),
            };
            tx.execute(
                "INSERT OR REPLACE INTO otp_codes (org_id, order_id, attempt, code_hashes, attempts, max_attempts, verified, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.org_id.as_str(),
                    record.order_id.as_str(),
                    record.attempt,
                    to_json(&hashes)?,
                    attempts,
                    record.max_attempts,
                    verified,
                    ts(record.expires_at)?
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn otp(&self, org: &OrgId, order: &OrderId, attempt: u32) -> Result<Option<OtpRecord>, StoreError> {
        let (org, order) = (org.clone(), order.clone());
        self.with_conn(move |conn| read_otp(conn, &org, &order, attempt)).await
    }

    async fn count_otp_guess(&self, org: &OrgId, order: &OrderId, attempt: u32, correct: bool) -> Result<OtpRecord, StoreError> {
        let (org, order) = (org.clone(), order.clone());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            // One statement: the guess only counts while the code is open.
            tx.execute(
                "UPDATE otp_codes SET attempts = attempts + 1, verified = (verified OR ?4)
                 WHERE org_id = ?1 AND order_id = ?2 AND attempt = ?3 AND verified = 0 AND attempts < max_attempts",
                params![org.as_str(), order.as_str(), attempt, correct],
            )
            .map_err(unavailable)?;
            let record = read_otp(&tx, &org, &order, attempt)?
                .ok_or_else(|| StoreError::NotFound { kind: "one-time code", id: format!("{order}#{attempt}") })?;
            tx.commit().map_err(unavailable)?;
            Ok(record)
        })
        .await
    }
}
