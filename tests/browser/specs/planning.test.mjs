// The dispatcher's first end-to-end slice against a real `doorstep serve --demo`:
// sign in, see the day's orders, plan them in the Web Worker while the page
// stays responsive, stop the search (keeping the best plan), see the routes, publish,
// and find the plan published through the API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { formatLatencies, typingLatencies } from "../support/planning_scale.mjs";

const demo = useDemoServer();

test("a wrong password shows a clear error and keeps the dispatcher out", async () => {
  const page = await demo.browser.newPage();
  await page.goto(demo.baseUrl + "/");
  await page.locator('[data-page="login"]').waitFor({ timeout: 15_000 });
  await page.getByLabel("Email").fill("dispatcher@colis-express.example");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const error = page.locator('[data-testid="login-error"]');
  await error.waitFor({ timeout: 10_000 });
  assert.match(await error.textContent(), /wrong email address or password/i);
  assert.equal(new URL(page.url()).pathname, "/login");
  await page.close();
});

test("dispatcher plans the demo day in a worker, stops it, sees routes and publishes", async () => {
  // 401s from the wrong-password check live in another page; this one must stay clean.
  const { context, page, errors } = await demo.signedInPage({ contextOptions: { viewport: { width: 1366, height: 900 } } });

  // The day's orders: in the table and as dots on the map.
  const summary = page.locator('[data-testid="day-summary"]');
  await summary.waitFor({ timeout: 15_000 });
  const [, total, toPlan] = (await summary.textContent()).match(/(\d+) orders, (\d+) to plan/).map(Number);
  assert.ok(total >= 80 && toPlan === total, `demo day: ${await summary.textContent()}`);
  const rows = page.locator('[data-testid="orders-table"] tbody tr');
  // The table mounts one task after the summary (its rows all at once).
  await rows.first().waitFor({ timeout: 5_000 });
  assert.equal(await rows.count(), total);
  assert.ok((await page.locator("path.leaflet-interactive").count()) >= total, "an order dot per order");

  // Sorting and the status filter work from the keyboard-usable header buttons.
  await page.getByRole("button", { name: /^Recipient/ }).click();
  assert.equal(await page.locator('th[aria-sort="ascending"]').textContent(), "Recipient ▲");
  await page.locator('[data-testid="status-filter"]').selectOption("delivered");
  assert.equal(await rows.count(), 0);
  await page.locator('[data-testid="status-filter"]').selectOption("");
  assert.equal(await rows.count(), total);

  // A 30 s budget so the search is surely still running while we type; Stop ends it.
  await page.locator('[data-testid="budget"]').selectOption("30");
  await page.locator('[data-testid="plan"]').click();
  const progress = page.locator('[data-testid="progress"]');
  await page.locator('[data-testid="progress"][data-state="running"]').waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="iterations"]')?.textContent) > 0, null, { timeout: 15_000 });

  // While the worker searches, typing in the search box is handled quickly:
  // the input event reaches its handler and the filtered table paints within 100 ms.
  const latencies = await typingLatencies(page, '[data-testid="order-search"]', "Rue");
  for (const { delay, paint } of latencies) {
    assert.ok(delay < 100, `input handled after ${delay.toFixed(1)} ms`);
    assert.ok(paint < 100, `filtered table painted after ${paint.toFixed(1)} ms`);
  }
  const filtered = await rows.count();
  assert.ok(filtered > 0 && filtered < total, `search "Rue" shows ${filtered} of ${total}`);
  assert.equal(await progress.getAttribute("data-state"), "running", "the optimizer was still running while typing");
  console.log(`input latencies while solving (ms): ${formatLatencies(latencies)}`);
  await page.locator('[data-testid="order-search"]').fill("");
  await screenshot(page, "planning-running");

  // Stop keeps the best plan found so far.
  await page.locator('[data-testid="stop"]').click();
  await page.locator('[data-testid="results"]').waitFor({ timeout: 15_000 });
  assert.equal(await progress.getAttribute("data-state"), "done");
  const iterations = Number(await page.locator('[data-testid="iterations"]').textContent());
  assert.ok(iterations > 0, "iterations reported");

  // Routes: coloured lines and numbered stops on the map, KPIs in the list.
  const routes = page.locator('[data-testid="route"]');
  const routeCount = await routes.count();
  assert.ok(routeCount >= 1, "at least one route");
  const stopsPerRoute = await page.locator('[data-kpi="stops"]').allTextContents();
  const plannedStops = stopsPerRoute.map(Number).reduce((a, b) => a + b, 0);
  assert.ok(plannedStops > total / 2, `${plannedStops} of ${total} orders planned`);
  for (const kpi of ["distance", "duration", "load", "cost"]) {
    const values = await page.locator(`[data-kpi="${kpi}"]`).allTextContents();
    assert.equal(values.length, routeCount, kpi);
    assert.ok(values.every((v) => /\d/.test(v)), `${kpi}: ${values}`);
  }
  assert.equal(await page.locator(".leaflet-marker-icon.stop-number").count(), plannedStops, "a numbered marker per stop");
  const lines = await page.locator("path.leaflet-interactive").evaluateAll((paths) => paths.filter((p) => p.getAttribute("fill") === "none").length);
  assert.ok(lines >= routeCount, `${lines} polylines for ${routeCount} routes`);
  const planned = page.locator('[data-testid="unplanned"] li');
  console.log(`demo plan: ${routeCount} routes, ${plannedStops} stops, ${await planned.count()} not planned, ${iterations} iterations; ${await page.locator('[data-testid="plan-totals"]').textContent()}`);
  await screenshot(page, "planning-routes");

  // Publish: saved, published, tracking links issued.
  await page.locator('[data-testid="publish"]').click();
  const published = page.locator('[data-testid="published"]');
  await published.waitFor({ timeout: 15_000 });
  assert.match(await published.textContent(), new RegExp(`${routeCount} routes sent to drivers, ${plannedStops} tracking links issued`));
  const planId = await published.getAttribute("data-plan-id");
  await screenshot(page, "planning-published");

  // The server agrees: the plan is published and its orders are dispatched.
  const token = await apiToken(demo.baseUrl);
  const plan = await (await fetch(`${demo.baseUrl}/api/plans/${planId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(plan.status, "published");
  assert.equal(plan.routes.length, routeCount);
  assert.ok(plan.routes.every((r) => r.driver_id), "every route has a driver");
  const orderId = plan.routes[0].stops[0].order_id;
  const order = await (await fetch(`${demo.baseUrl}/api/orders/${orderId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(order.status.state, "dispatched");

  assert.deepEqual(errors, []);
  await context.close();
});

test("on a tablet the planner, map and orders table are all reachable", async () => {
  const { context, page } = await demo.signedInPage({ contextOptions: { viewport: { width: 820, height: 1180 }, hasTouch: true } });
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  for (const [selector, minWidth] of [['[data-testid="map"].leaflet-container', 600], ['[data-testid="orders-table"]', 600], ['[data-testid="order-search"]', 150], ['[data-testid="plan"]', 40]]) {
    const box = await page.locator(selector).boundingBox();
    assert.ok(box && box.width >= minWidth && box.x >= 0 && box.x + box.width <= 820, `${selector}: ${JSON.stringify(box)}`);
  }
  await screenshot(page, "planning-tablet");
  await context.close();
});
