import { z } from "zod";
import type { SyncError } from "../lib/errors.ts";

/**
 * Facts about the Worker's own health that only the code meeting them knows, kept in KV for
 * /api/v1/status: whether dead letters can be recorded.
 */
export const DEAD_LETTERS_KEY = "health:dead-letters";

export const DeadLettersStuckSchema = z.object({ since: z.string(), error: z.string(), code: z.string() });
export type DeadLettersStuck = z.infer<typeof DeadLettersStuckSchema>;

/** Dead letters could not be recorded (D1 down): they wait in the dead-letter queue. */
export async function markDeadLettersStuck(kv: KVNamespace, error: SyncError, now: Date): Promise<void> {
  try {
    const previous = DeadLettersStuckSchema.safeParse(await kv.get(DEAD_LETTERS_KEY, "json"));
    const since = previous.success ? previous.data.since : now.toISOString();
    await kv.put(DEAD_LETTERS_KEY, JSON.stringify({ since, error: error.message, code: error.code }));
  } catch {
    // KV down as well: the queue's own redelivery still keeps the messages.
  }
}

/** Dead letters are recorded again: the mark, if any, is removed. */
export async function markDeadLettersDraining(kv: KVNamespace): Promise<void> {
  try {
    if ((await kv.get(DEAD_LETTERS_KEY)) !== null) await kv.delete(DEAD_LETTERS_KEY);
  } catch {
    // Best effort: status shows the mark until a later batch removes it.
  }
}

export async function deadLettersStuck(kv: KVNamespace): Promise<DeadLettersStuck | null> {
  const parsed = DeadLettersStuckSchema.safeParse(await kv.get(DEAD_LETTERS_KEY, "json"));
  return parsed.success ? parsed.data : null;
}
