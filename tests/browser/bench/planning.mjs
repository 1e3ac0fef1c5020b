// The dispatcher app's planning at scale, measured in Chromium through the
// real UI: for each size, a demo business with no orders gets a fleet, the
// orders are imported from a generated CSV, and the day is planned twice with
// the same time budget: in a page without cross-origin isolation (one thread,
// single-thread optimizer build) and in an isolated page seeing 2 cores (the
// threaded build on 2 threads). Each run's time to the first plan serving every
// order and its final cost come from the worker's own messages; the exact
// problem the page sent to the worker is saved so the native CLI can solve the
// same one. Run by `cargo xtask bench-browser` (not by `npm test`).
//
// node bench/planning.mjs --sizes 200:8,1000:50 --time 30 --out DIR
// Env: DOORSTEP_BIN, DOORSTEP_WEB, DOORSTEP_ARTIFACTS, CHROMIUM, TMPDIR (as the specs).
// Writes DIR/problem-<orders>.json and DIR/results.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { launchBrowser, screenshot } from "../support/browser.mjs";
import { startDoorstep } from "../support/server.mjs";
import { DEMO_PASSWORD, apiToken, signInThroughForm } from "../support/auth.mjs";
import {
  daySummary,
  ensureFleet,
  generateOrdersCsv,
  importOrders,
  installSolverProbe,
  pretendCores,
  solverRun,
  startPlanning,
  waitForPlan,
  withoutIsolation,
} from "../support/planning_scale.mjs";

/// The dispatcher's time budgets (its select offers only these).
const BUDGETS_S = [5, 10, 30, 60];

function parseArgs(argv) {
  const options = { sizes: [[200, 8], [1000, 50]], time: 30, out: null };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--sizes":
        options.sizes = value().split(",").map((pair) => {
          const [orders, drivers] = pair.split(":").map(Number);
          if (!(orders > 0 && drivers > 0)) throw new Error(`--sizes: "${pair}" is not ORDERS:DRIVERS`);
          return [orders, drivers];
        });
        break;
      case "--time":
        options.time = Number(value());
        if (!BUDGETS_S.includes(options.time)) throw new Error(`--time must be one of the dispatcher's budgets ${BUDGETS_S.join(", ")} s, not ${options.time}`);
        break;
      case "--out":
        options.out = resolve(value());
        break;
      default:
        throw new Error(`unknown option ${argv[i]}; usage: node bench/planning.mjs --sizes 200:8,1000:50 --time 30 --out DIR`);
    }
  }
  if (!options.out) throw new Error("--out DIR is required");
  return options;
}

const MODES = [
  { key: "1t", label: "not isolated, single-thread build", isolated: false, threads: 1 },
  { key: "2t", label: "isolated, threaded build", isolated: true, threads: 2 },
];

async function planOnce(browser, server, mode, { orders, drivers, time, csv, importFirst }) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, serviceWorkers: "block" });
  if (!mode.isolated) await withoutIsolation(context, server.baseUrl);
  else await pretendCores(context, mode.threads);
  await installSolverProbe(context);
  const page = await context.newPage();
  try {
    await page.goto(server.baseUrl + "/");
    await signInThroughForm(page);
    await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 60_000 });
    const isolated = await page.evaluate(() => crossOriginIsolated);
    if (isolated !== mode.isolated) throw new Error(`${mode.label}: the page's crossOriginIsolated is ${isolated}`);
    if (importFirst) {
      const started = Date.now();
      await importOrders(page, csv, { name: `bench-${orders}.csv`, timeout: 300_000 });
      console.log(`  imported ${orders} orders through the import panel in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="day-summary"]')?.textContent.match(/(\d+) to plan/)?.[1]) === n, orders, { timeout: 60_000 });
    const summary = await daySummary(page);
    if (summary.vehicles !== drivers) throw new Error(`expected ${drivers} vehicles, the day shows ${summary.vehicles}`);
    const index = await startPlanning(page, time);
    const done = await waitForPlan(page, index, { timeout: (time + 300) * 1000 });
    const run = await solverRun(page, index, { withProblem: true });
    await screenshot(page, `bench-planning-${orders}-${mode.key}`);
    const result = {
      mode: mode.key,
      label: mode.label,
      isolated,
      threads: done.done.threads,
      requestedThreads: run.config.threads,
      firstFeasible: run.firstFeasible,
      fewestUnassigned: run.fewestUnassigned,
      reports: run.reports,
      cost: done.done.cost,
      distance: done.done.distance,
      vehicles: done.done.vehicles,
      unassigned: done.done.unassigned,
      iterations: done.done.iterations,
      solveMs: Math.round(done.done.ms),
    };
    const first = result.firstFeasible ? `${result.firstFeasible.solverMs} ms (solver) / ${result.firstFeasible.pageMs} ms (page)` : `never (fewest unassigned ${result.fewestUnassigned})`;
    console.log(`  ${mode.label}: ${result.threads} thread(s), first feasible ${first}, final cost ${result.cost.toFixed(2)}, ${result.unassigned} unassigned, ${result.iterations} iterations`);
    return { result, problem: run.problem, config: run.config };
  } finally {
    await context.close();
  }
}

async function benchSize(browser, [orders, drivers], options) {
  console.log(`${orders} orders, ${drivers} drivers, ${options.time} s budget`);
  const server = await startDoorstep({ demo: true, extraArgs: ["--demo-password", DEMO_PASSWORD, "--demo-orders", "0"] });
  try {
    const token = await apiToken(server.baseUrl);
    await ensureFleet(server.baseUrl, token, drivers);
    const { csv } = generateOrdersCsv(orders, { seed: orders, prefix: `B${orders}` });
    const runs = [];
    let problem = null;
    let config = null;
    for (const [i, mode] of MODES.entries()) {
      const run = await planOnce(browser, server, mode, { orders, drivers, time: options.time, csv, importFirst: i === 0 });
      if (problem === null) {
        ({ problem, config } = run);
      } else if (run.problem !== problem) {
        throw new Error(`${mode.label}: the page sent a different problem than the first run`);
      }
      runs.push(run.result);
    }
    const problemFile = join(options.out, `problem-${orders}.json`);
    writeFileSync(problemFile, problem);
    return { orders, drivers, jobs: JSON.parse(problem).jobs.length, problemFile, seed: config.seed, objective: config.objective, timeLimitMs: config.time_limit_ms, browser: runs };
  } finally {
    await server.stop();
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  mkdirSync(options.out, { recursive: true });
  const browser = await launchBrowser();
  const chromium = browser.version();
  const results = [];
  try {
    for (const size of options.sizes) results.push(await benchSize(browser, size, options));
  } finally {
    await browser.close();
  }
  const file = join(options.out, "results.json");
  writeFileSync(file, JSON.stringify({ time: options.time, chromium, sizes: results }, null, 2));
  console.log(`results in ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
