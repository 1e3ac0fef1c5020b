//! The live board: today's published routes as they are driven. Each route
//! shows its progress, the next stop's ETA and how late it runs; drivers are
//! on the map where their last GPS ping put them. It refreshes every 15 s.
//! A stop not yet served can be moved to another driver's route ("Move
//! to…"): the server previews the new ETA and any rule the move breaks,
//! and the dispatcher confirms.

use std::collections::BTreeMap;
use std::rc::Rc;

use doorstep_domain::api::{ApiError, Page};
use doorstep_domain::plan::PlanStatus;
use doorstep_domain::tracking::{DriverPosition, RouteProgress};
use doorstep_domain::{Order, OrderId, OrderState, Plan};
use time::{OffsetDateTime, UtcOffset};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::{MapMarker, MapRoute, MapStop, MapView};
use crate::routes::Route;
use crate::services::api::{self, Business};
use crate::services::config::use_client_config;
use crate::services::tz;

/// How often the board asks for fresh positions and ETAs.
pub const REFRESH_MS: i32 = 15_000;
/// A route whose next stop is this late or later is flagged.
const LATE_AFTER_S: i64 = 5 * 60;
const ROUTE_COLORS: [&str; 8] = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

/// Everything the board shows, read in one go so the screen never mixes two moments.
#[derive(Clone, Debug, PartialEq)]
struct Board {
    business: Business,
    offset: UtcOffset,
    plans: Vec<Plan>,
    orders: BTreeMap<OrderId, Order>,
    progress: BTreeMap<String, RouteProgress>,
    positions: Vec<DriverPosition>,
    read_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
enum Loaded {
    Pending,
    Ready(Rc<Board>),
    /// The last good board stays on screen when a refresh fails.
    Stale(Rc<Board>, String),
    Failed(String),
    SignedOut,
}

/// The server's answer to a reassignment (preview or applied); only what the dialog shows.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
struct MoveAnswer {
    stops: Vec<doorstep_domain::Stop>,
    position: u32,
    broken: Vec<BrokenRule>,
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
struct BrokenRule {
    rule: String,
    message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum MoveState {
    Previewing,
    Ready(MoveAnswer),
    Saving(MoveAnswer),
    Failed(String),
}

/// A move the dispatcher started: which stop, where to, and its preview.
#[derive(Clone, Debug, PartialEq)]
struct Moving {
    plan_id: String,
    version: u64,
    order_id: OrderId,
    who: String,
    to_route_id: String,
    to_driver: String,
    to_stops: usize,
    state: MoveState,
}

/// What a "Move to…" choice asks for.
#[derive(Clone, Debug, PartialEq)]
struct MoveChoice {
    plan_id: String,
    version: u64,
    order_id: OrderId,
    who: String,
    to_route_id: String,
    to_driver: String,
    to_stops: usize,
}

fn reassign_body(m: &Moving, dry_run: bool, force: bool) -> serde_json::Value {
    serde_json::json!({"version": m.version, "order_id": m.order_id, "to_route_id": m.to_route_id, "dry_run": dry_run, "force": force})
}

fn now() -> OffsetDateTime {
    // std's clock panics on wasm32: the browser's clock instead.
    let ms = js_sys::Date::now();
    OffsetDateTime::from_unix_timestamp_nanos((ms * 1_000_000.0) as i128).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

async fn load(token: &str) -> Result<Board, ApiError> {
    let business = api::business(token).await?;
    let (date, offset) = tz::today_in(&business.organisation.timezone);
    let plans: Page<Plan> = api::get(token, &format!("/api/plans?date={date}&limit=50")).await?;
    let plans: Vec<Plan> = plans.items.into_iter().filter(|p| p.status == PlanStatus::Published).collect();
    let orders = api::orders_for(token, &date.to_string()).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
    #[derive(serde::Deserialize)]
    struct Positions {
        positions: Vec<DriverPosition>,
    }
    let positions: Positions = api::get(token, "/api/tracking/positions").await?;
    let mut progress = BTreeMap::new();
    // Live ETAs exist once a route's driver has pinged; the others run on plan.
    let pinged = |route: &&doorstep_domain::plan::Route| positions.positions.iter().any(|p| p.route_id == route.id);
    for route in plans.iter().flat_map(|p| &p.routes).filter(pinged) {
        match api::get::<RouteProgress>(token, &format!("/api/tracking/routes/{}", route.id)).await {
            Ok(p) => {
                progress.insert(route.id.to_string(), p);
            }
            // No ping or event yet: the route simply has no progress.
            Err(e) if e.code == "not_found" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Board { business, offset, plans, orders, progress, positions: positions.positions, read_at: now() })
}

fn refresh(token: String, loaded: UseStateHandle<Loaded>) {
    wasm_bindgen_futures::spawn_local(async move {
        match load(&token).await {
            Ok(board) => loaded.set(Loaded::Ready(Rc::new(board))),
            Err(e) if e.code == "unauthorized" => {
                api::forget_token();
                loaded.set(Loaded::SignedOut);
            }
            Err(e) => loaded.set(match &*loaded {
                Loaded::Ready(b) | Loaded::Stale(b, _) => Loaded::Stale(b.clone(), e.message),
                _ => Loaded::Failed(e.message),
            }),
        }
    });
}

/// One route's row on the board.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteStatus {
    pub delivered: usize,
    pub failed: usize,
    pub remaining: usize,
    /// The next stop not done yet, with its current ETA and lateness.
    pub next: Option<(OrderId, OffsetDateTime, i64)>,
}

/// Counts a route's stops by their order's state and finds the next one.
pub fn route_status(route: &doorstep_domain::plan::Route, orders: &BTreeMap<OrderId, Order>, progress: Option<&RouteProgress>) -> RouteStatus {
    let mut status = RouteStatus { delivered: 0, failed: 0, remaining: 0, next: None };
    for stop in &route.stops {
        match orders.get(&stop.order_id).map(Order::state) {
            Some(OrderState::Delivered) => status.delivered += 1,
            // A failed order that goes back to planning (a reattempt) is
            // `created` again: on a published route that still means failed here.
            Some(OrderState::Failed | OrderState::Cancelled | OrderState::Created | OrderState::Planned) => status.failed += 1,
            _ => {
                status.remaining += 1;
                if status.next.is_none() {
                    let eta = progress.and_then(|p| p.eta_of(&stop.id));
                    status.next = Some((stop.order_id.clone(), eta.map_or(stop.planned_arrival, |e| e.eta), eta.map_or(0, |e| e.late_by_s)));
                }
            }
        }
    }
    status
}

fn clock(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

#[function_component(LivePage)]
pub fn live_page() -> Html {
    let config = use_client_config();
    let token = use_state(api::stored_token);
    // Signed out from the start: straight to the sign-in form.
    let loaded = use_state(|| if token.is_some() { Loaded::Pending } else { Loaded::SignedOut });

    {
        let (token, loaded) = (token.clone(), loaded.clone());
        use_effect_with((), move |_| {
            let Some(t) = (*token).clone() else {
                loaded.set(Loaded::SignedOut);
                return Box::new(|| ()) as Box<dyn FnOnce()>;
            };
            refresh(t.clone(), loaded.clone());
            let tick = Closure::<dyn Fn()>::new(move || {
                // A hidden tab has nobody watching: skip, and catch up when shown.
                let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
                if !hidden {
                    refresh(t.clone(), loaded.clone());
                }
            });
            let window = web_sys::window().expect("a window");
            let id = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), REFRESH_MS).ok();
            Box::new(move || {
                if let Some(id) = id {
                    window.clear_interval_with_handle(id);
                }
                drop(tick);
            }) as Box<dyn FnOnce()>
        });
    }

    let on_refresh = {
        let (token, loaded) = (token.clone(), loaded.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(t) = (*token).clone() {
                refresh(t, loaded.clone());
            }
        })
    };

    let moving = use_state(|| None::<Moving>);
    let moved_note = use_state(|| None::<String>);
    let on_move = {
        let (token, moving, moved_note) = (token.clone(), moving.clone(), moved_note.clone());
        Callback::from(move |c: MoveChoice| {
            let Some(t) = (*token).clone() else { return };
            let m = Moving {
                plan_id: c.plan_id,
                version: c.version,
                order_id: c.order_id,
                who: c.who,
                to_route_id: c.to_route_id,
                to_driver: c.to_driver,
                to_stops: c.to_stops,
                state: MoveState::Previewing,
            };
            moved_note.set(None);
            moving.set(Some(m.clone()));
            let moving = moving.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/plans/{}/stops/reassign", m.plan_id);
                let answer: Result<MoveAnswer, ApiError> = api::post(&t, &path, &reassign_body(&m, true, false)).await;
                let state = match answer {
                    Ok(a) => MoveState::Ready(a),
                    Err(e) => MoveState::Failed(e.message),
                };
                moving.set(Some(Moving { state, ..m }));
            });
        })
    };
    // Keyboard users land on the dialog's main button once the preview is in.
    let confirm_ref = use_node_ref();
    {
        let confirm_ref = confirm_ref.clone();
        let ready = matches!(moving.as_ref().map(|m| &m.state), Some(MoveState::Ready(_)));
        use_effect_with(ready, move |ready| {
            if *ready && let Some(button) = confirm_ref.cast::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        });
    }
    let on_cancel_move = {
        let moving = moving.clone();
        Callback::from(move |_: ()| moving.set(None))
    };
    let on_confirm_move = {
        let (token, moving, moved_note, loaded) = (token.clone(), moving.clone(), moved_note.clone(), loaded.clone());
        Callback::from(move |_: ()| {
            let (Some(t), Some(m)) = ((*token).clone(), (*moving).clone()) else { return };
            let MoveState::Ready(preview) = m.state.clone() else { return };
            let force = !preview.broken.is_empty();
            moving.set(Some(Moving { state: MoveState::Saving(preview), ..m.clone() }));
            let (moving, moved_note, loaded) = (moving.clone(), moved_note.clone(), loaded.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/plans/{}/stops/reassign", m.plan_id);
                match api::post::<_, MoveAnswer>(&t, &path, &reassign_body(&m, false, force)).await {
                    Ok(_) => {
                        moving.set(None);
                        moved_note.set(Some(format!("Moved {} to {}.", m.who, m.to_driver)));
                        refresh(t, loaded);
                    }
                    Err(e) => {
                        let message = if e.code == "version_conflict" { format!("{} Refresh and try again.", e.message) } else { e.message };
                        moving.set(Some(Moving { state: MoveState::Failed(message), ..m }));
                        refresh(t, loaded);
                    }
                }
            });
        })
    };

    let (board, problem) = match &*loaded {
        Loaded::SignedOut => return html! { <Redirect<Route> to={Route::Login} /> },
        Loaded::Pending => (None, None),
        Loaded::Ready(b) => (Some(b.clone()), None),
        Loaded::Stale(b, m) => (Some(b.clone()), Some(format!("Could not refresh: {m}. Showing the board as of {}.", clock(b.read_at, b.offset)))),
        Loaded::Failed(m) => (None, Some(format!("Could not load the live board: {m}"))),
    };
    let (markers, routes) = board.as_deref().map_or((Vec::new(), Vec::new()), map_layers);

    html! {
        <div class="layout layout-dispatcher">
            <header class="topbar">
                <h1>{"Doorstep"}</h1>
                <span class="topbar-subtitle">{"Live"}</span>
                <Link<Route> to={Route::Dispatcher} classes="link-button">{"Plan"}</Link<Route>>
                <Link<Route> to={Route::Reports} classes="link-button">{"Reports"}</Link<Route>>
                <Link<Route> to={Route::Setup} classes="link-button">{"Setup"}</Link<Route>>
            </header>
            <main class="workspace" data-page="live">
                <aside class="sidebar" aria-label="Routes in progress">
                    <h2>{"Today's routes"}</h2>
                    if let Some(m) = problem {
                        <p class="error" role="alert" data-testid="live-error">{ m }</p>
                    }
                    if let Some(b) = board.as_ref() {
                        <p class="muted" aria-live="polite" data-testid="live-updated">
                            { format!("Updated {} · refreshes every {} s ", clock(b.read_at, b.offset), REFRESH_MS / 1000) }
                            <button type="button" class="link-button" onclick={on_refresh}>{"Refresh now"}</button>
                        </p>
                        if let Some(note) = (*moved_note).clone() {
                            <p class="notice" role="status" data-testid="live-move-done">{ note }</p>
                        }
                        if let Some(m) = (*moving).clone() {
                            { move_dialog(&m, b.offset, confirm_ref.clone(), on_confirm_move.clone(), on_cancel_move.clone()) }
                        }
                        { route_list(b, on_move.clone()) }
                    } else {
                        <p aria-live="polite">{"Loading…"}</p>
                    }
                </aside>
                <div class="main-column">
                    <MapView
                        center={(config.map_center.lat, config.map_center.lon)}
                        zoom={config.map_zoom}
                        tile_url={config.tile_url.clone()}
                        tile_attribution={config.tile_attribution.clone()}
                        {markers}
                        dots={Vec::new()}
                        {routes}
                        label="Live map"
                    />
                </div>
            </main>
        </div>
    }
}

/// The preview of a move: the new ETA, what it breaks, confirm or cancel (Escape).
fn move_dialog(m: &Moving, offset: UtcOffset, confirm_ref: NodeRef, on_confirm: Callback<()>, on_cancel: Callback<()>) -> Html {
    let onkeydown = {
        let on_cancel = on_cancel.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                on_cancel.emit(());
            }
        })
    };
    let cancel = {
        let on_cancel = on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let confirm = Callback::from(move |_: MouseEvent| on_confirm.emit(()));
    let (body, can_confirm, label) = match &m.state {
        MoveState::Previewing => (html! { <p aria-live="polite">{"Computing the new ETA…"}</p> }, false, "Move stop"),
        MoveState::Failed(message) => (html! { <p class="error" role="alert" data-testid="live-move-error">{ message.clone() }</p> }, false, "Move stop"),
        MoveState::Ready(a) | MoveState::Saving(a) => {
            let eta = a.stops.first().map_or_else(|| "—".to_owned(), |s| clock(s.planned_arrival, offset));
            let broken = !a.broken.is_empty();
            (
                html! {
                    <>
                        <p data-testid="live-move-eta">{ format!("New ETA {eta} · stop {} of {}", a.position + 1, m.to_stops + 1) }</p>
                        if broken {
                            <div class="warning" role="alert" data-testid="live-move-warnings">
                                <p>{"This move breaks:"}</p>
                                <ul>{ for a.broken.iter().map(|b| html! { <li data-rule={b.rule.clone()}>{ b.message.clone() }</li> }) }</ul>
                            </div>
                        } else {
                            <p class="muted" data-testid="live-move-feasible">{"Fits: no time window, capacity or shift rule is broken."}</p>
                        }
                    </>
                },
                matches!(m.state, MoveState::Ready(_)),
                if broken { "Move anyway" } else { "Move stop" },
            )
        }
    };
    html! {
        <section class="move-dialog" role="dialog" aria-modal="false" aria-labelledby="live-move-title" data-testid="live-move-dialog" {onkeydown}>
            <h3 id="live-move-title">{ format!("Move {} to {}", m.who, m.to_driver) }</h3>
            { body }
            <div class="actions">
                <button type="button" class="primary" data-testid="live-move-confirm" ref={confirm_ref} disabled={!can_confirm} onclick={confirm}>{ label }</button>
                <button type="button" data-testid="live-move-cancel" onclick={cancel}>{"Cancel"}</button>
            </div>
        </section>
    }
}

/// A stop that has not been served yet (the server also refuses arrived ones).
fn movable(order: Option<&Order>) -> bool {
    matches!(order.map(Order::state), Some(OrderState::Dispatched | OrderState::OutForDelivery))
}

/// The route's stops, each unstarted one with a "Move to…" choice of the other routes.
fn stop_list(board: &Board, plan: &Plan, route: &doorstep_domain::plan::Route, on_move: &Callback<MoveChoice>) -> Html {
    let driver_name = |r: &doorstep_domain::plan::Route| {
        r.driver_id.as_ref().and_then(|d| board.business.drivers.iter().find(|x| &x.id == d)).map_or_else(|| "No driver".to_owned(), |d| d.name.clone())
    };
    let others: Vec<&doorstep_domain::plan::Route> = plan.routes.iter().filter(|r| r.id != route.id && r.driver_id.is_some()).collect();
    html! {
        <details class="live-stops" data-testid="live-stops">
            <summary>{ format!("Stops ({})", route.stops.len()) }</summary>
            <ol>
                { for route.stops.iter().map(|stop| {
                    let order = board.orders.get(&stop.order_id);
                    let who = order.map_or_else(|| stop.order_id.to_string(), |o| o.recipient.name.clone());
                    let state = order.map_or_else(|| "unknown".to_owned(), |o| o.state().to_string());
                    let choose = {
                        let on_move = on_move.clone();
                        let (plan_id, version, order_id, who) = (plan.id.to_string(), plan.version, stop.order_id.clone(), who.clone());
                        let targets: Vec<(String, String, usize)> = others.iter().map(|r| (r.id.to_string(), driver_name(r), r.stops.len())).collect();
                        Callback::from(move |e: Event| {
                            let Some(select) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok()) else { return };
                            let value = select.value();
                            select.set_value("");
                            if let Some((id, name, n)) = targets.iter().find(|(id, ..)| *id == value) {
                                on_move.emit(MoveChoice {
                                    plan_id: plan_id.clone(),
                                    version,
                                    order_id: order_id.clone(),
                                    who: who.clone(),
                                    to_route_id: id.clone(),
                                    to_driver: name.clone(),
                                    to_stops: *n,
                                });
                            }
                        })
                    };
                    html! {
                        <li data-testid="live-stop" data-order-id={stop.order_id.to_string()} data-stop-id={stop.id.to_string()} data-state={state.clone()}>
                            <span>{ format!("{} · {}", who, clock(stop.planned_arrival, board.offset)) }</span>
                            if movable(order) && !others.is_empty() {
                                <select aria-label={format!("Move {who} to another driver's route")} data-testid="live-move" onchange={choose}>
                                    <option value="" selected=true>{"Move to…"}</option>
                                    { for others.iter().map(|r| html! { <option value={r.id.to_string()}>{ driver_name(r) }</option> }) }
                                </select>
                            } else {
                                <span class="muted">{ format!(" · {state}") }</span>
                            }
                        </li>
                    }
                }) }
            </ol>
        </details>
    }
}

fn route_list(board: &Board, on_move: Callback<MoveChoice>) -> Html {
    let routes: Vec<_> = board.plans.iter().flat_map(|p| p.routes.iter().map(move |r| (p, r))).collect();
    if routes.is_empty() {
        return html! { <p data-testid="live-empty">{"No published routes today. Plan and publish the day first."}</p> };
    }
    html! {
        <ol class="route-list" data-testid="live-routes">
            { for routes.iter().enumerate().map(|(i, (plan, route))| {
                let status = route_status(route, &board.orders, board.progress.get(&route.id.to_string()));
                let driver = route.driver_id.as_ref().and_then(|d| board.business.drivers.iter().find(|x| &x.id == d));
                let position = route.driver_id.as_ref().and_then(|d| board.positions.iter().find(|p| &p.driver_id == d));
                let late = status.next.as_ref().is_some_and(|(_, _, late)| *late >= LATE_AFTER_S);
                let total = route.stops.len();
                html! {
                    <li class={classes!("route", late.then_some("late"))} data-testid="live-route" data-route-id={route.id.to_string()}
                        data-delivered={status.delivered.to_string()} data-failed={status.failed.to_string()} data-remaining={status.remaining.to_string()}>
                        <span class="swatch" style={format!("background:{}", ROUTE_COLORS[i % ROUTE_COLORS.len()])} aria-hidden="true"></span>
                        <strong>{ driver.map_or_else(|| "No driver".to_owned(), |d| d.name.clone()) }</strong>
                        <progress max={total.to_string()} value={(status.delivered + status.failed).to_string()}
                            aria-label={format!("{} of {total} stops done", status.delivered + status.failed)}></progress>
                        <dl class="kpis">
                            <dt>{"Delivered"}</dt><dd>{ status.delivered }</dd>
                            <dt>{"Failed"}</dt><dd>{ status.failed }</dd>
                            <dt>{"To go"}</dt><dd>{ status.remaining }</dd>
                            <dt>{"Next"}</dt>
                            <dd data-testid="live-next">{ match &status.next {
                                Some((order, eta, late)) => {
                                    let who = board.orders.get(order).map_or_else(|| order.to_string(), |o| o.recipient.name.clone());
                                    if *late >= 60 { format!("{who} · ETA {} ({} min late)", clock(*eta, board.offset), late / 60) } else { format!("{who} · ETA {}", clock(*eta, board.offset)) }
                                }
                                None => "Route finished".to_owned(),
                            } }</dd>
                            <dt>{"Last ping"}</dt>
                            <dd data-testid="live-ping">{ position.map_or_else(|| "none yet".to_owned(), |p| {
                                let battery = p.battery_pct.map_or(String::new(), |b| format!(" · battery {b:.0} %"));
                                format!("{}{battery}", age((board.read_at - p.device_time).whole_seconds().max(0)))
                            }) }</dd>
                        </dl>
                        { stop_list(board, plan, route, &on_move) }
                    </li>
                }
            }) }
        </ol>
    }
}

/// Drivers where their last ping put them; the routes as planned, done stops greyed.
fn map_layers(board: &Board) -> (Vec<MapMarker>, Vec<MapRoute>) {
    let names: BTreeMap<_, _> = board.business.drivers.iter().map(|d| (d.id.clone(), d.name.clone())).collect();
    let markers = board
        .positions
        .iter()
        .map(|p| MapMarker {
            lat: p.lat,
            lon: p.lon,
            label: format!("{} · {}", names.get(&p.driver_id).cloned().unwrap_or_else(|| p.driver_id.to_string()), clock(p.device_time, board.offset)),
        })
        .collect();
    let routes = board
        .plans
        .iter()
        .flat_map(|p| &p.routes)
        .enumerate()
        .map(|(i, r)| {
            let stops: Vec<MapStop> = r
                .stops
                .iter()
                .filter(|s| matches!(board.orders.get(&s.order_id).map(Order::state), Some(OrderState::Dispatched | OrderState::OutForDelivery)))
                .map(|s| MapStop {
                    lat: s.location.lat,
                    lon: s.location.lon,
                    number: s.sequence as usize,
                    label: board.orders.get(&s.order_id).map_or_else(|| s.order_id.to_string(), |o| format!("{} · {}", o.recipient.name, o.address.line1)),
                })
                .collect();
            let path = r.stops.iter().map(|s| (s.location.lat, s.location.lon)).collect();
            MapRoute { color: ROUTE_COLORS[i % ROUTE_COLORS.len()].to_owned(), path, stops }
        })
        .collect();
    (markers, routes)
}
