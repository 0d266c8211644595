import type { Dataset } from "./shared/dataset.ts";
import type { SyncWriteCounts } from "./shared/local.ts";

/**
 * The live view of `npm start`, as pure functions of a snapshot: what the Worker's
 * `GET /api/v1/status` and both emulators' `GET /__control/stats` answered at one moment.
 */

/** The object pairs the Worker syncs by default (src/mapping/defaults.ts), in display order. */
export const OBJECT_PAIRS = [
  { attio: "companies", salesforce: "Account" },
  { attio: "people", salesforce: "Contact" },
  { attio: "deals", salesforce: "Opportunity" },
] as const;

/** A problem as `GET /api/v1/status` reports it. */
export interface StatusProblem {
  code: string;
  message: string;
  affects: string;
  action: string;
}

export interface WorkerStatus {
  /** `setup`, `running` or `paused` (null: D1 does not answer). */
  mode?: string | null;
  version?: string;
  direction?: string;
  healthy?: boolean;
  problems?: StatusProblem[];
  mapped_records?: Record<string, number>;
  open_failures?: number | null;
  open_conflicts?: number | null;
  open_warnings?: number | null;
  ambiguous_matches?: number | null;
  pending_deletes?: number | null;
}

export interface EmulatorStats {
  requests: number;
  writes: number;
  injectedErrors: number;
  counts: Record<string, number>;
  syncWrites?: Record<string, SyncWriteCounts>;
  /** Outbound deliveries (webhooks, relay posts) per state. */
  deliveries?: Record<string, number>;
}

export interface AttioStatsJson extends EmulatorStats {
  rateLimited: number;
  webhookEvents: number;
}

export interface SalesforceStatsJson extends EmulatorStats {
  apiCalls: number;
  limitRefusals: number;
  changeEvents: number;
  api_usage: number;
}

export interface Snapshot {
  status: WorkerStatus | null;
  attio: AttioStatsJson | null;
  salesforce: SalesforceStatsJson | null;
  /** Why a source did not answer, if one did not. */
  errors: string[];
}

/** Linked pairs the initial sync must reach per pair key (`people:Contact`): one per dataset entity. */
export function initialSyncTargets(dataset: Dataset): Record<string, number> {
  return {
    "companies:Account": dataset.companies.length,
    "people:Contact": dataset.people.length,
    "deals:Opportunity": dataset.deals.length,
  };
}

export interface Progress {
  linked: number;
  total: number;
  /** Every pair reached its target and both sides hold exactly the linked records. */
  done: boolean;
}

export function progress(snapshot: Snapshot, targets: Record<string, number>): Progress {
  const mapped = snapshot.status?.mapped_records ?? {};
  let linked = 0;
  let total = 0;
  let done = snapshot.status !== null && snapshot.attio !== null && snapshot.salesforce !== null;
  for (const pair of OBJECT_PAIRS) {
    const key = `${pair.attio}:${pair.salesforce}`;
    const target = targets[key] ?? 0;
    const n = mapped[key] ?? 0;
    linked += Math.min(n, target);
    total += target;
    const attioCount = snapshot.attio?.counts[pair.attio] ?? -1;
    const salesforceCount = snapshot.salesforce?.counts[pair.salesforce] ?? -1;
    if (n < target || attioCount !== n || salesforceCount !== n) done = false;
  }
  return { linked, total, done };
}

/** How long nothing may change, with no delivery pending, before the initial sync counts as settled. */
export const QUIET_MS = 4000;

export type InitialSync =
  | { state: "running" }
  /** Every dataset record is linked exactly once on both sides. */
  | { state: "done"; ms: number; progress: Progress }
  /** Nothing moves any more, but not everything got linked: failures, unmatched duplicates, ... */
  | { state: "settled"; ms: number; progress: Progress };

/**
 * Follows the initial sync from snapshot to snapshot: done when every record is linked, settled
 * when nothing changed for QUIET_MS with no webhook or change event pending. Either is final.
 */
export class InitialSyncTracker {
  private result: InitialSync = { state: "running" };
  private fingerprint = "";
  private since: number;

  constructor(
    private targets: Record<string, number>,
    private startedAt: number,
  ) {
    this.since = startedAt;
  }

  get current(): InitialSync {
    return this.result;
  }

  observe(snapshot: Snapshot, now: number): InitialSync {
    if (this.result.state !== "running") return this.result;
    const p = progress(snapshot, this.targets);
    if (p.done) {
      this.result = { state: "done", ms: now - this.startedAt, progress: p };
      return this.result;
    }
    const fingerprint = JSON.stringify([
      snapshot.status?.mapped_records,
      snapshot.status?.open_failures,
      snapshot.attio?.syncWrites,
      snapshot.salesforce?.syncWrites,
      snapshot.attio?.counts,
      snapshot.salesforce?.counts,
    ]);
    const pending =
      (snapshot.attio?.deliveries?.["pending"] ?? 0) + (snapshot.salesforce?.deliveries?.["pending"] ?? 0);
    const complete = snapshot.errors.length === 0;
    if (fingerprint !== this.fingerprint || pending > 0 || !complete) {
      this.fingerprint = fingerprint;
      this.since = now;
    } else if (p.linked > 0 && now - this.since >= QUIET_MS) {
      this.result = { state: "settled", ms: this.since - this.startedAt, progress: p };
    }
    return this.result;
  }
}

/** The one-line verdict printed when the initial sync finished, with why records did not link. */
export function describeInitialSync(
  result: InitialSync,
  status: WorkerStatus | null,
  targets: Record<string, number> = {},
): string {
  if (result.state === "running") return "initial sync running";
  const { linked, total } = result.progress;
  const seconds = (result.ms / 1000).toFixed(1);
  if (result.state === "done") return `initial sync finished: all ${total} records linked in ${seconds} s`;
  return `initial sync finished: ${linked}/${total} records linked in ${seconds} s; not linked: ${notLinked(status, targets).join("; ")}`;
}

/**
 * Why records are not linked, from what the Worker reports: which pairs fall short, the problems
 * (a mapping switched off, a dependency down), and the open work items that keep a record unlinked.
 */
export function notLinked(status: WorkerStatus | null, targets: Record<string, number>): string[] {
  if (!status) return ["the Worker does not answer GET /api/v1/status"];
  const mapped = status.mapped_records ?? {};
  const short = OBJECT_PAIRS.flatMap((pair) => {
    const key = `${pair.attio}:${pair.salesforce}`;
    const target = targets[key] ?? 0;
    const n = mapped[key] ?? 0;
    return n < target ? [`${pair.attio}<->${pair.salesforce} ${n}/${target}`] : [];
  });
  const reasons = [
    ...(status.problems ?? []).map((p) => `${p.code}: ${p.message}`),
    ...count(status.open_failures, "record(s) failed (GET /api/v1/failures)"),
    ...count(status.ambiguous_matches, "ambiguous match(es) wait for a choice (GET /api/v1/matches)"),
    ...count(status.pending_deletes, "delete(s) held for approval (GET /api/v1/deletes)"),
  ];
  if (reasons.length === 0)
    reasons.push("no failure or problem reported yet: records may still be waiting in the queue");
  return [...short, ...reasons];
}

function count(n: number | null | undefined, what: string): string[] {
  return typeof n === "number" && n > 0 ? [`${n} ${what}`] : [];
}

/** The problems /api/v1/status reports, one line each, for the top of the view. */
export function problemLines(status: WorkerStatus | null): string[] {
  if (!status) return ["Problems: the Worker does not answer GET /api/v1/status"];
  const problems = status.problems ?? [];
  if (problems.length === 0) return ["Problems: none (GET /api/v1/status: healthy)"];
  return [
    `Problems (${problems.length}, GET /api/v1/status):`,
    ...problems.map((p) => `  ! ${p.code} [${p.affects}] ${p.message} -> ${p.action}`),
  ];
}

export function bar(fraction: number, width = 30): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

function writes(stats: EmulatorStats | null, object: string): SyncWriteCounts {
  return stats?.syncWrites?.[object] ?? { created: 0, updated: 0, deleted: 0 };
}

function cud(counts: SyncWriteCounts): string {
  return `${String(counts.created).padStart(4)} ${String(counts.updated).padStart(4)} ${String(counts.deleted).padStart(4)}`;
}

function conflicts(status: WorkerStatus | null): string {
  const n = status?.open_conflicts;
  return typeof n === "number" ? String(n) : "not reported by /api/v1/status";
}

export interface ScreenInfo {
  workerUrl: string;
  attioUrl: string;
  salesforceUrl: string;
  stateDir: string;
  initialSync: InitialSync;
  elapsedMs: number;
  /** Custom fields the sandbox added through the CRMs' APIs (`side: object.field`). */
  customFields?: readonly string[];
}

/** What the two emulators hold: a new workspace's and a new org's standard objects, plus any custom fields. */
export function schemaLine(customFields: readonly string[] = []): string {
  const standard = "companies/Account, people/Contact, deals/Opportunity, workspace members/User";
  const custom = customFields.length > 0 ? customFields.join(", ") : "none";
  return `Objects: ${standard} (standard); custom fields added through the APIs: ${custom}`;
}

/** The full screen for a terminal, redrawn in place. */
export function renderScreen(snapshot: Snapshot, targets: Record<string, number>, info: ScreenInfo): string[] {
  const p = progress(snapshot, targets);
  const mapped = snapshot.status?.mapped_records ?? {};
  const lines = [
    "attio-sfdc sandbox: Attio emulator <-> Worker <-> Salesforce emulator, all on this machine",
    `  Worker      ${info.workerUrl}  (GET /api/v1/status, bearer sandbox-admin-token-0123456789abcdef)  mode: ${snapshot.status?.mode ?? "?"}`,
    `  Console     ${info.workerUrl}/console  (sign in with the token sandbox-admin-token-0123456789abcdef)`,
    `  Attio       ${info.attioUrl}/v2  (control: /__control/state)`,
    `  Salesforce  ${info.salesforceUrl}  (control: /__control/state)`,
    schemaLine(info.customFields),
    "",
    ...problemLines(snapshot.status),
    "",
    info.initialSync.state === "running"
      ? `Initial sync ${bar(p.total ? p.linked / p.total : 0)} ${p.linked}/${p.total} linked  (${seconds(info.elapsedMs)})`
      : describeInitialSync(info.initialSync, snapshot.status, targets),
    "",
    "                         linked   Attio -> Salesforce   Salesforce -> Attio   records",
    "                                   new  upd  del          new  upd  del       Attio / SF",
  ];
  for (const pair of OBJECT_PAIRS) {
    const key = `${pair.attio}:${pair.salesforce}`;
    const label = `${pair.attio} <-> ${pair.salesforce}`.padEnd(24);
    lines.push(
      `${label}${String(mapped[key] ?? 0).padStart(6)}   ${cud(writes(snapshot.salesforce, pair.salesforce))}        ${cud(
        writes(snapshot.attio, pair.attio),
      )}       ${snapshot.attio?.counts[pair.attio] ?? "?"} / ${snapshot.salesforce?.counts[pair.salesforce] ?? "?"}`,
    );
  }
  lines.push(
    "",
    `Conflicts (open): ${conflicts(snapshot.status)}    Failures (open): ${snapshot.status?.open_failures ?? "?"}    Warnings (values not written): ${snapshot.status?.open_warnings ?? "?"}`,
    attioLine(snapshot.attio),
    salesforceLine(snapshot.salesforce),
    "",
    "Edit a record and watch it arrive on the other side, e.g.:",
    "  npm run sandbox -- edit salesforce Contact <Id> Title=CTO",
    "  npm run sandbox -- edit attio people <record_id> job_title=CTO",
    `Worker state: ${info.stateDir}.  Ctrl-C stops everything.`,
  );
  for (const error of snapshot.errors) lines.push(`! ${error}`);
  return lines;
}

/** One line for logs and pipes (no terminal): the same numbers, compact. */
export function renderLine(snapshot: Snapshot, targets: Record<string, number>, initialSync: InitialSync): string {
  const p = progress(snapshot, targets);
  const mapped = snapshot.status?.mapped_records ?? {};
  const pairs = OBJECT_PAIRS.map((pair) => {
    const toSf = writes(snapshot.salesforce, pair.salesforce);
    const toAttio = writes(snapshot.attio, pair.attio);
    return `${pair.attio}<->${pair.salesforce} ${mapped[`${pair.attio}:${pair.salesforce}`] ?? 0} linked (to SF +${toSf.created}/~${toSf.updated}/-${toSf.deleted}, to Attio +${toAttio.created}/~${toAttio.updated}/-${toAttio.deleted})`;
  });
  const head = initialSync.state === "running" ? `initial sync ${p.linked}/${p.total}` : "live";
  const problems = snapshot.status?.problems ?? [];
  const health = problems.length > 0 ? ` | PROBLEMS: ${problems.map((pr) => pr.code).join(", ")}` : "";
  const tail = `conflicts ${conflicts(snapshot.status)}; failures ${snapshot.status?.open_failures ?? "?"}; warnings ${snapshot.status?.open_warnings ?? "?"}${health}`;
  const errors = snapshot.errors.length > 0 ? `; ${snapshot.errors.join("; ")}` : "";
  return `${head} | mode ${snapshot.status?.mode ?? "?"} | ${pairs.join("; ")} | ${tail}${errors}`;
}

function attioLine(stats: AttioStatsJson | null): string {
  if (!stats) return "Attio API: no answer";
  const deliveries = stats.deliveries ?? {};
  return `Attio API: ${stats.requests} requests, ${stats.rateLimited} rate-limited, ${stats.injectedErrors} injected errors; webhooks: ${stats.webhookEvents} events, ${deliveries["delivered"] ?? 0} deliveries done, ${deliveries["pending"] ?? 0} pending, ${deliveries["failed"] ?? 0} failed`;
}

function salesforceLine(stats: SalesforceStatsJson | null): string {
  if (!stats) return "Salesforce API: no answer";
  const deliveries = stats.deliveries ?? {};
  return `Salesforce API: ${stats.apiCalls} calls (daily usage ${stats.api_usage}), ${stats.limitRefusals} limit refusals, ${stats.injectedErrors} injected errors; change events: ${stats.changeEvents}, ${deliveries["delivered"] ?? 0} relay posts done, ${deliveries["pending"] ?? 0} pending, ${deliveries["failed"] ?? 0} failed`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
