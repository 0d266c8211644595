import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { utf8Length } from "../../../src/lib/utf8.ts";
import { type BulkIo, DEFAULT_BULK_SETTINGS, runBulkIngest } from "../../../src/salesforce/bulk.ts";
import { parseCsv } from "../../../src/salesforce/bulk-csv.ts";

const noSleep = async () => {};

interface FakeJob {
  id: string;
  body: Record<string, unknown>;
  csv: string;
  polls: number;
  state: string;
}

/**
 * A scripted Bulk API 2.0 behind BulkIo: jobs end on their second poll (`end` decides how), the
 * results list successful rows last-first. Every request is logged as "METHOD path".
 */
function fakeIo(
  options: {
    end?: (job: FakeJob) => { state: string; errorMessage?: string; processed?: "all" | "none" };
    failUpload?: boolean;
    failPollsOnce?: boolean;
    /** Job creations after this many answer an error. */
    createLimit?: number;
  } = {},
) {
  const log: string[] = [];
  const jobs: FakeJob[] = [];
  let pollFailed = false;
  const find = (path: string) => jobs.find((job) => path.includes(job.id)) as FakeJob;
  const result = (job: FakeJob) => {
    const [header = [], ...rows] = parseCsv(job.csv);
    const end = options.end?.(job) ?? { state: "JobComplete" };
    return { header, rows, end };
  };
  const io: BulkIo = {
    async json(method, path, body) {
      log.push(`${method} ${path}`);
      if (method === "POST") {
        if (options.createLimit !== undefined && jobs.length >= options.createLimit) {
          throw new SyncError("upstream_rejected", "Salesforce ExceededQuota: too many jobs");
        }
        const id = `750${String(jobs.length + 1).padStart(15, "0")}`;
        jobs.push({ id, body: body as Record<string, unknown>, csv: "", polls: 0, state: "Open" });
        return { id, state: "Open", contentUrl: `services/data/v62.0/jobs/ingest/${id}/batches` };
      }
      const job = find(path);
      if (method === "PATCH") {
        job.state = (body as { state: string }).state;
        return { id: job.id, state: job.state };
      }
      if (options.failPollsOnce && !pollFailed) {
        pollFailed = true;
        throw new SyncError("upstream_unavailable", "Salesforce ERROR_HTTP_503");
      }
      job.polls++;
      if (job.state === "Aborted") return { id: job.id, state: "Aborted" };
      if (job.polls < 2) return { id: job.id, state: "InProgress" };
      const { rows, end } = result(job);
      job.state = end.state;
      return {
        id: job.id,
        state: end.state,
        numberRecordsProcessed: end.processed === "none" ? 0 : rows.length,
        numberRecordsFailed: 0,
        ...(end.errorMessage ? { errorMessage: end.errorMessage } : {}),
      };
    },
    async upload(path, csv) {
      log.push(`PUT ${path}`);
      if (options.failUpload) throw new SyncError("upstream_rejected", "Salesforce INVALIDJOB: bad upload");
      find(path).csv = csv;
    },
    async csv(path) {
      log.push(`GET ${path}`);
      const job = find(path);
      const { header, rows, end } = result(job);
      const line = (cells: string[]) => `${cells.map((c) => `"${c.replace(/"/g, '""')}"`).join(",")}\n`;
      if (path.endsWith("/successfulResults")) {
        if (end.processed === "none") return line(["sf__Id", "sf__Created", ...header]);
        const ok = rows.map((row, i) => line([`001${job.id.slice(-3)}${i}`, "true", ...row])).reverse();
        return line(["sf__Id", "sf__Created", ...header]) + ok.join("");
      }
      if (path.endsWith("/failedResults")) return line(["sf__Id", "sf__Error", ...header]);
      return end.processed === "none" ? line(header) + rows.map(line).join("") : line(header);
    },
  };
  return { io, log, jobs };
}

describe("runBulkIngest", () => {
  it("runs one job: create, upload to contentUrl, close, two polls, successful results; ids in order", async () => {
    const { io, log, jobs } = fakeIo();
    const records = [{ Name: "A" }, { Name: "B", Website: null }, { Name: "C" }];
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      records,
      DEFAULT_BULK_SETTINGS,
      noSleep,
    );
    const id = jobs[0]?.id;
    expect(log).toEqual([
      "POST /jobs/ingest",
      `PUT /services/data/v62.0/jobs/ingest/${id}/batches`,
      `PATCH /jobs/ingest/${id}`,
      `GET /jobs/ingest/${id}`,
      `GET /jobs/ingest/${id}`,
      `GET /jobs/ingest/${id}/successfulResults`,
    ]);
    expect(jobs[0]?.body).toEqual({
      object: "Account",
      operation: "insert",
      contentType: "CSV",
      columnDelimiter: "COMMA",
      lineEnding: "LF",
    });
    expect(jobs[0]?.csv).toBe("Name,Website\nA,\nB,#N/A\nC,\n");
    expect(outcomes).toEqual([0, 1, 2].map((i) => ({ ok: true, id: `001${id?.slice(-3)}${i}`, created: true })));
  });

  it("sends the external id field for upsert and splits an upload over maxUploadBytes into jobs", async () => {
    const { io, jobs } = fakeIo();
    const records = Array.from({ length: 5 }, (_, i) => ({ Attio_Id__c: `rec-${i}`, LastName: `Name ${i}` }));
    const line = utf8Length("rec-0,Name 0\n");
    const settings = { ...DEFAULT_BULK_SETTINGS, maxUploadBytes: utf8Length("Attio_Id__c,LastName\n") + 2 * line };
    const outcomes = await runBulkIngest(
      io,
      { object: "Contact", operation: "upsert", externalIdFieldName: "Attio_Id__c" },
      records,
      settings,
      noSleep,
    );
    expect(jobs.map((job) => parseCsv(job.csv).length - 1)).toEqual([2, 2, 1]);
    expect(jobs[0]?.body).toMatchObject({ operation: "upsert", externalIdFieldName: "Attio_Id__c" });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true]);
    expect(outcomes.map((o) => (o.ok ? o.id : ""))).toEqual(
      jobs.flatMap((job) =>
        parseCsv(job.csv)
          .slice(1)
          .map((_, i) => `001${job.id.slice(-3)}${i}`),
      ),
    );
  });

  it("keeps the outcomes of jobs that ran when a later job cannot start", async () => {
    const { io } = fakeIo({ createLimit: 1 });
    const records = Array.from({ length: 3 }, (_, i) => ({ Name: `N${i}` }));
    const settings = { ...DEFAULT_BULK_SETTINGS, maxUploadBytes: utf8Length("Name\nN0\n") };
    const outcomes = await runBulkIngest(io, { object: "Account", operation: "insert" }, records, settings, noSleep);
    expect(outcomes.map((o) => (o.ok ? "ok" : o.reason))).toEqual(["ok", "error", "error"]);
    expect(outcomes[1]).toMatchObject({ error: { message: "Salesforce ExceededQuota: too many jobs" } });
    // The first job failing to start is thrown: nothing was written.
    const { io: refusing } = fakeIo({ createLimit: 0 });
    await expect(
      runBulkIngest(refusing, { object: "Account", operation: "insert" }, records, settings, noSleep),
    ).rejects.toThrow("too many jobs");
  });

  it("gives the records of a failed job 'unprocessed' outcomes with the job's error", async () => {
    const { io, log } = fakeIo({
      end: () => ({
        state: "Failed",
        errorMessage: "InvalidBatch : Field name not found : Nope__c",
        processed: "none",
      }),
    });
    const outcomes = await runBulkIngest(
      io,
      { object: "Contact", operation: "insert" },
      [{ Nope__c: "x" }, { Nope__c: "y" }],
      DEFAULT_BULK_SETTINGS,
      noSleep,
    );
    // Nothing processed: neither successful nor failed results are read.
    expect(log.filter((l) => l.includes("Results") || l.includes("unprocessed"))).toEqual([
      expect.stringMatching(/\/unprocessedrecords$/),
    ]);
    expect(outcomes).toEqual(
      [0, 1].map(() => ({
        ok: false,
        reason: "unprocessed",
        job: expect.objectContaining({
          state: "Failed",
          errorMessage: "InvalidBatch : Field name not found : Nope__c",
          timedOut: false,
        }),
      })),
    );
  });

  it("aborts a job that runs past maxWaitMs and still reads what it processed", async () => {
    const { io, log } = fakeIo();
    const settings = { ...DEFAULT_BULK_SETTINGS, maxWaitMs: 0 };
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      settings,
      noSleep,
    );
    expect(log.slice(3)).toEqual([
      expect.stringMatching(/^GET \/jobs\/ingest\/750\w+$/),
      expect.stringMatching(/^PATCH /),
      expect.stringMatching(/\/successfulResults$/),
    ]);
    expect(outcomes[0]).toMatchObject({ ok: true });
  });

  it("aborts the job and throws when the upload fails (nothing was written)", async () => {
    const { io, jobs, log } = fakeIo({ failUpload: true });
    await expect(
      runBulkIngest(io, { object: "Account", operation: "insert" }, [{ Name: "A" }], DEFAULT_BULK_SETTINGS, noSleep),
    ).rejects.toThrow("bad upload");
    expect(jobs[0]?.state).toBe("Aborted");
    expect(log.at(-1)).toMatch(/^PATCH /);
  });

  it("polls again after a retryable failure instead of abandoning a job that holds our data", async () => {
    const { io } = fakeIo({ failPollsOnce: true });
    const outcomes = await runBulkIngest(
      io,
      { object: "Account", operation: "insert" },
      [{ Name: "A" }],
      DEFAULT_BULK_SETTINGS,
      noSleep,
    );
    expect(outcomes[0]).toMatchObject({ ok: true });
  });
});
