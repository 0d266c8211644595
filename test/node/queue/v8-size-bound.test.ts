import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../../src/lib/utf8.ts";
import { BUNDLE_MAX_BYTES, packBundles, v8SizeBound } from "../../../src/sync/bundles.ts";
import { internalSalesforceMessage } from "../../../src/sync/messages.ts";

// Bundles are queued as v8 (structured clone) but sized from their JSON. Node's serializer writes
// the same format the Workers runtime does, so the bound is checked against real serialized bytes.
const serialized = (value: unknown) => serialize(value).length;

describe("v8SizeBound", () => {
  it.each([
    ["doubles (the worst case)", Array.from({ length: 2_000 }, () => 0.5)],
    ["small integers", Array.from({ length: 2_000 }, (_, i) => i % 10)],
    ["large integers (stored as doubles)", Array.from({ length: 500 }, () => 1_733_400_000_000)],
    ["empty arrays and objects", Array.from({ length: 1_000 }, (_, i) => (i % 2 ? [] : {}))],
    ["ASCII text with one character above U+00FF (stored as UTF-16)", `${"x".repeat(5_000)}東`],
    ["single CJK characters", Array.from({ length: 2_000 }, () => "東")],
    ["Latin-1 text", "é".repeat(5_000)],
    ["booleans and nulls", Array.from({ length: 2_000 }, (_, i) => (i % 3 ? i % 2 === 0 : null))],
    ["one-element arrays of small integers", Array.from({ length: 1_000 }, () => [1])],
    ["an empty string", ""],
  ])("is at least the serialized size of %s", (_name, value) => {
    expect(serialized(value)).toBeLessThanOrEqual(v8SizeBound(jsonBytes(value)));
  });

  it("holds for bundles as packBundles makes them, which stay under BUNDLE_MAX_BYTES serialized", () => {
    const events = Array.from({ length: 120 }, (_, i) => ({
      ...internalSalesforceMessage("Account", `001${i}`),
      fields: {
        Name: `Company ${i} – 東京`,
        AnnualRevenue: 12_500_000.5,
        NumberOfEmployees: 85,
        Description: "x".repeat(800),
      },
    }));
    const bundles = packBundles(events);
    expect(bundles.length).toBeGreaterThan(1);
    for (const { body, bytes } of bundles) {
      expect(serialized(body)).toBeLessThanOrEqual(bytes);
      expect(bytes).toBeLessThanOrEqual(BUNDLE_MAX_BYTES);
    }
  });
});
