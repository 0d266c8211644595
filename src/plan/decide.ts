import type { AttioRecord } from "../attio/record-schema.ts";
import { type CompiledMapping, type MapOptions, salesforceReferences } from "../mapping/engine.ts";
import type { IdLookup } from "../mapping/transforms.ts";
import { type Direction, isWarning, type SfScalar } from "../mapping/types.ts";
import type { SfRecordRow } from "../salesforce/client.ts";
import { type AttioSide, attioSide, policiesOf, salesforceSide } from "./canon.ts";
import type {
  DeletePolicy,
  FinalDecision,
  LinkedPair,
  RecordFacts,
  Side,
  SideDecision,
  WriteDecision,
} from "./decision.ts";
import { type FieldTimes, fieldChangedAt } from "./field-times.ts";
import {
  type Base,
  effectiveDirection,
  type FieldPlan,
  type FieldPolicy,
  planFields,
  type Strategy,
  type SyncDirection,
  type Values,
} from "./plan-fields.ts";
import { settleBeforeLease, settleOnAttio, settleWithoutRead } from "./settle-early.ts";

/** What the planner may consult besides the record's facts: the mapping, the policy, the batch's id map. */
export interface DecideContext {
  compiled: CompiledMapping;
  policies: FieldPolicy[];
  strategy: Strategy;
  direction: SyncDirection;
  deletePolicy: DeletePolicy;
  /** The batch's id map (references), the owner directory and Attio's option titles. */
  mapOptions: MapOptions & { ids: IdLookup };
  /** The Salesforce fields this mapping writes from Attio under the global direction. */
  toSalesforceFields: readonly string[];
  /** A sync job of ours is queued or running: our own creates' echoes wait for their pairs (rule 2). */
  jobRunning: boolean;
}

export function decideContext(
  compiled: CompiledMapping,
  policy: { strategy: Strategy; direction: SyncDirection; deletePolicy: DeletePolicy },
  mapOptions: MapOptions & { ids: IdLookup },
  jobRunning = false,
): DecideContext {
  return {
    compiled,
    policies: policiesOf(compiled),
    strategy: policy.strategy,
    direction: policy.direction,
    deletePolicy: policy.deletePolicy,
    jobRunning,
    mapOptions,
    toSalesforceFields: compiled.fields
      .filter((field) => field.toSalesforce && flowsToSalesforce(field.spec.direction, policy.direction))
      .map((field) => field.spec.salesforce),
  };
}

/** The decisions about one touched record: what rides along, then the one that ends it. */
export interface RecordDecision {
  along: SideDecision[];
  final: FinalDecision;
}

/**
 * Decides what to do with one touched record from what is known about it. Pure: the engine reads
 * the facts, calls this, and executes the result (or, in a dry run, reports it); `explain` calls it
 * on one record without executing anything.
 */
export function decide(ctx: DecideContext, facts: RecordFacts): RecordDecision {
  const early = settleEarly(ctx, facts);
  return early ? { along: [], final: early } : decideUnsettled(ctx, facts);
}

/**
 * `decide` without the settle-early rules: the engine applies those step by step as it reads (each
 * saves a read), so the touches it hands here have passed them.
 */
export function decideUnsettled(ctx: DecideContext, facts: RecordFacts): RecordDecision {
  const along: SideDecision[] = (facts.mergedAway ?? []).map((pairId) => ({ kind: "hold_merged_away", pairId }));
  const { pair } = facts;
  if (pair && (facts.attio === null || facts.salesforce === null)) {
    return { along, final: decideDelete(ctx, facts, facts.attio === null ? "attio" : "salesforce") };
  }
  let { attio, salesforce } = facts;
  if (!pair) {
    const own = facts.touch.side === "attio" ? attio : salesforce;
    if (!own) return { along, final: { kind: "skip", reason: "gone_never_linked" } };
    const found = facts.candidates;
    if (found?.kind === "busy") {
      const afterSeconds = Math.max(1, Math.ceil(found.waitMs / 1000));
      return { along, final: { kind: "retry", reason: "candidate_busy", afterSeconds } };
    }
    const records = found?.records ?? [];
    if (records.length > 1) return { along, final: { kind: "ambiguous", candidates: records.map(candidateId) } };
    const [match] = records;
    if (match && facts.touch.side === "attio") salesforce = match as SfRecordRow;
    else if (match) attio = match as AttioRecord;
  }
  // A pair an Attio merge moved is linked anew: stored (and audited) even if no value changes.
  const operation = pair?.movedFrom ? "link" : pair ? "update" : attio && salesforce ? "link" : "create";
  return planWrite(
    ctx,
    pair,
    operation,
    attio ?? undefined,
    salesforce ?? undefined,
    along,
    facts.salesforceFieldTimes,
  );
}

/**
 * The settle-early rules (settle-early.ts) that the facts allow, in order. The engine applies them
 * step by step to save its reads; here they run together, as they would have.
 */
function settleEarly(ctx: DecideContext, facts: RecordFacts): FinalDecision | undefined {
  const { compiled, mapOptions } = ctx;
  return (
    settleBeforeLease(compiled, facts.touch, facts.pair, ctx.jobRunning) ??
    settleWithoutRead(compiled, facts.touch, facts.pair) ??
    settleOnAttio(compiled, facts.touch, facts.pair, facts.attio, mapOptions)
  );
}

/**
 * A linked record gone on one side. A Salesforce record that lost a merge is not deleted: its pair
 * follows the surviving record, unless that one is linked already (then a person decides).
 */
function decideDelete(ctx: DecideContext, facts: RecordFacts, on: Side): FinalDecision {
  // Absence is not a delete: only a Recycle Bin row (queryAll IsDeleted) confirms one in Salesforce.
  // (An Attio record counts as gone only once a read by id answered 404: engine/read.ts.)
  if (on === "salesforce" && facts.salesforceGone !== "deleted") return { kind: "not_visible", on };
  const merge = on === "salesforce" ? facts.salesforceMerge : undefined;
  if (merge?.masterLinked)
    return { kind: "hold_delete", on: "salesforce", reason: "merged_into_linked", master: merge.master };
  if (merge) return { kind: "follow_merge", master: merge.master };
  if (ctx.deletePolicy === "hold") return { kind: "hold_delete", on, reason: "policy" };
  return { kind: "delete", on, policy: ctx.deletePolicy };
}

/** The circuit breaker's floor: a run may delete this many counterparts without a person. */
const MASS_DELETE_MIN = 20;
/** ... or this share of the mapping's pairs, whichever is larger. */
const MASS_DELETE_SHARE = 0.02;

/** How many counterparts one run may delete: max(20, 2% of the mapping's pairs). */
export function massDeleteThreshold(pairs: number): number {
  return Math.max(MASS_DELETE_MIN, Math.floor(pairs * MASS_DELETE_SHARE));
}

/** How many of these decisions would delete a counterpart (`propagate`). */
export function propagatedDeletes(decisions: readonly RecordDecision[]): number {
  return decisions.filter((d) => d.final.kind === "delete" && d.final.policy === "propagate").length;
}

/**
 * The mass-delete circuit breaker. When one run would delete more counterparts than
 * massDeleteThreshold(pairs) allows (a sharing change, a bad import, a script gone wrong look
 * like many deletes at once), none is deleted: each propagated delete is held for a person, all
 * under `batch`, even under `propagate`. Fewer pass unchanged. Pure: `batch` is given.
 */
export function breakMassDeletes(decisions: readonly RecordDecision[], pairs: number, batch: string): RecordDecision[] {
  const count = propagatedDeletes(decisions);
  const threshold = massDeleteThreshold(pairs);
  if (count <= threshold) return [...decisions];
  return decisions.map((d) =>
    d.final.kind === "delete" && d.final.policy === "propagate"
      ? {
          along: d.along,
          final: { kind: "hold_delete", on: d.final.on, reason: "mass_delete", batch, count, threshold },
        }
      : d,
  );
}

function planWrite(
  ctx: DecideContext,
  pair: LinkedPair | undefined,
  operation: WriteDecision["operation"],
  attio: AttioRecord | undefined,
  salesforce: SfRecordRow | undefined,
  along: SideDecision[],
  fieldTimes: FieldTimes | undefined,
): RecordDecision {
  const { compiled, mapOptions } = ctx;
  const { plan, mapped } = planPair(ctx, pair, attio, salesforce, fieldTimes);
  if (attio && mapped) {
    const issues = mapped.issues.filter((i) => isWarning(i) && ctx.toSalesforceFields.includes(i.salesforce));
    along.push({ kind: "warn", direction: "attio_to_sf", issues, fields: ctx.toSalesforceFields });
    for (const ref of mapped.deferred) {
      along.push(defer("attio", attio.id.record_id, ref.targetObject, ref.sourceId));
    }
  }
  if (salesforce) {
    for (const need of salesforceReferences(compiled, salesforce)) {
      if (!mapOptions.ids.attioIdFor(need.targetObject, need.id)) {
        along.push(defer("salesforce", salesforce.Id, need.targetObject, need.id));
      }
    }
  }
  if (operation === "update" && unchanged(plan, pair?.base)) {
    return { along, final: { kind: "settle", reason: "unchanged" } };
  }
  return { along, final: { kind: "write", operation, plan, attio, salesforce, attioSide: mapped?.values } };
}

/**
 * The field merge of one pair as the planner sees it: the Attio record mapped to Salesforce fields
 * (undefined without one) and the plan over both sides and the base. `explain` reads it too.
 */
export function planPair(
  ctx: DecideContext,
  pair: LinkedPair | undefined,
  attio: AttioRecord | undefined,
  salesforce: SfRecordRow | undefined,
  fieldTimes: FieldTimes | undefined,
): {
  plan: FieldPlan;
  mapped: AttioSide | undefined;
  salesforce: Values | undefined;
  /** Per Salesforce field, when a change event gave it its current value (field-times.ts). */
  salesforceFieldChangedAt: Record<string, string>;
} {
  const mapped = attio ? attioSide(ctx.compiled, attio.values, ctx.mapOptions) : undefined;
  const sfValues = salesforce ? salesforceSide(ctx.compiled, salesforce) : undefined;
  const salesforceFieldChangedAt = salesforce ? fieldChangedAt(ctx.compiled, fieldTimes, salesforce) : {};
  const plan = planFields(
    ctx.policies,
    {
      attio: mapped?.values,
      salesforce: sfValues,
      base: pair?.base ?? undefined,
      attioChangedAt: mapped?.changedAt ?? {},
      salesforceChangedAt: salesforceChangedAt(salesforce),
      salesforceFieldChangedAt,
    },
    ctx.strategy,
    ctx.direction,
  );
  return { plan, mapped, salesforce: sfValues, salesforceFieldChangedAt };
}

/** When the Salesforce record last changed (LastModifiedDate), if it says. */
export function salesforceChangedAt(salesforce: SfRecordRow | undefined): string | undefined {
  const at = salesforce?.["LastModifiedDate"];
  return typeof at === "string" ? at : undefined;
}

function defer(side: Side, recordId: string, targetObject: string, targetId: string): SideDecision {
  return { kind: "defer", side, recordId, targetObject, targetId };
}

function candidateId(candidate: AttioRecord | SfRecordRow): string {
  return "Id" in candidate ? String(candidate.Id) : (candidate as AttioRecord).id.record_id;
}

function flowsToSalesforce(direction: Direction, global: SyncDirection): boolean {
  const effective = effectiveDirection(direction, global);
  return effective === "both" || effective === "attio_to_sf";
}

/** Nothing to write, nothing held, and the base would stay as stored. */
function unchanged(plan: FieldPlan, stored: Base | null | undefined): boolean {
  return (
    Object.keys(plan.toSalesforce).length === 0 &&
    Object.keys(plan.toAttio).length === 0 &&
    plan.conflicts.length === 0 &&
    sameBase(stored, plan.nextBase)
  );
}

function sameBase(stored: Base | null | undefined, next: { attio: Values; salesforce: Values }): boolean {
  if (!stored) return false;
  return (
    JSON.stringify(sortKeys(stored.attio)) === JSON.stringify(sortKeys(next.attio)) &&
    JSON.stringify(sortKeys(stored.salesforce)) === JSON.stringify(sortKeys(next.salesforce))
  );
}

function sortKeys(values: Values): [string, SfScalar][] {
  return Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
}
