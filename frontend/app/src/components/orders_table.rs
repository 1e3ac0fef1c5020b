//! The day's orders: search box, status filter and sortable columns.

use std::rc::Rc;

use doorstep_domain::{Order, OrderState};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

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
}

#[function_component(OrdersTable)]
pub fn orders_table(props: &OrdersTableProps) -> Html {
    let state = use_reducer(|| TableState { query: String::new(), status: None, sort: Column::Window, ascending: true });
    let query = state.query.trim().to_lowercase();
    let mut rows: Vec<&Order> =
        props.orders.iter().filter(|o| state.status.is_none_or(|s| o.state() == s) && matches(o, &query)).collect();
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

    html! {
        <section class="orders" aria-labelledby="orders-title">
            <div class="orders-tools">
                <h2 id="orders-title">{ format!("Orders ({} of {})", rows.len(), props.orders.len()) }</h2>
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
                    <thead><tr>{ for Column::ALL.into_iter().map(header) }</tr></thead>
                    <tbody>
                        { for rows.iter().map(|o| html! {
                            <tr key={o.id.to_string()} data-order={o.id.to_string()}>
                                <td>{ o.external_ref.clone().unwrap_or_else(|| o.id.to_string()) }</td>
                                <td>{ o.recipient.name.clone() }</td>
                                <td>{ format!("{}, {}", o.address.line1, o.address.postcode) }</td>
                                <td>{ window_text(o) }</td>
                                <td class="num">{ format!("{:.1}", o.demand.weight_kg()) }</td>
                                <td><span class={classes!("status", format!("status-{}", o.state()))}>{ o.state().to_string() }</span></td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}
