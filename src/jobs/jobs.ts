import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { AttioRecord } from "../attio/record-schema.ts";
import type { TouchOutcome } from "../engine/run.ts";
import { SyncError } from "../lib/errors.ts";
import { attioAttributesRead, salesforceMatchKeys } from "../mapping/engine.ts";
import type { Db } from "../store/db.ts";
import { jobMatchKeys, jobRecords, syncJobs } from "../store/schema.ts";
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

export const JobParamsSchema = z.strictObject({
  /** Mapping names (companies, people, deals, custom ones); default: every enabled mapping. */
  objects: z.array(z.string().min(1)).max(50).optional(),
  /** Which side's records to enumerate: both, or only one. */
  direction: z.enum(["both", "attio_to_sf", "sf_to_attio"]).default("both"),
  mode: z.enum(["full", "incremental", "records"]).default("full"),
  /** mode=records: the records to sync. */
  record_ids: z
    .strictObject({
      attio: z.array(z.string().min(1)).max(1000).optional(),
      salesforce: z.array(z.string().min(1)).max(1000).optional(),
    })
    .optional(),
  /** mode=incremental: Salesforce records changed since (default: 24 hours before the job). */
  since: z.iso.datetime().optional(),
  dry_run: z.boolean().default(false),
});
export type JobParams = z.infer<typeof JobParamsSchema>;

export interface JobStep {
  mapping: string;
  side: "attio" | "salesforce";
  /** Read the Salesforce object's match keys into the job's match index (before the Attio step). */
  index?: boolean;
}

/** The counters a job reports. */
export const COUNT_KEYS = [
  "created",
  "updated",
  "linked",
  "unchanged",
  "conflicts",
  "ambiguous",
  "deferred",
  "deleted",
  "failed",
] as const;

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
  await db.insert(syncJobs).values({
    id,
    kind: params.mode === "records" ? "records" : params.mode,
    state: "queued",
    params: { ...params, steps },
    checkpoint: { step: 0 },
    progress: {},
    errorSample: [],
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

/**
 * Lists one page of the job's current step, queues its records, and queues the next page (or the
 * next step). A cancelled job stops here.
 */
/** How long a job waits when Salesforce's daily budget reserve is reached. */
const PAUSE_SECONDS = 900;

export async function runJobPage(
  deps: SyncDeps,
  kv: KVNamespace,
  runtime: Runtime,
  message: JobPageMessage,
  send: (messages: SyncMessage[], delaySeconds?: number) => Promise<void>,
): Promise<string> {
  const job = await deps.db.select().from(syncJobs).where(eq(syncJobs.id, message.jobId)).get();
  if (!job) return "job no longer exists";
  if (job.state === "cancelled" || job.state === "done" || job.state === "failed") return `job is ${job.state}`;
  const params = JobParamsSchema.extend({
    steps: z.array(
      z.object({ mapping: z.string(), side: z.enum(["attio", "salesforce"]), index: z.boolean().optional() }),
    ),
  })
    .strip()
    .parse(job.params);
  if (isStale(job.checkpoint, message)) return "page already listed";
  const step = params.steps[message.step];
  const progress = { ...(job.progress as Record<string, { complete: boolean }>) };
  if (!step) {
    await deps.db
      .update(syncJobs)
      .set({ progress: { ...progress, enumerated: true }, checkpoint: { step: message.step }, updatedAt: now() })
      .where(eq(syncJobs.id, job.id));
    return "enumeration complete";
  }
  const compiled = runtime.mappings.find((m) => m.mapping.name === step.mapping);
  if (!compiled) throw new SyncError("bad_request", `mapping ${step.mapping} is no longer enabled`);
  if (step.index) return indexPage(deps, job.id, compiled, message, progress, send);
  const key = `${step.mapping}:${step.side}`;
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
      await deps.db
        .update(syncJobs)
        .set({ progress: { ...progress, paused }, updatedAt: now() })
        .where(eq(syncJobs.id, job.id));
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
  await deps.db
    .update(syncJobs)
    .set({
      state: "running",
      progress,
      checkpoint: { step: next.step, offset: next.offset, ...(next.cursor ? { cursor: next.cursor } : {}) },
      updatedAt: now(),
    })
    .where(eq(syncJobs.id, job.id));
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
  progress: Record<string, unknown>,
  send: (messages: SyncMessage[], delaySeconds?: number) => Promise<void>,
): Promise<string> {
  const { mapping } = compiled;
  const matchKey = mapping.match_keys[0];
  const key = `${mapping.name}:index`;
  const started = (progress[key] as { since?: string } | undefined)?.since;
  const since = started ?? soqlDateTime(Date.now() - INDEX_OVERLAP_MS);
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
        .map((k) => [k.value, row.Id]),
    );
    for (let i = 0; i < entries.length; i += OUTCOMES_PER_STATEMENT) {
      await deps.db.run(sql`insert or ignore into job_match_keys (job_id, mapping, key, sf_id)
        select ${jobId}, ${mapping.name}, value ->> '$[0]', value ->> '$[1]'
        from jsonb_each(${JSON.stringify(entries.slice(i, i + OUTCOMES_PER_STATEMENT))})`);
    }
    count = rows.length;
    const last = rows.at(-1);
    if (rows.length === INDEX_PAGE && last) {
      next = pageMessage(jobId, message.step, message.offset + rows.length, { stamp: "", id: last.Id });
    }
  }
  const complete = next.step !== message.step;
  const updated = {
    ...progress,
    [key]: { since, indexed: ((progress[key] as { indexed?: number })?.indexed ?? 0) + count, complete },
  };
  await deps.db
    .update(syncJobs)
    .set({
      state: "running",
      progress: updated,
      checkpoint: { step: next.step, offset: next.offset, ...(next.cursor ? { cursor: next.cursor } : {}) },
      updatedAt: now(),
    })
    .where(eq(syncJobs.id, jobId));
  await send([next]);
  return `indexed ${count} ${mapping.salesforce_object} match key(s)`;
}

/** When the mapping's match index began, once it is complete. */
function indexedSince(progress: Record<string, unknown>, mapping: string): string | undefined {
  const entry = progress[`${mapping}:index`] as { since?: string; complete?: boolean } | undefined;
  return entry?.complete ? entry.since : undefined;
}

/** A SOQL datetime literal (whole seconds, UTC). */
function soqlDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Salesforce ids in the job's match index under any of `keys`. */
export async function lookupMatchIndex(db: Db, jobId: string, mapping: string, keys: readonly string[]) {
  const ids: string[] = [];
  for (let i = 0; i < keys.length; i += OUTCOMES_PER_STATEMENT) {
    const rows = await db
      .select({ sfId: jobMatchKeys.sfId })
      .from(jobMatchKeys)
      .where(
        and(
          eq(jobMatchKeys.jobId, jobId),
          eq(jobMatchKeys.mapping, mapping),
          sql`${jobMatchKeys.key} in (select value from json_each(${JSON.stringify(keys.slice(i, i + OUTCOMES_PER_STATEMENT))}))`,
        ),
      );
    ids.push(...rows.map((r) => r.sfId));
  }
  return [...new Set(ids)];
}

/**
 * A page message behind the job's checkpoint was already listed (a redelivery after the checkpoint
 * moved on): listing it again would only repeat work.
 */
function isStale(checkpoint: unknown, message: JobPageMessage): boolean {
  const parsed = CheckpointSchema.safeParse(checkpoint);
  if (!parsed.success) return false;
  const at = parsed.data;
  return message.step < at.step || (message.step === at.step && message.offset < at.offset);
}

/** Rows for records a job queued (a record listed twice keeps its one row). One statement per chunk. */
async function addJobRecords(
  db: Db,
  jobId: string,
  mapping: string,
  side: "attio" | "salesforce",
  ids: readonly string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += MAX_RECORDS_PER_MESSAGE) {
    await db.run(sql`insert or ignore into job_records (job_id, mapping, side, record_id)
      select ${jobId}, ${mapping}, ${side}, value from json_each(${JSON.stringify(ids.slice(i, i + MAX_RECORDS_PER_MESSAGE))})`);
  }
}

/** The counter an outcome adds to. */
export function countKey(outcome: TouchOutcome): (typeof COUNT_KEYS)[number] | null {
  if (outcome.status === "failed") return "failed";
  if (outcome.status === "retry") return null;
  const action = outcome.action;
  if (action.startsWith("create")) return "created";
  if (action.startsWith("link")) return "linked";
  if (action.startsWith("ambiguous")) return "ambiguous";
  if (action.startsWith("delete") || action.startsWith("unlinked")) return "deleted";
  if (action.startsWith("update")) {
    const plan = outcome.plan as { to_salesforce?: object; to_attio?: object; conflicts?: unknown[] } | undefined;
    if (plan?.conflicts?.length || action.includes("conflict")) return "conflicts";
    return "updated";
  }
  return "unchanged";
}

/** One record's final outcome, to be stored on its job. */
export interface JobOutcome {
  mapping: string;
  side: "attio" | "salesforce";
  recordId: string;
  outcome: TouchOutcome;
}

/** Rows per statement: keeps each bound JSON parameter far below D1's 2 MB value limit. */
const OUTCOMES_PER_STATEMENT = 500;

/**
 * Stores the final outcomes of records on their job (a retry outcome is not final: skipped). A
 * record's row keeps its first final outcome: a redelivered message, whose records now come back
 * `unchanged`, neither counts them twice nor hides what the job did. A dry run also keeps each
 * record's plan.
 */
export async function recordJobOutcomes(db: Db, jobId: string, outcomes: readonly JobOutcome[]): Promise<void> {
  const rows = outcomes.flatMap(({ mapping, side, recordId, outcome }) => {
    const key = countKey(outcome);
    if (!key) return [];
    const plan = outcome.status === "done" ? outcome.plan : undefined;
    return [
      {
        m: mapping,
        s: side,
        r: recordId,
        o: key,
        a: outcome.status === "done" ? outcome.action : outcome.error.code,
        d: plan ?? null,
      },
    ];
  });
  if (rows.length === 0) return;
  for (let i = 0; i < rows.length; i += OUTCOMES_PER_STATEMENT) {
    const part = JSON.stringify(rows.slice(i, i + OUTCOMES_PER_STATEMENT));
    await db.run(sql`insert into job_records (job_id, mapping, side, record_id, outcome, action, detail)
      select ${jobId}, value ->> '$.m', value ->> '$.s', value ->> '$.r', value ->> '$.o', value ->> '$.a', value -> '$.d'
      from jsonb_each(${part}) where true
      on conflict (job_id, side, record_id) do update
      set outcome = excluded.outcome, action = excluded.action, detail = nullif(excluded.detail, 'null')
      where job_records.outcome is null`);
  }
  // Any outcome is progress: a job is only stalled when nothing at all comes back.
  await db.update(syncJobs).set({ updatedAt: now() }).where(eq(syncJobs.id, jobId));
  for (const { recordId, outcome } of outcomes) {
    if (outcome.status !== "failed") continue;
    const sample = { record: recordId, code: outcome.error.code, message: outcome.error.message };
    await db
      .update(syncJobs)
      .set({ errorSample: sql`json_insert(${syncJobs.errorSample}, '$[#]', json(${JSON.stringify(sample)}))` })
      .where(sql`${syncJobs.id} = ${jobId} and json_array_length(${syncJobs.errorSample}) < 20`);
  }
}

/**
 * A job that cannot go on (a page Salesforce or Attio refuses for good, or one out of retries):
 * `failed`, with the error first in its sample, so GET /api/v1/sync/{id} and /api/v1/status say
 * why instead of the job looking busy forever. A finished or cancelled job is left as it is.
 */
export async function failJob(db: Db, jobId: string, error: { code: string; message: string }): Promise<boolean> {
  const sample = { page: true, code: error.code, message: error.message };
  const result = await db
    .update(syncJobs)
    .set({
      state: "failed",
      errorSample: sql`json_insert(${syncJobs.errorSample}, '$[0]', json(${JSON.stringify(sample)}))`,
      updatedAt: now(),
    })
    .where(sql`${syncJobs.id} = ${jobId} and ${syncJobs.state} in ('queued', 'running')`);
  return (result.meta.changes ?? 0) > 0;
}

/** Per mapping, side and outcome (null while queued): how many of the job's records. */
async function jobTally(db: Db, jobId: string) {
  return db
    .select({
      mapping: jobRecords.mapping,
      side: jobRecords.side,
      outcome: jobRecords.outcome,
      n: sql<number>`count(*)`,
    })
    .from(jobRecords)
    .where(eq(jobRecords.jobId, jobId))
    .groupBy(jobRecords.mapping, jobRecords.side, jobRecords.outcome);
}

/** The job as the API reports it; a running job whose every queued record has an outcome is done. */
export async function jobReport(db: Db, jobId: string) {
  const job = await db.select().from(syncJobs).where(eq(syncJobs.id, jobId)).get();
  if (!job) return undefined;
  // One pass over the job's rows gives both the outcome counts and the progress per object.
  const counts: Record<string, number> = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0]));
  const listing = job.progress as Record<string, unknown> & { enumerated?: boolean };
  const perObject = new Map<string, { enqueued: number; processed: number; complete: boolean }>();
  let enqueued = 0;
  let processed = 0;
  for (const row of await jobTally(db, jobId)) {
    const key = `${row.mapping}:${row.side}`;
    const listed = listing[key] as { complete?: boolean } | undefined;
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
  let state = job.state;
  if (state === "running" && listing.enumerated && processed >= enqueued) {
    state = "done";
    await db.update(syncJobs).set({ state, updatedAt: now() }).where(eq(syncJobs.id, jobId));
  }
  const params = job.params as JobParams;
  const plan = params.dry_run
    ? await db
        .select()
        .from(jobRecords)
        .where(and(eq(jobRecords.jobId, jobId), isNotNull(jobRecords.detail)))
        .orderBy(jobRecords.mapping, jobRecords.side, jobRecords.recordId)
        .limit(200)
    : undefined;
  return {
    id: job.id,
    state,
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

const CheckpointSchema = z.object({
  step: z.number().int().min(0),
  offset: z.number().int().min(0).default(0),
  cursor: z.object({ stamp: z.string(), id: z.string() }).optional(),
});

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
  const stalled = await db
    .select()
    .from(syncJobs)
    .where(sql`${syncJobs.state} in ('queued', 'running') and ${syncJobs.updatedAt} < ${before}`)
    .limit(50);
  const resumed: string[] = [];
  for (const job of stalled) {
    const report = await jobReport(db, job.id);
    if (!report || report.state === "done") continue;
    const progress = job.progress as { enumerated?: boolean };
    if (progress.enumerated) {
      const pending = await db
        .select({ mapping: jobRecords.mapping, side: jobRecords.side, recordId: jobRecords.recordId })
        .from(jobRecords)
        .where(and(eq(jobRecords.jobId, job.id), isNull(jobRecords.outcome)))
        .orderBy(jobRecords.mapping, jobRecords.side, jobRecords.recordId)
        .limit(REQUEUE_PER_RUN);
      const dryRun = (job.params as JobParams).dry_run;
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
      await db
        .update(syncJobs)
        .set({ progress: { ...job.progress, restarts: restartsOf(job.progress) + 1 } })
        .where(eq(syncJobs.id, job.id));
    } else {
      const checkpoint = CheckpointSchema.safeParse(job.checkpoint);
      const at = checkpoint.success ? checkpoint.data : { step: 0, offset: 0, cursor: undefined };
      await send([pageMessage(job.id, at.step, at.offset, at.cursor)]);
    }
    await db.update(syncJobs).set({ updatedAt: now() }).where(eq(syncJobs.id, job.id));
    resumed.push(job.id);
  }
  return resumed;
}

function restartsOf(progress: unknown): number {
  const restarts = (progress as { restarts?: unknown } | null)?.restarts;
  return typeof restarts === "number" ? restarts : 0;
}

export async function cancelJob(db: Db, jobId: string): Promise<boolean> {
  const result = await db
    .update(syncJobs)
    .set({ state: "cancelled", updatedAt: now() })
    .where(sql`${syncJobs.id} = ${jobId} and ${syncJobs.state} in ('queued', 'running')`);
  return (result.meta.changes ?? 0) > 0;
}

function now(): string {
  return new Date().toISOString();
}
