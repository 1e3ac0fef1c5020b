// Lighthouse (npm, offline) on the dispatcher app served by a real
// `doorstep serve --demo`: the sign-in page and the signed-in planning page,
// each with Lighthouse's default mobile emulation (simulated slow 4G, 4x CPU
// slowdown) and with its desktop preset (the dispatcher works on laptops and
// tablets). Categories: performance, accessibility and best practices.
//
//   cd tests/browser && DOORSTEP_BIN=../../target/debug/doorstep DOORSTEP_WEB=../../target/site \
//     DOORSTEP_ARTIFACTS=../../target/browser-artifacts node support/lighthouse_app.mjs
//
// LIGHTHOUSE_RUNS (default 3) runs per page and form factor; LIGHTHOUSE_PAGES
// (signin,planning) and LIGHTHOUSE_FORM_FACTORS (mobile,desktop) pick a subset.
// Prints one row per run, the medians, and every failed accessibility audit
// with its elements; writes the JSON and HTML reports to
// $DOORSTEP_ARTIFACTS/lighthouse/. Not part of `npm test`: the performance
// score depends on how busy the machine is.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import * as chromeLauncher from "chrome-launcher";
// Lighthouse's own driver (a dependency of the `lighthouse` package): the
// signed-in run needs the token in the tab's session storage before the app starts.
import puppeteer from "puppeteer-core";
import { requiredEnv, startDoorstep } from "./server.mjs";
import { DEMO_PASSWORD, apiToken } from "./auth.mjs";

const CATEGORIES = (process.env.LIGHTHOUSE_CATEGORIES || "performance,accessibility,best-practices").split(",");
const CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
/// Where the app keeps the access token (frontend/app/src/services/api.rs, `TOKEN_KEY`).
const TOKEN_KEY = "doorstep.token";

const PAGES = {
  // Signed out: the app sends visitors to its sign-in form.
  signin: { path: "/login", ready: '[data-page="login"]', signedIn: false },
  // The dispatcher's planning page with the demo business's depot, drivers and orders.
  planning: { path: "/", ready: '[data-page="dispatcher"]', signedIn: true },
};
const FORM_FACTORS = {
  mobile: undefined, // Lighthouse's default config: mobile emulation, simulated slow 4G
  desktop: desktopConfig,
};
const pick = (env, all) => (process.env[env] ? process.env[env].split(",") : Object.keys(all)).map((k) => {
  if (!(k in all)) throw new Error(`${env}: unknown ${k}; choose from ${Object.keys(all).join(", ")}`);
  return k;
});

const server = await startDoorstep({ demo: true, extraArgs: ["--demo-password", DEMO_PASSWORD] });
let chrome;
let browser;
try {
  const token = await apiToken(server.baseUrl);
  chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH || process.env.CHROMIUM || "/usr/bin/chromium", chromeFlags: CHROME_FLAGS });
  browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}`, defaultViewport: null });
  const runs = Number(process.env.LIGHTHOUSE_RUNS || 3);
  const dir = join(requiredEnv("DOORSTEP_ARTIFACTS"), "lighthouse");
  mkdirSync(dir, { recursive: true });
  const results = [];
  const findings = new Map();
  for (const pageName of pick("LIGHTHOUSE_PAGES", PAGES)) {
    const target = PAGES[pageName];
    for (const formFactor of pick("LIGHTHOUSE_FORM_FACTORS", FORM_FACTORS)) {
      for (let i = 0; i < runs; i++) {
        const page = await browser.newPage();
        if (target.signedIn) {
          // Every navigation of this tab starts signed in, as after the sign-in form.
          await page.evaluateOnNewDocument((key, value) => {
            try { sessionStorage.setItem(key, value); } catch { /* about:blank has no storage */ }
          }, TOKEN_KEY, token);
        }
        const result = await lighthouse(server.baseUrl + target.path, { onlyCategories: CATEGORIES, output: ["json", "html"], logLevel: "error" }, FORM_FACTORS[formFactor], page);
        const lhr = result.lhr;
        if (lhr.runtimeError) throw new Error(`Lighthouse (${pageName}, ${formFactor}): ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
        // The page Lighthouse measured must be the one meant (not the sign-in form instead of planning).
        const rendered = await page.$(target.ready);
        if (!rendered) throw new Error(`${pageName}: ${target.ready} is not on the page Lighthouse loaded (${page.url()})`);
        await page.close();
        const audit = (id) => lhr.audits[id]?.numericValue;
        const row = {
          page: pageName,
          form_factor: lhr.configSettings.formFactor,
          run: i + 1,
          ...Object.fromEntries(CATEGORIES.map((c) => [c, Math.round(lhr.categories[c].score * 100)])),
          total_byte_weight: audit("total-byte-weight"),
          first_contentful_paint_ms: Math.round(audit("first-contentful-paint")),
          largest_contentful_paint_ms: Math.round(audit("largest-contentful-paint")),
          total_blocking_time_ms: Math.round(audit("total-blocking-time")),
          cumulative_layout_shift: audit("cumulative-layout-shift"),
          speed_index_ms: Math.round(audit("speed-index")),
          lcp_element: lhr.audits["largest-contentful-paint-element"]?.details?.items?.[0]?.items?.[0]?.node?.snippet,
          throttling: lhr.configSettings.throttlingMethod,
          lighthouse: lhr.lighthouseVersion,
          chromium: lhr.environment.hostUserAgent.match(/Chrome\/[\d.]+/)?.[0],
        };
        results.push(row);
        for (const [category, ref] of Object.entries(lhr.categories).filter(([c]) => c !== "performance").flatMap(([c, cat]) => cat.auditRefs.map((r) => [c, r]))) {
          const a = lhr.audits[ref.id];
          if (a.score === null || a.score === 1 || ref.weight === 0) continue;
          const elements = (a.details?.items || []).map((item) => item.node?.selector || item.node?.snippet || item.url || item.source?.url || item.description).filter(Boolean);
          findings.set(`${pageName} ${formFactor} ${category} ${a.id}`, { page: pageName, form_factor: formFactor, category, audit: a.id, title: a.title, elements: [...new Set(elements)].slice(0, 10) });
        }
        const name = `app-${pageName}-${formFactor}-${i + 1}`;
        writeFileSync(join(dir, `${name}.json`), result.report[0]);
        writeFileSync(join(dir, `${name}.html`), result.report[1]);
      }
    }
  }
  console.log(JSON.stringify(results, null, 2));
  if (findings.size) console.log("Failed audits (accessibility, best practices):\n" + JSON.stringify([...findings.values()], null, 2));
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const pageName of new Set(results.map((r) => r.page))) {
    for (const formFactor of new Set(results.map((r) => r.form_factor))) {
      const rows = results.filter((r) => r.page === pageName && r.form_factor === formFactor);
      if (!rows.length) continue;
      const scores = CATEGORIES.map((c) => `${c} ${median(rows.map((r) => r[c]))}`).join(", ");
      console.log(`${pageName} (${formFactor}): Lighthouse median ${scores} over ${rows.length} run(s); LCP ${median(rows.map((r) => r.largest_contentful_paint_ms))} ms, ${rows[0].total_byte_weight} bytes`);
    }
  }
} finally {
  await browser?.disconnect();
  await chrome?.kill();
  await server.stop();
}
