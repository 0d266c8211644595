import type { SfScalar } from "../mapping/types.ts";
import type { RecordDecision } from "./decide.ts";
import type { Side } from "./decision.ts";
import type { FieldPlan, Values } from "./plan-fields.ts";

/**
 * The mass-update breaker's policy. Pure: counts, limits and time in, a verdict out; the engine
 * (engine/breaker.ts) counts in D1 and holds. A run, a job or a burst of live events that would
 * update more of an object's records within the window than the threshold allows holds those
 * writes as one approval item instead of writing them (a bad import, a script gone wrong, a
 * mistaken bulk edit look like this).
 */

/** config.toml `[breaker]`: what trips it. */
export interface BreakerLimits {
  enabled: boolean;
  /** More than this many records of an object updated within the window trips it... */
  maxRecords: number;
  /** ... or more than this share of the object's linked records... */
  maxShare: number;
  /** ... but the share rule never trips at or below this many records (a small object's ordinary day). */
  minRecords: number;
  windowMinutes: number;
}

export const DEFAULT_BREAKER: BreakerLimits = {
  enabled: true,
  maxRecords: 500,
  maxShare: 0.2,
  minRecords: 20,
  windowMinutes: 10,
};

/**
 * How many distinct records of an object may be updated within the window: `maxRecords`, or the
 * share of the object's linked records when that is smaller (but never below `minRecords`).
 *
 * @example massUpdateThreshold(DEFAULT_BREAKER, 10_000) // 500
 * @example massUpdateThreshold(DEFAULT_BREAKER, 1_000) // 200
 * @example massUpdateThreshold(DEFAULT_BREAKER, 30) // 20
 */
export function massUpdateThreshold(limits: BreakerLimits, objectSize: number): number {
  const share = Math.max(limits.minRecords, Math.floor(objectSize * limits.maxShare));
  return Math.min(limits.maxRecords, share);
}

/** Where the window starts: updates at or before it no longer count. */
export function windowStart(limits: BreakerLimits, now: Date): string {
  return new Date(now.getTime() - limits.windowMinutes * 60_000).toISOString();
}

export type BreakerVerdict =
  | { kind: "pass" }
  /** Nothing to count: no update in the run, or the breaker is off. */
  | { kind: "none" }
  /** A hold is open for this object and side already: the updates join it. */
  | { kind: "join"; holdId: string }
  | { kind: "trip"; count: number; threshold: number };

/**
 * The verdict on a run's updates to one side of one mapping, given the distinct records updated
 * within the window besides them (`inWindow`), and an open hold if there is one.
 */
export function breakerVerdict(input: {
  limits: BreakerLimits;
  updates: number;
  inWindow: number;
  threshold: number;
  openHold: string | undefined;
}): BreakerVerdict {
  if (!input.limits.enabled || input.updates === 0) return { kind: "none" };
  if (input.openHold) return { kind: "join", holdId: input.openHold };
  const count = input.inWindow + input.updates;
  return count > input.threshold ? { kind: "trip", count, threshold: input.threshold } : { kind: "pass" };
}

/**
 * The decisions (by index) that would update an existing record, per side written: a pair's
 * update with a field to write there. Creates and first links are not counted (a first sync is
 * started by a person, and writes no value a record had).
 */
export function updatesBySide(decisions: readonly RecordDecision[]): Record<Side, number[]> {
  const out: Record<Side, number[]> = { attio: [], salesforce: [] };
  decisions.forEach((decision, index) => {
    const final = decision.final;
    if (final.kind !== "write" || final.operation !== "update") return;
    if (Object.keys(final.plan.toSalesforce).length > 0) out.salesforce.push(index);
    if (Object.keys(final.plan.toAttio).length > 0) out.attio.push(index);
  });
  return out;
}

/**
 * The base a rejected update leaves: each side keeps its own current value as its base, so neither
 * the held change nor the other side's value looks like an edit next time, and nothing is written
 * back. A later edit of a field on either side flows as usual; the rejected values never do unless
 * edited again.
 *
 * @example
 * // Attio's Title went VP -> CTO, the update to Salesforce was rejected:
 * rejectedBase(plan, { Title: "CTO" }, { Title: "VP" }) // { attio: { Title: "CTO" }, salesforce: { Title: "VP" } }
 */
export function rejectedBase(
  plan: Pick<FieldPlan, "nextBase" | "toSalesforce" | "toAttio">,
  attio: Values | undefined,
  salesforce: Values | undefined,
): { attio: Record<string, SfScalar>; salesforce: Record<string, SfScalar> } {
  const base = { attio: { ...plan.nextBase.attio }, salesforce: { ...plan.nextBase.salesforce } };
  for (const field of Object.keys(plan.toSalesforce)) base.salesforce[field] = salesforce?.[field] ?? null;
  for (const field of Object.keys(plan.toAttio)) base.attio[field] = attio?.[field] ?? null;
  return base;
}
