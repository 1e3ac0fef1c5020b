// The reports page on a real day: a driver starts a route, delivers two
// stops and fails one through the API; the dispatcher's /reports shows the
// figures, draws the charts and downloads a table as CSV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startDoorstep } from "../support/server.mjs";
import { launchBrowser, collectConsoleErrors, screenshot } from "../support/browser.mjs";
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

async function driverAction(token, path, key, body) {
  const response = await fetch(server.baseUrl + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

test("the reports page shows a day's deliveries, draws its charts and exports CSV", async () => {
  const dispatcher = await apiToken(server.baseUrl);
  const { plan, date } = await publishDemoPlan(server.baseUrl, dispatcher);
  const route = plan.routes[0];
  const codes = await api(server.baseUrl, dispatcher, "POST", `/api/drivers/${route.driver_id}/sign-in-codes`);
  const signedIn = await (await fetch(`${server.baseUrl}/api/auth/driver`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: codes.token }),
  })).json();
  const driver = signedIn.access_token;
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  await driverAction(driver, `/api/routes/${route.id}/start`, "start-1", { plan_id: plan.id, device_time: now(), vehicle_checked: true });
  for (const [i, stop] of route.stops.slice(0, 2).entries()) {
    await driverAction(driver, `/api/stops/${stop.id}/complete`, `done-${i}`, {
      plan_id: plan.id,
      pod: { order_id: stop.order_id, recipient_name: "Camille", device_time: now() },
    });
  }
  await driverAction(driver, `/api/stops/${route.stops[2].id}/fail`, "fail-1", { plan_id: plan.id, reason: "recipient_absent", device_time: now() });

  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = collectConsoleErrors(page);
  await page.goto(`${server.baseUrl}/login`);
  await signInThroughForm(page);
  await page.goto(`${server.baseUrl}/reports`);
  await page.getByTestId("reports-page").waitFor();
  for (const which of ["report-from", "report-to"]) {
    await page.getByTestId(which).fill(date);
    await page.getByTestId(which).dispatchEvent("change");
  }
  await page.getByTestId("kpi-delivered").getByText("2", { exact: true }).waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId("kpi-delivered").innerText(), /1 failed/);
  for (const chart of ["chart-on-time", "chart-shifts", "chart-failures", "chart-distance", "chart-duration", "chart-cost", "chart-ratings"]) {
    await page.getByTestId(chart).waitFor();
  }
  // Charts with data are canvases drawn by plotters, with a text alternative.
  const shifts = page.getByTestId("chart-shifts").locator("canvas");
  assert.match(await shifts.getAttribute("aria-label"), /delivered: .*2/);
  const painted = await shifts.evaluate((canvas) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let colored = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) colored++;
    return colored;
  });
  assert.ok(painted > 200, `the shifts chart has coloured bars (${painted} coloured pixels)`);
  assert.equal(await page.getByTestId("table-shifts").locator("tbody tr").count(), 1);
  await screenshot(page, "reports");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("heading", { name: /Shifts/ }).getByRole("button", { name: "Download CSV" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `doorstep-shifts-${date}-${date}.csv`);
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, /^driver_id,date,delivered,failed,/);
  assert.match(csv, new RegExp(`${route.driver_id},${date},2,1,`));
  assert.deepEqual(errors, []);
  await context.close();
});
