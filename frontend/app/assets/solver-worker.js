// The optimizer's Web Worker (a module worker): runs doorstep-solver-wasm off the
// UI thread so the page stays responsive while it searches.
//
// In:  {type: "solve", problem: "<Problem JSON>", config: "<SolverConfig JSON>", stop?: SharedArrayBuffer}
//      {type: "stop"}
// Out: {type: "progress", data: "<Progress JSON>"}
//      {type: "done", data: "<Solution JSON>", ms}
//      {type: "error", message}
//
// solve() blocks this worker until it returns, so a "stop" message is only read
// between runs. During a run the page stops the search through the shared
// `stop` flag (Int32 at index 0 set to 1), which the progress callback reads;
// the solver then returns the best solution found so far.
import init, { solve } from "/solver/doorstep_solver_wasm.js";

const ready = init({ module_or_path: "/solver/doorstep_solver_wasm_bg.wasm" });
let stopRequested = false;

self.onmessage = async (event) => {
  const message = event.data || {};
  if (message.type === "stop") {
    stopRequested = true;
    return;
  }
  if (message.type !== "solve") return;
  try {
    await ready;
    const flag = message.stop ? new Int32Array(message.stop) : null;
    const started = performance.now();
    const result = solve(message.problem, message.config, (progress) => {
      self.postMessage({ type: "progress", data: JSON.stringify(progress) });
      return !(stopRequested || (flag !== null && Atomics.load(flag, 0) === 1));
    });
    stopRequested = false;
    self.postMessage({ type: "done", data: result, ms: performance.now() - started });
  } catch (error) {
    stopRequested = false;
    self.postMessage({ type: "error", message: String(error?.message ?? error) });
  }
};
