// The Setup page on the demo business: the dispatcher adds a depot, a
// vehicle with a break and skills, and a driver bound to it; changes the
// organisation's default service time and tile URL; a bad value shows the
// field's error and changes nothing (a reload proves it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { api } from "../support/driver.mjs";
import { useDemoServer } from "../support/demo_session.mjs";

const demo = useDemoServer();

const GOOD_TILES = "https://tiles.example.com/{z}/{x}/{y}.png";

test("a dispatcher sets up a depot, a vehicle, a driver and the organisation's settings", async () => {
  const token = await apiToken(demo.baseUrl);
  const before = await api(demo.baseUrl, token, "GET", "/api/organisation");
  // The refused save answers 422 on purpose.
  const { context, page, errors } = await demo.signedInPage({ path: "/login", contextOptions: { viewport: { width: 1280, height: 1000 } }, expectedStatuses: [422] });
  await page.goto(`${demo.baseUrl}/setup`);
  await page.getByTestId("setup-page").waitFor();
  await page.getByTestId("depot-row").first().waitFor();
  const depotsBefore = await page.getByTestId("depot-row").count();

  // The default travel-time assumption is stated.
  const assumption = await page.getByTestId("travel-assumption").innerText();
  assert.match(assumption, /1\.3/);
  assert.match(assumption, /25 km\/h/);

  // A depot.
  await page.getByRole("button", { name: "Add a depot" }).click();
  const depotForm = page.getByTestId("depot-form");
  await depotForm.getByLabel("Depot name").fill("Dépôt Vaise");
  await depotForm.getByLabel("Street").fill("5 Rue du Bourbonnais");
  await depotForm.getByLabel("Postcode").fill("69009");
  await depotForm.getByLabel("City").fill("Lyon");
  await depotForm.getByLabel("Latitude", { exact: true }).fill("45.7741");
  await depotForm.getByLabel("Longitude", { exact: true }).fill("4.8055");
  assert.equal(await page.getByTestId("depot-save-state").innerText(), "Unsaved changes");
  await depotForm.getByRole("button", { name: "Save depot" }).click();
  await page.getByTestId("depot-save-state").getByText("Saved", { exact: true }).waitFor();
  assert.equal(await page.getByTestId("depot-row").count(), depotsBefore + 1);
  await depotForm.getByRole("button", { name: "Close" }).click();

  // A vehicle with a break and skills, at the new depot.
  await page.getByRole("button", { name: "Add a vehicle" }).click();
  const vehicleForm = page.getByTestId("vehicle-form");
  await vehicleForm.getByLabel("Vehicle name").fill("Cold van");
  await vehicleForm.getByLabel("Plate").fill("GH-123-JK");
  await vehicleForm.getByLabel("Home depot").selectOption({ label: "Dépôt Vaise" });
  await vehicleForm.getByRole("button", { name: "Start at this depot" }).click();
  await vehicleForm.getByLabel("Shift start").fill("07:30");
  await vehicleForm.getByLabel("Shift end").fill("16:30");
  await vehicleForm.getByLabel("Weight (kg)").fill("700");
  await vehicleForm.getByLabel("Skills").fill("refrigerated, tail_lift");
  await vehicleForm.getByLabel("Cost per km").fill("0.4");
  await vehicleForm.getByLabel("Takes a break").check();
  await vehicleForm.getByLabel("Break from").fill("11:30");
  await vehicleForm.getByLabel("Break until").fill("13:30");
  await vehicleForm.getByLabel("Break length (min)").fill("30");
  await vehicleForm.getByRole("button", { name: "Save vehicle" }).click();
  await page.getByTestId("vehicle-save-state").getByText("Saved", { exact: true }).waitFor();
  const vanRow = page.getByTestId("vehicle-row").filter({ hasText: "Cold van" });
  await vanRow.waitFor();
  assert.match(await vanRow.innerText(), /30 min in 11:30–13:30/);
  assert.match(await vanRow.innerText(), /refrigerated, tail_lift/);
  await vehicleForm.getByRole("button", { name: "Close" }).click();

  // A driver bound to it, and a sign-in code for their phone.
  await page.getByRole("button", { name: "Add a driver" }).click();
  const driverForm = page.getByTestId("driver-form");
  await driverForm.getByLabel("Driver name").fill("Inès Morel");
  await driverForm.getByLabel("Phone").fill("+33 6 98 76 54 32");
  await driverForm.getByLabel("Email").fill("ines.morel@example.com");
  await driverForm.getByLabel("Usual vehicle").selectOption({ label: "Cold van" });
  await driverForm.getByRole("button", { name: "Save driver" }).click();
  await page.getByTestId("driver-save-state").getByText("Saved", { exact: true }).waitFor();
  await page.getByTestId("driver-row").filter({ hasText: "Inès Morel" }).filter({ hasText: "Cold van" }).waitFor();
  await driverForm.getByRole("button", { name: "Issue sign-in code" }).click();
  assert.match(await page.getByTestId("sign-in-codes").innerText(), /PIN \d+/);
  await screenshot(page, "setup-fleet");

  // The organisation's default service time and tile URL.
  const orgForm = page.getByTestId("org-form");
  await orgForm.getByLabel("Default service time (min)").fill("7");
  await orgForm.getByLabel("Map tile URL").fill(GOOD_TILES);
  await orgForm.getByRole("button", { name: "Save settings" }).click();
  await page.getByTestId("org-save-state").getByText("Saved", { exact: true }).waitFor();

  // A bad value: the field says what is wrong, and nothing is written.
  await orgForm.getByLabel("Default service time (min)").fill("9");
  await orgForm.getByLabel("Map tile URL").fill("https://tiles.example.com/{z}/{x}.png");
  await orgForm.getByRole("button", { name: "Save settings" }).click();
  const tileError = orgForm.locator('[data-field="settings.tile_url"] .field-error');
  await tileError.waitFor();
  assert.match(await tileError.innerText(), /\{z\}, \{x\} and \{y\}/);
  assert.equal(await orgForm.getByLabel("Map tile URL").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByTestId("org-save-state").innerText(), "Not saved");
  await screenshot(page, "setup-field-error");

  await page.reload();
  await page.getByTestId("org-form").waitFor();
  const reloaded = page.getByTestId("org-form");
  assert.equal(await reloaded.getByLabel("Default service time (min)").inputValue(), "7");
  assert.equal(await reloaded.getByLabel("Map tile URL").inputValue(), GOOD_TILES);
  assert.equal(await page.getByTestId("org-save-state").innerText(), "No changes");
  await page.getByTestId("vehicle-row").filter({ hasText: "Cold van" }).waitFor();
  await screenshot(page, "setup-after-reload");

  // The API agrees.
  const org = await api(demo.baseUrl, token, "GET", "/api/organisation");
  assert.equal(org.default_service_time_s, 420);
  assert.equal(org.settings.tile_url, GOOD_TILES);
  assert.equal(org.name, before.name);
  const vehicles = await api(demo.baseUrl, token, "GET", "/api/vehicles");
  const van = vehicles.find((v) => v.name === "Cold van");
  assert.deepEqual(van.skills, ["refrigerated", "tail_lift"]);
  assert.deepEqual(van.break, { window: { start: "11:30", end: "13:30" }, duration_s: 1800 });
  assert.deepEqual(van.shift, { start: "07:30", end: "16:30" });
  const depots = await api(demo.baseUrl, token, "GET", "/api/depots");
  assert.equal(van.depot_id, depots.find((d) => d.name === "Dépôt Vaise").id);
  const drivers = await api(demo.baseUrl, token, "GET", "/api/drivers");
  assert.equal(drivers.find((d) => d.name === "Inès Morel").vehicle_id, van.id);

  assert.deepEqual(errors, []);
  await context.close();
});
