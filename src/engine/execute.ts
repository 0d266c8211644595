import { SyncError, toSyncError } from "../lib/errors.ts";
import { mapToAttio } from "../mapping/engine.ts";
import { isWarning } from "../mapping/types.ts";
import { breakMassDeletes, massDeleteThreshold, propagatedDeletes, type RecordDecision } from "../plan/decide.ts";
import type { FinalDecision, RecordFacts, RetryReason, SettleReason, SideDecision } from "../plan/decision.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import type { Touch } from "../plan/touch.ts";
import { countPairsOf, holdDelete } from "../store/deletes.ts";
import { recordAmbiguousMatch } from "../store/matches.ts";
import { done, fail, leaseLost, type PendingWrite, type RunContext } from "./context.ts";
import { executeDelete, notVisible } from "./deletes.ts";
import { saveWarnings } from "./warnings.ts";
import { writeAll } from "./write.ts";

/** One touched record with what is known about it and what was decided. */
export interface Decided {
  facts: RecordFacts;
  decision: RecordDecision;
}

type RecordIds = PendingWrite["ids"];

/**
 * Applies the decisions of a run: each record's side decisions, then its final one. Writes are
 * collected and done together at the end (Salesforce in batches, Attio in a pool), then warnings
 * are stored. A decision that throws fails its own record only.
 */
export async function execute(run: RunContext, decided: readonly Decided[]): Promise<void> {
  const writes: PendingWrite[] = [];
  // The fence: leases renewed now, so a record whose lease another consumer took is not written.
  await run.fence.renew();
  for (const { facts, decision } of decided) {
    if (leaseLost(run, facts.touch)) continue;
    try {
      const ids = idsOf(facts, decision.final);
      for (const along of decision.along) await executeAlong(run, facts.touch, along, ids);
      const write = await executeFinal(run, facts, decision.final, ids);
      if (write) writes.push(write);
    } catch (thrown) {
      fail(run, facts.touch, toSyncError(thrown));
    }
  }
  try {
    await writeAll(run, writes);
  } finally {
    await saveWarnings(run);
  }
}

/**
 * The mass-delete circuit breaker (plan/decide.ts breakMassDeletes), with the one fact it needs:
 * the mapping's pair count, read only when the run could trip it.
 */
export async function holdMassDeletes(run: RunContext, decided: readonly Decided[]): Promise<Decided[]> {
  const decisions = decided.map((d) => d.decision);
  if (propagatedDeletes(decisions) <= massDeleteThreshold(0)) return [...decided];
  const pairs = await countPairsOf(run.deps.db, run.compiled.mapping.attio_object);
  const held = breakMassDeletes(decisions, pairs, crypto.randomUUID());
  return decided.map((d, i) => ({ facts: d.facts, decision: held[i] ?? d.decision }));
}

async function executeAlong(run: RunContext, touch: Touch, decision: SideDecision, ids: RecordIds): Promise<void> {
  const { mapping } = run.compiled;
  switch (decision.kind) {
    case "defer": {
      const object = decision.side === "attio" ? mapping.attio_object : mapping.salesforce_object;
      await run.options.defer(
        decision.side,
        { object, id: decision.recordId },
        { object: decision.targetObject, id: decision.targetId },
      );
      return;
    }
    case "hold_merged_away":
      await holdDelete(run.deps.db, decision.pairId, "attio", { reason: "merged_into_linked", batchId: null });
      return;
    case "warn":
      run.seen.push({ touch, direction: decision.direction, issues: decision.issues, fields: decision.fields, ids });
      return;
  }
}

/** Executes a final decision; a write is returned to be done with the run's others. */
async function executeFinal(
  run: RunContext,
  facts: RecordFacts,
  decision: FinalDecision,
  ids: RecordIds,
): Promise<PendingWrite | undefined> {
  const { touch, pair } = facts;
  switch (decision.kind) {
    case "settle":
    case "retry":
    case "skip":
      run.outcomes.set(touch, outcomeWithoutEffect(decision));
      return undefined;
    case "ambiguous": {
      const { mapping } = run.compiled;
      await recordAmbiguousMatch(run.deps.db, {
        side: touch.side,
        object: touch.side === "attio" ? mapping.attio_object : mapping.salesforce_object,
        recordId: touch.recordId,
        candidates: decision.candidates,
      });
      done(run, touch, "ambiguous", { detail: `${decision.candidates.length} candidates share the match key` });
      return undefined;
    }
    case "delete":
    case "hold_delete":
    case "follow_merge":
      if (!pair) throw new SyncError("internal", `a ${decision.kind} was decided for a record with no pair`);
      await executeDelete(run, touch, pair, decision);
      return undefined;
    case "not_visible":
      fail(run, touch, notVisible(run, facts));
      return undefined;
    case "write":
      return { touch, pair, decision, ids, attioValues: decision.attio?.values };
  }
}

/** The record ids the decision is about, filled in by the write when it creates a record. */
function idsOf(facts: RecordFacts, decision: FinalDecision): RecordIds {
  if (decision.kind === "write") {
    return { attio: decision.attio?.id.record_id, salesforce: decision.salesforce?.Id };
  }
  return { attio: facts.attio?.id.record_id, salesforce: facts.salesforce?.Id };
}

const SETTLED: Record<SettleReason, string> = {
  create_event_matches_base: "the create event matches the synced values",
  event_matches_base: "the change event matches the synced values",
  attio_matches_base: "the Attio record matches the synced values",
  unchanged: "both sides hold the synced values",
};

const WAITING: Record<RetryReason, string> = {
  own_create_waiting: "our own create: waiting for its pair to be stored",
  candidate_busy: "a match candidate is being synced by another consumer",
};

/** The outcome of a decision that needs no effect (the same in a dry run). */
export function outcomeWithoutEffect(
  decision: Extract<FinalDecision, { kind: "settle" | "retry" | "skip" }>,
): TouchOutcome {
  switch (decision.kind) {
    case "settle":
      return { status: "done", action: "unchanged", detail: SETTLED[decision.reason] };
    case "skip":
      return { status: "done", action: "gone", detail: "the record no longer exists and was never linked" };
    case "retry": {
      const error = new SyncError("record_busy", WAITING[decision.reason], {
        retryAfterSeconds: decision.afterSeconds,
      });
      return { status: "retry", error };
    }
  }
}

/**
 * A dry run: decide, do not execute. Each record's outcome says what would be done, and for a write
 * what would be written where, field by field, and what would not.
 */
export function report(run: RunContext, decided: readonly Decided[]): void {
  for (const { facts, decision } of decided) {
    const { touch } = facts;
    const final = decision.final;
    switch (final.kind) {
      case "settle":
      case "retry":
      case "skip":
        run.outcomes.set(touch, outcomeWithoutEffect(final));
        break;
      case "ambiguous":
        done(run, touch, "ambiguous", { plan: { candidates: final.candidates } });
        break;
      case "delete":
        done(run, touch, final.policy === "propagate" ? "delete" : "unlink", {
          plan: { deleted_on: final.on, policy: final.policy },
        });
        break;
      case "hold_delete":
        done(run, touch, "hold_delete", {
          plan: {
            deleted_on: final.on,
            reason: final.reason,
            ...(final.reason === "merged_into_linked" ? { master: final.master } : {}),
            ...(final.reason === "mass_delete" ? { count: final.count, threshold: final.threshold } : {}),
          },
        });
        break;
      case "follow_merge":
        done(run, touch, "follow_merge", { plan: { master: final.master } });
        break;
      case "not_visible":
        fail(run, touch, notVisible(run, facts));
        break;
      case "write":
        reportWrite(run, touch, decision);
        break;
    }
  }
}

function reportWrite(run: RunContext, touch: Touch, decision: RecordDecision): void {
  const final = decision.final;
  if (final.kind !== "write") return;
  const { plan } = final;
  const toAttio = mapToAttio(run.compiled, plan.toAttio, {
    ...run.decide.mapOptions,
    ...(final.attio ? { current: final.attio.values } : {}),
  });
  const warned = decision.along.flatMap((d) => (d.kind === "warn" ? d.issues : []));
  const warnings = [...warned, ...toAttio.issues]
    .filter(isWarning)
    .map((issue) => ({ field: issue.salesforce, attribute: issue.attio, code: issue.code, reason: issue.message }));
  done(run, touch, final.operation, {
    conflicts: plan.conflicts.length,
    plan: {
      attio_record_id: final.attio?.id.record_id ?? null,
      salesforce_record_id: final.salesforce?.Id ?? null,
      to_salesforce: plan.toSalesforce,
      to_attio: plan.toAttio,
      conflicts: plan.conflicts,
      resolved: plan.resolved,
      ...(warnings.length > 0 ? { not_written: warnings } : {}),
    },
  });
}
