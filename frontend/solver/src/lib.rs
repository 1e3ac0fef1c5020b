//! The optimizer for the browser. A Web Worker loads this module and calls
//! [`solve`] with JSON in and JSON out, so the UI thread never blocks. Built with
//! `+atomics` (nightly, shared memory) it also exports `initThreadPool` and
//! searches on several threads; built without, rayon runs on the worker's own
//! thread and gives the same results for the same seed and thread count.

use doorstep_optimizer::{Control, FnClock, Problem, Progress, RouteJobs, SolverConfig, evaluate, solve as run_solver};
use wasm_bindgen::prelude::*;

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Solves `problem_json` (Doorstep's problem format) with `config_json`
/// (`SolverConfig`). `on_progress`, if given, receives each progress report as
/// a JS object and may return `false` to stop early with the best solution so far.
/// Returns the solution as JSON; errors are `Error`s whose message names the field.
#[wasm_bindgen(js_name = solve)]
pub fn solve_json(problem_json: &str, config_json: &str, on_progress: Option<js_sys::Function>) -> Result<String, JsError> {
    let problem = parse::<Problem>("problem", problem_json)?;
    let config = parse::<SolverConfig>("config", config_json)?;
    let clock = FnClock(now_ms());
    let mut report = |p: &Progress| match &on_progress {
        Some(callback) => {
            let value = serde_json::to_string(p).ok().and_then(|s| js_sys::JSON::parse(&s).ok()).unwrap_or(JsValue::NULL);
            match callback.call1(&JsValue::NULL, &value) {
                Ok(answer) if answer == JsValue::FALSE => Control::Stop,
                _ => Control::Continue,
            }
        }
        None => Control::Continue,
    };
    let solution = run_solver(&problem, &config, &clock, &mut report).map_err(|e| JsError::new(&e.to_string()))?;
    serde_json::to_string(&solution).map_err(|e| JsError::new(&e.to_string()))
}

/// Evaluates a hand-edited plan: `routes_json` is a list of `RouteJobs` (each
/// vehicle's job ids in order). Returns the `Evaluation` as JSON: the schedule
/// in the solution format and every broken rule located on its vehicle and job.
#[wasm_bindgen(js_name = evaluate)]
pub fn evaluate_json(problem_json: &str, routes_json: &str) -> Result<String, JsError> {
    let problem = parse::<Problem>("problem", problem_json)?;
    let routes = parse::<Vec<RouteJobs>>("routes", routes_json)?;
    serde_json::to_string(&evaluate(&problem, &routes)).map_err(|e| JsError::new(&e.to_string()))
}

/// Whether this build can use threads (`initThreadPool` exists).
#[wasm_bindgen(js_name = threadsSupported)]
pub fn threads_supported() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "atomics"))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("{what} JSON line {}, column {}: {e}", e.line(), e.column())))
}

/// Milliseconds since the solve started, from `performance.now()` (std's
/// `Instant` panics on wasm32-unknown-unknown).
fn now_ms() -> impl Fn() -> u64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Object>().ok());
    let read = move || -> f64 {
        performance
            .as_ref()
            .and_then(|p| js_sys::Reflect::get(p, &JsValue::from_str("now")).ok().map(|f| (p.clone(), f)))
            .and_then(|(p, f)| f.dyn_into::<js_sys::Function>().ok().and_then(|f| f.call0(&p).ok()))
            .and_then(|v| v.as_f64())
            .unwrap_or_else(js_sys::Date::now)
    };
    let start = read();
    move || (read() - start).max(0.0) as u64
}
