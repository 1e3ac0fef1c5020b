//! The dispatcher's day: orders on the map and in a table, planning in a Web
//! Worker with live progress, the resulting routes, editing them by hand
//! (drag and drop or the keyboard, each edit evaluated in the worker, undo and
//! redo, locks and re-optimisation of the rest), exports, and publishing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::dispatch::{NewRoute, PublishedPlan};
use doorstep_domain::plan::Unassigned as PlanUnassigned;
use doorstep_domain::planning::edit::{History, PlanEdit};
use doorstep_domain::planning::{
    DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH, PlanDraft, PlanningInput, PlanningProblem, TravelSettings, UnplannedOrder, build_problem,
    reason_label,
};
use doorstep_domain::{Order, OrderState};
use doorstep_optimizer::{Evaluation, LocatedViolation, Objective, Progress, Solution, SolverConfig, ViolationKind};
use time::{Date, UtcOffset};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;
use web_sys::{DragEvent, HtmlElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::plan_export::{self, ExportInput};
use crate::components::{RouteTimeline, TimelineRow, ImportOrders, MapDot, MapMarker, MapRoute, MapStop, MapView, OrdersTable, ProgressChart};
use crate::components::scenarios::{ScenarioCommand, ScenarioPanel, VehicleChoice, summarize};
use crate::scenario_model::{Book, BookAction, ScenarioSettings, fit_plan, storage_key};
use crate::routes::Route;
use crate::services::api::{self, Business};
use crate::services::config::use_loaded_client_config;
use crate::services::solver::{Evaluator, SolverEvent, SolverRun, browser_threads};
use crate::services::tz;

const ROUTE_COLORS: [&str; 8] = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
const BUDGETS_S: [u64; 4] = [5, 10, 30, 60];
/// Edits that can be undone.
const HISTORY_LIMIT: usize = 100;

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

/// One state of the edited plan; `rev` names it for its evaluation.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    rev: u64,
    plan: Rc<PlanEdit>,
}

/// An evaluated state: its schedule, what it breaks, and the plan to save.
#[derive(Debug, PartialEq)]
struct EvalView {
    rev: u64,
    evaluation: Evaluation,
    draft: PlanDraft,
}

impl EvalView {
    fn route(&self, vehicle: &str) -> Option<&NewRoute> {
        self.draft.request.routes.iter().find(|r| r.vehicle_id.as_str() == vehicle)
    }

    fn stop(&self, job: &str) -> Option<&doorstep_optimizer::Stop> {
        self.evaluation.solution.routes.iter().flat_map(|r| &r.stops).find(|s| s.job == job)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Planner {
    phase: Phase,
    /// `(elapsed_ms, best_cost)` for the chart.
    curve: Vec<(f64, f64)>,
    last: Option<Progress>,
    problem: Option<Rc<PlanningProblem>>,
    solve_ms: f64,
    iterations: u64,
    /// Threads the last search ran on.
    threads: u32,
    error: Option<String>,
    published: Option<Rc<PublishedPlan>>,
    /// The edited plan's states, once solved.
    history: Option<History<Snapshot>>,
    /// Evaluations by revision, for the states in the history.
    evaluations: BTreeMap<u64, Rc<EvalView>>,
    /// The present's evaluation, or the last one while the present's is on its way.
    shown: Option<Rc<EvalView>>,
    next_rev: u64,
    /// Why the optimizer left orders out (order id → reason code, hint).
    reasons: Rc<BTreeMap<String, (String, String)>>,
    reoptimising: bool,
    /// The dispatcher asked to publish a plan that breaks rules: ask first.
    confirm_publish: bool,
    /// Why the last edit was refused.
    notice: Option<String>,
    /// Which travel times this plan uses, when not the default estimate.
    travel_note: Option<String>,
    /// The scenario this plan is (none: not saved as one).
    scenario: Option<u32>,
    /// The scenario settings its problem was built with.
    settings: ScenarioSettings,
}

/// A dispatcher's edit of the plan.
#[derive(Clone, Debug, PartialEq)]
enum Edit {
    /// `to`: a vehicle, or `None` for "not planned"; `before`: a job, or the end.
    Move { job: String, to: Option<String>, before: Option<String> },
    Shift { job: String, delta: isize },
    LockRoute(String),
    LockJob(String),
}

enum PlannerAction {
    Start(Rc<PlanningProblem>, ScenarioSettings),
    /// Show another scenario's plan, with its own undo history.
    Replace(Box<Planner>),
    /// A stored scenario's plan, fitted to the day's problem (history starts here).
    Restore { problem: Rc<PlanningProblem>, plan: PlanEdit, scenario: u32, settings: ScenarioSettings },
    /// The plan shown now belongs to this scenario (or none).
    Tag(Option<u32>),
    /// Which travel times the plan being made uses.
    TravelNote(String),
    StartReoptimise,
    Progress(Progress),
    Stopping,
    Done(Box<Solution>, f64, u32),
    Failed(String),
    Edit(Edit),
    Undo,
    Redo,
    /// The worker's evaluation of a revision.
    Evaluated(u64, Result<Evaluation, String>),
    /// Evaluate here (the worker is unavailable): this revision, or the present.
    EvaluateHere(Option<u64>),
    ConfirmPublish(bool),
    Publishing,
    Published(PublishedPlan),
    PublishFailed(ApiError),
}

/// Enough points for a smooth line without growing without bound.
const MAX_CURVE_POINTS: usize = 400;

/// The draft to save for an evaluation, with the optimizer's reasons for
/// orders it left out (an edit's evaluation only knows they are in no route).
fn make_view(
    problem: &PlanningProblem,
    rev: u64,
    evaluation: Evaluation,
    reasons: &BTreeMap<String, (String, String)>,
) -> Result<EvalView, String> {
    let mut draft = problem.to_plan(&evaluation.solution).map_err(|e| format!("The plan could not be read: {e}"))?;
    for u in &mut draft.unplanned {
        if u.reason == "manual"
            && let Some((reason, hint)) = reasons.get(u.order_id.as_str())
        {
            u.reason = reason.clone();
            u.hint = hint.clone();
        }
    }
    draft.request.unassigned = draft
        .unplanned
        .iter()
        .map(|u| PlanUnassigned { order_id: u.order_id.clone(), reason: format!("{}: {}", reason_label(&u.reason), u.hint) })
        .collect();
    Ok(EvalView { rev, evaluation, draft })
}

impl Planner {
    fn present(&self) -> Option<&Snapshot> {
        self.history.as_ref().map(History::present)
    }

    /// The present's own evaluation (not a stale one).
    fn fresh(&self) -> Option<Rc<EvalView>> {
        self.present().and_then(|s| self.evaluations.get(&s.rev).cloned())
    }

    fn editable(&self) -> bool {
        self.phase == Phase::Solved && self.history.is_some()
    }

    fn install(&mut self, view: EvalView) {
        let view = Rc::new(view);
        if self.present().is_some_and(|s| s.rev == view.rev) {
            self.shown = Some(view.clone());
        }
        self.evaluations.insert(view.rev, view);
    }

    fn push(&mut self, plan: PlanEdit) {
        let rev = self.next_rev;
        self.next_rev += 1;
        if let Some(h) = self.history.as_mut() {
            h.push(Snapshot { rev, plan: Rc::new(plan) });
            let live: Vec<u64> = h.states().map(|s| s.rev).collect();
            self.evaluations.retain(|r, _| live.contains(r));
        }
        self.confirm_publish = false;
        self.notice = None;
    }

    /// After undo/redo: show the present's evaluation if it is known.
    fn refresh_shown(&mut self) {
        if let Some(v) = self.fresh() {
            self.shown = Some(v);
        }
        self.confirm_publish = false;
        self.notice = None;
    }

    fn evaluate_here(&mut self, rev: u64) {
        let (Some(problem), Some(history)) = (self.problem.clone(), self.history.as_ref()) else { return };
        if self.evaluations.contains_key(&rev) {
            return;
        }
        let Some(snap) = history.states().find(|s| s.rev == rev).cloned() else { return };
        let evaluation = doorstep_optimizer::evaluate(&snap.plan.locked_problem(&problem.problem), &snap.plan.routes);
        match make_view(&problem, rev, evaluation, &self.reasons) {
            Ok(v) => self.install(v),
            Err(e) => self.error = Some(e),
        }
    }

    /// A solver's solution becomes the present (a new plan, or a re-optimised one).
    fn adopt(&mut self, solution: Solution) {
        let Some(problem) = self.problem.clone() else {
            self.phase = Phase::Idle;
            return;
        };
        let plan = PlanEdit::from_solution(&problem.problem, &solution);
        let reoptimised = self.reoptimising && self.history.is_some();
        let rev = self.next_rev;
        // The solver's own schedule is its evaluation: feasible by construction.
        let view = match make_view(&problem, rev, Evaluation { solution, violations: Vec::new() }, &BTreeMap::new()) {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(e);
                self.phase = if reoptimised { Phase::Solved } else { Phase::Idle };
                return;
            }
        };
        let mut reasons = if reoptimised { (*self.reasons).clone() } else { BTreeMap::new() };
        for u in &view.draft.unplanned {
            reasons.insert(u.order_id.to_string(), (u.reason.clone(), u.hint.clone()));
        }
        self.reasons = Rc::new(reasons);
        if reoptimised {
            let locks = self.present().map(|s| s.plan.clone());
            self.push(match locks {
                Some(earlier) => plan.with_locks_of(&earlier),
                None => plan,
            });
        } else {
            self.next_rev += 1;
            self.history = Some(History::new(Snapshot { rev, plan: Rc::new(plan) }, HISTORY_LIMIT));
            self.evaluations.clear();
        }
        self.install(view);
        self.phase = Phase::Solved;
    }

    fn apply(&mut self, edit: Edit) {
        let (Some(problem), Some(snap)) = (self.problem.clone(), self.present().cloned()) else { return };
        let p = &problem.problem;
        let plan = &snap.plan;
        let result = match &edit {
            Edit::Move { job, to, before } => plan.move_job(p, job, to.as_deref(), before.as_deref()),
            Edit::Shift { job, delta } => plan.shift(p, job, *delta),
            Edit::LockRoute(v) => plan.toggle_route_lock(v),
            Edit::LockJob(j) => plan.toggle_job_lock(p, j),
        };
        match result {
            Ok(next) if next == **plan => {}
            Ok(next) => self.push(next),
            Err(e) => self.notice = Some(format!("Not changed: {e}.")),
        }
    }
}

impl Reducible for Planner {
    type Action = PlannerAction;

    fn reduce(self: Rc<Self>, action: PlannerAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            PlannerAction::Start(problem, settings) => {
                next = Planner {
                    phase: Phase::Running,
                    problem: Some(problem),
                    next_rev: self.next_rev,
                    scenario: self.scenario,
                    settings,
                    ..Planner::default()
                };
            }
            PlannerAction::Replace(other) => {
                next = *other;
                // Revisions stay unique across scenarios: a late evaluation of
                // one scenario's edit never lands on another's.
                next.next_rev = next.next_rev.max(self.next_rev);
            }
            PlannerAction::Restore { problem, plan, scenario, settings } => {
                let rev = self.next_rev;
                next = Planner {
                    phase: Phase::Solved,
                    problem: Some(problem),
                    history: Some(History::new(Snapshot { rev, plan: Rc::new(plan) }, HISTORY_LIMIT)),
                    next_rev: rev + 1,
                    scenario: Some(scenario),
                    settings,
                    ..Planner::default()
                };
            }
            PlannerAction::Tag(scenario) => next.scenario = scenario,
            PlannerAction::TravelNote(note) => next.travel_note = Some(note),
            PlannerAction::StartReoptimise => {
                next.phase = Phase::Running;
                next.reoptimising = true;
                next.curve.clear();
                next.last = None;
                next.iterations = 0;
                next.error = None;
                next.notice = None;
                next.confirm_publish = false;
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
                next.adopt(*solution);
                next.reoptimising = false;
            }
            PlannerAction::Failed(message) => {
                next.error = Some(message);
                // A failed re-optimisation keeps the plan being edited.
                next.phase = if next.history.is_some() && next.reoptimising { Phase::Solved } else { Phase::Idle };
                next.reoptimising = false;
            }
            PlannerAction::Edit(edit) => {
                if !next.editable() {
                    return self;
                }
                next.apply(edit);
            }
            PlannerAction::Undo | PlannerAction::Redo => {
                if !next.editable() {
                    return self;
                }
                let moved = match (&action, next.history.as_mut()) {
                    (PlannerAction::Undo, Some(h)) => h.undo(),
                    (_, Some(h)) => h.redo(),
                    _ => false,
                };
                if !moved {
                    return self;
                }
                next.refresh_shown();
            }
            PlannerAction::Evaluated(rev, result) => {
                if next.evaluations.contains_key(&rev) || !next.history.as_ref().is_some_and(|h| h.states().any(|s| s.rev == rev)) {
                    return self;
                }
                match result {
                    Ok(evaluation) => {
                        let Some(problem) = next.problem.clone() else { return self };
                        match make_view(&problem, rev, evaluation, &next.reasons) {
                            Ok(v) => next.install(v),
                            Err(e) => next.error = Some(e),
                        }
                    }
                    Err(e) => {
                        web_sys::console::warn_1(&format!("The worker could not evaluate the edit ({e}); evaluating here.").into());
                        next.evaluate_here(rev);
                    }
                }
            }
            PlannerAction::EvaluateHere(rev) => {
                let Some(rev) = rev.or_else(|| next.present().map(|s| s.rev)) else { return self };
                next.evaluate_here(rev);
            }
            PlannerAction::ConfirmPublish(ask) => next.confirm_publish = ask,
            PlannerAction::Publishing => {
                next.error = None;
                next.confirm_publish = false;
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
            solve_ms: 0.0,
            iterations: 0,
            threads: 0,
            error: None,
            published: None,
            history: None,
            evaluations: BTreeMap::new(),
            shown: None,
            next_rev: 0,
            reasons: Rc::new(BTreeMap::new()),
            reoptimising: false,
            confirm_publish: false,
            notice: None,
            travel_note: None,
            scenario: None,
            settings: ScenarioSettings::default(),
        }
    }
}

fn km(m: f64) -> String {
    format!("{:.1} km", m / 1000.0)
}

fn hours(s: u32) -> String {
    format!("{}:{:02} h", s / 3600, (s % 3600) / 60)
}

/// Seconds since local midnight as `HH:MM`.
fn clock(seconds: f64) -> String {
    let m = (seconds.max(0.0) / 60.0).round() as u64;
    format!("{:02}:{:02}", (m / 60) % 24, m % 60)
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

fn solver_config(budget_s: u64) -> SolverConfig {
    SolverConfig {
        seed: 1,
        time_limit_ms: Some(budget_s * 1000),
        objective: Objective::Cost,
        threads: browser_threads(),
        ..SolverConfig::default()
    }
}

/// Runs the optimizer on `problem`, reporting to the planner.
fn run_solver(problem: &doorstep_optimizer::Problem, budget_s: u64, planner: &UseReducerHandle<Planner>, run: &Rc<RefCell<Option<SolverRun>>>) {
    let events = {
        let planner = planner.clone();
        Callback::from(move |event: SolverEvent| match event {
            SolverEvent::Progress(p) => planner.dispatch(PlannerAction::Progress(p)),
            SolverEvent::Done { solution, ms, threads } => planner.dispatch(PlannerAction::Done(solution, ms, threads)),
            SolverEvent::Failed(m) => planner.dispatch(PlannerAction::Failed(m)),
        })
    };
    match SolverRun::start(problem, &solver_config(budget_s), events) {
        Ok(handle) => *run.borrow_mut() = Some(handle),
        Err(e) => planner.dispatch(PlannerAction::Failed(e)),
    }
}

/// The optimizer's problem for the day, with a scenario's changes applied.
fn day_problem(day: &Day, settings: &ScenarioSettings) -> Result<PlanningProblem, String> {
    let Some(depot) = day.business.depots.first() else {
        return Err("Set up a depot first.".into());
    };
    let (vehicles, orders) = settings.apply(&day.business.vehicles, &day.orders).map_err(|e| format!("Scenario settings, {e}."))?;
    let input = PlanningInput {
        depot,
        vehicles: &vehicles,
        drivers: &day.business.drivers,
        orders: &orders,
        date: day.date,
        utc_offset: day.offset,
        default_service_time_s: settings.service_time_s.unwrap_or(day.business.organisation.default_service_time_s),
        travel: TravelSettings::default(),
    };
    let problem = build_problem(&input).map_err(|e| e.to_string())?;
    if problem.problem.jobs.is_empty() {
        return Err("No orders to plan for this day.".into());
    }
    Ok(problem)
}

/// Road times from the org's OSRM table service, else the straight-line
/// estimate; says which when a service is set.
async fn road_times(problem: &mut PlanningProblem, road_service: Option<String>) -> Option<String> {
    let url = road_service?;
    Some(match crate::services::travel::road_travel(&url, &problem.problem.travel).await {
        Ok(matrix) => {
            problem.problem.travel = matrix;
            format!("Travel times: road network ({url}).")
        }
        Err(e) => format!("Road travel times unavailable ({e}); using the straight-line estimate."),
    })
}

/// Shows a stored scenario's plan: the day's problem is built again with the
/// settings the plan was made with, and the plan fitted to it. A plan whose
/// orders are no longer all open (published, delivered, deleted) is not shown,
/// so its stored figures stay for comparison until it is re-optimised.
fn restore_scenario(day: Rc<Day>, id: u32, name: String, plan: PlanEdit, settings: ScenarioSettings, planner: UseReducerHandle<Planner>) {
    let unshown = |why: String| {
        let error = Some(format!("{name} is not shown: {why} Its stored figures stay for comparison; re-optimise it to plan the open orders."));
        PlannerAction::Replace(Box::new(Planner { scenario: Some(id), settings: settings.clone(), error, ..Planner::default() }))
    };
    let mut problem = match day_problem(&day, &settings) {
        Ok(p) => p,
        Err(e) => {
            planner.dispatch(unshown(e));
            return;
        }
    };
    let fitted = fit_plan(&plan, &problem.problem);
    let count = |p: &PlanEdit| p.routes.iter().map(|r| r.jobs.len()).sum::<usize>();
    let gone = count(&plan) - count(&fitted).min(count(&plan));
    if gone > 0 {
        planner.dispatch(unshown(format!("{gone} of its stops are no longer open orders (published or done).")));
        return;
    }
    let road_service = day.business.organisation.settings.osrm_table_url.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let note = road_times(&mut problem, road_service).await;
        planner.dispatch(PlannerAction::Restore { problem: Rc::new(problem), plan: fitted, scenario: id, settings });
        if let Some(note) = note {
            planner.dispatch(PlannerAction::TravelNote(note));
        }
    });
}

/// The vehicles a scenario can switch off, each with its driver.
fn scenario_vehicles(business: &Business) -> Vec<VehicleChoice> {
    business
        .vehicles
        .iter()
        .filter(|v| v.active)
        .map(|v| {
            let driver = business.drivers.iter().find(|d| d.vehicle_id.as_ref() == Some(&v.id));
            VehicleChoice { id: v.id.to_string(), label: driver.map_or_else(|| v.name.clone(), |d| format!("{} · {}", v.name, d.name)) }
        })
        .collect()
}

fn scenario_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[function_component(DispatcherPage)]
pub fn dispatcher_page() -> Html {
    let config = use_loaded_client_config();
    let config_known = config.is_some();
    let config = config.unwrap_or_default();
    let token = use_state(api::stored_token);
    // Signed out from the start: the sign-in form comes at once (and keeps
    // what was typed into the prerendered one), not after a loading frame.
    let loading = use_state(|| if token.is_some() { Loading::Pending } else { Loading::SignedOut });
    let planner = use_reducer(Planner::default);
    let budget_s = use_state(|| 10u64);
    let importing = use_state(|| false);
    let run: Rc<RefCell<Option<SolverRun>>> = use_mut_ref(|| None);
    let evaluator: Rc<RefCell<Option<Evaluator>>> = use_mut_ref(|| None);
    let evaluator_broken: Rc<RefCell<bool>> = use_mut_ref(|| false);
    // The job being dragged, and the stop to focus after a keyboard move.
    let dragging: Rc<RefCell<Option<String>>> = use_mut_ref(|| None);
    let focus_job: Rc<RefCell<Option<String>>> = use_mut_ref(|| None);
    // A click on the dispatch map pins the address of the open order form.
    let pin = use_state(|| None::<(f64, f64)>);
    // Scenarios: the book (kept in localStorage once loaded for the day), and
    // the plans of the scenarios not shown, with their undo histories.
    let book = use_reducer(Book::new);
    let book_key: Rc<RefCell<Option<String>>> = use_mut_ref(|| None);
    let stashed: Rc<RefCell<BTreeMap<u32, Planner>>> = use_mut_ref(BTreeMap::new);

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
    {
        // Every new state of the edited plan is evaluated in the worker.
        let pending = planner.present().filter(|s| !planner.evaluations.contains_key(&s.rev)).cloned();
        let problem = planner.problem.clone();
        let (planner, evaluator, broken) = (planner.clone(), evaluator.clone(), evaluator_broken.clone());
        use_effect_with(pending.as_ref().map(|s| s.rev), move |_| {
            let (Some(snap), Some(problem)) = (pending, problem) else { return };
            if *broken.borrow() {
                planner.dispatch(PlannerAction::EvaluateHere(Some(snap.rev)));
                return;
            }
            if evaluator.borrow().is_none() {
                let on_result = {
                    let planner = planner.clone();
                    Callback::from(move |(rev, result)| planner.dispatch(PlannerAction::Evaluated(rev, result)))
                };
                let on_failure = {
                    let (planner, broken) = (planner.clone(), broken.clone());
                    Callback::from(move |message: String| {
                        web_sys::console::warn_1(&format!("{message}; evaluating edits on the page").into());
                        *broken.borrow_mut() = true;
                        planner.dispatch(PlannerAction::EvaluateHere(None));
                    })
                };
                match Evaluator::start(on_result, on_failure) {
                    Ok(e) => *evaluator.borrow_mut() = Some(e),
                    Err(_) => *broken.borrow_mut() = true,
                }
            }
            let sent = evaluator
                .borrow()
                .as_ref()
                .map(|e| e.evaluate(snap.rev, &snap.plan.locked_problem(&problem.problem), &snap.plan.routes));
            if !matches!(sent, Some(Ok(()))) {
                planner.dispatch(PlannerAction::EvaluateHere(Some(snap.rev)));
            }
        });
    }
    {
        // Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo (not while typing in a field).
        let planner = planner.clone();
        use_effect_with((), move |_| {
            let document = web_sys::window().and_then(|w| w.document());
            let listener = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                if !(e.ctrl_key() || e.meta_key()) || e.alt_key() {
                    return;
                }
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
                if typing {
                    return;
                }
                let action = match (e.key().to_lowercase().as_str(), e.shift_key()) {
                    ("z", false) => PlannerAction::Undo,
                    ("z", true) | ("y", _) => PlannerAction::Redo,
                    _ => return,
                };
                e.prevent_default();
                planner.dispatch(action);
            });
            if let Some(d) = &document {
                let _ = d.add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = &document {
                    let _ = d.remove_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
                }
            }
        });
    }
    {
        // Keep the keyboard on a stop it just moved.
        let focus_job = focus_job.clone();
        use_effect(move || {
            if let Some(job) = focus_job.borrow_mut().take() {
                let el = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.query_selector(&format!("[data-testid=\"stop\"][data-job=\"{job}\"]")).ok().flatten())
                    .and_then(|e| e.dyn_into::<HtmlElement>().ok());
                if let Some(el) = el {
                    let _ = el.focus();
                }
            }
        });
    }

    {
        // Load the day's scenarios once per org and day, and show the one that was shown.
        let ready = match &*loading {
            Loading::Ready(day) => Some(day.clone()),
            _ => None,
        };
        let key = ready.as_ref().map(|d| storage_key(d.business.organisation.id.as_str(), &d.date.to_string()));
        let (book, book_key, planner) = (book.clone(), book_key.clone(), planner.clone());
        use_effect_with(key, move |key| {
            let (Some(key), Some(day)) = (key.clone(), ready) else { return };
            if book_key.borrow().as_deref() == Some(key.as_str()) {
                return;
            }
            let stored = scenario_storage().and_then(|s| s.get_item(&key).ok().flatten()).and_then(|t| Book::from_json(&t));
            *book_key.borrow_mut() = Some(key);
            let Some(stored) = stored else {
                book.dispatch(BookAction::Load(Box::new(Book::new())));
                return;
            };
            let shown = stored.active_scenario().and_then(|s| s.plan.clone().map(|p| (s.id, s.name.clone(), p, s.planned_with.clone())));
            book.dispatch(BookAction::Load(Box::new(stored)));
            if let Some((id, name, plan, settings)) = shown {
                restore_scenario(day, id, name, plan, settings, planner);
            }
        });
    }
    {
        // Every change to the book is stored at once.
        let key = book_key.clone();
        use_effect_with((*book).clone(), move |book| {
            if let (true, Some(key), Some(storage)) = (book.loaded, key.borrow().as_ref(), scenario_storage())
                && let Err(e) = storage.set_item(key, &book.to_json())
            {
                web_sys::console::warn_1(&format!("The scenarios could not be stored: {e:?}").into());
            }
        });
    }
    {
        // The shown scenario follows its plan: each evaluated edit or new plan is kept.
        let fresh = planner.fresh().filter(|_| !matches!(planner.phase, Phase::Running | Phase::Stopping));
        let capture = match (planner.scenario, fresh, planner.present(), &*loading) {
            (Some(id), Some(view), Some(snap), Loading::Ready(day)) if book.get(id).is_some() => Some((
                id,
                (*snap.plan).clone(),
                summarize(&view.draft, &view.evaluation, &day.business),
                planner.settings.clone(),
            )),
            _ => None,
        };
        let book = book.clone();
        use_effect_with(capture, move |capture| {
            if let Some((id, plan, summary, planned_with)) = capture.clone() {
                let known = book.get(id).is_some_and(|s| s.plan.as_ref() == Some(&plan) && s.summary.as_ref() == Some(&summary) && s.planned_with == planned_with);
                if !known {
                    book.dispatch(BookAction::Capture { id, plan, summary, planned_with });
                }
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
        let (planner, run, day, budget_s, book) = (planner.clone(), run.clone(), day.clone(), budget_s.clone(), book.clone());
        Callback::from(move |(): ()| {
            let Some(day) = day.clone() else { return };
            // The scenario shown is planned with its own vehicles and constraints.
            let settings = planner.scenario.and_then(|id| book.get(id)).map(|s| s.settings.clone()).unwrap_or_default();
            let mut problem = match day_problem(&day, &settings) {
                Ok(p) => p,
                Err(e) => {
                    planner.dispatch(PlannerAction::Failed(e));
                    return;
                }
            };
            let road_service = day.business.organisation.settings.osrm_table_url.clone();
            let (planner, run, budget_s) = (planner.clone(), run.clone(), *budget_s);
            wasm_bindgen_futures::spawn_local(async move {
                let note = road_times(&mut problem, road_service).await;
                let problem = Rc::new(problem);
                planner.dispatch(PlannerAction::Start(problem.clone(), settings));
                if let Some(note) = note {
                    planner.dispatch(PlannerAction::TravelNote(note));
                }
                run_solver(&problem.problem, budget_s, &planner, &run);
            });
        })
    };
    let on_reoptimise = {
        let (planner, run, budget_s) = (planner.clone(), run.clone(), budget_s.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(problem), Some(snap)) = (planner.problem.clone(), planner.present().cloned()) else { return };
            planner.dispatch(PlannerAction::StartReoptimise);
            run_solver(&snap.plan.reoptimisation_problem(&problem.problem), *budget_s, &planner, &run);
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
    let publish = {
        let (planner, token, loading) = (planner.clone(), token.clone(), loading.clone());
        Callback::from(move |anyway: bool| {
            let (Some(view), Some(token)) = (planner.fresh(), (*token).clone()) else { return };
            if !anyway && !view.evaluation.feasible() {
                planner.dispatch(PlannerAction::ConfirmPublish(true));
                return;
            }
            planner.dispatch(PlannerAction::Publishing);
            let (planner, loading) = (planner.clone(), loading.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::save_and_publish(&token, &view.draft.request).await {
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
    // Orders created, edited or arrived in the table join the day being planned.
    let on_table_orders = {
        let loading = loading.clone();
        Callback::from(move |changed: Vec<Order>| {
            if let Loading::Ready(day) = &*loading {
                let mut orders = (*day.orders).clone();
                for o in changed {
                    match orders.iter_mut().find(|x| x.id == o.id) {
                        Some(x) => *x = o,
                        None => orders.push(o),
                    }
                }
                loading.set(Loading::Ready(Rc::new(Day { orders: Rc::new(orders), ..(**day).clone() })));
            }
        })
    };
    let on_map_click = {
        let pin = pin.clone();
        Callback::from(move |p: (f64, f64)| pin.set(Some(p)))
    };
    let on_sign_out = {
        let loading = loading.clone();
        Callback::from(move |_| {
            api::forget_token();
            loading.set(Loading::SignedOut);
        })
    };
    let on_edit = {
        let planner = planner.clone();
        Callback::from(move |edit: Edit| planner.dispatch(PlannerAction::Edit(edit)))
    };

    let on_command = {
        let planner = planner.clone();
        Callback::from(move |c: Command| {
            planner.dispatch(match c {
                Command::Undo => PlannerAction::Undo,
                Command::Redo => PlannerAction::Redo,
                Command::KeepEditing => PlannerAction::ConfirmPublish(false),
            })
        })
    };

    let on_scenario = {
        let (planner, book, stashed, day, on_plan) = (planner.clone(), book.clone(), stashed.clone(), day.clone(), on_plan.clone());
        Callback::from(move |command: ScenarioCommand| {
            // The plan shown now, kept under its scenario while another is shown.
            let stash = || {
                if let Some(id) = planner.scenario.filter(|id| book.get(*id).is_some()) {
                    stashed.borrow_mut().insert(id, (*planner).clone());
                }
            };
            // Shows scenario `id`: its plan in memory, else its stored plan.
            let show = |id: u32, from_memory: Option<Planner>| match (from_memory, day.clone(), book.get(id)) {
                (Some(p), _, _) => planner.dispatch(PlannerAction::Replace(Box::new(Planner { scenario: Some(id), ..p }))),
                (None, Some(day), Some(s)) if s.plan.is_some() => {
                    let plan = s.plan.clone().unwrap_or_else(|| PlanEdit { routes: Vec::new(), locked_routes: Default::default(), locked_jobs: Default::default() });
                    restore_scenario(day, id, s.name.clone(), plan, s.planned_with.clone(), planner.clone());
                }
                _ => planner.dispatch(PlannerAction::Replace(Box::new(Planner { scenario: Some(id), ..Planner::default() }))),
            };
            match command {
                ScenarioCommand::SaveAs(name) => {
                    let (Some(view), Some(snap), Some(day)) = (planner.fresh(), planner.present(), day.as_ref()) else { return };
                    let action = BookAction::Create {
                        id: book.next_id,
                        name,
                        settings: planner.settings.clone(),
                        plan: Some((*snap.plan).clone()),
                        summary: Some(summarize(&view.draft, &view.evaluation, &day.business)),
                    };
                    let mut trial = (*book).clone();
                    if trial.apply(action.clone()).is_ok() {
                        stash();
                        planner.dispatch(PlannerAction::Tag(trial.active));
                    }
                    book.dispatch(action);
                }
                ScenarioCommand::Copy(from) => {
                    let Some(source) = book.get(from) else { return };
                    let action = BookAction::Copy { id: book.next_id, from, name: book.suggested_name() };
                    let mut trial = (*book).clone();
                    if let (Ok(()), Some(id)) = (trial.apply(action.clone()), trial.active) {
                        let in_memory = if planner.scenario == Some(from) { Some((*planner).clone()) } else { stashed.borrow().get(&from).cloned() };
                        stash();
                        // A copy starts its own undo history at the copied plan.
                        let copy = in_memory.map(|p| {
                            let present = p.present().cloned();
                            let evaluations = p.evaluations.iter().filter(|(r, _)| present.as_ref().is_some_and(|s| s.rev == **r)).map(|(r, v)| (*r, v.clone())).collect();
                            Planner { history: present.map(|s| History::new(s, HISTORY_LIMIT)), evaluations, published: None, ..p }
                        });
                        let copy = copy.map(|p| Planner { phase: if p.history.is_some() { Phase::Solved } else { p.phase }, ..p });
                        match (copy, day.clone(), source.plan.clone()) {
                            (Some(copy), _, _) => show(id, Some(copy)),
                            (None, Some(day), Some(plan)) => {
                                let name = trial.get(id).map(|s| s.name.clone()).unwrap_or_default();
                                restore_scenario(day, id, name, plan, source.planned_with.clone(), planner.clone());
                            }
                            _ => planner.dispatch(PlannerAction::Replace(Box::new(Planner { scenario: Some(id), ..Planner::default() }))),
                        }
                    }
                    book.dispatch(action);
                }
                ScenarioCommand::Select(id) => {
                    if planner.scenario == Some(id) || book.get(id).is_none() {
                        return;
                    }
                    stash();
                    let in_memory = stashed.borrow_mut().remove(&id);
                    show(id, in_memory);
                    book.dispatch(BookAction::Select(id));
                }
                ScenarioCommand::Delete(id) => {
                    stashed.borrow_mut().remove(&id);
                    if planner.scenario == Some(id) {
                        planner.dispatch(PlannerAction::Tag(None));
                    }
                    book.dispatch(BookAction::Delete(id));
                }
                ScenarioCommand::Settings(id, settings) => book.dispatch(BookAction::Settings { id, settings }),
                ScenarioCommand::Reoptimise(id) => {
                    if planner.scenario == Some(id) {
                        on_plan.emit(());
                    }
                }
                ScenarioCommand::Book(action) => book.dispatch(action),
            }
        })
    };

    let markers: Vec<MapMarker> =
        config.depots.iter().map(|d| MapMarker { lat: d.lat, lon: d.lon, label: d.name.clone() }).collect();
    let (dots, routes) = map_layers(day.as_deref(), planner.shown.as_ref().map(|v| &v.draft));
    let running = matches!(planner.phase, Phase::Running | Phase::Stopping);
    let plannable = day.as_ref().map_or(0, |d| {
        d.orders.iter().filter(|o| matches!(o.state(), OrderState::Created | OrderState::Planned)).count()
    });

    let day_summary = match (&*loading, day.as_ref()) {
        (_, Some(d)) => {
            let vehicles = d.business.vehicles.iter().filter(|v| v.active).count();
            let depots = config.depots.len();
            format!("{} orders, {plannable} to plan, {vehicles} vehicles, {depots} {}", d.orders.len(), if depots == 1 { "depot" } else { "depots" })
        }
        (Loading::Pending, None) => "Loading the day…".to_owned(),
        _ => String::new(),
    };
    let travel_basis = match day.as_ref() {
        Some(d) if d.business.organisation.settings.osrm_table_url.is_some() => {
            "Travel times: the road network, from the table service set on Setup.".to_owned()
        }
        Some(_) => format!(
            "Travel estimate: straight line × {DEFAULT_CIRCUITY} at {DEFAULT_SPEED_KMH} km/h (set a road table service on Setup for road times)."
        ),
        None if *loading == Loading::Pending => "Travel times: loading the organisation's settings…".to_owned(),
        None => String::new(),
    };

    html! {
        <div class="layout layout-dispatcher">
            <header class="topbar">
                <h1>{"Doorstep"}</h1>
                <span class="topbar-subtitle">{ config.org_name.clone().unwrap_or_else(|| "Dispatch".into()) }</span>
                <Link<Route> to={Route::Live} classes="link-button">{"Live"}</Link<Route>>
                <Link<Route> to={Route::Reports} classes="link-button">{"Reports"}</Link<Route>>
                <Link<Route> to={Route::Setup} classes="link-button">{"Setup"}</Link<Route>>
                <button type="button" class="link-button" onclick={on_sign_out}>{"Sign out"}</button>
            </header>
            <main class="workspace" data-page="dispatcher">
                <aside class="sidebar" aria-label="Plan">
                    <h2>{ day.as_ref().map_or_else(|| "Today".to_owned(), |d| format!("Today, {}", d.date)) }</h2>
                    // The status line and the travel basis keep their elements from the
                    // prerendered frame on: the data fills them in where they stand.
                    <p aria-live="polite" data-testid={day.as_ref().map(|_| "day-summary")}>{ day_summary }</p>
                    if let Loading::Failed(m) = &*loading {
                        <p class="error" role="alert">{ format!("Could not load the day: {m}") }</p>
                    }
                    // The controls are in the frame too (disabled until the day is in), so nothing moves when it arrives.
                    <button type="button" data-testid="import-open" aria-expanded={importing.to_string()} onclick={on_import_toggle} disabled={running || day.is_none()}>{"Import orders…"}</button>
                    if let (true, Some(t), Some(d)) = (*importing, (*token).clone(), day.as_ref()) {
                        <ImportOrders token={t} date={d.date} offset={d.offset} on_changed={on_orders_changed} on_close={on_import_close} />
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
                            <button type="button" class="primary" data-testid="plan" onclick={on_plan.reform(|_: MouseEvent| ())} disabled={plannable == 0 || planner.phase == Phase::Publishing}>{"Plan"}</button>
                        }
                    </div>
                    <p class="muted">{ travel_basis }</p>
                    if let Some(note) = planner.travel_note.clone() {
                        <p class="muted" role="status" data-testid="travel-note">{ note }</p>
                    }
                    if let Some(message) = planner.error.clone() {
                        <p class="error" role="alert" data-testid="plan-error">{ message }</p>
                    }
                    { progress_panel(&planner) }
                    if let (Some(problem), Some(snap), Some(d)) = (planner.problem.as_ref(), planner.present(), day.as_ref()) {
                        { results(&Ctx { planner: &planner, problem, plan: &snap.plan, rev: snap.rev, day: d, on_edit, on_command, dragging, focus_job }, on_reoptimise, publish) }
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
                        view_known={config_known}
                        on_click={on_map_click}
                    />
                    if let (Some(d), Some(problem), Some(view)) = (day.as_ref(), planner.problem.as_ref(), planner.shown.as_ref()) {
                        <RouteTimeline rows={timeline_rows(d, problem, view)} offset={d.offset} />
                    }
                    // In the frame from the start (empty and idle until the day is in), so it never jumps in.
                    <ScenarioPanel book={Rc::new((*book).clone())} shown={planner.scenario.filter(|id| book.get(*id).is_some())}
                        vehicles={day.as_ref().map(|d| scenario_vehicles(&d.business)).unwrap_or_default()}
                        orders={day.as_ref().map(|d| d.orders.clone()).unwrap_or_default()}
                        currency={day.as_ref().map(|d| d.business.organisation.settings.currency.clone()).unwrap_or_default()}
                        can_save={day.is_some() && planner.fresh().is_some() && !running} busy={day.is_none() || running || planner.phase == Phase::Publishing}
                        on_command={on_scenario} />
                    if let Some(d) = day.as_ref() {
                        <OrdersTable orders={d.orders.clone()} token={(*token).clone()} date={Some(d.date)} offset={Some(d.offset)}
                            geocoder_url={d.business.organisation.settings.geocoder_url.clone()}
                            pin={*pin} on_orders_changed={on_table_orders} />
                    }
                </div>
            </main>
        </div>
    }
}

/// What the plan editor's view needs.
struct Ctx<'a> {
    planner: &'a Planner,
    problem: &'a PlanningProblem,
    plan: &'a PlanEdit,
    rev: u64,
    day: &'a Day,
    on_edit: Callback<Edit>,
    on_command: Callback<Command>,
    dragging: Rc<RefCell<Option<String>>>,
    focus_job: Rc<RefCell<Option<String>>>,
}

/// A padlock drawn inline (no emoji font is guaranteed), open when unlocked.
fn padlock(locked: bool) -> Html {
    let shackle = if locked { "M5 7V5a3 3 0 0 1 6 0v2" } else { "M5 7V5a3 3 0 0 1 6 0" };
    html! {
        <svg class="padlock" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
            <path d={shackle} fill="none" stroke="currentColor" stroke-width="1.6" />
            <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
        </svg>
    }
}

fn kind_label(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::TimeWindow => "Late",
        ViolationKind::Capacity => "Over capacity",
        ViolationKind::Shift => "Ends after the shift",
        ViolationKind::Break => "Break outside its window",
        ViolationKind::MaxDistance => "Too far",
        ViolationKind::MaxDuration => "Too long",
        ViolationKind::MaxStops => "Too many stops",
        ViolationKind::Skills => "Vehicle lacks a skill",
        ViolationKind::Pair => "Pickup and delivery split",
        ViolationKind::Lock => "Lock broken",
        ViolationKind::CompletedJobPlanned => "Already done",
        _ => "Invalid",
    }
}

impl Ctx<'_> {
    fn vehicle_name(&self, id: &str) -> String {
        self.day.business.vehicles.iter().find(|v| v.id.as_str() == id).map_or_else(|| id.to_owned(), |v| v.name.clone())
    }

    fn order(&self, job: &str) -> (Option<&Order>, String) {
        let order_id = self.problem.jobs.get(job).map_or_else(|| job.to_owned(), |r| r.order_id.to_string());
        let order = self.day.orders.iter().find(|o| o.id.as_str() == order_id);
        (order, order_id)
    }

    fn order_label(order: Option<&Order>, fallback: &str) -> String {
        order.map_or_else(
            || fallback.to_owned(),
            |o| format!("{} · {}", o.external_ref.clone().unwrap_or_else(|| o.id.to_string()), o.recipient.name),
        )
    }

    fn drop_handler(&self, to: Option<String>, before: Option<String>) -> Callback<DragEvent> {
        let (dragging, on_edit, editable) = (self.dragging.clone(), self.on_edit.clone(), self.planner.editable());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            let job = dragging.borrow_mut().take().or_else(|| e.data_transfer().and_then(|d| d.get_data("text/plain").ok()).filter(|s| !s.is_empty()));
            if let (Some(job), true) = (job, editable) {
                on_edit.emit(Edit::Move { job, to: to.clone(), before: before.clone() });
            }
        })
    }

    fn allow_drop(&self) -> Callback<DragEvent> {
        let editable = self.planner.editable();
        Callback::from(move |e: DragEvent| {
            if editable {
                e.prevent_default();
                if let Some(d) = e.data_transfer() {
                    d.set_drop_effect("move");
                }
            }
        })
    }

    fn drag_start(&self, job: &str) -> Callback<DragEvent> {
        let (dragging, job) = (self.dragging.clone(), job.to_owned());
        Callback::from(move |e: DragEvent| {
            *dragging.borrow_mut() = Some(job.clone());
            if let Some(d) = e.data_transfer() {
                let _ = d.set_data("text/plain", &job);
                d.set_effect_allowed("move");
            }
        })
    }

    /// "Move to…": another route (not locked) or out of the plan.
    fn move_select(&self, job: &str, from: Option<&str>, label: String, disabled: bool) -> Html {
        let on_edit = self.on_edit.clone();
        let job = job.to_owned();
        let onchange = Callback::from(move |e: Event| {
            let select = e.target_unchecked_into::<HtmlSelectElement>();
            let value = select.value();
            select.set_value("");
            let to = match value.as_str() {
                "" => return,
                "-" => None,
                v => Some(v.to_owned()),
            };
            on_edit.emit(Edit::Move { job: job.clone(), to, before: None });
        });
        html! {
            <select class="move-to" data-testid="move-to" aria-label={label} {onchange} {disabled}>
                <option value="" selected=true>{"Move to…"}</option>
                { for self.plan.routes.iter().filter(|r| Some(r.vehicle.as_str()) != from && !self.plan.is_route_locked(&r.vehicle)).map(|r| html! {
                    <option value={r.vehicle.clone()}>{ self.vehicle_name(&r.vehicle) }</option>
                }) }
                if from.is_some() {
                    <option value="-">{"Not planned"}</option>
                }
            </select>
        }
    }

    /// A stop's problem in words, e.g. "Late: arrives 12:40, window ends 12:00".
    fn stop_problem(&self, job: &str, v: &LocatedViolation) -> String {
        let shown = self.planner.shown.as_ref();
        match v.kind {
            ViolationKind::TimeWindow => {
                let arrival = shown.and_then(|s| s.stop(job)).map(|s| clock(s.arrival));
                let end = self
                    .problem
                    .problem
                    .job_index(job)
                    .and_then(|i| self.problem.problem.jobs[i].time_windows.last())
                    .map(|w| clock(w.end));
                match (arrival, end) {
                    (Some(a), Some(e)) => format!("Late: arrives {a}, window ends {e}"),
                    _ => "Late".into(),
                }
            }
            ViolationKind::Capacity => "Over capacity after this stop".into(),
            kind => kind_label(kind).into(),
        }
    }

    fn stop_item(&self, vehicle: &str, route_locked: bool, index: usize, job: &str) -> Html {
        let (order, order_id) = self.order(job);
        let label = Self::order_label(order, &order_id);
        let number = index + 1;
        let editable = self.planner.editable();
        let locked = self.plan.is_job_locked(job);
        let movable = editable && !locked;
        let shown = self.planner.shown.as_ref();
        let eta = shown.and_then(|s| s.stop(job));
        let fresh = shown.is_some_and(|s| s.rev == self.rev);
        let problems: Vec<String> =
            if fresh { shown.map(|s| s.evaluation.on_job(job).map(|v| self.stop_problem(job, v)).collect()).unwrap_or_default() } else { Vec::new() };
        let window = order.map(|o| {
            o.time_windows
                .iter()
                .map(|w| {
                    let (a, b) = (w.start.to_offset(self.day.offset), w.end.to_offset(self.day.offset));
                    format!("{:02}:{:02}–{:02}:{:02}", a.hour(), a.minute(), b.hour(), b.minute())
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        let onkeydown = {
            let (on_edit, focus_job, job) = (self.on_edit.clone(), self.focus_job.clone(), job.to_owned());
            Callback::from(move |e: KeyboardEvent| {
                if !e.alt_key() || !movable {
                    return;
                }
                let delta = match e.key().as_str() {
                    "ArrowUp" => -1,
                    "ArrowDown" => 1,
                    _ => return,
                };
                e.prevent_default();
                *focus_job.borrow_mut() = Some(job.clone());
                on_edit.emit(Edit::Shift { job: job.clone(), delta });
            })
        };
        let on_lock = {
            let (on_edit, job) = (self.on_edit.clone(), job.to_owned());
            Callback::from(move |_: MouseEvent| on_edit.emit(Edit::LockJob(job.clone())))
        };
        let aria = format!(
            "Stop {number} of {}: {label}{}{}",
            self.vehicle_name(vehicle),
            eta.map_or_else(String::new, |s| format!(", arrives {}", clock(s.arrival))),
            if problems.is_empty() { String::new() } else { format!(", {}", problems.join(", ")) }
        );
        html! {
            <li key={job.to_owned()}
                class={classes!("stop", (!problems.is_empty()).then_some("stop-infeasible"), locked.then_some("stop-locked"))}
                data-testid="stop" data-job={job.to_owned()} data-order={order_id.clone()} data-feasible={problems.is_empty().to_string()}
                tabindex="0" draggable={movable.to_string()} aria-label={aria} aria-keyshortcuts="Alt+ArrowUp Alt+ArrowDown"
                ondragstart={self.drag_start(job)} ondragover={self.allow_drop()}
                ondrop={self.drop_handler(Some(vehicle.to_owned()), Some(job.to_owned()))} {onkeydown}>
                <span class="stop-seq" aria-hidden="true">{ number }</span>
                <span class="stop-main">
                    <span class="stop-name">{ label.clone() }</span>
                    <span class="stop-eta muted" data-testid="stop-eta">
                        { eta.map_or_else(|| "…".to_owned(), |s| if s.waiting > 0.5 {
                            format!("arrives {} · starts {}", clock(s.arrival), clock(s.service_start))
                        } else {
                            format!("arrives {}", clock(s.arrival))
                        }) }
                        { window.filter(|w| !w.is_empty()).map_or_else(String::new, |w| format!(" · window {w}")) }
                    </span>
                    { for problems.iter().map(|p| html! { <span class="badge badge-danger" data-testid="stop-violation">{ p.clone() }</span> }) }
                </span>
                <span class="stop-actions">
                    <button type="button" class="lock" data-testid="lock-stop" aria-pressed={locked.to_string()}
                        aria-label={format!("Lock stop {number} ({label})")} title={if locked { "Unlock this stop" } else { "Lock this stop on its route" }}
                        onclick={on_lock} disabled={!editable || route_locked}>
                        { padlock(locked) }
                    </button>
                    { self.move_select(job, Some(vehicle), format!("Move stop {number} ({label}) to…"), !movable) }
                </span>
            </li>
        }
    }

    fn route_item(&self, index: usize, route: &doorstep_optimizer::RouteJobs) -> Html {
        let vehicle_id = route.vehicle.as_str();
        let day = self.day;
        let currency = day.business.organisation.settings.currency.clone();
        let vehicle = day.business.vehicles.iter().find(|v| v.id.as_str() == vehicle_id);
        let name = self.vehicle_name(vehicle_id);
        let shown = self.planner.shown.as_ref();
        let fresh = shown.is_some_and(|s| s.rev == self.rev);
        let totals = shown.and_then(|s| s.route(vehicle_id)).filter(|_| fresh).map(|r| r.totals.clone());
        let driver = shown
            .and_then(|s| s.route(vehicle_id))
            .and_then(|r| r.driver_id.clone())
            .or_else(|| self.problem.drivers.get(vehicle_id).cloned())
            .and_then(|d| day.business.drivers.iter().find(|x| x.id == d));
        let locked = self.plan.is_route_locked(vehicle_id);
        let editable = self.planner.editable();
        let violations: Vec<&LocatedViolation> = if fresh { shown.map(|s| s.evaluation.on_vehicle(vehicle_id).collect()).unwrap_or_default() } else { Vec::new() };
        let late = violations.iter().filter(|v| v.kind == ViolationKind::TimeWindow).count();
        let mut summary: Vec<String> = Vec::new();
        if late > 0 {
            summary.push(format!("{late} late stop{}", if late == 1 { "" } else { "s" }));
        }
        for v in violations.iter().filter(|v| v.kind != ViolationKind::TimeWindow) {
            let l = kind_label(v.kind).to_owned();
            if !summary.contains(&l) {
                summary.push(l);
            }
        }
        let on_lock = {
            let (on_edit, v) = (self.on_edit.clone(), vehicle_id.to_owned());
            Callback::from(move |_: MouseEvent| on_edit.emit(Edit::LockRoute(v.clone())))
        };
        let pending = "…".to_owned();
        let kpi = |f: &dyn Fn(&doorstep_domain::plan::RouteTotals) -> String| totals.as_ref().map_or_else(|| pending.clone(), f);
        let stops = route.jobs.len();
        let on_time = if fresh && stops > 0 { format!("{:.0} %", (stops - late.min(stops)) as f64 / stops as f64 * 100.0) } else { pending.clone() };
        let load = kpi(&|t| {
            let pct = vehicle.map_or(0.0, |v| {
                t.max_load.0.iter().zip(&v.capacity.0).filter(|(_, c)| **c > 0.0).map(|(q, c)| q / c * 100.0).fold(0.0, f64::max)
            });
            format!("{pct:.0} %")
        });
        html! {
            <li key={vehicle_id.to_owned()} class={classes!("route", (!summary.is_empty()).then_some("route-infeasible"), locked.then_some("route-locked"))}
                data-testid="route" data-vehicle={vehicle_id.to_owned()} data-feasible={summary.is_empty().to_string()} data-locked={locked.to_string()}
                ondragover={self.allow_drop()} ondrop={self.drop_handler(Some(vehicle_id.to_owned()), None)}>
                <div class="route-head">
                    <span class="swatch" style={format!("background:{}", ROUTE_COLORS[index % ROUTE_COLORS.len()])} aria-hidden="true"></span>
                    <strong>{ name.clone() }</strong>
                    { driver.map_or_else(String::new, |d| format!(" · {}", d.name)) }
                    <button type="button" class="lock" data-testid="lock-route" aria-pressed={locked.to_string()}
                        aria-label={format!("Lock route {name}")} title={if locked { "Unlock this route" } else { "Lock this route: re-optimising keeps it as it is" }}
                        onclick={on_lock} disabled={!editable}>
                        { padlock(locked) }
                    </button>
                    if !summary.is_empty() {
                        <span class="badge badge-danger" data-testid="route-violation">{ summary.join(" · ") }</span>
                    }
                </div>
                <dl class="kpis">
                    <dt>{"Stops"}</dt><dd data-kpi="stops">{ stops }</dd>
                    <dt>{"Distance"}</dt><dd data-kpi="distance">{ kpi(&|t| km(t.distance_m)) }</dd>
                    <dt>{"Duration"}</dt><dd data-kpi="duration">{ kpi(&|t| hours(t.duration_s)) }</dd>
                    <dt>{"Load"}</dt><dd data-kpi="load">{ load }</dd>
                    <dt>{"Cost"}</dt><dd data-kpi="cost">{ kpi(&|t| format!("{:.2} {currency}", t.cost)) }</dd>
                    <dt>{"On time"}</dt><dd data-kpi="on-time">{ on_time }</dd>
                </dl>
                <ol class="stops" data-testid="stops" aria-label={format!("Stops of {name}")}>
                    { for route.jobs.iter().enumerate().map(|(i, j)| self.stop_item(vehicle_id, locked, i, j)) }
                </ol>
            </li>
        }
    }

    /// The orders in no route: why, and a way back in.
    fn unplanned(&self) -> Html {
        let editable = self.planner.editable();
        let shown = self.planner.shown.as_ref();
        let mut items: Vec<(UnplannedOrder, Option<String>)> = self.problem.excluded.iter().map(|u| (u.clone(), None)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for job in self.plan.unassigned(&self.problem.problem) {
            let Some(r) = self.problem.jobs.get(&job) else { continue };
            if !seen.insert(r.order_id.clone()) {
                continue;
            }
            // A pickup-and-delivery order is moved by its delivery (the pickup follows).
            let job = format!("{}/delivery", r.order_id);
            let job = if self.problem.jobs.contains_key(&job) { job } else { r.order_id.to_string() };
            let known = shown.and_then(|s| s.draft.unplanned.iter().find(|u| u.order_id == r.order_id).cloned());
            let (reason, hint) = known.map(|u| (u.reason, u.hint)).or_else(|| self.planner.reasons.get(r.order_id.as_str()).cloned()).unwrap_or_else(|| ("manual".into(), "in no route of this plan".into()));
            items.push((UnplannedOrder { order_id: r.order_id.clone(), reason, hint }, Some(job)));
        }
        html! {
            <section class="unplanned-zone" data-testid="unplanned-zone" aria-label="Not planned"
                ondragover={self.allow_drop()} ondrop={self.drop_handler(None, None)}>
                <h3>{ format!("Not planned ({})", items.len()) }</h3>
                if items.is_empty() {
                    <p class="muted drop-hint">{"Drop a stop here to leave it out of the plan."}</p>
                } else {
                    <ul class="unplanned" data-testid="unplanned">
                        { for items.iter().map(|(u, job)| {
                            let who = Self::order_label(self.day.orders.iter().find(|o| o.id == u.order_id), u.order_id.as_str());
                            html! {
                                <li key={u.order_id.to_string()} data-order={u.order_id.to_string()} data-testid="unplanned-order"
                                    draggable={(editable && job.is_some()).to_string()} tabindex={job.as_ref().map(|_| "0")}
                                    ondragstart={job.as_ref().map(|j| self.drag_start(j))}>
                                    <strong>{ who.clone() }</strong>{": "}{ reason_label(&u.reason) }<br /><span class="muted">{ u.hint.clone() }</span>
                                    if let Some(j) = job {
                                        <br />{ self.move_select(j, None, format!("Plan {who} on…"), !editable) }
                                    }
                                </li>
                            }
                        }) }
                    </ul>
                }
            </section>
        }
    }
}

/// Toolbar commands that are not edits.
#[derive(Clone, Copy, Debug)]
enum Command {
    Undo,
    Redo,
    KeepEditing,
}

#[derive(Clone, Copy)]
enum Export {
    Csv,
    GeoJson,
    Sheets,
}

fn results(ctx: &Ctx<'_>, on_reoptimise: Callback<MouseEvent>, publish: Callback<bool>) -> Html {
    let planner = ctx.planner;
    let day = ctx.day;
    let currency = day.business.organisation.settings.currency.clone();
    let fresh = planner.fresh();
    let shown = planner.shown.as_ref();
    let used: Vec<(usize, &doorstep_optimizer::RouteJobs)> = ctx.plan.routes.iter().filter(|r| !r.jobs.is_empty()).enumerate().collect();
    let stops: usize = used.iter().map(|(_, r)| r.jobs.len()).sum();
    let editable = planner.editable();
    let history = planner.history.as_ref();
    let (can_undo, can_redo) = (history.is_some_and(History::can_undo), history.is_some_and(History::can_redo));
    let feasible = fresh.as_ref().is_none_or(|v| v.evaluation.feasible());
    let broken = fresh.as_ref().map_or(0, |v| v.evaluation.violations.len());
    let command = |c: Command| ctx.on_command.reform(move |_: MouseEvent| c);
    let (undo, redo) = (command(Command::Undo), command(Command::Redo));
    let export = |kind: Export| {
        let view = fresh.clone();
        let title = format!("{} {}", day.business.organisation.name, day.date);
        let date = day.date;
        let input_day = (day.orders.clone(), day.business.clone(), day.offset);
        Callback::from(move |_: MouseEvent| {
            let Some(view) = view.as_ref() else { return };
            let (orders, business, offset) = &input_day;
            let input = ExportInput {
                routes: &view.draft.request.routes,
                orders,
                vehicles: &business.vehicles,
                drivers: &business.drivers,
                offset: *offset,
                depot: business.depots.first().map(|d| d.location),
                title: &title,
            };
            let done = match kind {
                Export::Csv => crate::services::download::download(&format!("plan-{date}.csv"), "text/csv;charset=utf-8", &plan_export::to_csv(&input)),
                Export::GeoJson => crate::services::download::download(
                    &format!("plan-{date}.geojson"),
                    "application/geo+json",
                    &plan_export::to_geojson(&input).to_string(),
                ),
                Export::Sheets => crate::services::download::open_for_print(&plan_export::route_sheets_html(&input)),
            };
            if let Err(e) = done {
                web_sys::console::error_1(&e);
            }
        })
    };
    let distance: f64 = shown.map_or(0.0, |v| v.draft.request.routes.iter().map(|r| r.totals.distance_m).sum());
    let cost: f64 = shown.map_or(0.0, |v| v.draft.request.routes.iter().map(|r| r.totals.cost).sum());
    let unused: Vec<&doorstep_optimizer::RouteJobs> = ctx.plan.routes.iter().filter(|r| r.jobs.is_empty()).collect();
    let on_publish = {
        let publish = publish.clone();
        Callback::from(move |_: MouseEvent| publish.emit(false))
    };
    let on_publish_anyway = Callback::from(move |_: MouseEvent| publish.emit(true));
    let on_keep_editing = command(Command::KeepEditing);
    html! {
        <section class="results" data-testid="results" aria-label="Planned routes"
            data-revision={ctx.rev.to_string()} data-evaluated={shown.map_or_else(String::new, |v| v.rev.to_string())}
            data-eval={if fresh.is_some() { "ready" } else { "pending" }} data-feasible={feasible.to_string()}>
            <h3>{ format!("{} routes, {} stops", used.len(), stops) }</h3>
            <p data-testid="plan-totals">{ format!("{} · {cost:.2} {currency} · solved in {:.1} s", km(distance), planner.solve_ms / 1000.0) }</p>
            <div class="edit-toolbar" role="toolbar" aria-label="Edit the plan">
                <button type="button" data-testid="undo" onclick={undo} disabled={!editable || !can_undo} aria-keyshortcuts="Control+Z">{"Undo"}</button>
                <button type="button" data-testid="redo" onclick={redo} disabled={!editable || !can_redo} aria-keyshortcuts="Control+Shift+Z Control+Y">{"Redo"}</button>
                <button type="button" data-testid="reoptimise" onclick={on_reoptimise} disabled={!editable}
                    title="Run the optimizer again; locked stops and routes stay as they are">{"Re-optimise"}</button>
            </div>
            <div class="edit-toolbar" role="toolbar" aria-label="Export the plan">
                <button type="button" data-testid="export-csv" onclick={export(Export::Csv)} disabled={fresh.is_none()}>{"Export CSV"}</button>
                <button type="button" data-testid="export-geojson" onclick={export(Export::GeoJson)} disabled={fresh.is_none()}>{"Export GeoJSON"}</button>
                <button type="button" data-testid="print-sheets" onclick={export(Export::Sheets)} disabled={fresh.is_none()}>{"Print route sheets"}</button>
            </div>
            <p class="muted edit-help">{"Drag a stop to another place or route, or focus it and press Alt+↑ / Alt+↓; “Move to…” sends it to another route. Lock stops or routes, then re-optimise the rest. Ctrl+Z undoes, Ctrl+Shift+Z redoes."}</p>
            if let Some(n) = planner.notice.clone() {
                <p class="notice" role="status" data-testid="edit-notice">{ n }</p>
            }
            if broken > 0 {
                <p class="warning" role="status" data-testid="plan-violations">
                    { format!("This plan breaks {broken} rule{}: see the marked routes and stops. It can still be published.", if broken == 1 { "" } else { "s" }) }
                </p>
            }
            <ol class="route-list" data-testid="route-list">
                { for used.iter().map(|(i, r)| ctx.route_item(*i, r)) }
            </ol>
            if !unused.is_empty() && editable {
                <ul class="unused-routes" aria-label="Unused vehicles">
                    { for unused.iter().map(|r| html! {
                        <li key={r.vehicle.clone()} class="route route-unused" data-testid="unused-route" data-vehicle={r.vehicle.clone()}
                            ondragover={ctx.allow_drop()} ondrop={ctx.drop_handler(Some(r.vehicle.clone()), None)}>
                            <strong>{ ctx.vehicle_name(&r.vehicle) }</strong>{" · unused: drop a stop here"}
                        </li>
                    }) }
                </ul>
            }
            { ctx.unplanned() }
            { match (planner.phase, planner.published.as_ref()) {
                (Phase::Published, Some(p)) => html! {
                    <p class="success" role="status" data-testid="published" data-plan-id={p.plan.id.to_string()}>
                        { format!("Published: {} routes sent to drivers, {} tracking links issued.", p.plan.routes.len(), p.tracking.len()) }
                    </p>
                },
                _ if planner.confirm_publish => html! {
                    <div class="publish-warning" role="alertdialog" aria-labelledby="publish-warning-title" data-testid="publish-warning">
                        <p id="publish-warning-title"><strong>{ format!("This plan breaks {broken} rule{}.", if broken == 1 { "" } else { "s" }) }</strong>
                            {" Drivers will get it as it is (late stops stay late)."}</p>
                        <button type="button" class="danger" data-testid="publish-anyway" onclick={on_publish_anyway}>{"Publish anyway"}</button>
                        <button type="button" data-testid="publish-cancel" onclick={on_keep_editing}>{"Keep editing"}</button>
                    </div>
                },
                _ => html! {
                    <button type="button" class="primary" data-testid="publish" onclick={on_publish}
                        disabled={planner.phase != Phase::Solved || used.is_empty() || fresh.is_none()}>
                        { if planner.phase == Phase::Publishing { "Publishing…" } else { "Save & publish" } }
                    </button>
                },
            } }
        </section>
    }
}

/// The shown plan's routes for the timeline, coloured as on the map, with
/// the stops that break a rule flagged.
fn timeline_rows(day: &Day, problem: &PlanningProblem, view: &EvalView) -> Vec<TimelineRow> {
    let flagged_jobs: Vec<&str> = view.evaluation.violations.iter().filter_map(|v| v.job.as_deref()).collect();
    let flagged: Vec<String> =
        flagged_jobs.iter().filter_map(|job| problem.jobs.get(*job).map(|r| r.order_id.to_string())).collect();
    view.draft
        .request
        .routes
        .iter()
        .filter(|r| !r.stops.is_empty())
        .enumerate()
        .map(|(i, r)| TimelineRow {
            label: day.business.vehicles.iter().find(|v| v.id == r.vehicle_id).map_or_else(|| r.vehicle_id.to_string(), |v| v.name.clone()),
            color: ROUTE_COLORS[i % ROUTE_COLORS.len()].to_owned(),
            route: r.clone(),
            flagged: flagged.clone(),
        })
        .collect()
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
