import { packBySize } from "../lib/pack.ts";
import { jsonBytes } from "../lib/utf8.ts";
import type { Db } from "../store/db.ts";
import { rememberKeys, seenKeys } from "../store/inbound-events.ts";
import { BUNDLE_CONTENT_TYPE, packBundles } from "./bundles.ts";
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
  /** Sizes known already (bounds of the bundles' serialized size), so they are not serialized again. */
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
      const send: MessageSendRequest = {
        body,
        contentType: BUNDLE_CONTENT_TYPE,
        ...(delaySeconds ? { delaySeconds } : {}),
      };
      known.set(send, bytes);
      sends.push(send);
    }
  }
  await sendInBatches(queue, sends, (send) => known.get(send) ?? jsonBytes(send.body), asJson);
  await rememberKeys(db, source, [...unique.keys()]);
  return { enqueued: fresh.length, duplicates: messages.length - fresh.length };
}

/** sendBatch takes at most 100 messages and 256 KB in all. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 240_000;

/**
 * The same message as JSON. A bundle's serialized size is bounded from its JSON for values JSON
 * carries; a -0 or a property set to undefined (which JSON writes as 0 or leaves out) escapes the
 * bound. Should the queue refuse a batch of v8 bundles, it is sent again as JSON, whose size is
 * known to fit.
 */
function asJson(send: MessageSendRequest): MessageSendRequest {
  return send.contentType === "json" ? send : { ...send, contentType: "json" };
}

/**
 * Sends messages in order, in as few sendBatch calls as Queues' limits allow. `sizeOf` defaults to
 * the body's JSON size. A batch the queue refuses is sent once more as `retryAs` makes it, if that
 * changes any of its messages; otherwise the refusal is thrown.
 */
export async function sendInBatches(
  queue: Queue,
  sends: readonly MessageSendRequest[],
  sizeOf: (send: MessageSendRequest) => number = (send) => jsonBytes(send.body),
  retryAs?: (send: MessageSendRequest) => MessageSendRequest,
): Promise<void> {
  const parts = packBySize(sends, SEND_BATCH_MESSAGES, SEND_BATCH_BYTES, sizeOf);
  for (const part of parts) {
    try {
      await queue.sendBatch(part);
    } catch (refused) {
      const again = retryAs ? part.map(retryAs) : part;
      if (again.every((send, index) => send === part[index])) throw refused;
      await queue.sendBatch(again);
    }
  }
}

/** Sends plain (unbundled) messages, in as few sendBatch calls as the queue allows. */
export async function sendAll(queue: Queue, messages: readonly SyncMessage[], delaySeconds?: number): Promise<void> {
  await sendInBatches(
    queue,
    messages.map((body) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })),
  );
}
