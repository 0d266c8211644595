import { deferReference, forgetWaiting, type WaitingRecord, waitingOn, waitingOnLinked } from "../store/pairs.ts";
import type { SyncDeps } from "./deps.ts";
import { sendAll } from "./enqueue.ts";
import { internalAttioMessage, internalSalesforceMessage } from "./messages.ts";
import type { Runtime } from "./runtime.ts";

type Side = "attio" | "salesforce";

/**
 * References whose target has no counterpart yet: the referring record waits (a `deferred_refs`
 * row), its target is asked to sync, and once the target is linked the waiting records are synced
 * again to complete the reference.
 */
export function deferredReferences(deps: SyncDeps, queue: Queue, runtime: Runtime) {
  /** Asks for one record to be synced, through the queue like any change. */
  const requestSync = async (side: Side, object: string, recordId: string): Promise<void> => {
    const body =
      side === "attio"
        ? internalAttioMessage(object, recordId, "parent of a deferred reference")
        : internalSalesforceMessage(object, recordId, "UPDATE", "parent of a deferred reference");
    await queue.send(body, { contentType: "json" });
  };
  /** Remembers that `record` waits on `target`, and asks for the target to be synced. */
  const defer = async (
    side: Side,
    record: { object: string; id: string },
    target: { object: string; id: string },
  ): Promise<void> => {
    await deferReference(deps.db, { side, object: record.object, recordId: record.id }, target);
    const parentObject =
      side === "attio" ? target.object : runtime.byAttioObject(target.object)?.mapping.salesforce_object;
    if (parentObject) await requestSync(side, parentObject, target.id);
  };
  /**
   * Pairs were linked: the records waiting on either of their records are synced again. Their rows
   * are removed only once the messages are sent: after a failed send they stay, and the cron's
   * housekeeping (`resendWaiting`) sends them.
   */
  const onLinked = async (pairs: readonly { attioId: string; sfId: string }[]): Promise<void> => {
    for (const side of ["attio", "salesforce"] as const) {
      const targets = pairs.map((p) => (side === "attio" ? p.attioId : p.sfId));
      await resync(deps, queue, side, await waitingOn(deps.db, side, targets));
    }
  };
  return { requestSync, defer, onLinked };
}

/** Housekeeping: waiting records whose target is linked but whose re-sync was never sent. */
export async function resendWaiting(deps: SyncDeps, queue: Queue, limit = 500): Promise<number> {
  let sent = 0;
  for (const { side, rows } of await waitingOnLinked(deps.db, limit)) {
    await resync(deps, queue, side, rows);
    sent += rows.length;
  }
  return sent;
}

/** Asks each waiting record to sync again (once per record), then forgets exactly those rows. */
async function resync(deps: SyncDeps, queue: Queue, side: Side, waiting: readonly WaitingRecord[]): Promise<void> {
  if (waiting.length === 0) return;
  const records = new Map(waiting.map((w) => [`${w.object}\u0000${w.recordId}`, w]));
  const reason = "a reference it waited on is linked";
  await sendAll(
    queue,
    [...records.values()].map((w) =>
      side === "attio"
        ? internalAttioMessage(w.object, w.recordId, reason)
        : internalSalesforceMessage(w.object, w.recordId, "UPDATE", reason),
    ),
  );
  await forgetWaiting(deps.db, side, waiting);
}
