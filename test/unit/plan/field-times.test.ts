import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import type { ChangeEventValues } from "../../../src/plan/event-values.ts";
import { eventFieldTimes, fieldChangedAt } from "../../../src/plan/field-times.ts";

const spec = defaultMappings().find((m) => m.name === "companies");
if (!spec) throw new Error("no companies mapping");
const companies = compileMapping(spec);
const T1 = Date.parse("2026-03-04T00:00:00.000Z");
const T2 = Date.parse("2026-03-05T00:00:00.000Z");

function update(fields: Record<string, unknown>, changed: string[], nulled: string[] = []): ChangeEventValues {
  return { changeType: "UPDATE", changedFields: changed, nulledFields: nulled, fields };
}

describe("eventFieldTimes", () => {
  it("an UPDATE times the fields it changed or nulled, compound components by their flat names", () => {
    const event = update(
      { Name: "Acme", BillingAddress: { City: "Paris" } },
      ["Name", "BillingAddress.City"],
      ["Phone"],
    );
    expect(eventFieldTimes(event, T1)).toEqual({
      Name: { at: T1, value: "Acme" },
      BillingCity: { at: T1, value: "Paris" },
      Phone: { at: T1, value: null },
    });
  });

  it("a field the event names without its value gets no time; nor does an event without a commit time", () => {
    expect(eventFieldTimes(update({}, ["Name"]), T1)).toEqual({});
    expect(eventFieldTimes(update({ Name: "Acme" }, ["Name"]), Number.NaN)).toEqual({});
  });

  it("a CREATE times the fields it carries", () => {
    const create: ChangeEventValues = {
      changeType: "CREATE",
      changedFields: [],
      nulledFields: [],
      fields: { Name: "Acme" },
    };
    expect(eventFieldTimes(create, T1)).toEqual({ Name: { at: T1, value: "Acme" } });
  });
});

describe("fieldChangedAt", () => {
  it("gives a time only to fields still holding the event's value", () => {
    const times = { Name: { at: T1, value: "Acme" }, Website: { at: T2, value: "https://old.example" } };
    const current = { Name: "Acme", Website: "https://new.example" };
    expect(fieldChangedAt(companies, times, current)).toEqual({ Name: new Date(T1).toISOString() });
  });

  it("ignores fields the mapping does not read, and knows nothing without events", () => {
    expect(fieldChangedAt(companies, { Fax: { at: T1, value: "1" } }, { Fax: "1" })).toEqual({});
    expect(fieldChangedAt(companies, undefined, { Name: "Acme" })).toEqual({});
  });
});
