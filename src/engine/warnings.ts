import { toSyncError } from "../lib/errors.ts";
import { isWarning } from "../mapping/types.ts";
import { type Evaluated, recordWarnings, type WarningInput } from "../store/warnings.ts";
import type { RunContext } from "./context.ts";

/**
 * Stores what the run saw as warnings (store/warnings.ts): opened, refreshed, or cleared for fields
 * now written. A failure to store them is logged and leaves the sync's outcome alone.
 */
export async function saveWarnings(run: RunContext): Promise<void> {
  const { mapping } = run.compiled;
  const inputs: WarningInput[] = [];
  const evaluated: Evaluated[] = [];
  for (const entry of run.seen) {
    const attioId = entry.ids.attio ?? null;
    const sfId = entry.ids.salesforce ?? null;
    const toSf = entry.direction === "attio_to_sf";
    const sourceId = toSf ? attioId : sfId;
    if (!sourceId) continue;
    const sourceObject = toSf ? mapping.attio_object : mapping.salesforce_object;
    evaluated.push({ direction: entry.direction, object: sourceObject, id: sourceId, fields: [...entry.fields] });
    for (const issue of entry.issues.filter(isWarning)) {
      inputs.push({
        mapping: mapping.name,
        direction: entry.direction,
        sourceObject,
        sourceRecordId: sourceId,
        attioObject: mapping.attio_object,
        attioRecordId: attioId,
        sfObject: mapping.salesforce_object,
        sfRecordId: sfId,
        field: issue.salesforce,
        attribute: issue.attio,
        code: issue.code,
        message: issue.message,
        value: issue.value ?? null,
        correlationId: entry.touch.correlationId,
      });
    }
  }
  if (evaluated.length === 0) return;
  try {
    await recordWarnings(run.deps.db, inputs, evaluated);
  } catch (thrown) {
    run.deps.log.error("could not store mapping warnings", {
      mapping: mapping.name,
      warnings: inputs.length,
      error: toSyncError(thrown).message,
    });
  }
}
