// Orders in the dispatcher's table: adding one through the form (a bad time
// window is refused next to its input and nothing is created), editing it, the
// server's refusal once it can no longer be edited, an .xlsx import with Excel
// times, an order POSTed with an API key appearing without a reload, and
// finding coordinates through a Nominatim-compatible geocoder or a map click.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { time, xlsx } from "../fixtures/xlsx.mjs";

let geocoder;
const geocoderQueries = [];

// No real geocoder can run here (closed network): a local stub answers the
// Nominatim `search?format=jsonv2&q=` request the app makes, with CORS headers
// like a public Nominatim instance.
function startGeocoderStub() {
  return new Promise((resolve) => {
    const stub = createServer((req, res) => {
      const url = new URL(req.url, "http://stub");
      geocoderQueries.push({ path: url.pathname, format: url.searchParams.get("format"), q: url.searchParams.get("q") });
      res.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" });
      res.end(JSON.stringify([
        { lat: "45.757800", lon: "4.832000", display_name: "8 Place Bellecour, 69002 Lyon, France" },
        { lat: "45.760000", lon: "4.840000", display_name: "Place Bellecour (square), Lyon, France" },
      ]));
    });
    stub.listen(0, "127.0.0.1", () => resolve(stub));
  });
}

const demo = useDemoServer({
  setup: async ({ baseUrl }) => {
    geocoder = await startGeocoderStub();
    const token = await apiToken(baseUrl);
    const patched = await fetch(`${baseUrl}/api/organisation`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ settings: { geocoder_url: `http://127.0.0.1:${geocoder.address().port}/search` } }),
    });
    assert.equal(patched.status, 200, await patched.text());
  },
  teardown: () => new Promise((resolve) => (geocoder ? geocoder.close(resolve) : resolve())),
});

async function api(path, { method = "GET", body, bearer } = {}) {
  const token = bearer ?? (await apiToken(demo.baseUrl));
  const response = await fetch(`${demo.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function ordersWithRef(prefix) {
  const found = [];
  let cursor = null;
  do {
    const { json } = await api(`/api/orders?q=${prefix}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    found.push(...json.items);
    cursor = json.next_cursor && json.next_cursor !== cursor ? json.next_cursor : null;
  } while (cursor);
  return found.filter((o) => (o.external_ref || "").startsWith(prefix)).sort((a, b) => a.external_ref.localeCompare(b.external_ref));
}

async function localClock(instant) {
  const { json: org } = await api("/api/organisation");
  return new Intl.DateTimeFormat("en-GB", { timeZone: org.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(instant));
}

const field = (page, key) => page.locator(`[data-testid="order-form"] [data-field="${key}"]`);

async function signedIn() {
  const { context, page, errors } = await demo.signedInPage({ contextOptions: { viewport: { width: 1366, height: 1000 } }, expectedStatuses: [409, 422] });
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="order-new"]:not([disabled])').waitFor({ timeout: 15_000 });
  return { context, page, errors };
}

test("an order added through the form: a bad window is refused at its input, then it is created, edited, and refused once cancelled", async () => {
  const { context, page, errors } = await signedIn();

  await page.locator('[data-testid="order-new"]').click();
  const form = page.locator('[data-testid="order-form"]');
  await form.waitFor();
  // The first input has the keyboard, and every input has a label.
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.field), "recipient.name");
  assert.equal(await page.getByLabel("Window to", { exact: true }).count(), 1);

  await page.getByLabel("Recipient name").fill("Fiona Form");
  await page.getByLabel("Email").fill("fiona@example.com");
  await page.getByLabel("Street and number").fill("14 Rue du Plat");
  await page.getByLabel("Postcode").fill("69002");
  await page.getByLabel("City").fill("Lyon");
  await page.getByLabel("Latitude").fill("45.7590");
  await page.getByLabel("Longitude").fill("4.8285");
  await page.getByLabel("Window from", { exact: true }).fill("11:00");
  await page.getByLabel("Window to", { exact: true }).fill("09:00");
  await page.getByLabel("Weight (kg)").fill("3");
  await page.getByLabel("Skills (comma-separated)").fill("fragile");
  await page.getByLabel("Reference").fill("FORM-1");
  // Enter submits.
  await page.getByLabel("Reference").press("Enter");

  // The server's error lands next to the window's end, which gets the focus; nothing is written.
  const endError = form.locator('[data-error-for="time_windows[0].end"]');
  await endError.waitFor({ timeout: 10_000 });
  assert.match(await endError.textContent(), /after start/);
  assert.equal(await field(page, "time_windows[0].end").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.field), "time_windows[0].end");
  assert.deepEqual(await ordersWithRef("FORM-"), []);
  await screenshot(page, "orders-form-refused");

  await page.getByLabel("Window to", { exact: true }).fill("12:30");
  await page.getByLabel("Reference").press("Enter");
  await page.locator('[data-testid="order-notice"]', { hasText: "created" }).waitFor({ timeout: 10_000 });
  await form.waitFor({ state: "detached" });
  let [created] = await ordersWithRef("FORM-");
  assert.equal(created.recipient.name, "Fiona Form");
  assert.deepEqual(created.demand, [3, 0, 0]);
  assert.deepEqual(created.required_skills, ["fragile"]);
  assert.equal(await localClock(created.time_windows[0].start), "11:00");
  assert.equal(await localClock(created.time_windows[0].end), "12:30");
  const row = page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Fiona Form" });
  assert.equal(await row.count(), 1);
  await screenshot(page, "orders-form-created");

  // Edit: the form opens filled in; the change is a PATCH at the order's version.
  await row.locator('[data-testid="order-edit"]').click();
  await form.waitFor();
  assert.equal(await field(page, "time_windows[0].start").inputValue(), "11:00");
  await page.getByLabel("Weight (kg)").fill("7.5");
  await page.getByLabel("Recipient name").fill("Fiona Form-Edited");
  await page.locator('[data-testid="order-save"]').click();
  await page.locator('[data-testid="order-notice"]', { hasText: "saved" }).waitFor({ timeout: 10_000 });
  [created] = await ordersWithRef("FORM-");
  assert.equal(created.version, 2);
  assert.equal(created.recipient.name, "Fiona Form-Edited");
  assert.deepEqual(created.demand, [7.5, 0, 0]);
  assert.equal(await page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Fiona Form-Edited" }).count(), 1);

  // Escape closes the form and gives the keyboard back to "New order".
  await page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Fiona Form-Edited" }).locator('[data-testid="order-edit"]').click();
  await form.waitFor();
  await page.keyboard.press("Escape");
  await form.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "order-new");

  // Cancelled elsewhere: the table learns it without a reload, and the server refuses an edit.
  const cancelled = await api(`/api/orders/${created.id}/cancel`, { method: "POST", body: { version: created.version } });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));
  const editedRow = page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Fiona Form-Edited" });
  await editedRow.locator(".status-cancelled").waitFor({ timeout: 30_000 });
  await editedRow.locator('[data-testid="order-edit"]').click();
  await page.getByLabel("Weight (kg)").fill("9");
  await page.locator('[data-testid="order-save"]').click();
  const refusal = page.locator('[data-testid="order-form-error"]');
  await refusal.waitFor({ timeout: 10_000 });
  assert.match(await refusal.textContent(), /cancelled/);
  assert.equal((await ordersWithRef("FORM-"))[0].version, 3);
  await screenshot(page, "orders-form-not-editable");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an .xlsx file imports through the same preview, with Excel times read as the CSV's HH:MM", async () => {
  const { context, page, errors } = await signedIn();
  const workbook = xlsx([
    ["Reference", "Customer name", "Address", "Zip", "City", "Latitude", "Longitude", "From", "To", "Weight"],
    ["XLS-1", "Xavier Excel", "5 Rue Mercière", 69002, "Lyon", 45.762, 4.83, time("09:00"), time("11:00"), 2.5],
    ["XLS-2", "Yvonne Sheet", "10 Rue Victor Hugo", 69002, "Lyon", 45.756, 4.829, time("14:00"), time("16:30"), 1],
  ]);
  await page.locator('[data-testid="import-open"]').click();
  await page.locator('[data-testid="import-file"]').setInputFiles({
    name: "orders.xlsx",
    mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    buffer: workbook,
  });
  const preview = page.locator('[data-testid="import-preview"]');
  await preview.waitFor({ timeout: 10_000 });
  assert.equal(await preview.locator("tbody tr").count(), 2);
  const cells = await preview.locator("tbody tr").first().locator("td").allTextContents();
  assert.deepEqual(cells, ["XLS-1", "Xavier Excel", "5 Rue Mercière", "69002", "Lyon", "45.762", "4.83", "09:00", "11:00", "2.5"]);
  for (const [f, header] of [["external_ref", "Reference"], ["recipient.name", "Customer name"], ["address.postcode", "Zip"], ["window_start", "From"], ["weight_kg", "Weight"]]) {
    assert.equal(await page.locator(`select[data-field="${f}"]`).evaluate((s) => s.options[s.selectedIndex].text), header, f);
  }
  await screenshot(page, "orders-xlsx-preview");

  await page.locator('[data-testid="import-submit"]').click();
  const done = page.locator('[data-testid="import-done"]');
  await done.waitFor({ timeout: 10_000 });
  assert.match(await done.textContent(), /Imported 2 of 2 orders/);
  const imported = await ordersWithRef("XLS-");
  assert.deepEqual(imported.map((o) => o.external_ref), ["XLS-1", "XLS-2"]);
  assert.equal(imported[0].address.postcode, "69002");
  assert.equal(imported[0].demand[0], 2.5);
  assert.equal(await localClock(imported[0].time_windows[0].start), "09:00");
  assert.equal(await localClock(imported[1].time_windows[0].end), "16:30");
  await page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Yvonne Sheet" }).waitFor({ timeout: 10_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("an order POSTed with an API key appears in the table without a reload", async () => {
  const { context, page, errors } = await signedIn();
  const key = await api("/api/api-keys", { method: "POST", body: { name: "shop (browser test)" } });
  assert.equal(key.status, 201, JSON.stringify(key.json));
  const posted = await api("/api/orders", {
    method: "POST",
    bearer: key.json.secret,
    body: {
      external_ref: "FEED-1",
      kind: "delivery",
      address: { line1: "2 Rue de Brest", postcode: "69002", city: "Lyon", country: "FR", lat: 45.7625, lon: 4.8335 },
      recipient: { name: "Felix Feed" },
    },
  });
  assert.equal(posted.status, 201, JSON.stringify(posted.json));
  // Polled every 12 s while the tab is visible.
  await page.locator('[data-testid="orders-table"] tbody tr.new-order', { hasText: "Felix Feed" }).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('[data-testid="orders-new-notice"]').textContent(), /1 new order arrived/);
  await screenshot(page, "orders-feed-arrived");
  await page.locator('[data-testid="orders-new-notice"] button').click();
  await page.locator('[data-testid="orders-new-notice"]').waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await context.close();
});

test("an address without coordinates is found through the geocoder, or pinned on the map", async () => {
  const { context, page, errors } = await signedIn();
  await page.locator('[data-testid="order-new"]').click();
  await page.getByLabel("Recipient name").fill("Gaston Geo");
  await page.getByLabel("Street and number").fill("8 Place Bellecour");
  await page.getByLabel("Postcode").fill("69002");
  await page.getByLabel("City").fill("Lyon");
  await page.getByLabel("Reference").fill("GEO-1");

  await page.locator('[data-testid="geocode"]').click();
  const candidates = page.locator('[data-testid="geocode-candidate"]');
  await candidates.first().waitFor({ timeout: 10_000 });
  assert.equal(await candidates.count(), 2);
  const query = geocoderQueries.at(-1);
  assert.deepEqual([query.path, query.format], ["/search", "jsonv2"]);
  assert.equal(query.q, "8 Place Bellecour, 69002 Lyon, FR");
  await screenshot(page, "orders-geocode-candidates");
  await candidates.first().click();
  assert.equal(await page.getByLabel("Latitude").inputValue(), "45.757800");
  assert.equal(await page.getByLabel("Longitude").inputValue(), "4.832000");

  // Pin on map: a click on the map sets the point (tiles cannot load here; clicks still work).
  await page.locator('[data-testid="pin-toggle"]').click();
  const map = page.locator('[data-testid="order-form"] [data-testid="map"]');
  await map.waitFor();
  const box = await map.boundingBox();
  await map.click({ position: { x: box.width / 2 + 60, y: box.height / 2 - 40 } });
  await page.waitForFunction(() => document.querySelector('[data-field="address.lon"]').value !== "4.832000");
  const [lat, lon] = [Number(await page.getByLabel("Latitude").inputValue()), Number(await page.getByLabel("Longitude").inputValue())];
  assert.ok(lat > 45.7578 && lat < 45.77, `pinned lat ${lat}`);
  assert.ok(lon > 4.832 && lon < 4.85, `pinned lon ${lon}`);
  await screenshot(page, "orders-pin-on-map");

  await page.locator('[data-testid="order-save"]').click();
  await page.locator('[data-testid="order-notice"]', { hasText: "created" }).waitFor({ timeout: 10_000 });
  const [geo] = await ordersWithRef("GEO-");
  assert.ok(Math.abs(geo.address.lat - lat) < 1e-6 && Math.abs(geo.address.lon - lon) < 1e-6, JSON.stringify(geo.address));
  assert.deepEqual(errors, []);
  await context.close();
});
