import type { PruneCounts, PruneStep, RetentionTarget } from "../plan/retention.ts";
import type { Db } from "./db.ts";

/**
 * The retention's deletes (the steps come from src/plan/retention.ts). Each step is one statement
 * deleting at most `limit` rows, picked through an index where the table has one; all of them go
 * in one D1 batch (one round trip, one transaction). Parameters: ?1 the cutoff (ISO), ?2 the
 * finished states (a JSON array), ?3 the limit.
 */

const STATES = "(select value from json_each(?2))";

/** A table whose own rows say when they were finished and in which state. */
function finishedRows(table: string, time: string, state: string | null): string {
  const finished = state ? `and ${state} in ${STATES}` : "";
  return `delete from ${table} where rowid in (
    select rowid from ${table} where ${time} < ?1 ${finished} limit ?3)`;
}

/**
 * Rows of finished parents (jobs, holds): the parent's state and time decide. `cross join` keeps
 * the parents (few) as the outer loop: SQLite would otherwise read every child row to find them.
 */
function childRows(child: string, parent: string, link: string, state: string, time: string): string {
  return `delete from ${child} where rowid in (
    select c.rowid from ${parent} p cross join ${child} c on c.${link} = p.id
    where p.${state} in ${STATES} and ${time} < ?1 limit ?3)`;
}

/** Finished parents with nothing of theirs left (their rows went in an earlier step or run). */
function emptyParents(parent: string, state: string, time: string, children: readonly [string, string][]): string {
  const none = children.map(([child, link]) => `and not exists (select 1 from ${child} c where c.${link} = p.id)`);
  return `delete from ${parent} where id in (
    select p.id from ${parent} p where p.${state} in ${STATES} and ${time} < ?1 ${none.join(" ")} limit ?3)`;
}

function statementOf(target: RetentionTarget): string {
  switch (target) {
    case "audit_log":
      return finishedRows("audit_log", "at", null);
    case "job_records":
      return childRows("job_records", "sync_jobs", "job_id", "state", "p.updated_at");
    case "job_match_keys":
      return childRows("job_match_keys", "sync_jobs", "job_id", "state", "p.updated_at");
    case "sync_jobs":
      return emptyParents("sync_jobs", "state", "p.updated_at", [
        ["job_records", "job_id"],
        ["job_match_keys", "job_id"],
      ]);
    case "failures":
      return finishedRows("failures", "last_failed_at", "status");
    case "conflicts":
      return finishedRows("conflicts", "coalesce(resolved_at, created_at)", "status");
    case "pending_deletes":
      return finishedRows("pending_deletes", "coalesce(decided_at, detected_at)", "status");
    case "ambiguous_matches":
      // No decision time is kept: a match settled long after it opened stays a while longer.
      return finishedRows("ambiguous_matches", "created_at", "status");
    case "mapping_warnings":
      return finishedRows("mapping_warnings", "coalesce(cleared_at, last_seen_at)", "status");
    case "held_updates":
      return childRows("held_updates", "update_holds", "hold_id", "status", "coalesce(p.decided_at, p.detected_at)");
    case "update_holds":
      return emptyParents("update_holds", "status", "coalesce(p.decided_at, p.detected_at)", [
        ["held_updates", "hold_id"],
      ]);
    case "issue_dismissals":
      return finishedRows("issue_dismissals", "dismissed_at", null);
  }
}

/** Runs the steps in order, in one batch; returns the rows each deleted. */
export async function pruneRetained(db: Db, steps: readonly PruneStep[]): Promise<PruneCounts> {
  const statements = steps.map((step) =>
    db.$client.prepare(statementOf(step.target)).bind(step.before, JSON.stringify(step.states), step.limit),
  );
  const results = statements.length > 0 ? await db.$client.batch(statements) : [];
  const counts: PruneCounts = {};
  steps.forEach((step, i) => {
    counts[step.target] = (counts[step.target] ?? 0) + (results[i]?.meta.changes ?? 0);
  });
  return counts;
}
