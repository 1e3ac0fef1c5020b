//! The day's orders: search box, status filter and sortable columns; adding
//! and editing an order ([`OrderForm`]); orders that arrive through the API
//! (or change) appear without a reload ([`use_order_feed`]), with a notice.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use doorstep_domain::{Order, OrderState, Organisation};
use time::{Date, UtcOffset};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::order_form::OrderForm;
use crate::services::order_feed::{FeedUpdate, use_order_feed};
use crate::services::{api, tz};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Id,
    Recipient,
    Address,
    Window,
    Weight,
    Status,
}

impl Column {
    const ALL: [Column; 6] = [Column::Id, Column::Recipient, Column::Address, Column::Window, Column::Weight, Column::Status];

    fn title(self) -> &'static str {
        match self {
            Column::Id => "Order",
            Column::Recipient => "Recipient",
            Column::Address => "Address",
            Column::Window => "Window",
            Column::Weight => "Weight (kg)",
            Column::Status => "Status",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct TableState {
    query: String,
    status: Option<OrderState>,
    sort: Column,
    ascending: bool,
}

pub enum TableAction {
    Query(String),
    Status(Option<OrderState>),
    SortBy(Column),
}

impl Reducible for TableState {
    type Action = TableAction;
    fn reduce(self: Rc<Self>, action: TableAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            TableAction::Query(q) => next.query = q,
            TableAction::Status(s) => next.status = s,
            TableAction::SortBy(c) if c == next.sort => next.ascending = !next.ascending,
            TableAction::SortBy(c) => {
                next.sort = c;
                next.ascending = true;
            }
        }
        Rc::new(next)
    }
}

/// `HH:MM-HH:MM` of the first window in the order's own offset, or "any time".
pub fn window_text(order: &Order) -> String {
    match order.time_windows.first() {
        Some(w) => format!("{:02}:{:02}–{:02}:{:02}", w.start.hour(), w.start.minute(), w.end.hour(), w.end.minute()),
        None => "any time".into(),
    }
}

fn matches(order: &Order, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    [Some(order.id.as_str()), Some(order.recipient.name.as_str()), Some(order.address.line1.as_str()), order.external_ref.as_deref()]
        .into_iter()
        .flatten()
        .any(|h| h.to_lowercase().contains(query))
}

fn compare(a: &Order, b: &Order, column: Column) -> std::cmp::Ordering {
    match column {
        Column::Id => a.id.cmp(&b.id),
        Column::Recipient => a.recipient.name.cmp(&b.recipient.name),
        Column::Address => a.address.line1.cmp(&b.address.line1),
        Column::Window => a.time_windows.first().map(|w| w.start).cmp(&b.time_windows.first().map(|w| w.start)),
        Column::Weight => a.demand.weight_kg().total_cmp(&b.demand.weight_kg()),
        Column::Status => a.state().to_string().cmp(&b.state().to_string()),
    }
    .then_with(|| a.id.cmp(&b.id))
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct OrdersTableProps {
    pub orders: Rc<Vec<Order>>,
    /// The dispatcher's token; by default the one stored for this tab.
    #[prop_or_default]
    pub token: Option<String>,
    /// The day shown and its UTC offset; by default today in the organisation's zone.
    #[prop_or_default]
    pub date: Option<Date>,
    #[prop_or_default]
    pub offset: Option<UtcOffset>,
    /// Nominatim-compatible search URL; by default the organisation's `settings.geocoder_url`.
    #[prop_or_default]
    pub geocoder_url: Option<String>,
    /// A point clicked on the page's map, handed to the open order form.
    #[prop_or_default]
    pub pin: Option<(f64, f64)>,
    /// Poll the day for orders arriving through the API (off when the page runs its own feed).
    #[prop_or(true)]
    pub feed: bool,
    /// Orders created, edited or arrived here, for the page to update its day.
    #[prop_or_default]
    pub on_orders_changed: Option<Callback<Vec<Order>>>,
}

/// What the table knows beyond its `orders` prop.
#[derive(Clone, Debug, Default, PartialEq)]
struct Live {
    /// Orders created, edited or reported by the feed, newest version.
    orders: BTreeMap<String, Order>,
    /// Arrived through the feed and not yet acknowledged.
    arrived: BTreeSet<String>,
    form: Option<FormMode>,
    notice: Option<String>,
    organisation: Option<Rc<Organisation>>,
}

#[derive(Clone, Debug, PartialEq)]
enum FormMode {
    New,
    Edit(Order),
}

enum LiveAction {
    Organisation(Organisation),
    Feed(FeedUpdate),
    Saved(Order, bool),
    Open(Option<FormMode>),
    Acknowledge,
}

impl Reducible for Live {
    type Action = LiveAction;
    fn reduce(self: Rc<Self>, action: LiveAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            LiveAction::Organisation(o) => next.organisation = Some(Rc::new(o)),
            LiveAction::Feed(update) => {
                for o in update.new {
                    next.arrived.insert(o.id.to_string());
                    next.orders.insert(o.id.to_string(), o);
                }
                for o in update.changed {
                    next.orders.insert(o.id.to_string(), o);
                }
            }
            LiveAction::Saved(o, created) => {
                let name = o.external_ref.clone().unwrap_or_else(|| o.recipient.name.clone());
                next.notice = Some(if created { format!("Order {name} created.") } else { format!("Order {name} saved.") });
                next.orders.insert(o.id.to_string(), o);
                next.form = None;
            }
            LiveAction::Open(mode) => {
                next.form = mode;
                next.notice = None;
            }
            LiveAction::Acknowledge => next.arrived.clear(),
        }
        Rc::new(next)
    }
}

/// The prop's orders with the newer versions the table has, plus the ones it alone knows.
fn merged(orders: &[Order], live: &BTreeMap<String, Order>) -> Vec<Order> {
    let mut out: Vec<Order> = orders
        .iter()
        .map(|o| match live.get(o.id.as_str()) {
            Some(newer) if newer.version > o.version => newer.clone(),
            _ => o.clone(),
        })
        .collect();
    let present: BTreeSet<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    out.extend(live.values().filter(|o| !present.contains(o.id.as_str())).cloned());
    out
}

#[function_component(OrdersTable)]
pub fn orders_table(props: &OrdersTableProps) -> Html {
    let state = use_reducer(|| TableState { query: String::new(), status: None, sort: Column::Window, ascending: true });
    // The rows (hundreds) come one task after the table: the page's own
    // render and the rows never block it as one long task.
    let rows_shown = use_state(|| false);
    {
        let rows_shown = rows_shown.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                yew::platform::time::sleep(std::time::Duration::ZERO).await;
                rows_shown.set(true);
            });
        });
    }
    let live = use_reducer(Live::default);
    let token = props.token.clone().or_else(api::stored_token);
    {
        // The zone (for "today") and the geocoder URL, unless the page gave them.
        let (live, token) = (live.clone(), token.clone());
        let page_gave_day = props.date.is_some() && props.offset.is_some();
        use_effect_with((), move |_| {
            if let (Some(token), false) = (token, page_gave_day) {
                wasm_bindgen_futures::spawn_local(async move {
                    match api::get::<Organisation>(&token, "/api/organisation").await {
                        Ok(o) => live.dispatch(LiveAction::Organisation(o)),
                        Err(e) => web_sys::console::warn_1(&format!("orders table: {}", e.message).into()),
                    }
                });
            }
        });
    }
    // Only without the page's day: the zone lookup is costly, and this runs on every keystroke.
    let today = match (props.date, props.offset) {
        (Some(date), Some(offset)) => Some((date, offset)),
        _ => live.organisation.as_ref().map(|o| tz::today_in(&o.timezone)),
    };
    let date = today.map(|t| t.0);
    let offset = today.map(|t| t.1);
    let geocoder_url = props.geocoder_url.clone().or_else(|| live.organisation.as_ref().and_then(|o| o.settings.geocoder_url.clone()));
    let all = Rc::new(merged(&props.orders, &live.orders));
    {
        let (live, on_changed) = (live.clone(), props.on_orders_changed.clone());
        let on_update = Callback::from(move |update: FeedUpdate| {
            if let Some(cb) = &on_changed {
                cb.emit(update.new.iter().chain(update.changed.iter()).cloned().collect());
            }
            live.dispatch(LiveAction::Feed(update));
        });
        use_order_feed(token.clone().filter(|_| props.feed), date, all.clone(), on_update);
    }

    let query = state.query.trim().to_lowercase();
    let mut rows: Vec<&Order> =
        all.iter().filter(|o| state.status.is_none_or(|s| o.state() == s) && matches(o, &query)).collect();
    rows.sort_by(|a, b| {
        let o = compare(a, b, state.sort);
        if state.ascending { o } else { o.reverse() }
    });

    let on_query = {
        let state = state.clone();
        Callback::from(move |e: InputEvent| state.dispatch(TableAction::Query(e.target_unchecked_into::<HtmlInputElement>().value())))
    };
    let on_status = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            state.dispatch(TableAction::Status(OrderState::ALL.into_iter().find(|s| s.to_string() == value)))
        })
    };
    let header = |column: Column| {
        let state = state.clone();
        let sorted = state.sort == column;
        let aria = if !sorted { "none" } else if state.ascending { "ascending" } else { "descending" };
        let arrow = if !sorted { "" } else if state.ascending { " ▲" } else { " ▼" };
        let onclick = Callback::from(move |_| state.dispatch(TableAction::SortBy(column)));
        html! {
            <th scope="col" aria-sort={aria}>
                <button type="button" class="sort" {onclick}>{ column.title() }{ arrow }</button>
            </th>
        }
    };

    let open = |mode: Option<FormMode>| {
        let live = live.clone();
        Callback::from(move |_: MouseEvent| live.dispatch(LiveAction::Open(mode.clone())))
    };
    let on_close = {
        let live = live.clone();
        Callback::from(move |()| {
            live.dispatch(LiveAction::Open(None));
            // Back to the button that opened the form.
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector("[data-testid=\"order-new\"]").ok().flatten())
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
            {
                let _ = el.focus();
            }
        })
    };
    let on_saved = {
        let (live, on_changed, editing) = (live.clone(), props.on_orders_changed.clone(), matches!(live.form, Some(FormMode::Edit(_))));
        Callback::from(move |o: Order| {
            if let Some(cb) = &on_changed {
                cb.emit(vec![o.clone()]);
            }
            live.dispatch(LiveAction::Saved(o, !editing));
        })
    };
    let on_acknowledge = {
        let live = live.clone();
        Callback::from(move |_: MouseEvent| live.dispatch(LiveAction::Acknowledge))
    };
    let arrived = live.arrived.len();

    html! {
        <section class="orders" aria-labelledby="orders-title">
            if arrived > 0 {
                <p class="notice new-orders" role="status" data-testid="orders-new-notice">
                    { format!("{arrived} new order{} arrived.", if arrived == 1 { "" } else { "s" }) }
                    {" "}<button type="button" class="link-button" onclick={on_acknowledge}>{"Dismiss"}</button>
                </p>
            }
            if let Some(n) = live.notice.clone() {
                <p class="success" role="status" data-testid="order-notice">{ n }</p>
            }
            if let (Some(mode), Some(token), Some(date), Some(offset)) = (live.form.clone(), token.clone(), date, offset) {
                <OrderForm key={match &mode { FormMode::New => "new".to_owned(), FormMode::Edit(o) => o.id.to_string() }}
                    {token} {date} {offset} order={match &mode { FormMode::New => None, FormMode::Edit(o) => Some(o.clone()) }}
                    geocoder_url={geocoder_url.clone()} pin={props.pin} {on_saved} {on_close} />
            }
            <div class="orders-tools">
                <h2 id="orders-title">{ format!("Orders ({} of {})", rows.len(), all.len()) }</h2>
                <button type="button" data-testid="order-new" onclick={open(Some(FormMode::New))} disabled={date.is_none() || token.is_none()}
                    aria-expanded={matches!(live.form, Some(FormMode::New)).to_string()}>{"New order"}</button>
                <label>{"Search "}
                    <input type="search" data-testid="order-search" placeholder="name, address, reference" value={state.query.clone()} oninput={on_query} />
                </label>
                <label>{"Status "}
                    <select data-testid="status-filter" onchange={on_status}>
                        <option value="" selected={state.status.is_none()}>{"All"}</option>
                        { for OrderState::ALL.iter().map(|s| html! {
                            <option value={s.to_string()} selected={state.status == Some(*s)}>{ s.to_string() }</option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="table-scroll">
                <table data-testid="orders-table">
                    <thead><tr>{ for Column::ALL.into_iter().map(header) }<th scope="col"><span class="visually-hidden">{"Actions"}</span></th></tr></thead>
                    <tbody>
                        { for rows.iter().filter(|_| *rows_shown).map(|o| html! {
                            <tr key={o.id.to_string()} data-order={o.id.to_string()} class={classes!(live.arrived.contains(o.id.as_str()).then_some("new-order"))}>
                                <td>{ o.external_ref.clone().unwrap_or_else(|| o.id.to_string()) }</td>
                                <td>{ o.recipient.name.clone() }</td>
                                <td>{ format!("{}, {}", o.address.line1, o.address.postcode) }</td>
                                <td>{ window_text(o) }</td>
                                <td class="num">{ format!("{:.1}", o.demand.weight_kg()) }</td>
                                <td><span class={classes!("status", format!("status-{}", o.state()))}>{ o.state().to_string() }</span></td>
                                <td>
                                    <button type="button" class="link-button" data-testid="order-edit" onclick={open(Some(FormMode::Edit((*o).clone())))}
                                        disabled={date.is_none() || token.is_none()}
                                        aria-label={format!("Edit order {}", o.external_ref.clone().unwrap_or_else(|| o.recipient.name.clone()))}>{"Edit"}</button>
                                </td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}
