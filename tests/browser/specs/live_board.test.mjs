// The dispatcher's live board on a day in progress: a driver pings, delivers
// one stop and fails one through the API; /live shows each route's progress,
// the driver's last ping and marker, and picks up changes on refresh.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { api, driverPost, driverToken, publishDemoPlan } from "../support/driver.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

test("the live board shows each route's progress and the driver's last ping, and refreshes", async () => {
  const dispatcher = await apiToken(demo.baseUrl);
  const { plan } = await publishDemoPlan(demo.baseUrl, dispatcher);
  const route = plan.routes[0];
  const driver = await driverToken(demo.baseUrl, dispatcher, route.driver_id);

  await driverPost(demo.baseUrl, driver, `/api/routes/${route.id}/start`, { plan_id: plan.id, device_time: isoNow(), vehicle_checked: true }, "start-1");
  const first = route.stops[0].location;
  await driverPost(demo.baseUrl, driver, "/api/pings", { route_id: route.id, pings: [{ seq: 1, device_time: isoNow(), lat: first.lat, lon: first.lon, accuracy_m: 8, battery_pct: 76 }] });
  await driverPost(demo.baseUrl, driver, `/api/stops/${route.stops[0].id}/complete`, {
    plan_id: plan.id,
    pod: { order_id: route.stops[0].order_id, recipient_name: "Camille", device_time: isoNow() },
  }, "done-1");

  const { context, page, errors } = await demo.signedInPage({ path: "/login", contextOptions: { viewport: { width: 1366, height: 900 } } });
  await page.getByRole("link", { name: "Live" }).click();
  await page.locator('[data-page="live"]').waitFor({ timeout: 15_000 });

  const rows = page.locator('[data-testid="live-route"]');
  await rows.first().waitFor({ timeout: 15_000 });
  assert.equal(await rows.count(), plan.routes.length);
  const mine = page.locator(`[data-testid="live-route"][data-route-id="${route.id}"]`);
  assert.equal(await mine.getAttribute("data-delivered"), "1");
  assert.equal(await mine.getAttribute("data-failed"), "0");
  assert.equal(await mine.getAttribute("data-remaining"), String(route.stops.length - 1));
  assert.match(await mine.locator('[data-testid="live-ping"]').textContent(), /s ago · battery 76 %/);
  assert.match(await mine.locator('[data-testid="live-next"]').textContent(), /ETA \d\d:\d\d/);
  // One marker for the pinging driver (the depot is not drawn on this map).
  assert.equal(await page.locator(".leaflet-marker-icon:not(.stop-number)").count(), 1);
  await screenshot(page, "live-board");

  // A failure reaches the board on "Refresh now" without a reload.
  await driverPost(demo.baseUrl, driver, `/api/stops/${route.stops[1].id}/fail`, { plan_id: plan.id, reason: "recipient_absent", device_time: isoNow() }, "fail-1");
  await page.getByRole("button", { name: "Refresh now" }).click();
  await page.waitForFunction((id) => document.querySelector(`[data-route-id="${id}"]`)?.dataset.failed === "1", route.id, { timeout: 10_000 });
  assert.equal(await mine.getAttribute("data-remaining"), String(route.stops.length - 2));
  assert.deepEqual(errors, []);
  await context.close();
});
