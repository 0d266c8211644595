import { eq, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import { ambiguousMatches } from "./schema.ts";

/** A record with several candidates on the other side: held for a person to choose one. */
export interface AmbiguousMatch {
  side: "attio" | "salesforce";
  object: string;
  recordId: string;
  candidates: string[];
}

export type AmbiguousMatchRow = typeof ambiguousMatches.$inferSelect;

export async function recordAmbiguousMatch(db: Db, match: AmbiguousMatch): Promise<void> {
  await db.insert(ambiguousMatches).values({ id: crypto.randomUUID(), ...match });
}

export async function loadAmbiguousMatch(db: Db, id: string): Promise<AmbiguousMatchRow | undefined> {
  return db.select().from(ambiguousMatches).where(eq(ambiguousMatches.id, id)).get();
}

export async function resolveAmbiguousMatch(db: Db, id: string): Promise<void> {
  await db.update(ambiguousMatches).set({ status: "resolved" }).where(eq(ambiguousMatches.id, id));
}

/** One page of the ambiguous matches in `status`, in id order. */
export function listAmbiguousMatches(db: Db, status: AmbiguousMatchRow["status"], page: PageRequest) {
  return listPage(
    db.select().from(ambiguousMatches).$dynamic(),
    ambiguousMatches.id,
    [eq(ambiguousMatches.status, status)],
    page,
  );
}

export async function countOpenAmbiguousMatches(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(ambiguousMatches).where(sql`status = 'open'`);
  return row?.n ?? 0;
}

/** Open ambiguous matches per object of the waiting record (an Attio slug or a Salesforce object). */
export async function openAmbiguousMatchesByObject(db: Db) {
  return db
    .select({ object: ambiguousMatches.object, n: sql<number>`count(*)` })
    .from(ambiguousMatches)
    .where(eq(ambiguousMatches.status, "open"))
    .groupBy(ambiguousMatches.object);
}
