// Dispatchers sign in with a Cognito user pool (as on AWS with
// ApiAuth=cognito), against a real Cognito-protocol server (moto_server):
// the app asks the pool itself, sends the pool's ID token to `doorstep serve`
// (which checks it with the pool's JWKS), answers a first sign-in's
// new-password challenge, refreshes the token before it expires, and shows
// a wrong password plainly. Doorstep's own sign-in keeps working alongside.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectConsoleErrors, screenshot } from "../support/browser.mjs";
import { apiToken } from "../support/auth.mjs";
import { useDemoServer } from "../support/demo_session.mjs";
import { createUser, createUserPool, jwtClaims, startMoto } from "../support/moto.mjs";

const DEMO_ORG = "org-lyon-demo";
const DISPATCHER = { email: "ines@colis-express.example", password: "Cognito-pass-2026" };

let moto;
let pool;

// The pool comes first: `doorstep serve` is started with its arguments.
const demo = useDemoServer({
  serveArgs: async () => {
    moto = await startMoto();
    pool = await createUserPool(moto);
    await createUser(moto, pool, { email: DISPATCHER.email, org: DEMO_ORG, group: "dispatcher", permanentPassword: DISPATCHER.password });
    return pool.serveArgs;
  },
  teardown: () => moto?.stop(),
});

async function openSignIn(page) {
  await page.goto(demo.baseUrl + "/login");
  // The form waits for /api/config to say how to sign in.
  await page.locator('[data-page="login"][data-auth="cognito"]').waitFor({ timeout: 15_000 });
}

async function fill(page, { email, password }) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// The bearer of the first matching API request the page makes.
function bearerOf(page, path) {
  return page
    .waitForRequest((r) => new URL(r.url()).pathname === path && r.headers().authorization, { timeout: 20_000 })
    .then((r) => r.headers().authorization.replace(/^Bearer /, ""));
}

test("/api/config names the pool, and Doorstep's own sign-in still works beside it", async () => {
  const config = await (await fetch(demo.baseUrl + "/api/config")).json();
  assert.deepEqual(config.auth, {
    mode: "cognito",
    region: moto.region,
    user_pool_id: pool.poolId,
    client_id: pool.clientId,
    endpoint: `${moto.endpoint}/`,
  });
  const own = await apiToken(demo.baseUrl);
  const me = await fetch(demo.baseUrl + "/api/auth/me", { headers: { authorization: `Bearer ${own}` } });
  assert.equal(me.status, 200, await me.text());
});

test("a pool dispatcher with a wrong password is told so, then signs in and sees the day's orders", async () => {
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // Cognito answers a wrong password 400, which Chromium logs.
  const errors = collectConsoleErrors(page, { expectedStatuses: [400] });
  await openSignIn(page);

  await fill(page, { email: DISPATCHER.email, password: "not-the-password" });
  const error = page.locator('[data-testid="login-error"]');
  await error.waitFor({ timeout: 15_000 });
  assert.equal(await error.textContent(), "Wrong email address or password.");
  assert.equal(await page.locator('[data-page="login"]').count(), 1, "still on the sign-in page");

  const ordersBearer = bearerOf(page, "/api/orders");
  const ordersAnswer = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/orders", { timeout: 20_000 });
  await fill(page, DISPATCHER);
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });

  // The API call carried the pool's ID token, and the server accepted it.
  const claims = jwtClaims(await ordersBearer);
  assert.equal(claims.iss, pool.issuer);
  assert.equal(claims.token_use, "id");
  assert.equal(claims["custom:org"], DEMO_ORG);
  assert.equal((await ordersAnswer).status(), 200);
  const rows = page.locator('[data-testid="orders-table"] tbody tr');
  await rows.first().waitFor({ timeout: 15_000 });
  assert.ok((await rows.count()) > 0, "the demo day's orders are listed");
  await screenshot(page, "cognito-signed-in");

  const me = await page.evaluate(async () => {
    const token = sessionStorage.getItem("doorstep.token");
    const response = await fetch("/api/auth/me", { headers: { authorization: `Bearer ${token}` } });
    return response.json();
  });
  assert.equal(me.role, "dispatcher");
  assert.equal(me.subject, claims.sub);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a first sign-in with a temporary password sets a new one, then works with it", async () => {
  const user = { email: "noor@colis-express.example", temporary: "Temporary-pass-1", chosen: "Chosen-pass-2026" };
  await createUser(moto, pool, { email: user.email, org: DEMO_ORG, group: "dispatcher", temporaryPassword: user.temporary });
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const errors = collectConsoleErrors(page);
  await openSignIn(page);
  await fill(page, { email: user.email, password: user.temporary });

  const form = page.locator('[data-step="new-password"]');
  await form.waitFor({ timeout: 15_000 });
  await page.getByLabel("New password", { exact: true }).fill(user.chosen);
  await page.getByLabel("Repeat the new password").fill(user.chosen + "x");
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  assert.equal(await page.locator('[data-testid="login-error"]').textContent(), "The two new passwords differ.");
  await page.getByLabel("Repeat the new password").fill(user.chosen);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });

  // The new password is now the one the pool knows.
  const answer = await fetch(moto.endpoint + "/", {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth" },
    body: JSON.stringify({ AuthFlow: "USER_PASSWORD_AUTH", ClientId: pool.clientId, AuthParameters: { USERNAME: user.email, PASSWORD: user.chosen } }),
  });
  assert.equal(answer.status, 200, await answer.text());
  assert.deepEqual(errors, []);
  await context.close();
});

test("an ID token close to expiry is refreshed with the refresh token before the next call", async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const errors = collectConsoleErrors(page);
  await openSignIn(page);
  await fill(page, DISPATCHER);
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });
  const first = await page.evaluate(() => sessionStorage.getItem("doorstep.token"));

  // Pretend the token has a minute left: the next API call refreshes first.
  await page.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem("doorstep.cognito"));
    session.exp = Math.floor(Date.now() / 1000) + 60;
    sessionStorage.setItem("doorstep.cognito", JSON.stringify(session));
  });
  const refresh = page.waitForRequest(
    (r) => r.url().startsWith(moto.endpoint) && (r.postData() || "").includes("REFRESH_TOKEN_AUTH"),
    { timeout: 20_000 },
  );
  const ordersBearer = bearerOf(page, "/api/orders");
  await page.reload();
  await refresh;
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });
  const sent = await ordersBearer;
  const stored = await page.evaluate(() => sessionStorage.getItem("doorstep.token"));
  assert.notEqual(sent, first, "the refreshed token is sent, not the old one");
  assert.equal(sent, stored);
  assert.equal(jwtClaims(sent).sub, jwtClaims(first).sub);

  // Signing out forgets the pool session too.
  await page.getByRole("button", { name: "Sign out" }).click();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("doorstep.cognito")), null);
  assert.deepEqual(errors, []);
  await context.close();
});
