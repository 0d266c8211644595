import { describe, expect, it } from "vitest";
import example from "../../../config.example.toml?raw";
import { parseSyncConfig, safeParseSyncConfig } from "../../../src/config/config-toml.ts";
import { resolveMappings } from "../../../src/config/effective.ts";
import { indexTomlLines, lineOf } from "../../../src/config/toml-lines.ts";
import { SyncError } from "../../../src/lib/errors.ts";
import { compileMapping, mapToAttio, mapToSalesforce } from "../../../src/mapping/engine.ts";
import { PLAIN_ORG } from "../../../src/mapping/schema-salesforce.ts";
import { idMap, val } from "../mapping/support.ts";

const problems = (text: string) => {
  const result = safeParseSyncConfig(text);
  if (result.ok) throw new Error("expected problems");
  return result.problems;
};

describe("config.toml parsing", () => {
  it("an empty file gives every default", () => {
    const config = parseSyncConfig("");
    // batch_size unset: BATCH_SIZE decides.
    expect(config.sync).toEqual({ direction: "bidirectional", conflict_resolution: "last_write" });
    // Secrets are read from fixed names: the old *_env keys are optional and may only name them.
    expect(config.attio.api_key_env).toBeUndefined();
    expect(safeParseSyncConfig('[attio]\napi_key_env = "ATTIO_API_KEY"\n').ok).toBe(true);
    const renamed = safeParseSyncConfig('[attio]\napi_key_env = "MY_KEY"\n');
    expect(renamed.ok).toBe(false);
    if (!renamed.ok) expect(renamed.problems[0]?.message).toMatch(/always reads the secret ATTIO_API_KEY/);
    // Unset: SALESFORCE_BULK_THRESHOLD decides.
    expect(config.salesforce.bulk_threshold).toBeUndefined();
    // Unset: the common slugs are tried against the workspace; a missing close date is derived.
    expect(config.mappings.deals.close_date_attribute).toBeUndefined();
    expect(config.mappings.deals.close_date_fallback_days).toBe(90);
    expect(config.mappings.users.default_owner_email).toBeUndefined();
    expect(config.custom_mappings).toEqual([]);
  });

  it("parses config.example.toml as shipped", () => {
    const config = parseSyncConfig(example);
    expect(config.salesforce.bulk_threshold).toBe(2000);
    expect(config.mappings.companies.fields).toHaveLength(2);
    expect(config.mappings.deals.stages).toEqual({
      new: "Prospecting",
      qualified: "Qualification",
      proposal: "Proposal/Price Quote",
      negotiation: "Negotiation/Review",
      won: "Closed Won",
      lost: "Closed Lost",
    });
    expect(config.custom_mappings[0]?.fields.map((f) => f.transform)).toEqual([
      "text",
      "text",
      "currency_to_number",
      "record_reference",
      "status_to_stage",
    ]);
  });

  it("names the key path and line of each invalid value", () => {
    const text = [
      "[sync]",
      "batch_size = 500",
      "",
      "[[mappings.deals.fields]]",
      'attio = "x"',
      'salesforce = "Y"',
      'transform = "magic"',
    ].join("\n");
    expect(problems(text)).toEqual([
      { path: "sync.batch_size", line: 2, message: expect.stringMatching(/200/) },
      { path: "mappings.deals.fields.0.transform", line: 7, message: expect.stringMatching(/text/) },
    ]);
  });

  it("reports a misspelt key at its own line, and bad parts, duplicate targets and names", () => {
    const text = [
      "[mappings.people]",
      "enabeld = true",
      "[[mappings.people.fields]]",
      'attio = "primary_location.street"',
      'salesforce = "MailingStreet"',
      "[[mappings.people.fields]]",
      'attio = "job_title"',
      'salesforce = "MailingStreet"',
      "[[custom_mappings]]",
      'name = "deals"',
      'attio_object = "a"',
      'salesforce_object = "B"',
    ].join("\n");
    expect(problems(text).map((p) => `${p.path}@${p.line}`)).toEqual([
      "mappings.people.enabeld@2",
      "mappings.people.fields.0.attio@4",
      "mappings.people.fields.1.salesforce@8",
      "custom_mappings.0.name@10",
    ]);
  });

  it("reports TOML syntax errors with line and column, and throws a config_invalid SyncError", () => {
    const [problem] = problems('[sync]\ndirection = "both\n');
    expect(problem).toMatchObject({ path: "", line: 2 });
    expect(problem?.column).toBeGreaterThan(0);
    try {
      parseSyncConfig("[sync]\nbatch_size = 0\n");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SyncError);
      expect((err as SyncError).code).toBe("config_invalid");
      expect((err as SyncError).message).toMatch(/sync\.batch_size \(line 2\)/);
    }
  });

  it("locates dotted, quoted and array-of-table keys", () => {
    const index = indexTomlLines('[a]\n"b.c" = 1\n[[x.y]]\nk = 1\n[[x.y]]\nk = 2\nd.e = 3\n');
    expect(lineOf(index, ["a", "b.c"])).toBe(2);
    expect(lineOf(index, ["x", "y", 1, "k"])).toBe(6);
    expect(lineOf(index, ["x", "y", 1, "d", "e"])).toBe(7);
    expect(lineOf(index, ["x", "y", 0, "missing"])).toBe(3);
  });
});

describe("resolveMappings", () => {
  const mappings = resolveMappings(parseSyncConfig(example), PLAIN_ORG);
  const byName = (name: string) => mappings.find((m) => m.name === name);

  it("adds and replaces fields, prepends industry rows and replaces the stage table", () => {
    const companies = byName("companies");
    expect(companies?.fields.find((f) => f.salesforce === "Description")?.conflict_owner).toBe("salesforce");
    expect(companies?.fields.at(-1)).toEqual({
      attio: "linkedin",
      salesforce: "LinkedIn__c",
      transform: "text",
      direction: "attio_to_sf",
    });
    expect(companies?.industries[0]).toEqual({ attio: "Fintech", salesforce: "Banking" });
    expect(companies?.salesforce_external_id_field).toBe("Attio_Id__c");
    const deals = byName("deals");
    expect(deals?.stages).toHaveLength(6);
    // The configured close date slug, the configured fallback, and the derived fallback field.
    expect(deals?.fields.find((f) => f.salesforce === "CloseDate")).toMatchObject({
      attio: "expected_close_date",
      options: { fallback_days: 90 },
      fallback: { attio: "created_at", transform: "date_plus_days", options: { days: 90 } },
    });
    expect(deals?.attio_id_attribute).toBe("salesforce_id");
  });

  it("removes a default field with enabled = false and disables whole mappings", () => {
    const config = parseSyncConfig(
      '[mappings.people]\nenabled = false\n[[mappings.companies.fields]]\nattio = "categories"\nsalesforce = "Industry"\nenabled = false\n',
    );
    const resolved = resolveMappings(config);
    expect(resolved.find((m) => m.name === "companies")?.fields.some((f) => f.salesforce === "Industry")).toBe(false);
    expect(resolved.find((m) => m.name === "people")?.enabled).toBe(false);
  });

  it("uses the configured deal attribute slugs", () => {
    const config = parseSyncConfig('[mappings.deals]\nclose_date_attribute = "expected_close"\n');
    expect(
      resolveMappings(config)
        .find((m) => m.name === "deals")
        ?.fields.find((f) => f.salesforce === "CloseDate")?.attio,
    ).toBe("expected_close");
  });

  it("a custom object maps end to end in both directions", () => {
    const projects = byName("projects");
    if (!projects) throw new Error("no projects mapping");
    const compiled = compileMapping(projects);
    const ids = idMap([["companies", "co-1", "001CO1"]]);
    const record = {
      name: [val("text", { value: "Hull scan 2026" })],
      project_code: [val("text", { value: "HS-26" })],
      budget: [val("currency", { currency_value: 90000, currency_code: "USD" })],
      client: [val("record-reference", { target_object: "companies", target_record_id: "co-1" })],
      status: [val("status", { status: { title: "Active" } })],
    };
    const sf = mapToSalesforce(compiled, record, { ids });
    expect(sf.fields).toEqual({
      Name: "Hull scan 2026",
      Code__c: "HS-26",
      Budget__c: 90000,
      Account__c: "001CO1",
      Status__c: "In Progress",
    });
    expect(mapToAttio(compiled, { ...sf.fields, Status__c: "Completed" }, { ids }).values).toEqual({
      name: ["Hull scan 2026"],
      project_code: ["HS-26"],
      budget: [90000],
      client: [{ target_object: "companies", target_record_id: "co-1" }],
      status: ["done"],
    });
  });
});

describe("resolveMappings: the conventional External ID field Attio_Record_Id__c", () => {
  const custom = `
[[custom_mappings]]
name = "projects"
attio_object = "projects"
salesforce_object = "Project__c"

[[custom_mappings.fields]]
attio = "name"
salesforce = "Name"
transform = "text"
`;
  const org = { ...PLAIN_ORG, attioRecordIdObjects: ["Account", "Project__c"] };

  it("is used where describe found it, default and custom mappings alike, unless config names another", () => {
    const byName = (toml: string) =>
      new Map(resolveMappings(parseSyncConfig(toml), org).map((m) => [m.name, m.salesforce_external_id_field]));
    const found = byName(custom);
    expect(found.get("companies")).toBe("Attio_Record_Id__c");
    expect(found.get("projects")).toBe("Attio_Record_Id__c");
    expect(found.get("people")).toBeUndefined();
    const configured = byName(
      `[mappings.companies]\nsalesforce_external_id_field = "Legacy_Attio__c"\n${custom.replace(
        'salesforce_object = "Project__c"',
        'salesforce_object = "Project__c"\nsalesforce_external_id_field = "Other__c"',
      )}`,
    );
    expect(configured.get("companies")).toBe("Legacy_Attio__c");
    expect(configured.get("projects")).toBe("Other__c");
  });

  it("[breaker] defaults to 500 records or 20% in 10 minutes, and names a bad key", () => {
    expect(parseSyncConfig("").breaker).toEqual({
      enabled: true,
      max_records: 500,
      max_share: 0.2,
      min_records: 20,
      window_minutes: 10,
    });
    const bad = safeParseSyncConfig("[breaker]\nmax_share = 2\nwindow = 5\n");
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.map((p) => p.path).sort()).toEqual(["breaker.max_share", "breaker.window"]);
    }
  });
});
