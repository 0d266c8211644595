import { parseEnvConfig } from "../config/env.ts";
import { createLogger } from "../lib/log.ts";
import { openDb } from "../store/db.ts";
import { pruneKeys } from "../store/inbound-events.ts";

/** Dedupe keys are kept this long: Attio retries a delivery for about 3 days, relays replay 72 h. */
export const DEDUPE_RETENTION_DAYS = 7;

/**
 * The Cron Trigger (every 5 minutes). Today it prunes expired delivery keys and records the run
 * in KV (`cron:last-run`); the catch-up of missed changes joins it with the catch-up issue.
 */
export async function handleScheduled(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const config = parseEnvConfig(env);
  const log = createLogger(config.LOG_LEVEL, { cron: controller.cron, correlation_id: crypto.randomUUID() });
  const now = new Date(controller.scheduledTime);
  const before = new Date(now.getTime() - DEDUPE_RETENTION_DAYS * 86_400_000).toISOString();
  const pruned = await pruneKeys(openDb(env.DB), before);
  await env.CURSORS.put("cron:last-run", JSON.stringify({ at: now.toISOString(), pruned_dedupe_keys: pruned }));
  log.info("scheduled run done", { pruned_dedupe_keys: pruned });
}
