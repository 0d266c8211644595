import type { AttioRecord } from "../attio/record-schema.ts";
import { SyncError } from "../lib/errors.ts";
import { attioAttributesRead, salesforceMatchKeys } from "../mapping/engine.ts";
import { COUNT_KEYS, countKey, type TouchOutcome } from "../plan/outcome.ts";
import type { Db } from "../store/db.ts";
import type { JobCheckpoint, JobParams, JobProgress, JobStep } from "../store/job-schemas.ts";
import {
  addJobErrors,
  addJobRecords,
  addMatchKeys,
  finishJobIfComplete,
  insertJob,
  jobPlan,
  jobTally,
  loadJob,
  pendingJobRecords,
  setJobRecordOutcomes,
  stalledJobs,
  touchJob,
  updateJob,
} from "../store/jobs.ts";
import { budgetPause } from "../sync/budget.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { loadDirectory } from "../sync/directory.ts";
import { type JobPageMessage, MAX_RECORDS_PER_MESSAGE, recordsMessages, type SyncMessage } from "../sync/messages.ts";
import type { Runtime } from "../sync/runtime.ts";
import { ATTIO_PAGE, differingRecords, SF_PAGE } from "../sync/scan.ts";
import { rememberListed } from "./listed.ts";

/**
 * Sync jobs: initial, manual and dry-run syncs that walk whole objects in pages through the queue,
 * so they survive invocation limits and restarts and resume where they stopped. Each page lists up
 * to JOB_PAGE_RECORDS Attio records (SF_PAGE Salesforce ones), stores them in `job_records` and
 * queues them as `records.sync` messages of MAX_RECORDS_PER_MESSAGE, which the consumer syncs in
 * bulk, an Attio page's two side by side; every record's outcome is stored on its
 * row, so counts stay exact however often a message is delivered. A dry run plans every record and
 * writes nothing: its plan is kept on the record's row.
 */

/**
 * Attio records one job page lists: two messages' worth. The consumer syncs a page's two messages
 * side by side, so one Bulk job's waits (upload, polling) overlap the other's work; in two sets of
 * interleaved 40,000-company runs that made 7-19% more records per minute (docs/BENCHMARKS.md).
 */
export const JOB_PAGE_RECORDS = 2 * MAX_RECORDS_PER_MESSAGE;

/**
 * The steps of a job in dependency order (companies/Accounts, then people/Contacts, then
 * deals/Opportunities, then custom objects), each side once.
 */
export function jobSteps(runtime: Runtime, params: JobParams): JobStep[] {
  const wanted = params.objects ? new Set(params.objects) : undefined;
  const unknown = params.objects?.filter((name) => !runtime.mappings.some((m) => m.mapping.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new SyncError("bad_request", `not mapped (or disabled): ${unknown.join(", ")}`, { status: 400 });
  }
  return runtime.mappings
    .filter((m) => !wanted || wanted.has(m.mapping.name))
    .flatMap((m): JobStep[] => [
      ...(params.direction !== "sf_to_attio" && params.mode !== "records" && m.mapping.match_keys[0]
        ? [{ mapping: m.mapping.name, side: "salesforce" as const, index: true }]
        : []),
      ...(params.direction !== "sf_to_attio" ? [{ mapping: m.mapping.name, side: "attio" as const }] : []),
      ...(params.direction !== "attio_to_sf" ? [{ mapping: m.mapping.name, side: "salesforce" as const }] : []),
    ]);
}

export async function createJob(
  db: Db,
  runtime: Runtime,
  params: JobParams,
): Promise<{ id: string; message: JobPageMessage }> {
  const steps = jobSteps(runtime, params);
  const id = crypto.randomUUID();
  await insertJob(db, {
    id,
    kind: params.mode === "records" ? "records" : params.mode,
    params: { ...params, steps },
    checkpoint: { step: 0, offset: 0 },
    progress: {},
  });
  return { id, message: pageMessage(id, 0, 0) };
}

function pageMessage(
  jobId: string,
  step: number,
  offset: number,
  cursor?: { stamp: string; id: string },
): JobPageMessage {
  return {
    kind: "job.page",
    jobId,
    step,
    offset,
    ...(cursor ? { cursor } : {}),
    dedupeKey: `job:${jobId}:${step}:${offset}:${cursor?.id ?? ""}`,
    correlationId: `job:${jobId}`,
    receivedAt: new Date().toISOString(),
  };
}

/** How long a job waits when Salesforce's daily budget reserve is reached. */
const PAUSE_SECONDS = 900;

/**
 * Lists one page of the job's current step, queues its records, and queues the next page (or the
 * next step). A cancelled job stops here.
 */
export async function runJobPage(
  deps: SyncDeps,
  kv: KVNamespace,
  runtime: Runtime,
  message: JobPageMessage,
  send: (messages: SyncMessage[], delaySeconds?: number) => Promise<void>,
): Promise<string> {
  const job = await loadJob(deps.db, message.jobId);
  if (!job) return "job no longer exists";
  if (job.state === "cancelled" || job.state === "done" || job.state === "failed") return `job is ${job.state}`;
  const { params } = job;
  if (isStale(job.checkpoint, message)) return "page already listed";
  const step = params.steps[message.step];
  const progress: JobProgress = { ...job.progress };
  if (!step) {
    await updateJob(deps.db, job.id, {
      progress: { ...progress, enumerated: true },
      checkpoint: { step: message.step, offset: 0 },
    });
    // Its records may all have come back already: then nothing else would finish the job.
    await finishJobIfComplete(deps.db, job.id);
    return "enumeration complete";
  }
  const compiled = runtime.mappings.find((m) => m.mapping.name === step.mapping);
  if (!compiled) throw new SyncError("bad_request", `mapping ${step.mapping} is no longer enabled`);
  if (step.index) return indexPage(deps, job.id, compiled, message, progress, send);
  const key = `${step.mapping}:${step.side}` as const;
  let ids: string[];
  let next: JobPageMessage;
  if (step.side === "attio") {
    const object = compiled.mapping.attio_object;
    if (params.mode === "records") {
      ids = params.record_ids?.attio ?? [];
      next = pageMessage(job.id, message.step + 1, 0);
    } else {
      // Several Attio pages per job page: two bulk-sized messages, which the consumer syncs side by
      // side. Each page is read (and kept) trimmed to the mapped attributes.
      const read = attioAttributesRead(compiled);
      const records: AttioRecord[] = [];
      let last = ATTIO_PAGE;
      for (let done = 0; done < JOB_PAGE_RECORDS && last === ATTIO_PAGE; done += ATTIO_PAGE) {
        const page = await deps.attio.scanRecords(object, message.offset + done, ATTIO_PAGE, read);
        records.push(...page);
        last = page.length;
      }
      ids =
        params.mode === "incremental"
          ? await differingRecords(deps, compiled, records, () => loadDirectory(deps, kv, runtime.directoryOptions))
          : records.map((r) => r.id.record_id);
      const queued = new Set(ids);
      rememberListed(
        object,
        records.filter((r) => queued.has(r.id.record_id)),
      );
      next =
        last < ATTIO_PAGE
          ? pageMessage(job.id, message.step + 1, 0)
          : pageMessage(job.id, message.step, message.offset + records.length);
    }
  } else {
    const object = compiled.mapping.salesforce_object;
    const paused = await budgetPause(deps, kv);
    if (paused) {
      // The same page again later: the job resumes by itself once the budget allows.
      await send([{ ...message, dedupeKey: `${message.dedupeKey}:retry:${Date.now()}` }], PAUSE_SECONDS);
      await updateJob(deps.db, job.id, { progress: { ...progress, paused } });
      return paused;
    }
    if (params.mode === "records") {
      ids = params.record_ids?.salesforce ?? [];
      next = pageMessage(job.id, message.step + 1, 0);
    } else {
      const start =
        params.mode === "incremental"
          ? (params.since ?? new Date(Date.parse(job.createdAt) - 86_400_000).toISOString())
          : "1970-01-01T00:00:00.000Z";
      const rows = await deps.salesforce.changedSince(object, message.cursor ?? { stamp: start }, SF_PAGE);
      ids = rows.map((r) => r.Id);
      const last = rows.at(-1);
      next =
        rows.length < SF_PAGE || !last
          ? pageMessage(job.id, message.step + 1, 0)
          : pageMessage(job.id, message.step, message.offset + rows.length, {
              stamp: last.SystemModstamp,
              id: last.Id,
            });
    }
  }
  // The rows first: a record's outcome can only be counted once its row exists.
  await addJobRecords(deps.db, job.id, step.mapping, step.side, ids);
  await send(
    recordsMessages(step.mapping, step.side, ids, `job ${job.id}`, {
      jobId: job.id,
      ...(params.dry_run ? { dryRun: true } : {}),
      correlationId: `job:${job.id}`,
      matchIndexSince: step.side === "attio" ? indexedSince(progress, step.mapping) : undefined,
    }),
  );
  progress[key] = { complete: next.step !== message.step };
  delete progress.paused;
  await updateJob(deps.db, job.id, { state: "running", progress, checkpoint: checkpointOf(next) });
  await send([next]);
  return `queued ${ids.length} ${key} record(s)`;
}

/** Records per match-index page: one SOQL page. */
const INDEX_PAGE = 2_000;

/** How far before its first page a match index looks for changes made by others. */
const INDEX_OVERLAP_MS = 120_000;

/**
 * One page of a job's match index: the Salesforce object's first match key per record, stored in
 * `job_match_keys`. The Attio step that follows looks candidates up there, and asks Salesforce only
 * for what others changed since the index began (`changedByOthersSince`).
 */
async function indexPage(
  deps: SyncDeps,
  jobId: string,
  compiled: Runtime["mappings"][number],
  message: JobPageMessage,
  progress: JobProgress,
  send: (messages: SyncMessage[], delaySeconds?: number) => Promise<void>,
): Promise<string> {
  const { mapping } = compiled;
  const matchKey = mapping.match_keys[0];
  const key = `${mapping.name}:index` as const;
  const since = progress[key]?.since ?? soqlDateTime(Date.now() - INDEX_OVERLAP_MS);
  let count = 0;
  let next = pageMessage(jobId, message.step + 1, 0);
  if (matchKey) {
    const rows = await deps.salesforce.matchKeyPage(
      mapping.salesforce_object,
      matchKey.salesforce,
      message.cursor?.id,
      INDEX_PAGE,
    );
    const entries = rows.flatMap((row) =>
      salesforceMatchKeys(mapping, row)
        .slice(0, 1)
        .map((k) => [k.value, row.Id] as const),
    );
    await addMatchKeys(deps.db, jobId, mapping.name, entries);
    count = rows.length;
    const last = rows.at(-1);
    if (rows.length === INDEX_PAGE && last) {
      next = pageMessage(jobId, message.step, message.offset + rows.length, { stamp: "", id: last.Id });
    }
  }
  const complete = next.step !== message.step;
  const updated: JobProgress = {
    ...progress,
    [key]: { since, indexed: (progress[key]?.indexed ?? 0) + count, complete },
  };
  await updateJob(deps.db, jobId, { state: "running", progress: updated, checkpoint: checkpointOf(next) });
  await send([next]);
  return `indexed ${count} ${mapping.salesforce_object} match key(s)`;
}

/** When the mapping's match index began, once it is complete. */
function indexedSince(progress: JobProgress, mapping: string): string | undefined {
  const entry = progress[`${mapping}:index`];
  return entry?.complete ? entry.since : undefined;
}

/** Where listing resumes once `next` is queued. */
function checkpointOf(next: JobPageMessage): JobCheckpoint {
  return { step: next.step, offset: next.offset, ...(next.cursor ? { cursor: next.cursor } : {}) };
}

/** A SOQL datetime literal (whole seconds, UTC). */
function soqlDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A page message behind the job's checkpoint was already listed (a redelivery after the checkpoint
 * moved on): listing it again would only repeat work.
 */
function isStale(at: JobCheckpoint | null, message: JobPageMessage): boolean {
  if (!at) return false;
  return message.step < at.step || (message.step === at.step && message.offset < at.offset);
}

/** One record's final outcome, to be stored on its job. */
export interface JobOutcome {
  mapping: string;
  side: "attio" | "salesforce";
  recordId: string;
  outcome: TouchOutcome;
}

/**
 * Stores the final outcomes of records on their job (a retry outcome is not final: skipped). A
 * record's row keeps its first final outcome: a redelivered message, whose records now come back
 * `unchanged`, neither counts them twice nor hides what the job did. A dry run also keeps each
 * record's plan. The job is done once these were the last outcomes it waited for.
 */
export async function recordJobOutcomes(db: Db, jobId: string, outcomes: readonly JobOutcome[]): Promise<void> {
  const rows = outcomes.flatMap(({ mapping, side, recordId, outcome }) => {
    const key = countKey(outcome);
    if (!key) return [];
    const plan = outcome.status === "done" ? outcome.plan : undefined;
    return [
      {
        mapping,
        side,
        recordId,
        outcome: key,
        action: outcome.status === "done" ? outcome.action : outcome.error.code,
        detail: plan ?? null,
      },
    ];
  });
  if (rows.length === 0) return;
  await setJobRecordOutcomes(db, jobId, rows);
  // Any outcome is progress: a job is only stalled when nothing at all comes back.
  await touchJob(db, jobId);
  await addJobErrors(
    db,
    jobId,
    outcomes.flatMap(({ recordId, outcome }) =>
      outcome.status === "failed"
        ? [{ record: recordId, code: outcome.error.code, message: outcome.error.message }]
        : [],
    ),
  );
  await finishJobIfComplete(db, jobId);
}

/** The job as the API reports it. */
export async function jobReport(db: Db, jobId: string, options: { plan: boolean } = { plan: true }) {
  const job = await loadJob(db, jobId);
  if (!job) return undefined;
  // One pass over the job's rows gives both the outcome counts and the progress per object.
  const counts: Record<string, number> = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0]));
  const listing = job.progress;
  const perObject = new Map<string, { enqueued: number; processed: number; complete: boolean }>();
  let enqueued = 0;
  let processed = 0;
  for (const row of await jobTally(db, jobId)) {
    const key = `${row.mapping}:${row.side}` as const;
    const listed = listing[key];
    const entry = perObject.get(key) ?? { enqueued: 0, processed: 0, complete: listed?.complete ?? false };
    perObject.set(key, entry);
    entry.enqueued += row.n;
    enqueued += row.n;
    if (row.outcome) {
      entry.processed += row.n;
      processed += row.n;
      counts[row.outcome] = (counts[row.outcome] ?? 0) + row.n;
    }
  }
  const progress: Record<string, unknown> = { ...listing, ...Object.fromEntries(perObject) };
  const { params } = job;
  const plan = params.dry_run && options.plan ? await jobPlan(db, jobId, 200) : undefined;
  return {
    id: job.id,
    state: job.state,
    mode: params.mode,
    dry_run: params.dry_run,
    params,
    progress,
    enqueued,
    counts: { ...counts, processed },
    errors: job.errorSample,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    ...(plan
      ? {
          plan: plan.map(({ mapping, side, recordId, action, detail }) => ({
            mapping,
            side,
            record_id: recordId,
            action,
            ...detail,
          })),
        }
      : {}),
  };
}

/** Records re-queued per stalled job and cron run (each run continues where the last stopped). */
const REQUEUE_PER_RUN = 20_000;

/**
 * Jobs that made no progress for `stallSeconds` are driven again, so a job survives the loss of
 * its queued messages (a restart of a local queue, a message dropped after its retries):
 * - still listing: its next page is queued again from the stored checkpoint;
 * - listed, but some queued records never came back: those records (their rows still have no
 *   outcome) are queued again. The engine is idempotent, so a record synced twice changes nothing.
 * Returns the ids of the jobs it drove.
 */
export async function resumeStalledJobs(
  db: Db,
  send: (messages: SyncMessage[]) => Promise<void>,
  stallSeconds: number,
  nowMs = Date.now(),
): Promise<string[]> {
  const before = new Date(nowMs - stallSeconds * 1000).toISOString();
  const stalled = await stalledJobs(db, before, 50);
  const resumed: string[] = [];
  for (const job of stalled) {
    // Every record came back, but the check that finishes a job did not run after the last of them
    // (it failed, or the job is older than that check): finished now instead of resumed.
    if (await finishJobIfComplete(db, job.id)) continue;
    if (job.progress.enumerated) {
      const pending = await pendingJobRecords(db, job.id, REQUEUE_PER_RUN);
      const dryRun = job.params.dry_run;
      const groups = new Map<string, { mapping: string; side: "attio" | "salesforce"; ids: string[] }>();
      for (const row of pending) {
        const key = `${row.mapping}|${row.side}`;
        const group = groups.get(key) ?? { mapping: row.mapping, side: row.side, ids: [] };
        group.ids.push(row.recordId);
        groups.set(key, group);
      }
      for (const group of groups.values()) {
        await send(
          recordsMessages(group.mapping, group.side, group.ids, `job ${job.id} (resumed)`, {
            jobId: job.id,
            ...(dryRun ? { dryRun: true } : {}),
            correlationId: `job:${job.id}`,
          }),
        );
      }
      await updateJob(db, job.id, { progress: { ...job.progress, restarts: (job.progress.restarts ?? 0) + 1 } });
    } else {
      const at = job.checkpoint ?? { step: 0, offset: 0, cursor: undefined };
      await send([pageMessage(job.id, at.step, at.offset, at.cursor)]);
      await touchJob(db, job.id);
    }
    resumed.push(job.id);
  }
  return resumed;
}
