import { defaultMappings } from "../mapping/defaults.ts";
import { ATTIO_RECORD_ID_FIELD, type OrgCapabilities, PLAIN_ORG } from "../mapping/schema-salesforce.ts";
import type { FieldMapping, IndustryEntry, ObjectMapping, StageEntry } from "../mapping/types.ts";
import type { CustomMappingConfig, FieldOverride, SyncConfig } from "./config-toml.ts";

/**
 * Defaults + config.toml = the effective mappings. Rules:
 * - a `[[mappings.X.fields]]` entry replaces the default field writing the same Salesforce field, or
 *   is added; with `enabled = false` it removes that default field;
 * - `[mappings.deals.stages]` replaces the default stage table (an explicit table is the whole truth,
 *   so stages it does not list are reported, not mapped by a default);
 * - `industries` rows are put before the default rows, so they win;
 * - match keys, external id field and Attio id attribute replace the defaults when given.
 */

function toField(override: FieldOverride): FieldMapping {
  return {
    attio: override.attio,
    salesforce: override.salesforce,
    transform: override.transform,
    direction: override.direction,
    ...(override.conflict_owner === undefined ? {} : { conflict_owner: override.conflict_owner }),
    ...(override.options === undefined ? {} : { options: override.options }),
  };
}

function applyFields(defaults: readonly FieldMapping[], overrides: readonly FieldOverride[]): FieldMapping[] {
  const byTarget = new Map(overrides.map((o) => [o.salesforce, o]));
  const fields: FieldMapping[] = [];
  for (const field of defaults) {
    const override = byTarget.get(field.salesforce);
    if (!override) fields.push(field);
    else if (override.enabled) fields.push(toField(override));
  }
  const defaultTargets = new Set(defaults.map((f) => f.salesforce));
  for (const override of overrides) {
    if (override.enabled && !defaultTargets.has(override.salesforce)) fields.push(toField(override));
  }
  return fields;
}

function tableRows(table: Readonly<Record<string, string>> | undefined): StageEntry[] | IndustryEntry[] {
  return Object.entries(table ?? {}).map(([attio, salesforce]) => ({ attio, salesforce }));
}

type MappingConfig = SyncConfig["mappings"]["companies"] | SyncConfig["mappings"]["deals"];

function applyCommon(mapping: ObjectMapping, config: MappingConfig): ObjectMapping {
  const out: ObjectMapping = {
    ...mapping,
    enabled: config.enabled,
    fields: applyFields(mapping.fields, config.fields),
    match_keys: config.match_keys ?? mapping.match_keys,
  };
  if (config.salesforce_external_id_field) out.salesforce_external_id_field = config.salesforce_external_id_field;
  if (config.attio_id_attribute) out.attio_id_attribute = config.attio_id_attribute;
  return out;
}

function custom(config: CustomMappingConfig, org: OrgCapabilities): ObjectMapping {
  const mapping: ObjectMapping = {
    name: config.name,
    attio_object: config.attio_object,
    salesforce_object: config.salesforce_object,
    enabled: config.enabled,
    read_only: false,
    fields: config.fields.filter((f) => f.enabled).map(toField),
    match_keys: config.match_keys ?? [],
    stages: tableRows(config.stages),
    industries: tableRows(config.industries),
  };
  if (config.salesforce_external_id_field) mapping.salesforce_external_id_field = config.salesforce_external_id_field;
  else if (org.attioRecordIdObjects.includes(config.salesforce_object)) {
    mapping.salesforce_external_id_field = ATTIO_RECORD_ID_FIELD;
  }
  if (config.attio_id_attribute) mapping.attio_id_attribute = config.attio_id_attribute;
  return mapping;
}

/** The mappings in force for this config and org, disabled ones included (with enabled: false). */
export function resolveMappings(config: SyncConfig, org: OrgCapabilities = PLAIN_ORG): ObjectMapping[] {
  const { deals } = config.mappings;
  const defaults = defaultMappings(org, {
    close_date_attribute: deals.close_date_attribute,
    probability_attribute: deals.probability_attribute,
    source_attribute: deals.source_attribute,
    close_date_fallback_days: deals.close_date_fallback_days,
  });
  const resolved = defaults.map((mapping): ObjectMapping => {
    switch (mapping.name) {
      case "companies":
      case "people": {
        const config_ = config.mappings[mapping.name];
        const out = applyCommon(mapping, config_);
        return { ...out, industries: [...tableRows(config_.industries), ...mapping.industries] };
      }
      case "deals":
        return { ...applyCommon(mapping, deals), stages: deals.stages ? tableRows(deals.stages) : mapping.stages };
      default:
        return { ...mapping, enabled: config.mappings.users.enabled };
    }
  });
  return [...resolved, ...config.custom_mappings.map((c) => custom(c, org))];
}
