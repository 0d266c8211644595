import { describe, expect, it } from "vitest";
import { blockBucket, fullBucket, reserveTokens } from "../../../src/durable/token-bucket.ts";

const spec = { ratePerSecond: 10, burst: 3 };

/** Reserves one token at each of `times` (ms) and returns the waits. */
function waitsAt(times: number[]) {
  let state = fullBucket(spec, 0);
  return times.map((now) => {
    const result = reserveTokens(state, spec, 1, now);
    state = result.state;
    return result.waitMs;
  });
}

describe("token bucket", () => {
  it("hands out the burst at once, then spaces callers at the rate", () => {
    expect(waitsAt([0, 0, 0, 0, 0])).toEqual([0, 0, 0, 100, 200]);
  });

  it("refills with time, never above the burst", () => {
    expect(waitsAt([0, 0, 0, 100])).toEqual([0, 0, 0, 0]);
    expect(waitsAt([0, 0, 0, 10_000, 10_000, 10_000, 10_000])).toEqual([0, 0, 0, 0, 0, 0, 100]);
  });

  it("makes every caller wait until a 429's Retry-After, then resumes from an empty bucket", () => {
    const blocked = blockBucket(fullBucket(spec, 0), 2_000);
    expect(reserveTokens(blocked, spec, 1, 500).waitMs).toBe(1_500);
    const after = reserveTokens(blocked, spec, 1, 2_000);
    expect(after.waitMs).toBe(0);
    expect(after.state.tokens).toBeLessThan(spec.burst);
  });

  it("takes nothing from a caller that will not wait, so giving up leaves no debt", () => {
    const blocked = blockBucket(fullBucket(spec, 0), 2_000);
    const refused = reserveTokens(blocked, spec, 1, 0, 1_000);
    expect(refused.waitMs).toBe(2_000);
    expect(refused.state).toEqual(blocked);
    expect(reserveTokens(refused.state, spec, 1, 2_000).waitMs).toBe(0);
  });

  it("never hands out more than rate x time + burst over a window", () => {
    let state = fullBucket(spec, 0);
    let granted = 0;
    for (let now = 0; now <= 10_000; now += 7) {
      const result = reserveTokens(state, spec, 1, now);
      if (result.waitMs === 0) {
        state = result.state;
        granted += 1;
      }
    }
    expect(granted).toBeLessThanOrEqual(spec.burst + spec.ratePerSecond * 10);
    expect(granted).toBeGreaterThanOrEqual(spec.ratePerSecond * 10);
  });
});
