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
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
    /// Left out by hand (an edited plan, see [`crate::evaluate()`]); never given by the solver.
    Manual,
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

impl std::fmt::Display for Solution {
    /// A plain-text report: totals, one line per stop, unassigned jobs with hints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.totals;
        writeln!(
            f,
            "vehicles {}  distance {:.2}  duration {:.2}  cost {:.2}  unassigned {}  iterations {}",
            t.vehicles, t.distance, t.duration, t.cost, t.unassigned, self.iterations
        )?;
        for r in &self.routes {
            writeln!(
                f,
                "route {}: {} stops, distance {:.2}, duration {:.2}, cost {:.2}, leaves {:.2}, ends {:.2}",
                r.vehicle,
                r.stops.len(),
                r.distance,
                r.duration,
                r.cost,
                r.departure,
                r.end_time
            )?;
            for (i, s) in r.stops.iter().enumerate() {
                writeln!(
                    f,
                    "  {:>3}. {:<12} arrive {:>10.2}  wait {:>8.2}  start {:>10.2}  leave {:>10.2}  load {:?}",
                    i + 1,
                    s.job,
                    s.arrival,
                    s.waiting,
                    s.service_start,
                    s.departure,
                    s.load
                )?;
                if let Some(b) = r.break_.as_ref().filter(|b| b.after_stops == i + 1) {
                    writeln!(f, "       break {:.2}-{:.2}", b.start, b.end)?;
                }
            }
        }
        for u in &self.unassigned {
            let reason = serde_json::to_value(u.reason).ok();
            let reason = reason.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
            writeln!(f, "unassigned {} ({reason}): {}", u.job, u.hint)?;
        }
        Ok(())
    }
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
