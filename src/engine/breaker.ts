import { salesforceSide } from "../plan/canon.ts";
import type { Side, WriteDecision } from "../plan/decision.ts";
import { breakerVerdict, massUpdateThreshold, rejectedBase, updatesBySide, windowStart } from "../plan/mass-update.ts";
import type { Values } from "../plan/plan-fields.ts";
import { actorOf } from "../plan/touch.ts";
import { countPairsOf } from "../store/deletes.ts";
import { type SavePair, savePairs } from "../store/pairs.ts";
import { holdRecords, openHold, openHoldOf, reserveUpdates } from "../store/update-holds.ts";
import { done, type RunContext } from "./context.ts";
import type { Decided } from "./execute.ts";

/**
 * The mass-update breaker (plan/mass-update.ts) around a run's decisions: the updates it would
 * write are counted per side in D1's sliding window; past the threshold (or while a hold of that
 * side is open) they are held under one approval item instead of written, and the rest of the run
 * goes on. The records a person approved run with the breaker bypassed; those rejected are
 * re-based and written nowhere. Returns the decisions left to execute.
 */
export async function gateMassUpdates(run: RunContext, decided: readonly Decided[], now: Date): Promise<Decided[]> {
  const release = run.options.release;
  if (run.options.dryRun || release?.decision === "approve") return [...decided];
  if (release?.decision === "reject") return rejectUpdates(run, decided);
  const limits = run.options.massUpdates;
  if (!limits?.enabled) return [...decided];
  const bySide = updatesBySide(decided.map((d) => d.decision));
  if (bySide.attio.length === 0 && bySide.salesforce.length === 0) return [...decided];
  const { db } = run.deps;
  const { mapping } = run.compiled;
  const sides = (["salesforce", "attio"] as const).filter((side) => bySide[side].length > 0);
  // Read together: each is a D1 round trip on a live change's way to its write.
  const [pairCount, openHolds] = await Promise.all([
    countPairsOf(db, mapping.attio_object),
    Promise.all(sides.map((side) => openHoldOf(db, mapping.name, side))),
  ]);
  const threshold = massUpdateThreshold(limits, pairCount);
  const held = new Map<number, string>();
  for (const [n, side] of sides.entries()) {
    const indices = bySide[side].filter((i) => !held.has(i));
    if (indices.length === 0) continue;
    const existing = openHolds[n];
    const inWindow = existing
      ? 0
      : await reserveUpdates(db, {
          mapping: mapping.name,
          side,
          // A pair is one record of the object, whichever side its touch came from.
          recordIds: indices.map((i) => decided[i]?.facts.pair?.mapping.id ?? ""),
          since: windowStart(limits, now),
          at: now.toISOString(),
          threshold,
        });
    const verdict = breakerVerdict({ limits, updates: indices.length, inWindow, threshold, openHold: existing });
    switch (verdict.kind) {
      case "none":
      case "pass":
        continue;
      case "join":
        for (const i of indices) held.set(i, verdict.holdId);
        break;
      case "trip": {
        const holdId = await openHold(db, {
          mapping: mapping.name,
          side,
          count: verdict.count,
          threshold: verdict.threshold,
          windowMinutes: limits.windowMinutes,
        });
        run.deps.log.warn("mass-update breaker tripped: updates held for approval", {
          mapping: mapping.name,
          side,
          count: verdict.count,
          threshold: verdict.threshold,
          hold_id: holdId,
        });
        for (const i of indices) held.set(i, holdId);
        break;
      }
    }
  }
  if (held.size === 0) return [...decided];
  const byHold = new Map<string, { side: Side; recordId: string }[]>();
  for (const [index, holdId] of held) {
    const touch = decided[index]?.facts.touch;
    if (!touch) continue;
    byHold.set(holdId, [...(byHold.get(holdId) ?? []), { side: touch.side, recordId: touch.recordId }]);
  }
  for (const [holdId, records] of byHold) await holdRecords(db, holdId, records);
  for (const [index, holdId] of held) {
    const touch = decided[index]?.facts.touch;
    if (touch) {
      done(run, touch, "hold_update", {
        detail: `held by the mass-update breaker (hold ${holdId}): POST /api/v1/holds/${holdId} to approve or reject`,
      });
    }
  }
  return decided.filter((_, index) => !held.has(index));
}

/**
 * A rejected hold's records: each update is not written; the pair's base takes each side's own
 * value (plan/mass-update.ts rejectedBase), so the rejected change is not pushed by a later sync
 * either, and the audit log says what was not written. Other decisions go on as usual.
 */
async function rejectUpdates(run: RunContext, decided: readonly Decided[]): Promise<Decided[]> {
  const saves: SavePair[] = [];
  const rest: Decided[] = [];
  for (const item of decided) {
    const final = item.decision.final;
    const pair = item.facts.pair;
    if (final.kind !== "write" || final.operation !== "update" || !pair) {
      rest.push(item);
      continue;
    }
    const salesforce = final.salesforce ? salesforceSide(run.compiled, final.salesforce) : undefined;
    saves.push(rejectedSave(run, item, final, pair.mapping, salesforce));
    done(run, item.facts.touch, "unchanged", {
      detail: `the held update was rejected: nothing written, ${Object.keys(final.plan.toSalesforce).length + Object.keys(final.plan.toAttio).length} field(s) left as they are on the other side`,
    });
  }
  await savePairs(run.deps.db, saves);
  return rest;
}

function rejectedSave(
  run: RunContext,
  item: Decided,
  final: WriteDecision,
  pair: { id: string; attioRecordId: string; sfRecordId: string },
  salesforce: Values | undefined,
): SavePair {
  const { mapping } = run.compiled;
  const { touch } = item.facts;
  const common = {
    correlationId: touch.correlationId,
    attioObject: mapping.attio_object,
    attioRecordId: pair.attioRecordId,
    sfObject: mapping.salesforce_object,
    sfRecordId: pair.sfRecordId,
    sourceEvent: touch.origin,
    actor: actorOf(touch.origin),
    operation: "skipped" as const,
  };
  const notWritten = (values: Record<string, unknown>, before: Record<string, unknown> | undefined) =>
    Object.fromEntries(
      Object.entries(values).map(([field, after]) => [field, { before: before?.[field] ?? null, after }]),
    );
  const audits: SavePair["audits"] = [];
  if (Object.keys(final.plan.toSalesforce).length > 0) {
    audits.push({ ...common, direction: "attio_to_sf", changes: notWritten(final.plan.toSalesforce, salesforce) });
  }
  if (Object.keys(final.plan.toAttio).length > 0) {
    audits.push({ ...common, direction: "sf_to_attio", changes: notWritten(final.plan.toAttio, final.attioSide) });
  }
  return {
    mapping: {
      id: pair.id,
      attioObject: mapping.attio_object,
      attioRecordId: pair.attioRecordId,
      sfObject: mapping.salesforce_object,
      sfRecordId: pair.sfRecordId,
    },
    base: rejectedBase(final.plan, final.attioSide, salesforce),
    direction: "none",
    sfSystemModstamp:
      typeof final.salesforce?.["SystemModstamp"] === "string" ? final.salesforce["SystemModstamp"] : null,
    audits,
  };
}
