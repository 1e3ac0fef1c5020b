//! The optimizer's wasm entry point in real Chromium. `cargo xtask test` first
//! solves the same instance natively and hands the result over at compile time,
//! so this test proves native and wasm agree on a fixed iteration budget.
#![cfg(target_arch = "wasm32")]

use doorstep_optimizer::{Solution, check, solomon};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const C101: &str = include_str!("../../../shared/optimizer/tests/data/C101.txt");
/// Must match the native reference run in infra/xtask/src/test_suite.rs.
const CONFIG: &str = r#"{"seed": 7, "max_iterations": 300, "objective": "distance", "threads": 1}"#;

fn problem_json() -> String {
    serde_json::to_string(&solomon::parse("C101.txt", C101).expect("parse C101")).expect("problem JSON")
}

#[wasm_bindgen_test]
fn solving_c101_in_the_browser_gives_a_feasible_plan() {
    let problem = solomon::parse("C101.txt", C101).expect("parse");
    let json = doorstep_solver_wasm::solve_json(&problem_json(), CONFIG, None).expect("solve");
    let solution: Solution = serde_json::from_str(&json).expect("solution JSON");
    let totals = check(&problem, &solution.route_jobs()).expect("feasible");
    assert!(solution.unassigned.is_empty());
    assert_eq!(totals.vehicles, solution.totals.vehicles);
}

#[wasm_bindgen_test]
fn wasm_and_native_give_the_same_routes_for_the_same_seed_and_budget() {
    let native = option_env!("DOORSTEP_NATIVE_C101_ROUTES")
        .expect("run through `cargo xtask test`, which computes the native reference first");
    let json = doorstep_solver_wasm::solve_json(&problem_json(), CONFIG, None).expect("solve");
    let solution: Solution = serde_json::from_str(&json).expect("solution JSON");
    let routes: Vec<Vec<String>> = solution.routes.iter().filter(|r| !r.stops.is_empty()).map(|r| r.stops.iter().map(|s| s.job.clone()).collect()).collect();
    assert_eq!(serde_json::to_string(&routes).expect("routes JSON"), native);
}

#[wasm_bindgen_test]
fn a_progress_callback_returning_false_stops_the_search_early() {
    let stop = js_sys::Function::new_with_args("p", "return false;");
    let config = r#"{"seed": 1, "max_iterations": 1000000, "objective": "distance"}"#;
    let json = doorstep_solver_wasm::solve_json(&problem_json(), config, Some(stop)).expect("solve");
    let solution: Solution = serde_json::from_str(&json).expect("solution JSON");
    assert!(solution.iterations < 1_000_000, "stopped after {} iterations", solution.iterations);
}

#[wasm_bindgen_test]
fn malformed_config_is_rejected_with_its_position() {
    use wasm_bindgen::JsCast as _;
    let error = doorstep_solver_wasm::solve_json(&problem_json(), "{\"seed\": \"x\"}", None).err().expect("error");
    let error: js_sys::Error = wasm_bindgen::JsValue::from(error).dyn_into().expect("an Error object");
    let message = String::from(error.message());
    assert!(message.starts_with("config JSON line 1, column"), "{message}");
}
