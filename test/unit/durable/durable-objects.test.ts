import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKETS } from "../../../src/durable/limits.ts";

describe("RecordLock", () => {
  it("grants one holder at a time and lets another in after release", async () => {
    const lock = env.RECORD_LOCK.getByName("attio:people:lock-1");
    expect(await lock.acquire("a", 60_000)).toEqual({ acquired: true });
    const denied = await lock.acquire("b", 60_000);
    expect(denied).toMatchObject({ acquired: false, heldBy: "a" });
    expect(denied.acquired === false && denied.retryInMs).toBeGreaterThan(59_000);
    expect(await lock.release("b")).toBe(false);
    expect(await lock.release("a")).toBe(true);
    expect(await lock.acquire("b", 60_000)).toEqual({ acquired: true });
  });

  it("lets another holder take over an expired lease", async () => {
    const lock = env.RECORD_LOCK.getByName("attio:people:lock-2");
    await lock.acquire("crashed", 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await lock.acquire("next", 60_000)).toEqual({ acquired: true });
    expect(await lock.release("crashed")).toBe(false);
  });

  it("keeps records independent", async () => {
    expect(await env.RECORD_LOCK.getByName("attio:people:lock-3").acquire("a", 60_000)).toEqual({ acquired: true });
    expect(await env.RECORD_LOCK.getByName("attio:people:lock-4").acquire("b", 60_000)).toEqual({ acquired: true });
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
    await limiter.penalize(Date.now() + 2_000);
    expect(await limiter.reserve({ ratePerSecond: 100, burst: 100 }, 1)).toBeGreaterThan(1_000);
  });

  it("keeps every bucket inside the APIs' published limits", () => {
    expect(BUCKETS["attio:read"].ratePerSecond).toBeLessThan(100);
    expect(BUCKETS["attio:write"].ratePerSecond).toBeLessThan(25);
  });
});
