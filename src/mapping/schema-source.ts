import type { AttioAttribute } from "../attio/attribute-schema.ts";
import type { SObjectDescribe } from "./schema-salesforce.ts";
import type { ObjectMapping } from "./types.ts";

/**
 * Where the schema layer gets the two live schemas. The adapter behind it (Attio and Salesforce
 * clients plus a KV/D1 cache with a TTL, invalidated on `object-attribute.*` webhooks or describe
 * changes) lives outside the pure core; validation itself only sees the loaded data.
 */
export interface SchemaSource {
  /** `GET /v2/objects/{object}/attributes` items (parse with AttioAttributeListSchema); null if no such object. */
  attioAttributes(object: string): Promise<AttioAttribute[] | null>;
  /** Titles of a select's options or a status attribute's statuses (not archived). */
  attioOptionTitles(object: string, attribute: string, kind: "select" | "status"): Promise<string[]>;
  /** `GET /sobjects/{object}/describe` (parse with SObjectDescribeSchema); null if no such object. */
  salesforceDescribe(object: string): Promise<SObjectDescribe | null>;
}

/** Everything validation needs, keyed by object name. */
export interface LoadedSchemas {
  attio: Record<string, AttioAttribute[] | null>;
  /** object -> attribute slug -> option/status titles. */
  attioTitles: Record<string, Record<string, string[]>>;
  salesforce: Record<string, SObjectDescribe | null>;
}

/** Transforms whose Attio side is a select or status, so their titles matter. */
const TITLED = new Set(["select", "industry", "status_to_stage", "range_to_number"]);

/** Reads, once each, the schemas the enabled mappings touch. */
export async function loadSchemas(source: SchemaSource, mappings: readonly ObjectMapping[]): Promise<LoadedSchemas> {
  const loaded: LoadedSchemas = { attio: {}, attioTitles: {}, salesforce: {} };
  const active = mappings.filter((m) => m.enabled && !m.read_only);
  for (const mapping of active) {
    if (!(mapping.salesforce_object in loaded.salesforce)) {
      loaded.salesforce[mapping.salesforce_object] = await source.salesforceDescribe(mapping.salesforce_object);
    }
    if (!(mapping.attio_object in loaded.attio)) {
      loaded.attio[mapping.attio_object] = await source.attioAttributes(mapping.attio_object);
    }
    const attributes = loaded.attio[mapping.attio_object];
    if (!attributes) continue;
    const titles = loaded.attioTitles[mapping.attio_object] ?? {};
    loaded.attioTitles[mapping.attio_object] = titles;
    for (const field of mapping.fields) {
      const attribute = attributes.find((a) => a.api_slug === field.attio);
      if (!attribute || !TITLED.has(field.transform) || attribute.api_slug in titles) continue;
      if (attribute.type !== "select" && attribute.type !== "status") continue;
      titles[attribute.api_slug] = await source.attioOptionTitles(
        mapping.attio_object,
        attribute.api_slug,
        attribute.type,
      );
    }
  }
  return loaded;
}
