import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { addJobErrors, failJob, insertJob, updateJob } from "../../src/store/jobs.ts";
import { kvKeys } from "../../src/sync/catchup-state.ts";
import { ATTIO, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/** /api/v1/status when parts of the deployment do not answer, and the problems it names. */
interface Status {
  healthy: boolean;
  problems: { code: string; message: string; affects: string }[];
  bindings: Record<string, { ok: boolean; error?: string }>;
  dependencies: Record<string, { ok: boolean; error?: string }>;
  [key: string]: unknown;
}
const db = openDb(env.DB);

async function status(overrides: Partial<Env> = {}): Promise<Status> {
  const request = new Request("https://worker.test/api/v1/status", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const response =
    Object.keys(overrides).length === 0
      ? await exports.default.fetch(request)
      : await worker.fetch(request, { ...env, ...overrides }, createExecutionContext());
  expect(response.status).toBe(200);
  return (await response.json()) as Status;
}

beforeEach(() => clearTokenCache());

describe("/api/v1/status when D1 and KV do not answer", () => {
  it("names both bindings, reports no counts instead of zeros, and skips what needs them", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const broken = (name: string) =>
      new Proxy(
        {},
        {
          get: () => () => {
            throw new Error(`${name} is unavailable`);
          },
        },
      );
    const body = await status({
      DB: broken("D1") as unknown as D1Database,
      CURSORS: broken("KV") as unknown as KVNamespace,
    });
    expect(body.healthy).toBe(false);
    expect(body.bindings["d1"]).toEqual({ ok: false, error: expect.any(String) });
    expect(body.bindings["kv"]).toEqual({ ok: false, error: expect.stringContaining("KV is unavailable") });
    expect(body.problems.filter((p) => p.code === "binding_unavailable").map((p) => p.affects)).toEqual(["d1", "kv"]);
    expect(body).toMatchObject({
      open_failures: null,
      open_conflicts: null,
      pending_deletes: null,
      ambiguous_matches: null,
      open_warnings: null,
      mappings: null,
      mapping_issues: null,
      last_cron_run: null,
      catch_up: null,
      salesforce_api: null,
    });
  });
});

describe("/api/v1/status problems", () => {
  it("an Attio key that is no longer active is a dependency problem", async () => {
    server.use(
      http.get(`${ATTIO}/v2/self`, () => HttpResponse.json({ active: false })),
      ...fakeAttio().handlers,
      ...fakeSalesforce().handlers,
    );
    const body = await status();
    expect(body.dependencies["attio"]).toEqual({ ok: false, error: "the Attio API key is not active" });
    expect(body.problems).toContainEqual(expect.objectContaining({ code: "dependency_unreachable", affects: "attio" }));
  });

  it("a failed job is named with the error it failed on, even after records of it failed", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const job = async () => {
      const id = crypto.randomUUID();
      await insertJob(db, {
        id,
        kind: "full",
        params: { direction: "both", mode: "full", dry_run: false, steps: [{ mapping: "people", side: "attio" }] },
        checkpoint: { step: 0, offset: 0 },
        progress: {},
      });
      await updateJob(db, id, { state: "running" });
      return id;
    };
    const withRecords = await job();
    await addJobErrors(db, withRecords, [{ record: "p-1", code: "upstream_rejected", message: "a record's error" }]);
    await failJob(db, withRecords, { code: "upstream_rejected", message: "Attio refused page 2 for good" });
    const silent = await job();
    await updateJob(db, silent, { state: "failed" });

    const body = await status();
    const failed = body.problems.filter((p) => p.code === "job_failed");
    expect(failed.find((p) => p.affects === `job ${withRecords}`)?.message).toBe(
      `sync job ${withRecords} (full) failed: Attio refused page 2 for good`,
    );
    expect(failed.find((p) => p.affects === `job ${silent}`)?.message).toBe(`sync job ${silent} (full) failed`);
  });

  it("a catch-up failing runs in a row is a problem; an unreadable entry of the last run is left out", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const at = new Date().toISOString();
    await env.CURSORS.put(
      kvKeys.lastRun,
      JSON.stringify({
        at,
        objects: {
          Contact: {
            side: "salesforce",
            enqueued: 0,
            deletes: 0,
            reconciledThrough: null,
            error: { code: "upstream_unavailable", message: "Salesforce ERROR_HTTP_503" },
            consecutiveFailures: 3,
            failingSince: at,
            at,
          },
          Account: { side: "sideways" },
        },
      }),
    );
    const body = await status();
    const failing = body.problems.filter((p) => p.code === "catchup_failing");
    expect(failing.map((p) => p.affects)).toEqual(["catch-up salesforce:Contact"]);
    expect(failing[0]?.message).toContain("failed 3 runs in a row: upstream_unavailable: Salesforce ERROR_HTTP_503");
  });
});
