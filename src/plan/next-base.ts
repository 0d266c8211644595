import type { SfScalar } from "../mapping/types.ts";
import type { FieldPlan, Values } from "./plan-fields.ts";

export interface StoredBase {
  attio: Record<string, SfScalar>;
  salesforce: Record<string, SfScalar>;
}

/**
 * The base to store once a pair's writes succeeded. Pure.
 *
 * The planner's next base is refreshed on the Attio side with what Attio holds now (mapped to
 * Salesforce field space), so a lossy or normalising transform never looks like an edit next time.
 * Two kinds of field keep no fresh Attio value:
 * - a field left in conflict (manual strategy) keeps its old base on both sides: were Attio's value
 *   taken as the base, Attio's side would look unchanged next time and Salesforce's value would
 *   silently overwrite it;
 * - a reference Attio could not take yet (its target is not linked) gets no base at all: once the
 *   target links, the waiting record is synced again and the field fills in;
 * - a field Salesforce refused (`unwritten`) keeps the base its plan gives it: were Attio's value
 *   taken, the value never written would look synced.
 */
export function nextBase(
  plan: Pick<FieldPlan, "nextBase" | "conflicts" | "unwritten">,
  attioNow: Values | undefined,
  deferredFields: readonly string[] = [],
): StoredBase {
  const base: StoredBase = {
    attio: { ...plan.nextBase.attio, ...attioNow },
    salesforce: { ...plan.nextBase.salesforce },
  };
  for (const field of [...plan.conflicts.map((c) => c.field), ...(plan.unwritten ?? [])]) {
    if (field in plan.nextBase.attio) base.attio[field] = plan.nextBase.attio[field] ?? null;
    else delete base.attio[field];
  }
  for (const field of deferredFields) {
    delete base.attio[field];
    delete base.salesforce[field];
  }
  return base;
}
