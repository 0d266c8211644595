import { type EnvConfig, parseEnvConfig } from "../config/env.ts";
import { resumeStalledJobs } from "../jobs/jobs.ts";
import { toSyncError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { type PruneCounts, retentionPlan } from "../plan/retention.ts";
import { pruneFieldTimes } from "../store/field-times.ts";
import { pruneKeys } from "../store/inbound-events.ts";
import { purgeClosedIntents } from "../store/intents.ts";
import { pruneRetained } from "../store/retention.ts";
import { pruneRecentUpdates } from "../store/update-holds.ts";
import { resendWaiting } from "../sync/deferred.ts";
import { buildDeps, type SyncDeps } from "../sync/deps.ts";
import { loadDirectory } from "../sync/directory.ts";
import { sendAll } from "../sync/enqueue.ts";
import { readHealth } from "../sync/health-facts.ts";
import { sampleMetrics } from "../sync/metrics.ts";
import { currentMode, type Mode } from "../sync/mode.ts";
import { drainNow } from "../sync/parked.ts";
import { loadRuntime } from "../sync/runtime.ts";
import { runAlerts } from "./alerts.ts";
import { ATTIO_SCAN_BUDGET_MS, runCatchup } from "./catchup.ts";
import { storeHealthSummary, storeModeSummary } from "./health-summary.ts";

/** The longest `[breaker] window_minutes` allowed: window rows older than this are pruned. */
const RECENT_UPDATES_RETENTION_MS = 24 * 60 * 60_000;

/** Dedupe keys are kept this long: Attio retries a delivery for about 3 days, relays replay 72 h. */
export const DEDUPE_RETENTION_DAYS = 7;

/**
 * The Cron Trigger (every 5 minutes): the catch-up of every mapped object, the drain of parked
 * changes, then housekeeping (expired delivery keys, audit history and finished work past their
 * retention (RETENTION_DAYS, AUDIT_RETENTION_DAYS: src/plan/retention.ts), create intents closed
 * for a week, the mass-update breaker's window past a day) and the samples of the console's
 * 24-hour charts (sync/metrics.ts, kept two days). The run is recorded in
 * KV (`cron:last-run`) for /api/v1/status; then, with ALERT_WEBHOOK_URL set, the problems that
 * opened or cleared are alerted (alerts.ts). Unless the deployment runs (setup, paused:
 * sync/mode.ts), only the housekeeping: a catch-up would only queue changes to hold, and a drain
 * hold them again.
 */
export async function handleScheduled(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const config = parseEnvConfig(env);
  const log = createLogger(config.LOG_LEVEL, { cron: controller.cron, correlation_id: crypto.randomUUID() });
  const deps = buildDeps(env, config, log);
  const now = new Date(controller.scheduledTime);

  let mode: Mode | "unknown" = "unknown";
  try {
    mode = (await currentMode(deps.db, env.CURSORS)).mode;
  } catch (thrown) {
    // Unknown: nothing that leads to a write runs (D1 is down, so the catch-up could not run either).
    const error = toSyncError(thrown);
    log.error("mode cannot be read", { code: error.code, error: error.message });
  }
  const running = mode === "running";

  const skipped = { skipped: `mode ${mode}` };
  const catchup = running ? await catchupStep(deps, env, now) : skipped;
  // Changes parked during an outage are sent again once both APIs answer (a drain message also
  // comes every minute while they wait; this restarts its chain if that message was lost).
  const parked = running ? await drainStep(deps, env, now) : skipped;

  // Jobs whose queued messages were lost are driven again from their checkpoint.
  const resumedJobs = await resumeStalledJobs(
    deps.db,
    (messages) => sendAll(env.JOB_QUEUE, messages),
    config.JOB_STALL_SECONDS,
    now.getTime(),
  );
  // Records waiting on a reference that got linked, whose re-sync send had failed.
  const resentWaiting = await resendWaiting(deps, env.SYNC_QUEUE);
  const dedupeBefore = new Date(now.getTime() - DEDUPE_RETENTION_DAYS * 86_400_000).toISOString();
  const pruned = await pruneKeys(deps.db, dedupeBefore);
  const retention = await retentionStep(deps, config, now);
  const prunedIntents = await purgeClosedIntents(deps.db, dedupeBefore);
  // A field's event time matters while its change can still meet a conflict: days, not weeks.
  const prunedFieldTimes = await pruneFieldTimes(deps.db, now.getTime() - DEDUPE_RETENTION_DAYS * 86_400_000);
  // After the catch-up, so the lag sampled is this run's; in every mode (a paused lag still grows).
  const metrics = await reported(log, "metric samples", () => sampleMetrics(env, deps.db, now));
  const summary = {
    at: now.toISOString(),
    mode,
    pruned_dedupe_keys: pruned,
    pruned_audit_rows: "error" in retention ? 0 : (retention.audit_log ?? 0),
    pruned_retention: retention,
    pruned_create_intents: prunedIntents,
    pruned_field_times: prunedFieldTimes,
    metrics,
    resumed_jobs: resumedJobs,
    resent_waiting_references: resentWaiting,
    parked,
    catchup,
  };
  await env.CURSORS.put("cron:last-run", JSON.stringify(summary));
  // Mass-update window rows past any window count for nothing.
  await pruneRecentUpdates(deps.db, new Date(now.getTime() - RECENT_UPDATES_RETENTION_MS).toISOString());
  // Last, so a problem this run fixed (a catch-up, a stale cron) is not alerted as open. The problems
  // are read once (both APIs are called): for the alerts and for the verdict GET /healthz answers.
  let alerts: unknown = null;
  let health: unknown = null;
  try {
    if (!running) {
      // Housekeeping only: neither CRM is called while the deployment does not run, and its mode is
      // itself a problem (not_started, paused), so /healthz answers unhealthy without asking them.
      health = await storeModeSummary(env, mode, now);
      log.info("scheduled run done", { ...summary, alerts: skipped, health });
      return;
    }
    const readings = await readHealth(deps, env, now);
    alerts = await reported(log, "alerts", () => runAlerts(deps, config, readings, now));
    // When it cannot be stored, /healthz goes unhealthy as it ages.
    health = await reported(log, "health summary", () => storeHealthSummary(env, readings, now));
  } catch (thrown) {
    const error = toSyncError(thrown);
    health = { error: error.code, message: error.message };
    log.error("health cannot be read", { code: error.code, error: error.message });
  }
  log.info("scheduled run done", { ...summary, alerts, health });
}

/** The catch-up of every mapping; a failure is reported, and the next cron resumes from the stored cursors. */
async function catchupStep(deps: SyncDeps, env: Env, now: Date): Promise<unknown> {
  try {
    const runtime = await loadRuntime(deps, env.CURSORS);
    return await runCatchup(deps, env.CURSORS, runtime.mappings, {
      now,
      send: (messages) => sendAll(env.SYNC_QUEUE, messages),
      users: () => loadDirectory(deps, env.CURSORS, runtime.directoryOptions),
      scanUntil: Date.now() + ATTIO_SCAN_BUDGET_MS,
    });
  } catch (thrown) {
    // Housekeeping still runs.
    const error = toSyncError(thrown);
    deps.log.error("catch-up failed", { code: error.code, error: error.message });
    return { error: error.code, message: error.message };
  }
}

/**
 * History and finished work past their retention (src/plan/retention.ts), a bounded number of rows
 * per kind and run; a failure is reported, and the next run prunes what this one left.
 */
async function retentionStep(
  deps: SyncDeps,
  config: EnvConfig,
  now: Date,
): Promise<PruneCounts | { error: string; message: string }> {
  try {
    const settings = { retentionDays: config.RETENTION_DAYS, auditRetentionDays: config.AUDIT_RETENTION_DAYS };
    return await pruneRetained(deps.db, retentionPlan(now, settings));
  } catch (thrown) {
    const error = toSyncError(thrown);
    deps.log.error("retention failed", { code: error.code, error: error.message });
    return { error: error.code, message: error.message };
  }
}

async function drainStep(deps: SyncDeps, env: Env, now: Date): Promise<unknown> {
  try {
    return await drainNow(deps, env, now);
  } catch (thrown) {
    const error = toSyncError(thrown);
    deps.log.error("parked changes drain failed", { code: error.code, error: error.message });
    return { error: error.code, message: error.message };
  }
}

/** A step whose failure is logged and reported in the run's summary instead of ending the run. */
async function reported(log: Logger, what: string, step: () => Promise<unknown>): Promise<unknown> {
  try {
    return await step();
  } catch (thrown) {
    const error = toSyncError(thrown);
    log.error(`${what} failed`, { code: error.code, error: error.message });
    return { error: error.code, message: error.message };
  }
}
