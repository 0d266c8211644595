import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../src/store/db.ts";
import { readCounters } from "../../../src/store/queue-counts.ts";
import { countingConsumer, countingEnv } from "../../../src/sync/queue-depth.ts";

/** The counting wrappers on their own: whole-batch acks and retries, wrapping twice, a count that cannot be stored. */

const db = openDb(env.DB);

function batchOf(queue: string, n: number) {
  const calls: string[] = [];
  const messages = Array.from({ length: n }, (_, i) => ({
    id: `m-${i}`,
    timestamp: new Date(0),
    body: { i },
    attempts: 1,
    ack: () => calls.push(`ack ${i}`),
    retry: () => calls.push(`retry ${i}`),
  }));
  const batch: MessageBatch<unknown> = {
    queue,
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    messages,
    ackAll: () => calls.push("ackAll"),
    retryAll: () => calls.push("retryAll"),
  };
  return { batch, calls };
}

const ctx = {} as ExecutionContext;

describe("countingConsumer", () => {
  it("settles a batch acked whole, passes the calls on, and the first call of a message wins", async () => {
    const before = (await readCounters(db))["settled:jobs"] ?? 0;
    const { batch, calls } = batchOf("attio-sfdc-jobs", 3);
    await countingConsumer(async (b) => {
      b.messages[0]?.retry();
      b.messages[0]?.ack();
      b.ackAll();
      expect(b.messages[1]?.body).toEqual({ i: 1 });
      expect(b.messages[1]?.id).toBe("m-1");
      expect(b.messages[1]?.attempts).toBe(1);
      expect(b.messages[1]?.timestamp).toEqual(new Date(0));
    })(batch, env, ctx);
    expect(calls).toEqual(["retry 0", "ack 0", "ackAll"]);
    // Message 0 was retried first: two settled.
    expect(((await readCounters(db))["settled:jobs"] ?? 0) - before).toBe(2);
  });

  it("settles nothing of a batch retried whole", async () => {
    const before = (await readCounters(db))["settled:jobs"] ?? 0;
    const { batch, calls } = batchOf("attio-sfdc-jobs", 2);
    await countingConsumer(async (b) => b.retryAll())(batch, env, ctx);
    expect(calls).toEqual(["retryAll"]);
    expect((await readCounters(db))["settled:jobs"] ?? 0).toBe(before);
  });

  it("hands the handler an env whose queues count, and still answers when a count cannot be stored", async () => {
    const broken = {
      ...env,
      DB: {
        prepare: () => {
          throw new Error("D1 is out");
        },
      } as unknown as D1Database,
    };
    const { batch, calls } = batchOf("attio-sfdc-sync-dlq", 1);
    let seen: Env | undefined;
    await countingConsumer(async (_b, e) => {
      seen = e;
    })(batch, broken, ctx);
    expect(calls).toEqual([]);
    // Already counting: wrapping again counts each send once.
    expect(seen && countingEnv(seen)).toBe(seen);
    expect(seen?.SYNC_QUEUE).not.toBe(env.SYNC_QUEUE);
  });

  it("leaves an env without queue bindings as it is", () => {
    const bare = { ...env, SYNC_QUEUE: undefined, JOB_QUEUE: undefined } as unknown as Env;
    const counted = countingEnv(bare);
    expect(counted.SYNC_QUEUE).toBeUndefined();
    expect(counted.DB).toBe(env.DB);
  });
});
