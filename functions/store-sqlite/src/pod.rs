//! The `PodStore` port: driver actions (order transitions, proof, visit,
//! outbox and idempotency record in one transaction), proofs, visits and
//! one-time codes.

use async_trait::async_trait;
use doorstep_core::ports::{
    ActionWrite, DriverAction, OTP_KIND, OrderUpdate, OtpGuess, OtpRecord, OutboxEntry, PodStore, StoreError, UploadRecord, UploadState,
};
use doorstep_core::usecases::pod::keep_latest_codes;
use doorstep_domain::pod::{PodRecord, VisitRecord};
use doorstep_domain::{OrderId, OrgId};
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

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


fn granted_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn upload_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, i64, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn to_upload((org, key, order, ms, state): (String, String, String, i64, String)) -> Result<UploadRecord, StoreError> {
    Ok(UploadRecord {
        org_id: OrgId::new(org).map_err(|e| StoreError::Corrupt(format!("bad stored org id: {e}")))?,
        order_id: OrderId::new(order).map_err(|e| StoreError::Corrupt(format!("bad stored order id: {e}")))?,
        key,
        granted_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|e| StoreError::Corrupt(format!("bad stored upload time {ms}: {e}")))?,
        state: UploadState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("unknown upload state {state:?}")))?,
    })
}

const UPLOAD_COLUMNS: &str = "org_id, key, order_id, granted_ms, state";

/// Marks a cited blob referenced; one the sweep has claimed cannot be cited.
fn reference_blob(conn: &Connection, org: &OrgId, order: &OrderId, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM blob_uploads WHERE org_id = ?1 AND key = ?2", params![org.as_str(), key], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    if state.as_deref().and_then(UploadState::parse).is_some_and(|s| matches!(s, UploadState::Deleting | UploadState::Deleted)) {
        return Err(StoreError::NotFound { kind: "photo", id: key.to_owned() });
    }
    conn.execute(
        "INSERT INTO blob_uploads (org_id, key, order_id, granted_ms, state) VALUES (?1, ?2, ?3, ?4, 'referenced')
         ON CONFLICT (org_id, key) DO UPDATE SET state = 'referenced'",
        params![org.as_str(), key, order.as_str(), granted_ms(now)],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Counts one guess if the count is still the one the caller read.
fn apply_otp_guess(conn: &Connection, org: &OrgId, guess: &OtpGuess) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE otp_codes SET attempts = attempts + 1, verified = (verified OR ?5)
             WHERE org_id = ?1 AND order_id = ?2 AND attempt = ?3 AND attempts = ?4 AND verified = 0 AND attempts < max_attempts",
            params![org.as_str(), guess.order_id.as_str(), guess.attempt, guess.expected_attempts, guess.correct],
        )
        .map_err(unavailable)?;
    if changed == 1 {
        return Ok(());
    }
    let id = format!("{}#{}", guess.order_id, guess.attempt);
    match read_otp(conn, org, &guess.order_id, guess.attempt)? {
        None => Err(StoreError::NotFound { kind: OTP_KIND, id }),
        // Also when it was verified or locked meanwhile: the caller reads it again.
        Some(now) => Err(StoreError::VersionConflict { kind: OTP_KIND, id, expected: u64::from(guess.expected_attempts), actual: u64::from(now.attempts) }),
    }
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
            if let Some(guess) = &action.otp_guess {
                apply_otp_guess(&tx, org, guess)?;
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
                for blob in pod.blobs() {
                    reference_blob(&tx, org, &pod.order_id, &blob.blob_key, record.created_at)?;
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

    async fn record_upload(&self, upload: &UploadRecord) -> Result<(), StoreError> {
        let upload = upload.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO blob_uploads (org_id, key, order_id, granted_ms, state) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![upload.org_id.as_str(), upload.key, upload.order_id.as_str(), granted_ms(upload.granted_at), upload.state.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn upload(&self, org: &OrgId, key: &str) -> Result<Option<UploadRecord>, StoreError> {
        let (org, key) = (org.clone(), key.to_owned());
        self.with_conn(move |conn| {
            conn.query_row(&format!("SELECT {UPLOAD_COLUMNS} FROM blob_uploads WHERE org_id = ?1 AND key = ?2"), params![org.as_str(), key], upload_from)
                .optional()
                .map_err(unavailable)?
                .map(to_upload)
                .transpose()
        })
        .await
    }

    async fn uploads_to_sweep(&self, granted_before: OffsetDateTime, limit: u32) -> Result<Vec<UploadRecord>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {UPLOAD_COLUMNS} FROM blob_uploads WHERE state IN ('pending', 'deleting') AND granted_ms < ?1
                     ORDER BY granted_ms, org_id, key LIMIT ?2"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![granted_ms(granted_before), limit.max(1)], upload_from)
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter().map(to_upload).collect()
        })
        .await
    }

    async fn claim_upload_deletion(&self, org: &OrgId, key: &str) -> Result<bool, StoreError> {
        let (org, key) = (org.clone(), key.to_owned());
        self.with_conn(move |conn| {
            let changed = conn
                .execute("UPDATE blob_uploads SET state = 'deleting' WHERE org_id = ?1 AND key = ?2 AND state = 'pending'", params![org.as_str(), key])
                .map_err(unavailable)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn finish_upload_deletion(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let (org, key) = (org.clone(), key.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE blob_uploads SET state = 'deleted', settled_at = ?3 WHERE org_id = ?1 AND key = ?2 AND state = 'deleting'",
                params![org.as_str(), key, ts(now)?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
