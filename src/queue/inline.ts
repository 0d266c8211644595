import { toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { openDb } from "../store/db.ts";
import { markHandledInline } from "../store/inbound-events.ts";
import type { AttioChangeMessage, SalesforceChangeMessage, SyncMessage } from "../sync/messages.ts";
import { handleQueueBatch } from "./consumer.ts";
import { backupDelay } from "./inline-backup.ts";

/**
 * The live fast path (docs/ARCHITECTURE.md, "Performance short-cuts"; opt-in, LIVE_SYNC_INLINE=on):
 * a webhook that brings a person's change syncs it in its own invocation (ctx.waitUntil, started
 * while its backup is being queued) instead of waiting for the queue to deliver it. The queue's delivery and a busy consumer's backlog were most of a live
 * edit's latency beyond its two API round trips (docs/BENCHMARKS.md).
 *
 * Nothing is lost if that run dies: the change is queued, as always (the webhook answers only once
 * it is), but as a backup delivered INLINE_BACKUP_DELAY_SECONDS later; the run starts while it is sent. A run that settles its messages records them as
 * handled (inbound_events.handled_inline_at), and the backup is then acked unread; otherwise the
 * backup syncs the change as any queued message would. A message the run wants retried is queued
 * at once as a plain message (the queue's retry policy takes over), and also counts as handled. Switch: LIVE_SYNC_INLINE; the
 * choice of messages and the backups' side are in inline-backup.ts.
 */

/**
 * Milliseconds an inline run waits for a record another run holds (most often the echo of a write
 * a moment ago), asking again after 250 ms, 500 ms and 1 s. Past that, under contention, the change
 * goes through the queue, which coalesces the changes of a busy record into one run.
 */
const INLINE_LEASE_WAIT_MS = 2_000;

/** How a message of an inline run was settled by the consumer. */
type Settled = { state: "pending" } | { state: "acked" } | { state: "retry" };

/**
 * Syncs `messages` (those markInline marked and enqueueNew found new) through the queue consumer,
 * as one batch of the live queue, then records what it settled. Never throws: the backups remain.
 */
export async function syncInline(env: Env, messages: readonly SyncMessage[], log: Logger): Promise<void> {
  const live = messages.filter((message) => backupDelay(message) !== undefined);
  if (live.length === 0) return;
  const settled = new Map<SyncMessage, Settled>();
  try {
    await handleQueueBatch(inlineBatch(live, settled), env, { leaseWaitMs: INLINE_LEASE_WAIT_MS });
    // A change that must wait goes to the queue at once, as it would have without this path: the
    // queue's own retry policy (backoff, leases, parking) then applies to it from its first delivery.
    const retries = live.flatMap((message) =>
      settled.get(message)?.state === "retry" ? [{ body: withoutMark(message), contentType: "json" as const }] : [],
    );
    if (retries.length > 0) await env.SYNC_QUEUE.sendBatch(retries);
    const done = live.filter((message) => settled.get(message)?.state !== "pending");
    await markHandledInline(
      openDb(env.DB),
      done.map((message) => ({
        key: message.dedupeKey,
        source: message.kind === "attio.record" ? ("attio" as const) : ("salesforce" as const),
      })),
    );
    log.debug("synced inline", { messages: live.length, handled: done.length, retried: retries.length });
  } catch (thrown) {
    const error = toSyncError(thrown);
    // The backups are still queued: they sync what this run did not.
    log.warn("inline sync failed: the queued backups will sync the changes", {
      code: error.code,
      error: error.message,
    });
  }
}

/**
 * A batch of the live queue holding `messages`, whose ack and retry are recorded in `settled`.
 * The messages go without their backup mark: the consumer would look for a handled mark in vain.
 */
function inlineBatch(
  messages: readonly SyncMessage[],
  settled: Map<SyncMessage, Settled>,
): Pick<MessageBatch<unknown>, "queue" | "messages"> {
  const timestamp = new Date();
  const wrapped = messages.map((message): Message<unknown> => {
    settled.set(message, { state: "pending" });
    return {
      id: `inline:${message.dedupeKey}`,
      timestamp,
      body: withoutMark(message),
      attempts: 1,
      ack: () => settled.set(message, { state: "acked" }),
      retry: () => settled.set(message, { state: "retry" }),
    };
  });
  return {
    queue: "attio-sfdc-sync",
    messages: wrapped,
  };
}

/** The message as the webhook would have queued it without the fast path. */
function withoutMark(message: SyncMessage): SyncMessage {
  if (!("inlineBackup" in message)) return message;
  const { inlineBackup: _, ...rest } = message as AttioChangeMessage | SalesforceChangeMessage;
  return rest;
}
