// Planning a large day through the dispatcher app, shared by the 200-order
// spec (specs/planning_200.test.mjs) and the browser benchmark
// (bench/planning.mjs): a deterministic CSV of orders around the demo depot, a
// fleet of N vehicles with drivers, the import through the UI, a probe on
// the optimizer's Web Worker that records the problem the page sends and every
// progress report it gets back, and the typing-latency probe the planning
// specs use while the optimizer runs.
import { api } from "./driver.mjs";

/// The demo depot (Entrepôt Gerland, Lyon 7e).
export const DEMO_DEPOT = { lat: 45.7345, lon: 4.8372 };

/// Neighbourhoods of Lyon within ~6 km of the depot, with their postcodes.
const NEIGHBOURHOODS = [
  { name: "Presqu'île", postcode: "69002", lat: 45.7597, lon: 4.832, weight: 3 },
  { name: "Croix-Rousse", postcode: "69004", lat: 45.778, lon: 4.827, weight: 2 },
  { name: "Part-Dieu", postcode: "69003", lat: 45.7606, lon: 4.859, weight: 3 },
  { name: "Guillotière", postcode: "69007", lat: 45.753, lon: 4.843, weight: 3 },
  { name: "Vieux Lyon", postcode: "69005", lat: 45.762, lon: 4.827, weight: 1 },
  { name: "Monplaisir", postcode: "69008", lat: 45.745, lon: 4.87, weight: 2 },
  { name: "Brotteaux", postcode: "69006", lat: 45.768, lon: 4.855, weight: 2 },
  { name: "Gerland", postcode: "69007", lat: 45.729, lon: 4.83, weight: 2 },
  { name: "Vaise", postcode: "69009", lat: 45.774, lon: 4.805, weight: 1 },
];
const STREET_KINDS = ["Rue", "Rue", "Rue", "Avenue", "Cours", "Quai", "Place", "Boulevard", "Impasse", "Chemin"];
const STREET_NAMES = [
  "de la République", "Victor Hugo", "Garibaldi", "Paul Bert", "des Marronniers", "Duguesclin", "Vendôme",
  "Saint-Jean", "Mercière", "de Marseille", "Jean Macé", "Sully", "Tronchet", "Servient", "Pasteur",
  "Chevreul", "du Plat", "Bugeaud", "Moncey", "de Créqui", "Franklin", "Sala", "de Brest", "Lanterne",
];
const FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karima", "Louis", "Manon", "Nathan", "Océane", "Paul", "Rania", "Sacha", "Théo", "Yasmine"];
const LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Roux", "Fontaine", "Chevalier", "Benali", "Nguyen"];

/// mulberry32: a small seeded generator, so the same (n, seed) always gives the same file.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/// `n` delivery orders as a CSV the import panel reads without any mapping
/// (its recognised headers): clustered in Lyon's neighbourhoods around the demo
/// depot; ~40 % without a window, the rest half-day or 2-hour slots; weights
/// 0.5–25 kg (every 40th a 60 kg parcel), 1–3 parcels; a service time on some.
/// Returns `{ csv, orders }` (orders as plain objects, for assertions).
export function generateOrdersCsv(n, { seed = 1, prefix = "SC" } = {}) {
  const next = random(seed * 7919 + n);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const totalWeight = NEIGHBOURHOODS.reduce((s, h) => s + h.weight, 0);
  const hood = () => {
    let r = next() * totalWeight;
    for (const h of NEIGHBOURHOODS) if ((r -= h.weight) < 0) return h;
    return NEIGHBOURHOODS[0];
  };
  // Roughly normal (sum of 3 uniforms), metres.
  const jitter = (spread) => ((next() + next() + next()) / 3 - 0.5) * 2 * spread;
  const header = ["Order ref", "Street address", "Postcode", "City", "Customer", "Lat", "Lng", "From", "To", "Weight kg", "Parcels", "Service min"];
  const rows = [header.join(",")];
  const orders = [];
  const slots = [["09:00", "11:00"], ["11:00", "13:00"], ["13:00", "15:00"], ["15:00", "17:00"]];
  for (let i = 1; i <= n; i++) {
    const h = hood();
    const lat = h.lat + jitter(900) / 111_320;
    const lon = h.lon + jitter(900) / (111_320 * 0.6979);
    const street = `${1 + Math.floor(next() * 120)} ${pick(STREET_KINDS)} ${pick(STREET_NAMES)}`;
    const customer = `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
    const roll = next();
    const [from, to] = roll < 0.4 ? ["", ""] : roll < 0.6 ? ["09:00", "12:00"] : roll < 0.75 ? ["13:00", "17:00"] : pick(slots);
    const weight = i % 40 === 0 ? 60 : Math.round((0.5 + next() * 24.5) * 10) / 10;
    const parcels = 1 + Math.floor(next() * 3);
    const service = next() < 0.3 ? String(3 + Math.floor(next() * 4)) : "";
    const ref = `${prefix}-${String(i).padStart(4, "0")}`;
    orders.push({ ref, street, postcode: h.postcode, customer, lat, lon, from, to, weight, parcels });
    rows.push([ref, street, h.postcode, "Lyon", customer, lat.toFixed(5), lon.toFixed(5), from, to, weight, parcels, service].join(","));
  }
  return { csv: rows.join("\n") + "\n", orders };
}

/// Adds vans with drivers through the API until the organisation has `total`
/// active vehicles (the demo brings at most 4). Returns the vehicle count.
export async function ensureFleet(baseUrl, token, total) {
  const [depots, vehicles] = await Promise.all([api(baseUrl, token, "GET", "/api/depots"), api(baseUrl, token, "GET", "/api/vehicles")]);
  const depot = depots[0];
  let count = vehicles.filter((v) => v.active).length;
  for (let k = count + 1; k <= total; k++) {
    const vehicle = await api(baseUrl, token, "POST", "/api/vehicles", {
      name: `Van ${k}`,
      plate: `BN-${String(k).padStart(3, "0")}-LY`,
      depot_id: depot.id,
      capacity: [700, 3_900, 140],
      shift: { start: "08:00", end: "17:00" },
      start: depot.location,
      end: depot.location,
      cost_per_km: 0.2,
      cost_per_hour: 22,
      fixed_cost: 35,
    });
    await api(baseUrl, token, "POST", "/api/drivers", {
      name: `Driver ${k}`,
      phone: `+33 6 ${String(10 + (k % 90)).padStart(2, "0")} ${String(k % 100).padStart(2, "0")} 00 ${String(k % 100).padStart(2, "0")}`,
      vehicle_id: vehicle.id,
    });
    count = k;
  }
  return count;
}

/// Records, in the page, every optimizer run the app starts: the problem and
/// config it posts to the worker, each progress report (with the time since
/// the post) and the final answer. Call before the page loads.
export async function installSolverProbe(context) {
  await context.addInitScript(() => {
    const runs = [];
    window.__solverRuns = runs;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      if (message && message.type === "solve") {
        const run = { posted: performance.now(), problem: message.problem, config: message.config, progress: [], done: null, error: null };
        runs.push(run);
        this.addEventListener("message", (event) => {
          const m = event.data || {};
          const at = performance.now() - run.posted;
          if (m.type === "progress") {
            const p = JSON.parse(m.data);
            run.progress.push({ at, elapsed_ms: p.elapsed_ms, iteration: p.iteration, best_cost: p.best_cost, unassigned: p.unassigned });
          } else if (m.type === "done") {
            const s = JSON.parse(m.data);
            run.done = { at, ms: m.ms, threads: m.threads, cost: s.totals.cost, distance: s.totals.distance, vehicles: s.totals.vehicles, unassigned: s.unassigned.length, iterations: s.iterations };
          } else if (m.type === "error") {
            run.error = m.message;
          }
        });
      }
      return post.call(this, message, ...rest);
    };
  });
}

/// The orders count in the day summary ("N orders, M to plan, K vehicles").
export async function daySummary(page) {
  const text = await page.locator('[data-testid="day-summary"]').textContent();
  const [, orders, toPlan, vehicles] = text.match(/(\d+) orders, (\d+) to plan, (\d+) vehicles/).map(Number);
  return { orders, toPlan, vehicles };
}

/// Imports `csv` through the import panel (no mapping needed) and waits until
/// the day shows the new orders. Returns the panel's "Imported …" text.
export async function importOrders(page, csv, { name = "orders.csv", timeout = 120_000 } = {}) {
  const before = (await daySummary(page)).orders;
  const rows = csv.trim().split("\n").length - 1;
  await page.locator('[data-testid="import-open"]').click();
  await page.locator('[data-testid="import-file"]').setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.locator('[data-testid="import-preview"]').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="import-submit"]').click();
  const done = page.locator('[data-testid="import-done"]');
  await done.waitFor({ timeout });
  const text = await done.textContent();
  if (!text.includes(`Imported ${rows} of ${rows} orders`)) throw new Error(`import incomplete: ${text}`);
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="day-summary"]')?.textContent.match(/(\d+) orders/)?.[1]) === n,
    before + rows,
    { timeout },
  );
  await page.getByRole("button", { name: "Close the import panel" }).click();
  await page.locator('[data-testid="import-panel"]').waitFor({ state: "detached" });
  return text;
}

/// Chooses the time budget and clicks Plan; waits until the worker has been
/// sent the problem. Returns the run's index in the probe.
export async function startPlanning(page, budgetS) {
  await page.locator('[data-testid="budget"]').selectOption(String(budgetS));
  const index = await page.evaluate(() => window.__solverRuns.length);
  await page.locator('[data-testid="plan"]').click();
  await page.waitForFunction((i) => window.__solverRuns.length > i, index, { timeout: 60_000 });
  return index;
}

/// Waits for run `index` to finish and for the page to show its routes, evaluated.
export async function waitForPlan(page, index, { timeout = 180_000 } = {}) {
  await page.waitForFunction((i) => { const r = window.__solverRuns[i]; return r && (r.done || r.error); }, index, { timeout });
  const run = await solverRun(page, index);
  if (run.error) throw new Error(`the optimizer failed: ${run.error}`);
  await page.locator('[data-testid="results"][data-eval="ready"]').waitFor({ timeout: 60_000 });
  return run;
}

/// One recorded run, summarised: the first progress report with every job
/// assigned (solver clock `elapsed_ms` and page clock `at`, ms since the
/// problem was posted) or null; the final answer; the fewest unassigned seen.
export async function solverRun(page, index, { withProblem = false } = {}) {
  const run = await page.evaluate(({ i, withProblem }) => {
    const r = window.__solverRuns[i];
    return { ...r, problem: withProblem ? r.problem : undefined };
  }, { i: index, withProblem });
  const first = run.progress.find((p) => p.unassigned === 0) ?? null;
  const fewestUnassigned = run.progress.reduce((m, p) => Math.min(m, p.unassigned), Infinity);
  return {
    config: JSON.parse(run.config),
    problem: run.problem,
    reports: run.progress.length,
    firstFeasible: first && { solverMs: first.elapsed_ms, pageMs: Math.round(first.at), iteration: first.iteration, cost: first.best_cost },
    fewestUnassigned: Number.isFinite(fewestUnassigned) ? fewestUnassigned : null,
    done: run.done,
    error: run.error,
  };
}

/// Every route's KPIs and stops (job, order) as shown.
export async function readRoutes(page) {
  return page.$$eval('[data-testid="route"]', (routes) =>
    routes.map((r) => ({
      vehicle: r.dataset.vehicle,
      locked: r.dataset.locked === "true",
      kpis: Object.fromEntries([...r.querySelectorAll("[data-kpi]")].map((d) => [d.dataset.kpi, d.textContent])),
      stops: [...r.querySelectorAll('[data-testid="stop"]')].map((s) => ({ job: s.dataset.job, order: s.dataset.order })),
    })),
  );
}

/// Serves the app without its cross-origin isolation headers (COOP/COEP), as a
/// host that does not send them would: the page then plans on one thread with
/// the single-thread optimizer build.
export async function withoutIsolation(context, baseUrl) {
  const origin = new URL(baseUrl).origin;
  await context.route((url) => url.origin === origin, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers["cross-origin-opener-policy"];
    delete headers["cross-origin-embedder-policy"];
    await route.fulfill({ response, headers });
  });
}

/// Makes the page see `n` cores, so an isolated page plans on exactly `n`
/// threads (the app uses navigator.hardwareConcurrency, at most 8).
export async function pretendCores(context, n) {
  await context.addInitScript((n) => Object.defineProperty(Navigator.prototype, "hardwareConcurrency", { get: () => n, configurable: true }), n);
}

/// Waits until the plan has moved past revision `previous` and the shown
/// state is evaluated (figures from the worker, not stale ones).
export async function settled(page, previous, { timeout = 60_000 } = {}) {
  await page.waitForFunction(
    (previous) => {
      const r = document.querySelector('[data-testid="results"]');
      return r && r.dataset.revision !== previous && r.dataset.eval === "ready" && r.dataset.evaluated === r.dataset.revision;
    },
    previous,
    { timeout },
  );
}

/// The plan's current revision (changes with every edit, undo and re-optimisation).
export async function revision(page) {
  return page.locator('[data-testid="results"]').getAttribute("data-revision");
}

/// Types `text` into the field matching `selector` (one key every `keyDelayMs`)
/// and measures each keystroke from the browser's input event timestamp: when
/// its handler ran (`delay`) and when the next frame was painted (`paint`), in
/// ms. The specs assert these stay under 100 ms while the optimizer runs.
export async function typingLatencies(page, selector, text, { keyDelayMs = 60 } = {}) {
  await page.locator(selector).focus();
  await page.evaluate((selector) => {
    const input = document.querySelector(selector);
    window.__latencies = [];
    input.addEventListener("input", (event) => {
      const delay = performance.now() - event.timeStamp;
      requestAnimationFrame(() => window.__latencies.push({ delay, paint: performance.now() - event.timeStamp }));
    });
  }, selector);
  await page.keyboard.type(text, { delay: keyDelayMs });
  await page.waitForFunction((n) => window.__latencies.length === n, text.length);
  return page.evaluate(() => window.__latencies);
}

/// "handled/painted" per keystroke, for the spec's log line.
export const formatLatencies = (latencies) => latencies.map((l) => `${l.delay.toFixed(1)}/${l.paint.toFixed(1)}`).join(", ");

/// Clicks Publish, confirms with "Publish anyway" if the app warns that the
/// plan breaks a rule, and waits for the published note, which it returns.
export async function publishConfirming(page, { timeout = 30_000 } = {}) {
  await page.locator('[data-testid="publish"]').click();
  const published = page.locator('[data-testid="published"]');
  const warning = page.locator('[data-testid="publish-warning"]');
  await Promise.race([published.waitFor({ timeout }), warning.waitFor({ timeout })]);
  if (await warning.isVisible()) await page.locator('[data-testid="publish-anyway"]').click();
  await published.waitFor({ timeout });
  return published;
}
