import { SyncError } from "../lib/errors.ts";
import type { Db } from "../store/db.ts";
import { anyPairStored, loadModeRow, type Mode, type ModeRow, moveMode, storeFirstMode } from "../store/mode.ts";
import { kvKeys } from "./catchup-state.ts";

export type { Mode, ModeRow };

/**
 * The deployment's mode (docs/OPERATIONS.md "Modes"):
 * - `setup`: a new deployment. Webhooks and change events are verified and held; the cron only
 *   does housekeeping; dry-run jobs run; nothing is written to either CRM.
 * - `running`: everything syncs.
 * - `paused`: like setup, entered and left by an operator; what arrives meanwhile is held and
 *   delivered on resume.
 * Held changes wait in `parked_changes` with the mode as their reason, beside those an outage parks.
 */

/** What moves the mode: an operator's start, pause or resume, or a sync job that writes. */
export type ModeAction = "start" | "pause" | "resume" | "job";

export type Transition = { kind: "move"; to: Mode } | { kind: "stay" } | { kind: "refuse"; message: string };

/**
 * The rules between modes. Pure. A repeated action is a no-op (`stay`), so a client may retry it;
 * an action that makes no sense from here is refused and says which one does.
 */
export function modeTransition(current: Mode, action: ModeAction): Transition {
  switch (action) {
    case "start":
      if (current === "setup") return { kind: "move", to: "running" };
      if (current === "paused")
        return { kind: "refuse", message: "the deployment is paused: POST /api/v1/resume delivers what was held" };
      return { kind: "stay" };
    case "pause":
      if (current === "running") return { kind: "move", to: "paused" };
      if (current === "setup")
        return { kind: "refuse", message: "the deployment is not started: nothing is written in setup" };
      return { kind: "stay" };
    case "resume":
      if (current === "paused") return { kind: "move", to: "running" };
      if (current === "setup")
        return { kind: "refuse", message: "the deployment is not started: POST /api/v1/start starts it" };
      return { kind: "stay" };
    case "job":
      // A job that writes starts a new deployment; while paused it waits like everything else.
      return current === "setup" ? { kind: "move", to: "running" } : { kind: "stay" };
  }
}

/** The reasons of parked changes that a mode holds (not an outage): delivered when the deployment runs. */
export const HELD_REASONS: readonly string[] = ["setup", "paused"] satisfies Mode[];

/**
 * The current mode. With none stored, a deployment that already synced (a pair, or a catch-up that
 * ran: it was deployed before modes existed) is `running`, so an upgrade never stops syncing; a
 * deployment with nothing stored is new and starts in `setup`. Either is stored at once.
 */
export async function currentMode(db: Db, kv: KVNamespace): Promise<ModeRow> {
  const row = await loadModeRow(db);
  if (row) return row;
  const synced = (await anyPairStored(db)) || (await kv.get(kvKeys.lastRun)) !== null;
  return storeFirstMode(db, synced ? "running" : "setup", synced ? "upgrade" : "new deployment");
}

export interface ModeChange {
  from: Mode;
  mode: Mode;
  since: string;
  changedBy: string;
  /** Whether this call moved it. */
  moved: boolean;
}

/**
 * Applies an action: the move is a compare-and-set on the stored mode, so of two racing actions
 * each is judged against the mode the other left. Refused actions throw 409 `conflict`.
 */
export async function changeMode(db: Db, kv: KVNamespace, action: ModeAction, by: string): Promise<ModeChange> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await currentMode(db, kv);
    const next = modeTransition(current.mode, action);
    switch (next.kind) {
      case "refuse":
        throw new SyncError("conflict", next.message, { status: 409, detail: { mode: current.mode } });
      case "stay":
        return {
          from: current.mode,
          mode: current.mode,
          since: current.since,
          changedBy: current.changedBy,
          moved: false,
        };
      case "move": {
        if (!(await moveMode(db, current.mode, next.to, by))) continue;
        const stored = (await loadModeRow(db)) ?? { ...current, mode: next.to, changedBy: by };
        return { from: current.mode, mode: stored.mode, since: stored.since, changedBy: stored.changedBy, moved: true };
      }
    }
  }
  throw new SyncError("conflict", "the mode is being changed by another request: try again", { status: 409 });
}

/**
 * Throws `paused` (retryable: the change is held, not failed) unless the deployment runs. The
 * engine asks just before it writes, so a pause stops a batch that was already reading.
 */
export async function assertRunning(db: Db, kv: KVNamespace): Promise<void> {
  const { mode, since, changedBy } = await currentMode(db, kv);
  if (mode === "running") return;
  const message =
    mode === "paused"
      ? `the deployment is paused (since ${since}, by ${changedBy}): POST /api/v1/resume first`
      : "the deployment is not started (setup): POST /api/v1/start first";
  throw new SyncError("paused", message, { status: 409, detail: { mode } });
}
