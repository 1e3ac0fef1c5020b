//! Planning scenarios, without the browser: named copies of a plan with their
//! own vehicles and constraints, the book that holds them (create, copy,
//! rename, delete, select), what changes a scenario makes to the planning
//! input, and the comparison of two scenarios (KPIs and which orders differ).
//! The dispatcher page keeps the book in `localStorage`, keyed by org and day.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use doorstep_domain::Order;
use doorstep_domain::org::MAX_SERVICE_TIME_S;
use doorstep_domain::planning::edit::PlanEdit;
use doorstep_domain::time::TimeOfDay;
use doorstep_domain::vehicle::Vehicle;
use doorstep_optimizer as opt;
use serde::{Deserialize, Serialize};

/// Bumped when the stored shape changes; older books are dropped, not misread.
pub const STORAGE_VERSION: u32 = 1;

/// Where a day's scenarios live in `localStorage`.
pub fn storage_key(org_id: &str, date: &str) -> String {
    format!("doorstep.scenarios.v{STORAGE_VERSION}.{org_id}.{date}")
}

/// A scenario's changes to the day: vehicles left at the depot, and constraints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSettings {
    /// Vehicles (with their drivers) not used in this scenario.
    #[serde(default)]
    pub off_vehicles: BTreeSet<String>,
    /// Service time at every stop, replacing each order's own.
    #[serde(default)]
    pub service_time_s: Option<u32>,
    /// Every vehicle's shift ends at this local time (minutes after midnight).
    #[serde(default)]
    pub shift_end_min: Option<u16>,
}

/// Why a scenario or its settings were refused; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioError {
    EmptyName,
    NameTaken(String),
    NameTooLong,
    UnknownScenario(u32),
    /// `(field, message)`.
    BadSetting(&'static str, String),
    NoVehicleLeft,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyName => write!(f, "name: give the scenario a name"),
            Self::NameTaken(n) => write!(f, "name: a scenario is already called \u{201c}{n}\u{201d}"),
            Self::NameTooLong => write!(f, "name: at most {MAX_NAME_CHARS} characters"),
            Self::UnknownScenario(id) => write!(f, "scenario {id} does not exist (deleted?)"),
            Self::BadSetting(field, m) => write!(f, "{field}: {m}"),
            Self::NoVehicleLeft => write!(f, "vehicles: keep at least one vehicle in the scenario"),
        }
    }
}

const MAX_NAME_CHARS: usize = 60;

impl ScenarioSettings {
    /// Reads the service time field (minutes; empty = each order's own).
    pub fn parse_service_minutes(text: &str) -> Result<Option<u32>, ScenarioError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let field = "service time";
        let minutes: u32 = t.parse().map_err(|_| ScenarioError::BadSetting(field, format!("{t:?} is not a whole number of minutes")))?;
        let s = minutes * 60;
        if s > MAX_SERVICE_TIME_S {
            return Err(ScenarioError::BadSetting(field, format!("at most {} minutes; got {minutes}", MAX_SERVICE_TIME_S / 60)));
        }
        Ok(Some(s))
    }

    /// Reads the shift end field (`HH:MM`; empty = each vehicle's own).
    pub fn parse_shift_end(text: &str) -> Result<Option<u16>, ScenarioError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let time: TimeOfDay =
            t.parse().map_err(|_| ScenarioError::BadSetting("shift end", format!("{t:?} is not a time like 17:30")))?;
        Ok(Some(time.minutes()))
    }

    /// The vehicles and orders to plan with: switched-off vehicles inactive,
    /// shifts cut, service times replaced.
    pub fn apply(&self, vehicles: &[Vehicle], orders: &[Order]) -> Result<(Vec<Vehicle>, Vec<Order>), ScenarioError> {
        let mut vs = vehicles.to_vec();
        for v in &mut vs {
            if self.off_vehicles.contains(v.id.as_str()) {
                v.active = false;
            }
            if let (Some(end), true) = (self.shift_end_min, v.active) {
                let end_time = TimeOfDay::from_minutes(end)
                    .ok_or_else(|| ScenarioError::BadSetting("shift end", format!("{end} minutes is not a time of day")))?;
                if end_time <= v.shift.start {
                    return Err(ScenarioError::BadSetting(
                        "shift end",
                        format!("{end_time} is not after the start of {}'s shift ({})", v.name, v.shift.start),
                    ));
                }
                v.shift.end = end_time;
            }
        }
        if !vs.iter().any(|v| v.active) {
            return Err(ScenarioError::NoVehicleLeft);
        }
        let mut os = orders.to_vec();
        if let Some(s) = self.service_time_s {
            for o in &mut os {
                o.service_time_s = Some(s);
                if let Some(leg) = o.pickup.as_mut() {
                    leg.service_time_s = Some(s);
                }
            }
        }
        Ok((vs, os))
    }

    /// In words, e.g. "without Vélo cargo · service 5 min · shifts end 16:00".
    pub fn describe(&self, vehicle_name: impl Fn(&str) -> String) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.off_vehicles.is_empty() {
            let names: Vec<String> = self.off_vehicles.iter().map(|v| vehicle_name(v)).collect();
            parts.push(format!("without {}", names.join(", ")));
        }
        if let Some(s) = self.service_time_s {
            parts.push(format!("service {} min", s / 60));
        }
        if let Some(m) = self.shift_end_min {
            parts.push(format!("shifts end {:02}:{:02}", m / 60, m % 60));
        }
        if parts.is_empty() { "as set up".into() } else { parts.join(" · ") }
    }
}

/// A route as compared: its vehicle (and driver) and its orders in sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteSummary {
    pub vehicle_id: String,
    /// "Vehicle · Driver".
    pub label: String,
    pub orders: Vec<String>,
    pub distance_m: f64,
    pub duration_s: u32,
    pub cost: f64,
    /// Stops reached after their window.
    pub late: usize,
}

/// What a scenario's plan amounts to: its used routes and the orders left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub routes: Vec<RouteSummary>,
    pub unassigned: Vec<String>,
}

/// One stored scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub id: u32,
    pub name: String,
    pub settings: ScenarioSettings,
    /// The settings its plan was made with (differs from `settings` until re-optimised).
    pub planned_with: ScenarioSettings,
    pub plan: Option<PlanEdit>,
    pub summary: Option<PlanSummary>,
}

impl Scenario {
    /// Its settings changed since its plan was made.
    pub fn stale(&self) -> bool {
        self.settings != self.planned_with
    }
}

/// A day's scenarios, which one is shown (and published), and which two are compared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Book {
    pub version: u32,
    pub scenarios: Vec<Scenario>,
    pub active: Option<u32>,
    pub next_id: u32,
    pub compare: (Option<u32>, Option<u32>),
    /// Why the last action was refused (not stored).
    #[serde(skip)]
    pub error: Option<String>,
    /// Read from storage (or found absent) for the day: only then is it stored,
    /// so an empty book never overwrites the stored one.
    #[serde(skip)]
    pub loaded: bool,
}

/// A change to the book. Ids are chosen by the caller (`Book::next_id`), so
/// it can keep its own per-scenario state (the undo history) under the same id.
#[derive(Clone, Debug, PartialEq)]
pub enum BookAction {
    /// Replace the whole book (loaded from storage).
    Load(Box<Book>),
    Create { id: u32, name: String, settings: ScenarioSettings, plan: Option<PlanEdit>, summary: Option<PlanSummary> },
    Copy { id: u32, from: u32, name: String },
    Rename { id: u32, name: String },
    Delete(u32),
    Select(u32),
    Settings { id: u32, settings: ScenarioSettings },
    /// A scenario's (edited or re-optimised) plan, made with `planned_with`.
    Capture { id: u32, plan: PlanEdit, summary: PlanSummary, planned_with: ScenarioSettings },
    Compare(Option<u32>, Option<u32>),
    DismissError,
}

impl Book {
    pub fn new() -> Self {
        Self { version: STORAGE_VERSION, next_id: 1, ..Self::default() }
    }

    pub fn get(&self, id: u32) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    pub fn active_scenario(&self) -> Option<&Scenario> {
        self.active.and_then(|id| self.get(id))
    }

    /// "Scenario A", "Scenario B"… the first letter not taken.
    pub fn suggested_name(&self) -> String {
        let taken = |n: &str| self.scenarios.iter().any(|s| s.name.eq_ignore_ascii_case(n));
        ('A'..='Z')
            .map(|c| format!("Scenario {c}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| format!("Scenario {}", self.next_id))
    }

    fn check_name(&self, name: &str, except: Option<u32>) -> Result<String, ScenarioError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ScenarioError::EmptyName);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ScenarioError::NameTooLong);
        }
        if self.scenarios.iter().any(|s| Some(s.id) != except && s.name.eq_ignore_ascii_case(name)) {
            return Err(ScenarioError::NameTaken(name.to_owned()));
        }
        Ok(name.to_owned())
    }

    fn fresh_id(&mut self, id: u32) -> u32 {
        // A stale caller's id must not overwrite a scenario.
        let id = if self.get(id).is_some() { self.scenarios.iter().map(|s| s.id).max().unwrap_or(0) + 1 } else { id };
        self.next_id = self.next_id.max(id + 1);
        id
    }

    /// Applies `action`; a refused one leaves every scenario as it was and sets `error`.
    pub fn apply(&mut self, action: BookAction) -> Result<(), ScenarioError> {
        let result = self.try_apply(action);
        self.error = result.as_ref().err().map(ToString::to_string);
        result
    }

    fn try_apply(&mut self, action: BookAction) -> Result<(), ScenarioError> {
        match action {
            BookAction::Load(book) => {
                *self = *book;
                self.loaded = true;
                self.version = STORAGE_VERSION;
                self.next_id = self.next_id.max(self.scenarios.iter().map(|s| s.id + 1).max().unwrap_or(1));
                if self.active.is_some_and(|id| self.get(id).is_none()) {
                    self.active = None;
                }
            }
            BookAction::Create { id, name, settings, plan, summary } => {
                let name = self.check_name(&name, None)?;
                let id = self.fresh_id(id);
                self.scenarios.push(Scenario { id, name, planned_with: settings.clone(), settings, plan, summary });
                self.active = Some(id);
            }
            BookAction::Copy { id, from, name } => {
                let source = self.get(from).cloned().ok_or(ScenarioError::UnknownScenario(from))?;
                let name = self.check_name(&name, None)?;
                let id = self.fresh_id(id);
                self.scenarios.push(Scenario { id, name, ..source });
                self.active = Some(id);
                // Compare the copy with its source by default.
                self.compare = (Some(from), Some(id));
            }
            BookAction::Rename { id, name } => {
                let name = self.check_name(&name, Some(id))?;
                self.scenarios.iter_mut().find(|s| s.id == id).ok_or(ScenarioError::UnknownScenario(id))?.name = name;
            }
            BookAction::Delete(id) => {
                let before = self.scenarios.len();
                self.scenarios.retain(|s| s.id != id);
                if self.scenarios.len() == before {
                    return Err(ScenarioError::UnknownScenario(id));
                }
                if self.active == Some(id) {
                    self.active = None;
                }
                let drop = |c: Option<u32>| c.filter(|c| *c != id);
                self.compare = (drop(self.compare.0), drop(self.compare.1));
            }
            BookAction::Select(id) => {
                self.get(id).ok_or(ScenarioError::UnknownScenario(id))?;
                self.active = Some(id);
            }
            BookAction::Settings { id, settings } => {
                let s = self.scenarios.iter_mut().find(|s| s.id == id).ok_or(ScenarioError::UnknownScenario(id))?;
                s.settings = settings;
            }
            BookAction::Capture { id, plan, summary, planned_with } => {
                let s = self.scenarios.iter_mut().find(|s| s.id == id).ok_or(ScenarioError::UnknownScenario(id))?;
                s.plan = Some(plan);
                s.summary = Some(summary);
                s.planned_with = planned_with;
            }
            BookAction::Compare(a, b) => self.compare = (a, b),
            BookAction::DismissError => {}
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored book; `None` when absent, unreadable or of another version.
    pub fn from_json(text: &str) -> Option<Book> {
        let book: Book = serde_json::from_str(text).ok()?;
        (book.version == STORAGE_VERSION).then_some(book)
    }
}

/// A stored plan made to fit the day's current problem: unknown vehicles and
/// jobs dropped (orders delivered or deleted since), routes in the problem's order.
pub fn fit_plan(plan: &PlanEdit, problem: &opt::Problem) -> PlanEdit {
    let jobs: BTreeSet<&str> = problem.jobs.iter().map(|j| j.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    let routes: Vec<opt::RouteJobs> = problem
        .vehicles
        .iter()
        .map(|v| {
            let stored = plan.routes.iter().find(|r| r.vehicle == v.id);
            let kept: Vec<String> = stored
                .map(|r| r.jobs.iter().filter(|j| jobs.contains(j.as_str()) && seen.insert(j.to_string())).cloned().collect())
                .unwrap_or_default();
            let break_after = stored.and_then(|r| r.break_after).map(|b| b.min(kept.len()));
            opt::RouteJobs { vehicle: v.id.clone(), jobs: kept, break_after }
        })
        .collect();
    let vehicles: BTreeSet<&str> = problem.vehicles.iter().map(|v| v.id.as_str()).collect();
    PlanEdit {
        routes,
        locked_routes: plan.locked_routes.iter().filter(|v| vehicles.contains(v.as_str())).cloned().collect(),
        locked_jobs: plan.locked_jobs.iter().filter(|j| seen.contains(j.as_str())).cloned().collect(),
    }
}

/// A scenario's headline figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Kpis {
    pub routes: usize,
    pub stops: usize,
    pub unassigned: usize,
    pub distance_m: f64,
    pub duration_s: u64,
    pub cost: f64,
    /// `None` without stops.
    pub on_time_pct: Option<f64>,
}

impl Kpis {
    pub fn of(s: &PlanSummary) -> Self {
        let used: Vec<&RouteSummary> = s.routes.iter().filter(|r| !r.orders.is_empty()).collect();
        let stops: usize = used.iter().map(|r| r.orders.len()).sum();
        let late: usize = used.iter().map(|r| r.late.min(r.orders.len())).sum();
        Self {
            routes: used.len(),
            stops,
            unassigned: s.unassigned.len(),
            distance_m: used.iter().map(|r| r.distance_m).sum(),
            duration_s: used.iter().map(|r| u64::from(r.duration_s)).sum(),
            cost: used.iter().map(|r| r.cost).sum(),
            on_time_pct: (stops > 0).then(|| (stops - late) as f64 / stops as f64 * 100.0),
        }
    }
}

/// Which side of a comparison does better on a KPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Left,
    Right,
    Same,
}

/// One line of the side-by-side table.
#[derive(Clone, Debug, PartialEq)]
pub struct KpiRow {
    /// Stable name for tests and styling, e.g. `routes`.
    pub key: &'static str,
    pub label: &'static str,
    pub left: String,
    pub right: String,
    /// Right minus left, in words ("+1", "−12.3 km"); empty when equal.
    pub change: String,
    pub better: Better,
}

fn row(key: &'static str, label: &'static str, l: f64, r: f64, lower_is_better: bool, show: impl Fn(f64) -> String, eps: f64) -> KpiRow {
    let d = r - l;
    let better = if d.abs() <= eps {
        Better::Same
    } else if (d < 0.0) == lower_is_better {
        Better::Right
    } else {
        Better::Left
    };
    let change = if better == Better::Same { String::new() } else { format!("{}{}", if d > 0.0 { "+" } else { "\u{2212}" }, show(d.abs())) };
    KpiRow { key, label, left: show(l), right: show(r), change, better }
}

/// The KPI table of two scenarios, left against right.
pub fn compare_kpis(left: &PlanSummary, right: &PlanSummary, currency: &str) -> Vec<KpiRow> {
    let (a, b) = (Kpis::of(left), Kpis::of(right));
    let count = |x: f64| format!("{x:.0}");
    let km = |m: f64| format!("{:.1} km", m / 1000.0);
    let hours = |s: f64| {
        let m = (s / 60.0).round() as u64;
        format!("{}:{:02} h", m / 60, m % 60)
    };
    let money = |c: f64| format!("{c:.2} {currency}");
    let pct = |p: f64| format!("{p:.0} %");
    vec![
        row("routes", "Routes used", a.routes as f64, b.routes as f64, true, count, 0.0),
        row("stops", "Stops planned", a.stops as f64, b.stops as f64, false, count, 0.0),
        row("unassigned", "Not planned", a.unassigned as f64, b.unassigned as f64, true, count, 0.0),
        row("distance", "Distance", a.distance_m, b.distance_m, true, km, 50.0),
        row("duration", "Duration", a.duration_s as f64, b.duration_s as f64, true, hours, 30.0),
        row("cost", "Cost", a.cost, b.cost, true, money, 0.005),
        row("on-time", "On time", a.on_time_pct.unwrap_or(100.0), b.on_time_pct.unwrap_or(100.0), false, pct, 0.5),
    ]
}

/// An order on a route in both scenarios, but not the same route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedOrder {
    pub order_id: String,
    /// Route labels ("Vehicle · Driver").
    pub from: String,
    pub to: String,
}

/// Which orders two scenarios plan differently.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanDiff {
    pub moved: Vec<MovedOrder>,
    /// Planned on the left, not planned on the right: `(order, left route)`.
    pub only_left: Vec<(String, String)>,
    /// Planned on the right, not planned on the left: `(order, right route)`.
    pub only_right: Vec<(String, String)>,
}

impl PlanDiff {
    pub fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.only_left.is_empty() && self.only_right.is_empty()
    }
}

fn placements(s: &PlanSummary) -> BTreeMap<&str, &RouteSummary> {
    s.routes.iter().flat_map(|r| r.orders.iter().map(move |o| (o.as_str(), r))).collect()
}

/// Orders that changed route (by vehicle), and orders planned on one side only.
pub fn diff(left: &PlanSummary, right: &PlanSummary) -> PlanDiff {
    let (l, r) = (placements(left), placements(right));
    let mut d = PlanDiff::default();
    for (order, lr) in &l {
        match r.get(order) {
            Some(rr) if rr.vehicle_id != lr.vehicle_id => {
                d.moved.push(MovedOrder { order_id: (*order).to_owned(), from: lr.label.clone(), to: rr.label.clone() })
            }
            Some(_) => {}
            None => d.only_left.push(((*order).to_owned(), lr.label.clone())),
        }
    }
    for (order, rr) in &r {
        if !l.contains_key(order) {
            d.only_right.push(((*order).to_owned(), rr.label.clone()));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(vehicle: &str, orders: &[&str], km: f64, late: usize) -> RouteSummary {
        RouteSummary {
            vehicle_id: vehicle.into(),
            label: format!("{vehicle} · driver of {vehicle}"),
            orders: orders.iter().map(|o| (*o).to_owned()).collect(),
            distance_m: km * 1000.0,
            duration_s: (km * 120.0) as u32,
            cost: km * 0.5,
            late,
        }
    }

    fn summary(routes: Vec<RouteSummary>, unassigned: &[&str]) -> PlanSummary {
        PlanSummary { routes, unassigned: unassigned.iter().map(|o| (*o).to_owned()).collect() }
    }

    fn created(book: &mut Book, name: &str) -> u32 {
        let id = book.next_id;
        book.apply(BookAction::Create { id, name: name.into(), settings: ScenarioSettings::default(), plan: None, summary: Some(PlanSummary::default()) })
            .unwrap();
        id
    }

    #[test]
    fn creating_and_copying_make_the_new_scenario_active_and_compared_with_its_source() {
        let mut book = Book::new();
        assert_eq!(book.suggested_name(), "Scenario A");
        let a = created(&mut book, "Scenario A");
        assert_eq!(book.active, Some(a));
        assert_eq!(book.suggested_name(), "Scenario B");
        let b = book.next_id;
        book.apply(BookAction::Copy { id: b, from: a, name: book.suggested_name() }).unwrap();
        assert_ne!(a, b);
        assert_eq!(book.active, Some(b));
        assert_eq!(book.compare, (Some(a), Some(b)));
        assert_eq!(book.get(b).unwrap().name, "Scenario B");
        assert_eq!(book.get(b).unwrap().summary, book.get(a).unwrap().summary);
    }

    #[test]
    fn names_must_be_present_and_unique_and_a_refusal_changes_nothing() {
        let mut book = Book::new();
        let a = created(&mut book, "Scenario A");
        let before = book.clone();
        let err = book.apply(BookAction::Create { id: 9, name: " scenario a ".into(), settings: ScenarioSettings::default(), plan: None, summary: None });
        assert_eq!(err, Err(ScenarioError::NameTaken("scenario a".into())));
        assert!(book.error.as_deref().is_some_and(|e| e.starts_with("name:")), "{:?}", book.error);
        assert_eq!(book.scenarios, before.scenarios);
        assert_eq!(book.apply(BookAction::Rename { id: a, name: "   ".into() }), Err(ScenarioError::EmptyName));
        assert_eq!(book.get(a).unwrap().name, "Scenario A");
        book.apply(BookAction::Rename { id: a, name: "Scenario a".into() }).unwrap();
        assert_eq!(book.get(a).unwrap().name, "Scenario a", "renaming to itself in another case is fine");
        assert!(book.error.is_none());
    }

    #[test]
    fn a_stale_caller_id_never_overwrites_a_scenario() {
        let mut book = Book::new();
        let a = created(&mut book, "A");
        book.apply(BookAction::Create { id: a, name: "B".into(), settings: ScenarioSettings::default(), plan: None, summary: None }).unwrap();
        let ids: BTreeSet<u32> = book.scenarios.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(book.next_id > *ids.iter().max().unwrap());
    }

    #[test]
    fn deleting_the_active_scenario_clears_the_selection_and_the_comparison() {
        let mut book = Book::new();
        let a = created(&mut book, "A");
        book.apply(BookAction::Copy { id: book.next_id, from: a, name: "B".into() }).unwrap();
        let b = book.active.unwrap();
        book.apply(BookAction::Delete(b)).unwrap();
        assert_eq!(book.active, None);
        assert_eq!(book.compare, (Some(a), None));
        assert_eq!(book.apply(BookAction::Delete(b)), Err(ScenarioError::UnknownScenario(b)));
        assert_eq!(book.apply(BookAction::Select(b)), Err(ScenarioError::UnknownScenario(b)));
    }

    #[test]
    fn changed_settings_make_a_scenario_stale_until_a_plan_made_with_them_is_captured() {
        let mut book = Book::new();
        let a = created(&mut book, "A");
        let settings = ScenarioSettings { off_vehicles: ["v2".to_owned()].into(), ..ScenarioSettings::default() };
        book.apply(BookAction::Settings { id: a, settings: settings.clone() }).unwrap();
        assert!(book.get(a).unwrap().stale());
        let plan = PlanEdit { routes: Vec::new(), locked_routes: BTreeSet::new(), locked_jobs: BTreeSet::new() };
        book.apply(BookAction::Capture { id: a, plan, summary: PlanSummary::default(), planned_with: settings }).unwrap();
        assert!(!book.get(a).unwrap().stale());
    }

    #[test]
    fn a_book_survives_json_and_other_versions_are_ignored() {
        let mut book = Book::new();
        let a = created(&mut book, "A");
        book.apply(BookAction::Settings { id: a, settings: ScenarioSettings { service_time_s: Some(300), shift_end_min: Some(960), ..Default::default() } })
            .unwrap();
        let mut back = Book::from_json(&book.to_json()).unwrap();
        assert!(!back.loaded, "loading is the page's to say");
        back.loaded = book.loaded;
        assert_eq!(back, book);
        let mut fresh = Book::new();
        fresh.apply(BookAction::Load(Box::new(back))).unwrap();
        assert!(fresh.loaded);
        assert_eq!(fresh.scenarios, book.scenarios);
        let mut old = book.clone();
        old.version = 0;
        assert_eq!(Book::from_json(&old.to_json()), None);
        assert_eq!(Book::from_json("not json"), None);
        assert_ne!(storage_key("org-1", "2026-11-22"), storage_key("org-2", "2026-11-22"));
        assert_ne!(storage_key("org-1", "2026-11-22"), storage_key("org-1", "2026-11-23"));
    }

    #[test]
    fn kpis_count_used_routes_and_the_side_that_does_better() {
        let left = summary(vec![route("v1", &["o1", "o2"], 10.0, 0), route("v2", &["o3", "o4"], 12.0, 1), route("v3", &[], 0.0, 0)], &[]);
        let right = summary(vec![route("v1", &["o1", "o2", "o3"], 15.0, 2)], &["o4"]);
        let k = Kpis::of(&left);
        assert_eq!((k.routes, k.stops, k.unassigned), (2, 4, 0));
        assert_eq!(k.on_time_pct, Some(75.0));
        let rows = compare_kpis(&left, &right, "EUR");
        let get = |key: &str| rows.iter().find(|r| r.key == key).unwrap().clone();
        assert_eq!((get("routes").left.as_str(), get("routes").right.as_str(), get("routes").better), ("2", "1", Better::Right));
        assert_eq!(get("routes").change, "\u{2212}1");
        assert_eq!(get("stops").better, Better::Left);
        assert_eq!(get("unassigned").better, Better::Left);
        assert_eq!(get("unassigned").change, "+1");
        assert_eq!(get("distance").better, Better::Right);
        assert_eq!(get("distance").change, "\u{2212}7.0 km");
        assert_eq!(get("cost").right, "7.50 EUR");
        assert_eq!(get("on-time").left, "75 %");
        let same = compare_kpis(&left, &left, "EUR");
        assert!(same.iter().all(|r| r.better == Better::Same && r.change.is_empty()));
    }

    #[test]
    fn the_diff_lists_moved_orders_and_orders_planned_on_one_side_only() {
        let left = summary(vec![route("v1", &["o1", "o2"], 1.0, 0), route("v2", &["o3", "o4"], 1.0, 0)], &["o5"]);
        let right = summary(vec![route("v1", &["o1", "o3", "o5"], 1.0, 0)], &["o2", "o4"]);
        let d = diff(&left, &right);
        assert_eq!(d.moved, vec![MovedOrder { order_id: "o3".into(), from: "v2 · driver of v2".into(), to: "v1 · driver of v1".into() }]);
        assert_eq!(d.only_left, vec![("o2".into(), "v1 · driver of v1".into()), ("o4".into(), "v2 · driver of v2".into())]);
        assert_eq!(d.only_right, vec![("o5".into(), "v1 · driver of v1".into())]);
        assert!(diff(&left, &left).is_empty());
    }

    #[test]
    fn setting_fields_are_read_with_errors_naming_the_field() {
        assert_eq!(ScenarioSettings::parse_service_minutes(" "), Ok(None));
        assert_eq!(ScenarioSettings::parse_service_minutes("5"), Ok(Some(300)));
        assert!(matches!(ScenarioSettings::parse_service_minutes("five"), Err(ScenarioError::BadSetting("service time", _))));
        assert!(matches!(ScenarioSettings::parse_service_minutes("999"), Err(ScenarioError::BadSetting("service time", _))));
        assert_eq!(ScenarioSettings::parse_shift_end("16:30"), Ok(Some(990)));
        assert_eq!(ScenarioSettings::parse_shift_end(""), Ok(None));
        let e = ScenarioSettings::parse_shift_end("25:00").unwrap_err();
        assert!(e.to_string().starts_with("shift end:"), "{e}");
    }

    fn demo() -> doorstep_domain::demo::DemoBusiness {
        let date = time::macros::date!(2026 - 11 - 22);
        doorstep_domain::demo::demo_business(date, time::UtcOffset::UTC)
    }

    #[test]
    fn settings_switch_vehicles_off_cut_shifts_and_replace_service_times() {
        let d = demo();
        let off = d.vehicles[0].id.to_string();
        let settings = ScenarioSettings { off_vehicles: [off.clone()].into(), service_time_s: Some(420), shift_end_min: Some(16 * 60) };
        let (vs, os) = settings.apply(&d.vehicles, &d.orders).unwrap();
        assert!(!vs.iter().find(|v| v.id.as_str() == off).unwrap().active);
        assert!(vs.iter().filter(|v| v.id.as_str() != off).all(|v| v.active && v.shift.end == TimeOfDay::hm(16, 0)));
        assert!(os.iter().all(|o| o.service_time_s == Some(420)));
        assert_eq!(os.len(), d.orders.len());
        // The input is untouched.
        assert!(d.vehicles.iter().all(|v| v.active));

        let all_off = ScenarioSettings { off_vehicles: d.vehicles.iter().map(|v| v.id.to_string()).collect(), ..Default::default() };
        assert_eq!(all_off.apply(&d.vehicles, &d.orders).map(|_| ()), Err(ScenarioError::NoVehicleLeft));
        let too_early = ScenarioSettings { shift_end_min: Some(60), ..Default::default() };
        let e = too_early.apply(&d.vehicles, &d.orders).unwrap_err();
        assert!(e.to_string().starts_with("shift end:"), "{e}");
        assert_eq!(settings.describe(|v| format!("<{v}>")), format!("without <{off}> · service 7 min · shifts end 16:00"));
    }

    #[test]
    fn a_stored_plan_is_fitted_to_the_current_problem() {
        let d = demo();
        let depot = &d.depots[0];
        let input = doorstep_domain::planning::PlanningInput {
            depot,
            vehicles: &d.vehicles,
            drivers: &d.drivers,
            orders: &d.orders,
            date: time::macros::date!(2026 - 11 - 22),
            utc_offset: time::UtcOffset::UTC,
            default_service_time_s: 300,
            travel: doorstep_domain::planning::TravelSettings::default(),
        };
        let problem = doorstep_domain::planning::build_problem(&input).unwrap().problem;
        let (v1, v2) = (problem.vehicles[0].id.clone(), problem.vehicles[1].id.clone());
        let (j1, j2) = (problem.jobs[0].id.clone(), problem.jobs[1].id.clone());
        let stored = PlanEdit {
            routes: vec![
                opt::RouteJobs { vehicle: "gone".into(), jobs: vec![j1.clone()], break_after: None },
                opt::RouteJobs { vehicle: v2.clone(), jobs: vec!["deleted-order".into(), j2.clone(), j1.clone()], break_after: Some(3) },
            ],
            locked_routes: ["gone".to_owned(), v2.clone()].into(),
            locked_jobs: ["deleted-order".to_owned(), j2.clone()].into(),
        };
        let fitted = fit_plan(&stored, &problem);
        assert_eq!(fitted.routes.len(), problem.vehicles.len());
        assert_eq!(fitted.routes[0].vehicle, v1);
        assert!(fitted.routes[0].jobs.is_empty());
        assert_eq!(fitted.routes[1].jobs, vec![j2.clone(), j1]);
        assert_eq!(fitted.routes[1].break_after, Some(2));
        assert_eq!(fitted.locked_routes, [v2].into());
        assert_eq!(fitted.locked_jobs, [j2].into());
    }
}
