// The dispatcher imports the day's orders from a CSV file: a file with a bad
// row is refused whole with the row and column named, the same file imports
// its good rows when asked, and the import can be undone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

// Lyon, like the demo business. Row 4 (the third order) has an unreadable time.
const CSV = [
  "Order #,Street address,Code postal,Ville,Client,Lat,Lng,From,To",
  "IMP-1,12 Rue de la République,69002,Lyon,Alice Martin,45.7640,4.8357,09:00,11:00",
  'IMP-2,"3 Quai Saint-Antoine, Bât B",69002,Lyon,Bruno Petit,45.7625,4.8310,10:00,12:00',
  "IMP-3,8 Place Bellecour,69002,Lyon,Chloé Durand,45.7578,4.8320,soon,12:00",
  "IMP-4,20 Cours Lafayette,69003,Lyon,David Leroy,45.7635,4.8530,13:00,15:00",
].join("\n");

async function daySummary(page) {
  const text = await page.locator('[data-testid="day-summary"]').textContent();
  return Number(text.match(/(\d+) orders/)[1]);
}

async function ordersWithRef(prefix) {
  const token = await apiToken(demo.baseUrl);
  const found = [];
  let cursor = null;
  do {
    const url = `${demo.baseUrl}/api/orders?q=${prefix}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
    found.push(...page.items);
    cursor = page.next_cursor && page.next_cursor !== cursor ? page.next_cursor : null;
  } while (cursor);
  return found.filter((o) => (o.external_ref || "").startsWith(prefix)).sort((a, b) => a.external_ref.localeCompare(b.external_ref));
}

test("a CSV with a bad row imports nothing, names the row, then imports its good rows and undoes", async () => {
  const { context, page, errors } = await demo.signedInPage({ contextOptions: { viewport: { width: 1366, height: 900 } }, expectedStatuses: [422] });
  await page.locator('[data-testid="day-summary"]').waitFor({ timeout: 15_000 });
  const before = await daySummary(page);

  await page.locator('[data-testid="import-open"]').click();
  await page.locator('[data-testid="import-file"]').setInputFiles({ name: "monday.csv", mimeType: "text/csv", buffer: Buffer.from(CSV) });

  // The preview shows the file as read, quoted comma included, and the
  // recognised columns (French and English headers alike).
  const preview = page.locator('[data-testid="import-preview"]');
  await preview.waitFor();
  assert.equal(await preview.locator("tbody tr").count(), 4);
  assert.equal(await preview.locator("tbody tr").nth(1).locator("td").nth(1).textContent(), "3 Quai Saint-Antoine, Bât B");
  for (const [field, header] of [["external_ref", "Order #"], ["address.line1", "Street address"], ["address.postcode", "Code postal"], ["address.city", "Ville"], ["recipient.name", "Client"], ["address.lon", "Lng"], ["window_start", "From"]]) {
    const selected = await page.locator(`select[data-field="${field}"]`).evaluate((s) => s.options[s.selectedIndex].text);
    assert.equal(selected, header, field);
  }
  await screenshot(page, "import-preview");

  // All or nothing: refused, with row 4 and its column named, and nothing written.
  await page.locator('[data-testid="import-submit"]').click();
  const problems = page.locator('[data-testid="import-errors"]');
  await problems.waitFor({ timeout: 10_000 });
  assert.match(await problems.textContent(), /Nothing was imported/);
  const row = problems.locator('tr[data-row="4"]');
  assert.equal(await row.count(), 1, await problems.textContent());
  assert.equal(await row.locator("td").nth(1).textContent(), "From");
  assert.deepEqual(await ordersWithRef("IMP-"), []);
  await screenshot(page, "import-refused");

  // Only the good rows, when asked.
  await page.locator('[data-testid="import-partial"]').check();
  await page.locator('[data-testid="import-submit"]').click();
  const done = page.locator('[data-testid="import-done"]');
  await done.waitFor({ timeout: 10_000 });
  assert.match(await done.textContent(), /Imported 3 of 4 orders/);
  assert.match(await done.textContent(), /row 4 \(From\)/);
  const imported = await ordersWithRef("IMP-");
  assert.deepEqual(imported.map((o) => o.external_ref).sort(), ["IMP-1", "IMP-2", "IMP-4"]);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="day-summary"]').textContent.match(/(\d+) orders/)[1]) === n, before + 3);
  assert.equal(await page.locator('[data-testid="orders-table"] tbody tr', { hasText: "Alice Martin" }).count(), 1);
  await screenshot(page, "import-done");

  // Undo cancels exactly what was imported.
  await page.locator('[data-testid="import-undo"]').click();
  await page.locator('[data-testid="import-undone"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('[data-testid="import-undone"]').textContent(), /3 order\(s\) cancelled/);
  const after = await ordersWithRef("IMP-");
  assert.deepEqual(after.map((o) => o.status.state), ["cancelled", "cancelled", "cancelled"]);

  // Escape closes the panel.
  await page.locator('[data-testid="import-submit"]').focus();
  await page.keyboard.press("Escape");
  await page.locator('[data-testid="import-panel"]').waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await context.close();
});
