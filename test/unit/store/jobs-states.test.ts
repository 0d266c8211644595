import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../src/store/db.ts";
import { addJobErrors, cancelJob, failJob, insertJob, loadJob, updateJob } from "../../../src/store/jobs.ts";

const db = openDb(env.DB);

async function job(): Promise<string> {
  const id = crypto.randomUUID();
  await insertJob(db, {
    id,
    kind: "full",
    params: { direction: "both", mode: "full", dry_run: false, steps: [{ mapping: "companies", side: "attio" }] },
    checkpoint: { step: 0, offset: 40 },
    progress: {},
  });
  return id;
}

describe("job states", () => {
  it("a queued or running job can be cancelled once; an unknown job cannot", async () => {
    const queued = await job();
    expect(await cancelJob(db, queued)).toBe(true);
    expect((await loadJob(db, queued))?.state).toBe("cancelled");
    expect(await cancelJob(db, queued)).toBe(false);
    const running = await job();
    await updateJob(db, running, { state: "running" });
    expect(await cancelJob(db, running)).toBe(true);
    expect(await cancelJob(db, "no-such-job")).toBe(false);
    expect(await loadJob(db, "no-such-job")).toBeUndefined();
  });

  it("a failed job has its error first in its sample, before the records' errors; a finished job is left as it is", async () => {
    const running = await job();
    await updateJob(db, running, { state: "running" });
    await addJobErrors(db, running, [{ record: "rec-1", code: "upstream_rejected", message: "older" }]);
    expect(await failJob(db, running, { code: "upstream_rejected", message: "INVALID_FIELD: Nope__c" })).toBe(true);
    const failed = await loadJob(db, running);
    expect(failed?.state).toBe("failed");
    expect(failed?.errorSample).toEqual([
      { page: true, code: "upstream_rejected", message: "INVALID_FIELD: Nope__c" },
      { record: "rec-1", code: "upstream_rejected", message: "older" },
    ]);
    const clean = await job();
    expect(await failJob(db, clean, { code: "internal", message: "page 3 out of retries" })).toBe(true);
    expect((await loadJob(db, clean))?.errorSample).toEqual([
      { page: true, code: "internal", message: "page 3 out of retries" },
    ]);
    const done = await job();
    await updateJob(db, done, { state: "done" });
    expect(await failJob(db, done, { code: "internal", message: "late" })).toBe(false);
    expect((await loadJob(db, done))?.state).toBe("done");
  });

  it("an unreadable checkpoint reads as none, so listing restarts instead of the job breaking", async () => {
    const id = await job();
    expect((await loadJob(db, id))?.checkpoint).toEqual({ step: 0, offset: 40 });
    await db.run(sql`update sync_jobs set checkpoint = ${JSON.stringify({ step: "two" })} where id = ${id}`);
    expect((await loadJob(db, id))?.checkpoint).toBeNull();
  });
});
