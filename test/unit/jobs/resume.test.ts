import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { resumeStalledJobs } from "../../../src/jobs/jobs.ts";
import { openDb } from "../../../src/store/db.ts";
import type { JobProgress } from "../../../src/store/job-schemas.ts";
import { insertJob, loadJob } from "../../../src/store/jobs.ts";
import { jobRecords, syncJobs } from "../../../src/store/schema.ts";
import type { SyncMessage } from "../../../src/sync/messages.ts";

const db = openDb(env.DB);
const STALE = "2026-11-23T11:00:00.000Z";
const NOW = Date.parse("2026-11-23T12:00:00Z");

/** A running job last touched at STALE. */
async function stalledJob(progress: JobProgress, dryRun = false, checkpoint: unknown = { step: 0, offset: 0 }) {
  const id = crypto.randomUUID();
  await insertJob(db, {
    id,
    kind: "full",
    params: {
      direction: "both",
      mode: "full",
      dry_run: dryRun,
      steps: [
        { mapping: "companies", side: "attio" },
        { mapping: "people", side: "salesforce" },
      ],
    },
    checkpoint: { step: 0, offset: 0 },
    progress,
  });
  await db
    .update(syncJobs)
    .set({ state: "running", updatedAt: STALE, checkpoint: checkpoint as never })
    .where(eq(syncJobs.id, id));
  return id;
}

function collector() {
  const sent: SyncMessage[] = [];
  return { sent, send: async (messages: SyncMessage[]) => void sent.push(...messages) };
}
const mine = (sent: SyncMessage[], jobId: string) => sent.filter((m) => "jobId" in m && m.jobId === jobId);

describe("resumeStalledJobs", () => {
  it("finishes a stalled job whose every record came back instead of driving it again", async () => {
    const id = await stalledJob({ enumerated: true });
    await db.insert(jobRecords).values([
      { jobId: id, mapping: "companies", side: "attio", recordId: "c-1", outcome: "created" },
      { jobId: id, mapping: "people", side: "salesforce", recordId: "003A", outcome: "unchanged" },
    ]);
    const { sent, send } = collector();
    const resumed = await resumeStalledJobs(db, send, 600, NOW);
    expect(resumed).not.toContain(id);
    expect(mine(sent, id)).toEqual([]);
    expect((await loadJob(db, id))?.state).toBe("done");
  });

  it("queues a dry run's missing records again per mapping and side, still as a dry run, and counts the restart", async () => {
    const id = await stalledJob({ enumerated: true, restarts: 1 }, true);
    await db.insert(jobRecords).values([
      { jobId: id, mapping: "companies", side: "attio", recordId: "c-1" },
      { jobId: id, mapping: "companies", side: "attio", recordId: "c-2", outcome: "created" },
      { jobId: id, mapping: "companies", side: "attio", recordId: "c-3" },
      { jobId: id, mapping: "people", side: "salesforce", recordId: "003A" },
    ]);
    const { sent, send } = collector();
    expect(await resumeStalledJobs(db, send, 600, NOW)).toContain(id);
    const again = mine(sent, id).map((m) =>
      m.kind === "records.sync"
        ? { mapping: m.mapping, side: m.side, ids: [...m.recordIds].sort(), dryRun: m.dryRun }
        : m,
    );
    expect(again).toEqual([
      { mapping: "companies", side: "attio", ids: ["c-1", "c-3"], dryRun: true },
      { mapping: "people", side: "salesforce", ids: ["003A"], dryRun: true },
    ]);
    expect((await loadJob(db, id))?.progress.restarts).toBe(2);
  });

  it("drives a job still listing from the start when its checkpoint is unreadable, and notes the progress", async () => {
    const id = await stalledJob({}, false, { step: "x" });
    const { sent, send } = collector();
    expect(await resumeStalledJobs(db, send, 600, NOW)).toContain(id);
    expect(mine(sent, id)).toEqual([expect.objectContaining({ kind: "job.page", jobId: id, step: 0, offset: 0 })]);
    const job = await loadJob(db, id);
    expect(job?.state).toBe("running");
    expect(job?.updatedAt).not.toBe(STALE);
  });
});
