// The customer tracking page (/t/{token}) on a phone against a real
// `doorstep serve --demo`: a published plan's link shows the timeline, the ETA
// window and the driver's first name; the live map appears (after a poll)
// once the driver is on the way; the customer leaves a note (a too-long one
// is refused next to its field); after the driver completes the stop with a
// photo and a signature, the page shows the proof and takes a rating given
// with the keyboard. An unknown link shows a message that reveals nothing.
// The first load's transferred bytes go to the artifacts directory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectConsoleErrors, recordTransfers, saveFirstLoad, screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { api, driverPost, driverToken, publishDemoPlan, sha256Hex } from "../support/driver.mjs";

// One poll is 15 s; give it room.
const POLL_WAIT_MS = 25_000;

let dispatcher;
let published;

const demo = useDemoServer({
  setup: async ({ baseUrl }) => {
    dispatcher = await apiToken(baseUrl);
    published = await publishDemoPlan(baseUrl, dispatcher);
  },
});

async function phone() {
  return demo.browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "en-GB",
    timezoneId: published.org.timezone,
  });
}

const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

test("the tracking page follows a delivery from dispatch to a rating", { timeout: 240_000 }, async () => {
  const route = published.plan.routes[0];
  const stop = [...route.stops].sort((a, b) => a.sequence - b.sequence)[0];
  const link = published.tracking.find((t) => t.stop_id === stop.id);
  assert.ok(link, "publishing returns a tracking token per stop");
  const drivers = await api(demo.baseUrl, dispatcher, "GET", "/api/drivers");
  const driver = drivers.find((d) => d.id === route.driver_id);
  const firstName = driver.name.split(/\s+/)[0];
  const url = `${demo.baseUrl}/t/${link.token}`;

  const context = await phone();
  try {
    const page = await context.newPage();
    const errors = collectConsoleErrors(page, { expectedStatuses: [422] });
    const transfers = await recordTransfers(page);

    // First load: the link just sent to the customer.
    await page.goto(url);
    await page.locator('[data-page="tracking"][data-state="dispatched"]').waitFor({ timeout: 20_000 });
    await page.waitForLoadState("networkidle");
    const { firstLoad, total } = saveFirstLoad(transfers, "tracking-page-bytes.json", {
      page: "/t/{token}", viewport: "390x844", baseUrl: demo.baseUrl, redact: (url) => url.replace(link.token, "{token}"),
    });
    console.log(`tracking page first load: ${total} bytes transferred in ${firstLoad.length} responses`);
    assert.ok(firstLoad.every((r) => r.url.startsWith(demo.baseUrl)), `only our own origin: ${firstLoad.map((r) => r.url)}`);
    assert.ok(!firstLoad.some((r) => /leaflet|\/pkg\/|solver/.test(r.url)), "no map, dispatcher app or optimizer before the driver is on the way");
    const wasm = firstLoad.find((r) => r.url.endsWith("/track/doorstep_track_bg.wasm"));
    assert.equal(wasm?.encoding, "gzip", "the wasm travels compressed");
    assert.ok(total < 250_000, `first load is ${total} bytes; the budget is 250 KB`);

    // Status, timeline, ETA window and the driver's first name, as the API says.
    const view = await (await fetch(`${demo.baseUrl}/api/track/${link.token}`)).json();
    assert.equal(await page.getByTestId("status").innerText(), "Ready for delivery");
    assert.match(await page.getByTestId("sender").innerText(), new RegExp(view.sender));
    assert.equal(await page.getByTestId("driver-name").innerText(), firstName);
    const eta = page.getByTestId("eta");
    assert.equal(Number(await eta.getAttribute("data-start")), Date.parse(view.eta.start) / 1000);
    assert.equal(Number(await eta.getAttribute("data-end")), Date.parse(view.eta.end) / 1000);
    assert.match(await eta.innerText(), /Expected between\s+\d{2}:\d{2} and \d{2}:\d{2}/);
    const steps = await page.getByTestId("timeline").locator("li").evaluateAll((lis) => lis.map((li) => [li.dataset.state, li.className]));
    assert.deepEqual(steps.map(([s]) => s), [...view.timeline.map((t) => t.state), "out_for_delivery", "delivered"]);
    assert.equal(steps.at(-1)[1], "step next");
    assert.match(await page.getByTestId("freshness").innerText(), /Updated (just now|\d+ s ago)/);
    assert.equal(await page.getByTestId("map").count(), 0, "no map before the driver is on the way");
    await screenshot(page, "tracking-dispatched");

    // The driver starts the route and sends a position: after the next poll the map shows them.
    const bearer = await driverToken(demo.baseUrl, dispatcher, route.driver_id);
    await driverPost(demo.baseUrl, bearer, `/api/routes/${route.id}/start`, { plan_id: published.plan.id, device_time: isoNow(), vehicle_checked: true }, "track-start");
    const at = { lat: stop.location.lat + 0.015, lon: stop.location.lon + 0.01 };
    const pinged = await driverPost(demo.baseUrl, bearer, "/api/pings", { route_id: route.id, pings: [{ seq: 1, device_time: isoNow(), lat: at.lat, lon: at.lon, accuracy_m: 8 }] });
    assert.equal(pinged.results[0].outcome, "accepted");
    await page.locator('[data-page="tracking"][data-state="out_for_delivery"]').waitFor({ timeout: POLL_WAIT_MS });
    await page.locator('[data-testid="map"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const marker = page.locator(".leaflet-marker-icon.driver-marker");
    await marker.waitFor();
    assert.equal(await marker.getAttribute("title"), `${firstName}, your driver, on the map`);
    assert.equal(await page.getByTestId("status").innerText(), "On its way");
    assert.equal(await page.getByTestId("stops-before").innerText(), "You are the driver's next stop");
    const leafletFrom = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.includes("leaflet")));
    assert.ok(leafletFrom.length >= 2 && leafletFrom.every((n) => n.startsWith(`${demo.baseUrl}/vendor/leaflet/`)), `Leaflet from our own bundle: ${leafletFrom}`);
    await screenshot(page, "tracking-on-the-way");

    // A note: too long is refused next to its field, then a good one is saved.
    const instructions = page.getByLabel("Instructions for the driver");
    await instructions.fill("x".repeat(501));
    await page.getByRole("button", { name: "Save instructions" }).click();
    const fieldError = page.locator("#instructions-error");
    await fieldError.waitFor({ timeout: 10_000 });
    assert.match(await fieldError.innerText(), /500/);
    assert.equal(await instructions.getAttribute("aria-invalid"), "true");
    assert.equal(await instructions.getAttribute("aria-describedby"), "instructions-error");
    await screenshot(page, "tracking-note-refused");
    await instructions.fill("Ring twice, 3rd floor on the left");
    await page.getByLabel("Safe place if you are out").fill("Behind the blue gate");
    await page.getByRole("button", { name: "Save instructions" }).click();
    await page.getByTestId("note-saved").waitFor({ timeout: 10_000 });
    assert.equal(await fieldError.count(), 0);
    const noted = await (await fetch(`${demo.baseUrl}/api/track/${link.token}`)).json();
    assert.deepEqual(noted.customer_note, { instructions: "Ring twice, 3rd floor on the left", safe_place: "Behind the blue gate" });

    // The driver completes the stop with a photo and a signature.
    const jpeg = Buffer.from(await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(160, 120);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#0f766e";
      ctx.fillRect(0, 0, 160, 120);
      ctx.fillStyle = "#fff";
      ctx.font = "32px sans-serif";
      ctx.fillText("POD", 45, 70);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 })).arrayBuffer());
      return btoa(String.fromCharCode(...bytes));
    }), "base64");
    const sha256 = sha256Hex(jpeg);
    const ticket = await driverPost(demo.baseUrl, bearer, "/api/pod/uploads", { order_id: stop.order_id, content_type: "image/jpeg", size_bytes: jpeg.length, sha256 });
    const form = new FormData();
    for (const [k, v] of Object.entries(ticket.fields)) form.append(k, v);
    form.append("file", new Blob([jpeg], { type: "image/jpeg" }), "pod.jpg");
    const uploaded = await fetch(new URL(ticket.url, demo.baseUrl), { method: "POST", body: form });
    assert.ok(uploaded.ok, `upload: ${uploaded.status} ${await uploaded.text()}`);
    const strokes = [[[0.1, 0.6], [0.2, 0.3], [0.3, 0.7], [0.4, 0.3], [0.5, 0.6]], [[0.6, 0.5], [0.9, 0.5]]];
    await driverPost(demo.baseUrl, bearer, `/api/stops/${stop.id}/complete`, {
      plan_id: published.plan.id,
      pod: {
        order_id: stop.order_id,
        stop_id: stop.id,
        photos: [{ blob_key: ticket.blob_key, sha256, content_type: "image/jpeg", size_bytes: jpeg.length }],
        signature: { strokes },
        recipient_name: "Camille",
        device_time: isoNow(),
      },
    }, "track-complete");

    // After a poll: the proof, and the map is gone.
    await page.locator('[data-page="tracking"][data-state="delivered"]').waitFor({ timeout: POLL_WAIT_MS });
    const photo = page.getByTestId("pod-photo");
    await photo.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="pod-photo"]')?.naturalWidth > 0, null, { timeout: 10_000 });
    assert.equal(await photo.evaluate((img) => img.naturalWidth), 160);
    assert.equal(await page.getByTestId("signature").locator("path").count(), strokes.length);
    assert.match(await page.getByTestId("pod").innerText(), /received by Camille/);
    assert.equal(await page.getByTestId("map").count(), 0, "no map once delivered");
    assert.equal(await page.getByTestId("note-form").count(), 0, "no note once delivered");
    assert.match(await page.getByTestId("note-read-only").innerText(), /Behind the blue gate/);
    await screenshot(page, "tracking-delivered");

    // A rating, with the keyboard only: arrows in the radio group, Tab to the comment and the button.
    await page.locator("#stars-1").focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
    assert.equal(await page.locator("#stars-4").isChecked(), true);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "comment");
    await page.keyboard.type("Quick and friendly");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByTestId("rating-saved").waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId("rating-given").innerText(), /4 out of 5/);
    const rated = await (await fetch(`${demo.baseUrl}/api/track/${link.token}`)).json();
    assert.equal(rated.rating.stars, 4);
    assert.equal(rated.rating.comment, "Quick and friendly");
    await screenshot(page, "tracking-rated");

    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("an unknown or malformed link shows a neutral message", async () => {
  const context = await phone();
  try {
    const errorLists = [];
    let page;
    for (const token of ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-token"]) {
      page = await context.newPage();
      errorLists.push(collectConsoleErrors(page, { expectedStatuses: [404] }));
      await page.goto(`${demo.baseUrl}/t/${token}`);
      const message = page.getByTestId("unknown-link");
      await message.waitFor({ timeout: 20_000 });
      const text = await message.innerText();
      assert.match(text, /not available/);
      assert.ok(!text.includes(published.org.name), "the message names no organisation");
      assert.equal(await page.locator("form").count(), 0);
    }
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await screenshot(page, "tracking-unknown-link");
    assert.deepEqual(errorLists.flat(), []);
  } finally {
    await context.close();
  }
});
