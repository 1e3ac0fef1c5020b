// A whole delivery day on a real `doorstep serve`, through the UI of every
// face: the dispatcher imports a CSV, plans and publishes; two drivers, each
// on their own phone with a moving GPS, drive their routes along the planned
// stops, prove six deliveries with a photo and a signature and fail one;
// customers follow their parcels on the tracking page (live position and
// ETA, then the proof, or the failure and its reason, and the customer after
// the failed stop becomes the driver's next); the notification
// log holds exactly the messages the day called for; the live board and the
// reports (all on time) show the day.
// A screenshot is saved at each step.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { collectConsoleErrors, screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { api, launchPhone, makeJpegs, sign, signInLink } from "../support/driver.mjs";

// The PWA records a ping at most every 5 s (frontend/app/src/driver/gps.rs).
const PING_GAP_MS = 5_300;
// The demo's depot (Entrepôt Gerland, Lyon).
const DEPOT = { lat: 45.7345, lon: 4.8372 };

/// A fixed-offset zone in which it is now between 09:00 and 10:00, so the
/// demo fleet's shifts (07:30-17:00) cover the day whenever the test runs.
/// POSIX signs: Etc/GMT-3 is UTC+3.
function morningZone(now = new Date()) {
  const utcHour = now.getUTCHours();
  for (const offset of [9 - utcHour, 9 - utcHour + 24, 9 - utcHour - 24]) {
    if (offset >= -12 && offset <= 14) {
      const name = offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
      return { name, offsetH: offset };
    }
  }
  throw new Error(`no Etc/GMT zone puts ${now.toISOString()} in the morning`);
}

const zone = morningZone();
const localNow = () => new Date(Date.now() + zone.offsetH * 3_600_000);
const hhmm = (d) => d.toISOString().slice(11, 16);
const localDate = () => localNow().toISOString().slice(0, 10);

// Seven addresses around the depot, 300 m to 1.5 km apart.
const PLACES = [
  ["WD-1", "60 Avenue Tony Garnier", "69007", 45.7305, 4.8295, "Alice Martin"],
  ["WD-2", "306 Rue de Gerland", "69007", 45.7268, 4.8335, "Bruno Petit"],
  ["WD-3", "147 Route de Vienne", "69008", 45.7345, 4.8525, "Chloé Durand"],
  ["WD-4", "150 Avenue Jean Jaurès", "69007", 45.7440, 4.8405, "David Leroy"],
  ["WD-5", "58 Avenue Berthelot", "69007", 45.7467, 4.8455, "Emma Roux"],
  ["WD-6", "12 Rue Marcel Mérieux", "69007", 45.7375, 4.8300, "Farid Nguyen"],
  ["WD-7", "20 Rue du Professeur Grignard", "69007", 45.7405, 4.8470, "Gaëlle Faure"],
];

/// Everyone wants the same half hour, which began 5 minutes ago: with
/// 5-minute stops no single van can make all seven, so the plan needs both
/// drivers, and the test's quick drivers arrive within every window.
function dayCsv() {
  const start = new Date(Math.floor((localNow().getTime() - 5 * 60_000) / 60_000) * 60_000);
  const end = new Date(start.getTime() + 30 * 60_000);
  const rows = PLACES.map(([ref, street, postcode, lat, lon, name], i) =>
    `${ref},${street},${postcode},Lyon,${name},+33 6 00 00 00 0${i + 1},${ref.toLowerCase()}@example.com,${lat},${lon},${hhmm(start)},${hhmm(end)}`);
  return ["Order #,Street address,Code postal,Ville,Client,Phone,Email,Lat,Lng,From,To", ...rows].join("\n");
}

let dispatcherToken;

const demo = useDemoServer({
  serveArgs: [
    "--demo-orders", "0",
    "--demo-drivers", "2",
    "--demo-timezone", zone.name,
    // A 1 s backstop: every pending message is sent within a second or two.
    "--notify-interval-s", "1",
  ],
  setup: async ({ baseUrl }) => {
    dispatcherToken = await apiToken(baseUrl);
  },
});

const shot = (page, step, name) => screenshot(page, `whole-day-${String(step).padStart(2, "0")}-${name}`);

/// The log sink's messages so far, as (order, trigger) pairs.
function sentMessages() {
  const file = join(demo.server.dataDir, "notifications.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => {
    const { event } = JSON.parse(line);
    return { order: event.order_id, trigger: event.trigger };
  });
}

async function waitFor(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const hasMessage = (order, trigger) => sentMessages().some((m) => m.order === order && m.trigger === trigger);
const pairKey = (m) => `${m.order} ${m.trigger}`;

/// A point `metres` from `to` on the way from `from`.
function pointShortOf(from, to, metres) {
  const dLat = (to.lat - from.lat) * 111_320;
  const dLon = (to.lon - from.lon) * 111_320 * Math.cos((to.lat * Math.PI) / 180);
  const length = Math.hypot(dLat, dLon);
  const f = Math.max(0, 1 - metres / length);
  return { lat: from.lat + (to.lat - from.lat) * f, lon: from.lon + (to.lon - from.lon) * f, length };
}

async function driverPhone(route, how) {
  const context = await launchPhone({ timezoneId: zone.name, geolocation: { latitude: DEPOT.lat, longitude: DEPOT.lon, accuracy: 10 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = collectConsoleErrors(page);
  const { link, codes } = await signInLink(demo.baseUrl, dispatcherToken, route.driver_id);
  if (how === "link") {
    await page.goto(link);
  } else {
    const org = await api(demo.baseUrl, dispatcherToken, "GET", "/api/organisation");
    await page.goto(`${demo.baseUrl}/driver`);
    await page.getByLabel("Organisation").fill(org.id);
    await page.getByLabel("Driver").fill(route.driver_id);
    await page.getByLabel("PIN").fill(codes.pin);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await page.locator('[data-testid="stop-list"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('[data-testid="stop-row"]').count(), route.stops.length);
  return { context, page, errors };
}

/// Drives `route` stop by stop: a few GPS fixes along each leg (the last
/// within the nearby radius, outside the arrival geofence), the "nearby"
/// message, the geofenced arrival, then the proof or the failure.
async function driveRoute({ page, context }, route, { failStopId, photos, onTheWay, done, label }) {
  const stops = [...route.stops].sort((a, b) => a.sequence - b.sequence);
  let lastFix = Date.now();
  const moveTo = async (point) => {
    const wait = lastFix + PING_GAP_MS - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    await context.setGeolocation({ latitude: point.lat, longitude: point.lon, accuracy: 8 });
    lastFix = Date.now();
  };
  await page.locator('[data-testid="start-route"]').click();
  await page.locator('[data-testid="stop-card"]').waitFor({ timeout: 15_000 });
  let from = DEPOT;
  let proofShot = false;
  for (const [i, stop] of stops.entries()) {
    const to = stop.location;
    const approach = pointShortOf(from, to, 180);
    // Half way, then 180 m short of the door (or half way on a short leg).
    await moveTo(pointShortOf(from, to, approach.length / 2));
    if (approach.length > 400) await moveTo(approach);
    await waitFor(`nearby for ${stop.order_id}`, () => hasMessage(stop.order_id, "nearby"));
    if (onTheWay[stop.id]) await onTheWay[stop.id]();
    if (i === 0) await shot(page, label.step, `${label.name}-on-the-way`);

    // At the door: the geofence records the arrival by itself.
    await context.setGeolocation({ latitude: to.lat, longitude: to.lon, accuracy: 8 });
    await page.locator(`[data-testid="stop-row"][data-stop-id="${stop.id}"][data-status="arrived"]`).waitFor({ timeout: 15_000 });
    const card = page.locator(`[data-testid="stop-card"][data-stop-id="${stop.id}"]`);
    await card.waitFor();
    if (stop.id === failStopId) {
      await card.locator('[data-testid="failed"]').click();
      await page.getByLabel("Recipient not available").check();
      await shot(page, label.step, `${label.name}-failing`);
      await page.locator('[data-testid="confirm-failed"]').click();
      await page.locator(`[data-testid="stop-row"][data-stop-id="${stop.id}"][data-status="failed"]`).waitFor({ timeout: 15_000 });
    } else {
      await card.locator('[data-testid="delivered"]').click();
      await page.locator('[data-testid="photo-input"]').setInputFiles({ name: `stop-${i + 1}.jpg`, mimeType: "image/jpeg", buffer: photos[i] });
      await page.locator('[data-testid="photos"][data-count="1"]').waitFor({ timeout: 10_000 });
      await sign(page);
      if (!proofShot) await shot(page, label.step, `${label.name}-proof`);
      proofShot = true;
      await page.locator('[data-testid="confirm-delivered"]').click();
      await page.locator(`[data-testid="stop-row"][data-stop-id="${stop.id}"][data-status="delivered"]`).waitFor({ timeout: 15_000 });
    }
    if (done[stop.id]) await done[stop.id]();
    from = to;
  }
  // Everything the phone queued reached the server.
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-state"]')?.dataset.waiting === "0", null, { timeout: 30_000 });
  await shot(page, label.step, `${label.name}-route-done`);
}

test("a whole day: import, plan, publish, two drivers, customers, notifications, live board and reports", { timeout: 300_000 }, async () => {
  const started = Date.now();
  // 1. The dispatcher signs in to an empty day.
  const { context: dispatcherContext, page: dispatcher, errors: dispatcherErrors } = await demo.signedInPage({
    contextOptions: { viewport: { width: 1366, height: 900 }, timezoneId: zone.name },
  });
  const customerContext = await demo.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "en-GB", timezoneId: zone.name });
  const phones = [];
  try {
    const summary = dispatcher.locator('[data-testid="day-summary"]');
    await summary.waitFor({ timeout: 15_000 });
    assert.match(await summary.textContent(), /^0 orders/);
    await shot(dispatcher, 1, "dispatcher-empty-day");

    // 2. Imports the day's orders from a CSV file.
    await dispatcher.locator('[data-testid="import-open"]').click();
    await dispatcher.locator('[data-testid="import-file"]').setInputFiles({ name: "today.csv", mimeType: "text/csv", buffer: Buffer.from(dayCsv()) });
    await dispatcher.locator('[data-testid="import-preview"]').waitFor();
    // The preview shows the first five rows.
    assert.equal(await dispatcher.locator('[data-testid="import-preview"] tbody tr').count(), 5);
    assert.equal(await dispatcher.locator('[data-testid="import-preview"] tbody tr').nth(0).locator("td").nth(0).textContent(), "WD-1");
    await shot(dispatcher, 2, "dispatcher-import-preview");
    await dispatcher.locator('[data-testid="import-submit"]').click();
    const imported = dispatcher.locator('[data-testid="import-done"]');
    await imported.waitFor({ timeout: 15_000 });
    assert.match(await imported.textContent(), new RegExp(`Imported ${PLACES.length} of ${PLACES.length} orders`));
    await dispatcher.waitForFunction((n) => new RegExp(`^${n} orders, ${n} to plan`).test(document.querySelector('[data-testid="day-summary"]')?.textContent ?? ""), PLACES.length, { timeout: 15_000 });
    await shot(dispatcher, 2, "dispatcher-imported");
    await dispatcher.locator('[data-testid="import-submit"]').focus();
    await dispatcher.keyboard.press("Escape");
    await dispatcher.locator('[data-testid="import-panel"]').waitFor({ state: "detached" });

    // 3. Plans with a short budget: both drivers get a route, every order is planned.
    await dispatcher.locator('[data-testid="budget"]').selectOption("5");
    await dispatcher.locator('[data-testid="plan"]').click();
    await dispatcher.locator('[data-testid="results"]').waitFor({ timeout: 60_000 });
    assert.equal(await dispatcher.locator('[data-testid="route"]').count(), 2, "the plan uses both drivers");
    const stopsPerRoute = (await dispatcher.locator('[data-kpi="stops"]').allTextContents()).map(Number);
    assert.equal(stopsPerRoute.reduce((a, b) => a + b, 0), PLACES.length, `stops per route: ${stopsPerRoute}`);
    assert.ok(stopsPerRoute.every((n) => n >= 1), `stops per route: ${stopsPerRoute}`);
    assert.equal(await dispatcher.locator('[data-testid="unplanned"] li').count(), 0);
    await shot(dispatcher, 3, "dispatcher-planned");

    // 4. Publishes; the answer carries each stop's tracking token.
    const publishResponse = dispatcher.waitForResponse((r) => /\/api\/plans\/[^/]+\/publish$/.test(new URL(r.url()).pathname) && r.request().method() === "POST");
    await dispatcher.locator('[data-testid="publish"]').click();
    const published = await (await publishResponse).json();
    await dispatcher.locator('[data-testid="published"]').waitFor({ timeout: 15_000 });
    assert.match(await dispatcher.locator('[data-testid="published"]').textContent(), new RegExp(`2 routes sent to drivers, ${PLACES.length} tracking links issued`));
    await shot(dispatcher, 4, "dispatcher-published");
    const plan = await api(demo.baseUrl, dispatcherToken, "GET", `/api/plans/${published.plan.id}`);
    assert.equal(plan.status, "published");
    assert.equal(plan.routes.length, 2);
    assert.equal(new Set(plan.routes.map((r) => r.driver_id)).size, 2, "two different drivers");
    const orderIds = plan.routes.flatMap((r) => r.stops.map((s) => s.order_id));
    for (const id of orderIds) assert.equal((await api(demo.baseUrl, dispatcherToken, "GET", `/api/orders/${id}`)).status.state, "dispatched");
    const tokenOf = (stop) => published.tracking.find((t) => t.stop_id === stop.id).token;
    const inOrder = (route) => [...route.stops].sort((a, b) => a.sequence - b.sequence);

    // The customers we follow: the second stop of the longer route (delivered),
    // the first stop of the other route (the failure), and the stop after the
    // failure, which must then become the driver's next.
    const [routeA, routeB] = [...plan.routes].sort((a, b) => b.stops.length - a.stops.length);
    const watchedDelivered = inOrder(routeA)[1];
    const failedStop = inOrder(routeB)[0];
    const afterFailed = inOrder(routeB)[1] ?? inOrder(routeA)[2];
    const customerPage = async (stop) => {
      const page = await customerContext.newPage();
      const errors = collectConsoleErrors(page);
      await page.goto(`${demo.baseUrl}/t/${tokenOf(stop)}`);
      return { page, errors };
    };
    const customers = [await customerPage(watchedDelivered), await customerPage(failedStop), await customerPage(afterFailed)];
    for (const [i, { page }] of customers.entries()) {
      await page.locator('[data-page="tracking"][data-state="dispatched"]').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId("status").innerText(), "Ready for delivery");
      assert.match(await page.getByTestId("eta").innerText(), /Expected between\s+\d{2}:\d{2} and \d{2}:\d{2}/);
      await shot(page, 5, `customer-${i + 1}-dispatched`);
    }

    // A customer's page while their driver is on the way: live position and ETA.
    const onTheWay = (customer, n) => async () => {
      const { page } = customer;
      await page.reload();
      await page.locator('[data-page="tracking"][data-state="out_for_delivery"]').waitFor({ timeout: 20_000 });
      await page.locator('[data-testid="map"][data-ready="true"]').waitFor({ timeout: 15_000 });
      await page.locator(".leaflet-marker-icon.driver-marker").waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId("status").innerText(), "On its way");
      assert.equal(await page.getByTestId("stops-before").innerText(), "You are the driver's next stop");
      const eta = page.getByTestId("eta");
      assert.match(await eta.innerText(), /Expected between\s+\d{2}:\d{2} and \d{2}:\d{2}/);
      assert.ok(Number(await eta.getAttribute("data-end")) > Number(await eta.getAttribute("data-start")));
      await shot(page, 6, `customer-${n}-on-the-way`);
    };
    const afterDelivery = async () => {
      const { page } = customers[0];
      await page.reload();
      await page.locator('[data-page="tracking"][data-state="delivered"]').waitFor({ timeout: 20_000 });
      await page.getByTestId("pod-photo").waitFor();
      await page.waitForFunction(() => document.querySelector('[data-testid="pod-photo"]')?.naturalWidth > 0, null, { timeout: 10_000 });
      assert.equal(await page.getByTestId("status").innerText(), "Delivered");
      assert.equal(await page.getByTestId("signature").count(), 1);
      assert.equal(await page.getByTestId("map").count(), 0, "no map once delivered");
      await shot(page, 7, "customer-1-delivered");
    };
    const afterFailure = async () => {
      const { page } = customers[1];
      await page.reload();
      await page.locator('[data-page="tracking"][data-state="failed"]').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId("status").innerText(), "Delivery attempt failed");
      assert.match(await page.getByTestId("failure").innerText(), /could not find anyone to receive the parcel\. The sender will be in touch\./);
      // The driver has gone: no live position, no proof.
      assert.equal(await page.getByTestId("map").count(), 0, "no map once the attempt is over");
      assert.equal(await page.getByTestId("pod").count(), 0);
      await shot(page, 7, "customer-2-failed");
    };

    const onTheWayHooks = { [watchedDelivered.id]: onTheWay(customers[0], 1), [failedStop.id]: onTheWay(customers[1], 2), [afterFailed.id]: onTheWay(customers[2], 3) };
    const doneHooks = { [watchedDelivered.id]: afterDelivery, [failedStop.id]: afterFailure };

    // 5-7. The drivers sign in (one with the link, one with the PIN) and drive their routes at the same time.
    const driverA = await driverPhone(routeA, "link");
    phones.push(driverA);
    const driverB = await driverPhone(routeB, "pin");
    phones.push(driverB);
    await shot(driverA.page, 5, "driver-a-route");
    await shot(driverB.page, 5, "driver-b-route");
    const photosA = await makeJpegs(driverA.page, routeA.stops.length, 20);
    const photosB = await makeJpegs(driverB.page, routeB.stops.length, 200);
    await Promise.all([
      driveRoute(driverA, routeA, { photos: photosA, onTheWay: onTheWayHooks, done: doneHooks, label: { step: 6, name: "driver-a" } }),
      driveRoute(driverB, routeB, { failStopId: failedStop.id, photos: photosB, onTheWay: onTheWayHooks, done: doneHooks, label: { step: 6, name: "driver-b" } }),
    ]);

    // The server has every outcome, with a photo and a signature for each delivery.
    for (const id of orderIds) {
      const order = await api(demo.baseUrl, dispatcherToken, "GET", `/api/orders/${id}`);
      const pod = await api(demo.baseUrl, dispatcherToken, "GET", `/api/orders/${id}/pod`);
      assert.equal(pod.attempts.length, 1, `one attempt for ${id}`);
      if (id === failedStop.order_id) {
        // Failed, and (the default policy) back in line for another attempt.
        assert.ok(["failed", "created"].includes(order.status.state), JSON.stringify(order.status));
        assert.equal(order.attempts, 1);
      } else {
        assert.equal(order.status.state, "delivered", id);
        assert.equal(pod.attempts[0].intact, true);
        assert.equal(pod.attempts[0].record.proof.photos.length, 1);
        assert.ok(pod.attempts[0].record.proof.signature.strokes.flat().length > 5);
      }
    }

    // 8. Notifications: exactly one message per order and event of the day.
    const expected = [];
    for (const id of orderIds) {
      expected.push({ order: id, trigger: "dispatched" }, { order: id, trigger: "nearby" });
      expected.push({ order: id, trigger: id === failedStop.order_id ? "failed" : "delivered" });
    }
    const want = expected.map(pairKey).sort();
    await waitFor("every expected notification", () => sentMessages().length >= want.length, 30_000);
    // Two backstop passes (1 s each) for anything that should not be there.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.deepEqual(sentMessages().map(pairKey).sort(), want);

    // 9. The dispatcher's live board: both routes finished, one failure.
    await dispatcher.getByRole("link", { name: "Live" }).click();
    await dispatcher.locator('[data-page="live"]').waitFor({ timeout: 15_000 });
    const rows = dispatcher.locator('[data-testid="live-route"]');
    await rows.first().waitFor({ timeout: 15_000 });
    assert.equal(await rows.count(), 2);
    for (const route of [routeA, routeB]) {
      const row = dispatcher.locator(`[data-testid="live-route"][data-route-id="${route.id}"]`);
      const failed = route.id === routeB.id ? 1 : 0;
      assert.equal(await row.getAttribute("data-delivered"), String(route.stops.length - failed));
      assert.equal(await row.getAttribute("data-failed"), String(failed));
      assert.equal(await row.getAttribute("data-remaining"), "0");
      assert.notEqual(await row.locator('[data-testid="live-ping"]').textContent(), "none yet", "the driver's last ping is shown");
    }
    assert.equal(await dispatcher.locator(".leaflet-marker-icon:not(.stop-number)").count(), 2, "both drivers on the map");
    await shot(dispatcher, 9, "dispatcher-live-board");

    // 10. The reports: the day's deliveries and the failure.
    await dispatcher.goto(`${demo.baseUrl}/reports`);
    await dispatcher.getByTestId("reports-page").waitFor({ timeout: 15_000 });
    const date = localDate();
    for (const which of ["report-from", "report-to"]) {
      await dispatcher.getByTestId(which).fill(date);
      await dispatcher.getByTestId(which).dispatchEvent("change");
    }
    const delivered = PLACES.length - 1;
    await dispatcher.getByTestId("kpi-delivered").getByText(String(delivered), { exact: true }).waitFor({ timeout: 15_000 });
    assert.match(await dispatcher.getByTestId("kpi-delivered").innerText(), /1 failed/);
    assert.equal(await dispatcher.getByTestId("kpi-on-time").locator(".kpi-value").innerText(), "100%", "every delivery within its window");
    assert.equal(await dispatcher.getByTestId("table-shifts").locator("tbody tr").count(), 2, "a shift per driver");
    await shot(dispatcher, 10, "dispatcher-reports");

    assert.deepEqual(dispatcherErrors, []);
    for (const { errors } of customers) assert.deepEqual(errors, []);
    for (const { errors } of phones) assert.deepEqual(errors, []);
    console.log(`whole day: ${PLACES.length} orders on 2 routes (${stopsPerRoute.join(" + ")} stops), ${want.length} notifications, zone ${zone.name}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const { context } of phones) await context.close();
    await customerContext.close();
    await dispatcherContext.close();
  }
});
