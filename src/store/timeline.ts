import type { TimelineCursor, TimelineRow, TimelineSource } from "../plan/timeline.ts";
import type { Db } from "./db.ts";
import type { RecordRef } from "./record-items.ts";

/**
 * Everything stored about one record pair, per source table, in time order after a cursor: the
 * rows of a record's timeline (src/plan/timeline.ts merges them). Each row carries `at` and an
 * `entry_id` unique across sources (`audit:000000000042`, `failure:<id>`), which orders rows of the
 * same millisecond and makes the cursor exact.
 */

const IDS = "(select value from json_each(?))";

/** A message key naming one of the ids (see record-items.ts keyNames). */
const KEY_NAMES = (column: string) => `exists (select 1 from json_each(?) j where ${column} like '%:' || j.value
  or ${column} like '%:' || j.value || ',%' or ${column} like '%,' || j.value or ${column} like '%,' || j.value || ',%')`;

interface Source {
  table: string;
  columns: string;
  at: string;
  entryId: string;
  /** The condition, and how many times it takes the ids (JSON) or the pair id. */
  where: string;
  binds: ("ids" | "pair")[];
}

const SOURCES: Record<TimelineSource, Source> = {
  audit: {
    table: "audit_log",
    columns: "id, operation, direction, actor, correlation_id, changes, source_event, attio_record_id, sf_record_id",
    at: "at",
    entryId: "'audit:' || printf('%012d', id)",
    // A value-warning's audit row repeats the warning itself, which the timeline shows with its status.
    where: `(attio_record_id in ${IDS} or sf_record_id in ${IDS})
      and coalesce(json_extract(source_event, '$.kind'), '') != 'mapping_warning'`,
    binds: ["ids", "ids"],
  },
  failure: {
    table: "failures",
    columns:
      "id, status, message_kind, error_code, error_message, attempts, correlation_id, first_failed_at, last_failed_at",
    at: "first_failed_at",
    entryId: "'failure:' || id",
    where: KEY_NAMES("record_key"),
    binds: ["ids"],
  },
  warning: {
    table: "mapping_warnings",
    columns:
      "id, status, direction, field, attribute, code, message, value, occurrences, last_seen_at, cleared_at, correlation_id",
    at: "first_seen_at",
    entryId: "'warning:' || id",
    where: `(source_record_id in ${IDS} or attio_record_id in ${IDS} or sf_record_id in ${IDS})`,
    binds: ["ids", "ids", "ids"],
  },
  conflict: {
    table: "conflicts",
    columns: "id, field, base_value, attio_value, sf_value, status, resolution, resolved_at",
    at: "created_at",
    entryId: "'conflict:' || id",
    where: "mapping_id = ?",
    binds: ["pair"],
  },
  delete: {
    table: "pending_deletes",
    columns: "id, deleted_on, status, reason, batch_id, decided_at",
    at: "detected_at",
    entryId: "'delete:' || id",
    where: "mapping_id = ?",
    binds: ["pair"],
  },
  match: {
    table: "ambiguous_matches",
    columns: "id, side, object, record_id, candidates, status",
    at: "created_at",
    entryId: "'match:' || id",
    where: `record_id in ${IDS}`,
    binds: ["ids"],
  },
  parked: {
    table: "parked_changes",
    columns: "key, queue, reason, error_message, times, last_parked_at",
    at: "first_parked_at",
    entryId: "'parked:' || key",
    where: KEY_NAMES("key"),
    binds: ["ids"],
  },
};

/** Up to `limit` rows of every source after `after`, each source in time order (limit + 1 tells a next page). */
export async function timelineRows(
  db: Db,
  ref: RecordRef,
  after: TimelineCursor | undefined,
  limit: number,
): Promise<TimelineRow[][]> {
  const ids = JSON.stringify([...ref.ids]);
  const sources = (Object.keys(SOURCES) as TimelineSource[]).filter(
    (name) => ref.pairId !== undefined || !SOURCES[name].binds.includes("pair"),
  );
  const statements = sources.map((name) => {
    const source = SOURCES[name];
    const cursor = after ? `and (${source.at} > ? or (${source.at} = ? and ${source.entryId} > ?))` : "";
    const query = `select ${source.columns}, ${source.at} as at, ${source.entryId} as entry_id, '${name}' as source
      from ${source.table} where ${source.where} ${cursor}
      order by ${source.at}, ${source.entryId} limit ?`;
    const binds = source.binds.map((bind) => (bind === "ids" ? ids : (ref.pairId ?? "")));
    return db.$client.prepare(query).bind(...binds, ...(after ? [after.at, after.at, after.id] : []), limit);
  });
  const results = await db.$client.batch<TimelineRow>(statements);
  return results.map((result) => result.results.map(parseJsonColumns));
}

/** Columns stored as JSON text, handed back as the values they hold. */
const JSON_COLUMNS = [
  "changes",
  "source_event",
  "value",
  "base_value",
  "attio_value",
  "sf_value",
  "resolution",
  "candidates",
];

function parseJsonColumns(row: TimelineRow): TimelineRow {
  const out: TimelineRow = { ...row };
  for (const column of JSON_COLUMNS) {
    const text = out[column];
    if (typeof text === "string") out[column] = JSON.parse(text) as unknown;
  }
  return out;
}
