import { salesforceCatchup } from "../cron/catchup.ts";
import { runJobPage as listJobPage } from "../jobs/jobs.ts";
import { toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { sendAll } from "../sync/enqueue.ts";
import type { DrainMessage, JobPageMessage, SyncMessage } from "../sync/messages.ts";
import { drainParked, scheduleDrain } from "../sync/parked.ts";
import type { Runtime } from "../sync/runtime.ts";
import { failJobPage, settle } from "./settle.ts";

/**
 * A job page: its records are listed and queued. Refused for good (a query the API rejects), the
 * job fails now and says why; otherwise a failed page is retried.
 */
export async function runJobPage(
  deps: SyncDeps,
  env: Env,
  runtime: Runtime,
  raw: Message<unknown>,
  job: JobPageMessage,
  log: Logger,
): Promise<void> {
  try {
    const done = await listJobPage(deps, env.CURSORS, runtime, job, (messages, delaySeconds) =>
      sendAll(env.JOB_QUEUE, messages, delaySeconds),
    );
    log.info("job page", { job_id: job.jobId, step: job.step, result: done });
    raw.ack();
  } catch (thrown) {
    const error = toSyncError(thrown);
    if (!error.retryable) await failJobPage(deps, raw, job, error, log);
    else await settle(deps, env, raw, job, [{ status: "retry", error }], log);
  }
}

/**
 * Change events were lost for an object (overflow, an expired replay id): its catch-up runs now
 * instead of at the next cron.
 */
export async function runImmediateCatchup(
  deps: SyncDeps,
  env: Env,
  runtime: Runtime,
  raw: Message<unknown>,
  message: SyncMessage,
  salesforceObject: string,
  reason: string,
  log: Logger,
) {
  const compiled = runtime.bySalesforceObject(salesforceObject);
  if (!compiled) {
    log.info("catch-up skipped: object not mapped", { object: salesforceObject });
    raw.ack();
    return;
  }
  try {
    const report = await salesforceCatchup(deps, env.CURSORS, compiled, {
      now: new Date(),
      send: (messages) => sendAll(env.SYNC_QUEUE, messages),
    });
    log.info("immediate catch-up done", { object: salesforceObject, reason, ...report });
    raw.ack();
  } catch (thrown) {
    await settle(deps, env, raw, message, [{ status: "retry", error: toSyncError(thrown) }], log);
  }
}

/**
 * The parked changes' drain: sent again if both APIs answer; while any still wait, the next drain
 * comes in a minute.
 */
export async function runDrain(deps: SyncDeps, env: Env, raw: Message<unknown>, message: DrainMessage, log: Logger) {
  try {
    const report = await drainParked(deps, env);
    log.info("parked changes drain", report);
    if (report.kind === "waiting" || (report.kind === "sent" && report.left > 0)) {
      await scheduleDrain(env, new Date(), message.dedupeKey);
    }
    raw.ack();
  } catch (thrown) {
    await settle(deps, env, raw, message, [{ status: "retry", error: toSyncError(thrown) }], log);
  }
}
