import { and, eq, gte, isNotNull, isNull, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import type { Db } from "./db.ts";
import {
  type JobCheckpoint,
  JobCheckpointSchema,
  type JobProgress,
  JobProgressSchema,
  type StoredJobParams,
  StoredJobParamsSchema,
} from "./job-schemas.ts";
import { jobMatchKeys, jobRecords, syncJobs } from "./schema.ts";

/**
 * Sync jobs (`sync_jobs`), the records each one queued with their outcomes (`job_records`) and
 * its match index (`job_match_keys`). Work that scales with a job's page goes through raw
 * statements reading one JSON parameter (see AGENTS.md).
 */

/** A job as stored, its JSON columns parsed. */
export type Job = typeof syncJobs.$inferSelect;
export type JobKind = Job["kind"];

/** Rows per statement: keeps each bound JSON parameter far below D1's 2 MB value limit. */
const ROWS_PER_STATEMENT = 500;

/** Record ids per insert of a job's queued records: one message's worth (MAX_RECORDS_PER_MESSAGE). */
const QUEUED_PER_STATEMENT = 2_000;

/** A new job, queued; its checkpoint is where listing starts. */
export async function insertJob(
  db: Db,
  job: { id: string; kind: JobKind; params: StoredJobParams; checkpoint: JobCheckpoint; progress: JobProgress },
): Promise<void> {
  await db.insert(syncJobs).values({ ...job, state: "queued", errorSample: [] });
}

/** Whether any sync job is queued or running (its pages may be writing records now). */
export async function anyJobInFlight(db: Db): Promise<boolean> {
  const row = await db.$client
    .prepare("select 1 as one from sync_jobs where state in ('queued', 'running') limit 1")
    .first<{ one: number }>();
  return row !== null;
}

export async function loadJob(db: Db, jobId: string): Promise<Job | undefined> {
  const row = await db.select().from(syncJobs).where(eq(syncJobs.id, jobId)).get();
  return row ? parseJob(row) : undefined;
}

/** The JSON columns checked on the way out; an unreadable checkpoint reads as none (listing restarts). */
function parseJob(row: Job): Job {
  const checkpoint = JobCheckpointSchema.safeParse(row.checkpoint);
  return {
    ...row,
    params: StoredJobParamsSchema.parse(row.params),
    progress: JobProgressSchema.parse(row.progress),
    checkpoint: checkpoint.success ? checkpoint.data : null,
  };
}

/** Changes a job's state, progress or checkpoint; any change is progress (`updated_at`). */
export async function updateJob(
  db: Db,
  jobId: string,
  set: Partial<Pick<Job, "state" | "progress" | "checkpoint">>,
): Promise<void> {
  await db
    .update(syncJobs)
    .set({ ...set, updatedAt: now() })
    .where(eq(syncJobs.id, jobId));
}

/** Notes progress on a job without changing it (`updated_at`): the stall recovery leaves it be. */
export async function touchJob(db: Db, jobId: string): Promise<void> {
  await updateJob(db, jobId, {});
}

/** Cancels a queued or running job; false when there is none. */
export async function cancelJob(db: Db, jobId: string): Promise<boolean> {
  const result = await db
    .update(syncJobs)
    .set({ state: "cancelled", updatedAt: now() })
    .where(sql`${syncJobs.id} = ${jobId} and ${syncJobs.state} in ('queued', 'running')`);
  return (result.meta.changes ?? 0) > 0;
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
      // Put first: json_insert at '$[0]' would keep an existing first entry (a record's error) instead.
      errorSample: sql`(select json_group_array(json(e.value)) from (
        select -1 as k, ${JSON.stringify(sample)} as value
        union all select key, value from json_each(${syncJobs.errorSample}) order by k) e)`,
      updatedAt: now(),
    })
    .where(sql`${syncJobs.id} = ${jobId} and ${syncJobs.state} in ('queued', 'running')`);
  return (result.meta.changes ?? 0) > 0;
}

/**
 * Marks a running job `done` once its listing is complete (`enumerated`) and every record it
 * queued has a final outcome; returns whether it did. One statement, so whichever of the last
 * outcomes and the end of listing comes second finishes the job. The records still waiting are
 * looked up per step (each step's `mapping` and `side` seek the outcome index), not by scanning
 * the job's rows: it runs after every batch of outcomes.
 */
export async function finishJobIfComplete(db: Db, jobId: string): Promise<boolean> {
  const result = await db.run(sql`update sync_jobs set state = 'done', updated_at = ${now()}
    where id = ${jobId} and state = 'running' and progress ->> '$.enumerated'
      and not exists (
        select 1 from json_each(sync_jobs.params, '$.steps') s cross join job_records r
        where r.job_id = sync_jobs.id and r.mapping = s.value ->> '$.mapping' and r.side = s.value ->> '$.side'
          and r.outcome is null)`);
  return (result.meta.changes ?? 0) > 0;
}

/** Queued or running jobs that made no progress since `before` (ISO time), at most `limit`. */
export async function stalledJobs(db: Db, before: string, limit: number): Promise<Job[]> {
  const rows = await db
    .select()
    .from(syncJobs)
    .where(sql`${syncJobs.state} in ('queued', 'running') and ${syncJobs.updatedAt} < ${before}`)
    .limit(limit);
  return rows.map(parseJob);
}

/** Jobs that failed since `since` (ISO time), unless a job started after them has finished since. */
export async function recentFailedJobs(db: Db, since: string, limit: number) {
  return db
    .select({ id: syncJobs.id, kind: syncJobs.kind, updatedAt: syncJobs.updatedAt, sample: syncJobs.errorSample })
    .from(syncJobs)
    .where(
      and(
        eq(syncJobs.state, "failed"),
        gte(syncJobs.updatedAt, since),
        sql`not exists (select 1 from sync_jobs later where later.state = 'done' and later.created_at > ${syncJobs.createdAt})`,
      ),
    )
    .limit(limit);
}

/** Rows for records a job queued (a record listed twice keeps its one row). One statement per chunk. */
export async function addJobRecords(
  db: Db,
  jobId: string,
  mapping: string,
  side: "attio" | "salesforce",
  ids: readonly string[],
): Promise<void> {
  for (const part of chunk(ids, QUEUED_PER_STATEMENT)) {
    await db.run(sql`insert or ignore into job_records (job_id, mapping, side, record_id)
      select ${jobId}, ${mapping}, ${side}, value from json_each(${JSON.stringify(part)})`);
  }
}

/** One record's final outcome on its job: its counter, what was done (or the error code), a dry run's plan. */
export interface JobRecordOutcome {
  mapping: string;
  side: "attio" | "salesforce";
  recordId: string;
  outcome: string;
  action: string;
  detail: Record<string, unknown> | null;
}

/**
 * Stores records' final outcomes. A record's row keeps its first final outcome: a redelivered
 * message, whose records now come back `unchanged`, neither counts them twice nor hides what the
 * job did.
 */
export async function setJobRecordOutcomes(
  db: Db,
  jobId: string,
  outcomes: readonly JobRecordOutcome[],
): Promise<void> {
  const rows = outcomes.map((o) => ({
    m: o.mapping,
    s: o.side,
    r: o.recordId,
    o: o.outcome,
    a: o.action,
    d: o.detail,
  }));
  for (const part of chunk(rows, ROWS_PER_STATEMENT)) {
    await db.run(sql`insert into job_records (job_id, mapping, side, record_id, outcome, action, detail)
      select ${jobId}, value ->> '$.m', value ->> '$.s', value ->> '$.r', value ->> '$.o', value ->> '$.a', value -> '$.d'
      from jsonb_each(${JSON.stringify(part)}) where true
      on conflict (job_id, side, record_id) do update
      set outcome = excluded.outcome, action = excluded.action, detail = nullif(excluded.detail, 'null')
      where job_records.outcome is null`);
  }
}

/** Adds errors to the job's sample, which keeps the first 20. */
export async function addJobErrors(
  db: Db,
  jobId: string,
  samples: readonly { record: string; code: string; message: string }[],
): Promise<void> {
  for (const sample of samples) {
    await db
      .update(syncJobs)
      .set({ errorSample: sql`json_insert(${syncJobs.errorSample}, '$[#]', json(${JSON.stringify(sample)}))` })
      .where(sql`${syncJobs.id} = ${jobId} and json_array_length(${syncJobs.errorSample}) < 20`);
  }
}

/** Per mapping, side and outcome (null while queued): how many of the job's records. */
export async function jobTally(db: Db, jobId: string) {
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

/** A dry run's first `limit` planned records, by mapping, side and record. */
export async function jobPlan(db: Db, jobId: string, limit: number) {
  return db
    .select()
    .from(jobRecords)
    .where(and(eq(jobRecords.jobId, jobId), isNotNull(jobRecords.detail)))
    .orderBy(jobRecords.mapping, jobRecords.side, jobRecords.recordId)
    .limit(limit);
}

/** The job's records still without an outcome, at most `limit`. */
export async function pendingJobRecords(db: Db, jobId: string, limit: number) {
  return db
    .select({ mapping: jobRecords.mapping, side: jobRecords.side, recordId: jobRecords.recordId })
    .from(jobRecords)
    .where(and(eq(jobRecords.jobId, jobId), isNull(jobRecords.outcome)))
    .orderBy(jobRecords.mapping, jobRecords.side, jobRecords.recordId)
    .limit(limit);
}

/** Adds `[key, salesforceId]` entries to the job's match index of `mapping`. */
export async function addMatchKeys(
  db: Db,
  jobId: string,
  mapping: string,
  entries: readonly (readonly [string, string])[],
): Promise<void> {
  for (const part of chunk(entries, ROWS_PER_STATEMENT)) {
    await db.run(sql`insert or ignore into job_match_keys (job_id, mapping, key, sf_id)
      select ${jobId}, ${mapping}, value ->> '$[0]', value ->> '$[1]'
      from jsonb_each(${JSON.stringify(part)})`);
  }
}

/** Salesforce ids in the job's match index under any of `keys`. */
export async function lookupMatchIndex(db: Db, jobId: string, mapping: string, keys: readonly string[]) {
  const ids: string[] = [];
  for (const part of chunk(keys, ROWS_PER_STATEMENT)) {
    const rows = await db
      .select({ sfId: jobMatchKeys.sfId })
      .from(jobMatchKeys)
      .where(
        and(
          eq(jobMatchKeys.jobId, jobId),
          eq(jobMatchKeys.mapping, mapping),
          sql`${jobMatchKeys.key} in (select value from json_each(${JSON.stringify(part)}))`,
        ),
      );
    ids.push(...rows.map((r) => r.sfId));
  }
  return [...new Set(ids)];
}

function now(): string {
  return new Date().toISOString();
}

/** The newest jobs first (catch-up runs are jobs too, kept out unless asked for). */
export async function recentJobIds(db: Db, limit: number): Promise<string[]> {
  const { results } = await db.$client
    .prepare("select id from sync_jobs where kind != 'catchup' order by created_at desc, id limit ?")
    .bind(limit)
    .all<{ id: string }>();
  return results.map((row) => row.id);
}
