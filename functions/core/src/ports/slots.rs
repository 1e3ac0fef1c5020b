//! Delivery slot reservations: what the `Store` keeps so a slot's capacity
//! holds under concurrent checkouts.
//!
//! One counter per (organisation, date, zone, slot start) is raised in the
//! same transaction as the order insert, and only while it stays at or below
//! the zone's capacity; one hold per order records which counter it raised,
//! so releasing (a cancelled order, or one moved out of its slot) lowers the
//! counter exactly once.

use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::OrderId;
use time::Date;

use super::IdempotencyRecord;

/// One slot of one zone on one day: what a counter counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotKey {
    /// The organisation's local date.
    pub date: Date,
    pub zone: String,
    /// The slot's local start, `HH:MM`.
    pub start: TimeOfDay,
}

/// An order's claim on a slot, written with the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotHold {
    pub order_id: OrderId,
    pub slot: SlotKey,
    /// The zone's capacity per slot when booked: the counter may not pass it.
    pub capacity: u32,
    /// The window the order got; moving the order out of it releases the hold.
    pub window: TimeWindow,
}

/// What [`crate::ports::Store::create_orders_holding`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldOrdersWrite {
    /// Orders, holds, counters (and the idempotency record) are stored.
    Written,
    /// The idempotency key already had a record: nothing was written.
    AlreadyRecorded(IdempotencyRecord),
    /// This order's slot is at capacity: nothing was written.
    SlotFull { order_id: OrderId },
}

/// How many holds a slot counter has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotCount {
    pub slot: SlotKey,
    pub count: u32,
}
