//! The independent checker on hand-made routes with known schedules.

use doorstep_optimizer::*;

/// Points on a line: location i at x = 10 i; depot 0.
fn line_problem() -> Problem {
    let mut jobs: Vec<Job> = (1..=4).map(|i| Job::new(format!("j{i}"), i)).collect();
    for j in &mut jobs {
        j.demand = vec![2];
        j.service = 1.0;
    }
    let mut v = Vehicle::new("v1", 0);
    v.capacity = vec![6];
    v.shift = Some(TimeWindow::new(0.0, 100.0));
    let mut w = v.clone();
    w.id = "v2".into();
    Problem {
        name: "line".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean {
            points: (0..5).map(|i| [10.0 * i as f64, 0.0]).collect(),
        },
        jobs,
        pairs: vec![],
        vehicles: vec![v, w],
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

/// The suite's helper: runs the checker and returns the violation kinds, sorted.
fn check(p: &Problem, routes: &[RouteJobs]) -> Result<CheckedTotals, Vec<ViolationKind>> {
    checker::check(p, routes).map_err(|v| {
        let mut k: Vec<ViolationKind> = v.into_iter().map(|x| x.kind).collect();
        k.sort();
        k
    })
}

#[test]
fn feasible_routes_give_exact_totals() {
    let p = line_problem();
    let t = check(
        &p,
        &[route("v1", &["j1", "j2", "j3"]), route("v2", &["j4"])],
    )
    .unwrap();
    assert_eq!(t.vehicles, 2);
    assert_eq!(t.distance, 60.0 + 80.0);
    // v1: 60 travel + 3 service; v2: 80 travel + 1 service.
    assert_eq!(t.duration, 63.0 + 81.0);
    assert_eq!(t.cost, 140.0);
    assert!(t.unassigned.is_empty());
}

#[test]
fn unserved_jobs_are_listed() {
    let t = check(&line_problem(), &[route("v1", &["j2"])]).unwrap();
    assert_eq!(t.unassigned, ["j1", "j3", "j4"]);
}

#[test]
fn capacity_overload_is_reported() {
    assert_eq!(
        check(&line_problem(), &[route("v1", &["j1", "j2", "j3", "j4"])]).unwrap_err(),
        [ViolationKind::Capacity]
    );
}

#[test]
fn waiting_is_allowed_but_late_arrival_is_not() {
    let mut p = line_problem();
    p.jobs[0].time_windows = vec![TimeWindow::new(50.0, 60.0)];
    p.jobs[1].time_windows = vec![TimeWindow::new(0.0, 70.0)];
    // Leaves at 40 to start j1 at 50 without waiting; j2 at 61, back at 82.
    let t = check(&p, &[route("v1", &["j1", "j2"])]).unwrap();
    assert_eq!(t.duration, 82.0 - 40.0);
    // Visiting j2 first means waiting at j1 (from 30 to 50): that waiting counts.
    let t = check(&p, &[route("v1", &["j2", "j1"])]).unwrap();
    assert_eq!(t.duration, 51.0 + 10.0);
    p.jobs[1].time_windows = vec![TimeWindow::new(0.0, 15.0)];
    assert_eq!(
        check(&p, &[route("v1", &["j1", "j2"])]).unwrap_err(),
        [ViolationKind::TimeWindow]
    );
}

#[test]
fn a_later_window_can_be_used() {
    let mut p = line_problem();
    p.jobs[1].time_windows = vec![TimeWindow::new(0.0, 5.0), TimeWindow::new(30.0, 40.0)];
    let t = check(&p, &[route("v1", &["j2"])]).unwrap();
    // Leaves at 10 to arrive at 30 for the second window.
    assert_eq!(t.duration, 20.0 + 1.0 + 20.0);
}

#[test]
fn shift_end_max_distance_duration_and_stops_are_enforced() {
    let mut p = line_problem();
    p.vehicles[0].shift = Some(TimeWindow::new(0.0, 50.0));
    p.vehicles[0].max_distance = Some(70.0);
    p.vehicles[0].max_duration = Some(60.0);
    p.vehicles[0].max_stops = Some(1);
    let kinds = check(&p, &[route("v1", &["j2", "j4"])]).unwrap_err();
    assert_eq!(
        kinds,
        [
            ViolationKind::Shift,
            ViolationKind::MaxDistance,
            ViolationKind::MaxDuration,
            ViolationKind::MaxStops
        ]
    );
}

#[test]
fn duplicates_unknown_ids_and_skills_are_reported() {
    let mut p = line_problem();
    p.jobs[2].skills = vec!["fridge".into()];
    let kinds = check(
        &p,
        &[
            route("v1", &["j1", "j3"]),
            route("v2", &["j1", "zz"]),
            route("v9", &[]),
        ],
    )
    .unwrap_err();
    assert_eq!(
        kinds,
        [
            ViolationKind::UnknownVehicle,
            ViolationKind::UnknownJob,
            ViolationKind::DuplicateJob,
            ViolationKind::Skills
        ]
    );
}

#[test]
fn pickup_and_delivery_order_and_loads() {
    let mut p = line_problem();
    p.jobs[0].kind = JobKind::Pickup;
    p.jobs[3].demand = vec![5];
    p.jobs[0].demand = vec![5];
    p.pairs = vec![Pair {
        pickup: "j1".into(),
        delivery: "j4".into(),
    }];
    p.vehicles[0].shift = Some(TimeWindow::new(0.0, 200.0));
    // Start load 0 (j4 is paired), +5 at j1, -5 at j4.
    check(&p, &[route("v1", &["j1", "j4"])]).unwrap();
    assert_eq!(
        check(&p, &[route("v1", &["j4", "j1"])]).unwrap_err(),
        [ViolationKind::Pair]
    );
    assert_eq!(
        check(&p, &[route("v1", &["j1"]), route("v2", &["j4"])]).unwrap_err(),
        [ViolationKind::Pair]
    );
    assert_eq!(
        check(&p, &[route("v1", &["j1"])]).unwrap_err(),
        [ViolationKind::Pair]
    );
    // The pair's 5 plus an unpaired delivery's 2 exceed 6 while both are on board.
    assert_eq!(
        check(&p, &[route("v1", &["j1", "j2", "j4"])]).unwrap_err(),
        [ViolationKind::Capacity]
    );
    check(&p, &[route("v1", &["j2", "j1", "j4"])]).unwrap();
}

#[test]
fn breaks_must_be_planned_inside_their_window() {
    let mut p = line_problem();
    p.vehicles[0].break_ = Some(Break {
        window: TimeWindow::new(10.0, 15.0),
        duration: 5.0,
    });
    let mut r = route("v1", &["j1", "j2"]);
    assert_eq!(
        check(&p, std::slice::from_ref(&r)).unwrap_err(),
        [ViolationKind::Break]
    );
    r.break_after = Some(1); // after j1 at t=11: break 11..16, j2 at 26.
    let t = check(&p, std::slice::from_ref(&r)).unwrap();
    assert_eq!(t.duration, 16.0 + 10.0 + 1.0 + 20.0);
    r.break_after = Some(2); // after j2 at 22 > 15.
    assert_eq!(check(&p, &[r]).unwrap_err(), [ViolationKind::Break]);
}

#[test]
fn open_routes_end_at_the_last_stop() {
    let mut p = line_problem();
    p.vehicles[0].end = None;
    let t = check(&p, &[route("v1", &["j1", "j2"])]).unwrap();
    assert_eq!((t.distance, t.duration), (20.0, 22.0));
}

#[test]
fn locks_and_under_way_vehicles() {
    let mut p = line_problem();
    p.locks = vec![Lock {
        vehicle: "v1".into(),
        jobs: vec!["j2".into(), "j3".into()],
        kind: LockKind::Sequence,
    }];
    check(&p, &[route("v1", &["j1", "j2", "j3"])]).unwrap();
    assert_eq!(
        check(&p, &[route("v1", &["j2", "j1", "j3"])]).unwrap_err(),
        [ViolationKind::Lock]
    );
    p.locks[0].kind = LockKind::Prefix;
    assert_eq!(
        check(&p, &[route("v1", &["j1", "j2", "j3"])]).unwrap_err(),
        [ViolationKind::Lock]
    );
    p.locks.clear();
    p.vehicles[0].under_way = Some(UnderWay {
        location: 3,
        time: 40.0,
        completed: vec!["j3".into()],
    });
    // Starts at x=30 at t=40: j4 at 50, back at depot at 91.
    let t = check(&p, &[route("v1", &["j4"])]).unwrap();
    assert_eq!((t.distance, t.duration), (10.0 + 40.0, 51.0));
    assert!(!t.unassigned.contains(&"j3".to_string()));
    assert_eq!(
        check(&p, &[route("v1", &["j3"])]).unwrap_err(),
        [ViolationKind::CompletedJobPlanned]
    );
}

#[test]
fn invalid_problems_are_reported_not_checked() {
    let mut p = line_problem();
    p.jobs[0].location = 99;
    assert_eq!(check(&p, &[]).unwrap_err(), [ViolationKind::InvalidProblem]);
}
