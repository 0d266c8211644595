import { and, eq, gte, type SQL, sql } from "drizzle-orm";
import type { SyncError } from "../lib/errors.ts";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { failures } from "./schema.ts";

export type Failure = typeof failures.$inferSelect;

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

/** Open failures recorded since `since` (ISO time): how many, and the latest one's time. */
export async function openFailuresSince(db: Db, since: string): Promise<{ count: number; latest: string | null }> {
  const row = await db
    .select({ n: sql<number>`count(*)`, latest: sql<string | null>`max(${failures.lastFailedAt})` })
    .from(failures)
    .where(and(eq(failures.status, "open"), gte(failures.lastFailedAt, since)))
    .get();
  return { count: row?.n ?? 0, latest: row?.latest ?? null };
}

/** Which failures: by status, and optionally error code and message kind. */
export interface FailureFilter {
  status: Failure["status"];
  errorCode?: string | undefined;
  messageKind?: string | undefined;
}

function filterOf(filter: FailureFilter): SQL[] {
  return [
    eq(failures.status, filter.status),
    ...(filter.errorCode ? [eq(failures.errorCode, filter.errorCode)] : []),
    ...(filter.messageKind ? [eq(failures.messageKind, filter.messageKind)] : []),
  ];
}

/** One page of the failures matching `filter`, in id order. */
export function listFailures(db: Db, filter: FailureFilter, page: PageRequest) {
  return listPage(db.select().from(failures).$dynamic(), failures.id, filterOf(filter), page);
}

/** The first `limit` failures matching `filter`. */
export async function failuresMatching(db: Db, filter: FailureFilter, limit: number): Promise<Failure[]> {
  return db
    .select()
    .from(failures)
    .where(and(...filterOf(filter)))
    .limit(limit);
}

export async function loadFailure(db: Db, id: string): Promise<Failure | undefined> {
  return db.select().from(failures).where(eq(failures.id, id)).get();
}

/** Dismisses an open failure; false when there is none. */
export async function dismissFailure(db: Db, id: string): Promise<boolean> {
  const result = await db
    .update(failures)
    .set({ status: "dismissed" })
    .where(and(eq(failures.id, id), eq(failures.status, "open")));
  return (result.meta.changes ?? 0) > 0;
}

export async function markFailureReplayed(db: Db, id: string): Promise<void> {
  await db.update(failures).set({ status: "replayed" }).where(eq(failures.id, id));
}
