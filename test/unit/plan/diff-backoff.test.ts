import { describe, expect, it } from "vitest";
import { canonicalJson, diffFields } from "../../../src/plan/diff.ts";
import { isOwnChange } from "../../../src/salesforce/change-origin.ts";
import { MAX_DELAY_SECONDS, retryDelaySeconds } from "../../../src/sync/backoff.ts";

describe("diffFields", () => {
  it("lists every field as new when there is no base", () => {
    expect(diffFields(undefined, { A: 1, B: null })).toEqual({
      A: { before: null, after: 1 },
      B: { before: null, after: null },
    });
  });
  it("lists only fields whose values changed", () => {
    expect(diffFields({ A: 1, B: "x", C: null }, { A: 1, B: "y", C: null })).toEqual({
      B: { before: "x", after: "y" },
    });
  });
  it("treats a field missing from the base as changed", () => {
    expect(diffFields({ A: 1 }, { A: 1, B: null })).toEqual({ B: { before: null, after: null } });
  });
});

describe("canonicalJson", () => {
  it("is independent of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });
});

describe("retryDelaySeconds", () => {
  it("grows exponentially from 5 s by attempt and caps at 15 minutes", () => {
    expect([1, 2, 3, 4, 10, 20].map((a) => retryDelaySeconds(a, undefined))).toEqual([5, 10, 20, 40, 900, 900]);
  });
  it("follows Retry-After when the API gave one", () => {
    expect(retryDelaySeconds(7, 3)).toBe(3);
  });
  it("stays within Queues' bounds", () => {
    expect(retryDelaySeconds(1, 0)).toBe(1);
    expect(retryDelaySeconds(1, 10 ** 9)).toBe(MAX_DELAY_SECONDS);
  });
  it("spreads retries with jitter but never below the base delay", () => {
    expect(retryDelaySeconds(2, undefined, 0.99)).toBeGreaterThan(10);
    expect(retryDelaySeconds(2, undefined, 0.99)).toBeLessThanOrEqual(12);
  });
});

describe("isOwnChange", () => {
  it("recognises our client id in changeOrigin", () => {
    expect(isOwnChange("com/salesforce/api/rest/62.0;client=attio-sfdc", "attio-sfdc")).toBe(true);
  });
  it("does not match other clients, prefixes of our id, or empty origins", () => {
    expect(isOwnChange("com/salesforce/api/soap/51.0;client=SfdcInternalAPI/", "attio-sfdc")).toBe(false);
    expect(isOwnChange("com/salesforce/api/rest/62.0;client=attio-sfdc-staging", "attio-sfdc")).toBe(false);
    expect(isOwnChange("", "attio-sfdc")).toBe(false);
  });
});

describe("budgetExhausted", () => {
  it("pauses background work once usage enters the reserve", async () => {
    const { budgetExhausted } = await import("../../../src/salesforce/usage.ts");
    expect(budgetExhausted({ used: 11_999, limit: 15_000 }, 0.2)).toBe(false);
    expect(budgetExhausted({ used: 12_000, limit: 15_000 }, 0.2)).toBe(true);
    expect(budgetExhausted(undefined, 0.2)).toBe(false);
    expect(budgetExhausted({ used: 5, limit: 0 }, 0.2)).toBe(false);
  });
});
