import type { Db } from "../store/db.ts";
import { chunk } from "../store/db.ts";
import { rememberKeys, seenKeys } from "../store/inbound-events.ts";
import type { SyncMessage } from "./messages.ts";

export interface EnqueueResult {
  enqueued: number;
  duplicates: number;
}

/**
 * Enqueues the messages whose dedupe key was not enqueued before, then remembers their keys.
 * Keys are stored only after the send succeeded: if the send fails the sender retries and nothing
 * is lost; if remembering fails a retry enqueues again, which the consumer absorbs (it is idempotent).
 */
export async function enqueueNew(
  db: Db,
  queue: Queue,
  source: "attio" | "salesforce",
  messages: readonly SyncMessage[],
  /** Seconds a message waits in the queue before it is delivered, if any. */
  delayOf: (message: SyncMessage) => number | undefined = () => undefined,
): Promise<EnqueueResult> {
  const seen = await seenKeys(
    db,
    messages.map((m) => m.dedupeKey),
  );
  const unique = new Map<string, SyncMessage>();
  for (const message of messages) if (!seen.has(message.dedupeKey)) unique.set(message.dedupeKey, message);
  const fresh = [...unique.values()];
  // sendBatch takes at most 100 messages (and 256 KB; our messages are well under 2 KB each).
  for (const part of chunk(fresh, 100)) {
    await queue.sendBatch(
      part.map((body) => {
        const delaySeconds = delayOf(body);
        return { body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) };
      }),
    );
  }
  await rememberKeys(db, source, [...unique.keys()]);
  return { enqueued: fresh.length, duplicates: messages.length - fresh.length };
}
