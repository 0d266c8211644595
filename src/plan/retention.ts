/**
 * What the cron's retention deletes, decided from the time and the settings alone: per kind of
 * stored row, the age past which it goes, which states make it finished (an open item, a queued or
 * running job is never pruned, whatever its age), and how many rows one run may delete. The store
 * (src/store/retention.ts) turns each step into one bounded statement; a backlog larger than a
 * step's limit drains over the next runs (every 5 minutes), so no statement grows with the table.
 * Pairs and their bases are never pruned: they are the sync's memory, not its history.
 */

/** What one step prunes (docs/STORAGE.md "Retention"). */
export type RetentionTarget =
  | "audit_log"
  | "job_records"
  | "job_match_keys"
  | "sync_jobs"
  | "failures"
  | "conflicts"
  | "pending_deletes"
  | "ambiguous_matches"
  | "mapping_warnings"
  | "held_updates"
  | "update_holds"
  | "issue_dismissals";

export interface PruneStep {
  target: RetentionTarget;
  /** Rows whose time (the moment they were finished or decided, else created) is before this, ISO. */
  before: string;
  /** The finished states a row must be in; empty: any row past `before` (history, not work). */
  states: readonly string[];
  /** The most rows this step deletes in one run. */
  limit: number;
}

export interface RetentionSettings {
  /** RETENTION_DAYS: finished jobs and decided items. */
  retentionDays: number;
  /** AUDIT_RETENTION_DAYS: the audit trail. */
  auditRetentionDays: number;
}

/**
 * Rows one step deletes per run. A job's record rows come by the thousand (one per record it
 * queued), so they get a larger share; 288 runs a day still drain millions of rows a day.
 */
export const PRUNE_LIMIT = 2_000;
export const PRUNE_LIMIT_JOB_ROWS = 10_000;
/** Whole jobs per run: each goes only once its record and match-key rows are gone. */
export const PRUNE_LIMIT_JOBS = 200;

const DAY_MS = 86_400_000;

const FINISHED_JOB = ["done", "failed", "cancelled"] as const;

/**
 * The steps of one run, in the order they must run: a job's rows before the job, a hold's records
 * before the hold (a job or hold goes once nothing of it is left).
 */
export function retentionPlan(now: Date, settings: RetentionSettings): PruneStep[] {
  const before = new Date(now.getTime() - settings.retentionDays * DAY_MS).toISOString();
  const auditBefore = new Date(now.getTime() - settings.auditRetentionDays * DAY_MS).toISOString();
  const step = (target: RetentionTarget, states: readonly string[], limit = PRUNE_LIMIT): PruneStep => ({
    target,
    before,
    states,
    limit,
  });
  return [
    { target: "audit_log", before: auditBefore, states: [], limit: PRUNE_LIMIT },
    step("job_records", FINISHED_JOB, PRUNE_LIMIT_JOB_ROWS),
    step("job_match_keys", FINISHED_JOB, PRUNE_LIMIT_JOB_ROWS),
    step("sync_jobs", FINISHED_JOB, PRUNE_LIMIT_JOBS),
    step("failures", ["replayed", "dismissed"]),
    step("conflicts", ["resolved", "dismissed"]),
    step("pending_deletes", ["approved", "rejected"]),
    step("ambiguous_matches", ["resolved", "retried", "dismissed"]),
    step("mapping_warnings", ["cleared", "dismissed"]),
    step("held_updates", ["approved", "rejected"], PRUNE_LIMIT_JOB_ROWS),
    step("update_holds", ["approved", "rejected"], PRUNE_LIMIT_JOBS),
    // Who dismissed an item is kept as long as the item could be: past that, both are gone.
    step("issue_dismissals", []),
  ];
}

/** Rows pruned per target, as the cron's summary reports them. */
export type PruneCounts = Partial<Record<RetentionTarget, number>>;
