import { z } from "zod";

/** Who wrote a value (Attio's `created_by_actor`). */
const ValueActorSchema = z.object({
  type: z.string(),
  id: z.string().nullable(),
});

/**
 * One value of an attribute in Attio's read form. Only the common fields are checked here; the
 * per-type fields (email_address, first_name, option, ...) are read by the mapping through
 * `attio/values.ts`, which tolerates their absence.
 */
export const AttioValueSchema = z.looseObject({
  active_from: z.string(),
  active_until: z.string().nullable(),
  created_by_actor: ValueActorSchema,
  attribute_type: z.string(),
});

export const AttioRecordSchema = z.object({
  id: z.object({ workspace_id: z.string(), object_id: z.string(), record_id: z.string() }),
  created_at: z.string(),
  web_url: z.string().optional(),
  values: z.record(z.string(), z.array(AttioValueSchema)),
});
export type AttioRecord = z.infer<typeof AttioRecordSchema>;

const trimmedSchemas = new Map<string, z.ZodType<AttioRecord>>();

/**
 * A record schema that reads only `slugs`: their values are validated as AttioRecordSchema's are,
 * and every other attribute is dropped unread. A mapping reads only some of a record's attributes
 * (a real workspace has many: interactions, enrichment, custom ones), and validating the others
 * was a large part of a scan's cost: see docs/BENCHMARKS.md. Cached per set of slugs.
 *
 * @example recordSchemaReading(new Set(["name", "domains"])).parse(record).values // { name: [...], domains: [...] }
 */
export function recordSchemaReading(slugs: ReadonlySet<string>): z.ZodType<AttioRecord> {
  const key = [...slugs].sort().join(",");
  let schema = trimmedSchemas.get(key);
  if (!schema) {
    const values = Object.fromEntries([...slugs].map((slug) => [slug, z.array(AttioValueSchema).optional()]));
    // A plain z.object strips the keys it does not name: the trimming costs nothing more.
    schema = AttioRecordSchema.extend({ values: z.object(values) }) as unknown as z.ZodType<AttioRecord>;
    trimmedSchemas.set(key, schema);
  }
  return schema;
}

export const AttioObjectSchema = z.object({
  id: z.object({ workspace_id: z.string(), object_id: z.string() }),
  api_slug: z.string(),
  singular_noun: z.string().nullable(),
  plural_noun: z.string().nullable(),
  created_at: z.string(),
});
export type AttioObject = z.infer<typeof AttioObjectSchema>;

/** Attio's error body: `{status_code, type, code, message}`. */
export const AttioErrorSchema = z.object({
  status_code: z.number(),
  type: z.string(),
  code: z.string(),
  message: z.string(),
});
