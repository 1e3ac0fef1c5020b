// A published plan and a driver's sign-in link, made through the API as a
// dispatcher would, so the driver app has a real route to work on.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "./browser.mjs";

export async function api(baseUrl, token, method, path, body) {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// Today in the organisation's time zone, as the demo business is dated.
export function today(timezone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone }).format(new Date());
}

/// Splits the day's orders over the drivers (in order, as many routes as
/// drivers), saves and publishes the plan. Returns the plan and the date.
export async function publishDemoPlan(baseUrl, token) {
  const org = await api(baseUrl, token, "GET", "/api/organisation");
  const date = today(org.timezone);
  const [depots, vehicles, drivers] = await Promise.all(["/api/depots", "/api/vehicles", "/api/drivers"].map((p) => api(baseUrl, token, "GET", p)));
  const orders = [];
  let cursor = null;
  do {
    const page = await api(baseUrl, token, "GET", `/api/orders?date=${date}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    orders.push(...page.items);
    cursor = page.next_cursor && page.next_cursor !== cursor ? page.next_cursor : null;
  } while (cursor);
  const count = Math.min(drivers.length, vehicles.length);
  const perRoute = Math.ceil(orders.length / count);
  const start = Date.parse(`${date}T07:00:00Z`);
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const routes = [];
  for (let r = 0; r < count; r++) {
    const mine = orders.slice(r * perRoute, (r + 1) * perRoute);
    const stops = mine.map((order, i) => ({
      order_id: order.id,
      kind: "delivery",
      planned_arrival: iso(start + (i + 1) * 600_000),
      planned_departure: iso(start + (i + 1) * 600_000 + 300_000),
    }));
    routes.push({ vehicle_id: vehicles[r].id, driver_id: drivers[r].id, planned_start: iso(start), planned_end: iso(start + (mine.length + 2) * 600_000), stops });
  }
  const plan = await api(baseUrl, token, "POST", "/api/plans", { depot_id: depots[0].id, date, routes });
  const published = await api(baseUrl, token, "POST", `/api/plans/${plan.id}/publish`, { version: plan.version });
  return { plan: published.plan, tracking: published.tracking, date, org, orders };
}

/// A one-time sign-in link for the driver, as the dispatcher would send it.
export async function signInLink(baseUrl, token, driverId) {
  const codes = await api(baseUrl, token, "POST", `/api/drivers/${driverId}/sign-in-codes`);
  return { link: `${baseUrl}/driver?token=${encodeURIComponent(codes.token)}`, codes };
}

/// A driver's access token, signed in with a fresh one-time link as the
/// driver app would be.
export async function driverToken(baseUrl, dispatcherToken, driverId) {
  const { codes } = await signInLink(baseUrl, dispatcherToken, driverId);
  const response = await fetch(`${baseUrl}/api/auth/driver`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: codes.token }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `driver sign-in: ${text}`);
  return JSON.parse(text).access_token;
}

/// A driver's POST (route start, pings, stop events, upload tickets) with an
/// idempotency key when given; anything but 200 fails the test.
export async function driverPost(baseUrl, token, path, body, key) {
  const response = await fetch(baseUrl + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `POST ${path}: ${text}`);
  return JSON.parse(text);
}

/// A persistent profile (installability and service workers behave as on a
/// phone only outside incognito) at phone size.
export async function launchPhone({ timezoneId, geolocation } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "doorstep-driver-profile-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    hasTouch: true,
    timezoneId,
    geolocation,
    permissions: ["geolocation"],
  });
  // Profiles are tens of megabytes each: remove them once the phone is closed
  // (after close() resolves: Chromium writes to the profile while it exits).
  const close = context.close.bind(context);
  context.close = async (...args) => {
    await close(...args);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (error) {
      // Not a test failure: `cargo xtask test` empties its TMPDIR after the run.
      console.warn(`could not remove ${dir}: ${error.message}`);
    }
  };
  return context;
}

export function sha256Hex(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

/// Small distinct JPEGs made by the browser's own encoder.
export async function makeJpegs(page, count, hue = 0) {
  const encoded = await page.evaluate(async ([n, h]) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const canvas = new OffscreenCanvas(120, 80);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = `hsl(${(h + i * 47) % 360} 70% 45%)`;
      ctx.fillRect(0, 0, 120, 80);
      ctx.fillStyle = "#fff";
      ctx.font = "28px sans-serif";
      ctx.fillText(`POD ${i + 1}`, 8, 50);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 })).arrayBuffer());
      out.push(btoa(String.fromCharCode(...bytes)));
    }
    return out;
  }, [count, hue]);
  return encoded.map((b64) => Buffer.from(b64, "base64"));
}

/// A zigzag stroke on the signature pad.
export async function sign(page) {
  const pad = page.locator('[data-testid="signature-pad"]');
  const box = await pad.boundingBox();
  await page.mouse.move(box.x + 20, box.y + box.height * 0.7);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(box.x + 20 + i * 30, box.y + box.height * (0.7 - (i % 2) * 0.4), { steps: 2 });
  await page.mouse.up();
}

/// One driver's phone, signed in with the link or with the PIN, on today's route.
