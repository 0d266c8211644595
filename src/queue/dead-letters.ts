import { recordJobOutcomes } from "../jobs/jobs.ts";
import { type SyncError, toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import { type Db, openDb } from "../store/db.ts";
import { recordFailure } from "../store/failures.ts";
import { failJob } from "../store/jobs.ts";
import { deadLetterDelaySeconds, QUEUE_DELIVERIES, retryDelaySeconds } from "../sync/backoff.ts";
import { closeBundle, type EventBundle, type OpenBundle } from "../sync/bundles.ts";
import { SyncMessageSchema } from "../sync/messages.ts";
import { recordKey } from "./settle.ts";

export async function closeBundles(bundles: readonly OpenBundle[], env: Env, log: Logger): Promise<void> {
  for (const open of bundles) {
    const close = closeBundle(open, QUEUE_DELIVERIES);
    try {
      if (close.kind === "resend") {
        const body: EventBundle = { kind: "salesforce.changes", events: close.events, attempt: close.attempt };
        await env.SYNC_QUEUE.send(body, { contentType: "json", delaySeconds: close.delaySeconds });
        log.warn("retrying bundled events", { events: close.events.length, delay_seconds: close.delaySeconds });
      } else if (close.kind === "give_up") {
        const stuck = await recordDeadLetters(close.members, env, log);
        if (stuck) throw stuck;
      }
      open.raw.ack();
    } catch (thrown) {
      // The bundle comes back whole: its events already settled are settled again, harmlessly.
      log.error("bundle could not be closed, delivered again", { error: toSyncError(thrown).message });
      open.raw.retry({ delaySeconds: retryDelaySeconds(open.raw.attempts, undefined) });
    }
  }
}

/**
 * Records messages that ran out of retries (from the dead-letter queue, or a bundle's spent events)
 * as failure rows, each acked only once its row is stored. One that cannot be recorded (D1 down) is
 * retried with a long delay, never dropped; the first such error is returned (null when all were).
 */
export async function recordDeadLetters(
  messages: readonly Message<unknown>[],
  env: Env,
  log: Logger,
): Promise<SyncError | null> {
  const db = openDb(env.DB);
  let stuck: SyncError | null = null;
  for (const raw of messages) {
    try {
      await recordDeadLetter(db, raw, log);
      raw.ack();
    } catch (thrown) {
      const error = toSyncError(thrown);
      stuck ??= error;
      const delaySeconds = deadLetterDelaySeconds(raw.attempts);
      log.error("dead letter not recorded, delivered again", {
        message_id: raw.id,
        code: error.code,
        error: error.message,
        delay_seconds: delaySeconds,
      });
      raw.retry({ delaySeconds });
    }
  }
  return stuck;
}

/**
 * A dead letter reached the dead-letter queue because its consumer invocation failed on every
 * delivery (a change that failed on its last delivery is recorded there with its own error).
 */
const DEAD_LETTER_ERROR =
  "retries exhausted: every delivery's consumer invocation failed (the Worker's logs carry the error)";

async function recordDeadLetter(db: Db, raw: Message<unknown>, log: Logger): Promise<void> {
  const parsed = SyncMessageSchema.safeParse(raw.body);
  const message = parsed.success ? parsed.data : undefined;
  const error = toSyncError(new Error(DEAD_LETTER_ERROR));
  await recordFailure(db, {
    id: message ? `event:${message.dedupeKey}` : `msg:${raw.id}`,
    messageKind: message?.kind ?? "invalid",
    message: raw.body,
    error,
    attempts: raw.attempts,
    correlationId: message?.correlationId ?? raw.id,
    ...(message ? { recordKey: recordKey(message) } : {}),
  });
  log.error("dead letter recorded as failure", { message_id: raw.id, correlation_id: message?.correlationId });
  if (message?.kind === "job.page") {
    await failJob(db, message.jobId, { code: "internal", message: "a page of the job ran out of retries" });
  }
  // A job's record that ran out of retries is counted as failed, so the job can still finish.
  if (message && "jobId" in message && message.jobId) {
    const outcome: TouchOutcome = { status: "failed", error };
    const records =
      message.kind === "attio.record"
        ? [{ mapping: "", side: "attio" as const, recordId: message.recordId, outcome }]
        : message.kind === "salesforce.change"
          ? message.header.recordIds.map((recordId) => ({
              mapping: "",
              side: "salesforce" as const,
              recordId,
              outcome,
            }))
          : message.kind === "records.sync"
            ? message.recordIds.map((recordId) => ({
                mapping: message.mapping,
                side: message.side,
                recordId,
                outcome,
              }))
            : [];
    await recordJobOutcomes(db, message.jobId, records);
  }
}
