// Benchmark driver for `cargo xtask bench-threads`: runs the optimizer's WASM
// builds in Debian's Chromium, in a module Web Worker on a cross-origin
// isolated page served by this script (COOP/COEP headers, as `doorstep serve`
// sends), and prints one JSON line per run on stdout. Timing is taken in the
// worker (performance.now() around solve()) and from the solver's own progress
// reports, so page and driver overheads stay out of the numbers.
//
// Usage: DOORSTEP_WEB=<dir with solver/ and solver-mt/> node bench/solver_threads.mjs runs.json
// runs.json: {"runs": [{"id": "...", "problem": "/abs/problem.json",
//                      "config": {SolverConfig}, "engine": "single" | "threaded"}]}
// "single" loads solver/ (the single-thread build, what the app uses for one
// thread); "threaded" loads solver-mt/ and starts a pool of config.threads workers.
// Out, per run: {"id", "engine", "threads", "ms", "iterations", "cost", "unassigned",
//                "routes": [[job ids]], "trace": [[elapsed_ms, best_cost, unassigned, iteration]]}
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync } from "node:fs";
import { join, normalize, extname } from "node:path";
import { launchBrowser } from "../support/browser.mjs";

const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".json": "application/json" };

// A fresh worker per run: a wasm-bindgen-rayon pool can be started once per module instance.
const WORKER = `
self.onmessage = async (event) => {
  const { problemUrl, config, engine } = event.data;
  try {
    const problem = await (await fetch(problemUrl)).text();
    const dir = engine === "threaded" ? "/solver-mt/" : "/solver/";
    const wasm = await import(dir + "doorstep_solver_wasm.js");
    await wasm.default({ module_or_path: dir + "doorstep_solver_wasm_bg.wasm" });
    const threads = Math.max(1, config.threads || 1);
    if (engine === "threaded") {
      if (!self.crossOriginIsolated) throw new Error("the worker is not cross-origin isolated: no SharedArrayBuffer, no threads");
      await wasm.initThreadPool(threads);
    }
    const trace = [];
    const started = performance.now();
    const out = wasm.solve(problem, JSON.stringify(config), (p) => {
      trace.push([p.elapsed_ms, p.best_cost, p.unassigned, p.iteration]);
      return true;
    });
    const ms = performance.now() - started;
    const solution = JSON.parse(out);
    self.postMessage({
      type: "done",
      result: {
        engine,
        threads: engine === "threaded" ? threads : 1,
        ms,
        iterations: solution.iterations,
        cost: solution.totals.cost,
        unassigned: solution.unassigned.length,
        routes: solution.routes.filter((r) => r.stops.length > 0).map((r) => r.stops.map((s) => s.job)),
        trace,
      },
    });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error?.stack ?? error) });
  }
};
`;

function serve(webDir, problems) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    // Cross-origin isolation: SharedArrayBuffer, hence wasm threads.
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
    };
    const send = (status, type, body) => {
      res.writeHead(status, { ...headers, "Content-Type": type });
      res.end(body);
    };
    if (url.pathname === "/favicon.ico") return send(204, "text/plain", "");
    if (url.pathname === "/bench.html") return send(200, TYPES[".html"], "<!doctype html><title>solver bench</title>");
    if (url.pathname === "/bench-worker.js") return send(200, TYPES[".js"], WORKER);
    const problem = url.pathname.match(/^\/problems\/(\d+)$/);
    if (problem) {
      const file = problems[Number(problem[1])];
      return file ? send(200, TYPES[".json"], readFileSync(file)) : send(404, "text/plain", "no such problem");
    }
    const path = normalize(join(webDir, url.pathname));
    if (!path.startsWith(normalize(webDir) + "/") || !existsSync(path) || !statSync(path).isFile()) {
      return send(404, "text/plain", "not found");
    }
    send(200, TYPES[extname(path)] ?? "application/octet-stream", readFileSync(path));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function main() {
  const [runsFile] = process.argv.slice(2);
  const webDir = process.env.DOORSTEP_WEB;
  if (!runsFile || !webDir) throw new Error("usage: DOORSTEP_WEB=<site dir> node bench/solver_threads.mjs runs.json");
  const { runs } = JSON.parse(readFileSync(runsFile, "utf8"));
  for (const run of runs) {
    const dir = run.engine === "threaded" ? "solver-mt" : "solver";
    if (!existsSync(join(webDir, dir, "doorstep_solver_wasm_bg.wasm"))) throw new Error(`run ${run.id}: ${webDir}/${dir} is not built`);
  }
  const problems = [...new Set(runs.map((r) => r.problem))];
  const server = await serve(webDir, problems);
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    // Errors only: wasm-bindgen-rayon's helper warns about a deprecated init call it makes itself.
    page.on("console", (msg) => msg.type() === "error" && process.stderr.write(`[chromium error] ${msg.text()}\n`));
    page.on("pageerror", (error) => process.stderr.write(`[chromium page error] ${error.message}\n`));
    await page.goto(`${base}/bench.html`);
    if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error("the bench page is not cross-origin isolated");
    for (const run of runs) {
      const problemUrl = `/problems/${problems.indexOf(run.problem)}`;
      process.stderr.write(`chromium: ${run.id} (${run.engine}, ${JSON.stringify(run.config)})\n`);
      const result = await page.evaluate(
        ({ problemUrl, config, engine }) =>
          new Promise((resolve, reject) => {
            const worker = new Worker("/bench-worker.js", { type: "module" });
            worker.onmessage = ({ data }) => {
              worker.terminate();
              if (data.type === "done") resolve(data.result);
              else reject(new Error(data.message));
            };
            worker.onerror = (e) => {
              worker.terminate();
              reject(new Error(`worker: ${e.message}`));
            };
            worker.postMessage({ problemUrl, config, engine });
          }),
        { problemUrl, config: run.config, engine: run.engine },
      );
      process.stdout.write(`${JSON.stringify({ id: run.id, ...result })}\n`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
