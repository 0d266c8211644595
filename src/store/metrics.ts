import { lt } from "drizzle-orm";
import type { Db } from "./db.ts";
import { metricSamples } from "./schema.ts";

/** One reading of one metric of one subject at one cron run. */
export interface MetricSample {
  metric: string;
  subject: string;
  at: string;
  value: number;
}

/**
 * Stores a cron run's readings in one statement (one JSON parameter). A run delivered twice at the
 * same scheduled time keeps the later reading: the sample is the same moment.
 */
export async function recordSamples(db: Db, samples: readonly MetricSample[]): Promise<void> {
  if (samples.length === 0) return;
  await db.$client
    .prepare(
      `insert into metric_samples (metric, subject, at, value)
         select json_extract(value, '$.metric'), json_extract(value, '$.subject'), json_extract(value, '$.at'),
                json_extract(value, '$.value')
           from json_each(?1) where true
       on conflict (metric, subject, at) do update set value = excluded.value`,
    )
    .bind(JSON.stringify(samples))
    .run();
}

/** Every sample since `since` (ISO), oldest first. */
export async function samplesSince(db: Db, since: string): Promise<MetricSample[]> {
  const { results } = await db.$client
    .prepare("select metric, subject, at, value from metric_samples where at >= ?1 order by at")
    .bind(since)
    .all<MetricSample>();
  return results;
}

/** Drops samples taken before `before` (ISO). */
export async function pruneSamples(db: Db, before: string): Promise<number> {
  const result = await db.delete(metricSamples).where(lt(metricSamples.at, before));
  return result.meta.changes ?? 0;
}
