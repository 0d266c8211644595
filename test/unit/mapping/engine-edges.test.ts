import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import {
  attioMatchKeys,
  attioReferences,
  compileMapping,
  mapToAttio,
  mapToSalesforce,
  parseAttioPath,
  salesforceMatchKeys,
  salesforceReferences,
} from "../../../src/mapping/engine.ts";
import type { FieldMapping, MatchKey, ObjectMapping } from "../../../src/mapping/types.ts";
import { val } from "./support.ts";

/** A small custom mapping, built the way config.toml overrides arrive, to reach the engine's edges. */
function custom(fields: FieldMapping[], matchKeys: MatchKey[] = []): ObjectMapping {
  return {
    name: "custom",
    attio_object: "projects",
    salesforce_object: "Project__c",
    enabled: true,
    read_only: false,
    fields,
    match_keys: matchKeys,
    stages: [],
    industries: [],
  };
}
const field = (attio: string, salesforce: string, transform: string, extra: Partial<FieldMapping> = {}) =>
  ({ attio, salesforce, transform, direction: "both", ...extra }) as FieldMapping;

function configError(run: () => unknown): SyncError {
  try {
    run();
  } catch (error) {
    if (error instanceof SyncError) return error;
    throw error;
  }
  throw new Error("expected a SyncError");
}

describe("compiling a mapping", () => {
  it("names the field of an unknown transform, and the error is not retryable", () => {
    const error = configError(() => compileMapping(custom([field("name", "Name", "uppercase")])));
    expect(error.code).toBe("config_invalid");
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('mappings.custom.fields[0] (name -> Name): unknown transform "uppercase"');
  });

  it("refuses a path whose part is neither a location nor a name part", () => {
    expect(parseAttioPath("primary_location.city")).toEqual({
      error: expect.stringMatching(/^"city" is not a part of a location \(line_1, .*\) or name \(first_name, /),
    });
    expect(parseAttioPath("primary_location.locality")).toEqual({ slug: "primary_location", part: "locality" });
    const error = configError(() =>
      compileMapping(custom([field("name", "Name", "text"), field("address.city", "City__c", "text")])),
    );
    expect(error.code).toBe("config_invalid");
    expect(error.message).toMatch(/^mappings\.custom\.fields\[1\] \(address\.city -> City__c\): "city" is not a part/);
  });
});

describe("directions and unchanged values", () => {
  const compiled = compileMapping(
    custom([
      field("name", "Name", "text"),
      field("budget", "Budget__c", "number"),
      field("notes", "Notes__c", "text", { direction: "sf_to_attio" }),
    ]),
  );

  it("a field flowing only from Salesforce is never written to Salesforce", () => {
    const values = {
      name: [val("text", { value: "Apollo" })],
      notes: [val("text", { value: "keep me in Attio" })],
    };
    expect(mapToSalesforce(compiled, values).fields).toEqual({ Name: "Apollo", Budget__c: null });
  });

  it("an empty value and a cleared one are the same; a number and its numeric string too", () => {
    const current = { name: [], budget: [val("number", { value: 1200 })], notes: [val("text", { value: "old" })] };
    const out = mapToAttio(compiled, { Name: "", Budget__c: "1200", Notes__c: null }, { current });
    // Name ("" vs nothing) and Budget (1200 vs "1200") are unchanged and not written; Notes was cleared.
    expect(out.values).toEqual({ notes: [] });
    const changed = mapToAttio(compiled, { Name: "Gemini", Budget__c: "1300" }, { current });
    expect(changed.values).toEqual({ name: ["Gemini"], budget: [1300] });
  });
});

describe("composite values", () => {
  const location = compileMapping(
    custom([field("address.locality", "City__c", "text"), field("address.postcode", "Zip__c", "text")]),
  );
  const names = compileMapping(
    custom([
      field("name.first_name", "First__c", "text"),
      field("name.last_name", "Last__c", "text"),
      field("name.full_name", "Full__c", "text"),
    ]),
  );

  it("a location whose every part is cleared is cleared, not written as an empty object", () => {
    expect(mapToAttio(location, { City__c: null, Zip__c: "" }).values).toEqual({ address: [] });
    expect(mapToAttio(location, { City__c: "Gdańsk" }).values["address"]).toEqual([
      expect.objectContaining({ locality: "Gdańsk", postcode: null, country_code: null }),
    ]);
  });

  it("a mapped full name is written as it is; all three parts empty clears the name", () => {
    expect(mapToAttio(names, { First__c: "Ada", Last__c: "Lovelace", Full__c: "Countess Ada" }).values).toEqual({
      name: [{ first_name: "Ada", last_name: "Lovelace", full_name: "Countess Ada" }],
    });
    expect(mapToAttio(names, { First__c: null, Last__c: "", Full__c: null }).values).toEqual({ name: [] });
  });
});

describe("references and match keys", () => {
  const compiled = compileMapping(
    custom(
      [
        field("account", "Account__c", "record_reference", { options: { target: "companies" } }),
        field("sponsor", "Sponsor__c", "record_reference"),
      ],
      [
        { attio: "code", salesforce: "Code__c", normalize: "exact" },
        { attio: "address.city", salesforce: "City__c", normalize: "text" },
        { attio: "email", salesforce: "Email__c", normalize: "email" },
      ],
    ),
  );

  it("prefetches Attio references by their own object, else the target option, else none", () => {
    const values = {
      account: [val("record-reference", { target_record_id: "co-1" })],
      sponsor: [val("record-reference", { target_object: "people", target_record_id: "pe-1" })],
    };
    expect(attioReferences(compiled, values)).toEqual([
      { targetObject: "companies", id: "co-1" },
      { targetObject: "people", id: "pe-1" },
    ]);
    const noTarget = { sponsor: [val("record-reference", { target_record_id: "pe-2" })], account: [val("text", {})] };
    expect(attioReferences(compiled, noTarget)).toEqual([{ targetObject: "", id: "pe-2" }]);
  });

  it("prefetches Salesforce references only for non-empty ids", () => {
    expect(salesforceReferences(compiled, { Account__c: "001A", Sponsor__c: "" })).toEqual([
      { targetObject: "companies", id: "001A" },
    ]);
    expect(salesforceReferences(compiled, { Account__c: null, Sponsor__c: "003B" })).toEqual([
      { targetObject: "", id: "003B" },
    ]);
  });

  it("exact keys are compared as they are; empty keys and keys with a bad path are no identity", () => {
    const values = {
      code: [val("text", { value: " PRJ-7 " }), val("text", { value: "   " }), val("text", { value: null })],
      email: [val("email-address", { email_address: "Ada@Example.COM" })],
    };
    expect(attioMatchKeys(compiled.mapping, values)).toEqual([
      { attio: "code", salesforce: "Code__c", value: "PRJ-7" },
      { attio: "email", salesforce: "Email__c", value: "ada@example.com" },
    ]);
    expect(
      salesforceMatchKeys(compiled.mapping, { Code__c: "prj-7", City__c: "  Gdańsk   Old Town ", Email__c: null }),
    ).toEqual([
      { attio: "code", salesforce: "Code__c", value: "prj-7" },
      { attio: "address.city", salesforce: "City__c", value: "gdańsk old town" },
    ]);
  });
});
