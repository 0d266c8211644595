import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Unstable_DevWorker, unstable_dev } from "wrangler";
import { freePort } from "../../../scripts/sandbox/stack.ts";
import { Browser, findChromium, type Tab } from "../console/cdp.ts";

/**
 * /docs in a real browser (headless Chromium over the DevTools protocol, as the console's tests):
 * the Worker under wrangler dev (the bundle wrangler builds, with its module rule), and Scalar
 * rendering the management API's operations from /openapi.json under the page's CSP, with nothing
 * loaded from another origin. Skipped where no Chromium is installed (npm run setup:browser).
 */
const chromium = findChromium();
const ROOT = resolve(import.meta.dirname, "../../..");

interface Violation {
  directive: string;
  blocked: string;
}

describe.skipIf(!chromium)("/docs in Chromium", () => {
  let worker: Unstable_DevWorker;
  let browser: Browser;
  let tab: Tab;
  let state: string;
  let base: string;

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), "attio-sfdc-docs-"));
    const port = await freePort();
    [worker, browser] = await Promise.all([
      unstable_dev(join(ROOT, "src/index.ts"), {
        config: join(ROOT, "wrangler.toml"),
        ip: "127.0.0.1",
        port,
        persistTo: state,
        logLevel: "none",
        vars: {
          ATTIO_API_KEY: "docs-test",
          ATTIO_WEBHOOK_SECRET: "docs-test-webhook-secret",
          SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
          SALESFORCE_CLIENT_ID: "docs-test",
          SALESFORCE_CLIENT_SECRET: "docs-test",
          RELAY_SECRET: "docs-test-relay-secret-0123456789abcdef",
          ADMIN_TOKEN: "docs-test-admin-token-0123456789abcdef",
          LOG_LEVEL: "silent",
        },
        experimental: { disableExperimentalWarning: true, disableDevRegistry: true },
      }),
      Browser.launch(chromium ?? ""),
    ]);
    base = `http://127.0.0.1:${worker.port}`;
    tab = await browser.newTab();
    // Every CSP violation of every page, kept where the test can read it.
    await tab.beforeEachPage(`window.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    if (state) await rm(state, { recursive: true, force: true });
  });

  it("renders the operations of /api/v1, loading everything from the Worker and breaking no CSP rule", async () => {
    await tab.goto(`${base}/docs`);
    let text = "";
    const rendered = () => text.includes("Resolve a conflict") && text.includes("attio-sfdc management API");
    for (let i = 0; i < 60 && !rendered(); i++) {
      await new Promise((done) => setTimeout(done, 500));
      text = await tab.text();
    }
    // Operation summaries from the OpenAPI document, rendered by Scalar (not in the page's HTML).
    expect(text).toContain("Resolve a conflict");
    expect(text).toContain("attio-sfdc management API");
    expect(text).toContain("/openapi.json");
    // Scalar's toolbar (Share, Deploy: uploads to Scalar) would show on localhost; it is turned off.
    expect(text).not.toContain("Developer Tools");
    expect(await tab.eval<number>(`document.querySelectorAll(".scalar-app").length`)).toBeGreaterThan(0);
    // Scalar's own stylesheet applied (a page without it lays the sidebar out as plain text).
    expect(
      await tab.eval<string>(
        `getComputedStyle(document.querySelector(".scalar-app")).getPropertyValue("--scalar-background-1")`,
      ),
    ).not.toBe("");

    const origins = await tab.eval<string[]>(
      `[...new Set(performance.getEntriesByType("resource").map((r) => new URL(r.name).origin))]`,
    );
    expect(origins).toEqual([base]);
    // The one refusal is Scalar asking whether it may compile code (`new Function("")` in a try):
    // the CSP says no, as it should, and Scalar carries on without.
    const violations = await tab.eval<Violation[]>("window.__violations");
    expect(violations.filter((v) => !(v.directive === "script-src" && v.blocked === "eval"))).toEqual([]);
  }, 60_000);
});
