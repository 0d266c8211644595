import { describe, expect, it } from "vitest";
import { chunk } from "../../../src/lib/chunk.ts";

describe("chunk", () => {
  it("cuts a list in parts of at most the size, in order, the last one shorter", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk(["a", "b"], 2)).toEqual([["a", "b"]]);
    expect(chunk([], 3)).toEqual([]);
  });
});
