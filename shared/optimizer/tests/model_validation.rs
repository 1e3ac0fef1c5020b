//! Problem validation, JSON round-trips and the generated JSON Schema.

use doorstep_optimizer::*;

fn base() -> Problem {
    let mut jobs: Vec<Job> = (1..=4).map(|i| Job::new(format!("j{i}"), i)).collect();
    for j in &mut jobs {
        j.demand = vec![1];
    }
    let mut v = Vehicle::new("v1", 0);
    v.capacity = vec![10];
    Problem {
        name: "t".into(),
        time_unit: TimeUnit::Unitless,
        travel: Travel::Euclidean {
            points: (0..5).map(|i| [i as f64, 0.0]).collect(),
        },
        jobs,
        pairs: vec![],
        vehicles: vec![v],
        locks: vec![],
    }
}

fn fields(p: &Problem) -> Vec<String> {
    p.validate()
        .expect_err("should be invalid")
        .errors
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn valid_problem_passes() {
    base().validate().unwrap();
}

#[test]
fn window_ending_before_start_names_the_window() {
    let mut p = base();
    p.jobs[3].time_windows = vec![TimeWindow::new(10.0, 5.0)];
    let err = p.validate().unwrap_err();
    assert_eq!(err.errors[0].field, "jobs[3].time_windows[0]");
    assert!(
        err.to_string()
            .contains("jobs[3].time_windows[0]: end 5 is before start 10"),
        "{err}"
    );
}

#[test]
fn overlapping_windows_are_rejected() {
    let mut p = base();
    p.jobs[0].time_windows = vec![TimeWindow::new(0.0, 10.0), TimeWindow::new(5.0, 20.0)];
    assert_eq!(fields(&p), ["jobs[0].time_windows[1]"]);
}

#[test]
fn demand_with_more_dimensions_than_capacity_is_rejected() {
    let mut p = base();
    p.jobs[1].demand = vec![1, 2];
    let err = p.validate().unwrap_err();
    assert_eq!(err.errors[0].field, "jobs[1].demand");
    assert!(err.errors[0].message.contains("2 dimensions"), "{err}");
}

#[test]
fn location_out_of_matrix_bounds_is_rejected() {
    let mut p = base();
    p.jobs[2].location = 9;
    p.vehicles[0].end = Some(7);
    assert_eq!(fields(&p), ["jobs[2].location", "vehicles[0].end"]);
}

#[test]
fn unknown_pair_references_are_rejected() {
    let mut p = base();
    p.jobs[0].kind = JobKind::Pickup;
    p.pairs = vec![Pair {
        pickup: "j1".into(),
        delivery: "nope".into(),
    }];
    let err = p.validate().unwrap_err();
    assert_eq!(err.errors[0].field, "pairs[0].delivery");
    assert!(err.errors[0].message.contains("unknown job id 'nope'"));
}

#[test]
fn pair_kinds_and_demands_must_match() {
    let mut p = base();
    p.jobs[1].demand = vec![2];
    p.pairs = vec![Pair {
        pickup: "j1".into(),
        delivery: "j2".into(),
    }];
    assert_eq!(fields(&p), ["pairs[0].pickup", "pairs[0].delivery"]);
}

#[test]
fn duplicate_ids_and_bad_vehicles_are_rejected() {
    let mut p = base();
    p.jobs[1].id = "j1".into();
    let mut v2 = Vehicle::new("v1", 0);
    v2.capacity = vec![1, 2];
    v2.speed_factor = 0.0;
    v2.shift = Some(TimeWindow::new(5.0, 1.0));
    p.vehicles.push(v2);
    assert_eq!(
        fields(&p),
        [
            "jobs[1].id",
            "vehicles[1].id",
            "vehicles[1].shift",
            "vehicles[1].capacity",
            "vehicles[1].speed_factor"
        ]
    );
}

#[test]
fn matrix_shape_errors_name_the_row() {
    let mut p = base();
    p.travel = Travel::Matrix {
        distances: vec![vec![0.0; 5]; 5],
        durations: vec![
            vec![0.0; 5],
            vec![0.0; 4],
            vec![0.0; 5],
            vec![0.0; 5],
            vec![0.0, -1.0, 0.0, 0.0, 0.0],
        ],
    };
    assert_eq!(
        fields(&p),
        ["travel.durations[1]", "travel.durations[4][1]"]
    );
}

#[test]
fn locks_and_completed_jobs_are_checked() {
    let mut p = base();
    p.locks = vec![Lock {
        vehicle: "ghost".into(),
        jobs: vec!["j1".into(), "zz".into()],
        kind: LockKind::Prefix,
    }];
    p.vehicles[0].under_way = Some(UnderWay {
        location: 0,
        time: 0.0,
        completed: vec!["j1".into()],
    });
    assert_eq!(
        fields(&p),
        ["locks[0].vehicle", "locks[0].jobs[0]", "locks[0].jobs[1]"]
    );
}

#[test]
fn json_round_trip_with_defaults() {
    let json = r#"{
        "travel": { "type": "matrix", "distances": [[0, 1], [1, 0]], "durations": [[0, 2], [2, 0]] },
        "jobs": [{ "id": "a", "location": 1, "time_windows": [{ "start": 0, "end": 9 }] }],
        "vehicles": [{ "id": "v", "start": 0, "break": { "window": { "start": 1, "end": 5 }, "duration": 1 } }]
    }"#;
    let p: Problem = serde_json::from_str(json).unwrap();
    p.validate().unwrap();
    assert_eq!(p.jobs[0].priority, 1.0);
    assert_eq!(p.jobs[0].kind, JobKind::Delivery);
    assert_eq!(p.vehicles[0].cost_per_distance, 1.0);
    assert_eq!(p.vehicles[0].end, None);
    assert!(p.vehicles[0].break_.is_some());
    let back: Problem = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn json_schema_is_generated_from_the_types() {
    let s = problem_schema();
    let text = s.to_string();
    for needle in [
        "time_windows",
        "pairs",
        "vehicles",
        "haversine",
        "speed_factor",
        "break",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
    assert_eq!(s["title"], "Problem");
    let sol = solution_schema();
    assert!(sol.to_string().contains("no_room_in_fleet"));
    assert!(config_schema().to_string().contains("hierarchical"));
}

#[test]
fn objectives_and_configs_parse_from_text() {
    assert_eq!(
        "hierarchical".parse::<Objective>(),
        Ok(Objective::Hierarchical)
    );
    assert!(
        "fastest"
            .parse::<Objective>()
            .unwrap_err()
            .contains("unknown objective 'fastest'")
    );
    let c: SolverConfig =
        serde_json::from_str(r#"{ "seed": 9, "objective": "distance", "time_limit_ms": 500 }"#)
            .unwrap();
    assert_eq!(
        (c.seed, c.objective, c.threads, c.max_iterations),
        (9, Objective::Distance, 1, None)
    );
}
