import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketsFor, steadyRate, windowFor } from "../../../src/durable/limits.ts";
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
  it("hands out a bucket's burst without waiting", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:burst");
    const spec = { kind: "bucket" as const, ratePerSecond: 0.1, burst: 3 };
    const waits = [];
    for (let i = 0; i < 3; i++) waits.push((await limiter.take(spec)).waitMs);
    expect(waits).toEqual([0, 0, 0]);
    // At one token per 10 s the 4th caller waits close to 10 s.
    expect((await limiter.take(spec)).waitMs).toBeGreaterThan(5_000);
  });

  it("blocks every caller of a bucket until Retry-After after a 429", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:penalty");
    const spec = { kind: "bucket" as const, ratePerSecond: 100, burst: 100 };
    await limiter.penalize(spec, Date.now() + 2_000);
    expect((await limiter.take(spec)).waitMs).toBeGreaterThan(1_000);
    // The burst is gone: the next caller comes one interval (10 ms) after the first.
    const first = (await limiter.take(spec)).slot;
    const second = (await limiter.take(spec)).slot;
    expect(second - first).toBeGreaterThanOrEqual(8);
  });

  it("keeps a window's calls to its limit, and reuses a slot handed back", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:window");
    const spec = { kind: "window" as const, limit: 3, windowMs: 60_000, reachMs: 0 };
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(await limiter.take(spec));
    expect(taken.map((t) => t.waitMs)).toEqual([0, 0, 0]);
    expect((await limiter.take(spec, 1_000)).waitMs).toBeGreaterThan(50_000);
    expect(await limiter.inspect(spec)).toEqual({ tokens: 0, blockedUntil: null });
    // A caller that did not use its slot hands it back with its next request, and goes at once.
    expect((await limiter.take(spec, 1_000, taken[0]?.slot)).waitMs).toBe(0);
    await limiter.penalize(spec, Date.now() + 2_000);
    expect((await limiter.inspect(spec)).blockedUntil).toBeGreaterThan(Date.now());
  });

  it("counts a call reported to have reached the API late until then", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:settle");
    const spec = { kind: "window" as const, limit: 1, windowMs: 60_000, reachMs: 0 };
    const { slot } = await limiter.take(spec);
    expect((await limiter.take(spec, 0)).waitMs).toBeLessThanOrEqual(60_000);
    await limiter.settle(spec, slot, slot + 120_000);
    expect((await limiter.take(spec, 0)).waitMs).toBeGreaterThan(170_000);
  });

  it("tells a caller queued ahead that its slot is no longer clear after an earlier call reported late", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:still-clear");
    const spec = { kind: "window" as const, limit: 1, windowMs: 60_000, reachMs: 0 };
    const first = await limiter.take(spec);
    const queued = await limiter.take(spec, 120_000);
    expect(queued.waitMs).toBeGreaterThan(50_000);
    expect(await limiter.stillClear(spec, queued.slot)).toBe(true);
    await limiter.settle(spec, first.slot, first.slot + 90_000);
    expect(await limiter.stillClear(spec, queued.slot)).toBe(false);
    // A bucket does not track single calls: its slots stay clear.
    expect(await limiter.stillClear({ kind: "bucket", ratePerSecond: 1, burst: 1 }, 0)).toBe(true);
  });

  it("answers takeWhenDue when the slot is due, and gives up a slot an earlier late call now shares", async () => {
    const limiter = env.RATE_LIMITER.getByName("test:when-due");
    const spec = { kind: "window" as const, limit: 1, windowMs: 200, reachMs: 0 };
    const first = await limiter.takeWhenDue(spec, 5_000);
    expect(first.waitMs).toBe(0);
    const queued = limiter.takeWhenDue(spec, 5_000);
    // While the second caller waits for its slot, the first call is reported to have reached the
    // API 100 ms late: the slot it was given is no longer clear, and it gets the next one.
    await limiter.settle(spec, first.slot, first.slot + 100);
    const second = await queued;
    const answeredAt = Date.now();
    expect(second.waitMs).toBe(0);
    expect(second.slot).toBeGreaterThanOrEqual(first.slot + 100 + spec.windowMs);
    expect(answeredAt).toBeGreaterThanOrEqual(second.slot);
    // A wait longer than the caller accepts is answered at once, and the slot is not kept.
    const refused = await limiter.takeWhenDue(spec, 0);
    expect(refused.waitMs).toBeGreaterThan(0);
    expect((await limiter.inspect(spec)).tokens).toBe(0);
  });

  it("keeps every one-second window inside Attio's published limits, at 98% of them", () => {
    for (const [bucket, limit] of [
      ["attio:read", 100],
      ["attio:write", 25],
    ] as const) {
      const spec = BUCKETS[bucket];
      // Each call counts for a second plus its reach, so no second upstream holds more than the limit.
      expect(spec).toMatchObject({ limit, windowMs: 1000 });
      expect(spec.reachMs).toBeGreaterThan(0);
      expect(steadyRate(spec)).toBeGreaterThanOrEqual(limit * 0.98);
    }
    expect(windowFor(10)).toEqual({ kind: "window", limit: 10, windowMs: 1000, reachMs: 20 });
    expect(steadyRate(windowFor(25))).toBe(24.51);
    expect(bucketsFor({ attioReadsPerSecond: 50, attioWritesPerSecond: 5, salesforceCallsPerSecond: 4 })).toEqual({
      "attio:read": { kind: "window", limit: 50, windowMs: 1000, reachMs: 20 },
      "attio:write": { kind: "window", limit: 5, windowMs: 1000, reachMs: 20 },
      salesforce: { kind: "bucket", ratePerSecond: 4, burst: 2 },
    });
  });
});
