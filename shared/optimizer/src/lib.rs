//! Doorstep's route optimizer: a rich vehicle-routing solver (time windows,
//! capacities, pickups and deliveries, skills, shifts, breaks, limits, locks,
//! routes under way) using SISR ruin-and-recreate with simulated annealing.
//!
//! Pure computation: no I/O, no system clock (inject a [`Clock`]), no global
//! state, deterministic for a given seed and iteration budget on every platform
//! (including wasm32).
//!
//! # API
//!
//! * [`Problem`] (serde JSON, see [`model`] for the format and [`problem_schema`]
//!   for its JSON Schema), [`Problem::validate`], [`solomon::parse`].
//! * [`solve`]`(&Problem, &SolverConfig, &dyn Clock, &mut dyn FnMut(&Progress) -> Control)
//!   -> Result<Solution, SolveError>`.
//! * [`Solution`]: routes with per-stop schedule and load, totals, unassigned jobs
//!   with a [`UnassignedReason`] and a hint, iteration count.
//! * [`checker::check`]`(&Problem, &[RouteJobs]) -> Result<CheckedTotals, Vec<Violation>>`:
//!   an independent feasibility checker.
//! * [`evaluate()`]`(&Problem, &[RouteJobs]) -> Evaluation`: the schedule of given job
//!   sequences (a hand-edited plan) with every broken rule located on its vehicle and job.
//!
//! ```
//! use doorstep_optimizer::*;
//! let problem = solomon::parse("tiny.txt", "T\nVEHICLE\n2 10\nCUSTOMER\n\
//!     0 0 0 0 0 100 0\n1 3 4 5 0 50 1\n2 6 8 5 0 50 1\n").unwrap();
//! let config = SolverConfig { max_iterations: Some(200), objective: Objective::Distance, ..Default::default() };
//! let solution = solve(&problem, &config, &NoClock, &mut |_| Control::Continue).unwrap();
//! let totals = checker::check(&problem, &solution.route_jobs()).unwrap();
//! assert!((totals.distance - 20.0).abs() < 1e-9);
//! ```

pub mod checker;
pub mod clock;
pub mod evaluate;
pub mod insertion;
mod math;
pub mod model;
pub mod rng;
pub mod solomon;
mod solver;

// The unit tests share the integration tests' random-instance generator, which
// names this crate `doorstep_optimizer`; no feature or dependency for it.
#[cfg(test)]
extern crate self as doorstep_optimizer;
#[cfg(test)]
#[path = "../tests/support/random_instance.rs"]
mod random_instance;

pub use checker::{CheckedTotals, Violation, ViolationKind, check};
pub use clock::{Clock, FnClock, NoClock, StepClock};
pub use evaluate::{Evaluation, LocatedViolation, evaluate};
pub use model::*;
pub use solver::{
    Control, DEFAULT_ITERATIONS, Objective, Progress, SolveError, SolverConfig, solve,
};

/// JSON Schema of the [`Problem`] format, generated from the types.
pub fn problem_schema() -> serde_json::Value {
    schemars::schema_for!(Problem).to_value()
}

/// JSON Schema of the [`Solution`] format.
pub fn solution_schema() -> serde_json::Value {
    schemars::schema_for!(Solution).to_value()
}

/// JSON Schema of [`SolverConfig`].
pub fn config_schema() -> serde_json::Value {
    schemars::schema_for!(SolverConfig).to_value()
}
