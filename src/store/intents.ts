import { z } from "zod";
import type { Db } from "./db.ts";
import { NOW, rowsForIds } from "./db.ts";

/** A side of the sync, as the intents name the source and the target of a create. */
type Side = "attio" | "salesforce";

/** A create about to be sent: which record it copies, to which object, with which values. */
export interface CreateIntent {
  sourceSide: Side;
  sourceObject: string;
  sourceRecordId: string;
  targetSide: Side;
  targetObject: string;
  /** The values written, keyed by Salesforce field. */
  marker: Record<string, unknown>;
}

/** An open intent as stored: `createdAt` is when the first attempt that may have created was about to send. */
export interface OpenIntent {
  sourceRecordId: string;
  createdAt: string;
  marker: Record<string, unknown>;
}

/**
 * Opens intents before their creates are sent, one statement for the lot. An intent still open
 * (an earlier attempt's outcome unknown) keeps its time and values: that attempt may have created
 * the record, and the next retry must still look for it. A closed one opens again as new.
 */
export async function openIntents(db: Db, intents: readonly CreateIntent[]): Promise<void> {
  if (intents.length === 0) return;
  await db.$client
    .prepare(
      `insert into create_intents (source_side, source_object, source_record_id, target_side, target_object, marker,
         created_at, state, closed_at)
       select value ->> '$.sourceSide', value ->> '$.sourceObject', value ->> '$.sourceRecordId',
         value ->> '$.targetSide', value ->> '$.targetObject', value -> '$.marker', ${NOW}, 'open', null
       from json_each(?) where true
       on conflict (source_side, source_object, source_record_id, target_side) do update
       set target_object = excluded.target_object,
         marker = case when state = 'open' then marker else excluded.marker end,
         created_at = case when state = 'open' then created_at else excluded.created_at end,
         state = 'open', closed_at = null`,
    )
    .bind(JSON.stringify(intents))
    .run();
}

/** The open intents of these source records towards `targetSide`, by source record id. */
export async function openIntentsOf(
  db: Db,
  source: { side: Side; object: string },
  targetSide: Side,
  recordIds: readonly string[],
): Promise<Map<string, OpenIntent>> {
  const rows = await rowsForIds<{ source_record_id: string; created_at: string; marker: string }>(
    db,
    `select source_record_id, created_at, marker from create_intents
     where source_side = ? and source_object = ? and target_side = ? and state = 'open'
       and source_record_id in (select value from json_each(?))`,
    recordIds,
    source.side,
    source.object,
    targetSide,
  );
  return new Map(
    rows.map((row) => [
      row.source_record_id,
      { sourceRecordId: row.source_record_id, createdAt: row.created_at, marker: parseMarker(row.marker) },
    ]),
  );
}

/**
 * The open intents from one side's object towards `targetSide` opened since `since`, newest first
 * (at most `limit`): what the other side's records with no pair may have been created by.
 */
export async function recentOpenIntents(
  db: Db,
  source: { side: Side; object: string },
  targetSide: Side,
  since: string,
  limit: number,
): Promise<OpenIntent[]> {
  const { results } = await db.$client
    .prepare(
      `select source_record_id, created_at, marker from create_intents
       where source_side = ? and source_object = ? and target_side = ? and state = 'open' and created_at >= ?
       order by created_at desc limit ?`,
    )
    .bind(source.side, source.object, targetSide, since, limit)
    .all<{ source_record_id: string; created_at: string; marker: string }>();
  return results.map((row) => ({
    sourceRecordId: row.source_record_id,
    createdAt: row.created_at,
    marker: parseMarker(row.marker),
  }));
}

/** The values an intent was opened with (intent-match.ts compares them); a row we cannot read matches nothing. */
const MarkerSchema = z.record(z.string(), z.unknown());

function parseMarker(text: string): Record<string, unknown> {
  try {
    const parsed = MarkerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/**
 * Closes the intents of these source records (their pair is stored, or the create was refused, so
 * nothing was created): a later create of the same record starts a new intent.
 */
export async function closeIntents(
  db: Db,
  source: { side: Side; object: string },
  targetSide: Side,
  recordIds: readonly string[],
): Promise<void> {
  if (recordIds.length === 0) return;
  await rowsForIds(
    db,
    `update create_intents set state = 'closed', closed_at = ${NOW}
     where source_side = ? and source_object = ? and target_side = ? and state = 'open'
       and source_record_id in (select value from json_each(?))`,
    recordIds,
    source.side,
    source.object,
    targetSide,
  );
}

/** Deletes intents closed before `before` (ISO time): housekeeping. Returns how many. */
export async function purgeClosedIntents(db: Db, before: string): Promise<number> {
  const result = await db.$client
    .prepare("delete from create_intents where state = 'closed' and closed_at < ?")
    .bind(before)
    .run();
  return result.meta.changes ?? 0;
}
