//! The `TrackingStore` port on SQLite: pings keyed by (org, driver, seq), so
//! a repeated ping is the same row (`INSERT OR IGNORE` says which were new);
//! one latest-position row per driver that only moves forward; one progress
//! document per route, written with its outbox entries in one transaction.
//! Expired pings are invisible to reads and swept a few hundred at a time on
//! every write (and by [`TrackingStore::sweep_expired_pings`]).

use async_trait::async_trait;
use doorstep_core::StoreError;
use doorstep_core::ports::{OutboxEntry, PingWrite, PingsRecorded, TrackingStore};
use doorstep_domain::tracking::{DriverPosition, RouteProgress, StoredPing};
use doorstep_domain::{DriverId, OrgId, RouteId, TrackingPing};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::{SqliteStore, corrupt, from_json, outbox, parse_ts, sql_int, to_json, ts, unavailable};

/// Expired pings deleted per write: bounded, so a write never stalls on a
/// large backlog (the periodic sweep catches up).
const SWEEP_ON_WRITE: u32 = 200;

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[async_trait]
impl TrackingStore for SqliteStore {
    async fn record_pings(&self, write: &PingWrite) -> Result<PingsRecorded, StoreError> {
        let write = write.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let (org, driver) = (write.org_id.as_str(), write.driver_id.as_str());
            let received = ts(write.received_at)?;
            let mut stored = Vec::new();
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO pings (org_id, driver_id, seq, route_id, device_ms, body, received_at, expires_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(unavailable)?;
                for ping in &write.pings {
                    let n = insert
                        .execute(params![
                            org,
                            driver,
                            sql_int(ping.seq),
                            write.route_id.as_str(),
                            ms(ping.device_time),
                            to_json(ping)?,
                            received,
                            ms(write.expires_at)
                        ])
                        .map_err(unavailable)?;
                    if n == 1 {
                        stored.push(ping.seq);
                    }
                }
            }
            let newest = write.pings.iter().filter(|p| stored.contains(&p.seq)).max_by_key(|p| (p.device_time, p.seq));
            if let Some(ping) = newest {
                let position = DriverPosition::from_ping(write.driver_id.clone(), write.route_id.clone(), ping, write.received_at);
                // Forward only: replace a row that is older (or expired).
                tx.execute(
                    "INSERT INTO driver_positions (org_id, driver_id, device_ms, seq, body, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (org_id, driver_id) DO UPDATE SET device_ms = excluded.device_ms, seq = excluded.seq,
                        body = excluded.body, expires_ms = excluded.expires_ms
                     WHERE (excluded.device_ms, excluded.seq) > (driver_positions.device_ms, driver_positions.seq)
                        OR driver_positions.expires_ms <= ?7",
                    params![org, driver, ms(ping.device_time), sql_int(ping.seq), to_json(&position)?, ms(write.expires_at), ms(write.received_at)],
                )
                .map_err(unavailable)?;
            }
            sweep(&tx, write.received_at, SWEEP_ON_WRITE)?;
            let latest = read_position(&tx, org, driver, write.received_at)?;
            tx.commit().map_err(unavailable)?;
            Ok(PingsRecorded { stored, latest })
        })
        .await
    }

    async fn latest_positions(&self, org: &OrgId, now: OffsetDateTime) -> Result<Vec<DriverPosition>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM driver_positions WHERE org_id = ?1 AND expires_ms > ?2 ORDER BY driver_id")
                .map_err(unavailable)?;
            let bodies = stmt
                .query_map(params![org.as_str(), ms(now)], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn latest_position(&self, org: &OrgId, driver: &DriverId, now: OffsetDateTime) -> Result<Option<DriverPosition>, StoreError> {
        let (org, driver) = (org.clone(), driver.clone());
        self.with_conn(move |conn| read_position(conn, org.as_str(), driver.as_str(), now)).await
    }

    async fn ping_trail(
        &self,
        org: &OrgId,
        driver: &DriverId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredPing>, StoreError> {
        let (org, driver) = (org.clone(), driver.clone());
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT route_id, body, received_at FROM pings
                     WHERE org_id = ?1 AND driver_id = ?2 AND device_ms BETWEEN ?3 AND ?4 AND expires_ms > ?5
                     ORDER BY device_ms, seq LIMIT ?6",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![org.as_str(), driver.as_str(), ms(from), ms(to), ms(now), limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(route, body, received)| {
                    let ping: TrackingPing = from_json(&body)?;
                    Ok(StoredPing {
                        driver_id: driver.clone(),
                        route_id: RouteId::new(route).map_err(corrupt)?,
                        ping,
                        received_at: parse_ts(&received)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn route_progress(&self, org: &OrgId, route: &RouteId) -> Result<Option<RouteProgress>, StoreError> {
        let (org, route) = (org.clone(), route.clone());
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM route_progress WHERE org_id = ?1 AND route_id = ?2", params![org.as_str(), route.as_str()], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn save_route_progress(
        &self,
        org: &OrgId,
        progress: &RouteProgress,
        expected_version: Option<u64>,
        entries: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let (org, progress, entries) = (org.clone(), progress.clone(), entries.to_vec());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let (o, r) = (org.as_str(), progress.route_id.as_str());
            let current: Option<i64> = tx
                .query_row("SELECT version FROM route_progress WHERE org_id = ?1 AND route_id = ?2", params![o, r], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            let current = current.map(|v| u64::try_from(v).unwrap_or(0));
            if current != expected_version {
                return Err(StoreError::VersionConflict {
                    kind: "route progress",
                    id: r.to_owned(),
                    expected: expected_version.unwrap_or(0),
                    actual: current.unwrap_or(0),
                });
            }
            tx.execute(
                "INSERT INTO route_progress (org_id, route_id, version, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (org_id, route_id) DO UPDATE SET version = excluded.version, body = excluded.body",
                params![o, r, sql_int(progress.version), to_json(&progress)?],
            )
            .map_err(unavailable)?;
            outbox::insert(&tx, &entries)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn sweep_expired_pings(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let n = sweep(&tx, now, limit)?;
            tx.commit().map_err(unavailable)?;
            Ok(n)
        })
        .await
    }
}

fn sweep(conn: &rusqlite::Connection, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
    let pings = conn
        .execute("DELETE FROM pings WHERE rowid IN (SELECT rowid FROM pings WHERE expires_ms <= ?1 LIMIT ?2)", params![ms(now), limit])
        .map_err(unavailable)?;
    conn.execute(
        "DELETE FROM driver_positions WHERE rowid IN (SELECT rowid FROM driver_positions WHERE expires_ms <= ?1 LIMIT ?2)",
        params![ms(now), limit],
    )
    .map_err(unavailable)?;
    Ok(pings as u64)
}

fn read_position(conn: &rusqlite::Connection, org: &str, driver: &str, now: OffsetDateTime) -> Result<Option<DriverPosition>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM driver_positions WHERE org_id = ?1 AND driver_id = ?2 AND expires_ms > ?3",
            params![org, driver, ms(now)],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    body.map(|b| from_json(&b)).transpose()
}
