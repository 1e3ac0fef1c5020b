//! Orders: what to pick up or deliver, where, when, for whom.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::geo::Address;
use crate::ids::{DepotId, OrderId, OrgId};
use crate::lifecycle::{IllegalTransition, OrderEvent, OrderState, OrderStatus, transition};
use crate::load::Load;
use crate::org::check_service_time;
use crate::time::{TimeWindow, rfc3339, validate_windows};
use crate::tracking::{CustomerNote, CustomerRating};
use crate::validation::{Path, Report, Validate, ValidationErrors, codes};
use crate::vehicle::validate_skills;

/// Most time windows one stop may have.
pub const MAX_TIME_WINDOWS: usize = 4;

/// What the order asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// Deliver from the depot to `address`.
    Delivery,
    /// Collect at `address` and bring back to the depot.
    Pickup,
    /// Collect at `pickup.address`, then deliver to `address` on the same route.
    PickupAndDelivery,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// Who receives (or hands over) the goods; also who gets notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Validate for Recipient {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), &self.name, 120);
        if let Some(p) = &self.phone {
            report.phone(&path.field("phone"), p);
        }
        if let Some(e) = &self.email {
            report.email(&path.field("email"), e);
        }
    }
}

/// The pickup half of a pickup-and-delivery order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PickupLeg {
    pub address: Address,
    /// `None`: the organisation's default.
    #[serde(default)]
    pub service_time_s: Option<u32>,
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
}

impl Validate for PickupLeg {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.address.validate_at(&path.field("address"), report);
        if let Some(s) = self.service_time_s {
            check_service_time(&path.field("service_time_s"), s, report);
        }
        report.max_items(
            &path.field("time_windows"),
            self.time_windows.len(),
            MAX_TIME_WINDOWS,
        );
        validate_windows(&self.time_windows, &path.field("time_windows"), report);
    }
}

/// An amount of money in minor units (cents) to avoid float rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount_minor: u64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
}

impl Validate for Money {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            report.push(
                &path.field("currency"),
                codes::INVALID_FORMAT,
                "must be an ISO 4217 code, e.g. EUR",
            );
        }
    }
}

/// Body of "create order". `address`, `service_time_s` and `time_windows`
/// describe the main stop: the delivery (or, for `pickup`, the pickup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The shipper's own reference (unique per organisation by convention).
    #[serde(default)]
    pub external_ref: Option<String>,
    /// `None`: the organisation's only/default depot.
    #[serde(default)]
    pub depot_id: Option<DepotId>,
    pub kind: OrderKind,
    pub address: Address,
    #[serde(default)]
    pub service_time_s: Option<u32>,
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
    /// Required for, and only for, `pickup_and_delivery`.
    #[serde(default)]
    pub pickup: Option<PickupLeg>,
    /// `[weight_kg, volume_l, items]`; zero when omitted.
    #[serde(default)]
    pub demand: Load,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub required_skills: BTreeSet<String>,
    pub recipient: Recipient,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    /// Amount to collect on delivery, if any.
    #[serde(default)]
    pub cash_on_delivery: Option<Money>,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    pub org_id: OrgId,
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub depot_id: Option<DepotId>,
    pub kind: OrderKind,
    pub address: Address,
    #[serde(default)]
    pub service_time_s: Option<u32>,
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
    #[serde(default)]
    pub pickup: Option<PickupLeg>,
    #[serde(default)]
    pub demand: Load,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub required_skills: BTreeSet<String>,
    pub recipient: Recipient,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub cash_on_delivery: Option<Money>,
    pub status: OrderStatus,
    /// Failed delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Starts at 1 and goes up by one on every change; writers send the
    /// version they read (optimistic concurrency).
    pub version: u64,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Left by the customer on the tracking page, for the driver.
    #[serde(default)]
    pub customer_note: Option<CustomerNote>,
    /// The customer's rating of the delivery, from the tracking page.
    #[serde(default)]
    pub rating: Option<CustomerRating>,
    /// Why auto-dispatch left the order for the next plan, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_hold: Option<crate::slots::DispatchHold>,
}

/// Borrowed view of the fields [`NewOrder`] and [`Order`] share, so both
/// validate identically.
struct OrderFields<'a> {
    external_ref: Option<&'a str>,
    kind: OrderKind,
    address: &'a Address,
    service_time_s: Option<u32>,
    time_windows: &'a [TimeWindow],
    pickup: Option<&'a PickupLeg>,
    demand: &'a Load,
    required_skills: &'a BTreeSet<String>,
    recipient: &'a Recipient,
    instructions: Option<&'a str>,
    barcode: Option<&'a str>,
    cash_on_delivery: Option<&'a Money>,
}

/// Barcodes: printable ASCII without spaces (what scanners return).
pub fn is_valid_barcode(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic())
}

impl OrderFields<'_> {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.optional_text(&path.field("external_ref"), self.external_ref, 100);
        self.address.validate_at(&path.field("address"), report);
        if let Some(s) = self.service_time_s {
            check_service_time(&path.field("service_time_s"), s, report);
        }
        let wp = path.field("time_windows");
        report.max_items(&wp, self.time_windows.len(), MAX_TIME_WINDOWS);
        validate_windows(self.time_windows, &wp, report);
        let pp = path.field("pickup");
        match (self.kind, self.pickup) {
            (OrderKind::PickupAndDelivery, None) => report.push(
                &pp,
                codes::REQUIRED,
                "is required for pickup_and_delivery orders",
            ),
            (OrderKind::PickupAndDelivery, Some(leg)) => leg.validate_at(&pp, report),
            (_, Some(_)) => report.push(
                &pp,
                codes::NOT_ALLOWED,
                "is only allowed for pickup_and_delivery orders",
            ),
            (_, None) => {}
        }
        self.demand.validate_at(&path.field("demand"), report);
        validate_skills(&path.field("required_skills"), self.required_skills, report);
        self.recipient.validate_at(&path.field("recipient"), report);
        report.optional_text(&path.field("instructions"), self.instructions, 500);
        if let Some(b) = self.barcode
            && !is_valid_barcode(b)
        {
            report.push(
                &path.field("barcode"),
                codes::INVALID_FORMAT,
                "must be 1-64 printable ASCII characters without spaces",
            );
        }
        if let Some(m) = self.cash_on_delivery {
            m.validate_at(&path.field("cash_on_delivery"), report);
        }
    }
}

impl NewOrder {
    fn fields(&self) -> OrderFields<'_> {
        OrderFields {
            external_ref: self.external_ref.as_deref(),
            kind: self.kind,
            address: &self.address,
            service_time_s: self.service_time_s,
            time_windows: &self.time_windows,
            pickup: self.pickup.as_ref(),
            demand: &self.demand,
            required_skills: &self.required_skills,
            recipient: &self.recipient,
            instructions: self.instructions.as_deref(),
            barcode: self.barcode.as_deref(),
            cash_on_delivery: self.cash_on_delivery.as_ref(),
        }
    }
}

impl Validate for NewOrder {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.fields().validate_at(path, report);
    }
}

impl Validate for Order {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.fields().validate_at(path, report);
        if self.version == 0 {
            report.push(
                &path.field("version"),
                codes::MUST_BE_POSITIVE,
                "versions start at 1",
            );
        }
        if self.updated_at < self.created_at {
            report.push(
                &path.field("updated_at"),
                codes::OUT_OF_RANGE,
                "must not be before created_at",
            );
        }
    }
}

/// Why a patch was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("order is at version {actual}, not {expected}; reload and retry")]
    VersionConflict { expected: u64, actual: u64 },
    #[error("an order that is {state} can no longer be edited")]
    NotEditable { state: OrderState },
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

impl Order {
    /// A fresh order in state `created`, version 1.
    pub fn from_new(id: OrderId, org_id: OrgId, new: NewOrder, created_at: OffsetDateTime) -> Self {
        Self {
            id,
            org_id,
            external_ref: new.external_ref,
            depot_id: new.depot_id,
            kind: new.kind,
            address: new.address,
            service_time_s: new.service_time_s,
            time_windows: new.time_windows,
            pickup: new.pickup,
            demand: new.demand,
            priority: new.priority,
            required_skills: new.required_skills,
            recipient: new.recipient,
            instructions: new.instructions,
            barcode: new.barcode,
            cash_on_delivery: new.cash_on_delivery,
            status: OrderStatus::Created,
            attempts: 0,
            version: 1,
            created_at,
            updated_at: created_at,
            customer_note: None,
            rating: None,
            dispatch_hold: None,
        }
    }

    fn fields(&self) -> OrderFields<'_> {
        OrderFields {
            external_ref: self.external_ref.as_deref(),
            kind: self.kind,
            address: &self.address,
            service_time_s: self.service_time_s,
            time_windows: &self.time_windows,
            pickup: self.pickup.as_ref(),
            demand: &self.demand,
            required_skills: &self.required_skills,
            recipient: &self.recipient,
            instructions: self.instructions.as_deref(),
            barcode: self.barcode.as_deref(),
            cash_on_delivery: self.cash_on_delivery.as_ref(),
        }
    }

    pub fn state(&self) -> OrderState {
        self.status.state()
    }

    /// Service time at the main stop, falling back to the organisation's.
    pub fn service_time_or(&self, default_s: u32) -> u32 {
        self.service_time_s.unwrap_or(default_s)
    }

    /// Whether the dispatcher may still change the order's contents.
    pub fn is_editable(&self) -> bool {
        matches!(
            self.state(),
            OrderState::Created | OrderState::Planned | OrderState::Failed
        )
    }

    /// Applies a lifecycle event at `at`: new status, `attempts` bumped on
    /// `fail`, version bumped, `updated_at` set. Unchanged on error.
    pub fn apply(
        &mut self,
        event: &OrderEvent,
        at: OffsetDateTime,
    ) -> Result<(), IllegalTransition> {
        self.status = transition(&self.status, event)?;
        if matches!(event, OrderEvent::Fail { .. }) {
            self.attempts += 1;
        }
        self.touch(at);
        Ok(())
    }

    fn touch(&mut self, at: OffsetDateTime) {
        self.version += 1;
        self.updated_at = at;
    }

    /// Everything planning needs beyond [`Validate`]: geocoded stops.
    pub fn validate_for_planning(&self) -> Result<(), ValidationErrors> {
        let mut report = Report::new();
        let root = Path::root();
        self.validate_at(&root, &mut report);
        self.address
            .require_location(&root.field("address"), &mut report);
        if let Some(leg) = &self.pickup {
            leg.address
                .require_location(&root.field("pickup").field("address"), &mut report);
        }
        report.finish()
    }

    /// Applies `patch` at `at` if its version matches and the result is
    /// valid. Unchanged on error.
    pub fn apply_patch(
        &mut self,
        patch: &OrderPatch,
        at: OffsetDateTime,
    ) -> Result<(), PatchError> {
        if patch.version != self.version {
            return Err(PatchError::VersionConflict {
                expected: patch.version,
                actual: self.version,
            });
        }
        if !self.is_editable() {
            return Err(PatchError::NotEditable {
                state: self.state(),
            });
        }
        patch.validate()?;
        let mut next = self.clone();
        let p = patch.clone();
        set(&mut next.external_ref, p.external_ref);
        set(&mut next.depot_id, p.depot_id);
        set(&mut next.kind, p.kind);
        set(&mut next.address, p.address);
        set(&mut next.service_time_s, p.service_time_s);
        set(&mut next.time_windows, p.time_windows);
        set(&mut next.pickup, p.pickup);
        set(&mut next.demand, p.demand);
        set(&mut next.priority, p.priority);
        set(&mut next.required_skills, p.required_skills);
        set(&mut next.recipient, p.recipient);
        set(&mut next.instructions, p.instructions);
        set(&mut next.barcode, p.barcode);
        set(&mut next.cash_on_delivery, p.cash_on_delivery);
        // Cross-field rules (kind vs pickup) can only be checked on the result.
        next.validate()?;
        next.touch(at);
        *self = next;
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Distinguishes a missing field (`None`: leave unchanged) from an explicit
/// `null` (`Some(None)`: clear it) in [`OrderPatch`].
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Body of "update order": only the fields present change. For optional
/// fields `null` clears the value. `version` must equal the stored one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    pub version: u64,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_ref: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub depot_id: Option<Option<DepotId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OrderKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_time_s: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_windows: Option<Vec<TimeWindow>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub pickup: Option<Option<PickupLeg>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<Load>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_skills: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub instructions: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub barcode: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_on_delivery: Option<Option<Money>>,
}

impl OrderPatch {
    /// Whether the patch would change nothing.
    pub fn is_empty(&self) -> bool {
        self == &OrderPatch {
            version: self.version,
            ..OrderPatch::default()
        }
    }
}

impl Validate for OrderPatch {
    /// Checks each present field on its own; cross-field rules are checked
    /// by [`Order::apply_patch`] on the patched order.
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if self.is_empty() {
            report.push(
                path,
                codes::EMPTY_PATCH,
                "changes nothing; send at least one field",
            );
        }
        if let Some(v) = &self.external_ref {
            report.optional_text(&path.field("external_ref"), v.as_deref(), 100);
        }
        self.address.validate_at(&path.field("address"), report);
        if let Some(Some(s)) = self.service_time_s {
            check_service_time(&path.field("service_time_s"), s, report);
        }
        if let Some(ws) = &self.time_windows {
            let wp = path.field("time_windows");
            report.max_items(&wp, ws.len(), MAX_TIME_WINDOWS);
            validate_windows(ws, &wp, report);
        }
        if let Some(Some(leg)) = &self.pickup {
            leg.validate_at(&path.field("pickup"), report);
        }
        self.demand.validate_at(&path.field("demand"), report);
        if let Some(s) = &self.required_skills {
            validate_skills(&path.field("required_skills"), s, report);
        }
        self.recipient.validate_at(&path.field("recipient"), report);
        if let Some(v) = &self.instructions {
            report.optional_text(&path.field("instructions"), v.as_deref(), 500);
        }
        if let Some(Some(b)) = &self.barcode
            && !is_valid_barcode(b)
        {
            report.push(
                &path.field("barcode"),
                codes::INVALID_FORMAT,
                "must be 1-64 printable ASCII characters without spaces",
            );
        }
        if let Some(Some(m)) = &self.cash_on_delivery {
            m.validate_at(&path.field("cash_on_delivery"), report);
        }
    }
}
