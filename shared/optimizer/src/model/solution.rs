use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A route given only as the order of its jobs: the input of [`crate::checker::check`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteJobs {
    pub vehicle: String,
    pub jobs: Vec<String>,
    /// For a vehicle with a break: the number of jobs served before it. The break is taken
    /// at that stop (or at the start for 0) before driving on, starting as soon as both
    /// the service is over and the break window has opened.
    #[serde(default)]
    pub break_after: Option<usize>,
}

/// Times and load at one stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stop {
    pub job: String,
    pub location: usize,
    pub arrival: f64,
    pub waiting: f64,
    pub service_start: f64,
    pub departure: f64,
    /// Load on board after the stop, per capacity dimension.
    pub load: Vec<i64>,
}

/// When the break was taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BreakTimes {
    pub after_stops: usize,
    pub start: f64,
    pub end: f64,
}

/// One vehicle's planned route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    pub vehicle: String,
    pub start_location: usize,
    pub departure: f64,
    /// Load on board when leaving the start.
    pub start_load: Vec<i64>,
    pub stops: Vec<Stop>,
    #[serde(rename = "break")]
    pub break_: Option<BreakTimes>,
    /// End location and arrival time; `None` location for open routes (end at last stop).
    pub end_location: Option<usize>,
    pub end_time: f64,
    pub distance: f64,
    pub duration: f64,
    pub cost: f64,
}

/// Why a job was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No vehicle has all the required skills.
    Skills,
    /// The demand exceeds the capacity of every suitable vehicle.
    Capacity,
    /// No suitable vehicle can reach it within its max distance.
    Unreachable,
    /// No suitable vehicle can start service inside a time window.
    TimeWindow,
    /// Service fits but the vehicle cannot finish by its shift end / max duration.
    ShiftOrMaxDuration,
    /// The vehicle's break cannot be placed.
    Break,
    /// The only allowed vehicle has max_stops 0.
    MaxStops,
    /// Fits alone in an empty vehicle, but no vehicle was left or it did not fit with the other jobs.
    NoRoomInFleet,
}

/// An unassigned job with a machine-readable reason and a human hint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Unassigned {
    pub job: String,
    pub reason: UnassignedReason,
    pub hint: String,
}

/// Solution totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub vehicles: usize,
    pub distance: f64,
    pub duration: f64,
    pub cost: f64,
    pub unassigned: usize,
}

/// A solver result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Solution {
    /// Used vehicles only, in the problem's vehicle order.
    pub routes: Vec<Route>,
    pub unassigned: Vec<Unassigned>,
    pub totals: Totals,
    pub iterations: u64,
}

impl Solution {
    /// The routes as job-id sequences, e.g. for [`crate::checker::check`].
    pub fn route_jobs(&self) -> Vec<RouteJobs> {
        self.routes
            .iter()
            .map(|r| RouteJobs {
                vehicle: r.vehicle.clone(),
                jobs: r.stops.iter().map(|s| s.job.clone()).collect(),
                break_after: r.break_.as_ref().map(|b| b.after_stops),
            })
            .collect()
    }
}
