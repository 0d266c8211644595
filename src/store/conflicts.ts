import { eq, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { conflicts, idMappings } from "./schema.ts";

export type Conflict = typeof conflicts.$inferSelect;

/** Opens (or refreshes) the conflict of one field of a pair. */
export async function upsertConflict(
  db: Db,
  mappingId: string,
  field: string,
  values: { base: unknown; attio: unknown; salesforce: unknown },
): Promise<void> {
  await db
    .insert(conflicts)
    .values({
      id: crypto.randomUUID(),
      mappingId,
      field,
      baseValue: values.base ?? null,
      attioValue: values.attio ?? null,
      sfValue: values.salesforce ?? null,
    })
    .onConflictDoUpdate({
      target: [conflicts.mappingId, conflicts.field],
      targetWhere: sql`status = 'open'`,
      set: { attioValue: values.attio ?? null, sfValue: values.salesforce ?? null },
    });
}

export async function loadConflict(db: Db, id: string): Promise<Conflict | undefined> {
  return db.select().from(conflicts).where(eq(conflicts.id, id)).get();
}

/** Closes a conflict with the operator's decision. */
export async function closeConflict(db: Db, id: string, resolution: unknown): Promise<void> {
  await db
    .update(conflicts)
    .set({ status: "resolved", resolution, resolvedAt: new Date().toISOString() })
    .where(eq(conflicts.id, id));
}

/** One page of the conflicts in `status`, in id order. */
export function listConflicts(db: Db, status: Conflict["status"], page: PageRequest) {
  return listPage(db.select().from(conflicts).$dynamic(), conflicts.id, [eq(conflicts.status, status)], page);
}

export async function countOpenConflicts(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(conflicts).where(sql`status = 'open'`);
  return row?.n ?? 0;
}

/** Open conflicts per Attio object of their pair. */
export async function openConflictsByObject(db: Db) {
  return db
    .select({ object: idMappings.attioObject, n: sql<number>`count(*)` })
    .from(conflicts)
    .innerJoin(idMappings, eq(idMappings.id, conflicts.mappingId))
    .where(eq(conflicts.status, "open"))
    .groupBy(idMappings.attioObject);
}
