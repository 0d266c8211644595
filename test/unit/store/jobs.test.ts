import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobReport, recordJobOutcomes } from "../../../src/jobs/jobs.ts";
import { SyncError } from "../../../src/lib/errors.ts";
import { openDb } from "../../../src/store/db.ts";
import type { JobProgress } from "../../../src/store/job-schemas.ts";
import { addJobRecords, finishJobIfComplete, insertJob, loadJob, updateJob } from "../../../src/store/jobs.ts";

const db = openDb(env.DB);

const STEPS = [
  { mapping: "people", side: "salesforce" as const, index: true },
  { mapping: "people", side: "attio" as const },
  { mapping: "people", side: "salesforce" as const },
];

/** A running job that listed `ids` (Attio people); `enumerated` once listing is complete. */
async function runningJob(ids: string[], enumerated: boolean): Promise<string> {
  const id = crypto.randomUUID();
  await insertJob(db, {
    id,
    kind: "full",
    params: { direction: "both", mode: "full", dry_run: false, steps: STEPS },
    checkpoint: { step: 0, offset: 0 },
    progress: {},
  });
  await addJobRecords(db, id, "people", "attio", ids);
  const progress: JobProgress = { "people:attio": { complete: true }, ...(enumerated ? { enumerated: true } : {}) };
  await updateJob(db, id, { state: "running", progress });
  return id;
}

const created = (recordId: string) => ({
  mapping: "people",
  side: "attio" as const,
  recordId,
  outcome: { status: "done" as const, action: "create" as const },
});

describe("a job's end", () => {
  it("comes with its last outcome once listing is complete, without anyone reading the job", async () => {
    const id = await runningJob(["p1", "p2"], true);

    await recordJobOutcomes(db, id, [created("p1")]);
    expect((await loadJob(db, id))?.state).toBe("running");

    await recordJobOutcomes(db, id, [created("p2")]);
    expect((await loadJob(db, id))?.state).toBe("done");
  });

  it("comes with the end of listing when every record came back before it", async () => {
    const id = await runningJob(["p1"], false);
    await recordJobOutcomes(db, id, [created("p1")]);
    expect((await loadJob(db, id))?.state).toBe("running");

    const job = await loadJob(db, id);
    await updateJob(db, id, { progress: { ...job?.progress, enumerated: true } });
    expect(await finishJobIfComplete(db, id)).toBe(true);
    expect((await loadJob(db, id))?.state).toBe("done");
  });

  it("waits for a retry (not final) and counts a failure as final, with its error", async () => {
    const id = await runningJob(["p1", "p2"], true);
    const error = new SyncError("upstream_rejected", "REQUIRED_FIELD_MISSING: LastName");
    await recordJobOutcomes(db, id, [
      created("p1"),
      { mapping: "people", side: "attio", recordId: "p2", outcome: { status: "retry", error } },
    ]);
    expect((await loadJob(db, id))?.state).toBe("running");

    await recordJobOutcomes(db, id, [
      { mapping: "people", side: "attio", recordId: "p2", outcome: { status: "failed", error } },
    ]);
    const job = await jobReport(db, id);
    expect(job).toMatchObject({ state: "done", counts: { created: 1, failed: 1, processed: 2 }, enqueued: 2 });
    expect(job?.errors).toEqual([{ record: "p2", code: "upstream_rejected", message: error.message }]);
  });

  it("leaves a cancelled job cancelled, and reading a job changes nothing", async () => {
    const cancelled = await runningJob(["p1"], true);
    await updateJob(db, cancelled, { state: "cancelled" });
    await recordJobOutcomes(db, cancelled, [created("p1")]);
    expect((await loadJob(db, cancelled))?.state).toBe("cancelled");

    // A complete job nothing finished (its outcomes were stored before the check existed).
    const unfinished = await runningJob([], true);
    expect((await jobReport(db, unfinished))?.state).toBe("running");
    expect((await loadJob(db, unfinished))?.state).toBe("running");
    expect(await finishJobIfComplete(db, unfinished)).toBe(true);
  });
});
