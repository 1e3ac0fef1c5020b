// The optimizer's threaded build (wasm-bindgen-rayon on nested workers) in a
// cross-origin isolated page: it must give exactly the routes the
// single-thread build gives for the same seed, thread count and iteration
// budget, and it should be faster. Speed-ups are printed, not asserted
// (timing belongs to benchmarks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { requiredEnv } from "../support/server.mjs";
import { collectConsoleErrors } from "../support/browser.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

/// Solomon's C101 (100 customers) as the optimizer's JSON problem.
function c101Problem() {
  const text = readFileSync(new URL("../../../shared/optimizer/tests/data/C101.txt", import.meta.url), "utf8");
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const vehicleLine = lines[lines.indexOf("NUMBER     CAPACITY") + 1] ?? lines.find((l) => /^\d+\s+\d+$/.test(l));
  const [count, capacity] = vehicleLine.split(/\s+/).map(Number);
  const rows = lines.filter((l) => /^\d+(\s+\d+(\.\d+)?){6}$/.test(l)).map((l) => l.split(/\s+/).map(Number));
  const points = rows.map((r) => [r[1], r[2]]);
  const depot = rows[0];
  const jobs = rows.slice(1).map((r, i) => ({
    id: `c${r[0]}`,
    location: i + 1,
    service: r[6],
    demand: [r[3]],
    time_windows: [{ start: r[4], end: r[5] }],
  }));
  const vehicles = Array.from({ length: count }, (_, i) => ({
    id: `v${i + 1}`,
    start: 0,
    end: 0,
    shift: { start: depot[4], end: depot[5] },
    capacity: [capacity],
  }));
  return { name: "C101", travel: { type: "euclidean", points }, jobs, vehicles };
}

async function solveInWorker(page, problem, config, engine) {
  return page.evaluate(
    ({ problem, config, engine }) =>
      new Promise((resolve, reject) => {
        const worker = new Worker("/solver-worker.js", { type: "module" });
        worker.onmessage = (event) => {
          const m = event.data;
          if (m.type === "done") {
            worker.terminate();
            resolve({ solution: JSON.parse(m.data), ms: m.ms, threads: m.threads });
          } else if (m.type === "error") {
            worker.terminate();
            reject(new Error(m.message));
          }
        };
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ type: "solve", problem: JSON.stringify(problem), config: JSON.stringify(config), engine });
      }),
    { problem, config, engine },
  );
}

// A plain `doorstep serve` (no demo business): it only serves the app and its workers.
const demo = useDemoServer({ demo: false });

const routesOf = (solution) => solution.routes.map((r) => `${r.vehicle}: ${r.stops.map((s) => s.job).join(",")}`);

test("the threaded optimizer gives the single-thread routes, on several threads", async () => {
  const threadedBuilt = existsSync(join(requiredEnv("DOORSTEP_WEB"), "solver-mt", "doorstep_solver_wasm_bg.wasm"));
  const page = await demo.browser.newPage();
  const errors = collectConsoleErrors(page);
  await page.goto(`${demo.baseUrl}/login`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the page must be cross-origin isolated");
  const problem = c101Problem();
  assert.equal(problem.jobs.length, 100);
  const config = { seed: 7, max_iterations: 400, threads: 2, objective: "distance" };
  const single = await solveInWorker(page, problem, config, "single");
  assert.equal(single.threads, 1);
  assert.equal(single.solution.unassigned.length, 0, "C101 is solved completely");
  if (!threadedBuilt) {
    // The web build skips the threaded solver only when nightly Rust is
    // missing, and says so; the single-thread fallback is what users get.
    console.log("threaded solver not built (no nightly Rust): only the single-thread fallback was checked");
    return;
  }
  const threaded = await solveInWorker(page, problem, config, undefined);
  assert.equal(threaded.threads, 2, "the threaded build ran with a pool of 2");
  assert.deepEqual(routesOf(threaded.solution), routesOf(single.solution), "same seed, threads and budget: same routes");
  console.log(`C101, 2 searches × 400 iterations: single-thread build ${single.ms.toFixed(0)} ms, threaded ${threaded.ms.toFixed(0)} ms (×${(single.ms / threaded.ms).toFixed(2)})`);
  assert.deepEqual(errors, []);
});
