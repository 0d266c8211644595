import type { SyncError } from "../lib/errors.ts";

/**
 * What the engine did with one touched record (in a dry run: what it would do). A closed list, so
 * job counters, logs and the API read it with a switch; the prose for people goes in `detail`.
 */
export const OUTCOME_ACTIONS = [
  "create",
  "update",
  "link",
  "unchanged",
  "ambiguous",
  "delete",
  "unlink",
  "hold_delete",
  "hold_update",
  "follow_merge",
  "gone",
] as const;
export type OutcomeAction = (typeof OUTCOME_ACTIONS)[number];

/** What happened to one touched record; the consumer acks, retries or records a failure from it. */
export type TouchOutcome =
  | {
      status: "done";
      action: OutcomeAction;
      /** For people: why, and what was written where. */
      detail?: string;
      /** Fields held as conflicts (an update may write some fields and hold others). */
      conflicts?: number;
      /** A dry run's plan of the record. */
      plan?: Record<string, unknown>;
    }
  | { status: "retry"; error: SyncError }
  | { status: "failed"; error: SyncError; attempted?: unknown };

/** The counters a job reports. */
export const COUNT_KEYS = [
  "created",
  "updated",
  "linked",
  "unchanged",
  "conflicts",
  "ambiguous",
  "deferred",
  "deleted",
  "held",
  "failed",
] as const;
export type CountKey = (typeof COUNT_KEYS)[number];

/** The counter an outcome adds to; none for a retry (not final yet). */
export function countKey(outcome: TouchOutcome): CountKey | null {
  switch (outcome.status) {
    case "failed":
      return "failed";
    case "retry":
      return null;
    case "done":
      return doneKey(outcome.action, outcome.conflicts ?? 0);
  }
}

function doneKey(action: OutcomeAction, conflicts: number): CountKey {
  switch (action) {
    case "create":
      return "created";
    case "link":
      return "linked";
    case "ambiguous":
      return "ambiguous";
    case "update":
      return conflicts > 0 ? "conflicts" : "updated";
    // A held delete counts as a delete, as it always has: the record left the sync's scope.
    case "delete":
    case "unlink":
    case "hold_delete":
      return "deleted";
    // Held by the mass-update breaker: written (or re-based) once a person decides.
    case "hold_update":
      return "held";
    case "unchanged":
    case "follow_merge":
    case "gone":
      return "unchanged";
  }
}
