//! Orders that arrive (shop API, another dispatcher) or change while the day
//! is on screen. The API has no "changed since" filter, so the hook refetches
//! the day's orders (following the cursor pages) every [`FEED_INTERVAL_MS`]
//! while the tab is visible, diffs them against what it has seen by version,
//! and reports new and changed orders through a callback.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use doorstep_domain::Order;
use time::Date;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::services::api;

/// How often the day is refetched while the tab is visible.
pub const FEED_INTERVAL_MS: i32 = 12_000;

/// What changed since the last look.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeedUpdate {
    /// Orders not seen before, in the API's order (oldest first).
    pub new: Vec<Order>,
    /// Seen orders at a higher version (edited, planned, cancelled...).
    pub changed: Vec<Order>,
}

impl FeedUpdate {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.changed.is_empty()
    }
}

/// Records `fetched` in `seen` (order id → version) and returns what is new
/// or newer. Orders that vanished from the day are not reported.
pub fn diff(seen: &mut HashMap<String, u64>, fetched: Vec<Order>) -> FeedUpdate {
    let mut update = FeedUpdate::default();
    for order in fetched {
        match seen.get(order.id.as_str()).copied() {
            None => {
                seen.insert(order.id.to_string(), order.version);
                update.new.push(order);
            }
            Some(v) if v < order.version => {
                seen.insert(order.id.to_string(), order.version);
                update.changed.push(order);
            }
            Some(_) => {}
        }
    }
    update
}

/// Polls `GET /api/orders?date=` for `date` and calls `on_update` with what is
/// new or changed compared with `known` (the orders on screen) and with what
/// it reported before. Paused while the tab is hidden; refetches as soon as
/// it is shown again. Does nothing until both `token` and `date` are known.
#[hook]
pub fn use_order_feed(token: Option<String>, date: Option<Date>, known: Rc<Vec<Order>>, on_update: Callback<FeedUpdate>) {
    let seen: Rc<RefCell<HashMap<String, u64>>> = use_mut_ref(HashMap::new);
    let callback: Rc<RefCell<Callback<FeedUpdate>>> = use_mut_ref(|| on_update.clone());
    *callback.borrow_mut() = on_update;

    {
        // What the page shows is seen already (keeps the higher version).
        let seen = seen.clone();
        use_effect_with(known, move |known| {
            let mut seen = seen.borrow_mut();
            for o in known.iter() {
                let v = seen.entry(o.id.to_string()).or_insert(o.version);
                *v = (*v).max(o.version);
            }
        });
    }
    use_effect_with((token, date), move |(token, date)| {
        let (Some(token), Some(date)) = (token.clone(), *date) else {
            return Box::new(|| ()) as Box<dyn FnOnce()>;
        };
        let in_flight = Rc::new(Cell::new(false));
        let poll = Rc::new(move || {
            let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
            if hidden || in_flight.get() {
                return;
            }
            in_flight.set(true);
            let (token, seen, callback, in_flight) = (token.clone(), seen.clone(), callback.clone(), in_flight.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::orders_for(&token, &date.to_string()).await {
                    Ok(orders) => {
                        let update = diff(&mut seen.borrow_mut(), orders);
                        if !update.is_empty() {
                            let cb = callback.borrow().clone();
                            cb.emit(update);
                        }
                    }
                    // The next tick tries again; the table keeps what it has.
                    Err(e) => web_sys::console::warn_1(&format!("order feed: {}", e.message).into()),
                }
                in_flight.set(false);
            });
        });
        let tick = {
            let poll = poll.clone();
            Closure::<dyn Fn()>::new(move || poll())
        };
        let shown = Closure::<dyn Fn()>::new(move || poll());
        let window = web_sys::window().expect("a window");
        let document = window.document();
        let id = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), FEED_INTERVAL_MS).ok();
        if let Some(d) = &document {
            let _ = d.add_event_listener_with_callback("visibilitychange", shown.as_ref().unchecked_ref());
        }
        Box::new(move || {
            if let Some(id) = id {
                window.clear_interval_with_handle(id);
            }
            if let Some(d) = &document {
                let _ = d.remove_event_listener_with_callback("visibilitychange", shown.as_ref().unchecked_ref());
            }
            drop(tick);
            drop(shown);
        }) as Box<dyn FnOnce()>
    });
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn order(id: &str, version: u64) -> Order {
        let mut o: Order = serde_json::from_value(serde_json::json!({
            "id": id, "org_id": "org_00000000000000000000000001", "kind": "delivery",
            "address": {"line1": "1 Rue A", "postcode": "69002", "city": "Lyon", "country": "FR"},
            "recipient": {"name": "A"}, "status": {"state": "created"}, "version": 1,
            "created_at": "2026-01-01T08:00:00Z", "updated_at": "2026-01-01T08:00:00Z"
        }))
        .expect("an order");
        o.version = version;
        o
    }

    #[test]
    fn new_and_newer_orders_are_reported_once() {
        let (a, b) = ("ord_00000000000000000000000001", "ord_00000000000000000000000002");
        let mut seen = HashMap::from([(a.to_owned(), 1)]);
        let first = diff(&mut seen, vec![order(a, 1), order(b, 1)]);
        assert_eq!((first.new.len(), first.changed.len()), (1, 0));
        assert_eq!(first.new[0].id.as_str(), b);
        let second = diff(&mut seen, vec![order(a, 2), order(b, 1)]);
        assert_eq!((second.new.len(), second.changed.len()), (0, 1));
        assert!(diff(&mut seen, vec![order(a, 2), order(b, 1)]).is_empty());
    }
}
