//! The dispatcher's day: orders on the map and in a table, planning in a Web
//! Worker with live progress, the resulting routes, and publishing them.

use std::cell::RefCell;
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::dispatch::PublishedPlan;
use doorstep_domain::planning::{
    DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH, PlanDraft, PlanningInput, PlanningProblem, TravelSettings, build_problem, reason_label,
};
use doorstep_domain::{Order, OrderState};
use doorstep_optimizer::{Objective, Progress, Solution, SolverConfig};
use time::{Date, UtcOffset};
use web_sys::HtmlSelectElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::{ImportOrders, MapDot, MapMarker, MapRoute, MapStop, MapView, OrdersTable, ProgressChart};
use crate::routes::Route;
use crate::services::api::{self, Business};
use crate::services::config::use_client_config;
use crate::services::solver::{SolverEvent, SolverRun, browser_threads};
use crate::services::tz;

const ROUTE_COLORS: [&str; 8] = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
const BUDGETS_S: [u64; 4] = [5, 10, 30, 60];

/// The business and the orders of the day being planned.
#[derive(Clone, Debug, PartialEq)]
struct Day {
    business: Business,
    orders: Rc<Vec<Order>>,
    date: Date,
    offset: UtcOffset,
}

#[derive(Clone, Debug, PartialEq)]
enum Loading {
    Pending,
    Ready(Rc<Day>),
    Failed(String),
    SignedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Running,
    Stopping,
    Solved,
    Publishing,
    Published,
}

#[derive(Clone, Debug, PartialEq)]
struct Planner {
    phase: Phase,
    /// `(elapsed_ms, best_cost)` for the chart.
    curve: Vec<(f64, f64)>,
    last: Option<Progress>,
    problem: Option<Rc<PlanningProblem>>,
    draft: Option<Rc<PlanDraft>>,
    solve_ms: f64,
    iterations: u64,
    /// Threads the last search ran on.
    threads: u32,
    error: Option<String>,
    published: Option<Rc<PublishedPlan>>,
}

enum PlannerAction {
    Start(Rc<PlanningProblem>),
    Progress(Progress),
    Stopping,
    Done(Box<Solution>, f64, u32),
    Failed(String),
    Publishing,
    Published(PublishedPlan),
    PublishFailed(ApiError),
}

/// Enough points for a smooth line without growing without bound.
const MAX_CURVE_POINTS: usize = 400;

impl Reducible for Planner {
    type Action = PlannerAction;

    fn reduce(self: Rc<Self>, action: PlannerAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            PlannerAction::Start(problem) => {
                next = Planner { phase: Phase::Running, problem: Some(problem), ..Planner::default() };
            }
            PlannerAction::Progress(p) => {
                if !matches!(next.phase, Phase::Running | Phase::Stopping) {
                    return self;
                }
                if next.curve.len() >= MAX_CURVE_POINTS {
                    // Thin out every other point; the shape stays.
                    next.curve = next.curve.iter().step_by(2).copied().collect();
                }
                next.curve.push((p.elapsed_ms as f64, p.best_cost));
                next.iterations = p.iteration;
                next.last = Some(p);
            }
            PlannerAction::Stopping => next.phase = Phase::Stopping,
            PlannerAction::Done(solution, ms, threads) => {
                next.threads = threads;
                next.solve_ms = ms;
                next.iterations = solution.iterations;
                match next.problem.as_ref().map(|p| p.to_plan(&solution)) {
                    Some(Ok(draft)) => {
                        next.draft = Some(Rc::new(draft));
                        next.phase = Phase::Solved;
                    }
                    Some(Err(e)) => {
                        next.error = Some(format!("The plan could not be read: {e}"));
                        next.phase = Phase::Idle;
                    }
                    None => next.phase = Phase::Idle,
                }
            }
            PlannerAction::Failed(message) => {
                next.error = Some(message);
                next.phase = Phase::Idle;
            }
            PlannerAction::Publishing => {
                next.error = None;
                next.phase = Phase::Publishing;
            }
            PlannerAction::Published(p) => {
                next.published = Some(Rc::new(p));
                next.phase = Phase::Published;
            }
            PlannerAction::PublishFailed(e) => {
                let details: Vec<String> = e.details.iter().map(|d| format!("{}: {}", d.path, d.message)).collect();
                next.error = Some(if details.is_empty() { e.message } else { format!("{} ({})", e.message, details.join("; ")) });
                next.phase = Phase::Solved;
            }
        }
        Rc::new(next)
    }
}

impl Default for Planner {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            curve: Vec::new(),
            last: None,
            problem: None,
            draft: None,
            solve_ms: 0.0,
            iterations: 0,
            threads: 0,
            error: None,
            published: None,
        }
    }
}

fn km(m: f64) -> String {
    format!("{:.1} km", m / 1000.0)
}

fn hours(s: u32) -> String {
    format!("{}:{:02} h", s / 3600, (s % 3600) / 60)
}

async fn load_day(token: &str) -> Result<Day, ApiError> {
    let business = api::business(token).await?;
    let (date, offset) = tz::today_in(&business.organisation.timezone);
    let orders = api::orders_for(token, &date.to_string()).await?;
    Ok(Day { business, orders: Rc::new(orders), date, offset })
}

fn start_loading(token: String, loading: UseStateHandle<Loading>) {
    wasm_bindgen_futures::spawn_local(async move {
        match load_day(&token).await {
            Ok(day) => loading.set(Loading::Ready(Rc::new(day))),
            Err(e) if e.code == "unauthorized" => {
                api::forget_token();
                loading.set(Loading::SignedOut);
            }
            Err(e) => loading.set(Loading::Failed(e.message)),
        }
    });
}

#[function_component(DispatcherPage)]
pub fn dispatcher_page() -> Html {
    let config = use_client_config();
    let token = use_state(api::stored_token);
    let loading = use_state(|| Loading::Pending);
    let planner = use_reducer(Planner::default);
    let budget_s = use_state(|| 10u64);
    let importing = use_state(|| false);
    let run: Rc<RefCell<Option<SolverRun>>> = use_mut_ref(|| None);

    {
        let (token, loading) = (token.clone(), loading.clone());
        use_effect_with((), move |_| {
            match (*token).clone() {
                Some(t) => start_loading(t, loading),
                None => loading.set(Loading::SignedOut),
            }
        });
    }
    {
        // Drop the worker once a run is over (not from inside its own message handler).
        let run = run.clone();
        use_effect_with(planner.phase, move |phase| {
            if !matches!(phase, Phase::Running | Phase::Stopping) {
                run.borrow_mut().take();
            }
        });
    }

    if *loading == Loading::SignedOut {
        return html! { <Redirect<Route> to={Route::Login} /> };
    }
    let day = match &*loading {
        Loading::Ready(day) => Some(day.clone()),
        _ => None,
    };

    let on_plan = {
        let (planner, run, day, budget_s) = (planner.clone(), run.clone(), day.clone(), budget_s.clone());
        Callback::from(move |_| {
            let Some(day) = day.clone() else { return };
            let Some(depot) = day.business.depots.first() else {
                planner.dispatch(PlannerAction::Failed("Set up a depot first.".into()));
                return;
            };
            let input = PlanningInput {
                depot,
                vehicles: &day.business.vehicles,
                drivers: &day.business.drivers,
                orders: &day.orders,
                date: day.date,
                utc_offset: day.offset,
                default_service_time_s: day.business.organisation.default_service_time_s,
                travel: TravelSettings::default(),
            };
            let problem = match build_problem(&input) {
                Ok(p) => Rc::new(p),
                Err(e) => {
                    planner.dispatch(PlannerAction::Failed(e.to_string()));
                    return;
                }
            };
            if problem.problem.jobs.is_empty() {
                planner.dispatch(PlannerAction::Failed("No orders to plan for this day.".into()));
                return;
            }
            let config = SolverConfig {
                seed: 1,
                time_limit_ms: Some(*budget_s * 1000),
                objective: Objective::Cost,
                threads: browser_threads(),
                ..SolverConfig::default()
            };
            let events = {
                let planner = planner.clone();
                Callback::from(move |event: SolverEvent| match event {
                    SolverEvent::Progress(p) => planner.dispatch(PlannerAction::Progress(p)),
                    SolverEvent::Done { solution, ms, threads } => planner.dispatch(PlannerAction::Done(solution, ms, threads)),
                    SolverEvent::Failed(m) => planner.dispatch(PlannerAction::Failed(m)),
                })
            };
            planner.dispatch(PlannerAction::Start(problem.clone()));
            match SolverRun::start(&problem.problem, &config, events) {
                Ok(handle) => *run.borrow_mut() = Some(handle),
                Err(e) => planner.dispatch(PlannerAction::Failed(e)),
            }
        })
    };
    let on_stop = {
        let (planner, run) = (planner.clone(), run.clone());
        Callback::from(move |_| {
            let stoppable = run.borrow().as_ref().is_some_and(SolverRun::stop);
            if stoppable {
                planner.dispatch(PlannerAction::Stopping);
            } else {
                planner.dispatch(PlannerAction::Failed("Stopped. This page is not cross-origin isolated, so no plan was kept.".into()));
            }
        })
    };
    let on_publish = {
        let (planner, token, loading) = (planner.clone(), token.clone(), loading.clone());
        Callback::from(move |_| {
            let (Some(draft), Some(token)) = (planner.draft.clone(), (*token).clone()) else { return };
            planner.dispatch(PlannerAction::Publishing);
            let (planner, loading) = (planner.clone(), loading.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::save_and_publish(&token, &draft.request).await {
                    Ok(published) => {
                        planner.dispatch(PlannerAction::Published(published));
                        // Order statuses changed (dispatched): show them.
                        start_loading(token, loading);
                    }
                    Err(e) => planner.dispatch(PlannerAction::PublishFailed(e)),
                }
            });
        })
    };
    let on_budget = {
        let budget_s = budget_s.clone();
        Callback::from(move |e: Event| {
            if let Ok(v) = e.target_unchecked_into::<HtmlSelectElement>().value().parse() {
                budget_s.set(v);
            }
        })
    };
    let on_import_toggle = {
        let importing = importing.clone();
        Callback::from(move |_: MouseEvent| importing.set(!*importing))
    };
    let on_import_close = {
        let importing = importing.clone();
        Callback::from(move |()| importing.set(false))
    };
    let on_orders_changed = {
        let (token, loading) = (token.clone(), loading.clone());
        Callback::from(move |()| {
            if let Some(t) = (*token).clone() {
                start_loading(t, loading.clone());
            }
        })
    };
    let on_sign_out = {
        let loading = loading.clone();
        Callback::from(move |_| {
            api::forget_token();
            loading.set(Loading::SignedOut);
        })
    };

    let markers: Vec<MapMarker> =
        config.depots.iter().map(|d| MapMarker { lat: d.lat, lon: d.lon, label: d.name.clone() }).collect();
    let (dots, routes) = map_layers(day.as_deref(), planner.draft.as_deref());
    let running = matches!(planner.phase, Phase::Running | Phase::Stopping);
    let plannable = day.as_ref().map_or(0, |d| {
        d.orders.iter().filter(|o| matches!(o.state(), OrderState::Created | OrderState::Planned)).count()
    });

    html! {
        <div class="layout layout-dispatcher">
            <header class="topbar">
                <h1>{"Doorstep"}</h1>
                <span class="topbar-subtitle">{ config.org_name.clone().unwrap_or_else(|| "Dispatch".into()) }</span>
                <Link<Route> to={Route::Live} classes="link-button">{"Live"}</Link<Route>>
                <Link<Route> to={Route::Reports} classes="link-button">{"Reports"}</Link<Route>>
                <button type="button" class="link-button" onclick={on_sign_out}>{"Sign out"}</button>
            </header>
            <main class="workspace" data-page="dispatcher">
                <aside class="sidebar" aria-label="Plan">
                    <h2>{ day.as_ref().map_or_else(|| "Today".to_owned(), |d| format!("Today, {}", d.date)) }</h2>
                    <p>{ format!("{} depot(s) set up", config.depots.len()) }</p>
                    { match &*loading {
                        Loading::Pending => html! { <p aria-live="polite">{"Loading the day…"}</p> },
                        Loading::Failed(m) => html! { <p class="error" role="alert">{ format!("Could not load the day: {m}") }</p> },
                        _ => html! {},
                    } }
                    if let Some(d) = day.as_ref() {
                        <p data-testid="day-summary">{ format!("{} orders, {} to plan, {} vehicles", d.orders.len(), plannable, d.business.vehicles.iter().filter(|v| v.active).count()) }</p>
                        <button type="button" data-testid="import-open" aria-expanded={importing.to_string()} onclick={on_import_toggle} disabled={running}>{"Import orders…"}</button>
                        if *importing {
                            if let Some(t) = (*token).clone() {
                                <ImportOrders token={t} date={d.date} offset={d.offset} on_changed={on_orders_changed} on_close={on_import_close} />
                            }
                        }
                        <div class="plan-controls">
                            <label>{"Time budget "}
                                <select data-testid="budget" onchange={on_budget} disabled={running}>
                                    { for BUDGETS_S.iter().map(|s| html! { <option value={s.to_string()} selected={*budget_s == *s}>{ format!("{s} s") }</option> }) }
                                </select>
                            </label>
                            if running {
                                <button type="button" class="danger" data-testid="stop" onclick={on_stop} disabled={planner.phase == Phase::Stopping}>{"Stop"}</button>
                            } else {
                                <button type="button" class="primary" data-testid="plan" onclick={on_plan} disabled={plannable == 0 || planner.phase == Phase::Publishing}>{"Plan"}</button>
                            }
                        </div>
                        <p class="muted">{ format!("Travel estimate: straight line × {DEFAULT_CIRCUITY} at {DEFAULT_SPEED_KMH} km/h (no road network yet).") }</p>
                    }
                    if let Some(message) = planner.error.clone() {
                        <p class="error" role="alert" data-testid="plan-error">{ message }</p>
                    }
                    { progress_panel(&planner) }
                    if let (Some(draft), Some(d)) = (planner.draft.as_ref(), day.as_ref()) {
                        { results(draft, d, &planner, on_publish) }
                    }
                </aside>
                <div class="main-column">
                    <MapView
                        center={(config.map_center.lat, config.map_center.lon)}
                        zoom={config.map_zoom}
                        tile_url={config.tile_url.clone()}
                        tile_attribution={config.tile_attribution.clone()}
                        {markers}
                        {dots}
                        {routes}
                        label="Dispatch map"
                    />
                    if let Some(d) = day.as_ref() {
                        <OrdersTable orders={d.orders.clone()} />
                    }
                </div>
            </main>
        </div>
    }
}

fn progress_panel(planner: &Planner) -> Html {
    if planner.problem.is_none() {
        return html! {};
    }
    let state = match planner.phase {
        Phase::Running => "running",
        Phase::Stopping => "stopping",
        _ => "done",
    };
    let last = planner.last.as_ref();
    html! {
        <section class="progress" data-testid="progress" data-state={state} aria-live="polite" aria-label="Optimizer progress">
            <h3>{ match planner.phase { Phase::Running => "Optimizing…", Phase::Stopping => "Stopping…", _ => "Optimizer finished" } }</h3>
            <ProgressChart points={planner.curve.clone()} />
            <dl class="kpis">
                <dt>{"Iterations"}</dt><dd data-testid="iterations">{ planner.iterations }</dd>
                <dt>{"Threads"}</dt><dd data-testid="solver-threads">{ if planner.threads > 0 { planner.threads.to_string() } else { "–".into() } }</dd>
                <dt>{"Best cost"}</dt><dd>{ last.map_or("–".into(), |p| format!("{:.2}", p.best_cost)) }</dd>
                <dt>{"Elapsed"}</dt><dd>{ last.map_or("–".into(), |p| format!("{:.1} s", p.elapsed_ms as f64 / 1000.0)) }</dd>
                <dt>{"Unassigned"}</dt><dd>{ last.map_or("–".into(), |p| p.unassigned.to_string()) }</dd>
            </dl>
        </section>
    }
}

fn results(draft: &PlanDraft, day: &Day, planner: &Planner, on_publish: Callback<MouseEvent>) -> Html {
    let currency = day.business.organisation.settings.currency.clone();
    let request = &draft.request;
    let stops: usize = request.routes.iter().map(|r| r.stops.len()).sum();
    let distance: f64 = request.routes.iter().map(|r| r.totals.distance_m).sum();
    let cost: f64 = request.routes.iter().map(|r| r.totals.cost).sum();
    let order = |id: &doorstep_domain::OrderId| day.orders.iter().find(|o| &o.id == id);
    html! {
        <section class="results" data-testid="results" aria-label="Planned routes">
            <h3>{ format!("{} routes, {} stops", request.routes.len(), stops) }</h3>
            <p data-testid="plan-totals">{ format!("{} · {cost:.2} {currency} · solved in {:.1} s", km(distance), planner.solve_ms / 1000.0) }</p>
            <ol class="route-list" data-testid="route-list">
                { for request.routes.iter().enumerate().map(|(i, r)| {
                    let vehicle = day.business.vehicles.iter().find(|v| v.id == r.vehicle_id);
                    let driver = r.driver_id.as_ref().and_then(|d| day.business.drivers.iter().find(|x| &x.id == d));
                    let load_pct = vehicle.map_or(0.0, |v| {
                        r.totals.max_load.0.iter().zip(&v.capacity.0).filter(|(_, c)| **c > 0.0).map(|(q, c)| q / c * 100.0).fold(0.0, f64::max)
                    });
                    html! {
                        <li class="route" data-testid="route">
                            <span class="swatch" style={format!("background:{}", ROUTE_COLORS[i % ROUTE_COLORS.len()])} aria-hidden="true"></span>
                            <strong>{ vehicle.map_or_else(|| r.vehicle_id.to_string(), |v| v.name.clone()) }</strong>
                            { driver.map_or_else(String::new, |d| format!(" · {}", d.name)) }
                            <dl class="kpis">
                                <dt>{"Stops"}</dt><dd data-kpi="stops">{ r.stops.len() }</dd>
                                <dt>{"Distance"}</dt><dd data-kpi="distance">{ km(r.totals.distance_m) }</dd>
                                <dt>{"Duration"}</dt><dd data-kpi="duration">{ hours(r.totals.duration_s) }</dd>
                                <dt>{"Load"}</dt><dd data-kpi="load">{ format!("{load_pct:.0} %") }</dd>
                                <dt>{"Cost"}</dt><dd data-kpi="cost">{ format!("{:.2} {currency}", r.totals.cost) }</dd>
                            </dl>
                        </li>
                    }
                }) }
            </ol>
            if !draft.unplanned.is_empty() {
                <h3>{ format!("Not planned ({})", draft.unplanned.len()) }</h3>
                <ul class="unplanned" data-testid="unplanned">
                    { for draft.unplanned.iter().map(|u| {
                        let who = order(&u.order_id).map_or_else(|| u.order_id.to_string(), |o| format!("{} · {}", o.external_ref.clone().unwrap_or_else(|| o.id.to_string()), o.recipient.name));
                        html! { <li><strong>{ who }</strong>{": "}{ reason_label(&u.reason) }<br /><span class="muted">{ u.hint.clone() }</span></li> }
                    }) }
                </ul>
            }
            { match (planner.phase, planner.published.as_ref()) {
                (Phase::Published, Some(p)) => html! {
                    <p class="success" role="status" data-testid="published" data-plan-id={p.plan.id.to_string()}>
                        { format!("Published: {} routes sent to drivers, {} tracking links issued.", p.plan.routes.len(), p.tracking.len()) }
                    </p>
                },
                _ => html! {
                    <button type="button" class="primary" data-testid="publish" onclick={on_publish}
                        disabled={planner.phase != Phase::Solved || request.routes.is_empty()}>
                        { if planner.phase == Phase::Publishing { "Publishing…" } else { "Save & publish" } }
                    </button>
                },
            } }
        </section>
    }
}

/// Orders as dots before planning; afterwards the routes, plus the orders left out.
fn map_layers(day: Option<&Day>, draft: Option<&PlanDraft>) -> (Vec<MapDot>, Vec<MapRoute>) {
    let Some(day) = day else { return (Vec::new(), Vec::new()) };
    let dot = |o: &Order, color: &str| {
        o.address.location().map(|p| MapDot {
            lat: p.lat,
            lon: p.lon,
            label: format!("{} · {} · {}", o.external_ref.clone().unwrap_or_else(|| o.id.to_string()), o.recipient.name, o.address.line1),
            color: color.to_owned(),
        })
    };
    let Some(draft) = draft else {
        let dots = day
            .orders
            .iter()
            .filter_map(|o| dot(o, if matches!(o.state(), OrderState::Created | OrderState::Planned) { "#0f766e" } else { "#6b7280" }))
            .collect();
        return (dots, Vec::new());
    };
    let depot = day.business.depots.first().map(|d| (d.location.lat, d.location.lon));
    let routes = draft
        .request
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let vehicle = day.business.vehicles.iter().find(|v| v.id == r.vehicle_id);
            let start = vehicle.map(|v| (v.start.lat, v.start.lon)).or(depot);
            let end = vehicle.and_then(|v| v.end.map(|e| (e.lat, e.lon)));
            let stops: Vec<MapStop> = r
                .stops
                .iter()
                .enumerate()
                .filter_map(|(j, s)| {
                    let p = s.location?;
                    let o = day.orders.iter().find(|o| o.id == s.order_id);
                    let name = o.map_or_else(|| s.order_id.to_string(), |o| format!("{} · {}", o.recipient.name, o.address.line1));
                    let at = s.planned_arrival.to_offset(day.offset);
                    Some(MapStop { lat: p.lat, lon: p.lon, number: j + 1, label: format!("{}. {name} · {:02}:{:02}", j + 1, at.hour(), at.minute()) })
                })
                .collect();
            let path = start.into_iter().chain(stops.iter().map(|s| (s.lat, s.lon))).chain(end).collect();
            MapRoute { color: ROUTE_COLORS[i % ROUTE_COLORS.len()].to_owned(), path, stops }
        })
        .collect();
    let left_out: Vec<MapDot> =
        draft.unplanned.iter().filter_map(|u| day.orders.iter().find(|o| o.id == u.order_id)).filter_map(|o| dot(o, "#6b7280")).collect();
    (left_out, routes)
}
