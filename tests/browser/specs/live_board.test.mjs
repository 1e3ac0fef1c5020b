// The dispatcher's live board on a day in progress: a driver pings, delivers
// one stop and fails one through the API; /live shows each route's progress,
// the driver's last ping and marker, and picks up changes on refresh.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { collectConsoleErrors, launchBrowser, screenshot } from "../support/browser.mjs";
import { startDoorstep } from "../support/server.mjs";
import { DEMO_PASSWORD, apiToken, signInThroughForm } from "../support/auth.mjs";
import { api, publishDemoPlan } from "../support/driver.mjs";

let server;
let browser;

before(async () => {
  server = await startDoorstep({ demo: true, extraArgs: ["--demo-password", DEMO_PASSWORD] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

async function driverCall(token, path, key, body) {
  const response = await fetch(server.baseUrl + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

test("the live board shows each route's progress and the driver's last ping, and refreshes", async () => {
  const dispatcher = await apiToken(server.baseUrl);
  const { plan } = await publishDemoPlan(server.baseUrl, dispatcher);
  const route = plan.routes[0];
  const codes = await api(server.baseUrl, dispatcher, "POST", `/api/drivers/${route.driver_id}/sign-in-codes`);
  const driver = (await (await fetch(`${server.baseUrl}/api/auth/driver`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: codes.token }),
  })).json()).access_token;

  await driverCall(driver, `/api/routes/${route.id}/start`, "start-1", { plan_id: plan.id, device_time: isoNow(), vehicle_checked: true });
  const first = route.stops[0].location;
  await driverCall(driver, "/api/pings", null, { route_id: route.id, pings: [{ seq: 1, device_time: isoNow(), lat: first.lat, lon: first.lon, accuracy_m: 8, battery_pct: 76 }] });
  await driverCall(driver, `/api/stops/${route.stops[0].id}/complete`, "done-1", {
    plan_id: plan.id,
    pod: { order_id: route.stops[0].order_id, recipient_name: "Camille", device_time: isoNow() },
  });

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = collectConsoleErrors(page);
  await page.goto(server.baseUrl + "/login");
  await signInThroughForm(page);
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
  await driverCall(driver, `/api/stops/${route.stops[1].id}/fail`, "fail-1", { plan_id: plan.id, reason: "recipient_absent", device_time: isoNow() });
  await page.getByRole("button", { name: "Refresh now" }).click();
  await page.waitForFunction((id) => document.querySelector(`[data-route-id="${id}"]`)?.dataset.failed === "1", route.id, { timeout: 10_000 });
  assert.equal(await mine.getAttribute("data-remaining"), String(route.stops.length - 2));
  assert.deepEqual(errors, []);
  await context.close();
});
