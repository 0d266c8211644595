import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import { attioSide } from "../../../src/plan/canon.ts";
import {
  attioMatchesBase,
  eventMatchesBase,
  flatFieldName,
  flattenEventFields,
} from "../../../src/plan/event-values.ts";
import { idMap, person, val } from "../mapping/support.ts";

const spec = defaultMappings().find((m) => m.name === "companies");
if (!spec) throw new Error("no companies mapping");
const companies = compileMapping(spec);

/** What the sync stored after writing an Account. */
const base = {
  attio: {},
  salesforce: {
    Name: "Harbor Freight Analytics",
    Website: "https://harbor.example",
    Description: null,
    BillingCity: "Portland",
    BillingState: null,
    BillingPostalCode: null,
    BillingCountry: "United States",
    Industry: "Technology",
    NumberOfEmployees: 85,
    AnnualRevenue: null,
  },
};

describe("change event values", () => {
  it("flattens compound fields to the names SOQL returns", () => {
    expect(flatFieldName("BillingAddress.City")).toBe("BillingCity");
    expect(flatFieldName("Name.LastName")).toBe("LastName");
    expect(flatFieldName("Industry")).toBe("Industry");
    expect(
      flattenEventFields({ Name: { FirstName: "Ada" }, MailingAddress: { PostalCode: "1" }, Title: "CTO" }),
    ).toEqual({ FirstName: "Ada", MailingPostalCode: "1", Title: "CTO" });
  });

  it("settles the echo of our own create: every mapped value equals the base, absent ones are null", () => {
    const event = {
      changeType: "CREATE" as const,
      changedFields: [],
      nulledFields: [],
      fields: {
        Name: "Harbor Freight Analytics",
        Website: "https://harbor.example",
        BillingAddress: { City: "Portland", Country: "United States" },
        Industry: "Technology",
        NumberOfEmployees: 85,
        OwnerId: "005Hs00000XyZ12IAB",
        CreatedDate: "2026-11-23T10:00:00.000Z",
      },
    };
    expect(eventMatchesBase(companies, base, event)).toBe(true);
    // Automation in the same transaction set a mapped field we did not write: read it.
    expect(eventMatchesBase(companies, base, { ...event, fields: { ...event.fields, Description: "auto" } })).toBe(
      false,
    );
  });

  it("compares only the mapped fields an update names; unmapped changes need no read", () => {
    const update = (changedFields: string[], fields: Record<string, unknown>, nulledFields: string[] = []) => ({
      changeType: "UPDATE" as const,
      changedFields,
      nulledFields,
      fields,
    });
    expect(
      eventMatchesBase(companies, base, update(["Industry", "LastModifiedDate"], { Industry: "Technology" })),
    ).toBe(true);
    expect(eventMatchesBase(companies, base, update(["Rating"], { Rating: "Hot" }))).toBe(true);
    expect(eventMatchesBase(companies, base, update(["Industry"], { Industry: "Banking" }))).toBe(false);
    expect(
      eventMatchesBase(companies, base, update(["BillingAddress.City"], { BillingAddress: { City: "Salem" } })),
    ).toBe(false);
    expect(eventMatchesBase(companies, base, update([], {}, ["BillingCity"]))).toBe(false);
    expect(eventMatchesBase(companies, base, update([], {}, ["Description"]))).toBe(true);
    // A changed mapped field without its value cannot be compared.
    expect(eventMatchesBase(companies, base, update(["Industry"], {}))).toBe(false);
  });

  it("always reads a pair that has no base yet", () => {
    expect(
      eventMatchesBase(companies, null, { changeType: "UPDATE", changedFields: [], nulledFields: [], fields: {} }),
    ).toBe(false);
  });
});

describe("Attio record values against the base", () => {
  const peopleSpec = defaultMappings().find((m) => m.name === "people");
  if (!peopleSpec) throw new Error("no people mapping");
  const people = compileMapping(peopleSpec);
  const ids = idMap([["companies", "00000000-0000-4000-8000-000000000001", "001000000000001AAA"]]);
  /** What the sync stored after writing the person: its values as Salesforce fields. */
  const synced = { attio: attioSide(people, person, { ids }).values, salesforce: {} };

  it("matches when every mapped value equals the base (the echo of our own write)", () => {
    expect(attioMatchesBase(people, synced, person, { ids })).toBe(true);
  });

  it("does not match when a mapped attribute changed", () => {
    const edited = { ...person, job_title: [val("text", { value: "Chief Fleet Officer" })] } as typeof person;
    expect(attioMatchesBase(people, synced, edited, { ids })).toBe(false);
  });

  it("does not match while the company reference cannot be resolved, nor without a base", () => {
    expect(attioMatchesBase(people, synced, person, { ids: idMap([]) })).toBe(false);
    expect(attioMatchesBase(people, null, person, { ids })).toBe(false);
  });

  it("does not match when the base lacks a value the record has (first sync of a field)", () => {
    const { Title: _title, ...withoutTitle } = synced.attio;
    expect(attioMatchesBase(people, { attio: withoutTitle, salesforce: {} }, person, { ids })).toBe(false);
  });
});
