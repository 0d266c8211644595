/**
 * `npm run chaos [-- --seeds=1,2,3 --edits=1000 --pairs=100 --duration=120 --outage=25 --limit-window=20
 * --d1-window=8 --settle=150 --state=DIR --worker-log=warn]` (durations in seconds):
 * the chaos suite (docs/RELIABILITY.md). One run per seed, each on a fresh stack; prints each run's
 * figures and invariants, and exits non-zero when an invariant failed in any run.
 */
import { resolve } from "node:path";
import { type ChaosOptions, type ChaosReport, DEFAULT_OPTIONS, lostAnswers, runChaos } from "./chaos.ts";

// Local observability (trace spans to SQLite, about 40% of the Worker process's CPU in the
// benchmarks) is off unless asked for, as in `npm run bench`.
process.env["X_LOCAL_OBSERVABILITY"] ??= "false";
process.env["WRANGLER_SEND_METRICS"] ??= "false";

function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function number(name: string, fallback: number, min: number): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name}=${raw}: expected a number >= ${min}`);
  return value;
}

const seeds = (flag("seeds") ?? "1,2,3").split(",").map((raw) => {
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 1) throw new Error(`--seeds: "${raw}" is not a positive integer`);
  return seed;
});
const options: Omit<ChaosOptions, "seed"> = {
  ...DEFAULT_OPTIONS,
  pairs: number("pairs", DEFAULT_OPTIONS.pairs, 1),
  edits: number("edits", DEFAULT_OPTIONS.edits, 1),
  durationMs: number("duration", DEFAULT_OPTIONS.durationMs / 1000, 10) * 1000,
  outageMs: number("outage", DEFAULT_OPTIONS.outageMs / 1000, 1) * 1000,
  limitWindowMs: number("limit-window", DEFAULT_OPTIONS.limitWindowMs / 1000, 1) * 1000,
  d1WindowMs: number("d1-window", DEFAULT_OPTIONS.d1WindowMs / 1000, 1) * 1000,
  settleTimeoutMs: number("settle", DEFAULT_OPTIONS.settleTimeoutMs / 1000, 10) * 1000,
  log: (line) => console.error(line),
};

function workerLogLevel(raw: string | undefined): ChaosOptions["workerLogLevel"] {
  if (raw === undefined) return undefined;
  if (raw === "debug" || raw === "info" || raw === "warn" || raw === "error") return raw;
  throw new Error(`--worker-log=${raw}: expected debug, info, warn or error`);
}

const reports: ChaosReport[] = [];
for (const seed of seeds) {
  const state = flag("state");
  const report = await runChaos({
    ...options,
    seed,
    stateDir: state ? resolve(state, `seed-${seed}`) : undefined,
    workerLogLevel: workerLogLevel(flag("worker-log")),
  });
  reports.push(report);
  console.log(format(report));
}
const failed = reports.filter((r) => r.invariants.some((i) => !i.ok));
console.log(summary(reports));
if (failed.length > 0) {
  console.log(
    `FAIL: ${failed.length} of ${reports.length} runs broke an invariant (seeds ${failed.map((r) => r.seed).join(", ")})`,
  );
  process.exitCode = 1;
} else console.log(`PASS: ${reports.length} runs, every invariant held`);

function format(r: ChaosReport): string {
  const f = r.faults;
  const faultLine = (side: "attio" | "salesforce") => {
    const c = f[side];
    return (
      `${side.padEnd(10)} errors ${c.error}, rate-limited ${c.rateLimit}, outage refusals ${c.outage}` +
      (side === "salesforce" ? `, daily-limit refusals ${c.limitExhausted}` : "") +
      `, lost answers ${lostAnswers(c)} (5xx ${c.lostAnswer.error}, reset ${c.lostAnswer.reset}, timeout ${c.lostAnswer.timeout})` +
      `, deliveries dropped ${c.drop} / duplicated ${c.duplicate} / reordered ${c.reorder}`
    );
  };
  const e = r.evaluation;
  const lines = [
    `== seed ${r.seed}: ${r.pairs} pairs, ${r.entities} records in all (${r.edits.noKey} with no match key)`,
    `edits made          ${r.edits.total} (${r.edits.updates} updates, ${r.edits.creates} creates, ${r.edits.deletes} deletes; ${r.edits.refused} refused by the emulators)`,
    `faults injected     ${faultLine("attio")}`,
    `                    ${faultLine("salesforce")}`,
    `                    D1 window ${f.d1WindowMs / 1000} s (${f.d1Refusals} refusal seen), Worker restarts ${f.restarts}`,
    `time to converge    ${r.convergeSeconds === null ? "did not converge" : `${r.convergeSeconds.toFixed(1)} s`} after the faults stopped (${r.catchupRuns} cron runs)`,
    `fields that differ  ${e.fieldsDiffer.length}`,
    `duplicates          Attio ${e.duplicates.attio}, Salesforce ${e.duplicates.salesforce}`,
    `missing / undeleted ${e.missing.length} / ${e.undeleted.length}`,
    `updates lost        ${e.lostUpdates.length} (and ${e.concurrent.length} concurrent: both sides edited within a second, both hold the earlier value; ${e.eventNeverDelivered.length} after a Salesforce change event every delivery of which was dropped)`,
    `engine writes/edit  ${r.engineWrites.perEdit.toFixed(3)} (${r.engineWrites.attio} to Attio + ${r.engineWrites.salesforce} to Salesforce; ${r.engineWrites.duringChaos} of them before the faults stopped)`,
    `failures recorded   ${r.failures.open} open, ${r.failures.warnings} warnings; /status healthy=${r.status.healthy} ${JSON.stringify(r.status.problems).slice(0, 300)}`,
    ...Object.entries(r.failures.byReason)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([reason, count]) => `                    ${String(count).padStart(4)} x ${reason}`),
    "invariants:",
    ...r.invariants.map((i) => `  ${i.ok ? "ok  " : "FAIL"} ${i.name}: ${i.detail}`),
  ];
  return lines.join("\n");
}

function summary(all: ChaosReport[]): string {
  const head = "| seed | edits | converge s | fields differ | dup A/S | lost | writes/edit | failures | invariants |";
  const rows = all.map(
    (r) =>
      `| ${r.seed} | ${r.edits.total} | ${r.convergeSeconds === null ? "-" : r.convergeSeconds.toFixed(1)} | ${r.evaluation.fieldsDiffer.length} | ${r.evaluation.duplicates.attio}/${r.evaluation.duplicates.salesforce} | ${r.evaluation.lostUpdates.length} | ${r.engineWrites.perEdit.toFixed(3)} | ${r.failures.open} | ${r.invariants.filter((i) => !i.ok).length === 0 ? "all held" : `${r.invariants.filter((i) => !i.ok).length} failed`} |`,
  );
  return ["", head, "|---|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}
