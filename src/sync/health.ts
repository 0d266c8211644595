import type { ValidationIssue } from "../mapping/validate.ts";
import { budgetExhausted } from "../salesforce/usage.ts";
import type { ParkedSummary } from "../store/parked.ts";
import type { CatchupEntry } from "./catchup-state.ts";
import type { DeadLettersStuck } from "./health-marks.ts";

/**
 * The problems /api/v1/status reports: a pure function of facts the route gathers, so every rule
 * is tested on plain data. A problem says what is wrong, what it affects and what to do; `healthy`
 * is true only when there is none.
 */

export type ProblemCode =
  | "binding_unavailable"
  | "dependency_unreachable"
  | "credentials_refused"
  | "api_budget_reserve"
  | "mapping_disabled"
  | "mapping_field_dropped"
  | "mappings_unchecked"
  | "default_owner_missing"
  | "catchup_failing"
  | "catchup_behind"
  | "job_failed"
  | "failures_recent"
  | "dead_letters_stuck"
  | "changes_waiting"
  | "mass_delete_held"
  | "mass_update_held"
  | "cron_stale"
  | "not_started"
  | "paused";

export interface Problem {
  code: ProblemCode;
  message: string;
  /** What it affects: a mapping, an object's catch-up, a job, a dependency. */
  affects: string;
  /** What an operator should do. */
  action: string;
  /** Since when, where known. */
  since?: string;
}

export interface Probe {
  ok: boolean;
  error?: string | undefined;
  /** The failure's SyncError code: `auth_failed` means the API refused our credentials. */
  code?: string | undefined;
}

export interface HealthFacts {
  now: Date;
  bindings: Record<string, Probe>;
  dependencies: Record<"attio" | "salesforce", Probe>;
  /** The mapping checks of the runtime; null when it could not be loaded (D1 down). */
  mappingIssues: readonly ValidationIssue[] | null;
  /** False when the mappings run unchecked (a schema could not be read). */
  mappingsChecked: boolean | null;
  /** Why records would get no owner by default, when owners are mapped and there is a reason. */
  ownerProblem: string | null;
  catchup: Readonly<Record<string, CatchupEntry>>;
  /** Open failures recorded (or failing again) within FAILURE_WINDOW_MS. */
  recentFailures: { count: number; latest: string | null } | null;
  failedJobs: readonly { id: string; kind: string; updatedAt: string; error: string | null }[];
  deadLetters: DeadLettersStuck | null;
  /** Changes parked until an API answers, per reason; null when D1 does not answer. */
  parked: readonly ParkedSummary[] | null;
  /** When the cron last ran, if it ever did. */
  lastCronRun: string | null;
  /**
   * The deployment's mode (sync/mode.ts) and how many changes it holds; null when D1 does not answer.
   * Optional: absent means running.
   */
  mode?: { mode: "setup" | "running" | "paused"; since: string; changedBy: string; held: number } | null;
  /** Batches of deletes the mass-delete circuit breaker holds, still pending. */
  heldDeleteBatches?: readonly { batchId: string; object: string; deletes: number; detectedAt: string }[] | null;
  /** Salesforce's daily API usage last seen, and the share left to the org's other integrations. */
  salesforceApi?: { used: number; limit: number; at: string; reserve: number } | null;
  /** config.toml `[health]`: when failures and a catch-up's lag become problems (defaults: 1, 15 minutes). */
  thresholds?: { failures: number; catchupLagMinutes: number } | undefined;
  /** Mass updates the breaker holds, still pending (engine/breaker.ts). */
  heldUpdates?: readonly { id: string; mapping: string; side: string; records: number; detectedAt: string }[] | null;
}

const WAITING_FOR: Record<string, string> = {
  upstream_unavailable: "an API that does not answer",
  daily_limit: "Salesforce's daily API request limit",
  // Held while the deployment did not run, waiting for their delivery now that it does.
  paused: "delivery after the pause",
  setup: "delivery after the start",
};

/** Parked reasons that a mode holds (sync/mode.ts HELD_REASONS); reported as the mode's problem while it lasts. */
const HELD = new Set(["setup", "paused"]);

/** A catch-up is reported once it failed this many runs in a row (one failure may be a blip). */
export const CATCHUP_FAILURES = 2;
/** Failures recorded within this window are reported. */
export const FAILURE_WINDOW_MS = 60 * 60_000;
/** Failed jobs are reported for this long after they ended. */
export const FAILED_JOB_WINDOW_MS = 24 * 60 * 60_000;
/**
 * The Cron Trigger's period: every 5 minutes, as `[triggers] crons` in wrangler.toml says (a Worker
 * cannot read its own triggers; test/node/wrangler-settings.test.ts keeps the two in step).
 */
export const CRON_PERIOD_MS = 5 * 60_000;
/** Three missed runs are reported. */
export const CRON_STALE_MS = 3 * CRON_PERIOD_MS;
/**
 * A Salesforce catch-up whose `reconciledThrough` lags now by more than this many cron periods is
 * reported. A run that reads to the end sets it to its own time, so a healthy one lags by one period
 * before the next run, two when a run after it stops mid-way re-reading the overlap; three means
 * more changes arrive than it reads (5 pages of 2,000 per run), or it is paused, run after run.
 * config.toml `[health] catchup_lag_minutes` (default 15, these three periods) sets it.
 */
export const CATCHUP_LAG_PERIODS = 3;

export function problemsOf(facts: HealthFacts): Problem[] {
  return [
    ...modeProblems(facts),
    ...unavailable(facts),
    ...mappingProblems(facts),
    ...catchupProblems(facts),
    ...workProblems(facts),
  ];
}

/** Nothing is written while the deployment is in setup or paused: the first thing to know. */
function modeProblems(facts: HealthFacts): Problem[] {
  const mode = facts.mode;
  if (!mode) return [];
  const held = `${mode.held} change(s) held`;
  switch (mode.mode) {
    case "running":
      return [];
    case "setup":
      return [
        {
          code: "not_started",
          message: `the deployment is in setup: nothing is written to either CRM until it is started; ${held}`,
          affects: "all mappings",
          action:
            "check the configuration (POST /api/v1/validate) and try a dry run (POST /api/v1/sync with dry_run), then POST /api/v1/start",
          since: mode.since,
        },
      ];
    case "paused":
      return [
        {
          code: "paused",
          message: `the deployment was paused by ${mode.changedBy}: nothing is written to either CRM; ${held}`,
          affects: "all mappings",
          action: "POST /api/v1/resume delivers the held changes, each once",
          since: mode.since,
        },
      ];
  }
}

function unavailable(facts: HealthFacts): Problem[] {
  const problems: Problem[] = [];
  for (const [name, probe] of Object.entries(facts.bindings)) {
    if (probe.ok) continue;
    problems.push({
      code: "binding_unavailable",
      message: `the ${name} binding does not answer${probe.error ? `: ${probe.error}` : ""}`,
      affects: name,
      action: "check the binding in wrangler.toml and the Cloudflare dashboard; redeploy",
    });
  }
  const actions = {
    attio: "check ATTIO_API_KEY (wrangler secret) and Attio's status page",
    salesforce: "check SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, and the app's policies",
  };
  for (const side of ["attio", "salesforce"] as const) {
    const probe = facts.dependencies[side];
    if (probe.ok) continue;
    if (probe.code === "auth_failed") {
      problems.push({
        code: "credentials_refused",
        message: `${side === "attio" ? "Attio" : "Salesforce"} refuses our credentials${probe.error ? `: ${probe.error}` : ""}`,
        affects: side,
        action: `nothing syncs with ${side === "attio" ? "Attio" : "Salesforce"} until they are fixed: ${actions[side]}`,
      });
      continue;
    }
    problems.push({
      code: "dependency_unreachable",
      message: `${side === "attio" ? "Attio" : "Salesforce"} cannot be reached${probe.error ? `: ${probe.error}` : ""}`,
      affects: side,
      action: actions[side],
    });
  }
  return problems;
}

function mappingProblems(facts: HealthFacts): Problem[] {
  const problems: Problem[] = [];
  const issues = facts.mappingIssues ?? [];
  const off = new Map<string, ValidationIssue[]>();
  for (const issue of issues) {
    if (issue.effect === "mapping_off") off.set(issue.mapping, [...(off.get(issue.mapping) ?? []), issue]);
  }
  for (const [mapping, why] of off) {
    problems.push({
      code: "mapping_disabled",
      message: `mapping ${mapping} is switched off: ${why.map((i) => i.message).join("; ")}`,
      affects: `mapping ${mapping}`,
      action: "fix the configuration (POST /api/v1/validate shows every problem) or the CRM's schema",
    });
  }
  for (const issue of issues) {
    if (issue.effect !== "field_dropped" || issue.severity !== "error" || off.has(issue.mapping)) continue;
    problems.push({
      code: "mapping_field_dropped",
      message: `mapping ${issue.mapping} runs without ${issue.salesforce ?? issue.attio}: ${issue.message}`,
      affects: `mapping ${issue.mapping}`,
      action: "fix or remove the field in the configuration, or create the attribute or field it names",
    });
  }
  if (facts.mappingsChecked === false) {
    problems.push({
      code: "mappings_unchecked",
      message: "the mappings could not be checked against both live schemas: they run unchecked",
      affects: "all mappings",
      action: "see the dependencies above; the next check happens on its own",
    });
  }
  if (facts.ownerProblem) {
    problems.push({
      code: "default_owner_missing",
      message: `deals whose Salesforce owner has no workspace member cannot get an owner in Attio: ${facts.ownerProblem}`,
      affects: "owners",
      action: "set [mappings.users] default_owner_email to an active workspace member",
    });
  }
  return problems;
}

function catchupProblems(facts: HealthFacts): Problem[] {
  const problems: Problem[] = [];
  for (const [object, entry] of Object.entries(facts.catchup)) {
    if (!entry.error || entry.consecutiveFailures < CATCHUP_FAILURES) continue;
    problems.push({
      code: "catchup_failing",
      message: `the ${entry.side} catch-up of ${object} failed ${entry.consecutiveFailures} runs in a row: ${entry.error.code}: ${entry.error.message}`,
      affects: `catch-up ${entry.side}:${object}`,
      action:
        "changes whose webhooks or change events were lost are not found until it works again; fix the cause named",
      ...(entry.failingSince ? { since: entry.failingSince } : {}),
    });
  }
  problems.push(...catchupBehind(facts));
  if (facts.lastCronRun && facts.now.getTime() - Date.parse(facts.lastCronRun) > CRON_STALE_MS) {
    problems.push({
      code: "cron_stale",
      message: `the scheduled catch-up last ran at ${facts.lastCronRun}`,
      affects: "catch-up",
      action: "check the Worker's Cron Trigger ([triggers] crons in wrangler.toml) in the Cloudflare dashboard",
      since: facts.lastCronRun,
    });
  }
  return problems;
}

/**
 * Catch-ups that fall behind without failing (a failing one is reported as failing). On the
 * Salesforce side `reconciledThrough` is the change time read up to; on the Attio side it is the
 * start of the last complete pass over the object, which a run makes whole up to about 100,000
 * records (cron/catchup.ts, ATTIO_SCAN_BUDGET_MS).
 */
function catchupBehind(facts: HealthFacts): Problem[] {
  const problems: Problem[] = [];
  for (const [object, entry] of Object.entries(facts.catchup)) {
    if (!entry.reconciledThrough) continue;
    if (entry.error && entry.consecutiveFailures >= CATCHUP_FAILURES) continue;
    const lag = facts.now.getTime() - Date.parse(entry.reconciledThrough);
    const allowed = facts.thresholds
      ? facts.thresholds.catchupLagMinutes * 60_000
      : CATCHUP_LAG_PERIODS * CRON_PERIOD_MS;
    if (!(lag > allowed)) continue;
    const minutes = Math.round(lag / 60_000);
    problems.push({
      code: "catchup_behind",
      ...behind(entry, object, minutes),
      affects: `catch-up ${entry.side}:${object}`,
      since: entry.reconciledThrough,
    });
  }
  return problems;
}

function behind(entry: CatchupEntry, object: string, minutes: number): { message: string; action: string } {
  switch (entry.side) {
    case "salesforce":
      return {
        message: `the salesforce catch-up of ${object} has read changes up to ${entry.reconciledThrough} only, ${minutes} minutes behind${entry.paused ? `; ${entry.paused}` : ""}`,
        action: entry.paused
          ? "it runs again once the daily Salesforce API usage leaves more than SALESFORCE_BUDGET_RESERVE (salesforce_api shows it); raise the org's allocation or lower the reserve"
          : "more records change per run than it reads (10,000 per run): it catches up run by run; check that reconciledThrough moves between two calls, and what writes so much",
      };
    case "attio":
      return {
        message: `the attio scan of ${object} last completed a pass that began at ${entry.reconciledThrough}, ${minutes} minutes ago: a lost webhook may wait that long`,
        action:
          "the object has more records than one run's scan reads (about 100,000 per run), or Attio answers slowly; it goes on run by run. Check that catch_up shows it moving, and Attio's status",
      };
  }
}

function workProblems(facts: HealthFacts): Problem[] {
  const problems: Problem[] = [];
  for (const job of facts.failedJobs) {
    if (facts.now.getTime() - Date.parse(job.updatedAt) > FAILED_JOB_WINDOW_MS) continue;
    problems.push({
      code: "job_failed",
      message: `sync job ${job.id} (${job.kind}) failed${job.error ? `: ${job.error}` : ""}`,
      affects: `job ${job.id}`,
      action: "GET /api/v1/sync/{id} shows its report; fix the cause and start it again",
      since: job.updatedAt,
    });
  }
  if (facts.recentFailures && facts.recentFailures.count >= Math.max(1, facts.thresholds?.failures ?? 1)) {
    problems.push({
      code: "failures_recent",
      message: `${facts.recentFailures.count} record(s) failed in the last hour`,
      affects: "records",
      action: "GET /api/v1/failures lists them with the error; fix the cause, then replay or dismiss them",
      ...(facts.recentFailures.latest ? { since: facts.recentFailures.latest } : {}),
    });
  }
  const holding = facts.mode != null && facts.mode.mode !== "running";
  for (const group of facts.parked ?? []) {
    if (holding && HELD.has(group.reason)) continue;
    problems.push({
      code: "changes_waiting",
      message: `${group.count} change(s) wait for ${WAITING_FOR[group.reason] ?? group.reason} (${group.reason}); last error: ${group.lastError}`,
      affects: `parked changes: ${group.reason}`,
      action:
        "nothing to replay: they are sent again on their own within a minute of both APIs answering; see the dependencies and salesforce_api",
      since: group.since,
    });
  }
  const api = facts.salesforceApi;
  if (api && budgetExhausted(api, api.reserve)) {
    problems.push({
      code: "api_budget_reserve",
      message: `Salesforce's daily API usage is ${api.used} of ${api.limit} (as of ${api.at}): inside the ${Math.round(api.reserve * 100)}% left to the org's other integrations, so catch-up and jobs pause; live changes still flow`,
      affects: "salesforce API budget",
      action:
        "it resumes as the 24-hour usage falls; raise the org's API allocation, lower SALESFORCE_BUDGET_RESERVE, or find what else spends it",
      since: api.at,
    });
  }
  for (const batch of facts.heldDeleteBatches ?? []) {
    problems.push({
      code: "mass_delete_held",
      message: `${batch.deletes} deletes of ${batch.object} in one run were held instead of propagated (batch ${batch.batchId})`,
      affects: `mapping of ${batch.object}`,
      action:
        "check why so many records disappeared (a sharing change, an import, a script); then POST /api/v1/deletes/batches/{batch_id} with approve or reject",
      since: batch.detectedAt,
    });
  }
  for (const hold of facts.heldUpdates ?? []) {
    problems.push({
      code: "mass_update_held",
      message: `the mass-update breaker holds ${hold.records} update(s) of mapping ${hold.mapping} to ${hold.side === "attio" ? "Attio" : "Salesforce"} (hold ${hold.id}): more records changed within the window than [breaker] allows`,
      affects: `mapping ${hold.mapping}`,
      action: `check what changed so many records (an import, a script, a bulk edit; GET /api/v1/holds/${hold.id}/records lists them); then POST /api/v1/holds/${hold.id} with approve (write them) or reject (write nothing)`,
      since: hold.detectedAt,
    });
  }
  if (facts.deadLetters) {
    problems.push({
      code: "dead_letters_stuck",
      message: `messages out of retries cannot be recorded as failures: ${facts.deadLetters.code}: ${facts.deadLetters.error}`,
      affects: "dead-letter queue",
      action: "they wait in the dead-letter queue and are recorded once D1 answers; check D1",
      since: facts.deadLetters.since,
    });
  }
  return problems;
}
