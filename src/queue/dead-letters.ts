import { recordJobOutcomes } from "../jobs/jobs.ts";
import { toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import { openDb } from "../store/db.ts";
import { recordFailure } from "../store/failures.ts";
import { failJob } from "../store/jobs.ts";
import { retryDelaySeconds } from "../sync/backoff.ts";
import { closeBundle, type EventBundle, type OpenBundle } from "../sync/bundles.ts";
import { SyncMessageSchema } from "../sync/messages.ts";
import { recordKey } from "./settle.ts";

/** Deliveries of a bundled event before it is given up as a dead letter: the queue's own 1 + max_retries. */
const MAX_BUNDLE_DELIVERIES = 9;

export async function closeBundles(bundles: readonly OpenBundle[], env: Env, log: Logger): Promise<void> {
  for (const open of bundles) {
    const close = closeBundle(open, MAX_BUNDLE_DELIVERIES);
    try {
      if (close.kind === "resend") {
        const body: EventBundle = { kind: "salesforce.changes", events: close.events, attempt: close.attempt };
        await env.SYNC_QUEUE.send(body, { contentType: "json", delaySeconds: close.delaySeconds });
        log.warn("retrying bundled events", { events: close.events.length, delay_seconds: close.delaySeconds });
      } else if (close.kind === "give_up") {
        await recordDeadLetters(close.members, env, log);
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
 * as failure rows and acks them, so nothing that failed is ever silently gone.
 */
export async function recordDeadLetters(messages: readonly Message<unknown>[], env: Env, log: Logger): Promise<void> {
  const db = openDb(env.DB);
  for (const raw of messages) {
    const parsed = SyncMessageSchema.safeParse(raw.body);
    const message = parsed.success ? parsed.data : undefined;
    await recordFailure(db, {
      id: message ? `event:${message.dedupeKey}` : `msg:${raw.id}`,
      messageKind: message?.kind ?? "invalid",
      message: raw.body,
      error: toSyncError(new Error("retries exhausted")),
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
      const outcome: TouchOutcome = { status: "failed", error: toSyncError(new Error("retries exhausted")) };
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
    raw.ack();
  }
}
