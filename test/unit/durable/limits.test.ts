import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LimitSpec } from "../../../src/durable/limit-spec.ts";
import { penalizeBucket, settleToken, takeToken } from "../../../src/durable/limits.ts";
import { SyncError } from "../../../src/lib/errors.ts";

/**
 * takeToken, settleToken and penalizeBucket against the real RateLimiter objects. Each object keeps
 * a bucket and a window; these tests use only the one production does not use for that name
 * (the salesforce object's window, the Attio objects' buckets), so they never slow real callers.
 */
async function refusal(promise: Promise<unknown>): Promise<SyncError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof SyncError)) throw new Error(`expected a SyncError, got ${String(error)}`);
  return error;
}

describe("takeToken and settleToken", () => {
  it("a wait longer than 5 s is handed back as rate_limited; a call reported late pushes later slots", async () => {
    const window: LimitSpec = { kind: "window", limit: 1, windowMs: 60_000, reachMs: 20 };
    const stub = env.RATE_LIMITER.getByName("salesforce");
    const taken = await takeToken(env.RATE_LIMITER, "salesforce", window);
    expect(taken.due).toBeGreaterThanOrEqual(taken.slot - 1_000);

    // Within a few ms of the usual round trip: nothing to settle.
    await settleToken(env.RATE_LIMITER, "salesforce", window, taken, taken.due + 5, 0);
    const before = (await stub.take(window, 0)).waitMs;
    expect(before).toBeLessThanOrEqual(60_020);
    // Reported 100 s late: the window counts the call until then, so the next slot moves with it.
    await settleToken(env.RATE_LIMITER, "salesforce", window, taken, taken.due + 100_000, 0);
    expect((await stub.take(window, 0)).waitMs).toBeGreaterThan(before + 90_000);

    const error = await refusal(takeToken(env.RATE_LIMITER, "salesforce", window));
    expect(error).toMatchObject({ code: "rate_limited", retryable: true, message: "local rate limit for salesforce" });
    expect(error.retryAfterSeconds).toBeGreaterThan(150);
    expect(error.detail).toMatchObject({ bucket: "salesforce" });
  });

  it("a bucket does not track single calls: settling one changes nothing", async () => {
    const bucket: LimitSpec = { kind: "bucket", ratePerSecond: 0.01, burst: 1 };
    const stub = env.RATE_LIMITER.getByName("attio:write");
    const taken = await takeToken(env.RATE_LIMITER, "attio:write", bucket);
    const before = await stub.inspect(bucket);
    await settleToken(env.RATE_LIMITER, "attio:write", bucket, taken, taken.due + 100_000, 0);
    expect(await stub.inspect(bucket)).toEqual(before);
  });
});

describe("penalizeBucket", () => {
  it("an upstream 429 pauses every caller of the bucket until its Retry-After", async () => {
    const bucket: LimitSpec = { kind: "bucket", ratePerSecond: 100, burst: 100 };
    await penalizeBucket(env.RATE_LIMITER, "attio:read", Date.now() + 60_000, bucket);
    const error = await refusal(takeToken(env.RATE_LIMITER, "attio:read", bucket));
    expect(error.code).toBe("rate_limited");
    expect(error.retryAfterSeconds).toBeGreaterThan(50);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(61);
  });
});

describe("RateLimiter edges", () => {
  it("a fresh limiter has its whole limit; settling or blocking it before any call works", async () => {
    const window: LimitSpec = { kind: "window", limit: 4, windowMs: 60_000, reachMs: 0 };
    const bucket: LimitSpec = { kind: "bucket", ratePerSecond: 1, burst: 7 };
    const fresh = env.RATE_LIMITER.getByName("test:fresh-edges");
    expect(await fresh.inspect(window)).toEqual({ tokens: 4, blockedUntil: null });
    expect(await fresh.inspect(bucket)).toEqual({ tokens: 7, blockedUntil: null });
    await fresh.settle(window, Date.now(), Date.now() + 1_000);
    expect(await fresh.inspect(window)).toEqual({ tokens: 4, blockedUntil: null });

    const blocked = env.RATE_LIMITER.getByName("test:fresh-blocked");
    const until = Date.now() + 30_000;
    await blocked.penalize(window, until);
    expect((await blocked.inspect(window)).blockedUntil).toBe(until);
    expect((await blocked.take(window, 0)).waitMs).toBeGreaterThan(20_000);
  });
});
