import { and, eq, or, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import { type Db, NOW } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { auditLog, mappingWarnings } from "./schema.ts";

/** A value the sync did not write as it is, seen while syncing one record (see schema.ts mappingWarnings). */
export interface WarningInput {
  mapping: string;
  direction: "attio_to_sf" | "sf_to_attio";
  sourceObject: string;
  sourceRecordId: string;
  attioObject: string;
  attioRecordId: string | null;
  sfObject: string;
  sfRecordId: string | null;
  field: string;
  attribute: string;
  code: string;
  message: string;
  value: unknown;
  correlationId: string;
}

/**
 * The fields of one record checked in one direction during a sync. An open warning of those fields
 * that was not seen again is cleared: the value is now written (or gone).
 */
export interface Evaluated {
  direction: "attio_to_sf" | "sf_to_attio";
  object: string;
  id: string;
  fields: string[];
}

/** Entries per statement: one JSON parameter each (D1 binds at most 100 parameters). */
const PER_STATEMENT = 200;

/**
 * Records what one sync saw: clears the open warnings of evaluated fields that were not seen again,
 * opens or refreshes the ones seen, and adds a `skipped` audit row (the record's history) for each
 * warning opened now. A handful of statements per batch, whatever its size.
 */
export async function recordWarnings(db: Db, all: readonly WarningInput[], evaluated: readonly Evaluated[]) {
  // A record synced twice in one batch (a slice retried) reports its warnings once.
  const seen = [...new Map(all.map((w) => [keyOf(inputKey(w)), w])).values()];
  // Most batches see no warning where none is open: one indexed look instead of a clearing pass.
  if (seen.length === 0 && !(await anyOpen(db))) return { opened: 0 };
  const seenKeys = seen.map((w) => ({ direction: w.direction, id: w.sourceRecordId, field: w.field }));
  for (const part of chunk(evaluated, PER_STATEMENT)) {
    await db.run(sql`update mapping_warnings set status = 'cleared', cleared_at = ${sql.raw(NOW)}
      where status = 'open'
        and source_record_id in (select e.value ->> 'id' from json_each(${JSON.stringify(part)}) e)
        and exists (
          select 1 from json_each(${JSON.stringify(part)}) e, json_each(e.value -> 'fields') f
          where e.value ->> 'id' = mapping_warnings.source_record_id
            and e.value ->> 'object' = mapping_warnings.source_object
            and e.value ->> 'direction' = mapping_warnings.direction
            and f.value = mapping_warnings.field)
        and not exists (
          select 1 from json_each(${JSON.stringify(seenKeys)}) c
          where c.value ->> 'id' = mapping_warnings.source_record_id
            and c.value ->> 'direction' = mapping_warnings.direction
            and c.value ->> 'field' = mapping_warnings.field)`);
  }
  const opened: WarningInput[] = [];
  for (const part of chunk(seen, PER_STATEMENT)) {
    const rows = await db.all<WarningKey & { occurrences: number }>(sql`insert into mapping_warnings
        (id, mapping, direction, source_object, source_record_id, attio_object, attio_record_id, sf_object,
         sf_record_id, field, attribute, code, message, value, correlation_id)
      select lower(hex(randomblob(16))), j.value ->> 'mapping', j.value ->> 'direction', j.value ->> 'sourceObject',
        j.value ->> 'sourceRecordId', j.value ->> 'attioObject', j.value ->> 'attioRecordId', j.value ->> 'sfObject',
        j.value ->> 'sfRecordId', j.value ->> 'field', j.value ->> 'attribute', j.value ->> 'code',
        j.value ->> 'message', j.value -> 'value', j.value ->> 'correlationId'
      from json_each(${JSON.stringify(part.map((w) => ({ ...w, value: w.value ?? null })))}) j where true
      on conflict (direction, source_object, source_record_id, field) where status = 'open' do update set
        code = excluded.code, message = excluded.message, value = excluded.value,
        attio_record_id = coalesce(excluded.attio_record_id, attio_record_id),
        sf_record_id = coalesce(excluded.sf_record_id, sf_record_id),
        correlation_id = excluded.correlation_id, occurrences = occurrences + 1, last_seen_at = ${sql.raw(NOW)}
      returning direction, source_object, source_record_id, field, occurrences`);
    // RETURNING's order is unspecified: rows are matched to their input by key. Those seen for the
    // first time are new warnings.
    const fresh = new Set(rows.filter((row) => row.occurrences === 1).map(keyOf));
    for (const input of part) {
      if (fresh.has(keyOf(inputKey(input)))) opened.push(input);
    }
  }
  if (opened.length > 0) await auditOpened(db, opened);
  return { opened: opened.length };
}

interface WarningKey {
  direction: string;
  source_object: string;
  source_record_id: string;
  field: string;
}

function inputKey(w: WarningInput): WarningKey {
  return { direction: w.direction, source_object: w.sourceObject, source_record_id: w.sourceRecordId, field: w.field };
}

/** A comparable identity for a set lookup (never parsed back). */
function keyOf(k: WarningKey): string {
  return JSON.stringify([k.direction, k.source_object, k.source_record_id, k.field]);
}

/** One `skipped` audit row per record and direction, naming each value not written and why. */
async function auditOpened(db: Db, opened: readonly WarningInput[]) {
  const byRecord = new Map<string, WarningInput[]>();
  for (const warning of opened) {
    const key = JSON.stringify([warning.direction, warning.sourceObject, warning.sourceRecordId]);
    byRecord.set(key, [...(byRecord.get(key) ?? []), warning]);
  }
  const rows = [...byRecord.values()].map((warnings) => {
    const [first] = warnings as [WarningInput, ...WarningInput[]];
    return {
      correlationId: first.correlationId,
      direction: first.direction,
      operation: "skipped" as const,
      attioObject: first.attioObject,
      attioRecordId: first.attioRecordId,
      sfObject: first.sfObject,
      sfRecordId: first.sfRecordId,
      changes: Object.fromEntries(
        warnings.map((w) => [w.field, { before: w.value ?? null, after: null, code: w.code, reason: w.message }]),
      ),
      sourceEvent: { kind: "mapping_warning" },
      actor: null,
    };
  });
  for (const part of chunk(rows, 8)) await db.insert(auditLog).values(part);
}

export async function countOpenWarnings(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(mappingWarnings)
    .where(eq(mappingWarnings.status, "open"));
  return row?.n ?? 0;
}

/** Open warnings per mapping name. */
export async function openWarningsByMapping(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ mapping: mappingWarnings.mapping, n: sql<number>`count(*)` })
    .from(mappingWarnings)
    .where(eq(mappingWarnings.status, "open"))
    .groupBy(mappingWarnings.mapping);
  return Object.fromEntries(rows.map((r) => [r.mapping, r.n]));
}

/** Which warnings: by status, and optionally code, mapping and a record on either side. */
export interface WarningFilter {
  status: (typeof mappingWarnings.$inferSelect)["status"];
  code?: string | undefined;
  mapping?: string | undefined;
  recordId?: string | undefined;
}

/** One page of the warnings matching `filter`, in id order. */
export function listWarnings(db: Db, filter: WarningFilter, page: PageRequest) {
  return listPage(
    db.select().from(mappingWarnings).$dynamic(),
    mappingWarnings.id,
    [
      eq(mappingWarnings.status, filter.status),
      filter.code ? eq(mappingWarnings.code, filter.code) : undefined,
      filter.mapping ? eq(mappingWarnings.mapping, filter.mapping) : undefined,
      filter.recordId
        ? or(eq(mappingWarnings.attioRecordId, filter.recordId), eq(mappingWarnings.sfRecordId, filter.recordId))
        : undefined,
    ],
    page,
  );
}

/** Dismisses one open warning (an operator accepts that the value stays unwritten). */
export async function dismissWarning(db: Db, id: string): Promise<boolean> {
  const result = await db
    .update(mappingWarnings)
    .set({ status: "dismissed", clearedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` })
    .where(and(eq(mappingWarnings.id, id), eq(mappingWarnings.status, "open")));
  return (result.meta.changes ?? 0) > 0;
}

async function anyOpen(db: Db): Promise<boolean> {
  const row = await db
    .select({ id: mappingWarnings.id })
    .from(mappingWarnings)
    .where(eq(mappingWarnings.status, "open"))
    .limit(1)
    .get();
  return row !== undefined;
}
