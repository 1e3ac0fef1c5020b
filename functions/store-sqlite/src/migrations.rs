//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//! Never edit a shipped migration: append a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: organisations and what they own, stored as JSON documents keyed like the
    // DynamoDB single table (org, id) so both adapters read and write alike.
    "CREATE TABLE organisations (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE depots (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE vehicles (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE drivers (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE orders (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));",
    // 2: accounts and credentials, idempotency records, counters for rate
    // limits, plans and tracking links. Instants are RFC 3339 text, except
    // counters' expiry (unix seconds) so expired ones can be swept in SQL.
    "CREATE TABLE users (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisations(id), email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
     CREATE TABLE sign_in_grants (org_id TEXT NOT NULL, driver_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
        pin_hash TEXT NOT NULL UNIQUE, expires_at TEXT NOT NULL, PRIMARY KEY (org_id, driver_id),
        FOREIGN KEY (org_id, driver_id) REFERENCES drivers(org_id, id));
     CREATE TABLE api_keys (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, name TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (org_id, id));
     CREATE TABLE counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at INTEGER NOT NULL);
     CREATE INDEX counters_by_expiry ON counters (expires_at);
     CREATE TABLE idempotency (org_id TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, PRIMARY KEY (org_id, key));
     CREATE TABLE plans (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, date TEXT NOT NULL,
        status TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE INDEX plans_by_date ON plans (org_id, date, id);
     CREATE TABLE tracking_links (token_hash TEXT PRIMARY KEY, org_id TEXT NOT NULL, plan_id TEXT NOT NULL,
        stop_id TEXT NOT NULL, order_id TEXT NOT NULL, expires_at TEXT NOT NULL);",
    // 3: the transactional outbox, one row per (order, attempt, trigger); `seq`
    // gives the drain its order.
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, key TEXT NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (org_id, key));",
    // 4: draining the outbox (NOTIFY): `drained_at` takes an entry off the
    // pending list; the send ledger holds one row per (order, attempt,
    // trigger, channel slot), claimed before sending.
    "ALTER TABLE outbox ADD COLUMN drained_at TEXT;
     CREATE INDEX outbox_pending ON outbox (seq) WHERE drained_at IS NULL;
     CREATE TABLE notification_sends (org_id TEXT NOT NULL, key TEXT NOT NULL, outbox_key TEXT NOT NULL,
        state TEXT NOT NULL, claimant TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, key));
     CREATE INDEX notification_sends_by_entry ON notification_sends (org_id, outbox_key, key);",
    // 5: tracking (TRACK): pings keyed by (org, driver, seq) so a repeated
    // ping is the same row; instants also as unix milliseconds (`*_ms`) for
    // ordering and the expiry sweep. One latest position per driver, one
    // progress document (ETAs, notifications sent) per route.
    "CREATE TABLE pings (org_id TEXT NOT NULL, driver_id TEXT NOT NULL, seq INTEGER NOT NULL, route_id TEXT NOT NULL,
        device_ms INTEGER NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL, expires_ms INTEGER NOT NULL,
        PRIMARY KEY (org_id, driver_id, seq));
     CREATE INDEX pings_by_time ON pings (org_id, driver_id, device_ms, seq);
     CREATE INDEX pings_by_expiry ON pings (expires_ms);
     CREATE TABLE driver_positions (org_id TEXT NOT NULL, driver_id TEXT NOT NULL, device_ms INTEGER NOT NULL, seq INTEGER NOT NULL,
        body TEXT NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (org_id, driver_id));
     CREATE INDEX driver_positions_by_expiry ON driver_positions (expires_ms);
     CREATE TABLE route_progress (org_id TEXT NOT NULL, route_id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (org_id, route_id));",
    // 6: proof of delivery (POD): one sealed record per (order, attempt); route
    // starts and stop arrivals by route or stop id; one-time codes per
    // (order, attempt), only salted hashes (JSON array), with the guess count.
    "CREATE TABLE pod_records (org_id TEXT NOT NULL, order_id TEXT NOT NULL, attempt INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (org_id, order_id, attempt));
     CREATE TABLE visits (org_id TEXT NOT NULL, subject_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, subject_id));
     CREATE TABLE otp_codes (org_id TEXT NOT NULL, order_id TEXT NOT NULL, attempt INTEGER NOT NULL, code_hashes TEXT NOT NULL,
        attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, verified INTEGER NOT NULL, expires_at TEXT NOT NULL,
        PRIMARY KEY (org_id, order_id, attempt));",
    // 7: reports: one aggregate per (org, day, driver), replaced by version.
    "CREATE TABLE driver_days (org_id TEXT NOT NULL, date TEXT NOT NULL, driver_id TEXT NOT NULL,
        version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, date, driver_id));",
    // 8: uploaded blobs for the orphan sweep: pending until a proof cites
    // them (referenced), or deleting then deleted (a tombstone) once swept.
    "CREATE TABLE blob_uploads (org_id TEXT NOT NULL, key TEXT NOT NULL, order_id TEXT NOT NULL, granted_ms INTEGER NOT NULL,
        state TEXT NOT NULL, settled_at TEXT, PRIMARY KEY (org_id, key));
     CREATE INDEX blob_uploads_to_sweep ON blob_uploads (state, granted_ms);",
    // 9: delivery slot reservations: one counter per (org, date, zone, slot
    // start), raised in the order insert's transaction only while below the
    // capacity, and one hold per order so cancelling releases it once.
    "CREATE TABLE slot_counters (org_id TEXT NOT NULL, date TEXT NOT NULL, zone TEXT NOT NULL, start TEXT NOT NULL,
        count INTEGER NOT NULL, PRIMARY KEY (org_id, date, zone, start));
     CREATE TABLE slot_holds (org_id TEXT NOT NULL, order_id TEXT NOT NULL, date TEXT NOT NULL, zone TEXT NOT NULL,
        start TEXT NOT NULL, capacity INTEGER NOT NULL, slot_window TEXT NOT NULL, PRIMARY KEY (org_id, order_id));",
];

pub fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
