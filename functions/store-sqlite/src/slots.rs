//! Delivery slot reservations: counters raised in the order insert's
//! transaction (refused past the capacity) and one hold per order.

use std::collections::BTreeMap;

use doorstep_core::ports::{HeldOrdersWrite, IdempotencyRecord, SlotCount, SlotHold, SlotKey, StoreError};
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::{Order, OrderId, OrgId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use time::Date;

use crate::{SqliteStore, corrupt, from_json, insert_owned, read_idempotency, to_json, ts, unavailable};

fn parse_date(s: &str) -> Result<Date, StoreError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(corrupt)
}

fn parse_start(s: &str) -> Result<TimeOfDay, StoreError> {
    s.parse().map_err(|e: doorstep_domain::time::TimeOfDayError| corrupt(e.0))
}

/// Raises each counter by its holds, in key order, refusing the first that
/// would pass its capacity: the refused hold's order, or `None` when all fit.
fn raise_counters(tx: &Transaction<'_>, org: &OrgId, holds: &[SlotHold]) -> Result<Option<OrderId>, StoreError> {
    let mut by_slot: BTreeMap<&SlotKey, Vec<&SlotHold>> = BTreeMap::new();
    for hold in holds {
        by_slot.entry(&hold.slot).or_default().push(hold);
    }
    for (slot, holds) in by_slot {
        let (date, start) = (slot.date.to_string(), slot.start.to_string());
        tx.execute(
            "INSERT INTO slot_counters (org_id, date, zone, start, count) VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT DO NOTHING",
            params![org.as_str(), date, slot.zone, start],
        )
        .map_err(unavailable)?;
        let count: i64 = tx
            .query_row(
                "SELECT count FROM slot_counters WHERE org_id = ?1 AND date = ?2 AND zone = ?3 AND start = ?4",
                params![org.as_str(), date, slot.zone, start],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        let capacity = holds.iter().map(|h| i64::from(h.capacity)).min().unwrap_or(0);
        // The first hold that does not fit is the one named.
        let room = usize::try_from((capacity - count).max(0)).unwrap_or(0);
        if let Some(refused) = holds.get(room) {
            return Ok(Some(refused.order_id.clone()));
        }
        tx.execute(
            "UPDATE slot_counters SET count = count + ?5 WHERE org_id = ?1 AND date = ?2 AND zone = ?3 AND start = ?4",
            params![org.as_str(), date, slot.zone, start, i64::try_from(holds.len()).unwrap_or(i64::MAX)],
        )
        .map_err(unavailable)?;
    }
    Ok(None)
}

fn read_hold(conn: &Connection, org: &OrgId, order: &OrderId) -> Result<Option<SlotHold>, StoreError> {
    let row = conn
        .query_row(
            "SELECT date, zone, start, capacity, slot_window FROM slot_holds WHERE org_id = ?1 AND order_id = ?2",
            params![org.as_str(), order.as_str()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, String>(4)?)),
        )
        .optional()
        .map_err(unavailable)?;
    row.map(|(date, zone, start, capacity, window)| {
        Ok(SlotHold {
            order_id: order.clone(),
            slot: SlotKey { date: parse_date(&date)?, zone, start: parse_start(&start)? },
            capacity: u32::try_from(capacity).map_err(corrupt)?,
            window: from_json::<TimeWindow>(&window)?,
        })
    })
    .transpose()
}

impl SqliteStore {
    pub(crate) async fn write_orders_holding(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
        holds: &[SlotHold],
    ) -> Result<HeldOrdersWrite, StoreError> {
        let (org, orders, record, holds) = (org.clone(), orders.to_vec(), record.cloned(), holds.to_vec());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            if let Some(record) = &record
                && let Some(existing) = read_idempotency(&tx, &org, &record.key)?
            {
                if existing.expires_at > record.created_at {
                    return Ok(HeldOrdersWrite::AlreadyRecorded(existing));
                }
                tx.execute("DELETE FROM idempotency WHERE org_id = ?1 AND key = ?2", params![org.as_str(), record.key])
                    .map_err(unavailable)?;
            }
            for order in &orders {
                if order.org_id != org {
                    return Err(StoreError::Corrupt(format!("order {} belongs to {}, not {org}", order.id, order.org_id)));
                }
                insert_owned(&tx, "orders", "order", org.as_str(), order.id.as_str(), order)?;
            }
            for hold in &holds {
                if !orders.iter().any(|o| o.id == hold.order_id) {
                    return Err(StoreError::Corrupt(format!("a slot hold names order {}, which is not written with it", hold.order_id)));
                }
                let inserted = tx.execute(
                    "INSERT INTO slot_holds (org_id, order_id, date, zone, start, capacity, slot_window) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        org.as_str(),
                        hold.order_id.as_str(),
                        hold.slot.date.to_string(),
                        hold.slot.zone,
                        hold.slot.start.to_string(),
                        i64::from(hold.capacity),
                        to_json(&hold.window)?
                    ],
                );
                match inserted {
                    Ok(_) => {}
                    Err(e) if crate::is_constraint(&e) => return Err(StoreError::AlreadyExists { kind: "slot hold", id: hold.order_id.to_string() }),
                    Err(e) => return Err(unavailable(e)),
                }
            }
            if let Some(order_id) = raise_counters(&tx, &org, &holds)? {
                // Dropping the transaction rolls back the orders and holds.
                return Ok(HeldOrdersWrite::SlotFull { order_id });
            }
            if let Some(r) = &record {
                tx.execute(
                    "INSERT INTO idempotency (org_id, key, request_hash, status, body, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![org.as_str(), r.key, r.request_hash, r.status, r.body, ts(r.created_at)?, ts(r.expires_at)?],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(HeldOrdersWrite::Written)
        })
        .await
    }

    pub(crate) async fn read_slot_counts(&self, org: &OrgId, date: Date) -> Result<Vec<SlotCount>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT zone, start, count FROM slot_counters WHERE org_id = ?1 AND date = ?2 ORDER BY start, zone")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![org.as_str(), date.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(zone, start, count)| {
                    Ok(SlotCount { slot: SlotKey { date, zone, start: parse_start(&start)? }, count: u32::try_from(count).map_err(corrupt)? })
                })
                .collect()
        })
        .await
    }

    pub(crate) async fn read_slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<Option<SlotHold>, StoreError> {
        let (org, order) = (org.clone(), order.clone());
        self.with_conn(move |conn| read_hold(conn, &org, &order)).await
    }

    pub(crate) async fn release_slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<bool, StoreError> {
        let (org, order) = (org.clone(), order.clone());
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let Some(hold) = read_hold(&tx, &org, &order)? else { return Ok(false) };
            tx.execute("DELETE FROM slot_holds WHERE org_id = ?1 AND order_id = ?2", params![org.as_str(), order.as_str()])
                .map_err(unavailable)?;
            tx.execute(
                "UPDATE slot_counters SET count = count - 1 WHERE org_id = ?1 AND date = ?2 AND zone = ?3 AND start = ?4 AND count > 0",
                params![org.as_str(), hold.slot.date.to_string(), hold.slot.zone, hold.slot.start.to_string()],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
