// The reports page on a real day: a driver starts a route, delivers two
// stops and fails one through the API; the dispatcher's /reports shows the
// figures, draws the charts and downloads a table as CSV.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { api, driverPost, driverToken, publishDemoPlan } from "../support/driver.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

test("the reports page shows a day's deliveries, draws its charts and exports CSV", async () => {
  const dispatcher = await apiToken(demo.baseUrl);
  const { plan, date } = await publishDemoPlan(demo.baseUrl, dispatcher);
  const route = plan.routes[0];
  const driver = await driverToken(demo.baseUrl, dispatcher, route.driver_id);
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  await driverPost(demo.baseUrl, driver, `/api/routes/${route.id}/start`, { plan_id: plan.id, device_time: now(), vehicle_checked: true }, "start-1");
  for (const [i, stop] of route.stops.slice(0, 2).entries()) {
    await driverPost(demo.baseUrl, driver, `/api/stops/${stop.id}/complete`, {
      plan_id: plan.id,
      pod: { order_id: stop.order_id, recipient_name: "Camille", device_time: now() },
    }, `done-${i}`);
  }
  await driverPost(demo.baseUrl, driver, `/api/stops/${route.stops[2].id}/fail`, { plan_id: plan.id, reason: "recipient_absent", device_time: now() }, "fail-1");

  const { context, page, errors } = await demo.signedInPage({ path: "/login", contextOptions: { viewport: { width: 1280, height: 1000 }, acceptDownloads: true } });
  await page.goto(`${demo.baseUrl}/reports`);
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
