//! Delivery slot reservations: one counter item per (org, date, zone, slot
//! start), raised with a condition in the same `TransactWriteItems` as the
//! order `Put`s, and one hold item per order so a release lowers it once.

use std::collections::BTreeMap;

use doorstep_core::StoreError;
use doorstep_core::ports::{HeldOrdersWrite, IdempotencyRecord, OrdersWrite, SlotCount, SlotHold, SlotKey};
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::{Order, OrderId, OrgId};
use time::Date;

use crate::DynamoStore;
use crate::business::{order_item, refuse_duplicates};
use crate::item::{BODY, Item, corrupt, from_json, get_s, get_u64, item, key, n, org_pk, s, to_json};
use crate::ops::MAX_TX_ITEMS;
use crate::orders::{COMPLETE, key_free_at, record_item};
use crate::tx::{Cond, OnFail, Tx};

/// The `OnFail` kind marking a refused counter condition.
const FULL: &str = "delivery slot";
const COUNT: &str = "count";

fn counters_pk(org: &OrgId, date: Date) -> String {
    format!("ORG#{org}#SLOTS#{date}")
}

/// The zone goes last: any text may follow the fixed-width start.
fn counter_key(org: &OrgId, slot: &SlotKey) -> Item {
    key(counters_pk(org, slot.date), format!("SLOT#{}#{}", slot.start, slot.zone))
}

fn hold_key(org: &OrgId, order: &OrderId) -> Item {
    key(org_pk(org), format!("SLOTHOLD#{order}"))
}

fn hold_item(org: &OrgId, hold: &SlotHold) -> Result<Item, StoreError> {
    let k = hold_key(org, &hold.order_id);
    let pk = get_s(&k, crate::item::PK)?.to_owned();
    let sk = get_s(&k, crate::item::SK)?.to_owned();
    Ok(item(
        pk,
        sk,
        [
            ("date", s(hold.slot.date.to_string())),
            ("zone", s(hold.slot.zone.clone())),
            ("start", s(hold.slot.start.to_string())),
            ("capacity", n(hold.capacity)),
            ("window", s(to_json(&hold.window)?)),
        ],
    ))
}

fn parse_date(text: &str) -> Result<Date, StoreError> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).map_err(corrupt)
}

fn parse_start(text: &str) -> Result<TimeOfDay, StoreError> {
    text.parse().map_err(|e: doorstep_domain::time::TimeOfDayError| corrupt(e.0))
}

fn read_hold(order: &OrderId, item: &Item) -> Result<SlotHold, StoreError> {
    Ok(SlotHold {
        order_id: order.clone(),
        slot: SlotKey { date: parse_date(get_s(item, "date")?)?, zone: get_s(item, "zone")?.to_owned(), start: parse_start(get_s(item, "start")?)? },
        capacity: u32::try_from(get_u64(item, "capacity")?).map_err(corrupt)?,
        window: from_json::<TimeWindow>(get_s(item, "window")?)?,
    })
}

impl DynamoStore {
    /// One transaction: the idempotency record (if any), the orders, their
    /// holds, and each slot's counter raised by its holds on condition
    /// `count <= capacity - holds`, so concurrent checkouts can never pass
    /// the capacity together.
    pub(crate) async fn write_orders_holding(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
        holds: &[SlotHold],
    ) -> Result<HeldOrdersWrite, StoreError> {
        if let Some(stray) = orders.iter().find(|o| o.org_id != *org) {
            return Err(StoreError::Corrupt(format!("order {} belongs to {}, not {org}", stray.id, stray.org_id)));
        }
        refuse_duplicates("order", orders.iter().map(|o| o.id.as_str()))?;
        refuse_duplicates("slot hold", holds.iter().map(|h| h.order_id.as_str()))?;
        if let Some(stray) = holds.iter().find(|h| !orders.iter().any(|o| o.id == h.order_id)) {
            return Err(StoreError::Corrupt(format!("a slot hold names order {}, which is not written with it", stray.order_id)));
        }
        let mut by_slot: BTreeMap<&SlotKey, Vec<&SlotHold>> = BTreeMap::new();
        for hold in holds {
            by_slot.entry(&hold.slot).or_default().push(hold);
        }
        // More holds than the capacity can never fit: refused before writing.
        for slot_holds in by_slot.values() {
            let capacity = slot_holds.iter().map(|h| h.capacity).min().unwrap_or(0) as usize;
            if let Some(refused) = slot_holds.get(capacity) {
                return Ok(HeldOrdersWrite::SlotFull { order_id: refused.order_id.clone() });
            }
        }
        let items = usize::from(record.is_some()) + orders.len() + holds.len() + by_slot.len();
        if items > MAX_TX_ITEMS {
            return Err(StoreError::Unavailable(format!(
                "{} orders with {} slot holds do not fit one transaction ({MAX_TX_ITEMS} items); send fewer at once",
                orders.len(),
                holds.len()
            )));
        }
        for _ in 0..3 {
            let mut tx = Tx::new(&self.table);
            if let Some(record) = record {
                let mut item = record_item(record, COMPLETE)?;
                item.insert(BODY.to_owned(), s(record.body.clone()));
                tx.put(item, key_free_at(record.created_at), OnFail::KeyTaken)?;
            }
            for order in orders {
                tx.put(order_item(order)?, Cond::not_exists(), OnFail::Exists { kind: "order", id: order.id.to_string() })?;
            }
            for hold in holds {
                tx.put(hold_item(org, hold)?, Cond::not_exists(), OnFail::Exists { kind: "slot hold", id: hold.order_id.to_string() })?;
            }
            for (slot, slot_holds) in &by_slot {
                let k = slot_holds.len();
                let capacity = slot_holds.iter().map(|h| h.capacity).min().unwrap_or(0) as usize;
                let update = Cond::new("SET #c = if_not_exists(#c, :zero) + :k, #date = :date, #zone = :zone, #start = :start")
                    .name("#date", "date")
                    .name("#zone", "zone")
                    .name("#start", "start")
                    .value(":zero", n(0))
                    .value(":k", n(k))
                    .value(":date", s(slot.date.to_string()))
                    .value(":zone", s(slot.zone.clone()))
                    .value(":start", s(slot.start.to_string()));
                let cond = Cond::new("attribute_not_exists(#c) OR #c <= :limit").name("#c", COUNT).value(":limit", n(capacity - k));
                // A refusal names the first order of this slot that could not fit.
                tx.update(counter_key(org, slot), update, cond, OnFail::Missing { kind: FULL, id: slot_holds[0].order_id.to_string() })?;
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(HeldOrdersWrite::Written),
                Err(refused) => match refused.on_fail {
                    OnFail::KeyTaken => {
                        let Some(record) = record else { return Err(self.refusal(refused).await) };
                        match self.already_recorded(record).await? {
                            Some(OrdersWrite::AlreadyRecorded(existing)) => return Ok(HeldOrdersWrite::AlreadyRecorded(existing)),
                            // The record expired in between: try again.
                            _ => continue,
                        }
                    }
                    OnFail::Missing { kind: FULL, ref id } => {
                        return Ok(HeldOrdersWrite::SlotFull { order_id: self.first_refused(org, &by_slot, id).await? });
                    }
                    _ => return Err(self.refusal(refused).await),
                },
            }
        }
        Err(StoreError::Unavailable("the Idempotency-Key's record kept changing; try again".into()))
    }

    /// Which order of a refused slot did not fit: the counter now says how
    /// many of the slot's holds there was room for.
    async fn first_refused(&self, org: &OrgId, by_slot: &BTreeMap<&SlotKey, Vec<&SlotHold>>, first: &str) -> Result<OrderId, StoreError> {
        let Some((slot, slot_holds)) = by_slot.iter().find(|(_, h)| h[0].order_id.as_str() == first) else {
            return OrderId::new(first).map_err(corrupt);
        };
        let count = match self.get(counter_key(org, slot)).await? {
            Some(item) => get_u64(&item, COUNT)? as usize,
            None => 0,
        };
        let capacity = slot_holds.iter().map(|h| h.capacity).min().unwrap_or(0) as usize;
        let room = capacity.saturating_sub(count);
        Ok(slot_holds.get(room).unwrap_or(&slot_holds[0]).order_id.clone())
    }

    pub(crate) async fn read_slot_counts(&self, org: &OrgId, date: Date) -> Result<Vec<SlotCount>, StoreError> {
        self.query_prefix(counters_pk(org, date), "SLOT#")
            .await?
            .iter()
            .map(|item| {
                Ok(SlotCount {
                    slot: SlotKey { date, zone: get_s(item, "zone")?.to_owned(), start: parse_start(get_s(item, "start")?)? },
                    count: u32::try_from(get_u64(item, COUNT)?).map_err(corrupt)?,
                })
            })
            .collect()
    }

    pub(crate) async fn read_slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<Option<SlotHold>, StoreError> {
        self.get(hold_key(org, order)).await?.map(|item| read_hold(order, &item)).transpose()
    }

    /// Deletes the hold (if still there) and lowers its counter in one
    /// transaction, so a release counts once however often it is retried.
    pub(crate) async fn release_slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<bool, StoreError> {
        let Some(hold) = self.read_slot_hold(org, order).await? else { return Ok(false) };
        let mut tx = Tx::new(&self.table);
        tx.delete(hold_key(org, order), Cond::exists(), OnFail::Missing { kind: "slot hold", id: order.to_string() })?;
        let lower = Cond::new("SET #c = #c - :one").value(":one", n(1));
        let positive = Cond::new("#c >= :one").name("#c", COUNT);
        tx.update(counter_key(org, &hold.slot), lower, positive, OnFail::Retry)?;
        match self.transact(tx).await? {
            Ok(()) => Ok(true),
            Err(refused) => match refused.on_fail {
                // Someone else released it first.
                OnFail::Missing { .. } => Ok(false),
                // A counter already at 0 (never raised for this hold): the hold goes alone.
                _ => {
                    let mut tx = Tx::new(&self.table);
                    tx.delete(hold_key(org, order), Cond::exists(), OnFail::Missing { kind: "slot hold", id: order.to_string() })?;
                    Ok(self.transact(tx).await?.is_ok())
                }
            },
        }
    }
}
