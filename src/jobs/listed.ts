import type { AttioRecord } from "../attio/record-schema.ts";

/**
 * Attio records a job page has just listed, kept for a short while in the isolate so that the
 * consumer syncing them (the next batch, most often in the same isolate) does not read them from
 * Attio a second time: a queue message holds 128 KB, so the page can only hand over their ids.
 *
 * A record is taken at most once and only while fresh; a miss (another isolate, a retry round, an
 * evicted entry) reads Attio as before. A listed record can be older than a re-read would be, so
 * it stands in only for a record with no counterpart yet that no other message of the batch names
 * (see `withListed` in engine/read.ts and the consumer): a change made since the listing then arrives
 * as a webhook and is synced after it, and no newer synced version can be written back over.
 */

/** How long a listed record may stand in for a read. */
export const LISTED_MAX_AGE_MS = 60_000;

/**
 * Records kept at most: two job pages of JOB_PAGE_RECORDS, the one syncing and the next one
 * listed beside it. Kept records hold only the mapped attributes (see `recordSchemaReading`): a
 * fixture company takes 3.1 KB of heap so instead of 4.7 KB.
 */
export const LISTED_MAX_RECORDS = 8_000;

const listed = new Map<string, { record: AttioRecord; at: number }>();

/** Keeps the records a page listed. */
export function rememberListed(object: string, records: readonly AttioRecord[], now = Date.now()): void {
  for (const record of records) {
    const key = `${object}:${record.id.record_id}`;
    // Re-inserted at the end: eviction goes oldest first, in insertion order.
    listed.delete(key);
    listed.set(key, { record, at: now });
  }
  for (const key of listed.keys()) {
    if (listed.size <= LISTED_MAX_RECORDS) break;
    listed.delete(key);
  }
}

/**
 * Takes the fresh listed records among `ids` (each once), keyed by record id.
 *
 * @example takeListed("companies", ["8e1f…"]) // Map { "8e1f…" => record } when a page listed it < 60 s ago
 */
export function takeListed(object: string, ids: readonly string[], now = Date.now()): Map<string, AttioRecord> {
  const out = new Map<string, AttioRecord>();
  for (const id of ids) {
    const key = `${object}:${id}`;
    const entry = listed.get(key);
    if (!entry) continue;
    listed.delete(key);
    if (now - entry.at <= LISTED_MAX_AGE_MS) out.set(id, entry.record);
  }
  return out;
}
