import { z } from "zod";
import { AttioAttributeSchema } from "../attio/attribute-schema.ts";
import type { AttioClient } from "../attio/client.ts";
import { SyncError } from "../lib/errors.ts";
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

/** Forgets every cached Attio schema (attribute lists and option titles), after a schema-change event. */
export async function forgetAttioSchemas(kv: KVNamespace): Promise<number> {
  let forgotten = 0;
  for (const prefix of ["schema:attio:", "schema:attio-titles:"]) {
    let cursor: string | undefined;
    // Bounded: a workspace has at most a few thousand cached keys.
    for (let page = 0; page < 20; page++) {
      const list = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
      await Promise.all(list.keys.map((key) => kv.delete(key.name)));
      forgotten += list.keys.length;
      if (list.list_complete) break;
      cursor = list.cursor;
    }
  }
  return forgotten;
}
