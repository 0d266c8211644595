import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { auditLog, idMappings, syncState } from "./schema.ts";

export type IdMapping = typeof idMappings.$inferSelect;
export type SyncState = typeof syncState.$inferSelect;
export type AuditInsert = typeof auditLog.$inferInsert;

export async function findByAttio(db: Db, attioObject: string, attioRecordId: string) {
  const rows = await db
    .select({ mapping: idMappings, state: syncState })
    .from(idMappings)
    .leftJoin(syncState, eq(syncState.mappingId, idMappings.id))
    .where(and(eq(idMappings.attioObject, attioObject), eq(idMappings.attioRecordId, attioRecordId)))
    .limit(1);
  return rows[0];
}

export interface SyncedPair {
  mappingId: string;
  attioObject: string;
  attioRecordId: string;
  sfObject: string;
  sfRecordId: string;
  baseValues: Record<string, unknown>;
  baseHash: string;
  direction: "attio_to_sf" | "sf_to_attio";
  attioSeenAt?: string;
  audit: Omit<AuditInsert, "mappingId">;
}

/**
 * Stores the pair, its new base and the audit row in one D1 batch (one transaction), so the base
 * never says "synced" without the history that explains it.
 */
export async function saveSyncedPair(db: Db, pair: SyncedPair): Promise<void> {
  const nowSql = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
  await db.batch([
    db
      .insert(idMappings)
      .values({
        id: pair.mappingId,
        attioObject: pair.attioObject,
        attioRecordId: pair.attioRecordId,
        sfObject: pair.sfObject,
        sfRecordId: pair.sfRecordId,
      })
      .onConflictDoUpdate({ target: idMappings.id, set: { sfRecordId: pair.sfRecordId, updatedAt: nowSql } }),
    db
      .insert(syncState)
      .values({
        mappingId: pair.mappingId,
        baseValues: pair.baseValues,
        baseHash: pair.baseHash,
        attioSeenAt: pair.attioSeenAt ?? null,
        lastDirection: pair.direction,
      })
      .onConflictDoUpdate({
        target: syncState.mappingId,
        set: {
          baseValues: pair.baseValues,
          baseHash: pair.baseHash,
          attioSeenAt: pair.attioSeenAt ?? null,
          lastDirection: pair.direction,
          lastSyncedAt: nowSql,
        },
      }),
    db.insert(auditLog).values({ ...pair.audit, mappingId: pair.mappingId }),
  ]);
}

export async function appendAudit(db: Db, audit: AuditInsert): Promise<void> {
  await db.insert(auditLog).values(audit);
}

export async function countMappings(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ attioObject: idMappings.attioObject, sfObject: idMappings.sfObject, n: sql<number>`count(*)` })
    .from(idMappings)
    .groupBy(idMappings.attioObject, idMappings.sfObject);
  return Object.fromEntries(rows.map((r) => [`${r.attioObject}:${r.sfObject}`, r.n]));
}
