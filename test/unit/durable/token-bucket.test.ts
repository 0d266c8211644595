import { describe, expect, it } from "vitest";
import { blockBucket, fullBucket, reserveTokens, tokensAt } from "../../../src/durable/token-bucket.ts";

const spec = { kind: "bucket" as const, ratePerSecond: 10, burst: 3 };

/** Reserves one token at each of `times` (ms) and returns the waits. */
function waitsAt(times: number[]) {
  let state = fullBucket(0);
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

  it("makes every caller wait until a 429's Retry-After, then lets them go one interval apart", () => {
    const blocked = blockBucket(fullBucket(0), spec, 2_000);
    // Three callers reserve during the block: the first goes at its end, the others 100 ms apart,
    // not all three in the same instant (which would fill the API's next window at once).
    let state = blocked;
    const waits = [500, 600, 700].map((now) => {
      const result = reserveTokens(state, spec, 1, now);
      state = result.state;
      return now + result.waitMs;
    });
    expect(waits).toEqual([2_000, 2_100, 2_200]);
    expect(tokensAt(blocked, spec, 2_000)).toBe(1);
    expect(tokensAt(blocked, spec, 2_200)).toBe(spec.burst);
  });

  it("keeps the callers already queued behind a block in their places", () => {
    let state = fullBucket(0);
    for (let i = 0; i < 8; i++) state = reserveTokens(state, spec, 1, 0).state;
    // Eight reserved at 0: slots at 0, 0, 0, 100, ..., 500. A block until 300 leaves them as they are
    // and the next caller comes after the last of them.
    state = blockBucket(state, spec, 300);
    expect(reserveTokens(state, spec, 1, 0).waitMs).toBe(600);
    // A block past them all: the next caller goes when it ends.
    expect(reserveTokens(blockBucket(state, spec, 5_000), spec, 1, 0).waitMs).toBe(5_000);
  });

  it("takes nothing from a caller that will not wait, so giving up leaves no debt", () => {
    const blocked = blockBucket(fullBucket(0), spec, 2_000);
    const refused = reserveTokens(blocked, spec, 1, 0, 1_000);
    expect(refused.waitMs).toBe(2_000);
    expect(refused.state).toEqual(blocked);
    expect(reserveTokens(refused.state, spec, 1, 2_000).waitMs).toBe(0);
  });

  it("never hands out more than rate x time + burst over a window", () => {
    let state = fullBucket(0);
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
