import { z } from "zod";
import { SyncError } from "../lib/errors.ts";
import { utf8Length } from "../lib/utf8.ts";
import { type BulkRowError, type CellValue, csvLine, parseCsv, uploadRows } from "./bulk-csv.ts";
import { type ResultKind, ResultMatcher } from "./bulk-results.ts";

/**
 * Bulk API 2.0 ingest jobs: create, upload the CSV, close, poll until the job ends, read the
 * results and give every record its own outcome, in record order.
 *
 * Every HTTP request goes through `BulkIo`, which the client implements with its usual call: one
 * rate-limiter token per request, its token handling and its Sforce-Call-Options header.
 */

export type BulkOperation = "insert" | "update" | "upsert";

export interface BulkJobSpec {
  object: string;
  operation: BulkOperation;
  /** upsert only: the External ID field (or Id) that identifies records. */
  externalIdFieldName?: string;
}

export interface BulkIo {
  /** A JSON request (path relative to `/services/data/vXX.X`); answers the parsed body. */
  json(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<unknown>;
  /** A PUT of CSV text (Content-Type: text/csv), path from the instance root. */
  upload(path: string, csv: string): Promise<void>;
  /** A GET of a CSV resource, as text. */
  csv(path: string): Promise<string>;
}

export interface BulkSettings {
  /** First wait before polling a closed job; doubled after each poll... */
  pollInitialMs: number;
  /** ...up to this. */
  pollMaxMs: number;
  /** Longest wait for a job to end before it is aborted. */
  maxWaitMs: number;
  /** Most UTF-8 bytes of CSV per job; more records are split into several jobs. */
  maxUploadBytes: number;
}

export const DEFAULT_BULK_SETTINGS: BulkSettings = {
  pollInitialMs: 100,
  pollMaxMs: 2_000,
  maxWaitMs: 10 * 60 * 1000,
  // Salesforce takes up to 100 MB per job; a Worker has 128 MB of memory for everything.
  maxUploadBytes: 32 * 1024 * 1024,
};

/** One record's result in a bulk job. */
export type BulkOutcome =
  | { ok: true; id: string; created: boolean }
  | { ok: false; reason: "failed"; errors: BulkRowError[]; job: BulkJobEnd }
  /** Not processed (the job failed or was aborted first), or not found in any result CSV. */
  | { ok: false; reason: "unprocessed" | "unmatched"; job: BulkJobEnd }
  /** A later job of the same write could not be run (earlier jobs' outcomes are kept). */
  | { ok: false; reason: "error"; error: unknown };

export interface BulkJobEnd {
  id: string;
  state: string;
  errorMessage: string | null;
  /** The job did not end within maxWaitMs and was aborted. */
  timedOut: boolean;
}

const JOB_ID = /^[A-Za-z0-9]{15,18}$/;
/** contentUrl as Salesforce gives it: `services/data/vXX.X/jobs/ingest/<id>/batches`. */
const CONTENT_URL = /^\/?services\/data\/v\d+\.\d+\/jobs\/ingest\/[A-Za-z0-9]{15,18}\/batches\/?$/;
const TERMINAL = new Set(["JobComplete", "Failed", "Aborted"]);

const JobInfoSchema = z.object({
  id: z.string().regex(JOB_ID, { error: "is not a job id" }),
  state: z.string().min(1),
  contentUrl: z.string().nullish(),
  numberRecordsProcessed: z.number().nullish(),
  numberRecordsFailed: z.number().nullish(),
  errorMessage: z.string().nullish(),
});
type JobInfo = z.infer<typeof JobInfoSchema>;

function jobInfo(body: unknown, step: string): JobInfo {
  const parsed = JobInfoSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new SyncError("upstream_unavailable", `Salesforce Bulk API answered ${step} with an unexpected body`, {
    detail: { issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
  });
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes `records` through as many ingest jobs as their CSV needs (one up to maxUploadBytes) and
 * returns one outcome per record, in record order. A failure to run the first job is thrown; once
 * a job has written records, a later failure becomes the outcome of the records not yet written, so
 * the results of the earlier jobs are not lost.
 */
export async function runBulkIngest(
  io: BulkIo,
  spec: BulkJobSpec,
  records: readonly Readonly<Record<string, CellValue>>[],
  settings: BulkSettings = DEFAULT_BULK_SETTINGS,
  sleep: Sleep = realSleep,
): Promise<BulkOutcome[]> {
  const { header, rows } = uploadRows(records);
  const headerLine = csvLine(header);
  const outcomes: BulkOutcome[] = [];
  let start = 0;
  while (start < rows.length) {
    const lines: string[] = [];
    let bytes = utf8Length(headerLine);
    let end = start;
    while (end < rows.length) {
      const line = csvLine(rows[end] as string[]);
      const size = utf8Length(line);
      if (lines.length > 0 && bytes + size > settings.maxUploadBytes) break;
      lines.push(line);
      bytes += size;
      end++;
    }
    const part = rows.slice(start, end);
    try {
      outcomes.push(...(await runJob(io, spec, header, part, headerLine + lines.join(""), settings, sleep)));
    } catch (error) {
      if (outcomes.length === 0) throw error;
      for (let i = start; i < rows.length; i++) outcomes.push({ ok: false, reason: "error", error });
      break;
    }
    start = end;
  }
  return outcomes;
}

async function runJob(
  io: BulkIo,
  spec: BulkJobSpec,
  header: string[],
  rows: string[][],
  csv: string,
  settings: BulkSettings,
  sleep: Sleep,
): Promise<BulkOutcome[]> {
  const created = jobInfo(
    await io.json("POST", "/jobs/ingest", {
      object: spec.object,
      operation: spec.operation,
      ...(spec.operation === "upsert" ? { externalIdFieldName: spec.externalIdFieldName } : {}),
      contentType: "CSV",
      columnDelimiter: "COMMA",
      lineEnding: "LF",
    }),
    "a job creation",
  );
  const jobPath = `/jobs/ingest/${created.id}`;
  // The upload goes to the contentUrl Salesforce gave, as documented, when it has the usual form.
  const uploadPath =
    created.contentUrl && CONTENT_URL.test(created.contentUrl)
      ? `/${created.contentUrl.replace(/^\/+/, "")}`
      : `${jobPath}/batches`;
  try {
    await io.upload(uploadPath, csv);
    await io.json("PATCH", jobPath, { state: "UploadComplete" });
  } catch (err) {
    // Nothing was processed: abort the open job so it does not linger, and report the failure.
    await io.json("PATCH", jobPath, { state: "Aborted" }).catch(() => undefined);
    throw err;
  }
  const { job, timedOut } = await waitForJob(io, jobPath, settings, sleep);
  const end: BulkJobEnd = { id: job.id, state: job.state, errorMessage: job.errorMessage ?? null, timedOut };

  const keyColumn =
    spec.operation === "update" ? "Id" : spec.operation === "upsert" ? spec.externalIdFieldName : undefined;
  const matcher = new ResultMatcher(header, rows, keyColumn);
  const processed = job.numberRecordsProcessed ?? undefined;
  const failed = job.numberRecordsFailed ?? undefined;
  const fetches: Array<{ kind: ResultKind; path: string; skip: boolean }> = [
    {
      kind: "successful",
      path: `${jobPath}/successfulResults`,
      skip: processed !== undefined && failed !== undefined && processed - failed <= 0,
    },
    { kind: "failed", path: `${jobPath}/failedResults`, skip: failed === 0 },
    {
      kind: "unprocessed",
      path: `${jobPath}/unprocessedrecords`,
      skip: job.state === "JobComplete" && processed !== undefined && processed >= rows.length,
    },
  ];
  // Each result CSV is read only while some records still have no result.
  for (const fetch of fetches) {
    if (matcher.pending === 0) break;
    if (fetch.skip) continue;
    const text = await persist(() => io.csv(fetch.path), sleep);
    matcher.add(fetch.kind, parseCsv(text));
  }

  return rows.map((_, index): BulkOutcome => {
    const result = matcher.result(index);
    if (result?.kind === "success") return { ok: true, id: result.id, created: result.created };
    if (result?.kind === "failure") return { ok: false, reason: "failed", errors: result.errors, job: end };
    // No result at all: not processed, unless some result rows could not be matched (then it may be one of them).
    return { ok: false, reason: !result && matcher.unmatched > 0 ? "unmatched" : "unprocessed", job: end };
  });
}

/**
 * Polls the closed job, waiting pollInitialMs then twice as long each time up to pollMaxMs, until it
 * is JobComplete, Failed or Aborted. Past maxWaitMs the job is aborted: what it processed until then
 * is still in its results.
 */
async function waitForJob(
  io: BulkIo,
  jobPath: string,
  settings: BulkSettings,
  sleep: Sleep,
): Promise<{ job: JobInfo; timedOut: boolean }> {
  const started = Date.now();
  let delay = settings.pollInitialMs;
  for (;;) {
    await sleep(delay);
    const job = jobInfo(await persist(() => io.json("GET", jobPath), sleep), "a job poll");
    if (TERMINAL.has(job.state)) return { job, timedOut: false };
    delay = Math.min(delay * 2, settings.pollMaxMs);
    if (Date.now() - started + delay > settings.maxWaitMs) break;
  }
  try {
    const aborted = jobInfo(await io.json("PATCH", jobPath, { state: "Aborted" }), "an abort");
    return { job: aborted, timedOut: true };
  } catch {
    // It may have ended meanwhile (aborting a finished job is refused): look once more.
    const job = jobInfo(await persist(() => io.json("GET", jobPath), sleep), "a job poll");
    if (TERMINAL.has(job.state)) return { job, timedOut: false };
    throw new SyncError(
      "upstream_unavailable",
      `Salesforce Bulk API job ${job.id} did not finish within ${Math.round(settings.maxWaitMs / 1000)} s and could not be aborted (state ${job.state})`,
      { detail: { bulk_job_id: job.id, job_state: job.state } },
    );
  }
}

/**
 * Runs a read of a job that already has our data (a poll, a result CSV) again after a retryable
 * failure (a local rate limit, a 5xx), up to 5 times when the pause is short: giving up there would lose the results of
 * records Salesforce may already have written.
 */
async function persist<T>(work: () => Promise<T>, sleep: Sleep): Promise<T> {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof SyncError && err.retryable) || attempt >= 5) throw err;
      const ms = Math.max(wait, (err.retryAfterSeconds ?? 0) * 1000);
      // A long pause (the daily allocation is spent) is not waited out here.
      if (ms > 30_000) throw err;
      await sleep(ms);
      wait *= 2;
    }
  }
}
