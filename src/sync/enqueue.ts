import { SyncError } from "../lib/errors.ts";
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
  /** Bytes of a message's JSON when the caller measured it already, so it is not serialized again. */
  bytesOf?: (message: SyncMessage) => number | undefined;
  /**
   * Called with the messages found new, before they are sent: work on them (queue/inline.ts)
   * starts while they are queued. Nothing is lost if the send fails: the caller answers its sender
   * only once enqueueNew returned, so the sender delivers again.
   */
  whileSending?: (fresh: readonly SyncMessage[]) => void;
}

/**
 * Enqueues the messages whose dedupe key was not enqueued before, then remembers their keys.
 * Keys are stored only after the send succeeded: if the send fails the sender retries and nothing
 * is lost. When a send fails midway, the keys of the parts already sent are remembered before the
 * error goes on, so the sender's retry does not enqueue them a second time. If remembering fails
 * (or the Worker dies before it), a retry enqueues again, which the consumer absorbs (it is idempotent).
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
  const sizeOf = (message: SyncMessage) => options.bytesOf?.(message) ?? jsonBytes(message);
  const sends: MessageSendRequest[] = [];
  /** Sizes known already (the bundles'), so they are not serialized again. */
  const known = new Map<MessageSendRequest, number>();
  /** The dedupe keys each send carries. */
  const keysOf = new Map<MessageSendRequest, string[]>();
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
    const send: MessageSendRequest = { body, contentType: "json", ...(delaySeconds ? { delaySeconds } : {}) };
    const bytes = options.bytesOf?.(body);
    if (bytes !== undefined) known.set(send, bytes);
    keysOf.set(send, [body.dedupeKey]);
    sends.push(send);
  }
  for (const [delaySeconds, events] of bundled) {
    for (const { body, bytes } of packBundles(events, 1, sizeOf)) {
      const send: MessageSendRequest = { body, contentType: "json", ...(delaySeconds ? { delaySeconds } : {}) };
      known.set(send, bytes);
      keysOf.set(
        send,
        body.events.map((event) => (event as SalesforceChangeMessage).dedupeKey),
      );
      sends.push(send);
    }
  }
  if (fresh.length > 0) options.whileSending?.(fresh);
  try {
    await sendInBatches(queue, sends, (send) => known.get(send) ?? jsonBytes(send.body));
  } catch (error) {
    if (error instanceof PartlySent && error.sent.length > 0) {
      await rememberKeys(
        db,
        source,
        error.sent.flatMap((send) => keysOf.get(send) ?? []),
      ).catch(() => {});
    }
    throw error;
  }
  await rememberKeys(db, source, [...unique.keys()]);
  return { enqueued: fresh.length, duplicates: messages.length - fresh.length };
}

/** sendBatch takes at most 100 messages and 256 KB in all. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 240_000;

/** Attempts of one sendBatch call before the send gives up. */
const SEND_BATCH_ATTEMPTS = 3;

/**
 * A send that failed after some of its parts were enqueued: `sent` lists those, in order. A 503:
 * the queue is unavailable, and the sender should come back later.
 */
class PartlySent extends SyncError {
  readonly sent: readonly MessageSendRequest[];
  constructor(sent: readonly MessageSendRequest[], cause: unknown) {
    super("upstream_unavailable", `queue send failed after ${sent.length} messages were sent: ${String(cause)}`, {
      status: 503,
      cause,
      detail: { sent_messages: sent.length },
    });
    this.sent = sent;
  }
}

/**
 * Sends messages in order, in as few sendBatch calls as Queues' limits allow. `sizeOf` defaults to
 * the body's JSON size. A failing sendBatch is tried again, alone (the parts before it are never
 * sent twice), up to SEND_BATCH_ATTEMPTS times; then the send throws PartlySent, naming what was sent.
 */
export async function sendInBatches(
  queue: Queue,
  sends: readonly MessageSendRequest[],
  sizeOf: (send: MessageSendRequest) => number = (send) => jsonBytes(send.body),
): Promise<void> {
  const sent: MessageSendRequest[] = [];
  for (const part of packBySize(sends, SEND_BATCH_MESSAGES, SEND_BATCH_BYTES, sizeOf)) {
    for (let attempt = 1; ; attempt++) {
      try {
        await queue.sendBatch(part);
        break;
      } catch (error) {
        if (attempt >= SEND_BATCH_ATTEMPTS) throw new PartlySent(sent, error);
      }
    }
    sent.push(...part);
  }
}

/** Sends plain (unbundled) messages, in as few sendBatch calls as the queue allows. */
export async function sendAll(queue: Queue, messages: readonly SyncMessage[], delaySeconds?: number): Promise<void> {
  await sendInBatches(
    queue,
    messages.map((body) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })),
  );
}
