import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { idMappings, pendingDeletes } from "./schema.ts";

export type PendingDelete = typeof pendingDeletes.$inferSelect;

/** How many pairs a mapping has (its Attio object's): the mass-delete breaker's scale. */
export async function countPairsOf(db: Db, attioObject: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(idMappings)
    .where(eq(idMappings.attioObject, attioObject));
  return row?.n ?? 0;
}

/** Up to `limit` still-pending deletes of one circuit-breaker batch, and how many there are. */
export async function pendingOfBatch(
  db: Db,
  batchId: string,
  limit: number,
): Promise<{ ids: string[]; total: number }> {
  const where = and(eq(pendingDeletes.batchId, batchId), eq(pendingDeletes.status, "pending"));
  const [rows, [count]] = await Promise.all([
    db.select({ id: pendingDeletes.id }).from(pendingDeletes).where(where).orderBy(pendingDeletes.id).limit(limit),
    db.select({ n: sql<number>`count(*)` }).from(pendingDeletes).where(where),
  ]);
  return { ids: rows.map((r) => r.id), total: count?.n ?? 0 };
}

/** Held deletes per circuit-breaker batch still pending (for /api/v1/status). */
export async function pendingMassDeleteBatches(db: Db) {
  return db
    .select({
      batchId: pendingDeletes.batchId,
      object: idMappings.attioObject,
      n: sql<number>`count(*)`,
      detectedAt: sql<string>`min(${pendingDeletes.detectedAt})`,
    })
    .from(pendingDeletes)
    .innerJoin(idMappings, eq(idMappings.id, pendingDeletes.mappingId))
    .where(and(eq(pendingDeletes.status, "pending"), eq(pendingDeletes.reason, "mass_delete")))
    .groupBy(pendingDeletes.batchId, idMappings.attioObject);
}

/** Holds a delete for approval, once per pair: why, and the breaker's batch if it held it. */
export async function holdDelete(
  db: Db,
  mappingId: string,
  deletedOn: "attio" | "salesforce",
  why: { reason: PendingDelete["reason"]; batchId: string | null } = { reason: "policy", batchId: null },
): Promise<boolean> {
  const open = await db
    .select({ id: pendingDeletes.id })
    .from(pendingDeletes)
    .where(and(eq(pendingDeletes.mappingId, mappingId), eq(pendingDeletes.status, "pending")))
    .get();
  if (open) return false;
  await db.insert(pendingDeletes).values({ id: crypto.randomUUID(), mappingId, deletedOn, ...why });
  return true;
}

export async function loadPendingDelete(db: Db, id: string): Promise<PendingDelete | undefined> {
  return db.select().from(pendingDeletes).where(eq(pendingDeletes.id, id)).get();
}

/** Records the operator's decision on a held delete. */
export async function decidePendingDelete(db: Db, id: string, status: "approved" | "rejected"): Promise<void> {
  await db.update(pendingDeletes).set({ status, decidedAt: new Date().toISOString() }).where(eq(pendingDeletes.id, id));
}

/**
 * One page of the held deletes in `status`, in id order, each with its pair's records (null once
 * the pair is gone).
 */
export function listPendingDeletes(db: Db, status: PendingDelete["status"], page: PageRequest) {
  const query = db
    .select({
      id: pendingDeletes.id,
      deletedOn: pendingDeletes.deletedOn,
      status: pendingDeletes.status,
      reason: pendingDeletes.reason,
      batchId: pendingDeletes.batchId,
      detectedAt: pendingDeletes.detectedAt,
      decidedAt: pendingDeletes.decidedAt,
      attioObject: idMappings.attioObject,
      attioRecordId: idMappings.attioRecordId,
      sfObject: idMappings.sfObject,
      sfRecordId: idMappings.sfRecordId,
    })
    .from(pendingDeletes)
    .leftJoin(idMappings, eq(idMappings.id, pendingDeletes.mappingId))
    .$dynamic();
  return listPage(query, pendingDeletes.id, [eq(pendingDeletes.status, status)], page);
}

export async function countPendingDeletes(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(pendingDeletes).where(sql`status = 'pending'`);
  return row?.n ?? 0;
}

/** Held deletes per Attio object of their pair. */
export async function pendingDeletesByObject(db: Db) {
  return db
    .select({ object: idMappings.attioObject, n: sql<number>`count(*)` })
    .from(pendingDeletes)
    .innerJoin(idMappings, eq(idMappings.id, pendingDeletes.mappingId))
    .where(eq(pendingDeletes.status, "pending"))
    .groupBy(idMappings.attioObject);
}
