import { z } from "zod";

/**
 * The declarative shape of a mapping. Defaults (defaults.ts), config.toml overrides and custom objects
 * all end up as these plain objects, which the engine compiles once and applies to many records.
 */

/** Which way a field flows. `both` means each side's changes are copied to the other. */
export const DirectionSchema = z.enum(["both", "attio_to_sf", "sf_to_attio"]);
export type Direction = z.infer<typeof DirectionSchema>;

/** Who wins a conflict on this field; unset means the global `[sync] conflict_resolution`. */
export const ConflictOwnerSchema = z.enum(["attio", "salesforce", "last_write"]);
export type ConflictOwner = z.infer<typeof ConflictOwnerSchema>;

export const TransformOptionsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
export type TransformOptions = z.infer<typeof TransformOptionsSchema>;

const FieldCoreSchema = z.object({
  /** Attio attribute slug, or `slug.part` for one part of a location or personal-name value. */
  attio: z.string().min(1),
  /** Salesforce field API name. */
  salesforce: z.string().min(1),
  /** Name of a transform in transforms.ts. */
  transform: z.string().min(1),
  direction: DirectionSchema,
  conflict_owner: ConflictOwnerSchema.optional(),
  options: TransformOptionsSchema.optional(),
});

export const FieldMappingSchema = FieldCoreSchema.extend({
  /**
   * For attributes a workspace may or may not have (a deal's close date, source, probability):
   * slugs tried in order when `attio` is not in the workspace. Validation picks the first that
   * exists with a type the transform takes (validate.ts).
   */
  attio_candidates: z.array(z.string().min(1)).optional(),
  /** When neither `attio` nor a candidate exists: this field is used instead (e.g. a derived close date). */
  fallback: FieldCoreSchema.optional(),
  /** When neither `attio`, a candidate nor a fallback exists: the field is left out with a warning, not an error. */
  optional: z.boolean().optional(),
});
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

/** A pair of attributes that identify the same record on both sides (normalised before comparing). */
export const MatchKeySchema = z.object({
  attio: z.string().min(1),
  salesforce: z.string().min(1),
  normalize: z.enum(["email", "domain", "text", "exact"]),
});
export type MatchKey = z.infer<typeof MatchKeySchema>;

/** One row of the stage table: an Attio status (title or key such as `in_progress`) and a StageName. */
export const StageEntrySchema = z.object({ attio: z.string().min(1), salesforce: z.string().min(1) });
export type StageEntry = z.infer<typeof StageEntrySchema>;

/** One row of the industry table: an Attio category title and a Salesforce Industry value. */
export const IndustryEntrySchema = z.object({ attio: z.string().min(1), salesforce: z.string().min(1) });
export type IndustryEntry = z.infer<typeof IndustryEntrySchema>;

export const ObjectMappingSchema = z.object({
  /** Stable name of the mapping: `companies`, `people`, `deals`, `users`, or a custom mapping's name. */
  name: z.string().min(1),
  attio_object: z.string().min(1),
  salesforce_object: z.string().min(1),
  enabled: z.boolean(),
  /** Read-only mappings (users) are only used to match records; nothing is ever written. */
  read_only: z.boolean(),
  fields: z.array(FieldMappingSchema),
  match_keys: z.array(MatchKeySchema),
  /** Salesforce External ID field that holds the Attio record id, when the user has created one. */
  salesforce_external_id_field: z.string().min(1).optional(),
  /** Attio unique attribute that holds the Salesforce record id, when the user has created one. */
  attio_id_attribute: z.string().min(1).optional(),
  stages: z.array(StageEntrySchema),
  industries: z.array(IndustryEntrySchema),
});
export type ObjectMapping = z.infer<typeof ObjectMappingSchema>;

/** What a Salesforce field can hold after mapping (JSON scalars; dates are `YYYY-MM-DD` strings). */
export type SfScalar = string | number | boolean | null;

/** A Salesforce record as REST returns it: flat fields, plus an `attributes` envelope we ignore. */
export type SfRecord = Readonly<Record<string, unknown>>;

/** Why a value was not written. Issues never throw: a record maps with what can be mapped. */
export interface MappingIssue {
  code: MappingIssueCode;
  attio: string;
  salesforce: string;
  message: string;
  /** The value that could not be written as it is (as read from its side), when there is one. */
  value?: unknown;
}

export type MappingIssueCode =
  | "unmapped_value"
  | "invalid_value"
  | "out_of_range"
  | "unmatched_user"
  | "default_owner_used"
  | "fallback_used"
  /** Salesforce refused the value (a picklist value it lacks, a text too long): written without it. */
  | "rejected_by_salesforce";

/**
 * Issues that mean a value was not written as it is on its own side (skipped, or replaced by a
 * default the operator should know about). `fallback_used` is not among them: a fallback fills a
 * required field the source left empty, by design (a last name, a derived close date).
 */
export function isWarning(issue: Pick<MappingIssue, "code">): boolean {
  return issue.code !== "fallback_used";
}

/**
 * A reference whose target has no counterpart yet. The field is left out of the write (never a wrong
 * or dangling id); the sync engine syncs the target first or comes back to this record later.
 */
export interface DeferredReference {
  attio: string;
  salesforce: string;
  /** Attio object of the target (companies, people, ...). */
  targetObject: string;
  /** The id that could not be resolved, on the side being read. */
  sourceId: string;
  side: "attio" | "salesforce";
}
