import { loadOwnActor } from "../attio/own-actor.ts";
import { SyncError } from "../lib/errors.ts";
import { mapsOwners } from "../mapping/engine.ts";
import { getToken } from "../salesforce/token.ts";
import { type Db, pingDb } from "../store/db.ts";
import { pendingMassDeleteBatches } from "../store/deletes.ts";
import { openFailuresSince } from "../store/failures.ts";
import { recentFailedJobs } from "../store/jobs.ts";
import { parkedByReason } from "../store/parked.ts";
import { pendingHolds } from "../store/update-holds.ts";
import { loadUsage } from "./budget.ts";
import { type CatchupEntry, CatchupEntrySchema, kvKeys } from "./catchup-state.ts";
import type { SyncDeps } from "./deps.ts";
import { loadDirectory } from "./directory.ts";
import { type EchoFilterState, loadEchoFilterStates } from "./echo-filter.ts";
import { FAILED_JOB_WINDOW_MS, FAILURE_WINDOW_MS, type HealthFacts, type Probe } from "./health.ts";
import { deadLettersStuck } from "./health-marks.ts";
import { currentMode, HELD_REASONS, type ModeRow } from "./mode.ts";
import { loadRuntime, type Runtime } from "./runtime.ts";

/**
 * What the health rules (health.ts) read, gathered from the bindings and both APIs: by
 * /api/v1/status for its answer and by the cron for alerts (sync/alerts.ts), so both see the same
 * problems. Each source that does not answer leaves its facts null; the probes say why.
 */
export interface HealthReadings {
  facts: HealthFacts;
  d1: Probe;
  kv: Probe;
  attio: Probe;
  salesforce: Probe;
  runtime: Runtime | null;
  lastRun: { at?: string } | null;
  catchup: { objects?: Record<string, unknown> } | null;
  usage: Awaited<ReturnType<typeof loadUsage>>;
  ownActor: Awaited<ReturnType<typeof loadOwnActor>>;
  /** The last check of each Attio webhook's echo filter (null: KV does not answer). */
  echoFilter: Record<string, EchoFilterState> | null;
  parked: HealthFacts["parked"];
  heldBatches: NonNullable<HealthFacts["heldDeleteBatches"]> | null;
  mode: ModeRow | null;
  /** Changes held while the deployment is not running (setup, paused). */
  held: number | null;
}

export async function readHealth(deps: SyncDeps, env: Env, now: Date): Promise<HealthReadings> {
  const { db } = deps;
  const [d1, kv, attio, salesforce] = await Promise.all([
    probe(() => pingDb(db)),
    probe(async () => {
      await env.CURSORS.get("status-probe");
    }),
    probe(async () => {
      if (!(await deps.attio.self()).active) throw new Error("the Attio API key is not active");
    }),
    probe(async () => {
      await getToken(deps.salesforce.tokenSettings());
    }),
  ]);
  const [lastRun, catchup, usage, ownActor, stuck, echoFilter] = kv.ok
    ? await Promise.all([
        env.CURSORS.get<{ at?: string }>("cron:last-run", "json"),
        env.CURSORS.get<{ objects?: Record<string, unknown> }>(kvKeys.lastRun, "json"),
        loadUsage(env.CURSORS),
        loadOwnActor(env.CURSORS),
        deadLettersStuck(env.CURSORS),
        loadEchoFilterStates(env.CURSORS),
      ])
    : [null, null, null, null, null, null];
  // The effective mappings need D1 (stored configuration): only when it answers.
  const runtime = d1.ok ? await loadRuntime(deps, env.CURSORS, "best_effort") : null;
  const bindings = {
    d1,
    kv,
    queue: { ok: typeof env.SYNC_QUEUE?.send === "function" },
    job_queue: { ok: typeof env.JOB_QUEUE?.send === "function" },
    record_lock: { ok: typeof env.RECORD_LOCK?.getByName === "function" },
    rate_limiter: { ok: typeof env.RATE_LIMITER?.getByName === "function" },
  };
  const parked = d1.ok ? await parkedByReason(db) : null;
  const heldBatches = d1.ok
    ? (await pendingMassDeleteBatches(db)).map((b) => ({
        batchId: b.batchId ?? "",
        object: b.object,
        deletes: b.n,
        detectedAt: b.detectedAt,
      }))
    : null;
  // Null, like the counts, when it cannot be read: the binding probes say why.
  const mode = d1.ok ? await currentMode(db, env.CURSORS).catch(() => null) : null;
  const held = parked
    ? parked.filter((group) => HELD_REASONS.includes(group.reason)).reduce((sum, group) => sum + group.count, 0)
    : null;
  const facts: HealthFacts = {
    mode: mode ? { ...mode, held: held ?? 0 } : null,
    heldDeleteBatches: heldBatches,
    heldUpdates: d1.ok ? await pendingHolds(db) : null,
    now,
    bindings,
    dependencies: { attio, salesforce },
    mappingIssues: runtime?.issues ?? null,
    mappingsChecked: runtime?.validated ?? null,
    ownerProblem: runtime && attio.ok && salesforce.ok ? await ownerProblem(deps, env.CURSORS, runtime) : null,
    catchup: catchupEntries(catchup),
    recentFailures: d1.ok ? await recentFailures(db, now) : null,
    failedJobs: d1.ok ? await failedJobs(db, now) : [],
    deadLetters: stuck,
    parked,
    lastCronRun: typeof lastRun?.at === "string" ? lastRun.at : null,
    ...(runtime
      ? {
          thresholds: {
            failures: runtime.config.health.failures,
            catchupLagMinutes: runtime.config.health.catchup_lag_minutes,
          },
        }
      : {}),
    salesforceApi: usage ? { ...usage, reserve: deps.config.SALESFORCE_BUDGET_RESERVE } : null,
  };
  return {
    facts,
    d1,
    kv,
    attio,
    salesforce,
    runtime,
    lastRun,
    catchup,
    usage,
    ownActor,
    echoFilter,
    parked,
    heldBatches,
    mode,
    held,
  };
}

function catchupEntries(run: { objects?: Record<string, unknown> } | null): Record<string, CatchupEntry> {
  const entries: Record<string, CatchupEntry> = {};
  for (const [object, raw] of Object.entries(run?.objects ?? {})) {
    const entry = CatchupEntrySchema.safeParse(raw);
    if (entry.success) entries[object] = entry.data;
  }
  return entries;
}

async function recentFailures(db: Db, now: Date) {
  return openFailuresSince(db, new Date(now.getTime() - FAILURE_WINDOW_MS).toISOString());
}

/** Jobs that failed in the last day, unless a job started after them has finished since. */
async function failedJobs(db: Db, now: Date) {
  const since = new Date(now.getTime() - FAILED_JOB_WINDOW_MS).toISOString();
  const rows = await recentFailedJobs(db, since, 20);
  return rows.map((row) => ({ id: row.id, kind: row.kind, updatedAt: row.updatedAt, error: firstError(row.sample) }));
}

function firstError(sample: unknown[]): string | null {
  const first = sample[0] as { error?: unknown; message?: unknown } | undefined;
  const text = first?.error ?? first?.message;
  return typeof text === "string" ? text : null;
}

/** Why owners mapped from Salesforce would get no default member, when owners are mapped at all. */
async function ownerProblem(deps: SyncDeps, kv: KVNamespace, runtime: Runtime) {
  if (!runtime.mappings.some(mapsOwners)) return null;
  try {
    return (await loadDirectory(deps, kv, runtime.directoryOptions)).defaultMemberProblem ?? null;
  } catch {
    // Unreadable: the dependency probes say why.
    return null;
  }
}

/** A check that answers or says why not (with the error's code: `auth_failed` is credentials refused). */
async function probe(check: () => Promise<void>): Promise<Probe> {
  try {
    await check();
    return { ok: true };
  } catch (err) {
    return err instanceof SyncError
      ? { ok: false, error: err.message, code: err.code }
      : { ok: false, error: (err as Error).message };
  }
}
