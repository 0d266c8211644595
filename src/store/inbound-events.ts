import { inArray, lt } from "drizzle-orm";
import { chunk, type Db } from "./db.ts";
import { inboundEvents } from "./schema.ts";

/** The keys among `keys` that were already enqueued once. */
export async function seenKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const part of chunk(keys, 90)) {
    const rows = await db
      .select({ key: inboundEvents.key })
      .from(inboundEvents)
      .where(inArray(inboundEvents.key, part));
    for (const row of rows) seen.add(row.key);
  }
  return seen;
}

/** Remembers keys after their messages were enqueued (never before: a failed send must be redone). */
export async function rememberKeys(db: Db, source: "attio" | "salesforce", keys: readonly string[]): Promise<void> {
  for (const part of chunk(keys, 45)) {
    await db
      .insert(inboundEvents)
      .values(part.map((key) => ({ key, source })))
      .onConflictDoNothing();
  }
}

/** Drops keys older than `before` (ISO); redeliveries come within days, not weeks. */
export async function pruneKeys(db: Db, before: string): Promise<number> {
  const result = await db.delete(inboundEvents).where(lt(inboundEvents.receivedAt, before));
  return result.meta.changes ?? 0;
}
