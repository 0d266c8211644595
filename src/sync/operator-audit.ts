import type { Side } from "../plan/decision.ts";
import { insertAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";

/**
 * Operators' actions in the audit trail, so a record's timeline shows who replayed, dismissed or
 * linked it, and when (conflict resolutions and delete decisions are audited where they write).
 */

/** The records a stored message key names (`side:object:id`, `salesforce:Contact:id1,id2`; src/queue/settle.ts). */
export function recordsOfKey(key: string | null): { side: Side; object: string; ids: string[] } | undefined {
  const [side, object, ids] = (key ?? "").split(":");
  if ((side !== "attio" && side !== "salesforce") || !object || !ids || ids === "*") return undefined;
  return { side, object, ids: ids.split(",").filter((id) => id !== "") };
}

export interface OperatorAction {
  /** What was done, e.g. `failure.replayed`; stored as the row's source event kind. */
  kind: string;
  actor: string;
  side: Side;
  object: string;
  recordId: string;
  /** The other side's record, when the action names it (a match linked). */
  counterpart?: { object: string; recordId: string } | undefined;
  detail: Record<string, unknown>;
}

/** Appends one `operator` audit row about a record. */
export async function auditOperatorAction(db: Db, action: OperatorAction): Promise<void> {
  const attio = action.side === "attio" ? action : action.counterpart;
  const salesforce = action.side === "salesforce" ? action : action.counterpart;
  await insertAudit(db, {
    correlationId: `operator:${crypto.randomUUID()}`,
    direction: action.side === "attio" ? "attio_to_sf" : "sf_to_attio",
    operation: "operator",
    attioObject: attio?.object ?? null,
    attioRecordId: attio?.recordId ?? null,
    sfObject: salesforce?.object ?? null,
    sfRecordId: salesforce?.recordId ?? null,
    changes: {},
    sourceEvent: { kind: action.kind, ...action.detail },
    actor: action.actor,
  });
}
