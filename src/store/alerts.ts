import { and, eq, isNotNull, isNull, or } from "drizzle-orm";
import type { OpenAlert } from "../sync/alerts.ts";
import type { Db } from "./db.ts";
import { alerts } from "./schema.ts";

export type AlertRow = typeof alerts.$inferSelect;

/** The alerts whose problem is open (as of the last run). */
export async function openAlerts(db: Db): Promise<OpenAlert[]> {
  return db
    .select({
      key: alerts.key,
      code: alerts.code,
      affects: alerts.affects,
      message: alerts.message,
      action: alerts.action,
      openedAt: alerts.openedAt,
    })
    .from(alerts)
    .where(isNull(alerts.clearedAt));
}

/**
 * Records problems that opened. One that cleared and opened again before its `cleared` alert was
 * posted is open again, as if it never cleared (its receiver never heard it did).
 */
export async function recordOpened(db: Db, opened: readonly OpenAlert[]): Promise<void> {
  for (const alert of opened) {
    await db
      .insert(alerts)
      .values(alert)
      .onConflictDoUpdate({
        target: alerts.key,
        set: { message: alert.message, action: alert.action, clearedAt: null, clearSentAt: null },
      });
  }
}

export async function recordCleared(db: Db, keys: readonly string[], at: string): Promise<void> {
  for (const key of keys) {
    await db
      .update(alerts)
      .set({ clearedAt: at })
      .where(and(eq(alerts.key, key), isNull(alerts.clearedAt)));
  }
}

/** Alerts with a post due: an opening not yet posted, or a clearing whose opening was. */
export async function dueAlerts(db: Db): Promise<AlertRow[]> {
  return db
    .select()
    .from(alerts)
    .where(and(isNull(alerts.clearSentAt), or(isNull(alerts.openSentAt), isNotNull(alerts.clearedAt))))
    .orderBy(alerts.openedAt);
}

/** Drops alerts that cleared before their opening was ever posted: there is nothing to tell. */
export async function forgetUnsentCleared(db: Db): Promise<void> {
  await db.delete(alerts).where(and(isNotNull(alerts.clearedAt), isNull(alerts.openSentAt)));
}

/**
 * Claims a post: true for the one run that marks it sent first (a concurrent run skips it). A post
 * that then fails is released (releaseClaim), for the next run to try again.
 */
export async function claimPost(db: Db, key: string, state: "opened" | "cleared", at: string): Promise<boolean> {
  const rows =
    state === "opened"
      ? await db
          .update(alerts)
          .set({ openSentAt: at })
          .where(and(eq(alerts.key, key), isNull(alerts.openSentAt)))
          .returning({ key: alerts.key })
      : await db
          .update(alerts)
          .set({ clearSentAt: at })
          .where(and(eq(alerts.key, key), isNotNull(alerts.clearedAt), isNull(alerts.clearSentAt)))
          .returning({ key: alerts.key });
  return rows.length > 0;
}

export async function releaseClaim(db: Db, key: string, state: "opened" | "cleared"): Promise<void> {
  await db
    .update(alerts)
    .set(state === "opened" ? { openSentAt: null } : { clearSentAt: null })
    .where(eq(alerts.key, key));
}

/** A cleared alert once posted: its row has nothing more to say. */
export async function forgetAlert(db: Db, key: string): Promise<void> {
  await db.delete(alerts).where(and(eq(alerts.key, key), isNotNull(alerts.clearSentAt)));
}
