import type { ConflictOwner, Direction, SfScalar } from "../mapping/types.ts";

/**
 * The three-way, field-by-field merge at the heart of the sync. Pure.
 *
 * Values are compared in one space, the Salesforce field space: the Attio side is what its record
 * maps to (mapToSalesforce), the Salesforce side is the record's own field values. The base keeps
 * both sides as they were last seen in sync, so each side is compared with its own past and a lossy
 * or normalising transform (a URL, an industry, a range) never looks like a change.
 */

export type Strategy = "last_write" | "attio_wins" | "sf_wins" | "manual";
export type SyncDirection = "bidirectional" | "attio_to_sf" | "sf_to_attio";
export type Values = Readonly<Record<string, SfScalar>>;

export interface FieldPolicy {
  /** Salesforce field name: the key of the field in every Values object. */
  field: string;
  direction: Direction;
  owner?: ConflictOwner | undefined;
}

export interface Base {
  attio: Values;
  salesforce: Values;
}

export interface PairValues {
  /** The Attio record mapped to Salesforce fields; undefined when there is no Attio record. */
  attio: Values | undefined;
  /** The Salesforce record's values; undefined when there is no Salesforce record. */
  salesforce: Values | undefined;
  /** The last synced values; undefined before the first sync of the pair. */
  base: Base | undefined;
  /** When each Attio field last changed (its value's active_from), for last_write. */
  attioChangedAt?: Readonly<Record<string, string>>;
  /** When the Salesforce record last changed (LastModifiedDate), for last_write. */
  salesforceChangedAt?: string | undefined;
  /**
   * When a change event gave a Salesforce field its current value (field-times.ts), for last_write:
   * more exact than LastModifiedDate, which a later change of any other field moves.
   */
  salesforceFieldChangedAt?: Readonly<Record<string, string>> | undefined;
}

export interface FieldConflict {
  field: string;
  base: SfScalar | undefined;
  attio: SfScalar | undefined;
  salesforce: SfScalar | undefined;
}

export interface FieldPlan {
  /** Fields to write to Salesforce, with their values. */
  toSalesforce: Record<string, SfScalar>;
  /** Fields to write to Attio, in Salesforce field space (mapToAttio turns them into Attio values). */
  toAttio: Record<string, SfScalar>;
  /** Fields changed on both sides to different values and left alone (manual strategy). */
  conflicts: FieldConflict[];
  /** Conflicts decided by the strategy, for the audit trail. */
  resolved: (FieldConflict & { winner: "attio" | "salesforce" })[];
  /** The base to store once the writes succeeded. */
  nextBase: { attio: Record<string, SfScalar>; salesforce: Record<string, SfScalar> };
  /**
   * Fields Salesforce refused and that were written without (field-rejections.ts): their base is
   * the one in nextBase, never refreshed from what Attio holds.
   */
  unwritten?: readonly string[];
}

function isEmpty(value: SfScalar | undefined): boolean {
  return value === null || value === undefined || value === "";
}

/** Empty, null and missing are one value: "nothing". Numbers and numeric strings compare as numbers. */
export function sameValue(a: SfScalar | undefined, b: SfScalar | undefined): boolean {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b);
  if (a === b) return true;
  if (typeof a === "number" || typeof b === "number")
    return Number(a) === Number(b) && String(a).trim() !== "" && String(b).trim() !== "";
  return false;
}

/** The direction a field really has once the global SYNC_DIRECTION is applied; null: not synced at all. */
export function effectiveDirection(direction: Direction, global: SyncDirection): Direction | null {
  if (global === "bidirectional") return direction;
  const only: Direction = global === "attio_to_sf" ? "attio_to_sf" : "sf_to_attio";
  return direction === "both" || direction === only ? only : null;
}

/**
 * Plans one record pair.
 *
 * @example
 * planFields([{ field: "Title", direction: "both" }], {
 *   attio: { Title: "CTO" }, salesforce: { Title: "VP" },
 *   base: { attio: { Title: "VP" }, salesforce: { Title: "VP" } },
 * }, "manual", "bidirectional").toSalesforce; // { Title: "CTO" }
 */
export function planFields(
  policies: readonly FieldPolicy[],
  pair: PairValues,
  strategy: Strategy,
  global: SyncDirection,
): FieldPlan {
  const plan: FieldPlan = {
    toSalesforce: {},
    toAttio: {},
    conflicts: [],
    resolved: [],
    nextBase: { attio: { ...pair.base?.attio }, salesforce: { ...pair.base?.salesforce } },
  };
  for (const policy of policies) {
    const direction = effectiveDirection(policy.direction, global);
    if (direction) planField(plan, policy, direction, pair, strategy);
  }
  return plan;
}

function planField(plan: FieldPlan, policy: FieldPolicy, direction: Direction, pair: PairValues, strategy: Strategy) {
  const { field } = policy;
  const a = pair.attio?.[field];
  const s = pair.salesforce?.[field];
  const canReadAttio = pair.attio !== undefined && field in pair.attio;
  const canReadSf = pair.salesforce !== undefined && field in pair.salesforce;
  const baseA = pair.base?.attio[field];
  const baseS = pair.base?.salesforce[field];
  const hasBase = pair.base !== undefined && (field in pair.base.attio || field in pair.base.salesforce);
  // A record that exists but cannot say what this field holds (an unresolved reference, a value the
  // transform cannot map) must not be overwritten from the other side: the field waits.
  if (direction !== "sf_to_attio" && pair.attio !== undefined && !canReadAttio) return;
  if (direction !== "attio_to_sf" && pair.salesforce !== undefined && !canReadSf) return;
  const attioChanged = canReadAttio && (!hasBase || !sameValue(a, baseA));
  const sfChanged = canReadSf && (!hasBase || !sameValue(s, baseS));

  const toSf = (value: SfScalar | undefined) => {
    if (!canReadSf || !sameValue(value, s)) plan.toSalesforce[field] = value ?? null;
    plan.nextBase.attio[field] = value ?? null;
    plan.nextBase.salesforce[field] = value ?? null;
  };
  const toAttio = (value: SfScalar | undefined) => {
    if (!canReadAttio || !sameValue(value, a)) plan.toAttio[field] = value ?? null;
    plan.nextBase.attio[field] = value ?? null;
    plan.nextBase.salesforce[field] = value ?? null;
  };
  const settle = () => {
    if (canReadAttio) plan.nextBase.attio[field] = a ?? null;
    if (canReadSf) plan.nextBase.salesforce[field] = s ?? null;
  };

  // One-way fields: the source flows when it changed; the target's own edits are not copied back.
  if (direction === "attio_to_sf") {
    if (attioChanged) toSf(a);
    else settle();
    return;
  }
  if (direction === "sf_to_attio") {
    if (sfChanged) toAttio(s);
    else settle();
    return;
  }
  if (attioChanged && !sfChanged) return toSf(a);
  if (sfChanged && !attioChanged) return toAttio(s);
  if (!attioChanged && !sfChanged) return settle();
  // Changed on both sides (or first sync): the same value is settled; different values conflict.
  if (sameValue(a, s)) return settle();
  // With no base, filling a blank is not a conflict: the side that has a value gives it.
  if (!hasBase && isEmpty(s)) return toSf(a);
  if (!hasBase && isEmpty(a)) return toAttio(s);
  const conflict: FieldConflict = {
    field,
    base: hasBase ? (baseS ?? baseA ?? null) : undefined,
    attio: a,
    salesforce: s,
  };
  const winner = decide(policy.owner, strategy, field, pair);
  if (winner === "manual") {
    plan.conflicts.push(conflict);
    return;
  }
  plan.resolved.push({ ...conflict, winner });
  if (winner === "attio") toSf(a);
  else toAttio(s);
}

function decide(owner: ConflictOwner | undefined, strategy: Strategy, field: string, pair: PairValues) {
  const rule = owner ?? strategy;
  switch (rule) {
    case "attio":
    case "attio_wins":
      return "attio" as const;
    case "salesforce":
    case "sf_wins":
      return "salesforce" as const;
    case "manual":
      return "manual" as const;
    case "last_write": {
      const attioAt = pair.attioChangedAt?.[field];
      const sfAt = pair.salesforceFieldChangedAt?.[field] ?? pair.salesforceChangedAt;
      if (!attioAt || !sfAt) return attioAt ? ("attio" as const) : ("salesforce" as const);
      // Ties go to Salesforce: deterministic, and its timestamp is the one with second precision.
      return Date.parse(attioAt) > Date.parse(sfAt) ? ("attio" as const) : ("salesforce" as const);
    }
  }
}
