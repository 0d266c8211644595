import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { failures, syncJobs } from "../../src/store/schema.ts";
import { kvKeys } from "../../src/sync/catchup-state.ts";
import { DEAD_LETTERS_KEY } from "../../src/sync/health-marks.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { ATTIO, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

/**
 * Every problem /api/v1/status reports appears when its cause is real (a refused query, an API that
 * does not answer, a failure, a failed job, dead letters D1 cannot take, a stale cron) and clears
 * once the cause is gone, through the Worker's own handlers.
 */

afterEach(() => drainQueue());
beforeEach(async () => {
  clearTokenCache();
  for (const key of [kvKeys.lastRun, "cron:last-run", DEAD_LETTERS_KEY]) await env.CURSORS.delete(key);
});

const db = openDb(env.DB);

interface Status {
  healthy: boolean;
  problems: { code: string; affects: string; message: string; action: string }[];
  catch_up: Record<string, { error?: { code: string; message: string }; consecutiveFailures: number }> | null;
}

async function status(): Promise<Status> {
  const response = await exports.default.fetch("https://worker.test/api/v1/status", {
    headers: { authorization: "Bearer test-admin-token-0123456789abcdef" },
  });
  return (await response.json()) as Status;
}

async function cron(at = Date.now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

const codes = (s: Status) => s.problems.map((p) => `${p.code} ${p.affects}`);

describe("/api/v1/status problems appear and clear", () => {
  it("a catch-up Salesforce refuses: the other objects and sides still run; reported after two runs, cleared once it works", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    let refuse = true;
    let refused = 0;
    // Salesforce refuses the Account catch-up's query (as it would SOQL outside the reference).
    const refusing = http.get(`${SF_INSTANCE}/services/data/v62.0/query`, ({ request }) => {
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      if (!refuse || !soql.includes("FROM Account WHERE SystemModstamp")) return undefined;
      refused += 1;
      return HttpResponse.json([{ errorCode: "INVALID_QUERY_FILTER_OPERATOR", message: "invalid ID field: " }], {
        status: 400,
      });
    });
    server.use(refusing, ...attio.handlers, ...sf.handlers);
    attio.addPerson("status-p1", { email: "status-p1@northwind.example", title: "Buyer" });

    await cron();
    expect(refused).toBe(1);
    const once = await status();
    // One failed run is recorded but not yet a problem; every other object and side ran.
    expect(once.catch_up?.["Account"]).toMatchObject({ error: { code: "upstream_rejected" }, consecutiveFailures: 1 });
    expect(once.catch_up?.["Contact"]).toMatchObject({ consecutiveFailures: 0 });
    expect(once.catch_up?.["people"]).toMatchObject({ consecutiveFailures: 0, enqueued: 1 });
    expect(once.catch_up?.["companies"]).toMatchObject({ consecutiveFailures: 0 });
    expect(codes(once)).not.toContain("catchup_failing catch-up salesforce:Account");

    await cron();
    const twice = await status();
    expect(twice.healthy).toBe(false);
    expect(codes(twice)).toContain("catchup_failing catch-up salesforce:Account");
    expect(twice.problems.find((p) => p.code === "catchup_failing")?.message).toContain("invalid ID field");

    refuse = false;
    await cron();
    const fixed = await status();
    expect(codes(fixed)).not.toContain("catchup_failing catch-up salesforce:Account");
    expect(fixed.catch_up?.["Account"]).toMatchObject({ consecutiveFailures: 0 });
  });

  it("a Salesforce catch-up that fell behind, until a run reads to the end", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    // As after runs that each stopped after their pages: the cursor resumes after a record read
    // 20 minutes ago, and that is how far the catch-up reconciled.
    const behind = new Date(Date.now() - 20 * 60_000).toISOString();
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ complete: false, stamp: behind, id: "003Hs000BEHINDAAAA", reconciledThrough: behind }),
    );
    await env.CURSORS.put(
      kvKeys.lastRun,
      JSON.stringify({
        at: new Date(Date.now() - 5 * 60_000).toISOString(),
        objects: {
          Contact: {
            side: "salesforce",
            enqueued: 10_000,
            deletes: 0,
            reconciledThrough: behind,
            consecutiveFailures: 0,
            at: behind,
          },
        },
      }),
    );
    const late = await status();
    expect(late.healthy).toBe(false);
    expect(codes(late)).toContain("catchup_behind catch-up salesforce:Contact");
    expect(late.problems.find((p) => p.code === "catchup_behind")?.message).toContain(behind);

    await cron();
    const caughtUp = await status();
    expect(codes(caughtUp)).not.toContain("catchup_behind catch-up salesforce:Contact");
    expect(caughtUp.catch_up?.["Contact"]).toMatchObject({ consecutiveFailures: 0 });
    await env.CURSORS.delete(kvKeys.sfCursor("Contact"));
  });

  it("a dependency that refuses our credentials", async () => {
    const attio = fakeAttio({ apiKey: "another-key" });
    server.use(...attio.handlers, ...fakeSalesforce().handlers);
    const down = await status();
    expect(codes(down)).toContain("credentials_refused attio");
    expect(codes(down)).not.toContain("dependency_unreachable attio");
    server.use(...fakeAttio().handlers);
    expect(codes(await status())).not.toContain("credentials_refused attio");
  });

  it("a record that failed for good, until an operator dismisses it", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce({ rejectCreateWith: { statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "no" } });
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("status-fail", { email: "status-fail@northwind.example" });
    await runQueue([personChanged("status-fail")]);
    const failed = await status();
    expect(codes(failed)).toContain("failures_recent records");

    const rows = await db.select().from(failures).all();
    for (const row of rows.filter((r) => r.status === "open")) {
      const response = await exports.default.fetch(`https://worker.test/api/v1/failures/${row.id}/dismiss`, {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token-0123456789abcdef" },
      });
      expect(response.status).toBe(200);
    }
    expect(codes(await status())).not.toContain("failures_recent records");
  });

  it("a failed job, until a later job finishes", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const earlier = new Date(Date.now() - 60_000).toISOString();
    await db.insert(syncJobs).values({
      id: "job-failed-status",
      kind: "full",
      state: "failed",
      params: { direction: "both", mode: "full", dry_run: false, steps: [] },
      progress: {},
      errorSample: [{ page: true, code: "upstream_rejected", message: "INVALID_QUERY_FILTER_OPERATOR" }],
      createdAt: earlier,
      updatedAt: earlier,
    });
    const failed = await status();
    expect(codes(failed)).toContain("job_failed job job-failed-status");
    expect(failed.problems.find((p) => p.code === "job_failed")?.message).toContain("INVALID_QUERY_FILTER_OPERATOR");
    await db.insert(syncJobs).values({
      id: "job-done-status",
      kind: "full",
      state: "done",
      params: { direction: "both", mode: "full", dry_run: false, steps: [] },
      progress: {},
      errorSample: [],
    });
    expect(codes(await status())).not.toContain("job_failed job job-failed-status");
  });

  it("dead letters D1 cannot take, until a batch of them is recorded", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    await env.CURSORS.put(
      DEAD_LETTERS_KEY,
      JSON.stringify({ since: new Date().toISOString(), error: "D1_ERROR: database is locked", code: "internal" }),
    );
    expect(codes(await status())).toContain("dead_letters_stuck dead-letter queue");
    await runQueue([personChanged("status-dead")], { queue: "attio-sfdc-sync-dlq", attempts: 4 });
    expect(await env.CURSORS.get(DEAD_LETTERS_KEY)).toBeNull();
    expect(codes(await status())).not.toContain("dead_letters_stuck dead-letter queue");
  });

  it("a cron that stopped running, until it runs again", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    await env.CURSORS.put(
      "cron:last-run",
      JSON.stringify({ at: new Date(Date.now() - 20 * 60_000).toISOString(), catchup: null }),
    );
    expect(codes(await status())).toContain("cron_stale catch-up");
    await cron();
    expect(codes(await status())).not.toContain("cron_stale catch-up");
  });

  it("a mapping that cannot run: switched off and reported, back once its object exists", async () => {
    const attio = fakeAttio();
    let hideDeals = true;
    // The workspace has not enabled deals: Attio answers 404 for the object's attributes.
    const hidden = http.get(`${ATTIO}/v2/objects/deals/attributes`, () =>
      hideDeals
        ? HttpResponse.json(
            { status_code: 404, type: "invalid_request_error", code: "not_found", message: "not found" },
            { status: 404 },
          )
        : undefined,
    );
    server.use(hidden, ...attio.handlers, ...fakeSalesforce().handlers);
    await env.CURSORS.delete("schema:attio:deals");
    forgetRuntime();
    const off = await status();
    expect(codes(off)).toContain("mapping_disabled mapping deals");
    expect(off.problems.find((p) => p.code === "mapping_disabled")?.message).toContain('Attio has no object "deals"');

    hideDeals = false;
    await env.CURSORS.delete("schema:attio:deals");
    // As after Attio's object-attribute event: the schema cache and the runtime are dropped.
    forgetRuntime();
    expect(codes(await status())).not.toContain("mapping_disabled mapping deals");
  });
});
