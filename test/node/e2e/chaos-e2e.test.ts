import { beforeAll, describe, expect, it } from "vitest";
import { type ChaosReport, DEFAULT_OPTIONS, type Invariant, runChaos } from "../../../scripts/chaos/chaos.ts";

/**
 * The short variant of `npm run chaos` (docs/RELIABILITY.md): one seed, 20 pairs, 150 edits with
 * every fault at once (dropped, duplicated, reordered deliveries, API errors, 429 and
 * REQUEST_LIMIT_EXCEEDED bursts, lost answers, an outage of each API longer than the compressed
 * retry budget, Salesforce's daily limit used up, a D1 failure window, a Worker restart mid-burst),
 * then the cron catches up. Each invariant is its own test, so a failure names what broke.
 */
const SEED = 7;

let report: ChaosReport;

beforeAll(async () => {
  report = await runChaos({
    ...DEFAULT_OPTIONS,
    seed: SEED,
    pairs: 20,
    edits: 150,
    // Long enough that the windows (outages, daily limit, D1) leave time between them for the
    // engine to write, and so for answers to be lost.
    durationMs: 90_000,
    outageMs: 20_000,
    limitWindowMs: 10_000,
    d1WindowMs: 6_000,
    settleTimeoutMs: 120_000,
  });
  // biome-ignore lint/suspicious/noConsole: the run's figures are this test's report.
  console.log(JSON.stringify({ ...report, evaluation: summarize(report) }, null, 1));
}, 420_000);

function summarize(r: ChaosReport) {
  const e = r.evaluation;
  return {
    missing: e.missing.slice(0, 5),
    duplicates: e.duplicates,
    duplicateExamples: e.duplicateExamples.slice(0, 5),
    undeleted: e.undeleted.slice(0, 5),
    strangers: e.strangers.slice(0, 5),
    fieldsDiffer: e.fieldsDiffer.slice(0, 5),
    lostUpdates: e.lostUpdates.slice(0, 5),
    concurrent: e.concurrent.slice(0, 5),
    eventNeverDelivered: e.eventNeverDelivered.slice(0, 5),
  };
}

const failed = (filter: (i: Invariant) => boolean) =>
  report.invariants.filter((i) => filter(i) && !i.ok).map((i) => `${i.name}: ${i.detail}`);

describe("chaos: every fault at once, then the cron catches up", () => {
  it("made the edits, creates and deletes on both sides, records with no match key among them", () => {
    expect(report.edits.total).toBeGreaterThanOrEqual(150);
    expect(report.edits.creates).toBeGreaterThan(0);
    expect(report.edits.deletes).toBeGreaterThan(0);
    expect(report.edits.noKey).toBeGreaterThan(0);
  });

  it("injected every kind of fault (counted by the emulators, D1 refusal seen, Worker restarted)", () => {
    expect(failed((i) => /fault fired|D1 failure|restarted/.test(i.name))).toEqual([]);
  });

  it("converged after the faults stopped", () => {
    expect(failed((i) => i.name === "converged")).toEqual([]);
  });

  it("no field differs between the two sides of a pair", () => {
    expect(report.evaluation.fieldsDiffer).toEqual([]);
  });

  it("no record twice on either side, none missing, every delete carried out", () => {
    expect(report.evaluation.duplicateExamples).toEqual([]);
    expect(report.evaluation.missing).toEqual([]);
    expect(report.evaluation.undeleted).toEqual([]);
    expect(report.evaluation.strangers).toEqual([]);
  });

  it("no update lost: each field's last edit is its final value on both sides", () => {
    expect(report.evaluation.lostUpdates).toEqual([]);
  });

  it("the engine wrote at most 1.1 times per edit", () => {
    expect(report.engineWrites.perEdit).toBeLessThanOrEqual(1.1);
  });

  it("names a reason for every failure it recorded", () => {
    expect(Object.keys(report.failures.byReason).every((reason) => !reason.startsWith(": "))).toBe(true);
  });
});
