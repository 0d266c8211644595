import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../src/config/config-toml.ts";
import { parseEnvConfig } from "../../src/config/env.ts";
import { createJob, runJobPage } from "../../src/jobs/jobs.ts";
import { SyncError } from "../../src/lib/errors.ts";
import { createLogger } from "../../src/lib/log.ts";
import { PLAIN_ORG } from "../../src/mapping/schema-salesforce.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { cancelJob, loadJob, pendingJobRecords, updateJob } from "../../src/store/jobs.ts";
import { USAGE_KEY } from "../../src/sync/budget.ts";
import { buildDeps } from "../../src/sync/deps.ts";
import type { JobPageMessage, SyncMessage } from "../../src/sync/messages.ts";
import { buildRuntime } from "../../src/sync/runtime.ts";

/**
 * One job page at a time, as the consumer runs it (runJobPage), for the pages that need neither CRM:
 * records mode, stopped jobs, a disabled mapping, an exhausted Salesforce budget.
 */
const db = openDb(env.DB);
const runtime = buildRuntime(0, parseSyncConfig(""), PLAIN_ORG, "bidirectional", "last_write");
const deps = () => buildDeps(env, parseEnvConfig(env), createLogger("silent"));

function collector() {
  const sent: { message: SyncMessage; delay: number | undefined }[] = [];
  return {
    sent,
    send: async (messages: SyncMessage[], delay?: number) => {
      for (const message of messages) sent.push({ message, delay });
    },
  };
}
const page = (jobId: string, step: number): JobPageMessage => ({
  kind: "job.page",
  jobId,
  step,
  offset: 0,
  dedupeKey: `job:${jobId}:${step}:0:`,
  correlationId: `job:${jobId}`,
  receivedAt: new Date().toISOString(),
});

beforeEach(async () => {
  clearTokenCache();
  await env.CURSORS.delete(USAGE_KEY);
});

describe("runJobPage", () => {
  it("a records job queues the given ids side by side, then ends listing", async () => {
    const { id, message } = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "records",
      record_ids: { attio: ["p-1", "p-2"], salesforce: ["003A"] },
      dry_run: true,
    });
    const { sent, send } = collector();
    expect(await runJobPage(deps(), env.CURSORS, runtime, message, send)).toBe("queued 2 people:attio record(s)");
    expect(await runJobPage(deps(), env.CURSORS, runtime, page(id, 1), send)).toBe(
      "queued 1 people:salesforce record(s)",
    );
    expect(await runJobPage(deps(), env.CURSORS, runtime, page(id, 2), send)).toBe("enumeration complete");
    const records = sent.flatMap(({ message: m }) =>
      m.kind === "records.sync" ? [[m.side, [...m.recordIds], m.dryRun]] : [],
    );
    expect(records).toEqual([
      ["attio", ["p-1", "p-2"], true],
      ["salesforce", ["003A"], true],
    ]);
    expect(
      sent.filter(({ message: m }) => m.kind === "job.page").map(({ message: m }) => m.kind === "job.page" && m.step),
    ).toEqual([1, 2]);
    expect((await pendingJobRecords(db, id, 10)).map((r) => r.recordId).sort()).toEqual(["003A", "p-1", "p-2"]);
    expect((await loadJob(db, id))?.progress).toMatchObject({ enumerated: true });
    // A redelivered page behind the checkpoint is not listed again.
    expect(await runJobPage(deps(), env.CURSORS, runtime, message, send)).toBe("page already listed");
  });

  it("a page of a job that is gone, cancelled or failed lists nothing", async () => {
    const { send, sent } = collector();
    expect(await runJobPage(deps(), env.CURSORS, runtime, page("no-such-job", 0), send)).toBe("job no longer exists");
    const cancelled = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "full",
      dry_run: false,
    });
    await cancelJob(db, cancelled.id);
    expect(await runJobPage(deps(), env.CURSORS, runtime, cancelled.message, send)).toBe("job is cancelled");
    const failed = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "full",
      dry_run: false,
    });
    await updateJob(db, failed.id, { state: "failed" });
    expect(await runJobPage(deps(), env.CURSORS, runtime, failed.message, send)).toBe("job is failed");
    expect(sent).toEqual([]);
  });

  it("a page whose mapping was disabled since the job started is refused as a bad request", async () => {
    const { message } = await createJob(db, runtime, {
      objects: ["deals"],
      direction: "attio_to_sf",
      mode: "records",
      record_ids: { attio: ["d-1"] },
      dry_run: false,
    });
    const withoutDeals = buildRuntime(
      0,
      parseSyncConfig("[mappings.deals]\nenabled = false\n"),
      PLAIN_ORG,
      "bidirectional",
      "last_write",
    );
    const error = await runJobPage(deps(), env.CURSORS, withoutDeals, message, collector().send).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({
      code: "bad_request",
      retryable: false,
      message: "mapping deals is no longer enabled",
    });
  });

  it("a Salesforce page waits 15 minutes when the daily API budget reached its reserve, and says so", async () => {
    await env.CURSORS.put(USAGE_KEY, JSON.stringify({ used: 99_990, limit: 100_000, at: new Date().toISOString() }));
    const { id } = await createJob(db, runtime, {
      objects: ["people"],
      direction: "sf_to_attio",
      mode: "records",
      record_ids: { salesforce: ["003A"] },
      dry_run: false,
    });
    const { sent, send } = collector();
    const result = await runJobPage(deps(), env.CURSORS, runtime, page(id, 0), send);
    expect(result).toMatch(/^paused: Salesforce daily API usage 99990\/100000 reached the \d+% reserve$/);
    expect(sent).toEqual([{ message: expect.objectContaining({ kind: "job.page", jobId: id, step: 0 }), delay: 900 }]);
    expect((await loadJob(db, id))?.progress.paused).toBe(result);
    expect(await pendingJobRecords(db, id, 10)).toEqual([]);
  });
});
