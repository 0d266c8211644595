import { sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import { type Db, NOW, rowsForIds } from "./db.ts";
import { parkedChanges } from "./schema.ts";

export type ParkedQueue = (typeof parkedChanges.$inferSelect)["queue"];

export interface ParkInput {
  key: string;
  queue: ParkedQueue;
  message: unknown;
  reason: string;
  errorMessage: string;
}

export interface ParkedRow {
  key: string;
  queue: ParkedQueue;
  message: unknown;
  lastParkedAt: string;
}

/** Rows per statement: one JSON parameter each (a job's message parks up to 2,000 records). */
const ROWS_PER_STATEMENT = 500;

const PARK = `insert into parked_changes (key, queue, message, reason, error_message)
  select json_extract(value, '$.key'), json_extract(value, '$.queue'), json(json_extract(value, '$.message')),
    json_extract(value, '$.reason'), json_extract(value, '$.errorMessage')
  from json_each(?) where true
  on conflict (key) do update set queue = excluded.queue, message = excluded.message, reason = excluded.reason,
    error_message = excluded.error_message, times = parked_changes.times + 1, last_parked_at = ${NOW}`;

/** Parks changes; parking a key already parked refreshes its message, reason and error (one row). */
export async function parkChanges(db: Db, rows: readonly ParkInput[]): Promise<void> {
  const statements = chunk(
    rows.map((row) => ({ ...row, message: JSON.stringify(row.message) })),
    ROWS_PER_STATEMENT,
  ).map((part) => db.$client.prepare(PARK).bind(JSON.stringify(part)));
  if (statements.length > 0) await db.$client.batch(statements);
}

/** Per key, the parked message's dedupe key and whether it still carries field values. */
export async function parkedEvents(
  db: Db,
  keys: readonly string[],
): Promise<Map<string, { dedupeKey: string | null; withValues: boolean }>> {
  const rows = await rowsForIds<{ key: string; dedupe_key: string | null; with_values: number }>(
    db,
    `select key, json_extract(message, '$.dedupeKey') as dedupe_key,
       coalesce(json_extract(message, '$.fields') not in ('{}'), 0) as with_values
     from parked_changes where key in (select value from json_each(?))`,
    keys,
  );
  return new Map(rows.map((row) => [row.key, { dedupeKey: row.dedupe_key, withValues: row.with_values === 1 }]));
}

/** The oldest `limit` parked changes, to send again. */
export async function oldestParked(db: Db, limit: number): Promise<ParkedRow[]> {
  const rows = await db
    .select({
      key: parkedChanges.key,
      queue: parkedChanges.queue,
      message: parkedChanges.message,
      lastParkedAt: parkedChanges.lastParkedAt,
    })
    .from(parkedChanges)
    .orderBy(parkedChanges.firstParkedAt)
    .limit(limit);
  return rows;
}

const UNPARK = `delete from parked_changes where (key, last_parked_at) in
  (select json_extract(value, '$.key'), json_extract(value, '$.lastParkedAt') from json_each(?))`;

/**
 * Removes parked changes once sent again; a change parked again since it was read (a newer
 * `lastParkedAt`) stays.
 */
export async function unpark(db: Db, rows: readonly Pick<ParkedRow, "key" | "lastParkedAt">[]): Promise<void> {
  const statements = chunk(
    rows.map(({ key, lastParkedAt }) => ({ key, lastParkedAt })),
    ROWS_PER_STATEMENT,
  ).map((part) => db.$client.prepare(UNPARK).bind(JSON.stringify(part)));
  if (statements.length > 0) await db.$client.batch(statements);
}

export interface ParkedSummary {
  reason: string;
  count: number;
  since: string;
  lastError: string;
}

/** Parked changes per reason: how many, since when, and the latest error. */
export async function parkedByReason(db: Db): Promise<ParkedSummary[]> {
  const rows = await db
    .select({
      reason: parkedChanges.reason,
      count: sql<number>`count(*)`,
      since: sql<string>`min(${parkedChanges.firstParkedAt})`,
      lastError: sql<string>`(select p.error_message from parked_changes p where p.reason = ${parkedChanges.reason}
        order by p.last_parked_at desc limit 1)`,
    })
    .from(parkedChanges)
    .groupBy(parkedChanges.reason);
  return rows;
}

export async function countParked(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(parkedChanges);
  return row?.n ?? 0;
}
