import { and, eq, inArray, sql } from "drizzle-orm";
import { sha256Hex } from "../lib/hmac.ts";
import type { IdLookup } from "../mapping/transforms.ts";
import { canonicalJson } from "../sync/diff.ts";
import type { Base } from "../sync/plan-fields.ts";
import { chunk, type Db } from "./db.ts";
import { auditLog, conflicts, deferredRefs, idMappings, pendingDeletes, syncState } from "./schema.ts";

export type MappingRow = typeof idMappings.$inferSelect;
export type AuditRow = typeof auditLog.$inferInsert;

/** A linked pair with its base (null before the first successful sync of the pair). */
export interface Pair {
  mapping: MappingRow;
  base: Base | null;
  sfSystemModstamp: string | null;
}

const nowSql = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** Pairs of `attioObject` records among `ids`, keyed by Attio record id. */
export function pairsByAttio(db: Db, attioObject: string, ids: readonly string[]): Promise<Map<string, Pair>> {
  return pairsBy(db, "attio", attioObject, ids);
}

/** Pairs of `sfObject` records among `ids`, keyed by Salesforce Id. */
export function pairsBySalesforce(db: Db, sfObject: string, ids: readonly string[]): Promise<Map<string, Pair>> {
  return pairsBy(db, "salesforce", sfObject, ids);
}

async function pairsBy(
  db: Db,
  side: "attio" | "salesforce",
  object: string,
  ids: readonly string[],
): Promise<Map<string, Pair>> {
  const [objectColumn, idColumn] =
    side === "attio"
      ? [idMappings.attioObject, idMappings.attioRecordId]
      : [idMappings.sfObject, idMappings.sfRecordId];
  const out = new Map<string, Pair>();
  for (const part of chunk([...new Set(ids)], 90)) {
    const rows = await db
      .select({ mapping: idMappings, state: syncState })
      .from(idMappings)
      .leftJoin(syncState, eq(syncState.mappingId, idMappings.id))
      .where(and(eq(objectColumn, object), inArray(idColumn, part)));
    for (const row of rows) out.set(side === "attio" ? row.mapping.attioRecordId : row.mapping.sfRecordId, toPair(row));
  }
  return out;
}

function toPair(row: { mapping: MappingRow; state: typeof syncState.$inferSelect | null }): Pair {
  const stored = row.state?.baseValues as Partial<Base> | undefined;
  const base = stored?.attio && stored.salesforce ? { attio: stored.attio, salesforce: stored.salesforce } : null;
  return { mapping: row.mapping, base, sfSystemModstamp: row.state?.sfSystemModstamp ?? null };
}

/**
 * An IdLookup over the pairs of the given ids, loaded in bulk so reference transforms can resolve
 * synchronously (the mapping core does no I/O).
 */
export async function loadIdLookup(
  db: Db,
  attioIds: ReadonlyArray<{ object: string; id: string }>,
  sfIds: ReadonlyArray<{ object: string; id: string }>,
): Promise<IdLookup & { link(attioObject: string, attioId: string, sfId: string): void }> {
  const toSf = new Map<string, string>();
  const toAttio = new Map<string, string>();
  const remember = (row: MappingRow) => {
    toSf.set(`${row.attioObject}:${row.attioRecordId}`, row.sfRecordId);
    toAttio.set(`${row.attioObject}:${row.sfRecordId}`, row.attioRecordId);
  };
  for (const part of chunk([...new Set(attioIds.map((r) => r.id))], 90)) {
    for (const row of await db.select().from(idMappings).where(inArray(idMappings.attioRecordId, part))) remember(row);
  }
  for (const part of chunk([...new Set(sfIds.map((r) => r.id))], 90)) {
    for (const row of await db.select().from(idMappings).where(inArray(idMappings.sfRecordId, part))) remember(row);
  }
  return {
    salesforceIdFor: (attioObject, attioId) => toSf.get(`${attioObject}:${attioId}`),
    attioIdFor: (attioObject, sfId) => toAttio.get(`${attioObject}:${sfId}`),
    link(attioObject, attioId, sfId) {
      toSf.set(`${attioObject}:${attioId}`, sfId);
      toAttio.set(`${attioObject}:${sfId}`, attioId);
    },
  };
}

export interface SavePair {
  mapping: Omit<MappingRow, "createdAt" | "updatedAt">;
  base: Base;
  direction: "attio_to_sf" | "sf_to_attio" | "none";
  sfSystemModstamp: string | null;
  audits: Omit<AuditRow, "mappingId">[];
}

/** Stores the pair, its new base and its audit rows in one D1 batch (one transaction). */
export async function savePair(db: Db, save: SavePair): Promise<void> {
  await savePairs(db, [save]);
}

/**
 * Stores many pairs, their bases and audit rows in one D1 batch (one transaction, one round trip):
 * all of them or, if one fails, none.
 */
export async function savePairs(db: Db, saves: readonly SavePair[]): Promise<void> {
  const statements = (await Promise.all(saves.map((save) => pairStatements(db, save)))).flat();
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/**
 * Stores many pairs in one batch and, if that batch fails (one pair clashing with a pair another
 * consumer just stored), one pair at a time, so only the clashing ones fail. Returns each save's
 * error, or undefined where it was stored.
 */
export async function savePairsApart(db: Db, saves: readonly SavePair[]): Promise<(unknown | undefined)[]> {
  try {
    await savePairs(db, saves);
    return saves.map(() => undefined);
  } catch (batchError) {
    if (saves.length === 1) return [batchError];
    const errors: (unknown | undefined)[] = [];
    for (const save of saves) {
      try {
        await savePairs(db, [save]);
        errors.push(undefined);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}

async function pairStatements(db: Db, save: SavePair) {
  const { mapping, base } = save;
  const baseHash = await hashBase(base);
  const baseValues = base as unknown as Record<string, unknown>;
  return [
    db
      .insert(idMappings)
      .values(mapping)
      .onConflictDoUpdate({
        target: idMappings.id,
        set: { sfRecordId: mapping.sfRecordId, attioRecordId: mapping.attioRecordId, updatedAt: nowSql },
      }),
    db
      .insert(syncState)
      .values({
        mappingId: mapping.id,
        baseValues,
        baseHash,
        attioSeenAt: new Date().toISOString(),
        sfSystemModstamp: save.sfSystemModstamp,
        lastDirection: save.direction,
      })
      .onConflictDoUpdate({
        target: syncState.mappingId,
        set: {
          baseValues,
          baseHash,
          attioSeenAt: new Date().toISOString(),
          sfSystemModstamp: save.sfSystemModstamp,
          lastDirection: save.direction,
          lastSyncedAt: nowSql,
        },
      }),
    ...save.audits.map((audit) => db.insert(auditLog).values({ ...audit, mappingId: mapping.id })),
  ];
}

function hashBase(base: Base): Promise<string> {
  return sha256Hex(canonicalJson(base));
}

/**
 * Points a pair at another record on one side (after a merge) and forgets its base, so the pair is
 * synced again like a first link: blanks filled, differences settled by the conflict strategy.
 */
export async function movePair(
  db: Db,
  mappingId: string,
  to: { sfRecordId?: string; attioRecordId?: string },
): Promise<void> {
  await db.batch([
    db.delete(syncState).where(eq(syncState.mappingId, mappingId)),
    db
      .update(idMappings)
      .set({ ...to, updatedAt: nowSql })
      .where(eq(idMappings.id, mappingId)),
  ]);
}

/** Removes a pair (after a propagated delete): its base goes with it; audit history stays. */
export async function unlinkPair(db: Db, mappingId: string): Promise<void> {
  await db.batch([
    db.delete(syncState).where(eq(syncState.mappingId, mappingId)),
    db.delete(idMappings).where(eq(idMappings.id, mappingId)),
  ]);
}

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

/** Holds a delete for approval, once per pair and side. */
export async function holdDelete(db: Db, mappingId: string, deletedOn: "attio" | "salesforce"): Promise<boolean> {
  const open = await db
    .select({ id: pendingDeletes.id })
    .from(pendingDeletes)
    .where(and(eq(pendingDeletes.mappingId, mappingId), eq(pendingDeletes.status, "pending")))
    .get();
  if (open) return false;
  await db.insert(pendingDeletes).values({ id: crypto.randomUUID(), mappingId, deletedOn });
  return true;
}

/** Remembers that a record waits for `target` to be linked. */
export async function deferReference(
  db: Db,
  waiting: { side: "attio" | "salesforce"; object: string; recordId: string },
  target: { object: string; id: string },
): Promise<void> {
  await db
    .insert(deferredRefs)
    .values({ ...waiting, targetObject: target.object, targetId: target.id })
    .onConflictDoNothing();
}

/** Records waiting on any of `targetIds` (one side), removed from the table as they are returned. */
export async function takeWaiting(
  db: Db,
  side: "attio" | "salesforce",
  targetIds: readonly string[],
): Promise<{ object: string; recordId: string }[]> {
  const waiting: { object: string; recordId: string }[] = [];
  for (const part of chunk([...new Set(targetIds)], 90)) {
    const where = and(eq(deferredRefs.side, side), inArray(deferredRefs.targetId, part));
    const rows = await db
      .select({ object: deferredRefs.object, recordId: deferredRefs.recordId })
      .from(deferredRefs)
      .where(where);
    if (rows.length > 0) await db.delete(deferredRefs).where(where);
    waiting.push(...rows);
  }
  return waiting;
}
