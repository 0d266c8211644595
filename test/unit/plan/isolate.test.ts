import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { afterBatchFailure, halves, outcomeOfError, splitBudget } from "../../../src/plan/isolate.ts";

const permanent = new SyncError("upstream_rejected", "Salesforce MALFORMED_QUERY");
const passing = new SyncError("upstream_unavailable", "Salesforce SERVER_UNAVAILABLE");

describe("afterBatchFailure", () => {
  it("splits a batch that failed for good before writing", () => {
    expect(afterBatchFailure(permanent, { size: 100, wrote: false, splitsLeft: 16 })).toEqual({ kind: "split" });
  });

  it("retries the whole batch after an error that can pass, without splitting", () => {
    expect(afterBatchFailure(passing, { size: 100, wrote: false, splitsLeft: 16 })).toEqual({
      kind: "settle_each",
      outcome: { status: "retry", error: passing },
    });
  });

  it("fails the records once a write may have happened, when alone, or when the budget is spent", () => {
    const failed = { kind: "settle_each", outcome: { status: "failed", error: permanent } };
    expect(afterBatchFailure(permanent, { size: 100, wrote: true, splitsLeft: 16 })).toEqual(failed);
    expect(afterBatchFailure(permanent, { size: 1, wrote: false, splitsLeft: 16 })).toEqual(failed);
    expect(afterBatchFailure(permanent, { size: 100, wrote: false, splitsLeft: 0 })).toEqual(failed);
  });
});

describe("outcomeOfError", () => {
  it("keeps a permanent error failed and retries one that can pass", () => {
    expect(outcomeOfError(permanent)).toEqual({ status: "failed", error: permanent });
    expect(outcomeOfError(passing)).toEqual({ status: "retry", error: passing });
  });
});

describe("splitBudget and halves", () => {
  it("allows a couple of bad records' worth of splits, none for a single record", () => {
    expect(splitBudget(1)).toBe(0);
    expect(splitBudget(2)).toBe(4);
    expect(splitBudget(100)).toBe(16);
    expect(splitBudget(2000)).toBe(24);
  });

  it("halves with the larger half first, losing nothing", () => {
    expect(halves([1, 2, 3, 4, 5])).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(halves([1, 2])).toEqual([[1], [2]]);
  });
});
