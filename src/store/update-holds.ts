import { and, eq, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { heldUpdates, recentUpdates, updateHolds } from "./schema.ts";

export type UpdateHold = typeof updateHolds.$inferSelect;
type Side = UpdateHold["side"];

/** Records per statement: one JSON parameter each. */
const ROWS_PER_STATEMENT = 500;

/** The open hold of a mapping's side, if any. */
export async function openHoldOf(db: Db, mapping: string, side: Side): Promise<string | undefined> {
  const row = await db
    .select({ id: updateHolds.id })
    .from(updateHolds)
    .where(and(eq(updateHolds.mapping, mapping), eq(updateHolds.side, side), eq(updateHolds.status, "pending")))
    .get();
  return row?.id;
}

/** Distinct records of a mapping's side updated since ?3, besides those in the JSON array ?4. */
const WINDOW_COUNT = `select count(*) from recent_updates
  where mapping = ?1 and side = ?2 and at > ?3 and record_id not in (select value from json_each(?4))`;
const IN_WINDOW = WINDOW_COUNT.replace("count(*)", "count(*) as n");

/**
 * The check and the reservation in one statement: the records are added to the window only if the
 * distinct records updated within it, these included, stay within `threshold`. Consumers run in
 * separate isolates at once; a count read first and written after would let two of them each pass
 * a burst the two together should have tripped.
 */
const RESERVE = `insert into recent_updates (mapping, side, record_id, at)
  select ?1, ?2, value, ?5 from json_each(?4)
  where (${WINDOW_COUNT}) + json_array_length(?4) <= ?6
  on conflict (mapping, side, record_id) do update set at = excluded.at`;

/**
 * Counts the records updated within the window besides `recordIds`, and reserves them when the
 * total stays within `threshold`. Returns the count read (the same snapshot the reservation saw:
 * one D1 batch is one transaction).
 */
export async function reserveUpdates(
  db: Db,
  input: { mapping: string; side: Side; recordIds: readonly string[]; since: string; at: string; threshold: number },
): Promise<number> {
  const ids = JSON.stringify(input.recordIds);
  const [counted] = await db.$client.batch<{ n: number }>([
    db.$client.prepare(IN_WINDOW).bind(input.mapping, input.side, input.since, ids),
    db.$client.prepare(RESERVE).bind(input.mapping, input.side, input.since, ids, input.at, input.threshold),
  ]);
  return counted?.results[0]?.n ?? 0;
}

/**
 * Opens the hold of a mapping's side, or finds the one another consumer opened meanwhile (one open
 * hold per mapping and side).
 */
export async function openHold(
  db: Db,
  input: { mapping: string; side: Side; count: number; threshold: number; windowMinutes: number },
): Promise<string> {
  await db
    .insert(updateHolds)
    .values({ id: crypto.randomUUID(), ...input })
    .onConflictDoNothing();
  const id = await openHoldOf(db, input.mapping, input.side);
  if (!id) throw new Error("the open hold vanished as it was opened");
  return id;
}

const HOLD = `insert into held_updates (hold_id, side, record_id)
  select ?1, json_extract(value, '$.side'), json_extract(value, '$.recordId') from json_each(?2) where true
  on conflict do nothing`;

/** Keeps touched records under a hold (a record held twice is kept once). */
export async function holdRecords(
  db: Db,
  holdId: string,
  records: readonly { side: Side; recordId: string }[],
): Promise<void> {
  const statements = chunk(records, ROWS_PER_STATEMENT).map((part) =>
    db.$client.prepare(HOLD).bind(holdId, JSON.stringify(part)),
  );
  if (statements.length > 0) await db.$client.batch(statements);
}

export async function loadHold(db: Db, id: string): Promise<UpdateHold | undefined> {
  return db.select().from(updateHolds).where(eq(updateHolds.id, id)).get();
}

/**
 * Records the decision on a pending hold; false when it was decided already (by another call).
 */
export async function decideHold(
  db: Db,
  id: string,
  status: "approved" | "rejected",
  by: string,
  at: string,
): Promise<boolean> {
  const rows = await db
    .update(updateHolds)
    .set({ status, decidedAt: at, decidedBy: by })
    .where(and(eq(updateHolds.id, id), eq(updateHolds.status, "pending")))
    .returning({ id: updateHolds.id });
  return rows.length > 0;
}

/** Undoes a decision whose records could not be queued: the hold is pending again. */
export async function reopenHold(db: Db, id: string): Promise<void> {
  await db
    .update(updateHolds)
    .set({ status: "pending", decidedAt: null, decidedBy: null })
    .where(eq(updateHolds.id, id));
}

/** Every record a hold keeps, per side of the touch. */
export async function recordsOfHold(db: Db, holdId: string): Promise<Record<Side, string[]>> {
  const rows = await db
    .select({ side: heldUpdates.side, recordId: heldUpdates.recordId })
    .from(heldUpdates)
    .where(eq(heldUpdates.holdId, holdId))
    .orderBy(heldUpdates.recordId);
  const out: Record<Side, string[]> = { attio: [], salesforce: [] };
  for (const row of rows) out[row.side].push(row.recordId);
  return out;
}

/** One page of holds in `status`, each with how many records it keeps. */
export function listHolds(db: Db, status: UpdateHold["status"], page: PageRequest) {
  const query = db
    .select({
      id: updateHolds.id,
      mapping: updateHolds.mapping,
      side: updateHolds.side,
      status: updateHolds.status,
      count: updateHolds.count,
      threshold: updateHolds.threshold,
      windowMinutes: updateHolds.windowMinutes,
      detectedAt: updateHolds.detectedAt,
      decidedAt: updateHolds.decidedAt,
      decidedBy: updateHolds.decidedBy,
      records: sql<number>`(select count(*) from held_updates h where h.hold_id = ${updateHolds.id})`,
    })
    .from(updateHolds)
    .$dynamic();
  return listPage(query, updateHolds.id, [eq(updateHolds.status, status)], page);
}

/** The open holds, with how many records each keeps (for /api/v1/status). */
export async function pendingHolds(db: Db) {
  return db
    .select({
      id: updateHolds.id,
      mapping: updateHolds.mapping,
      side: updateHolds.side,
      detectedAt: updateHolds.detectedAt,
      records: sql<number>`(select count(*) from held_updates h where h.hold_id = ${updateHolds.id})`,
    })
    .from(updateHolds)
    .where(eq(updateHolds.status, "pending"));
}

/** Drops window rows older than `before` (the cron: past the longest window they count for nothing). */
export async function pruneRecentUpdates(db: Db, before: string): Promise<number> {
  const rows = await db
    .delete(recentUpdates)
    .where(sql`${recentUpdates.at} < ${before}`)
    .returning({ m: recentUpdates.mapping });
  return rows.length;
}
