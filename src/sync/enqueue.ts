import { packBySize } from "../lib/pack.ts";
import { jsonBytes } from "../lib/utf8.ts";
import type { Db } from "../store/db.ts";
import { rememberKeys, seenKeys } from "../store/inbound-events.ts";
import { packBundles } from "./bundles.ts";
import type { SalesforceChangeMessage, SyncMessage } from "./messages.ts";

export interface EnqueueResult {
  enqueued: number;
  duplicates: number;
}

/** How enqueueNew queues what is new. */
export interface EnqueueOptions {
  /** Seconds a message waits in the queue before it is delivered, if any. */
  delayOf?: (message: SyncMessage) => number | undefined;
  /** Change events that travel together in bundles (see bundles.ts) instead of one per message. */
  bundle?: (message: SyncMessage) => message is SalesforceChangeMessage;
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
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  const seen = await seenKeys(
    db,
    messages.map((m) => m.dedupeKey),
  );
  const unique = new Map<string, SyncMessage>();
  for (const message of messages) if (!seen.has(message.dedupeKey)) unique.set(message.dedupeKey, message);
  const fresh = [...unique.values()];
  const delayOf = options.delayOf ?? (() => undefined);
  const sends: MessageSendRequest[] = [];
  /** Sizes known already (the bundles'), so they are not serialized again. */
  const known = new Map<MessageSendRequest, number>();
  /** Bundled events by the delay they wait. */
  const bundled = new Map<number, SalesforceChangeMessage[]>();
  for (const body of fresh) {
    const delaySeconds = delayOf(body) ?? 0;
    if (options.bundle?.(body)) {
      const events = bundled.get(delaySeconds) ?? [];
      events.push(body);
      bundled.set(delaySeconds, events);
      continue;
    }
    sends.push({ body, contentType: "json", ...(delaySeconds ? { delaySeconds } : {}) });
  }
  for (const [delaySeconds, events] of bundled) {
    for (const { body, bytes } of packBundles(events)) {
      const send: MessageSendRequest = { body, contentType: "json", ...(delaySeconds ? { delaySeconds } : {}) };
      known.set(send, bytes);
      sends.push(send);
    }
  }
  await sendInBatches(queue, sends, (send) => known.get(send) ?? jsonBytes(send.body));
  await rememberKeys(db, source, [...unique.keys()]);
  return { enqueued: fresh.length, duplicates: messages.length - fresh.length };
}

/** sendBatch takes at most 100 messages and 256 KB in all. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 240_000;

/**
 * Sends messages in order, in as few sendBatch calls as Queues' limits allow. `sizeOf` defaults to
 * the body's JSON size.
 */
export async function sendInBatches(
  queue: Queue,
  sends: readonly MessageSendRequest[],
  sizeOf: (send: MessageSendRequest) => number = (send) => jsonBytes(send.body),
): Promise<void> {
  for (const part of packBySize(sends, SEND_BATCH_MESSAGES, SEND_BATCH_BYTES, sizeOf)) await queue.sendBatch(part);
}

/** Sends plain (unbundled) messages, in as few sendBatch calls as the queue allows. */
export async function sendAll(queue: Queue, messages: readonly SyncMessage[], delaySeconds?: number): Promise<void> {
  await sendInBatches(
    queue,
    messages.map((body) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })),
  );
}
