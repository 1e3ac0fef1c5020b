//! The search: configuration, driver loop, progress reporting and output.

mod diagnose;
mod instance;
mod route;
mod search;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::model::{
    BreakTimes, InvalidProblem, Problem, Route, Solution, Stop, Totals, Unassigned,
};
use instance::{Instance, NONE};
use search::{Key, Sol, Worker};

/// What to minimise. Every objective first minimises the total priority of unassigned jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Fixed cost of used vehicles + cost per distance + cost per time (route duration).
    #[default]
    Cost,
    /// Total distance.
    Distance,
    /// Fewest vehicles, then total distance (the classic VRPTW benchmark convention).
    Hierarchical,
}

impl std::str::FromStr for Objective {
    type Err = String;

    /// Parses `cost`, `distance` or `hierarchical` (e.g. a CLI flag).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cost" => Ok(Objective::Cost),
            "distance" => Ok(Objective::Distance),
            "hierarchical" => Ok(Objective::Hierarchical),
            _ => Err(format!(
                "unknown objective '{s}' (expected cost, distance or hierarchical)"
            )),
        }
    }
}

/// Solver settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SolverConfig {
    /// Seed of all randomness: same seed and iteration budget give the same result everywhere.
    #[serde(default)]
    pub seed: u64,
    /// Iterations per search thread. When set, the annealing schedule follows iterations
    /// (deterministic even if a time limit stops the run early).
    #[serde(default)]
    pub max_iterations: Option<u64>,
    /// Wall-time limit read from the injected [`Clock`]. Without either limit,
    /// [`DEFAULT_ITERATIONS`] apply.
    #[serde(default)]
    pub time_limit_ms: Option<u64>,
    #[serde(default)]
    pub objective: Objective,
    /// Independent searches that exchange their best solution every few hundred
    /// iterations. Deterministic for a given seed and thread count; they run in
    /// parallel only with the `parallel` feature.
    #[serde(default = "one")]
    pub threads: usize,
}

fn one() -> usize {
    1
}

impl Default for SolverConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            max_iterations: None,
            time_limit_ms: None,
            objective: Objective::Cost,
            threads: 1,
        }
    }
}

/// Iteration budget used when neither an iteration nor a time limit is given.
pub const DEFAULT_ITERATIONS: u64 = 20_000;
/// Share of the budget spent on fleet minimisation under the hierarchical objective.
const FLEET_SHARE: f64 = 0.5;
/// Iterations per worker between exchanges in multi-threaded runs with an
/// iteration budget (fixed, so that runs are reproducible).
const EPOCH: u64 = 250;
/// Target epoch wall time for time-limited multi-threaded runs, so that the
/// time limit is not overshot on large instances.
const EPOCH_MS: u64 = 50;

/// Anytime report on the best solution so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Progress {
    pub iteration: u64,
    pub elapsed_ms: u64,
    /// Objective value of the best solution (distance for `distance`/`hierarchical`).
    pub best_cost: f64,
    pub unassigned: usize,
    pub vehicles: usize,
    pub distance: f64,
    /// The best solution changed since the previous report.
    pub improved: bool,
}

/// Returned by the progress callback: keep searching or stop (cancellation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Why no solution could be produced.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SolveError {
    #[error(transparent)]
    Invalid(#[from] InvalidProblem),
    #[error("vehicle '{vehicle}': its locked or completed stops cannot be served feasibly")]
    InfeasibleLocks { vehicle: String },
}

struct Reporter<'a> {
    progress: &'a mut dyn FnMut(&Progress) -> Control,
    last_ms: Option<u64>,
    last_key: Option<Key>,
}

impl Reporter<'_> {
    /// Calls back on improvements (at most every 100 ms), every 500 ms, every 1024
    /// iterations, and when `force`d. Returns true to stop.
    fn tick(
        &mut self,
        inst: &Instance,
        best: &Sol,
        key: Key,
        iteration: u64,
        ms: u64,
        force: bool,
    ) -> bool {
        let improved = self.last_key.is_none_or(|k| k != key);
        let since = self.last_ms.map_or(u64::MAX, |l| ms.saturating_sub(l));
        if !(force || (improved && since >= 100) || since >= 500 || iteration.is_multiple_of(1024))
        {
            return false;
        }
        self.last_ms = Some(ms);
        self.last_key = Some(key);
        let p = Progress {
            iteration,
            elapsed_ms: ms,
            best_cost: key.cost,
            unassigned: best
                .unassigned
                .iter()
                .map(|&r| inst.requests[r].len())
                .sum(),
            vehicles: best.vehicles(),
            distance: best.routes.iter().map(|r| r.dist).sum(),
            improved,
        };
        (self.progress)(&p) == Control::Stop
    }
}

/// Solves `problem`. `clock` measures the time limit; `progress` receives anytime
/// reports and can stop the search by returning [`Control::Stop`].
pub fn solve(
    problem: &Problem,
    config: &SolverConfig,
    clock: &dyn Clock,
    progress: &mut dyn FnMut(&Progress) -> Control,
) -> Result<Solution, SolveError> {
    let inst = Instance::build(problem, config.objective)?;
    let threads = config.threads.max(1);
    let budget = match (config.max_iterations, config.time_limit_ms) {
        (Some(i), _) => Some(i),
        (None, None) => Some(DEFAULT_ITERATIONS),
        (None, Some(_)) => None,
    };
    let frac = |iter: u64, ms: u64| match (budget, config.time_limit_ms) {
        (Some(b), _) => iter as f64 / b.max(1) as f64,
        (None, Some(t)) => ms as f64 / t.max(1) as f64,
        (None, None) => 1.0,
    };
    let out_of_time = |ms: u64| config.time_limit_ms.is_some_and(|t| ms >= t);
    let mut workers = (0..threads)
        .map(|i| Worker::new(&inst, config.seed, i as u64))
        .collect::<Result<Vec<_>, usize>>()
        .map_err(|v| SolveError::InfeasibleLocks {
            vehicle: problem.vehicles[v].id.clone(),
        })?;
    let hier = config.objective == Objective::Hierarchical;
    let mut rep = Reporter {
        progress,
        last_ms: None,
        last_key: None,
    };

    if threads == 1 {
        let w = &mut workers[0];
        loop {
            let ms = clock.elapsed_ms();
            if budget.is_some_and(|b| w.iterations >= b) || out_of_time(ms) {
                break;
            }
            step(w, frac(w.iterations, ms), hier);
            if rep.tick(&inst, &w.best, w.best_key, w.iterations, ms, false) {
                break;
            }
        }
    } else {
        let mut epoch = 0u64;
        let mut epoch_len = if budget.is_some() { EPOCH } else { 10 };
        loop {
            let ms = clock.elapsed_ms();
            let done = workers
                .iter()
                .all(|w| budget.is_some_and(|b| w.iterations >= b));
            if done || out_of_time(ms) {
                break;
            }
            let run = |w: &mut Worker| {
                for _ in 0..epoch_len {
                    if budget.is_some_and(|b| w.iterations >= b) {
                        break;
                    }
                    step(w, frac(w.iterations, ms), hier);
                }
            };
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                workers.par_iter_mut().for_each(run);
            }
            #[cfg(not(feature = "parallel"))]
            workers.iter_mut().for_each(run);
            epoch += 1;
            if budget.is_none() {
                let took = clock.elapsed_ms().saturating_sub(ms);
                epoch_len = match (epoch_len * EPOCH_MS).checked_div(took) {
                    Some(len) => len.clamp(1, 1000),
                    None => (epoch_len * 2).min(1000),
                };
            }
            let bi = best_worker(&workers);
            // Exchange every 4 epochs so the searches keep some diversity.
            if epoch.is_multiple_of(4) {
                let (best, key) = (workers[bi].best.clone(), workers[bi].best_key);
                for w in workers.iter_mut() {
                    if key.better_than(&w.best_key) {
                        w.adopt(&best, key);
                    }
                }
            }
            let iters: u64 = workers.iter().map(|w| w.iterations).sum();
            // Report at least every 4 epochs so cancellation works without a real clock.
            let force = epoch.is_multiple_of(4);
            if rep.tick(
                &inst,
                &workers[bi].best,
                workers[bi].best_key,
                iters,
                clock.elapsed_ms(),
                force,
            ) {
                break;
            }
        }
    }
    let bi = best_worker(&workers);
    let iterations = workers.iter().map(|w| w.iterations).sum();
    let best = &workers[bi].best;
    rep.last_ms = None;
    rep.tick(
        &inst,
        best,
        workers[bi].best_key,
        iterations,
        clock.elapsed_ms(),
        true,
    );
    Ok(build_solution(problem, &inst, best, iterations))
}

fn step(w: &mut Worker, frac: f64, hierarchical: bool) {
    if w.in_fleet_phase() && (frac >= FLEET_SHARE || w.fleet_at_lower_bound()) {
        w.end_fleet_phase();
        w.sa_start = frac.min(FLEET_SHARE);
    }
    // The annealing schedule spans the budget left after fleet minimisation.
    let sa_frac = if hierarchical {
        let s = if w.in_fleet_phase() {
            FLEET_SHARE
        } else {
            w.sa_start
        };
        ((frac - s) / (1.0 - s)).max(0.0)
    } else {
        frac
    };
    w.step(sa_frac);
}

/// Lowest index among the best workers (deterministic tie-break).
fn best_worker(ws: &[Worker]) -> usize {
    let mut bi = 0;
    for (i, w) in ws.iter().enumerate() {
        if w.best_key.better_than(&ws[bi].best_key) {
            bi = i;
        }
    }
    bi
}

fn build_solution(problem: &Problem, inst: &Instance, sol: &Sol, iterations: u64) -> Solution {
    let mut routes = Vec::new();
    for r in sol.routes.iter().filter(|r| r.used()) {
        let vd = &inst.vehs[r.v];
        let veh = &problem.vehicles[r.v];
        let dims = inst.dims;
        let mut load: Vec<i64> = vec![0; dims];
        for &j in &r.stops {
            if inst.jobs[j].from_start {
                for (l, d) in load.iter_mut().zip(&inst.jobs[j].demand) {
                    *l += d;
                }
            }
        }
        let start_load = load.clone();
        let mut t = vd.t0;
        let mut at = vd.start_loc;
        let mut brk = None;
        let take = |t: &mut f64, after: usize, brk: &mut Option<BreakTimes>| {
            if let Some((ws, _, d)) = vd.brk {
                let s = t.max(ws);
                *brk = Some(BreakTimes {
                    after_stops: after,
                    start: s,
                    end: s + d,
                });
                *t = s + d;
            }
        };
        if r.brk_after == Some(0) {
            take(&mut t, 0, &mut brk);
        }
        let mut stops = Vec::with_capacity(r.stops.len());
        for (k, &j) in r.stops.iter().enumerate() {
            let job = &inst.jobs[j];
            let mut arrival = t + inst.t(r.v, at, job.loc);
            let start = job.earliest_start(arrival).unwrap_or(arrival);
            if k == 0 && r.brk_after != Some(0) {
                // The vehicle leaves late enough not to wait at its first stop.
                arrival = (r.start_time + inst.t(r.v, at, job.loc)).min(start);
            }
            t = start + job.service;
            at = job.loc;
            for (l, d) in load.iter_mut().zip(&job.demand) {
                if job.pickup { *l += d } else { *l -= d }
            }
            stops.push(Stop {
                job: problem.jobs[j].id.clone(),
                location: job.loc,
                arrival,
                waiting: start - arrival,
                service_start: start,
                departure: t,
                load: load.clone(),
            });
            if r.brk_after == Some(k + 1) {
                take(&mut t, k + 1, &mut brk);
            }
        }
        let end_time = t + inst.t(r.v, at, vd.end_loc);
        let duration = end_time - r.start_time;
        routes.push(Route {
            vehicle: veh.id.clone(),
            start_location: vd.start_loc,
            departure: r.start_time,
            start_load,
            stops,
            break_: brk,
            end_location: if vd.end_loc == NONE {
                None
            } else {
                Some(vd.end_loc)
            },
            end_time,
            distance: r.dist,
            duration,
            cost: vd.fixed_cost + vd.cpd * r.dist + vd.cpt * duration,
        });
    }
    let mut unassigned: Vec<(usize, Unassigned)> = Vec::new();
    for &r in &sol.unassigned {
        let (reason, hint) = diagnose::diagnose(problem, inst, sol, r);
        for &j in &inst.requests[r] {
            unassigned.push((
                j,
                Unassigned {
                    job: problem.jobs[j].id.clone(),
                    reason,
                    hint: hint.clone(),
                },
            ));
        }
    }
    unassigned.sort_by_key(|u| u.0);
    let totals = Totals {
        vehicles: routes.len(),
        distance: routes.iter().map(|r| r.distance).sum(),
        duration: routes.iter().map(|r| r.duration).sum(),
        cost: routes.iter().map(|r| r.cost).sum(),
        unassigned: unassigned.len(),
    };
    Solution {
        routes,
        unassigned: unassigned.into_iter().map(|u| u.1).collect(),
        totals,
        iterations,
    }
}
