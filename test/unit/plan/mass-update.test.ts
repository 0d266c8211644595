import { describe, expect, it } from "vitest";
import type { RecordDecision } from "../../../src/plan/decide.ts";
import {
  type BreakerLimits,
  breakerVerdict,
  DEFAULT_BREAKER,
  massUpdateThreshold,
  rejectedBase,
  updatesBySide,
  windowStart,
} from "../../../src/plan/mass-update.ts";
import type { FieldPlan } from "../../../src/plan/plan-fields.ts";

const plan = (over: Partial<FieldPlan>): FieldPlan => ({
  toSalesforce: {},
  toAttio: {},
  conflicts: [],
  resolved: [],
  nextBase: { attio: {}, salesforce: {} },
  ...over,
});

const write = (operation: "create" | "update" | "link", over: Partial<FieldPlan>): RecordDecision => ({
  along: [],
  final: { kind: "write", operation, plan: plan(over), attio: undefined, salesforce: undefined, attioSide: undefined },
});

describe("the mass-update breaker's policy", () => {
  it("allows 500 records or 20% of the object, whichever is smaller, never below the floor of 20", () => {
    expect(massUpdateThreshold(DEFAULT_BREAKER, 100_000)).toBe(500);
    expect(massUpdateThreshold(DEFAULT_BREAKER, 1_000)).toBe(200);
    expect(massUpdateThreshold(DEFAULT_BREAKER, 30)).toBe(20);
    expect(massUpdateThreshold({ ...DEFAULT_BREAKER, maxRecords: 5, minRecords: 0, maxShare: 1 }, 3)).toBe(3);
  });

  it("trips only past the threshold; an open hold takes the updates; off or no update: nothing to count", () => {
    const limits: BreakerLimits = DEFAULT_BREAKER;
    const base = { limits, threshold: 500, openHold: undefined };
    expect(breakerVerdict({ ...base, updates: 100, inWindow: 400 })).toEqual({ kind: "pass" });
    expect(breakerVerdict({ ...base, updates: 101, inWindow: 400 })).toEqual({
      kind: "trip",
      count: 501,
      threshold: 500,
    });
    expect(breakerVerdict({ ...base, updates: 1, inWindow: 0, openHold: "h1" })).toEqual({
      kind: "join",
      holdId: "h1",
    });
    expect(breakerVerdict({ ...base, updates: 0, inWindow: 900 })).toEqual({ kind: "none" });
    expect(breakerVerdict({ ...base, limits: { ...limits, enabled: false }, updates: 9_000, inWindow: 0 })).toEqual({
      kind: "none",
    });
  });

  it("counts a pair's updates per side written, not creates, links or updates that write nothing", () => {
    const decisions: RecordDecision[] = [
      write("update", { toSalesforce: { Title: "CTO" } }),
      write("update", { toAttio: { Phone: "1" } }),
      write("update", { toSalesforce: { Title: "VP" }, toAttio: { Phone: "2" } }),
      write("create", { toSalesforce: { Title: "x" } }),
      write("link", { toAttio: { Phone: "3" } }),
      write("update", {}),
      { along: [], final: { kind: "settle", reason: "unchanged" } },
    ];
    expect(updatesBySide(decisions)).toEqual({ salesforce: [0, 2], attio: [1, 2] });
  });

  it("a rejected update leaves each side its own value as base: nothing looks changed next time", () => {
    const rejected = rejectedBase(
      plan({
        toSalesforce: { Title: "CTO" },
        toAttio: { Phone: "555" },
        nextBase: {
          attio: { Title: "CTO", Phone: "555", Name: "A" },
          salesforce: { Title: "CTO", Phone: "555", Name: "A" },
        },
      }),
      { Title: "CTO", Phone: "111", Name: "A" },
      { Title: "VP", Phone: "555", Name: "A" },
    );
    expect(rejected).toEqual({
      attio: { Title: "CTO", Phone: "111", Name: "A" },
      salesforce: { Title: "VP", Phone: "555", Name: "A" },
    });
  });

  it("the window starts windowMinutes before now", () => {
    expect(windowStart(DEFAULT_BREAKER, new Date("2026-12-07T12:00:00.000Z"))).toBe("2026-12-07T11:50:00.000Z");
  });
});
