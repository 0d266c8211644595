import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { type BulkIo, DEFAULT_BULK_SETTINGS, runBulkIngest } from "../../../src/salesforce/bulk.ts";

const JOB = "750000000000000001";
const noSleep = async () => {};

/**
 * A Bulk API 2.0 scripted per request: `reply` answers each JSON request (after the job's creation,
 * which answers `created`), `csvs` each result CSV by its last path segment. Every request is logged.
 */
function scripted(options: {
  created?: unknown;
  polls: Array<unknown | Error>;
  abort?: unknown | Error;
  csvs?: Record<string, Array<string | Error>>;
}) {
  const log: string[] = [];
  const sleeps: number[] = [];
  const polls = [...options.polls];
  const io: BulkIo = {
    async json(method, path, body) {
      log.push(`${method} ${path}${body && method === "PATCH" ? ` ${JSON.stringify(body)}` : ""}`);
      if (method === "POST") return options.created ?? { id: JOB, state: "Open" };
      if (method === "PATCH") {
        const state = (body as { state: string }).state;
        if (state === "UploadComplete") return { id: JOB, state };
        const abort = options.abort ?? { id: JOB, state: "Aborted" };
        if (abort instanceof Error) throw abort;
        return abort;
      }
      const next = polls.shift();
      if (next === undefined) throw new Error("no more polls scripted");
      if (next instanceof Error) throw next;
      return next;
    },
    async upload(path) {
      log.push(`PUT ${path}`);
    },
    async csv(path) {
      log.push(`GET ${path}`);
      const kind = path.split("/").at(-1) ?? "";
      const next = options.csvs?.[kind]?.shift();
      if (next === undefined) throw new Error(`no ${kind} scripted`);
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { io, log, sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}
const done = (processed: number, failed: number) => ({
  id: JOB,
  state: "JobComplete",
  numberRecordsProcessed: processed,
  numberRecordsFailed: failed,
});

describe("runBulkIngest edges", () => {
  it("a job creation answer that is not a job is a retryable error naming what was wrong", async () => {
    const { io } = scripted({ created: { id: "not-an-id", state: "" }, polls: [] });
    const error = await runBulkIngest(io, { object: "Account", operation: "insert" }, [{ Name: "A" }]).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce Bulk API answered a job creation with an unexpected body",
      detail: { issues: ["id: is not a job id", "state: Too small: expected string to have >=1 characters"] },
    });
  });

  it("uploads to the job's batches when the contentUrl is not the usual one, and finds update rows by Id", async () => {
    const { io, log } = scripted({
      created: { id: JOB, state: "Open", contentUrl: "https://elsewhere.test/upload" },
      polls: [done(2, 1)],
      csvs: {
        successfulResults: ["sf__Id,sf__Created,Id,Name\n001A,false,001A,Renamed by a trigger\n"],
        failedResults: ["sf__Id,sf__Error,Id,Name\n001B,ENTITY_IS_DELETED:entity is deleted: --,001B,B\n"],
      },
    });
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "update" },
      [
        { Id: "001A", Name: "A" },
        { Id: "001B", Name: "B" },
      ],
      DEFAULT_BULK_SETTINGS,
      noSleep,
    );
    expect(log[1]).toBe(`PUT /jobs/ingest/${JOB}/batches`);
    expect(outcomes[0]).toEqual({ ok: true, id: "001A", created: false });
    expect(outcomes[1]).toMatchObject({
      ok: false,
      reason: "failed",
      errors: [{ statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] }],
      job: { id: JOB, state: "JobComplete", errorMessage: null, timedOut: false },
    });
  });

  it("a record with no result while some result rows matched nothing is 'unmatched', not 'unprocessed'", async () => {
    const { io } = scripted({
      polls: [done(1, 0)],
      csvs: {
        successfulResults: ["sf__Id,sf__Created,Name\n001X,true,Somebody else\n"],
        unprocessedrecords: ["Name\n"],
      },
    });
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      DEFAULT_BULK_SETTINGS,
      noSleep,
    );
    expect(outcomes).toEqual([{ ok: false, reason: "unmatched", job: expect.objectContaining({ id: JOB }) }]);
  });

  it("when the abort of a late job is refused because it ended meanwhile, its results are read", async () => {
    const { io, log } = scripted({
      polls: [{ id: JOB, state: "InProgress" }, done(1, 0)],
      abort: new SyncError("upstream_rejected", "Salesforce INVALIDJOBSTATE: job is complete"),
      csvs: { successfulResults: ["sf__Id,sf__Created,Name\n001A,true,A\n"] },
    });
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      { ...DEFAULT_BULK_SETTINGS, maxWaitMs: 0 },
      noSleep,
    );
    expect(log.filter((l) => l.includes('"Aborted"'))).toHaveLength(1);
    expect(outcomes).toEqual([{ ok: true, id: "001A", created: true }]);
  });

  it("a late job that can be neither aborted nor seen ended is a retryable error naming the job", async () => {
    const { io } = scripted({
      polls: [
        { id: JOB, state: "InProgress" },
        { id: JOB, state: "InProgress" },
      ],
      abort: new SyncError("upstream_rejected", "refused"),
    });
    const error = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      { ...DEFAULT_BULK_SETTINGS, maxWaitMs: 1_000, pollInitialMs: 1_000 },
      noSleep,
    ).catch((err: unknown) => err);
    expect(error).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: `Salesforce Bulk API job ${JOB} did not finish within 1 s and could not be aborted (state InProgress)`,
      detail: { bulk_job_id: JOB, job_state: "InProgress" },
    });
  });

  it("a result read is retried at most 5 times, waiting longer each time", async () => {
    const outage = () => new SyncError("upstream_unavailable", "Salesforce ERROR_HTTP_503");
    const { io, sleeps, sleep } = scripted({
      polls: [done(1, 0)],
      csvs: { successfulResults: [outage(), outage(), outage(), outage(), outage()] },
    });
    const error = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      DEFAULT_BULK_SETTINGS,
      sleep,
    ).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: "upstream_unavailable", message: "Salesforce ERROR_HTTP_503" });
    // The first sleep is the poll's; then 4 pauses between the 5 reads.
    expect(sleeps).toEqual([DEFAULT_BULK_SETTINGS.pollInitialMs, 500, 1000, 2000, 4000]);
  });

  it("a result read is not retried after a rejection, nor waited out when the limit says hours", async () => {
    const rejected = scripted({
      polls: [done(1, 0)],
      csvs: { successfulResults: [new SyncError("upstream_rejected", "Salesforce INVALIDJOB")] },
    });
    await expect(
      runBulkIngest(
        rejected.io,
        { object: "Account", operation: "insert" },
        [{ Name: "A" }],
        DEFAULT_BULK_SETTINGS,
        rejected.sleep,
      ),
    ).rejects.toThrow("INVALIDJOB");
    expect(rejected.sleeps).toEqual([DEFAULT_BULK_SETTINGS.pollInitialMs]);
    const daily = scripted({
      polls: [done(1, 0)],
      csvs: {
        successfulResults: [new SyncError("rate_limited", "TotalRequests Limit exceeded", { retryAfterSeconds: 900 })],
      },
    });
    await expect(
      runBulkIngest(
        daily.io,
        { object: "Account", operation: "insert" },
        [{ Name: "A" }],
        DEFAULT_BULK_SETTINGS,
        daily.sleep,
      ),
    ).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 900 });
    expect(daily.sleeps).toEqual([DEFAULT_BULK_SETTINGS.pollInitialMs]);
  });
});
