//! The optimizer in a Web Worker (`/solver-worker.js`, running the
//! `doorstep-solver-wasm` module), so the page stays responsive while it runs.

use doorstep_optimizer::{Evaluation, Problem, Progress, RouteJobs, Solution, SolverConfig};
use js_sys::{Int32Array, Object, Reflect, SharedArrayBuffer};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::Callback;

pub const WORKER_URL: &str = "/solver-worker.js";

/// What the worker reports.
#[derive(Clone, Debug, PartialEq)]
pub enum SolverEvent {
    Progress(Progress),
    /// `threads`: how many threads the search actually ran on.
    Done { solution: Box<Solution>, ms: f64, threads: u32 },
    Failed(String),
}

/// One run of the optimizer. Dropping it terminates the worker.
pub struct SolverRun {
    worker: Worker,
    /// Shared stop flag; only when the page is cross-origin isolated.
    stop_flag: Option<Int32Array>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl std::fmt::Debug for SolverRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolverRun").field("stoppable", &self.stop_flag.is_some()).finish()
    }
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn text(event: &JsValue, key: &str) -> Option<String> {
    Reflect::get(event, &JsValue::from_str(key)).ok()?.as_string()
}

/// SharedArrayBuffer exists only in cross-origin isolated pages.
fn cross_origin_isolated() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("crossOriginIsolated"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// How many search threads this page can run: the browser's cores (at most
/// 8) when cross-origin isolated (the threaded build needs shared memory), else 1.
pub fn browser_threads() -> usize {
    if !cross_origin_isolated() {
        return 1;
    }
    web_sys::window().map_or(1, |w| w.navigator().hardware_concurrency() as usize).clamp(1, 8)
}

impl SolverRun {
    pub fn start(problem: &Problem, config: &SolverConfig, on_event: Callback<SolverEvent>) -> Result<Self, String> {
        let problem = serde_json::to_string(problem).map_err(|e| e.to_string())?;
        let config = serde_json::to_string(config).map_err(|e| e.to_string())?;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(WORKER_URL, &options)
            .map_err(|e| format!("the optimizer could not start: {e:?}"))?;

        let events = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let data = message.data();
            let event = match text(&data, "type").as_deref() {
                Some("progress") => match text(&data, "data").map(|d| serde_json::from_str::<Progress>(&d)) {
                    Some(Ok(p)) => SolverEvent::Progress(p),
                    _ => return,
                },
                Some("done") => {
                    let number = |key: &str| Reflect::get(&data, &JsValue::from_str(key)).ok().and_then(|v| v.as_f64());
                    let (ms, threads) = (number("ms").unwrap_or(0.0), number("threads").unwrap_or(1.0) as u32);
                    match text(&data, "data").map(|d| serde_json::from_str::<Solution>(&d)) {
                        Some(Ok(solution)) => SolverEvent::Done { solution: Box::new(solution), ms, threads },
                        Some(Err(e)) => SolverEvent::Failed(format!("unreadable solution: {e}")),
                        None => SolverEvent::Failed("the optimizer returned nothing".into()),
                    }
                }
                Some("error") => SolverEvent::Failed(text(&data, "message").unwrap_or_else(|| "the optimizer failed".into())),
                _ => return,
            };
            events.emit(event);
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            on_event.emit(SolverEvent::Failed(format!("the optimizer could not run: {}", e.message())));
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        let stop_flag = cross_origin_isolated().then(|| Int32Array::new(&SharedArrayBuffer::new(4)));
        let message = Object::new();
        set(&message, "type", &JsValue::from_str("solve"));
        set(&message, "problem", &JsValue::from_str(&problem));
        set(&message, "config", &JsValue::from_str(&config));
        if let Some(flag) = &stop_flag {
            set(&message, "stop", &flag.buffer());
        }
        worker.post_message(&message).map_err(|e| format!("the optimizer could not start: {e:?}"))?;
        Ok(Self { worker, stop_flag, _on_message: on_message, _on_error: on_error })
    }

    /// Asks the search to stop; it then reports the best solution found so far.
    /// Returns false when it cannot (page not cross-origin isolated): the
    /// caller should drop the run instead.
    pub fn stop(&self) -> bool {
        let message = Object::new();
        set(&message, "type", &JsValue::from_str("stop"));
        let _ = self.worker.post_message(&message);
        match &self.stop_flag {
            Some(flag) => js_sys::Atomics::store(flag, 0, 1).is_ok(),
            None => false,
        }
    }
}

impl Drop for SolverRun {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A long-lived worker that evaluates a dispatcher's edits (the schedule and
/// broken rules of given job sequences, `doorstep_optimizer::evaluate`), so
/// the page never computes schedules itself. Answers carry the request's id;
/// dropping it terminates the worker.
pub struct Evaluator {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

/// An evaluation's answer: the request id, and the evaluation or why there is none.
pub type Evaluated = (u64, Result<Evaluation, String>);

impl Evaluator {
    /// `on_failure` hears when the worker itself cannot run (then evaluate elsewhere).
    pub fn start(on_result: Callback<Evaluated>, on_failure: Callback<String>) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(WORKER_URL, &options)
            .map_err(|e| format!("the evaluator could not start: {e:?}"))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let data = message.data();
            let id = Reflect::get(&data, &JsValue::from_str("id")).ok().and_then(|v| v.as_f64()).unwrap_or(-1.0);
            if id < 0.0 {
                return;
            }
            let result = match text(&data, "type").as_deref() {
                Some("evaluated") => match text(&data, "data").map(|d| serde_json::from_str::<Evaluation>(&d)) {
                    Some(Ok(e)) => Ok(e),
                    Some(Err(e)) => Err(format!("unreadable evaluation: {e}")),
                    None => Err("the evaluator returned nothing".into()),
                },
                Some("evaluate-error") => Err(text(&data, "message").unwrap_or_else(|| "the evaluation failed".into())),
                _ => return,
            };
            on_result.emit((id as u64, result));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            on_failure.emit(format!("the evaluator could not run: {}", e.message()));
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self { worker, _on_message: on_message, _on_error: on_error })
    }

    /// Asks for the evaluation of `routes`; the answer comes with `id`.
    pub fn evaluate(&self, id: u64, problem: &Problem, routes: &[RouteJobs]) -> Result<(), String> {
        let problem = serde_json::to_string(problem).map_err(|e| e.to_string())?;
        let routes = serde_json::to_string(routes).map_err(|e| e.to_string())?;
        let message = Object::new();
        set(&message, "type", &JsValue::from_str("evaluate"));
        set(&message, "id", &JsValue::from_f64(id as f64));
        set(&message, "problem", &JsValue::from_str(&problem));
        set(&message, "routes", &JsValue::from_str(&routes));
        self.worker.post_message(&message).map_err(|e| format!("the evaluator could not be reached: {e:?}"))
    }
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
