import { toSyncError } from "../lib/errors.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import { chunk } from "../store/db.ts";
import type { SyncDeps } from "./deps.ts";
import { type EngineOptions, syncMapping, type Touch, type TouchOutcome } from "./engine.ts";

/** Touches per slice of a group bound for Attio: one Salesforce `Id IN` read each. */
export const ATTIO_BOUND_SLICE = 400;

/**
 * Syncs a mapping's touches like `syncMapping`, slicing a large group of Salesforce-side touches (a
 * job's page: 2,000 records bound for Attio) so the next slice leases, reads and matches while the
 * current one writes.
 *
 * Attio takes writes one record at a time at the limiter's pace; whole, a group of 2,000 leaves
 * that pace idle for the seconds it spends reading and matching before its first write. A slice
 * starts once the slice before it is writing and the one before that has finished: at most two are
 * alive, and their writes share the rate limiter. Other groups stay whole: their writes go to
 * Salesforce in batches (Collections, Bulk above the threshold) that slices would only split.
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
  await pipeline(chunk(touches, sliceSize), (slice, writing) =>
    syncMapping(deps, compiled, slice, { ...options, onWriting: writing }).then(
      (result) => {
        for (const [touch, outcome] of result) outcomes.set(touch, outcome);
      },
      (thrown) => {
        const error = toSyncError(thrown);
        for (const touch of slice) outcomes.set(touch, { status: "retry", error });
      },
    ),
  );
  return outcomes;
}

/**
 * Runs `run` over the slices in order, two deep: a slice starts once the slice before it has
 * called `writing` (or finished) and the one before that has finished. `run` must not reject.
 *
 * @example
 * await pipeline([a, b, c], async (slice, writing) => { await read(slice); writing(); await write(slice); });
 * // b reads while a writes; c starts once a is done and b writes.
 */
export async function pipeline<T>(slices: readonly T[], run: (slice: T, writing: () => void) => Promise<void>) {
  let previous: Promise<void> | undefined;
  for (const slice of slices) {
    let writing = () => {};
    const started = new Promise<void>((resolve) => {
      writing = resolve;
    });
    const done = run(slice, writing).finally(writing);
    await started;
    await previous;
    previous = done;
  }
  await previous;
}
