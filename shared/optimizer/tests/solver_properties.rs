//! Property tests on random small instances: feasibility, justified unassignment,
//! determinism, and optimality against brute force on tiny instances.

use doorstep_optimizer::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct JobSpec {
    x: f64,
    y: f64,
    demand: i64,
    service: f64,
    windows: u8,
    ws: f64,
    wlen: f64,
    skill: bool,
    pair_with_next: bool,
}

#[derive(Debug, Clone)]
struct VehSpec {
    cap: i64,
    shift_end: f64,
    skill: bool,
    open: bool,
    max_stops: Option<usize>,
    brk: Option<f64>,
    speed: f64,
    max_dist: Option<f64>,
    max_duration: Option<f64>,
    fixed: f64,
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        (0..100u32, 0..100u32, 0..=6i64, 0..=10u32),
        (
            0..3u8,
            0..250u32,
            10..150u32,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.25),
        ),
    )
        .prop_map(
            |((x, y, demand, service), (windows, ws, wlen, skill, pair_with_next))| JobSpec {
                x: x as f64,
                y: y as f64,
                demand,
                service: service as f64,
                windows,
                ws: ws as f64,
                wlen: wlen as f64,
                skill,
                pair_with_next,
            },
        )
}

fn veh_spec() -> impl Strategy<Value = VehSpec> {
    (
        (
            4..=15i64,
            150..=400u32,
            prop::bool::weighted(0.5),
            prop::bool::weighted(0.2),
        ),
        (
            prop::option::weighted(0.2, 1..=4usize),
            prop::option::weighted(0.2, 0..200u32),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.2, 150..400u32),
            0..50u32,
            prop::option::weighted(0.2, 100..300u32),
        ),
    )
        .prop_map(
            |(
                (cap, shift_end, skill, open),
                (max_stops, brk, fast, max_dist, fixed, max_duration),
            )| VehSpec {
                cap,
                shift_end: shift_end as f64,
                skill,
                open,
                max_stops,
                brk: brk.map(|b| b as f64),
                speed: if fast { 1.5 } else { 1.0 },
                max_dist: max_dist.map(|d| d as f64),
                max_duration: max_duration.map(|d| d as f64),
                fixed: fixed as f64,
            },
        )
}

fn build(jobs: &[JobSpec], vehs: &[VehSpec]) -> Problem {
    let mut points = vec![[50.0, 50.0]];
    let mut out = Vec::new();
    for (i, s) in jobs.iter().enumerate() {
        points.push([s.x, s.y]);
        let mut j = Job::new(format!("j{i}"), i + 1);
        j.demand = vec![s.demand];
        j.service = s.service;
        j.time_windows = match s.windows {
            0 => vec![],
            1 => vec![TimeWindow::new(s.ws, s.ws + s.wlen)],
            _ => vec![
                TimeWindow::new(s.ws, s.ws + s.wlen / 2.0),
                TimeWindow::new(s.ws + s.wlen, s.ws + 2.0 * s.wlen),
            ],
        };
        if s.skill {
            j.skills = vec!["cold".into()];
        }
        out.push(j);
    }
    let mut pairs = Vec::new();
    let mut i = 0;
    while i + 1 < jobs.len() {
        if jobs[i].pair_with_next {
            out[i].kind = JobKind::Pickup;
            out[i + 1].demand = out[i].demand.clone();
            pairs.push(Pair {
                pickup: out[i].id.clone(),
                delivery: out[i + 1].id.clone(),
            });
            i += 2;
        } else {
            i += 1;
        }
    }
    let vehicles = vehs
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let mut v = Vehicle::new(format!("v{k}"), 0);
            v.capacity = vec![s.cap];
            v.shift = Some(TimeWindow::new(0.0, s.shift_end));
            if s.skill {
                v.skills = vec!["cold".into()];
            }
            if s.open {
                v.end = None;
            }
            v.max_stops = s.max_stops;
            v.break_ = s.brk.map(|b| Break {
                window: TimeWindow::new(b, b + 40.0),
                duration: 10.0,
            });
            v.speed_factor = s.speed;
            v.max_distance = s.max_dist;
            v.max_duration = s.max_duration;
            v.fixed_cost = s.fixed;
            v.cost_per_time = 0.1;
            v
        })
        .collect();
    Problem {
        name: "prop".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean { points },
        jobs: out,
        pairs,
        vehicles,
        locks: vec![],
    }
}

/// The suite's helper: the independent checker must accept the solution and agree on totals.
fn check(p: &Problem, s: &Solution) -> CheckedTotals {
    let t = checker::check(p, &s.route_jobs())
        .unwrap_or_else(|v| panic!("infeasible solution: {v:#?}"));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    assert!(
        close(t.distance, s.totals.distance),
        "distance {} vs {}",
        t.distance,
        s.totals.distance
    );
    assert!(
        close(t.duration, s.totals.duration),
        "duration {} vs {}",
        t.duration,
        s.totals.duration
    );
    assert!(
        close(t.cost, s.totals.cost),
        "cost {} vs {}",
        t.cost,
        s.totals.cost
    );
    assert_eq!(t.vehicles, s.totals.vehicles);
    let mut un: Vec<&str> = s.unassigned.iter().map(|u| u.job.as_str()).collect();
    un.sort_unstable();
    let mut tu: Vec<&str> = t.unassigned.iter().map(|s| s.as_str()).collect();
    tu.sort_unstable();
    assert_eq!(un, tu);
    for r in &s.routes {
        for st in &r.stops {
            assert!(st.arrival <= st.service_start && st.service_start <= st.departure);
            assert!((st.waiting - (st.service_start - st.arrival)).abs() < 1e-9);
        }
    }
    t
}

fn solve_with(
    p: &Problem,
    objective: Objective,
    seed: u64,
    iterations: u64,
    threads: usize,
) -> Solution {
    let config = SolverConfig {
        seed,
        max_iterations: Some(iterations),
        time_limit_ms: None,
        objective,
        threads,
    };
    solve(p, &config, &NoClock, &mut |_| Control::Continue).expect("valid problem")
}

/// PROPTEST_CASES overrides the per-test default (e.g. for a longer soak run).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn objective(k: u8) -> Objective {
    [
        Objective::Cost,
        Objective::Distance,
        Objective::Hierarchical,
    ][k as usize % 3]
}

/// Can this job (with its pair partner) be served alone by this vehicle? Asked of the checker.
fn fits_alone(p: &Problem, job: &str, vehicle: &str) -> bool {
    let mut jobs = vec![job.to_string()];
    for pr in &p.pairs {
        if pr.pickup == job {
            jobs.push(pr.delivery.clone());
        } else if pr.delivery == job {
            jobs.insert(0, pr.pickup.clone());
        }
    }
    let has_break = p
        .vehicles
        .iter()
        .any(|v| v.id == vehicle && v.break_.is_some());
    let options: Vec<Option<usize>> = if has_break {
        (0..=jobs.len()).map(Some).collect()
    } else {
        vec![None]
    };
    options.into_iter().any(|b| {
        let r = RouteJobs {
            vehicle: vehicle.into(),
            jobs: jobs.clone(),
            break_after: b,
        };
        checker::check(p, &[r]).is_ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(40), ..ProptestConfig::default() })]

    #[test]
    fn every_solution_is_feasible(
        jobs in prop::collection::vec(job_spec(), 1..9),
        vehs in prop::collection::vec(veh_spec(), 1..4),
        obj in 0u8..3,
        seed in 0u64..1000,
    ) {
        let p = build(&jobs, &vehs);
        let s = solve_with(&p, objective(obj), seed, 300, 1);
        check(&p, &s);
    }

    #[test]
    fn a_job_is_unassigned_only_if_it_fits_in_no_empty_vehicle(
        jobs in prop::collection::vec(job_spec(), 1..8),
        vehs in prop::collection::vec(veh_spec(), 1..3),
        obj in 0u8..3,
        seed in 0u64..1000,
    ) {
        // As many vehicles of each kind as jobs, so a job that fits alone always has an empty vehicle.
        let fleet: Vec<VehSpec> = vehs.iter().flat_map(|v| std::iter::repeat_n(v.clone(), jobs.len())).collect();
        let p = build(&jobs, &fleet);
        let s = solve_with(&p, objective(obj), seed, 300, 1);
        check(&p, &s);
        for u in &s.unassigned {
            prop_assert_ne!(u.reason, UnassignedReason::NoRoomInFleet, "{:?}", u);
            prop_assert!(!u.hint.is_empty());
            for v in &p.vehicles {
                prop_assert!(!fits_alone(&p, &u.job, &v.id), "{} fits alone in {}", u.job, v.id);
            }
        }
    }

    #[test]
    fn same_seed_gives_the_same_solution(
        jobs in prop::collection::vec(job_spec(), 1..9),
        vehs in prop::collection::vec(veh_spec(), 1..4),
        obj in 0u8..3,
        seed in 0u64..1000,
        threads in 1usize..3,
    ) {
        let p = build(&jobs, &vehs);
        let a = solve_with(&p, objective(obj), seed, 200, threads);
        let b = solve_with(&p, objective(obj), seed, 200, threads);
        prop_assert_eq!(&a, &b);
        check(&p, &a);
    }
}

// ---------- brute force on tiny instances ----------

/// Lean exact evaluator for brute force: identical closed-route vehicles, windows, capacity.
fn route_distance(p: &Problem, seq: &[usize]) -> Option<f64> {
    let v = &p.vehicles[0];
    let (mut t, mut at, mut d) = (0.0f64, v.start, 0.0);
    let load: i64 = seq.iter().map(|&j| p.jobs[j].demand[0]).sum();
    if load > v.capacity[0] {
        return None;
    }
    for &j in seq {
        let job = &p.jobs[j];
        d += p.travel.distance(at, job.location);
        let arr = t + p.travel.duration(at, job.location);
        let w = job.time_windows[0];
        if arr > w.end {
            return None;
        }
        t = arr.max(w.start) + job.service;
        at = job.location;
    }
    d += p.travel.distance(at, v.start);
    t += p.travel.duration(at, v.start);
    (t <= v.shift.unwrap().end).then_some(d)
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// Optimal (vehicles, distance) for the distance and hierarchical objectives.
fn brute_force(p: &Problem) -> Option<((usize, f64), (usize, f64))> {
    let n = p.jobs.len();
    let k = p.vehicles.len();
    let mut best_d: Option<(usize, f64)> = None;
    let mut best_h: Option<(usize, f64)> = None;
    for perm in permutations(n) {
        for cuts in 0u32..(1 << (n - 1)) {
            if cuts.count_ones() as usize + 1 > k {
                continue;
            }
            let mut total = 0.0;
            let mut start = 0;
            let mut ok = true;
            for i in 0..n {
                if i == n - 1 || cuts & (1 << i) != 0 {
                    match route_distance(p, &perm[start..=i]) {
                        Some(d) => total += d,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                    start = i + 1;
                }
            }
            if !ok {
                continue;
            }
            let veh = cuts.count_ones() as usize + 1;
            if best_d.is_none_or(|b| total < b.1) {
                best_d = Some((veh, total));
            }
            if best_h.is_none_or(|b| (veh, total) < b) {
                best_h = Some((veh, total));
            }
        }
    }
    Some((best_d?, best_h?))
}

fn tiny(jobs: &[(u32, u32, i64, u32, u32)], cap: i64, vehicles: usize) -> Problem {
    let mut points = vec![[50.0, 50.0]];
    let mut out = Vec::new();
    for (i, &(x, y, demand, ws, wlen)) in jobs.iter().enumerate() {
        points.push([x as f64, y as f64]);
        let mut j = Job::new(format!("j{i}"), i + 1);
        j.demand = vec![demand];
        j.service = 5.0;
        j.time_windows = vec![TimeWindow::new(ws as f64, (ws + wlen) as f64)];
        out.push(j);
    }
    let vehicles = (0..vehicles)
        .map(|k| {
            let mut v = Vehicle::new(format!("v{k}"), 0);
            v.capacity = vec![cap];
            v.shift = Some(TimeWindow::new(0.0, 400.0));
            v
        })
        .collect();
    Problem {
        name: "tiny".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean { points },
        jobs: out,
        pairs: vec![],
        vehicles,
        locks: vec![],
    }
}

fn tiny_job() -> impl Strategy<Value = (u32, u32, i64, u32, u32)> {
    (0..100u32, 0..100u32, 1..=5i64, 0..200u32, 20..200u32)
}

fn assert_matches_brute_force(p: &Problem) {
    let Some(((_, dist_opt), (veh_h, dist_h))) = brute_force(p) else {
        // No complete solution exists: then some job must stay unassigned.
        let s = solve_with(p, Objective::Distance, 7, 300, 1);
        assert!(!check(p, &s).unassigned.is_empty());
        return;
    };
    let s = solve_with(p, Objective::Distance, 7, 5000, 1);
    let t = check(p, &s);
    assert!(t.unassigned.is_empty());
    assert!(
        (t.distance - dist_opt).abs() < 1e-6,
        "distance {} vs optimum {dist_opt}",
        t.distance
    );
    let s = solve_with(p, Objective::Hierarchical, 7, 5000, 1);
    let t = check(p, &s);
    assert_eq!(t.vehicles, veh_h);
    assert!(
        (t.distance - dist_h).abs() < 1e-6,
        "hierarchical distance {} vs optimum {dist_h}",
        t.distance
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(12), ..ProptestConfig::default() })]

    #[test]
    fn solver_matches_brute_force_optimum_on_tiny_instances(
        jobs in prop::collection::vec(tiny_job(), 2..7),
        cap in 5..15i64,
    ) {
        assert_matches_brute_force(&tiny(&jobs, cap, 3));
    }
}

#[test]
fn solver_matches_brute_force_optimum_with_seven_jobs() {
    let jobs = [
        (10, 20, 3, 0, 150),
        (80, 75, 2, 50, 100),
        (30, 90, 4, 0, 300),
        (60, 10, 1, 100, 60),
        (95, 40, 2, 0, 250),
        (20, 55, 5, 120, 80),
        (70, 60, 3, 30, 200),
    ];
    let p = tiny(&jobs, 10, 3);
    assert!(brute_force(&p).is_some());
    assert_matches_brute_force(&p);
}
