import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import { eventMatchesBase, flatFieldName, flattenEventFields } from "../../../src/sync/event-values.ts";

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
