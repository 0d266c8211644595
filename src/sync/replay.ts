import type { Db } from "../store/db.ts";
import { type Failure, markFailureReplayed } from "../store/failures.ts";
import { forReplay, SyncMessageSchema } from "./messages.ts";

/**
 * Re-enqueues the stored messages of failures that are still valid sync messages and marks them
 * replayed; returns the ids replayed. A message from an older version that no longer parses is
 * skipped and stays open. A replayed message that fails again opens its failure again.
 */
export async function replayFailures(db: Db, queue: Queue, rows: readonly Failure[]): Promise<string[]> {
  const replayed: string[] = [];
  for (const row of rows) {
    const message = SyncMessageSchema.safeParse(row.message);
    if (!message.success) continue;
    await queue.send(forReplay(message.data), { contentType: "json" });
    await markFailureReplayed(db, row.id);
    replayed.push(row.id);
  }
  return replayed;
}
