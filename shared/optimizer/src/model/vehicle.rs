use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TimeWindow;

/// A break of `duration` that must start within `window`. It is taken at a stop
/// (or at the start) before driving on; see [`super::RouteJobs::break_after`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Break {
    pub window: TimeWindow,
    pub duration: f64,
}

/// A route already under way: the vehicle is at `location` at `time`, and the
/// `completed` jobs are done (they are neither planned nor reported unassigned).
/// A pair whose pickup is completed must have its delivery on this vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnderWay {
    pub location: usize,
    pub time: f64,
    #[serde(default)]
    pub completed: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// A vehicle and its driver's shift. The vehicle leaves its start as late as it can
/// without delaying its first service, but not before the shift start (or the
/// under-way time); with the break planned before the first stop it leaves at the
/// shift start. Route duration (for `cost_per_time` and `max_duration`) runs from
/// that departure to the arrival at the end (or the last departure for open routes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vehicle {
    pub id: String,
    /// Start location index.
    pub start: usize,
    /// End location index; `None` = open route (ends at the last stop).
    #[serde(default)]
    pub end: Option<usize>,
    /// Working window: leave at `start`, finish (arrive at end / leave last stop) by `end`.
    /// `None` = unbounded.
    #[serde(default)]
    pub shift: Option<TimeWindow>,
    /// Capacity per dimension. All vehicles must have the same number of dimensions;
    /// empty = unlimited.
    #[serde(default)]
    pub capacity: Vec<i64>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// Cost charged when the vehicle is used (`cost` objective).
    #[serde(default)]
    pub fixed_cost: f64,
    /// Cost per distance unit (`cost` objective), default 1.
    #[serde(default = "one")]
    pub cost_per_distance: f64,
    /// Cost per time unit of route duration (`cost` objective), default 0.
    #[serde(default)]
    pub cost_per_time: f64,
    #[serde(default)]
    pub max_distance: Option<f64>,
    #[serde(default)]
    pub max_duration: Option<f64>,
    #[serde(default)]
    pub max_stops: Option<usize>,
    #[serde(default, rename = "break")]
    pub break_: Option<Break>,
    /// Travel durations are divided by this (2 = twice as fast). Default 1.
    #[serde(default = "one")]
    pub speed_factor: f64,
    #[serde(default)]
    pub under_way: Option<UnderWay>,
}

impl Vehicle {
    /// A closed-route vehicle from and to `depot` with default costs and no limits.
    pub fn new(id: impl Into<String>, depot: usize) -> Self {
        Self {
            id: id.into(),
            start: depot,
            end: Some(depot),
            shift: None,
            capacity: Vec::new(),
            skills: Vec::new(),
            fixed_cost: 0.0,
            cost_per_distance: 1.0,
            cost_per_time: 0.0,
            max_distance: None,
            max_duration: None,
            max_stops: None,
            break_: None,
            speed_factor: 1.0,
            under_way: None,
        }
    }

    /// Where and when the vehicle actually starts (under-way position overrides).
    pub fn effective_start(&self) -> (usize, f64) {
        match &self.under_way {
            Some(u) => (u.location, u.time),
            None => (self.start, self.shift.map_or(0.0, |s| s.start)),
        }
    }
}
