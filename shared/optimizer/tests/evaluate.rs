//! `evaluate` against the independent checker and the solver: random plans,
//! feasible or not, must be read the same way by all three.

use doorstep_optimizer::*;
use proptest::prelude::*;

fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n)
}

#[path = "support/random_instance.rs"]
mod random_instance;

use random_instance::{InstanceSpec, Ranges};

fn ranges() -> Ranges {
    Ranges {
        coordinate: 0..100,
        demand: 0..=5,
        window_start: 0..300,
        window_length: 20..200,
        jobs: 1..12,
        capacity: 5..=20,
        shift_end: 150..=500,
        break_probability: 0.4,
        break_start: 0..200,
        vehicles: 1..4,
    }
}

fn spec() -> impl Strategy<Value = InstanceSpec> {
    random_instance::instance(&ranges())
}

fn build(spec: &InstanceSpec) -> Problem {
    random_instance::problem(&ranges(), spec)
}

/// Deals the jobs, in a shuffled order, onto the vehicles (or leaves them out).
fn deal(problem: &Problem, order: &[usize], to: &[usize]) -> Vec<RouteJobs> {
    let n = problem.vehicles.len();
    let mut routes: Vec<RouteJobs> = problem
        .vehicles
        .iter()
        .map(|v| RouteJobs {
            vehicle: v.id.clone(),
            jobs: vec![],
            break_after: None,
        })
        .collect();
    for (k, &j) in order.iter().enumerate() {
        let slot = to[k % to.len()] % (n + 1);
        if slot < n {
            routes[slot]
                .jobs
                .push(problem.jobs[j % problem.jobs.len()].id.clone());
        }
    }
    for r in &mut routes {
        r.jobs.dedup();
        let mut seen = std::collections::BTreeSet::new();
        r.jobs.retain(|j| seen.insert(j.clone()));
    }
    routes
}

fn kinds(v: impl IntoIterator<Item = ViolationKind>) -> Vec<ViolationKind> {
    let mut k: Vec<_> = v.into_iter().collect();
    k.sort();
    k
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(200), ..ProptestConfig::default() })]

    #[test]
    fn evaluate_and_checker_agree_on_any_sequences(s in spec(), order in prop::collection::vec(0..12usize, 0..14), to in prop::collection::vec(0..5usize, 1..6)) {
        let problem = build(&s);
        let routes = deal(&problem, &order, &to);
        let e = evaluate(&problem, &routes);
        let placed = e.solution.route_jobs();
        match check(&problem, &placed) {
            Ok(t) => {
                prop_assert!(e.feasible(), "{:?}", e.violations);
                prop_assert!((t.distance - e.solution.totals.distance).abs() < 1e-6);
                prop_assert!((t.cost - e.solution.totals.cost).abs() < 1e-6);
                prop_assert_eq!(t.unassigned.len(), e.solution.unassigned.len());
            }
            Err(v) => prop_assert_eq!(kinds(v.iter().map(|x| x.kind)), kinds(e.violations.iter().map(|x| x.kind))),
        }
        // Every route as given, in the given order.
        let given: Vec<_> = routes.iter().filter(|r| !r.jobs.is_empty()).map(|r| (&r.vehicle, &r.jobs)).collect();
        let got: Vec<_> = placed.iter().map(|r| (&r.vehicle, &r.jobs)).collect();
        prop_assert_eq!(given, got);
        // A route-level violation names a vehicle of the plan.
        for v in &e.violations {
            prop_assert!(v.vehicle.as_ref().is_some_and(|id| routes.iter().any(|r| &r.vehicle == id)), "{:?}", v);
        }
    }

    #[test]
    fn evaluate_reproduces_the_solvers_schedule(s in spec(), seed in 0..50u64) {
        let problem = build(&s);
        let config = SolverConfig { seed, max_iterations: Some(150), ..Default::default() };
        let solution = solve(&problem, &config, &NoClock, &mut |_| Control::Continue).unwrap();
        let e = evaluate(&problem, &solution.route_jobs());
        prop_assert!(e.feasible(), "{:?}", e.violations);
        prop_assert_eq!(e.solution.routes.len(), solution.routes.len());
        for (a, b) in e.solution.routes.iter().zip(&solution.routes) {
            prop_assert_eq!(&a.vehicle, &b.vehicle);
            prop_assert!((a.departure - b.departure).abs() < 1e-6 && (a.end_time - b.end_time).abs() < 1e-6, "{:?} vs {:?}", a, b);
            prop_assert!((a.distance - b.distance).abs() < 1e-6 && (a.cost - b.cost).abs() < 1e-6);
            prop_assert_eq!(&a.break_, &b.break_);
            for (x, y) in a.stops.iter().zip(&b.stops) {
                prop_assert_eq!(&x.job, &y.job);
                prop_assert_eq!(&x.load, &y.load);
                for (p, q) in [(x.arrival, y.arrival), (x.service_start, y.service_start), (x.departure, y.departure), (x.waiting, y.waiting)] {
                    prop_assert!((p - q).abs() < 1e-6, "{:?} vs {:?}", x, y);
                }
            }
        }
    }
}

#[test]
fn an_invalid_problem_is_one_violation_and_no_routes() {
    let mut p = build(&(vec![(1, 1, 1, 0, 0)], vec![(5, 100, None)]));
    p.jobs[0].location = 99;
    let e = evaluate(&p, &[]);
    assert_eq!(
        kinds(e.violations.iter().map(|v| v.kind)),
        vec![ViolationKind::InvalidProblem]
    );
    assert!(e.solution.routes.is_empty());
}

#[test]
fn a_broken_lock_is_located_on_its_vehicle() {
    let mut p = build(&(
        vec![(1, 1, 1, 0, 0), (2, 2, 1, 0, 0)],
        vec![(5, 500, None), (5, 500, None)],
    ));
    p.locks = vec![Lock {
        vehicle: "v0".into(),
        jobs: vec!["j0".into(), "j1".into()],
        kind: LockKind::Prefix,
    }];
    let routes = vec![
        RouteJobs {
            vehicle: "v0".into(),
            jobs: vec!["j1".into(), "j0".into()],
            break_after: None,
        },
        RouteJobs {
            vehicle: "v1".into(),
            jobs: vec![],
            break_after: None,
        },
    ];
    let e = evaluate(&p, &routes);
    assert_eq!(e.violations.len(), 1);
    assert_eq!(
        (
            e.violations[0].kind,
            e.violations[0].vehicle.as_deref(),
            e.violations[0].job.as_deref()
        ),
        (ViolationKind::Lock, Some("v0"), Some("j0"))
    );
}
