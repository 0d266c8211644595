import { describe, expect, it } from "vitest";
import {
  BUNDLE_MAX_BYTES,
  BUNDLE_MAX_EVENTS,
  closeBundle,
  type EventBundle,
  openBundles,
  packBundles,
} from "../../../src/sync/bundles.ts";
import { internalSalesforceMessage, type SalesforceChangeMessage } from "../../../src/sync/messages.ts";

function event(n: number, description = ""): SalesforceChangeMessage {
  return { ...internalSalesforceMessage("Account", `001${n}`), fields: { Description: description } };
}

function delivered(body: unknown, attempts = 1, id = "bundle-1"): Message<unknown> {
  return { id, timestamp: new Date(), body, attempts, ack() {}, retry() {} };
}

describe("packBundles", () => {
  it("puts at most BUNDLE_MAX_EVENTS events in a bundle, in order", () => {
    const events = Array.from({ length: 120 }, (_, i) => event(i));
    const bundles = packBundles(events).map((b) => b.body);
    expect(bundles.map((b) => b.events.length)).toEqual([BUNDLE_MAX_EVENTS, BUNDLE_MAX_EVENTS, 20]);
    expect(bundles.flatMap((b) => b.events)).toEqual(events);
    expect(bundles.every((b) => b.kind === "salesforce.changes" && b.attempt === 1)).toBe(true);
  });

  it("knows each bundle's JSON size (UTF-8) from its events' sizes, without serializing the bundle", () => {
    const events = [event(1, "Zürich – 東京 😀"), event(2), event(3, "x".repeat(300))];
    const [sized] = packBundles(events, 3);
    expect(sized?.bytes).toBe(new TextEncoder().encode(JSON.stringify(sized?.body)).length);
  });

  it("keeps every bundle's JSON under BUNDLE_MAX_BYTES, counting UTF-8 bytes; a huge event goes alone", () => {
    const wide = "é".repeat(25_000); // 50,000 bytes of UTF-8 in 25,000 characters
    const huge = "x".repeat(BUNDLE_MAX_BYTES);
    const bundles = packBundles([event(1, wide), event(2, wide), event(3, wide), event(4, huge), event(5)]).map(
      (b) => b.body,
    );
    expect(bundles.map((b) => b.events.length)).toEqual([2, 1, 1, 1]);
    for (const bundle of bundles.slice(0, 2)) {
      expect(new TextEncoder().encode(JSON.stringify(bundle)).length).toBeLessThanOrEqual(BUNDLE_MAX_BYTES);
    }
  });
});

describe("openBundles and closeBundle", () => {
  const bundle: EventBundle = { kind: "salesforce.changes", events: [event(1), event(2), event(3)], attempt: 2 };

  it("opens a bundle into one message per event and leaves other messages as they are", () => {
    const plain = delivered({ kind: "catchup.run" }, 1, "plain");
    const { messages, bundles } = openBundles([plain, delivered(bundle, 3)]);
    expect(messages.map((m) => m.id)).toEqual(["plain", "bundle-1:0", "bundle-1:1", "bundle-1:2"]);
    expect(messages.slice(1).map((m) => m.body)).toEqual(bundle.events);
    // Two earlier rounds of the bundle, then two redeliveries of this one by the queue.
    expect(messages.slice(1).map((m) => m.attempts)).toEqual([4, 4, 4]);
    expect(bundles).toHaveLength(1);
  });

  it("acks the bundle when every event was acked", () => {
    const { messages, bundles } = openBundles([delivered(bundle)]);
    for (const m of messages) m.ack();
    expect(closeBundle(bundles[0] as never, 9)).toEqual({ kind: "ack" });
  });

  it("sends again only the events that asked for a retry, after the longest wait they asked for", () => {
    const { messages, bundles } = openBundles([delivered(bundle)]);
    messages[0]?.ack();
    messages[1]?.retry({ delaySeconds: 5 });
    messages[2]?.retry({ delaySeconds: 12 });
    expect(closeBundle(bundles[0] as never, 9)).toEqual({
      kind: "resend",
      events: [bundle.events[1], bundle.events[2]],
      attempt: 3,
      delaySeconds: 12,
    });
  });

  it("retries an event the batch never settled, with the usual backoff", () => {
    const { messages, bundles } = openBundles([delivered(bundle)]);
    messages[0]?.ack();
    messages[1]?.ack();
    const close = closeBundle(bundles[0] as never, 9);
    expect(close).toMatchObject({ kind: "resend", events: [bundle.events[2]], attempt: 3 });
    expect(close.kind === "resend" && close.delaySeconds).toBeGreaterThanOrEqual(10);
  });

  it("gives up the events still retrying once the deliveries are spent", () => {
    const { messages, bundles } = openBundles([delivered({ ...bundle, attempt: 9 })]);
    messages[0]?.ack();
    messages[1]?.retry({ delaySeconds: 5 });
    const close = closeBundle(bundles[0] as never, 9);
    expect(close.kind).toBe("give_up");
    expect(close.kind === "give_up" && close.members.map((m) => m.body)).toEqual([bundle.events[1], bundle.events[2]]);
  });
});
