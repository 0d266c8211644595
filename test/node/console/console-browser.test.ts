import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../../scripts/sandbox/stack.ts";
import {
  type AttioRecordJson,
  attioRecords,
  control,
  eventually,
  holdDeliveries,
  put,
  salesforceRecords,
  settle,
} from "../e2e/helpers.ts";
import { Browser, findChromium, type Tab } from "./cdp.ts";

/**
 * The console in a real browser (Debian's headless Chromium, over the DevTools protocol) against
 * the sandbox stack: sign in, start, jobs to done, a conflict resolved, a failure retried, a held
 * delete approved, a record found and explained, pause and resume where this deployment has modes.
 * With UPDATE_SCREENSHOTS=1 the screenshots go to docs/images/ (README and docs/CONSOLE.md show them).
 */

const chromium = findChromium();
if (!chromium) {
  // Said once, plainly, instead of failing: `.ci/run` installs it (scripts/install-chromium.sh).
  process.stderr.write(
    "console browser tests skipped: no Chromium found (npm run setup:browser installs Debian's chromium; or set CHROMIUM_PATH)\n",
  );
}

const ROOT = resolve(import.meta.dirname, "../../..");

describe.skipIf(!chromium)("the console in Chromium", () => {
  let stack: Stack;
  let browser: Browser;
  let tab: Tab;
  let shots: string;
  let base: string;

  beforeAll(async () => {
    shots =
      process.env["UPDATE_SCREENSHOTS"] === "1"
        ? join(ROOT, "docs/images")
        : await mkdtemp(join(tmpdir(), "attio-sfdc-console-shots-"));
    await mkdir(shots, { recursive: true });
    [stack, browser] = await Promise.all([
      // Left in setup: the console starts it.
      startStack({ seed: 61, vars: { CONFLICT_RESOLUTION: "manual" }, start: false }),
      Browser.launch(chromium ?? ""),
    ]);
    // The URL npm start prints: loopback is a secure context, so the Secure cookie is kept over http.
    base = stack.workerUrl;
    tab = await browser.newTab();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const shot = (name: string) => tab.screenshot(join(shots, `console-${name}.png`));
  async function until(what: string, path: string, check: (text: string) => boolean, timeoutMs = 30_000) {
    let last = "";
    try {
      return await eventually(
        what,
        async () => {
          await tab.goto(`${base}${path}`);
          last = await tab.text("main");
          return check(last) ? last : undefined;
        },
        timeoutMs,
      );
    } catch (err) {
      throw new Error(`${String(err)}; the page said: ${last.slice(0, 1500)}`);
    }
  }

  async function person(email: string, title: string): Promise<AttioRecordJson> {
    const { data } = await control<{ data: AttioRecordJson }>(stack.attio.url, "edit", {
      object: "people",
      values: {
        name: { first_name: "Ana", last_name: email.split("@")[0], full_name: `Ana ${email.split("@")[0]}` },
        email_addresses: [email],
        job_title: title,
      },
    });
    return data;
  }

  async function contactOf(email: string) {
    return eventually(`Contact ${email}`, async () =>
      (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === email),
    );
  }

  it("shows the sign-in page first, reachable by keyboard, and signs in with the admin token", async () => {
    await tab.goto(`${base}/console`);
    expect(await tab.text("h1")).toBe("Sign in");
    await tab.press("Tab");
    expect(await tab.eval("document.activeElement?.textContent")).toBe("Skip to content");
    await shot("sign-in");
    await tab.fill("#token", "not-the-token-0123456789abcdef0123456789");
    await tab.clickText("Sign in", "main");
    expect(await tab.text()).toContain("That token was refused");
    await tab.fill("#token", stack.adminToken);
    await tab.clickText("Sign in", "main");
    expect(await tab.text("h1")).toBe("Overview");
    // The token is in no URL and no script can read the session cookie.
    expect(await tab.url()).not.toContain(stack.adminToken);
    expect(await tab.eval("document.cookie")).toBe("");
  });

  it("plans a dry run while the deployment is in setup: nothing is written", async () => {
    for (const i of [1, 2, 3]) await person(`job${i}@console.example`, "Analyst");
    await control(stack.salesforce.url, "edit", {
      object: "Contact",
      fields: { LastName: "Okafor", Email: "okafor@console.example" },
    });
    await tab.goto(`${base}/console/jobs`);
    await tab.clickText("Start job");
    expect(await tab.text()).toContain("Job started (dry run)");
    const jobPath = new URL(await tab.url()).pathname;
    await until("dry run done", jobPath, (t) => /State: done/.test(t));
    const plan = await tab.text('[data-testid="plan"]');
    expect(plan).toContain("job1@console.example");
    expect(plan).toMatch(/create/);
    await shot("job-dry-run");
    // Planned, not written: Salesforce has no Contact for them yet.
    expect((await salesforceRecords(stack, "Contact")).some((c) => c["Email"] === "job1@console.example")).toBe(false);
  });

  it("starts the new deployment from the overview", async () => {
    await tab.goto(`${base}/console`);
    expect(await tab.text('[data-testid="mode"]')).toBe("setup");
    await shot("overview-setup");
    await tab.clickText("Start syncing");
    expect(await tab.text()).toContain("Started: the sync now writes to both CRMs.");
    expect(await tab.text()).toMatch(/First catch-up: .*people: \d+ changed in Salesforce, \d+ unlinked in Attio/);
    expect(await tab.text('[data-testid="mode"]')).toBe("running");
  });

  it("runs a job to done from the form", async () => {
    await tab.goto(`${base}/console/jobs`);
    await tab.eval(`document.querySelector('input[name="dry_run"]').checked = false`);
    await tab.clickText("Start job");
    expect(await tab.text()).toContain("Job started.");
    const realPath = new URL(await tab.url()).pathname;
    const finished = await until("job done", realPath, (t) => /State: done/.test(t), 60_000);
    // Every listed record got an outcome (created, or unchanged where the live sync was first).
    const [, processed, listed] = /(\d+) of (\d+) records/.exec(finished) ?? [];
    expect(Number(listed)).toBeGreaterThanOrEqual(4);
    expect(processed).toBe(listed);
    await contactOf("job1@console.example");
    await tab.goto(`${base}/console/jobs`);
    await shot("jobs");
  });

  it("resolves a conflict with one click per field", async () => {
    const email = "conflict@console.example";
    const { id } = await person(email, "Analyst");
    const contact = await contactOf(email);
    await settle(stack);
    const held = await holdDeliveries(stack);
    await control(stack.attio.url, "edit", {
      object: "people",
      record_id: id.record_id,
      values: { job_title: "Title from Attio" },
    });
    await new Promise((r) => setTimeout(r, 1100));
    await control(stack.salesforce.url, "edit", {
      object: "Contact",
      id: contact.Id,
      fields: { Title: "Title from Salesforce" },
    });
    await held.release();
    await until(
      "the conflict is listed",
      "/console/issues",
      (t) => t.includes("Title from Salesforce") && t.includes("conflict_held"),
    );
    await shot("issues");
    await tab.clickText("Keep Salesforce's value", "#reason-conflict_held");
    expect(await tab.text()).toContain("on both sides");
    await eventually("Attio takes Salesforce's value", async () => {
      const p = (await attioRecords(stack, "people")).find((r) => r.id.record_id === id.record_id);
      return p?.values["job_title"]?.[0]?.["value"] === "Title from Salesforce" ? p : undefined;
    });
  });

  it("retries a failure once its cause is gone", async () => {
    const email = "failure@console.example";
    // Attio refuses every call for a moment (a 400): the Contact's create in Attio fails for good.
    await put(stack.attio.url, "faults", { errorRate: 1, errorStatus: 400 });
    const { record } = await control<{ record: { Id: string } }>(stack.salesforce.url, "edit", {
      object: "Contact",
      fields: { LastName: "Failing", Email: email },
    });
    await until("the failure is listed", "/console/issues", (t) => t.includes(record.Id));
    await put(stack.attio.url, "faults", {});
    await shot("issues-failure");
    const item = await tab.eval<string>(
      `[...document.querySelectorAll("li[data-item]")].find((li) => li.innerText.includes(${JSON.stringify(record.Id)}))?.dataset.item ?? ""`,
    );
    expect(item).not.toBe("");
    await tab.clickText("Retry", `li[data-item="${item}"]`);
    expect(await tab.text()).toContain("1 item(s) retried.");
    await eventually("the person is created in Attio", async () =>
      (await attioRecords(stack, "people")).find((p) =>
        p.values["email_addresses"]?.some((e) => e["email_address"] === email),
      ),
    );
  });

  it("approves a held delete", async () => {
    const email = "deleted@console.example";
    const { id } = await person(email, "Analyst");
    const contact = await contactOf(email);
    await settle(stack);
    await control(stack.salesforce.url, "delete", { object: "Contact", id: contact.Id });
    await until("the held delete is listed", "/console/issues", (t) => t.includes("delete_held"));
    await tab.clickText("Approve delete", "#reason-delete_held li");
    expect(await tab.text()).toContain("Delete approved");
    await eventually("the Attio person is deleted", async () =>
      (await attioRecords(stack, "people")).some((r) => r.id.record_id === id.record_id) ? undefined : true,
    );
  });

  it("finds a record by email and shows its explanation and timeline", async () => {
    await tab.goto(`${base}/console/records?q=${encodeURIComponent("conflict@console.example")}`);
    expect(await tab.text('[data-testid="results"]')).toContain("people");
    await tab.navigating(() => tab.eval(`document.querySelector('[data-testid="results"] a').click()`));
    const text = await tab.text();
    expect(text).toContain("Explain: in sync, or why not");
    expect(text).toContain("Timeline across both systems");
    // Explain's verdict (read live from both sides) and the timeline of the pair.
    expect(await tab.text('[data-testid="explain-verdict"]')).toMatch(/^(In sync|Not in sync): /);
    expect(await tab.text('[data-testid="timeline"]')).toContain("Title from Salesforce");
    await shot("record");
    // By the domain and by the name its pair last synced, not only by an id or the exact email.
    for (const q of ["console.example", "Ana"]) {
      await tab.goto(`${base}/console/records?q=${encodeURIComponent(q)}`);
      expect(await tab.text('[data-testid="results"]'), q).toContain("people");
    }
    // The field that matched the name, from the pairs' bases.
    expect(await tab.text('[data-testid="results"]')).toContain("FirstName");
    await shot("search");
  });

  it("pauses and resumes: an edit made while paused arrives after resume", async () => {
    const email = "paused@console.example";
    await person(email, "Analyst");
    const contact = await contactOf(email);
    await settle(stack);
    await tab.goto(`${base}/console`);
    await tab.clickText("Pause");
    expect(await tab.text('[data-testid="mode"]')).toBe("paused");
    await control(stack.salesforce.url, "edit", {
      object: "Contact",
      id: contact.Id,
      fields: { Title: "Set while paused" },
    });
    await until("the change is held", "/console", (t) => /[1-9]\d* change\(s\) held/.test(t));
    await tab.clickText("Resume");
    expect(await tab.text('[data-testid="mode"]')).toBe("running");
    expect(await tab.text()).toContain("Resumed: the sync writes again.");
    await eventually("the held edit reaches Attio", async () => {
      const p = (await attioRecords(stack, "people")).find((r) =>
        r.values["email_addresses"]?.some((e) => e["email_address"] === email),
      );
      return p?.values["job_title"]?.[0]?.["value"] === "Set while paused" ? p : undefined;
    });
  });

  it("shows the overview, charts and configuration, on a laptop and on a phone", async () => {
    // Two Cron Trigger runs sample the lag, the budget and the backlog for the 24-hour charts.
    for (let run = 0; run < 2; run++) {
      const cron = await fetch(`${base}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`);
      expect(cron.status).toBe(200);
    }
    await tab.goto(`${base}/console`);
    expect(await tab.eval("document.querySelectorAll('[data-testid=lag-chart] svg[role=img]').length")).toBe(1);
    expect(await tab.text('[data-testid="backlog"]')).toMatch(/^\d+$/);
    await shot("overview");
    await tab.goto(`${base}/console/charts`);
    expect(await tab.eval("document.querySelectorAll('svg[role=img]').length")).toBeGreaterThanOrEqual(6);
    for (const chart of ["lag-chart", "backlog-chart", "budget-charts"]) {
      expect(
        await tab.eval(`document.querySelectorAll('[data-testid=${chart}] svg[role=img]').length`),
        chart,
      ).toBeGreaterThan(0);
    }
    await shot("charts");
    await tab.goto(`${base}/console/config`);
    await tab.clickText("Validate", "main");
    expect(await tab.text('[data-testid="report"]')).toContain("Valid");
    const phone = await browser.newTab(390, 844, true);
    await phone.goto(`${base}/console`);
    // The session is the browser's: the new tab is signed in too.
    expect(await phone.text("h1")).toBe("Overview");
    expect(await phone.eval("document.documentElement.scrollWidth <= 390 + 1")).toBe(true);
    await phone.screenshot(join(shots, "console-phone.png"));
  });

  it("saves a breaker configuration, holds a mass update and writes it once approved", async () => {
    await tab.goto(`${base}/console/config`);
    // A small org's breaker: more than 2 records updated within the window trips it.
    await tab.fill("#toml", "[breaker]\nmax_records = 2\nmin_records = 1\nmax_share = 1\n");
    await tab.clickText("Save as a new version", "main");
    expect(await tab.text()).toMatch(/Stored as version \d+\./);
    const contacts = [];
    for (const i of [1, 2, 3]) contacts.push(await contactOf(`job${i}@console.example`));
    await settle(stack);
    for (const contact of contacts) {
      await control(stack.salesforce.url, "edit", {
        object: "Contact",
        id: contact.Id,
        fields: { Title: "Bulk title" },
      });
    }
    await until("the hold is listed", "/console/issues", (t) => t.includes("Mass-update breaker"));
    await shot("issues-breaker");
    await tab.clickText("Approve: write them", "#holds li");
    expect(await tab.text()).toMatch(/Approved: \d+ record\(s\) are being written\./);
    await eventually("every bulk edit reaches Attio", async () => {
      const people = await attioRecords(stack, "people");
      const titles = [1, 2, 3].map(
        (i) =>
          people.find((p) => p.values["email_addresses"]?.some((e) => e["email_address"] === `job${i}@console.example`))
            ?.values["job_title"]?.[0]?.["value"],
      );
      return titles.every((t) => t === "Bulk title") ? titles : undefined;
    });

    // A second version, and the diff between the two.
    await tab.goto(`${base}/console/config`);
    await tab.fill("#toml", "[breaker]\nmax_records = 2\nmin_records = 1\nmax_share = 1\nwindow_minutes = 10\n");
    await tab.clickText("Save as a new version", "main");
    await tab.clickText("Show diff", "main");
    expect(await tab.text('[data-testid="diff"]')).toMatch(/\+\s*window_minutes = 10/);
    await shot("config");
  });
});
