import type { EngineOptions } from "../engine/options.ts";
import { syncMapping } from "../engine/run.ts";
import { chunk } from "../lib/chunk.ts";
import { toSyncError } from "../lib/errors.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import { outcomeOfError } from "../plan/isolate.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import type { Touch } from "../plan/touch.ts";
import type { SyncDeps } from "../sync/deps.ts";

/** Touches per slice of a group bound for Attio: one Salesforce `Id IN` read each. */
export const ATTIO_BOUND_SLICE = 400;

/**
 * Syncs a mapping's touches like `syncMapping`, slicing a large group of Salesforce-side touches (a
 * job's page: 2,000 records bound for Attio) so the next slice leases and reads while the current
 * one writes.
 *
 * Attio takes writes one record at a time at the limiter's pace; whole, a group of 2,000 leaves
 * that pace idle for the seconds it spends reading and matching before its first write. Slices
 * write one after another (more writers at once would only crowd the isolate and wake late for
 * their slots), and each reads during its predecessor's writes. Other groups stay whole: their
 * writes go to Salesforce in batches (Collections, Bulk above the threshold) that slices would only
 * split.
 */
export async function syncMappingSliced(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  options: EngineOptions,
  sliceSize = ATTIO_BOUND_SLICE,
): Promise<Map<Touch, TouchOutcome>> {
  if (touches.length <= sliceSize || touches.some((touch) => touch.side !== "salesforce")) {
    return syncMapping(deps, compiled, touches, options);
  }
  const outcomes = new Map<Touch, TouchOutcome>();
  await pipeline(chunk(touches, sliceSize), (slice, turn) =>
    syncMapping(deps, compiled, slice, {
      ...options,
      beforeWriting: async () => {
        await turn();
        await options.beforeWriting?.();
      },
    }).then(
      (result) => {
        for (const [touch, outcome] of result) outcomes.set(touch, outcome);
      },
      (thrown) => {
        const outcome = outcomeOfError(toSyncError(thrown));
        for (const touch of slice) outcomes.set(touch, outcome);
      },
    ),
  );
  return outcomes;
}

/**
 * Runs `run` over the slices in order, two deep. A slice calls `turn()` once it has read, and
 * awaits it before writing: it resolves when the slice before has finished. The next slice starts
 * as soon as the current one's turn has come (or it finished without asking). `run` must not reject.
 *
 * @example
 * await pipeline([a, b, c], async (slice, turn) => { await read(slice); await turn(); await write(slice); });
 * // b reads while a writes, then writes once a is done; c reads while b writes.
 */
export async function pipeline<T>(
  slices: readonly T[],
  run: (slice: T, turn: () => Promise<void>) => Promise<void>,
): Promise<void> {
  let previous: Promise<void> = Promise.resolve();
  for (const slice of slices) {
    let asked = () => {};
    const turnAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const before = previous;
    const done = run(slice, () => {
      asked();
      return before;
    }).finally(asked);
    await turnAsked;
    await before;
    previous = done;
  }
  await previous;
}
