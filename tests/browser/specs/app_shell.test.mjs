// The app's faces load from a real `doorstep serve`, each with a live
// Leaflet map, cross-origin isolated (so the optimizer can use threads), and
// without console errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectConsoleErrors, recordTransfers, saveFirstLoad, screenshot } from "../support/browser.mjs";
import { DEMO_EMAIL, DEMO_PASSWORD, signInThroughForm } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

const ROUTES = [
  // The dispatcher's page needs a signed-in dispatcher: the app sends visitors to /login first.
  { name: "dispatcher", path: "/", page: "dispatcher", heading: "Doorstep", signIn: true },
  { name: "driver", path: "/driver", page: "driver", heading: "Doorstep Driver" },
  // The customer tracking page (/t/{token}) is a bundle of its own: specs/tracking_page.test.mjs.
];

for (const route of ROUTES) {
  test(`${route.name} route renders its map, cross-origin isolated, without console errors`, async () => {
    const context = await demo.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = collectConsoleErrors(page);
    const response = await page.goto(demo.baseUrl + route.path);
    assert.equal(response.status(), 200);
    if (route.signIn) await signInThroughForm(page);

    await page.locator(`[data-page="${route.page}"]`).waitFor({ timeout: 15_000 });
    // Leaflet marks the container once it has initialised the map.
    const map = page.locator('[data-testid="map"].leaflet-container');
    await map.waitFor({ timeout: 15_000 });
    const box = await map.boundingBox();
    assert.ok(box && box.width > 200 && box.height > 200, `map is too small: ${JSON.stringify(box)}`);
    assert.equal(await page.locator("h1").first().textContent(), route.heading);

    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, "page must be cross-origin isolated");
    await screenshot(page, `app-shell-${route.name}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("dispatcher shows the demo business's depot on the map", async () => {
  const { context, page } = await demo.signedInPage();
  await page.locator(".leaflet-marker-icon").first().waitFor({ timeout: 15_000 });
  const sidebar = await page.locator(".sidebar").textContent();
  assert.match(sidebar, /vehicles, 1 depot(?!s)/);
  await context.close();
});

test("the dispatcher app's first load is measured: bytes on the wire, compressed", async () => {
  // A cold laptop: no cache, no service worker yet. The figure goes to the
  // artifacts (dispatcher-app-bytes.json) and into BENCHMARKS.md.
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: "block" });
  const page = await context.newPage();
  const transfers = await recordTransfers(page);
  await page.goto(demo.baseUrl + "/login");
  await page.locator('[data-page="login"]').waitFor({ timeout: 15_000 });
  await page.waitForLoadState("networkidle");
  const { firstLoad, total } = saveFirstLoad(transfers, "dispatcher-app-bytes.json", { page: "/login", viewport: "1280x800", baseUrl: demo.baseUrl });
  console.log(`dispatcher app first load: ${total} bytes transferred in ${firstLoad.length} responses`);
  const wasm = firstLoad.find((r) => r.url.endsWith("/pkg/doorstep_app_bg.wasm"));
  assert.equal(wasm?.encoding, "gzip", "the app's wasm travels compressed");
  assert.ok(!firstLoad.some((r) => /solver/.test(r.url)), "the optimizer loads only when planning starts");
  assert.ok(!firstLoad.some((r) => /\/xlsx\//.test(r.url)), "the XLSX reader loads only when a dispatcher picks an .xlsx file");
  // 1,079,588 bytes when the XLSX reader was linked into the app; about
  // 0.87 MB since it loads on demand. A budget, so it cannot creep back unseen.
  assert.ok(total < 1_000_000, `first load ${total} bytes is over the 1,000,000-byte budget`);
  await context.close();
});

test("each page's prerendered frame paints before the wasm arrives, and what was typed into it is kept", async () => {
  const context = await demo.browser.newContext({ viewport: { width: 412, height: 823 } });
  const page = await context.newPage();
  // Hold the app's wasm back until the frame has been checked and typed into.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route("**/pkg/doorstep_app_bg.wasm", async (route) => { await held; await route.continue(); });
  await page.goto(demo.baseUrl + "/");
  // Signed out, "/" shows the sign-in form's frame: the app is not running yet.
  const frame = page.locator('#boot[data-page="login"], #boot [data-page="login"]');
  await frame.waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole("button", { name: "Sign in" }).isDisabled(), true, "the frame cannot submit before the app runs");
  await page.locator("#login-email").fill(DEMO_EMAIL);
  await page.locator("#login-password").fill(DEMO_PASSWORD);
  release();
  await page.waitForFunction(() => !document.getElementById("boot"), null, { timeout: 15_000 });
  assert.equal(await page.locator("#login-email").inputValue(), DEMO_EMAIL, "the email typed into the frame is kept");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });

  // Signed in (this tab holds the token), a reload shows the dispatcher's
  // frame while the wasm loads; the day then fills it in.
  await page.unroute("**/pkg/doorstep_app_bg.wasm");
  let releaseAgain;
  const heldAgain = new Promise((resolve) => { releaseAgain = resolve; });
  await page.route("**/pkg/doorstep_app_bg.wasm", async (route) => { await heldAgain; await route.continue(); });
  await page.reload();
  await page.locator('#boot[data-page="dispatcher"], #boot [data-page="dispatcher"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator(".sidebar").textContent(), /Loading the day/);
  releaseAgain();
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator("#boot").count(), 0, "the app replaced the frame");
  await context.close();
});
