//! `doorstep solve` as a user runs it, checked by the optimizer's independent checker.

use std::path::PathBuf;
use std::process::{Command, Output};

use doorstep_optimizer::{RouteJobs, check, solomon};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/optimizer/tests/data").join(name)
}

fn solve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep")).arg("solve").args(args).output().expect("run doorstep solve")
}

/// Solves `file` with `extra` options and JSON output, verifies the routes with
/// the independent checker, and returns the report.
fn check_solomon(file: &str, extra: &[&str]) -> Value {
    let path = data(file);
    let mut args = vec![path.to_str().expect("utf-8 path"), "--output", "json"];
    args.extend_from_slice(extra);
    let out = solve(&args);
    assert!(out.status.success(), "doorstep solve failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.trim().lines().count(), 1, "exactly one JSON object on stdout: {stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");

    let problem = solomon::parse(file, &std::fs::read_to_string(&path).expect("read")).expect("parse");
    let routes: Vec<RouteJobs> = report["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .enumerate()
        .map(|(i, jobs)| RouteJobs {
            vehicle: problem.vehicles[i].id.clone(),
            jobs: jobs.as_array().expect("job list").iter().map(|j| j.as_u64().expect("numeric id").to_string()).collect(),
            break_after: None,
        })
        .collect();
    let totals = check(&problem, &routes).unwrap_or_else(|v| panic!("infeasible: {v:?}"));
    assert!((totals.distance - report["distance"].as_f64().expect("distance")).abs() < 1e-6);
    assert_eq!(totals.vehicles as u64, report["vehicles"].as_u64().expect("vehicles"));
    report
}

#[test]
fn solomon_json_output_is_feasible_and_lists_customer_numbers() {
    let report = check_solomon("C101.txt", &["--iterations", "300", "--objective", "distance"]);
    let mut seen: Vec<u64> = report["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r.as_array().expect("route").iter().map(|j| j.as_u64().expect("id")))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<u64>>(), "every customer once, the depot (0) never");
    assert_eq!(report["unassigned"], serde_json::json!([]));
    for key in ["duration", "cost", "iterations", "elapsed_ms"] {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
}

#[test]
fn same_seed_and_iterations_give_the_same_routes() {
    let args = ["--iterations", "200", "--seed", "7", "--objective", "hierarchical"];
    let a = check_solomon("R101.txt", &args);
    let b = check_solomon("R101.txt", &args);
    assert_eq!(a["routes"], b["routes"]);
    assert_eq!(a["distance"], b["distance"]);
}

#[test]
fn malformed_solomon_file_names_the_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.txt");
    std::fs::write(&path, "BROKEN\nVEHICLE\nNUMBER CAPACITY\n2 100\nCUSTOMER\n0 0 0 0 0 100 0\n1 5 x 10 0 50 5\n")
        .expect("write");
    let out = solve(&[path.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.txt") && stderr.contains("line 7"), "{stderr}");
    assert!(stderr.contains("YCOORD"), "{stderr}");
}

#[test]
fn json_problem_with_a_wrong_type_names_the_field_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("problem.json");
    std::fs::write(&path, r#"{"jobs": "not a list"}"#).expect("write");
    let out = solve(&[path.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("problem.json line 1") && stderr.contains("jobs"), "{stderr}");
}
