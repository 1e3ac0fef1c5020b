// Lighthouse (npm, offline) on the customer tracking page served by a real
// `doorstep serve --demo`: performance category only, Lighthouse's default
// mobile emulation and simulated slow-4G throttling, Debian's Chromium.
//
//   cd tests/browser && DOORSTEP_BIN=../../target/debug/doorstep DOORSTEP_WEB=../../target/site \
//     DOORSTEP_ARTIFACTS=../../target/browser-artifacts node support/lighthouse_tracking.mjs
//
// Prints the score and the bytes transferred, and writes the JSON and HTML
// reports to $DOORSTEP_ARTIFACTS/lighthouse/. Not part of `npm test`: the
// score depends on how busy the machine is.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";
import { requiredEnv, startDoorstep } from "./server.mjs";
import { DEMO_PASSWORD, apiToken } from "./auth.mjs";
import { publishDemoPlan } from "./driver.mjs";

// LIGHTHOUSE_CATEGORIES=performance,accessibility,best-practices,seo for more than performance.
const CATEGORIES = (process.env.LIGHTHOUSE_CATEGORIES || "performance").split(",");
const CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

const server = await startDoorstep({ demo: true, extraArgs: ["--demo-password", DEMO_PASSWORD] });
let chrome;
try {
  const published = await publishDemoPlan(server.baseUrl, await apiToken(server.baseUrl));
  const url = `${server.baseUrl}/t/${published.tracking[0].token}`;
  chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH || process.env.CHROMIUM || "/usr/bin/chromium", chromeFlags: CHROME_FLAGS });
  const runs = Number(process.env.LIGHTHOUSE_RUNS || 3);
  const results = [];
  for (let i = 0; i < runs; i++) {
    const result = await lighthouse(url, { port: chrome.port, onlyCategories: CATEGORIES, output: ["json", "html"], logLevel: "error" });
    const lhr = result.lhr;
    if (lhr.runtimeError) throw new Error(`Lighthouse: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    const audit = (id) => lhr.audits[id]?.numericValue;
    const row = {
      run: i + 1,
      score: Math.round(lhr.categories.performance.score * 100),
      ...Object.fromEntries(CATEGORIES.filter((c) => c !== "performance").map((c) => [c, Math.round(lhr.categories[c].score * 100)])),
      total_byte_weight: audit("total-byte-weight"),
      first_contentful_paint_ms: Math.round(audit("first-contentful-paint")),
      largest_contentful_paint_ms: Math.round(audit("largest-contentful-paint")),
      total_blocking_time_ms: Math.round(audit("total-blocking-time")),
      cumulative_layout_shift: audit("cumulative-layout-shift"),
      speed_index_ms: Math.round(audit("speed-index")),
      form_factor: lhr.configSettings.formFactor,
      throttling: lhr.configSettings.throttlingMethod,
      lighthouse: lhr.lighthouseVersion,
      chromium: lhr.environment.hostUserAgent.match(/Chrome\/[\d.]+/)?.[0],
    };
    results.push(row);
    const dir = join(requiredEnv("DOORSTEP_ARTIFACTS"), "lighthouse");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `tracking-page-${i + 1}.json`), result.report[0]);
    writeFileSync(join(dir, `tracking-page-${i + 1}.html`), result.report[1]);
  }
  console.log(JSON.stringify(results, null, 2));
  const scores = results.map((r) => r.score).sort((a, b) => a - b);
  console.log(`tracking page: Lighthouse performance median ${scores[Math.floor(scores.length / 2)]} (runs: ${scores.join(", ")}), ${results[0].total_byte_weight} bytes`);
} finally {
  await chrome?.kill();
  await server.stop();
}
