import { SyncError } from "../lib/errors.ts";
import type { Touch } from "../plan/touch.ts";
import { fail, type PendingWrite, type RunContext, retryLater } from "./context.ts";
import { saveDroppingRejected } from "./field-rejections.ts";

/**
 * Lost updates: a person's edit made between the engine's read and its write must not be
 * overwritten (the person's own event would then find the base equal and settle, and the edit
 * would be gone). On the live path (webhooks, change events, the catch-up: not a job's batches)
 * each write is checked just before it is sent; a record changed since the read is not written
 * and is retried, so the retry reads and plans it again (docs/SYNC_SEMANTICS.md).
 */

/** Live updates per run sent one by one with a precondition; a larger run is batched as before. */
const CONDITIONAL_UPDATES_MAX = 10;

/** A touch of the live path: not a job's (a job's records are many and its writes batched). */
function isLive(touch: Touch): boolean {
  return touch.origin.kind !== "job";
}

/** The LastModifiedDate the record was read with, if it is a date (else no precondition can be set). */
function lastModifiedOf(item: PendingWrite): string | undefined {
  const stamp = item.decision.salesforce?.["LastModifiedDate"];
  if (typeof stamp !== "string") return undefined;
  return Number.isNaN(Date.parse(stamp.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"))) ? undefined : stamp;
}

/**
 * Sends the run's live Salesforce updates one record at a time with `If-Unmodified-Since` (the
 * LastModifiedDate read): Salesforce refuses (412) an update of a record changed since, which is
 * then retried instead of written. Returns the updates left for a Collections batch (jobs, runs
 * with more than CONDITIONAL_UPDATES_MAX live updates, records read without a LastModifiedDate).
 */
export async function updateConditionally(run: RunContext, updates: PendingWrite[]): Promise<PendingWrite[]> {
  const live = updates.filter((p) => isLive(p.touch) && lastModifiedOf(p) !== undefined);
  if (live.length === 0 || live.length > CONDITIONAL_UPDATES_MAX) return updates;
  const { mapping } = run.compiled;
  for (const item of live) {
    const id = item.ids.salesforce ?? "";
    const stamp = lastModifiedOf(item) ?? "";
    let modified = false;
    try {
      // A value refused for one field is written again without it (field-rejections.ts), with the
      // same precondition; a 412 on either try means the record changed since it was read.
      const [result] = await saveDroppingRejected(run, [item], [item.decision.plan.toSalesforce], async ([fields]) => {
        const answer = await run.deps.salesforce.updateIfUnmodified(mapping.salesforce_object, id, fields ?? {}, stamp);
        if (!("modified" in answer)) return [answer];
        modified = true;
        return [
          {
            ok: false,
            error: new SyncError("record_busy", `${mapping.salesforce_object} ${id} changed since it was read`),
          },
        ];
      });
      if (modified) {
        retryLater(
          run.outcomes,
          item.touch,
          `${mapping.salesforce_object} ${id} changed since it was read: not overwritten, planned again`,
          1,
        );
      } else if (result && !result.ok) {
        fail(run, item.touch, result.error, item.decision.plan.toSalesforce);
      }
    } catch (thrown) {
      fail(run, item.touch, thrown instanceof SyncError ? thrown : new SyncError("internal", String(thrown)));
    }
  }
  const sent = new Set(live);
  return updates.filter((p) => !sent.has(p));
}

/**
 * Before an Attio update on the live path, the attributes about to be written are read again: if
 * any changed since the engine's read (a person's edit: Attio has no conditional write), nothing is
 * written and the record is retried. Throws a retryable record_busy.
 *
 * The run's first write skips it (writeAll): it follows the read by the planning alone, and a
 * re-read would leave the same round trip between itself and the write while costing every live
 * edit bound for Attio one more. Writes after others (Salesforce first, or the Attio writes before
 * them, seconds apart at Attio's 25 writes/s) are the ones a re-read protects.
 */
export async function recheckAttio(run: RunContext, item: PendingWrite, attributes: readonly string[]): Promise<void> {
  const read = item.decision.attio;
  const id = item.ids.attio;
  if (!isLive(item.touch) || !read || !id || read.id.record_id !== id) return;
  const now = await run.deps.attio.getRecord(run.compiled.mapping.attio_object, id);
  if (!now) return;
  const changed = attributes.filter(
    (slug) => JSON.stringify(now.values[slug] ?? []) !== JSON.stringify(read.values[slug] ?? []),
  );
  if (changed.length === 0) return;
  throw new SyncError(
    "record_busy",
    `Attio record ${id} changed since it was read (${changed.join(", ")}): not overwritten, planned again`,
    { retryAfterSeconds: 1 },
  );
}
