//! The one random-instance generator of the optimizer's property tests, shared
//! by `tests/evaluate.rs` and `src/insertion.rs`'s unit tests through
//! `#[path]`, so the optimizer gains no dependency or feature for it (its
//! unit tests reach the crate as `doorstep_optimizer` through
//! `extern crate self` in `lib.rs`).

use std::ops::{Range, RangeInclusive};

use doorstep_optimizer::model::{Break, Job, Problem, TimeUnit, TimeWindow, Travel, Vehicle};
use proptest::prelude::*;

/// Per job: `(x, y, demand, window start, window length or 0 for none)`.
pub type JobSpec = (u32, u32, i64, u32, u32);
/// Per vehicle: `(capacity, shift end, break window start or none)`.
pub type VehicleSpec = (i64, u32, Option<u32>);
pub type InstanceSpec = (Vec<JobSpec>, Vec<VehicleSpec>);

/// What one suite draws from. Each suite keeps its own ranges, so its cases
/// stay what they were before the generators were merged.
#[derive(Debug, Clone)]
pub struct Ranges {
    /// Both coordinates of a job; the depot stands at the middle of the square.
    pub coordinate: Range<u32>,
    pub demand: RangeInclusive<i64>,
    pub window_start: Range<u32>,
    /// Length of a job's window when it has one (half the jobs have none).
    pub window_length: Range<u32>,
    pub jobs: Range<usize>,
    pub capacity: RangeInclusive<i64>,
    pub shift_end: RangeInclusive<u32>,
    /// Chance that a vehicle takes a break, and where its window may start.
    pub break_probability: f64,
    pub break_start: Range<u32>,
    pub vehicles: Range<usize>,
}

pub fn instance(r: &Ranges) -> impl Strategy<Value = InstanceSpec> + use<> {
    (
        prop::collection::vec(
            (
                r.coordinate.clone(),
                r.coordinate.clone(),
                r.demand.clone(),
                r.window_start.clone(),
                prop_oneof![Just(0u32), r.window_length.clone()],
            ),
            r.jobs.clone(),
        ),
        prop::collection::vec(
            (
                r.capacity.clone(),
                r.shift_end.clone(),
                prop::option::weighted(r.break_probability, r.break_start.clone()),
            ),
            r.vehicles.clone(),
        ),
    )
}

/// The problem of `spec`: one depot (location 0) in the middle, job `j{i}` at
/// location `i + 1` with 5 units of service, vehicles `v{i}` with a shift from
/// 0, a 60-long break window with a 15-long break, no pairs and no locks.
pub fn problem(r: &Ranges, (jobs, vehicles): &InstanceSpec) -> Problem {
    let middle = f64::from(r.coordinate.start + r.coordinate.end) / 2.0;
    let mut points = vec![[middle, middle]];
    let jobs = jobs
        .iter()
        .enumerate()
        .map(|(i, &(x, y, demand, ws, wlen))| {
            points.push([f64::from(x), f64::from(y)]);
            let mut j = Job::new(format!("j{i}"), i + 1);
            j.demand = vec![demand];
            j.service = 5.0;
            if wlen > 0 {
                j.time_windows = vec![TimeWindow::new(f64::from(ws), f64::from(ws + wlen))];
            }
            j
        })
        .collect();
    let vehicles = vehicles
        .iter()
        .enumerate()
        .map(|(i, &(cap, end, brk))| {
            let mut v = Vehicle::new(format!("v{i}"), 0);
            v.capacity = vec![cap];
            v.shift = Some(TimeWindow::new(0.0, f64::from(end)));
            v.cost_per_time = 0.5;
            v.fixed_cost = 3.0;
            v.break_ = brk.map(|s| Break {
                window: TimeWindow::new(f64::from(s), f64::from(s) + 60.0),
                duration: 15.0,
            });
            v
        })
        .collect();
    Problem {
        name: "p".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean { points },
        jobs,
        pairs: vec![],
        vehicles,
        locks: vec![],
    }
}
