import { and, desc, eq, inArray, ne, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "./db.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  failures,
  mappingWarnings,
  parkedChanges,
  pendingDeletes,
} from "./schema.ts";

/**
 * What is stored about one record, looked up by its ids (the record's and its counterpart's) and its
 * pair: the open items explain lists, and its last audited decision. Ids are unique across objects
 * (Attio record UUIDs, Salesforce 18-character Ids), so a record is found by id alone.
 */
export interface RecordRef {
  /** The record's id and its counterpart's, when linked. */
  ids: readonly string[];
  /** The pair's id (id_mappings.id), when linked. */
  pairId: string | undefined;
}

/**
 * Failures and parked changes are keyed by message (`side:object:id`, a Salesforce event's
 * `salesforce:Contact:id1,id2`): a row is the record's when its key names one of the ids.
 */
export function keyNames(column: SQLiteColumn, ids: readonly string[]): SQL {
  const names = ids.map(
    (id) =>
      sql`(${column} like ${`%:${id}`} or ${column} like ${`%:${id},%`} or ${column} like ${`%,${id}`} or ${column} like ${`%,${id},%`})`,
  );
  return or(...names) ?? sql`0`;
}

/** Whether an audit row is about one of the ids (either side). */
export function auditOf(ids: readonly string[]): SQL {
  return or(inArray(auditLog.attioRecordId, [...ids]), inArray(auditLog.sfRecordId, [...ids])) ?? sql`0`;
}

/** The open failures, warnings, conflicts, held deletes, ambiguous matches and parked changes of a record. */
export async function openItemsOf(db: Db, ref: RecordRef) {
  const ids = [...ref.ids];
  const pairId = ref.pairId ?? "";
  const [failed, warned, conflicted, held, matched, parked] = await Promise.all([
    db
      .select({
        id: failures.id,
        errorCode: failures.errorCode,
        errorMessage: failures.errorMessage,
        attempts: failures.attempts,
        lastFailedAt: failures.lastFailedAt,
      })
      .from(failures)
      .where(and(eq(failures.status, "open"), keyNames(failures.recordKey, ids)))
      .orderBy(failures.lastFailedAt),
    db
      .select({
        id: mappingWarnings.id,
        direction: mappingWarnings.direction,
        field: mappingWarnings.field,
        attribute: mappingWarnings.attribute,
        code: mappingWarnings.code,
        message: mappingWarnings.message,
        value: mappingWarnings.value,
      })
      .from(mappingWarnings)
      .where(
        and(
          eq(mappingWarnings.status, "open"),
          or(
            inArray(mappingWarnings.sourceRecordId, ids),
            inArray(mappingWarnings.attioRecordId, ids),
            inArray(mappingWarnings.sfRecordId, ids),
          ),
        ),
      )
      .orderBy(mappingWarnings.firstSeenAt),
    db
      .select({
        id: conflicts.id,
        field: conflicts.field,
        baseValue: conflicts.baseValue,
        attioValue: conflicts.attioValue,
        sfValue: conflicts.sfValue,
        createdAt: conflicts.createdAt,
      })
      .from(conflicts)
      .where(and(eq(conflicts.status, "open"), eq(conflicts.mappingId, pairId))),
    db
      .select({
        id: pendingDeletes.id,
        deletedOn: pendingDeletes.deletedOn,
        reason: pendingDeletes.reason,
        detectedAt: pendingDeletes.detectedAt,
      })
      .from(pendingDeletes)
      .where(and(eq(pendingDeletes.status, "pending"), eq(pendingDeletes.mappingId, pairId))),
    db
      .select({
        id: ambiguousMatches.id,
        side: ambiguousMatches.side,
        recordId: ambiguousMatches.recordId,
        candidates: ambiguousMatches.candidates,
        createdAt: ambiguousMatches.createdAt,
      })
      .from(ambiguousMatches)
      .where(and(eq(ambiguousMatches.status, "open"), inArray(ambiguousMatches.recordId, ids))),
    db
      .select({
        key: parkedChanges.key,
        reason: parkedChanges.reason,
        errorMessage: parkedChanges.errorMessage,
        firstParkedAt: parkedChanges.firstParkedAt,
      })
      .from(parkedChanges)
      .where(keyNames(parkedChanges.key, ids)),
  ]);
  return { failures: failed, warnings: warned, conflicts: conflicted, deletes: held, matches: matched, parked };
}

/**
 * The newest audited decision about the record: a value-warning row repeats the warning, and an
 * operator's replay or dismissal decides nothing about the record's values.
 */
export async function lastDecisionOf(db: Db, ids: readonly string[]) {
  const row = await db
    .select({
      at: auditLog.at,
      operation: auditLog.operation,
      direction: auditLog.direction,
      actor: auditLog.actor,
      correlationId: auditLog.correlationId,
    })
    .from(auditLog)
    .where(
      and(
        auditOf(ids),
        ne(auditLog.operation, "operator"),
        sql`json_extract(${auditLog.sourceEvent}, '$.kind') is not 'mapping_warning'`,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(1)
    .get();
  return row ?? null;
}
