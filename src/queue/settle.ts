import { type SyncError, toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import { recordFailure } from "../store/failures.ts";
import { failJob } from "../store/jobs.ts";
import type { ParkInput } from "../store/parked.ts";
import { parkReason, retryDelayFor } from "../sync/backoff.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { sendAll } from "../sync/enqueue.ts";
import { type JobPageMessage, type RecordsMessage, recordsMessages, type SyncMessage } from "../sync/messages.ts";
import { park } from "../sync/parked.ts";

/**
 * Settling a message from the outcomes of the records it touched: ack, retry with backoff, or a
 * failure row (a `records.sync` message record by record).
 */

/** A touched record the engine returned no outcome for (a bug): retried, never dropped. */
export function missingOutcome(): TouchOutcome {
  return { status: "retry", error: toSyncError(new Error("no outcome for a touched record")) };
}

/** Rounds after which a record of a `records.sync` message that still asks for a retry has failed. */
const MAX_RECORD_ROUNDS = 8;

/**
 * Settles a `records.sync` message record by record: the message is acked, failures are recorded per
 * record, and only the records that asked for a retry are sent again, in a new message delayed by
 * the longest wait they asked for. After MAX_RECORD_ROUNDS they are failures. Returns true (final).
 */
export async function settleRecords(
  deps: SyncDeps,
  env: Env,
  raw: Message<unknown>,
  message: RecordsMessage,
  recordIds: readonly string[],
  results: TouchOutcome[],
  log: Logger,
): Promise<boolean> {
  const retry: string[] = [];
  const retryErrors: SyncError[] = [];
  const parked: ParkInput[] = [];
  let synced = 0;
  for (const [index, result] of results.entries()) {
    const recordId = recordIds[index] ?? "";
    const reason = result.status === "retry" ? parkReason(result.error, message.attempt) : null;
    if (result.status === "retry" && reason) {
      // An API is out: the record waits, parked, without spending its rounds (a new first round).
      parked.push({
        key: `${message.side}:${message.mapping}:${recordId}`,
        queue: message.jobId ? "jobs" : "sync",
        message: { ...message, recordIds: [recordId], attempt: 1 },
        reason,
        errorMessage: `${result.error.code}: ${result.error.message}`,
      });
      continue;
    }
    if (result.status === "retry" && message.attempt < MAX_RECORD_ROUNDS) {
      retry.push(recordId);
      retryErrors.push(result.error);
      continue;
    }
    const failure =
      result.status === "failed"
        ? result
        : result.status === "retry"
          ? { error: result.error, attempted: undefined }
          : undefined;
    if (!failure) {
      synced++;
      continue;
    }
    if (result.status === "retry") results[index] = { status: "failed", error: result.error };
    await recordFailure(deps.db, {
      id: `event:${message.dedupeKey}:${recordId}`,
      messageKind: message.kind,
      message: { ...message, recordIds: [recordId] },
      error: failure.error,
      attempted: failure.attempted,
      attempts: message.attempt,
      correlationId: message.correlationId,
      recordKey: `${message.side}:${message.mapping}:${recordId}`,
    });
  }
  if (parked.length > 0) {
    await park(deps, env, parked, new Date());
    log.warn("records parked until the API answers", { records: parked.length, reason: parked[0]?.reason });
  }
  if (retry.length > 0) {
    const delaySeconds = retryDelayFor(retryErrors, message.attempt, Math.random());
    const again = recordsMessages(message.mapping, message.side, retry, message.reason, {
      ...(message.jobId ? { jobId: message.jobId } : {}),
      ...(message.dryRun ? { dryRun: true } : {}),
      ...(message.release ? { release: message.release } : {}),
      attempt: message.attempt + 1,
      correlationId: message.correlationId,
    });
    await sendAll(message.jobId ? env.JOB_QUEUE : env.SYNC_QUEUE, again, delaySeconds);
    log.warn("retrying records", { records: retry.length, attempt: message.attempt, delay_seconds: delaySeconds });
  }
  log.info("synced records", {
    mapping: message.mapping,
    side: message.side,
    synced,
    retried: retry.length,
    parked: parked.length,
  });
  raw.ack();
  return true;
}

/**
 * Acks, retries or records the failure of one message from the outcomes of the records it touched.
 * Returns whether the outcomes are final (not retried).
 */
export async function settle(
  deps: SyncDeps,
  env: Env,
  raw: Message<unknown>,
  message: SyncMessage,
  results: TouchOutcome[],
  log: Logger,
): Promise<boolean> {
  const retries = results.filter((r): r is Extract<TouchOutcome, { status: "retry" }> => r.status === "retry");
  const first = retries[0]?.error;
  if (first) {
    const deliveries = deps.config.QUEUE_MAX_RETRIES + 1;
    const reasons = retries.map((r) => parkReason(r.error, raw.attempts, deliveries));
    const reason = reasons[0];
    if (reason && reasons.every((r) => r !== null) && parkable(message)) {
      // An API is out: the change waits, parked, without spending its retries.
      log.warn("parked until the API answers", { code: first.code, error: first.message, reason });
      const errorMessage = `${first.code}: ${first.message}`;
      const queue = "jobId" in message && message.jobId ? "jobs" : "sync";
      await park(deps, env, [{ key: recordKey(message), queue, message, reason, errorMessage }], new Date());
      raw.ack();
      return false;
    }
    if (raw.attempts < deliveries) {
      const delaySeconds = retryDelayFor(
        retries.map((r) => r.error),
        raw.attempts,
        Math.random(),
      );
      log.warn("retrying", {
        code: first.code,
        error: first.message,
        attempts: raw.attempts,
        delay_seconds: delaySeconds,
      });
      raw.retry({ delaySeconds });
      return false;
    }
    // The last delivery: recorded below with the error itself, not left to the dead-letter queue.
    for (const [index, result] of results.entries()) {
      if (result.status === "retry") results[index] = { status: "failed", error: result.error };
    }
  }
  for (const result of results) {
    if (result.status === "failed") {
      log.error("failed permanently", { code: result.error.code, error: result.error.message });
      if (message.kind === "job.page") await failJob(deps.db, message.jobId, result.error);
      await recordFailure(deps.db, {
        id: `event:${message.dedupeKey}`,
        messageKind: message.kind,
        message,
        error: result.error,
        attempted: result.attempted,
        attempts: raw.attempts,
        correlationId: message.correlationId,
        recordKey: recordKey(message),
      });
    } else if (result.status === "done") {
      log.info("synced", { outcome: result.action });
    }
  }
  raw.ack();
  return true;
}

/** A job page refused for good: the job is marked failed, the page recorded as a failure, and acked. */
export async function failJobPage(
  deps: SyncDeps,
  raw: Message<unknown>,
  job: JobPageMessage,
  error: SyncError,
  log: Logger,
) {
  log.error("job page failed; the job is failed", { job_id: job.jobId, code: error.code, error: error.message });
  await failJob(deps.db, job.jobId, error);
  await recordFailure(deps.db, {
    id: `event:${job.dedupeKey}`,
    messageKind: job.kind,
    message: job,
    error,
    attempts: raw.attempts,
    correlationId: job.correlationId,
  });
  raw.ack();
}

/** Changes of records park; a job's page, a catch-up request and a drain retry as they are. */
function parkable(message: SyncMessage): boolean {
  switch (message.kind) {
    case "attio.record":
    case "salesforce.change":
    case "records.sync":
      return true;
    case "job.page":
    case "catchup.run":
    case "parked.drain":
      return false;
  }
}

export function recordKey(message: SyncMessage): string {
  switch (message.kind) {
    case "parked.drain":
      return "drain";
    case "job.page":
      return `job:${message.jobId}`;
    case "catchup.run":
      return `salesforce:${message.salesforceObject}:*`;
    case "attio.record":
      return `attio:${message.objectId}:${message.recordId}`;
    case "records.sync":
      return `${message.side}:${message.mapping}:${message.recordIds.length === 1 ? message.recordIds[0] : "*"}`;
    case "salesforce.change":
      return `salesforce:${message.header.entityName}:${[...message.header.recordIds].sort().join(",")}`;
  }
}
