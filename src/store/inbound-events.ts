import { lt } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import { type Db, NOW, rowsForIds } from "./db.ts";
import { inboundEvents } from "./schema.ts";

/** The keys among `keys` that were already enqueued once. */
export async function seenKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const rows = await rowsForIds<{ key: string }>(db, SEEN_KEYS, keys);
  return new Set(rows.map((row) => row.key));
}

const SEEN_KEYS = "select key from inbound_events where key in (select value from json_each(?))";

/** Keys per insert statement: one JSON parameter each (a relay batch of 2,000 events is 4 statements). */
const KEYS_PER_STATEMENT = 500;

/**
 * Remembers keys after their messages were enqueued (never before: a failed send must be redone).
 * Raw statements, all in one batch: a relay request carries up to thousands of events.
 */
export async function rememberKeys(db: Db, source: "attio" | "salesforce", keys: readonly string[]): Promise<void> {
  const insert = db.$client.prepare(REMEMBER_KEYS);
  const statements = chunk([...new Set(keys)], KEYS_PER_STATEMENT).map((part) =>
    insert.bind(source, JSON.stringify(part)),
  );
  if (statements.length > 0) await db.$client.batch(statements);
}

// `where true` keeps SQLite from reading `on conflict` as a join constraint of the select.
const REMEMBER_KEYS = `insert into inbound_events (key, source, received_at)
  select value, ?, ${NOW} from json_each(?) where true on conflict (key) do nothing`;

/** Drops keys older than `before` (ISO); redeliveries come within days, not weeks. */
export async function pruneKeys(db: Db, before: string): Promise<number> {
  const result = await db.delete(inboundEvents).where(lt(inboundEvents.receivedAt, before));
  return result.meta.changes ?? 0;
}

/**
 * When a delivery from `source` was last enqueued (the relay's change events: `salesforce`), or
 * null when none is remembered (keys are pruned after DEDUPE_RETENTION_DAYS). Walks the
 * received_at index from the newest row and stops at the first match.
 */
export async function lastReceived(db: Db, source: "attio" | "salesforce"): Promise<string | null> {
  const row = await db.$client
    .prepare("select received_at as at from inbound_events where source = ? order by received_at desc limit 1")
    .bind(source)
    .first<{ at: string }>();
  return row?.at ?? null;
}

/**
 * Records that a webhook's own invocation synced these events (queue/inline.ts). An upsert: the
 * run may end before its webhook remembered the keys (it starts while they are being queued).
 */
export async function markHandledInline(
  db: Db,
  events: readonly { key: string; source: "attio" | "salesforce" }[],
): Promise<void> {
  if (events.length === 0) return;
  await db.$client.prepare(MARK_HANDLED).bind(JSON.stringify(events)).run();
}

const MARK_HANDLED = `insert into inbound_events (key, source, received_at, handled_inline_at)
  select value ->> 'key', value ->> 'source', ${NOW}, ${NOW} from json_each(?) where true
  on conflict (key) do update set handled_inline_at = excluded.handled_inline_at`;

/** The keys among `keys` whose events a webhook's own invocation already synced. */
export async function handledInline(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const rows = await rowsForIds<{ key: string }>(db, HANDLED_KEYS, keys);
  return new Set(rows.map((row) => row.key));
}

const HANDLED_KEYS = `select key from inbound_events
  where key in (select value from json_each(?)) and handled_inline_at is not null`;
