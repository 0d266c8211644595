import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketsFor, windowBucket } from "../../../src/durable/limits.ts";
import { acquireLeases, LOCK_SHARDS, lockShard, releaseLeases } from "../../../src/durable/record-lock.ts";

describe("RecordLock", () => {
  it("grants one holder at a time and lets another in after release", async () => {
    const lock = env.RECORD_LOCK.getByName(lockShard("attio:people:lock-1"));
    expect(await lock.acquire("a", "attio:people:lock-1", 60_000)).toEqual({ acquired: true });
    const denied = await lock.acquire("b", "attio:people:lock-1", 60_000);
    expect(denied).toMatchObject({ acquired: false, heldBy: "a" });
    expect(denied.acquired === false && denied.retryInMs).toBeGreaterThan(59_000);
    expect(await lock.release("b", "attio:people:lock-1")).toBe(false);
    expect(await lock.release("a", "attio:people:lock-1")).toBe(true);
    expect(await lock.acquire("b", "attio:people:lock-1", 60_000)).toEqual({ acquired: true });
  });

  it("lets another holder take over an expired lease", async () => {
    const lock = env.RECORD_LOCK.getByName(lockShard("attio:people:lock-2"));
    await lock.acquire("crashed", "attio:people:lock-2", 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await lock.acquire("next", "attio:people:lock-2", 60_000)).toEqual({ acquired: true });
    expect(await lock.release("crashed", "attio:people:lock-2")).toBe(false);
  });

  it("takes many leases across shards in one call per shard, and reports the busy ones", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `attio:companies:many-${i}`);
    expect(new Set(names.map(lockShard)).size).toBe(LOCK_SHARDS);
    const first = await acquireLeases(env.RECORD_LOCK, "a", names.slice(0, 200), 60_000);
    expect(first.acquired.sort()).toEqual(names.slice(0, 200).sort());
    const second = await acquireLeases(env.RECORD_LOCK, "b", names.slice(100), 60_000);
    expect(second.acquired.sort()).toEqual(names.slice(200).sort());
    expect(second.busy.map((b) => b.name).sort()).toEqual(names.slice(100, 200).sort());
    expect(second.busy.every((b) => b.heldBy === "a" && b.retryInMs > 59_000)).toBe(true);
    await releaseLeases(env.RECORD_LOCK, "a", names.slice(0, 200));
    const third = await acquireLeases(env.RECORD_LOCK, "b", names.slice(100, 200), 60_000);
    expect(third.busy).toEqual([]);
  });
});

describe("RateLimiter", () => {
  it("hands out its burst without waiting", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:burst");
    const spec = { ratePerSecond: 0.1, burst: 3 };
    const waits = [];
    for (let i = 0; i < 3; i++) waits.push(await limiter.reserve(spec, 1));
    expect(waits).toEqual([0, 0, 0]);
    // At one token per 10 s the 4th caller waits close to 10 s.
    expect(await limiter.reserve(spec, 1)).toBeGreaterThan(5_000);
  });

  it("blocks every caller until Retry-After after a 429", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:penalty");
    const spec = { ratePerSecond: 100, burst: 100 };
    await limiter.penalize(spec, Date.now() + 2_000);
    expect(await limiter.reserve(spec, 1)).toBeGreaterThan(1_000);
    // The burst is gone: the next caller comes one interval (10 ms) after the first.
    const first = Date.now() + (await limiter.reserve(spec, 1));
    const second = Date.now() + (await limiter.reserve(spec, 1));
    expect(second - first).toBeGreaterThanOrEqual(8);
  });

  it("keeps every one-second window inside the APIs' published limits, at 96% of them", () => {
    for (const [bucket, limit] of [
      ["attio:read", 100],
      ["attio:write", 25],
    ] as const) {
      const spec = BUCKETS[bucket];
      // A full bucket plus one second of refill is the most a one-second window can hold.
      expect(spec.burst + spec.ratePerSecond).toBeLessThanOrEqual(limit);
      expect(spec.ratePerSecond).toBeGreaterThanOrEqual(limit * 0.95);
    }
    expect(windowBucket(10)).toEqual({ ratePerSecond: 9, burst: 1 });
    expect(bucketsFor({ attioReadsPerSecond: 50, attioWritesPerSecond: 5, salesforceCallsPerSecond: 4 })).toEqual({
      "attio:read": { ratePerSecond: 48, burst: 2 },
      "attio:write": { ratePerSecond: 4, burst: 1 },
      salesforce: { ratePerSecond: 4, burst: 2 },
    });
  });
});
