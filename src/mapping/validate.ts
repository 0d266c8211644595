import type { AttioAttribute } from "../attio/attribute-schema.ts";
import { parseAttioPath } from "./engine.ts";
import { activePicklistValues, isRequiredOnCreate, type SfFieldDescribe } from "./schema-salesforce.ts";
import type { LoadedSchemas } from "./schema-source.ts";
import { stageKey } from "./tables.ts";
import { getTransform } from "./transforms.ts";
import type { Direction, FieldMapping, ObjectMapping } from "./types.ts";

/**
 * Checks effective mappings against the live schemas and returns the mappings as they can really
 * run: a field whose target side cannot be written becomes one-directional (reported, not failed at
 * run time); a field that cannot run at all is dropped and reported as an error.
 */

export type ValidationCode =
  | "optional_attribute_missing"
  | "unknown_attio_object"
  | "unknown_salesforce_object"
  | "unknown_attribute"
  | "unknown_field"
  | "type_mismatch"
  | "attio_not_writable"
  | "salesforce_not_writable"
  | "not_reversible"
  | "required_field_unmapped"
  | "picklist_value_missing"
  | "unmapped_stage"
  | "bad_match_key"
  | "bad_id_field";

/**
 * What an issue does to the mapping: `mapping_off` (it cannot run at all: an object or match key the
 * CRMs lack, a required field nothing fills), `field_dropped` (the mapping runs without that field),
 * `narrowed` (the field runs one way only), `none` (a note).
 */
export type ValidationEffect = "mapping_off" | "field_dropped" | "narrowed" | "none";

export interface ValidationIssue {
  severity: "error" | "warning";
  effect: ValidationEffect;
  code: ValidationCode;
  mapping: string;
  attio?: string;
  salesforce?: string;
  message: string;
}

export interface ValidationReport {
  /** No errors (warnings allowed). */
  ok: boolean;
  /** Mappings that cannot run (an issue with effect `mapping_off`): switched off. */
  disabled: string[];
  issues: ValidationIssue[];
  /** The mappings with directions narrowed to what the schemas allow and broken fields removed. */
  mappings: ObjectMapping[];
}

const PART_TYPE: Record<string, string> = { name: "personal-name", location: "location" };
const LOCATION_OR_NAME = (part: string) =>
  ["first_name", "last_name", "full_name"].includes(part) ? PART_TYPE["name"] : PART_TYPE["location"];

function narrow(direction: Direction, drop: "attio_to_sf" | "sf_to_attio"): Direction | null {
  if (direction === "both") return drop === "attio_to_sf" ? "sf_to_attio" : "attio_to_sf";
  return direction === drop ? null : direction;
}

type Report = (issue: Omit<ValidationIssue, "mapping">) => void;

/** A field as the engine runs it: the selection hints (candidates, fallback, optional) resolved away. */
function core(spec: FieldMapping): FieldMapping {
  const { attio_candidates: _candidates, fallback: _fallback, optional: _optional, ...field } = spec;
  return field;
}

/**
 * Picks the Attio attribute of a field whose attribute a workspace may lack: `attio`, then each of
 * `attio_candidates`, the first that exists with a type the transform reads. Without one, the
 * fallback field is used, or an optional field is left out; both are reported as warnings. Returns
 * null for a field left out; a field without such hints is returned as it is.
 */
function chooseAttribute(
  mapping: ObjectMapping,
  spec: FieldMapping,
  attributes: ReadonlyMap<string, AttioAttribute>,
  report: Report,
): FieldMapping | null {
  if (!spec.attio_candidates && !spec.fallback && !spec.optional) return spec;
  const transform = getTransform(spec.transform);
  const slugs = [spec.attio, ...(spec.attio_candidates ?? [])];
  const fits = (slug: string) => {
    const attribute = attributes.get(slug);
    return attribute !== undefined && !attribute.is_archived && transform?.attioTypes.includes(attribute.type);
  };
  const found = slugs.find(fits);
  if (found !== undefined) return { ...core(spec), attio: found };
  const tried = slugs.join(", ");
  const at = { attio: spec.attio, salesforce: spec.salesforce };
  if (spec.fallback) {
    report({
      ...at,
      severity: "warning",
      effect: "none",
      code: "optional_attribute_missing",
      message: `${mapping.attio_object} has no attribute for ${spec.salesforce} (tried ${tried}): ${spec.salesforce} comes from ${spec.fallback.attio} (${spec.fallback.transform}) and is not written back`,
    });
    return spec.fallback;
  }
  if (!spec.optional) return core(spec);
  report({
    ...at,
    severity: "warning",
    effect: "field_dropped",
    code: "optional_attribute_missing",
    message: `${mapping.attio_object} has no attribute for ${spec.salesforce} (tried ${tried}): ${spec.salesforce} is not synced`,
  });
  return null;
}

function validateMapping(mapping: ObjectMapping, schemas: LoadedSchemas, issues: ValidationIssue[]): ObjectMapping {
  const report: Report = (issue) => issues.push({ mapping: mapping.name, ...issue });
  const attributes = schemas.attio[mapping.attio_object];
  const describe = schemas.salesforce[mapping.salesforce_object];
  if (attributes === null || attributes === undefined) {
    report({
      severity: "error",
      effect: "mapping_off",
      code: "unknown_attio_object",
      message: `Attio has no object "${mapping.attio_object}"`,
    });
  }
  if (describe === null || describe === undefined) {
    report({
      severity: "error",
      effect: "mapping_off",
      code: "unknown_salesforce_object",
      message: `Salesforce has no object "${mapping.salesforce_object}" (or the integration user cannot see it)`,
    });
  }
  if (!attributes || !describe) return { ...mapping, enabled: false };

  const attributeBySlug = new Map(attributes.map((a) => [a.api_slug, a]));
  const fieldByName = new Map(describe.fields.map((f) => [f.name, f]));
  const titles = schemas.attioTitles[mapping.attio_object] ?? {};
  const fields: FieldMapping[] = [];

  for (const declared of mapping.fields) {
    const spec = chooseAttribute(mapping, declared, attributeBySlug, report);
    if (!spec) continue;
    const checked = checkField(mapping, spec, attributeBySlug, fieldByName, report);
    if (!checked) continue;
    fields.push(checked);
    checkPicklists(
      mapping,
      checked,
      fieldByName.get(checked.salesforce) as SfFieldDescribe,
      titles[parseSlug(checked.attio)],
      report,
    );
  }

  for (const field of describe.fields) {
    if (!isRequiredOnCreate(field)) continue;
    const source = fields.find((f) => f.salesforce === field.name && f.direction !== "sf_to_attio");
    if (!source) {
      report({
        severity: "error",
        effect: "mapping_off",
        code: "required_field_unmapped",
        salesforce: field.name,
        message: `${mapping.salesforce_object}.${field.name} is required on create and nothing maps to it`,
      });
    }
  }
  checkKeys(mapping, attributeBySlug, fieldByName, report);
  return { ...mapping, fields };
}

function parseSlug(path: string): string {
  const parsed = parseAttioPath(path);
  return "error" in parsed ? path : parsed.slug;
}

/**
 * One field against both schemas: null when it cannot run at all (reported, dropped), else the
 * field with its direction narrowed to what both sides can write.
 */
function checkField(
  mapping: ObjectMapping,
  spec: FieldMapping,
  attributeBySlug: ReadonlyMap<string, AttioAttribute>,
  fieldByName: ReadonlyMap<string, SfFieldDescribe>,
  report: Report,
): FieldMapping | null {
  const at = { attio: spec.attio, salesforce: spec.salesforce };
  const transform = getTransform(spec.transform);
  const path = parseAttioPath(spec.attio);
  if (!transform || "error" in path) return null; // compileMapping/config parsing reject these first
  const attribute = attributeBySlug.get(path.slug);
  const sfField = fieldByName.get(spec.salesforce);
  const dropped = (code: ValidationCode, message: string) =>
    report({ ...at, severity: "error", effect: "field_dropped", code, message: `${message}: the field is not synced` });
  if (!attribute || attribute.is_archived) {
    dropped(
      "unknown_attribute",
      `${mapping.attio_object}.${path.slug} ${attribute ? "is archived" : "does not exist in Attio"}`,
    );
  }
  if (!sfField) {
    dropped(
      "unknown_field",
      `${mapping.salesforce_object}.${spec.salesforce} does not exist (or is not visible to the integration user)`,
    );
  }
  if (!attribute || attribute.is_archived || !sfField) return null;

  const attioTypeOk = path.part
    ? attribute.type === LOCATION_OR_NAME(path.part)
    : transform.attioTypes.includes(attribute.type);
  if (!attioTypeOk || !transform.salesforceTypes.includes(sfField.type)) {
    dropped(
      "type_mismatch",
      `transform ${transform.name} maps ${transform.attioTypes.join("/")} <-> ${transform.salesforceTypes.join("/")}, but ${path.slug} is ${attribute.type} and ${spec.salesforce} is ${sfField.type}`,
    );
    return null;
  }

  let direction: Direction | null = spec.direction;
  if (direction !== "attio_to_sf" && !transform.reversible) {
    direction = narrow(direction, "sf_to_attio");
    report({
      ...at,
      severity: "warning",
      effect: "narrowed",
      code: "not_reversible",
      message: `${transform.name} only maps Attio -> Salesforce`,
    });
  }
  if (direction && direction !== "attio_to_sf" && !attribute.is_writable) {
    direction = narrow(direction, "sf_to_attio");
    report({
      ...at,
      severity: direction ? "warning" : "error",
      effect: direction ? "narrowed" : "field_dropped",
      code: "attio_not_writable",
      message: `${path.slug} is not writable in Attio (enriched or system)${direction ? ": synced Attio -> Salesforce only" : ": the field is not synced"}`,
    });
  }
  if (direction && direction !== "sf_to_attio" && !sfField.updateable && !sfField.createable) {
    direction = narrow(direction, "attio_to_sf");
    report({
      ...at,
      severity: direction ? "warning" : "error",
      effect: direction ? "narrowed" : "field_dropped",
      code: "salesforce_not_writable",
      message: `${spec.salesforce} is read-only in Salesforce${direction ? ": synced Salesforce -> Attio only" : ": the field is not synced"}`,
    });
  }
  return direction ? { ...spec, direction } : null;
}

function checkPicklists(
  mapping: ObjectMapping,
  spec: FieldMapping,
  sfField: SfFieldDescribe,
  attioTitles: readonly string[] | undefined,
  report: Report,
): void {
  const at = { attio: spec.attio, salesforce: spec.salesforce };
  const picklist = activePicklistValues(sfField);
  const lowerPicklist = new Set(picklist.map((v) => v.toLowerCase()));
  const rows =
    spec.transform === "status_to_stage" ? mapping.stages : spec.transform === "industry" ? mapping.industries : [];
  // Only what the table writes to Salesforce: the first row of each Attio value (later rows only
  // read Salesforce values back).
  const keyOf = spec.transform === "status_to_stage" ? stageKey : (text: string) => text.toLowerCase();
  const written = new Map<string, string>();
  for (const row of rows) if (!written.has(keyOf(row.attio))) written.set(keyOf(row.attio), row.salesforce);
  const missing = [...new Set(written.values())].filter((v) => !lowerPicklist.has(v.toLowerCase()));
  if (sfField.type === "picklist" && missing.length > 0) {
    report({
      ...at,
      severity: "warning",
      effect: "none",
      code: "picklist_value_missing",
      message: `the ${spec.transform === "industry" ? "industry" : "stage"} table writes values ${spec.salesforce} does not have: ${missing.join(", ")}`,
    });
  }
  if (spec.transform === "select" && attioTitles && sfField.restrictedPicklist) {
    const absent = attioTitles.filter((t) => !lowerPicklist.has(t.toLowerCase()));
    if (absent.length > 0) {
      report({
        ...at,
        severity: "warning",
        effect: "none",
        code: "picklist_value_missing",
        message: `Attio options with no value in the restricted picklist ${spec.salesforce}: ${absent.join(", ")}`,
      });
    }
  }
  if (spec.transform !== "status_to_stage") return;
  const keys = new Set(mapping.stages.map((r) => stageKey(r.attio)));
  const unmappedAttio = (attioTitles ?? []).filter((t) => !keys.has(stageKey(t)));
  if (unmappedAttio.length > 0) {
    report({
      ...at,
      severity: "warning",
      effect: "none",
      code: "unmapped_stage",
      message: `Attio stages with no StageName (such deals keep their stage in Salesforce): ${unmappedAttio.join(", ")}`,
    });
  }
  const mappedSf = new Set(mapping.stages.map((r) => r.salesforce.toLowerCase()));
  const unmappedSf = picklist.filter((v) => !mappedSf.has(v.toLowerCase()));
  if (spec.direction !== "attio_to_sf" && unmappedSf.length > 0) {
    report({
      ...at,
      severity: "warning",
      effect: "none",
      code: "unmapped_stage",
      message: `Salesforce stages with no Attio status (such opportunities keep their stage in Attio): ${unmappedSf.join(", ")}`,
    });
  }
}

function checkKeys(
  mapping: ObjectMapping,
  attributes: ReadonlyMap<string, AttioAttribute>,
  fields: ReadonlyMap<string, SfFieldDescribe>,
  report: Report,
): void {
  for (const key of mapping.match_keys) {
    const path = parseAttioPath(key.attio);
    const slug = "error" in path ? key.attio : path.slug;
    const sfField = fields.get(key.salesforce);
    if (attributes.has(slug) && sfField && !QUOTED_FILTER_TYPES.has(sfField.type)) {
      // Match keys are looked up with quoted literals (`Field IN ('...')`): only text-like fields
      // take them; a number, date or long text field would make Salesforce refuse every lookup.
      report({
        severity: "error",
        effect: "mapping_off",
        code: "bad_match_key",
        attio: key.attio,
        salesforce: key.salesforce,
        message: `match key ${key.attio} <-> ${key.salesforce}: ${key.salesforce} is a ${sfField.type} field; a match key needs a text, email, url, phone or picklist field`,
      });
      continue;
    }
    if (!attributes.has(slug) || !sfField) {
      report({
        severity: "error",
        effect: "mapping_off",
        code: "bad_match_key",
        attio: key.attio,
        salesforce: key.salesforce,
        message: `match key ${key.attio} <-> ${key.salesforce}: ${attributes.has(slug) ? key.salesforce : key.attio} does not exist`,
      });
    }
  }
  if (mapping.salesforce_external_id_field) {
    const field = fields.get(mapping.salesforce_external_id_field);
    if (!field?.externalId) {
      report({
        severity: "error",
        effect: "mapping_off",
        code: "bad_id_field",
        salesforce: mapping.salesforce_external_id_field,
        message: `${mapping.salesforce_object}.${mapping.salesforce_external_id_field} ${field ? "is not an External ID field" : "does not exist"}`,
      });
    }
  }
  if (mapping.attio_id_attribute) {
    const attribute = attributes.get(mapping.attio_id_attribute);
    if (!attribute?.is_unique || !attribute.is_writable) {
      report({
        severity: "error",
        effect: "mapping_off",
        code: "bad_id_field",
        attio: mapping.attio_id_attribute,
        message: `${mapping.attio_object}.${mapping.attio_id_attribute} ${attribute ? "must be a unique, writable attribute" : "does not exist"}`,
      });
    }
  }
}

/** Salesforce field types a quoted SOQL literal can be compared with (long text cannot be filtered at all). */
const QUOTED_FILTER_TYPES = new Set(["string", "email", "url", "phone", "picklist", "combobox"]);

/**
 * Validates every enabled, writable mapping; read-only and disabled ones pass through unchanged. A
 * mapping with an issue whose effect is `mapping_off` is returned switched off.
 */
export function validateMappings(mappings: readonly ObjectMapping[], schemas: LoadedSchemas): ValidationReport {
  const issues: ValidationIssue[] = [];
  const checked = mappings.map((m) => (m.enabled && !m.read_only ? validateMapping(m, schemas, issues) : m));
  const disabled = [...new Set(issues.filter((i) => i.effect === "mapping_off").map((i) => i.mapping))];
  return {
    ok: issues.every((i) => i.severity !== "error"),
    disabled,
    issues,
    mappings: checked.map((m) => (disabled.includes(m.name) ? { ...m, enabled: false } : m)),
  };
}
