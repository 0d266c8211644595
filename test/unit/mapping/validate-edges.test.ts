import { describe, expect, it } from "vitest";
import type { AttioAttribute } from "../../../src/attio/attribute-schema.ts";
import type { SfFieldDescribe } from "../../../src/mapping/schema-salesforce.ts";
import { type LoadedSchemas, loadSchemas, type SchemaSource } from "../../../src/mapping/schema-source.ts";
import type { FieldMapping, ObjectMapping } from "../../../src/mapping/types.ts";
import { validateMappings } from "../../../src/mapping/validate.ts";

/**
 * Validation of a custom mapping against small hand-built schemas: each check, and the mapping as it
 * then really runs (fields dropped or narrowed, the mapping switched off).
 */
const attribute = (api_slug: string, type: string, extra: Partial<AttioAttribute> = {}): AttioAttribute => ({
  title: api_slug,
  api_slug,
  type,
  is_system_attribute: false,
  is_writable: true,
  is_required: false,
  is_unique: false,
  is_multiselect: false,
  is_archived: false,
  ...extra,
});
const sfField = (name: string, type: string, extra: Partial<SfFieldDescribe> = {}): SfFieldDescribe => ({
  name,
  label: name,
  type,
  nillable: true,
  createable: true,
  updateable: true,
  defaultedOnCreate: false,
  externalId: false,
  unique: false,
  restrictedPicklist: false,
  referenceTo: [],
  picklistValues: [],
  ...extra,
});
const picklist = (...values: string[]) => values.map((value) => ({ value, label: value, active: true }));

const ATTRIBUTES = [
  attribute("name", "text"),
  attribute("code", "text", { is_unique: true }),
  attribute("old_code", "text", { is_archived: true }),
  attribute("budget", "number", { is_writable: false }),
  attribute("kind", "select"),
  attribute("sector", "select"),
  attribute("started_at", "timestamp"),
  attribute("address", "location"),
];
const FIELDS = [
  sfField("Name", "string", { nillable: false }),
  sfField("Code__c", "string", { externalId: true }),
  sfField("Notes__c", "textarea"),
  sfField("Budget__c", "currency"),
  sfField("Kind__c", "picklist", { restrictedPicklist: true, picklistValues: picklist("Internal", "External") }),
  sfField("Sector__c", "picklist", { picklistValues: picklist("Technology", "Banking") }),
  sfField("Due__c", "date"),
  sfField("City__c", "string"),
  sfField("Legacy__c", "string"),
];
const schemas = (titles: Record<string, string[]> = {}): LoadedSchemas => ({
  attio: { projects: ATTRIBUTES },
  attioTitles: { projects: titles },
  salesforce: { Project__c: { name: "Project__c", fields: FIELDS } },
});
function project(fields: FieldMapping[], extra: Partial<ObjectMapping> = {}): ObjectMapping {
  return {
    name: "projects",
    attio_object: "projects",
    salesforce_object: "Project__c",
    enabled: true,
    read_only: false,
    fields: [{ attio: "name", salesforce: "Name", transform: "text", direction: "both" }, ...fields],
    match_keys: [],
    stages: [],
    industries: [],
    ...extra,
  };
}
const codes = (report: ReturnType<typeof validateMappings>) =>
  report.issues.map((i) => `${i.severity}:${i.effect}:${i.code}:${i.salesforce ?? i.attio ?? ""}`);

describe("field checks", () => {
  it("drops a field on an archived attribute, naming it archived", () => {
    const result = validateMappings(
      [project([{ attio: "old_code", salesforce: "Legacy__c", transform: "text", direction: "both" }])],
      schemas(),
    );
    expect(codes(result)).toEqual(["error:field_dropped:unknown_attribute:Legacy__c"]);
    expect(result.issues[0]?.message).toBe("projects.old_code is archived: the field is not synced");
    expect(result.mappings[0]?.fields.map((f) => f.salesforce)).toEqual(["Name"]);
    expect(result.mappings[0]?.enabled).toBe(true);
  });

  it("narrows a two-way one-way transform to Attio -> Salesforce with a warning", () => {
    const result = validateMappings(
      [project([{ attio: "started_at", salesforce: "Due__c", transform: "date_plus_days", direction: "both" }])],
      schemas(),
    );
    expect(codes(result)).toEqual(["warning:narrowed:not_reversible:Due__c"]);
    expect(result.mappings[0]?.fields[1]?.direction).toBe("attio_to_sf");
  });

  it("drops a Salesforce -> Attio field onto an attribute Attio fills itself", () => {
    const result = validateMappings(
      [project([{ attio: "budget", salesforce: "Budget__c", transform: "number", direction: "sf_to_attio" }])],
      schemas(),
    );
    expect(codes(result)).toEqual(["error:field_dropped:attio_not_writable:Budget__c"]);
    expect(result.issues[0]?.message).toBe(
      "budget is not writable in Attio (enriched or system): the field is not synced",
    );
    expect(result.ok).toBe(false);
    expect(result.mappings[0]?.fields.map((f) => f.salesforce)).toEqual(["Name"]);
  });

  it("a part of a location must be read from a location attribute", () => {
    const result = validateMappings(
      [
        project([
          { attio: "address.locality", salesforce: "City__c", transform: "text", direction: "both" },
          { attio: "name.locality", salesforce: "Legacy__c", transform: "text", direction: "both" },
        ]),
      ],
      schemas(),
    );
    expect(codes(result)).toEqual(["error:field_dropped:type_mismatch:Legacy__c"]);
    expect(result.mappings[0]?.fields.map((f) => f.salesforce)).toEqual(["Name", "City__c"]);
  });
});

describe("attribute candidates", () => {
  it("a field with candidates but neither fallback nor optional is checked under its own slug", () => {
    const result = validateMappings(
      [
        project([
          {
            attio: "due",
            attio_candidates: ["deadline"],
            salesforce: "Due__c",
            transform: "date",
            direction: "both",
          },
        ]),
      ],
      schemas(),
    );
    expect(codes(result)).toEqual(["error:field_dropped:unknown_attribute:Due__c"]);
    expect(result.issues[0]?.message).toBe("projects.due does not exist in Attio: the field is not synced");
  });

  it("an optional field with no candidates is left out with a warning naming the slug tried", () => {
    const result = validateMappings(
      [project([{ attio: "due", salesforce: "Due__c", transform: "date", direction: "both", optional: true }])],
      schemas(),
    );
    expect(codes(result)).toEqual(["warning:field_dropped:optional_attribute_missing:Due__c"]);
    expect(result.issues[0]?.message).toBe("projects has no attribute for Due__c (tried due): Due__c is not synced");
    expect(result.ok).toBe(true);
  });
});

describe("picklists", () => {
  it("names the Attio options a restricted picklist lacks", () => {
    const result = validateMappings(
      [project([{ attio: "kind", salesforce: "Kind__c", transform: "select", direction: "both" }])],
      schemas({ kind: ["internal", "External", "Partner"] }),
    );
    expect(codes(result)).toEqual(["warning:none:picklist_value_missing:Kind__c"]);
    expect(result.issues[0]?.message).toBe("Attio options with no value in the restricted picklist Kind__c: Partner");
    const allThere = validateMappings(
      [project([{ attio: "kind", salesforce: "Kind__c", transform: "select", direction: "both" }])],
      schemas({ kind: ["Internal"] }),
    );
    expect(allThere.issues).toEqual([]);
  });

  it("names the industry values the picklist lacks", () => {
    const result = validateMappings(
      [
        project([{ attio: "sector", salesforce: "Sector__c", transform: "industry", direction: "both" }], {
          industries: [
            { attio: "SaaS", salesforce: "Technology" },
            { attio: "saas", salesforce: "Software" },
            { attio: "Mining", salesforce: "Mining" },
          ],
        }),
      ],
      schemas(),
    );
    // "saas" is a later row of the same category: it only reads Software back, so only Mining is missing.
    expect(result.issues.map((i) => i.message)).toEqual([
      "the industry table writes values Sector__c does not have: Mining",
    ]);
  });
});

describe("match keys and id fields", () => {
  it("refuses a match key on a field Salesforce cannot filter with a quoted literal", () => {
    const result = validateMappings(
      [project([], { match_keys: [{ attio: "name", salesforce: "Notes__c", normalize: "text" }] })],
      schemas(),
    );
    expect(codes(result)).toEqual(["error:mapping_off:bad_match_key:Notes__c"]);
    expect(result.issues[0]?.message).toBe(
      "match key name <-> Notes__c: Notes__c is a textarea field; a match key needs a text, email, url, phone or picklist field",
    );
    expect(result.disabled).toEqual(["projects"]);
    expect(result.mappings[0]?.enabled).toBe(false);
  });

  it("names the Attio side of a match key that does not exist, even with a bad path", () => {
    const result = validateMappings(
      [
        project([], {
          match_keys: [
            { attio: "nickname", salesforce: "Name", normalize: "text" },
            { attio: "address.city", salesforce: "City__c", normalize: "text" },
          ],
        }),
      ],
      schemas(),
    );
    expect(result.issues.map((i) => i.message)).toEqual([
      "match key nickname <-> Name: nickname does not exist",
      "match key address.city <-> City__c: address.city does not exist",
    ]);
  });

  it("accepts an External ID field and a unique writable id attribute; names one that does not exist", () => {
    const good = validateMappings(
      [
        project([], {
          match_keys: [{ attio: "code", salesforce: "Code__c", normalize: "exact" }],
          salesforce_external_id_field: "Code__c",
          attio_id_attribute: "code",
        }),
      ],
      schemas(),
    );
    expect(good.issues).toEqual([]);
    expect(good.mappings[0]?.enabled).toBe(true);
    const bad = validateMappings(
      [project([], { salesforce_external_id_field: "Attio_Id__c", attio_id_attribute: "salesforce_id" })],
      schemas(),
    );
    expect(bad.issues.map((i) => i.message)).toEqual([
      "Project__c.Attio_Id__c does not exist",
      "projects.salesforce_id does not exist",
    ]);
    expect(bad.disabled).toEqual(["projects"]);
  });
});

describe("loadSchemas", () => {
  it("asks for no titles of an object Attio lacks, and asks each object once", async () => {
    const calls: string[] = [];
    const source: SchemaSource = {
      attioAttributes: async (object) => {
        calls.push(`attio:${object}`);
        return object === "projects" ? ATTRIBUTES : null;
      },
      attioOptionTitles: async (object, slug, kind) => {
        calls.push(`${kind}:${object}.${slug}`);
        return ["Internal"];
      },
      salesforceDescribe: async (object) => {
        calls.push(`sf:${object}`);
        return { name: object, fields: FIELDS };
      },
    };
    const kind: FieldMapping = { attio: "kind", salesforce: "Kind__c", transform: "select", direction: "both" };
    const loaded = await loadSchemas(source, [
      project([kind, { ...kind, salesforce: "Legacy__c" }, { ...kind, attio: "name", transform: "select" }]),
      { ...project([kind]), name: "again" },
      { ...project([kind]), name: "ghosts", attio_object: "ghosts" },
      { ...project([kind]), name: "off", attio_object: "off", enabled: false },
    ]);
    expect(calls).toEqual(["sf:Project__c", "attio:projects", "select:projects.kind", "attio:ghosts"]);
    expect(loaded.attioTitles).toEqual({ projects: { kind: ["Internal"] } });
    expect(loaded.attio["ghosts"]).toBeNull();
  });
});
