import { eq, sql } from "drizzle-orm";
import type { SyncError } from "../lib/errors.ts";
import type { Db } from "./db.ts";
import { failures } from "./schema.ts";

export interface FailureInput {
  /** Stable per message so a redelivered failure updates its row instead of adding one. */
  id: string;
  messageKind: string;
  message: unknown;
  error: SyncError;
  attempted?: unknown;
  attempts: number;
  correlationId: string;
  recordKey?: string;
}

/** Records (or refreshes) a failure an operator can see and replay. */
export async function recordFailure(db: Db, input: FailureInput): Promise<void> {
  const row = {
    id: input.id,
    messageKind: input.messageKind,
    message: input.message,
    errorCode: input.error.code,
    errorMessage: input.error.message,
    attempted: input.attempted ?? null,
    attempts: input.attempts,
    correlationId: input.correlationId,
    recordKey: input.recordKey ?? null,
  };
  await db
    .insert(failures)
    .values(row)
    .onConflictDoUpdate({
      target: failures.id,
      set: {
        errorCode: row.errorCode,
        errorMessage: row.errorMessage,
        attempted: row.attempted,
        attempts: row.attempts,
        status: "open",
        lastFailedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
      },
    });
}

export async function countOpenFailures(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(failures).where(eq(failures.status, "open"));
  return row?.n ?? 0;
}
