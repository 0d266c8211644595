import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sendAll } from "../../../src/sync/enqueue.ts";
import { recordsMessages } from "../../../src/sync/messages.ts";
import { drainQueue } from "../../helpers/queue-drain.ts";

// The messages go to the real local queue; the consumer skips them (no such mapping).
afterEach(() => drainQueue());
afterEach(() => vi.restoreAllMocks());

describe("sendAll", () => {
  it("splits large messages over sendBatch calls within Queues' 256 KB, in order", async () => {
    const ids = Array.from({ length: 12_000 }, () => crypto.randomUUID());
    // Six messages of 2,000 Attio ids: about 80 KB each, 480 KB in all.
    const messages = recordsMessages("no-such-mapping", "attio", ids, "send-all test");
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");

    await sendAll(env.SYNC_QUEUE, messages, 30);

    const calls = spy.mock.calls.map(([batch]) => [...batch]);
    expect(calls.length).toBeGreaterThan(1);
    for (const batch of calls) {
      expect(new TextEncoder().encode(JSON.stringify(batch.map((m) => m.body))).length).toBeLessThan(256_000);
    }
    expect(calls.flat().map((m) => m.body)).toEqual(messages);
    expect(calls.flat().every((m) => m.delaySeconds === 30)).toBe(true);
  });
});
