//! The order lifecycle table, checked exhaustively: every state x event.

use doorstep_domain::lifecycle::{
    FailureReason, IllegalTransition, OrderEvent, OrderEventKind, OrderState, OrderStatus,
    transition,
};

fn status(state: OrderState) -> OrderStatus {
    match state {
        OrderState::Created => OrderStatus::Created,
        OrderState::Planned => OrderStatus::Planned,
        OrderState::Dispatched => OrderStatus::Dispatched,
        OrderState::OutForDelivery => OrderStatus::OutForDelivery,
        OrderState::Delivered => OrderStatus::Delivered,
        OrderState::Failed => OrderStatus::Failed {
            reason: FailureReason::RecipientAbsent,
            note: Some("nobody home".into()),
        },
        OrderState::Cancelled => OrderStatus::Cancelled,
    }
}

fn event(kind: OrderEventKind) -> OrderEvent {
    match kind {
        OrderEventKind::Plan => OrderEvent::Plan,
        OrderEventKind::Unplan => OrderEvent::Unplan,
        OrderEventKind::Dispatch => OrderEvent::Dispatch,
        OrderEventKind::Start => OrderEvent::Start,
        OrderEventKind::Deliver => OrderEvent::Deliver,
        OrderEventKind::Fail => OrderEvent::Fail {
            reason: FailureReason::NoSafePlace,
            note: None,
        },
        OrderEventKind::Reattempt => OrderEvent::Reattempt,
        OrderEventKind::Cancel => OrderEvent::Cancel,
    }
}

/// Expected next state per (from, event); `None` = illegal. Written out
/// independently of the implementation, in `OrderEventKind::ALL` order:
/// plan, unplan, dispatch, start, deliver, fail, reattempt, cancel.
const TABLE: [(OrderState, [Option<OrderState>; 8]); 7] = {
    use OrderState::*;
    [
        (
            Created,
            [
                Some(Planned),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(Cancelled),
            ],
        ),
        (
            Planned,
            [
                None,
                Some(Created),
                Some(Dispatched),
                None,
                None,
                None,
                None,
                Some(Cancelled),
            ],
        ),
        (
            Dispatched,
            [
                None,
                Some(Created),
                None,
                Some(OutForDelivery),
                None,
                None,
                None,
                Some(Cancelled),
            ],
        ),
        (
            OutForDelivery,
            [
                None,
                None,
                None,
                None,
                Some(Delivered),
                Some(Failed),
                None,
                Some(Cancelled),
            ],
        ),
        (
            Failed,
            [
                None,
                None,
                None,
                None,
                None,
                None,
                Some(Created),
                Some(Cancelled),
            ],
        ),
        (Delivered, [None; 8]),
        (Cancelled, [None; 8]),
    ]
};

#[test]
fn table_covers_every_state_once() {
    let mut states: Vec<OrderState> = TABLE.iter().map(|(s, _)| *s).collect();
    states.sort();
    assert_eq!(states, OrderState::ALL);
}

#[test]
fn every_state_event_pair_follows_the_table() {
    for (from, row) in TABLE {
        for (kind, expected) in OrderEventKind::ALL.into_iter().zip(row) {
            let got = transition(&status(from), &event(kind));
            match expected {
                Some(to) => {
                    let next =
                        got.unwrap_or_else(|e| panic!("{from} --{kind}--> expected {to}, got {e}"));
                    assert_eq!(next.state(), to, "{from} --{kind}-->");
                }
                None => {
                    let err = got.expect_err(&format!("{from} --{kind}--> should be illegal"));
                    let allowed: Vec<OrderEventKind> = OrderEventKind::ALL
                        .into_iter()
                        .zip(row)
                        .filter_map(|(k, to)| to.map(|_| k))
                        .collect();
                    assert_eq!(
                        err,
                        IllegalTransition {
                            from,
                            event: kind,
                            allowed
                        }
                    );
                }
            }
        }
    }
}

#[test]
fn allowed_events_agree_with_the_table() {
    for (from, row) in TABLE {
        let allowed: Vec<OrderEventKind> = OrderEventKind::ALL
            .into_iter()
            .zip(row)
            .filter_map(|(k, to)| to.map(|_| k))
            .collect();
        assert_eq!(from.allowed_events(), allowed.as_slice(), "{from}");
        assert_eq!(from.is_terminal(), allowed.is_empty(), "{from}");
    }
}

#[test]
fn failing_keeps_the_reason_and_note() {
    let next = transition(
        &OrderStatus::OutForDelivery,
        &OrderEvent::Fail {
            reason: FailureReason::AddressInaccessible,
            note: Some("gate locked".into()),
        },
    )
    .unwrap();
    assert_eq!(
        next,
        OrderStatus::Failed {
            reason: FailureReason::AddressInaccessible,
            note: Some("gate locked".into())
        }
    );
}

#[test]
fn happy_path_and_reattempt_walk_through_the_machine() {
    use OrderEvent::*;
    let fail = Fail {
        reason: FailureReason::RecipientAbsent,
        note: None,
    };
    let events = [
        Plan, Dispatch, Start, fail, Reattempt, Plan, Dispatch, Start, Deliver,
    ];
    let end = events
        .iter()
        .try_fold(OrderStatus::Created, |s, e| transition(&s, e))
        .unwrap();
    assert_eq!(end, OrderStatus::Delivered);
}
