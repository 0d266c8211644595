import { z } from "zod";
import { problemsOf } from "../sync/health.ts";
import type { HealthReadings } from "../sync/health-facts.ts";

/** KV key of the verdict of the cron's last run, which `GET /healthz` answers without recomputing it. */
export const HEALTH_SUMMARY_KEY = "health:summary";

export const HealthSummarySchema = z.object({
  at: z.string(),
  /** True when /api/v1/status would list no problem. */
  healthy: z.boolean(),
  problems: z.number(),
});
export type HealthSummary = z.infer<typeof HealthSummarySchema>;

/**
 * Reads the problems of /api/v1/status as the route does and stores the verdict, so the public
 * `/healthz` answers from one KV read: an uptime monitor polling it never calls Attio or
 * Salesforce, and nobody can make the Worker spend the CRMs' API limits through it.
 */
export async function storeHealthSummary(env: Env, readings: HealthReadings, now: Date): Promise<HealthSummary> {
  const problems = problemsOf(readings.facts);
  const summary = { at: now.toISOString(), healthy: problems.length === 0, problems: problems.length };
  await env.CURSORS.put(HEALTH_SUMMARY_KEY, JSON.stringify(summary));
  return summary;
}

/**
 * The verdict while the deployment does not run (setup, paused, or its mode unreadable): unhealthy,
 * its one known problem being the mode, stored without calling either CRM.
 */
export async function storeModeSummary(env: Env, mode: string, now: Date): Promise<HealthSummary & { mode: string }> {
  const summary = { at: now.toISOString(), healthy: false, problems: 1, mode };
  await env.CURSORS.put(HEALTH_SUMMARY_KEY, JSON.stringify(summary));
  return summary;
}
