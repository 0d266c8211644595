import { eq, gte, lte, ne, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { listPage, type PageRequest } from "./pages.ts";
import type { AuditRow } from "./pairs.ts";
import { auditLog } from "./schema.ts";

/** Appends one audit row (a delete, a merge followed, an operator's decision). */
export async function insertAudit(db: Db, row: AuditRow): Promise<void> {
  await db.insert(auditLog).values(row);
}

/** What history to list: each filter given narrows it. */
export interface AuditFilter {
  /** An Attio object slug or a Salesforce object name. */
  object?: string | undefined;
  /** A record id on either side. */
  recordId?: string | undefined;
  direction?: (typeof auditLog.$inferSelect)["direction"] | undefined;
  operation?: (typeof auditLog.$inferSelect)["operation"] | undefined;
  /** ISO times, both inclusive. */
  from?: string | undefined;
  to?: string | undefined;
}

/** One page of the audit trail, newest first. */
export function listAudit(db: Db, filter: AuditFilter, page: PageRequest) {
  const where: SQL[] = [];
  if (filter.object)
    where.push(or(eq(auditLog.attioObject, filter.object), eq(auditLog.sfObject, filter.object)) as SQL);
  if (filter.recordId) {
    where.push(or(eq(auditLog.attioRecordId, filter.recordId), eq(auditLog.sfRecordId, filter.recordId)) as SQL);
  }
  if (filter.direction) where.push(eq(auditLog.direction, filter.direction));
  if (filter.operation) where.push(eq(auditLog.operation, filter.operation));
  if (filter.from) where.push(gte(auditLog.at, filter.from));
  if (filter.to) where.push(lte(auditLog.at, filter.to));
  return listPage(db.select().from(auditLog).$dynamic(), auditLog.id, where, { ...page, newestFirst: true });
}

/** The last write per Attio object and direction. */
export async function lastWrites(db: Db) {
  return (
    db
      .select({ object: auditLog.attioObject, direction: auditLog.direction, at: sql<string>`max(${auditLog.at})` })
      .from(auditLog)
      // An operator's action (a replay, a dismissal) writes nothing itself.
      .where(ne(auditLog.operation, "operator"))
      .groupBy(auditLog.attioObject, auditLog.direction)
  );
}
