// What every spec file starts with: one real `doorstep serve` (the demo
// business, unless told otherwise) and one headless Chromium, started before
// the file's tests and closed after them, and pages signed in as the demo
// dispatcher.
import { after, before } from "node:test";
import { collectConsoleErrors, launchBrowser } from "./browser.mjs";
import { startDoorstep } from "./server.mjs";
import { DEMO_PASSWORD, signInThroughForm } from "./auth.mjs";

/// Registers node:test `before`/`after` hooks for the calling spec file and
/// returns accessors that work in its tests. Node 20 runs a file's top-level
/// hooks concurrently, so a spec's own set-up and tear-down go in `setup` and
/// `teardown` here, not in hooks of its own.
///
/// - `demo` (default true): `--demo --demo-password DEMO_PASSWORD`.
/// - `serveArgs`: more `doorstep serve` arguments (`--demo-orders 0`,
///   `--demo-timezone …`), or an async function returning them, run first
///   (for arguments known only then: a user pool it creates).
/// - `browser` (default true): false for specs that only use their own
///   persistent phone profiles (support/driver.mjs launchPhone).
/// - `setup(session)`: runs once the server (and browser) are up.
/// - `teardown()`: runs after they are closed.
export function useDemoServer({ demo = true, serveArgs = [], browser: withBrowser = true, setup, teardown } = {}) {
  let server;
  let browser;

  before(async () => {
    const extra = typeof serveArgs === "function" ? await serveArgs() : serveArgs;
    const demoArgs = demo ? ["--demo-password", DEMO_PASSWORD] : [];
    server = await startDoorstep({ demo, extraArgs: [...demoArgs, ...extra] });
    if (withBrowser) browser = await launchBrowser();
    if (setup) await setup(session);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (teardown) await teardown();
  });

  const running = (what, value) => {
    if (!value) throw new Error(`${what} is not running: use it in a test or in useDemoServer's setup`);
    return value;
  };

  const session = {
    /// `{ baseUrl, dataDir, stop }` from support/server.mjs.
    get server() {
      return running("doorstep serve", server);
    },
    get baseUrl() {
      return running("doorstep serve", server).baseUrl;
    },
    get browser() {
      if (!withBrowser) throw new Error("useDemoServer({ browser: false }) launches no browser");
      return running("Chromium", browser);
    },
    /// A new context and page, signed in as the demo dispatcher through the
    /// form at `path` (the app sends signed-out visitors to /login), with its
    /// console errors collected from the first request on.
    /// `contextOptions` go to `browser.newContext`; `expectedStatuses` to
    /// collectConsoleErrors; `init(context)` runs before the page is opened
    /// (init scripts, probes). Returns `{ context, page, errors }`.
    async signedInPage({ path = "/", contextOptions = {}, expectedStatuses = [], init } = {}) {
      const context = await session.browser.newContext(contextOptions);
      if (init) await init(context);
      const page = await context.newPage();
      const errors = collectConsoleErrors(page, { expectedStatuses });
      await page.goto(session.baseUrl + path);
      await signInThroughForm(page);
      return { context, page, errors };
    },
  };
  return session;
}
