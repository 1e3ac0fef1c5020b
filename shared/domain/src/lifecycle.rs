//! The order lifecycle as an explicit state machine.
//!
//! | from \ event       | plan    | unplan  | dispatch   | start            | deliver   | fail   | reattempt | cancel    |
//! |--------------------|---------|---------|------------|------------------|-----------|--------|-----------|-----------|
//! | created            | planned | -       | -          | -                | -         | -      | -         | cancelled |
//! | planned            | -       | created | dispatched | -                | -         | -      | -         | cancelled |
//! | dispatched         | -       | created | -          | out_for_delivery | -         | -      | -         | cancelled |
//! | out_for_delivery   | -       | -       | -          | -                | delivered | failed | -         | cancelled |
//! | failed             | -       | -       | -          | -                | -         | -      | created   | cancelled |
//! | delivered          | -       | -       | -          | -                | -         | -      | -         | -         |
//! | cancelled          | -       | -       | -          | -                | -         | -      | -         | -         |
//!
//! Why: `plan` puts an order on a draft route, `unplan` takes it off (also
//! after dispatch, when a dispatcher re-plans and republishes). `dispatch`
//! happens when the plan is published. `start` is the driver heading for the
//! stop. `reattempt` re-enters planning (`created`; the order keeps its
//! attempt count, which [`crate::order::Order::apply`] bumps on `fail`).
//! Cancellation is allowed from
//! every state that is not terminal; `delivered` and `cancelled` are terminal.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::{Path, Report, Validate, codes};

/// Why a delivery attempt failed. Fixed so it can be reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    RecipientAbsent,
    RecipientRefused,
    WrongAddress,
    AddressInaccessible,
    BusinessClosed,
    NoSafePlace,
    DamagedParcel,
    MissingParcel,
    PaymentNotAvailable,
    OutOfTime,
    VehicleProblem,
    Other,
}

impl FailureReason {
    pub const ALL: [FailureReason; 12] = [
        Self::RecipientAbsent,
        Self::RecipientRefused,
        Self::WrongAddress,
        Self::AddressInaccessible,
        Self::BusinessClosed,
        Self::NoSafePlace,
        Self::DamagedParcel,
        Self::MissingParcel,
        Self::PaymentNotAvailable,
        Self::OutOfTime,
        Self::VehicleProblem,
        Self::Other,
    ];

    /// English label for lists and reports.
    pub fn label(self) -> &'static str {
        match self {
            Self::RecipientAbsent => "Recipient not available",
            Self::RecipientRefused => "Recipient refused the delivery",
            Self::WrongAddress => "Wrong address",
            Self::AddressInaccessible => "Address not accessible",
            Self::BusinessClosed => "Business closed",
            Self::NoSafePlace => "No safe place to leave it",
            Self::DamagedParcel => "Parcel damaged",
            Self::MissingParcel => "Parcel missing from vehicle",
            Self::PaymentNotAvailable => "Cash on delivery not paid",
            Self::OutOfTime => "Ran out of time",
            Self::VehicleProblem => "Vehicle problem",
            Self::Other => "Other",
        }
    }
}

/// An order's state with its data. Wire: `{"state": "created"}`,
/// `{"state": "failed", "reason": "recipient_absent", "note": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    Planned,
    Dispatched,
    OutForDelivery,
    Delivered,
    Failed {
        reason: FailureReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Cancelled,
}

/// The bare state, for filters, indexes and tables. Wire: `"out_for_delivery"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Created,
    Planned,
    Dispatched,
    OutForDelivery,
    Delivered,
    Failed,
    Cancelled,
}

impl OrderState {
    pub const ALL: [OrderState; 7] = [
        Self::Created,
        Self::Planned,
        Self::Dispatched,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Planned => "planned",
            Self::Dispatched => "dispatched",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled)
    }

    /// Events [`transition`] accepts from this state, in table order.
    pub fn allowed_events(self) -> &'static [OrderEventKind] {
        use OrderEventKind as E;
        match self {
            Self::Created => &[E::Plan, E::Cancel],
            Self::Planned => &[E::Unplan, E::Dispatch, E::Cancel],
            Self::Dispatched => &[E::Unplan, E::Start, E::Cancel],
            Self::OutForDelivery => &[E::Deliver, E::Fail, E::Cancel],
            Self::Failed => &[E::Reattempt, E::Cancel],
            Self::Delivered | Self::Cancelled => &[],
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OrderStatus {
    pub fn state(&self) -> OrderState {
        match self {
            Self::Created => OrderState::Created,
            Self::Planned => OrderState::Planned,
            Self::Dispatched => OrderState::Dispatched,
            Self::OutForDelivery => OrderState::OutForDelivery,
            Self::Delivered => OrderState::Delivered,
            Self::Failed { .. } => OrderState::Failed,
            Self::Cancelled => OrderState::Cancelled,
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.state().is_terminal()
    }
}

/// Something that happens to an order. Wire: `{"event": "plan"}`,
/// `{"event": "fail", "reason": "no_safe_place", "note": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case", try_from = "RawEvent")]
pub enum OrderEvent {
    Plan,
    Unplan,
    Dispatch,
    Start,
    Deliver,
    Fail {
        reason: FailureReason,
        #[serde(default)]
        note: Option<String>,
    },
    Reattempt,
    Cancel,
}

/// Read side of [`OrderEvent`]: serde's `deny_unknown_fields` does not
/// reach unit variants of internally tagged enums, so read flat and convert.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct RawEvent {
    event: OrderEventKind,
    #[serde(default)]
    reason: Option<FailureReason>,
    #[serde(default)]
    note: Option<String>,
}

impl TryFrom<RawEvent> for OrderEvent {
    type Error = String;
    fn try_from(raw: RawEvent) -> Result<Self, String> {
        use OrderEventKind as K;
        if raw.event != K::Fail && (raw.reason.is_some() || raw.note.is_some()) {
            return Err(format!("event {} takes no reason or note", raw.event));
        }
        Ok(match raw.event {
            K::Plan => Self::Plan,
            K::Unplan => Self::Unplan,
            K::Dispatch => Self::Dispatch,
            K::Start => Self::Start,
            K::Deliver => Self::Deliver,
            K::Fail => Self::Fail {
                reason: raw.reason.ok_or("event fail requires a reason")?,
                note: raw.note,
            },
            K::Reattempt => Self::Reattempt,
            K::Cancel => Self::Cancel,
        })
    }
}

/// The bare event name. Wire: `"dispatch"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderEventKind {
    Plan,
    Unplan,
    Dispatch,
    Start,
    Deliver,
    Fail,
    Reattempt,
    Cancel,
}

impl OrderEventKind {
    pub const ALL: [OrderEventKind; 8] = [
        Self::Plan,
        Self::Unplan,
        Self::Dispatch,
        Self::Start,
        Self::Deliver,
        Self::Fail,
        Self::Reattempt,
        Self::Cancel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Unplan => "unplan",
            Self::Dispatch => "dispatch",
            Self::Start => "start",
            Self::Deliver => "deliver",
            Self::Fail => "fail",
            Self::Reattempt => "reattempt",
            Self::Cancel => "cancel",
        }
    }
}

impl fmt::Display for OrderEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OrderEvent {
    pub fn kind(&self) -> OrderEventKind {
        match self {
            Self::Plan => OrderEventKind::Plan,
            Self::Unplan => OrderEventKind::Unplan,
            Self::Dispatch => OrderEventKind::Dispatch,
            Self::Start => OrderEventKind::Start,
            Self::Deliver => OrderEventKind::Deliver,
            Self::Fail { .. } => OrderEventKind::Fail,
            Self::Reattempt => OrderEventKind::Reattempt,
            Self::Cancel => OrderEventKind::Cancel,
        }
    }
}

impl Validate for OrderEvent {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if let Self::Fail { reason, note } = self {
            let p = path.field("note");
            match note {
                None if *reason == FailureReason::Other => {
                    report.push(&p, codes::REQUIRED, "is required when the reason is other");
                }
                None => {}
                Some(n) => {
                    if *reason == FailureReason::Other {
                        report.required_text(&p, n, 500);
                    } else {
                        report.optional_text(&p, Some(n), 500);
                    }
                }
            }
        }
    }
}

/// An event that the current state does not accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("cannot {event} an order that is {from}; allowed: {}", allowed_list(.allowed))]
pub struct IllegalTransition {
    pub from: OrderState,
    pub event: OrderEventKind,
    pub allowed: Vec<OrderEventKind>,
}

fn allowed_list(allowed: &[OrderEventKind]) -> String {
    if allowed.is_empty() {
        "nothing (terminal state)".to_owned()
    } else {
        allowed
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The lifecycle table (see the module docs).
pub fn transition(
    from: &OrderStatus,
    event: &OrderEvent,
) -> Result<OrderStatus, IllegalTransition> {
    use OrderEvent as E;
    use OrderStatus as S;
    let next = match (from, event) {
        (S::Created, E::Plan) => S::Planned,
        (S::Planned | S::Dispatched, E::Unplan) => S::Created,
        (S::Planned, E::Dispatch) => S::Dispatched,
        (S::Dispatched, E::Start) => S::OutForDelivery,
        (S::OutForDelivery, E::Deliver) => S::Delivered,
        (S::OutForDelivery, E::Fail { reason, note }) => S::Failed {
            reason: *reason,
            note: note.clone(),
        },
        (S::Failed { .. }, E::Reattempt) => S::Created,
        (s, E::Cancel) if !s.is_terminal() => S::Cancelled,
        _ => {
            let state = from.state();
            return Err(IllegalTransition {
                from: state,
                event: event.kind(),
                allowed: state.allowed_events().to_vec(),
            });
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_formats() {
        let failed = OrderStatus::Failed {
            reason: FailureReason::NoSafePlace,
            note: None,
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"state": "failed", "reason": "no_safe_place"})
        );
        assert_eq!(
            serde_json::to_value(OrderStatus::OutForDelivery).unwrap(),
            serde_json::json!({"state": "out_for_delivery"})
        );
        let ev: OrderEvent =
            serde_json::from_str(r#"{"event":"fail","reason":"other","note":"dog"}"#).unwrap();
        assert_eq!(ev.kind(), OrderEventKind::Fail);
        assert!(serde_json::from_str::<OrderEvent>(r#"{"event":"plan","x":1}"#).is_err());
        assert!(serde_json::from_str::<OrderEvent>(r#"{"event":"teleport"}"#).is_err());
        assert!(serde_json::from_str::<OrderEvent>(r#"{"event":"fail"}"#).is_err());
        assert!(
            serde_json::from_str::<OrderEvent>(r#"{"event":"plan","reason":"other"}"#).is_err()
        );
        for ev in [OrderEvent::Plan, ev] {
            let json = serde_json::to_string(&ev).unwrap();
            assert_eq!(serde_json::from_str::<OrderEvent>(&json).unwrap(), ev);
        }
    }

    #[test]
    fn state_names_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for e in OrderEventKind::ALL {
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::json!(e.as_str())
            );
        }
        assert_eq!(OrderState::parse("lost"), None);
    }

    #[test]
    fn illegal_transition_names_from_event_and_allowed() {
        let err = transition(&OrderStatus::Created, &OrderEvent::Deliver).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot deliver an order that is created; allowed: plan, cancel"
        );
        let err = transition(&OrderStatus::Delivered, &OrderEvent::Cancel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot cancel an order that is delivered; allowed: nothing (terminal state)"
        );
    }

    #[test]
    fn fail_with_reason_other_needs_a_note() {
        let ev = OrderEvent::Fail {
            reason: FailureReason::Other,
            note: None,
        };
        assert!(ev.validate().unwrap_err().has("note", codes::REQUIRED));
        let ev = OrderEvent::Fail {
            reason: FailureReason::RecipientAbsent,
            note: None,
        };
        assert!(ev.validate().is_ok());
    }
}
