import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { orgCapabilities } from "../../../src/mapping/schema-salesforce.ts";
import { type LoadedSchemas, loadSchemas, type SchemaSource } from "../../../src/mapping/schema-source.ts";
import type { ObjectMapping } from "../../../src/mapping/types.ts";
import { validateMappings } from "../../../src/mapping/validate.ts";
import { mappingsView } from "../../../src/mapping/view.ts";
import { attioAttributes, describes } from "./support.ts";

const schemas = (): LoadedSchemas => ({
  attio: { ...attioAttributes },
  attioTitles: {
    companies: { categories: ["SAAS", "Technology", "B2B"] },
    deals: {
      stage: ["Lead", "In Progress", "Won 🎉", "Lost", "On hold"],
      source: ["Web", "Partner Referral", "Events"],
    },
  },
  salesforce: { Account: describes.Account, Contact: describes.Contact, Opportunity: describes.Opportunity },
});
const org = orgCapabilities({
  Account: describes.Account,
  Contact: describes.Contact,
  Opportunity: describes.Opportunity,
});
const codes = (report: ReturnType<typeof validateMappings>) =>
  report.issues.map((i) => `${i.severity}:${i.code}:${i.salesforce ?? i.attio ?? ""}`);

describe("validateMappings against the fixture schemas", () => {
  const report = validateMappings(defaultMappings(org), schemas());

  it("accepts the defaults, reporting only what is really one-way or unmapped", () => {
    expect(report.ok).toBe(true);
    // Every stage of the org has an Attio status through the default table; "On hold" (an Attio
    // status the workspace added) has no StageName.
    expect(codes(report)).toEqual(["warning:unmapped_stage:StageName"]);
    expect(report.issues[0]?.message).toMatch(/On hold/);
    expect(report.disabled).toEqual([]);
    // The workspace added close_date, probability and source: the deals mapping uses them.
    const deals = report.mappings.find((m) => m.name === "deals");
    expect(deals?.fields.filter((f) => ["CloseDate", "LeadSource", "Probability"].includes(f.salesforce))).toEqual([
      expect.objectContaining({ attio: "close_date", salesforce: "CloseDate", transform: "close_date" }),
      expect.objectContaining({ attio: "source", salesforce: "LeadSource" }),
      expect.objectContaining({ attio: "probability", salesforce: "Probability" }),
    ]);
  });

  it("runs deals on a new workspace's standard attributes: CloseDate derived, source and probability left out", () => {
    const standard = new Set([
      "record_id",
      "name",
      "stage",
      "owner",
      "value",
      "associated_people",
      "associated_company",
      "created_at",
      "created_by",
    ]);
    const schemas_ = schemas();
    schemas_.attio["deals"] = (schemas_.attio["deals"] ?? []).filter((a) => standard.has(a.api_slug));
    const result = validateMappings(defaultMappings(org), schemas_);
    expect(result.ok).toBe(true);
    expect(result.disabled).toEqual([]);
    const deals = result.mappings.find((m) => m.name === "deals");
    expect(deals?.enabled).toBe(true);
    expect(deals?.fields.find((f) => f.salesforce === "CloseDate")).toEqual({
      attio: "created_at",
      salesforce: "CloseDate",
      transform: "date_plus_days",
      direction: "attio_to_sf",
      options: { days: 90 },
    });
    expect(deals?.fields.map((f) => f.salesforce)).not.toContain("LeadSource");
    expect(deals?.fields.map((f) => f.salesforce)).not.toContain("Probability");
    const missing = result.issues.filter((i) => i.code === "optional_attribute_missing");
    expect(missing.map((i) => `${i.severity}:${i.effect}:${i.salesforce}`)).toEqual([
      "warning:none:CloseDate",
      "warning:field_dropped:LeadSource",
      "warning:field_dropped:Probability",
    ]);
    expect(missing[0]?.message).toMatch(/tried expected_close_date, close_date/);
  });

  it("uses a close date attribute under a common slug, and the configured slug first", () => {
    const schemas_ = schemas();
    schemas_.attio["deals"] = (schemas_.attio["deals"] ?? []).map((a) =>
      a.api_slug === "close_date" ? { ...a, api_slug: "expected_close_date" } : a,
    );
    const found = validateMappings(defaultMappings(org), schemas_).mappings.find((m) => m.name === "deals");
    expect(found?.fields.find((f) => f.salesforce === "CloseDate")?.attio).toBe("expected_close_date");
    const configured = defaultMappings(org, { close_date_attribute: "signed_on", close_date_fallback_days: 30 });
    const fallback = validateMappings(configured, schemas_).mappings.find((m) => m.name === "deals");
    // "signed_on" does not exist: the configured slug alone is tried, then CloseDate is derived.
    expect(fallback?.fields.find((f) => f.salesforce === "CloseDate")).toMatchObject({
      attio: "created_at",
      options: { days: 30 },
    });
  });

  it("narrows a two-way field onto a non-writable Attio attribute to Attio -> Salesforce", () => {
    const companies = defaultMappings(org).find((m) => m.name === "companies") as ObjectMapping;
    const twoWay = { ...companies, fields: companies.fields.map((f) => ({ ...f, direction: "both" as const })) };
    const result = validateMappings([twoWay], schemas());
    expect(codes(result)).toEqual([
      "warning:attio_not_writable:NumberOfEmployees",
      "warning:attio_not_writable:AnnualRevenue",
    ]);
    expect(result.mappings[0]?.fields.find((f) => f.salesforce === "AnnualRevenue")?.direction).toBe("attio_to_sf");
  });

  it("reports unknown attributes and fields, type mismatches, read-only targets, missing required fields, bad ids", () => {
    const broken: ObjectMapping = {
      name: "deals",
      attio_object: "deals",
      salesforce_object: "Opportunity",
      enabled: true,
      read_only: false,
      fields: [
        { attio: "name", salesforce: "Name", transform: "text", direction: "both" },
        { attio: "nope", salesforce: "Description", transform: "text", direction: "both" },
        { attio: "stage", salesforce: "Nope__c", transform: "status_to_stage", direction: "both" },
        { attio: "value", salesforce: "CloseDate", transform: "currency_to_number", direction: "both" },
        { attio: "created_at", salesforce: "IsWon", transform: "checkbox", direction: "sf_to_attio" },
        { attio: "stage", salesforce: "StageName", transform: "status_to_stage", direction: "both" },
      ],
      match_keys: [{ attio: "name", salesforce: "Missing__c", normalize: "text" }],
      salesforce_external_id_field: "Name",
      attio_id_attribute: "name",
      stages: [
        { attio: "Won", salesforce: "Closed Won" },
        { attio: "Lost", salesforce: "Dead" },
      ],
      industries: [],
    };
    const result = validateMappings([broken], schemas());
    expect(result.ok).toBe(false);
    expect(codes(result)).toEqual([
      "error:unknown_attribute:Description",
      "error:unknown_field:Description",
      "error:unknown_field:Nope__c",
      "error:type_mismatch:CloseDate",
      "error:type_mismatch:IsWon",
      "warning:picklist_value_missing:StageName",
      "warning:unmapped_stage:StageName",
      "warning:unmapped_stage:StageName",
      "error:required_field_unmapped:CloseDate",
      "error:bad_match_key:Missing__c",
      "error:bad_id_field:Name",
      "error:bad_id_field:name",
    ]);
    expect(result.mappings[0]?.fields.map((f) => f.salesforce)).toEqual(["Name", "StageName"]);
  });

  it("reports a read-only Salesforce target and drops a one-way field that cannot run", () => {
    const contact: ObjectMapping = {
      ...(defaultMappings(org).find((m) => m.name === "people") as ObjectMapping),
      fields: [
        { attio: "name.last_name", salesforce: "LastName", transform: "last_name", direction: "both" },
        { attio: "name.full_name", salesforce: "Name", transform: "text", direction: "both" },
        { attio: "job_title", salesforce: "Name", transform: "text", direction: "attio_to_sf" },
      ],
    };
    const result = validateMappings([contact], schemas());
    expect(codes(result)).toEqual(["warning:salesforce_not_writable:Name", "error:salesforce_not_writable:Name"]);
    expect(result.mappings[0]?.fields.map((f) => `${f.salesforce}:${f.direction}`)).toEqual([
      "LastName:both",
      "Name:sf_to_attio",
    ]);
  });

  it("reports objects missing on either side and disables the mapping", () => {
    const custom: ObjectMapping = {
      ...(defaultMappings(org)[0] as ObjectMapping),
      name: "projects",
      attio_object: "projects",
      salesforce_object: "Project__c",
    };
    const result = validateMappings([custom], {
      ...schemas(),
      attio: { projects: null },
      salesforce: { Project__c: null },
    });
    expect(codes(result)).toEqual(["error:unknown_attio_object:", "error:unknown_salesforce_object:"]);
    expect(result.mappings[0]?.enabled).toBe(false);
  });
});

describe("loadSchemas", () => {
  it("asks the source once per object and only for titles of select/status attributes used", async () => {
    const calls: string[] = [];
    const source: SchemaSource = {
      attioAttributes: async (object) => {
        calls.push(`attio:${object}`);
        return attioAttributes[object as keyof typeof attioAttributes] ?? null;
      },
      attioOptionTitles: async (object, attribute, kind) => {
        calls.push(`${kind}:${object}.${attribute}`);
        return ["x"];
      },
      salesforceDescribe: async (object) => {
        calls.push(`sf:${object}`);
        return describes[object as keyof typeof describes] ?? null;
      },
    };
    const loaded = await loadSchemas(source, defaultMappings(org));
    expect(calls).toEqual([
      "sf:Account",
      "attio:companies",
      "select:companies.categories",
      "select:companies.employee_range",
      "select:companies.estimated_arr_usd",
      "sf:Contact",
      "attio:people",
      "sf:Opportunity",
      "attio:deals",
      "status:deals.stage",
      "select:deals.source",
    ]);
    expect(loaded.attioTitles["deals"]).toEqual({ stage: ["x"], source: ["x"] });
  });
});

describe("mappingsView", () => {
  it("lists each field with its direction, transform and conflict owner", () => {
    const view = mappingsView(defaultMappings(org), "attio_wins");
    const employees = view[0]?.fields.find((f) => f.salesforce === "NumberOfEmployees");
    expect(employees).toEqual({
      attio: "employee_range",
      salesforce: "NumberOfEmployees",
      direction: "attio_to_sf",
      transform: "range_to_number",
      transform_summary: "range option -> its lower bound; number -> the option whose range holds it",
      conflict_owner: "attio_wins",
    });
    expect(view.map((m) => `${m.name}:${m.salesforce_object}:${m.read_only}`)).toEqual([
      "companies:Account:false",
      "people:Contact:false",
      "deals:Opportunity:false",
      "users:User:true",
    ]);
  });
});
