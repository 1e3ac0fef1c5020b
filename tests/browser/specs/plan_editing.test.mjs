// Editing a solved plan by hand on a real `doorstep serve --demo` (issue 6):
// drag a stop to another route and see both routes' KPIs and the stop's ETA
// change (evaluated in the worker), with the rules it breaks marked and a
// warning before publishing; undo to the exact previous figures, redo; move
// stops from the keyboard and the "Move to…" select; lock a route and
// re-optimise the rest (the locked route keeps its sequence); export CSV,
// GeoJSON and route sheets; publish, and find the edited plan saved.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

const results = '[data-testid="results"]';

async function revision(page) {
  return page.locator(results).getAttribute("data-revision");
}

/// Waits until the plan has moved past `previous` and the present state is evaluated.
async function settled(page, previous) {
  await page.waitForFunction(
    ({ selector, previous }) => {
      const r = document.querySelector(selector);
      return r && r.dataset.revision !== previous && r.dataset.eval === "ready" && r.dataset.evaluated === r.dataset.revision;
    },
    { selector: results, previous },
    { timeout: 30_000 },
  );
}

/// Every route's KPIs and stops (job, order, ETA text) as shown.
async function readPlan(page) {
  return page.$$eval('[data-testid="route"]', (routes) =>
    routes.map((r) => ({
      vehicle: r.dataset.vehicle,
      locked: r.dataset.locked === "true",
      kpis: Object.fromEntries([...r.querySelectorAll("[data-kpi]")].map((d) => [d.dataset.kpi, d.textContent])),
      stops: [...r.querySelectorAll('[data-testid="stop"]')].map((s) => ({
        job: s.dataset.job,
        order: s.dataset.order,
        eta: s.querySelector('[data-testid="stop-eta"]').textContent,
      })),
    })),
  );
}

const route = (page, vehicle) => page.locator(`[data-testid="route"][data-vehicle="${vehicle}"]`);
const stop = (page, job) => page.locator(`[data-testid="stop"][data-job="${job}"]`);
const grip = { x: 12, y: 12 };

test("a dispatcher edits the plan by hand, undoes, locks, re-optimises, exports and publishes", async () => {
  const { context, page, errors } = await demo.signedInPage({
    contextOptions: { viewport: { width: 1366, height: 1400 }, acceptDownloads: true },
    // Keep each exported Blob's text: the test reads the files from there, so it
    // does not depend on where the browser may save downloads.
    init: (context) => context.addInitScript(() => {
      const create = URL.createObjectURL.bind(URL);
      window.__blobs = [];
      URL.createObjectURL = (blob) => {
        const url = create(blob);
        if (blob instanceof Blob) blob.text().then((text) => window.__blobs.push({ url, type: blob.type, text }));
        return url;
      };
    }),
  });
  const exported = async (download) =>
    (await page.waitForFunction((url) => window.__blobs.find((b) => b.url === url)?.text, download.url())).jsonValue();
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });

  // Plan (5 s budget, seeded).
  await page.locator('[data-testid="budget"]').selectOption("5");
  await page.locator('[data-testid="plan"]').click();
  await page.locator(`${results}[data-eval="ready"]`).waitFor({ timeout: 40_000 });
  const planned = await readPlan(page);
  assert.ok(planned.length >= 2, `at least 2 routes to edit: ${planned.length}`);
  assert.equal(await page.locator(results).getAttribute("data-feasible"), "true", "the optimizer's plan breaks no rule");
  assert.equal(await page.locator('[data-testid="undo"]').isDisabled(), true, "nothing to undo yet");
  // The timeline shows one row per route and one block per stop.
  const timeline = page.locator('[data-testid="route-timeline"]');
  assert.equal(await timeline.locator('[data-testid="timeline-row"]').count(), planned.length, "a timeline row per route");
  assert.equal(
    await timeline.locator('[data-testid="timeline-stop"]').count(),
    planned.reduce((n, r) => n + r.stops.length, 0),
    "a timeline block per stop",
  );
  await screenshot(page, "plan-editing-solved");

  // 1. Drag an afternoon stop of A between B's first and second stops: B's
  //    figures change, and B now waits there, so its later stops are late.
  const windowStart = (s) => (s.eta.match(/window (\d\d:\d\d)/) || [, ""])[1];
  // The source is among A's last stops, just above B's first ones, so both are
  // on screen: Playwright starts the drag after scrolling to the target, and a
  // long drag would pick up whatever stop is then under the pointer.
  const [a, b] = planned;
  const moved = a.stops.slice(-6).reduce((best, s) => (windowStart(s) > windowStart(best) ? s : best));
  assert.ok(windowStart(moved) >= "12:00", `A has an afternoon stop: ${JSON.stringify(moved)}`);
  const target = b.stops[1];
  let rev = await revision(page);
  // Both on screen before the drag (no scrolling while dragging).
  await stop(page, target.job).evaluate((el) => el.scrollIntoView({ block: "end" }));
  assert.ok(await stop(page, moved.job).isVisible());
  await stop(page, moved.job).dragTo(stop(page, target.job), { sourcePosition: grip, targetPosition: grip });
  await settled(page, rev);
  const dragged = await readPlan(page);
  const a2 = dragged.find((r) => r.vehicle === a.vehicle);
  const b2 = dragged.find((r) => r.vehicle === b.vehicle);
  assert.deepEqual(b2.stops.map((s) => s.job), [b.stops[0].job, moved.job, ...b.stops.slice(1).map((s) => s.job)], "dropped before B's second stop");
  assert.equal(Number(b2.kpis.stops), Number(b.kpis.stops) + 1);
  assert.equal(Number(a2.kpis.stops), Number(a.kpis.stops) - 1);
  assert.notDeepEqual(b2.kpis, b.kpis, "B's KPIs are re-evaluated");
  assert.ok(b2.kpis.distance !== b.kpis.distance || b2.kpis.duration !== b.kpis.duration, `B: ${JSON.stringify(b.kpis)} → ${JSON.stringify(b2.kpis)}`);
  assert.notEqual(a2.kpis.distance, a.kpis.distance, "A is shorter without the stop");
  const movedEta = b2.stops[1].eta;
  assert.match(movedEta, /arrives \d\d:\d\d/);
  assert.notEqual(movedEta, moved.eta, "the moved stop has a new ETA");
  console.log(`moved ${moved.order}: ${moved.eta} → ${movedEta}; B ${JSON.stringify(b.kpis)} → ${JSON.stringify(b2.kpis)}`);
  await screenshot(page, "plan-editing-dragged");

  // The edit is kept although it breaks rules: badges say why, publishing warns first.
  assert.equal(await page.locator(results).getAttribute("data-feasible"), "false");
  assert.equal(await route(page, b.vehicle).getAttribute("data-feasible"), "false");
  const badge = await route(page, b.vehicle).locator('[data-testid="route-violation"]').textContent();
  assert.match(badge, /late stop/);
  const late = route(page, b.vehicle).locator('[data-testid="stop-violation"]', { hasText: /^Late/ });
  assert.ok((await late.count()) >= 1);
  assert.match(await late.first().textContent(), /^Late: arrives \d\d:\d\d, window ends \d\d:\d\d$/);
  console.log(`after the drag: ${badge}; ${await page.locator('[data-testid="plan-violations"]').textContent()}`);
  await page.locator('[data-testid="publish"]').click();
  await page.locator('[data-testid="publish-warning"]').waitFor();
  await screenshot(page, "plan-editing-publish-warning");
  await page.locator('[data-testid="publish-cancel"]').click();
  assert.deepEqual(await readPlan(page), dragged, "keep editing changes nothing");

  // 2. Undo restores exactly the previous figures; redo (keyboard) brings the edit back.
  rev = await revision(page);
  await page.locator('[data-testid="undo"]').click();
  await settled(page, rev);
  assert.deepEqual(await readPlan(page), planned, "undo restores every route, stop, ETA and KPI");
  await screenshot(page, "plan-editing-undone");
  rev = await revision(page);
  await page.locator("h2").first().click(); // keyboard focus on the page, not a field
  await page.keyboard.press("Control+Shift+Z");
  await settled(page, rev);
  assert.deepEqual(await readPlan(page), dragged, "redo brings the edit back");

  // 3. The keyboard: Alt+ArrowDown moves a focused stop one place down; Ctrl+Z undoes it.
  const c = dragged.find((r) => r.vehicle === a.vehicle);
  rev = await revision(page);
  await stop(page, c.stops[0].job).focus();
  await page.keyboard.press("Alt+ArrowDown");
  await settled(page, rev);
  let now = (await readPlan(page)).find((r) => r.vehicle === c.vehicle);
  assert.deepEqual(now.stops.slice(0, 2).map((s) => s.job), [c.stops[1].job, c.stops[0].job]);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.job), c.stops[0].job, "focus stays on the moved stop");
  rev = await revision(page);
  await page.keyboard.press("Control+z");
  await settled(page, rev);
  assert.deepEqual(await readPlan(page), dragged);

  // 4. "Move to…" leaves a stop out of the plan; it is listed as not planned; undo.
  rev = await revision(page);
  const out = c.stops[2];
  await stop(page, out.job).locator('[data-testid="move-to"]').selectOption("-");
  await settled(page, rev);
  assert.equal(await stop(page, out.job).count(), 0);
  await page.locator(`[data-testid="unplanned-order"][data-order="${out.order}"]`).waitFor();
  assert.match(await page.locator(`[data-testid="unplanned-order"][data-order="${out.order}"]`).textContent(), /Left out by the dispatcher/);
  rev = await revision(page);
  await page.locator('[data-testid="undo"]').click();
  await settled(page, rev);
  assert.deepEqual(await readPlan(page), dragged);

  // 5. Back to the optimizer's plan; lock B and re-optimise: B keeps its exact
  //    sequence, the rest is solved again.
  rev = await revision(page);
  await page.locator('[data-testid="undo"]').click();
  await settled(page, rev);
  assert.deepEqual(await readPlan(page), planned);
  rev = await revision(page);
  await route(page, b.vehicle).locator('[data-testid="lock-route"]').click();
  await settled(page, rev);
  assert.equal(await route(page, b.vehicle).locator('[data-testid="lock-route"]').getAttribute("aria-pressed"), "true");
  assert.equal(await route(page, b.vehicle).locator('[data-testid="move-to"]').first().isDisabled(), true, "a locked route's stops cannot move");
  rev = await revision(page);
  await page.locator('[data-testid="reoptimise"]').click();
  await page.locator('[data-testid="progress"][data-state="running"]').waitFor({ timeout: 10_000 });
  await settled(page, rev);
  const reoptimised = await readPlan(page);
  const b3 = reoptimised.find((r) => r.vehicle === b.vehicle);
  assert.ok(b3 && b3.locked, "B is still there and locked");
  assert.deepEqual(b3.stops.map((s) => s.job), b.stops.map((s) => s.job), "the locked route's sequence is unchanged");
  assert.equal(await page.locator(results).getAttribute("data-feasible"), "true");
  await screenshot(page, "plan-editing-reoptimised");

  // 6. Exports of the plan on screen.
  const routeCount = reoptimised.length;
  const stopCount = reoptimised.reduce((n, r) => n + r.stops.length, 0);
  const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.locator('[data-testid="export-csv"]').click()]);
  assert.match(csvDownload.suggestedFilename(), /^plan-\d{4}-\d\d-\d\d\.csv$/);
  const csv = (await exported(csvDownload)).trim().split(/\r\n/);
  assert.equal(csv[0], "route,driver,vehicle,sequence,order_ref,customer,address,lat,lon,window,planned_arrival");
  assert.equal(csv.length - 1, stopCount, "one CSV row per stop");
  assert.equal(new Set(csv.slice(1).map((line) => line.split(",")[0])).size, routeCount, "rows name every route");
  const [geoDownload] = await Promise.all([page.waitForEvent("download"), page.locator('[data-testid="export-geojson"]').click()]);
  assert.match(geoDownload.suggestedFilename(), /^plan-\d{4}-\d\d-\d\d\.geojson$/);
  const geo = JSON.parse(await exported(geoDownload));
  assert.equal(geo.type, "FeatureCollection");
  assert.equal(geo.features.filter((f) => f.geometry.type === "LineString").length, routeCount);
  const points = geo.features.filter((f) => f.geometry.type === "Point");
  assert.equal(points.length, stopCount);
  assert.deepEqual(
    points.map((f) => f.properties.order_id).sort(),
    reoptimised.flatMap((r) => r.stops.map((s) => s.order)).sort(),
    "a point per stop of the plan, with its order",
  );
  assert.ok(points.every((f) => f.properties.route >= 1 && f.properties.sequence >= 1 && /\d\d:\d\d/.test(f.properties.planned_arrival)));
  const [sheets] = await Promise.all([context.waitForEvent("page"), page.locator('[data-testid="print-sheets"]').click()]);
  await sheets.waitForLoadState("domcontentloaded");
  assert.equal(await sheets.locator("section.sheet").count(), routeCount, "one printable sheet per route");
  assert.equal(await sheets.locator("section.sheet tbody tr").count(), stopCount);
  await sheets.close();

  // 7. Publish: the edited (re-optimised, locked) plan is what is saved.
  await page.locator('[data-testid="publish"]').click();
  const published = page.locator('[data-testid="published"]');
  await published.waitFor({ timeout: 15_000 });
  assert.match(await published.textContent(), new RegExp(`${routeCount} routes sent to drivers, ${stopCount} tracking links issued`));
  await screenshot(page, "plan-editing-published");
  const token = await apiToken(demo.baseUrl);
  const plan = await (await fetch(`${demo.baseUrl}/api/plans/${await published.getAttribute("data-plan-id")}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(plan.status, "published");
  const saved = plan.routes.find((r) => r.vehicle_id === b.vehicle);
  assert.deepEqual(saved.stops.map((s) => s.order_id), b3.stops.map((s) => s.order), "the locked route is saved as shown");

  assert.deepEqual(errors, []);
  await context.close();
});
