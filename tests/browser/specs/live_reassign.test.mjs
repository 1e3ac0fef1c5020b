// Reassigning an unstarted stop mid-day from the live board: the dispatcher
// picks "Move to…" another driver on a stop of driver A, sees the new ETA
// (and any rule it breaks) in the dialog, confirms with the keyboard; the
// board shows the stop on driver B's route and driver B's own route (API)
// includes it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { api, driverToken, publishDemoPlan } from "../support/driver.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

test("a dispatcher moves an unstarted stop to another driver from the live board", async () => {
  const dispatcher = await apiToken(demo.baseUrl);
  const { plan, date, orders } = await publishDemoPlan(demo.baseUrl, dispatcher);
  const [from, to] = plan.routes;
  // A plain parcel (no window, no special skill) of driver A.
  const plain = new Set(orders.filter((o) => (o.time_windows ?? []).length === 0 && (o.skills ?? []).length === 0).map((o) => o.id));
  const stop = from.stops.find((s) => plain.has(s.order_id)) ?? from.stops[0];

  const { context, page, errors } = await demo.signedInPage({ path: "/login", contextOptions: { viewport: { width: 1366, height: 900 } } });
  await page.getByRole("link", { name: "Live" }).click();
  await page.locator('[data-page="live"]').waitFor({ timeout: 15_000 });

  const rowA = page.locator(`[data-testid="live-route"][data-route-id="${from.id}"]`);
  await rowA.waitFor({ timeout: 15_000 });
  await rowA.locator('[data-testid="live-stops"] summary').click();
  const item = rowA.locator(`[data-testid="live-stop"][data-order-id="${stop.order_id}"]`);
  const select = item.locator('[data-testid="live-move"]');
  await select.waitFor({ timeout: 10_000 });
  assert.match(await select.getAttribute("aria-label"), /^Move .+ to another driver's route$/);
  // Keyboard: focus the select and choose driver B's route.
  await select.focus();
  await select.selectOption(to.id);

  const dialog = page.getByRole("dialog");
  await dialog.waitFor({ timeout: 10_000 });
  const eta = dialog.locator('[data-testid="live-move-eta"]');
  await eta.waitFor({ timeout: 15_000 });
  assert.match(await eta.textContent(), /^New ETA \d\d:\d\d · stop \d+ of \d+$/);
  // Either it fits, or the dialog names what it breaks before "Move anyway".
  const fits = await dialog.locator('[data-testid="live-move-feasible"]').count();
  const warns = await dialog.locator('[data-testid="live-move-warnings"] li').count();
  assert.ok(fits === 1 || warns > 0, "the dialog says whether the move fits");
  await screenshot(page, "live-reassign-dialog");
  const confirm = dialog.locator('[data-testid="live-move-confirm"]');
  await confirm.focus();
  await page.keyboard.press("Enter");

  // The board refreshes: the stop is on B's route, not on A's.
  await page.locator('[data-testid="live-move-done"]').waitFor({ timeout: 15_000 });
  const rowB = page.locator(`[data-testid="live-route"][data-route-id="${to.id}"]`);
  await page.waitForFunction(
    ([b, order]) => !!document.querySelector(`[data-route-id="${b}"] [data-testid="live-stop"][data-order-id="${order}"]`),
    [to.id, stop.order_id],
    { timeout: 15_000 },
  );
  assert.equal(await rowA.locator(`[data-testid="live-stop"][data-order-id="${stop.order_id}"]`).count(), 0);
  assert.equal(await rowB.locator(`[data-testid="live-stop"][data-order-id="${stop.order_id}"]`).count(), 1);
  assert.equal(await page.getByRole("dialog").count(), 0);

  // Driver B's own route has it, with the stop's id kept.
  const driverB = await driverToken(demo.baseUrl, dispatcher, to.driver_id);
  const mine = await api(demo.baseUrl, driverB, "GET", `/api/drivers/me/route?date=${date}`);
  const moved = mine.route.stops.find((s) => s.order_id === stop.order_id);
  assert.ok(moved, "driver B's route includes the moved stop");
  assert.equal(moved.id, stop.id);
  const driverA = await driverToken(demo.baseUrl, dispatcher, from.driver_id);
  const theirs = await api(demo.baseUrl, driverA, "GET", `/api/drivers/me/route?date=${date}`);
  assert.ok(!theirs.route.stops.some((s) => s.order_id === stop.order_id), "driver A's route no longer has it");

  // Escape closes a preview without moving anything.
  const other = to.stops[0];
  await rowB.locator('[data-testid="live-stops"]').evaluate((d) => { d.open = true; });
  const back = rowB.locator(`[data-testid="live-stop"][data-order-id="${other.order_id}"] [data-testid="live-move"]`);
  if (await back.count()) {
    await back.selectOption(from.id);
    await page.getByRole("dialog").waitFor({ timeout: 10_000 });
    await page.getByRole("dialog").locator('[data-testid="live-move-cancel"]').press("Escape");
    await page.waitForFunction(() => !document.querySelector('[role="dialog"]'), null, { timeout: 5_000 });
    const still = await api(demo.baseUrl, driverB, "GET", `/api/drivers/me/route?date=${date}`);
    assert.ok(still.route.stops.some((s) => s.order_id === other.order_id), "cancelled: nothing moved");
  }
  assert.deepEqual(errors, []);
  await context.close();
});
