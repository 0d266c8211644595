import { z } from "zod";
import type { AttioClient } from "../attio/client.ts";
import { SyncError } from "../lib/errors.ts";
import { type AttioAttribute, AttioAttributeSchema } from "../mapping/schema-attio.ts";
import { type SObjectDescribe, SObjectDescribeSchema } from "../mapping/schema-salesforce.ts";
import type { SchemaSource } from "../mapping/schema-source.ts";
import type { SalesforceClient } from "../salesforce/client.ts";

/** How long a discovered schema is trusted before it is read again. */
export const SCHEMA_TTL_SECONDS = 3600;

/**
 * The live schemas of both CRMs behind the pure validator's SchemaSource, cached in KV under
 * `schema:attio:<object>`, `schema:attio-titles:<object>:<attribute>` and `schema:salesforce:<object>`.
 */
export function cachedSchemaSource(attio: AttioClient, salesforce: SalesforceClient, kv: KVNamespace): SchemaSource {
  return {
    attioAttributes: (object) =>
      cached(kv, `schema:attio:${object}`, z.array(AttioAttributeSchema).nullable(), () =>
        attio.listAttributes(object),
      ),
    attioOptionTitles: (object, attribute, kind) =>
      cached(kv, `schema:attio-titles:${object}:${attribute}`, z.array(z.string()), () =>
        attio.optionTitles(object, attribute, kind),
      ),
    salesforceDescribe: (object) =>
      cached(kv, `schema:salesforce:${object}`, SObjectDescribeSchema.nullable(), () => describe(salesforce, object)),
  };
}

async function describe(salesforce: SalesforceClient, object: string): Promise<SObjectDescribe | null> {
  try {
    const parsed = SObjectDescribeSchema.safeParse(await salesforce.describe(object));
    if (!parsed.success) throw new SyncError("upstream_rejected", `describe of ${object} has an unexpected shape`);
    return parsed.data;
  } catch (err) {
    if (err instanceof SyncError && err.code === "not_found") return null;
    throw err;
  }
}

async function cached<T>(kv: KVNamespace, key: string, schema: z.ZodType<T>, load: () => Promise<T>): Promise<T> {
  // Stored wrapped, so a cached "no such object" (null) differs from a missing key.
  const stored = z.object({ value: schema }).safeParse(await kv.get(key, "json"));
  if (stored.success) return stored.data.value;
  const fresh = await load();
  await kv.put(key, JSON.stringify({ value: fresh }), { expirationTtl: SCHEMA_TTL_SECONDS });
  return fresh;
}

/** Forgets the cached schemas of an object, after a schema-change event. */
export async function forgetSchema(kv: KVNamespace, side: "attio" | "salesforce", object: string): Promise<void> {
  await kv.delete(`schema:${side}:${object}`);
}

export type { AttioAttribute };
