import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { chunk } from "../lib/chunk.ts";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof openDb>;

export function openDb(d1: D1Database) {
  let db = opened.get(d1);
  if (!db) {
    db = drizzle(d1, { schema });
    opened.set(d1, db);
  }
  return db;
}

/**
 * One drizzle instance per D1 binding: building one walks the whole schema, which costs more than
 * a webhook's own work, and the instance holds no per-request state.
 */
const opened = new WeakMap<D1Database, ReturnType<typeof drizzle<typeof schema, D1Database>>>();

/** Still exported here for src/queue/slices.ts until it imports src/lib/chunk.ts itself. */

/** Throws unless D1 answers a query. */
export async function pingDb(db: Db): Promise<void> {
  await db.run(sql`select 1`);
}

/** The current time as stored (ISO 8601, milliseconds, UTC), for raw statements. */
export const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** Ids per lookup statement: one JSON parameter each, far below D1's limits. */
export const IDS_PER_STATEMENT = 500;

/**
 * Rows of `query`, whose last parameter is a JSON array of ids, for every chunk of `ids`. Raw
 * statements: a job's page looks up thousands of ids, and building a query per 90 of them through
 * the query builder costs more than the lookups themselves.
 */
export async function rowsForIds<T>(db: Db, query: string, ids: readonly string[], ...params: unknown[]): Promise<T[]> {
  const out: T[] = [];
  for (const part of chunk([...new Set(ids)], IDS_PER_STATEMENT)) {
    const { results } = await db.$client
      .prepare(query)
      .bind(...params, JSON.stringify(part))
      .all<T>();
    out.push(...results);
  }
  return out;
}
