import { sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { idMappings } from "./schema.ts";

/** Linked pairs per object pair, e.g. `{"people:Contact": 12}`. */
export async function countMappings(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ attioObject: idMappings.attioObject, sfObject: idMappings.sfObject, n: sql<number>`count(*)` })
    .from(idMappings)
    .groupBy(idMappings.attioObject, idMappings.sfObject);
  return Object.fromEntries(rows.map((r) => [`${r.attioObject}:${r.sfObject}`, r.n]));
}
