import { SyncError } from "../lib/errors.ts";
import { decideHold, loadHold, recordsOfHold, reopenHold } from "../store/update-holds.ts";
import type { SyncDeps } from "./deps.ts";
import { sendAll } from "./enqueue.ts";
import { recordsMessages, type SyncMessage } from "./messages.ts";

/**
 * A person's decision on a hold of the mass-update breaker, in one call: the hold is marked, then
 * every record it keeps is queued again with the decision (engine/breaker.ts). `approve` syncs them
 * with the breaker bypassed: each is read and decided afresh, so what is written is what the
 * records hold now, once (a second delivery finds the pair in sync). `reject` writes nothing and
 * re-bases each pair (plan/mass-update.ts rejectedBase). A hold is decided once: 409 after.
 */
export async function decideUpdateHold(
  deps: SyncDeps,
  queue: Queue,
  id: string,
  decision: "approve" | "reject",
  actor: string,
  now: Date,
) {
  const hold = await loadHold(deps.db, id);
  if (!hold) throw new SyncError("not_found", `no mass-update hold ${id}`, { status: 404 });
  const status = decision === "approve" ? "approved" : "rejected";
  if (!(await decideHold(deps.db, id, status, actor, now.toISOString()))) {
    const current = (await loadHold(deps.db, id))?.status ?? hold.status;
    throw new SyncError("conflict", `mass-update hold ${id} is already ${current}`, { status: 409 });
  }
  const records = await recordsOfHold(deps.db, id);
  const release = { hold: id, decision };
  const messages: SyncMessage[] = [
    ...(["attio", "salesforce"] as const).flatMap((side) =>
      records[side].length > 0
        ? recordsMessages(hold.mapping, side, records[side], `mass-update hold ${id} ${status}`, { release })
        : [],
    ),
  ];
  try {
    await sendAll(queue, messages);
  } catch (thrown) {
    // Not sent: the hold stays pending, so the same call can be made again.
    await reopenHold(deps.db, id);
    throw thrown;
  }
  deps.log.info("mass-update hold decided", { hold_id: id, decision, records: messages.length });
  return {
    id,
    mapping: hold.mapping,
    side: hold.side,
    status,
    records: records.attio.length + records.salesforce.length,
  };
}
