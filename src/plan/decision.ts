import type { AttioRecord } from "../attio/record-schema.ts";
import type { MappingIssue } from "../mapping/types.ts";
import type { SfRecordRow } from "../salesforce/client.ts";
import type { FieldTimes } from "./field-times.ts";
import type { Base, FieldPlan, Values } from "./plan-fields.ts";
import type { Touch } from "./touch.ts";

/** What to do when a linked record disappears on one side (config `delete_policy`). */
export type DeletePolicy = "hold" | "propagate" | "ignore";

export type Side = "attio" | "salesforce";

/** A pair as the planner needs it (store/pairs.ts `Pair` is one). */
export interface LinkedPair {
  mapping: { id: string; attioRecordId: string; sfRecordId: string; createdAt: string };
  base: Base | null;
  sfSystemModstamp: string | null;
  /** The Attio record this pair was linked to before an Attio merge moved it (never stored). */
  movedFrom?: string;
}

/** Why a touch needs no sync: its change is already in the base (mostly the echo of our own write). */
export type SettleReason = "create_event_matches_base" | "event_matches_base" | "attio_matches_base" | "unchanged";

/** Why a touch is tried again later rather than decided now. */
export type RetryReason = "own_create_waiting" | "candidate_busy";

/** The planned write of one record: create its counterpart, link it to one, or update the pair. */
export interface WriteDecision {
  kind: "write";
  operation: "create" | "update" | "link";
  plan: FieldPlan;
  /** The records planned from: the touched one and its counterpart (linked or matched), if any. */
  attio: AttioRecord | undefined;
  salesforce: SfRecordRow | undefined;
  /** The Attio side as mapped for planning (reused for the next base when it cannot change). */
  attioSide: Values | undefined;
}

/**
 * One decision about one touched record. A touch gets a list: the side decisions it brings along
 * (defer, hold_merged_away, warn), then exactly one final decision.
 */
export type Decision =
  /** Nothing to sync: the change is already in the base. */
  | { kind: "settle"; reason: SettleReason }
  /** Not now: try again after `afterSeconds`. */
  | { kind: "retry"; reason: RetryReason; afterSeconds: number }
  /** The record no longer exists and was never linked: nothing to do. */
  | { kind: "skip"; reason: "gone_never_linked" }
  /** Several records on the other side share the match key: a person picks one. */
  | { kind: "ambiguous"; candidates: string[] }
  /** The linked record is gone on `on`: delete its counterpart too (propagate) or only unlink (ignore). */
  | { kind: "delete"; on: Side; policy: "propagate" | "ignore" }
  /** The linked record is gone on `on`: held for a person (delete policy `hold`). */
  | { kind: "hold_delete"; on: Side; reason: "policy" }
  /**
   * The circuit breaker: the run would delete more counterparts than the threshold allows, so each
   * is held for a person instead, all under one `batch` (see decide.ts breakMassDeletes).
   */
  | { kind: "hold_delete"; on: Side; reason: "mass_delete"; batch: string; count: number; threshold: number }
  /**
   * The linked Salesforce record was not returned, yet it is not deleted either (queryAll has no
   * IsDeleted row for it): it is hidden from the integration user (sharing or permissions changed).
   * Nothing is deleted; the record is reported.
   */
  | { kind: "not_visible"; on: "salesforce" }
  /** The Salesforce record lost a merge to `master`, which is linked to another record: held for a person. */
  | { kind: "hold_delete"; on: "salesforce"; reason: "merged_into_linked"; master: string }
  /** The Salesforce record lost a merge: the pair moves to the surviving record, `master`. */
  | { kind: "follow_merge"; master: string }
  /** An Attio merge's other original, whose pair cannot move (the survivor has one): held for a person. */
  | { kind: "hold_merged_away"; pairId: string }
  /** A reference whose target has no counterpart yet: remembered, and its parent asked to sync. */
  | { kind: "defer"; side: Side; recordId: string; targetObject: string; targetId: string }
  /**
   * The record's values were checked for one direction: `issues` are those not written as they are
   * (stored as warnings), and warnings of `fields` not among them are cleared.
   */
  | { kind: "warn"; direction: "attio_to_sf"; issues: readonly MappingIssue[]; fields: readonly string[] }
  | WriteDecision;

/** The decisions that ride along with a touch's final one. */
export type SideDecision = Extract<Decision, { kind: "defer" | "hold_merged_away" | "warn" }>;
/** The decisions that end a touch: exactly one per touch, last in its list. */
export type FinalDecision = Exclude<Decision, SideDecision>;

/** Records on the other side found by the touched record's match key. */
export type Candidates =
  | { kind: "found"; records: readonly (AttioRecord | SfRecordRow)[] }
  /** Another consumer holds a candidate (it may be linking it right now): wait this long. */
  | { kind: "busy"; waitMs: number };

/** Everything the planner knows about one touched record, read under its lease. */
export interface RecordFacts {
  touch: Touch;
  /** The record's pair (for an Attio merge: the original's pair, moved to the survivor). */
  pair: LinkedPair | undefined;
  /** The Attio record: undefined when not read (no Attio side yet), null when it is gone. */
  attio: AttioRecord | null | undefined;
  salesforce: SfRecordRow | null | undefined;
  /**
   * When change events set the Salesforce record's fields, from every touch of it in the run (the
   * run may have been started by the Attio side): `last_write`'s per-field time (field-times.ts).
   */
  salesforceFieldTimes?: FieldTimes | undefined;
  /**
   * For a linked Salesforce record the read did not return: `deleted` when queryAll has it with
   * IsDeleted = true (in the Recycle Bin), else `not_visible`. Unset: not looked up, which counts
   * as not confirmed (a delete is never inferred from absence alone).
   */
  salesforceGone?: "deleted" | "not_visible" | undefined;
  /** For a linked Salesforce record that is gone: the record it was merged into, if it lost a merge. */
  salesforceMerge?: { master: string; masterLinked: boolean } | undefined;
  /** An Attio merge's originals whose pairs cannot move to the survivor (it has its own). */
  mergedAway?: readonly string[] | undefined;
  /** For a record with no pair: candidates by its match key (undefined: the mapping has none). */
  candidates?: Candidates | undefined;
}
