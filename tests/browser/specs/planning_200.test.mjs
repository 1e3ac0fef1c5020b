// A 200-order day on 8 drivers through the dispatcher app (issue 6): the
// dispatcher imports a CSV of 200 orders around the Lyon depot, plans them in
// the Web Worker while the page keeps handling input within 100 ms, gets every
// order planned or told why not, drags a stop to another route (KPIs change),
// undoes (KPIs restored), locks a route and re-optimises (its stops unchanged),
// publishes, and finds the routes dispatched through the API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { api, today } from "../support/driver.mjs";
import {
  daySummary,
  ensureFleet,
  formatLatencies,
  generateOrdersCsv,
  importOrders,
  installSolverProbe,
  publishConfirming,
  readRoutes,
  revision,
  settled,
  startPlanning,
  typingLatencies,
  waitForPlan,
} from "../support/planning_scale.mjs";

const ORDERS = 200;
const DRIVERS = 8;
/// Long enough that the search is surely still running while we type.
const BUDGET_S = 10;

// The demo business without its orders; its 4 drivers are topped up to 8 below.
const demo = useDemoServer({ serveArgs: ["--demo-orders", "0"] });

/// What the app says for each optimizer reason (doorstep_domain::planning::reason_label).
const REASONS = [
  "Address not geocoded",
  "No vehicle has the required skills",
  "Too large for every suitable vehicle",
  "Too far for every suitable vehicle",
  "Time window cannot be met",
  "Does not fit in any shift",
  "Conflicts with a driver's break",
  "Vehicle stop limit reached",
  "No room left in the fleet",
];

const route = (page, vehicle) => page.locator(`[data-testid="route"][data-vehicle="${vehicle}"]`);
const stop = (page, job) => page.locator(`[data-testid="stop"][data-job="${job}"]`);
const grip = { x: 12, y: 12 };

async function allOrders(token, date) {
  const found = [];
  let cursor = null;
  do {
    const page = await api(demo.baseUrl, token, "GET", `/api/orders?date=${date}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    found.push(...page.items);
    cursor = page.next_cursor && page.next_cursor !== cursor ? page.next_cursor : null;
  } while (cursor);
  return found;
}

test("a dispatcher imports 200 orders, plans them on 8 drivers, edits, locks, re-optimises and publishes", async () => {
  const token = await apiToken(demo.baseUrl);
  assert.equal(await ensureFleet(demo.baseUrl, token, DRIVERS), DRIVERS);
  assert.equal((await api(demo.baseUrl, token, "GET", "/api/drivers")).filter((d) => d.active && d.vehicle_id).length, DRIVERS);

  const { context, page, errors } = await demo.signedInPage({ contextOptions: { viewport: { width: 1366, height: 1400 } }, init: installSolverProbe });
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  assert.deepEqual(await daySummary(page), { orders: 0, toPlan: 0, vehicles: DRIVERS });

  // 1. Import the day's 200 orders from a CSV file.
  const { csv, orders } = generateOrdersCsv(ORDERS, { seed: 200, prefix: "P200" });
  assert.equal(orders.length, ORDERS);
  assert.ok(orders.filter((o) => o.from).length > ORDERS / 3, "some orders have a time window");
  const imported = await importOrders(page, csv, { name: "day-200.csv" });
  assert.match(imported, /Imported 200 of 200 orders/);
  assert.deepEqual(await daySummary(page), { orders: ORDERS, toPlan: ORDERS, vehicles: DRIVERS });
  await screenshot(page, "planning-200-imported");

  // 2. Plan; while the worker searches, typing in the search box is handled
  //    and the filtered table painted within 100 ms.
  const first = await startPlanning(page, BUDGET_S);
  const progress = page.locator('[data-testid="progress"]');
  await page.locator('[data-testid="progress"][data-state="running"]').waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iterations"]')?.textContent) > 0, null, { timeout: 30_000 });
  const rows = page.locator('[data-testid="orders-table"] tbody tr');
  const unfiltered = await rows.count();
  const latencies = await typingLatencies(page, '[data-testid="order-search"]', "Rue");
  assert.equal(await progress.getAttribute("data-state"), "running", "the optimizer was still running while typing");
  console.log(`input latencies while solving 200 orders (ms, handled/painted): ${formatLatencies(latencies)}`);
  // Every keystroke reaches its handler within 100 ms; the repaint of the
  // 200-row table is held to 100 ms at the median, since one frame can slip
  // when the machine's other core is busy too.
  for (const { delay } of latencies) assert.ok(delay < 100, `input handled after ${delay.toFixed(1)} ms`);
  const paints = latencies.map((l) => l.paint).sort((x, y) => x - y);
  assert.ok(paints[1] < 100, `filtered table painted after ${paints.map((p) => p.toFixed(1)).join(", ")} ms (median over 100)`);
  const filtered = await rows.count();
  assert.ok(filtered > 0 && filtered < unfiltered, `search "Rue" shows ${filtered} of ${unfiltered}`);
  await screenshot(page, "planning-200-running");
  await page.locator('[data-testid="order-search"]').fill("");

  // 3. Every order is planned, or listed as not planned with the reason.
  const run = await waitForPlan(page, first);
  assert.equal(run.config.time_limit_ms, BUDGET_S * 1000);
  const planned = await readRoutes(page);
  assert.ok(planned.length >= 2 && planned.length <= DRIVERS, `${planned.length} routes`);
  const stopCount = planned.reduce((n, r) => n + r.stops.length, 0);
  const unplanned = page.locator('[data-testid="unplanned-order"]');
  const unplannedCount = await unplanned.count();
  assert.equal(stopCount + unplannedCount, ORDERS, `${stopCount} planned + ${unplannedCount} not planned`);
  assert.equal(unplannedCount, run.done.unassigned, "the list shows what the optimizer left out");
  for (const text of await unplanned.allTextContents()) {
    assert.ok(REASONS.some((r) => text.includes(`: ${r}`)), `not planned without a reason: ${text}`);
  }
  assert.equal(new Set(planned.flatMap((r) => r.stops.map((s) => s.order))).size, stopCount, "no order twice");
  console.log(
    `200 orders, ${DRIVERS} drivers, ${BUDGET_S} s on ${run.done.threads} thread(s): ${planned.length} routes, ${stopCount} stops, ${unplannedCount} not planned; ` +
      `first feasible ${run.firstFeasible ? `${run.firstFeasible.solverMs} ms (solver) / ${run.firstFeasible.pageMs} ms (page)` : `never (fewest unassigned ${run.fewestUnassigned})`}; ` +
      `cost ${run.done.cost.toFixed(2)}, ${run.done.iterations} iterations; ${await page.locator('[data-testid="plan-totals"]').textContent()}`,
  );
  await screenshot(page, "planning-200-routes");

  // 4. Drag A's last stop onto B's first (the next route, so both are on
  //    screen together): both routes' KPIs change. A keeps a stop, so it stays listed.
  const ai = planned.findIndex((r, i) => r.stops.length >= 2 && i + 1 < planned.length);
  const [a, b] = [planned[ai], planned[ai + 1]];
  const moved = a.stops.at(-1);
  const target = b.stops[0];
  let rev = await revision(page);
  await stop(page, target.job).evaluate((el) => el.scrollIntoView({ block: "end" }));
  assert.ok(await stop(page, moved.job).isVisible(), "A's last stop is on screen with B's first");
  await stop(page, moved.job).dragTo(stop(page, target.job), { sourcePosition: grip, targetPosition: grip });
  await settled(page, rev);
  const dragged = await readRoutes(page);
  const a2 = dragged.find((r) => r.vehicle === a.vehicle);
  const b2 = dragged.find((r) => r.vehicle === b.vehicle);
  assert.deepEqual(b2.stops.map((s) => s.job), [moved.job, ...b.stops.map((s) => s.job)], "dropped before B's first stop");
  assert.equal(Number(b2.kpis.stops), Number(b.kpis.stops) + 1);
  assert.equal(Number(a2.kpis.stops), Number(a.kpis.stops) - 1);
  assert.ok(b2.kpis.distance !== b.kpis.distance || b2.kpis.duration !== b.kpis.duration, `B: ${JSON.stringify(b.kpis)} → ${JSON.stringify(b2.kpis)}`);
  assert.ok(a2.kpis.distance !== a.kpis.distance || a2.kpis.duration !== a.kpis.duration, `A: ${JSON.stringify(a.kpis)} → ${JSON.stringify(a2.kpis)}`);
  assert.notDeepEqual(a2.kpis, a.kpis, "A's KPIs are re-evaluated");
  assert.notDeepEqual(b2.kpis, b.kpis, "B's KPIs are re-evaluated");
  console.log(`moved ${moved.order}: A ${JSON.stringify(a.kpis)} → ${JSON.stringify(a2.kpis)}; B ${JSON.stringify(b.kpis)} → ${JSON.stringify(b2.kpis)}`);
  await screenshot(page, "planning-200-dragged");

  // 5. Undo restores every route's stops and KPIs exactly.
  rev = await revision(page);
  await page.locator('[data-testid="undo"]').click();
  await settled(page, rev);
  assert.deepEqual(await readRoutes(page), planned, "undo restores the optimizer's plan and its KPIs");

  // 6. Lock B and re-optimise: B keeps its exact stops, the rest is solved again.
  rev = await revision(page);
  await route(page, b.vehicle).locator('[data-testid="lock-route"]').click();
  await settled(page, rev);
  assert.equal(await route(page, b.vehicle).locator('[data-testid="lock-route"]').getAttribute("aria-pressed"), "true");
  rev = await revision(page);
  const second = await page.evaluate(() => window.__solverRuns.length);
  await page.locator('[data-testid="reoptimise"]').click();
  await page.locator('[data-testid="progress"][data-state="running"]').waitFor({ timeout: 10_000 });
  const rerun = await waitForPlan(page, second);
  await settled(page, rev);
  const reoptimised = await readRoutes(page);
  const b3 = reoptimised.find((r) => r.vehicle === b.vehicle);
  assert.ok(b3 && b3.locked, "B is still there and locked");
  assert.deepEqual(b3.stops, b.stops, "the locked route's stops are unchanged");
  const finalStops = reoptimised.reduce((n, r) => n + r.stops.length, 0);
  assert.equal(finalStops + (await unplanned.count()), ORDERS, "every order is still accounted for");
  console.log(`re-optimised around locked ${b.vehicle}: cost ${rerun.done.cost.toFixed(2)}, ${reoptimised.length} routes, ${finalStops} stops`);
  await screenshot(page, "planning-200-reoptimised");

  // 7. Publish (confirming if the plan breaks a rule), and the server agrees.
  const published = await publishConfirming(page, { timeout: 30_000 });
  assert.match(await published.textContent(), new RegExp(`${reoptimised.length} routes sent to drivers, ${finalStops} tracking links issued`));
  await screenshot(page, "planning-200-published");

  const org = await api(demo.baseUrl, token, "GET", "/api/organisation");
  const plan = await api(demo.baseUrl, token, "GET", `/api/plans/${await published.getAttribute("data-plan-id")}`);
  assert.equal(plan.status, "published");
  assert.equal(plan.routes.length, reoptimised.length);
  assert.ok(plan.routes.every((r) => r.driver_id), "every route has a driver");
  assert.deepEqual(plan.routes.find((r) => r.vehicle_id === b.vehicle).stops.map((s) => s.order_id), b.stops.map((s) => s.order), "the locked route is saved as shown");
  const day = await allOrders(token, today(org.timezone));
  assert.equal(day.length, ORDERS);
  const dispatched = new Set(day.filter((o) => o.status.state === "dispatched").map((o) => o.id));
  const shown = reoptimised.flatMap((r) => r.stops.map((s) => s.order));
  assert.equal(dispatched.size, finalStops, "every planned order is dispatched");
  assert.ok(shown.every((id) => dispatched.has(id)), "the dispatched orders are the ones on the routes");

  assert.deepEqual(errors, []);
  await context.close();
});
