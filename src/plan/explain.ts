import type { SfScalar } from "../mapping/types.ts";
import { type DecideContext, decide, planPair, salesforceChangedAt } from "./decide.ts";
import type { FinalDecision, RecordFacts, Side } from "./decision.ts";
import { effectiveDirection, sameValue } from "./plan-fields.ts";

/**
 * "Why isn't this record in sync?": one record explained from what is known about it. Pure: the
 * route reads both sides live, the record's open items and its last audited decision, and passes
 * them in with the deployment's mode; the engine's own decision function (decide.ts) says what a
 * sync would do now, without doing it.
 */

/** The deployment's mode: `setup` and `paused` write nothing to either CRM. */
export type { Mode } from "../store/mode.ts";

import type { Mode } from "../store/mode.ts";

/**
 * The stable reason codes, most specific first in the order explain picks them (a record with an
 * open conflict and a paused deployment is `conflict_held`: resuming alone would not sync it).
 * Each has a meaning and a next step (docs/API.md lists them; TROUBLESHOOTING.md too).
 */
export const REASONS = {
  in_sync: {
    meaning: "Both sides hold the mapped values of the last synced base: nothing to do.",
    next: "Nothing to do.",
  },
  not_mapped: {
    meaning: "No mapping syncs this object: records of it are never synced.",
    next: "Add a mapping for the object (config.toml [[custom_mappings]], PUT /api/v1/config) if it should sync.",
  },
  mapping_disabled: {
    meaning:
      "The object's mapping is switched off (by the configuration, or because it cannot run against a CRM's schema).",
    next: "Fix or enable the mapping: POST /api/v1/validate names every problem; GET /api/v1/status shows why it is off.",
  },
  not_found: {
    meaning: "The record does not exist on this side (or the integration user cannot see it), and it was never linked.",
    next: "Check the object and id; a Salesforce record must be visible to the integration user.",
  },
  delete_held: {
    meaning: "The record (or its counterpart) was deleted on one side and the delete waits for a person.",
    next: "Approve or reject it: POST /api/v1/deletes/{id} (GET /api/v1/deletes lists them).",
  },
  ambiguous_match: {
    meaning: "Several records on the other side share this record's match key: the sync will not guess which one.",
    next: "Pick one: POST /api/v1/matches/{id} with the candidate_id (GET /api/v1/matches lists them).",
  },
  conflict_held: {
    meaning:
      "A field changed on both sides to different values since the last sync, and the strategy leaves it to a person.",
    next: "Resolve it: POST /api/v1/conflicts/{id} with a side or a value (GET /api/v1/conflicts lists them).",
  },
  write_rejected: {
    meaning:
      "An API refused a write of this record (a validation rule, a required field, a value the field cannot take).",
    next: "Fix the cause the error names (the value, or the rule in the CRM), then replay: POST /api/v1/failures/{id}/replay.",
  },
  value_unmappable: {
    meaning:
      "A value of this record cannot be written to the other side (an unknown country or option, an invalid email, a user with no counterpart): that field is left out, the rest syncs.",
    next: "Change the value in the CRM, or extend the mapping's table in config.toml; the next sync of the record clears the warning. Or accept it: POST /api/v1/failures/{id}/dismiss.",
  },
  reference_pending: {
    meaning:
      "A reference of this record (its company, its account) points to a record with no counterpart yet: that field waits.",
    next: "Nothing, usually: the referenced record is synced first and this one completed. If it stays, sync the referenced record (POST /api/v1/sync, mode records).",
  },
  not_visible: {
    meaning:
      "The linked Salesforce record is no longer returned, yet not deleted: it is hidden from the integration user (sharing or permissions).",
    next: "Give the integration user access to the record again; nothing was deleted.",
  },
  paused: {
    meaning: "The sync is paused: nothing is written to either CRM; changes are kept and delivered on resume.",
    next: "POST /api/v1/resume when ready.",
  },
  not_started: {
    meaning: "The deployment is in setup: nothing is written to either CRM until it is started.",
    next: "POST /api/v1/start (a dry-run job first shows what it would do).",
  },
  waiting_for_api: {
    meaning:
      "A change of this record is parked because an API is out or its daily limit is spent; it is sent again on its own once the API answers.",
    next: "Nothing to do: it is delivered within a minute of recovery. GET /api/v1/status shows the outage.",
  },
  no_counterpart_yet: {
    meaning: "The record has no counterpart yet: the next sync of it creates one (or links the match it found).",
    next: "Usually nothing: its event is on its way. To sync it now: POST /api/v1/sync with mode records.",
  },
  waiting_in_queue: {
    meaning:
      "One side changed since the last sync and nothing blocks it: the change is in the queue (or, if its event was missed, the next catch-up takes it).",
    next: "Usually nothing: it is synced within seconds. If it stays, sync it now: POST /api/v1/sync with mode records.",
  },
} as const satisfies Record<string, { meaning: string; next: string }>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as [ReasonCode, ...ReasonCode[]];

/** Which mapping the record's object belongs to. */
export type MappingState =
  | { kind: "not_mapped" }
  | { kind: "disabled"; name: string; why: readonly string[] }
  | { kind: "enabled"; ctx: DecideContext };

/** The open items stored about the record (either of its ids). */
export interface OpenItems {
  failures: readonly { id: string; errorCode: string; errorMessage: string; attempts: number; lastFailedAt: string }[];
  warnings: readonly {
    id: string;
    direction: "attio_to_sf" | "sf_to_attio";
    field: string;
    attribute: string;
    code: string;
    message: string;
    value: unknown;
  }[];
  conflicts: readonly {
    id: string;
    field: string;
    baseValue: unknown;
    attioValue: unknown;
    sfValue: unknown;
    createdAt: string;
  }[];
  deletes: readonly { id: string; deletedOn: Side; reason: string; detectedAt: string }[];
  matches: readonly { id: string; side: Side; recordId: string; candidates: readonly string[]; createdAt: string }[];
  parked: readonly { key: string; reason: string; errorMessage: string; firstParkedAt: string }[];
}

export const NO_ITEMS: OpenItems = { failures: [], warnings: [], conflicts: [], deletes: [], matches: [], parked: [] };

/** The last audited decision about the record (an audit row). */
export interface LastDecision {
  at: string;
  operation: string;
  direction: string;
  actor: string | null;
  correlationId: string;
}

export interface ExplainInput {
  side: Side;
  object: string;
  recordId: string;
  mode: Mode;
  mapping: MappingState;
  /** What was read of the record and its counterpart (with an internal touch); absent when not mapped. */
  facts: RecordFacts | undefined;
  items: OpenItems;
  lastDecision: LastDecision | null;
}

/** Whose value of a field changed since the base (both: the newer one by time). */
export type Newer = "attio" | "salesforce" | "none";

/** What a sync would do with one field now. */
export type FieldAction =
  | "nothing"
  | "write_to_salesforce"
  | "write_to_attio"
  | "hold_conflict"
  /** The value cannot be read as the mapping needs (unmappable, a pending reference): the field waits. */
  | "wait"
  /** Not synced under the global direction. */
  | "not_synced"
  /** The record's decision is not a field write (a delete, a held match, ...). */
  | "none";

export interface FieldRow {
  field: string;
  attribute: string;
  direction: string;
  attio: SfScalar | undefined;
  salesforce: SfScalar | undefined;
  base: { attio: SfScalar | undefined; salesforce: SfScalar | undefined } | null;
  in_sync: boolean;
  newer: Newer;
  would: FieldAction;
  /** The value a write would send, or the winner of a conflict the strategy decided. */
  value?: SfScalar;
  winner?: "attio" | "salesforce";
}

export interface Explanation {
  in_sync: boolean;
  reason: ReasonCode;
  meaning: string;
  next_step: string;
  mode: Mode;
  mapping: string | null;
  record: { side: Side; object: string; record_id: string; exists: boolean };
  counterpart: { side: Side; object: string; record_id: string; linked: boolean; exists: boolean } | null;
  /** What a sync would do now (the engine's decision, not executed). */
  decision: { kind: FinalDecision["kind"]; detail: Record<string, unknown> } | null;
  fields: FieldRow[];
  open_items: OpenItems;
  last_decision: LastDecision | null;
}

/** Explains one record. Pure. */
export function explain(input: ExplainInput): Explanation {
  const { mapping, facts } = input;
  const base = {
    mode: input.mode,
    record: { side: input.side, object: input.object, record_id: input.recordId, exists: false },
    open_items: input.items,
    last_decision: input.lastDecision,
  };
  if (mapping.kind !== "enabled" || !facts) {
    const reason: ReasonCode = mapping.kind === "disabled" ? "mapping_disabled" : "not_mapped";
    const why = mapping.kind === "disabled" && mapping.why.length > 0 ? ` (${mapping.why.join("; ")})` : "";
    return {
      ...base,
      ...answer(reason, input),
      meaning: REASONS[reason].meaning + why,
      mapping: mapping.kind === "disabled" ? mapping.name : null,
      counterpart: null,
      decision: null,
      fields: [],
    };
  }
  const { ctx } = mapping;
  const own = input.side === "attio" ? facts.attio : facts.salesforce;
  const { final, along } = decide(ctx, facts);
  const matched = matchedRecord(final, facts);
  const attio = final.kind === "write" ? final.attio : (facts.attio ?? undefined);
  const salesforce = final.kind === "write" ? final.salesforce : (facts.salesforce ?? undefined);
  const planned = planPair(ctx, facts.pair, attio, salesforce, facts.salesforceFieldTimes);
  const fields = fieldRows(ctx, facts, planned, final, attio !== undefined, salesforce !== undefined);
  const deferred = new Set((planned.mapped?.deferred ?? []).map((ref) => ref.salesforce));
  const unmappable = along.some((d) => d.kind === "warn" && d.issues.length > 0);
  const inSync =
    facts.pair !== undefined &&
    facts.pair.base !== null &&
    facts.attio != null &&
    facts.salesforce != null &&
    final.kind === "settle" &&
    fields.every((row) => row.in_sync || row.would === "not_synced") &&
    // A value left unwritten, a conflict or a delete held: the two sides differ until a person acts.
    input.items.warnings.length === 0 &&
    input.items.conflicts.length === 0 &&
    input.items.deletes.length === 0;
  const reason = reasonOf(input, {
    inSync,
    exists: own != null,
    final,
    unmappable,
    waits: fields.filter((row) => row.would === "wait").map((row) => row.field),
    deferred,
  });
  return {
    ...base,
    ...answer(reason, input),
    in_sync: inSync,
    mapping: ctx.compiled.mapping.name,
    record: { ...base.record, exists: own != null },
    counterpart: counterpartOf(input, facts, matched),
    decision: decisionOf(final),
    fields,
  };
}

function answer(reason: ReasonCode, input: ExplainInput) {
  return { in_sync: false, reason, meaning: REASONS[reason].meaning, next_step: nextStep(reason, input.items) };
}

/** The reason: what blocks the record, most specific (and most in need of a person) first. */
function reasonOf(
  input: ExplainInput,
  seen: {
    inSync: boolean;
    exists: boolean;
    final: FinalDecision;
    unmappable: boolean;
    waits: readonly string[];
    deferred: ReadonlySet<string>;
  },
): ReasonCode {
  const { items } = input;
  const { final } = seen;
  if (seen.inSync) return "in_sync";
  if (!seen.exists && !input.facts?.pair) return "not_found";
  if (final.kind === "skip") return "not_found";
  if (items.deletes.length > 0 || final.kind === "hold_delete") return "delete_held";
  if (items.matches.length > 0 || final.kind === "ambiguous") return "ambiguous_match";
  const plannedConflicts = final.kind === "write" && final.plan.conflicts.length > 0;
  if (items.conflicts.length > 0 || plannedConflicts) return "conflict_held";
  const rejected = items.warnings.some((w) => w.code === "rejected_by_salesforce");
  if (items.failures.length > 0 || rejected) return "write_rejected";
  const waitsOnValue = seen.waits.some((field) => !seen.deferred.has(field));
  if (items.warnings.length > 0 || seen.unmappable || waitsOnValue) return "value_unmappable";
  if (final.kind === "not_visible") return "not_visible";
  if (seen.waits.length > 0) return "reference_pending";
  if (input.mode === "paused") return "paused";
  if (input.mode === "setup") return "not_started";
  if (items.parked.length > 0) return "waiting_for_api";
  if (!input.facts?.pair) return "no_counterpart_yet";
  return "waiting_in_queue";
}

/** The next step, naming the open item it is about where there is one. */
function nextStep(reason: ReasonCode, items: OpenItems): string {
  const generic = REASONS[reason].next;
  const first = (rows: readonly { id: string }[]) => rows[0]?.id;
  const id =
    reason === "delete_held"
      ? first(items.deletes)
      : reason === "ambiguous_match"
        ? first(items.matches)
        : reason === "conflict_held"
          ? first(items.conflicts)
          : reason === "write_rejected"
            ? (first(items.failures) ?? first(items.warnings.filter((w) => w.code === "rejected_by_salesforce")))
            : reason === "value_unmappable"
              ? first(items.warnings)
              : undefined;
  return id === undefined ? generic : generic.replace("{id}", encodeURIComponent(id));
}

/** The record a write would link to or plan from on the other side, when there is no pair. */
function matchedRecord(final: FinalDecision, facts: RecordFacts): string | undefined {
  if (facts.pair || final.kind !== "write") return undefined;
  return facts.touch.side === "attio" ? final.salesforce?.Id : final.attio?.id.record_id;
}

function counterpartOf(
  input: ExplainInput,
  facts: RecordFacts,
  matched: string | undefined,
): Explanation["counterpart"] {
  if (input.mapping.kind !== "enabled") return null;
  const { mapping } = input.mapping.ctx.compiled;
  const other: Side = input.side === "attio" ? "salesforce" : "attio";
  const object = other === "attio" ? mapping.attio_object : mapping.salesforce_object;
  const pair = facts.pair?.mapping;
  const id = pair ? (other === "attio" ? pair.attioRecordId : pair.sfRecordId) : matched;
  if (id === undefined) return null;
  const read = other === "attio" ? facts.attio : facts.salesforce;
  return { side: other, object, record_id: id, linked: pair !== undefined, exists: pair ? read != null : true };
}

function decisionOf(final: FinalDecision): Explanation["decision"] {
  switch (final.kind) {
    case "write":
      return {
        kind: final.kind,
        detail: {
          operation: final.operation,
          to_salesforce: final.plan.toSalesforce,
          to_attio: final.plan.toAttio,
          conflicts: final.plan.conflicts.map((c) => c.field),
        },
      };
    case "settle":
    case "skip":
      return { kind: final.kind, detail: { reason: final.reason } };
    case "retry":
      return { kind: final.kind, detail: { reason: final.reason, after_seconds: final.afterSeconds } };
    case "ambiguous":
      return { kind: final.kind, detail: { candidates: final.candidates } };
    case "delete":
      return { kind: final.kind, detail: { deleted_on: final.on, policy: final.policy } };
    case "hold_delete":
      return { kind: final.kind, detail: { deleted_on: final.on, reason: final.reason } };
    case "not_visible":
      return { kind: final.kind, detail: { on: final.on } };
    case "follow_merge":
      return { kind: final.kind, detail: { master: final.master } };
  }
}

/** One row per mapped field: both sides, the base, whose change is newer, what a sync would do. */
function fieldRows(
  ctx: DecideContext,
  facts: RecordFacts,
  planned: ReturnType<typeof planPair>,
  final: FinalDecision,
  hasAttio: boolean,
  hasSalesforce: boolean,
): FieldRow[] {
  const { plan, mapped, salesforce } = planned;
  const base = facts.pair?.base ?? null;
  const sfAt = salesforceChangedAt(final.kind === "write" ? final.salesforce : (facts.salesforce ?? undefined));
  const fieldAction = final.kind === "write" || final.kind === "settle";
  return ctx.compiled.fields.map((field): FieldRow => {
    const name = field.spec.salesforce;
    const direction = effectiveDirection(field.spec.direction, ctx.direction);
    const a = mapped?.values[name];
    const s = salesforce?.[name];
    const readA = mapped !== undefined && name in mapped.values;
    const readS = salesforce !== undefined && name in salesforce;
    const baseA = base?.attio[name];
    const baseS = base?.salesforce[name];
    const attioChanged = readA && (!base || !sameValue(a, baseA));
    const sfChanged = readS && (!base || !sameValue(s, baseS));
    const waits =
      direction !== null &&
      ((direction !== "sf_to_attio" && hasAttio && !readA) || (direction !== "attio_to_sf" && hasSalesforce && !readS));
    const conflict = plan.conflicts.find((c) => c.field === name);
    const resolved = plan.resolved.find((c) => c.field === name);
    let would: FieldAction = "nothing";
    let value: SfScalar | undefined;
    if (direction === null) would = "not_synced";
    else if (!fieldAction) would = "none";
    else if (waits) would = "wait";
    else if (conflict) would = "hold_conflict";
    else if (name in plan.toSalesforce) {
      would = "write_to_salesforce";
      value = plan.toSalesforce[name] ?? null;
    } else if (name in plan.toAttio) {
      would = "write_to_attio";
      value = plan.toAttio[name] ?? null;
    }
    return {
      field: name,
      attribute: field.spec.attio,
      direction: direction ?? "none",
      attio: readA ? (a ?? null) : undefined,
      salesforce: readS ? (s ?? null) : undefined,
      base: base ? { attio: baseA, salesforce: baseS } : null,
      // Each side holds its base value (a side that cannot say is in sync only where nothing flows to it).
      in_sync:
        base !== null &&
        (readA ? sameValue(a, baseA) : direction === "sf_to_attio") &&
        (readS ? sameValue(s, baseS) : direction === "attio_to_sf"),
      newer: newerOf(attioChanged, sfChanged, mapped?.changedAt[name], planned.salesforceFieldChangedAt[name] ?? sfAt),
      would,
      ...(value !== undefined ? { value } : {}),
      ...(resolved ? { winner: resolved.winner } : {}),
    };
  });
}

function newerOf(
  attioChanged: boolean,
  sfChanged: boolean,
  attioAt: string | undefined,
  sfAt: string | undefined,
): Newer {
  if (attioChanged && !sfChanged) return "attio";
  if (sfChanged && !attioChanged) return "salesforce";
  if (!attioChanged && !sfChanged) return "none";
  if (!attioAt || !sfAt) return attioAt ? "attio" : "salesforce";
  return Date.parse(attioAt) > Date.parse(sfAt) ? "attio" : "salesforce";
}
