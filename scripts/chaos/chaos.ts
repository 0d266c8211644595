import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FaultCounts } from "../sandbox/shared/faults.ts";
import { getJson } from "../sandbox/shared/local.ts";
import { type Stack, startStack } from "../sandbox/stack.ts";
import { type D1Window, openD1FailureWindow } from "./d1-window.ts";
import {
  companyIdentity,
  domainOf,
  type Edit,
  type Entity,
  type Evaluation,
  evaluate,
  FIELDS,
  type Field,
  type Kind,
  personIdentity,
  prng,
  type Seen,
  type Side,
} from "./model.ts";

/**
 * The chaos run (docs/RELIABILITY.md): the Worker under wrangler dev against both emulators, with
 * every fault at once while people edit, create and delete records on both sides; then the faults
 * stop, the cron catches up, and the final state is compared with what the people did.
 */
export interface ChaosOptions {
  seed: number;
  /** Records created (half on each side) and synced before the faults start. */
  pairs: number;
  /** Human edits, creates and deletes made while the faults are on. */
  edits: number;
  /** How long the edits are spread over (the fault windows are placed within it). */
  durationMs: number;
  /** Each API's outage (longer than the retry budget, which `maxRetries` compresses). */
  outageMs: number;
  /** Salesforce's daily-limit window. */
  limitWindowMs: number;
  /** The D1 failure window. */
  d1WindowMs: number;
  /** Fraction of the engine's writes whose answer is lost (besides a burst of 2 per side early on). */
  lostAnswerRate: number;
  /** `max_retries` of the sync queues: 2 gives a retry budget of about 15 s (5 s + 10 s). */
  maxRetries: number;
  /** Longest wait for convergence once the faults stop (cron runs included). */
  settleTimeoutMs: number;
  /**
   * Keep the Worker's local state (D1, KV, queues) here after the run, with both emulators'
   * delivery logs (`deliveries-attio.json`, `deliveries-salesforce.json`), to find out why an
   * invariant broke. Without it: a temporary directory, removed.
   */
  stateDir?: string | undefined;
  /** The Worker's own log level (its JSON logs go to this process's output); silent by default. */
  workerLogLevel?: "debug" | "info" | "warn" | "error" | undefined;
  log?: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<ChaosOptions, "seed"> = {
  pairs: 100,
  edits: 1000,
  durationMs: 120_000,
  outageMs: 25_000,
  limitWindowMs: 20_000,
  d1WindowMs: 8_000,
  lostAnswerRate: 0.05,
  maxRetries: 2,
  settleTimeoutMs: 150_000,
};

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosReport {
  seed: number;
  pairs: number;
  entities: number;
  edits: { total: number; updates: number; creates: number; deletes: number; refused: number; noKey: number };
  faults: { attio: FaultCounts; salesforce: FaultCounts; d1Refusals: number; d1WindowMs: number; restarts: number };
  /** Seconds from the end of the faults to a converged, quiet state; null if it never came. */
  convergeSeconds: number | null;
  catchupRuns: number;
  evaluation: Evaluation;
  /** `duringChaos`: before the faults stopped; the rest is the catch-up's. */
  engineWrites: { attio: number; salesforce: number; perEdit: number; duringChaos: number };
  failures: { open: number; byReason: Record<string, number>; warnings: number };
  status: { healthy: boolean; problems: unknown };
  invariants: Invariant[];
}

const CRON = "*/5 * * * *";
/** The Worker's request timeouts in the chaos stack (UPSTREAM_TIMEOUT_SECONDS, SALESFORCE_TIMEOUT_SECONDS). */
const UPSTREAM_TIMEOUT_SECONDS = 10;
const FAULT_KINDS = ["error", "rateLimit", "outage", "lostAnswer", "drop", "duplicate", "reorder"] as const;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const random = prng(options.seed);
  const stack = await startStack({
    seed: options.seed,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(options.workerLogLevel ? { logLevel: options.workerLogLevel } : {}),
    retryBaseMs: 200,
    maxRetries: options.maxRetries,
    // A lost answer (even a reset connection) reached the sandbox Worker only as its timeout, 120 s
    // for Salesforce by default, and the live queue waited behind it. The product's own knobs bring
    // it to 10 s, as max_retries compresses the retry budget.
    vars: {
      UPSTREAM_TIMEOUT_SECONDS: String(UPSTREAM_TIMEOUT_SECONDS),
      SALESFORCE_TIMEOUT_SECONDS: String(UPSTREAM_TIMEOUT_SECONDS),
    },
  });
  let d1: D1Window | undefined;
  try {
    return await run(stack, options, random, log, (window) => {
      d1 = window;
    });
  } finally {
    d1?.close();
    if (options.stateDir) await keepDeliveries(stack, options.stateDir);
    await stack.stop();
  }
}

/**
 * The edit values (each edit's value is unique in a run) whose Salesforce change event was dropped
 * on every delivery: the Worker never saw it (model.ts `eventNeverDelivered`).
 */
async function undeliveredValues(stack: Stack): Promise<Set<string>> {
  const { deliveries } = await getJson<{ deliveries: { state: string; body: string }[] }>(
    `${stack.salesforce.url}/__control/deliveries?all=1`,
  );
  const values = (body: string) => body.match(/\b[a-z]s\d+\b/g) ?? [];
  const delivered = new Set(deliveries.filter((d) => d.state !== "dropped").flatMap((d) => values(d.body)));
  return new Set(
    deliveries.filter((d) => d.state === "dropped").flatMap((d) => values(d.body).filter((v) => !delivered.has(v))),
  );
}

/** Both emulators' webhook and change-event deliveries, beside the kept state. */
async function keepDeliveries(stack: Stack, dir: string): Promise<void> {
  for (const [side, url] of [
    ["attio", stack.attio.url],
    ["salesforce", stack.salesforce.url],
  ] as const) {
    const answer = await fetch(`${url}/__control/deliveries?all=1`).catch(() => undefined);
    if (answer?.ok) await writeFile(join(dir, `deliveries-${side}.json`), await answer.text());
  }
}

async function run(
  stack: Stack,
  options: ChaosOptions,
  random: () => number,
  log: (line: string) => void,
  holdD1: (window: D1Window) => void,
): Promise<ChaosReport> {
  const world = new World(stack, random);
  await configureWorker(stack);

  // 1. The pairs: records created on both sides (some with no match key) and synced, no faults yet.
  for (let i = 0; i < options.pairs; i++) await world.create(i % 2 === 0 ? "attio" : "salesforce", i % 5 !== 4);
  log(`seed ${options.seed}: ${options.pairs} records created, waiting for their counterparts`);
  const linked = await until(120_000, async () => {
    await world.refresh();
    return world.entities.every((e) => e.ids.attio && e.ids.salesforce) ? true : undefined;
  });
  if (!linked) throw new Error(`setup: not every record got its counterpart within 120 s (no faults yet)`);
  await idle(stack);
  await sleep(2000);
  // The creates of the setup stay in the record (their values are the fields' first values), but
  // only what follows counts as the run's edits.
  const setupEdits = world.edits.length;
  const before = await stats(stack);

  // 2. The chaos: edits spread over the duration, faults on, windows placed along the way.
  const faults = new FaultPlan(stack, options.seed, options.lostAnswerRate);
  await faults.apply("attio");
  await faults.apply("salesforce");
  const d = options.durationMs;
  let d1Window: D1Window | undefined;
  let d1Refusals = 0;
  let restarting: Promise<void> | undefined;
  let restarts = 0;
  const cron = (): Promise<void> => triggerCron(stack).then(() => undefined);
  // Offsets in ms from the start of the edits. Salesforce's daily-limit window opens after its
  // outage has ended (an outage answers 503 first, so overlapping windows would hide the limit).
  const sfOutageAt = 0.3 * d;
  const limitAt = Math.max(0.5 * d, sfOutageAt + options.outageMs + 2000);
  const events: Array<{ at: number; name: string; run: () => Promise<void> }> = [
    // At 5% a short run can draw no lost answer at all: the next two writes of each side lose theirs.
    {
      at: 0.02 * d,
      name: "lost answers: the next 2 writes of each side",
      run: async () => {
        await faults.loseAnswers("attio", 2);
        await faults.loseAnswers("salesforce", 2);
      },
    },
    { at: 0.1 * d, name: "Attio 429 burst", run: () => faults.burst("attio", 25) },
    { at: 0.12 * d, name: "Salesforce REQUEST_LIMIT_EXCEEDED burst", run: () => faults.burst("salesforce", 15) },
    { at: 0.15 * d, name: "Attio outage", run: () => faults.window("attio", "outageMs", options.outageMs) },
    { at: sfOutageAt, name: "Salesforce outage", run: () => faults.window("salesforce", "outageMs", options.outageMs) },
    { at: 0.4 * d, name: "cron run", run: cron },
    {
      at: 0.45 * d,
      name: "D1 failure window",
      run: async () => {
        d1Window = await openD1FailureWindow(stack.stateDir);
        holdD1(d1Window);
        // What an operator would see: /status reports D1 failing (or cannot answer at all).
        const probe = await fetch(`${stack.workerUrl}/api/v1/status`, {
          headers: { authorization: `Bearer ${stack.adminToken}` },
          signal: AbortSignal.timeout(20_000),
        }).catch(() => undefined);
        const body = probe?.ok ? ((await probe.json()) as { bindings?: { d1?: { ok?: boolean } } }) : undefined;
        if (!probe?.ok || body?.bindings?.d1?.ok === false) d1Refusals++;
        setTimeout(() => d1Window?.close(), options.d1WindowMs);
      },
    },
    { at: 0.55 * d, name: "Attio 429 burst", run: () => faults.burst("attio", 25) },
    {
      at: limitAt,
      name: "Salesforce daily limit window",
      run: () => faults.window("salesforce", "limitExhaustedMs", options.limitWindowMs),
    },
    // The cron keeps its schedule whatever the APIs say: one run falls inside the daily-limit window.
    { at: limitAt + 0.4 * options.limitWindowMs, name: "cron run (daily limit used up)", run: cron },
    {
      at: 0.75 * d,
      name: "Worker restart in the middle of a burst",
      run: async () => {
        // A burst of edits with no pause, then the restart while the consumer works through it.
        for (let k = 0; k < 20; k++) await world.step();
        restarting = stack.restartWorker().then(() => {
          restarts++;
        });
      },
    },
    { at: 0.85 * d, name: "Attio 429 burst", run: () => faults.burst("attio", 25) },
    { at: 0.9 * d, name: "Salesforce REQUEST_LIMIT_EXCEEDED burst", run: () => faults.burst("salesforce", 15) },
  ].sort((a, b) => a.at - b.at);
  const started = Date.now();
  let next = 0;
  // Edits the emulators refused (a record the Worker already deleted) are not edits: the loop goes
  // on until the count is reached (at most twice as many attempts).
  const madeSoFar = () => new Set(world.edits.slice(setupEdits).map((e) => e.seq)).size;
  for (let i = 0; madeSoFar() < options.edits && i < 2 * options.edits; i++) {
    const due = started + (i * d) / options.edits;
    if (Date.now() < due) await sleep(due - Date.now());
    const elapsed = Date.now() - started;
    for (let event = events[next]; event && event.at <= elapsed; event = events[++next]) {
      log(`  ${((Date.now() - started) / 1000).toFixed(1)} s: ${event.name}`);
      await event.run();
    }
    await world.step();
    if (i % 50 === 49) await world.refresh();
    if (i % 100 === 99) {
      const now = await stats(stack);
      log(
        `  ${i + 1} edits, ${((Date.now() - started) / 1000).toFixed(1)} s; engine writes so far: ${writesOf(now.attio) - writesOf(before.attio)} Attio, ${writesOf(now.salesforce) - writesOf(before.salesforce)} Salesforce`,
      );
    }
  }
  for (let event = events[next]; event; event = events[++next]) {
    await sleep(Math.max(0, started + event.at - Date.now()));
    log(`  ${((Date.now() - started) / 1000).toFixed(1)} s: ${event.name}`);
    await event.run();
  }
  await restarting;
  // The windows end when they end; nothing is cut short. Then every fault stops.
  await sleep(Math.max(0, faults.windowsEnd() - Date.now()));
  (d1Window as D1Window | undefined)?.close();
  await faults.off();
  const faultsEnded = Date.now();
  const duringChaos = totalWrites(await stats(stack)) - totalWrites(before);
  const made = world.edits.slice(setupEdits);
  /** One human action per sequence number (a create records one row per field it set). */
  const actions = (op?: Edit["op"]) => new Set(made.filter((e) => !op || e.op === op).map((e) => e.seq)).size;
  log(
    `seed ${options.seed}: ${actions()} edits in ${((faultsEnded - started) / 1000).toFixed(1)} s; faults off, catching up`,
  );

  // 3. Catch-up: cron runs until both sides agree with the edits and stay quiet.
  let catchupRuns = 0;
  let convergeSeconds: number | null = null;
  let evaluation = await world.evaluate();
  const deadline = faultsEnded + options.settleTimeoutMs;
  while (Date.now() < deadline) {
    await idle(stack);
    await triggerCron(stack);
    catchupRuns++;
    await sleep(4000);
    await idle(stack);
    evaluation = await world.evaluate();
    if (!converged(evaluation)) continue;
    // Quiet: no engine write for a few seconds, and still clean.
    const writes = totalWrites(await stats(stack));
    await sleep(4000);
    await idle(stack);
    evaluation = await world.evaluate();
    if (converged(evaluation) && totalWrites(await stats(stack)) === writes) {
      convergeSeconds = (Date.now() - faultsEnded) / 1000;
      break;
    }
  }
  log(`seed ${options.seed}: ${convergeSeconds === null ? "did not converge" : `converged in ${convergeSeconds} s`}`);

  // 4. The figures.
  const after = await stats(stack);
  const attioWrites = writesOf(after.attio) - writesOf(before.attio);
  const salesforceWrites = writesOf(after.salesforce) - writesOf(before.salesforce);
  const edits = actions();
  // A Worker that no longer answers is itself a finding: reported, not a crash of the suite.
  const failures = await failureSummary(stack).catch((err: unknown) => ({
    open: 0,
    byReason: { [`the Worker did not answer /api/v1/failures: ${String(err)}`]: 1 },
    warnings: 0,
  }));
  const status = await getJson<{ healthy: boolean; problems: unknown }>(
    `${stack.workerUrl}/api/v1/status`,
    stack.adminToken,
    15_000,
  ).catch((err: unknown) => ({ healthy: false, problems: String(err) }));
  const report: ChaosReport = {
    seed: options.seed,
    pairs: options.pairs,
    entities: world.entities.length,
    edits: {
      total: edits,
      updates: actions("update"),
      creates: actions("create"),
      deletes: actions("delete"),
      refused: world.refused,
      noKey: world.entities.filter((e) => !e.keyed).length,
    },
    faults: {
      attio: after.attio.faults,
      salesforce: after.salesforce.faults,
      d1Refusals,
      d1WindowMs: options.d1WindowMs,
      restarts,
    },
    convergeSeconds,
    catchupRuns,
    evaluation,
    engineWrites: {
      attio: attioWrites,
      salesforce: salesforceWrites,
      perEdit: edits === 0 ? 0 : (attioWrites + salesforceWrites) / edits,
      duringChaos,
    },
    failures,
    status: { healthy: status.healthy, problems: status.problems },
    invariants: [],
  };
  report.invariants = invariants(report, options);
  return report;
}

/** The invariants of the issue; a run passes when every one holds. */
export function invariants(report: ChaosReport, options: Pick<ChaosOptions, "edits" | "pairs">): Invariant[] {
  const out: Invariant[] = [];
  const check = (name: string, ok: boolean, detail: string) => out.push({ name, ok, detail });
  check("edits made", report.edits.total >= options.edits, `${report.edits.total} of ${options.edits}`);
  for (const side of ["attio", "salesforce"] as const) {
    const counts = report.faults[side];
    for (const kind of FAULT_KINDS) {
      const fired = kind === "lostAnswer" ? lostAnswers(counts) : counts[kind];
      check(`${side} fault fired: ${kind}`, fired > 0, String(fired));
    }
  }
  check(
    "salesforce fault fired: limitExhausted",
    report.faults.salesforce.limitExhausted > 0,
    String(report.faults.salesforce.limitExhausted),
  );
  check(
    "D1 failure window refused the Worker",
    report.faults.d1Refusals > 0,
    `${report.faults.d1Refusals} refusals seen`,
  );
  check("Worker restarted mid-burst", report.faults.restarts > 0, String(report.faults.restarts));
  check(
    "converged",
    report.convergeSeconds !== null,
    report.convergeSeconds === null ? "not within the settle time" : `${report.convergeSeconds} s`,
  );
  const e = report.evaluation;
  check("fields that differ = 0", e.fieldsDiffer.length === 0, examples(e.fieldsDiffer));
  check(
    "duplicates in Attio = 0",
    e.duplicates.attio === 0,
    examples(e.duplicateExamples.filter((x) => x.startsWith("attio"))),
  );
  check(
    "duplicates in Salesforce = 0",
    e.duplicates.salesforce === 0,
    examples(e.duplicateExamples.filter((x) => x.startsWith("salesforce"))),
  );
  check("records missing = 0", e.missing.length === 0, examples(e.missing));
  check("deletes not carried out = 0", e.undeleted.length === 0, examples(e.undeleted));
  check("records of no entity = 0", e.strangers.length === 0, examples(e.strangers));
  check("updates lost = 0", e.lostUpdates.length === 0, examples(e.lostUpdates));
  check(
    "engine writes per edit <= 1.1",
    report.engineWrites.perEdit <= 1.1,
    `${report.engineWrites.perEdit.toFixed(3)} (${report.engineWrites.attio} Attio + ${report.engineWrites.salesforce} Salesforce)`,
  );
  return out;
}

function examples(items: readonly string[]): string {
  return items.length === 0 ? "0" : `${items.length}, e.g. ${items.slice(0, 3).join("; ")}`;
}

/**
 * Converged: both sides hold one record per live entity, none of the deleted ones, and the same
 * values. Whether those values are the last edits is the separate "updates lost" invariant: a lost
 * update is a state both sides agree on, and it never resolves by waiting.
 */
function converged(e: Evaluation): boolean {
  return (
    e.missing.length === 0 &&
    e.duplicates.attio === 0 &&
    e.duplicates.salesforce === 0 &&
    e.undeleted.length === 0 &&
    e.fieldsDiffer.length === 0
  );
}

/** One run of the Cron Trigger (wrangler dev's `/__scheduled`, as `--test-scheduled` serves it). */
async function triggerCron(stack: Stack): Promise<boolean> {
  const response = await fetch(`${stack.workerUrl}/__scheduled?cron=${encodeURIComponent(CRON)}`, {
    signal: AbortSignal.timeout(60_000),
  }).catch(() => undefined);
  return response?.ok ?? false;
}

export function lostAnswers(counts: FaultCounts): number {
  return counts.lostAnswer.error + counts.lostAnswer.reset + counts.lostAnswer.timeout;
}

// ---------------------------------------------------------------------------------------------
// The people editing: entities on both sides, and every edit recorded.
// ---------------------------------------------------------------------------------------------

class World {
  readonly entities: Entity[] = [];
  readonly edits: Edit[] = [];
  refused = 0;
  private seq = 0;
  private serial = 0;

  constructor(
    private stack: Stack,
    private random: () => number,
  ) {}

  /** One human action: mostly an update, sometimes a create or a delete, on either side. */
  async step(): Promise<void> {
    const random = this.random;
    const roll = random();
    const side: Side = random() < 0.5 ? "attio" : "salesforce";
    if (roll < 0.08) return this.create(side, random() < 0.75);
    const live = this.entities.filter((e) => !e.deleted && e.ids[side]);
    if (live.length === 0) return this.create(side, true);
    const entity = live[Math.floor(random() * live.length)] as Entity;
    if (roll < 0.15) return this.remove(entity, side);
    const fields = FIELDS[entity.kind].filter((f) => f !== "name" || entity.keyed);
    const field = fields[Math.floor(random() * fields.length)] as Field;
    return this.update(entity, side, field);
  }

  async create(side: Side, keyed: boolean): Promise<void> {
    const n = ++this.serial;
    const kind: Kind = this.random() < 0.6 ? "person" : "company";
    const seq = ++this.seq;
    const tag = `${side === "attio" ? "a" : "s"}${seq}`;
    const entity: Entity =
      kind === "person"
        ? {
            identity: "",
            kind,
            keyed,
            origin: side,
            fixedName: `Chaos${n}`,
            ...(keyed ? { email: `chaos.${n}@people${n % 7}.example` } : {}),
            ids: {},
            deleted: false,
          }
        : {
            identity: "",
            kind,
            keyed,
            origin: side,
            fixedName: `Chaos Works ${n}`,
            ...(keyed ? { domain: `chaos-${n}.example` } : {}),
            ids: {},
            deleted: false,
          };
    entity.identity =
      kind === "person"
        ? personIdentity(entity.email ?? null, entity.fixedName)
        : companyIdentity(entity.domain ?? null, entity.fixedName);
    const values: Partial<Record<Field, string>> =
      kind === "person"
        ? { first: `f${tag}`, title: `t${tag}` }
        : { description: `d${tag}`, ...(keyed ? { name: `Chaos Co ${tag}` } : {}) };
    try {
      if (side === "attio") {
        const body = await control<{ data: { id: { record_id: string } } }>(this.stack.attio.url, "edit", {
          object: kind === "person" ? "people" : "companies",
          values: attioValues(entity, values, true),
        });
        entity.ids.attio = body.data.id.record_id;
      } else {
        const body = await control<{ record: { Id: string } }>(this.stack.salesforce.url, "edit", {
          object: kind === "person" ? "Contact" : "Account",
          fields: salesforceFields(entity, values),
        });
        entity.ids.salesforce = body.record.Id;
      }
    } catch {
      this.refused++;
      return;
    }
    this.entities.push(entity);
    const at = Date.now();
    this.edits.push({ seq, at, side, identity: entity.identity, op: "create" });
    for (const [field, value] of Object.entries(values) as Array<[Field, string]>) {
      this.edits.push({ seq, at, side, identity: entity.identity, op: "create", field, value });
    }
  }

  private async update(entity: Entity, side: Side, field: Field): Promise<void> {
    const seq = ++this.seq;
    const tag = `${side === "attio" ? "a" : "s"}${seq}`;
    const value = field === "name" ? `Chaos Co ${tag}` : `${field[0]}${tag}`;
    try {
      if (side === "attio") {
        await control(this.stack.attio.url, "edit", {
          object: entity.kind === "person" ? "people" : "companies",
          record_id: entity.ids.attio,
          values: attioValues(entity, { [field]: value }, false),
        });
      } else {
        await control(this.stack.salesforce.url, "edit", {
          object: entity.kind === "person" ? "Contact" : "Account",
          id: entity.ids.salesforce,
          fields: salesforceFields(entity, { [field]: value }, false),
        });
      }
    } catch {
      // The record is gone on that side (e.g. a delete the Worker carried out): not an edit.
      this.refused++;
      return;
    }
    this.edits.push({ seq, at: Date.now(), side, identity: entity.identity, op: "update", field, value });
  }

  private async remove(entity: Entity, side: Side): Promise<void> {
    const seq = ++this.seq;
    try {
      if (side === "attio") {
        await control(this.stack.attio.url, "delete", {
          object: entity.kind === "person" ? "people" : "companies",
          record_id: entity.ids.attio,
        });
      } else {
        await control(this.stack.salesforce.url, "delete", { id: entity.ids.salesforce });
      }
    } catch {
      this.refused++;
      return;
    }
    entity.deleted = true;
    this.edits.push({ seq, at: Date.now(), side, identity: entity.identity, op: "delete" });
  }

  /** Learns the counterparts' ids (one record per identity on a side), so both sides get edited. */
  async refresh(): Promise<void> {
    const seen = await readBothSides(this.stack);
    const byKey = new Map<string, Seen[]>();
    for (const record of seen) {
      const key = `${record.side}|${record.identity}`;
      byKey.set(key, [...(byKey.get(key) ?? []), record]);
    }
    for (const entity of this.entities) {
      for (const side of ["attio", "salesforce"] as const) {
        if (entity.ids[side]) continue;
        const found = byKey.get(`${side}|${entity.identity}`);
        if (found?.length === 1 && found[0]) entity.ids[side] = found[0].id;
      }
    }
  }

  async evaluate(): Promise<Evaluation> {
    return evaluate(this.entities, this.edits, await readBothSides(this.stack), await undeliveredValues(this.stack));
  }
}

function attioValues(entity: Entity, values: Partial<Record<Field, string>>, create: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (entity.kind === "person") {
    if (values.first !== undefined) {
      out["name"] = {
        first_name: values.first,
        last_name: entity.fixedName,
        full_name: `${values.first} ${entity.fixedName}`,
      };
    }
    if (values.title !== undefined) out["job_title"] = values.title;
    if (create && entity.email) out["email_addresses"] = [entity.email];
  } else {
    if (values.name !== undefined) out["name"] = values.name;
    if (values.description !== undefined) out["description"] = values.description;
    if (create) {
      if (!entity.keyed) out["name"] = entity.fixedName;
      if (entity.domain) out["domains"] = [entity.domain];
    }
  }
  return out;
}

function salesforceFields(
  entity: Entity,
  values: Partial<Record<Field, string>>,
  create = true,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (entity.kind === "person") {
    if (values.first !== undefined) out["FirstName"] = values.first;
    if (values.title !== undefined) out["Title"] = values.title;
    if (create) {
      out["LastName"] = entity.fixedName;
      if (entity.email) out["Email"] = entity.email;
    }
  } else {
    if (values.name !== undefined) out["Name"] = values.name;
    if (values.description !== undefined) out["Description"] = values.description;
    if (create) {
      if (!entity.keyed) out["Name"] = entity.fixedName;
      if (entity.domain) out["Website"] = `https://${entity.domain}`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading both sides, faults, the Worker's own account.
// ---------------------------------------------------------------------------------------------

type AttioJson = { id: { record_id: string }; values: Record<string, Array<Record<string, unknown>>> };
type SfJson = Record<string, unknown> & { Id: string };

async function readBothSides(stack: Stack): Promise<Seen[]> {
  const [attio, salesforce] = await Promise.all([
    getJson<{ records: Record<string, AttioJson[]> }>(`${stack.attio.url}/__control/state`, undefined, 30_000),
    getJson<{ records: Record<string, SfJson[]> }>(`${stack.salesforce.url}/__control/state`, undefined, 30_000),
  ]);
  const first = (record: AttioJson, slug: string, key: string) => {
    const value = record.values[slug]?.[0]?.[key];
    return typeof value === "string" ? value : null;
  };
  const seen: Seen[] = [];
  for (const p of attio.records["people"] ?? []) {
    seen.push({
      side: "attio",
      id: p.id.record_id,
      kind: "person",
      identity: personIdentity(first(p, "email_addresses", "email_address"), first(p, "name", "last_name")),
      values: { first: first(p, "name", "first_name"), title: first(p, "job_title", "value") },
    });
  }
  for (const c of attio.records["companies"] ?? []) {
    seen.push({
      side: "attio",
      id: c.id.record_id,
      kind: "company",
      identity: companyIdentity(first(c, "domains", "domain"), first(c, "name", "value")),
      values: { name: first(c, "name", "value"), description: first(c, "description", "value") },
    });
  }
  const text = (record: SfJson, field: string) => {
    const value = record[field];
    return typeof value === "string" ? value : null;
  };
  for (const c of salesforce.records["Contact"] ?? []) {
    if (c["IsDeleted"] === true) continue;
    seen.push({
      side: "salesforce",
      id: c.Id,
      kind: "person",
      identity: personIdentity(text(c, "Email"), text(c, "LastName")),
      values: { first: text(c, "FirstName"), title: text(c, "Title") },
    });
  }
  for (const a of salesforce.records["Account"] ?? []) {
    if (a["IsDeleted"] === true) continue;
    seen.push({
      side: "salesforce",
      id: a.Id,
      kind: "company",
      identity: companyIdentity(domainOf(text(a, "Website")), text(a, "Name")),
      values: { name: text(a, "Name"), description: text(a, "Description") },
    });
  }
  return seen;
}

type BaseFaults = Record<string, number | string>;

/**
 * The fault knobs of both emulators. A `PUT /__control/faults` replaces the whole set, so every
 * change re-sends the base rates with the windows still open (their remaining time) and the burst.
 */
class FaultPlan {
  private ends: Record<Side, { outageMs: number; limitExhaustedMs: number }> = {
    attio: { outageMs: 0, limitExhaustedMs: 0 },
    salesforce: { outageMs: 0, limitExhaustedMs: 0 },
  };
  private puts = 0;

  constructor(
    private stack: Stack,
    private seed: number,
    private lostAnswerRate: number,
  ) {}

  private base(side: Side): BaseFaults {
    return {
      errorRate: 0.05,
      errorStatus: side === "attio" ? 500 : 503,
      dropRate: 0.1,
      duplicateRate: 0.1,
      reorderRate: 0.1,
      lostAnswerRate: this.lostAnswerRate,
      lostAnswerKind: "mixed",
      // Longer than the Worker's timeout: the Worker gives up first, as on a real lost answer.
      lostAnswerHangMs: 15_000,
      seed: this.seed * 1000 + ++this.puts,
    };
  }

  async apply(side: Side, burst = 0, lostAnswers = 0): Promise<void> {
    const now = Date.now();
    // A PUT replaces the set: the lost answers of an earlier burst not yet spent are carried over.
    const current = await getJson<{ lostAnswerBurst?: number }>(`${this.url(side)}/__control/faults`);
    const body: BaseFaults = {
      ...this.base(side),
      rateLimitBurst: burst,
      lostAnswerBurst: lostAnswers + (current.lostAnswerBurst ?? 0),
    };
    for (const knob of ["outageMs", "limitExhaustedMs"] as const) {
      const left = this.ends[side][knob] - now;
      if (left > 0) body[knob] = left;
    }
    await put(this.url(side), "faults", body);
  }

  burst(side: Side, count: number): Promise<void> {
    return this.apply(side, count);
  }

  /** The answers to the side's next `count` writes are lost (on top of the rate). */
  loseAnswers(side: Side, count: number): Promise<void> {
    return this.apply(side, 0, count);
  }

  window(side: Side, knob: "outageMs" | "limitExhaustedMs", ms: number): Promise<void> {
    this.ends[side][knob] = Date.now() + ms;
    return this.apply(side);
  }

  windowsEnd(): number {
    return Math.max(...(["attio", "salesforce"] as const).flatMap((side) => Object.values(this.ends[side])));
  }

  async off(): Promise<void> {
    await Promise.all([put(this.url("attio"), "faults", {}), put(this.url("salesforce"), "faults", {})]);
  }

  private url(side: Side): string {
    return side === "attio" ? this.stack.attio.url : this.stack.salesforce.url;
  }
}

interface EmulatorStats {
  syncWrites: Record<string, { created: number; updated: number; deleted: number }>;
  faults: FaultCounts;
}

async function stats(stack: Stack): Promise<{ attio: EmulatorStats; salesforce: EmulatorStats }> {
  const [attio, salesforce] = await Promise.all([
    getJson<EmulatorStats>(`${stack.attio.url}/__control/stats`),
    getJson<EmulatorStats>(`${stack.salesforce.url}/__control/stats`),
  ]);
  return { attio, salesforce };
}

function writesOf(stats: EmulatorStats): number {
  return Object.values(stats.syncWrites).reduce((sum, w) => sum + w.created + w.updated + w.deleted, 0);
}

function totalWrites(both: { attio: EmulatorStats; salesforce: EmulatorStats }): number {
  return writesOf(both.attio) + writesOf(both.salesforce);
}

async function failureSummary(stack: Stack): Promise<ChaosReport["failures"]> {
  const byReason: Record<string, number> = {};
  let open = 0;
  let cursor: string | null = null;
  do {
    const page: { items: Array<{ error_code: string; error_message: string }>; next_cursor: string | null } =
      await getJson(
        `${stack.workerUrl}/api/v1/failures?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        stack.adminToken,
        15_000,
      );
    for (const item of page.items) {
      open++;
      const reason = `${item.error_code}: ${item.error_message.replace(/[0-9a-f-]{36}|[a-zA-Z0-9]{18}/g, "…").slice(0, 120)}`;
      byReason[reason] = (byReason[reason] ?? 0) + 1;
    }
    cursor = page.next_cursor;
  } while (cursor);
  const warnings = await getJson<{ items: unknown[] }>(
    `${stack.workerUrl}/api/v1/failures?severity=warning&limit=200`,
    stack.adminToken,
    15_000,
  );
  return { open, byReason, warnings: warnings.items.length };
}

/**
 * Deletes propagate both ways (so a delete has one expected end state); deals are not part of the
 * run. The mass-update breaker is off: the model edits most of a small dataset within minutes, a
 * mass update by design, which the breaker would rightly hold for a person (the run measures
 * convergence, not the breaker; test/integration/queue-mass-update.test.ts covers it).
 */
async function configureWorker(stack: Stack): Promise<void> {
  const toml = [
    "[breaker]",
    "enabled = false",
    "[mappings.people]",
    'delete_policy = "propagate"',
    "[mappings.companies]",
    'delete_policy = "propagate"',
    "[mappings.deals]",
    "enabled = false",
  ].join("\n");
  const response = await fetch(`${stack.workerUrl}/api/v1/config`, {
    method: "PUT",
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ toml }),
  });
  if (!response.ok) throw new Error(`PUT /api/v1/config: ${response.status} ${await response.text()}`);
}

async function control<T = unknown>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function put(baseUrl: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${baseUrl}/__control/${path}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

async function idle(stack: Stack): Promise<void> {
  await Promise.all([
    fetch(`${stack.attio.url}/__control/idle`, { method: "POST" }),
    fetch(`${stack.salesforce.url}/__control/idle`, { method: "POST" }),
  ]);
}

async function until<T>(timeoutMs: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(500);
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
