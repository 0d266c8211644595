import { eq } from "drizzle-orm";
import { type Db, NOW } from "./db.ts";
import { deploymentMode, idMappings } from "./schema.ts";

export type Mode = (typeof deploymentMode.$inferSelect)["mode"];

export interface ModeRow {
  mode: Mode;
  since: string;
  changedBy: string;
}

const ROW_ID = "deployment";

/** The stored mode, or undefined when none was ever stored (a new deployment, or one from before modes). */
export async function loadModeRow(db: Db): Promise<ModeRow | undefined> {
  const [row] = await db
    .select({ mode: deploymentMode.mode, since: deploymentMode.since, changedBy: deploymentMode.changedBy })
    .from(deploymentMode)
    .where(eq(deploymentMode.id, ROW_ID))
    .limit(1);
  return row;
}

/** Stores the first mode unless one is stored already (two first readers agree on the first writer's). */
export async function storeFirstMode(db: Db, mode: Mode, changedBy: string): Promise<ModeRow> {
  await db.insert(deploymentMode).values({ id: ROW_ID, mode, changedBy }).onConflictDoNothing();
  return (await loadModeRow(db)) ?? { mode, since: new Date().toISOString(), changedBy };
}

/**
 * Moves the mode from `from` to `to`, only if it is `from` now (a compare-and-set: two operators
 * racing, or a job starting the deployment while an operator pauses it, cannot both win). Returns
 * whether it moved.
 */
export async function moveMode(db: Db, from: Mode, to: Mode, changedBy: string): Promise<boolean> {
  const result = await db.$client
    .prepare(`update deployment_mode set mode = ?, since = ${NOW}, changed_by = ? where id = ? and mode = ?`)
    .bind(to, changedBy, ROW_ID, from)
    .run();
  return (result.meta.changes ?? 0) > 0;
}

/** Whether any record pair is stored: a deployment that synced before modes existed. */
export async function anyPairStored(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: idMappings.id }).from(idMappings).limit(1);
  return row !== undefined;
}
