import { describe, expect, it } from "vitest";
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
