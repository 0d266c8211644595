import { lt } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import type { FieldTimes } from "../plan/field-times.ts";
import { type Db, rowsForIds } from "./db.ts";
import { sfFieldTimes } from "./schema.ts";

/** One field a change event set (see schema.ts `sfFieldTimes`). */
export interface FieldTimeRow {
  entity: string;
  recordId: string;
  field: string;
  at: number;
  /** The value as JSON, or null when it is too large to keep. */
  value: string | null;
}

/** Rows per statement: one JSON parameter each. */
const ROWS_PER_STATEMENT = 500;

// A later event's time replaces an earlier one's; a redelivered or older event changes nothing.
// `where true` keeps SQLite from reading `on conflict` as a join constraint of the select.
const RECORD = `insert into sf_field_times (entity, record_id, field, at, value)
  select json_extract(value, '$.entity'), json_extract(value, '$.recordId'), json_extract(value, '$.field'),
    json_extract(value, '$.at'), json_extract(value, '$.value')
  from json_each(?) where true
  on conflict (entity, record_id, field) do update set at = excluded.at, value = excluded.value
  where excluded.at >= sf_field_times.at`;

/** Stores when events set fields, in one batch. */
export async function recordFieldTimes(db: Db, rows: readonly FieldTimeRow[]): Promise<void> {
  const insert = db.$client.prepare(RECORD);
  const statements = chunk(rows, ROWS_PER_STATEMENT).map((part) => insert.bind(JSON.stringify(part)));
  if (statements.length > 0) await db.$client.batch(statements);
}

/**
 * The field times of these records of one Salesforce object, by record id. A value too large to
 * keep is left out: its field's time is unknown.
 */
export async function loadFieldTimes(
  db: Db,
  entity: string,
  recordIds: readonly string[],
): Promise<Map<string, FieldTimes>> {
  const rows = await rowsForIds<{ record_id: string; field: string; at: number; value: string | null }>(
    db,
    `select record_id, field, at, value from sf_field_times
     where entity = ? and value is not null and record_id in (select value from json_each(?))`,
    recordIds,
    entity,
  );
  const byRecord = new Map<string, Record<string, { at: number; value: unknown }>>();
  for (const row of rows) {
    const times = byRecord.get(row.record_id) ?? {};
    times[row.field] = { at: row.at, value: JSON.parse(row.value ?? "null") as unknown };
    byRecord.set(row.record_id, times);
  }
  return byRecord;
}

/** Drops the times of changes older than `before` (epoch ms); returns how many. */
export async function pruneFieldTimes(db: Db, before: number): Promise<number> {
  const result = await db.delete(sfFieldTimes).where(lt(sfFieldTimes.at, before));
  return result.meta.changes ?? 0;
}
