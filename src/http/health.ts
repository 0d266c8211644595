import { Hono } from "hono";
import { VERSION } from "../lib/version.ts";
import { openAlerts } from "../store/alerts.ts";
import { openDb } from "../store/db.ts";
import { CRON_STALE_MS } from "../sync/health.ts";
import type { AppEnv } from "./types.ts";

/**
 * `GET /healthz`: liveness without auth, for uptime monitors. `healthy` is true when the cron ran
 * within CRON_STALE_MS and its last run left no problem of /api/v1/status open (the `alerts`
 * table it keeps, alerts URL or not). It says nothing more, since anyone may call it, and reads
 * only what the cron stored: two cheap reads, no call to Attio or Salesforce, so probing it often
 * costs the CRMs nothing. The problems themselves are in GET /api/v1/status.
 */
export const health = new Hono<AppEnv>().get("/healthz", async (c) =>
  c.json({ ok: true, version: VERSION, healthy: await isHealthy(c.env, Date.now()) }),
);

async function isHealthy(env: Env, now: number): Promise<boolean> {
  try {
    const lastRun = await env.CURSORS.get<{ at?: unknown }>("cron:last-run", "json");
    if (typeof lastRun?.at !== "string" || now - Date.parse(lastRun.at) > CRON_STALE_MS) return false;
    return (await openAlerts(openDb(env.DB))).length === 0;
  } catch {
    // A binding that does not answer is not healthy; which one is for /api/v1/status to say.
    return false;
  }
}
