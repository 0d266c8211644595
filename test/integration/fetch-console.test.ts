import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import {
  ambiguousMatches,
  configVersions,
  conflicts,
  failures,
  idMappings,
  metricSamples,
  pendingDeletes,
  syncJobs,
  updateHolds,
} from "../../src/store/schema.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio, PEOPLE_OBJECT_ID } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * /console through the Worker's exported fetch: the sign-in and its cookie, CSRF, and pages and
 * actions that read and call /api/v1 (a failure the queue produced appears on the issues page, and
 * its retry button replays it through the API).
 */

const BASE = "https://worker.test";
const db = openDb(env.DB);

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

function get(path: string, cookie?: string) {
  return exports.default.fetch(`${BASE}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
}

function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return exports.default.fetch(`${BASE}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE, ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** Signs in; the cookie to send back and the form token of the overview page. */
async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const response = await post("/console/sign-in", { token: ADMIN_TOKEN });
  expect(response.status).toBe(303);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const page = await (await get("/console/issues", cookie)).text();
  const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(page)?.[1];
  if (!csrf) throw new Error("no form token on the page");
  return { cookie, csrf };
}

function setupFakes() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

/** A person whose create Salesforce rejects: an open failure, as the queue records it. */
async function rejectedPerson(fakes: ReturnType<typeof setupFakes>, id: string): Promise<string> {
  fakes.sf.rejectCreates({ statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Title is locked" });
  fakes.attio.addPerson(id, { email: `${id}@northwind.example` });
  await runQueue([personChanged(id)]);
  fakes.sf.rejectCreates(undefined);
  const row = await db
    .select()
    .from(failures)
    .where(eq(failures.recordKey, `attio:${PEOPLE_OBJECT_ID}:${id}`))
    .get();
  if (!row) throw new Error(`no failure for ${id}`);
  return row.id;
}

describe("console sign-in", () => {
  it("shows only the sign-in page, with no data, to a browser without a session", async () => {
    const fakes = setupFakes();
    const failureId = await rejectedPerson(fakes, "console-anon");
    for (const path of ["/console", "/console/issues", "/console/jobs", "/console/config", "/console/charts"]) {
      const response = await get(path);
      expect(response.status, path).toBe(401);
      const html = await response.text();
      expect(html, path).toContain('<form method="post" action="/console/sign-in"');
      expect(html, path).not.toContain(failureId);
      expect(html, path).not.toContain("Open failures");
    }
    // A forged cookie is no session: the API refuses its token, so no data either.
    const forged = await get("/console/issues", "attio_sfdc_console=not-the-token");
    expect(forged.status).toBe(401);
    const forgedPage = await forged.text();
    expect(forgedPage).toContain("no longer accepted: sign in again");
    expect(forgedPage).not.toContain(failureId);
    // ... and the cookie is cleared.
    expect(forged.headers.get("set-cookie")).toMatch(/attio_sfdc_console=;.*Max-Age=0/);
  });

  it("refuses a wrong token and sets no cookie", async () => {
    const response = await post("/console/sign-in", { token: "wrong-token-0123456789abcdef0123456789" });
    expect(response.status).toBe(401);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await response.text()).toContain("That token was refused");
  });

  it("keeps the token in an HttpOnly, Secure, SameSite=Strict session cookie, never in the URL", async () => {
    setupFakes();
    const response = await post("/console/sign-in", { token: ADMIN_TOKEN });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/console");
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^attio_sfdc_console=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/console");
    // A session cookie: it ends with the browser session.
    expect(cookie).not.toMatch(/Max-Age|Expires/i);
    const page = await get("/console", cookie.split(";")[0]);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(await page.text()).not.toContain(ADMIN_TOKEN);
  });

  it("signs out: the cookie is cleared", async () => {
    const { cookie, csrf } = await signIn();
    const response = await post("/console/sign-out", { _csrf: csrf }, { cookie });
    expect(response.status).toBe(303);
    expect(response.headers.get("set-cookie")).toMatch(/attio_sfdc_console=;.*Max-Age=0/);
  });
});

describe("console with the read-only token", () => {
  it("signs in with ADMIN_READ_TOKEN to look; its buttons get the API's own 403 and change nothing", async () => {
    const READ_TOKEN = "read-only-token-0123456789abcdef-0123";
    const withReader = { ...env, ADMIN_READ_TOKEN: READ_TOKEN } as Env;
    const fakes = setupFakes();
    const failureId = await rejectedPerson(fakes, "console-reader");
    const send = (path: string, init: RequestInit = {}) =>
      worker.fetch(
        new Request(`${BASE}${path}`, { redirect: "manual", ...init }),
        withReader,
        createExecutionContext(),
      );
    const form = (body: Record<string, string>, cookie?: string) => ({
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: BASE,
        ...(cookie ? { cookie } : {}),
      },
      body: new URLSearchParams(body).toString(),
    });
    const signedIn = await send("/console/sign-in", form({ token: READ_TOKEN }));
    expect(signedIn.status).toBe(303);
    const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await (await send("/console/issues", { headers: { cookie } })).text();
    expect(page).toContain(`data-item="${failureId}"`);
    const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(page)?.[1] ?? "";
    const dismissed = await send(
      "/console/issues/dismiss",
      form({ kind: "failure", id: failureId, _csrf: csrf }, cookie),
    );
    expect(dismissed.status).toBe(303);
    expect(new URL(dismissed.headers.get("location") ?? "", BASE).searchParams.get("error")).toContain(
      "read-only token (ADMIN_READ_TOKEN) can only read",
    );
    expect((await db.select().from(failures).where(eq(failures.id, failureId)).get())?.status).toBe("open");
  });
});

describe("console CSRF", () => {
  it("refuses a POST without the form token, with another's, or from another origin, and does nothing", async () => {
    const fakes = setupFakes();
    const failureId = await rejectedPerson(fakes, "console-csrf");
    const { cookie, csrf } = await signIn();
    const item = { kind: "failure", id: failureId };
    const attempts = [
      await post("/console/issues/dismiss", item, { cookie }),
      await post("/console/issues/dismiss", { ...item, _csrf: "0".repeat(64) }, { cookie }),
      await post("/console/issues/dismiss", { ...item, _csrf: csrf }, { cookie, origin: "https://evil.example" }),
    ];
    for (const response of attempts) expect(response.status).toBe(403);
    const row = await db.select().from(failures).where(eq(failures.id, failureId)).get();
    expect(row?.status).toBe("open");
    // Signing in from another site is refused too (no session is started by a forged form).
    const forged = await post("/console/sign-in", { token: ADMIN_TOKEN }, { origin: "https://evil.example" });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie")).toBeNull();
  });
});

describe("console pages over /api/v1", () => {
  it("lists a failure on the issues page and retries it through the API", async () => {
    const fakes = setupFakes();
    const failureId = await rejectedPerson(fakes, "console-retry");
    const { cookie, csrf } = await signIn();
    const page = await (await get("/console/issues", cookie)).text();
    expect(page).toContain("write_rejected");
    expect(page).toContain(`data-item="${failureId}"`);
    expect(page).toContain("Title is locked");

    const response = await post("/console/issues/retry", { kind: "failure", id: failureId, _csrf: csrf }, { cookie });
    expect(response.status).toBe(303);
    const location = response.headers.get("location") ?? "";
    expect(location).toMatch(/^\/console\/issues\?ok=/);
    expect(new URL(location, BASE).searchParams.get("ok")).toBe("1 item(s) retried.");
    const row = await db.select().from(failures).where(eq(failures.id, failureId)).get();
    expect(row?.status).not.toBe("open");
  });

  it("dismisses a failure: it leaves the issues page", async () => {
    const fakes = setupFakes();
    const failureId = await rejectedPerson(fakes, "console-dismiss");
    const { cookie, csrf } = await signIn();
    const response = await post("/console/issues/dismiss", { kind: "failure", id: failureId, _csrf: csrf }, { cookie });
    expect(response.status).toBe(303);
    expect((await db.select().from(failures).where(eq(failures.id, failureId)).get())?.status).toBe("dismissed");
    expect(await (await get("/console/issues", cookie)).text()).not.toContain(`data-item="${failureId}"`);
  });

  it("shows a conflict side by side, a held delete and an ambiguous match, and settles each through the API", async () => {
    const fakes = setupFakes();
    const linked = async (id: string) => {
      fakes.attio.addPerson(id, { email: `${id}@northwind.example`, title: "Analyst" });
      await runQueue([personChanged(id)]);
      const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get();
      if (!pair) throw new Error(`${id} was not linked`);
      return pair;
    };
    const conflictPair = await linked("console-conflict");
    const deletePair = await linked("console-held");
    const conflictId = crypto.randomUUID();
    const deleteId = crypto.randomUUID();
    const matchId = crypto.randomUUID();
    await db.insert(conflicts).values({
      id: conflictId,
      mappingId: conflictPair.id,
      field: "Title",
      baseValue: "Analyst",
      attioValue: "CTO",
      sfValue: "CEO",
    });
    await db.insert(pendingDeletes).values({ id: deleteId, mappingId: deletePair.id, deletedOn: "attio" });
    await db.insert(ambiguousMatches).values({
      id: matchId,
      side: "attio",
      object: "people",
      recordId: "console-ambiguous",
      candidates: ["003Hs0000CONSAAAA", "003Hs0000CONSBAAA"],
    });
    const { cookie, csrf } = await signIn();
    const page = await (await get("/console/issues", cookie)).text();
    const item = (id: string) =>
      page.slice(page.indexOf(`data-item="${id}"`), page.indexOf("</li>", page.indexOf(`data-item="${id}"`)));
    expect(item(conflictId)).toMatch(
      /Attio<\/div><strong>CTO<\/strong>.*Base \(last synced\)<\/div><strong>Analyst<\/strong>.*Salesforce<\/div><strong>CEO<\/strong>/s,
    );
    expect(item(conflictId)).toContain("Keep Salesforce&#39;s value");
    expect(item(deleteId)).toContain("Approve delete");
    expect(item(matchId)).toContain("Link to 003Hs0000CONSBAAA");

    const flash = (r: Response) => Object.fromEntries(new URL(r.headers.get("location") ?? "", BASE).searchParams);
    const resolved = await post(`/console/conflicts/${conflictId}`, { side: "salesforce", _csrf: csrf }, { cookie });
    expect(flash(resolved)).toEqual({ ok: 'Title set to "CEO" on both sides.' });
    expect((await db.select().from(conflicts).where(eq(conflicts.id, conflictId)).get())?.status).toBe("resolved");
    const rejected = await post(`/console/deletes/${deleteId}`, { decision: "reject", _csrf: csrf }, { cookie });
    expect(flash(rejected)).toEqual({ ok: "Delete rejected." });
    expect((await db.select().from(pendingDeletes).where(eq(pendingDeletes.id, deleteId)).get())?.status).toBe(
      "rejected",
    );
    // A candidate the match does not have is the API's 400, shown as it is; nothing is linked.
    const wrong = await post(
      `/console/matches/${matchId}`,
      { candidate_id: "003Hs0000OTHERAAA", _csrf: csrf },
      { cookie },
    );
    expect(flash(wrong)["error"]).toContain("003Hs0000OTHERAAA");
    expect((await db.select().from(ambiguousMatches).where(eq(ambiguousMatches.id, matchId)).get())?.status).toBe(
      "open",
    );
    const bad = await post(`/console/deletes/${deleteId}`, { decision: "maybe", _csrf: csrf }, { cookie });
    expect(flash(bad)["error"]).toMatch(/^Invalid form: decision/);
  });

  it("lists a hold of the mass-update breaker and rejects it through /api/v1/holds", async () => {
    setupFakes();
    const id = crypto.randomUUID();
    await db.insert(updateHolds).values({
      id,
      mapping: "console-test-mapping",
      side: "salesforce",
      count: 30,
      threshold: 20,
      windowMinutes: 10,
    });
    const { cookie, csrf } = await signIn();
    const page = await (await get("/console/issues", cookie)).text();
    expect(page).toContain(`data-hold="${id}"`);
    expect(page).toContain("30 records updated within 10 min, over the threshold of 20");
    const response = await post(`/console/holds/${id}`, { decision: "reject", _csrf: csrf }, { cookie });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get("location") ?? "", BASE).searchParams.get("ok")).toMatch(/^Rejected/);
    expect((await db.select().from(updateHolds).where(eq(updateHolds.id, id)).get())?.status).toBe("rejected");
    expect(await (await get("/console/issues", cookie)).text()).not.toContain(`data-hold="${id}"`);
  });

  it("shows the API's own error when an action is refused", async () => {
    const { cookie, csrf } = await signIn();
    const response = await post(
      "/console/deletes/00000000-0000-4000-8000-00000000dead",
      { decision: "approve", _csrf: csrf },
      { cookie },
    );
    expect(response.status).toBe(303);
    const error = new URL(response.headers.get("location") ?? "", BASE).searchParams.get("error");
    expect(error).toContain("00000000-0000-4000-8000-00000000dead");
  });

  it("renders the overview, the charts and a record from the API's answers", async () => {
    const { attio } = setupFakes();
    attio.addPerson("console-pages", { email: "console-pages@northwind.example" });
    await runQueue([personChanged("console-pages")]);
    const { cookie } = await signIn();
    const overview = await (await get("/console", cookie)).text();
    expect(overview).toContain("API budgets");
    expect(overview).toMatch(/people\s*<div class="muted">people ↔ Contact/);
    const charts = await (await get("/console/charts", cookie)).text();
    expect(charts).toContain("<svg");
    expect(charts).toContain("Writes per minute, each way");
    // The cron's samples as 24-hour charts: the lag named for its mapping, the backlog, the budget.
    const at = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 600_000).toISOString();
    await db
      .insert(metricSamples)
      .values([
        { metric: "lag_seconds", subject: "salesforce:Contact", at, value: 420 },
        { metric: "queue_backlog", subject: "all", at, value: 5 },
        { metric: "salesforce_api_used", subject: "salesforce", at, value: 1200 },
        { metric: "salesforce_api_limit", subject: "salesforce", at, value: 15000 },
        { metric: "limiter_calls", subject: "attio:read", at, value: 40 },
      ])
      .onConflictDoNothing();
    const sampled = await (await get("/console/charts", cookie)).text();
    expect(sampled).toMatch(/data-testid="lag-chart"><figure>/);
    expect(sampled).toContain("people (Salesforce side)");
    expect(sampled).toMatch(/data-testid="backlog-chart"><figure>/);
    expect(sampled).toContain("Salesforce API calls used today against the daily allocation");
    expect(sampled).toContain("Calls through each limiter, per 5 minutes");
    const overviewCharts = await (await get("/console", cookie)).text();
    expect(overviewCharts).toContain("Sync lag, last 24 hours");
    expect(overviewCharts).toMatch(/data-testid="lag-chart"><figure>/);
    expect(overviewCharts).toMatch(/data-testid="backlog">\d+<\/strong>/);
    for (const q of ["console-pages", "console-pages@northwind"]) {
      const search = await (await get(`/console/records?q=${encodeURIComponent(q)}`, cookie)).text();
      expect(search, q).toContain('data-testid="results"');
      expect(search, q).toContain("/console/records/attio/people/console-pages");
    }
    const record = await get("/console/records/attio/people/console-pages", cookie);
    expect(record.status).toBe(200);
    const recordPage = await record.text();
    // Explain's verdict and the timeline, as /api/v1 answered them for this record.
    expect(recordPage).toMatch(/data-testid="explain-verdict">(In sync|Not in sync): <strong>[a-z_]+<\/strong>/);
    expect(recordPage).toContain('data-testid="explain-fields"');
    expect(recordPage).toContain('data-testid="timeline"');
    expect(recordPage).toContain("console-pages@northwind.example");
  });

  it("starts a dry-run job from the form and shows its plan as a table", async () => {
    const { attio } = setupFakes();
    // Not synced yet: the dry run plans its create.
    attio.addPerson("console-plan", { email: "console-plan@northwind.example", title: "Buyer" });
    const { cookie, csrf } = await signIn();
    const response = await post(
      "/console/jobs",
      { objects: "people", mode: "full", direction: "both", dry_run: "true", _csrf: csrf },
      { cookie },
    );
    expect(response.status).toBe(303);
    const location = response.headers.get("location") ?? "";
    const id = /^\/console\/jobs\/([0-9a-f-]{36})\?ok=/.exec(location)?.[1];
    expect(id).toBeDefined();
    const job = await db
      .select()
      .from(syncJobs)
      .where(eq(syncJobs.id, id ?? ""))
      .get();
    expect(job?.params).toMatchObject({ objects: ["people"], dry_run: true });
    const page = await eventually(async () => {
      const html = await (await get(`/console/jobs/${id}`, cookie)).text();
      return html.includes('data-testid="job-state">done<') ? html : undefined;
    });
    expect(page).toContain("Dry-run report");
    expect(page).toMatch(/people:attio: (\d+) of \1 synced/);
    const plan = page.slice(page.indexOf('data-testid="plan"'));
    const row = plan.slice(plan.indexOf("console-plan<"), plan.indexOf("</tr>", plan.indexOf("console-plan<")));
    expect(row).toContain("<td>create</td>");
    expect(row).toContain("<code>Email</code> = console-plan@northwind.example");
    expect(row).toContain("<code>Title</code> = Buyer");
    expect(row).toMatch(/\d+ field\(s\) left empty/);
    expect(await (await get("/console/jobs", cookie)).text()).toContain(`data-job="${id}"`);
  });

  it("validates a configuration without storing it, saves a valid one and shows the diff between versions", async () => {
    setupFakes();
    const { cookie, csrf } = await signIn();
    const before = (await db.select().from(configVersions)).length;
    const invalid = await post(
      "/console/config",
      { toml: '[sync]\r\ndirection = "sideways"\r\n', intent: "save", _csrf: csrf },
      { cookie },
    );
    expect(invalid.status).toBe(200);
    const report = await invalid.text();
    expect(report).toContain("Invalid: nothing stored");
    expect(report).toContain("sync.direction");
    expect((await db.select().from(configVersions)).length).toBe(before);
    // Validate checks without storing, and shows the document as typed.
    const validated = await post(
      "/console/config",
      { toml: '[sync]\nconflict_resolution = "manual"\n', intent: "validate", _csrf: csrf },
      { cookie },
    );
    const validPage = await validated.text();
    expect(validPage).toContain('<h2 id="report">Valid</h2>');
    expect(validPage).toContain("conflict_resolution = &quot;manual&quot;");
    expect((await db.select().from(configVersions)).length).toBe(before);

    const first = await post("/console/config", { toml: "[sync]\n", intent: "save", _csrf: csrf }, { cookie });
    const second = await post(
      "/console/config",
      { toml: '[sync]\nconflict_resolution = "last_write"\n', intent: "save", _csrf: csrf },
      { cookie },
    );
    const version = (r: Response) =>
      Number(/version (\d+)/.exec(new URL(r.headers.get("location") ?? "", BASE).searchParams.get("ok") ?? "")?.[1]);
    const a = version(first);
    const b = version(second);
    expect(b).toBe(a + 1);
    const diff = await (await get(`/console/config?from=${a}&to=${b}`, cookie)).text();
    expect(diff.slice(diff.indexOf("Show diff"))).toContain('data-testid="diff"');
    expect(diff).toContain(
      '<tr class="add"><td aria-label="added">+</td><td>conflict_resolution = &quot;last_write&quot;</td>',
    );
  });

  it("pauses and resumes through /api/v1 from the overview's buttons", async () => {
    setupFakes();
    const { cookie, csrf } = await signIn();
    const mode = async () => /data-testid="mode">(\w+)</.exec(await (await get("/console", cookie)).text())?.[1];
    expect(await mode()).toBe("running");
    const flash = (r: Response) => new URL(r.headers.get("location") ?? "", BASE).searchParams.get("ok");

    expect(flash(await post("/console/mode/pause", { _csrf: csrf }, { cookie }))).toMatch(/^Paused/);
    expect(await mode()).toBe("paused");
    // The API's refusal is shown as it is: a paused deployment is resumed, not started.
    const refused = await post("/console/mode/start", { _csrf: csrf }, { cookie });
    expect(new URL(refused.headers.get("location") ?? "", BASE).searchParams.get("error")).toMatch(/resume/i);
    expect(flash(await post("/console/mode/resume", { _csrf: csrf }, { cookie }))).toMatch(/^Resumed/);
    expect(await mode()).toBe("running");
    expect(flash(await post("/console/mode/start", { _csrf: csrf }, { cookie }))).toBe("Already running.");
  });
});
