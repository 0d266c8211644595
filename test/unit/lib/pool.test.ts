import { describe, expect, it } from "vitest";
import { writesInFlight } from "../../../src/engine/write.ts";
import { eachLimit } from "../../../src/lib/pool.ts";

describe("eachLimit", () => {
  it("runs every item once with at most `limit` in flight", async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await eachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(item);
      running--;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it("does nothing for no items", async () => {
    let calls = 0;
    await eachLimit([], 4, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});

describe("eachLimit with a changing limit", () => {
  it("grows and shrinks the pool to follow the limit, and still runs every item once", async () => {
    let running = 0;
    let limit = 1;
    const peaks: number[] = [];
    const seen: number[] = [];
    await eachLimit(
      Array.from({ length: 30 }, (_, i) => i),
      () => limit,
      async (item) => {
        running++;
        peaks.push(running);
        // The limit rises to 4 after item 5 and falls back to 2 after item 20.
        if (item === 5) limit = 4;
        if (item === 20) limit = 2;
        await new Promise((resolve) => setTimeout(resolve, 2));
        seen.push(item);
        running--;
      },
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(peaks.slice(0, 5).every((p) => p === 1)).toBe(true);
    expect(Math.max(...peaks)).toBe(4);
    expect(peaks.at(-1)).toBeLessThanOrEqual(2);
  });
});

describe("writesInFlight", () => {
  it("keeps the write rate busy through the round trip, between 2 and 10", () => {
    expect(writesInFlight(24, 0)).toBe(2);
    expect(writesInFlight(24, 40)).toBe(2);
    expect(writesInFlight(24, 60)).toBe(3);
    expect(writesInFlight(24, 100)).toBe(4);
    expect(writesInFlight(24, 200)).toBe(6);
    expect(writesInFlight(24, 2_000)).toBe(10);
  });
});
