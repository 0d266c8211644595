import { z } from "zod";
import { BUCKETS, type BucketName } from "../durable/limits.ts";
import type { Db } from "../store/db.ts";
import { type MetricSample, pruneSamples, recordSamples } from "../store/metrics.ts";
import { loadUsage } from "./budget.ts";
import { kvKeys } from "./catchup-state.ts";
import { readBacklog } from "./queue-depth.ts";

/**
 * The readings the cron samples every run for the console's 24-hour charts (writes and failures
 * need no sample: the audit trail and the failures are counted by time). The pure part turns what
 * was read into samples and samples into series; `sampleMetrics` reads and stores.
 */

/** Samples are kept two days: the charts show one, the second covers a day boundary and a late look. */
export const METRIC_RETENTION_HOURS = 48;

export const METRICS = [
  "lag_seconds",
  "salesforce_api_used",
  "salesforce_api_limit",
  "limiter_calls",
  "queue_backlog",
] as const;
export type Metric = (typeof METRICS)[number];

export interface Readings {
  /** The catch-up's last run per object (KV `catchup:last-run`), as stored: checked here. */
  catchup: Record<string, unknown> | null;
  usage: { used: number; limit: number } | null;
  /** Calls each limiter reserved since the last run. */
  calls: Partial<Record<BucketName, number>>;
  backlog: number | null;
}

const LagEntry = z.object({ side: z.enum(["attio", "salesforce"]), reconciledThrough: z.string() });

/**
 * One run's samples at `at`: each catch-up's lag (seconds its watermark is behind `at`, one
 * subject per side and object: `salesforce:Contact`), Salesforce's daily use and allocation, each
 * limiter's calls, the backlog estimate. What was not read is not sampled (a gap, not a zero).
 */
export function samplesOf(readings: Readings, at: Date): MetricSample[] {
  const when = at.toISOString();
  const sample = (metric: Metric, subject: string, value: number): MetricSample => ({
    metric,
    subject,
    at: when,
    value: Math.round(value),
  });
  const out: MetricSample[] = [];
  for (const [object, entry] of Object.entries(readings.catchup ?? {})) {
    const parsed = LagEntry.safeParse(entry);
    const through = parsed.success ? Date.parse(parsed.data.reconciledThrough) : Number.NaN;
    if (!parsed.success || Number.isNaN(through)) continue;
    out.push(sample("lag_seconds", `${parsed.data.side}:${object}`, Math.max(0, (at.getTime() - through) / 1000)));
  }
  if (readings.usage) {
    out.push(sample("salesforce_api_used", "salesforce", readings.usage.used));
    out.push(sample("salesforce_api_limit", "salesforce", readings.usage.limit));
  }
  for (const [name, calls] of Object.entries(readings.calls)) out.push(sample("limiter_calls", name, calls ?? 0));
  if (readings.backlog !== null) out.push(sample("queue_backlog", "all", readings.backlog));
  return out;
}

export interface MetricSeries {
  metric: string;
  subject: string;
  points: { at: string; value: number }[];
}

/** Samples (oldest first) as one series per metric and subject, in the order first seen. */
export function seriesOf(samples: readonly MetricSample[]): MetricSeries[] {
  const series = new Map<string, MetricSeries>();
  for (const s of samples) {
    const key = `${s.metric}\u0000${s.subject}`;
    let one = series.get(key);
    if (!one) {
      one = { metric: s.metric, subject: s.subject, points: [] };
      series.set(key, one);
    }
    one.points.push({ at: s.at, value: s.value });
  }
  return [...series.values()];
}

/**
 * Reads and stores this run's samples, then drops those past METRIC_RETENTION_HOURS. A source
 * that does not answer leaves its samples out; the rest are stored. Calls neither CRM.
 */
export async function sampleMetrics(env: Env, db: Db, now: Date): Promise<{ sampled: number; pruned: number }> {
  const orNull = <T>(read: Promise<T>) => read.catch(() => null);
  const [catchup, usage, backlog, calls] = await Promise.all([
    orNull(env.CURSORS.get<{ objects?: Record<string, unknown> }>(kvKeys.lastRun, "json")),
    orNull(loadUsage(env.CURSORS)),
    orNull(readBacklog(env)),
    limiterCalls(env),
  ]);
  const samples = samplesOf(
    { catchup: catchup?.objects ?? null, usage, calls, backlog: backlog?.estimate ?? null },
    now,
  );
  await recordSamples(db, samples);
  const pruned = await pruneSamples(db, new Date(now.getTime() - METRIC_RETENTION_HOURS * 3_600_000).toISOString());
  return { sampled: samples.length, pruned };
}

async function limiterCalls(env: Env): Promise<Partial<Record<BucketName, number>>> {
  const entries = await Promise.all(
    (Object.keys(BUCKETS) as BucketName[]).map(async (name) => {
      try {
        return [[name, await env.RATE_LIMITER.getByName(name).takeCallCount()] as const];
      } catch {
        return [];
      }
    }),
  );
  return Object.fromEntries(entries.flat());
}
