//! The optimizer's own problem and solution model, independent of any API types.
//!
//! # JSON format
//!
//! A [`Problem`] is plain JSON (serde). Times and durations share one unit
//! (see [`TimeUnit`]); distances share another. Loads are integers so that
//! capacity checks are exact: scale kilograms to grams if needed.
//!
//! ```json
//! {
//!   "travel": { "type": "euclidean", "points": [[0, 0], [3, 4], [6, 8]] },
//!   "jobs": [
//!     { "id": "a", "location": 1, "service": 5, "demand": [2],
//!       "time_windows": [{ "start": 0, "end": 100 }] },
//!     { "id": "p", "kind": "pickup", "location": 1, "demand": [1] },
//!     { "id": "d", "kind": "delivery", "location": 2, "demand": [1] }
//!   ],
//!   "pairs": [{ "pickup": "p", "delivery": "d" }],
//!   "vehicles": [{ "id": "v1", "start": 0, "end": 0, "capacity": [10] }]
//! }
//! ```
//!
//! A JSON Schema generated from these types is available from
//! [`crate::problem_schema`] and [`crate::solution_schema`].

mod job;
mod problem;
mod solution;
mod travel;
mod vehicle;

pub use job::{Job, JobKind, Pair, TimeWindow};
pub use problem::{FieldError, InvalidProblem, Lock, LockKind, Problem, TimeUnit};
pub use solution::{
    BreakTimes, Route, RouteJobs, Solution, Stop, Totals, Unassigned, UnassignedReason,
};
pub use travel::{LatLon, Travel};
pub use vehicle::{Break, UnderWay, Vehicle};
