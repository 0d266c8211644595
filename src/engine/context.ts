import { SyncError } from "../lib/errors.ts";
import type { AttioValues } from "../mapping/attio-values.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import type { IdLookup } from "../mapping/transforms.ts";
import type { MappingIssue } from "../mapping/types.ts";
import type { DecideContext } from "../plan/decide.ts";
import type { LinkedPair, WriteDecision } from "../plan/decision.ts";
import type { OutcomeAction, TouchOutcome } from "../plan/outcome.ts";
import type { Touch } from "../plan/touch.ts";
import type { SyncDeps } from "../sync/deps.ts";
import type { EngineOptions } from "./options.ts";

/** The values of one record in one direction that were not written as they are. */
export interface SeenIssues {
  touch: Touch;
  direction: "attio_to_sf" | "sf_to_attio";
  issues: readonly MappingIssue[];
  /** The fields whose values were checked, so warnings of the others are left as they are. */
  fields: readonly string[];
  /** The record ids, learnt as the write goes (a create learns its new id). */
  ids: { attio: string | undefined; salesforce: string | undefined };
}

/** A decided write of one record, filled in as it goes (a create learns its new id). */
export interface PendingWrite {
  touch: Touch;
  pair: LinkedPair | undefined;
  decision: WriteDecision;
  /** The record ids, shared with the record's warnings (SeenIssues.ids). */
  ids: { attio: string | undefined; salesforce: string | undefined };
  /** The Attio record's values as last read or written (for the next base). */
  attioValues: AttioValues | undefined;
}

/** The run's leases as the executor sees them (leases.ts): renew them now, and which were lost. */
export interface Fence {
  renew(): Promise<void>;
  /** Whether the lease covering this touch was lost (taken by another consumer, or unconfirmed). */
  lost(touch: Touch): boolean;
}

/** What the executor's parts share for one engine run: passed explicitly, never a class's fields. */
export interface RunContext {
  deps: SyncDeps;
  compiled: CompiledMapping;
  options: EngineOptions;
  decide: DecideContext;
  /** The batch's id map; the executor adds each pair it links, for the references that follow. */
  ids: IdLookup & { link(attioObject: string, attioId: string, sfId: string): void };
  outcomes: Map<Touch, TouchOutcome>;
  /** Checked before each write: a record whose lease was lost is not written, and is retried. */
  fence: Fence;
  /** Pairs this run linked (created or matched), reported to `onLinked` once it is done. */
  linked: { attioId: string; sfId: string }[];
  /** Values not written as they are, stored as warnings once the run is done (warnings.ts). */
  seen: SeenIssues[];
}

export function done(
  run: RunContext,
  touch: Touch,
  action: OutcomeAction,
  more: { detail?: string; conflicts?: number; plan?: Record<string, unknown> } = {},
): void {
  run.outcomes.set(touch, { status: "done", action, ...more });
}

export function fail(run: RunContext, touch: Touch, error: SyncError, attempted?: unknown): void {
  run.outcomes.set(touch, error.retryable ? { status: "retry", error } : { status: "failed", error, attempted });
}

/**
 * Whether the touch's lease was lost; if so its outcome becomes a retry (another consumer holds
 * the pair now), so the caller writes nothing for it.
 */
export function leaseLost(run: RunContext, touch: Touch): boolean {
  if (!run.fence.lost(touch)) return false;
  retryLater(run.outcomes, touch, "the lease on this record was lost to another consumer: not written", 1);
  return true;
}

export function retryLater(outcomes: Map<Touch, TouchOutcome>, touch: Touch, message: string, seconds: number): void {
  const error = new SyncError("record_busy", message, { retryAfterSeconds: Math.max(1, Math.ceil(seconds)) });
  outcomes.set(touch, { status: "retry", error });
}
