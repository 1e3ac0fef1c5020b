// The optimizer's Web Worker (a module worker): runs doorstep-solver-wasm off the
// UI thread so the page stays responsive while it searches.
//
// In:  {type: "solve", problem: "<Problem JSON>", config: "<SolverConfig JSON>", stop?: SharedArrayBuffer,
//       engine?: "single" (force the single-thread build, for comparisons)}
//      {type: "stop"}
//      {type: "evaluate", id, problem: "<Problem JSON>", routes: "<[RouteJobs] JSON>"}
// Out: {type: "progress", data: "<Progress JSON>"}
//      {type: "done", data: "<Solution JSON>", ms, threads}
//      {type: "error", message}
//      {type: "evaluated", id, data: "<Evaluation JSON>"} or {type: "evaluate-error", id, message}
//
// "evaluate" (a dispatcher's edit: the schedule and broken rules of given job
// sequences) always runs on the single-thread build: it takes milliseconds.
//
// When the config asks for several threads and the page is cross-origin
// isolated, the threaded build (/solver-mt/, wasm-bindgen-rayon) runs them on
// a pool of nested workers; otherwise the single-thread build (/solver/) runs
// the same searches one after another, with the same result.
//
// solve() blocks this worker until it returns, so a "stop" message is only read
// between runs. During a run the page stops the search through the shared
// `stop` flag (Int32 at index 0 set to 1), which the progress callback reads;
// the solver then returns the best solution found so far.

let engine = null;
let single = null;
let stopRequested = false;

async function loadSingle() {
  if (!single) {
    const st = await import("/solver/doorstep_solver_wasm.js");
    await st.default({ module_or_path: "/solver/doorstep_solver_wasm_bg.wasm" });
    single = st;
  }
  return single;
}

async function load(threads, forceSingle) {
  if (engine) return engine;
  if (threads > 1 && self.crossOriginIsolated && !forceSingle) {
    try {
      const mt = await import("/solver-mt/doorstep_solver_wasm.js");
      await mt.default({ module_or_path: "/solver-mt/doorstep_solver_wasm_bg.wasm" });
      await mt.initThreadPool(threads);
      engine = { solve: mt.solve, threads };
      return engine;
    } catch (error) {
      console.warn("The threaded optimizer is unavailable; planning on one thread:", error);
    }
  }
  const st = await loadSingle();
  engine = { solve: st.solve, threads: 1 };
  return engine;
}

self.onmessage = async (event) => {
  const message = event.data || {};
  if (message.type === "stop") {
    stopRequested = true;
    return;
  }
  if (message.type === "evaluate") {
    try {
      const st = await loadSingle();
      self.postMessage({ type: "evaluated", id: message.id, data: st.evaluate(message.problem, message.routes) });
    } catch (error) {
      self.postMessage({ type: "evaluate-error", id: message.id, message: String(error?.message ?? error) });
    }
    return;
  }
  if (message.type !== "solve") return;
  try {
    const threads = Math.max(1, JSON.parse(message.config).threads || 1);
    const { solve, threads: used } = await load(threads, message.engine === "single");
    const flag = message.stop ? new Int32Array(message.stop) : null;
    const started = performance.now();
    const result = solve(message.problem, message.config, (progress) => {
      self.postMessage({ type: "progress", data: JSON.stringify(progress) });
      return !(stopRequested || (flag !== null && Atomics.load(flag, 0) === 1));
    });
    stopRequested = false;
    self.postMessage({ type: "done", data: result, ms: performance.now() - started, threads: used });
  } catch (error) {
    stopRequested = false;
    self.postMessage({ type: "error", message: String(error?.message ?? error) });
  }
};
