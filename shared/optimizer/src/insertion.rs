//! Where one more job fits into given routes: every position that breaks no
//! new rule, ranked by the cost it adds, each with the route's new schedule.
//!
//! Built on the independent checker's route simulation (the one
//! [`crate::evaluate()`] uses), so "feasible" here means exactly what
//! [`crate::check`] says: a candidate is kept only when the whole plan with the
//! job inserted breaks no rule (by kind, vehicle and job) that the plan
//! without it did not already break. On a plan that breaks nothing, every
//! insertion returned passes `check`. Re-optimisation inputs are respected as
//! the checker reads them: completed jobs (`under_way.completed`), the
//! vehicle's under-way start position and time, and locks (a position inside
//! a locked prefix or sequence breaks the lock and is never offered).
//!
//! A job of a pickup-and-delivery pair whose partner is in no route and not
//! completed is inserted together with its partner, pickup first.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checker::{Context, ViolationKind};
use crate::evaluate::{LocatedViolation, evaluate};
use crate::model::{InvalidProblem, Problem, Route, RouteJobs};

/// One way to insert the job: the vehicle's new sequence and schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Insertion {
    pub vehicle: String,
    /// Index of the inserted job (the pickup, for a pair) in the new sequence.
    pub position: usize,
    /// For a pair inserted together: index of the delivery in the new sequence.
    pub delivery_position: Option<usize>,
    /// Route cost after minus before (includes the fixed cost of a vehicle not used before).
    pub added_cost: f64,
    /// The vehicle's new sequence, with its break placed.
    pub jobs: RouteJobs,
    /// The new schedule of that route.
    pub route: Route,
}

/// An insertion at a position chosen by the caller, with the rules it breaks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Placement {
    pub insertion: Insertion,
    /// Rules broken by the plan with the job that the plan without it did not break.
    pub introduced: Vec<LocatedViolation>,
}

/// Why no insertion can be computed at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InsertionError {
    #[error(transparent)]
    InvalidProblem(#[from] InvalidProblem),
    #[error("unknown job '{0}'")]
    UnknownJob(String),
    #[error("unknown vehicle '{0}'")]
    UnknownVehicle(String),
    #[error("job '{job}' is already on vehicle '{vehicle}'; take it off first")]
    AlreadyRouted { job: String, vehicle: String },
    #[error("job '{0}' is already completed")]
    Completed(String),
    #[error(
        "position {position} is out of range for vehicle '{vehicle}' ({len} jobs after insertion)"
    )]
    BadPosition {
        vehicle: String,
        position: usize,
        len: usize,
    },
}

type Key = (ViolationKind, Option<String>, Option<String>);
/// Where the job (pickup) and the paired delivery go in the new sequence.
type At = (usize, Option<usize>);

fn keys(v: &[LocatedViolation]) -> BTreeSet<Key> {
    v.iter()
        .map(|x| (x.kind, x.vehicle.clone(), x.job.clone()))
        .collect()
}

/// The violations of `after` whose (kind, vehicle, job) `before` does not have.
pub fn introduced(
    problem: &Problem,
    before: &[RouteJobs],
    after: &[RouteJobs],
) -> Vec<LocatedViolation> {
    let old = keys(&evaluate(problem, before).violations);
    evaluate(problem, after)
        .violations
        .into_iter()
        .filter(|v| !old.contains(&(v.kind, v.vehicle.clone(), v.job.clone())))
        .collect()
}

/// What the search works on, computed once per call.
struct Setup<'p> {
    problem: &'p Problem,
    ctx: Context<'p>,
    /// The input routes with breaks placed as [`evaluate`] places them.
    base: Vec<RouteJobs>,
    base_keys: BTreeSet<Key>,
    /// Problem indices of the job(s) to insert, pickup first.
    new: Vec<usize>,
}

impl<'p> Setup<'p> {
    fn new(problem: &'p Problem, routes: &[RouteJobs], job: &str) -> Result<Self, InsertionError> {
        problem.validate()?;
        let ctx = Context::new(problem);
        let j = *ctx
            .job_idx
            .get(job)
            .ok_or_else(|| InsertionError::UnknownJob(job.into()))?;
        let routed = |id: &str| {
            routes
                .iter()
                .find(|r| r.jobs.iter().any(|x| x == id))
                .map(|r| r.vehicle.clone())
        };
        let completed = |id: &str| {
            problem.vehicles.iter().any(|v| {
                v.under_way
                    .as_ref()
                    .is_some_and(|u| u.completed.iter().any(|c| c == id))
            })
        };
        if let Some(vehicle) = routed(job) {
            return Err(InsertionError::AlreadyRouted {
                job: job.into(),
                vehicle,
            });
        }
        if completed(job) {
            return Err(InsertionError::Completed(job.into()));
        }
        // A pair whose other job is neither routed nor done goes in together.
        let mut new = vec![j];
        if let Some(p) = problem
            .pairs
            .iter()
            .find(|p| p.pickup == job || p.delivery == job)
        {
            let other = if p.pickup == job {
                &p.delivery
            } else {
                &p.pickup
            };
            if routed(other).is_none() && !completed(other) {
                new = vec![
                    ctx.job_idx[p.pickup.as_str()],
                    ctx.job_idx[p.delivery.as_str()],
                ];
            }
        }
        let evaluation = evaluate(problem, routes);
        let placed = evaluation.solution.route_jobs();
        let base = routes
            .iter()
            .map(|r| {
                placed
                    .iter()
                    .find(|p| p.vehicle == r.vehicle && p.jobs == r.jobs)
                    .cloned()
                    .unwrap_or_else(|| r.clone())
            })
            .collect();
        Ok(Self {
            problem,
            ctx,
            base,
            base_keys: keys(&evaluation.violations),
            new,
        })
    }

    fn vehicle_index(&self, id: &str) -> Result<usize, InsertionError> {
        self.ctx
            .veh_idx
            .get(id)
            .copied()
            .ok_or_else(|| InsertionError::UnknownVehicle(id.into()))
    }

    /// The vehicle's current sequence (problem indices) and route index in `base`.
    fn current(&self, vehicle: &str) -> (Vec<usize>, Option<usize>) {
        match self.base.iter().position(|r| r.vehicle == vehicle) {
            Some(ri) => (
                self.base[ri]
                    .jobs
                    .iter()
                    .filter_map(|id| self.ctx.job_idx.get(id.as_str()).copied())
                    .collect(),
                Some(ri),
            ),
            None => (Vec::new(), None),
        }
    }

    /// Cost of the vehicle's current route (0 when unused).
    fn base_cost(&self, vi: usize, seq: &[usize], ri: Option<usize>) -> f64 {
        if seq.is_empty() {
            return 0.0;
        }
        let brk = ri.and_then(|ri| self.base[ri].break_after);
        self.ctx
            .simulate(ri.unwrap_or(0), vi, seq, brk, &mut |_, _, _| {})
            .cost
    }

    /// The best break placement for `seq` judged on the route alone: fewest
    /// rules newly broken, then cheapest, then earliest end. Returns the new
    /// route-level keys, the break and the schedule.
    fn best_break(&self, vi: usize, ri: usize, seq: &[usize]) -> (usize, Option<usize>, Route) {
        let vehicle = &self.problem.vehicles[vi].id;
        let options: Vec<Option<usize>> = if self.problem.vehicles[vi].break_.is_some() {
            (0..=seq.len()).map(Some).collect()
        } else {
            vec![None]
        };
        let mut best: Option<(usize, Option<usize>, Route)> = None;
        for b in options {
            let mut fresh = 0usize;
            let route = self.ctx.simulate(ri, vi, seq, b, &mut |kind, job, _| {
                let key = (
                    kind,
                    Some(vehicle.clone()),
                    job.map(|j| self.problem.jobs[j].id.clone()),
                );
                if !self.base_keys.contains(&key) {
                    fresh += 1;
                }
            });
            let better = best.as_ref().is_none_or(|(f, _, r)| {
                fresh < *f
                    || (fresh == *f
                        && (route.cost < r.cost - 1e-9
                            || (route.cost <= r.cost + 1e-9 && route.end_time < r.end_time)))
            });
            if better {
                best = Some((fresh, b, route));
            }
        }
        best.expect("at least one break option")
    }

    /// The whole plan with `vehicle`'s route replaced by `jobs`.
    fn plan_with(&self, jobs: &RouteJobs) -> Vec<RouteJobs> {
        let mut plan = self.base.clone();
        match plan.iter_mut().find(|r| r.vehicle == jobs.vehicle) {
            Some(r) => *r = jobs.clone(),
            None => plan.push(jobs.clone()),
        }
        plan
    }

    fn insertion(
        &self,
        vi: usize,
        seq: &[usize],
        at: At,
        brk: Option<usize>,
        route: Route,
        base_cost: f64,
    ) -> Insertion {
        let vehicle = self.problem.vehicles[vi].id.clone();
        let jobs = RouteJobs {
            vehicle: vehicle.clone(),
            jobs: seq
                .iter()
                .map(|&j| self.problem.jobs[j].id.clone())
                .collect(),
            break_after: brk,
        };
        Insertion {
            vehicle,
            position: at.0,
            delivery_position: at.1,
            added_cost: route.cost - base_cost,
            jobs,
            route,
        }
    }

    /// Sequences with the new job(s) inserted, and where.
    fn candidates(&self, seq: &[usize]) -> Vec<(Vec<usize>, At)> {
        let mut out = Vec::new();
        match self.new[..] {
            [one] => {
                for i in 0..=seq.len() {
                    let mut s = seq.to_vec();
                    s.insert(i, one);
                    out.push((s, (i, None)));
                }
            }
            [pickup, delivery] => {
                for i in 0..=seq.len() {
                    for k in i + 1..=seq.len() + 1 {
                        let mut s = seq.to_vec();
                        s.insert(i, pickup);
                        s.insert(k, delivery);
                        out.push((s, (i, Some(k))));
                    }
                }
            }
            _ => {}
        }
        out
    }
}

/// Every feasible insertion of `job` into `routes` (on `vehicle` only, when
/// given), cheapest first (ties: problem vehicle order, then position); at most
/// `limit` of them. `job` must be in no route and not completed. Vehicles
/// without a route in `routes` are tried as new routes.
pub fn insertions(
    problem: &Problem,
    routes: &[RouteJobs],
    job: &str,
    vehicle: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<Insertion>, InsertionError> {
    let setup = Setup::new(problem, routes, job)?;
    let vehicles: Vec<usize> = match vehicle {
        Some(v) => vec![setup.vehicle_index(v)?],
        None => (0..problem.vehicles.len()).collect(),
    };
    // Route-local screening with the checker's simulation, then the whole-plan
    // check (pairs, locks) in cost order until `limit` are found.
    let mut screened: Vec<(f64, usize, usize, Insertion)> = Vec::new();
    for &vi in &vehicles {
        let id = &problem.vehicles[vi].id;
        let (seq, ri) = setup.current(id);
        let base_cost = setup.base_cost(vi, &seq, ri);
        for (n, (s, at)) in setup.candidates(&seq).into_iter().enumerate() {
            let (fresh, brk, route) = setup.best_break(vi, ri.unwrap_or(setup.base.len()), &s);
            if fresh == 0 {
                screened.push((
                    route.cost - base_cost,
                    vi,
                    n,
                    setup.insertion(vi, &s, at, brk, route, base_cost),
                ));
            }
        }
    }
    screened.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (_, _, _, ins) in screened {
        if out.len() >= limit {
            break;
        }
        let plan = setup.plan_with(&ins.jobs);
        let found = evaluate(problem, &plan);
        if found.violations.iter().all(|v| {
            setup
                .base_keys
                .contains(&(v.kind, v.vehicle.clone(), v.job.clone()))
        }) {
            out.push(ins);
        }
    }
    Ok(out)
}

/// `job` inserted on `vehicle` at `position` (for a pair inserted together,
/// the pickup there and the delivery at `delivery_position`, default right
/// after it), with the break placed best, and the rules this breaks anew.
pub fn insert_at(
    problem: &Problem,
    routes: &[RouteJobs],
    job: &str,
    vehicle: &str,
    position: usize,
    delivery_position: Option<usize>,
) -> Result<Placement, InsertionError> {
    let setup = Setup::new(problem, routes, job)?;
    let vi = setup.vehicle_index(vehicle)?;
    let (seq, ri) = setup.current(vehicle);
    let len = seq.len() + setup.new.len();
    let mut s = seq.clone();
    let at = match setup.new[..] {
        [one] if position <= seq.len() => {
            s.insert(position, one);
            (position, None)
        }
        [pickup, delivery] if position <= seq.len() => {
            let k = delivery_position.unwrap_or(position + 1);
            if k <= position || k > seq.len() + 1 {
                return Err(InsertionError::BadPosition {
                    vehicle: vehicle.into(),
                    position: k,
                    len,
                });
            }
            s.insert(position, pickup);
            s.insert(k, delivery);
            (position, Some(k))
        }
        _ => {
            return Err(InsertionError::BadPosition {
                vehicle: vehicle.into(),
                position,
                len,
            });
        }
    };
    let base_cost = setup.base_cost(vi, &seq, ri);
    let (_, brk, route) = setup.best_break(vi, ri.unwrap_or(setup.base.len()), &s);
    let insertion = setup.insertion(vi, &s, at, brk, route, base_cost);
    let found = evaluate(problem, &setup.plan_with(&insertion.jobs));
    let introduced = found
        .violations
        .into_iter()
        .filter(|v| {
            !setup
                .base_keys
                .contains(&(v.kind, v.vehicle.clone(), v.job.clone()))
        })
        .collect();
    Ok(Placement {
        insertion,
        introduced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::model::{
        Job, JobKind, Lock, LockKind, Pair, TimeUnit, TimeWindow, Travel, UnderWay, Vehicle,
    };
    use crate::random_instance::{self, InstanceSpec, Ranges};
    use proptest::prelude::*;

    fn line(jobs: usize) -> Problem {
        let mut v = Vehicle::new("v", 0);
        v.shift = Some(TimeWindow::new(0.0, 1000.0));
        Problem {
            name: "t".into(),
            time_unit: TimeUnit::Unitless,
            travel: Travel::Euclidean {
                points: (0..=jobs).map(|i| [10.0 * i as f64, 0.0]).collect(),
            },
            jobs: (1..=jobs).map(|i| Job::new(format!("j{i}"), i)).collect(),
            pairs: vec![],
            vehicles: vec![v],
            locks: vec![],
        }
    }

    fn route(v: &str, jobs: &[&str]) -> RouteJobs {
        RouteJobs {
            vehicle: v.into(),
            jobs: jobs.iter().map(|s| s.to_string()).collect(),
            break_after: None,
        }
    }

    #[test]
    fn the_cheapest_position_on_a_line_is_between_its_neighbours() {
        let p = line(3);
        let found = insertions(&p, &[route("v", &["j1", "j3"])], "j2", None, None).unwrap();
        assert_eq!(found[0].position, 1);
        assert!(found[0].added_cost.abs() < 1e-9, "{}", found[0].added_cost);
        assert_eq!(found[0].jobs.jobs, vec!["j1", "j2", "j3"]);
        assert_eq!(found.len(), 3);
        assert!(found.windows(2).all(|w| w[0].added_cost <= w[1].added_cost));
    }

    #[test]
    fn a_late_window_leaves_only_the_positions_that_reach_it_in_time() {
        let mut p = line(3);
        p.jobs.iter_mut().for_each(|j| j.service = 5.0);
        p.jobs[2].time_windows = vec![TimeWindow::new(0.0, 30.0)];
        let found = insertions(&p, &[route("v", &["j1", "j2"])], "j3", None, None).unwrap();
        // Straight there at 30 is the only way in time.
        assert_eq!(
            found.iter().map(|i| i.position).collect::<Vec<_>>(),
            vec![0]
        );
        let placed = insert_at(&p, &[route("v", &["j1", "j2"])], "j3", "v", 2, None).unwrap();
        assert_eq!(placed.introduced.len(), 1);
        assert_eq!(placed.introduced[0].kind, ViolationKind::TimeWindow);
        assert_eq!(placed.introduced[0].job.as_deref(), Some("j3"));
    }

    #[test]
    fn a_locked_prefix_and_the_under_way_start_are_kept() {
        let mut p = line(3);
        p.vehicles[0].under_way = Some(UnderWay {
            location: 1,
            time: 100.0,
            completed: vec!["j1".into()],
        });
        p.locks = vec![Lock {
            vehicle: "v".into(),
            jobs: vec!["j2".into()],
            kind: LockKind::Prefix,
        }];
        let found = insertions(&p, &[route("v", &["j2"])], "j3", None, None).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].jobs.jobs, vec!["j2", "j3"]);
        assert!((found[0].route.departure - 100.0).abs() < 1e-9);
        assert_eq!(
            insertions(&p, &[route("v", &["j2"])], "j1", None, None),
            Err(InsertionError::Completed("j1".into()))
        );
    }

    #[test]
    fn a_pair_goes_in_together_pickup_first() {
        let mut p = line(3);
        p.jobs[0].kind = JobKind::Pickup;
        p.pairs = vec![Pair {
            pickup: "j1".into(),
            delivery: "j2".into(),
        }];
        let found = insertions(&p, &[route("v", &["j3"])], "j2", None, None).unwrap();
        assert!(!found.is_empty());
        for f in &found {
            let pi = f.jobs.jobs.iter().position(|j| j == "j1").unwrap();
            let di = f.jobs.jobs.iter().position(|j| j == "j2").unwrap();
            assert!(pi < di);
            assert_eq!((f.position, f.delivery_position), (pi, Some(di)));
            check(&p, &p_plan(&f.jobs)).unwrap();
        }
    }

    fn p_plan(r: &RouteJobs) -> Vec<RouteJobs> {
        vec![r.clone()]
    }

    #[test]
    fn a_job_already_routed_is_refused() {
        let p = line(2);
        assert!(matches!(
            insertions(&p, &[route("v", &["j1"])], "j1", None, None),
            Err(InsertionError::AlreadyRouted { .. })
        ));
    }

    fn ranges() -> Ranges {
        Ranges {
            coordinate: 0..60,
            demand: 0..=4,
            window_start: 0..200,
            window_length: 15..120,
            jobs: 2..7,
            capacity: 3..=10,
            shift_end: 120..=400,
            break_probability: 0.3,
            break_start: 0..150,
            vehicles: 1..3,
        }
    }

    /// A random instance (see `random_instance`); how many jobs are dealt, to
    /// which vehicles; which vehicle is under way; a prefix lock; whether the
    /// last two jobs are a pickup-and-delivery pair (inserted together).
    type Spec = (InstanceSpec, Vec<usize>, bool, bool, bool);

    fn spec() -> impl Strategy<Value = Spec> {
        (
            random_instance::instance(&ranges()),
            prop::collection::vec(0..4usize, 6),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
    }

    fn build((instance, deal, under_way, lock, pair): &Spec) -> (Problem, Vec<RouteJobs>) {
        let mut problem = random_instance::problem(&ranges(), instance);
        let Problem {
            jobs,
            pairs,
            vehicles,
            locks,
            ..
        } = &mut problem;
        // The last job is the one to insert (with its pickup, for a pair);
        // the others are dealt (or left out).
        let mut n = jobs.len() - 1;
        if *pair && jobs.len() >= 3 {
            let delivery = jobs[n].clone();
            jobs[n - 1].kind = JobKind::Pickup;
            jobs[n - 1].demand = delivery.demand.clone();
            pairs.push(Pair {
                pickup: jobs[n - 1].id.clone(),
                delivery: delivery.id,
            });
            n -= 1;
        }
        let mut routes: Vec<RouteJobs> = vehicles.iter().map(|v| route(&v.id, &[])).collect();
        for (k, job) in jobs.iter().take(n).enumerate() {
            let to = deal[k % deal.len()] % (vehicles.len() + 1);
            if to < vehicles.len() {
                routes[to].jobs.push(job.id.clone());
            }
        }
        if *under_way && let Some(first) = routes[0].jobs.first().cloned() {
            // v0 has served its first job and stands there.
            routes[0].jobs.remove(0);
            let at = jobs.iter().find(|j| j.id == first).unwrap().location;
            vehicles[0].under_way = Some(UnderWay {
                location: at,
                time: 40.0,
                completed: vec![first],
            });
        }
        if *lock && let Some(first) = routes[0].jobs.first().cloned() {
            locks.push(Lock {
                vehicle: "v0".into(),
                jobs: vec![first],
                kind: LockKind::Prefix,
            });
        }
        (problem, routes)
    }

    /// Whether any positions and break placement of `new` (one job, or a
    /// pickup and its delivery) on any vehicle introduce no violation, by
    /// brute force with the checker alone.
    fn brute_force_finds_one(problem: &Problem, routes: &[RouteJobs], new: &[String]) -> bool {
        let before = evaluate(problem, routes);
        let old = keys(&before.violations);
        let base = before.solution.route_jobs();
        let base: Vec<RouteJobs> = routes
            .iter()
            .map(|r| {
                base.iter()
                    .find(|b| b.vehicle == r.vehicle)
                    .cloned()
                    .unwrap_or_else(|| r.clone())
            })
            .collect();
        for (ri, r) in base.iter().enumerate() {
            let has_break = problem
                .vehicles
                .iter()
                .any(|v| v.id == r.vehicle && v.break_.is_some());
            let mut sequences = Vec::new();
            for i in 0..=r.jobs.len() {
                let mut jobs = r.jobs.clone();
                jobs.insert(i, new[0].clone());
                match new.get(1) {
                    None => sequences.push(jobs),
                    Some(delivery) => {
                        for k in i + 1..=jobs.len() {
                            let mut with = jobs.clone();
                            with.insert(k, delivery.clone());
                            sequences.push(with);
                        }
                    }
                }
            }
            for jobs in sequences {
                let breaks: Vec<Option<usize>> = if has_break {
                    (0..=jobs.len()).map(Some).collect()
                } else {
                    vec![None]
                };
                for b in breaks {
                    let mut plan = base.clone();
                    plan[ri] = RouteJobs {
                        vehicle: r.vehicle.clone(),
                        jobs: jobs.clone(),
                        break_after: b,
                    };
                    let after = crate::checker::inspect(problem, &plan).unwrap();
                    let new = after.violations.iter().any(|f| {
                        !old.contains(&(
                            f.violation.kind,
                            f.route.map(|x| plan[x].vehicle.clone()),
                            f.job.clone(),
                        ))
                    });
                    if !new {
                        return true;
                    }
                }
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn every_insertion_offered_passes_the_checker_and_none_is_missed(s in spec()) {
            let (problem, routes) = build(&s);
            let job = problem.jobs.last().unwrap().id.clone();
            let new: Vec<String> = match problem.pairs.first() {
                Some(p) => vec![p.pickup.clone(), p.delivery.clone()],
                None => vec![job.clone()],
            };
            let found = insertions(&problem, &routes, &job, None, None).unwrap();
            let feasible_before = check(&problem, &evaluate(&problem, &routes).solution.route_jobs()).is_ok();
            for ins in &found {
                let mut plan: Vec<RouteJobs> = evaluate(&problem, &routes).solution.route_jobs();
                match plan.iter_mut().find(|r| r.vehicle == ins.vehicle) {
                    Some(r) => *r = ins.jobs.clone(),
                    None => plan.push(ins.jobs.clone()),
                }
                if feasible_before {
                    let checked = check(&problem, &plan);
                    prop_assert!(checked.is_ok(), "{:?} {:?}", ins, checked);
                } else {
                    prop_assert!(introduced(&problem, &evaluate(&problem, &routes).solution.route_jobs(), &plan).is_empty());
                }
                prop_assert_eq!(&ins.jobs.jobs[ins.position], &new[0]);
                prop_assert_eq!(ins.delivery_position.map(|d| &ins.jobs.jobs[d]), new.get(1));
                // The schedule is the checker's reading of the new route.
                let e = evaluate(&problem, &plan);
                let r = e.solution.routes.iter().find(|r| r.vehicle == ins.vehicle).unwrap();
                prop_assert!((r.end_time - ins.route.end_time).abs() < 1e-6 && (r.cost - ins.route.cost).abs() < 1e-6);
            }
            prop_assert!(found.windows(2).all(|w| w[0].added_cost <= w[1].added_cost + 1e-9));
            prop_assert_eq!(found.is_empty(), !brute_force_finds_one(&problem, &routes, &new));
            // Restricted to one vehicle: exactly the unrestricted ones on it.
            let only = insertions(&problem, &routes, &job, Some("v0"), None).unwrap();
            let on_v0: Vec<_> = found.iter().filter(|i| i.vehicle == "v0").cloned().collect();
            prop_assert_eq!(only, on_v0);
            // The limit keeps the cheapest.
            let one = insertions(&problem, &routes, &job, None, Some(1)).unwrap();
            prop_assert_eq!(one.first(), found.first());
        }
    }
}
