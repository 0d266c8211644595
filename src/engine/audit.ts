import { attioSide, salesforceSide } from "../plan/canon.ts";
import type { FieldChange } from "../plan/diff.ts";
import type { Values } from "../plan/plan-fields.ts";
import { actorOf } from "../plan/touch.ts";
import type { AuditRow } from "../store/pairs.ts";
import type { PendingWrite, RunContext } from "./context.ts";

type WriteAudit = Omit<AuditRow, "mappingId">;

/** The audit rows of one written record: each direction written, a create, a link, and held conflicts. */
export function writeAudits(run: RunContext, item: PendingWrite): WriteAudit[] {
  const { mapping } = run.compiled;
  const { plan, attio, salesforce, operation } = item.decision;
  const common = {
    correlationId: item.touch.correlationId,
    attioObject: mapping.attio_object,
    attioRecordId: item.ids.attio ?? null,
    sfObject: mapping.salesforce_object,
    sfRecordId: item.ids.salesforce ?? null,
    sourceEvent: item.touch.origin,
    actor: actorOf(item.touch.origin),
  };
  const rows: WriteAudit[] = [];
  const toSf = changes(plan.toSalesforce, () => (salesforce ? salesforceSide(run.compiled, salesforce) : undefined));
  const toAttio = changes(plan.toAttio, () =>
    attio ? attioSide(run.compiled, attio.values, run.decide.mapOptions).values : undefined,
  );
  const sfCreated = operation === "create" && !salesforce;
  const attioCreated = operation === "create" && !attio;
  if (Object.keys(toSf).length > 0 || sfCreated || operation === "link") {
    rows.push({ ...common, direction: "attio_to_sf", operation: sfCreated ? "create" : operation, changes: toSf });
  }
  if (Object.keys(toAttio).length > 0 || attioCreated) {
    rows.push({
      ...common,
      direction: "sf_to_attio",
      operation: attioCreated ? "create" : operation,
      changes: toAttio,
    });
  }
  if (plan.conflicts.length > 0) {
    const held = Object.fromEntries(
      plan.conflicts.map((c) => [c.field, { before: c.attio ?? null, after: c.salesforce ?? null }]),
    );
    rows.push({ ...common, direction: "attio_to_sf", operation: "conflict", changes: held });
  }
  return rows;
}

/**
 * Before/after of each written field. `sideBefore` maps a whole record, so it is called only when
 * something was written that way (a job's creates write nothing to the other side).
 */
function changes(written: Values, sideBefore: () => Values | undefined): Record<string, FieldChange> {
  const fields = Object.entries(written);
  if (fields.length === 0) return {};
  const before = sideBefore();
  return Object.fromEntries(fields.map(([field, after]) => [field, { before: before?.[field] ?? null, after }]));
}
