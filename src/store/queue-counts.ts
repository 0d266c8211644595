import type { Db } from "./db.ts";

/** A counter of the queue backlog estimate: `sent:<queue>` or `settled:<queue>` (src/sync/queue-depth.ts). */
export type QueueCounter = `sent:${"sync" | "jobs"}` | `settled:${"sync" | "jobs" | "dlq"}`;

/** Adds `n` to a counter: one statement, atomic in D1 however many Workers add at once. */
export async function addToCounter(db: Db, counter: QueueCounter, n: number): Promise<void> {
  if (n <= 0) return;
  await db.$client
    .prepare(
      `insert into queue_counts (counter, n) values (?1, ?2)
       on conflict (counter) do update set n = n + excluded.n, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    )
    .bind(counter, n)
    .run();
}

/** Every counter's value; a counter never added to is absent. */
export async function readCounters(db: Db): Promise<Partial<Record<QueueCounter, number>>> {
  const { results } = await db.$client
    .prepare("select counter, n from queue_counts")
    .all<{ counter: QueueCounter; n: number }>();
  return Object.fromEntries(results.map((row) => [row.counter, row.n]));
}
