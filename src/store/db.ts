import { drizzle } from "drizzle-orm/d1";
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

/** D1 allows 100 bound parameters per statement: rows per insert = floor(100 / columns). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
