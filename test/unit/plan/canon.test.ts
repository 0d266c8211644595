import { describe, expect, it } from "vitest";
import { compileMapping } from "../../../src/mapping/engine.ts";
import { mappingsView } from "../../../src/mapping/view.ts";
import { attioSide, salesforceSide } from "../../../src/plan/canon.ts";

const compiled = compileMapping({
  name: "people",
  attio_object: "people",
  salesforce_object: "Contact",
  enabled: true,
  read_only: false,
  fields: [
    { attio: "job_title", salesforce: "Title", transform: "text", direction: "both" },
    { attio: "notes", salesforce: "Notes__c", transform: "text", direction: "both", conflict_owner: "salesforce" },
  ],
  match_keys: [],
  stages: [],
  industries: [],
});

describe("the two sides as compared", () => {
  it("Attio's side keeps each field's latest change time, and none for values without one", () => {
    const side = attioSide(
      compiled,
      {
        job_title: [
          { attribute_type: "text", value: "VP", active_from: "2026-01-01T00:00:00.000000000Z", active_until: null },
        ],
        notes: [{ attribute_type: "text", value: "imported", active_until: null }],
      },
      {},
    );
    expect(side.values).toEqual({ Title: "VP", Notes__c: "imported" });
    expect(side.changedAt).toEqual({ Title: "2026-01-01T00:00:00.000000000Z" });
  });

  it("Salesforce's side keeps scalars as they are, writes anything else as JSON, and leaves out fields not returned", () => {
    expect(salesforceSide(compiled, { Id: "003A", Title: { nested: true } })).toEqual({ Title: '{"nested":true}' });
    expect(salesforceSide(compiled, { Title: null, Notes__c: 3 })).toEqual({ Title: null, Notes__c: 3 });
  });
});

describe("mappingsView", () => {
  it("shows each field's owner (last_write unless set) and names an unknown transform", () => {
    const [view] = mappingsView([
      {
        ...compiled.mapping,
        fields: [...compiled.mapping.fields, { attio: "x", salesforce: "X__c", transform: "rot13", direction: "both" }],
      },
    ]);
    expect(view?.fields.map((f) => [f.salesforce, f.conflict_owner, f.transform_summary])).toEqual([
      ["Title", "last_write", "text as is (trimmed; empty is null)"],
      ["Notes__c", "salesforce", "text as is (trimmed; empty is null)"],
      ["X__c", "last_write", "unknown transform"],
    ]);
    expect(view).toMatchObject({ salesforce_external_id_field: null, attio_id_attribute: null });
  });
});
