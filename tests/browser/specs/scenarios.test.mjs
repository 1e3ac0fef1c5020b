// Planning scenarios on a real `doorstep serve --demo` (issue 6): plan the
// demo day, save it as "Scenario A" (from the keyboard), copy it to
// "Scenario B", switch a driver's vehicle off in B and re-optimise B, compare
// the two side by side (B uses fewer routes; the diff lists the orders that
// moved to another driver), switch between them, publish B, and find both
// scenarios again after a page reload (localStorage, per org and day).
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { publishConfirming } from "../support/planning_scale.mjs";

const demo = useDemoServer();

const results = '[data-testid="results"]';
const scenario = (page, name) => page.locator(`[data-testid="scenario"][data-name="${name}"]`);

/// The routes shown: vehicle → order ids.
async function shownRoutes(page) {
  return page.$$eval('[data-testid="route"]', (routes) =>
    Object.fromEntries(routes.map((r) => [r.dataset.vehicle, [...r.querySelectorAll('[data-testid="stop"]')].map((s) => s.dataset.order)])),
  );
}

/// Waits until the plan shown is evaluated and uses exactly `vehicles`.
async function showing(page, vehicles) {
  await page.waitForFunction(
    ({ results, vehicles }) => {
      const r = document.querySelector(results);
      if (!r || r.dataset.eval !== "ready" || r.dataset.evaluated !== r.dataset.revision) return false;
      const shown = [...document.querySelectorAll('[data-testid="route"]')].map((x) => x.dataset.vehicle).sort();
      return JSON.stringify(shown) === JSON.stringify([...vehicles].sort());
    },
    { results, vehicles },
    { timeout: 40_000 },
  );
}

/// The comparison table: KPI key → { left, right, better }.
async function kpiTable(page) {
  return page.$$eval('[data-testid="compare-table"] tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((r) => [
        r.dataset.kpi,
        {
          left: r.querySelector('[data-side="left"]').textContent,
          right: r.querySelector('[data-side="right"]').textContent,
          better: r.dataset.better,
        },
      ]),
    ),
  );
}

test("a dispatcher saves, copies, changes, re-optimises, compares and publishes scenarios that survive a reload", async () => {
  const { context, page, errors } = await demo.signedInPage({ contextOptions: { viewport: { width: 1366, height: 1200 } } });
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });

  // Plan the demo day (5 s budget, seeded).
  await page.locator('[data-testid="budget"]').selectOption("5");
  await page.locator('[data-testid="plan"]').click();
  await page.locator(`${results}[data-eval="ready"]`).waitFor({ timeout: 40_000 });
  const planA = await shownRoutes(page);
  const usedA = Object.keys(planA);
  assert.ok(usedA.length >= 2, `the demo plan uses at least 2 routes: ${usedA}`);

  // The panel says where scenarios are kept; "Save as scenario" from the keyboard
  // (Enter in the name field) saves the plan as "Scenario A", now shown.
  await page.locator('[data-testid="scenarios-toggle"]').click();
  assert.match(await page.locator('[data-testid="scenario-storage-note"]').textContent(), /survive a page reload/);
  const name = page.getByLabel("Scenario name");
  assert.equal(await name.getAttribute("placeholder"), "Scenario A");
  await name.focus();
  await page.keyboard.press("Enter");
  await scenario(page, "Scenario A").waitFor();
  assert.equal(await scenario(page, "Scenario A").getAttribute("data-shown"), "true");
  assert.match(await scenario(page, "Scenario A").locator('[data-testid="scenario-kpis"]').textContent(), new RegExp(`^${usedA.length} routes? · `));
  await screenshot(page, "scenarios-saved");

  // Copy A: "Scenario B" is created and shown, with A's plan.
  await page.getByRole("button", { name: "Copy Scenario A" }).click();
  await scenario(page, "Scenario B").waitFor();
  assert.equal(await scenario(page, "Scenario B").getAttribute("data-shown"), "true");
  assert.equal(await scenario(page, "Scenario A").getAttribute("data-shown"), "false");
  assert.deepEqual(await shownRoutes(page), planA, "the copy starts from A's plan");
  assert.equal(await page.locator('[data-testid="undo"]').isDisabled(), true, "the copy starts its own undo history");

  // In B, switch off the driver with the fewest stops (and vehicles A left
  // unused, so B has strictly fewer to use), then re-optimise B.
  const vehicles = await page.locator('[data-testid="scenario-vehicle"]').evaluateAll((els) => els.map((e) => e.dataset.vehicle));
  const removed = usedA.reduce((best, v) => (planA[v].length < planA[best].length ? v : best));
  const off = vehicles.filter((v) => v === removed || !usedA.includes(v));
  const removedLabel = await page.locator(`label[for="scenario-vehicle-${removed}"]`).textContent();
  for (const v of off) {
    const box = page.locator(`[data-testid="scenario-vehicle"][data-vehicle="${v}"]`);
    await box.focus();
    await page.keyboard.press("Space"); // checkboxes work from the keyboard
    await page.waitForFunction((v) => !document.querySelector(`[data-testid="scenario-vehicle"][data-vehicle="${v}"]`).checked, v);
  }
  await page.locator('[data-testid="scenario-stale"]').waitFor();
  assert.equal(await scenario(page, "Scenario B").getAttribute("data-stale"), "true");
  assert.ok((await scenario(page, "Scenario B").textContent()).includes(removedLabel), "B says which driver is off");
  await page.getByRole("button", { name: "Re-optimise Scenario B" }).click();
  const expectedB = usedA.filter((v) => v !== removed);
  await page.locator('[data-testid="scenario"][data-name="Scenario B"][data-stale="false"]').waitFor({ timeout: 40_000 });
  const planB = await shownRoutes(page);
  assert.ok(!(removed in planB), `B does not use ${removed}: ${Object.keys(planB)}`);
  assert.ok(Object.keys(planB).every((v) => expectedB.includes(v)), `B uses only the vehicles left on: ${Object.keys(planB)}`);
  console.log(`A: ${usedA.length} routes; B without ${removedLabel}: ${Object.keys(planB).length} routes`);

  // Compare A with B: KPIs side by side, differences marked, and the diff.
  const table = page.locator('[data-testid="compare-table"]');
  await table.waitFor();
  assert.equal(await page.locator('[data-testid="compare-left"]').inputValue(), await scenario(page, "Scenario A").getAttribute("data-scenario"));
  assert.equal(await page.locator('[data-testid="compare-right"]').inputValue(), await scenario(page, "Scenario B").getAttribute("data-scenario"));
  const kpis = await kpiTable(page);
  assert.deepEqual(Object.keys(kpis), ["routes", "stops", "unassigned", "distance", "duration", "cost", "on-time"]);
  assert.equal(Number(kpis.routes.left), usedA.length);
  assert.equal(Number(kpis.routes.right), Object.keys(planB).length);
  assert.ok(Number(kpis.routes.right) < Number(kpis.routes.left), `B uses fewer routes: ${JSON.stringify(kpis.routes)}`);
  assert.equal(kpis.routes.better, "right", "fewer routes is better");
  assert.equal(await table.locator('tr[data-kpi="routes"] td[data-side="right"]').getAttribute("class"), "kpi-better");
  assert.ok(Object.values(kpis).some((k) => k.better !== "same"));
  const stopsA = Object.values(planA).flat();
  const stopsB = Object.values(planB).flat();
  assert.equal(Number(kpis.stops.left), new Set(stopsA).size);
  assert.equal(Number(kpis.stops.right), new Set(stopsB).size);
  console.log(`compare: ${JSON.stringify(kpis)}`);

  // Every order of the removed driver moved to another driver or is not planned in B.
  const diff = page.locator('[data-testid="scenario-diff"]');
  const moved = await diff.locator('[data-testid="diff-moved"] li').evaluateAll((lis) => lis.map((li) => ({ order: li.dataset.order, text: li.textContent })));
  const leftOnly = await diff.locator('[data-testid="diff-only-left"] li').evaluateAll((lis) => lis.map((li) => li.dataset.order));
  assert.ok(moved.length > 0, "the diff lists orders on another route");
  for (const order of planA[removed]) {
    const m = moved.find((x) => x.order === order);
    assert.ok(m || leftOnly.includes(order), `${order} of ${removed} is in the diff`);
    if (m) assert.ok(m.text.includes(`${removedLabel} → `), `moved away from ${removedLabel}: ${m.text}`);
  }
  for (const m of moved) {
    const from = Object.keys(planA).find((v) => planA[v].includes(m.order));
    const to = Object.keys(planB).find((v) => planB[v].includes(m.order));
    assert.ok(from && to && from !== to, `${m.order} really changed route (${from} → ${to})`);
  }
  console.log(`diff: ${moved.length} moved, ${leftOnly.length} planned in A only; e.g. ${moved[0].text}`);
  await table.scrollIntoViewIfNeeded();
  await screenshot(page, "scenarios-compare");

  // Switching scenarios switches the plan shown; then B is chosen to publish.
  await page.getByRole("button", { name: "Show Scenario A" }).click();
  await showing(page, usedA);
  assert.deepEqual(await shownRoutes(page), planA);
  await page.getByRole("button", { name: "Show Scenario B" }).click();
  await showing(page, Object.keys(planB));
  assert.deepEqual(await shownRoutes(page), planB);
  assert.equal(await scenario(page, "Scenario B").getAttribute("data-shown"), "true");
  const published = await publishConfirming(page, { timeout: 15_000 });
  assert.match(await published.textContent(), new RegExp(`^Published: ${Object.keys(planB).length} routes sent to drivers`));
  await screenshot(page, "scenarios-published");

  // The server has B: the removed driver's vehicle has no route.
  const token = await apiToken(demo.baseUrl);
  const planId = await published.getAttribute("data-plan-id");
  const saved = await (await fetch(`${demo.baseUrl}/api/plans/${planId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(saved.status, "published");
  assert.deepEqual(saved.routes.map((r) => r.vehicle_id).sort(), Object.keys(planB).sort());

  // After a reload both scenarios are still there, with their figures and comparison.
  await page.reload();
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="scenarios-toggle"]').click();
  await scenario(page, "Scenario B").waitFor({ timeout: 15_000 });
  assert.deepEqual(
    await page.locator('[data-testid="scenario"]').evaluateAll((els) => els.map((e) => e.dataset.name)),
    ["Scenario A", "Scenario B"],
  );
  await page.locator('[data-testid="compare-table"]').waitFor();
  assert.deepEqual(await kpiTable(page), kpis, "the comparison is the same after the reload");
  // B's orders are dispatched now: B stays chosen, its stored figures are kept.
  assert.equal(await scenario(page, "Scenario B").getAttribute("data-shown"), "true");
  assert.match(await page.locator('[data-testid="plan-error"]').textContent(), /Scenario B is not shown: .*(no longer open orders|No orders to plan)/);
  await screenshot(page, "scenarios-reloaded");

  // Rename and delete from the keyboard-usable controls.
  await page.getByRole("button", { name: "Rename Scenario A" }).click();
  await page.locator('[data-testid="scenario-rename-input"]').fill("Full fleet");
  await page.keyboard.press("Enter");
  await scenario(page, "Full fleet").waitFor();
  await page.getByRole("button", { name: "Delete Full fleet" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="scenario"]').length === 1);
  await page.reload();
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="scenarios-toggle"]').click();
  await scenario(page, "Scenario B").waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="scenario"]').count(), 1, "the deletion is stored too");

  assert.deepEqual(errors, []);
  await context.close();
});
