// Signing in as the demo dispatcher, through the UI or the API.

/// The demo dispatcher created by `doorstep serve --demo`.
export const DEMO_EMAIL = "dispatcher@colis-express.example";
/// Chosen with `--demo-password` so the tests can sign in.
export const DEMO_PASSWORD = "browser-tests-demo-pass";

/// Fills the sign-in form on /login (where the app sends signed-out visitors)
/// and waits for the dispatcher page.
export async function signInThroughForm(page, { email = DEMO_EMAIL, password = DEMO_PASSWORD } = {}) {
  await page.locator('[data-page="login"]').waitFor({ timeout: 15_000 });
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('[data-page="dispatcher"]').waitFor({ timeout: 15_000 });
}

/// A bearer token for API checks from the test itself.
export async function apiToken(baseUrl, { email = DEMO_EMAIL, password = DEMO_PASSWORD } = {}) {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}
