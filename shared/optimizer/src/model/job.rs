use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A closed interval `[start, end]` of time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimeWindow {
    pub start: f64,
    pub end: f64,
}

impl TimeWindow {
    pub fn new(start: f64, end: f64) -> Self {
        Self { start, end }
    }
}

/// Whether a job's demand is unloaded (delivery) or loaded (pickup) at its stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Goods are on board from the route start (or from the paired pickup) and unloaded here.
    #[default]
    Delivery,
    /// Goods are loaded here and stay on board to the route end (or to the paired delivery).
    Pickup,
}

fn one() -> f64 {
    1.0
}

/// A stop to be served by at most one vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    /// Unique id; appears in solutions and errors.
    pub id: String,
    #[serde(default)]
    pub kind: JobKind,
    /// Index into the travel locations.
    pub location: usize,
    /// Service duration at the stop.
    #[serde(default)]
    pub service: f64,
    /// Load per capacity dimension; may be shorter than the vehicles' capacity (missing = 0).
    #[serde(default)]
    pub demand: Vec<i64>,
    /// Hard windows in which service must start, ascending and disjoint. Empty = any time.
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
    /// Penalty weight for leaving the job unassigned (default 1). Every objective first
    /// minimises the sum of the priorities of unassigned jobs.
    #[serde(default = "one")]
    pub priority: f64,
    /// Skills a vehicle must have (all of them) to serve this job.
    #[serde(default)]
    pub skills: Vec<String>,
}

impl Job {
    /// A delivery at `location` without windows, demand or skills.
    pub fn new(id: impl Into<String>, location: usize) -> Self {
        Self {
            id: id.into(),
            kind: JobKind::Delivery,
            location,
            service: 0.0,
            demand: Vec::new(),
            time_windows: Vec::new(),
            priority: 1.0,
            skills: Vec::new(),
        }
    }
}

/// A pickup-and-delivery pair: both on the same vehicle, pickup first.
/// The pickup job must have kind `pickup`, the delivery kind `delivery`, and equal demands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pair {
    pub pickup: String,
    pub delivery: String,
}
