import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import type { ChangeEventValues } from "../../../src/plan/event-values.ts";
import { fieldChangedAt, fieldTimesByRecord, fieldTimesOf, mergeFieldTimes } from "../../../src/plan/field-times.ts";
import type { Touch } from "../../../src/plan/touch.ts";

const spec = defaultMappings().find((m) => m.name === "companies");
if (!spec) throw new Error("no companies mapping");
const companies = compileMapping(spec);
const T1 = Date.parse("2026-03-04T00:00:00.000Z");
const T2 = Date.parse("2026-03-05T00:00:00.000Z");

function update(fields: Record<string, unknown>, changed: string[], nulled: string[] = []): ChangeEventValues {
  return { changeType: "UPDATE", changedFields: changed, nulledFields: nulled, fields };
}

describe("fieldTimesOf", () => {
  it("an UPDATE times the fields it changed or nulled, compound components by their flat names", () => {
    const event = update(
      { Name: "Acme", BillingAddress: { City: "Paris" } },
      ["Name", "BillingAddress.City"],
      ["Phone"],
    );
    expect(fieldTimesOf(companies, event, T1)).toEqual({
      Name: { at: T1, value: "Acme" },
      BillingCity: { at: T1, value: "Paris" },
      Phone: { at: T1, value: null },
    });
  });

  it("a field the event names without its value gets no time", () => {
    expect(fieldTimesOf(companies, update({}, ["Name"]), T1)).toBeUndefined();
  });

  it("a CREATE times every mapped field, those it does not carry as null", () => {
    const times = fieldTimesOf(
      companies,
      { changeType: "CREATE", changedFields: [], nulledFields: [], fields: { Name: "Acme" } },
      T1,
    );
    expect(times?.["Name"]).toEqual({ at: T1, value: "Acme" });
    expect(times?.["Website"]).toEqual({ at: T1, value: null });
  });
});

describe("mergeFieldTimes and fieldTimesByRecord", () => {
  it("keeps, per field, the later event's time and value", () => {
    const early = { Name: { at: T1, value: "A" }, Phone: { at: T1, value: "1" } };
    const late = { Name: { at: T2, value: "B" } };
    expect(mergeFieldTimes(late, early)).toEqual({ Name: { at: T2, value: "B" }, Phone: { at: T1, value: "1" } });
    expect(mergeFieldTimes(undefined, late)).toBe(late);
  });

  it("collects Salesforce touches by record and ignores Attio ones", () => {
    const base = { deleted: false, correlationId: "c", origin: { kind: "internal", reason: "t" } } as const;
    const touches: Touch[] = [
      { ...base, side: "salesforce", recordId: "001A", fieldTimes: { Name: { at: T1, value: "A" } } },
      { ...base, side: "salesforce", recordId: "001A", fieldTimes: { Name: { at: T2, value: "B" } } },
      { ...base, side: "attio", recordId: "001A", fieldTimes: { Name: { at: T2 + 1, value: "C" } } },
    ];
    expect(fieldTimesByRecord(touches).get("001A")).toEqual({ Name: { at: T2, value: "B" } });
  });
});

describe("fieldChangedAt", () => {
  it("gives a time only to fields still holding the event's value, compared as the mapping compares them", () => {
    const times = { Name: { at: T1, value: "Acme" }, Website: { at: T2, value: "https://old.example" } };
    const current = { Name: "Acme", Website: "https://new.example" };
    expect(fieldChangedAt(companies, times, current)).toEqual({ Name: new Date(T1).toISOString() });
  });

  it("knows nothing without events", () => {
    expect(fieldChangedAt(companies, undefined, { Name: "Acme" })).toEqual({});
  });
});
