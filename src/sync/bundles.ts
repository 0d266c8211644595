import { z } from "zod";
import { packBySize } from "../lib/pack.ts";
import { jsonBytes } from "../lib/utf8.ts";
import { retryDelaySeconds } from "./backoff.ts";
import type { SalesforceChangeMessage } from "./messages.ts";

/**
 * Several change events in one queue message: the echoes of our own writes that one relay request
 * carried (a Bulk job's 2,000 creates come back as 2,000 events at once). Queued one per message,
 * each paid for a queue write, a delivery and an ack of its own, most of the cost of settling it.
 *
 * The consumer opens a bundle into one message per event (see openBundles), so each event is
 * routed, coalesced, acked or retried exactly as if it had come alone; once the batch is done,
 * closeBundle decides how the bundle ends: acked, after the events that asked for a retry are sent
 * again as a bundle of their own.
 */
export const EventBundleSchema = z.object({
  kind: z.literal("salesforce.changes"),
  /** Validated one by one when the bundle is opened: one bad event must not lose the others. */
  events: z.array(z.unknown()).min(1),
  /** Deliveries of these events so far, counting earlier bundles they were retried in (1 at first). */
  attempt: z.number().int().min(1),
});
export type EventBundle = z.infer<typeof EventBundleSchema>;

/** Events per bundle: a batch of 100 bundles stays a few thousand events. */
export const BUNDLE_MAX_EVENTS = 50;

/** Queues takes messages of up to 128 KB: a bundle's JSON stays below. */
export const BUNDLE_MAX_BYTES = 120_000;

/** A packed bundle and the size of its JSON, known from its events' sizes. */
export interface SizedBundle {
  body: EventBundle;
  bytes: number;
}

/**
 * Packs events into bundles of at most BUNDLE_MAX_EVENTS events and BUNDLE_MAX_BYTES of JSON. An event too large to share a bundle gets one of its own. Each event is
 * serialized once, to JSON, to size it (or sized by `sizeOf`, when the caller knows it already);
 * the bundle's size follows from its events' (a relay request of 1,000 echoes is a megabyte of
 * JSON, and serializing it twice cost more than the rest of the request).
 *
 * @example packBundles(echoes) // [{ body: { kind: "salesforce.changes", events: [...44], attempt: 1 }, bytes: 119_870 }, ...]
 */
export function packBundles(
  events: readonly SalesforceChangeMessage[],
  attempt = 1,
  sizeOf: (event: SalesforceChangeMessage) => number = jsonBytes,
): SizedBundle[] {
  const sized = events.map((event) => ({ event, bytes: sizeOf(event) }));
  const envelope = jsonBytes({ kind: "salesforce.changes", events: [], attempt });
  // Each event's share: its JSON and the comma before the next one.
  return packBySize(sized, BUNDLE_MAX_EVENTS, BUNDLE_MAX_BYTES - envelope, (item) => item.bytes + 1).map((group) => {
    const body: EventBundle = { kind: "salesforce.changes", events: group.map((item) => item.event), attempt };
    return { body, bytes: envelope + group.reduce((sum, item) => sum + item.bytes, group.length - 1) };
  });
}

/** What the consumer did with one event of a bundle. */
type Settled = { state: "pending" } | { state: "acked" } | { state: "retry"; delaySeconds: number };

/** A bundle delivered in a batch, with one message per event for the consumer. */
export interface OpenBundle {
  raw: Message<unknown>;
  bundle: EventBundle;
  /** Deliveries of its events so far: the bundle's rounds plus the queue's own redeliveries. */
  attempts: number;
  members: { message: Message<unknown>; settled: Settled }[];
}

/**
 * Splits a batch's messages into plain ones and the events of its bundles, each event a message of
 * its own whose ack and retry are recorded on the bundle (see closeBundles).
 */
export function openBundles(messages: readonly Message<unknown>[]): {
  messages: Message<unknown>[];
  bundles: OpenBundle[];
} {
  const out: Message<unknown>[] = [];
  const bundles: OpenBundle[] = [];
  for (const raw of messages) {
    const parsed = EventBundleSchema.safeParse(raw.body);
    if (!parsed.success) {
      out.push(raw);
      continue;
    }
    const attempts = parsed.data.attempt + raw.attempts - 1;
    const open: OpenBundle = { raw, bundle: parsed.data, attempts, members: [] };
    parsed.data.events.forEach((body, index) => {
      const entry: { settled: Settled } = { settled: { state: "pending" } };
      const message: Message<unknown> = {
        id: `${raw.id}:${index}`,
        timestamp: raw.timestamp,
        body,
        attempts,
        ack: () => {
          entry.settled = { state: "acked" };
        },
        retry: (options?: QueueRetryOptions) => {
          entry.settled = { state: "retry", delaySeconds: options?.delaySeconds ?? 0 };
        },
      };
      open.members.push(Object.assign(entry, { message }));
      out.push(message);
    });
    bundles.push(open);
  }
  return { messages: out, bundles };
}

/** What closing a bundle does: ack it, after sending its unsettled events again or giving them up. */
export type BundleClose =
  | { kind: "ack" }
  | { kind: "resend"; events: unknown[]; attempt: number; delaySeconds: number }
  | { kind: "give_up"; members: Message<unknown>[] };

/**
 * Decides what becomes of an opened bundle once its batch is done. Events neither acked nor
 * retried (the batch failed before settling them) are retried. Pure.
 *
 * @example closeBundle(open, 9) // { kind: "resend", events: [the retried ones], attempt: 2, delaySeconds: 5 }
 */
export function closeBundle(open: OpenBundle, maxDeliveries: number): BundleClose {
  const again = open.members.filter((m) => m.settled.state !== "acked");
  if (again.length === 0) return { kind: "ack" };
  if (open.attempts >= maxDeliveries) return { kind: "give_up", members: again.map((m) => m.message) };
  const events = again.map((m) => m.message.body);
  // An event left pending waits as a retried message would.
  const delays = again.map((m) =>
    m.settled.state === "retry" ? m.settled.delaySeconds : retryDelaySeconds(open.attempts, undefined),
  );
  return { kind: "resend", events, attempt: open.attempts + 1, delaySeconds: Math.max(...delays) };
}
