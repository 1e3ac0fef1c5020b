//! Solver behaviour on hand-made instances, one feature at a time.

use doorstep_optimizer::*;

/// The suite's helper: the independent checker must accept the solution and agree on totals.
fn check(p: &Problem, s: &Solution) -> CheckedTotals {
    let t = checker::check(p, &s.route_jobs())
        .unwrap_or_else(|v| panic!("infeasible solution: {v:#?}"));
    assert!((t.distance - s.totals.distance).abs() < 1e-6);
    assert!((t.cost - s.totals.cost).abs() < 1e-6);
    assert_eq!(t.vehicles, s.totals.vehicles);
    assert_eq!(t.unassigned.len(), s.unassigned.len());
    t
}

fn run(p: &Problem, objective: Objective, iterations: u64) -> Solution {
    let config = SolverConfig {
        seed: 3,
        max_iterations: Some(iterations),
        objective,
        ..Default::default()
    };
    solve(p, &config, &NoClock, &mut |_| Control::Continue).expect("solves")
}

/// Depot at the origin; one location per point.
fn problem(points: &[[f64; 2]], jobs: Vec<Job>, vehicles: Vec<Vehicle>) -> Problem {
    let mut pts = vec![[0.0, 0.0]];
    pts.extend_from_slice(points);
    Problem {
        name: "t".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean { points: pts },
        jobs,
        pairs: vec![],
        vehicles,
        locks: vec![],
    }
}

fn job(id: &str, loc: usize, demand: i64) -> Job {
    let mut j = Job::new(id, loc);
    j.demand = vec![demand];
    j
}

fn vehicle(id: &str, cap: i64) -> Vehicle {
    let mut v = Vehicle::new(id, 0);
    v.capacity = vec![cap];
    v
}

fn route_of<'a>(s: &'a Solution, job: &str) -> Option<&'a Route> {
    s.routes
        .iter()
        .find(|r| r.stops.iter().any(|st| st.job == job))
}

#[test]
fn pickup_precedes_its_delivery_on_the_same_route() {
    let pts = [[10.0, 0.0], [-10.0, 0.0], [0.0, 10.0], [0.0, -10.0]];
    let mut jobs = vec![
        job("p1", 1, 3),
        job("d1", 2, 3),
        job("p2", 3, 3),
        job("d2", 4, 3),
    ];
    jobs[0].kind = JobKind::Pickup;
    jobs[2].kind = JobKind::Pickup;
    let mut p = problem(&pts, jobs, vec![vehicle("a", 4), vehicle("b", 4)]);
    p.pairs = vec![
        Pair {
            pickup: "p1".into(),
            delivery: "d1".into(),
        },
        Pair {
            pickup: "p2".into(),
            delivery: "d2".into(),
        },
    ];
    let s = run(&p, Objective::Distance, 500);
    let t = check(&p, &s);
    assert!(t.unassigned.is_empty());
    let r = route_of(&s, "p1").unwrap();
    let pos = |id: &str| r.stops.iter().position(|st| st.job == id).unwrap();
    assert!(pos("p1") < pos("d1"));
    // Loads: 3 on board between pickup and delivery, never more than 4.
    assert!(
        s.routes
            .iter()
            .all(|r| r.stops.iter().all(|st| st.load[0] <= 4))
    );
}

#[test]
fn skills_send_jobs_to_capable_vehicles() {
    let mut jobs = vec![job("cold", 1, 1), job("dry", 2, 1)];
    jobs[0].skills = vec!["fridge".into()];
    let mut fridge = vehicle("fridge", 10);
    fridge.skills = vec!["fridge".into()];
    let p = problem(
        &[[10.0, 0.0], [10.0, 1.0]],
        jobs,
        vec![vehicle("plain", 10), fridge],
    );
    let s = run(&p, Objective::Distance, 200);
    check(&p, &s);
    assert_eq!(route_of(&s, "cold").unwrap().vehicle, "fridge");
}

#[test]
fn a_later_window_is_used_when_the_first_is_missed() {
    let mut j = job("a", 1, 1);
    j.time_windows = vec![TimeWindow::new(0.0, 5.0), TimeWindow::new(100.0, 110.0)];
    let p = problem(&[[50.0, 0.0]], vec![j], vec![vehicle("v", 5)]);
    let s = run(&p, Objective::Distance, 50);
    check(&p, &s);
    // The vehicle leaves at 50 so as not to wait at the stop.
    let st = &s.routes[0].stops[0];
    assert_eq!(s.routes[0].departure, 50.0);
    assert_eq!(
        (st.arrival, st.waiting, st.service_start),
        (100.0, 0.0, 100.0)
    );
    assert_eq!(s.routes[0].duration, 50.0 + 50.0);
}

#[test]
fn max_duration_counts_from_the_late_departure() {
    // Reachable only with a late departure: leaving at 0 would take 200 > 120.
    let mut j = job("a", 1, 1);
    j.time_windows = vec![TimeWindow::new(150.0, 160.0)];
    let mut v = vehicle("v", 5);
    v.max_duration = Some(120.0);
    let mut early = job("b", 2, 1);
    early.time_windows = vec![TimeWindow::new(0.0, 20.0)];
    let p = problem(
        &[[50.0, 0.0], [10.0, 0.0]],
        vec![j, early],
        vec![
            v.clone(),
            Vehicle {
                id: "w".into(),
                ..v
            },
        ],
    );
    let s = run(&p, Objective::Cost, 200);
    let t = check(&p, &s);
    assert!(t.unassigned.is_empty());
    // Serving b (at 10, window until 20) then a would last 200: they need two vehicles.
    assert_eq!(t.vehicles, 2);
}

#[test]
fn breaks_are_scheduled_inside_their_window() {
    let jobs: Vec<Job> = (1..=4).map(|i| job(&format!("j{i}"), i, 1)).collect();
    let mut v = vehicle("v", 10);
    v.break_ = Some(Break {
        window: TimeWindow::new(20.0, 25.0),
        duration: 30.0,
    });
    v.cost_per_time = 1.0;
    let p = problem(
        &[[10.0, 0.0], [20.0, 0.0], [30.0, 0.0], [40.0, 0.0]],
        jobs,
        vec![v],
    );
    let s = run(&p, Objective::Cost, 300);
    check(&p, &s);
    let b = s.routes[0].break_.as_ref().expect("break planned");
    assert!(b.start >= 20.0 && b.start <= 25.0 && b.end - b.start == 30.0);
    assert_eq!(s.routes[0].end_time, 80.0 + 30.0);
}

#[test]
fn open_routes_stop_at_the_last_job() {
    let mut v = vehicle("v", 10);
    v.end = None;
    let p = problem(
        &[[10.0, 0.0], [20.0, 0.0]],
        vec![job("a", 1, 1), job("b", 2, 1)],
        vec![v],
    );
    let s = run(&p, Objective::Distance, 100);
    check(&p, &s);
    assert_eq!(s.totals.distance, 20.0);
    assert_eq!(s.routes[0].end_location, None);
}

#[test]
fn cost_objective_trades_fixed_cost_against_distance() {
    // Two jobs in opposite directions: one vehicle drives 40, two drive 40 as well but pay twice.
    let mk = |fixed: f64| {
        let mut a = vehicle("a", 10);
        a.fixed_cost = fixed;
        let mut b = a.clone();
        b.id = "b".into();
        problem(
            &[[10.0, 0.0], [-10.0, 0.0]],
            vec![job("x", 1, 1), job("y", 2, 1)],
            vec![a, b],
        )
    };
    let p = mk(100.0);
    let s = run(&p, Objective::Cost, 200);
    assert_eq!(check(&p, &s).vehicles, 1);
    assert_eq!(s.totals.cost, 140.0);
}

#[test]
fn hierarchical_uses_fewer_vehicles_than_distance() {
    // Interleaved windows: one vehicle must zig-zag (120) while two drive 80 in total.
    let pts = [[10.0, 0.0], [-10.0, 0.0], [20.0, 0.0], [-20.0, 0.0]];
    let times = [10.0, 40.0, 80.0, 120.0];
    let jobs: Vec<Job> = (0..4)
        .map(|i| {
            let mut j = job(&format!("j{i}"), i + 1, 1);
            j.time_windows = vec![TimeWindow::new(times[i], times[i])];
            j
        })
        .collect();
    let p = problem(&pts, jobs, vec![vehicle("a", 10), vehicle("b", 10)]);
    let d = run(&p, Objective::Distance, 400);
    let td = check(&p, &d);
    assert_eq!((td.vehicles, td.distance), (2, 80.0));
    let h = run(&p, Objective::Hierarchical, 400);
    let th = check(&p, &h);
    assert_eq!((th.vehicles, th.distance), (1, 120.0));
}

#[test]
fn unassigned_jobs_get_a_reason_and_a_hint() {
    let mut jobs = vec![
        job("skill", 1, 1),
        job("heavy", 1, 50),
        job("late", 2, 1),
        job("ok", 1, 1),
    ];
    jobs[0].skills = vec!["crane".into()];
    // Reachable at 600 s at the earliest; the window closes 720 s before that.
    jobs[2].time_windows = vec![TimeWindow::new(-200.0, -120.0)];
    let mut v = vehicle("v", 10);
    v.shift = Some(TimeWindow::new(0.0, 10_000.0));
    let mut p = problem(&[[100.0, 0.0], [600.0, 0.0]], jobs, vec![v]);
    p.time_unit = TimeUnit::Seconds;
    let s = run(&p, Objective::Cost, 100);
    check(&p, &s);
    let reason = |id: &str| {
        s.unassigned
            .iter()
            .find(|u| u.job == id)
            .map(|u| (u.reason, u.hint.clone()))
    };
    assert_eq!(reason("skill").unwrap().0, UnassignedReason::Skills);
    assert_eq!(reason("heavy").unwrap().0, UnassignedReason::Capacity);
    let (r, hint) = reason("late").unwrap();
    assert_eq!(r, UnassignedReason::TimeWindow);
    assert!(
        hint.contains("fits if the window ends 12 min later"),
        "{hint}"
    );
    assert!(reason("ok").is_none());
}

#[test]
fn shift_too_short_and_full_fleet_are_explained() {
    let mut v = vehicle("v", 1);
    v.shift = Some(TimeWindow::new(0.0, 30.0));
    let p = problem(
        &[[20.0, 0.0], [5.0, 0.0], [5.0, 1.0]],
        vec![job("far", 1, 1), job("a", 2, 1), job("b", 3, 1)],
        vec![v],
    );
    let s = run(&p, Objective::Distance, 100);
    check(&p, &s);
    let far = s.unassigned.iter().find(|u| u.job == "far").unwrap();
    assert_eq!(far.reason, UnassignedReason::ShiftOrMaxDuration);
    assert!(far.hint.contains("10.00 time units longer"), "{}", far.hint);
    let other = s
        .unassigned
        .iter()
        .find(|u| u.job == "a" || u.job == "b")
        .unwrap();
    assert_eq!(other.reason, UnassignedReason::NoRoomInFleet);
    assert!(
        other.hint.contains("fits with one more vehicle"),
        "{}",
        other.hint
    );
}

#[test]
fn locked_sequences_and_prefixes_are_kept() {
    let pts: Vec<[f64; 2]> = (1..=6)
        .map(|i| [10.0 * i as f64, if i % 2 == 0 { 5.0 } else { -5.0 }])
        .collect();
    let jobs: Vec<Job> = (1..=6).map(|i| job(&format!("j{i}"), i, 1)).collect();
    let mut p = problem(&pts, jobs, vec![vehicle("a", 10), vehicle("b", 10)]);
    p.locks = vec![
        Lock {
            vehicle: "b".into(),
            jobs: vec!["j6".into(), "j1".into()],
            kind: LockKind::Prefix,
        },
        Lock {
            vehicle: "a".into(),
            jobs: vec!["j5".into(), "j2".into()],
            kind: LockKind::Sequence,
        },
    ];
    let s = run(&p, Objective::Distance, 300);
    check(&p, &s);
    let b = s.routes.iter().find(|r| r.vehicle == "b").unwrap();
    assert_eq!(
        (b.stops[0].job.as_str(), b.stops[1].job.as_str()),
        ("j6", "j1")
    );
    let a = s.routes.iter().find(|r| r.vehicle == "a").unwrap();
    let ids: Vec<&str> = a.stops.iter().map(|s| s.job.as_str()).collect();
    assert!(ids.windows(2).any(|w| w == ["j5", "j2"]), "{ids:?}");
}

#[test]
fn infeasible_locks_are_an_error() {
    let mut j = job("a", 1, 1);
    j.time_windows = vec![TimeWindow::new(0.0, 1.0)];
    let mut p = problem(&[[50.0, 0.0]], vec![j], vec![vehicle("v", 10)]);
    p.locks = vec![Lock {
        vehicle: "v".into(),
        jobs: vec!["a".into()],
        kind: LockKind::Prefix,
    }];
    let config = SolverConfig {
        max_iterations: Some(10),
        ..Default::default()
    };
    let err = solve(&p, &config, &NoClock, &mut |_| Control::Continue).unwrap_err();
    assert_eq!(
        err,
        SolveError::InfeasibleLocks {
            vehicle: "v".into()
        }
    );
}

#[test]
fn under_way_vehicle_starts_where_it_is_and_keeps_picked_up_goods() {
    let pts = [[10.0, 0.0], [20.0, 0.0], [30.0, 0.0], [-30.0, 0.0]];
    let mut jobs = vec![
        job("p", 1, 2),
        job("d", 2, 2),
        job("x", 3, 1),
        job("y", 4, 1),
    ];
    jobs[0].kind = JobKind::Pickup;
    let mut a = vehicle("a", 10);
    a.under_way = Some(UnderWay {
        location: 1,
        time: 100.0,
        completed: vec!["p".into()],
    });
    let mut p = problem(&pts, jobs, vec![a, vehicle("b", 10)]);
    p.pairs = vec![Pair {
        pickup: "p".into(),
        delivery: "d".into(),
    }];
    let s = run(&p, Objective::Distance, 300);
    check(&p, &s);
    assert!(
        s.routes
            .iter()
            .all(|r| r.stops.iter().all(|st| st.job != "p"))
    );
    let a = s.routes.iter().find(|r| r.vehicle == "a").unwrap();
    assert!(a.stops.iter().any(|st| st.job == "d"));
    assert_eq!((a.start_location, a.departure), (1, 100.0));
    assert!(a.stops[0].arrival >= 100.0);
}

#[test]
fn progress_reports_improvements_and_stop_cancels() {
    let text = include_str!("data/R101.txt");
    let p = solomon::parse("R101.txt", text).unwrap();
    let mut reports: Vec<Progress> = Vec::new();
    let config = SolverConfig {
        seed: 1,
        max_iterations: Some(100_000),
        objective: Objective::Distance,
        ..Default::default()
    };
    let s = solve(&p, &config, &NoClock, &mut |pr| {
        reports.push(pr.clone());
        if pr.iteration >= 2048 {
            Control::Stop
        } else {
            Control::Continue
        }
    })
    .unwrap();
    check(&p, &s);
    assert!(
        s.iterations >= 2048 && s.iterations < 100_000,
        "{}",
        s.iterations
    );
    assert!(reports.len() >= 3);
    assert!(
        reports
            .windows(2)
            .all(|w| w[1].best_cost <= w[0].best_cost + 1e-9)
    );
    let last = reports.last().unwrap();
    assert!((last.best_cost - s.totals.distance).abs() < 1e-6);
    assert_eq!(last.vehicles, s.totals.vehicles);
}

#[test]
fn time_limit_uses_the_injected_clock() {
    let p = solomon::parse("C101.txt", include_str!("data/C101.txt")).unwrap();
    let config = SolverConfig {
        time_limit_ms: Some(40),
        objective: Objective::Distance,
        ..Default::default()
    };
    // One millisecond per clock reading; the solver reads it about once per iteration.
    let s = solve(&p, &config, &StepClock::new(1), &mut |_| Control::Continue).unwrap();
    check(&p, &s);
    assert!(s.iterations > 0 && s.iterations <= 40, "{}", s.iterations);
}

#[test]
fn threads_are_deterministic_and_feasible() {
    let p = solomon::parse("RC101.txt", include_str!("data/RC101.txt")).unwrap();
    let config = SolverConfig {
        seed: 5,
        max_iterations: Some(600),
        objective: Objective::Hierarchical,
        threads: 2,
        ..Default::default()
    };
    let a = solve(&p, &config, &NoClock, &mut |_| Control::Continue).unwrap();
    let b = solve(&p, &config, &NoClock, &mut |_| Control::Continue).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.iterations, 1200);
    assert!(check(&p, &a).unassigned.is_empty());
}

#[test]
fn different_seeds_explore_differently() {
    let p = solomon::parse("R101.txt", include_str!("data/R101.txt")).unwrap();
    let s = |seed| {
        let c = SolverConfig {
            seed,
            max_iterations: Some(300),
            objective: Objective::Distance,
            ..Default::default()
        };
        solve(&p, &c, &NoClock, &mut |_| Control::Continue).unwrap()
    };
    assert_ne!(s(1).routes, s(2).routes);
}

#[test]
fn c101_reaches_the_best_known_distance() {
    let p = solomon::parse("C101.txt", include_str!("data/C101.txt")).unwrap();
    let s = run(&p, Objective::Distance, 4000);
    let t = check(&p, &s);
    assert!(t.unassigned.is_empty());
    assert_eq!(t.vehicles, 10);
    assert!((t.distance - 828.94).abs() < 0.01, "{}", t.distance);
}

#[test]
fn json_problem_in_json_solution_out_with_haversine_travel() {
    let json = r#"{
        "time_unit": "seconds",
        "travel": { "type": "haversine", "speed_m_per_s": 8.0,
                    "points": [{"lat": 48.8566, "lon": 2.3522}, {"lat": 48.8606, "lon": 2.3376},
                               {"lat": 48.8530, "lon": 2.3499}, {"lat": 48.8738, "lon": 2.2950}] },
        "jobs": [
            { "id": "louvre", "location": 1, "service": 300, "demand": [1] },
            { "id": "notre-dame", "location": 2, "service": 300, "demand": [1],
              "time_windows": [{ "start": 0, "end": 3600 }] },
            { "id": "etoile", "location": 3, "service": 300, "demand": [1] }
        ],
        "vehicles": [{ "id": "bike", "start": 0, "end": 0, "capacity": [2], "cost_per_time": 0.01,
                       "shift": { "start": 0, "end": 14400 } },
                     { "id": "van", "start": 0, "capacity": [5], "fixed_cost": 50 }]
    }"#;
    let p: Problem = serde_json::from_str(json).unwrap();
    let s = run(&p, Objective::Cost, 300);
    let t = check(&p, &s);
    assert!(t.unassigned.is_empty());
    let out = serde_json::to_string(&s).unwrap();
    let back: Solution = serde_json::from_str(&out).unwrap();
    assert_eq!(back.route_jobs(), s.route_jobs());
    assert!((back.totals.cost - s.totals.cost).abs() < 1e-9);
    assert!(out.contains("\"service_start\""));
}

#[test]
fn problems_without_jobs_or_with_only_locked_jobs_solve() {
    let p = problem(&[[1.0, 0.0]], vec![], vec![vehicle("v", 1)]);
    let s = run(&p, Objective::Hierarchical, 50);
    assert!(s.routes.is_empty() && s.unassigned.is_empty());
    let mut p = problem(&[[1.0, 0.0]], vec![job("a", 1, 1)], vec![vehicle("v", 1)]);
    p.locks = vec![Lock {
        vehicle: "v".into(),
        jobs: vec!["a".into()],
        kind: LockKind::Prefix,
    }];
    let s = run(&p, Objective::Hierarchical, 50);
    assert_eq!(check(&p, &s).vehicles, 1);
}

#[test]
fn text_report_lists_routes_stops_and_unassigned_jobs() {
    let mut far = job("far", 2, 1);
    far.time_windows = vec![TimeWindow::new(0.0, 1.0)];
    let p = problem(
        &[[3.0, 4.0], [50.0, 0.0]],
        vec![job("a", 1, 1), far],
        vec![vehicle("v", 5)],
    );
    let s = run(&p, Objective::Distance, 50);
    check(&p, &s);
    let text = s.to_string();
    assert!(text.starts_with("vehicles 1  distance 10.00"), "{text}");
    assert!(text.contains("route v: 1 stops"), "{text}");
    assert!(text.contains("1. a"), "{text}");
    assert!(
        text.contains(
            "unassigned far (time_window): fits if the window ends 49.00 time units later"
        ),
        "{text}"
    );
}

#[test]
fn multi_threaded_runs_respect_time_limits_and_cancellation() {
    let p = solomon::parse("C101.txt", include_str!("data/C101.txt")).unwrap();
    let config = SolverConfig {
        time_limit_ms: Some(400),
        objective: Objective::Hierarchical,
        threads: 2,
        ..Default::default()
    };
    // 25 ms per clock reading: epochs shrink to stay near their 50 ms target.
    let s = solve(&p, &config, &StepClock::new(25), &mut |_| Control::Continue).unwrap();
    assert!(check(&p, &s).unassigned.is_empty());
    assert!(s.iterations > 0);
    let config = SolverConfig {
        max_iterations: Some(1_000_000),
        threads: 2,
        ..Default::default()
    };
    let mut calls = 0;
    let s = solve(&p, &config, &NoClock, &mut |_| {
        calls += 1;
        if calls >= 3 {
            Control::Stop
        } else {
            Control::Continue
        }
    })
    .unwrap();
    check(&p, &s);
    assert!(s.iterations < 20_000, "{}", s.iterations);
}
