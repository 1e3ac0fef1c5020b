// Debian's Chromium driven by playwright-core; no browser is ever downloaded.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { requiredEnv } from "./server.mjs";

// Without the networking flags Chromium keeps trying to reach Google on this
// closed network; --no-sandbox because CI runs as root.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/// Console errors and page errors, except failed map tile loads (the network is
/// closed here, and tiles are decoration).
export function collectConsoleErrors(page, { tileHosts = ["tile.openstreetmap.org"], expectedStatuses = [] } = {}) {
  const errors = [];
  const isTile = (url) => tileHosts.some((host) => (url || "").includes(host));
  // Chromium logs every 4xx answer; a test that provokes one on purpose names its status.
  const isExpected = (text) => expectedStatuses.some((s) => text.includes(`status of ${s}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (isTile(msg.location()?.url)) return;
    if (isExpected(msg.text())) return;
    errors.push(`console: ${msg.text()} (${msg.location()?.url ?? "?"})`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // ERR_ABORTED is the page itself cancelling a load (navigating away while
    // an image is in flight), not a failure of the app or the server.
    if (request.failure()?.errorText === "net::ERR_ABORTED") return;
    if (!isTile(request.url())) errors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return errors;
}

export async function screenshot(page, name) {
  const dir = join(requiredEnv("DOORSTEP_ARTIFACTS"), "screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/// Every response's encoded (on the wire) size, from Chromium's own network events.
export async function recordTransfers(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  const resources = [];
  cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, { url: e.response.url, status: e.response.status, encoding: e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"] ?? null }));
  cdp.on("Network.loadingFinished", (e) => {
    const r = urls.get(e.requestId);
    if (r) resources.push({ ...r, bytes: e.encodedDataLength });
  });
  return resources;
}

/// What recordTransfers has seen so far, as a page's first load: written to
/// the artifacts directory as `file` (page, viewport, total bytes and every
/// response, its URL relative to `baseUrl` and passed through `redact`).
/// Returns the responses and their total.
export function saveFirstLoad(transfers, file, { page, viewport, baseUrl, redact = (url) => url }) {
  const firstLoad = transfers.slice();
  const total = firstLoad.reduce((sum, r) => sum + r.bytes, 0);
  const artifacts = requiredEnv("DOORSTEP_ARTIFACTS");
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, file), JSON.stringify({
    page, viewport, total_bytes: total,
    resources: firstLoad.map((r) => ({ ...r, url: redact(r.url.replace(baseUrl, "")) })),
  }, null, 2));
  return { firstLoad, total };
}
