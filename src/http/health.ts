import { Hono } from "hono";
import { HEALTH_SUMMARY_KEY, HealthSummarySchema } from "../cron/health-summary.ts";
import { VERSION } from "../lib/version.ts";
import { CRON_STALE_MS } from "../sync/health.ts";
import type { AppEnv } from "./types.ts";

/**
 * `GET /healthz`: liveness without auth, for uptime monitors. `healthy` is the verdict of the
 * cron's last run (cron/health-summary.ts: no problem in /api/v1/status), and false once that run
 * is older than CRON_STALE_MS. It says nothing more, since anyone may call it, and costs one KV
 * read: no call to Attio or Salesforce, so probing it often spends none of their API limits.
 */
export const health = new Hono<AppEnv>().get("/healthz", async (c) =>
  c.json({ ok: true, version: VERSION, healthy: await isHealthy(c.env, Date.now()) }),
);

async function isHealthy(env: Env, now: number): Promise<boolean> {
  try {
    const summary = HealthSummarySchema.safeParse(await env.CURSORS.get(HEALTH_SUMMARY_KEY, "json"));
    return summary.success && summary.data.healthy && now - Date.parse(summary.data.at) <= CRON_STALE_MS;
  } catch {
    // KV that does not answer is not healthy; /api/v1/status says which binding.
    return false;
  }
}
