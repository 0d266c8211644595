import { asc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { SyncError } from "../lib/errors.ts";
import type { Db } from "../store/db.ts";
import { jobCounts, jobPlan, syncJobs } from "../store/schema.ts";
import { budgetPause } from "./budget.ts";
import { ATTIO_PAGE, differingRecords, SF_PAGE } from "./catchup.ts";
import type { SyncDeps } from "./deps.ts";
import type { TouchOutcome } from "./engine.ts";
import { internalAttioMessage, internalSalesforceMessage, type JobPageMessage, type SyncMessage } from "./messages.ts";
import type { Runtime } from "./runtime.ts";

/**
 * Sync jobs: initial, manual and dry-run syncs that walk whole objects in pages through the queue,
 * so they survive invocation limits and restarts and resume where they stopped. Each page queues
 * the records it lists (tagged with the job id); the consumer counts every record's outcome on the
 * job. A dry run plans every record and writes nothing: its plan is kept in `job_plan`.
 */

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
    counts: {},
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
    steps: z.array(z.object({ mapping: z.string(), side: z.enum(["attio", "salesforce"]) })),
  })
    .strip()
    .parse(job.params);
  const step = params.steps[message.step];
  const progress = { ...(job.progress as Record<string, { enqueued: number; complete: boolean }>) };
  if (!step) {
    await deps.db
      .update(syncJobs)
      .set({ progress: { ...progress, enumerated: true }, checkpoint: { step: message.step }, updatedAt: now() })
      .where(eq(syncJobs.id, job.id));
    return "enumeration complete";
  }
  const compiled = runtime.mappings.find((m) => m.mapping.name === step.mapping);
  if (!compiled) throw new SyncError("bad_request", `mapping ${step.mapping} is no longer enabled`);
  const tag = { jobId: job.id, ...(params.dry_run ? { dryRun: true } : {}) };
  const key = `${step.mapping}:${step.side}`;
  let ids: string[];
  let next: JobPageMessage;
  if (step.side === "attio") {
    const object = compiled.mapping.attio_object;
    if (params.mode === "records") {
      ids = params.record_ids?.attio ?? [];
      next = pageMessage(job.id, message.step + 1, 0);
    } else {
      const records = await deps.attio.scanRecords(object, message.offset, ATTIO_PAGE);
      ids =
        params.mode === "incremental"
          ? await differingRecords(deps, compiled, records)
          : records.map((r) => r.id.record_id);
      next =
        records.length < ATTIO_PAGE
          ? pageMessage(job.id, message.step + 1, 0)
          : pageMessage(job.id, message.step, message.offset + records.length);
    }
    await send(ids.map((id) => ({ ...internalAttioMessage(object, id, `job ${job.id}`), ...tag })));
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
      const rows = await deps.salesforce.changedSince(object, message.cursor ?? { stamp: start, id: "" }, SF_PAGE);
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
    for (let i = 0; i < ids.length; i += 100) {
      await send([{ ...internalSalesforceMessage(object, ids.slice(i, i + 100)), ...tag }]);
    }
  }
  const entry = progress[key] ?? { enqueued: 0, complete: false };
  progress[key] = { enqueued: entry.enqueued + ids.length, complete: next.step !== message.step };
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

/** Counts one record's final outcome on its job; a dry run also keeps the record's plan. */
export async function countOutcome(
  db: Db,
  jobId: string,
  record: { mapping: string; side: "attio" | "salesforce"; recordId: string },
  outcome: TouchOutcome,
): Promise<void> {
  const key = countKey(outcome);
  if (!key) return;
  const increments = [key, "processed"];
  for (const k of increments) {
    await db
      .insert(jobCounts)
      .values({ jobId, key: k, n: 1 })
      .onConflictDoUpdate({ target: [jobCounts.jobId, jobCounts.key], set: { n: sql`${jobCounts.n} + 1` } });
  }
  // Any outcome is progress: a job is only stalled when nothing at all comes back.
  await db.update(syncJobs).set({ updatedAt: now() }).where(eq(syncJobs.id, jobId));
  if (outcome.status === "done" && outcome.plan) {
    await db.insert(jobPlan).values({ jobId, ...record, action: outcome.action, detail: outcome.plan });
  }
  if (outcome.status === "failed") {
    await db
      .update(syncJobs)
      .set({
        errorSample: sql`json_insert(${syncJobs.errorSample}, '$[#]', json(${JSON.stringify({ record: record.recordId, code: outcome.error.code, message: outcome.error.message })}))`,
      })
      .where(sql`${syncJobs.id} = ${jobId} and json_array_length(${syncJobs.errorSample}) < 20`);
  }
}

/** The job as the API reports it; a running job whose every queued record has an outcome is done. */
export async function jobReport(db: Db, jobId: string) {
  const job = await db.select().from(syncJobs).where(eq(syncJobs.id, jobId)).get();
  if (!job) return undefined;
  const rows = await db.select().from(jobCounts).where(eq(jobCounts.jobId, jobId));
  const counts: Record<string, number> = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0]));
  for (const row of rows) counts[row.key] = row.n;
  const progress = job.progress as Record<string, unknown> & { enumerated?: boolean };
  const enqueued = Object.values(progress).reduce<number>(
    (sum, p) =>
      sum + (typeof p === "object" && p && "enqueued" in p ? Number((p as { enqueued: number }).enqueued) : 0),
    0,
  );
  let state = job.state;
  if (state === "running" && progress.enumerated && (counts.processed ?? 0) >= enqueued) {
    state = "done";
    await db.update(syncJobs).set({ state, updatedAt: now() }).where(eq(syncJobs.id, jobId));
  }
  const params = job.params as JobParams;
  const plan = params.dry_run
    ? await db.select().from(jobPlan).where(eq(jobPlan.jobId, jobId)).orderBy(asc(jobPlan.id)).limit(200)
    : undefined;
  return {
    id: job.id,
    state,
    mode: params.mode,
    dry_run: params.dry_run,
    params,
    progress,
    enqueued,
    counts,
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

/**
 * Jobs that made no progress for `stallSeconds` are driven again, so a job survives the loss of
 * its queued messages (a restart of a local queue, a message dropped after its retries):
 * - still listing: its next page is queued again from the stored checkpoint;
 * - listed, but some queued records never came back: the job starts a fresh pass from its first
 *   page with its counters reset. The engine is idempotent, so records already synced come back
 *   `unchanged` and the final counts describe the last, complete pass.
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
    let message: JobPageMessage;
    if (progress.enumerated) {
      await db.delete(jobCounts).where(eq(jobCounts.jobId, job.id));
      await db.delete(jobPlan).where(eq(jobPlan.jobId, job.id));
      await db
        .update(syncJobs)
        .set({ progress: { restarts: restartsOf(job.progress) + 1 }, errorSample: [] })
        .where(eq(syncJobs.id, job.id));
      message = pageMessage(job.id, 0, 0);
    } else {
      const checkpoint = CheckpointSchema.safeParse(job.checkpoint);
      const at = checkpoint.success ? checkpoint.data : { step: 0, offset: 0, cursor: undefined };
      message = pageMessage(job.id, at.step, at.offset, at.cursor);
    }
    await db.update(syncJobs).set({ updatedAt: now() }).where(eq(syncJobs.id, job.id));
    await send([message]);
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
