import { getTransform } from "./transforms.ts";
import type { ObjectMapping } from "./types.ts";

/** What `GET /api/v1/mappings` shows for one field. */
export interface FieldView {
  attio: string;
  salesforce: string;
  direction: string;
  transform: string;
  transform_summary: string;
  conflict_owner: string;
}

export interface MappingView {
  name: string;
  attio_object: string;
  salesforce_object: string;
  enabled: boolean;
  read_only: boolean;
  match_keys: ObjectMapping["match_keys"];
  salesforce_external_id_field: string | null;
  attio_id_attribute: string | null;
  fields: FieldView[];
  stages: ObjectMapping["stages"];
}

/** The effective mappings as JSON for operators: each field with its direction and transform. */
export function mappingsView(mappings: readonly ObjectMapping[], defaultOwner = "last_write"): MappingView[] {
  return mappings.map((m) => ({
    name: m.name,
    attio_object: m.attio_object,
    salesforce_object: m.salesforce_object,
    enabled: m.enabled,
    read_only: m.read_only,
    match_keys: m.match_keys,
    salesforce_external_id_field: m.salesforce_external_id_field ?? null,
    attio_id_attribute: m.attio_id_attribute ?? null,
    fields: m.fields.map((f) => ({
      attio: f.attio,
      salesforce: f.salesforce,
      direction: f.direction,
      transform: f.transform,
      transform_summary: getTransform(f.transform)?.summary ?? "unknown transform",
      conflict_owner: f.conflict_owner ?? defaultOwner,
    })),
    stages: m.stages,
  }));
}
