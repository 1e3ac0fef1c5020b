// The driver PWA against a real `doorstep serve --demo`: installable, usable
// offline (the route survives reloads, actions wait in a durable queue), and
// once back online the server ends up with every stop, proof photo and ping
// exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectConsoleErrors, screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { api, launchPhone, makeJpegs, publishDemoPlan, sha256Hex, sign, signInLink } from "../support/driver.mjs";

let token;
let published;

// Each test opens its own phone (a persistent profile): no shared browser.
const demo = useDemoServer({
  browser: false,
  setup: async ({ baseUrl }) => {
    token = await apiToken(baseUrl);
    published = await publishDemoPlan(baseUrl, token);
  },
});

/// The driver's route in the published plan, with its orders in stop order.
function routeOf(driverIndex) {
  const route = published.plan.routes[driverIndex];
  const orders = route.stops.map((s) => published.orders.find((o) => o.id === s.order_id));
  return { route, orders };
}

async function openSignedIn(context, driverIndex) {
  const { route } = routeOf(driverIndex);
  const { link } = await signInLink(demo.baseUrl, token, route.driver_id);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(link);
  await page.locator('[data-testid="stop-list"]').waitFor({ timeout: 20_000 });
  // The service worker controls the page (it claims clients on activation).
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 20_000 });
  return page;
}

/// The queue and the ping counter as stored in IndexedDB.
async function readQueue(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open("doorstep-driver");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const all = (store) => new Promise((resolve, reject) => {
      const request = db.transaction(store).objectStore(store).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const items = (await all("queue")).map((json) => JSON.parse(json));
    const blobs = await all("blobs");
    db.close();
    return { items, blobCount: blobs.length };
  });
}

async function waitingCount(page) {
  return Number(await page.locator('[data-testid="sync-state"]').getAttribute("data-waiting"));
}

test("the driver app is installable: manifest, icons and a service worker", async () => {
  const context = await launchPhone({ timezoneId: published.org.timezone });
  try {
    const page = await openSignedIn(context, 1);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    assert.deepEqual(installabilityErrors, []);
    const manifest = await (await fetch(`${demo.baseUrl}/manifest.webmanifest`)).json();
    assert.equal(manifest.start_url, "/driver");
    assert.deepEqual(manifest.icons.filter((i) => i.type === "image/png").map((i) => i.sizes), ["192x192", "512x512"]);
    // The service worker's cache is named after the build's content.
    const caches = await page.evaluate(() => caches.keys());
    assert.ok(caches.some((c) => /^doorstep-[0-9a-f]{16}$/.test(c)), `caches: ${caches}`);
  } finally {
    await context.close();
  }
});

test("20 stops completed offline with photos and signatures reach the server exactly once after reloads", { timeout: 300_000 }, async () => {
  const driverIndex = 0;
  const { route, orders } = routeOf(driverIndex);
  assert.ok(route.stops.length >= 21, `the test needs 21 stops, the route has ${route.stops.length}`);
  // Somewhere a couple of kilometres from the first stop.
  const origin = route.stops[0].location;
  const context = await launchPhone({ timezoneId: published.org.timezone, geolocation: { latitude: origin.lat + 0.02, longitude: origin.lon, accuracy: 10 } });
  try {
    const page = await openSignedIn(context, driverIndex);
    const errors = collectConsoleErrors(page);
    assert.equal(await page.locator('[data-testid="stop-row"]').count(), route.stops.length);
    await screenshot(page, "driver-route-list");
    // The same route on the map: a numbered marker per stop.
    await page.getByRole("tab", { name: "Map" }).click();
    await page.locator('[data-testid="map"].leaflet-container').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator(".leaflet-marker-icon.stop-number").count(), route.stops.length);
    await screenshot(page, "driver-route-map");
    await page.getByRole("tab", { name: "List" }).click();
    const photos = await makeJpegs(page, 20);

    // Everything from here on happens offline.
    await context.setOffline(true);
    await page.waitForFunction(() => navigator.onLine === false);
    assert.equal(await page.evaluate(() => fetch("/api/health").then(() => "reached", () => "offline")), "offline");

    await page.locator('[data-testid="start-route"]').click();
    await page.locator('[data-testid="stop-card"]').waitFor();
    await screenshot(page, "driver-stop-card");

    const stops = [...route.stops].sort((a, b) => a.sequence - b.sequence);
    for (let i = 0; i < 20; i++) {
      const stop = stops[i];
      // Driving to the stop: the geofence records the arrival by itself.
      await context.setGeolocation({ latitude: stop.location.lat, longitude: stop.location.lon, accuracy: 8 });
      await page.locator(`[data-testid="stop-row"][data-stop-id="${stop.id}"][data-status="arrived"]`).waitFor({ timeout: 10_000 });
      const card = page.locator(`[data-testid="stop-card"][data-stop-id="${stop.id}"]`);
      await card.waitFor();
      await card.locator('[data-testid="delivered"]').click();
      await page.locator('[data-testid="photo-input"]').setInputFiles({ name: `stop-${i + 1}.jpg`, mimeType: "image/jpeg", buffer: photos[i] });
      await page.locator('[data-testid="photos"][data-count="1"]').waitFor({ timeout: 10_000 });
      await sign(page);
      if (i === 0) await screenshot(page, "driver-pod-capture");
      await page.locator('[data-testid="confirm-delivered"]').click();
      await page.locator(`[data-testid="stop-row"][data-stop-id="${stop.id}"][data-status="delivered"]`).waitFor({ timeout: 10_000 });
      // Pings are at least 5 s apart: give some stops time for one.
      if (i % 4 === 3) await page.waitForTimeout(5_200);
    }
    // The 21st stop fails, with a reason.
    const failedStop = stops[20];
    await page.locator(`[data-testid="stop-card"][data-stop-id="${failedStop.id}"] [data-testid="failed"]`).click();
    await page.getByLabel("Recipient not available").check();
    await page.locator('[data-testid="confirm-failed"]').click();
    await page.locator(`[data-testid="stop-row"][data-stop-id="${failedStop.id}"][data-status="failed"]`).waitFor({ timeout: 10_000 });

    // Two reloads while offline: the route, its progress and the queue survive.
    const before = await readQueue(page);
    for (let reload = 0; reload < 2; reload++) {
      const response = await page.reload();
      assert.equal(response.fromServiceWorker(), true, "the offline shell comes from the service worker");
      await page.locator('[data-testid="stop-list"]').waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('[data-testid="stop-row"][data-status="delivered"]').count(), 20);
      assert.equal(await page.locator('[data-testid="stop-row"][data-status="failed"]').count(), 1);
    }
    await page.locator('[data-testid="sync-state"].offline').waitFor();
    const queued = await readQueue(page);
    // Unchanged, except for the pings recorded when the reloaded app picked up the position again.
    assert.deepEqual(queued.items.slice(0, before.items.length), before.items, "the queue survives reloads");
    assert.ok(queued.items.slice(before.items.length).every((i) => i.action.kind === "pings"));
    assert.equal(await waitingCount(page), queued.items.length);
    assert.match(await page.locator('[data-testid="sync-state"]').textContent(), new RegExp(`Offline: ${queued.items.length} items waiting \\(20 photos\\)`));
    await screenshot(page, "driver-sync-state");

    const kinds = queued.items.map((i) => i.action.kind);
    assert.equal(kinds.filter((k) => k === "complete").length, 20);
    assert.equal(kinds.filter((k) => k === "arrive").length, 20);
    assert.equal(kinds.filter((k) => k === "fail").length, 1);
    assert.equal(kinds[0], "start_route");
    assert.equal(queued.blobCount, 20, "every photo kept on the device until uploaded");
    const expectedPhoto = new Map(queued.items.filter((i) => i.action.kind === "complete").map((i) => [i.action.body.pod.order_id, i.action.photos[0].sha256]));
    const devicePings = queued.items.filter((i) => i.action.kind === "pings").flatMap((i) => i.action.pings);
    assert.ok(devicePings.length >= 3, `pings recorded offline: ${devicePings.length}`);

    // Back online: the queue drains by itself.
    await context.setOffline(false);
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-state"]')?.dataset.waiting === "0", null, { timeout: 120_000 });
    const drained = await readQueue(page);
    assert.deepEqual(drained, { items: [], blobCount: 0 }, "acknowledged items and their photos are gone from the device");

    // The server has every stop once, with its proof.
    for (let i = 0; i < 21; i++) {
      const order = await api(demo.baseUrl, token, "GET", `/api/orders/${stops[i].order_id}`);
      if (i < 20) {
        assert.equal(order.status.state, "delivered", `stop ${i + 1}`);
        const pod = await api(demo.baseUrl, token, "GET", `/api/orders/${order.id}/pod`);
        assert.equal(pod.attempts.length, 1, `one proof for stop ${i + 1}`);
        const [attempt] = pod.attempts;
        assert.equal(attempt.intact, true);
        assert.equal(attempt.record.proof.photos.length, 1);
        assert.equal(attempt.record.proof.photos[0].sha256, expectedPhoto.get(order.id));
        assert.ok(attempt.record.proof.signature.strokes.flat().length > 5, "signature strokes stored");
        const photo = await fetch(new URL(attempt.photo_urls[0], demo.baseUrl), { headers: { authorization: `Bearer ${token}` } });
        assert.equal(photo.status, 200);
        assert.equal(sha256Hex(Buffer.from(await photo.arrayBuffer())), expectedPhoto.get(order.id), "the stored photo's bytes hash as on the device");
      } else {
        assert.ok(["failed", "created"].includes(order.status.state), `failed stop: ${JSON.stringify(order.status)}`);
      }
    }

    // Every ping exactly once, in order, with the device's timestamps.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const trail = await api(demo.baseUrl, token, "GET", `/api/tracking/drivers/${route.driver_id}/trail?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const stored = trail.pings.map((p) => ({ seq: p.ping.seq, device_time: Date.parse(p.ping.device_time), lat: p.ping.lat, lon: p.ping.lon }));
    const sent = devicePings.map((p) => ({ seq: p.seq, device_time: Date.parse(p.device_time), lat: p.lat, lon: p.lon }));
    assert.deepEqual(stored, sent);
    assert.deepEqual(stored.map((p) => p.seq), [...stored.map((p) => p.seq)].sort((a, b) => a - b));
    assert.equal(new Set(stored.map((p) => p.seq)).size, stored.length);
    console.log(`driver offline run: ${queued.items.length} queued items, ${devicePings.length} pings, 20 photos`);
    assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), []);
  } finally {
    await context.close();
  }
});

test("a driver signs in with the PIN the dispatcher handed over", async () => {
  const { route } = routeOf(2);
  const { codes } = await signInLink(demo.baseUrl, token, route.driver_id);
  const context = await launchPhone({ timezoneId: published.org.timezone });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${demo.baseUrl}/driver`);
    await page.getByLabel("Organisation").fill(published.org.id);
    await page.getByLabel("Driver").fill(route.driver_id);
    await page.getByLabel("PIN").fill("00000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="sign-in-error"]').waitFor({ timeout: 10_000 });
    await page.getByLabel("PIN").fill(codes.pin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="stop-list"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid="stop-row"]').count(), route.stops.length);
  } finally {
    await context.close();
  }
});
