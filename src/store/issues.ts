import { and, eq, inArray, notInArray, type SQL, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import {
  failureReason,
  type HeldDeleteReason,
  heldDeleteReason,
  type IssueKind,
  type IssueReason,
  type ReasonSelector,
  type StoredCounts,
  warningReason,
} from "../sync/issue-reasons.ts";
import { SyncMessageSchema } from "../sync/messages.ts";
import { type Db, NOW } from "./db.ts";
import { listPage, type Page, type PageRequest } from "./pages.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  failures,
  idMappings,
  issueDismissals,
  mappingWarnings,
  pendingDeletes,
} from "./schema.ts";

/**
 * The open items of GET /api/v1/issues, read from the stores that hold them (failures, warnings,
 * conflicts, held deletes, ambiguous matches) and shaped alike: what it is about, since when, why.
 */

/** A record an item is about. `object` is as the source names it; a job's message names its mapping. */
export interface IssueRecord {
  side: "attio" | "salesforce";
  object: string | null;
  record_id: string;
  mapping?: string;
}

export interface IssueItem {
  kind: IssueKind;
  id: string;
  reason: IssueReason;
  /** One line for people: the error, the warning, the two values, the candidates. */
  summary: string;
  records: IssueRecord[];
  since: string;
  last_seen: string;
  /** The item's own fields, as its list route shows them (snake_case). */
  detail: Record<string, unknown>;
}

/** Open items per stored code, for countsByReason. */
export async function storedCounts(db: Db): Promise<StoredCounts> {
  const [failureRows, warningRows, conflictRows, deleteRows, matchRows] = await Promise.all([
    db
      .select({ code: failures.errorCode, n: sql<number>`count(*)` })
      .from(failures)
      .where(eq(failures.status, "open"))
      .groupBy(failures.errorCode),
    db
      .select({ code: mappingWarnings.code, n: sql<number>`count(*)` })
      .from(mappingWarnings)
      .where(eq(mappingWarnings.status, "open"))
      .groupBy(mappingWarnings.code),
    db.select({ n: sql<number>`count(*)` }).from(conflicts).where(eq(conflicts.status, "open")),
    db
      .select({ reason: pendingDeletes.reason, n: sql<number>`count(*)` })
      .from(pendingDeletes)
      .where(eq(pendingDeletes.status, "pending"))
      .groupBy(pendingDeletes.reason),
    db.select({ n: sql<number>`count(*)` }).from(ambiguousMatches).where(eq(ambiguousMatches.status, "open")),
  ]);
  return {
    failures: failureRows,
    warnings: warningRows,
    conflicts: conflictRows[0]?.n ?? 0,
    heldDeletes: deleteRows.map((row) => ({ reason: row.reason as HeldDeleteReason, n: row.n })),
    ambiguousMatches: matchRows[0]?.n ?? 0,
  };
}

function codeFilter(column: typeof failures.errorCode | typeof mappingWarnings.code, selector: ReasonSelector) {
  if (selector.kind !== "failure" && selector.kind !== "warning") return undefined;
  if (selector.codes) return inArray(column, selector.codes);
  return selector.otherThan.length > 0 ? notInArray(column, selector.otherThan) : undefined;
}

/** One page of the open items of a reason, in id order (the cursor is the last item's id). */
export async function issuePage(
  db: Db,
  selector: ReasonSelector,
  page: PageRequest,
  ids?: readonly string[],
): Promise<Page<IssueItem>> {
  const only = (column: Parameters<typeof inArray>[0]): SQL | undefined =>
    ids ? inArray(column, [...ids]) : undefined;
  switch (selector.kind) {
    case "failure": {
      const rows = await listPage(
        db.select().from(failures).$dynamic(),
        failures.id,
        [eq(failures.status, "open"), codeFilter(failures.errorCode, selector), only(failures.id)],
        page,
      );
      return { nextCursor: rows.nextCursor, items: rows.items.map(failureItem) };
    }
    case "warning": {
      const rows = await listPage(
        db.select().from(mappingWarnings).$dynamic(),
        mappingWarnings.id,
        [eq(mappingWarnings.status, "open"), codeFilter(mappingWarnings.code, selector), only(mappingWarnings.id)],
        page,
      );
      return { nextCursor: rows.nextCursor, items: rows.items.map(warningItem) };
    }
    case "conflict": {
      const query = db
        .select({ id: conflicts.id, conflict: conflicts, pair: idMappings })
        .from(conflicts)
        .leftJoin(idMappings, eq(idMappings.id, conflicts.mappingId))
        .$dynamic();
      const rows = await listPage(query, conflicts.id, [eq(conflicts.status, "open"), only(conflicts.id)], page);
      return { nextCursor: rows.nextCursor, items: rows.items.map(conflictItem) };
    }
    case "held_delete": {
      const query = db
        .select({ id: pendingDeletes.id, held: pendingDeletes, pair: idMappings })
        .from(pendingDeletes)
        .leftJoin(idMappings, eq(idMappings.id, pendingDeletes.mappingId))
        .$dynamic();
      const rows = await listPage(
        query,
        pendingDeletes.id,
        [eq(pendingDeletes.status, "pending"), inArray(pendingDeletes.reason, selector.holds), only(pendingDeletes.id)],
        page,
      );
      return { nextCursor: rows.nextCursor, items: rows.items.map(heldItem) };
    }
    case "ambiguous_match": {
      const rows = await listPage(
        db.select().from(ambiguousMatches).$dynamic(),
        ambiguousMatches.id,
        [eq(ambiguousMatches.status, "open"), only(ambiguousMatches.id)],
        page,
      );
      return { nextCursor: rows.nextCursor, items: rows.items.map(matchItem) };
    }
  }
}

type ConflictRow = { conflict: typeof conflicts.$inferSelect; pair: typeof idMappings.$inferSelect | null };
type HeldRow = { held: typeof pendingDeletes.$inferSelect; pair: typeof idMappings.$inferSelect | null };

function failureItem(row: typeof failures.$inferSelect): IssueItem {
  return {
    kind: "failure",
    id: row.id,
    reason: failureReason(row.errorCode),
    summary: `${row.errorCode}: ${row.errorMessage}`,
    records: recordsOfMessage(row.message),
    since: row.firstFailedAt,
    last_seen: row.lastFailedAt,
    detail: {
      error_code: row.errorCode,
      error_message: row.errorMessage,
      message_kind: row.messageKind,
      attempts: row.attempts,
      attempted: row.attempted,
      correlation_id: row.correlationId,
    },
  };
}

/** The records a stored message names; none when it is not a valid message any more. */
export function recordsOfMessage(message: unknown): IssueRecord[] {
  const parsed = SyncMessageSchema.safeParse(message);
  if (!parsed.success) return [];
  const m = parsed.data;
  switch (m.kind) {
    case "attio.record":
      return [{ side: "attio", object: m.objectId, record_id: m.recordId }];
    case "salesforce.change":
      return m.header.recordIds.map((id) => ({ side: "salesforce", object: m.header.entityName, record_id: id }));
    case "records.sync":
      return m.recordIds.map((id) => ({ side: m.side, object: null, record_id: id, mapping: m.mapping }));
    case "catchup.run":
    case "job.page":
    case "parked.drain":
      return [];
  }
}

function pairRecords(pair: typeof idMappings.$inferSelect | null): IssueRecord[] {
  if (!pair) return [];
  return [
    { side: "attio", object: pair.attioObject, record_id: pair.attioRecordId },
    { side: "salesforce", object: pair.sfObject, record_id: pair.sfRecordId },
  ];
}

function warningItem(row: typeof mappingWarnings.$inferSelect): IssueItem {
  const records: IssueRecord[] = [];
  if (row.attioRecordId) records.push({ side: "attio", object: row.attioObject, record_id: row.attioRecordId });
  if (row.sfRecordId) records.push({ side: "salesforce", object: row.sfObject, record_id: row.sfRecordId });
  return {
    kind: "warning",
    id: row.id,
    reason: warningReason(row.code),
    summary: `${row.field}: ${row.message}`,
    records,
    since: row.firstSeenAt,
    last_seen: row.lastSeenAt,
    detail: {
      mapping: row.mapping,
      direction: row.direction,
      source_object: row.sourceObject,
      source_record_id: row.sourceRecordId,
      field: row.field,
      attribute: row.attribute,
      code: row.code,
      value: row.value,
      occurrences: row.occurrences,
    },
  };
}

function conflictItem({ conflict, pair }: ConflictRow): IssueItem {
  const show = (value: unknown) => JSON.stringify(value ?? null);
  return {
    kind: "conflict",
    id: conflict.id,
    reason: "conflict_held",
    summary: `${conflict.field}: Attio ${show(conflict.attioValue)}, Salesforce ${show(conflict.sfValue)} (was ${show(conflict.baseValue)})`,
    records: pairRecords(pair),
    since: conflict.createdAt,
    last_seen: conflict.createdAt,
    detail: {
      mapping_id: conflict.mappingId,
      field: conflict.field,
      base_value: conflict.baseValue,
      attio_value: conflict.attioValue,
      salesforce_value: conflict.sfValue,
    },
  };
}

function heldItem({ held, pair }: HeldRow): IssueItem {
  return {
    kind: "held_delete",
    id: held.id,
    reason: heldDeleteReason(held.reason),
    summary: `deleted on ${held.deletedOn}; the delete of its counterpart is held (${held.reason}${held.batchId ? `, batch ${held.batchId}` : ""})`,
    records: pairRecords(pair),
    since: held.detectedAt,
    last_seen: held.detectedAt,
    detail: { deleted_on: held.deletedOn, hold: held.reason, batch_id: held.batchId, mapping_id: held.mappingId },
  };
}

function matchItem(row: typeof ambiguousMatches.$inferSelect): IssueItem {
  return {
    kind: "ambiguous_match",
    id: row.id,
    reason: "ambiguous_match",
    summary: `${row.candidates.length} candidates share the match key: ${row.candidates.join(", ")}`,
    records: [{ side: row.side, object: row.object, record_id: row.recordId }],
    since: row.createdAt,
    last_seen: row.createdAt,
    detail: { candidates: row.candidates },
  };
}

/** The dismissable kinds (a held delete is decided, never dismissed). */
export type DismissableKind = (typeof issueDismissals.$inferSelect)["kind"];

/**
 * Marks open items dismissed and records who did it; returns the ids that were open (an item
 * already closed is left alone).
 */
export async function dismissItems(
  db: Db,
  kind: DismissableKind,
  ids: readonly string[],
  who: { by: string; reason: IssueReason; note: string | null },
): Promise<string[]> {
  const done: string[] = [];
  for (const part of chunk([...new Set(ids)], 90)) {
    const rows = await dismissStatus(db, kind, part);
    done.push(...rows.map((row) => row.id));
  }
  for (const part of chunk(done, 15)) {
    await db
      .insert(issueDismissals)
      .values(part.map((itemId) => ({ kind, itemId, reason: who.reason, dismissedBy: who.by, note: who.note })))
      .onConflictDoUpdate({
        target: [issueDismissals.kind, issueDismissals.itemId],
        set: {
          reason: who.reason,
          dismissedBy: who.by,
          note: who.note,
          dismissedAt: sql.raw(NOW),
        },
      });
  }
  return done;
}

function dismissStatus(db: Db, kind: DismissableKind, ids: string[]): Promise<{ id: string }[]> {
  switch (kind) {
    case "failure":
      return db
        .update(failures)
        .set({ status: "dismissed" })
        .where(and(inArray(failures.id, ids), eq(failures.status, "open")))
        .returning({ id: failures.id });
    case "warning":
      return db
        .update(mappingWarnings)
        .set({ status: "dismissed", clearedAt: sql.raw(NOW) })
        .where(and(inArray(mappingWarnings.id, ids), eq(mappingWarnings.status, "open")))
        .returning({ id: mappingWarnings.id });
    case "conflict":
      return db
        .update(conflicts)
        .set({ status: "dismissed", resolvedAt: sql.raw(NOW) })
        .where(and(inArray(conflicts.id, ids), eq(conflicts.status, "open")))
        .returning({ id: conflicts.id });
    case "ambiguous_match":
      return db
        .update(ambiguousMatches)
        .set({ status: "dismissed" })
        .where(and(inArray(ambiguousMatches.id, ids), eq(ambiguousMatches.status, "open")))
        .returning({ id: ambiguousMatches.id });
  }
}

/** Closes open ambiguous matches whose record was sent to be matched again; returns those closed. */
export async function markMatchesRetried(db: Db, ids: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const part of chunk([...new Set(ids)], 90)) {
    const rows = await db
      .update(ambiguousMatches)
      .set({ status: "retried" })
      .where(and(inArray(ambiguousMatches.id, part), eq(ambiguousMatches.status, "open")))
      .returning({ id: ambiguousMatches.id });
    out.push(...rows.map((row) => row.id));
  }
  return out;
}

/** An operator's action on an item, for the record's history (one audit row per item). */
export interface OperatorAudit {
  /** What the operator did: the audit row is an `operator` row whose event kind says it. */
  action: "retried" | "dismissed";
  item: IssueItem;
  actor: string;
  note?: string | null;
}

/** Appends the audit rows of operator actions: nothing was written to either CRM. */
export async function auditOperatorActions(db: Db, actions: readonly OperatorAudit[]): Promise<void> {
  const rows = actions.map(({ action, item, actor, note }) => {
    const attio = item.records.find((r) => r.side === "attio");
    const sf = item.records.find((r) => r.side === "salesforce");
    const warningDirection = item.detail["direction"];
    const direction =
      warningDirection === "sf_to_attio" || warningDirection === "attio_to_sf"
        ? warningDirection
        : item.records[0]?.side === "salesforce"
          ? ("sf_to_attio" as const)
          : ("attio_to_sf" as const);
    return {
      correlationId: `issue:${item.kind}:${item.id}`,
      mappingId: typeof item.detail["mapping_id"] === "string" ? item.detail["mapping_id"] : null,
      direction,
      operation: "operator" as const,
      attioObject: attio?.object ?? null,
      attioRecordId: attio?.record_id ?? null,
      sfObject: sf?.object ?? null,
      sfRecordId: sf?.record_id ?? null,
      changes: {},
      sourceEvent: {
        kind: `issue.${action}`,
        item_kind: item.kind,
        item_id: item.id,
        reason: item.reason,
        summary: item.summary,
        ...(note ? { note } : {}),
      },
      actor,
    };
  });
  for (const part of chunk(rows, 7)) await db.insert(auditLog).values(part);
}
