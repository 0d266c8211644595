import { deferReference, takeWaiting } from "../store/pairs.ts";
import type { SyncDeps } from "./deps.ts";
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
  /** Pairs were linked: the records waiting on either of their records are synced again. */
  const onLinked = async (pairs: readonly { attioId: string; sfId: string }[]): Promise<void> => {
    const waiting = [
      ...(await takeWaiting(
        deps.db,
        "attio",
        pairs.map((p) => p.attioId),
      )),
      ...(await takeWaiting(
        deps.db,
        "salesforce",
        pairs.map((p) => p.sfId),
      )),
    ];
    for (const record of waiting) {
      const isSalesforce =
        runtime.bySalesforceObject(record.object) !== undefined && runtime.byAttioObject(record.object) === undefined;
      await requestSync(isSalesforce ? "salesforce" : "attio", record.object, record.recordId);
    }
  };
  return { requestSync, defer, onLinked };
}
